//! The command line: the contract users and scripts rely on
//! (`EXAMPLE-SERVER-CONTRACT.md`), parsed by clap.

use std::time::Duration;

use clap::Parser;
use portcullis::endpoint::DEFAULT_POLLING_INTERVAL;
use portcullis::protocol::Scope;

/// The default `--database`.
pub const DEFAULT_DATABASE: &str = "portcullis-demo.sqlite3";
/// `--database` for no file at all.
pub const IN_MEMORY: &str = ":memory:";
/// The longest user name accepted.
pub const MAX_USER_NAME_LEN: usize = 64;

/// The longest `email=` of a `--user` (RFC 5321 §4.5.3.1.3: a path is
/// 256 octets with its brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest `name=` of a `--user`.
pub const MAX_FULL_NAME_LEN: usize = 128;

/// A resource owner from `--user`.
#[derive(Clone)]
pub struct User {
    /// The name they log in with, and the `sub` of their tokens.
    pub name: String,
    /// Their password.
    pub password: String,
    /// `email=`: their email address, released as `email` (with
    /// `email_verified: true`: the operator vouches for it) under the
    /// `email` scope (OpenID Connect Core 1.0 §5.4).
    pub email: Option<String>,
    /// `name=`: their full name, the `name` claim; the login name when not
    /// given.
    pub full_name: Option<String>,
}

impl User {
    /// A user with a name and a password, and no other claims.
    pub fn new(name: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            password: password.into(),
            email: None,
            full_name: None,
        }
    }
}

impl std::fmt::Debug for User {
    // The password stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The portcullis example authorization server.
#[derive(Debug, Clone, Parser)]
#[command(name = "server")]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080", value_parser = parse_addr)]
    pub addr: String,
    /// Issuer identifier; every endpoint URL derives from it [default: http://HOST:PORT of --addr]
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// SQLite file for all state; :memory: for none; or a postgres:// URL.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_DATABASE, value_parser = parse_database)]
    pub database: String,
    /// Enables dynamic client registration (RFC 7591) for holders of this initial access token.
    #[arg(long, value_name = "TOKEN")]
    pub registration_token: Option<String>,
    /// A resource owner who can log in (repeatable) [default: one demo user, whose password is printed at start].
    /// The part before the first `:` may add OpenID Connect claims after the
    /// name, each as `,CLAIM=VALUE` (no `,` or `:` in a value): `email` (taken
    /// as verified) and `name` (the full name; default NAME), e.g.
    /// `--user 'alice,email=alice@example.com,name=Alice Liddell:PASSWORD'`.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = parse_user)]
    pub users: Vec<User>,
    /// A scope the server knows (repeatable).
    #[arg(long = "scope", value_name = "NAME", default_values_t = ["read".to_owned(), "write".to_owned()], value_parser = parse_scope)]
    pub scopes: Vec<String>,
    /// A protected resource besides /api/me that tokens may be audience-restricted to (RFC 8707); repeatable.
    #[arg(long = "resource", value_name = "URI", value_parser = parse_resource)]
    pub resources: Vec<String>,
    /// Development only: also accept client ID metadata documents at loopback http URLs (http://127.0.0.1:PORT/...) as client_ids, and fetch them.
    #[arg(long)]
    pub allow_loopback_client_metadata: bool,
    /// The least time between two device polls (RFC 8628 §3.2). Not on the
    /// command line; tests shorten it.
    #[arg(skip = DEFAULT_POLLING_INTERVAL)]
    pub device_polling_interval: Duration,
    /// How long a client has to send a request's head. Not on the command
    /// line; tests shorten it.
    #[arg(skip = super::serve::HEADER_READ_TIMEOUT)]
    pub header_read_timeout: Duration,
    /// How long a client may pause while sending a request body. Not on the
    /// command line; tests shorten it.
    #[arg(skip = super::BODY_READ_TIMEOUT)]
    pub body_read_timeout: Duration,
    /// The longest a request may take, its body included. Not on the
    /// command line; tests shorten it.
    #[arg(skip = super::REQUEST_TIMEOUT)]
    pub request_timeout: Duration,
    /// How many connections are served at once. Not on the command line;
    /// tests lower it.
    #[arg(skip = super::serve::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// The cost of hashing users' passwords: the `argon2` crate's default
    /// (19 MiB, 2 passes: OWASP's recommendation). Not on the command line;
    /// tests that sign in thousands of times lower it.
    #[arg(skip = argon2::Params::default())]
    pub password_cost: argon2::Params,
}

