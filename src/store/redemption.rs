//! Redeeming an authorization code and rotating a refresh token, handed to
//! the store whole: what the request presented, what it must satisfy, and
//! the tokens it issues. The store finds the code or token with its grant,
//! checks, consumes and issues in one atomic operation — for a database, one
//! statement or one transaction, so a token request costs the client lookup
//! and this: two round trips.
//!
//! The checks live here, once: a store that reads before it writes (the
//! memory store, or any store with transactions) calls
//! [`CodeRedemption::decide`] or [`RefreshRotation::decide`] on what it found
//! and does what the answer says; a store that does it all in one SQL
//! statement states the same conditions in SQL, and the conformance suite
//! (`portcullis::testing`) holds it to the same answers.

use std::time::SystemTime;

use super::{
    AccessTokenRecord, FoundCode, FoundRefreshToken, GrantId, GrantRecord, RefreshTokenRecord,
};
use crate::client::ClientId;
use crate::protocol::{AuthorizationDetails, CodeVerifier, ResourceSet, Scope};
use crate::token::{Confirmation, TokenHash};

/// A token that a redemption or rotation issues, planned before the store has
/// read its grant: the store files it under the grant it finds and caps
/// `expires_at` at the grant's (a token never outlives its grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedToken {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// When it expires, before the cap: issue time plus its lifetime.
    pub expires_at: SystemTime,
    /// An access token's audience (RFC 8707); empty for none.
    pub audience: ResourceSet,
    /// The key the token is bound to (RFC 9449 §6), if any.
    pub cnf: Option<Confirmation>,
    /// An access token's authorization details (RFC 9396 §6.2): the subset
    /// of its grant's that the token request named, or `None` for all of
    /// the grant's.
    pub authorization_details: Option<AuthorizationDetails>,
}

impl PlannedToken {
    /// A token with hash `hash` expiring at `expires_at` (before the cap),
    /// without an audience.
    pub fn new(hash: TokenHash, expires_at: SystemTime) -> Self {
        Self {
            hash,
            expires_at,
            audience: ResourceSet::empty(),
            cnf: None,
            authorization_details: None,
        }
    }

    /// The same, carrying `details` (RFC 9396 §6.2) if given, else its
    /// grant's.
    #[must_use]
    pub fn with_authorization_details(mut self, details: Option<AuthorizationDetails>) -> Self {
        self.authorization_details = details;
        self
    }

    /// The authorization details the token carries under `grant` (RFC 9396
    /// §6.2): its own subset, or the grant's.
    pub fn authorization_details_under<'a>(
        &'a self,
        grant: &'a GrantRecord,
    ) -> &'a AuthorizationDetails {
        self.authorization_details
            .as_ref()
            .unwrap_or(&grant.authorization_details)
    }

    /// The same, bound to `cnf` if given (RFC 7800 §3.1, RFC 9449 §6).
    #[must_use]
    pub fn with_confirmation(mut self, cnf: Option<Confirmation>) -> Self {
        self.cnf = cnf;
        self
    }

    /// The same, for the resources of `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: ResourceSet) -> Self {
        self.audience = audience;
        self
    }

    /// When the token expires under `grant`.
    pub fn expires_under(&self, grant: &GrantRecord) -> SystemTime {
        self.expires_at.min(grant.expires_at)
    }

    /// The record of this token as an access token of `grant` with `scope`,
    /// issued at `now`.
    pub fn access_record(
        &self,
        grant: &GrantRecord,
        scope: Scope,
        now: SystemTime,
    ) -> AccessTokenRecord {
        AccessTokenRecord {
            hash: self.hash,
            grant_id: grant.id,
            scope,
            audience: self.audience.clone(),
            issued_at: now,
            expires_at: self.expires_under(grant),
            exchange: None,
            cnf: self.cnf.clone(),
            authorization_details: self.authorization_details_under(grant).clone(),
        }
    }

    /// The record of this token as a refresh token of `grant` with `scope`,
    /// issued at `now`.
    pub fn refresh_record(
        &self,
        grant: &GrantRecord,
        scope: Scope,
        now: SystemTime,
    ) -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash: self.hash,
            grant_id: grant.id,
            scope,
            issued_at: now,
            expires_at: self.expires_under(grant),
            cnf: self.cnf.clone(),
        }
    }
}

