//! Authorization server metadata (RFC 8414): the discovery document.
//!
//! [`AuthorizationServer::metadata`] builds the document from the server's
//! own configuration — the grants registered on the builder, the client
//! authenticator's methods, the PKCE and implicit switches, whether dynamic
//! registration is on — so it cannot advertise what the server does not do.
//! [`AuthorizationServer::metadata_endpoint`] serves it over HTTP.
//!
//! # Where to mount it
//!
//! RFC 8414 §3 puts the document at the issuer's host, with
//! `/.well-known/oauth-authorization-server` inserted *before* the issuer's
//! path: for the issuer `https://example.com/tenant1` it is
//! `https://example.com/.well-known/oauth-authorization-server/tenant1`.
//! [`AuthorizationServer::metadata_path`] returns that path.
//!
//! # Endpoint URLs
//!
//! Each endpoint's URL is the issuer joined with a default path
//! ([`Endpoint::default_path`]: `/authorize`, `/token`, `/revoke`,
//! `/introspect`, `/register`, `/device_authorization`), unless the builder
//! overrides it with [`ServerBuilder::endpoint`](crate::ServerBuilder::endpoint).
//! The host routes requests to the matching endpoint methods; the metadata
//! only says where they are.
//!
//! ```
//! use portcullis::endpoint::Endpoint;
//! use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
//! use portcullis::{AuthorizationServer, MemoryStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example/tenant1")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(AuthorizationCodeGrant)
//!     .grant(RefreshTokenGrant)
//!     .endpoint(Endpoint::Token, "/oauth/token")
//!     .scopes_supported("profile email".parse()?)
//!     .build()?;
//!
//! // The host mounts the document here (RFC 8414 §3.1) …
//! assert_eq!(
//!     server.metadata_path(),
//!     "/.well-known/oauth-authorization-server/tenant1"
//! );
//! // … and answers with the endpoint.
//! let request = http::Request::get(server.metadata_path()).body(())?;
//! let response = server.metadata_endpoint(request);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/json");
//!
//! let document: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(document["issuer"], "https://auth.example/tenant1");
//! assert_eq!(document["token_endpoint"], "https://auth.example/tenant1/oauth/token");
//! assert_eq!(
//!     document["grant_types_supported"],
//!     serde_json::json!(["authorization_code", "refresh_token"])
//! );
//! assert_eq!(document["code_challenge_methods_supported"], serde_json::json!(["S256"]));
//! // No dynamic registration was enabled, so none is advertised.
//! assert!(document.get("registration_endpoint").is_none());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;

use http::header::HeaderValue;
use http::{Request, Response};
use serde::Serializer;
use url::Url;

use super::authorization_server::{AuthorizationServer, ServerInner};
use super::published_urls::{Endpoint, EndpointUrls};
use crate::client::{AuthMethod, OPENID_SIGNING_ALGORITHMS, SubjectType};
use crate::jose::Algorithm;
use crate::oidc::OpenIdProvider;
use crate::protocol::openid::{Display, Prompt};
use crate::protocol::{CodeChallengeMethod, GrantType, Scope, published_document};
use crate::store::{ResponseMode, ResponseType};

/// The well-known URI suffix of the metadata document (RFC 8414 §3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-authorization-server";

/// `Cache-Control` of the metadata document: public — it holds nothing
/// secret — and short-lived, so a configuration change reaches clients within
/// minutes.
pub const METADATA_CACHE_CONTROL: &str = "public, max-age=300";

