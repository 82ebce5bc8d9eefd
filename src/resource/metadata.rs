//! Protected resource metadata (RFC 9728): the document a resource server
//! publishes so that a client knowing only the resource's URL can find the
//! authorization server to ask, and what to ask it for.
//!
//! The resource server builds its [`ProtectedResourceMetadata`] once, serves
//! it at its [`well_known_path`](ProtectedResourceMetadata::well_known_path)
//! ([`endpoint`](ProtectedResourceMetadata::endpoint), or
//! `portcullis::axum::protected_resource_metadata`), and names its URL in
//! every challenge ([`BearerValidator::resource_metadata`]). A client fetches
//! the URL from a `401`, parses the document and checks it
//! ([`parse_for`](ProtectedResourceMetadata::parse_for), §3.3), then reads
//! the authorization server's own metadata (RFC 8414) from one of its
//! [`authorization_servers`](ProtectedResourceMetadata::authorization_servers).
//! That is the discovery an MCP client starts with.
//!
//! # Where the document lives (§3, §3.1)
//!
//! [`WELL_KNOWN_PREFIX`] is inserted between the resource identifier's host
//! and its path and query: the document of `https://api.example/v1/me` is at
//! `https://api.example/.well-known/oauth-protected-resource/v1/me`, that of
//! `https://api.example` (or `https://api.example/`) at
//! `https://api.example/.well-known/oauth-protected-resource`. Only a path
//! that is just `/` is dropped; any other path is kept as written, a
//! trailing `/` included (`https://api.example/v1/` and `…/v1` are two
//! identifiers, with two documents), and a query follows the path.
//!
//! ```
//! use portcullis::resource::{BearerValidator, ProtectedResourceMetadata, Realm};
//! # use portcullis::{AuthorizationServer, MemoryStore};
//! # use portcullis::grant::ClientCredentialsGrant;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let store = MemoryStore::new();
//! # let server = AuthorizationServer::builder("https://auth.example")
//! #     .clients(store.clone()).tokens(store).grant(ClientCredentialsGrant).build()?;
//! let document = ProtectedResourceMetadata::builder("https://api.example/v1/me")
//!     .authorization_server("https://auth.example")
//!     .scopes_supported("me:read".parse()?)
//!     .resource_name("Example API")
//!     .build()?;
//! assert_eq!(document.well_known_path(), "/.well-known/oauth-protected-resource/v1/me");
//!
//! // Every challenge names it (RFC 9728 §5.1).
//! let validator = BearerValidator::new(server, Realm::new("api")?)
//!     .resource_metadata(document.resource_metadata_url().clone());
//!
//! // The document, as the host serves it at that path.
//! let response = document.endpoint(&http::Request::get(document.well_known_path()).body(())?);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! let json: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(
//!     json,
//!     serde_json::json!({
//!         "resource": "https://api.example/v1/me",
//!         "authorization_servers": ["https://auth.example"],
//!         "scopes_supported": ["me:read"],
//!         "bearer_methods_supported": ["header"],
//!         "resource_name": "Example API",
//!     })
//! );
//!
//! // A client checks what it fetched against the identifier it derived the
//! // URL from (§3.3) before using it.
//! let fetched = ProtectedResourceMetadata::parse_for("https://api.example/v1/me", response.body())?;
//! assert_eq!(fetched.authorization_servers(), ["https://auth.example"]);
//! assert!(ProtectedResourceMetadata::parse_for("https://evil.example/v1/me", response.body()).is_err());
//! # let _ = validator;
//! # Ok(())
//! # }
//! ```

use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use url::Url;

use super::{ResourceMetadataUrl, TokenLocation};
use crate::endpoint::check_published_url;
use crate::protocol::{ErrorResponse, Scope, document_response};

/// The well-known URI string of protected resource metadata (RFC 9728 §3),
/// inserted between a resource identifier's host and its path.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/oauth-protected-resource";

/// `Cache-Control` of the served document: public — it holds nothing
/// secret — and cached for five minutes (RFC 9728 §7.10 asks for a
/// `max-age`), as the authorization server's own metadata is: short enough
/// that a change (a new authorization server, §5.2) reaches clients within
/// minutes.
pub const RESOURCE_METADATA_CACHE_CONTROL: &str = "public, max-age=300";

