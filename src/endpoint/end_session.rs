//! The OpenID Provider's logout endpoint (OpenID Connect RP-Initiated
//! Logout 1.0), in two steps around the host's own session:
//!
//! 1. [`AuthorizationServer::end_session_request`] validates a logout
//!    request (§2) — its `id_token_hint`, the client, and the
//!    `post_logout_redirect_uri` against the client's registered ones —
//!    and returns a [`LogoutRequest`], or a [`LogoutError`] the host shows
//!    as a page: a refused request never redirects (§3, §4).
//! 2. The host asks the End-User whether to sign out (§2: it SHOULD, and
//!    MUST unless the hint names the End-User signed in), ends its own
//!    session, and sends what [`AuthorizationServer::end_session`] returns:
//!    the redirect back to the relying party with `state`, or a "signed
//!    out" page.
//!
//! The library keeps no session of its own, so it cannot end one: the
//! sign-in is the host's, and so is the sign-out.

use std::fmt;
use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::authorization_server::AuthorizationServer;
use super::authorize::MAX_STATE_LEN;
use super::redirect::{deliver, html_escape, secure_page_headers, see_other};
use crate::client::Client;
use crate::oidc::OpenIdProvider;
use crate::protocol::openid::{hint, ui_locales};
use crate::protocol::{ErrorCode, ErrorResponse, OAuthError, Params};
use crate::store::{IdTokenHint, ResponseMode, StoreError};

/// The parameters of a logout request (RP-Initiated Logout 1.0 §2), in the
/// order a confirmation form re-posts them.
const LOGOUT_PARAMETERS: [&str; 6] = [
    "id_token_hint",
    "logout_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
];

/// A validated logout request (RP-Initiated Logout 1.0 §2), waiting for the
/// host to end the End-User's session.
///
/// Only [`AuthorizationServer::end_session_request`] makes one, so the
/// redirect it leads to has been checked: the client was identified — by
/// `client_id`, or by the audience of an `id_token_hint` this provider
/// signed — and the `post_logout_redirect_uri` is, character for
/// character, one the client registered (§3).
///
/// What it tells the host, to decide whether to ask the End-User first
/// (§2: the provider MUST ask unless the hint names the End-User signed in
/// to it): the [client](Self::client), the [hint](Self::id_token_hint) and
/// whether it [names](Self::is_hinted_subject) a given End-User,
/// [`logout_hint`](Self::logout_hint), [`ui_locales`](Self::ui_locales).
pub struct LogoutRequest {
    provider: Arc<OpenIdProvider>,
    client: Option<Arc<Client>>,
    hint: Option<IdTokenHint>,
    logout_hint: Option<String>,
    ui_locales: Vec<String>,
    redirect: Option<PostLogoutRedirect>,
    /// Every parameter of the request, for the host's own fields and for
    /// re-posting from a confirmation form.
    params: Params<'static>,
}

/// Where the End-User goes after logout, and the `state` that goes along.
struct PostLogoutRedirect {
    uri: String,
    state: Option<String>,
}

impl LogoutRequest {
    /// The relying party asking: named by `client_id`, or the one audience
    /// of the `id_token_hint`. `None` when the request names no client, or
    /// the hint's client no longer exists.
    pub fn client(&self) -> Option<&Client> {
        self.client.as_deref()
    }

    /// What the `id_token_hint` says, when the request had one: the `sub`
    /// the client knows the End-User by and the `sid` of the session it was
    /// issued in (Core §2). Compare the `sid` with the host's session: one
    /// that does not match makes the request suspect (§2).
    pub fn id_token_hint(&self) -> Option<&IdTokenHint> {
        self.hint.as_ref()
    }

    /// Whether `subject` — the host's identifier of the End-User signed in,
    /// as given to [`Approval::new`](super::Approval::new) — is the one the
    /// `id_token_hint` names, as the hint's client knows them (public or
    /// pairwise, Core §8). `false` without a hint, or when its client no
    /// longer exists: the End-User must then be asked (§2).
    pub fn is_hinted_subject(&self, subject: &str) -> bool {
        match (&self.hint, &self.client) {
            (Some(hint), Some(client)) => {
                self.provider.subject_for(client, subject) == hint.subject
            }
            _ => false,
        }
    }

    /// `logout_hint`: who the relying party says is signing out, in a form
    /// the provider defines (§2). Unverified: a hint, never a proof.
    pub fn logout_hint(&self) -> Option<&str> {
        self.logout_hint.as_deref()
    }