/// What a store does with the code or refresh token it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Every check passes: consume it and store the new tokens.
    Issue,
    /// A replay — a redeemed code, or a rotated-out refresh token, presented
    /// by its own client with everything else a redemption needs: revoke the
    /// grant, and everything derived from it (RFC 6819 §5.2.1.1, RFC 9700
    /// §4.14.2).
    RevokeGrant,
    /// A check fails: change nothing.
    Refuse,
}

/// Why a redemption or rotation was refused, for the error the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Another client's, which the client must not learn: the answer for an
    /// unknown code or token.
    OtherClient,
    /// `redirect_uri` differs from the authorization request's.
    RedirectUriMismatch,
    /// `redirect_uri` missing, though the authorization request had one.
    RedirectUriMissing,
    /// A challenge was made and no verifier came.
    VerifierMissing,
    /// The verifier does not answer the challenge.
    VerifierMismatch,
    /// A verifier came for a code issued without a challenge: a downgrade
    /// (RFC 9700 §4.8.2).
    VerifierUnexpected,
    /// Already redeemed or rotated out: a replay.
    Replayed,
    /// Expired, or its grant did.
    Expired,
    /// A refresh asked for more scope than the token carries (RFC 6749 §6).
    ScopeWidened,
    /// The refresh token is bound to a DPoP key the request did not prove
    /// (RFC 9449 §5).
    WrongKey,
}

impl Refusal {
    fn decision(result: Result<(), Refusal>) -> Decision {
        match result {
            Ok(()) => Decision::Issue,
            Err(Refusal::Replayed) => Decision::RevokeGrant,
            Err(_) => Decision::Refuse,
        }
    }
}

/// A token request redeeming an authorization code (RFC 6749 §4.1.3, RFC
/// 7636 §4.6), as [`AuthorizationCodeStore::redeem_code`](super::AuthorizationCodeStore::redeem_code)
/// receives it.
///
/// The code redeems when, in this order:
///
/// 1. its grant was made to `client_id` (otherwise refused);
/// 2. `redirect_uri` matches: if given, it equals the code's redirect URI;
///    if omitted, the authorization request omitted it too;
/// 3. PKCE matches: if the code has a challenge, `code_verifier` is given and
///    answers it (`S256`: BASE64URL(SHA-256(verifier)) equals the challenge;
///    `plain`: the verifier equals it); if not, no verifier is given (RFC 9700
///    §4.8.2);
/// 4. it has not been redeemed — if it has, and 1–3 hold, the request is a
///    replay and the grant is revoked;
/// 5. it and its grant expire after `now`.
#[derive(Debug)]
#[non_exhaustive]
pub struct CodeRedemption {
    /// The authenticated client.
    pub client_id: ClientId,
    /// The `redirect_uri` parameter, if sent.
    pub redirect_uri: Option<String>,
    /// The `code_verifier` parameter, if sent, already checked for syntax.
    pub code_verifier: Option<CodeVerifier>,
    /// The time of the request: the redemption time and the new tokens'
    /// issue time.
    pub now: SystemTime,
    /// The access token to issue, with the grant's scope.
    pub access_token: PlannedToken,
    /// The refresh token to issue, with the grant's scope, if any.
    pub refresh_token: Option<PlannedToken>,
    /// The access token's scope when narrower than the grant's: the scopes
    /// that apply to its audience (RFC 8707). `None`: the grant's.
    pub access_scope: Option<Scope>,
    /// The DPoP key the request proved (RFC 9449 §5), which a code bound by
    /// `dpop_jkt` must be redeemed with (§10).
    pub proven_key: Option<Confirmation>,
}

impl CodeRedemption {
    /// A redemption by `client_id` at `now`, issuing `access_token` and,
    /// if given, `refresh_token`.
    pub fn new(
        client_id: ClientId,
        now: SystemTime,
        access_token: PlannedToken,
        refresh_token: Option<PlannedToken>,
    ) -> Self {
        Self {
            client_id,
            redirect_uri: None,
            code_verifier: None,
            now,
            access_token,
            refresh_token,
            access_scope: None,
            proven_key: None,
        }
    }

    /// With the DPoP key the request proved.
    pub fn with_proven_key(mut self, key: Option<Confirmation>) -> Self {
        self.proven_key = key;
        self
    }

    /// With the access token's scope narrowed to `scope`, within the
    /// grant's.
    pub fn access_scope(mut self, scope: Option<Scope>) -> Self {
        self.access_scope = scope;
        self
    }

    /// With the `redirect_uri` the request sent.
    pub fn redirect_uri(mut self, redirect_uri: Option<&str>) -> Self {
        self.redirect_uri = redirect_uri.map(str::to_owned);
        self
    }

