//! OpenID Connect at the authorization endpoint (OpenID Connect Core 1.0
//! §3.1.2): what an authentication request adds to an authorization
//! request, what the host reports when it approves one, and the errors that
//! end one without a page.

use std::time::SystemTime;

use super::pending::{DecisionError, stale};
use crate::client::Client;
use crate::oidc::OpenIdProvider;
use crate::protocol::openid::OpenIdParams;
use crate::protocol::{ErrorCode, OAuthError, Params, Scope};
use crate::store::{OpenIdGrant, OpenIdRequest};

/// The resource owner's approval of an authorization request, as the host
/// reports it to [`AuthorizationServer::approve_with`](crate::AuthorizationServer::approve_with):
/// who approved, what they granted, and — for OpenID Connect — how and
/// when they authenticated, which the ID token states (Core §2).
#[derive(Debug, Clone)]
#[must_use]
pub struct Approval {
    pub(crate) subject: String,
    pub(crate) scope: Option<Scope>,
    pub(crate) authenticated_at: Option<SystemTime>,
    pub(crate) acr: Option<String>,
    pub(crate) amr: Vec<String>,
    pub(crate) session_id: Option<String>,
}

impl Approval {
    /// `subject` — the host's stable identifier of the resource owner —
    /// approved the whole requested scope.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            scope: None,
            authenticated_at: None,
            acr: None,
            amr: Vec::new(),
            session_id: None,
        }
    }

    /// Grants `scope`, within the scope requested (RFC 6749 §3.3).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// When the End-User last authenticated (`auth_time`, Core §2): the
    /// time of the sign-in that started their session, not of this request.
    /// Required when the request has `max_age` or `prompt=login`, when the
    /// client registered `require_auth_time`, and when `auth_time` is an
    /// essential claim.
    pub fn authenticated_at(mut self, at: SystemTime) -> Self {
        self.authenticated_at = Some(at);
        self
    }

    /// The authentication context class the sign-in satisfied (`acr`).
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// The authentication methods used (`amr`, RFC 8176 values such as
    /// `pwd`, `otp`, `hwk`).
    pub fn amr<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = methods.into_iter().map(Into::into).collect();
        self
    }

    /// The host's identifier of the End-User's session at the provider
    /// (`sid`): it goes in the ID token, and comes back with a logout
    /// request's `id_token_hint`.
    pub fn session_id(mut self, sid: impl Into<String>) -> Self {
        self.session_id = Some(sid.into());
        self
    }
}

/// Why an authentication request with `prompt=none` cannot go on without
/// a page (Core §3.1.2.6): the error the client gets on its redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InteractionRequired {
    /// The End-User is not signed in: `login_required`.
    Login,
    /// The End-User has not consented: `consent_required`.
    Consent,
    /// The End-User would have to pick an account:
    /// `account_selection_required`.
    AccountSelection,
    /// Some other page would be needed: `interaction_required`.
    Interaction,
}

impl InteractionRequired {
    /// The error code sent.
    pub fn code(self) -> ErrorCode {
        match self {
            InteractionRequired::Login => ErrorCode::LOGIN_REQUIRED,
            InteractionRequired::Consent => ErrorCode::CONSENT_REQUIRED,
            InteractionRequired::AccountSelection => ErrorCode::ACCOUNT_SELECTION_REQUIRED,
            InteractionRequired::Interaction => ErrorCode::INTERACTION_REQUIRED,
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            InteractionRequired::Login => "the end-user is not signed in",
            InteractionRequired::Consent => "the end-user has not consented",
            InteractionRequired::AccountSelection => "the end-user must select an account",
            InteractionRequired::Interaction => "the end-user must interact with the provider",
        }
    }
}

/// The OpenID Connect request of an authorization request whose scope
/// includes `openid`, on a provider: its parameters (Core §3.1.2.1), the
/// client's registered defaults applied, and a valid `id_token_hint`'s
/// content.
pub(crate) fn openid_request(
    provider: &OpenIdProvider,
    params: &Params<'_>,
    client: &Client,
    issuer: &str,
    now: SystemTime,
) -> Result<OpenIdRequest, OAuthError> {
    let mut params = OpenIdParams::from_params(params)?;
    // Registration §2: the client's registered defaults, which the request
    // overrides.
    if params.max_age.is_none() {
        params.max_age = client.default_max_age();
    }
    if params.acr_values.is_empty() {
        params.acr_values = client.default_acr_values().to_vec();
    }
    let hint = params
        .id_token_hint
        .as_deref()
        .map(|raw| provider.verify_hint(raw, issuer, client.id(), now))
        .transpose()
        .map_err(|_| {
            OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("id_token_hint is not an ID token issued to this client")
        })?;
    Ok(OpenIdRequest::new(params, hint))
}

/// What approving `request` as `approval` puts in the grant, once the
/// approval is checked against what the request demanded (Core §3.1.2.1):
/// an authentication time where one is needed, recent enough for
/// `max_age`, after the request for `prompt=login`; the End-User the
/// `id_token_hint` named.
pub(crate) fn approved_authentication(
    provider: &OpenIdProvider,
    client: &Client,
    request: &OpenIdRequest,
    requested_at: SystemTime,
    approval: &Approval,
) -> Result<OpenIdGrant, DecisionError> {
    let params = &request.params;
    let essential_auth_time = params
        .claims
        .as_ref()
        .and_then(|c| c.id_token_claim("auth_time"))
        .is_some_and(|c| c.essential);
    let needs_time = params.max_age.is_some()
        || params.prompt.login()
        || essential_auth_time
        || client.require_auth_time();
    let authenticated_at = match approval.authenticated_at {
        Some(at) => Some(at),
        None if needs_time => return Err(DecisionError::AuthenticationTimeRequired),
        None => None,
    };
    if authenticated_at.is_some_and(|at| stale(request, requested_at, at)) {
        return Err(DecisionError::LoginRequired);
    }
    if let Some(hint) = &request.hint {
        if provider.subject_for(client, &approval.subject) != hint.subject {
            return Err(DecisionError::SubjectMismatch);
        }
    }
    Ok(OpenIdGrant {
        nonce: params.nonce.clone(),
        auth_time: authenticated_at.map(|at| {
            at.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        }),
        acr: approval.acr.clone(),
        amr: approval.amr.clone(),
        session_id: approval.session_id.clone(),
        claims: params.claims.clone(),
        claims_locales: params.claims_locales.clone(),
    })
}
