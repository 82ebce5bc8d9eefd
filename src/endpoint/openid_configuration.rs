//! The OpenID Provider configuration document (OpenID Connect Discovery
//! 1.0 §4): a provider's RFC 8414 metadata, with its OpenID members
//! ([`OpenIdProviderMetadata`](super::OpenIdProviderMetadata)), at the path
//! Discovery §4.1 gives it.
//!
//! # Where to mount it
//!
//! Discovery §4.1 *appends* `/.well-known/openid-configuration` to the
//! issuer, where RFC 8414 §3.1 inserts its suffix before the issuer's path:
//! for the issuer `https://example.com/tenant1` the configuration is at
//! `https://example.com/tenant1/.well-known/openid-configuration`, the
//! RFC 8414 document at
//! `https://example.com/.well-known/oauth-authorization-server/tenant1`.
//! [`AuthorizationServer::openid_configuration_path`] returns the path.
//!
//! ```
//! use portcullis::grant::AuthorizationCodeGrant;
//! use portcullis::jose::{Algorithm, KeySet, SigningKey};
//! use portcullis::oidc::{OpenIdConnect, StaticClaims};
//! use portcullis::{AuthorizationServer, MemoryStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example/tenant1")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(AuthorizationCodeGrant)
//!     .signing_keys(KeySet::new().with_key(SigningKey::generate(Algorithm::Rs256)?)?)
//!     .openid_connect(OpenIdConnect::new(StaticClaims::new()))
//!     .build()?;
//!
//! assert_eq!(
//!     server.openid_configuration_path(),
//!     "/tenant1/.well-known/openid-configuration"
//! );
//! let request = http::Request::get(server.openid_configuration_path()).body(())?;
//! let response = server.openid_configuration_endpoint(request);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/json");
//!
//! let document: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(document["issuer"], "https://auth.example/tenant1");
//! assert_eq!(document["userinfo_endpoint"], "https://auth.example/tenant1/userinfo");
//! assert_eq!(document["subject_types_supported"], serde_json::json!(["public"]));
//! assert_eq!(document["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
//! assert_eq!(document["request_uri_parameter_supported"], false);
//! # Ok(())
//! # }
//! ```

use http::{Request, Response, StatusCode};
use url::Url;

use super::authorization_server::AuthorizationServer;
use super::metadata::AuthorizationServerMetadata;

/// The suffix appended to the issuer to locate the configuration
/// (OpenID Connect Discovery 1.0 §4).
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";

impl AuthorizationServer {
    /// The OpenID Provider's configuration (Discovery §3): the
    /// [`metadata`](Self::metadata) document, whose
    /// [`openid`](AuthorizationServerMetadata::openid) members are set.
    /// `None` on a server that is not a provider.
    pub fn openid_configuration(&self) -> Option<AuthorizationServerMetadata> {
        self.inner.openid.as_ref()?;
        Some(self.metadata())
    }

    /// The path at which the host serves the configuration (Discovery
    /// §4.1): the issuer's path without a trailing `/`, followed by
    /// [`OPENID_CONFIGURATION_PATH`]. On the issuer's host.
    pub fn openid_configuration_path(&self) -> String {
        format!("{}{OPENID_CONFIGURATION_PATH}", self.inner.issuer_path())
    }

    /// The configuration's full URL (Discovery §4).
    pub fn openid_configuration_url(&self) -> Url {
        self.inner.on_issuer_host(&self.openid_configuration_path())
    }

    /// The configuration endpoint over HTTP (Discovery §4).
    ///
    /// Mount it at [`openid_configuration_path`](Self::openid_configuration_path).
    /// On an OpenID Provider it answers as
    /// [`metadata_endpoint`](Self::metadata_endpoint), with the same
    /// document: `GET` (or `HEAD`) gets `200` with it as `application/json`
    /// and `Cache-Control:`
    /// [`METADATA_CACHE_CONTROL`](super::METADATA_CACHE_CONTROL); another
    /// method gets `405` with `Allow: GET, HEAD`. A server that is not a
    /// provider has no configuration: `404`. No IO.
    pub fn openid_configuration_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>> {
        if self.inner.openid.is_none() {
            let mut response = Response::new(Vec::new());
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
        // The same document, served alike.
        self.metadata_endpoint(request)
    }
}