    /// With the `code_verifier` the request sent.
    pub fn code_verifier(mut self, verifier: Option<CodeVerifier>) -> Self {
        self.code_verifier = verifier;
        self
    }

    /// What a store does with `found`, the code as it stands with its grant.
    pub fn decide(&self, found: &FoundCode) -> Decision {
        Refusal::decision(self.check(found))
    }

    /// The checks of [`decide`](Self::decide), naming the one that failed.
    pub(crate) fn check(&self, found: &FoundCode) -> Result<(), Refusal> {
        let code = &found.code;
        if found.grant.client_id != self.client_id {
            return Err(Refusal::OtherClient);
        }
        // RFC 9449 §10: a code bound to a key by `dpop_jkt` is redeemed only
        // with a proof of that key — checked before the replay, so a thief
        // without the key cannot revoke the grant.
        if let Some(jkt) = &code.dpop_jkt {
            if !self.proven_key.as_ref().is_some_and(|k| k.is_jkt(jkt)) {
                return Err(Refusal::WrongKey);
            }
        }
        match (&self.redirect_uri, code.redirect_uri_in_request) {
            (Some(given), _) if **given != *code.redirect_uri => {
                return Err(Refusal::RedirectUriMismatch);
            }
            (None, true) => return Err(Refusal::RedirectUriMissing),
            _ => {}
        }
        match (&code.challenge, &self.code_verifier) {
            (Some(challenge), Some(verifier)) if !challenge.verify(verifier) => {
                return Err(Refusal::VerifierMismatch);
            }
            (Some(_), None) => return Err(Refusal::VerifierMissing),
            (None, Some(_)) => return Err(Refusal::VerifierUnexpected),
            _ => {}
        }
        if found.redeemed {
            return Err(Refusal::Replayed);
        }
        if code.expires_at <= self.now || found.grant.expires_at <= self.now {
            return Err(Refusal::Expired);
        }
        Ok(())
    }

    /// The records to store under `grant` when the decision is
    /// [`Decision::Issue`]: the refresh token carries the grant's scope,
    /// the access token [`access_scope`](Self::access_scope) or the grant's.
    pub fn tokens(&self, grant: &GrantRecord) -> (AccessTokenRecord, Option<RefreshTokenRecord>) {
        let scope = self.access_scope.as_ref().unwrap_or(&grant.scope).clone();
        let access = self.access_token.access_record(grant, scope, self.now);
        let refresh = self
            .refresh_token
            .as_ref()
            .map(|planned| planned.refresh_record(grant, grant.scope.clone(), self.now));
        (access, refresh)
    }
}

/// A token request rotating a refresh token (RFC 6749 §6, RFC 9700
/// §4.14.2), as
/// [`GrantStore::rotate_refresh_token`](super::GrantStore::rotate_refresh_token)
/// receives it.
///
/// The token rotates when, in this order:
///
/// 1. its grant was made to `client_id` (otherwise refused);
/// 2. it is current — if it was rotated out already, the request is a reuse
///    and the grant is revoked;
/// 3. it and its grant expire after `now`;
/// 4. `scope`, if given, is within the token's scope.
///
/// The new refresh token has exactly the old one's scope; the new access
/// token has `scope` if given, the old token's otherwise.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefreshRotation {
    /// The authenticated client.
    pub client_id: ClientId,
    /// The `scope` parameter, if sent: the access token's narrower scope.
    pub scope: Option<Scope>,
    /// The time of the request: the rotation time and the new tokens' issue
    /// time.
    pub now: SystemTime,
    /// The new refresh token.
    pub refresh_token: PlannedToken,
    /// The new access token.
    pub access_token: PlannedToken,
    /// The key the request proved (RFC 9449 §5), which a bound refresh
    /// token's must be; `None` when it proved none.
    pub proven_key: Option<Confirmation>,
}

impl RefreshRotation {
    /// A rotation by `client_id` at `now`, issuing `refresh_token` and
    /// `access_token`, the latter narrowed to `scope` if given.
    pub fn new(
        client_id: ClientId,
        scope: Option<Scope>,
        now: SystemTime,
        refresh_token: PlannedToken,
        access_token: PlannedToken,
    ) -> Self {
        Self {
            client_id,
            scope,
            now,
            refresh_token,
            access_token,
            proven_key: None,
        }
    }

    /// The same, with the key the request proved.
    #[must_use]
    pub fn with_proven_key(mut self, key: Option<Confirmation>) -> Self {
        self.proven_key = key;
        self
    }

