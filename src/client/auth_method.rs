//! Token endpoint authentication methods (RFC 6749 §2.3, RFC 7591 §2) as an
//! open set.

use std::borrow::Cow;
use std::fmt;

/// How a client authenticates at the token endpoint.
///
/// The registered values of RFC 7591 §2 that portcullis implements have
/// constants; [`AuthMethod::extension`] names any other scheme (a host's own
/// authenticator can support mutual TLS this way).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuthMethod(Cow<'static, str>);

impl AuthMethod {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1). The default
    /// for confidential clients.
    pub const CLIENT_SECRET_BASIC: Self = Self(Cow::Borrowed("client_secret_basic"));
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1: NOT
    /// RECOMMENDED, for clients unable to use Basic).
    pub const CLIENT_SECRET_POST: Self = Self(Cow::Borrowed("client_secret_post"));
    /// No authentication: a public client identified by `client_id` only.
    pub const NONE: Self = Self(Cow::Borrowed("none"));
    /// A JWT the client signs with its private key (RFC 7523 §2.2, §3;
    /// OpenID Connect Core §9), verified with the public keys it registered
    /// (`jwks` or `jwks_uri`, RFC 7591 §2).
    pub const PRIVATE_KEY_JWT: Self = Self(Cow::Borrowed("private_key_jwt"));
    /// A JWT the client MACs with HS256 and its client secret (RFC 7523
    /// §2.2, §3; OpenID Connect Core §9).
    pub const CLIENT_SECRET_JWT: Self = Self(Cow::Borrowed("client_secret_jwt"));
    /// Mutual TLS with a certificate from a PKI the host's TLS layer trusts,
    /// matched to the client by a registered subject DN or SAN (RFC 8705
    /// §2.1).
    pub const TLS_CLIENT_AUTH: Self = Self(Cow::Borrowed("tls_client_auth"));
    /// Mutual TLS with a self-signed certificate the client registered in
    /// its `jwks` or `jwks_uri` (RFC 8705 §2.2).
    pub const SELF_SIGNED_TLS_CLIENT_AUTH: Self =
        Self(Cow::Borrowed("self_signed_tls_client_auth"));

    /// Another method, by its RFC 7591 name.
    pub fn extension(name: impl Into<String>) -> Self {
        let name = name.into();
        match name.as_str() {
            "client_secret_basic" => Self::CLIENT_SECRET_BASIC,
            "client_secret_post" => Self::CLIENT_SECRET_POST,
            "none" => Self::NONE,
            "private_key_jwt" => Self::PRIVATE_KEY_JWT,
            "client_secret_jwt" => Self::CLIENT_SECRET_JWT,
            "tls_client_auth" => Self::TLS_CLIENT_AUTH,
            "self_signed_tls_client_auth" => Self::SELF_SIGNED_TLS_CLIENT_AUTH,
            _ => Self(Cow::Owned(name)),
        }
    }

    /// The RFC 7591 name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the method presents a client secret, which the server keeps
    /// as a hash (`client_secret_basic`, `client_secret_post`).
    /// `client_secret_jwt` proves possession of a secret without presenting
    /// it, and is not one of these.
    pub fn uses_secret(&self) -> bool {
        *self == Self::CLIENT_SECRET_BASIC || *self == Self::CLIENT_SECRET_POST
    }

    /// Whether the method is a JWT client assertion (RFC 7523 §2.2):
    /// `private_key_jwt` or `client_secret_jwt`.
    pub fn is_jwt_assertion(&self) -> bool {
        *self == Self::PRIVATE_KEY_JWT || *self == Self::CLIENT_SECRET_JWT
    }

    /// Whether the method is mutual TLS (RFC 8705 §2): `tls_client_auth` or
    /// `self_signed_tls_client_auth`.
    pub fn is_mutual_tls(&self) -> bool {
        *self == Self::TLS_CLIENT_AUTH || *self == Self::SELF_SIGNED_TLS_CLIENT_AUTH
    }
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_their_constants_and_kinds() {
        for (name, method) in [
            ("tls_client_auth", AuthMethod::TLS_CLIENT_AUTH),
            ("self_signed_tls_client_auth", AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH),
            ("private_key_jwt", AuthMethod::PRIVATE_KEY_JWT),
        ] {
            assert_eq!(AuthMethod::extension(name), method);
            assert_eq!(method.as_str(), name);
        }
        assert!(AuthMethod::TLS_CLIENT_AUTH.is_mutual_tls());
        assert!(AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH.is_mutual_tls());
        assert!(!AuthMethod::PRIVATE_KEY_JWT.is_mutual_tls());
        assert!(!AuthMethod::TLS_CLIENT_AUTH.is_jwt_assertion());
        assert!(!AuthMethod::TLS_CLIENT_AUTH.uses_secret());
    }
}
