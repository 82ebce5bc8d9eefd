//! What the store keeps: grants and the tokens derived from them.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use super::TokenExchangeRecord;
use crate::client::ClientId;
use crate::protocol::openid::{ClaimsRequest, OpenIdParams};
use crate::protocol::{AuthorizationDetails, CodeChallenge, ResourceSet, Scope};
use crate::token::{Confirmation, TokenHash};

/// Identifies a grant: one resource owner's authorization of one client, or a
/// client's own authorization in the client credentials grant. 128 random bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; 16]);

impl GrantId {
    /// A fresh random identifier.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps an identifier read back from storage.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The identifier, for storage.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({self})")
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// The resource owner a grant speaks for, as the host identifies its users.
/// Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject(Arc<str>);

impl Subject {
    /// A subject identifier.
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({})", self.0)
    }
}

/// A grant (DESIGN: every token belongs to one). Revoking it revokes every
/// token derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant's identifier.
    pub id: GrantId,
    /// The client the grant was made to.
    pub client_id: ClientId,
    /// The resource owner; `None` when the client acts on its own behalf
    /// (client credentials, RFC 6749 §4.4).
    pub subject: Option<Subject>,
    /// The scope granted; tokens of this grant carry this scope or less.
    pub scope: Scope,
    /// The resources the grant was authorized for (RFC 8707): its tokens'
    /// audience is these or fewer. Empty: no restriction was asked for.
    pub resources: ResourceSet,
    /// The authorization details granted (RFC 9396 §2); its tokens carry
    /// these or a subset. Empty: none were asked for.
    pub authorization_details: AuthorizationDetails,
    /// What the ID tokens of a grant made by an OpenID Connect request
    /// depend on; `None` for any other grant.
    pub openid: Option<Arc<OpenIdGrant>>,
    /// When the grant was made.
    pub created_at: SystemTime,
    /// When the grant ends, whatever its tokens say: the absolute lifetime.
    pub expires_at: SystemTime,
}

/// An issued access token, kept by the hash of its value (RFC 6819 §5.1.4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The grant it was issued under.
    pub grant_id: GrantId,
    /// Its scope (within the grant's).
    pub scope: Scope,
    /// The resources it is for (RFC 8707), within the grant's; empty for a
    /// token without an audience restriction.
    pub audience: ResourceSet,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it stops being valid.
    pub expires_at: SystemTime,
    /// For a token issued by token exchange (RFC 8693): the client it was
    /// issued to and its actor. `None` for every other token.
    pub exchange: Option<Arc<TokenExchangeRecord>>,
    /// The key its holder must prove (RFC 7800 §3.1): a DPoP key's
    /// thumbprint (RFC 9449 §6) or a certificate's (RFC 8705 §3); `None`
    /// for a bearer token.
    pub cnf: Option<Confirmation>,
    /// The authorization details it carries (RFC 9396 §6.2, §9): its
    /// grant's, or the subset of them its token request named; empty for
    /// none.
    pub authorization_details: AuthorizationDetails,
}

/// A refresh token (RFC 6749 §1.5, §6), kept by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The grant it belongs to; the grant's expiry is the absolute lifetime.
    pub grant_id: GrantId,
    /// Its scope (within the grant's).
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires unless used: the idle lifetime, capped by the grant's.
    pub expires_at: SystemTime,
    /// The key a refresh must prove: a public client's DPoP key (RFC 9449
    /// §5); `None` when unbound. Its rotations keep it.
    pub cnf: Option<Confirmation>,
}

/// A refresh token found by
/// [`GrantStore::find_refresh_token`](super::GrantStore::find_refresh_token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRefreshToken {
    /// The token.
    pub record: RefreshTokenRecord,
    /// Its grant.
    pub grant: GrantRecord,
    /// Whether it is still current; `false` once rotated out.
    pub current: bool,
}

/// An authorization code (RFC 6749 §4.1.2), kept by the hash of its value. It
/// belongs to a grant made when the resource owner approved; the grant carries
/// the client, the resource owner and the scope the code is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRecord {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// The grant the code belongs to.
    pub grant_id: GrantId,
    /// The redirect URI the code was sent to.
    pub redirect_uri: Arc<str>,
    /// Whether the authorization request named the redirect URI, in which case
    /// the token request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_in_request: bool,
    /// The PKCE challenge (RFC 7636 §4.4).
    pub challenge: Option<CodeChallenge>,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it stops being redeemable.
    pub expires_at: SystemTime,
    /// The thumbprint of the DPoP key the authorization request named
    /// (`dpop_jkt`, RFC 9449 §10): only a token request proving that key
    /// redeems the code.
    pub dpop_jkt: Option<Arc<str>>,
}

/// An authorization code found by
/// [`AuthorizationCodeStore::find_code`](super::AuthorizationCodeStore::find_code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCode {
    /// The code.
    pub code: AuthorizationCodeRecord,
    /// Its grant.
    pub grant: GrantRecord,
    /// Whether it has been redeemed already.
    pub redeemed: bool,
}

/// How the authorization response reaches the client (OAuth 2.0 Multiple
/// Response Type Encoding Practices; OAuth 2.0 Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query (the default for `code`).
    Query,
    /// Parameters in the redirect URI's fragment.
    Fragment,
    /// An auto-submitting HTML form POSTed to the redirect URI.
    FormPost,
}

