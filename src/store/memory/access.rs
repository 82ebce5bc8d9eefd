//! The access tokens of one memory-store shard: an open-addressing table
//! whose slots hold a token's hash together with everything validating the
//! token needs, so that a lookup reads one slot.
//!
//! Validation at a resource server is the store's hottest read, and with
//! many live tokens every lookup misses the CPU caches. A general-purpose
//! map reads its control bytes, then its entry, each a dependent miss; and a
//! token whose grant lives in another entry needs two such lookups. Here the
//! keys are SHA-256 digests, already uniformly random, so a slot's position
//! comes straight from the digest's first bytes, and each slot is 128 bytes
//! aligned to 128: the key and the value in two adjacent cache lines of one
//! page, so one page walk and two overlapping misses. Collisions probe
//! linearly, and removal shifts the displaced entries back (no tombstones),
//! so a lookup stops at the first empty slot.

use std::collections::HashMap;
use std::sync::Arc;

use crate::client::ClientId;
use crate::protocol::{AuthorizationDetails, ResourceSet, Scope};
use crate::store::{GrantId, Subject, TokenExchangeRecord};
use crate::token::{Confirmation, TokenHash};

/// An access token as the memory store keeps it: the token's own fields and
/// what a lookup needs of its grant, copied when the token is stored — a
/// grant never changes once made, so the copies cannot go stale. Revocation
/// of the grant is the one thing not copied (see `Shard::revoked`). The
/// grant's scope is copied only as a flag that it is the token's (as it is
/// for every token but those narrowed at issue): the slot has no room for a
/// second scope, and a narrowed token's lookup reads the grant's entry.
#[derive(Clone)]
pub(super) struct AccessEntry {
    pub(super) grant_id: GrantId,
    pub(super) client_id: ClientId,
    pub(super) subject: Option<Subject>,
    pub(super) scope: Scope,
    pub(super) issued_ms: u64,
    pub(super) expires_ms: u64,
    pub(super) grant_expires_ms: u64,
    /// When the grant was made, in milliseconds, and two flags in the top
    /// bits, which no time in milliseconds since 1970 reaches:
    /// [`GRANT_SCOPE`](Self::GRANT_SCOPE) and [`SEALED`](Self::SEALED). (A
    /// field of its own for each would take the slot past 128 bytes.)
    pub(super) grant_created: u64,
}

impl AccessEntry {
    /// The flag that the token's scope is its grant's.
    pub(super) const GRANT_SCOPE: u64 = 1 << 63;

    /// The flag that the grant has no other secret and is kept nowhere
    /// else: this entry is the grant (a client credentials or implicit
    /// grant, say). Its scope, creation and expiry are the token's, its
    /// identifier locates this entry ([`AccessTable::take_sealed`]), and
    /// revoking it removes this entry.
    pub(super) const SEALED: u64 = 1 << 62;

    /// The flag that the token has an audience (RFC 8707), kept beside the
    /// table ([`AccessTable::audience`]): few tokens have one, and the slot
    /// has no room for it.
    pub(super) const AUDIENCE: u64 = 1 << 61;

    /// The flag that the token was issued by token exchange (RFC 8693),
    /// what it keeps of that beside the table
    /// ([`AccessTable::exchange`]).
    pub(super) const EXCHANGE: u64 = 1 << 60;

    /// The flag that the token is bound to a key (RFC 9449 §6), kept
    /// beside the table ([`AccessTable::confirmation`]) like an audience.
    pub(super) const CNF: u64 = 1 << 59;

    /// The flag that the token carries authorization details (RFC 9396
    /// §6.2), kept beside the table ([`AccessTable::details`]) like an
    /// audience.
    pub(super) const DETAILS: u64 = 1 << 58;

    const FLAGS: u64 = Self::GRANT_SCOPE
        | Self::SEALED
        | Self::AUDIENCE
        | Self::EXCHANGE
        | Self::CNF
        | Self::DETAILS;

    /// Whether the token carries authorization details.
    fn has_details(&self) -> bool {
        self.grant_created & Self::DETAILS != 0
    }

