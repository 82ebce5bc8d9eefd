//! The embedded in-memory store.
//!
//! Safe under concurrency: state is split into shards by key, each behind its
//! own lock, and no lock is held across an `.await` (there are none inside).
//! Expired grants and tokens are dropped as the store goes: every so many
//! inserts into a shard sweep that shard, so memory stays proportional to the
//! live tokens without a background task. [`TokenStore::purge_expired`] sweeps
//! everything at once.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use super::{AccessTokenRecord, GrantId, GrantRecord, NewGrant, StoreError, Subject, TokenStore};
use crate::client::{Client, ClientId, ClientRegistry};
use crate::protocol::Scope;
use crate::token::TokenHash;

/// Many small shards: less lock contention, and a sweep of one shard touches
/// a few hundred entries even with a million live tokens in the store, so no
/// request pays for a long pause.
const SHARDS: usize = 256;

/// Inserts into a shard between two sweeps of it, at the least. A sweep also
/// waits for as many inserts as the shard holds entries, so sweeping costs O(1)
/// per insert however large the store grows.
const SWEEP_EVERY: usize = 64;

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
    scopes: ScopeInterner,
    grants: Sharded<GrantId, StoredGrant>,
    access_tokens: Sharded<TokenHash, StoredToken>,
}

/// A grant as held in memory: the record without its key, times in
/// milliseconds. 64 bytes, so a table entry with its key is 80.
#[derive(Clone)]
struct StoredGrant {
    client_id: ClientId,
    subject: Option<Subject>,
    scope: Scope,
    created_ms: u64,
    expires_ms: u64,
}

/// An access token as held in memory. 48 bytes; 80 with its key.
#[derive(Clone)]
struct StoredToken {
    grant_id: GrantId,
    scope: Scope,
    issued_ms: u64,
    expires_ms: u64,
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
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

// Every operation is a few map operations under a lock, so each method does
// its work when called and returns a completed future: nothing is held across
// an `.await`, and the futures the server boxes stay a few bytes.
impl ClientRegistry for MemoryStore {
    fn find_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Arc<Client>>, StoreError>> + Send {
        ready(Ok(read(&self.inner.clients).get(client_id).cloned()))
    }

    fn insert_client(&self, client: Client) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut clients = write(&self.inner.clients);
        if clients.contains_key(client.id()) {
            return ready(Err(StoreError::Conflict));
        }
        clients.insert(client.id().clone(), Arc::new(client));
        ready(Ok(()))
    }
}

impl TokenStore for MemoryStore {
    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send {
        let NewGrant {
            grant,
            access_token,
        } = new;
        let now = to_ms(access_token.issued_at);
        let scope = self.inner.scopes.intern(&grant.scope);
        let token_scope = if access_token.scope == grant.scope {
            scope.clone()
        } else {
            self.inner.scopes.intern(&access_token.scope)
        };
        // The grant goes in first: a token is only ever found together with its
        // grant, so a reader racing this insert sees both or neither.
        self.inner.grants.insert(
            grant.id,
            StoredGrant {
                client_id: grant.client_id,
                subject: grant.subject,
                scope,
                created_ms: to_ms(grant.created_at),
                expires_ms: to_ms(grant.expires_at),
            },
            now,
            |g, now| g.expires_ms > now,
        );
        // The sweep on insert checks expiry only, to stay cheap; tokens of a
        // revoked grant are unreachable already, expire soon, and
        // `purge_expired` drops them at once.
        self.inner.access_tokens.insert(
            access_token.hash,
            StoredToken {
                grant_id: access_token.grant_id,
                scope: token_scope,
                issued_ms: to_ms(access_token.issued_at),
                expires_ms: to_ms(access_token.expires_at),
            },
            now,
            |t, now| t.expires_ms > now,
        );
        ready(Ok(()))
    }

    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send
    {
        let found = self.inner.access_tokens.get(hash).and_then(|token| {
            let grant = self.inner.grants.get(&token.grant_id)?;
            Some((
                AccessTokenRecord {
                    hash: *hash,
                    grant_id: token.grant_id,
                    scope: token.scope,
                    issued_at: from_ms(token.issued_ms),
                    expires_at: from_ms(token.expires_ms),
                },
                GrantRecord {
                    id: token.grant_id,
                    client_id: grant.client_id,
                    subject: grant.subject,
                    scope: grant.scope,
                    created_at: from_ms(grant.created_ms),
                    expires_at: from_ms(grant.expires_ms),
                },
            ))
        });
        ready(Ok(found))
    }

    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // Tokens of a revoked grant are unreachable at once: a lookup requires
        // the grant.
        ready(Ok(self.inner.grants.remove(id).is_some()))
    }

    fn purge_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let now = to_ms(now);
        let grants = self
            .inner
            .grants
            .sweep_all(now, |g, now| g.expires_ms > now);
        let grants_ref = &self.inner.grants;
        let tokens = self.inner.access_tokens.sweep_all(now, |t, now| {
            t.expires_ms > now && grants_ref.contains(&t.grant_id)
        });
        ready(Ok((grants + tokens) as u64))
    }
}

/// The most distinct scopes interned; past it, scopes are stored as they come.
const MAX_INTERNED_SCOPES: usize = 1024;

