//! The device authorization endpoint (RFC 8628 §3.1, §3.2).
//!
//! A device with no browser, or no keyboard to speak of — a TV, a CLI on a
//! server — asks here for a pair of codes. It shows the user the short user
//! code and the verification URI, and polls the token endpoint with the long
//! device code ([`DeviceCodeGrant`](crate::grant::DeviceCodeGrant)) while the
//! user, on a phone or laptop, logs in to the host's verification page,
//! enters the code and decides (the verification-page API:
//! [`AuthorizationServer::pending_device_authorization`],
//! [`approve_device`](AuthorizationServer::approve_device),
//! [`deny_device`](AuthorizationServer::deny_device)).
//!
//! The endpoint takes requests the way the token endpoint does — POST, form
//! body, no credentials in the URI, the same client authentication — and
//! answers errors the same way (RFC 8628 §3.2, RFC 6749 §5.2).
//!
//! ```
//! use portcullis::client::ClientRegistration;
//! use portcullis::grant::{DeviceCodeGrant, RefreshTokenGrant};
//! use portcullis::protocol::GrantType;
//! use portcullis::store::MemoryStore;
//! use portcullis::AuthorizationServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let server = AuthorizationServer::builder("https://auth.example")
//!     .clients(store.clone())
//!     .tokens(store)
//!     .grant(DeviceCodeGrant)
//!     .grant(RefreshTokenGrant)
//!     .build()?;
//! let tv = server
//!     .register_client(
//!         ClientRegistration::native()
//!             .name("Living-room TV")
//!             .grant_type(GrantType::DEVICE_CODE)
//!             .grant_type(GrantType::REFRESH_TOKEN)
//!             .scope("video:watch".parse()?),
//!     )
//!     .await?;
//! let form = |body: String| {
//!     http::Request::post("https://auth.example/device_authorization")
//!         .header("content-type", "application/x-www-form-urlencoded")
//!         .body(body.into_bytes())
//! };
//!
//! // 1. The TV asks for codes (RFC 8628 §3.1) …
//! let client_id = tv.client.id().as_str();
//! let response = server
//!     .device_authorization_endpoint(form(format!("client_id={client_id}&scope=video%3Awatch"))?)
//!     .await;
//! assert_eq!(response.status(), 200);
//! let codes: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(codes["verification_uri"], "https://auth.example/device");
//! let device_code = codes["device_code"].as_str().unwrap();
//!
//! // … and polls; the user has not decided yet.
//! let poll = format!(
//!     "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
//!      &device_code={device_code}&client_id={client_id}"
//! );
//! let pending = server.token_endpoint(form(poll.clone())?).await;
//! assert_eq!(pending.status(), 400); // authorization_pending
//!
//! // 2. On the verification page, the logged-in user types the code, in any
//! //    case, with or without the dash. Failed lookups are throttled per key.
//! let typed = codes["user_code"].as_str().unwrap().to_lowercase();
//! let found = server.pending_device_authorization(&typed, &["user:42"]).await?;
//! assert_eq!(found.client().name(), Some("Living-room TV"));
//! server.approve_device(found, "user-42", None).await?;
//!
//! // 3. The next poll collects the tokens.
//! let tokens = server.token_endpoint(form(poll)?).await;
//! assert_eq!(tokens.status(), 200);
//! # Ok(())
//! # }
//! ```

use http::{Method, Request, Response};
use url::Url;

use super::TokenRequest;
use super::authorization_server::AuthorizationServer;
use super::client_auth::authenticate_client;
use super::published_urls::Endpoint;
use crate::client::EndpointFamily;
use crate::grant::{RequestError, TokenError};
use crate::protocol::{DeviceAuthorizationResponse, GrantType};
use crate::store::{DeviceAuthorizationRecord, DeviceStatus, StoreError};
use crate::token::{DeviceCode, TokenKind, UserCode, mint};

/// How often a fresh user code is drawn when the store reports that a live
/// device authorization already has it. With 20⁸ codes a second collision in
/// a row needs millions of live authorizations.
const USER_CODE_ATTEMPTS: usize = 8;

impl AuthorizationServer {
    /// Where users enter user codes (RFC 8628 §3.2 `verification_uri`): the
    /// URL set with
    /// [`ServerBuilder::device_verification_uri`](crate::ServerBuilder::device_verification_uri),
    /// or `{issuer}/device`. The host serves its verification page there;
    /// device authorization responses send users to it.
    pub fn device_verification_uri(&self) -> &Url {
        &self.inner.device.verification_uri
    }

