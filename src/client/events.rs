//! Security events that an attack cannot turn into a flood of log lines.
//!
//! A guesser produces a failure per request; a warning per failure let one
//! attacker write tens of megabytes of logs a minute. Repeated events for one
//! key (a client, a user, a source) are aggregated instead: the first is
//! written in full, the rest are counted, and at most one summary per key
//! and interval says how many there were (`repeated`, over `window_secs`).
//!
//! Memory and lines stay bounded however many keys an attacker uses: at most
//! [`CAPACITY`] keys are tracked (the oldest forgotten first), at most
//! `CAPACITY` first events are written per interval, and events for keys
//! beyond that are counted into one `security_events_suppressed` summary per
//! interval. So an attack writes at most about `2 × CAPACITY + 1` lines per
//! interval, whatever its rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The most keys tracked, and the most first events written per interval.
pub(crate) const CAPACITY: usize = 1024;

/// How often a key's repeated events are summarised.
pub(crate) const INTERVAL: Duration = Duration::from_secs(60);

/// What to write for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    /// The first event for its key in an interval: write it in full.
    First,
    /// Nothing: it is counted towards a later summary.
    Counted,
}

#[derive(Debug)]
struct Entry {
    /// When the key's current interval began.
    since: SystemTime,
    /// Events counted, not written, since then.
    repeated: u64,
}

#[derive(Debug)]
struct State {
    entries: HashMap<(&'static str, String), Entry>,
    /// When the current interval of the whole aggregator began.
    since: Option<SystemTime>,
    /// First events written in it.
    written: usize,
    /// Events for keys past the capacity, in it, by event name.
    overflow: HashMap<&'static str, u64>,
}

/// The aggregator: one per place that reports (client authentication, the
/// password grant, user-code lookups).
#[derive(Debug)]
pub(crate) struct SecurityEvents {
    state: Mutex<State>,
    capacity: usize,
}

impl Default for SecurityEvents {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

fn elapsed(since: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or(Duration::ZERO)
}

impl SecurityEvents {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                entries: HashMap::new(),
                since: None,
                written: 0,
                overflow: HashMap::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    /// Notes one `event` for `key` at `now`, writing any summary due, and
    /// says whether the caller writes the event itself.
    pub(crate) fn note(&self, event: &'static str, key: &str, now: SystemTime) -> Report {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *state;
        let since = *state.since.get_or_insert(now);
        if elapsed(since, now) >= INTERVAL {
            rollover(state, now);
        }
        let entry_key = (event, key.to_owned());
        if let Some(entry) = state.entries.get_mut(&entry_key) {
            let window = elapsed(entry.since, now);
            if window < INTERVAL {
                entry.repeated = entry.repeated.saturating_add(1);
                return Report::Counted;
            }
            // A key attacked without pause: one summary per interval, this
            // event included.
            summary(event, key, entry.repeated.saturating_add(1), window);
            entry.since = now;
            entry.repeated = 0;
            return Report::Counted;
        }
        if state.written >= self.capacity {
            let n = state.overflow.entry(event).or_insert(0);
            *n = n.saturating_add(1);
            return Report::Counted;
        }
        if state.entries.len() >= self.capacity {
            evict_oldest(state);
        }
        state.written += 1;
        state.entries.insert(
            entry_key,
            Entry {
                since: now,
                repeated: 0,
            },
        );
        Report::First
    }
}

/// Starts a new interval: summarises and forgets the keys whose interval is
/// over, and the events past the capacity.
fn rollover(state: &mut State, now: SystemTime) {
    state.since = Some(now);
    state.written = 0;
    state.entries.retain(|(event, key), entry| {
        let window = elapsed(entry.since, now);
        if window < INTERVAL {
            return true;
        }
        if entry.repeated > 0 {
            summary(event, key, entry.repeated, window);
        }
        false
    });
    for (event, repeated) in state.overflow.drain() {
        tracing::warn!(
            target: "portcullis::security",
            event = "security_events_suppressed",
            suppressed_event = event,
            repeated,
            window_secs = INTERVAL.as_secs(),
            "{repeated} more {event} events for untracked keys",
        );
    }
}

/// Forgets the key tracked longest, writing its summary.
fn evict_oldest(state: &mut State) {
    let oldest = state
        .entries
        .iter()
        .min_by_key(|(_, entry)| entry.since)
        .map(|(k, _)| k.clone());
    if let Some(k) = oldest {
        if let Some(entry) = state.entries.remove(&k) {
            if entry.repeated > 0 {
                let window = state
                    .since
                    .map_or(Duration::ZERO, |s| elapsed(entry.since, s));
                summary(k.0, &k.1, entry.repeated, window);
            }
        }
    }
}

fn summary(event: &'static str, key: &str, repeated: u64, window: Duration) {
    tracing::warn!(
        target: "portcullis::security",
        event,
        key = ?loggable(key),
        repeated,
        window_secs = window.as_secs(),
        "{repeated} more {event} events for this key",
    );
}

/// A request-supplied identifier, bounded for logs (it is escaped by `?`).
pub(crate) fn loggable(id: &str) -> &str {
    match id.char_indices().nth(128) {
        Some((cut, _)) => id.get(..cut).unwrap_or(id),
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_is_written_once_per_interval() {
        let events = SecurityEvents::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(events.note("e", "k", t0), Report::First);
        for i in 0..1000 {
            let at = t0 + Duration::from_millis(i);
            assert_eq!(events.note("e", "k", at), Report::Counted);
        }
        assert_eq!(events.note("other", "k", t0), Report::First);
    }

    #[test]
    fn distinct_keys_are_bounded_by_the_capacity() {
        let events = SecurityEvents::with_capacity(4);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let firsts = (0..100)
            .filter(|i| events.note("e", &format!("k{i}"), t0) == Report::First)
            .count();
        assert_eq!(firsts, 4);
        let state = events.state.lock().unwrap();
        assert_eq!(state.entries.len(), 4);
        assert_eq!(state.overflow.get("e"), Some(&96));
    }
}
