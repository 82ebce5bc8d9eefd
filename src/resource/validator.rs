//! The bearer token validator a resource server calls on each request.

use super::bearer::{Accepted, extract};
use super::dpop::DpopResource;
use super::{
    BearerError, BearerErrorKind, BearerRequest, BearerToken, Realm, ResourceMetadataUrl,
    TokenInfo, TokenLocation, TokenSource,
};
use crate::protocol::Scope;
use crate::token::Confirmation;

/// Validates the bearer token of a protected resource request (RFC 6750):
/// finds it (§2), asks the [`TokenSource`] what it grants, and checks the
/// scope the resource requires.
///
/// Cheap to clone when the source is, and free of per-request state. Accepts
/// `Authorization: Bearer` only, unless told otherwise:
/// [`accept_form_body`](Self::accept_form_body) and
/// [`dangerous_accept_uri_query`](Self::dangerous_accept_uri_query).
///
/// For RFC 9728 discovery (what MCP clients start with),
/// [`resource_metadata`](Self::resource_metadata) names the resource's
/// metadata document in every challenge, with the required scope.
#[derive(Debug, Clone)]
pub struct BearerValidator<S> {
    source: S,
    realm: Realm,
    accepted: Accepted,
    resource_metadata: Option<ResourceMetadataUrl>,
    audience: Option<String>,
    dpop: Option<DpopResource>,
}

impl<S: TokenSource> BearerValidator<S> {
    /// A validator asking `source`, naming `realm` in its challenges.
    pub fn new(source: S, realm: Realm) -> Self {
        Self {
            source,
            realm,
            accepted: Accepted::default(),
            resource_metadata: None,
            audience: None,
            dpop: None,
        }
    }

    /// Accepts DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP
    /// <token>` with a `DPoP` proof for the request's method and URL whose
    /// `ath` is the token's hash and whose key is the one the token is
    /// bound to. Whether or not this is set, a bound token presented as a
    /// bearer token is refused (`401 invalid_token`, §7.2); with it,
    /// challenges add `WWW-Authenticate: DPoP algs="…"`, a bad proof is
    /// `401 invalid_dpop_proof`, and a missing nonce `401 use_dpop_nonce`
    /// with `DPoP-Nonce` (§9).
    pub fn dpop(mut self, dpop: DpopResource) -> Self {
        self.accepted.dpop = true;
        self.dpop = Some(dpop);
        self
    }

    /// The DPoP settings, if DPoP is accepted.
    pub fn dpop_settings(&self) -> Option<&DpopResource> {
        self.dpop.as_ref()
    }

    /// The resource's identifier (RFC 8707): a token restricted to other
    /// resources is refused as `401 invalid_token` (RFC 9700 §4.9.1, RFC
    /// 9068 §4), so a token obtained for one resource cannot be replayed at
    /// another. A token without an audience restriction is still accepted;
    /// the authorization server issues those only when no `resource` was
    /// asked for.
    pub fn audience(mut self, resource: impl Into<String>) -> Self {
        self.audience = Some(resource.into());
        self
    }

    /// Names the protected resource's metadata document (RFC 9728 §5.1) in
    /// every challenge this validator's errors carry, as
    /// `resource_metadata="…"`, and the scope [`validate`](Self::validate)
    /// was asked to require as `scope="…"` (when not empty, in the challenges
    /// that do not already name one). So a client that calls the resource
    /// without a token learns from the `401` where to find the authorization
    /// server and what scope to ask for — the discovery MCP clients do:
    ///
    /// ```text
    /// WWW-Authenticate: Bearer realm="api", scope="read",
    ///   resource_metadata="https://api.example/.well-known/oauth-protected-resource/me"
    /// ```
    ///
    /// `url` is usually the document's own:
    /// [`ProtectedResourceMetadata::resource_metadata_url`](super::ProtectedResourceMetadata::resource_metadata_url).
    /// Without this, challenges are exactly RFC 6750's (see
    /// [`BearerError`]).
    pub fn resource_metadata(mut self, url: ResourceMetadataUrl) -> Self {
        self.resource_metadata = Some(url);
        self
    }