/// What to do.
#[derive(Debug)]
pub enum Command {
    /// Serve.
    Run(Box<Options>),
    /// Print this help and exit.
    Help(String),
}

impl Options {
    /// Reads the arguments (without the program name). The error says what
    /// is wrong, for the user.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
        let args = std::iter::once("server".to_owned()).chain(args);
        let options = match Self::try_parse_from(args) {
            Ok(options) => options,
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
                return Ok(Command::Help(e.to_string()));
            }
            Err(e) => return Err(e.to_string()),
        };
        for (i, user) in options.users.iter().enumerate() {
            if options.users.iter().take(i).any(|u| u.name == user.name) {
                return Err(format!("--user {} is given twice", user.name));
            }
        }
        Ok(Command::Run(Box::new(options)))
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
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(value.to_owned())
        }
        _ => Err("expected HOST:PORT".to_owned()),
    }
}

fn parse_database(value: &str) -> Result<String, String> {
    match value {
        "" => Err("--database needs a path, or :memory:".to_owned()),
        path => Ok(path.to_owned()),
    }
}

fn parse_scope(value: &str) -> Result<String, String> {
    let scope: Scope = value
        .parse()
        .map_err(|_| format!("{value:?} is not a scope token"))?;
    match scope.len() {
        1 => Ok(value.to_owned()),
        _ => Err("one scope per --scope".to_owned()),
    }
}

/// An absolute URI without a fragment (RFC 8707 §2).
fn parse_resource(value: &str) -> Result<String, String> {
    portcullis::protocol::ResourceIndicator::new(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("{value:?}: {e}"))
}

/// `NAME:PASSWORD`, split at the first `:` (the password may hold more);
/// the name is what a person types and what tokens carry as `sub`, so it is
/// kept plain. The part before the `:` may add claims after the name,
/// `NAME,email=EMAIL,name=FULL NAME`: a name has no `,`, so every value
/// accepted before the claims existed means what it meant.
fn parse_user(value: &str) -> Result<User, String> {
    let (head, password) = value
        .split_once(':')
        .filter(|(head, password)| !head.is_empty() && !password.is_empty())
        .ok_or("expected NAME:PASSWORD, both non-empty")?;
    let mut parts = head.split(',');
    let name = parts.next().unwrap_or_default();
    let plain = |c: char| c.is_alphanumeric() || "._-@+".contains(c);
    if name.is_empty() || name.len() > MAX_USER_NAME_LEN || !name.chars().all(plain) {
        return Err(format!(
            "a name is up to {MAX_USER_NAME_LEN} letters, digits and . _ - @ +"
        ));
    }
    let mut user = User::new(name, password);
    for claim in parts {
        let (claim, value) = claim
            .split_once('=')
            .ok_or_else(|| format!("{claim:?}: expected CLAIM=VALUE after the name"))?;
        let slot = match claim {
            "email" => {
                check_email(value)?;
                &mut user.email
            }
            "name" => {
                check_full_name(value)?;
                &mut user.full_name
            }
            _ => return Err(format!("unknown claim {claim:?}: email and name are known")),
        };
        if slot.replace(value.to_owned()).is_some() {
            return Err(format!("{claim}= is given twice"));
        }
    }
    Ok(user)
}

/// An address as a person writes it: `local@domain`, no spaces, no
/// brackets. The operator vouches for it; this only catches typing errors.
fn check_email(value: &str) -> Result<(), String> {
    let valid = value.len() <= MAX_EMAIL_LEN
        && value
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "email= is an address, local@domain, up to {MAX_EMAIL_LEN} characters"
        ))
    }
}

/// A full name: printable, up to [`MAX_FULL_NAME_LEN`] characters.
fn check_full_name(value: &str) -> Result<(), String> {
    if value.trim().is_empty()
        || value.chars().count() > MAX_FULL_NAME_LEN
        || value.chars().any(char::is_control)
    {
        return Err(format!(
            "name= is up to {MAX_FULL_NAME_LEN} printable characters"
        ));
    }
    Ok(())
}