/// Shares one allocation among all records with the same scope. A server
/// issues millions of tokens over a handful of distinct scopes, so this saves
/// an allocation per live token and, more to the point, a cold free per
/// expired one. Bounded, since requested scopes are only limited to subsets of
/// a client's allowed scope.
#[derive(Default)]
struct ScopeInterner {
    scopes: RwLock<std::collections::HashSet<Scope>>,
}

impl ScopeInterner {
    fn intern(&self, scope: &Scope) -> Scope {
        if scope.is_empty() {
            return Scope::empty();
        }
        if let Some(shared) = read(&self.scopes).get(scope) {
            return shared.clone();
        }
        let mut scopes = write(&self.scopes);
        if scopes.len() < MAX_INTERNED_SCOPES {
            scopes.insert(scope.clone());
        }
        scope.clone()
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
        usize::from(self.as_bytes()[31])
    }
}

impl RandomKey for GrantId {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[15])
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

struct Table<K, V> {
    map: Map<K, V>,
    /// Inserts since the last sweep.
    inserts: usize,
    /// Entries left by the last sweep.
    live_after_sweep: usize,
}

struct Sharded<K, V> {
    shards: [RwLock<Table<K, V>>; SHARDS],
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| {
                RwLock::new(Table {
                    map: Map::default(),
                    inserts: 0,
                    live_after_sweep: 0,
                })
            }),
        }
    }
}

impl<K: RandomKey, V: Clone> Sharded<K, V> {
    fn shard(&self, key: &K) -> &RwLock<Table<K, V>> {
        // `shard()` is always below SHARDS; `get` keeps this panic-free.
        self.shards.get(key.shard()).unwrap_or(&self.shards[0])
    }

    fn get(&self, key: &K) -> Option<V> {
        read(self.shard(key)).map.get(key).cloned()
    }

    fn contains(&self, key: &K) -> bool {
        read(self.shard(key)).map.contains_key(key)
    }

    fn remove(&self, key: &K) -> Option<V> {
        write(self.shard(key)).map.remove(key)
    }

    /// Inserts, then sweeps the shard of entries `live` rejects once it has
    /// taken as many inserts as it had entries after its last sweep (and at
    /// least [`SWEEP_EVERY`]): each sweep is paid for by as many inserts as it
    /// scans, and a shard holds at most about twice its live entries.
    fn insert(&self, key: K, value: V, now: u64, live: impl Fn(&V, u64) -> bool) {
        let mut table = write(self.shard(&key));
        table.map.insert(key, value);
        table.inserts += 1;
        if table.inserts >= SWEEP_EVERY.max(table.live_after_sweep) {
            table.map.retain(|_, v| live(v, now));
            table.inserts = 0;
            table.live_after_sweep = table.map.len();
        }
    }

    fn sweep_all(&self, now: u64, live: impl Fn(&V, u64) -> bool) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut table = write(shard);
            let before = table.map.len();
            table.map.retain(|_, v| live(v, now));
            removed += before - table.map.len();
            table.inserts = 0;
            table.live_after_sweep = table.map.len();
        }
        removed
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).map.len()).sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{TokenKind, mint};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("the memory store never suspends"),
        }
    }

    fn issue(store: &MemoryStore, now: SystemTime, lifetime: Duration) -> (TokenHash, GrantId) {
        let (_, hash) = mint(TokenKind::AccessToken);
        let grant = GrantRecord {
            id: GrantId::generate(),
            client_id: ClientId::new_unchecked("c"),
            subject: None,
            scope: Scope::empty(),
            created_at: now,
            expires_at: now + lifetime,
        };
        let token = AccessTokenRecord {
            hash,
            grant_id: grant.id,
            scope: Scope::empty(),
            issued_at: now,
            expires_at: now + lifetime,
        };
        let id = grant.id;
        block_on(store.create_grant(NewGrant::new(grant, token))).unwrap();
        (hash, id)
    }

    #[test]
    fn expired_entries_are_dropped_without_a_purge() {
        // 1,000 live tokens at any time (lifetime 1,000 s, one issued per
        // second); after 200,000 issued the store holds a small multiple of
        // that, not 200,000.
        let store = MemoryStore::new();
        let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for _ in 0..200_000 {
            issue(&store, now, Duration::from_secs(1000));
            now += Duration::from_secs(1);
        }
        let held = store.access_token_count();
        assert!(held < 2 * 1000 + SHARDS * SWEEP_EVERY, "{held} tokens held");
        assert!(store.grant_count() < 2 * 1000 + SHARDS * SWEEP_EVERY);
        assert!(held >= 1000, "live tokens were dropped");
    }

    #[test]
    fn revoked_grants_take_their_tokens_along() {
        let store = MemoryStore::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let (hash, grant) = issue(&store, now, Duration::from_secs(60));
        assert!(block_on(store.find_access_token(&hash)).unwrap().is_some());
        assert!(block_on(store.revoke_grant(&grant)).unwrap());
        assert!(block_on(store.find_access_token(&hash)).unwrap().is_none());
        // The orphaned token is dropped by a purge even before it expires.
        assert_eq!(block_on(store.purge_expired(now)).unwrap(), 1);
        assert_eq!(store.access_token_count(), 0);
    }
}
