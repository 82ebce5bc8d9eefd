//! The memory store's [`ReplayCache`]: single uses in a bounded table,
//! sharded by key, expired records dropped as it goes.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::Mutex;
use std::time::SystemTime;

use super::{MemoryStore, to_ms};
use crate::store::{ReplayCache, ReplayKey, StoreError};

/// Shards of the table: concurrent uses of different keys rarely share a
/// lock.
const SHARDS: usize = 16;

/// The most live records a memory store keeps: 65 536 (a few MiB). Client
/// assertions live minutes, so this is hundreds of uses a second for as
/// long as they live.
pub(crate) const MAX_REPLAY_RECORDS: usize = 65_536;

const PER_SHARD: usize = MAX_REPLAY_RECORDS / SHARDS;

/// The records, key to expiry (milliseconds since the epoch).
pub(crate) struct ReplayTable {
    shards: [Mutex<HashMap<[u8; 32], u64>>; SHARDS],
}

impl Default for ReplayTable {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::default()),
        }
    }
}

impl ReplayTable {
    fn shard(&self, key: &ReplayKey) -> &Mutex<HashMap<[u8; 32], u64>> {
        let index = usize::from(key.as_bytes()[0]) % SHARDS;
        self.shards.get(index).unwrap_or(&self.shards[0])
    }

    /// The record's first use, under the shard's lock: atomic.
    fn first_use(
        &self,
        key: &ReplayKey,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let (expires, now) = (to_ms(expires_at), to_ms(now));
        let mut shard = self
            .shard(key)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(live) = shard.get(key.as_bytes()) {
            if *live > now {
                return Ok(false);
            }
        }
        if shard.len() >= PER_SHARD && !shard.contains_key(key.as_bytes()) {
            shard.retain(|_, expiry| *expiry > now);
            if shard.len() >= PER_SHARD {
                // Full of live records: refusing the use is safe, forgetting
                // one would let it be replayed.
                return Err(StoreError::backend(
                    "the memory store's replay cache is full of live records",
                ));
            }
        }
        shard.insert(*key.as_bytes(), expires);
        Ok(true)
    }

    fn purge(&self, now: SystemTime) -> u64 {
        let now = to_ms(now);
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = shard.len();
            shard.retain(|_, expiry| *expiry > now);
            removed += before - shard.len();
        }
        removed as u64
    }
}

/// Bounded at 65 536 live records: past it a new use is a
/// [`StoreError`] (answered `server_error`) rather than a forgotten record.
/// Expired records are dropped when a shard fills, and by
/// [`purge_expired_replays`](ReplayCache::purge_expired_replays). Replicas in
/// other processes do not see these records: a fleet needs a shared cache
/// (the SQL store's).
impl ReplayCache for MemoryStore {
    fn first_use(
        &self,
        key: &ReplayKey,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        ready(self.replays.first_use(key, expires_at, now))
    }

    fn purge_expired_replays(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        ready(Ok(self.replays.purge(now)))
    }
}
