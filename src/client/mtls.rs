//! Mutual-TLS client metadata and authentication (RFC 8705 §2, §3.4): the
//! certificate a `tls_client_auth` client is known by, whether its tokens
//! are bound to its certificate, and the checks of a presented certificate
//! against the registration.

use std::net::IpAddr;

use super::registration_error::RegistrationError;
use super::{AuthMethod, Client, ClientAuthError, ClientRegistration};
use crate::jose::PublicKey;
use crate::token::{ClientCertificate, canonical_dn};

/// The longest `tls_client_auth_*` value accepted, in bytes.
pub const MAX_TLS_CLIENT_AUTH_VALUE_LEN: usize = 1024;

/// What a `tls_client_auth` client's certificate must carry (RFC 8705
/// §2.1.2): exactly one of these is registered, and the certificate — its
/// chain validated by the host's TLS layer — must match it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsClientAuthSubject {
    /// `tls_client_auth_subject_dn`: the subject distinguished name, in
    /// the canonical RFC 4514 form of
    /// [`canonical_dn`](crate::token::canonical_dn), compared with the
    /// certificate's subject written the same way.
    SubjectDn(String),
    /// `tls_client_auth_san_dns`: a `dNSName` SAN, matched exactly.
    SanDns(String),
    /// `tls_client_auth_san_uri`: a `uniformResourceIdentifier` SAN,
    /// matched exactly.
    SanUri(String),
    /// `tls_client_auth_san_ip`: an `iPAddress` SAN, IPv4 or IPv6, matched
    /// by its octets.
    SanIp(IpAddr),
    /// `tls_client_auth_san_email`: an `rfc822Name` SAN, matched exactly.
    SanEmail(String),
}

/// A client's RFC 8705 metadata, stored with the client under its member
/// names; every member defaults, so a client stored without them loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MutualTlsMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_client_auth_subject_dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_client_auth_san_dns: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_client_auth_san_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_client_auth_san_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls_client_auth_san_email: Option<String>,
    /// RFC 8705 §3.4.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) tls_client_certificate_bound_access_tokens: bool,
}

fn invalid(message: &'static str) -> RegistrationError {
    RegistrationError::InvalidMetadata(message.into())
}

impl MutualTlsMetadata {
    /// The registered subject, if one member is set.
    pub(crate) fn subject(&self) -> Option<TlsClientAuthSubject> {
        let m = self;
        if let Some(dn) = &m.tls_client_auth_subject_dn {
            return Some(TlsClientAuthSubject::SubjectDn(dn.clone()));
        }
        if let Some(dns) = &m.tls_client_auth_san_dns {
            return Some(TlsClientAuthSubject::SanDns(dns.clone()));
        }
        if let Some(uri) = &m.tls_client_auth_san_uri {
            return Some(TlsClientAuthSubject::SanUri(uri.clone()));
        }
        if let Some(ip) = m.tls_client_auth_san_ip.as_deref() {
            return ip.parse().ok().map(TlsClientAuthSubject::SanIp);
        }
        m.tls_client_auth_san_email
            .clone()
            .map(TlsClientAuthSubject::SanEmail)
    }

    /// RFC 8705 §2.1.2: a `tls_client_auth` client registers exactly one
    /// `tls_client_auth_*` member, well-formed; a client of another method
    /// none. The subject DN is kept in its canonical form.
    pub(crate) fn validate(&mut self, method: &AuthMethod) -> Result<(), RegistrationError> {
        let set = [
            self.tls_client_auth_subject_dn.is_some(),
            self.tls_client_auth_san_dns.is_some(),
            self.tls_client_auth_san_uri.is_some(),
            self.tls_client_auth_san_ip.is_some(),
            self.tls_client_auth_san_email.is_some(),
        ]
        .into_iter()
        .filter(|s| *s)
        .count();
        if *method != AuthMethod::TLS_CLIENT_AUTH {
            return match set {
                0 => Ok(()),
                _ => Err(invalid(
                    "tls_client_auth_* metadata is only for the tls_client_auth method",
                )),
            };
        }
        if set != 1 {
            return Err(invalid(
                "tls_client_auth requires exactly one of tls_client_auth_subject_dn, \
                 tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip, \
                 tls_client_auth_san_email (RFC 8705 §2.1.2)",
            ));
        }
        let too_long = [
            &self.tls_client_auth_subject_dn,
            &self.tls_client_auth_san_dns,
            &self.tls_client_auth_san_uri,
            &self.tls_client_auth_san_ip,
            &self.tls_client_auth_san_email,
        ]
        .into_iter()
        .flatten()
        .any(|v| v.is_empty() || v.len() > MAX_TLS_CLIENT_AUTH_VALUE_LEN);
        if too_long {
            return Err(invalid("a tls_client_auth_* value is empty or too long"));
        }
        if let Some(dn) = &self.tls_client_auth_subject_dn {
            let canonical = canonical_dn(dn).ok_or_else(|| {
                invalid("tls_client_auth_subject_dn is not an RFC 4514 distinguished name")
            })?;
            self.tls_client_auth_subject_dn = Some(canonical);
        }
        if let Some(dns) = &self.tls_client_auth_san_dns {
            let valid = dns.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
            });
            if !valid || dns.len() > 253 {
                return Err(invalid("tls_client_auth_san_dns is not a DNS name"));
            }
        }
        if let Some(uri) = &self.tls_client_auth_san_uri {
            url::Url::parse(uri)
                .map_err(|_| invalid("tls_client_auth_san_uri is not an absolute URI"))?;
        }
        if let Some(ip) = &self.tls_client_auth_san_ip {
            ip.parse::<IpAddr>()
                .map_err(|_| invalid("tls_client_auth_san_ip is not an IPv4 or IPv6 address"))?;
        }
        if let Some(email) = &self.tls_client_auth_san_email {
            let valid = email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }) && email.bytes().all(|b| b.is_ascii_graphic());
            if !valid {
                return Err(invalid("tls_client_auth_san_email is not an email address"));
            }
        }
        Ok(())
    }
}

