//! Device authorizations (RFC 8628) in the memory store.
//!
//! One mutex over two maps: records by device code hash, and an index from
//! user code hash to device code hash. Device authorizations arrive at human
//! pace and are polled every few seconds each, so one lock is far from
//! contended, and it makes every operation trivially atomic.
//!
//! Lock order: a [`poll`](MemoryStore::poll_device) holds this mutex while
//! it stores a collected grant and its tokens, or revokes a replayed grant,
//! which takes shard locks. Nothing takes this mutex while holding a shard
//! lock, so no cycle of waits can form.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::{Map, MemoryStore, SWEEP_EVERY};
use crate::client::ClientId;
use crate::store::{
    DeviceAuthorizationRecord, DeviceCollection, DeviceDecision, DeviceStatus, GrantStore as _,
    PolledDeviceCode, SLOW_DOWN_STEP, StoreError,
};
use crate::token::TokenHash;

/// The device authorizations of one [`MemoryStore`] and its clones.
#[derive(Default)]
pub(super) struct DeviceTable {
    devices: Mutex<Devices>,
}

#[derive(Default)]
struct Devices {
    by_device: Map<TokenHash, DeviceAuthorizationRecord>,
    by_user: Map<TokenHash, TokenHash>,
    /// Records inserted since the last sweep.
    inserts: usize,
    /// Records left by the last sweep.
    live_after_sweep: usize,
}

impl Devices {
    /// Drops records expired at `now`, and index entries whose record went.
    fn sweep(&mut self, now: SystemTime) -> usize {
        let before = self.by_device.len();
        self.by_device.retain(|_, d| d.expires_at > now);
        let by_device = &self.by_device;
        self.by_user.retain(|_, d| by_device.contains_key(d));
        self.inserts = 0;
        self.live_after_sweep = self.by_device.len();
        before - self.live_after_sweep
    }
}

impl DeviceTable {
    fn lock(&self) -> MutexGuard<'_, Devices> {
        // Every critical section is a few whole map operations, so a panic
        // cannot leave the maps half-updated: poisoning is ignored.
        self.devices.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The output of a future that is complete when made, as every memory-store
/// method's is; `None` if it were not.
fn completed<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

impl MemoryStore {
    pub(super) fn save_device(&self, record: DeviceAuthorizationRecord) -> Result<(), StoreError> {
        let now = record.created_at;
        let mut devices = self.devices.lock();
        let user_code_taken = devices
            .by_user
            .get(&record.user_code_hash)
            .and_then(|d| devices.by_device.get(d))
            .is_some_and(|holder| holder.expires_at > now);
        if user_code_taken || devices.by_device.contains_key(&record.device_code_hash) {
            return Err(StoreError::Conflict);
        }
        devices
            .by_user
            .insert(record.user_code_hash, record.device_code_hash);
        devices.by_device.insert(record.device_code_hash, record);
        // Amortised like the shards: a sweep after as many inserts as the
        // table held after the last one.
        devices.inserts += 1;
        if devices.inserts >= SWEEP_EVERY.max(devices.live_after_sweep) {
            devices.sweep(now);
        }
        Ok(())
    }

    pub(super) fn find_device(
        &self,
        user_code_hash: &TokenHash,
    ) -> Option<DeviceAuthorizationRecord> {
        let devices = self.devices.lock();
        let device = devices.by_user.get(user_code_hash)?;
        devices.by_device.get(device).cloned()
    }