/// The metadata document (RFC 8414 §2), as this server is configured.
///
/// Serialises to the JSON members of RFC 8414 §2 (plus RFC 8628 §4's
/// `device_authorization_endpoint` and RFC 9207's
/// `authorization_response_iss_parameter_supported`). Per RFC 8414 §3.2,
/// members with no values are omitted — so a server without an authorization
/// endpoint has no `response_types_supported`, although §2 calls it
/// REQUIRED — with one exception: a server that serves no grant at all still
/// lists `"grant_types_supported": []`, since omitting it would mean
/// `authorization_code` and `implicit`.
///
/// On an OpenID Provider it also carries the provider's members
/// ([`openid`](Self::openid), OpenID Connect Discovery 1.0 §3), and the same
/// document is the provider's configuration
/// ([`AuthorizationServer::openid_configuration`]): one builder for both
/// documents, so they cannot disagree.
///
/// A host that publishes more serialises this to a `serde_json::Value` and
/// adds members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier, exactly as configured and as the `iss`
    /// authorization response parameter carries it (RFC 8414 §3.3 and
    /// RFC 9207 §2.4: clients compare it as a string).
    pub issuer: String,
    /// Present when the server serves `response_type=code` (the
    /// authorization code grant is registered) or `token` (implicit enabled).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub authorization_endpoint: Option<Url>,
    /// The token endpoint.
    #[serde(serialize_with = "url")]
    pub token_endpoint: Url,
    /// The JWKS (RFC 7517), when the server has signing keys
    /// ([`ServerBuilder::signing_keys`](crate::ServerBuilder::signing_keys)).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub jwks_uri: Option<Url>,
    /// Present only when dynamic client registration is enabled.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub registration_endpoint: Option<Url>,
    /// The scope values set with
    /// [`ServerBuilder::scopes_supported`](crate::ServerBuilder::scopes_supported);
    /// on an OpenID Provider, `openid` first (Discovery §3: the server MUST
    /// support it, and the scope values Core defines SHOULD be listed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `code` when the code grant is served; `token` when implicit is enabled.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub response_types_supported: Vec<ResponseType>,
    /// `query`, `fragment`, `form_post`, when there is an authorization
    /// endpoint.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub response_modes_supported: Vec<ResponseMode>,
    /// The grants registered on the builder, and `implicit` when enabled.
    #[serde(serialize_with = "wire_list")]
    pub grant_types_supported: Vec<GrantType>,
    /// The client authenticator's methods.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub token_endpoint_auth_methods_supported: Vec<AuthMethod>,
    /// Developer documentation.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub service_documentation: Option<Url>,
    /// The server's policy on clients' use of data.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub op_policy_uri: Option<Url>,
    /// The server's terms of service.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub op_tos_uri: Option<Url>,
    /// The revocation endpoint (RFC 7009).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub revocation_endpoint: Option<Url>,
    /// The client authenticator's methods: revocation authenticates clients
    /// as the token endpoint does (RFC 7009 §2.1).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub revocation_endpoint_auth_methods_supported: Vec<AuthMethod>,
    /// The introspection endpoint (RFC 7662).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub introspection_endpoint: Option<Url>,
    /// The client authenticator's methods but `none` — introspection needs
    /// an authenticated caller (RFC 7662 §2.1), and a public client's
    /// `client_id` authenticates nothing — and `Bearer` when resource servers
    /// have credentials
    /// ([`ServerBuilder::introspection_credential`](crate::ServerBuilder::introspection_credential)):
    /// RFC 8414 §2 lets this member name access token types, and a resource
    /// server authenticates with `Authorization: Bearer`.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub introspection_endpoint_auth_methods_supported: Vec<AuthMethod>,
    /// `S256`, and `plain` only when the server allows it. Omitted without
    /// the code grant.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub code_challenge_methods_supported: Vec<CodeChallengeMethod>,
    /// Present only when the device grant (RFC 8628) is served.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub device_authorization_endpoint: Option<Url>,
    /// Authorization responses carry `iss` (RFC 9207 §3); `true` whenever
    /// there is an authorization endpoint.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub authorization_response_iss_parameter_supported: bool,
    /// The algorithms a client assertion (`private_key_jwt`,
    /// `client_secret_jwt`; RFC 7523) may use at the token endpoint: ES256,
    /// RS256, PS256, EdDSA, and HS256 with `client_secret_jwt`. Present
    /// when JWT client authentication is on.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<Algorithm>,
    /// The same, at the revocation endpoint.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<Algorithm>,
    /// The same, at the introspection endpoint.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<Algorithm>,
    /// URL `client_id`s name client metadata documents the server fetches
    /// (draft-ietf-oauth-client-id-metadata-document-01 §5); `true` when
    /// [`ServerBuilder::client_id_metadata_documents`](crate::ServerBuilder::client_id_metadata_documents)
    /// is set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_id_metadata_document_supported: bool,
    /// The algorithms a DPoP proof may use (RFC 9449 §5.1); present when
    /// [`ServerBuilder::dpop`](crate::ServerBuilder::dpop) is set.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub dpop_signing_alg_values_supported: Vec<Algorithm>,
    /// What an OpenID Provider adds (Discovery §3); `None`, and no member
    /// written, on a server that is not one.
    #[serde(flatten)]
    pub openid: Option<OpenIdProviderMetadata>,
    /// Pushed authorization requests (RFC 9126 §5).
    #[serde(flatten)]
    pub pushed: PushedAuthorizationMetadata,
    /// Request objects (RFC 9101 §10.5).
    #[serde(flatten)]
    pub request_objects: RequestObjectMetadata,
    /// The authorization details types the server accepts
    /// (`authorization_details_types_supported`, RFC 9396 §10.1), as
    /// registered with
    /// [`ServerBuilder::authorization_details_type`](crate::ServerBuilder::authorization_details_type);
    /// absent when none are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_details_types_supported: Vec<String>,
    /// Mutual TLS (RFC 8705 §3.3, §5).
    #[serde(flatten)]
    pub mutual_tls: MutualTlsMetadata,
}

