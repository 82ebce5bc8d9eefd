//! What the store keeps for the device authorization grant (RFC 8628).

use std::time::{Duration, SystemTime};

use super::{GrantId, GrantRecord, NewGrant, PlannedToken, Subject};
use crate::client::ClientId;
use crate::protocol::{ResourceSet, Scope};
use crate::token::TokenHash;

/// How much the polling interval grows each time a device polls too fast
/// (RFC 8628 §3.5, `slow_down`): 5 seconds.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A device authorization (RFC 8628 §3.1, §3.2): a client's request, made at
/// the device authorization endpoint, waiting for a user to enter its user
/// code on the verification page and decide; then, once approved, for the
/// device to poll and collect its tokens.
///
/// Kept by the hashes of its two codes; the plaintext of neither reaches the
/// store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorizationRecord {
    /// SHA-256 of the device code: the record's key.
    pub device_code_hash: TokenHash,
    /// SHA-256 of the user code's significant characters: unique among live
    /// device authorizations.
    pub user_code_hash: TokenHash,
    /// The client that asked, and the only one that may poll with the device
    /// code.
    pub client_id: ClientId,
    /// The scope asked for (the client's default scope when it asked for
    /// none); already within the client's allowed scope.
    pub scope: Scope,
    /// When the request was made.
    pub created_at: SystemTime,
    /// When the device code and user code expire (RFC 8628 §3.2
    /// `expires_in`).
    pub expires_at: SystemTime,
    /// The least time the device must leave between two polls: the
    /// `interval` of the response, grown by [`SLOW_DOWN_STEP`] at every
    /// poll that came too soon.
    pub interval: Duration,
    /// When the device last polled; `None` before its first poll.
    pub last_polled_at: Option<SystemTime>,
    /// Where the authorization stands.
    pub status: DeviceStatus,
}

/// Where a device authorization stands. Decisions happen once: `Pending`
/// moves to `Approved` or `Denied`, `Approved` to `Redeemed`, and nothing
/// moves back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceStatus {
    /// No user has decided yet.
    Pending,
    /// A user approved; the device has not yet collected its tokens.
    Approved {
        /// The user who approved.
        subject: Subject,
        /// The scope granted: the requested scope or less.
        scope: Scope,
    },
    /// A user denied the request.
    Denied,
    /// The device collected its tokens, under this grant. Kept until the
    /// device code expires, so a replay is recognised (and revokes the grant).
    Redeemed {
        /// The grant the tokens were issued under.
        grant_id: GrantId,
    },
}

/// A user's decision on a pending device authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceDecision {
    /// Approved by `subject`, granting `scope` (within the requested scope).
    Approve {
        /// The user who approved.
        subject: Subject,
        /// The scope granted.
        scope: Scope,
    },
    /// Denied.
    Deny,
}

/// A device authorization as
/// [`DeviceAuthorizationStore::poll_device_code`](super::DeviceAuthorizationStore::poll_device_code) left
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolledDeviceCode {
    /// The record with this poll recorded: `last_polled_at` is the poll's
    /// time, and `interval` has grown if the poll was too soon.
    pub record: DeviceAuthorizationRecord,
    /// Whether this poll came less than the interval after the previous one.
    pub too_fast: bool,
    /// The grant this poll stored, when it collected an approval. When the
    /// record is [`DeviceStatus::Redeemed`] and this is `None`, the poll was
    /// a replay and the store revoked that grant.
    pub collected: Option<GrantRecord>,
}

impl PolledDeviceCode {
    /// A poll's result: `record` as the poll left it.
    pub fn new(
        record: DeviceAuthorizationRecord,
        too_fast: bool,
        collected: Option<GrantRecord>,
    ) -> Self {
        Self {
            record,
            too_fast,
            collected,
        }
    }
}

/// What a poll collects if it finds the device authorization approved (RFC
/// 8628 §3.5): a grant and its tokens, planned before the store reads the
/// approval. The store fills in the client, the approving user and the
/// approved scope ([`new_grant`](Self::new_grant)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceCollection {
    /// The new grant's identifier.
    pub grant_id: GrantId,
    /// When the new grant ends.
    pub grant_expires_at: SystemTime,
    /// Its access token.
    pub access_token: PlannedToken,
    /// Its refresh token, if any.
    pub refresh_token: Option<PlannedToken>,
}

impl DeviceCollection {
    /// A grant `grant_id` ending at `grant_expires_at`, with these tokens.
    pub fn new(
        grant_id: GrantId,
        grant_expires_at: SystemTime,
        access_token: PlannedToken,
        refresh_token: Option<PlannedToken>,
    ) -> Self {
        Self {
            grant_id,
            grant_expires_at,
            access_token,
            refresh_token,
        }
    }

    /// The grant alone of [`new_grant`](Self::new_grant): the record's
    /// client's, for `subject`, with `scope`, made at `now`.
    pub fn grant(
        &self,
        record: &DeviceAuthorizationRecord,
        subject: &Subject,
        scope: &Scope,
        now: SystemTime,
    ) -> GrantRecord {
        GrantRecord {
            id: self.grant_id,
            client_id: record.client_id.clone(),
            subject: Some(subject.clone()),
            scope: scope.clone(),
            resources: ResourceSet::empty(),
            authorization_details: crate::protocol::AuthorizationDetails::empty(),
            openid: None,
            created_at: now,
            expires_at: self.grant_expires_at,
        }
    }

    /// The grant and tokens to store, at `now`, for `record` approved by
    /// `subject` with `scope`: the grant is the record's client's, and both
    /// tokens carry the approved scope and end with the grant at the latest.
    pub fn new_grant(
        &self,
        record: &DeviceAuthorizationRecord,
        subject: &Subject,
        scope: &Scope,
        now: SystemTime,
    ) -> NewGrant {
        let grant = self.grant(record, subject, scope, now);
        let access = self.access_token.access_record(&grant, scope.clone(), now);
        let refresh = self
            .refresh_token
            .as_ref()
            .map(|planned| planned.refresh_record(&grant, scope.clone(), now));
        let new = NewGrant::with_access_token(grant, access);
        match refresh {
            Some(refresh) => new.and_refresh_token(refresh),
            None => new,
        }
    }
}
