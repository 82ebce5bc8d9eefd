//! The SQL store: every storage trait on SQLite (embedded, bundled) or
//! PostgreSQL (shared by a fleet of replicas), through `sqlx`.
//!
//! # Atomicity
//!
//! Every operation of [`TokenStore`](super::TokenStore) and
//! [`ClientRegistry`](crate::client::ClientRegistry) is one SQL statement or
//! one transaction, written so that it holds under PostgreSQL's default READ
//! COMMITTED isolation (a conditional `UPDATE` re-checks its `WHERE` on the
//! row version it locks, so of two racing statements exactly one matches) and
//! under SQLite's database lock (write transactions begin `IMMEDIATE`, so they
//! queue instead of failing to upgrade). On PostgreSQL the operations of a
//! token request — issuing, redeeming a code, rotating a refresh token,
//! polling with a device code — are each a single statement: one round trip,
//! which with the client lookup makes two per token request.
//!
//! # Throttling
//!
//! [`SqlStore::limiter`] gives an [`AuthLimiter`](crate::client::AuthLimiter)
//! whose counts every replica sharing the database sees, for one more round
//! trip per client authentication.
//!
//! # Revocation
//!
//! Tokens and codes refer to their grant without a foreign key, and every
//! lookup joins on the grant: deleting the grant's row makes all of them
//! unfindable at once, in one single-row statement however many tokens the
//! grant has, and without taking locks that issuance also takes.
//! [`purge_expired`](super::TokenStore::purge_expired) deletes the orphans.
//!
//! # Secrets
//!
//! Only hashes are stored: [`TokenHash`](crate::token::TokenHash) bytes for
//! tokens, codes, handles and registration access tokens, and clients in their
//! `serde` form, whose secret is its stored hash. Deserialising a client
//! re-validates it.

mod clients;
mod limiter;
pub use limiter::SqlLimiter;
mod postgres;
mod rows;
mod schema;
mod sqlite;
mod tokens;

use std::fmt;
use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;

/// Connections a PostgreSQL store keeps at most. Each operation holds one for
/// a single statement (or one short transaction), so a few serve many
/// concurrent requests.
const POSTGRES_CONNECTIONS: u32 = 10;

/// Connections to a SQLite file. Readers run in parallel (WAL); writers take
/// turns on the database lock whatever the count.
const SQLITE_FILE_CONNECTIONS: u32 = 4;

/// How long a SQLite writer waits for the database lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often, and after how long, opening a SQLite file found busy is
/// retried: two seconds in all.
const SQLITE_OPEN_RETRIES: u32 = 100;
const SQLITE_OPEN_RETRY_DELAY: Duration = Duration::from_millis(20);

/// A [`ClientRegistry`](crate::client::ClientRegistry) and
/// [`TokenStore`](super::TokenStore) on SQL: SQLite, embedded (the database
/// engine is compiled in; no server), or PostgreSQL, which any number of
/// server replicas can share. Available with the `sql` feature.
///
/// Opening a store creates its tables, or migrates them to this version's
/// schema; replicas opening one PostgreSQL database at once take turns. Keep
/// the store in a database (SQLite file, PostgreSQL database or schema) of
/// its own: its tables have plain names (`clients`, `grants`, …).
///
/// Cloning is cheap (clones share the connection pool), so one value serves
/// as both the server's client registry and its token store. The store needs
/// a Tokio runtime. Expired rows stay until
/// [`AuthorizationServer::purge_expired`](crate::AuthorizationServer::purge_expired)
/// (or [`TokenStore::purge_expired`](super::TokenStore::purge_expired))
/// deletes them: call it periodically.
///
/// ```
/// use portcullis::client::ClientRegistration;
/// use portcullis::grant::ClientCredentialsGrant;
/// use portcullis::protocol::GrantType;
/// use portcullis::store::SqlStore;
/// use portcullis::AuthorizationServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A file path keeps state across restarts; ":memory:" keeps none.
/// let store = SqlStore::sqlite(":memory:").await?;
/// // For a fleet: SqlStore::postgres("postgres://auth@db.internal/portcullis").await?
/// let server = AuthorizationServer::builder("https://auth.example")
///     .clients(store.clone())
///     .tokens(store)
///     .grant(ClientCredentialsGrant)
///     .build()?;
///
/// let registered = server
///     .register_client(
///         ClientRegistration::web_application()
///             .grant_type(GrantType::CLIENT_CREDENTIALS)
///             .scope("reports:read".parse()?),
///     )
///     .await?;
/// let secret = registered.secret.expect("confidential clients get a secret");
/// use base64::Engine as _;
/// let basic = base64::engine::general_purpose::STANDARD
///     .encode(format!("{}:{}", registered.client.id(), secret.expose_secret()));
/// let request = http::Request::post("/token")
///     .header("authorization", format!("Basic {basic}"))
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(b"grant_type=client_credentials".to_vec())?;
/// let response = server.token_endpoint(request).await;
/// assert_eq!(response.status(), 200);
///
/// // The token was stored (as its hash) and is found again.
/// let body: serde_json::Value = serde_json::from_slice(response.body())?;
/// let token = body["access_token"].as_str().unwrap();
/// assert!(server.access_token_info(token).await?.is_some());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqlStore {
    pool: Pool,
}