    /// Whether the token is bound to a key.
    fn has_cnf(&self) -> bool {
        self.grant_created & Self::CNF != 0
    }

    /// `grant_created` for a grant made at `created_ms` with these flags.
    pub(super) fn grant_created(created_ms: u64, flags: u64) -> u64 {
        (created_ms & !Self::FLAGS) | flags
    }

    /// When the grant was made, in milliseconds.
    pub(super) fn grant_created_ms(&self) -> u64 {
        self.grant_created & !Self::FLAGS
    }

    /// Whether the token has an audience.
    fn has_audience(&self) -> bool {
        self.grant_created & Self::AUDIENCE != 0
    }

    /// Whether the token was issued by token exchange.
    fn has_exchange(&self) -> bool {
        self.grant_created & Self::EXCHANGE != 0
    }

    /// Whether the token's scope is its grant's.
    pub(super) fn has_grant_scope(&self) -> bool {
        self.grant_created & Self::GRANT_SCOPE != 0
    }

    /// Whether this entry is its grant (see [`SEALED`](Self::SEALED)).
    pub(super) fn sealed(&self) -> bool {
        self.grant_created & Self::SEALED != 0
    }

    /// Whether the token is live at `now` as far as the entry alone can
    /// tell: neither it nor its grant has expired.
    pub(super) fn live_at(&self, now_ms: u64) -> bool {
        self.expires_ms > now_ms && self.grant_expires_ms > now_ms
    }
}

/// One slot: a token's hash and its entry, or nothing. Aligned to 128 bytes
/// so a slot is exactly two cache lines and never straddles a page.
#[repr(C, align(128))]
struct Slot {
    hash: TokenHash,
    entry: Option<AccessEntry>,
}

// The layout this table is for: a slot in two cache lines.
const _: () = assert!(std::mem::size_of::<Slot>() == 128);

impl Slot {
    fn empty() -> Self {
        Self {
            hash: TokenHash::from_bytes([0; 32]),
            entry: None,
        }
    }
}

/// The fewest slots a table that holds anything has.
const MIN_SLOTS: usize = 16;

/// A table grows when an insert would fill more than MAX_LOAD_NUM /
/// MAX_LOAD_DEN of its slots, to twice its entries (half full): a lookup of a
/// live token reads 1.5 to 2.5 slots on average, mostly the first.
const MAX_LOAD_NUM: usize = 3;
const MAX_LOAD_DEN: usize = 4;

/// The home slot of a key whose first four bytes are `prefix`, among `slots`
/// (a multiply-shift, so any table size works).
fn home(prefix: [u8; 4], slots: usize) -> usize {
    let x = u64::from(u32::from_le_bytes(prefix));
    // `x < 2^32`, so the product shifted down is below `slots`.
    usize::try_from((x * slots as u64) >> 32).unwrap_or(0)
}

fn prefix(bytes: &[u8]) -> [u8; 4] {
    bytes.first_chunk::<4>().copied().unwrap_or_default()
}

/// The access tokens of one shard, by hash.
#[derive(Default)]
pub(super) struct AccessTable {
    slots: Vec<Slot>,
    len: usize,
    /// How many entries are sealed (each is also a grant).
    sealed: usize,
    /// The audiences of the entries flagged [`AccessEntry::AUDIENCE`].
    audiences: HashMap<TokenHash, ResourceSet>,
    /// What the entries flagged [`AccessEntry::EXCHANGE`] keep of their
    /// token exchange.
    exchanges: HashMap<TokenHash, Arc<TokenExchangeRecord>>,
    /// The key bindings of the entries flagged [`AccessEntry::CNF`].
    confirmations: HashMap<TokenHash, Confirmation>,
    /// The authorization details of the entries flagged
    /// [`AccessEntry::DETAILS`].
    details: HashMap<TokenHash, AuthorizationDetails>,
}

impl AccessTable {
    /// How many tokens are held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// How many of them are sealed grants.
    pub(super) fn sealed(&self) -> usize {
        self.sealed
    }

