//! Dynamic client registration (RFC 7591): the registration endpoint.
//!
//! Off unless the builder is given a [`DynamicRegistration`], whose
//! documentation describes the two modes and what a dynamically registered
//! client may have. A registration is a `POST` of a JSON
//! [`ClientMetadata`] document to
//! [`AuthorizationServer::registration_endpoint`], answered with `201` and the
//! [`ClientInformation`] (RFC 7591 §3.2.1).
//!
//! ```
//! use portcullis::endpoint::DynamicRegistration;
//! use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
//! use portcullis::{AuthorizationServer, MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The host hands this token to the developers it lets register clients.
//! let initial_access_token = "iat-5Lq2vX8nR4wT7yB1cF9hJ3kM6pS0dG2a";
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(AuthorizationCodeGrant)
//!     .grant(RefreshTokenGrant)
//!     .dynamic_registration(
//!         DynamicRegistration::with_initial_access_token(initial_access_token)
//!             .max_scope("profile email".parse()?),
//!     )
//!     .build()?;
//!
//! // What a client sends (RFC 7591 §3.1).
//! let request = http::Request::post("https://auth.example/register")
//!     .header("content-type", "application/json")
//!     .header("authorization", format!("Bearer {initial_access_token}"))
//!     .body(
//!         r#"{"redirect_uris": ["https://app.example/cb"],
//!             "grant_types": ["authorization_code", "refresh_token"],
//!             "client_name": "Example App", "scope": "profile"}"#,
//!     )?;
//! let response = server.registration_endpoint(request).await;
//! assert_eq!(response.status(), 201);
//! assert_eq!(response.headers()["cache-control"], "no-store");
//!
//! let info: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert!(info["client_secret"].is_string()); // shown this once
//! assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
//! assert_eq!(info["response_types"], serde_json::json!(["code"]));
//! let uri = info["registration_client_uri"].as_str().unwrap();
//! assert_eq!(uri, format!("https://auth.example/register/{}", info["client_id"].as_str().unwrap()));
//! # Ok(())
//! # }
//! ```

use http::header::HeaderMap;
use http::{Method, Request, Response, StatusCode};
use url::Url;

use super::authorization_server::{AuthorizationServer, ServerInner};
use super::content_type::is_media_type;
use super::published_urls::Endpoint;
use super::register_error::DynamicRegistrationError;
use super::registration_settings::DynamicRegistration;
use crate::client::{
    Admission, Client, ClientId, ClientMetadata, ClientSecret, RegistrationError, SubjectType,
    unix_seconds, verify_sector_identifier,
};
use crate::protocol::{BearerCredential, GrantType, bearer_credential};
use crate::protocol::{MAX_TOKEN_LEN, server_challenge};
use crate::secret::secret_type;
use crate::token::{TokenHash, TokenKind, mint};

secret_type! {
    /// A registration access token (RFC 7592 §3): the bearer credential for
    /// one client's configuration endpoint. 256 bits, `pc_ra_`-prefixed; the
    /// server keeps only its hash, and replaces it with a new one on every
    /// read or update.
    RegistrationAccessToken
}

/// A client information response (RFC 7591 §3.2.1, RFC 7592 §3): the client,
/// the credentials issued by this response, and where to manage it.
///
/// `Debug` redacts the secrets.
#[derive(Debug)]
#[non_exhaustive]
pub struct ClientInformation {
    client: Client,
    client_secret: Option<ClientSecret>,
    registration_access_token: RegistrationAccessToken,
    registration_client_uri: Url,
}

impl ClientInformation {
    pub(crate) fn new(
        registration_client_uri: Url,
        client: Client,
        client_secret: Option<ClientSecret>,
        registration_access_token: RegistrationAccessToken,
    ) -> Self {
        Self {
            client,
            client_secret,
            registration_access_token,
            registration_client_uri,
        }
    }

    /// The registered client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client secret: present only in the response to the registration
    /// itself, for a client whose authentication method uses one. The server
    /// keeps only its hash, so it is never shown again.
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// The registration access token issued with this response; the one
    /// presented to obtain it no longer works.
    pub fn registration_access_token(&self) -> &RegistrationAccessToken {
        &self.registration_access_token
    }

    /// The client's configuration endpoint (RFC 7592 §2):
    /// `{registration_endpoint}/{client_id}`.
    pub fn registration_client_uri(&self) -> &Url {
        &self.registration_client_uri
    }

