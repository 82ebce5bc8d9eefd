//! The embedded in-memory store.
//!
//! Safe under concurrency: state is split into shards by key, each behind its
//! own lock, and no lock is held across an `.await` (there are none inside).
//! Expired grants and tokens are dropped as the store goes: every so many
//! inserts into a shard sweep that shard, so memory stays proportional to the
//! live tokens without a background task. [`TokenStore::purge_expired`] sweeps
//! everything at once.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use super::{AccessTokenRecord, GrantId, GrantRecord, NewGrant, StoreError, TokenStore};
use crate::client::{Client, ClientId, ClientRegistry};
use crate::token::TokenHash;

const SHARDS: usize = 16;

/// Inserts into a shard between two sweeps of it, at the least. A sweep also
/// waits for as many inserts as the shard holds entries, so sweeping costs O(1)
/// per insert however large the store grows.
const SWEEP_EVERY: usize = 1024;

/// A store that keeps everything in memory: clients, grants and tokens.
///
/// Cloning is cheap and clones share state, so one value can serve as both the
/// server's [`ClientRegistry`] and its [`TokenStore`]. State is lost when the
/// process ends; use it for tests, development, and single-process servers
/// that can afford to lose their tokens.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    clients: RwLock<HashMap<ClientId, Arc<Client>>>,
    grants: Sharded<GrantId, GrantRecord>,
    access_tokens: Sharded<TokenHash, AccessTokenRecord>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("clients", &read(&self.inner.clients).len())
            .field("grants", &self.inner.grants.len())
            .field("access_tokens", &self.inner.access_tokens.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many access tokens are held (live or expired but not yet swept).
    pub fn access_token_count(&self) -> usize {
        self.inner.access_tokens.len()
    }

    /// How many grants are held.
    pub fn grant_count(&self) -> usize {
        self.inner.grants.len()
    }
}

impl ClientRegistry for MemoryStore {
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(read(&self.inner.clients).get(client_id).cloned())
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        let mut clients = write(&self.inner.clients);
        if clients.contains_key(client.id()) {
            return Err(StoreError::Conflict);
        }
        clients.insert(client.id().clone(), Arc::new(client));
        Ok(())
    }
}

impl TokenStore for MemoryStore {
    async fn create_grant(&self, new: NewGrant) -> Result<(), StoreError> {
        let now = new.access_token.issued_at;
        // The grant goes in first: a token is only ever found together with its
        // grant, so a reader racing this insert sees both or neither.
        self.inner
            .grants
            .insert(new.grant.id, new.grant, now, |g, now| g.expires_at > now);
        self.inner
            .access_tokens
            .insert(new.access_token.hash, new.access_token, now, |t, now| {
                t.expires_at > now
            });
        Ok(())
    }

    async fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError> {
        let Some(token) = self.inner.access_tokens.get(hash) else {
            return Ok(None);
        };
        Ok(self
            .inner
            .grants
            .get(&token.grant_id)
            .map(|grant| (token, grant)))
    }

    async fn revoke_grant(&self, id: &GrantId) -> Result<bool, StoreError> {
        // Tokens of a revoked grant are unreachable at once (lookups require
        // the grant) and are dropped by the next sweep of their shard.
        Ok(self.inner.grants.remove(id).is_some())
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let grants = self
            .inner
            .grants
            .sweep_all(now, |g, now| g.expires_at > now);
        let grants_ref = &self.inner.grants;
        let tokens = self.inner.access_tokens.sweep_all(now, |t, now| {
            t.expires_at > now && grants_ref.contains(&t.grant_id)
        });
        Ok((grants + tokens) as u64)
    }
}

/// Keys whose bytes are already uniformly random (SHA-256 digests, random
/// identifiers): the shard and the bucket come straight from those bytes, with
/// no hashing. Keys are never chosen by a requester, so there is no flooding
/// to defend against.
trait RandomKey: Copy + Eq + Hash {
    fn shard(&self) -> usize;
}

impl RandomKey for TokenHash {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[31]) % SHARDS
    }
}

impl RandomKey for GrantId {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[15]) % SHARDS
    }
}

/// Reads the first eight bytes written as the hash.
#[derive(Default)]
struct PassThroughHasher {
    hash: u64,
    filled: u8,
}

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.hash
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            if self.filled == 8 {
                return;
            }
            self.hash = self.hash << 8 | u64::from(*b);
            self.filled += 1;
        }
    }

    // Slices and arrays hash their length first; it carries no entropy.
    fn write_usize(&mut self, _: usize) {}
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<PassThroughHasher>>;

struct Shard<K, V> {
    map: RwLock<Map<K, V>>,
    inserts_since_sweep: AtomicUsize,
}

struct Sharded<K, V> {
    shards: [Shard<K, V>; SHARDS],
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Shard {
                map: RwLock::new(Map::default()),
                inserts_since_sweep: AtomicUsize::new(0),
            }),
        }
    }
}

impl<K: RandomKey, V: Clone> Sharded<K, V> {
    fn shard(&self, key: &K) -> &Shard<K, V> {
        // `shard()` is always below SHARDS; `get` keeps this panic-free.
        self.shards.get(key.shard()).unwrap_or(&self.shards[0])
    }

    fn get(&self, key: &K) -> Option<V> {
        read(&self.shard(key).map).get(key).cloned()
    }

    fn contains(&self, key: &K) -> bool {
        read(&self.shard(key).map).contains_key(key)
    }

    fn remove(&self, key: &K) -> Option<V> {
        write(&self.shard(key).map).remove(key)
    }

    /// Inserts, sweeping the shard of records `live` rejects when it is due.
    fn insert(&self, key: K, value: V, now: SystemTime, live: impl Fn(&V, SystemTime) -> bool) {
        let shard = self.shard(&key);
        let mut map = write(&shard.map);
        map.insert(key, value);
        let inserts = shard.inserts_since_sweep.fetch_add(1, Ordering::Relaxed) + 1;
        if inserts >= SWEEP_EVERY.max(map.len()) {
            shard.inserts_since_sweep.store(0, Ordering::Relaxed);
            map.retain(|_, v| live(v, now));
        }
    }

    fn sweep_all(&self, now: SystemTime, live: impl Fn(&V, SystemTime) -> bool) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut map = write(&shard.map);
            let before = map.len();
            map.retain(|_, v| live(v, now));
            removed += before - map.len();
            shard.inserts_since_sweep.store(0, Ordering::Relaxed);
        }
        removed
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| read(&s.map).len()).sum()
    }
}

// A panic while a lock is held cannot leave these maps half-updated (every
// critical section is a single map operation), so poisoning is ignored.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