    /// The metadata URL named in challenges, if any (RFC 9728 §5.1).
    pub fn resource_metadata_url(&self) -> Option<&ResourceMetadataUrl> {
        self.resource_metadata.as_ref()
    }

    /// Where this validator accepts a token, the header first: what a
    /// resource's metadata lists as `bearer_methods_supported` (RFC 9728
    /// §2), through
    /// [`ProtectedResourceMetadataBuilder::bearer_methods`](super::ProtectedResourceMetadataBuilder::bearer_methods).
    ///
    /// Behind `portcullis::tower::BearerLayer` (feature `tower`), which
    /// reads only the request head, the form body is not read even when
    /// accepted here.
    pub fn accepted_methods(&self) -> Vec<TokenLocation> {
        let mut methods = vec![TokenLocation::AuthorizationHeader];
        if self.accepted.form_body {
            methods.push(TokenLocation::FormBody);
        }
        if self.accepted.uri_query {
            methods.push(TokenLocation::UriQuery);
        }
        methods
    }

    /// Also accepts the token as `access_token` in an
    /// `application/x-www-form-urlencoded` body (RFC 6750 §2.2), when the
    /// request's method has body semantics (POST, PUT, PATCH; never GET) and
    /// the body is ASCII. The host must then pass the body
    /// ([`BearerRequest::with_body`], or an `http::Request` with its body).
    ///
    /// RFC 6750 says clients SHOULD NOT use this except where a browser cannot
    /// set the `Authorization` header.
    pub fn accept_form_body(mut self) -> Self {
        self.accepted.form_body = true;
        self
    }

    /// Also accepts the token as `access_token` in the URI query (RFC 6750
    /// §2.3).
    ///
    /// Dangerous: a token in a URI ends up in access logs, proxy logs,
    /// browser history and `Referer` headers, where anyone who reads them can
    /// use it until it expires (RFC 6750 §5.3, RFC 6819 §4.6.7). RFC 9700
    /// §4.3.2 says clients MUST NOT send it so. Enable only for a client that
    /// cannot send a header or a body, and keep such URIs out of logs. When
    /// this is off, a token in the query is refused as an unsupported method
    /// and reported as a security event.
    pub fn dangerous_accept_uri_query(mut self) -> Self {
        self.accepted.uri_query = true;
        self
    }