/// The members mutual TLS adds (RFC 8705 §3.3, §5), when
/// [`ServerBuilder::mutual_tls`](crate::ServerBuilder::mutual_tls) is set;
/// written flattened into [`AuthorizationServerMetadata`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MutualTlsMetadata {
    /// `tls_client_certificate_bound_access_tokens` (RFC 8705 §3.3): the
    /// server issues certificate-bound access tokens.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_client_certificate_bound_access_tokens: bool,
    /// `mtls_endpoint_aliases` (RFC 8705 §5): the endpoints' mutual-TLS
    /// URLs, by metadata member name; absent when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", serialize_with = "url_map")]
    pub mtls_endpoint_aliases: BTreeMap<String, Url>,
}

fn url_map<S: Serializer>(map: &BTreeMap<String, Url>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter().map(|(k, v)| (k, v.as_str())))
}

/// The members an OpenID Provider's metadata adds to RFC 8414's (OpenID
/// Connect Discovery 1.0 §3), as the provider is configured
/// ([`ServerBuilder::openid_connect`](crate::ServerBuilder::openid_connect)).
/// Written flattened into [`AuthorizationServerMetadata`]; lists with no
/// values are omitted (Discovery §4.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OpenIdProviderMetadata {
    /// The UserInfo endpoint (Core §5.3).
    #[serde(serialize_with = "url")]
    pub userinfo_endpoint: Url,
    /// The logout endpoint (RP-Initiated Logout 1.0 §2.1).
    #[serde(serialize_with = "url")]
    pub end_session_endpoint: Url,
    /// `public`, and `pairwise` when the provider has a pairwise key
    /// ([`OpenIdConnect::pairwise_subjects`](crate::oidc::OpenIdConnect::pairwise_subjects)).
    #[serde(serialize_with = "wire_list")]
    pub subject_types_supported: Vec<SubjectType>,
    /// The algorithms the key set has an active key for, among those a
    /// client may register for its ID tokens
    /// ([`OPENID_SIGNING_ALGORITHMS`](crate::client::OPENID_SIGNING_ALGORITHMS)).
    /// Discovery §3 wants `RS256` among them: give the key set an RS256 key.
    #[serde(serialize_with = "wire_list")]
    pub id_token_signing_alg_values_supported: Vec<Algorithm>,
    /// The same algorithms, for signed UserInfo responses
    /// (`userinfo_signed_response_alg`, Core §5.3.2).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub userinfo_signing_alg_values_supported: Vec<Algorithm>,
    /// The authentication context classes the host can satisfy
    /// ([`OpenIdConnect::acr_values_supported`](crate::oidc::OpenIdConnect::acr_values_supported)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acr_values_supported: Vec<String>,
    /// The `display` values (Core §3.1.2.1), passed to the host.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub display_values_supported: Vec<&'static str>,
    /// The `prompt` values (Core §3.1.2.1; `create` from Initiating User
    /// Registration 1.0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prompt_values_supported: Vec<&'static str>,
    /// `normal` only: no aggregated or distributed claims (Core §5.6).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claim_types_supported: Vec<&'static str>,
    /// The claims the provider may supply
    /// ([`OpenIdConnect::claims_supported`](crate::oidc::OpenIdConnect::claims_supported)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_supported: Vec<String>,
    /// The `claims` request parameter is read (Core §5.5): `true`.
    pub claims_parameter_supported: bool,
    /// Request objects by value (Core §6.1; RFC 9101): read when the server
    /// has a replay cache (`true`), refused (`request_not_supported`)
    /// otherwise.
    pub request_parameter_supported: bool,
    /// Request objects by reference (Core §6.2) are refused
    /// (`request_uri_not_supported`): `false`, written out because
    /// Discovery §3 defaults it to `true`.
    pub request_uri_parameter_supported: bool,
}

