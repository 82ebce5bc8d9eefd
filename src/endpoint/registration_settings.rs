//! Dynamic client registration's settings (RFC 7591, RFC 7592): whether it
//! is open or needs an initial access token, and what a dynamically
//! registered client may have.

use std::fmt;

use super::build_error::BuildError;
use crate::protocol::{GrantType, Scope, is_b64token};
use crate::token::TokenHash;

/// The shortest initial access token accepted: 32 characters. Generate it
/// randomly (for instance 32 random bytes, base64url-encoded); it guards
/// client creation.
pub const MIN_INITIAL_ACCESS_TOKEN_LEN: usize = 32;

/// Dynamic client registration (RFC 7591, RFC 7592), as enabled on the
/// builder with [`ServerBuilder::dynamic_registration`](crate::ServerBuilder::dynamic_registration).
///
/// Off unless the builder is given one, which is an explicit choice between
/// two modes:
///
/// - [`with_initial_access_token`](Self::with_initial_access_token): a
///   registration request must carry `Authorization: Bearer <initial access
///   token>` (RFC 7591 §3). The server keeps only the token's SHA-256 and
///   compares hashes in constant time; a missing or wrong token is `401
///   invalid_token` with a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
/// - [`open`](Self::open): anyone may register. See its documentation for
///   what that exposes.
///
/// When registration is off, the registration endpoint and the client
/// configuration endpoints answer `404` with `invalid_request`, as if they did
/// not exist, and the metadata document has no `registration_endpoint`.
///
/// A registration is validated by the RFC 7591 rules described on
/// [`ClientMetadata`](crate::client::ClientMetadata) and then by the same rules as a client an administrator
/// registers. It is answered with `201` and the [`ClientInformation`](super::ClientInformation): the
/// `client_id`, the `client_secret` for a confidential client (shown this
/// once, with `client_secret_expires_at: 0`), `client_id_issued_at`, every
/// registered metadata value, and the RFC 7592 `registration_access_token`
/// and `registration_client_uri` with which the client reads, updates or
/// deletes its registration
/// ([`AuthorizationServer::client_configuration_endpoint`](crate::AuthorizationServer::client_configuration_endpoint)).
///
/// What a dynamically registered client may have:
///
/// - **grant types**: those the server serves (the token endpoint's, and
///   `implicit` when enabled) *and* the registration allows:
///   `authorization_code`, `refresh_token` and the device grant by default,
///   `client_credentials` too when an initial access token protects the
///   endpoint; anything else — `implicit`, `password`, extension grants,
///   `client_credentials` under open registration — only after
///   [`allow_grant_type`](Self::allow_grant_type). Anything else is
///   `invalid_client_metadata`.
/// - **scope**: within [`max_scope`](Self::max_scope) (empty unless set); a
///   wider `scope` is refused with `invalid_client_metadata`, not narrowed,
///   so the client learns at once; an omitted `scope` registers the maximum.
/// - **display URLs** (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`):
///   `https`, and, when the client has `https` redirect URIs, on the host of
///   one of them (RFC 7591 §5), so a client cannot borrow another site's
///   pages on the consent screen.
#[derive(Clone)]
#[must_use]
pub struct DynamicRegistration {
    /// `None` in open mode.
    pub(super) initial_access_token: Option<TokenHash>,
    initial_access_token_len: usize,
    /// Whether the token can be sent as `Authorization: Bearer`.
    initial_access_token_is_bearer: bool,
    pub(super) max_scope: Scope,
    extra_grants: Vec<GrantType>,
}

impl fmt::Debug for DynamicRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicRegistration")
            .field("open", &self.is_open())
            .field("max_scope", &self.max_scope)
            .field("extra_grants", &self.extra_grants)
            .finish_non_exhaustive()
    }
}

impl DynamicRegistration {
    /// Registration for whoever presents `token` as a bearer token (RFC 7591
    /// §3). Only its SHA-256 is kept. At least
    /// [`MIN_INITIAL_ACCESS_TOKEN_LEN`] characters, or
    /// [`ServerBuilder::build`](crate::ServerBuilder::build) fails with
    /// [`BuildError::WeakInitialAccessToken`]; in the `b64token` syntax of
    /// RFC 6750 §2.1 (base64 or base64url will do), or it fails with
    /// [`BuildError::MalformedInitialAccessToken`].
    pub fn with_initial_access_token(token: &str) -> Self {
        Self {
            initial_access_token: Some(TokenHash::of(token)),
            initial_access_token_len: token.chars().count(),
            initial_access_token_is_bearer: is_b64token(token.as_bytes()),
            max_scope: Scope::empty(),
            extra_grants: Vec::new(),
        }
    }

