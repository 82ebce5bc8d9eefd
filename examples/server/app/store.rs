//! Where the server keeps its state: registered clients, grants, codes,
//! tokens, pending authorization requests and device authorizations.
//!
//! `--database` is a SQLite file (created if missing), `:memory:` for none,
//! or a PostgreSQL URL (`postgres://…` or `postgresql://…`, with the usual
//! parameters: `?options[search_path]=auth` keeps the tables in the schema
//! `auth`, which must exist).
//!
//! Everything else the server needs to come back as it was after a restart
//! is either in the secrets file beside a SQLite database (`secrets.rs`;
//! there is none for `:memory:` or PostgreSQL, whose secrets are drawn at
//! every start) or on the command line (users, scopes).

use portcullis::store::{SqlStore, StoreError};

/// The store: one value serves as the client registry and the token store.
pub type Store = SqlStore;

/// Whether `--database` is a PostgreSQL URL rather than a SQLite file.
pub fn is_postgres(database: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        database
            .get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
    })
}

/// `--database` as it may be printed: a PostgreSQL URL without its password.
pub fn redacted(database: &str) -> String {
    match url::Url::parse(database) {
        Ok(mut url) if is_postgres(database) && url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => database.to_owned(),
    }
}

/// Opens the store for `--database`: a PostgreSQL URL, a SQLite file,
/// created if missing, or `:memory:` for none. Creates or migrates the
/// tables.
pub async fn open_store(database: &str) -> Result<Store, StoreError> {
    if is_postgres(database) {
        SqlStore::postgres(database).await
    } else {
        SqlStore::sqlite(database).await
    }
}

/// Closes the store once the server has stopped.
pub async fn close_store(store: &Store) {
    store.close().await;
}
