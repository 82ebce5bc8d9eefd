//! Fresh SQL stores for tests: SQLite in memory, SQLite in a temporary file,
//! and PostgreSQL in a schema of its own when `PORTCULLIS_TEST_POSTGRES_URL`
//! is set. Each [`TestDb`] cleans up after itself when dropped, even when its
//! test panics.
#![allow(dead_code)]

use std::path::PathBuf;

use portcullis::store::SqlStore;
use rand::RngCore as _;
use sqlx::Connection as _;

/// The variable naming the PostgreSQL server the tests may use.
pub const POSTGRES_URL_VAR: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    SqliteMemory,
    SqliteFile,
    Postgres,
}

/// A random lowercase suffix for names.
fn suffix() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The PostgreSQL URL, or `None` (with a note printed) when it is unset.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            // Once per test binary, and past the test harness's capture of
            // `eprintln!`, so the note shows in a plain `cargo test`.
            static NOTE: std::sync::Once = std::sync::Once::new();
            NOTE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: the SQL store's PostgreSQL tests are skipped (first: {test}): \
                     {POSTGRES_URL_VAR} is not set"
                );
            });
            None
        }
    }
}

/// A database for one test, and where to open stores on it.
pub struct TestDb {
    pub backend: Backend,
    /// What `SqlStore::sqlite` or `SqlStore::postgres` opens.
    pub location: String,
    cleanup: Cleanup,
}

enum Cleanup {
    None,
    File(PathBuf),
    Schema { url: String, schema: String },
}

impl TestDb {
    /// A fresh, empty database on `backend`; `None` if it is PostgreSQL and
    /// no server is configured.
    pub async fn new(backend: Backend, test: &str) -> Option<TestDb> {
        match backend {
            Backend::SqliteMemory => Some(TestDb {
                backend,
                location: ":memory:".to_owned(),
                cleanup: Cleanup::None,
            }),
            Backend::SqliteFile => {
                let dir = std::env::temp_dir().join(format!("portcullis-test-{}", suffix()));
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join("store.sqlite3");
                Some(TestDb {
                    backend,
                    location: file.to_str().unwrap().to_owned(),
                    cleanup: Cleanup::File(dir),
                })
            }
            Backend::Postgres => {
                let url = postgres_url(test)?;
                let schema = format!("portcullis_test_{}", suffix());
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let separator = if url.contains('?') { '&' } else { '?' };
                Some(TestDb {
                    backend,
                    location: format!("{url}{separator}options[search_path]={schema}"),
                    cleanup: Cleanup::Schema { url, schema },
                })
            }
        }
    }

    /// Opens a store on this database (again, for a restart).
    pub async fn open(&self) -> SqlStore {
        match self.backend {
            Backend::SqliteMemory | Backend::SqliteFile => {
                SqlStore::sqlite(&self.location).await.unwrap()
            }
            Backend::Postgres => SqlStore::postgres(&self.location).await.unwrap(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::None => {}
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema } => {
                // Drop runs inside the test's runtime, which cannot be
                // blocked on: a thread of its own with a runtime of its own.
                let (url, name) = (url.clone(), schema.clone());
                let dropped = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(async {
                            let mut conn = sqlx::PgConnection::connect(&url).await?;
                            sqlx::raw_sql(&format!("DROP SCHEMA {name} CASCADE"))
                                .execute(&mut conn)
                                .await?;
                            conn.close().await
                        })
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("note: could not drop the test schema {schema}");
                }
            }
        }
    }
}

impl TestDb {
    /// Runs `sql` on the database behind the store's back, as an operator
    /// (or an attacker with database access) would; `false` for a SQLite
    /// database in memory, which nothing else can reach.
    pub async fn execute_raw(&self, sql: &str) -> bool {
        match self.backend {
            Backend::SqliteMemory => false,
            Backend::SqliteFile => {
                // The `sqlite` driver is there because the `sql` feature
                // enabled it.
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.location))
                        .await
                        .unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                true
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.location).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
                true
            }
        }
    }
}

/// The tables the SQL store keeps.
pub const TABLES: [&str; 8] = [
    "clients",
    "grants",
    "access_tokens",
    "refresh_tokens",
    "authorization_codes",
    "pending_authorizations",
    "device_authorizations",
    "auth_failures",
];

impl TestDb {
    /// Everything the database holds, as bytes to search: the SQLite files
    /// themselves (with the write-ahead log), or every PostgreSQL row as
    /// text (byte columns as `\x` and hex). `None` for SQLite in memory.
    pub async fn contents(&self) -> Option<Vec<u8>> {
        match (&self.cleanup, self.backend) {
            (Cleanup::File(dir), _) => {
                let mut all = Vec::new();
                for entry in std::fs::read_dir(dir).unwrap() {
                    all.extend(std::fs::read(entry.unwrap().path()).unwrap());
                }
                Some(all)
            }
            (_, Backend::Postgres) => {
                let mut conn = sqlx::PgConnection::connect(&self.location).await.unwrap();
                let mut all = Vec::new();
                for table in TABLES {
                    let text: String = sqlx::query_scalar(&format!(
                        "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {table} t"
                    ))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                    all.extend(text.into_bytes());
                }
                conn.close().await.unwrap();
                Some(all)
            }
            _ => None,
        }
    }
}

#[allow(unused_macros)]
/// Defines, for each scenario `async fn name(db: &TestDb)`, a module `name`
/// with one test per backend. The runtime has several worker threads, so the
/// concurrency scenarios really run in parallel. The caller has `TestDb` and
/// `Backend` in scope (the generated modules `use super::*`); declare this
/// module with `#[macro_use]`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_memory() {
                let db = TestDb::new(Backend::SqliteMemory, stringify!($name)).await.unwrap();
                super::$name(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_file() {
                let db = TestDb::new(Backend::SqliteFile, stringify!($name)).await.unwrap();
                super::$name(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = TestDb::new(Backend::Postgres, stringify!($name)).await {
                    super::$name(&db).await;
                }
            }
        }
    )*};
}
