//! Dynamic client registration management (RFC 7592): the client
//! configuration endpoint, where a dynamically registered client reads,
//! updates or deletes its registration.
//!
//! [`AuthorizationServer::client_configuration_endpoint`] describes the
//! rules: the registration access token, what `GET`, `PUT` and `DELETE` do,
//! and why the token is replaced on every use.
//!
//! ```
//! use portcullis::endpoint::DynamicRegistration;
//! use portcullis::grant::ClientCredentialsGrant;
//! use portcullis::{AuthorizationServer, MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(ClientCredentialsGrant)
//!     .dynamic_registration(
//!         DynamicRegistration::with_initial_access_token("iat-5Lq2vX8nR4wT7yB1cF9hJ3kM6pS0dG2a")
//!             .max_scope("reports".parse()?),
//!     )
//!     .build()?;
//! let registration = http::Request::post("/register")
//!     .header("content-type", "application/json")
//!     .header("authorization", "Bearer iat-5Lq2vX8nR4wT7yB1cF9hJ3kM6pS0dG2a")
//!     .body(r#"{"grant_types": ["client_credentials"], "client_name": "Reports"}"#)?;
//! let info: serde_json::Value =
//!     serde_json::from_slice(server.registration_endpoint(registration).await.body())?;
//! let uri = info["registration_client_uri"].as_str().unwrap();
//! let token = info["registration_access_token"].as_str().unwrap();
//!
//! // Read it back: no secret, and a new registration access token.
//! let read = http::Request::get(uri)
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Vec::new())?;
//! let response = server.client_configuration_endpoint(read).await;
//! assert_eq!(response.status(), 200);
//! let current: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert!(current.get("client_secret").is_none());
//! assert_eq!(current["client_name"], "Reports");
//! let token = current["registration_access_token"].as_str().unwrap();
//!
//! // Delete it: the client and all its tokens are gone.
//! let delete = http::Request::delete(uri)
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Vec::new())?;
//! assert_eq!(server.client_configuration_endpoint(delete).await.status(), 204);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};

use super::authorization_server::AuthorizationServer;
use super::register::check_display_hosts;
use super::{ClientInformation, DynamicRegistrationError, RegistrationAccessToken};
use crate::client::{
    AuthMethod, Client, ClientId, ClientMetadata, ClientSecret, RegistrationError, SecretHash,
    unix_seconds,
};
use crate::protocol::empty_response;
use crate::store::StoreError;
use crate::token::{TokenHash, TokenKind, mint};

/// An update request (RFC 7592 §2.2): the client's complete metadata, with
/// its `client_id` and the values RFC 7592 lets a client repeat.
///
/// `Debug` redacts the secrets.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ClientUpdate {
    /// The complete new metadata.
    pub metadata: ClientMetadata,
    /// REQUIRED: the client's identifier.
    pub client_id: Option<String>,
    /// If present, MUST be the client's current secret.
    pub client_secret: Option<ClientSecret>,
    /// If present, must be the registration access token presented.
    pub registration_access_token: Option<RegistrationAccessToken>,
    /// If present, must be the client's configuration endpoint URL.
    pub registration_client_uri: Option<String>,
    /// If present, must be `0`: secrets here do not expire.
    pub client_secret_expires_at: Option<u64>,
    /// If present, must be the issued value.
    pub client_id_issued_at: Option<u64>,
}

impl ClientUpdate {
    /// Parses a `PUT` body: a JSON object of client metadata plus the members
    /// above. Anything else is [`RegistrationError::InvalidMetadata`].
    pub fn from_json(body: &[u8]) -> Result<Self, RegistrationError> {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(flatten)]
            metadata: ClientMetadata,
            #[serde(default)]
            client_id: Option<String>,
            #[serde(default)]
            client_secret: Option<String>,
            #[serde(default)]
            registration_access_token: Option<String>,
            #[serde(default)]
            registration_client_uri: Option<String>,
            #[serde(default)]
            client_secret_expires_at: Option<u64>,
            #[serde(default)]
            client_id_issued_at: Option<u64>,
        }
        let body: Body = serde_json::from_slice(body).map_err(|_| {
            RegistrationError::InvalidMetadata(
                "the body must be a JSON object of client metadata (RFC 7592 §2.2)".into(),
            )
        })?;
        Ok(Self {
            metadata: body.metadata,
            client_id: body.client_id,
            client_secret: body.client_secret.map(ClientSecret::new),
            registration_access_token: body
                .registration_access_token
                .map(RegistrationAccessToken::new),
            registration_client_uri: body.registration_client_uri,
            client_secret_expires_at: body.client_secret_expires_at,
            client_id_issued_at: body.client_id_issued_at,
        })
    }
}

