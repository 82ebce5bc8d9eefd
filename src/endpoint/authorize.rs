//! The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.1.2; §4.2 as an
//! opt-in), in two steps the host drives around its own login and consent
//! pages:
//!
//! 1. [`AuthorizationServer::authorization_request`] validates the request and
//!    stores it server-side, returning a [`PendingAuthorization`] with a
//!    handle for the consent form — or an [`AuthorizationError`].
//! 2. On the consent decision, the host gets the pending request back with
//!    [`AuthorizationServer::pending_authorization`] and calls
//!    [`approve`](AuthorizationServer::approve) or
//!    [`deny`](AuthorizationServer::deny), which return the response to send.
//!
//! Nothing the browser sends back is trusted but the handle: the client,
//! redirect URI, scope, `state` and PKCE challenge all come from the store.
//! A `PendingAuthorization` can only be made by step 1, and approving takes the
//! stored request atomically, so a request is decided once.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::authentication::{
    Approval, InteractionRequired, approved_authentication, openid_request,
};
use super::authorization_server::AuthorizationServer;
use super::pending::{DecisionError, PendingAuthorization};
use super::redirect::{deliver, secure_page_headers};
use crate::client::Client;
use crate::grant::TargetRefusal;
use crate::protocol::{
    AuthorizationDetails, CodeChallenge, ErrorCode, FormError, GrantType, OAuthError, Params,
    PkceError, ResourceSet, Scope,
};
use crate::store::ResponseType;
use crate::store::{
    AccessTokenRecord, AuthorizationCodeRecord, GrantRecord, NewCodeGrant, NewGrant,
    PendingAuthorizationRecord, ResponseMode, StoreError, Subject,
};
use crate::token::{TokenHash, TokenKind, mint};

/// The longest `state` accepted, in bytes.
pub const MAX_STATE_LEN: usize = 1024;

/// Why an authorization request was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The request cannot be trusted to redirect — unknown client, missing or
    /// unregistered redirect URI — so the error is shown to the user and the
    /// browser is never sent anywhere (RFC 6749 §4.1.2.1; RFC 6819 §4.2.4).
    #[error("authorization request rejected: {0}")]
    Rejected(OAuthError),
    /// The error goes back to the client, on its redirect URI, with `state` and
    /// `iss`.
    #[error("authorization request refused: {error}")]
    Redirect {
        /// The error sent.
        error: OAuthError,
        /// The redirect that carries it.
        response: Box<Response<Vec<u8>>>,
    },
    /// The store failed.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl AuthorizationError {
    /// The OAuth error, when there is one.
    pub fn error(&self) -> Option<&OAuthError> {
        match self {
            AuthorizationError::Rejected(e) | AuthorizationError::Redirect { error: e, .. } => {
                Some(e)
            }
            AuthorizationError::Storage(_) => None,
        }
    }

    /// The response to send: the redirect, or a plain `400` (`500` for a
    /// storage failure) page with the secure page headers. Hosts usually render
    /// their own page for [`Rejected`](Self::Rejected) from
    /// [`error`](Self::error).
    pub fn into_http(self) -> Response<Vec<u8>> {
        let (status, text) = match self {
            AuthorizationError::Redirect { response, .. } => return *response,
            AuthorizationError::Rejected(e) => (
                StatusCode::BAD_REQUEST,
                format!(
                    "The authorization request is invalid: {}.",
                    e.description().unwrap_or(e.code().as_str())
                ),
            ),
            AuthorizationError::Storage(e) => {
                e.report("authorization endpoint");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server could not handle the request.".to_owned(),
                )
            }
        };
        let mut response = Response::new(text.into_bytes());
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        secure_page_headers(response.headers_mut());
        response
    }
}

fn invalid(code: ErrorCode, description: &'static str) -> OAuthError {
    OAuthError::new(code).with_description(description)
}

/// Where an authorization request's parameters came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    /// A pushed request (RFC 9126).
    pub(crate) pushed: bool,
    /// A verified request object (RFC 9101), or a pushed request (held to
    /// the requirement when pushed).
    pub(crate) signed: bool,
}

/// Everything checked before a request may redirect: the client and where to.
struct Trusted {
    client: Arc<Client>,
    redirect_uri: Arc<str>,
    redirect_uri_in_request: bool,
}

