//! The server's own secrets, kept beside the database so that a restart
//! changes nothing a user or a client holds: the key that signs session
//! cookies and forms, the demo user's password, the resource server's
//! introspection credential and the demo service's client secret.
//!
//! `PATH.keys` for `--database PATH`: one `name = value` a line, written
//! readable by its owner only. Delete it (with the database) to start over.
//! With `--database :memory:`, or a PostgreSQL URL, nothing is written and
//! every start draws new secrets.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::options::IN_MEMORY;

/// The secrets file's name for a database file.
pub fn path_for(database: &str) -> Option<PathBuf> {
    (database != IN_MEMORY && !super::store::is_postgres(database))
        .then(|| PathBuf::from(format!("{database}.keys")))
}

/// A fresh 256-bit random string, base64url.
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A fresh random password a person can type: 128 bits, base64url.
pub fn random_password() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// The secrets, in memory and (unless in memory) on disk.
pub struct Secrets {
    path: Option<PathBuf>,
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("path", &self.path)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Secrets {
    /// Reads the secrets file of `database`, if there is one.
    pub fn open(database: &str) -> io::Result<Self> {
        let path = path_for(database);
        let mut values = BTreeMap::new();
        if let Some(path) = &path {
            match fs::read_to_string(path) {
                Ok(text) => {
                    for line in text.lines().map(str::trim) {
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let (name, value) = line.split_once('=').ok_or_else(|| {
                            invalid(path, "a line is not `name = value`".to_owned())
                        })?;
                        values.insert(name.trim().to_owned(), value.trim().to_owned());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(invalid(path, e.to_string())),
            }
        }
        Ok(Self { path, values })
    }

    /// Where they are kept; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The secret `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The secret `name`, made by `make` and saved if there is none yet.
    pub fn get_or_create(
        &mut self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> io::Result<String> {
        if let Some(value) = self.get(name) {
            return Ok(value.to_owned());
        }
        let value = make();
        self.set(name, &value)?;
        Ok(value)
    }

    /// Sets the secret `name` and saves the file.
    pub fn set(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.values.insert(name.to_owned(), value.to_owned());
        self.save()
    }

    /// Writes the whole file anew (a temporary file renamed over it, so a
    /// crash leaves the old file or the new one), readable by its owner only.
    fn save(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        self.write(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    fn write(&self, path: &Path) -> io::Result<()> {
        let mut text = String::from(
            "# The portcullis example server's secrets for the database beside this\n\
             # file. Keep it private; delete it together with the database to start over.\n",
        );
        for (name, value) in &self.values {
            text.push_str(&format!("{name} = {value}\n"));
        }
        let temporary = PathBuf::from(format!("{}.tmp", path.display()));
        // A leftover from a crash may have other permissions: start afresh.
        match fs::remove_file(&temporary) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    }
}

fn invalid(path: &Path, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {why}", path.display()),
    )
}