/// The RFC 9126 §5 members of [`AuthorizationServerMetadata`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PushedAuthorizationMetadata {
    /// The pushed authorization request endpoint, when there is an
    /// authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_url")]
    pub pushed_authorization_request_endpoint: Option<Url>,
    /// Whether every authorization request must be pushed
    /// ([`ServerBuilder::require_pushed_authorization_requests`](crate::ServerBuilder::require_pushed_authorization_requests)).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
}

/// The RFC 9101 §10.5 members of [`AuthorizationServerMetadata`], present
/// when the server reads request objects (it has a replay cache, and an
/// authorization endpoint).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RequestObjectMetadata {
    /// The algorithms request objects may be signed with
    /// ([`ServerBuilder::request_object_signing_algs`](crate::ServerBuilder::request_object_signing_algs)).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "wire_list")]
    pub request_object_signing_alg_values_supported: Vec<Algorithm>,
    /// Whether every authorization request must be a signed request object
    /// ([`ServerBuilder::require_signed_request_object`](crate::ServerBuilder::require_signed_request_object)).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_signed_request_object: bool,
}

/// The access token type a resource server authenticates with at the
/// introspection endpoint (RFC 6750; RFC 8414 §2 lets
/// `introspection_endpoint_auth_methods_supported` name it).
const BEARER: &str = "Bearer";

/// The scope value of an OpenID Connect request (Core §3.1.2.1).
const OPENID_SCOPE: &str = "openid";

/// A value with a name on the wire.
trait Wire {
    fn wire(&self) -> &str;
}

impl Wire for GrantType {
    fn wire(&self) -> &str {
        self.as_str()
    }
}

impl Wire for AuthMethod {
    fn wire(&self) -> &str {
        self.as_str()
    }
}

impl Wire for Algorithm {
    fn wire(&self) -> &str {
        self.as_str()
    }
}

impl Wire for CodeChallengeMethod {
    fn wire(&self) -> &str {
        self.as_str()
    }
}

impl Wire for ResponseType {
    fn wire(&self) -> &str {
        match self {
            ResponseType::Code => "code",
            ResponseType::Token => "token",
        }
    }
}

impl Wire for SubjectType {
    fn wire(&self) -> &str {
        self.as_str()
    }
}

impl Wire for ResponseMode {
    fn wire(&self) -> &str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }
}

fn wire_list<S: Serializer, T: Wire>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values.iter().map(Wire::wire))
}

fn url<S: Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(url.as_str())
}

fn opt_url<S: Serializer>(url: &Option<Url>, serializer: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => serializer.serialize_str(u.as_str()),
        None => serializer.serialize_none(),
    }
}

impl ServerInner {
    /// Whether the server answers `response_type=code`, `token`, or neither.
    pub(crate) fn response_types(&self) -> Vec<ResponseType> {
        let mut types = Vec::with_capacity(2);
        if self.serves(&GrantType::AUTHORIZATION_CODE) {
            types.push(ResponseType::Code);
        }
        if self.options.implicit {
            types.push(ResponseType::Token);
        }
        types
    }

    /// The issuer's path without a trailing `/`, from which the well-known
    /// paths are made (RFC 8414 §3.1, OpenID Connect Discovery 1.0 §4.1).
    pub(crate) fn issuer_path(&self) -> &str {
        self.issuer_url.path().trim_end_matches('/')
    }

    /// `path` on the issuer's host.
    pub(crate) fn on_issuer_host(&self, path: &str) -> Url {
        let mut url = self.issuer_url.clone();
        url.set_path(path);
        url
    }

    /// Every grant type a client may be registered for and use here: the
    /// token endpoint's, and `implicit` when enabled.
    pub(crate) fn grant_types_supported(&self) -> Vec<GrantType> {
        let mut grants: Vec<GrantType> = self.grants.iter().map(|(g, _)| g.clone()).collect();
        if self.options.implicit && !grants.contains(&GrantType::IMPLICIT) {
            grants.push(GrantType::IMPLICIT);
        }
        grants
    }
}