/// The connection pool of one of the two backends.
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool the store has. The body
/// is compiled once per backend, so it may use any `sqlx` API both support;
/// SQL in it must be valid in both dialects (`$1` placeholders are).
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::sql::Pool::Sqlite($pool) => $body,
            $crate::store::sql::Pool::Postgres($pool) => $body,
        }
    };
}
use on_pool;

impl SqlStore {
    /// Opens (creating it if needed) the SQLite database at `path`, or, for
    /// `":memory:"`, a fresh database in memory that lives as long as the
    /// store and its clones. Creates or migrates the schema.
    ///
    /// A file is opened in WAL mode with full synchronisation: a token
    /// request's writes are on disk when the response leaves.
    pub async fn sqlite(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let (pool_options, options) = sqlite_options(path.as_ref())?;
        let pool_options = pool_options.test_before_acquire(false);
        // Switching a new file to WAL takes an exclusive lock that SQLite
        // does not wait for: stores opening one new file at once can find it
        // busy. Such an open is retried; a busy lock held longer than the
        // retries last is an error.
        let mut retries = SQLITE_OPEN_RETRIES;
        let pool = loop {
            match pool_options.clone().connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(error) if retries > 0 && is_busy(&error) => {
                    retries -= 1;
                    tokio::time::sleep(SQLITE_OPEN_RETRY_DELAY).await;
                }
                Err(error) => return Err(backend(error)),
            }
        };
        schema::migrate_sqlite(&pool).await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    /// Connects to PostgreSQL at `url` (`postgres://user:password@host/db`,
    /// with the usual `sslmode`, `options` … parameters) and creates or
    /// migrates the schema. The tables go where the connection's
    /// `search_path` puts them: `?options[search_path]=auth` keeps them in the
    /// schema `auth`, which must exist.
    ///
    /// Connections are opened as needed, up to ten, and not tested before
    /// each use, so an operation costs one round trip; a broken connection
    /// fails its operation and is replaced.
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(backend)?;
        schema::migrate_postgres(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// Closes the connections, waiting for operations in progress to finish;
    /// the store (and every clone) fails every operation afterwards. Dropping
    /// the last clone closes them too, without waiting.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// How to open the SQLite database at `path`.
fn sqlite_options(path: &Path) -> Result<(SqlitePoolOptions, SqliteConnectOptions), StoreError> {
    if path == Path::new(":memory:") {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend)?;
        // One connection that never closes: the database lives with it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        return Ok((pool, options));
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new().max_connections(SQLITE_FILE_CONNECTIONS);
    Ok((pool, options))
}

impl fmt::Debug for SqlStore {
    // The pool's options hold the connection URL, and with it perhaps a
    // password: only the backend and the pool's size are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (backend, connections) = match &self.pool {
            Pool::Sqlite(pool) => ("sqlite", pool.size()),
            Pool::Postgres(pool) => ("postgres", pool.size()),
        };
        f.debug_struct("SqlStore")
            .field("backend", &backend)
            .field("connections", &connections)
            .finish()
    }
}

/// A pool that opens write transactions.
trait WritePool {
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

/// Whether SQLite answered `SQLITE_BUSY` (in any of its extended forms).
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    match error {
        sqlx::Error::Database(e) => e
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_BUSY),
        _ => false,
    }
}

/// A database failure.
fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

/// A failed insert: a duplicate key is [`StoreError::Conflict`].
fn insert_error(error: sqlx::Error) -> StoreError {
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

fn invalid(what: &'static str) -> StoreError {
    StoreError::backend(InvalidRow(what))
}

/// A time as stored: nanoseconds since the Unix epoch, negative before it.
/// Exact for any time within 292 years of 1970; times beyond are clamped.
fn to_db_time(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn from_db_time(ns: i64) -> SystemTime {
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
fn to_db_duration(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn from_db_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

/// The constructors' futures are `Send`, so a host can open a store inside a
/// spawned task.
#[allow(dead_code)]
fn _constructors_are_send() {
    fn is_send<T: Send>(_: T) {}
    is_send(SqlStore::sqlite(":memory:"));
    is_send(SqlStore::postgres(""));
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
