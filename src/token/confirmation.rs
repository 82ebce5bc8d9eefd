//! Sender-constraint of a token: the RFC 7800 confirmation (`cnf`) naming
//! the key its holder must prove possession of.
//!
//! - `jkt`: the RFC 7638 thumbprint of a DPoP key (RFC 9449 §6.1).
//! - `x5t#S256`: the SHA-256 thumbprint of a client certificate (RFC 8705
//!   §3.1), for mutual-TLS-bound tokens.
//!
//! A bound access token carries it in its record, its JWT (`cnf`) and its
//! introspection response; a resource server refuses the token unless the
//! request proves the key.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// The key a token is bound to (RFC 7800 §3.1): one confirmation method.
///
/// Serialises as the `cnf` object: `{"jkt": "…"}` or `{"x5t#S256": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Confirmation {
    /// The base64url SHA-256 JWK thumbprint (RFC 7638) of a DPoP proof's
    /// public key (RFC 9449 §6.1).
    #[serde(rename = "jkt")]
    JwkThumbprint(Arc<str>),
    /// The base64url SHA-256 thumbprint of the client's X.509 certificate
    /// (RFC 8705 §3.1).
    #[serde(rename = "x5t#S256")]
    CertificateThumbprint(Arc<str>),
}

impl Confirmation {
    /// A DPoP binding to the key whose RFC 7638 thumbprint is `jkt`.
    pub fn jkt(jkt: impl Into<Arc<str>>) -> Self {
        Self::JwkThumbprint(jkt.into())
    }

    /// A mutual-TLS binding to the certificate whose SHA-256 thumbprint is
    /// `x5t_s256` (RFC 8705 §3.1).
    pub fn x5t_s256(x5t_s256: impl Into<Arc<str>>) -> Self {
        Self::CertificateThumbprint(x5t_s256.into())
    }

    /// The DPoP key thumbprint, if this is a DPoP binding.
    pub fn jwk_thumbprint(&self) -> Option<&str> {
        match self {
            Self::JwkThumbprint(jkt) => Some(jkt),
            Self::CertificateThumbprint(_) => None,
        }
    }

    /// Whether this is a DPoP binding to the key with thumbprint `jkt`,
    /// compared in constant time.
    pub fn is_jkt(&self, jkt: &str) -> bool {
        self.jwk_thumbprint()
            .is_some_and(|bound| bool::from(bound.as_bytes().ct_eq(jkt.as_bytes())))
    }

    /// Whether a request may use a token bound to `bound` (`None`: a bearer
    /// token) when it proved `proven` — the key of a DPoP proof sent with
    /// `Authorization: DPoP` — or nothing (`Authorization: Bearer`): a bearer
    /// token only as a bearer token, a bound token only with its key (RFC
    /// 9449 §7.1, §7.2). A request without a client certificate: a
    /// certificate-bound token is refused; see
    /// [`binding_holds_with`](Self::binding_holds_with).
    pub fn binding_holds(bound: Option<&Confirmation>, proven: Option<&Confirmation>) -> bool {
        Self::binding_holds_with(bound, proven, None)
    }

    /// [`binding_holds`](Self::binding_holds) for a request that may come
    /// with the client certificate of its mutual-TLS connection:
    ///
    /// - a bearer token (`None`): only without a DPoP proof (RFC 9449 §7.2);
    ///   a certificate changes nothing;
    /// - a DPoP-bound token (`jkt`): only with a proof of that key;
    /// - a certificate-bound token (`x5t#S256`): only as `Authorization:
    ///   Bearer` — no DPoP proof — and only when `certificate`'s thumbprint
    ///   is the bound one, compared in constant time (RFC 8705 §3).
    pub fn binding_holds_with(
        bound: Option<&Confirmation>,
        proven: Option<&Confirmation>,
        certificate: Option<&super::ClientCertificate>,
    ) -> bool {
        match (bound, proven) {
            (None, None) => true,
            (Some(bound @ Self::CertificateThumbprint(_)), None) => {
                certificate.is_some_and(|c| c.is_bound_by(bound))
            }
            (Some(Self::CertificateThumbprint(_)), Some(_)) => false,
            (Some(bound), Some(key)) => bound == key,
            _ => false,
        }
    }

    /// The `cnf` object as JSON, as a store keeps it.
    pub fn to_json(&self) -> String {
        // An enum of one string member always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads back what [`to_json`](Self::to_json) wrote, or a `cnf` claim.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_cnf_object() {
        let jkt = Confirmation::jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(
            jkt.to_json(),
            r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}"#
        );
        assert_eq!(Confirmation::from_json(&jkt.to_json()).unwrap(), jkt);
        let x5t = Confirmation::x5t_s256("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2");
        assert_eq!(
            x5t.to_json(),
            r#"{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}"#
        );
        assert_eq!(Confirmation::from_json(&x5t.to_json()).unwrap(), x5t);
        assert!(jkt.is_jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        assert!(!jkt.is_jkt("other"));
        assert!(!x5t.is_jkt("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"));
    }
}
