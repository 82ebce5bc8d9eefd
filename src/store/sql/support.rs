//! What every part of the SQL store shares: its errors, the stored form of
//! times and durations, and write transactions. It uses nothing of the
//! store's other modules, so each of them can use it.

use std::time::{Duration, SystemTime};

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::store::StoreError;

/// A pool that opens write transactions.
pub(super) trait WritePool {
    type Db: sqlx::Database;

    /// Begins a transaction that will write. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`): a transaction that read first and
    /// then needed the lock could find the database changed and fail instead
    /// of waiting.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, StoreError>> + Send;
}

impl WritePool for SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.begin_with("BEGIN IMMEDIATE").await.map_err(backend)
    }
}

impl WritePool for PgPool {
    type Db = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.begin().await.map_err(backend)
    }
}

/// A database failure.
pub(super) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

/// A failed insert: a duplicate key is [`StoreError::Conflict`].
pub(super) fn insert_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::backend(error),
    }
}

/// A row that does not decode into a record: changed by hand, or written by
/// something else than this store.
#[derive(Debug, thiserror::Error)]
#[error("a stored row is not valid: {0}")]
struct InvalidRow(&'static str);

pub(super) fn invalid(what: &'static str) -> StoreError {
    StoreError::backend(InvalidRow(what))
}

/// A time as stored: nanoseconds since the Unix epoch, negative before it.
/// Exact for any time within 292 years of 1970; times beyond are clamped.
pub(super) fn to_db_time(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

pub(super) fn from_db_time(ns: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(ns.unsigned_abs());
    let t = if ns >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    };
    // Every i64 of nanoseconds is a representable time on the platforms
    // Rust supports; the fallback keeps this total regardless.
    t.unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A duration as stored: nanoseconds, clamped to `i64::MAX` (292 years).
pub(super) fn to_db_duration(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

pub(super) fn from_db_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_exactly() {
        let times = [
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789),
            SystemTime::UNIX_EPOCH - Duration::new(86_400, 1),
        ];
        for t in times {
            assert_eq!(from_db_time(to_db_time(t)), t);
        }
        // Order is kept, so SQL comparisons agree with `SystemTime`'s.
        assert!(to_db_time(times[2]) < to_db_time(times[0]));
        assert!(to_db_time(times[0]) < to_db_time(times[1]));
    }

    #[test]
    fn far_times_and_durations_clamp() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400 * 366 * 86_400);
        assert_eq!(to_db_time(far), i64::MAX);
        assert_eq!(to_db_duration(Duration::MAX), i64::MAX);
        assert_eq!(from_db_duration(-5), Duration::ZERO);
        assert_eq!(
            from_db_duration(to_db_duration(Duration::from_millis(5_001))),
            Duration::from_millis(5_001)
        );
    }
}