/// Why a builder refused a document, or why a resource identifier cannot be
/// one: the member, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protected resource metadata: {member}: {reason}")]
pub struct InvalidResourceMetadata {
    member: String,
    reason: &'static str,
}

impl InvalidResourceMetadata {
    fn new(member: impl Into<String>, reason: &'static str) -> Self {
        Self {
            member: member.into(),
            reason,
        }
    }

    /// The member at fault (`resource`, `jwks_uri`, …).
    pub fn member(&self) -> &str {
        &self.member
    }

    /// The rule it breaks.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// A fetched document's `resource` is not the resource identifier its URL
/// was derived from (RFC 9728 §3.3): its contents MUST NOT be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the metadata names the resource {found:?}, not {expected:?} (RFC 9728 §3.3)")]
pub struct ResourceMismatch {
    /// The identifier the client derived the URL from.
    pub expected: String,
    /// The identifier the document names.
    pub found: String,
}

/// Why a client may not use a fetched document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnusableMetadata {
    /// Not a JSON object of RFC 9728 §2's members with their types, or its
    /// `resource` is not a resource identifier.
    #[error("malformed protected resource metadata: {0}")]
    Malformed(String),
    /// Another resource's document (§3.3).
    #[error(transparent)]
    Mismatch(#[from] ResourceMismatch),
}

/// The wire form: RFC 9728 §2's members, and any other kept as they came.
/// Members with no values are omitted (§3.2), but for an explicitly empty
/// `bearer_methods_supported`, which means "none" (§2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Members {
    resource: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bearer_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    tls_client_certificate_bound_access_tokens: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    authorization_details_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    dpop_bound_access_tokens_required: bool,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// The members RFC 9728 §2 defines (and §2.2's `signed_metadata`, which is
/// kept among the others).
const DEFINED: &[&str] = &[
    "resource",
    "authorization_servers",
    "jwks_uri",
    "scopes_supported",
    "bearer_methods_supported",
    "resource_signing_alg_values_supported",
    "resource_name",
    "resource_documentation",
    "resource_policy_uri",
    "resource_tos_uri",
    "tls_client_certificate_bound_access_tokens",
    "authorization_details_types_supported",
    "dpop_signing_alg_values_supported",
    "dpop_bound_access_tokens_required",
];

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a resource's document lives, worked out once from its identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    url: Url,
    path: String,
    query: Option<String>,
    metadata_url: ResourceMetadataUrl,
}

/// A protected resource's metadata document (RFC 9728 §2).
///
/// Made by a resource server with [`builder`](Self::builder), which checks
/// every member it is given, or parsed by a client (`Deserialize`, or
/// [`parse_for`](Self::parse_for), which also does §3.3's check). Either
/// way its `resource` is a resource identifier (§1.2): an absolute `https`
/// URL (`http` only on a loopback host, for development), without user
/// information, fragment or dot segments, in printable ASCII other than
/// space, `"` and `\`. It may have a query, though RFC 8707 §2 says it
/// SHOULD NOT. A parsed document's other members are as the server sent
/// them, unchecked; members this library does not know — extensions,
/// language-tagged names such as `resource_name#fr` (§2.1), `signed_metadata`
/// (§2.2, not verified here) — are kept, in [`other_members`](Self::other_members),
/// and written back out.
///
/// Serialises to the JSON object of §3.2, members without values omitted
/// (but an explicitly empty `bearer_methods_supported`, which says no bearer
/// method is supported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResourceMetadata {
    members: Members,
    location: Location,
}

impl Serialize for ProtectedResourceMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.members.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProtectedResourceMetadata {
    /// Refuses a document whose `resource` is not a resource identifier (see
    /// the type's documentation), or whose defined members have the wrong
    /// JSON types.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let members = Members::deserialize(deserializer)?;
        let location = locate(&members.resource).map_err(serde::de::Error::custom)?;
        Ok(Self { members, location })
    }
}

/// The URL of the metadata document of the resource identified by
/// `resource` (RFC 9728 §3.1): what a client fetches.
///
/// ```
/// use portcullis::resource::well_known_url;
///
/// let url = well_known_url("http://127.0.0.1:8080/api/me")?;
/// assert_eq!(url.as_str(), "http://127.0.0.1:8080/.well-known/oauth-protected-resource/api/me");
/// let url = well_known_url("https://api.example/")?;
/// assert_eq!(url.as_str(), "https://api.example/.well-known/oauth-protected-resource");
/// assert!(well_known_url("https://api.example/#x").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn well_known_url(resource: &str) -> Result<Url, InvalidResourceMetadata> {
    locate(resource).map(|location| location.url)
}