    pub(super) fn decide_device(
        &self,
        device_code_hash: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> bool {
        let mut devices = self.devices.lock();
        let Some(record) = devices.by_device.get_mut(device_code_hash) else {
            return false;
        };
        if record.status != DeviceStatus::Pending || record.expires_at <= now {
            return false;
        }
        record.status = match decision {
            DeviceDecision::Approve { subject, scope } => DeviceStatus::Approved { subject, scope },
            DeviceDecision::Deny => DeviceStatus::Denied,
        };
        true
    }

    pub(super) fn poll_device(
        &self,
        device_code_hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
        collection: &DeviceCollection,
    ) -> Result<Option<PolledDeviceCode>, StoreError> {
        let mut devices = self.devices.lock();
        let Some(record) = devices
            .by_device
            .get_mut(device_code_hash)
            .filter(|r| r.client_id == *client_id)
        else {
            return Ok(None);
        };
        let too_fast = record.last_polled_at.is_some_and(|last| {
            // A poll that reads an earlier time than the previous one raced
            // it, which is too fast by any measure.
            now.duration_since(last)
                .map_or(true, |elapsed| elapsed < record.interval)
        });
        if too_fast {
            record.interval = record
                .interval
                .checked_add(SLOW_DOWN_STEP)
                .unwrap_or(record.interval);
        }
        record.last_polled_at = Some(record.last_polled_at.map_or(now, |last| last.max(now)));
        // The grant is stored, or revoked, while this table is locked, so a
        // concurrent poll sees the authorization approved (and no tokens), or
        // redeemed with its tokens.
        let suspended = || StoreError::backend("the memory store suspended");
        let mut collected = None;
        match &record.status {
            DeviceStatus::Approved { subject, scope } if record.expires_at > now => {
                let new = collection.new_grant(record, subject, scope, now);
                let grant = new.grant.clone();
                completed(self.create_grant(new)).unwrap_or_else(|| Err(suspended()))?;
                record.status = DeviceStatus::Redeemed { grant_id: grant.id };
                collected = Some(grant);
            }
            DeviceStatus::Redeemed { grant_id } => {
                completed(self.revoke_grant(grant_id)).unwrap_or_else(|| Err(suspended()))?;
            }
            _ => {}
        }
        Ok(Some(PolledDeviceCode::new(
            record.clone(),
            too_fast,
            collected,
        )))
    }

    /// Drops every device authorization of `client_id`; returns how many
    /// went.
    pub(super) fn drop_client_devices(&self, client_id: &ClientId) -> usize {
        let mut devices = self.devices.lock();
        let Devices {
            by_device, by_user, ..
        } = &mut *devices;
        let before = by_device.len();
        by_device.retain(|_, d| d.client_id != *client_id);
        by_user.retain(|_, d| by_device.contains_key(d));
        before - by_device.len()
    }

    /// Drops device authorizations expired at `now`; returns how many went.
    pub(super) fn purge_devices(&self, now: SystemTime) -> usize {
        self.devices.lock().sweep(now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::ClientRegistration;
    use crate::protocol::{GrantType, Scope};
    use crate::store::{GrantId, PlannedToken, Subject};

    fn client(id: &str) -> ClientId {
        ClientRegistration::native()
            .client_id(id)
            .grant_type(GrantType::DEVICE_CODE)
            .register()
            .unwrap()
            .client
            .id()
            .clone()
    }

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn saved(store: &MemoryStore) -> TokenHash {
        let record = DeviceAuthorizationRecord {
            device_code_hash: TokenHash::of("device"),
            user_code_hash: TokenHash::of("BCDFGHJK"),
            client_id: client("tv"),
            scope: Scope::empty(),
            created_at: t(0),
            expires_at: t(600),
            interval: Duration::from_secs(5),
            last_polled_at: None,
            status: DeviceStatus::Pending,
        };
        let hash = record.device_code_hash;
        store.save_device(record).unwrap();
        hash
    }

    /// What a poll collects: a grant ending at `t(1000)` with one access
    /// token.
    fn collection() -> DeviceCollection {
        DeviceCollection::new(
            GrantId::generate(),
            t(1000),
            PlannedToken::new(TokenHash::of("access"), t(100)),
            None,
        )
    }

    fn poll(store: &MemoryStore, hash: &TokenHash, by: &str, at: u64) -> Option<PolledDeviceCode> {
        store
            .poll_device(hash, &client(by), t(at), &collection())
            .unwrap()
    }

    #[test]
    fn polls_are_timed_and_bound_to_the_client() {
        let store = MemoryStore::new();
        let hash = saved(&store);
        assert!(poll(&store, &hash, "other", 1).is_none());
        let first = poll(&store, &hash, "tv", 1).unwrap();
        assert!(!first.too_fast);
        assert_eq!(first.record.last_polled_at, Some(t(1)));
        let early = poll(&store, &hash, "tv", 3).unwrap();
        assert!(early.too_fast);
        assert_eq!(early.record.interval, Duration::from_secs(10));
        // A poll that read an earlier time than the last one raced it: too
        // fast, and the recorded time does not go back.
        let raced = poll(&store, &hash, "tv", 2).unwrap();
        assert!(raced.too_fast);
        assert_eq!(raced.record.last_polled_at, Some(t(3)));
        assert_eq!(raced.record.interval, Duration::from_secs(15));
        let patient = poll(&store, &hash, "tv", 18).unwrap();
        assert!(!patient.too_fast);
        assert_eq!(patient.record.interval, Duration::from_secs(15));
        assert!(patient.collected.is_none());
    }

    #[test]
    fn a_poll_collects_an_approval_once_and_a_replay_revokes_it() {
        let store = MemoryStore::new();
        let hash = saved(&store);
        assert!(poll(&store, &hash, "tv", 1).unwrap().collected.is_none());
        assert_eq!(store.grant_count(), 0);
        let approve = DeviceDecision::Approve {
            subject: Subject::new("alice"),
            scope: Scope::empty(),
        };
        assert!(store.decide_device(&hash, approve.clone(), t(5)));
        assert!(!store.decide_device(&hash, DeviceDecision::Deny, t(5)));
        let collected = poll(&store, &hash, "tv", 10).unwrap();
        let grant = collected.collected.unwrap();
        assert_eq!(grant.subject, Some(Subject::new("alice")));
        assert_eq!(
            collected.record.status,
            DeviceStatus::Redeemed { grant_id: grant.id }
        );
        assert_eq!(store.grant_count(), 1);
        // The next poll is a replay: nothing collected, the grant revoked.
        let replay = poll(&store, &hash, "tv", 20).unwrap();
        assert!(replay.collected.is_none());
        assert_eq!(
            replay.record.status,
            DeviceStatus::Redeemed { grant_id: grant.id }
        );
        assert_eq!(store.grant_count(), 0);
        // Decisions are over.
        assert!(!store.decide_device(&hash, approve, t(21)));
    }

    #[test]
    fn an_expired_approval_is_not_collected() {
        let store = MemoryStore::new();
        let hash = saved(&store);
        let approve = DeviceDecision::Approve {
            subject: Subject::new("alice"),
            scope: Scope::empty(),
        };
        assert!(store.decide_device(&hash, approve, t(5)));
        let late = poll(&store, &hash, "tv", 600).unwrap();
        assert!(late.collected.is_none());
        assert!(matches!(late.record.status, DeviceStatus::Approved { .. }));
        assert_eq!(store.grant_count(), 0);
    }

    #[test]
    fn expired_authorizations_cannot_be_decided_and_are_purged() {
        let store = MemoryStore::new();
        let hash = saved(&store);
        assert!(!store.decide_device(&hash, DeviceDecision::Deny, t(600)));
        assert_eq!(store.purge_devices(t(599)), 0);
        assert_eq!(store.purge_devices(t(600)), 1);
        assert!(store.find_device(&TokenHash::of("BCDFGHJK")).is_none());
    }
}