    /// The device authorization endpoint over HTTP (RFC 8628 §3.1): an
    /// `http::Request` whose body is the whole request body in memory, to the
    /// `http::Response` to send.
    ///
    /// Every outcome is a JSON response with `Cache-Control: no-store` and
    /// `Pragma: no-cache`: the codes (RFC 8628 §3.2), or an error as the token
    /// endpoint would give it (RFC 6749 §5.2). The request checks are the
    /// token endpoint's: POST (else `405`), at most
    /// [`max_body`](crate::ServerBuilder::max_body) bytes, a UTF-8 form body,
    /// no client credentials in the URI, no repeated parameters.
    pub async fn device_authorization_endpoint<B>(&self, request: Request<B>) -> Response<Vec<u8>>
    where
        B: AsRef<[u8]> + Send + Sync,
    {
        // Checked before the shared checks so the 405 names this endpoint.
        if request.method() != Method::POST {
            return TokenError::from(RequestError::MethodNotAllowed {
                endpoint: "device authorization endpoint",
            })
            .into_http();
        }
        let result = match TokenRequest::from_http(&request, self.inner.max_body) {
            Ok(parsed) => self.device_authorization(parsed).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(response) => response.into_http(),
            Err(e) => e.into_http(),
        }
    }

    /// The device authorization endpoint's logic on a parsed request (RFC 8628
    /// §3.1, §3.2), for hosts that parse HTTP themselves: the request is
    /// read as a token request is ([`TokenRequest::new`], or
    /// [`TokenRequest::from_http`] for the checks), and errors are
    /// [`TokenError`]s, rendered as at the token endpoint.
    ///
    /// In order: the server serves the device code grant (else
    /// `unsupported_grant_type`); client authentication, exactly as at the
    /// token endpoint — a public client sends its `client_id`, a confidential
    /// one authenticates (`invalid_client`); the client is registered for the
    /// device code grant (`unauthorized_client`); `scope`, if present, is
    /// within the client's allowed scope (`invalid_scope`; omitted means the
    /// client's default scope). Then a device code and a user code are
    /// minted, and the device authorization is stored under their hashes.
    pub async fn device_authorization(
        &self,
        request: TokenRequest<'_>,
    ) -> Result<DeviceAuthorizationResponse, TokenError> {
        let inner = &*self.inner;
        if !inner.serves(&GrantType::DEVICE_CODE) {
            return Err(TokenError::UnsupportedGrantType);
        }
        let params = request.params();
        let now = inner.clock.now();
        // The token endpoint's family: a client authenticates here to get
        // tokens as much as there.
        let client = authenticate_client(
            inner,
            EndpointFamily::Token,
            Endpoint::DeviceAuthorization,
            request.auth_request(),
            now,
            None,
        )
        .await?;
        if !client
            .client()
            .allows_grant(GrantType::DEVICE_CODE.as_str())
        {
            return Err(TokenError::UnauthorizedClient(
                "the client is not registered for the device authorization grant",
            ));
        }
        let scope = match params
            .get("scope")
            .map_err(RequestError::MalformedRequest)?
        {
            Some(raw) => client
                .client()
                .requested_scope(raw)
                .map_err(TokenError::InvalidScope)?,
            None => client.client().default_scope().clone(),
        };

        let flow = &inner.device;
        for _ in 0..USER_CODE_ATTEMPTS {
            let (device_code, device_code_hash) = mint(TokenKind::DeviceCode);
            let user_code = UserCode::generate();
            let record = DeviceAuthorizationRecord {
                device_code_hash,
                user_code_hash: user_code.hash(),
                client_id: client.id().clone(),
                scope: scope.clone(),
                created_at: now,
                expires_at: now + flow.lifetime,
                interval: flow.interval,
                last_polled_at: None,
                status: DeviceStatus::Pending,
            };
            match inner
                .stores
                .devices()?
                .save_device_authorization(record)
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        target: "portcullis::security",
                        event = "device_authorization_requested",
                        client_id = %client.id(),
                    );
                    return Ok(DeviceAuthorizationResponse::new(
                        DeviceCode::new(device_code),
                        user_code,
                        &flow.verification_uri,
                        flow.lifetime,
                        flow.interval,
                    ));
                }
                // A live device authorization has this user code: draw again.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        tracing::error!(
            target: "portcullis",
            "no free user code after {USER_CODE_ATTEMPTS} attempts; is the store purged?",
        );
        Err(StoreError::Conflict.into())
    }
}

/// Compile-time check: the endpoint's future can be spawned on a
/// multi-threaded runtime.
#[allow(dead_code)]
fn _assert_send(server: AuthorizationServer) {
    fn send<T: Send>(_: T) {}
    send(async move {
        server
            .device_authorization_endpoint(Request::new(Vec::<u8>::new()))
            .await
    });
}