    /// `ui_locales`, preferred first.
    pub fn ui_locales(&self) -> &[String] {
        &self.ui_locales
    }

    /// Whether [`end_session`](AuthorizationServer::end_session) redirects
    /// to the relying party (a registered `post_logout_redirect_uri`), or
    /// shows the "signed out" page.
    pub fn redirects(&self) -> bool {
        self.redirect.is_some()
    }

    /// The validated `post_logout_redirect_uri`, if any.
    pub fn post_logout_redirect_uri(&self) -> Option<&str> {
        self.redirect.as_ref().map(|r| r.uri.as_str())
    }

    /// A parameter of the request that is single-valued — one of the
    /// logout parameters, or a field of the host's own, such as a
    /// confirmation form's answer and CSRF token. `None` when absent or
    /// repeated.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.params.get(name).ok().flatten()
    }

    /// The logout parameters as the request sent them, to re-post as
    /// hidden fields of a confirmation form (§2: the provider SHOULD ask
    /// the End-User whether to log out): the form's request is validated
    /// again, from scratch, by
    /// [`end_session_request`](AuthorizationServer::end_session_request).
    /// Escape the values ([`html_escape`]).
    pub fn resubmit_fields(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        LOGOUT_PARAMETERS
            .into_iter()
            .filter_map(|name| Some((name, self.parameter(name)?)))
    }
}

impl fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutRequest")
            .field("client", &self.client.as_ref().map(|c| c.id()))
            .field("id_token_hint", &self.hint.is_some())
            .field("redirects", &self.redirect.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a logout request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// The server is not an OpenID Provider: it has no logout endpoint
    /// (`404`).
    #[error("the server is not an OpenID Provider")]
    NotProvider,
    /// Neither `GET` nor `POST` (§2): `405` with `Allow: GET, POST`.
    #[error("the logout endpoint accepts only GET and POST")]
    MethodNotAllowed,
    /// The request is invalid — a bad `id_token_hint`, a `client_id` that
    /// is unknown or not the hint's, a `post_logout_redirect_uri` not
    /// registered for an identified client, a repeated or oversized
    /// parameter. The error is shown to the End-User, and the browser is
    /// sent nowhere (§3, §4: no post-logout redirection after an error).
    #[error("logout request rejected: {0}")]
    Rejected(OAuthError),
    /// The client registry failed.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl LogoutError {
    /// The OAuth error of a [`Rejected`](Self::Rejected) request.
    pub fn error(&self) -> Option<&OAuthError> {
        match self {
            LogoutError::Rejected(e) => Some(e),
            _ => None,
        }
    }

    /// The response to send: a `400` page for a rejected request (`500`
    /// for a storage failure) with the secure page headers and no
    /// `Location`, `404` without a provider, `405` for another method.
    /// Hosts usually render their own page for
    /// [`Rejected`](Self::Rejected) from [`error`](Self::error).
    pub fn into_http(self) -> Response<Vec<u8>> {
        match self {
            LogoutError::NotProvider => {
                // As for any path the server does not serve.
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
            LogoutError::MethodNotAllowed => ErrorResponse::method_not_allowed(
                "the logout endpoint accepts only GET and POST",
                "GET, POST",
            )
            .into_http(),
            LogoutError::Rejected(e) => page(
                StatusCode::BAD_REQUEST,
                &format!(
                    "The logout request is invalid: {}.",
                    e.description().unwrap_or(e.code().as_str())
                ),
            ),
            LogoutError::Storage(e) => {
                e.report("logout endpoint");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server could not handle the request.",
                )
            }
        }
    }
}

fn reject(description: &'static str) -> LogoutError {
    LogoutError::Rejected(OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description))
}

/// A minimal HTML page with `message`, escaped, and the secure page
/// headers.
fn page(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign out</title>\
         </head><body><p>{}</p></body></html>",
        html_escape(message)
    );
    let mut response = Response::new(body.into_bytes());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_page_headers(response.headers_mut());
    response
}