    /// The JSON body: the registered metadata ([`ClientMetadata::of`]) with
    /// `client_id`, `client_id_issued_at`, `client_secret` and
    /// `client_secret_expires_at: 0` when a secret is issued, and the RFC 7592
    /// members.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            client_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            client_secret: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            client_id_issued_at: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            client_secret_expires_at: Option<u64>,
            registration_access_token: &'a str,
            registration_client_uri: &'a str,
            #[serde(flatten)]
            metadata: ClientMetadata,
        }
        let secret = self.client_secret.as_ref().map(ClientSecret::expose_secret);
        serde_json::to_vec(&Body {
            client_id: self.client.id().as_str(),
            client_secret: secret,
            client_id_issued_at: self.client.issued_at_seconds(),
            // RFC 7591 §3.2.1: REQUIRED with a secret; 0 = does not expire.
            client_secret_expires_at: secret.map(|_| 0),
            registration_access_token: self.registration_access_token.expose_secret(),
            registration_client_uri: self.registration_client_uri.as_str(),
            metadata: ClientMetadata::of(&self.client),
        })
        // Serialising strings, numbers and lists into a Vec cannot fail.
        .unwrap_or_default()
    }

    /// The response: `status` (`201` for a registration, `200` for a read or
    /// update), JSON, `Cache-Control: no-store`, `Pragma: no-cache`.
    pub(crate) fn into_http(self, status: StatusCode) -> Response<Vec<u8>> {
        crate::protocol::json_response(status, self.to_json())
    }
}

impl ServerInner {
    /// The registration settings, or `NotEnabled`.
    pub(crate) fn registration(&self) -> Result<&DynamicRegistration, DynamicRegistrationError> {
        self.registration
            .as_ref()
            .ok_or(DynamicRegistrationError::NotEnabled)
    }

    /// `401 invalid_token` with the RFC 6750 §3 challenge; the `error`
    /// attribute only when a token was presented (§3.1).
    pub(crate) fn invalid_token(&self, presented: bool) -> DynamicRegistrationError {
        DynamicRegistrationError::InvalidToken {
            challenge: server_challenge(self.issuer.as_str(), presented),
        }
    }