impl AuthorizationServer {
    /// The client configuration endpoint over HTTP (RFC 7592 §2).
    ///
    /// It lives at the `registration_client_uri` the registration response
    /// gave, `{registration_endpoint}/{client_id}`; the host routes every
    /// method on that path here, and the `client_id` is taken from the path's
    /// last segment.
    ///
    /// Every request carries the client's registration access token as a bearer
    /// token (RFC 7592 §3). The server keeps only its SHA-256 and compares in
    /// constant time. A missing or wrong token, another client's token, and an
    /// unknown or deleted client all get the same `401 invalid_token` with a
    /// `WWW-Authenticate: Bearer` challenge (RFC 7592 §2.1): the endpoint never
    /// tells whether a client exists.
    ///
    /// - **`GET`** (§2.1) returns `200` with the client information: the
    ///   registered metadata, `client_id`, `client_id_issued_at`,
    ///   `registration_client_uri` and a *new* `registration_access_token`.
    /// - **`PUT`** (§2.2) replaces the registration: the body is the complete
    ///   metadata (an omitted member is deleted, or takes its RFC 7591 default),
    ///   validated exactly as a registration is. It must carry the `client_id`;
    ///   `client_secret`, if sent, must be the client's secret; the server-issued
    ///   `registration_access_token`, `registration_client_uri`,
    ///   `client_secret_expires_at` and `client_id_issued_at` should be left out,
    ///   and if present must equal the issued values (else `400
    ///   invalid_request`). The update cannot change the client type or move
    ///   between secret-based and other authentication: that is a new client.
    ///   A `sector_identifier_uri` is fetched and checked again (OpenID
    ///   Connect Registration §5) when the update changes it or adds a
    ///   redirect URI; such an update counts against the registration rate.
    ///   `200` with the client information and a new registration access token.
    /// - **`DELETE`** (§2.3) removes the client and revokes every grant made to it
    ///   — codes, access and refresh tokens die at once — and answers `204`.
    ///
    /// # The secret is shown once; the registration access token rotates
    ///
    /// The server stores secrets only as hashes, so it cannot show them again:
    /// the `client_secret` appears in the registration response and never after
    /// (RFC 7592 §3 lets the read response omit it), and updates never issue a new
    /// one. For the same reason, and because RFC 7592 §3 requires a
    /// `registration_access_token` in every client information response, each
    /// successful `GET` or `PUT` issues a new registration access token and
    /// retires the one presented, in one compare-and-swap: of concurrent requests
    /// with one token exactly one succeeds. A client must keep the newest token;
    /// if a response is lost, only the host's administrator can help
    /// ([`AuthorizationServer::delete_client`]).
    ///
    /// # Order of checks
    ///
    /// Registration enabled (else `404`); `GET`, `PUT` or `DELETE`
    /// (else `405`); the registration access token (else `401
    /// invalid_token`); for `PUT`, body size (`413`), `Content-Type:
    /// application/json` and the body. Every response carries
    /// `Cache-Control: no-store`.
    pub async fn client_configuration_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        match self.configuration_request(&request).await {
            Ok(Some(info)) => info.into_http(StatusCode::OK),
            Ok(None) => empty_response(StatusCode::NO_CONTENT),
            Err(e) => e.into_http(),
        }
    }

    async fn configuration_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<Option<ClientInformation>, DynamicRegistrationError> {
        let inner = &*self.inner;
        inner.registration()?;
        let method = request.method();
        if method != Method::GET && method != Method::PUT && method != Method::DELETE {
            return Err(DynamicRegistrationError::MethodNotAllowed {
                allow: "GET, PUT, DELETE",
            });
        }
        let client_id = request.uri().path().rsplit('/').next().unwrap_or_default();
        // Malformed credentials are a wrong token: they match no registration
        // access token, and are refused as one.
        let token = inner
            .bearer(request.headers())?
            .ok_or_else(|| inner.invalid_token(false))?
            .unwrap_or_default();
        let (client, presented) = self.managed_client(client_id, token).await?;
        if method == Method::GET {
            self.rotate(&client, &presented).await.map(Some)
        } else if method == Method::PUT {
            let update = ClientUpdate::from_json(inner.json_body(request)?)?;
            self.apply_update(&client, &presented, update)
                .await
                .map(Some)
        } else {
            self.remove(&client, &presented).await.map(|()| None)
        }
    }

    /// Reads a dynamically registered client's configuration (RFC 7592
    /// §2.1), issuing a new registration access token.
    pub async fn read_client_configuration(
        &self,
        client_id: &str,
        registration_access_token: &str,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let (client, presented) = self
            .managed_client(client_id, registration_access_token)
            .await?;
        self.rotate(&client, &presented).await
    }

    /// Replaces a dynamically registered client's metadata (RFC 7592 §2.2),
    /// issuing a new registration access token.
    pub async fn update_client_configuration(
        &self,
        client_id: &str,
        registration_access_token: &str,
        update: ClientUpdate,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let (client, presented) = self
            .managed_client(client_id, registration_access_token)
            .await?;
        self.apply_update(&client, &presented, update).await
    }

    /// Deletes a dynamically registered client and revokes its grants
    /// (RFC 7592 §2.3).
    pub async fn delete_client_configuration(
        &self,
        client_id: &str,
        registration_access_token: &str,
    ) -> Result<(), DynamicRegistrationError> {
        let (client, presented) = self
            .managed_client(client_id, registration_access_token)
            .await?;
        self.remove(&client, &presented).await
    }

    /// Removes a client — registered by an administrator or dynamically — and
    /// revokes every grant made to it, so its codes, access tokens and refresh
    /// tokens stop working at once. Returns whether the client existed.
    ///
    /// The grants are revoked even when the client is already gone, so a call
    /// that failed half-way can be repeated.
    pub async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let inner = &*self.inner;
        let existed = inner.clients.delete_client(client_id, None).await?;
        let revoked = inner
            .stores
            .revoke_client(&ClientId::new_unchecked(client_id))
            .await?;
        tracing::info!(
            target: "portcullis::security",
            event = "client_deleted",
            client_id,
            existed,
            revoked_grants = revoked,
        );
        Ok(existed)
    }

    /// The client this registration access token manages, or `401`.
    async fn managed_client(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<(Arc<Client>, TokenHash), DynamicRegistrationError> {
        let inner = &*self.inner;
        inner.registration()?;
        let presented = TokenHash::of(token);
        let client = if TokenKind::RegistrationAccessToken.matches(token) {
            inner.clients.find_client(client_id).await?
        } else {
            None
        };
        match client {
            Some(client)
                if client
                    .registration_access_token_hash()
                    .is_some_and(|h| h.ct_eq(&presented)) =>
            {
                Ok((client, presented))
            }
            found => {
                tracing::warn!(
                    target: "portcullis::security",
                    event = "registration_access_denied",
                    client_id = found.as_ref().map(|c| c.id().as_str()),
                );
                Err(inner.invalid_token(true))
            }
        }
    }

    /// Stores `client` under a new registration access token if `presented`
    /// is still its current one.
    async fn store_rotated(
        &self,
        client: Client,
        presented: &TokenHash,
        token: String,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let inner = &*self.inner;
        if !inner
            .clients
            .update_client(client.clone(), Some(presented))
            .await?
        {
            // Another request with the same token won the compare-and-swap,
            // or the client was deleted meanwhile.
            return Err(inner.invalid_token(true));
        }
        Ok(ClientInformation::new(
            inner.registration_client_uri(client.id()),
            client,
            None,
            RegistrationAccessToken::new(token),
        ))
    }

    async fn rotate(
        &self,
        client: &Client,
        presented: &TokenHash,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let (token, hash) = mint(TokenKind::RegistrationAccessToken);
        self.store_rotated(client.with_registration_token(hash), presented, token)
            .await
    }

    async fn apply_update(
        &self,
        client: &Client,
        presented: &TokenHash,
        update: ClientUpdate,
    ) -> Result<ClientInformation, DynamicRegistrationError> {
        let inner = &*self.inner;
        let registration = inner.registration()?;
        let mismatch = DynamicRegistrationError::InvalidRequest;
        match update.client_id.as_deref() {
            None => return Err(mismatch("client_id is required")),
            Some(id) if id != client.id().as_str() => {
                return Err(mismatch("client_id does not match the client"));
            }
            Some(_) => {}
        }
        if let Some(secret) = &update.client_secret {
            // A client_secret_jwt client's secret is derived, not stored:
            // compared as hashes, in constant time.
            let derived = inner
                .jwt_auth
                .as_ref()
                .and_then(|jwt| jwt.derived_secret(client))
                .map(|d| SecretHash::sha256(&d));
            let matches = client
                .secret_hash()
                .or(derived.as_ref())
                .is_some_and(|h| h.verify(secret.expose_secret()));
            if !matches {
                return Err(mismatch("client_secret does not match the client's secret"));
            }
        }
        if let Some(token) = &update.registration_access_token {
            if !TokenHash::of(token.expose_secret()).ct_eq(presented) {
                return Err(mismatch(
                    "registration_access_token does not match the token presented",
                ));
            }
        }
        if let Some(uri) = &update.registration_client_uri {
            if *uri != inner.registration_client_uri(client.id()).as_str() {
                return Err(mismatch("registration_client_uri does not match"));
            }
        }
        if update.client_secret_expires_at.is_some_and(|t| t != 0) {
            return Err(mismatch("client_secret_expires_at does not match"));
        }
        if update.client_id_issued_at.is_some()
            && update.client_id_issued_at != client.issued_at_seconds()
        {
            return Err(mismatch("client_id_issued_at does not match"));
        }

        let (profile, method) = update.metadata.profile_and_method()?;
        // A client_secret_jwt client's secret is derived from its salt: a
        // switch to or from it would need a secret shown again.
        let derived = |m: &AuthMethod| *m == AuthMethod::CLIENT_SECRET_JWT;
        if profile.client_type() != client.client_type()
            || method.uses_secret() != client.auth_method().uses_secret()
            || derived(&method) != derived(client.auth_method())
        {
            return Err(RegistrationError::InvalidMetadata(
                "an update cannot change the client type or switch between secret-based and \
                 other authentication; register a new client"
                    .into(),
            )
            .into());
        }
        let (token, hash) = mint(TokenKind::RegistrationAccessToken);
        let issued_at = client
            .issued_at_seconds()
            .unwrap_or_else(|| unix_seconds(inner.clock.now()));
        let updated = inner
            .client_from_metadata(registration, &update.metadata)?
            .client_id(client.id().as_str())
            .registration_access(hash, issued_at)
            .register_with_secret_hash(
                client.secret_hash().cloned(),
                client.secret_salt().copied(),
            )?;
        check_display_hosts(&updated)?;
        inner.check_openid_support(&updated)?;
        // OpenID Connect Registration §5 asks for the check at registration
        // only: an update keeping the sector_identifier_uri and adding no
        // redirect URI was checked then. Otherwise the document is fetched
        // again, counted against the registrant's rate like a registration.
        let checked = updated.sector_identifier_uri() == client.sector_identifier_uri()
            && updated.redirect_uris().iter().all(|r| {
                client
                    .redirect_uris()
                    .iter()
                    .any(|c| c.as_str() == r.as_str())
            });
        if updated.sector_identifier_uri().is_some() && !checked {
            inner.admit_registration(registration).await?;
            inner.check_sector_identifier(&updated).await?;
        }
        let info = self.store_rotated(updated, presented, token).await?;
        tracing::info!(
            target: "portcullis::security",
            event = "client_updated",
            client_id = %client.id(),
        );
        Ok(info)
    }

    async fn remove(
        &self,
        client: &Client,
        presented: &TokenHash,
    ) -> Result<(), DynamicRegistrationError> {
        let inner = &*self.inner;
        // The client goes first, so that no new grant can be made for it while
        // its grants are revoked.
        if !inner
            .clients
            .delete_client(client.id().as_str(), Some(presented))
            .await?
        {
            return Err(inner.invalid_token(true));
        }
        let revoked = inner.stores.revoke_client(client.id()).await?;
        tracing::info!(
            target: "portcullis::security",
            event = "client_deleted",
            client_id = %client.id(),
            existed = true,
            revoked_grants = revoked,
        );
        Ok(())
    }
}