/// Checks a resource identifier and finds its document (§1.2, §3.1).
///
/// The insertion is done on the identifier as written, as the RFC states it,
/// so that the path a host routes on is the path it wrote.
fn locate(resource: &str) -> Result<Location, InvalidResourceMetadata> {
    let bad = |reason| InvalidResourceMetadata::new("resource", reason);
    if resource.is_empty() || !resource.bytes().all(is_uri_char) {
        return Err(bad(
            "must be printable ASCII without spaces, '\"' or '\\' (percent-encode others)",
        ));
    }
    let url = Url::parse(resource).map_err(|_| bad("not an absolute URL"))?;
    check_published_url(&url).map_err(bad)?;
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment (RFC 9728 §1.2)"));
    }
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| resource.strip_prefix(scheme))
        .ok_or(bad(
            "must start with https:// (or http:// on a loopback host)",
        ))?;
    let (authority, after_host) = match rest.find(['/', '?']) {
        Some(at) => (rest.get(..at).unwrap_or(""), rest.get(at..).unwrap_or("")),
        None => (rest, ""),
    };
    // The parser forgives `https:///host/…`; the insertion would not.
    if authority.is_empty() {
        return Err(bad("must name its host right after the scheme's //"));
    }
    let origin_len = resource.len() - after_host.len();
    let (path, query) = match after_host.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (after_host, None),
    };
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(bad("must not have dot segments"));
    }
    // §3.1: a terminating `/` after the host goes; any other path stays.
    let path = match path {
        "" | "/" => WELL_KNOWN_PREFIX.to_owned(),
        path => format!("{WELL_KNOWN_PREFIX}{path}"),
    };
    let origin = resource.get(..origin_len).unwrap_or(resource);
    let written = match query {
        Some(query) => format!("{origin}{path}?{query}"),
        None => format!("{origin}{path}"),
    };
    // Made of the identifier's characters and the prefix's, so these hold;
    // checked all the same rather than assumed.
    let metadata_url =
        ResourceMetadataUrl::new(&written).map_err(|_| bad("no metadata URL can be made of it"))?;
    let url = Url::parse(&written).map_err(|_| bad("no metadata URL can be made of it"))?;
    Ok(Location {
        url,
        path,
        query: query.map(str::to_owned),
        metadata_url,
    })
}

