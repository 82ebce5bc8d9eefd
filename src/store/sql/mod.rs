//! The SQL store: every storage trait on SQLite (embedded, bundled) or
//! PostgreSQL (shared by a fleet of replicas), through `sqlx`.
//!
//! # Atomicity
//!
//! Every operation of [`GrantStore`](super::GrantStore),
//! [`AuthorizationCodeStore`](super::AuthorizationCodeStore),
//! [`DeviceAuthorizationStore`](super::DeviceAuthorizationStore) and
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
//! [`purge_expired`](super::GrantStore::purge_expired) deletes the orphaned
//! tokens, and
//! [`purge_expired_codes`](super::AuthorizationCodeStore::purge_expired_codes)
//! the orphaned codes.
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
mod pushed;
mod replay;
mod rows;
mod schema;
mod sqlite;
mod statements;
mod support;
mod tokens;

use std::fmt;
use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use support::backend;

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

/// A [`ClientRegistry`](crate::client::ClientRegistry),
/// [`GrantStore`](super::GrantStore),
/// [`AuthorizationCodeStore`](super::AuthorizationCodeStore) and
/// [`DeviceAuthorizationStore`](super::DeviceAuthorizationStore) — so a
/// [`TokenStore`](super::TokenStore) — on SQL: SQLite, embedded (the
/// database engine is compiled in; no server), or PostgreSQL, which any
/// number of server replicas can share. Available with the `sql` feature.
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
/// (or the stores' own purges:
/// [`GrantStore::purge_expired`](super::GrantStore::purge_expired),
/// [`AuthorizationCodeStore::purge_expired_codes`](super::AuthorizationCodeStore::purge_expired_codes),
/// [`DeviceAuthorizationStore::purge_expired_device_authorizations`](super::DeviceAuthorizationStore::purge_expired_device_authorizations))
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

/// The constructors' futures are `Send`, so a host can open a store inside a
/// spawned task.
#[allow(dead_code)]
fn _constructors_are_send() {
    fn is_send<T: Send>(_: T) {}
    is_send(SqlStore::sqlite(":memory:"));
    is_send(SqlStore::postgres(""));
}