/// The response types portcullis serves (RFC 6749 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseType {
    /// `code`: the authorization code grant.
    Code,
    /// `token`: the implicit grant, when enabled on the server and the client.
    Token,
}

/// A validated authorization request waiting for the resource owner's
/// decision, kept server-side so the decision can arrive on a later request
/// without trusting anything the browser sends back but the handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorizationRecord {
    /// SHA-256 of the handle given to the host.
    pub hash: TokenHash,
    /// The client asking.
    pub client_id: ClientId,
    /// What it asked for.
    pub response_type: ResponseType,
    /// Where the response goes.
    pub redirect_uri: Arc<str>,
    /// Whether the request named the redirect URI.
    pub redirect_uri_in_request: bool,
    /// The scope asked for (already within the client's allowed scope).
    pub scope: Scope,
    /// The resources asked for (RFC 8707), each one the server knows.
    pub resources: ResourceSet,
    /// The authorization details asked for (RFC 9396 §2), each of a type
    /// the server and the client accept, each accepted by its validator.
    pub authorization_details: AuthorizationDetails,
    /// The OpenID Connect parameters, for a request whose scope includes
    /// `openid` on a server that is an OpenID Provider.
    pub openid: Option<Arc<OpenIdRequest>>,
    /// The client's `state`, returned unchanged.
    pub state: Option<String>,
    /// How the response is delivered.
    pub response_mode: ResponseMode,
    /// The PKCE challenge.
    pub challenge: Option<CodeChallenge>,
    /// When the request was validated.
    pub created_at: SystemTime,
    /// When the resource owner's decision is no longer accepted.
    pub expires_at: SystemTime,
    /// `dpop_jkt` (RFC 9449 §10): the DPoP key the code must be redeemed
    /// with.
    pub dpop_jkt: Option<Arc<str>>,
}

/// A new grant and the first tokens issued under it, stored together
/// ([`GrantStore::create_grant`](super::GrantStore::create_grant)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewGrant {
    /// The grant.
    pub grant: GrantRecord,
    /// Its first access token (client credentials, password, implicit).
    pub access_token: Option<AccessTokenRecord>,
    /// Its first refresh token (password).
    pub refresh_token: Option<RefreshTokenRecord>,
}

impl NewGrant {
    /// A grant with its first access token.
    pub fn with_access_token(grant: GrantRecord, access_token: AccessTokenRecord) -> Self {
        Self {
            grant,
            access_token: Some(access_token),
            refresh_token: None,
        }
    }

    /// Adds a first refresh token.
    pub fn and_refresh_token(mut self, refresh_token: RefreshTokenRecord) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }
}

/// A new grant and its authorization code, stored together when the
/// resource owner approves
/// ([`AuthorizationCodeStore::create_code_grant`](super::AuthorizationCodeStore::create_code_grant)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewCodeGrant {
    /// The grant.
    pub grant: GrantRecord,
    /// Its authorization code.
    pub code: AuthorizationCodeRecord,
}

impl NewCodeGrant {
    /// A grant with its authorization code.
    pub fn new(grant: GrantRecord, code: AuthorizationCodeRecord) -> Self {
        Self { grant, code }
    }
}

/// What an OpenID Connect authentication request asked for (OpenID Connect
/// Core 1.0 §3.1.2.1), kept with the pending request: its parameters, and
/// what a valid `id_token_hint` said.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct OpenIdRequest {
    /// The parameters (`id_token_hint` cleared: its verified content is
    /// [`hint`](Self::hint)).
    pub params: OpenIdParams,
    /// The End-User a verified `id_token_hint` named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<IdTokenHint>,
}

impl OpenIdRequest {
    /// A request with these parameters and, if one was given and verified,
    /// what its `id_token_hint` said.
    pub fn new(mut params: OpenIdParams, hint: Option<IdTokenHint>) -> Self {
        params.id_token_hint = None;
        Self { params, hint }
    }
}

/// What a verified `id_token_hint` says (Core §3.1.2.1): an ID token this
/// provider issued to the requesting client, expired or not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct IdTokenHint {
    /// Its `sub`, as the client knows the End-User (pairwise or public).
    pub subject: String,
    /// Its `sid`, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl IdTokenHint {
    /// A hint naming `subject` in the session `session_id`.
    pub fn new(subject: impl Into<String>, session_id: Option<String>) -> Self {
        Self {
            subject: subject.into(),
            session_id,
        }
    }
}

/// What a grant made by an OpenID Connect request keeps for its ID tokens
/// and its UserInfo answers: the authentication the host reported on
/// approval, and what the request asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct OpenIdGrant {
    /// The `nonce`, returned in the ID token issued with the code's tokens
    /// (Core §3.1.3.6); not in those issued on refresh (§12.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// When the End-User authenticated (`auth_time`, Core §2), in seconds
    /// since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// The authentication context class satisfied (`acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The authentication methods used (`amr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The host's session identifier (`sid`, Front-Channel Logout 1.0 §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The `claims` request parameter (Core §5.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
    /// `claims_locales` (Core §5.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
}

impl OpenIdGrant {
    /// The JSON a store keeps.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads back what [`to_json`](Self::to_json) wrote.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

impl OpenIdRequest {
    /// The JSON a store keeps.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads back what [`to_json`](Self::to_json) wrote.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}