/// `%x21 / %x23-5B / %x5D-7E`.
fn is_uri_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl ProtectedResourceMetadata {
    /// A builder for the document of the resource identified by `resource`
    /// (its URL, as clients call it), with `bearer_methods_supported`
    /// `["header"]` — what a [`BearerValidator`](super::BearerValidator)
    /// accepts by default.
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadataBuilder {
            members: Members {
                resource: resource.into(),
                authorization_servers: Vec::new(),
                jwks_uri: None,
                scopes_supported: Vec::new(),
                bearer_methods_supported: Some(vec!["header".to_owned()]),
                resource_signing_alg_values_supported: Vec::new(),
                resource_name: None,
                resource_documentation: None,
                resource_policy_uri: None,
                resource_tos_uri: None,
                tls_client_certificate_bound_access_tokens: false,
                authorization_details_types_supported: Vec::new(),
                dpop_signing_alg_values_supported: Vec::new(),
                dpop_bound_access_tokens_required: false,
                other: Map::new(),
            },
        }
    }

    /// Parses a fetched document and checks it is the one of `resource`, the
    /// identifier the client derived its URL from — or, for a URL a
    /// challenge named, the URL the client called (RFC 9728 §3.3): code
    /// point for code point (§6), no normalisation. A document for another
    /// resource is refused, so a server cannot pass itself off as another
    /// (§7.3).
    pub fn parse_for(resource: &str, body: &[u8]) -> Result<Self, UnusableMetadata> {
        let document: Self =
            serde_json::from_slice(body).map_err(|e| UnusableMetadata::Malformed(e.to_string()))?;
        document.check_resource(resource)?;
        Ok(document)
    }

    /// RFC 9728 §3.3: whether this document's `resource` is identical to
    /// `resource`, the identifier its URL was derived from. If not, nothing
    /// in it may be used.
    pub fn check_resource(&self, resource: &str) -> Result<(), ResourceMismatch> {
        if self.members.resource == resource {
            return Ok(());
        }
        Err(ResourceMismatch {
            expected: resource.to_owned(),
            found: self.members.resource.clone(),
        })
    }

    /// `resource`: the resource identifier, as given.
    pub fn resource(&self) -> &str {
        &self.members.resource
    }

    /// `authorization_servers`: issuer identifiers (RFC 8414) of
    /// authorization servers that can be used with the resource.
    pub fn authorization_servers(&self) -> &[String] {
        &self.members.authorization_servers
    }

    /// `jwks_uri`: the resource's own JWK Set, if it publishes one.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.members.jwks_uri.as_deref()
    }

    /// `scopes_supported`: scope values used to request access to the
    /// resource.
    pub fn scopes_supported(&self) -> &[String] {
        &self.members.scopes_supported
    }

    /// `bearer_methods_supported`: `header`, `body`, `query` (RFC 6750 §2.1
    /// to §2.3). `None` when absent, which implies nothing; `Some([])` says
    /// no bearer method is supported.
    pub fn bearer_methods_supported(&self) -> Option<&[String]> {
        self.members.bearer_methods_supported.as_deref()
    }

    /// `resource_signing_alg_values_supported`: JWS algorithms the resource
    /// signs responses with.
    pub fn resource_signing_alg_values_supported(&self) -> &[String] {
        &self.members.resource_signing_alg_values_supported
    }

    /// `resource_name`: a name to show the end-user.
    pub fn resource_name(&self) -> Option<&str> {
        self.members.resource_name.as_deref()
    }

    /// `resource_documentation`: a page for developers.
    pub fn resource_documentation(&self) -> Option<&str> {
        self.members.resource_documentation.as_deref()
    }

    /// `resource_policy_uri`: how a client may use the data.
    pub fn resource_policy_uri(&self) -> Option<&str> {
        self.members.resource_policy_uri.as_deref()
    }

    /// `resource_tos_uri`: the terms of service.
    pub fn resource_tos_uri(&self) -> Option<&str> {
        self.members.resource_tos_uri.as_deref()
    }

    /// `tls_client_certificate_bound_access_tokens` (RFC 8705); `false` when
    /// absent.
    pub fn tls_client_certificate_bound_access_tokens(&self) -> bool {
        self.members.tls_client_certificate_bound_access_tokens
    }

    /// `authorization_details_types_supported` (RFC 9396).
    pub fn authorization_details_types_supported(&self) -> &[String] {
        &self.members.authorization_details_types_supported
    }

    /// `dpop_signing_alg_values_supported` (RFC 9449).
    pub fn dpop_signing_alg_values_supported(&self) -> &[String] {
        &self.members.dpop_signing_alg_values_supported
    }

    /// `dpop_bound_access_tokens_required` (RFC 9449); `false` when absent.
    pub fn dpop_bound_access_tokens_required(&self) -> bool {
        self.members.dpop_bound_access_tokens_required
    }

    /// Every other member, as it came: extensions, language-tagged
    /// human-readable members (`resource_name#fr`, §2.1), `signed_metadata`
    /// (§2.2).
    pub fn other_members(&self) -> &Map<String, Value> {
        &self.members.other
    }

    /// The document's URL (§3.1).
    pub fn well_known_url(&self) -> &Url {
        &self.location.url
    }

    /// The path of the document's URL, the one to route on: the
    /// [`WELL_KNOWN_PREFIX`] followed by the resource's path. Without the
    /// query, if the resource has one ([`endpoint`](Self::endpoint) checks
    /// it).
    pub fn well_known_path(&self) -> &str {
        &self.location.path
    }

    /// The document's URL as a challenge's `resource_metadata` (§5.1), for
    /// [`BearerValidator::resource_metadata`](super::BearerValidator::resource_metadata).
    pub fn resource_metadata_url(&self) -> &ResourceMetadataUrl {
        &self.location.metadata_url
    }

    /// The document as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, lists, booleans and JSON values into a Vec: cannot fail.
        serde_json::to_vec(&self.members).unwrap_or_default()
    }

    /// The document as the response to a request for it (§3.2): `200`,
    /// `Content-Type: application/json`, `Cache-Control:`
    /// [`RESOURCE_METADATA_CACHE_CONTROL`].
    pub fn to_http(&self) -> Response<Vec<u8>> {
        document_response(
            self.to_json(),
            false,
            "application/json",
            HeaderValue::from_static(RESOURCE_METADATA_CACHE_CONTROL),
        )
    }

    /// The metadata endpoint (§3.1, §3.2), for the host to call on requests
    /// to [`well_known_path`](Self::well_known_path) on the resource's host.
    ///
    /// `GET` (or `HEAD`, without the body) gets [`to_http`](Self::to_http)'s
    /// response; another method `405` with `Allow: GET, HEAD`. When the
    /// resource identifier has a query, the document is at the path with
    /// that query, so a request with another query (or none) gets `404`.
    /// No IO.
    pub fn endpoint<B>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            return ErrorResponse::method_not_allowed(
                "the protected resource metadata endpoint accepts only GET",
                "GET, HEAD",
            )
            .into_http();
        }
        if let Some(query) = &self.location.query {
            if request.uri().query() != Some(query.as_str()) {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::NOT_FOUND;
                return response;
            }
        }
        let mut response = self.to_http();
        if method == Method::HEAD {
            response.body_mut().clear();
        }
        response
    }
}

