//! Client certificates for the mutual-TLS tests (RFC 8705), generated with
//! rcgen at run time: a P-256 key, a subject and SANs as each test needs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::jose::JwkSet;
use portcullis::token::ClientCertificate;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use sha2::{Digest as _, Sha256};

/// A client's certificate and key.
pub struct TestCert {
    pub der: Vec<u8>,
    pub key: KeyPair,
}

/// What goes in a certificate.
#[derive(Default)]
pub struct Subject<'a> {
    pub common_name: Option<&'a str>,
    pub organization: Option<&'a str>,
    pub dns: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub ip: Option<std::net::IpAddr>,
    pub email: Option<&'a str>,
}

impl TestCert {
    /// A certificate for `subject`, signed by its own new P-256 key.
    pub fn new(subject: Subject<'_>) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        // X.509 order, most significant first: RFC 4514 writes it reversed
        // (`CN=…,O=…`).
        if let Some(o) = subject.organization {
            dn.push(DnType::OrganizationName, o);
        }
        if let Some(cn) = subject.common_name {
            dn.push(DnType::CommonName, cn);
        }
        params.distinguished_name = dn;
        if let Some(dns) = subject.dns {
            params
                .subject_alt_names
                .push(SanType::DnsName(dns.try_into().unwrap()));
        }
        if let Some(uri) = subject.uri {
            params
                .subject_alt_names
                .push(SanType::URI(uri.try_into().unwrap()));
        }
        if let Some(ip) = subject.ip {
            params.subject_alt_names.push(SanType::IpAddress(ip));
        }
        if let Some(email) = subject.email {
            params
                .subject_alt_names
                .push(SanType::Rfc822Name(email.try_into().unwrap()));
        }
        let cert = params.self_signed(&key).unwrap();
        Self {
            der: cert.der().to_vec(),
            key,
        }
    }

    /// A certificate with just a common name.
    pub fn named(common_name: &str) -> Self {
        Self::new(Subject {
            common_name: Some(common_name),
            ..Subject::default()
        })
    }

    /// As the host's TLS layer hands it over after validating its chain.
    pub fn verified(&self) -> ClientCertificate {
        ClientCertificate::chain_verified(self.der.clone())
    }

    /// As the host's TLS layer hands it over without a chain check.
    pub fn self_signed(&self) -> ClientCertificate {
        ClientCertificate::self_signed(self.der.clone())
    }

    /// base64url SHA-256 of the DER, computed here independently (RFC 8705
    /// §3.1).
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    /// The certificate's public key as a JWK Set, as a
    /// `self_signed_tls_client_auth` client registers it.
    pub fn jwks(&self) -> JwkSet {
        let raw = self.key.public_key_raw();
        assert_eq!(raw.len(), 65, "an uncompressed P-256 point");
        let json = serde_json::json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
        }]});
        JwkSet::from_value(&json).unwrap()
    }
}

/// `request` with `certificate` in its extensions, as the host's TLS layer
/// puts it there.
pub fn with_cert<B>(
    mut request: http::Request<B>,
    certificate: ClientCertificate,
) -> http::Request<B> {
    request.extensions_mut().insert(certificate);
    request
}
