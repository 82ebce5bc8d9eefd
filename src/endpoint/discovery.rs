//! What the metadata document (RFC 8414) says beyond what the server's
//! configuration implies: endpoint URLs and documentation pages, as the
//! builder collects them and as they are checked when the server is built.

use url::Url;

use super::build_error::BuildError;
use super::published_urls::{Endpoint, EndpointUrls, endpoint_url};
use crate::protocol::Scope;

/// What the builder collects for the metadata document.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiscoveryConfig {
    pub(crate) endpoints: Vec<(Endpoint, String)>,
    pub(crate) scopes_supported: Option<Scope>,
    pub(crate) service_documentation: Option<String>,
    pub(crate) op_policy_uri: Option<String>,
    pub(crate) op_tos_uri: Option<String>,
}

/// The same, validated.
#[derive(Debug, Clone)]
pub(crate) struct Discovery {
    pub(crate) endpoints: EndpointUrls,
    pub(crate) scopes_supported: Option<Scope>,
    pub(crate) service_documentation: Option<Url>,
    pub(crate) op_policy_uri: Option<Url>,
    pub(crate) op_tos_uri: Option<Url>,
}

impl DiscoveryConfig {
    pub(crate) fn resolve(self, issuer: &Url) -> Result<Discovery, BuildError> {
        let url = |endpoint: Endpoint| -> Result<Url, BuildError> {
            let configured = self
                .endpoints
                .iter()
                .rev()
                .find(|(e, _)| *e == endpoint)
                .map_or(endpoint.default_path(), |(_, url)| url.as_str());
            endpoint_url(issuer, configured)
                .map_err(|reason| BuildError::InvalidEndpointUrl { endpoint, reason })
        };
        let endpoints = EndpointUrls {
            authorization: url(Endpoint::Authorization)?,
            token: url(Endpoint::Token)?,
            revocation: url(Endpoint::Revocation)?,
            introspection: url(Endpoint::Introspection)?,
            registration: url(Endpoint::Registration)?,
            device_authorization: url(Endpoint::DeviceAuthorization)?,
            jwks: url(Endpoint::Jwks)?,
            userinfo: url(Endpoint::UserInfo)?,
            end_session: url(Endpoint::EndSession)?,
            pushed_authorization: url(Endpoint::PushedAuthorization)?,
        };
        let page = |name: &'static str, value: Option<String>| {
            value
                .map(|v| match Url::parse(&v) {
                    Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(u),
                    _ => Err(BuildError::InvalidMetadataUrl(name)),
                })
                .transpose()
        };
        Ok(Discovery {
            endpoints,
            scopes_supported: self.scopes_supported,
            service_documentation: page("service_documentation", self.service_documentation)?,
            op_policy_uri: page("op_policy_uri", self.op_policy_uri)?,
            op_tos_uri: page("op_tos_uri", self.op_tos_uri)?,
        })
    }
}