/// Builds a [`ProtectedResourceMetadata`] for a resource server; see
/// [`ProtectedResourceMetadata::builder`]. Setters take values as they are;
/// [`build`](Self::build) checks them all.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProtectedResourceMetadataBuilder {
    members: Members,
}

impl ProtectedResourceMetadataBuilder {
    /// Adds an authorization server that can be used with the resource, by
    /// its issuer identifier (RFC 8414 §2: `https`, or `http` on a loopback
    /// host; no query or fragment), exactly as its metadata's `issuer`
    /// says it.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.members.authorization_servers.push(issuer.into());
        self
    }

    /// `jwks_uri`: the resource's own JWK Set (`https`, or `http` on a
    /// loopback host).
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.members.jwks_uri = Some(url.into());
        self
    }

    /// `scopes_supported`: the scope values clients request for this
    /// resource (§7.2: what it is willing to disclose, not a list to request
    /// all of).
    pub fn scopes_supported(mut self, scope: Scope) -> Self {
        self.members.scopes_supported = scope.iter().map(str::to_owned).collect();
        self
    }

    /// `bearer_methods_supported`: where the resource takes a bearer token —
    /// [`BearerValidator::accepted_methods`](super::BearerValidator::accepted_methods)
    /// says where a validator does. `["header"]` unless set; an empty list
    /// says none.
    pub fn bearer_methods(mut self, methods: impl IntoIterator<Item = TokenLocation>) -> Self {
        let mut names: Vec<String> = Vec::new();
        for method in methods {
            let name = match method {
                TokenLocation::AuthorizationHeader => "header",
                TokenLocation::FormBody => "body",
                TokenLocation::UriQuery => "query",
            };
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        self.members.bearer_methods_supported = Some(names);
        self
    }

    /// `resource_signing_alg_values_supported`: JWS `alg` values the
    /// resource signs its responses with; never `none` (§2).
    pub fn resource_signing_alg_values_supported<I, A>(mut self, algorithms: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        self.members.resource_signing_alg_values_supported =
            algorithms.into_iter().map(Into::into).collect();
        self
    }

    /// `resource_name`: the resource's name, shown to the end-user
    /// (RECOMMENDED). Other languages go in as `resource_name#<tag>`
    /// [`member`](Self::member)s (§2.1).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.members.resource_name = Some(name.into());
        self
    }

    /// `resource_documentation`: a page for developers (`https`, or `http`
    /// on a loopback host).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.members.resource_documentation = Some(url.into());
        self
    }

    /// `resource_policy_uri`: how clients may use the data (`https`, or
    /// `http` on a loopback host).
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.members.resource_policy_uri = Some(url.into());
        self
    }

    /// `resource_tos_uri`: the terms of service (`https`, or `http` on a
    /// loopback host).
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.members.resource_tos_uri = Some(url.into());
        self
    }

    /// `tls_client_certificate_bound_access_tokens` (RFC 8705).
    pub fn tls_client_certificate_bound_access_tokens(mut self, supported: bool) -> Self {
        self.members.tls_client_certificate_bound_access_tokens = supported;
        self
    }

    /// `authorization_details_types_supported` (RFC 9396).
    pub fn authorization_details_types_supported<I, T>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.members.authorization_details_types_supported =
            types.into_iter().map(Into::into).collect();
        self
    }

    /// `dpop_signing_alg_values_supported` (RFC 9449): the JWS `alg` values
    /// the resource accepts in DPoP proofs; never `none`.
    pub fn dpop_signing_alg_values_supported<I, A>(mut self, algorithms: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        self.members.dpop_signing_alg_values_supported =
            algorithms.into_iter().map(Into::into).collect();
        self
    }

    /// `dpop_bound_access_tokens_required` (RFC 9449).
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.members.dpop_bound_access_tokens_required = required;
        self
    }

    /// Another member: an extension, a language-tagged human-readable one
    /// (`"resource_name#fr"`, §2.1), or `signed_metadata` (§2.2). Its name
    /// may not be one this builder sets.
    pub fn member(mut self, name: impl Into<String>, value: Value) -> Self {
        self.members.other.insert(name.into(), value);
        self
    }

    /// The document, or the first rule a member breaks.
    pub fn build(self) -> Result<ProtectedResourceMetadata, InvalidResourceMetadata> {
        let members = self.members;
        let location = locate(&members.resource)?;
        for issuer in &members.authorization_servers {
            check_issuer(issuer)?;
        }
        for (name, value) in [
            ("jwks_uri", &members.jwks_uri),
            ("resource_documentation", &members.resource_documentation),
            ("resource_policy_uri", &members.resource_policy_uri),
            ("resource_tos_uri", &members.resource_tos_uri),
        ] {
            if let Some(url) = value {
                check_url(name, url)?;
            }
        }
        for (name, values) in [
            ("scopes_supported", &members.scopes_supported),
            (
                "resource_signing_alg_values_supported",
                &members.resource_signing_alg_values_supported,
            ),
            (
                "authorization_details_types_supported",
                &members.authorization_details_types_supported,
            ),
            (
                "dpop_signing_alg_values_supported",
                &members.dpop_signing_alg_values_supported,
            ),
        ] {
            check_list(name, values)?;
        }
        for (name, list) in [
            (
                "resource_signing_alg_values_supported",
                &members.resource_signing_alg_values_supported,
            ),
            (
                "dpop_signing_alg_values_supported",
                &members.dpop_signing_alg_values_supported,
            ),
        ] {
            if list.iter().any(|alg| alg.eq_ignore_ascii_case("none")) {
                return Err(InvalidResourceMetadata::new(
                    name,
                    "must not list \"none\": unsigned is not an algorithm here",
                ));
            }
        }
        if members.resource_name.as_deref().is_some_and(str::is_empty) {
            return Err(InvalidResourceMetadata::new(
                "resource_name",
                "must not be empty",
            ));
        }
        for name in members.other.keys() {
            if DEFINED.contains(&name.as_str()) {
                return Err(InvalidResourceMetadata::new(
                    name.clone(),
                    "is set by its own builder method, not as another member",
                ));
            }
            if name.is_empty() {
                return Err(InvalidResourceMetadata::new(
                    name.clone(),
                    "a member needs a name",
                ));
            }
        }
        Ok(ProtectedResourceMetadata { members, location })
    }
}

