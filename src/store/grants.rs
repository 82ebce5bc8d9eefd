//! The storage every server needs: grants and the tokens issued under them.

use std::future::Future;
use std::time::SystemTime;

use super::{
    AccessTokenRecord, FoundRefreshToken, GrantId, GrantRecord, NewGrant, RefreshRotation,
    Rotation, StoreError,
};
use crate::client::ClientId;
use crate::erased::erased_twin;
use crate::token::TokenHash;

/// Where grants and their access and refresh tokens live: what every server
/// needs, whatever grants it serves.
///
/// # Contracts
///
/// - Records are keyed by [`TokenHash`]; the plaintext of a token never
///   reaches the store (RFC 6819 §5.1.4.1.3).
/// - Every token belongs to a grant, and is live only while its grant is:
///   [`revoke_grant`](Self::revoke_grant) kills everything derived from the
///   grant — access and refresh tokens, and the authorization codes an
///   [`AuthorizationCodeStore`](super::AuthorizationCodeStore) keeps under
///   it — at once, for every replica sharing the store.
/// - Each method is one atomic operation — a SQL store does each in one
///   statement or one transaction. Rotating a refresh token is the one the
///   concurrency tests hammer.
///
/// The conformance suite's grant-store part
/// (`testing::run_grant_store_conformance`, feature `testing`) checks each
/// of these contracts.
pub trait GrantStore: Send + Sync + 'static {
    /// The identifier for a new grant whose first secret — its first access
    /// token, or its authorization code — has hash `first_secret`. The
    /// server asks the store before it builds the grant's records, as a
    /// database assigns a row's key.
    ///
    /// The default is [`GrantId::generate`]: 128 random bits. A store may
    /// derive the identifier from the hash instead, to keep the grant beside
    /// its first secret (the memory store does), as long as identifiers stay
    /// unique and unpredictable: a grant identifier is not a secret, but it
    /// must not lead to one (RFC 6819 §5.1.4.2.2).
    fn grant_id_for(&self, first_secret: &TokenHash) -> GrantId {
        let _ = first_secret;
        GrantId::generate()
    }

    /// Stores a new grant together with its first secrets, atomically: either
    /// all become visible or none does.
    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The access token with this hash and its grant, or `None` if the token
    /// was never issued, or it or its grant has been revoked. Expiry is checked
    /// by the caller, so an expired but not yet purged token may be returned.
    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send;

    /// The refresh token with this hash and its grant, and whether it is still
    /// current (not rotated out); `None` if unknown or its grant is gone.
    fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundRefreshToken>, StoreError>> + Send;

    /// Rotates the refresh token `old` as `rotation` asks, in one atomic
    /// operation: finds it with its grant, and does what
    /// [`RefreshRotation::decide`] says of them —
    ///
    /// - [`Decision::Issue`](super::Decision::Issue): `old` is rotated out and the tokens of
    ///   [`RefreshRotation::tokens`] are stored ([`Rotation::Rotated`]). Of
    ///   any number of concurrent rotations of one token exactly one gets
    ///   this; the others find it rotated out.
    /// - [`Decision::RevokeGrant`](super::Decision::RevokeGrant): a reuse; the grant is revoked as by
    ///   [`revoke_grant`](Self::revoke_grant) and nothing is stored
    ///   ([`Rotation::Revoked`]).
    /// - [`Decision::Refuse`](super::Decision::Refuse): nothing changes ([`Rotation::Refused`] with
    ///   what was found; `None` for an unknown token or one whose grant is
    ///   gone).
    ///
    /// A rotated-out token MUST stay findable as such until it would have
    /// expired unrotated, so that its reuse is detected for as long as it
    /// could have worked (RFC 9700 §4.14.2). A store that does this in one SQL
    /// statement, deciding in SQL, must reach the same decisions; a store
    /// that reads and then writes calls `decide` inside one transaction that
    /// locks the token's row.
    fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Revokes a grant and everything derived from it. Returns whether the grant
    /// existed. After this returns, no token, code or refresh token of the
    /// grant is found by any lookup.
    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores one more access token under its existing grant
    /// (`token.grant_id`), as token exchange does (RFC 8693 §2.2): the new
    /// token derives from the subject token's grant, so revoking that grant
    /// revokes it too. Returns `false`, storing nothing, when the grant is
    /// gone (revoked, or purged); expiry is the caller's check.
    ///
    /// Atomic with respect to [`revoke_grant`](Self::revoke_grant): a
    /// revocation that returns before this begins leaves the token
    /// unstored; one that begins after it returns revokes the token. The
    /// stored record comes back from
    /// [`find_access_token`](Self::find_access_token) as given,
    /// [`exchange`](AccessTokenRecord::exchange) included. A SQL store does
    /// it in one statement: `INSERT INTO access_tokens … SELECT … WHERE
    /// EXISTS (SELECT 1 FROM grants WHERE id = $grant)` (a token inserted
    /// beside a concurrent `DELETE` of its grant is never found, since
    /// lookups join on the grant).
    ///
    /// The provided implementation refuses with a [`StoreError`], so a store
    /// written before token exchange keeps compiling and a server using it
    /// answers token-exchange requests `server_error`; a store that serves
    /// [`TokenExchangeGrant`](crate::grant::TokenExchangeGrant) implements
    /// it.
    fn add_access_token(
        &self,
        token: AccessTokenRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = token;
        std::future::ready(Err(StoreError::backend(
            "this grant store does not store exchanged access tokens (add_access_token)",
        )))
    }

    /// The grant with this identifier, or `None` if there is none — never
    /// made, revoked, or purged. Expiry is checked by the caller. Token
    /// exchange uses it to find the grant behind an ID token presented as a
    /// `subject_token` (RFC 8693 §3, `…:token-type:id_token`), so such an
    /// exchange fails once the grant is revoked.
    ///
    /// The provided implementation refuses with a [`StoreError`], as
    /// [`add_access_token`](Self::add_access_token)'s does: a store written
    /// before it keeps compiling, and ID token exchanges against it answer
    /// `server_error`. A SQL store does it in one statement: `SELECT … FROM
    /// grants WHERE id = $1`.
    fn find_grant(
        &self,
        id: &GrantId,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send {
        let _ = id;
        std::future::ready(Err(StoreError::backend(
            "this grant store does not find grants by identifier (find_grant)",
        )))
    }

    /// Revokes one access token, and nothing else: its grant, the grant's
    /// other access tokens, its refresh token and its code stay as they are
    /// (RFC 7009 §2.1 lets revoking an access token leave the refresh token
    /// alone). Returns whether a token with this hash was held — `false` for
    /// an unknown or already revoked one, which changes nothing.
    ///
    /// After this returns, [`find_access_token`](Self::find_access_token)
    /// for `hash` returns `None` on every replica sharing the store. A SQL
    /// store does it in one statement: `DELETE FROM access_tokens WHERE hash
    /// = $1` (or an `UPDATE` setting a revocation mark that lookups honour).
    fn revoke_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every grant made to `client_id`, and so everything derived
    /// from them — codes, access and refresh tokens. Returns how many grants
    /// went.
    ///
    /// After this returns, no token or code of the client that existed when
    /// the call began is found by any lookup. The server calls it after
    /// removing the client
    /// ([`ClientRegistry::delete_client`](crate::client::ClientRegistry::delete_client)),
    /// so no new grant can be made for it; a grant created concurrently by a
    /// request that authenticated just before the removal may survive. A SQL
    /// store does this in one statement: `DELETE FROM grants WHERE client_id =
    /// $1` (tokens referencing the grant go with it, or are unreachable
    /// without it).
    fn revoke_client_grants(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes grants and tokens that expired before `now`, and tokens whose
    /// grant is gone; returns how many went. Hosts call it periodically; stores may also
    /// purge on their own.
    fn purge_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

erased_twin! {
    /// The object-safe form of [`GrantStore`] that the server holds.
    DynGrantStore: GrantStore<'a> {
        fn create_grant(new: NewGrant) -> Result<(), StoreError>;
        fn find_access_token(hash: &'a TokenHash)
            -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>;
        fn find_refresh_token(hash: &'a TokenHash) -> Result<Option<FoundRefreshToken>, StoreError>;
        fn rotate_refresh_token(old: &'a TokenHash, rotation: &'a RefreshRotation)
            -> Result<Rotation, StoreError>;
        fn revoke_grant(id: &'a GrantId) -> Result<bool, StoreError>;
        fn find_grant(id: &'a GrantId) -> Result<Option<GrantRecord>, StoreError>;
        fn revoke_access_token(hash: &'a TokenHash) -> Result<bool, StoreError>;
        fn add_access_token(token: AccessTokenRecord) -> Result<bool, StoreError>;
        fn revoke_client_grants(client_id: &'a ClientId) -> Result<u64, StoreError>;
        fn purge_expired(now: SystemTime) -> Result<u64, StoreError>;
        sync fn grant_id_for(first_secret: &TokenHash) -> GrantId;
    }
}