impl AuthorizationServer {
    /// Validates an authorization request (a GET with a query, or a POST with a
    /// form body, RFC 6749 §3.1): the result awaits the resource owner's
    /// decision, in hand — decide it now with [`approve`](Self::approve) or
    /// [`deny`](Self::deny), or [`defer`](Self::defer) it to a later request.
    /// Nothing is stored yet.
    ///
    /// In order (RFC 6749 §4.1.2.1): the client and the redirect URI must be
    /// known and match — exactly, but for loopback ports (RFC 8252 §7.3) — or
    /// the error is [`Rejected`](AuthorizationError::Rejected) and nothing
    /// redirects. Every later error redirects to the client with `state` and
    /// `iss`: `response_type` (`unsupported_response_type`), whether the client
    /// may use it (`unauthorized_client`), `scope` (`invalid_scope`), PKCE
    /// (`invalid_request`; S256 required), repeated parameters
    /// (`invalid_request`).
    ///
    /// Before all that, the request's parameters may come from elsewhere:
    /// with `client_id` and a `request_uri` the
    /// [pushed authorization request endpoint](Self::pushed_authorization_request_endpoint)
    /// issued, from that pushed request, taken once, for the client that
    /// pushed it, before it expires (RFC 9126 §4; else `invalid_request_uri`);
    /// with `client_id` and a `request`, from the request object, once it is
    /// verified (RFC 9101 §5, §6; else `invalid_request_object`). Neither
    /// refusal redirects. A server or client that requires pushed requests
    /// or signed request objects rejects any other request
    /// (`invalid_request`, RFC 9126 §5, RFC 9101 §10.5).
    pub async fn authorization_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<PendingAuthorization, AuthorizationError> {
        let raw: &[u8] = if request.method() == Method::POST {
            request.body().as_ref()
        } else {
            request.uri().query().unwrap_or("").as_bytes()
        };
        if raw.len() > self.inner.max_body {
            return Err(AuthorizationError::Rejected(invalid(
                ErrorCode::INVALID_REQUEST,
                "the request is too large",
            )));
        }
        let params = Params::parse(raw).map_err(|e| {
            AuthorizationError::Rejected(
                OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(e.to_string()),
            )
        })?;
        // RFC 9126 §4: a pushed request's stored parameters are the request;
        // it was held to require_signed_request_object when it was pushed.
        // RFC 9101 §5: a request object's parameters are the request.
        let (form, origin) = match self.take_pushed_request(&params).await? {
            Some(form) => (
                Some(form),
                Origin {
                    pushed: true,
                    signed: true,
                },
            ),
            None => match self.request_object(&params).await? {
                Some(form) => (
                    Some(form),
                    Origin {
                        pushed: false,
                        signed: true,
                    },
                ),
                None => (
                    None,
                    Origin {
                        pushed: false,
                        signed: false,
                    },
                ),
            },
        };
        match form.as_deref() {
            Some(form) => {
                let stored = Params::parse(form.as_bytes()).map_err(|e| {
                    AuthorizationError::Rejected(
                        OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(e.to_string()),
                    )
                })?;
                self.validate_authorization(&stored, origin).await
            }
            None => self.validate_authorization(&params, origin).await,
        }
    }

