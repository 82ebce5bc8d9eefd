//! Where the server keeps its state: registered clients, grants, codes,
//! tokens, pending authorization requests and device authorizations.
//!
//! Everything else the server needs to come back as it was after a restart
//! is either in the secrets file beside the database (`secrets.rs`) or on
//! the command line (users, scopes).

use portcullis::store::{SqlStore, StoreError};

/// The store: one value serves as the client registry and the token store.
pub type Store = SqlStore;

/// Whether state outlives the process (said in the banner).
pub const PERSISTENT: bool = true;

/// Opens the store for `--database`: a SQLite file, created if missing, or
/// `:memory:` for none.
pub async fn open_store(database: &str) -> Result<Store, StoreError> {
    SqlStore::sqlite(database).await
}

/// Closes the store once the server has stopped.
pub async fn close_store(store: &Store) {
    store.close().await;
}
