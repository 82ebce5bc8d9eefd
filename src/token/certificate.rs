//! The client certificate of a mutual-TLS connection (RFC 8705), as the
//! host's TLS layer hands it over: portcullis does no TLS itself.
//!
//! The certificate is read with RustCrypto's `x509-cert` (a DER-strict
//! parser; docs/ARCHITECTURE.md, "X.509 for mutual TLS"): the subject
//! distinguished name, the subject alternative names and the public key,
//! for client authentication (RFC 8705 §2), and the SHA-256 thumbprint of
//! its DER, for certificate-bound tokens (§3.1).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use x509_cert::Certificate;
use x509_cert::der::asn1::UintRef;
use x509_cert::der::oid::AssociatedOid as _;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Reader as _, SliceReader};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use super::Confirmation;
use crate::jose::Jwk;

/// The longest certificate accepted, in bytes. A client certificate is a
/// few kilobytes; more is refused before it is parsed.
pub const MAX_CLIENT_CERTIFICATE_LEN: usize = 16 * 1024;

/// `id-ecPublicKey` (RFC 5480 §2.1.1).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1`, P-256 (RFC 5480 §2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `rsaEncryption` (RFC 3279 §2.3.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-Ed25519` (RFC 8410 §3).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The leaf certificate a client presented in the TLS handshake of the
/// request's connection (RFC 8705 §2), as the host's TLS layer received it:
/// its DER, and whether that layer validated its chain to a trust anchor.
///
/// The host puts it in the `http::Request`'s extensions, beside any
/// [`ThrottleSource`](crate::client::ThrottleSource); every endpoint where
/// a client authenticates (token, pushed authorization, device
/// authorization, revocation, introspection), the resource server's
/// [`BearerValidator`](crate::resource::BearerValidator) and UserInfo read
/// it from there:
///
/// ```
/// # use portcullis::token::ClientCertificate;
/// # let der_from_the_tls_layer: Vec<u8> = Vec::new();
/// let mut request = http::Request::new(Vec::<u8>::new());
/// // With rustls: `connection.peer_certificates()`'s first entry, once
/// // the handshake is done; the chain was checked by the connection's
/// // `ClientCertVerifier` against the CAs the host trusts.
/// request
///     .extensions_mut()
///     .insert(ClientCertificate::chain_verified(der_from_the_tls_layer));
/// ```
///
/// Only a certificate whose private key the client proved in the handshake
/// may be handed over: the TLS layer checks the `CertificateVerify`
/// signature. Never build one from a header a client can set; behind a TLS
/// terminating proxy, only from the proxy's own, authenticated, channel.
///
/// - [`chain_verified`](Self::chain_verified): the TLS layer validated the
///   chain to a CA the host trusts for client certificates — required for
///   `tls_client_auth` (RFC 8705 §2.1), whose subject is only as good as its
///   issuer.
/// - [`self_signed`](Self::self_signed): the TLS layer accepted the
///   certificate without validating a chain (a verifier that accepts any
///   certificate, still checking possession of its key) — enough for
///   `self_signed_tls_client_auth` (§2.2), which matches the certificate's
///   key against the client's registration, and for certificate-bound
///   tokens (§3), which match its thumbprint.
///
/// `Debug` shows the thumbprint only.
#[derive(Clone)]
pub struct ClientCertificate {
    der: Arc<[u8]>,
    chain_verified: bool,
}

impl ClientCertificate {
    /// A certificate whose chain the host's TLS layer validated to a
    /// trust anchor (RFC 8705 §2.1).
    pub fn chain_verified(der: impl Into<Vec<u8>>) -> Self {
        Self {
            der: Arc::from(der.into()),
            chain_verified: true,
        }
    }

    /// A certificate the host's TLS layer accepted without validating a
    /// chain: possession of its key proven, its issuer unknown (RFC 8705
    /// §2.2).
    pub fn self_signed(der: impl Into<Vec<u8>>) -> Self {
        Self {
            der: Arc::from(der.into()),
            chain_verified: false,
        }
    }

    /// The certificate's DER, as the TLS layer received it.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether the host's TLS layer validated the chain.
    pub fn is_chain_verified(&self) -> bool {
        self.chain_verified
    }

    /// The base64url SHA-256 of the DER: the `x5t#S256` of a token bound
    /// to this certificate (RFC 8705 §3.1).
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    /// The confirmation binding a token to this certificate (RFC 8705
    /// §3.1).
    pub fn confirmation(&self) -> Confirmation {
        Confirmation::x5t_s256(self.thumbprint())
    }

    /// Whether `bound` is a certificate binding to this certificate, the
    /// thumbprints compared in constant time (RFC 8705 §3).
    pub fn is_bound_by(&self, bound: &Confirmation) -> bool {
        match bound {
            Confirmation::CertificateThumbprint(x5t) => {
                bool::from(self.thumbprint().as_bytes().ct_eq(x5t.as_bytes()))
            }
            _ => false,
        }
    }

    /// Parses the certificate; `None` when it is not one (or too long).
    pub(crate) fn parse(&self) -> Option<ParsedCertificate> {
        if self.der.len() > MAX_CLIENT_CERTIFICATE_LEN {
            return None;
        }
        Certificate::from_der(&self.der)
            .ok()
            .map(|certificate| ParsedCertificate { certificate })
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint())
            .field("chain_verified", &self.chain_verified)
            .finish()
    }
}

/// A certificate as `x509-cert` parsed it.
pub(crate) struct ParsedCertificate {
    certificate: Certificate,
}