    /// Whether the request may use `found`, as far as its key binding goes:
    /// an unbound token, or one bound to the proven key (RFC 9449 §5).
    pub fn proves_binding(&self, found: &FoundRefreshToken) -> bool {
        binding_proven(found, self.proven_key.as_ref())
    }

    /// What a store does with `found`, the token as it stands with its grant.
    pub fn decide(&self, found: &FoundRefreshToken) -> Decision {
        Refusal::decision(self.check(found))
    }

    /// The checks of [`decide`](Self::decide), naming the one that failed.
    pub(crate) fn check(&self, found: &FoundRefreshToken) -> Result<(), Refusal> {
        check_refresh_use(
            &self.client_id,
            self.scope.as_ref(),
            self.now,
            self.proven_key.as_ref(),
            found,
        )
    }

    /// The access token's scope, given the old refresh token's.
    pub fn access_scope<'a>(&'a self, refresh_scope: &'a Scope) -> &'a Scope {
        self.scope.as_ref().unwrap_or(refresh_scope)
    }

    /// The records to store when the decision is [`Decision::Issue`]: the
    /// new refresh token keeps the old one's key binding.
    pub fn tokens(&self, found: &FoundRefreshToken) -> (RefreshTokenRecord, AccessTokenRecord) {
        let grant = &found.grant;
        let mut refresh =
            self.refresh_token
                .refresh_record(grant, found.record.scope.clone(), self.now);
        refresh.cnf = found.record.cnf.clone();
        let access = self.access_token.access_record(
            grant,
            self.access_scope(&found.record.scope).clone(),
            self.now,
        );
        (refresh, access)
    }
}

/// An unbound refresh token, or one bound to the proven key.
fn binding_proven(found: &FoundRefreshToken, proven_key: Option<&Confirmation>) -> bool {
    found
        .record
        .cnf
        .as_ref()
        .is_none_or(|bound| proven_key == Some(bound))
}

/// Whether a request by `client_id` — asking for `scope`, at `now`, having
/// proved `proven_key` — may use the refresh token `found` (RFC 6749 §6,
/// RFC 9700 §4.14.2, RFC 9449 §5): this client's; bound to nothing or to
/// the proven key (checked before reuse, so a stolen bound token presented
/// without its key revokes nothing); current, else a reuse; unexpired, its
/// grant too; no wider scope. A rotation checks it inside the store's
/// atomic step ([`RefreshRotation::decide`]); a refresh that keeps the
/// token checks it before adding the access token.
pub(crate) fn check_refresh_use(
    client_id: &ClientId,
    scope: Option<&Scope>,
    now: SystemTime,
    proven_key: Option<&Confirmation>,
    found: &FoundRefreshToken,
) -> Result<(), Refusal> {
    if found.grant.client_id != *client_id {
        return Err(Refusal::OtherClient);
    }
    if !binding_proven(found, proven_key) {
        return Err(Refusal::WrongKey);
    }
    if !found.current {
        return Err(Refusal::Replayed);
    }
    if found.record.expires_at <= now || found.grant.expires_at <= now {
        return Err(Refusal::Expired);
    }
    match scope {
        Some(scope) if !scope.is_subset(&found.record.scope) => Err(Refusal::ScopeWidened),
        _ => Ok(()),
    }
}

/// What [`AuthorizationCodeStore::redeem_code`](super::AuthorizationCodeStore::redeem_code) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redemption {
    /// The code is redeemed and the tokens stored. Carries the code and its
    /// grant as found, before the redemption.
    Redeemed(FoundCode),
    /// A replay, or a race lost to a concurrent redemption: the grant is
    /// revoked, and nothing was stored.
    Revoked(GrantId),
    /// Refused, and nothing changed. Carries the code and its grant as found;
    /// `None` if the code is unknown or its grant is gone.
    Refused(Option<FoundCode>),
}

/// What [`GrantStore::rotate_refresh_token`](super::GrantStore::rotate_refresh_token)
/// did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// The token is rotated out and the new tokens stored. Carries the old
    /// token and its grant as found, before the rotation.
    Rotated(FoundRefreshToken),
    /// A reuse, or a race lost to a concurrent rotation: the grant is
    /// revoked, and nothing was stored.
    Revoked(GrantId),
    /// Refused, and nothing changed. Carries the token and its grant as
    /// found; `None` if the token is unknown or its grant is gone.
    Refused(Option<FoundRefreshToken>),
}