    /// The realm named in challenges.
    pub fn realm(&self) -> &Realm {
        &self.realm
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// An error naming this validator's realm (and its resource metadata
    /// URL, if it has one), for a host that refuses a request on its own
    /// grounds (a finer-grained scope check, say).
    pub fn error(&self, kind: BearerErrorKind) -> BearerError {
        let error = BearerError::new(kind, self.realm.clone());
        let error = match &self.dpop {
            Some(dpop) => error.with_dpop(dpop.signing_algorithms()),
            None => error,
        };
        match &self.resource_metadata {
            Some(url) => error.with_resource_metadata(url.clone()),
            None => error,
        }
    }

    /// [`error`](Self::error), naming `required` too when this validator
    /// names its metadata (RFC 9728 discovery).
    fn refusal(&self, error: BearerError, required: &Scope) -> BearerError {
        match &self.resource_metadata {
            Some(_) => error.with_required_scope(required.clone()),
            None => error,
        }
    }

    /// Finds the request's bearer token (RFC 6750 §2) without looking it up.
    ///
    /// Exactly one method, among those accepted: the `Authorization` header
    /// (scheme case-insensitive, `b64token` syntax), and the form body or URI
    /// query if enabled. Two methods, two `Authorization` headers, a repeated
    /// `access_token` or malformed credentials are `invalid_request`; none, or
    /// a token only where it is not accepted, is a bare challenge.
    pub fn extract<'r>(
        &self,
        request: impl Into<BearerRequest<'r>>,
    ) -> Result<BearerToken<'r>, BearerError> {
        extract(&request.into(), self.accepted).map_err(|kind| {
            if let BearerErrorKind::MethodNotAccepted(TokenLocation::UriQuery) = kind {
                // The token is now in whatever logs the URI went through.
                tracing::warn!(
                    target: "portcullis::security",
                    event = "bearer_token_in_uri_refused",
                );
            }
            self.error(kind)
        })
    }

    /// Validates the request's bearer token and checks that it grants every
    /// token of `required` (an empty scope requires nothing); returns what
    /// the token grants.
    ///
    /// Fails with the [`BearerError`] to send back (see its table): no token
    /// (`401`, no error code), a malformed request (`400 invalid_request`), a
    /// token that is unknown, expired, revoked or not an access token (`401
    /// invalid_token`), too little scope (`403 insufficient_scope`), or a
    /// failed source (`500`). With a
    /// [`resource_metadata`](Self::resource_metadata) URL, every challenge
    /// names it and `required`.
    pub async fn validate<'r>(
        &self,
        request: impl Into<BearerRequest<'r>>,
        required: &Scope,
    ) -> Result<TokenInfo, BearerError> {
        self.check(request, required)
            .await
            .map_err(|error| self.refusal(error, required))
    }

    async fn check<'r>(
        &self,
        request: impl Into<BearerRequest<'r>>,
        required: &Scope,
    ) -> Result<TokenInfo, BearerError> {
        let request: BearerRequest<'r> = request.into();
        let token = self.extract(request)?;
        // RFC 9449 §7.1: a DPoP token comes with a proof of its key.
        let proven = match &self.dpop {
            Some(dpop) if token.is_dpop() => Some(
                dpop.prove(&request, token.expose_secret())
                    .await
                    .map_err(|kind| self.error(kind))?,
            ),
            _ => None,
        };
        let info = self
            .source
            .token_info(token.expose_secret())
            .await
            .map_err(|e| self.error(BearerErrorKind::Unavailable(e)))?;
        let Some(info) = info else {
            tracing::info!(
                target: "portcullis::security",
                event = "bearer_token_invalid",
                location = ?token.location(),
            );
            return Err(self.error(BearerErrorKind::InvalidToken));
        };
        // A bound token only with its key, a bearer token only as one (RFC
        // 9449 §7.2); a certificate-bound one only over a connection with
        // its certificate (RFC 8705 §3).
        if !Confirmation::binding_holds_with(
            info.cnf.as_ref(),
            proven.as_ref(),
            request.certificate(),
        ) {
            tracing::info!(
                target: "portcullis::security",
                event = "dpop_binding_refused",
                client_id = ?info.client_id,
            );
            return Err(self.error(BearerErrorKind::InvalidToken));
        }
        if let Some(resource) = &self.audience {
            if !info.is_for(resource) {
                tracing::info!(
                    target: "portcullis::security",
                    event = "bearer_token_for_another_resource",
                    client_id = ?info.client_id,
                );
                return Err(self.error(BearerErrorKind::InvalidToken));
            }
        }
        // Equal scopes (the common case: a resource asking for what its
        // clients are given) need no walk through the tokens.
        if *required != info.scope && !required.is_subset(&info.scope) {
            tracing::info!(
                target: "portcullis::security",
                event = "bearer_scope_insufficient",
                client_id = ?info.client_id,
                required = %required,
            );
            return Err(self.error(BearerErrorKind::InsufficientScope {
                required: required.clone(),
            }));
        }
        Ok(info)
    }
}

/// Compile-time guarantee: validation futures can be spawned on a
/// multi-threaded runtime.
#[allow(dead_code)]
fn _assert_send(validator: BearerValidator<crate::AuthorizationServer>) {
    fn send<T: Send>(_: T) {}
    send(async move {
        let request = http::Request::new(Vec::<u8>::new());
        validator.validate(&request, &Scope::empty()).await
    });
}