    /// Validates the authorization request `params`, as
    /// [`authorization_request`](Self::authorization_request) describes,
    /// holding it to the server's and the client's requirements of pushed
    /// requests (RFC 9126 §5, §6) and signed request objects (RFC 9101
    /// §10.5) by its `origin`.
    pub(crate) async fn validate_authorization(
        &self,
        params: &Params<'_>,
        origin: Origin,
    ) -> Result<PendingAuthorization, AuthorizationError> {
        let trusted = self.trusted_target(params).await?;
        // RFC 9101 §10.5: the server or the client requires request objects.
        if !origin.signed
            && (self.inner.request_objects.required
                || trusted.client.require_signed_request_object())
        {
            return Err(AuthorizationError::Rejected(invalid(
                ErrorCode::INVALID_REQUEST,
                "authorization requests must be signed request objects (RFC 9101)",
            )));
        }
        // RFC 9126 §5, §6: the server or the client requires pushed requests.
        if !origin.pushed
            && (self.inner.pushed.required
                || trusted.client.require_pushed_authorization_requests())
        {
            return Err(AuthorizationError::Rejected(invalid(
                ErrorCode::INVALID_REQUEST,
                "authorization requests must be pushed to the pushed authorization request \
                 endpoint first (RFC 9126)",
            )));
        }
        let now = self.inner.clock.now();

        // From here on the client and redirect URI are known: errors redirect.
        // `state` is read first so that every error can carry it back.
        let state = params.get("state").ok().flatten();
        let state = state.filter(|s| s.len() <= MAX_STATE_LEN);
        // Errors for an implicit request go in the fragment (RFC 6749
        // §4.2.2.1), even those found before `response_type` is checked.
        let early_mode = match params.get("response_type") {
            Ok(Some("token")) => ResponseMode::Fragment,
            _ => ResponseMode::Query,
        };
        let mode = match params.get("response_mode") {
            Ok(Some("query")) => Some(ResponseMode::Query),
            Ok(Some("fragment")) => Some(ResponseMode::Fragment),
            Ok(Some("form_post")) => Some(ResponseMode::FormPost),
            Ok(None) => None,
            Ok(Some(_)) | Err(_) => {
                return Err(self.redirect_error(
                    &trusted,
                    state,
                    early_mode,
                    ErrorCode::INVALID_REQUEST,
                    "unsupported response_mode",
                ));
            }
        };
        let fail = |code: ErrorCode, description: &'static str, default_mode: ResponseMode| {
            self.redirect_error(
                &trusted,
                state,
                mode.unwrap_or(default_mode),
                code,
                description,
            )
        };
        let single = |name: &'static str| {
            params.get(name).map_err(|_: FormError| {
                fail(
                    ErrorCode::INVALID_REQUEST,
                    "a parameter is repeated",
                    early_mode,
                )
            })
        };
        if params.get("state").is_err() {
            return Err(fail(
                ErrorCode::INVALID_REQUEST,
                "a parameter is repeated",
                early_mode,
            ));
        }
        if state.is_none() && params.contains("state") {
            return Err(fail(
                ErrorCode::INVALID_REQUEST,
                "state is too long",
                early_mode,
            ));
        }

        // A missing or unsupported response type is answered in the query: the
        // request is not being processed as an implicit one (the fragment
        // rule of RFC 6749 §4.2.2.1 applies once `token` is accepted).
        let response_type = match single("response_type")? {
            None => {
                return Err(fail(
                    ErrorCode::INVALID_REQUEST,
                    "missing response_type",
                    ResponseMode::Query,
                ));
            }
            Some("code") if self.inner.serves(&GrantType::AUTHORIZATION_CODE) => ResponseType::Code,
            Some("token") if self.inner.options.implicit => ResponseType::Token,
            Some(_) => {
                return Err(fail(
                    ErrorCode::UNSUPPORTED_RESPONSE_TYPE,
                    "the response type is not supported",
                    ResponseMode::Query,
                ));
            }
        };
        let default_mode = match response_type {
            ResponseType::Code => ResponseMode::Query,
            ResponseType::Token => ResponseMode::Fragment,
        };
        // RFC 9700 §2.1.2: a token never goes in a query string.
        if response_type == ResponseType::Token && mode == Some(ResponseMode::Query) {
            return Err(fail(
                ErrorCode::INVALID_REQUEST,
                "tokens are not sent in the query",
                default_mode,
            ));
        }
        let grant = match response_type {
            ResponseType::Code => GrantType::AUTHORIZATION_CODE,
            ResponseType::Token => GrantType::IMPLICIT,
        };
        if !trusted.client.allows_grant(grant.as_str()) {
            return Err(fail(
                ErrorCode::UNAUTHORIZED_CLIENT,
                "the client is not registered for this response type",
                default_mode,
            ));
        }
        // RFC 8705 §6.4: a token from the authorization endpoint cannot be
        // bound to a certificate, so a client whose tokens must be bound
        // never gets one there.
        if response_type == ResponseType::Token
            && trusted.client.tls_client_certificate_bound_access_tokens()
        {
            return Err(fail(
                ErrorCode::UNAUTHORIZED_CLIENT,
                "certificate-bound access tokens are not issued by the implicit grant",
                default_mode,
            ));
        }

        let scope = match single("scope")? {
            Some(raw) => trusted
                .client
                .requested_scope(raw)
                .map_err(|why| fail(ErrorCode::INVALID_SCOPE, why, default_mode))?,
            None => trusted.client.default_scope().clone(),
        };

        // RFC 8707 §2: each `resource` a resource this server knows, and one
        // a requested scope applies to. The implicit grant's tokens are not
        // audience-restricted: resource indicators need the code flow.
        let resources = ResourceSet::from_params(params)
            .map_err(|_| TargetRefusal::Malformed)
            .and_then(|resources| match response_type {
                ResponseType::Token if !resources.is_empty() => Err(TargetRefusal::Unsupported),
                _ => self
                    .inner
                    .audiences
                    .check(&resources, &scope)
                    .map(|()| resources),
            })
            .map_err(|why| fail(ErrorCode::INVALID_TARGET, why.description(), default_mode))?;

        // RFC 9396 §2, §5: each object of a registered type the client is
        // registered for (§10), accepted by the type's validator. The
        // implicit grant's tokens are not refreshed or introspected with
        // them: authorization details need the code flow.
        let authorization_details = match single("authorization_details")? {
            None => AuthorizationDetails::empty(),
            Some(_) if response_type == ResponseType::Token => {
                return Err(fail(
                    ErrorCode::INVALID_AUTHORIZATION_DETAILS,
                    "authorization_details are not supported with response_type=token",
                    default_mode,
                ));
            }
            Some(raw) => self
                .inner
                .detail_types
                .check(raw, &trusted.client)
                .map_err(|why| {
                    fail(
                        ErrorCode::INVALID_AUTHORIZATION_DETAILS,
                        why.description(),
                        default_mode,
                    )
                })?,
        };

        // OpenID Connect Core 1.0 §3.1.2.1: `openid` in the scope makes a
        // code request an authentication request, on a provider.
        let openid = match &self.inner.openid {
            Some(provider) if response_type == ResponseType::Code && scope.contains("openid") => {
                let request =
                    openid_request(provider, params, &trusted.client, &self.inner.issuer, now)
                        .map_err(|error| {
                            self.redirect_oauth_error(
                                &trusted,
                                state,
                                mode.unwrap_or(default_mode),
                                error,
                            )
                        })?;
                Some(Arc::new(request))
            }
            _ => None,
        };

        let challenge = match (response_type, single("code_challenge")?) {
            (ResponseType::Code, Some(value)) => {
                let method = single("code_challenge_method")?;
                Some(
                    CodeChallenge::parse(value, method, self.inner.options.allow_plain_pkce)
                        .map_err(|e| {
                            fail(
                                ErrorCode::INVALID_REQUEST,
                                match e {
                                    PkceError::PlainNotAllowed => {
                                        "code_challenge_method must be S256"
                                    }
                                    PkceError::UnsupportedMethod => {
                                        "unsupported code_challenge_method"
                                    }
                                    _ => "code_challenge is malformed",
                                },
                                default_mode,
                            )
                        })?,
                )
            }
            (ResponseType::Code, None) => {
                let confidential =
                    trusted.client.client_type() == crate::client::ClientType::Confidential;
                if !(confidential && self.inner.options.pkce_optional_for_confidential) {
                    return Err(fail(
                        ErrorCode::INVALID_REQUEST,
                        "code_challenge is required (PKCE, S256)",
                        default_mode,
                    ));
                }
                None
            }
            (ResponseType::Token, _) => None,
        };

        // RFC 9449 §10: `dpop_jkt` binds the code to a DPoP key — a
        // base64url SHA-256 thumbprint, 43 characters.
        let dpop_jkt = match (response_type, single("dpop_jkt")?) {
            (ResponseType::Code, Some(jkt)) if self.inner.dpop.is_some() => {
                if jkt.len() != 43 || !crate::token::is_base64url(jkt.as_bytes()) {
                    return Err(fail(
                        ErrorCode::INVALID_REQUEST,
                        "dpop_jkt is not a JWK SHA-256 thumbprint",
                        default_mode,
                    ));
                }
                Some(Arc::from(jkt))
            }
            _ => None,
        };

        let record = PendingAuthorizationRecord {
            // Set by `defer`, which mints the handle.
            hash: TokenHash::from_bytes([0; 32]),
            client_id: trusted.client.id().clone(),
            response_type,
            redirect_uri: trusted.redirect_uri,
            redirect_uri_in_request: trusted.redirect_uri_in_request,
            scope,
            resources,
            authorization_details,
            openid,
            state: state.map(str::to_owned),
            response_mode: mode.unwrap_or(default_mode),
            challenge,
            created_at: now,
            expires_at: now + self.inner.lifetimes.authorization_request,
            dpop_jkt,
        };
        Ok(PendingAuthorization {
            handle: None,
            record,
            client: trusted.client,
        })
    }

    /// Keeps `pending` in the store until it expires, for a decision that
    /// comes on a later request, and returns its handle: put it in the consent
    /// form, and pass it to [`pending_authorization`](Self::pending_authorization)
    /// when the form comes back. A request already deferred keeps its handle.
    ///
    /// From then on the stored request is the one that counts: deciding
    /// `pending` itself also takes it from the store, so the decision still
    /// applies once.
    pub async fn defer<'p>(
        &self,
        pending: &'p mut PendingAuthorization,
    ) -> Result<&'p str, StoreError> {
        Ok(match pending.handle {
            Some(ref handle) => handle,
            None => {
                let (handle, hash) = mint(TokenKind::AuthorizationRequest);
                pending.record.hash = hash;
                self.inner
                    .stores
                    .codes()?
                    .save_pending(pending.record.clone())
                    .await?;
                pending.handle.insert(handle)
            }
        })
    }

    /// The registered client `params`' `client_id` names, or a rejection
    /// that must not redirect (`missing` when there is no `client_id`).
    pub(crate) async fn requesting_client(
        &self,
        params: &Params<'_>,
        missing: &'static str,
    ) -> Result<Arc<Client>, AuthorizationError> {
        let reject =
            |d: &'static str| AuthorizationError::Rejected(invalid(ErrorCode::INVALID_REQUEST, d));
        let client_id = params
            .get("client_id")
            .map_err(|_| reject("client_id is repeated"))?
            .ok_or_else(|| reject(missing))?;
        self.inner
            .clients
            .find_client(client_id)
            .await?
            .ok_or_else(|| reject("unknown client"))
    }

    /// The client and redirect URI, or a rejection that must not redirect.
    async fn trusted_target(&self, params: &Params<'_>) -> Result<Trusted, AuthorizationError> {
        let reject =
            |d: &'static str| AuthorizationError::Rejected(invalid(ErrorCode::INVALID_REQUEST, d));
        let client = self.requesting_client(params, "missing client_id").await?;
        let requested = params
            .get("redirect_uri")
            .map_err(|_| reject("redirect_uri is repeated"))?;
        let redirect_uri = client
            .resolve_redirect_uri_shared(requested)
            .ok_or_else(|| match requested {
                Some(_) => reject("redirect_uri does not match a registered redirect URI"),
                None => reject("redirect_uri is required: the client registered several"),
            })?;
        Ok(Trusted {
            client,
            redirect_uri,
            redirect_uri_in_request: requested.is_some(),
        })
    }

    fn redirect_error(
        &self,
        trusted: &Trusted,
        state: Option<&str>,
        mode: ResponseMode,
        code: ErrorCode,
        description: &'static str,
    ) -> AuthorizationError {
        self.redirect_oauth_error(trusted, state, mode, invalid(code, description))
    }

    fn redirect_oauth_error(
        &self,
        trusted: &Trusted,
        state: Option<&str>,
        mode: ResponseMode,
        error: OAuthError,
    ) -> AuthorizationError {
        AuthorizationError::Redirect {
            response: Box::new(self.error_redirect(&trusted.redirect_uri, state, mode, &error)),
            error,
        }
    }

    /// The redirect carrying `error` with `state` and `iss` (RFC 6749
    /// §4.1.2.1, RFC 9207).
    fn error_redirect(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        mode: ResponseMode,
        error: &OAuthError,
    ) -> Response<Vec<u8>> {
        let mut params = vec![("error", error.code().as_str())];
        params.extend(error.description().map(|d| ("error_description", d)));
        params.extend(state.map(|s| ("state", s)));
        params.push(("iss", self.inner.issuer.as_str()));
        deliver(redirect_uri, mode, &params)
    }

    /// The pending request with this handle, if it is still waiting — for the
    /// request that carries the resource owner's decision. Does not consume it.
    pub async fn pending_authorization(
        &self,
        id: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        if !TokenKind::AuthorizationRequest.matches(id) {
            return Ok(None);
        }
        let Some(record) = self
            .inner
            .stores
            .codes()?
            .find_pending(&TokenHash::of(id))
            .await?
        else {
            return Ok(None);
        };
        if record.expires_at <= self.inner.clock.now() {
            return Ok(None);
        }
        let Some(client) = self
            .inner
            .clients
            .find_client(record.client_id.as_str())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(PendingAuthorization {
            handle: Some(id.to_owned()),
            record,
            client,
        }))
    }

    /// The resource owner approved: issues the authorization code (or, for the
    /// implicit grant, the access token) bound to the client, the redirect URI,
    /// the PKCE challenge, `subject` and the granted scope, and returns the
    /// response that delivers it with `state` and `iss` (RFC 6749 §4.1.2,
    /// RFC 9207).
    ///
    /// `scope` narrows what was asked (RFC 6749 §3.3); `None` grants the
    /// requested scope. The pending request is consumed: a deferred one is
    /// taken from the store, and a second decision on it fails with
    /// [`DecisionError::NotPending`]; so does a decision after it expired.
    pub async fn approve(
        &self,
        pending: PendingAuthorization,
        subject: &str,
        scope: Option<Scope>,
    ) -> Result<Response<Vec<u8>>, DecisionError> {
        let mut approval = Approval::new(subject);
        approval.scope = scope;
        self.approve_with(pending, approval).await
    }

    /// The resource owner approved, as `approval` reports: like
    /// [`approve`](Self::approve), with what an OpenID Connect request also
    /// needs to know — when and how the End-User authenticated, and their
    /// session — for the ID token (OpenID Connect Core 1.0 §2).
    ///
    /// For an OpenID Connect request the approval is checked first, and a
    /// failed check leaves the request pending: an authentication time is
    /// needed for `max_age`, `prompt=login`, a client's
    /// `require_auth_time` and an essential `auth_time`
    /// ([`DecisionError::AuthenticationTimeRequired`]); it must satisfy
    /// `max_age` and `prompt=login` ([`DecisionError::LoginRequired`]); and
    /// the End-User must be the one a valid `id_token_hint` names
    /// ([`DecisionError::SubjectMismatch`]).
    pub async fn approve_with(
        &self,
        pending: PendingAuthorization,
        approval: Approval,
    ) -> Result<Response<Vec<u8>>, DecisionError> {
        let scope = approval
            .scope
            .clone()
            .unwrap_or_else(|| pending.record.scope.clone());
        if !scope.is_subset(&pending.record.scope) {
            return Err(DecisionError::ScopeNotRequested);
        }
        let openid = match (&self.inner.openid, &pending.record.openid) {
            (Some(provider), Some(request)) => Some(Arc::new(approved_authentication(
                provider,
                &pending.client,
                request,
                pending.record.created_at,
                &approval,
            )?)),
            _ => None,
        };
        let record = self.take(pending).await?;
        let now = self.inner.clock.now();
        let lifetimes = &self.inner.lifetimes;
        let subject = Subject::new(&approval.subject);
        let state = record.state.as_deref();
        let iss = self.inner.issuer.as_str();
        match record.response_type {
            ResponseType::Code => {
                let (code, hash) = mint(TokenKind::AuthorizationCode);
                let grant = GrantRecord {
                    id: self.inner.stores.grants.grant_id_for(&hash),
                    client_id: record.client_id.clone(),
                    subject: Some(subject),
                    scope,
                    resources: record.resources.clone(),
                    authorization_details: record.authorization_details.clone(),
                    openid,
                    created_at: now,
                    expires_at: now + lifetimes.grant,
                };
                let code_record = AuthorizationCodeRecord {
                    hash,
                    grant_id: grant.id,
                    redirect_uri: Arc::clone(&record.redirect_uri),
                    redirect_uri_in_request: record.redirect_uri_in_request,
                    challenge: record.challenge.clone(),
                    issued_at: now,
                    expires_at: now + lifetimes.authorization_code,
                    dpop_jkt: record.dpop_jkt.clone(),
                };
                self.inner
                    .stores
                    .codes()?
                    .create_code_grant(NewCodeGrant::new(grant, code_record))
                    .await?;
                let mut params = vec![("code", code.as_str())];
                params.extend(state.map(|s| ("state", s)));
                params.push(("iss", iss));
                Ok(deliver(&record.redirect_uri, record.response_mode, &params))
            }
            ResponseType::Token => {
                // RFC 6749 §4.2.2: an access token only, never a refresh token.
                let (token, hash) = mint(TokenKind::AccessToken);
                let expires_at = now + lifetimes.access_token;
                let grant = GrantRecord {
                    id: self.inner.stores.grants.grant_id_for(&hash),
                    client_id: record.client_id.clone(),
                    subject: Some(subject),
                    scope: scope.clone(),
                    resources: ResourceSet::empty(),
                    authorization_details: AuthorizationDetails::empty(),
                    openid: None,
                    created_at: now,
                    expires_at,
                };
                let access = AccessTokenRecord {
                    hash,
                    grant_id: grant.id,
                    scope: scope.clone(),
                    audience: ResourceSet::empty(),
                    issued_at: now,
                    expires_at,
                    exchange: None,
                    cnf: None,
                    authorization_details: AuthorizationDetails::empty(),
                };
                self.inner
                    .stores
                    .grants
                    .create_grant(NewGrant::with_access_token(grant, access))
                    .await?;
                let expires_in = lifetimes.access_token.as_secs().to_string();
                let mut params = vec![
                    ("access_token", token.as_str()),
                    ("token_type", "Bearer"),
                    ("expires_in", expires_in.as_str()),
                ];
                if scope != record.scope {
                    params.push(("scope", scope.as_str()));
                }
                params.extend(state.map(|s| ("state", s)));
                params.push(("iss", iss));
                Ok(deliver(&record.redirect_uri, record.response_mode, &params))
            }
        }
    }

    /// The resource owner refused: returns the `access_denied` response to the
    /// client (RFC 6749 §4.1.2.1), with `state` and `iss`, and consumes the
    /// pending request.
    pub async fn deny(
        &self,
        pending: PendingAuthorization,
    ) -> Result<Response<Vec<u8>>, DecisionError> {
        let error = invalid(
            ErrorCode::ACCESS_DENIED,
            "the resource owner denied the request",
        );
        self.refuse(pending, &error).await
    }

    /// The request cannot go on without a page the client asked not to be
    /// shown (`prompt=none`, OpenID Connect Core 1.0 §3.1.2.6): returns the
    /// redirect with `login_required`, `consent_required`,
    /// `account_selection_required` or `interaction_required`, with `state`
    /// and `iss`, and consumes the pending request.
    pub async fn interaction_required(
        &self,
        pending: PendingAuthorization,
        why: InteractionRequired,
    ) -> Result<Response<Vec<u8>>, DecisionError> {
        let error = OAuthError::new(why.code()).with_description(why.description());
        self.refuse(pending, &error).await
    }

    /// The `interaction_required` redirect for `pending`, made without
    /// deciding it: what to send when a `prompt=none` request would
    /// otherwise get a page. A request still in hand is simply dropped; a
    /// deferred one stays stored until it expires.
    pub fn interaction_required_response(
        &self,
        pending: &PendingAuthorization,
    ) -> Response<Vec<u8>> {
        let why = InteractionRequired::Interaction;
        let error = OAuthError::new(why.code()).with_description(why.description());
        let record = &pending.record;
        self.error_redirect(
            &record.redirect_uri,
            record.state.as_deref(),
            record.response_mode,
            &error,
        )
    }

    async fn refuse(
        &self,
        pending: PendingAuthorization,
        error: &OAuthError,
    ) -> Result<Response<Vec<u8>>, DecisionError> {
        let record = self.take(pending).await?;
        Ok(self.error_redirect(
            &record.redirect_uri,
            record.state.as_deref(),
            record.response_mode,
            error,
        ))
    }

    /// The request to decide: `pending`'s own, unless it was deferred, when
    /// the stored one is taken, atomically, so the decision applies once.
    async fn take(
        &self,
        pending: PendingAuthorization,
    ) -> Result<PendingAuthorizationRecord, DecisionError> {
        let record = match pending.handle {
            None => pending.record,
            Some(_) => self
                .inner
                .stores
                .codes()?
                .take_pending(&pending.record.hash)
                .await?
                .ok_or(DecisionError::NotPending)?,
        };
        if record.expires_at <= self.inner.clock.now() {
            return Err(DecisionError::NotPending);
        }
        Ok(record)
    }
}