    /// The next slot after `i`, wrapping.
    fn next(&self, i: usize) -> usize {
        if i + 1 >= self.slots.len() { 0 } else { i + 1 }
    }

    /// The slot holding `hash`.
    fn position(&self, hash: &TokenHash) -> Option<usize> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let mut i = home(prefix(hash.as_bytes()), n);
        // An empty slot ends the probe; the load limit guarantees one, and
        // the bound keeps even a full table from looping.
        for _ in 0..n {
            let slot = self.slots.get(i)?;
            slot.entry.as_ref()?;
            if slot.hash == *hash {
                return Some(i);
            }
            i = self.next(i);
        }
        None
    }

    /// The token with this hash.
    pub(super) fn get(&self, hash: &TokenHash) -> Option<&AccessEntry> {
        self.slots.get(self.position(hash)?)?.entry.as_ref()
    }

    /// The audience of the token with this hash and entry (RFC 8707).
    pub(super) fn audience(&self, hash: &TokenHash, entry: &AccessEntry) -> ResourceSet {
        if entry.has_audience() {
            self.audiences.get(hash).cloned().unwrap_or_default()
        } else {
            ResourceSet::empty()
        }
    }

    /// What the token with this hash and entry keeps of its token exchange
    /// (RFC 8693), if it was issued by one.
    pub(super) fn exchange(
        &self,
        hash: &TokenHash,
        entry: &AccessEntry,
    ) -> Option<Arc<TokenExchangeRecord>> {
        if entry.has_exchange() {
            self.exchanges.get(hash).cloned()
        } else {
            None
        }
    }

    /// The key binding of the token with this hash and entry (RFC 9449 §6).
    pub(super) fn confirmation(
        &self,
        hash: &TokenHash,
        entry: &AccessEntry,
    ) -> Option<Confirmation> {
        if entry.has_cnf() {
            self.confirmations.get(hash).cloned()
        } else {
            None
        }
    }

    /// The authorization details the token with this hash and entry carries
    /// (RFC 9396 §6.2); empty for none.
    pub(super) fn details(&self, hash: &TokenHash, entry: &AccessEntry) -> AuthorizationDetails {
        if entry.has_details() {
            self.details.get(hash).cloned().unwrap_or_default()
        } else {
            AuthorizationDetails::empty()
        }
    }

    /// Records that the token with this hash, already held, was issued by
    /// token exchange.
    pub(super) fn set_exchange(&mut self, hash: TokenHash, exchange: Arc<TokenExchangeRecord>) {
        let Some(i) = self.position(&hash) else {
            return;
        };
        if let Some(entry) = self.slots.get_mut(i).and_then(|s| s.entry.as_mut()) {
            entry.grant_created |= AccessEntry::EXCHANGE;
            self.exchanges.insert(hash, exchange);
        }
    }

    /// Stores a token with its audience, key binding and authorization
    /// details, replacing any with the same hash. Only bound tokens touch
    /// the bindings' side table, only tokens with details the details'.
    pub(super) fn insert_bound(
        &mut self,
        hash: TokenHash,
        mut entry: AccessEntry,
        audience: ResourceSet,
        (cnf, details): (Option<Confirmation>, AuthorizationDetails),
    ) {
        entry.grant_created &= !(AccessEntry::CNF | AccessEntry::DETAILS);
        if let Some(cnf) = cnf {
            entry.grant_created |= AccessEntry::CNF;
            self.confirmations.insert(hash, cnf);
        }
        if !details.is_empty() {
            entry.grant_created |= AccessEntry::DETAILS;
            self.details.insert(hash, details);
        }
        self.insert(hash, entry, audience);
    }

    /// Stores a token with its audience, replacing any with the same hash.
    pub(super) fn insert(
        &mut self,
        hash: TokenHash,
        mut entry: AccessEntry,
        audience: ResourceSet,
    ) {
        entry.grant_created &= !(AccessEntry::AUDIENCE | AccessEntry::EXCHANGE);
        // Only tokens with an audience touch the side table: the common
        // path hashes nothing more.
        if !audience.is_empty() {
            entry.grant_created |= AccessEntry::AUDIENCE;
            self.audiences.insert(hash, audience);
        }
        let has_audience = entry.has_audience();
        let has_cnf = entry.has_cnf();
        let has_details = entry.has_details();
        if (self.len + 1) * MAX_LOAD_DEN > self.slots.len() * MAX_LOAD_NUM {
            self.resize(((self.len + 1) * 2).max(MIN_SLOTS));
        }
        if entry.sealed() {
            self.sealed += 1;
        }
        if let Some(old) = self.place(hash, entry) {
            // A replaced entry's audience goes unless the new one has its own.
            if old.has_audience() && !has_audience {
                self.audiences.remove(&hash);
            }
            if old.has_exchange() {
                self.exchanges.remove(&hash);
            }
            if old.has_cnf() && !has_cnf {
                self.confirmations.remove(&hash);
            }
            if old.has_details() && !has_details {
                self.details.remove(&hash);
            }
            if old.sealed() {
                self.sealed -= 1;
            }
        } else {
            self.len += 1;
        }
    }

    /// Puts an entry in its probe sequence; returns the one it replaced.
    /// The caller keeps the counts and ensures there is room.
    fn place(&mut self, hash: TokenHash, entry: AccessEntry) -> Option<AccessEntry> {
        let n = self.slots.len();
        let mut i = home(prefix(hash.as_bytes()), n);
        for _ in 0..n {
            let next = self.next(i);
            let slot = self.slots.get_mut(i)?;
            match &mut slot.entry {
                None => {
                    slot.hash = hash;
                    slot.entry = Some(entry);
                    return None;
                }
                Some(held) if slot.hash == hash => {
                    return Some(std::mem::replace(held, entry));
                }
                Some(_) => i = next,
            }
        }
        // Unreachable: an insert first makes room.
        None
    }

    /// Removes the token with this hash; returns its entry and audience.
    pub(super) fn remove(&mut self, hash: &TokenHash) -> Option<(AccessEntry, ResourceSet)> {
        let i = self.position(hash)?;
        let audience = self.audiences.get(hash).cloned().unwrap_or_default();
        self.remove_at(i).map(|entry| (entry, audience))
    }

    /// Removes the sealed grant `id` with its token, if held here: its token
    /// has the first bytes of the grant's identifier
    /// (`derive_grant_id`), so its probe sequence is the same.
    pub(super) fn take_sealed(&mut self, id: &GrantId) -> Option<AccessEntry> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let mut i = home(prefix(id.as_bytes()), n);
        for _ in 0..n {
            let entry = self.slots.get(i)?.entry.as_ref()?;
            if entry.sealed() && entry.grant_id == *id {
                return self.remove_at(i);
            }
            i = self.next(i);
        }
        None
    }

    /// The entry of the sealed grant `id`'s token, if held here, and its
    /// hash; the table is unchanged.
    pub(super) fn find_sealed(&self, id: &GrantId) -> Option<(TokenHash, &AccessEntry)> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let mut i = home(prefix(id.as_bytes()), n);
        for _ in 0..n {
            let slot = self.slots.get(i)?;
            let entry = slot.entry.as_ref()?;
            if entry.sealed() && entry.grant_id == *id {
                return Some((slot.hash, entry));
            }
            i = self.next(i);
        }
        None
    }

    /// Turns the sealed grant `id`'s token, if held here, into an ordinary
    /// token of the grant, which the caller then keeps in an entry of its
    /// own; returns the token's hash and entry (as they were sealed).
    pub(super) fn unseal(&mut self, id: &GrantId) -> Option<(TokenHash, AccessEntry)> {
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let mut i = home(prefix(id.as_bytes()), n);
        for _ in 0..n {
            let slot = self.slots.get_mut(i)?;
            let entry = slot.entry.as_mut()?;
            if entry.sealed() && entry.grant_id == *id {
                let found = (slot.hash, entry.clone());
                entry.grant_created &= !AccessEntry::SEALED;
                self.sealed -= 1;
                return Some(found);
            }
            i = self.next(i);
        }
        None
    }

    /// Empties slot `hole` and shifts back the entries after it that probed
    /// past it, so every entry stays reachable from its home slot without
    /// crossing an empty one.
    fn remove_at(&mut self, mut hole: usize) -> Option<AccessEntry> {
        let n = self.slots.len();
        let slot = self.slots.get_mut(hole)?;
        let removed = slot.entry.take()?;
        if removed.has_audience() {
            self.audiences.remove(&slot.hash);
        }
        if removed.has_exchange() {
            self.exchanges.remove(&slot.hash);
        }
        if removed.has_cnf() {
            self.confirmations.remove(&slot.hash);
        }
        if removed.has_details() {
            self.details.remove(&slot.hash);
        }
        self.len -= 1;
        if removed.sealed() {
            self.sealed -= 1;
        }
        let mut j = hole;
        for _ in 0..n {
            j = self.next(j);
            let Some(slot) = self.slots.get(j) else { break };
            if slot.entry.is_none() {
                break;
            }
            let h = home(prefix(slot.hash.as_bytes()), n);
            // The entry at `j` may move to the hole if the hole lies on its
            // probe sequence: from its home up to `j`, cyclically.
            if (j + n - h) % n >= (j + n - hole) % n {
                self.slots.swap(hole, j);
                hole = j;
            }
        }
        Some(removed)
    }

    /// Keeps only the entries for which `keep` holds; returns the removed
    /// entries and how many of them were sealed. Shrinks the table when it
    /// is mostly empty.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&AccessEntry) -> bool) -> (usize, usize) {
        let (len, sealed) = (self.len, self.sealed);
        let n = self.slots.len();
        // Start at an empty slot, so that no run of entries wraps past the
        // start: a removal only shifts entries from later in the walk into
        // the slot just examined, which is then examined again.
        if let Some(start) = self.slots.iter().position(|s| s.entry.is_none()) {
            let mut offset = 0;
            while offset < n {
                let i = (start + offset) % n;
                let drop = self
                    .slots
                    .get(i)
                    .and_then(|s| s.entry.as_ref())
                    .is_some_and(|e| !keep(e));
                if drop {
                    self.remove_at(i);
                } else {
                    offset += 1;
                }
            }
        }
        // Below an eighth full: far enough under the growth threshold that
        // a shard swept at steady state does not shrink and grow each round.
        if self.len * 8 < n && n > MIN_SLOTS {
            self.resize(if self.len == 0 {
                0
            } else {
                (self.len * 2).max(MIN_SLOTS)
            });
        }
        (len - self.len, sealed - self.sealed)
    }

    /// Moves every entry into a table of `slots` slots.
    fn resize(&mut self, slots: usize) {
        let mut fresh = Vec::with_capacity(slots);
        fresh.resize_with(slots, Slot::empty);
        let old = std::mem::replace(&mut self.slots, fresh);
        for slot in old {
            if let Some(entry) = slot.entry {
                self.place(slot.hash, entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(grant_id: GrantId, sealed: bool) -> AccessEntry {
        AccessEntry {
            grant_id,
            client_id: ClientId::new_unchecked("c"),
            subject: None,
            scope: Scope::empty(),
            issued_ms: 0,
            expires_ms: 10,
            grant_expires_ms: 10,
            grant_created: AccessEntry::grant_created(
                0,
                if sealed {
                    AccessEntry::SEALED | AccessEntry::GRANT_SCOPE
                } else {
                    0
                },
            ),
        }
    }

    /// A hash whose home is slot `home` of 16 and whose last bytes are `n`.
    fn hash_at(home: u8, n: u32) -> TokenHash {
        let mut bytes = [0u8; 32];
        // home(prefix, 16) = prefix * 16 >> 32: the top four bits.
        bytes[3] = home << 4;
        bytes[28..].copy_from_slice(&n.to_le_bytes());
        TokenHash::from_bytes(bytes)
    }

    fn check(table: &AccessTable, held: &[TokenHash], gone: &[TokenHash]) {
        assert_eq!(table.len(), held.len());
        for h in held {
            assert!(table.get(h).is_some(), "{h:?} lost");
        }
        for h in gone {
            assert!(table.get(h).is_none(), "{h:?} still held");
        }
    }

    #[test]
    fn colliding_keys_survive_removals_around_the_wrap() {
        // Twelve keys crowded onto the last three home slots of a 16-slot
        // table, so their run wraps past the end; remove them in an order
        // that shifts entries back across the wrap.
        let mut table = AccessTable::default();
        let keys: Vec<_> = (0..12).map(|n| hash_at(13 + (n % 3) as u8, n)).collect();
        for (n, k) in keys.iter().enumerate() {
            table.insert(*k, entry(GrantId::generate(), false), audience(n));
        }
        assert_eq!(table.slots.len(), 16);
        let mut held = keys.clone();
        let mut gone = Vec::new();
        for i in [0, 5, 1, 11, 3, 7, 2, 10, 4, 6, 9, 8] {
            assert_eq!(table.remove(&keys[i]).map(|(_, a)| a), Some(audience(i)));
            assert!(table.remove(&keys[i]).is_none());
            held.retain(|k| *k != keys[i]);
            gone.push(keys[i]);
            check(&table, &held, &gone);
            // Every entry still held keeps its own audience, and a removed
            // one's is gone from beside the table.
            for (n, k) in keys.iter().enumerate() {
                if let Some(e) = table.get(k) {
                    assert_eq!(table.audience(k, e), audience(n));
                }
            }
            assert_eq!(
                table.audiences.len(),
                held.iter()
                    .filter(|k| keys.iter().position(|x| x == *k).unwrap() % 2 == 1)
                    .count()
            );
        }
    }

    /// An audience for every odd key, none for the even ones.
    fn audience(n: usize) -> ResourceSet {
        if n % 2 == 0 {
            ResourceSet::empty()
        } else {
            ResourceSet::new([crate::protocol::ResourceIndicator::new(&format!(
                "https://{n}.example"
            ))
            .unwrap()])
        }
    }

    #[test]
    fn retain_visits_every_entry_once_and_shrinks() {
        let mut table = AccessTable::default();
        let keys: Vec<_> = (0..2000).map(|_| TokenHash::of(&rand_text())).collect();
        for (i, k) in keys.iter().enumerate() {
            table.insert(*k, entry(GrantId::generate(), i % 3 == 0), audience(i));
        }
        assert_eq!(table.sealed(), 667);
        let mut seen = 0;
        // Drop all but every tenth: the walk sees each entry exactly once.
        let mut index = 0usize;
        let keep_every_tenth = |_: &AccessEntry| {
            seen += 1;
            index += 1;
            index % 10 == 0
        };
        let (removed, _) = table.retain(keep_every_tenth);
        assert_eq!(seen, 2000);
        assert_eq!(removed, 1800);
        assert_eq!(table.len(), 200);
        assert!(table.slots.len() <= 8 * 200, "{} slots", table.slots.len());
        assert_eq!(keys.iter().filter(|k| table.get(k).is_some()).count(), 200);
        let (removed, sealed) = table.retain(|_| false);
        assert_eq!((removed, table.len(), table.sealed()), (200, 0, 0));
        assert!(sealed <= 200);
        assert!(table.slots.is_empty());
        assert!(table.audiences.is_empty());
    }

    #[test]
    fn sealed_grants_are_found_by_their_identifier() {
        let mut table = AccessTable::default();
        let mut sealed = Vec::new();
        for i in 0..500 {
            let hash = TokenHash::of(&rand_text());
            let id = crate::store::memory::derive_grant_id(&hash);
            table.insert(hash, entry(id, i % 2 == 0), ResourceSet::empty());
            sealed.push((hash, id, i % 2 == 0));
        }
        for (hash, id, is_sealed) in &sealed {
            assert_eq!(table.take_sealed(id).is_some(), *is_sealed);
            assert_eq!(table.get(hash).is_some(), !*is_sealed);
        }
        assert_eq!((table.len(), table.sealed()), (250, 0));
    }

    fn rand_text() -> String {
        crate::token::mint(crate::token::TokenKind::AccessToken).0
    }
}