/// An issuer identifier (RFC 8414 §2).
fn check_issuer(issuer: &str) -> Result<(), InvalidResourceMetadata> {
    let bad = |reason| InvalidResourceMetadata::new("authorization_servers", reason);
    let url = Url::parse(issuer).map_err(|_| bad("an issuer must be an absolute URL"))?;
    check_published_url(&url).map_err(bad)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("an issuer has no query or fragment (RFC 8414 §2)"));
    }
    Ok(())
}

/// A URL the document points to.
fn check_url(name: &'static str, value: &str) -> Result<(), InvalidResourceMetadata> {
    let bad = |reason| InvalidResourceMetadata::new(name, reason);
    let url = Url::parse(value).map_err(|_| bad("not an absolute URL"))?;
    check_published_url(&url).map_err(bad)
}

/// A list of names: none empty, none repeated.
fn check_list(name: &'static str, values: &[String]) -> Result<(), InvalidResourceMetadata> {
    for (i, value) in values.iter().enumerate() {
        if value.is_empty() {
            return Err(InvalidResourceMetadata::new(name, "has an empty value"));
        }
        if values.iter().take(i).any(|earlier| earlier == value) {
            return Err(InvalidResourceMetadata::new(name, "has a value twice"));
        }
    }
    Ok(())
}