impl OpenIdProviderMetadata {
    /// The members `provider` publishes, its endpoints at `urls`.
    fn of(provider: &OpenIdProvider, urls: &EndpointUrls) -> Self {
        let algorithms: Vec<Algorithm> = provider
            .keys
            .algorithms()
            .into_iter()
            .filter(|alg| OPENID_SIGNING_ALGORITHMS.contains(alg))
            .collect();
        let mut subject_types = vec![SubjectType::Public];
        if provider.config.pairwise.is_some() {
            subject_types.push(SubjectType::Pairwise);
        }
        Self {
            userinfo_endpoint: urls.get(Endpoint::UserInfo).clone(),
            end_session_endpoint: urls.get(Endpoint::EndSession).clone(),
            subject_types_supported: subject_types,
            userinfo_signing_alg_values_supported: algorithms.clone(),
            id_token_signing_alg_values_supported: algorithms,
            acr_values_supported: provider.config.acr_values_supported.clone(),
            display_values_supported: Display::SUPPORTED.to_vec(),
            prompt_values_supported: Prompt::SUPPORTED.to_vec(),
            claim_types_supported: vec!["normal"],
            claims_supported: provider.claims_supported.clone(),
            claims_parameter_supported: true,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
        }
    }
}

impl AuthorizationServer {
    /// The metadata document (RFC 8414 §2) for this server's configuration.
    pub fn metadata(&self) -> AuthorizationServerMetadata {
        let inner = &*self.inner;
        let urls = &inner.discovery.endpoints;
        let response_types = inner.response_types();
        let interactive = !response_types.is_empty();
        let methods = inner.auth_methods.clone();
        let signing_algs = inner
            .jwt_auth
            .as_ref()
            .map(|jwt| jwt.algorithms())
            .unwrap_or_default();
        let code_challenge_methods = if inner.serves(&GrantType::AUTHORIZATION_CODE) {
            let mut m = vec![CodeChallengeMethod::S256];
            if inner.options.allow_plain_pkce {
                m.push(CodeChallengeMethod::Plain);
            }
            m
        } else {
            Vec::new()
        };
        AuthorizationServerMetadata {
            issuer: inner.issuer.clone(),
            authorization_endpoint: interactive.then(|| urls.get(Endpoint::Authorization).clone()),
            token_endpoint: urls.get(Endpoint::Token).clone(),
            jwks_uri: (!inner.audiences.keys().is_empty())
                .then(|| urls.get(Endpoint::Jwks).clone()),
            registration_endpoint: inner
                .registration
                .is_some()
                .then(|| urls.get(Endpoint::Registration).clone()),
            scopes_supported: inner
                .openid
                .as_ref()
                .map(|_| OPENID_SCOPE)
                .into_iter()
                .chain(
                    inner
                        .discovery
                        .scopes_supported
                        .iter()
                        .flat_map(Scope::iter)
                        .filter(|scope| inner.openid.is_none() || *scope != OPENID_SCOPE),
                )
                .map(str::to_owned)
                .collect(),
            response_modes_supported: if interactive {
                vec![
                    ResponseMode::Query,
                    ResponseMode::Fragment,
                    ResponseMode::FormPost,
                ]
            } else {
                Vec::new()
            },
            response_types_supported: response_types,
            grant_types_supported: inner.grant_types_supported(),
            service_documentation: inner.discovery.service_documentation.clone(),
            op_policy_uri: inner.discovery.op_policy_uri.clone(),
            op_tos_uri: inner.discovery.op_tos_uri.clone(),
            revocation_endpoint: Some(urls.get(Endpoint::Revocation).clone()),
            revocation_endpoint_auth_methods_supported: methods.clone(),
            introspection_endpoint: Some(urls.get(Endpoint::Introspection).clone()),
            introspection_endpoint_auth_methods_supported: methods
                .iter()
                .filter(|m| **m != AuthMethod::NONE)
                .cloned()
                .chain(
                    inner
                        .introspection
                        .has_resource_servers()
                        .then(|| AuthMethod::extension(BEARER)),
                )
                .collect(),
            token_endpoint_auth_methods_supported: methods,
            code_challenge_methods_supported: code_challenge_methods,
            device_authorization_endpoint: inner
                .serves(&GrantType::DEVICE_CODE)
                .then(|| urls.get(Endpoint::DeviceAuthorization).clone()),
            authorization_response_iss_parameter_supported: interactive,
            revocation_endpoint_auth_signing_alg_values_supported: signing_algs.clone(),
            introspection_endpoint_auth_signing_alg_values_supported: signing_algs.clone(),
            token_endpoint_auth_signing_alg_values_supported: signing_algs,
            client_id_metadata_document_supported: inner.options.client_id_metadata_documents,
            dpop_signing_alg_values_supported: inner
                .dpop
                .as_ref()
                .map(|dpop| dpop.signing_algorithms().to_vec())
                .unwrap_or_default(),
            openid: inner
                .openid
                .as_deref()
                .map(|provider| OpenIdProviderMetadata::of(provider, urls))
                .map(|mut openid| {
                    // RFC 9101: `request` is read when the server reads
                    // request objects.
                    openid.request_parameter_supported = self.reads_request_objects();
                    // FAPI 2.0 §5.4.1 item 1.2: only PS256, ES256, EdDSA.
                    if inner.options.fapi2 {
                        openid
                            .id_token_signing_alg_values_supported
                            .retain(|alg| crate::jose::FAPI2_ALGORITHMS.contains(alg));
                        openid
                            .userinfo_signing_alg_values_supported
                            .retain(|alg| crate::jose::FAPI2_ALGORITHMS.contains(alg));
                    }
                    openid
                }),
            pushed: PushedAuthorizationMetadata {
                pushed_authorization_request_endpoint: interactive
                    .then(|| urls.get(Endpoint::PushedAuthorization).clone()),
                require_pushed_authorization_requests: interactive && inner.pushed.required,
            },
            request_objects: RequestObjectMetadata {
                request_object_signing_alg_values_supported: if interactive {
                    self.request_object_algorithms().to_vec()
                } else {
                    Vec::new()
                },
                require_signed_request_object: interactive && inner.request_objects.required,
            },
            authorization_details_types_supported: inner.detail_types.supported(),
            mutual_tls: MutualTlsMetadata {
                tls_client_certificate_bound_access_tokens: inner.mutual_tls.is_some(),
                mtls_endpoint_aliases: inner
                    .mutual_tls
                    .as_ref()
                    .map(|mtls| mtls.aliases.clone())
                    .unwrap_or_default(),
            },
        }
    }