/// Mutual TLS (RFC 8705 §2.1.2, §3.4).
impl Client {
    /// What a `tls_client_auth` client's certificate must carry (RFC 8705
    /// §2.1.2); `None` for a client of another method.
    pub fn tls_client_auth_subject(&self) -> Option<TlsClientAuthSubject> {
        self.mtls.subject()
    }

    /// Whether the client's access tokens are bound to its certificate
    /// (`tls_client_certificate_bound_access_tokens`, RFC 8705 §3.4): a
    /// token request without a client certificate is refused.
    pub fn tls_client_certificate_bound_access_tokens(&self) -> bool {
        self.mtls.tls_client_certificate_bound_access_tokens
    }
}

/// Mutual TLS (RFC 8705 §2.1.2, §3.4).
impl ClientRegistration {
    /// What a `tls_client_auth` client's certificate must carry (RFC 8705
    /// §2.1.2). Registering it with another method is
    /// [`RegistrationError::InvalidMetadata`]; so is a subject DN that is
    /// not an RFC 4514 string, or a malformed name or address.
    pub fn tls_client_auth_subject(mut self, subject: TlsClientAuthSubject) -> Self {
        let m = &mut self.mtls;
        m.tls_client_auth_subject_dn = None;
        m.tls_client_auth_san_dns = None;
        m.tls_client_auth_san_uri = None;
        m.tls_client_auth_san_ip = None;
        m.tls_client_auth_san_email = None;
        match subject {
            TlsClientAuthSubject::SubjectDn(dn) => m.tls_client_auth_subject_dn = Some(dn),
            TlsClientAuthSubject::SanDns(dns) => m.tls_client_auth_san_dns = Some(dns),
            TlsClientAuthSubject::SanUri(uri) => m.tls_client_auth_san_uri = Some(uri),
            TlsClientAuthSubject::SanIp(ip) => m.tls_client_auth_san_ip = Some(ip.to_string()),
            TlsClientAuthSubject::SanEmail(e) => m.tls_client_auth_san_email = Some(e),
        }
        self
    }

    /// Binds the client's access tokens to its certificate
    /// (`tls_client_certificate_bound_access_tokens`, RFC 8705 §3.4).
    pub fn tls_client_certificate_bound_access_tokens(mut self, bound: bool) -> Self {
        self.mtls.tls_client_certificate_bound_access_tokens = bound;
        self
    }
}

/// Verifies the certificate of a `tls_client_auth` client (RFC 8705
/// §2.1): its chain validated by the host's TLS layer, and its subject DN
/// or one SAN the registered one.
pub(crate) fn verify_tls_client_auth(
    certificate: Option<&ClientCertificate>,
    client: &Client,
) -> Result<(), ClientAuthError> {
    let certificate = certificate.ok_or(ClientAuthError::CertificateMissing)?;
    if !certificate.is_chain_verified() {
        return Err(ClientAuthError::CertificateMismatch);
    }
    let parsed = certificate
        .parse()
        .ok_or(ClientAuthError::CertificateMismatch)?;
    let matches = match client.tls_client_auth_subject() {
        Some(TlsClientAuthSubject::SubjectDn(dn)) => parsed.subject_dn() == dn,
        Some(TlsClientAuthSubject::SanDns(dns)) => parsed.has_san_dns(&dns),
        Some(TlsClientAuthSubject::SanUri(uri)) => parsed.has_san_uri(&uri),
        Some(TlsClientAuthSubject::SanIp(ip)) => parsed.has_san_ip(ip),
        Some(TlsClientAuthSubject::SanEmail(email)) => parsed.has_san_email(&email),
        None => false,
    };
    if matches {
        Ok(())
    } else {
        Err(ClientAuthError::CertificateMismatch)
    }
}

/// Verifies the certificate of a `self_signed_tls_client_auth` client
/// (RFC 8705 §2.2) against `keys`, the keys it registered (`jwks`, or
/// fetched from its `jwks_uri`): the certificate's public key must be one
/// of them.
pub(crate) fn verify_self_signed(
    certificate: Option<&ClientCertificate>,
    keys: &[PublicKey],
) -> Result<(), ClientAuthError> {
    let certificate = certificate.ok_or(ClientAuthError::CertificateMissing)?;
    let parsed = certificate
        .parse()
        .ok_or(ClientAuthError::CertificateMismatch)?;
    if keys.iter().any(|key| parsed.key_matches(key.jwk())) {
        Ok(())
    } else {
        Err(ClientAuthError::CertificateMismatch)
    }
}