impl ParsedCertificate {
    /// The subject distinguished name as an RFC 4514 string
    /// ([`canonical_dn`]'s form).
    pub(crate) fn subject_dn(&self) -> String {
        self.certificate.tbs_certificate.subject.to_string()
    }

    /// The subject alternative names (RFC 5280 §4.2.1.6); none when the
    /// extension is absent or malformed.
    fn alt_names(&self) -> Vec<GeneralName> {
        self.certificate
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == SubjectAltName::OID)
            .filter_map(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
            .flat_map(|san| san.0)
            .collect()
    }

    /// Whether a `dNSName` SAN is exactly `name` (RFC 8705 §2.1.2).
    pub(crate) fn has_san_dns(&self, name: &str) -> bool {
        self.alt_names()
            .iter()
            .any(|n| matches!(n, GeneralName::DnsName(d) if d.as_str() == name))
    }

    /// Whether a `uniformResourceIdentifier` SAN is exactly `uri`.
    pub(crate) fn has_san_uri(&self, uri: &str) -> bool {
        self.alt_names()
            .iter()
            .any(|n| matches!(n, GeneralName::UniformResourceIdentifier(u) if u.as_str() == uri))
    }

    /// Whether an `rfc822Name` SAN is exactly `email`.
    pub(crate) fn has_san_email(&self, email: &str) -> bool {
        self.alt_names()
            .iter()
            .any(|n| matches!(n, GeneralName::Rfc822Name(e) if e.as_str() == email))
    }

    /// Whether an `iPAddress` SAN is `ip` (4 or 16 octets).
    pub(crate) fn has_san_ip(&self, ip: IpAddr) -> bool {
        let octets: Vec<u8> = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        self.alt_names()
            .iter()
            .any(|n| matches!(n, GeneralName::IpAddress(a) if a.as_bytes() == octets.as_slice()))
    }

    /// Whether the certificate's public key is the one `jwk` describes
    /// (RFC 8705 §2.2): a P-256 key, an RSA key or an Ed25519 key, by its
    /// members.
    pub(crate) fn key_matches(&self, jwk: &Jwk) -> bool {
        let spki = &self.certificate.tbs_certificate.subject_public_key_info;
        let Some(bits) = spki.subject_public_key.as_bytes() else {
            return false;
        };
        let member = |m: &Option<String>| {
            m.as_deref()
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .unwrap_or_default()
        };
        let oid = spki.algorithm.oid;
        if oid == EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            if jwk.kty != "EC" || jwk.crv.as_deref() != Some("P-256") || curve != Some(SECP256R1) {
                return false;
            }
            let mut point = vec![0x04];
            point.extend(member(&jwk.x));
            point.extend(member(&jwk.y));
            point.len() == 65 && point == bits
        } else if oid == ED25519 {
            jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519") && member(&jwk.x) == bits
        } else if oid == RSA_ENCRYPTION {
            let Some((n, e)) = rsa_public_key(bits) else {
                return false;
            };
            jwk.kty == "RSA"
                && strip_zeros(&member(&jwk.n)) == strip_zeros(&n)
                && strip_zeros(&member(&jwk.e)) == strip_zeros(&e)
        } else {
            false
        }
    }
}

/// The modulus and exponent of a DER `RSAPublicKey` (RFC 8017 §A.1.1).
fn rsa_public_key(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut reader = SliceReader::new(der).ok()?;
    let pair = reader
        .sequence(|r| {
            let n = UintRef::decode(r)?;
            let e = UintRef::decode(r)?;
            Ok((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
        })
        .ok()?;
    reader.finish(pair).ok()
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().take_while(|b| **b == 0).count();
    bytes.get(start..).unwrap_or_default()
}

/// The canonical RFC 4514 string of a distinguished name, as
/// the subject DN of a [`ClientCertificate`] is written when it is matched: the
/// RDNs from last to first, separated by `,` without spaces; attribute
/// types by their short names in upper case (`CN`, `O`, `OU`, `C`, …) or,
/// lacking one, their dotted OID; values with RFC 4514 §2.4's escapes.
/// `None` when `dn` is not an RFC 4514 string.
///
/// So `CN=client.example,O=Example Corp,C=SE` is canonical, and spaces
/// around the separators or a lower-case `cn` are not accepted at
/// registration; values compare exactly (case included).
pub fn canonical_dn(dn: &str) -> Option<String> {
    if dn.is_empty() || dn.len() > 1024 {
        return None;
    }
    let name: Name = dn.parse().ok()?;
    let canonical = name.to_string();
    (!canonical.is_empty()).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_dn_is_its_own_canonical_form() {
        let dn = canonical_dn("CN=client.example,O=Example Corp,C=SE").unwrap();
        assert_eq!(dn, "CN=client.example,O=Example Corp,C=SE");
        assert_eq!(canonical_dn(&dn).as_deref(), Some(dn.as_str()));
        assert_eq!(canonical_dn(""), None);
        assert_eq!(canonical_dn("no equals sign"), None);
    }

    #[test]
    fn a_non_certificate_does_not_parse_and_binds_nothing_else() {
        let cert = ClientCertificate::self_signed(b"not DER".to_vec());
        assert!(cert.parse().is_none());
        assert!(cert.is_bound_by(&cert.confirmation()));
        assert!(!cert.is_bound_by(&Confirmation::jkt(cert.thumbprint())));
        assert!(!cert.is_bound_by(&Confirmation::x5t_s256("other")));
        assert!(!format!("{cert:?}").contains("not DER"));
    }
}
