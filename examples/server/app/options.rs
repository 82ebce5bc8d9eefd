//! The command line: the contract users and scripts rely on.

use std::time::Duration;

use portcullis::endpoint::DEFAULT_POLLING_INTERVAL;
use portcullis::protocol::Scope;

/// `--help`.
pub const USAGE: &str = "\
usage: server [OPTIONS]

  --addr HOST:PORT            where to listen (default 127.0.0.1:8080)
  --issuer URL                issuer identifier; every endpoint URL derives from it
                              (default http://HOST:PORT of --addr)
  --database PATH             SQLite file for all state; :memory: for none
                              (default portcullis-demo.sqlite3)
  --registration-token TOKEN  enables dynamic client registration (RFC 7591) for
                              holders of this initial access token
  --user NAME:PASSWORD        a resource owner who can log in (repeatable; default:
                              one demo user, whose password is printed at start)
  --scope NAME                a scope the server knows (repeatable; default read, write)";

/// The default `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The default `--database`.
pub const DEFAULT_DATABASE: &str = "portcullis-demo.sqlite3";
/// `--database` for no file at all.
pub const IN_MEMORY: &str = ":memory:";
/// The default `--scope`s.
pub const DEFAULT_SCOPES: [&str; 2] = ["read", "write"];
/// The longest user name accepted.
pub const MAX_USER_NAME_LEN: usize = 64;

/// A resource owner from `--user`.
#[derive(Clone)]
pub struct User {
    /// The name they log in with, and the `sub` of their tokens.
    pub name: String,
    /// Their password.
    pub password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What the command line says.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--addr`: `HOST:PORT`; port `0` picks a free one.
    pub addr: String,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--database`.
    pub database: String,
    /// `--registration-token`.
    pub registration_token: Option<String>,
    /// `--user`s; empty means the demo user.
    pub users: Vec<User>,
    /// `--scope`s.
    pub scopes: Vec<String>,
    /// The least time between two device polls (RFC 8628 §3.2). Not on the
    /// command line; tests shorten it.
    pub device_polling_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR.to_owned(),
            issuer: None,
            database: DEFAULT_DATABASE.to_owned(),
            registration_token: None,
            users: Vec::new(),
            scopes: DEFAULT_SCOPES.map(str::to_owned).to_vec(),
            device_polling_interval: DEFAULT_POLLING_INTERVAL,
        }
    }
}

/// What to do.
#[derive(Debug)]
pub enum Command {
    /// Serve.
    Run(Options),
    /// Print [`USAGE`] and exit.
    Help,
}

impl Options {
    /// Reads the arguments (without the program name): `--name value` or
    /// `--name=value`. The error says what is wrong, for the user.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
        let mut options = Options::default();
        let mut scopes = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            if name == "--help" || name == "-h" {
                return Ok(Command::Help);
            }
            if !name.starts_with("--") {
                return Err(format!("unexpected argument {name:?}"));
            }
            const KNOWN: [&str; 6] = [
                "--addr",
                "--issuer",
                "--database",
                "--registration-token",
                "--user",
                "--scope",
            ];
            if !KNOWN.contains(&name.as_str()) {
                return Err(format!("unknown option {name}"));
            }
            let value = match inline {
                Some(value) => value.to_owned(),
                None => args.next().ok_or(format!("{name} needs a value"))?,
            };
            match name.as_str() {
                "--addr" => options.addr = parse_addr(&value)?,
                "--issuer" => options.issuer = Some(value),
                "--database" if value.is_empty() => {
                    return Err("--database needs a path, or :memory:".to_owned());
                }
                "--database" => options.database = value,
                "--registration-token" => options.registration_token = Some(value),
                "--user" => {
                    let user = parse_user(&value)?;
                    if options.users.iter().any(|u| u.name == user.name) {
                        return Err(format!("--user {} is given twice", user.name));
                    }
                    options.users.push(user);
                }
                "--scope" => {
                    let scope: Scope = value
                        .parse()
                        .map_err(|_| format!("--scope {value:?} is not a scope token"))?;
                    if scope.len() != 1 {
                        return Err(format!("--scope {value:?}: one scope per --scope"));
                    }
                    scopes.push(value);
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        if !scopes.is_empty() {
            options.scopes = scopes;
        }
        Ok(Command::Run(options))
    }

    /// The scopes, as one [`Scope`].
    pub fn scope(&self) -> Result<Scope, String> {
        self.scopes
            .join(" ")
            .parse()
            .map_err(|e| format!("--scope: {e}"))
    }
}

/// `HOST:PORT`, the host a name or an address (`[::1]` for IPv6).
fn parse_addr(value: &str) -> Result<String, String> {
    let bad = || format!("--addr {value:?}: expected HOST:PORT");
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(value.to_owned())
}

/// `NAME:PASSWORD`, split at the first `:`.
fn parse_user(value: &str) -> Result<User, String> {
    let (name, password) = value
        .split_once(':')
        .ok_or("--user expects NAME:PASSWORD")?;
    if name.is_empty() || password.is_empty() {
        return Err("--user expects NAME:PASSWORD, both non-empty".to_owned());
    }
    if name.len() > MAX_USER_NAME_LEN
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@+".contains(c))
    {
        return Err(format!(
            "--user {name:?}: a name is up to {MAX_USER_NAME_LEN} letters, digits and . _ - @ +"
        ));
    }
    Ok(User {
        name: name.to_owned(),
        password: password.to_owned(),
    })
}