    /// The body of a JSON request, within the size limit.
    pub(crate) fn json_body<'a, B: AsRef<[u8]>>(
        &self,
        request: &'a Request<B>,
    ) -> Result<&'a [u8], DynamicRegistrationError> {
        let body = request.body().as_ref();
        if body.len() > self.max_body {
            return Err(DynamicRegistrationError::BodyTooLarge);
        }
        if !is_media_type(request.headers(), "application/json") {
            return Err(DynamicRegistrationError::UnsupportedContentType);
        }
        Ok(body)
    }

    /// The presented bearer token (RFC 6750 §2.1): `None` without one
    /// (another scheme counts as none), `Some(None)` when the credentials are
    /// malformed — presented, but no token can match them. Two
    /// `Authorization` headers are `invalid_request`.
    pub(crate) fn bearer<'a>(
        &self,
        headers: &'a HeaderMap,
    ) -> Result<Option<Option<&'a str>>, DynamicRegistrationError> {
        match bearer_credential(headers, MAX_TOKEN_LEN) {
            BearerCredential::Absent => Ok(None),
            BearerCredential::Repeated => Err(DynamicRegistrationError::InvalidRequest(
                "more than one Authorization header",
            )),
            BearerCredential::Malformed => Ok(Some(None)),
            BearerCredential::Token(token) => Ok(Some(Some(token))),
        }
    }

    /// The grant types a dynamically registered client may have here.
    pub(crate) fn registrable_grants(&self, registration: &DynamicRegistration) -> Vec<GrantType> {
        self.grant_types_supported()
            .into_iter()
            .filter(|g| registration.allows(g))
            .collect()
    }

    /// `{registration_endpoint}/{client_id}` (RFC 7592 §2).
    pub(crate) fn registration_client_uri(&self, client_id: &ClientId) -> Url {
        let mut url = self.discovery.endpoints.get(Endpoint::Registration).clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(client_id.as_str());
        }
        url
    }

    /// Validates `metadata` against this server's rules and RFC 7591's, into
    /// a client marked with the hash of its registration access token.
    pub(crate) fn client_from_metadata(
        &self,
        registration: &DynamicRegistration,
        metadata: &ClientMetadata,
    ) -> Result<crate::client::ClientRegistration, RegistrationError> {
        registration.check_metadata(metadata)?;
        let grants = self.registrable_grants(registration);
        let client = metadata.to_registration(&crate::client::MetadataLimits {
            grant_types: &grants,
            auth_methods: &self.auth_methods,
            max_scope: &registration.max_scope,
        })?;
        self.check_client_keys(&client)?;
        // RFC 9396 §10: the types a client registers for must be ones this
        // server accepts.
        let supported = self.detail_types.supported();
        if metadata
            .authorization_details_types
            .iter()
            .flatten()
            .any(|t| !supported.contains(t))
        {
            return Err(RegistrationError::InvalidMetadata(
                "authorization_details_types names a type this server does not support".into(),
            ));
        }
        if client.needs_sector_fetch() && self.fetcher.is_none() {
            return Err(RegistrationError::InvalidMetadata(
                "sector_identifier_uri cannot be used here: this server does not fetch \
                 documents; register https redirect URIs on a single host instead"
                    .into(),
            ));
        }
        Ok(client)
    }

    /// Refuses what this server cannot do for the client (OpenID Connect
    /// Registration §2): an ID token or userinfo signing algorithm it has no
    /// active key for, and pairwise subjects without a pairwise key
    /// ([`OpenIdConnect::pairwise_subjects`](crate::oidc::OpenIdConnect::pairwise_subjects)).
    /// A server that is no OpenID Provider does neither.
    pub(crate) fn check_openid_support(&self, client: &Client) -> Result<(), RegistrationError> {
        let provider = self.openid.as_deref();
        let refuse = |why: String| RegistrationError::InvalidMetadata(why.into());
        for (member, alg) in [
            (
                "id_token_signed_response_alg",
                client.id_token_signed_response_alg(),
            ),
            (
                "userinfo_signed_response_alg",
                client.userinfo_signed_response_alg(),
            ),
        ] {
            let Some(alg) = alg else { continue };
            match provider {
                None => {
                    return Err(refuse(format!(
                        "{member} cannot be used here: this server is not an OpenID Provider"
                    )));
                }
                Some(p) if p.keys.active(alg).is_none() => {
                    return Err(refuse(format!(
                        "{member} {alg} is not supported: this server has no active key for it"
                    )));
                }
                Some(_) => {}
            }
        }
        if client.subject_type() == SubjectType::Pairwise
            && provider.is_none_or(|p| p.config.pairwise.is_none())
        {
            return Err(refuse(
                "subject_type pairwise is not supported by this server".to_owned(),
            ));
        }
        Ok(())
    }

    /// Fetches the client's `sector_identifier_uri`, if it has one, and
    /// refuses the client unless the document lists every redirect URI
    /// (OpenID Connect Registration §5).
    pub(crate) async fn check_sector_identifier(
        &self,
        client: &Client,
    ) -> Result<(), RegistrationError> {
        if client.sector_identifier_uri().is_none() {
            return Ok(());
        }
        let fetcher = self.fetcher.as_deref().ok_or_else(|| {
            RegistrationError::InvalidMetadata(
                "sector_identifier_uri cannot be used here: this server does not fetch documents"
                    .into(),
            )
        })?;
        verify_sector_identifier(fetcher, client).await
    }

    /// Counts a registration — or an update that fetches a document —
    /// against the registrant's rate, or refuses it (`429`).
    pub(crate) async fn admit_registration(
        &self,
        registration: &DynamicRegistration,
    ) -> Result<(), DynamicRegistrationError> {
        let (limiter, key) = registration.rate_limit();
        if let Admission::Refuse { retry_after } = limiter.admit(&key, self.clock.now()).await? {
            tracing::warn!(
                target: "portcullis::security",
                event = "registration_throttled",
                open = registration.is_open(),
                retry_after_seconds = retry_after.as_secs(),
            );
            return Err(DynamicRegistrationError::RateLimited { retry_after });
        }
        Ok(())
    }
}

/// RFC 7591 §5: the pages a consent screen may link to must be on the host of
/// one of the client's `https` redirect URIs, so a client cannot borrow
/// another site's pages. Clients without such redirect URIs (native apps,
/// service clients) have no host to compare with; their display URLs need
/// only be `https`.
pub(crate) fn check_display_hosts(client: &Client) -> Result<(), RegistrationError> {
    let hosts: Vec<String> = client
        .redirect_uris()
        .iter()
        .filter_map(|r| Url::parse(r.as_str()).ok())
        .filter(|u| u.scheme() == "https")
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect();
    if hosts.is_empty() {
        return Ok(());
    }
    for (name, uri) in client.info().display_uris() {
        if !uri.host_str().is_some_and(|h| hosts.iter().any(|k| k == h)) {
            return Err(RegistrationError::InvalidMetadata(
                format!("{name} must be on the host of one of the redirect URIs (RFC 7591 §5)")
                    .into(),
            ));
        }
    }
    Ok(())
}

