//! Where a resource server learns what a presented token is worth: the
//! [`TokenSource`] trait, the [`TokenInfo`] it returns, and the in-process
//! implementation on [`AuthorizationServer`].

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use crate::client::ClientId;
use crate::endpoint::AuthorizationServer;
use crate::protocol::Scope;
use crate::store::{AccessTokenInfo, GrantId, StoreError, Subject};
use crate::token::Confirmation;

/// What a resource server knows about an active access token.
///
/// Made by a [`TokenSource`]: from the store, for a resource server in the
/// authorization server's process ([`From<AccessTokenInfo>`]), or from an
/// RFC 7662 introspection response
/// ([`TokenInfo::from_introspection`]), where most members are optional.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The client the token was issued to. Always known in process; optional
    /// in an introspection response (RFC 7662 §2.2).
    pub client_id: Option<ClientId>,
    /// The resource owner; `None` for a client acting on its own behalf
    /// (RFC 6749 §4.4), or when an introspection response has no `sub`.
    pub subject: Option<Subject>,
    /// The token's scope (RFC 6749 §3.3); empty when none was granted or
    /// reported.
    pub scope: Scope,
    /// When the token was issued, if known.
    pub issued_at: Option<SystemTime>,
    /// When the token expires, if known. A source never returns a token past
    /// it; a host that caches a `TokenInfo` MUST NOT keep it beyond this time
    /// (RFC 7662 §4).
    pub expires_at: Option<SystemTime>,
    /// The grant the token belongs to; known only in process. Pass it to
    /// [`AuthorizationServer::revoke_grant`] to kill the token and its
    /// siblings.
    pub grant_id: Option<GrantId>,
    /// The resources the token is for (`aud`; RFC 8707, RFC 9068 §2.2);
    /// empty for a token without an audience restriction.
    pub audience: Vec<String>,
    /// The key the token is bound to (`cnf`, RFC 7800 §3.1; RFC 9449 §6):
    /// a request must prove it. `None` for a bearer token.
    pub cnf: Option<Confirmation>,
}

impl TokenInfo {
    /// Information about an active token with `scope` and nothing else known;
    /// fill in the rest with the fields. For hosts writing their own
    /// [`TokenSource`].
    pub fn new(scope: Scope) -> Self {
        Self {
            client_id: None,
            subject: None,
            scope,
            issued_at: None,
            expires_at: None,
            grant_id: None,
            audience: Vec::new(),
            cnf: None,
        }
    }

    /// Whether the token may be used at the resource `resource`: it names
    /// it in its audience, or it has no audience restriction (RFC 9700
    /// §4.9).
    pub fn is_for(&self, resource: &str) -> bool {
        self.audience.is_empty() || self.audience.iter().any(|a| a == resource)
    }
}

impl From<AccessTokenInfo> for TokenInfo {
    fn from(info: AccessTokenInfo) -> Self {
        Self {
            client_id: Some(info.client_id),
            subject: info.subject,
            scope: info.scope,
            issued_at: Some(info.issued_at),
            expires_at: Some(info.expires_at),
            grant_id: Some(info.grant_id),
            audience: info
                .audience
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            cnf: info.cnf,
        }
    }
}

/// A token source could not answer: the store failed, the introspection
/// endpoint was unreachable or sent something unreadable.
///
/// The resource server answers `500` with no detail; the cause goes to the
/// host's `tracing` subscriber. A source never uses this for a token it does
/// not know — that is `Ok(None)`.
///
/// It reads as its cause: the error it sits in already says the source failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TokenSourceError(Box<dyn std::error::Error + Send + Sync>);

impl TokenSourceError {
    /// Wraps the cause.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

impl From<StoreError> for TokenSourceError {
    fn from(error: StoreError) -> Self {
        Self::new(error)
    }
}

/// Turns a presented access token into what it grants, or says it grants
/// nothing.
///
/// # Contract
///
/// - `Ok(Some(info))` only for a token that is active now: issued by the
///   trusted authorization server, an access token (not a refresh token or
///   code), not expired, not yet revoked (RFC 7662 §4 lists the checks).
/// - `Ok(None)` for everything else — unknown, malformed, expired, revoked, of
///   the wrong kind, from another issuer — without saying which: the client
///   gets the same `invalid_token` for all of them.
/// - `Err` only when the source cannot tell (a store or network failure).
///   Never fail open: an unreadable answer is an error or `None`, never a
///   token.
/// - The token is a secret: never log it, and send it only to the
///   authorization server, over TLS.
///
/// # Implementations
///
/// - [`AuthorizationServer`]: the resource server runs in the authorization
///   server's process (or shares its store), and looks tokens up by hash
///   ([`AuthorizationServer::access_token_info`]).
/// - Over HTTP, against an introspection endpoint (RFC 7662): the host POSTs
///   `token=<token>` with its own credentials (§2.1) using its HTTP client, and
///   hands the JSON body to [`IntrospectionResponse::from_json`](crate::protocol::IntrospectionResponse::from_json),
///   then to [`TokenInfo::from_introspection`], which applies the checks
///   above. portcullis does no IO of its own. A host that caches
///   answers to spare the endpoint must not keep one past its `exp`, and
///   accepts that a revoked token works until its cache entry goes (RFC 7662
///   §4).
///
/// ```
/// use std::time::SystemTime;
/// use portcullis::protocol::IntrospectionResponse;
/// use portcullis::resource::{TokenInfo, TokenSource, TokenSourceError};
///
/// /// A resource server that asks the authorization server over HTTP.
/// struct Introspector {
///     issuer: String,
///     // the host's HTTP client, endpoint URL and credentials
/// }
///
/// impl Introspector {
///     async fn post_introspection(&self, _token: &str) -> Result<Vec<u8>, std::io::Error> {
///         // POST {endpoint} with `token=<token>` (form-encoded) and the
///         // resource server's credentials; return the response body.
///         Ok(br#"{"active":true,"token_type":"Bearer","scope":"photos:read","client_id":"app","exp":4102444800}"#.to_vec())
///     }
/// }
///
/// impl TokenSource for Introspector {
///     async fn token_info(&self, token: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
///         let body = self.post_introspection(token).await.map_err(TokenSourceError::new)?;
///         let response = IntrospectionResponse::from_json(&body).map_err(TokenSourceError::new)?;
///         Ok(TokenInfo::from_introspection(&response, &self.issuer, SystemTime::now()))
///     }
/// }
/// ```
pub trait TokenSource: Send + Sync {
    /// The token's information if it is an active access token, `None` if
    /// not.
    fn token_info(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<TokenInfo>, TokenSourceError>> + Send;
}

/// In process: the store lookup by hash, with the prefix, expiry and grant
/// revocation checks of [`AuthorizationServer::access_token_info`].
impl TokenSource for AuthorizationServer {
    async fn token_info(&self, token: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        Ok(self.access_token_info(token).await?.map(TokenInfo::from))
    }
}

impl<T: TokenSource> TokenSource for Arc<T> {
    fn token_info(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<TokenInfo>, TokenSourceError>> + Send {
        (**self).token_info(token)
    }
}

impl<T: TokenSource> TokenSource for &T {
    fn token_info(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<TokenInfo>, TokenSourceError>> + Send {
        (**self).token_info(token)
    }
}
