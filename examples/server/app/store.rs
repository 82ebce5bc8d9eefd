//! Where the server keeps its state: registered clients, grants, codes,
//! tokens, pending authorization requests and device authorizations.
//!
//! Everything else the server needs to come back as it was after a restart
//! is either in the secrets file beside the database (`secrets.rs`) or on
//! the command line (users, scopes).

use portcullis::MemoryStore;
use portcullis::store::StoreError;

/// The store: one value serves as the client registry and the token store.
pub type Store = MemoryStore;

/// Whether state outlives the process (said in the banner).
pub const PERSISTENT: bool = false;

/// Opens the store for `--database` (a SQLite file, or `:memory:`).
///
/// For now the in-memory store, whatever `database` says: state is lost at
/// exit (the secrets file is still kept). With the SQL store this becomes
/// `SqlStore::sqlite(database).await`.
pub async fn open_store(database: &str) -> Result<Store, StoreError> {
    let _ = database;
    Ok(MemoryStore::new())
}

/// Closes the store once the server has stopped.
pub async fn close_store(store: &Store) {
    let _ = store;
}