impl AuthorizationServer {
    /// The registration endpoint over HTTP (RFC 7591 §3).
    ///
    /// In order: registration enabled (else `404`); `POST` (else `405`);
    /// the initial access token, unless open (else `401 invalid_token`); body
    /// size (`413`) and `Content-Type: application/json` (`400
    /// invalid_request`); then [`register_with_metadata`](Self::register_with_metadata).
    /// Success is `201`; every response carries `Cache-Control: no-store`.
    pub async fn registration_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        match self.registration_request(&request).await {
            Ok(info) => info.into_http(StatusCode::CREATED),
            Err(e) => e.into_http(),
        }
    }

    async fn registration_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let inner = &*self.inner;
        let registration = inner.registration()?;
        if request.method() != Method::POST {
            return Err(DynamicRegistrationError::MethodNotAllowed { allow: "POST" });
        }
        if let Some(expected) = &registration.initial_access_token {
            let presented = inner.bearer(request.headers())?;
            let valid = presented
                .flatten()
                .is_some_and(|t| TokenHash::of(t).ct_eq(expected));
            if !valid {
                tracing::warn!(
                    target: "portcullis::security",
                    event = "registration_denied",
                    token_presented = presented.is_some(),
                );
                return Err(inner.invalid_token(presented.is_some()));
            }
        }
        let body = inner.json_body(request)?;
        let metadata = ClientMetadata::from_json(body)?;
        self.register_with_metadata(&metadata).await
    }

    /// Registers a client from its metadata (RFC 7591 §3.1), for a host that
    /// parses HTTP and decides who may register itself. The registration
    /// endpoint's rules — allowed grants, maximum scope, display-URL hosts,
    /// the metadata bounds — apply, and so do the rate and the quota of
    /// clients, counted against the registration's registrant (the initial
    /// access token's, or open registration's; see
    /// [`DynamicRegistration`]'s Quotas); the initial access token is not
    /// checked here.
    ///
    /// In order: the metadata (`400`), including what this server cannot do
    /// for an OpenID Connect client (an ID token or userinfo signing
    /// algorithm without an active key, pairwise subjects without a pairwise
    /// key); the rate (`429`, counting this
    /// registration); the `sector_identifier_uri` document, fetched through
    /// the server's [`Fetcher`](crate::fetch::Fetcher) and required to list
    /// every redirect URI (`400 invalid_client_metadata`, still counted
    /// against the rate; OpenID Connect Registration §5); the quota,
    /// atomically with storing the client (`403`; the registration is then
    /// not counted against the rate).
    pub async fn register_with_metadata(
        &self,
        metadata: &ClientMetadata,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let inner = &*self.inner;
        let registration = inner.registration()?;
        let (token, token_hash) = mint(TokenKind::RegistrationAccessToken);
        let issued_at = unix_seconds(inner.clock.now());
        let registered = inner.with_derived_secret(
            inner
                .client_from_metadata(registration, metadata)?
                .registration_access(token_hash, issued_at)
                .register()?,
        )?;
        check_display_hosts(&registered.client)?;
        inner.check_openid_support(&registered.client)?;
        inner.admit_registration(registration).await?;
        // Fetched only for a registration the rate admitted, and counted
        // even when refused: the fetches a registrant causes are bounded.
        inner.check_sector_identifier(&registered.client).await?;
        let now = inner.clock.now();
        let (limiter, key) = registration.rate_limit();
        let quota = registration.quota();
        let stored = inner
            .clients
            .insert_client_within_quota(registered.client.clone(), &quota)
            .await;
        if !matches!(stored, Ok(true)) {
            // Nothing was stored: the registration does not count against
            // the rate.
            limiter.succeeded(&key, now).await?;
        }
        if !stored? {
            tracing::warn!(
                target: "portcullis::security",
                event = "registration_quota_exhausted",
                open = registration.is_open(),
                max_clients = quota.max_clients(),
            );
            return Err(DynamicRegistrationError::QuotaExceeded {
                max_clients: quota.max_clients(),
            });
        }
        tracing::info!(
            target: "portcullis::security",
            event = "client_registered",
            client_id = %registered.client.id(),
            dynamic = true,
            open = registration.is_open(),
        );
        Ok(ClientInformation {
            registration_client_uri: inner.registration_client_uri(registered.client.id()),
            client: registered.client,
            client_secret: registered.secret,
            registration_access_token: RegistrationAccessToken::new(token),
        })
    }
}
