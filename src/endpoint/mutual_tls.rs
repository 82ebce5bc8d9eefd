//! Mutual TLS (RFC 8705) at the server: what a host enables with
//! [`ServerBuilder::mutual_tls`](crate::ServerBuilder::mutual_tls).

use std::collections::BTreeMap;

use url::Url;

use super::published_urls::{Endpoint, check_published_url};

/// Mutual-TLS client authentication and certificate-bound access tokens
/// (RFC 8705), as the server offers them.
///
/// With it, the server accepts `tls_client_auth` (§2.1) and
/// `self_signed_tls_client_auth` (§2.2) at every endpoint where a client
/// authenticates, lists them in `token_endpoint_auth_methods_supported`,
/// binds the access tokens of a client registered with
/// `tls_client_certificate_bound_access_tokens` to the certificate of its
/// token request (§3.1), and publishes
/// `tls_client_certificate_bound_access_tokens: true` (§3.3) and any
/// `mtls_endpoint_aliases` (§5). The certificate itself comes from the
/// host's TLS layer as a [`ClientCertificate`](crate::token::ClientCertificate)
/// in the request's extensions: portcullis does no TLS.
///
/// ```
/// # use portcullis::endpoint::{Endpoint, MutualTls};
/// let mtls = MutualTls::new()
///     .endpoint_alias(Endpoint::Token, "https://mtls.as.example/token");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MutualTls {
    aliases: Vec<(Endpoint, String)>,
}

impl MutualTls {
    /// Mutual TLS on the endpoints' published URLs, with no aliases.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes `url` as `endpoint`'s mutual-TLS alias (RFC 8705 §5,
    /// `mtls_endpoint_aliases`): for a host that asks for client
    /// certificates on another host name or port only, so that other
    /// clients never see a certificate request. The host routes requests
    /// to the alias to the same endpoint. Only endpoints a client calls
    /// directly have aliases (token, revocation, introspection, device
    /// authorization, pushed authorization, registration, UserInfo);
    /// another, or a URL that is not absolute `https` (or `http` on a
    /// loopback host), fails [`build`](crate::ServerBuilder::build) with
    /// [`BuildError::InvalidMutualTls`](crate::BuildError::InvalidMutualTls).
    pub fn endpoint_alias(mut self, endpoint: Endpoint, url: impl Into<String>) -> Self {
        self.aliases.retain(|(e, _)| *e != endpoint);
        self.aliases.push((endpoint, url.into()));
        self
    }

    /// The aliases as the metadata publishes them, checked.
    pub(crate) fn aliases(&self) -> Result<BTreeMap<String, Url>, &'static str> {
        let mut aliases = BTreeMap::new();
        for (endpoint, url) in &self.aliases {
            if matches!(
                endpoint,
                Endpoint::Authorization | Endpoint::Jwks | Endpoint::EndSession
            ) {
                return Err("an mTLS alias is only for an endpoint a client calls directly");
            }
            let parsed = Url::parse(url).map_err(|_| "an mTLS alias must be an absolute URL")?;
            check_published_url(&parsed)?;
            aliases.insert(endpoint.metadata_name().to_owned(), parsed);
        }
        Ok(aliases)
    }
}

/// Mutual TLS as the built server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MutualTlsConfig {
    /// `mtls_endpoint_aliases`, by metadata member name.
    pub(crate) aliases: BTreeMap<String, Url>,
}
