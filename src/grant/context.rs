//! What a grant handler is given, and how it issues tokens.

use std::future::Future;
use std::time::SystemTime;

use crate::client::AuthenticatedClient;
use crate::endpoint::TokenError;
use crate::protocol::{Params, Scope, TokenResponse};
use crate::server::ServerInner;
use crate::store::{AccessTokenRecord, GrantId, GrantRecord, NewGrant, Subject};
use crate::token::{AccessToken, TokenKind, mint};

/// One token request, as a grant handler sees it.
#[derive(Debug)]
pub struct GrantContext<'a> {
    pub(crate) server: &'a ServerInner,
    pub(crate) client: &'a AuthenticatedClient,
    pub(crate) params: &'a Params<'a>,
    pub(crate) requested_scope: Option<&'a Scope>,
    pub(crate) now: SystemTime,
}

impl<'a> GrantContext<'a> {
    /// The authenticated client.
    pub fn client(&self) -> &'a AuthenticatedClient {
        self.client
    }

    /// A single-valued request parameter; a repeated one is `invalid_request`
    /// (RFC 6749 §3.2).
    pub fn param(&self, name: &str) -> Result<Option<&'a str>, TokenError> {
        self.params.get(name).map_err(TokenError::MalformedRequest)
    }

    /// A required single-valued parameter; missing is `invalid_request`.
    pub fn required_param(&self, name: &'static str) -> Result<&'a str, TokenError> {
        self.param(name)?.ok_or(TokenError::MissingParameter(name))
    }

    /// All request parameters, for extension grants with multi-valued ones.
    pub fn params(&self) -> &'a Params<'a> {
        self.params
    }

    /// The scope the request asked for, already checked to be within the
    /// client's allowed scope; `None` when the request omitted `scope`.
    pub fn requested_scope(&self) -> Option<&'a Scope> {
        self.requested_scope
    }

    /// The requested scope, or the client's default scope when the request
    /// omitted it (RFC 6749 §3.3).
    pub fn scope_or_default(&self) -> Scope {
        self.requested_scope
            .unwrap_or_else(|| self.client.client().default_scope())
            .clone()
    }

    /// The time of this request, from the server's clock.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// Issues an access token under a new grant and builds the response.
    ///
    /// The token is minted here, stored only as its hash together with its grant
    /// (one atomic store operation), and its plaintext exists only in the
    /// returned response. `scope` is included in the response when it differs
    /// from the requested scope (RFC 6749 §5.1).
    ///
    /// All the work but the store call happens before the future is returned,
    /// so the future is small and holds nothing borrowed from `self`.
    pub fn issue(
        &self,
        issue: Issue,
    ) -> impl Future<Output = Result<TokenResponse, TokenError>> + Send + use<'a> {
        let lifetime = self.server.lifetimes.access_token;
        let expires_at = self.now + lifetime;
        let (token, hash) = mint(TokenKind::AccessToken);
        let grant = GrantRecord {
            id: GrantId::generate_for(&hash),
            client_id: self.client.id().clone(),
            subject: issue.subject,
            scope: issue.scope.clone(),
            created_at: self.now,
            expires_at,
        };
        let access_token = AccessTokenRecord {
            hash,
            grant_id: grant.id,
            scope: issue.scope.clone(),
            issued_at: self.now,
            expires_at,
        };
        let stored = self
            .server
            .tokens
            .create_grant(NewGrant::new(grant, access_token));

        let mut response = TokenResponse::bearer(AccessToken::new(token)).with_expires_in(lifetime);
        let differs = match self.requested_scope {
            Some(requested) => *requested != issue.scope,
            None => !issue.scope.is_empty(),
        };
        if differs {
            response = response.with_scope(issue.scope);
        }
        async move {
            stored.await?;
            Ok(response)
        }
    }
}

/// What to issue.
#[derive(Debug, Clone)]
#[must_use]
pub struct Issue {
    subject: Option<Subject>,
    scope: Scope,
}

impl Issue {
    /// Tokens for the client acting on its own behalf (RFC 6749 §4.4).
    pub fn for_client(scope: Scope) -> Self {
        Self {
            subject: None,
            scope,
        }
    }

    /// Tokens for a resource owner's authorization of the client.
    pub fn for_subject(subject: Subject, scope: Scope) -> Self {
        Self {
            subject: Some(subject),
            scope,
        }
    }
}