    /// Open registration: anyone who can reach the endpoint may register a
    /// client, as RFC 7591 §3 suggests for interoperability.
    ///
    /// Risky, and so a separate, named choice:
    ///
    /// - **Phishing.** Every metadata value is self-asserted (RFC 7591 §5): a
    ///   rogue client can take a trusted client's name and logo, and the
    ///   consent page is then the only defence. The host's consent page should
    ///   mark dynamically registered clients
    ///   ([`Client::registration_access_token_hash`](crate::client::Client::registration_access_token_hash) is `Some`) and must not
    ///   skip consent for them.
    /// - **Redirects to attacker-chosen URIs.** Anyone can register a redirect
    ///   URI of their own and send users' browsers through the authorization
    ///   endpoint to it, with an error or a code for a grant the user approved
    ///   for the rogue client (RFC 9700 §4.11.2). Still `https` only (loopback
    ///   and private-use schemes for native apps), and matched exactly.
    /// - **Resource exhaustion.** Each request stores a client. Rate-limit the
    ///   endpoint in the host (RFC 7591 §3 allows it) and cap the body size.
    /// - **Tokens without a user.** `client_credentials` would give anyone a
    ///   token; it is not registrable in open mode unless allowed with
    ///   [`allow_grant_type`](Self::allow_grant_type).
    pub fn open() -> Self {
        Self {
            initial_access_token: None,
            initial_access_token_len: 0,
            initial_access_token_is_bearer: false,
            max_scope: Scope::empty(),
            extra_grants: Vec::new(),
        }
    }

    /// The most scope a dynamically registered client may have; a client
    /// that omits `scope` gets this. Empty unless set.
    pub fn max_scope(mut self, scope: Scope) -> Self {
        self.max_scope = scope;
        self
    }

    /// Lets dynamically registered clients ask for `grant_type` — still only
    /// if the server serves it. Needed for `implicit` and `password` (which
    /// the server must also enable), for extension grants, and for
    /// `client_credentials` under open registration.
    pub fn allow_grant_type(mut self, grant_type: GrantType) -> Self {
        if !self.extra_grants.contains(&grant_type) {
            self.extra_grants.push(grant_type);
        }
        self
    }

    /// Whether anyone may register, without an initial access token.
    pub fn is_open(&self) -> bool {
        self.initial_access_token.is_none()
    }

    pub(crate) fn check(&self) -> Result<(), BuildError> {
        if self.is_open() {
            return Ok(());
        }
        if self.initial_access_token_len < MIN_INITIAL_ACCESS_TOKEN_LEN {
            return Err(BuildError::WeakInitialAccessToken);
        }
        if !self.initial_access_token_is_bearer {
            return Err(BuildError::MalformedInitialAccessToken);
        }
        Ok(())
    }

    /// Whether a registration may ask for `grant` (whether the server serves
    /// it is checked separately).
    pub(super) fn allows(&self, grant: &GrantType) -> bool {
        *grant == GrantType::AUTHORIZATION_CODE
            || *grant == GrantType::REFRESH_TOKEN
            || *grant == GrantType::DEVICE_CODE
            || (*grant == GrantType::CLIENT_CREDENTIALS && !self.is_open())
            || self.extra_grants.contains(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_initial_access_token() {
        let token = "a-long-initial-access-token-0123456789";
        let shown = format!(
            "{:?}",
            DynamicRegistration::with_initial_access_token(token)
        );
        assert!(!shown.contains(token), "{shown}");
        assert!(shown.contains("open: false"));
    }

    #[test]
    fn short_initial_access_tokens_are_refused() {
        assert_eq!(
            DynamicRegistration::with_initial_access_token("short").check(),
            Err(BuildError::WeakInitialAccessToken)
        );
        assert_eq!(
            DynamicRegistration::with_initial_access_token("an-initial-access-token-of-32-chars!")
                .check(),
            Err(BuildError::MalformedInitialAccessToken)
        );
        assert!(DynamicRegistration::open().check().is_ok());
    }
}