impl AuthorizationServer {
    /// Validates a logout request at the logout endpoint (RP-Initiated
    /// Logout 1.0 §2): a `GET` with a query or a `POST` with a form body.
    ///
    /// - `id_token_hint`, if sent, must be an ID token this provider signed
    ///   (one of its keys, its `iss`); expired is fine (§2);
    /// - `client_id`, if sent, must be a known client and, with a hint, one
    ///   of the hint's audience (§2);
    /// - `post_logout_redirect_uri` needs the client identified — by
    ///   `client_id` or the hint — and must equal one of its registered
    ///   `post_logout_redirect_uris` exactly (§3; no normalisation, no
    ///   loopback port relaxation). A registered URI of a client named by
    ///   `client_id` alone is the "other means of confirming" §3 allows;
    /// - `state` is at most [`MAX_STATE_LEN`] bytes; no parameter may be
    ///   repeated.
    ///
    /// Anything else is [`LogoutError::Rejected`]: shown as a page, never
    /// redirected (§4). A server that is no OpenID Provider answers
    /// [`LogoutError::NotProvider`].
    pub async fn end_session_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<LogoutRequest, LogoutError> {
        let Some(provider) = &self.inner.openid else {
            return Err(LogoutError::NotProvider);
        };
        let raw: &[u8] = match *request.method() {
            Method::GET => request.uri().query().unwrap_or("").as_bytes(),
            Method::POST => request.body().as_ref(),
            _ => return Err(LogoutError::MethodNotAllowed),
        };
        if raw.len() > self.inner.max_body {
            return Err(reject("the request is too large"));
        }
        let params = Params::parse(raw).map_err(|e| {
            LogoutError::Rejected(
                OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(e.to_string()),
            )
        })?;
        if LOGOUT_PARAMETERS
            .iter()
            .any(|name| params.get(name).is_err())
        {
            return Err(reject("a parameter is repeated"));
        }
        let single = |name: &str| params.get(name).ok().flatten();
        let raw_hint = hint(
            &params,
            "id_token_hint",
            "id_token_hint is empty or too long",
        )
        .map_err(LogoutError::Rejected)?;
        let logout_hint = hint(&params, "logout_hint", "logout_hint is empty or too long")
            .map_err(LogoutError::Rejected)?;
        let ui_locales = ui_locales(&params).map_err(LogoutError::Rejected)?;
        let state = single("state");
        if state.is_some_and(|s| s.len() > MAX_STATE_LEN) {
            return Err(reject("state is too long"));
        }

        let now = self.inner.clock.now();
        let verified = raw_hint
            .map(|raw| provider.verify_any_hint(&raw, &self.inner.issuer, now))
            .transpose()
            .map_err(|_| reject("id_token_hint is not an ID token issued by this provider"))?;
        let client = match (single("client_id"), &verified) {
            (Some(id), hint) => {
                if hint
                    .as_ref()
                    .is_some_and(|(_, aud)| !aud.iter().any(|a| a == id))
                {
                    return Err(reject(
                        "client_id is not the client id_token_hint was issued to",
                    ));
                }
                let client = self.inner.clients.find_client(id).await?;
                Some(client.ok_or_else(|| reject("unknown client"))?)
            }
            (None, Some((_, aud))) => match aud.as_slice() {
                [only] => self.inner.clients.find_client(only).await?,
                _ => None,
            },
            (None, None) => None,
        };
        let redirect = match single("post_logout_redirect_uri") {
            None => None,
            Some(uri) => {
                let client = client.as_ref().ok_or_else(|| {
                    reject("post_logout_redirect_uri needs client_id or id_token_hint")
                })?;
                if !client.allows_post_logout_redirect_uri(uri) {
                    return Err(reject(
                        "post_logout_redirect_uri is not registered for the client",
                    ));
                }
                Some(PostLogoutRedirect {
                    uri: uri.to_owned(),
                    state: state.map(str::to_owned),
                })
            }
        };
        Ok(LogoutRequest {
            provider: Arc::clone(provider),
            client,
            hint: verified.map(|(hint, _)| hint),
            logout_hint,
            ui_locales,
            redirect,
            params: params.into_owned(),
        })
    }

    /// The End-User is signed out — the host has ended its session — so
    /// the logout request is answered (RP-Initiated Logout 1.0 §3): a `303`
    /// to the validated `post_logout_redirect_uri`, with `state` added to
    /// its query (any query it has is kept), or, without one, a small
    /// "You are signed out" page with the secure page headers (a host with
    /// its own page shows that instead when
    /// [`redirects`](LogoutRequest::redirects) is `false`).
    pub fn end_session(&self, logout: LogoutRequest) -> Response<Vec<u8>> {
        match &logout.redirect {
            Some(PostLogoutRedirect {
                uri,
                state: Some(state),
            }) => deliver(uri, ResponseMode::Query, &[("state", state)]),
            Some(PostLogoutRedirect { uri, state: None }) => see_other(uri),
            None => page(StatusCode::OK, "You are signed out."),
        }
    }
}