    /// Where every endpoint is published.
    pub fn endpoint_urls(&self) -> &EndpointUrls {
        &self.inner.discovery.endpoints
    }

    /// The path at which the host serves the metadata document (RFC 8414
    /// §3.1): [`WELL_KNOWN_PATH`] followed by the issuer's path, without a
    /// trailing `/`. On the issuer's host.
    pub fn metadata_path(&self) -> String {
        format!("{WELL_KNOWN_PATH}{}", self.inner.issuer_path())
    }

    /// The metadata document's full URL (RFC 8414 §3).
    pub fn metadata_url(&self) -> Url {
        self.inner.on_issuer_host(&self.metadata_path())
    }

    /// The metadata endpoint over HTTP (RFC 8414 §3).
    ///
    /// Mount it on the issuer's host at [`metadata_path`](Self::metadata_path):
    /// RFC 8414 §3.1 inserts `/.well-known/oauth-authorization-server`
    /// *before* the issuer's path, so for the issuer
    /// `https://example.com/tenant1` the document is at
    /// `https://example.com/.well-known/oauth-authorization-server/tenant1`.
    ///
    /// `GET` (or `HEAD`) gets
    /// `200` with the document as `application/json` and
    /// `Cache-Control:` [`METADATA_CACHE_CONTROL`]; any other method gets
    /// `405` with `Allow: GET, HEAD`. No IO: the document comes from the
    /// server's configuration.
    pub fn metadata_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>> {
        published_document(
            request.method(),
            "the metadata endpoint accepts only GET",
            // Serialising strings and lists into a Vec cannot fail.
            || serde_json::to_vec(&self.metadata()).unwrap_or_default(),
            "application/json",
            HeaderValue::from_static(METADATA_CACHE_CONTROL),
        )
    }
}
