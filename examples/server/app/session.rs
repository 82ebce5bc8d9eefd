//! Sessions and known browsers, as signed cookies (axum-extra's
//! `SignedCookieJar`: HMAC-SHA-256 under the server's key), and the CSRF
//! token of every form.
//!
//! Nothing is stored on the server, so sessions survive a restart as long
//! as the key does (it is in the secrets file). A signed cookie can be read
//! but not forged or altered; it holds nothing secret but its CSRF token,
//! which only its own browser sees. Cookies are `HttpOnly` (no script reads
//! them), `Path=/`, and on an `https` issuer `Secure` with the `__Host-`
//! prefix (no other host or plain-HTTP page can plant them). Signing out
//! removes the cookie; a copy taken before stays valid until it expires —
//! the price of keeping nothing on the server.
//!
//! For OpenID Connect a session also says when its user signed in (the ID
//! token's `auth_time`, and what `max_age` and `prompt=login` are checked
//! against) and which clients they consented to in it, and for what scope:
//! a `prompt=none` request (Core §3.1.2.1) is approved without a page only
//! within such a consent.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use portcullis::protocol::Scope;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// How long a login lasts.
const LOGIN_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a session before login lasts: long enough to type a password.
const ANONYMOUS_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long a browser stays known after a successful sign-in.
const KNOWN_BROWSER_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// The most consents a session remembers (the latest first).
const MAX_CONSENTS: usize = 8;
/// The longest session cookie value written: browsers keep cookies of up to
/// 4,096 bytes, name and attributes included. Older consents are forgotten
/// to stay below it.
const MAX_SESSION_COOKIE: usize = 3_000;

/// One browser's session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Random, 128 bits; new at each sign-in (no session fixation).
    id: String,
    /// The CSRF token of this session's forms: random, new with the id. A
    /// form posted from another site cannot know it (RFC 6819 §4.4.1.8).
    csrf: String,
    /// Who signed in; `None` before.
    user: Option<String>,
    /// The authorization request this browser signed in for: only this
    /// session may open its consent page from the link sign-in redirects
    /// to, so the link is useless in any other browser.
    pending: Option<String>,
    /// When `user` signed in. Absent from sessions made before it was kept:
    /// such a session signs in again for an OpenID Connect request.
    #[serde(default)]
    signed_in_at: Option<SystemTime>,
    /// The clients `user` approved in this session, latest first, each with
    /// the scope approved.
    #[serde(default)]
    consents: Vec<Consent>,
    /// When the cookie expires (seconds since the epoch); not in the
    /// cookie's JSON, which carries it beside the session.
    #[serde(skip)]
    expires: u64,
}

/// A client the user approved in a session, and what they approved.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Consent {
    client: String,
    scope: String,
}

impl Session {
    fn new(user: Option<&str>, pending: Option<&str>) -> Self {
        Self {
            id: random_id(),
            csrf: random_id(),
            user: user.map(str::to_owned),
            pending: pending.map(str::to_owned),
            signed_in_at: user.map(|_| SystemTime::now()),
            consents: Vec::new(),
            expires: 0,
        }
    }

    /// The session's identifier: the `sid` of the ID tokens issued in it
    /// (OpenID Connect Front-Channel Logout 1.0 §3).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When the user signed in, if known.
    pub fn signed_in_at(&self) -> Option<SystemTime> {
        self.signed_in_at
    }

    /// Whether the user approved `client` in this session for at least
    /// `scope`.
    pub fn consented(&self, client: &str, scope: &Scope) -> bool {
        self.consents.iter().any(|c| {
            c.client == client
                && c.scope
                    .parse::<Scope>()
                    .is_ok_and(|approved| scope.is_subset(&approved))
        })
    }

    /// The user signed in, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The token this session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether a form's `token` is this session's, in constant time.
    pub fn check_csrf(&self, token: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }

    /// Whether this browser signed in for the request kept under `handle`.
    pub fn signed_in_for(&self, handle: &str) -> bool {
        let pending = self.pending.as_deref().unwrap_or_default();
        !pending.is_empty() && bool::from(pending.as_bytes().ct_eq(handle.as_bytes()))
    }
}

/// A browser that signed in as `user`: its later sign-ins as that user are
/// throttled by its own count, never by the user's name, so guesses from
/// elsewhere cannot lock the user out of it (RFC 6819 §5.1.4.2.3).
#[derive(Serialize, Deserialize)]
struct KnownBrowser {
    id: String,
    user: String,
}

/// Reads and writes the cookies.
pub struct Sessions {
    key: Key,
    /// `Secure` and the `__Host-` prefix: on an `https` issuer.
    secure: bool,
}

impl Sessions {
    /// Cookies signed with `key`; `secure` on an `https` issuer.
    pub fn new(key: Key, secure: bool) -> Self {
        Self { key, secure }
    }

    /// The cookies of a request, to read and to answer with.
    pub fn jar(&self, headers: &HeaderMap) -> SignedCookieJar {
        SignedCookieJar::from_headers(headers, self.key.clone())
    }

    fn name(&self, name: &str) -> String {
        let prefix = if self.secure { "__Host-" } else { "" };
        format!("{prefix}{name}")
    }

    /// The browser's session, if it sent a genuine, unexpired one.
    pub fn read(&self, jar: &SignedCookieJar) -> Option<Session> {
        let (mut session, expires): (Session, u64) = read_until(jar, &self.name("session"))?;
        session.expires = expires;
        Some(session)
    }

    /// `session` with `client`'s approval of `scope` remembered (joined to
    /// what was approved before), until the session ends: the cookie is
    /// written again, expiring when it did.
    pub fn remember_consent(
        &self,
        jar: SignedCookieJar,
        mut session: Session,
        client: &str,
        scope: &Scope,
    ) -> SignedCookieJar {
        let earlier = session.consents.iter().position(|c| c.client == client);
        let before = earlier.map(|i| session.consents.remove(i));
        let joined = before
            .and_then(|c| c.scope.parse::<Scope>().ok())
            .and_then(|old| Scope::from_tokens(old.iter().chain(scope.iter())).ok())
            .unwrap_or_else(|| scope.clone());
        session.consents.insert(
            0,
            Consent {
                client: client.to_owned(),
                scope: joined.as_str().to_owned(),
            },
        );
        session.consents.truncate(MAX_CONSENTS);
        // Forget the oldest until the cookie fits (a client ID metadata
        // document's client_id is a URL, and may be long).
        let expires = session.expires;
        while encode(&session, expires).len() > MAX_SESSION_COOKIE {
            if session.consents.pop().is_none() {
                return jar;
            }
        }
        let lifetime = Duration::from_secs(expires.saturating_sub(unix_now()));
        jar.add(self.cookie("session", &session, lifetime, SameSite::Lax))
    }

    /// The browser's session, or a new one before sign-in.
    pub fn read_or_start(&self, jar: SignedCookieJar) -> (SignedCookieJar, Session) {
        match self.read(&jar) {
            Some(session) => (jar, session),
            None => {
                let session = Session::new(None, None);
                let cookie = self.cookie("session", &session, ANONYMOUS_LIFETIME, SameSite::Lax);
                (jar.add(cookie), session)
            }
        }
    }

    /// A new session, under a new id, for `user`, who just signed in — for
    /// the pending authorization request `pending`, if any — and the
    /// browser known for `user` from now on (through sign-out), under a new
    /// id each time so its count starts afresh.
    pub fn login(
        &self,
        jar: SignedCookieJar,
        user: &str,
        pending: Option<&str>,
    ) -> SignedCookieJar {
        let session = Session::new(Some(user), pending);
        let known = KnownBrowser {
            id: random_id(),
            user: user.to_owned(),
        };
        // `Lax`: sent when a client sends the user here, not with another
        // site's form posts. `Strict`: only the sign-in form needs it.
        jar.add(self.cookie("session", &session, LOGIN_LIFETIME, SameSite::Lax))
            .add(self.cookie("browser", &known, KNOWN_BROWSER_LIFETIME, SameSite::Strict))
    }

    /// Removes the session cookie.
    pub fn logout(&self, jar: SignedCookieJar) -> SignedCookieJar {
        jar.remove(Cookie::build(self.name("session")).path("/"))
    }

    /// The throttling key of this browser's attempts to sign in as `user`,
    /// if it signed in as `user` before: its known-browser cookie for that
    /// user, or its session signed in as that user. `None` for any other
    /// browser — including one known for another user, or a guesser could
    /// sign in to an account of its own for a fresh key per guess.
    pub fn known_browser(
        &self,
        jar: &SignedCookieJar,
        session: &Session,
        user: &str,
    ) -> Option<String> {
        match read::<KnownBrowser>(jar, &self.name("browser")) {
            Some(known) if known.user == user => Some(format!("browser:{}", known.id)),
            _ => (session.user() == Some(user)).then(|| format!("session:{}", session.id)),
        }
    }

    /// A signed cookie carrying `value` until `lifetime` from now.
    fn cookie<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        lifetime: Duration,
        same_site: SameSite,
    ) -> Cookie<'static> {
        let expires = unix_now().saturating_add(lifetime.as_secs());
        let max_age = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        Cookie::build((self.name(name), encode(value, expires)))
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure)
            .build()
    }
}

/// A cookie's value: `value` and when it expires, as base64url JSON.
fn encode<T: Serialize>(value: &T, expires: u64) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(value, expires)).unwrap_or_default())
}

/// The value of the genuine cookie `name` (the jar checks its signature),
/// unless it expired: browsers drop it then too, but only this check is
/// ours.
fn read<T: DeserializeOwned>(jar: &SignedCookieJar, name: &str) -> Option<T> {
    read_until(jar, name).map(|(value, _)| value)
}

/// [`read`], and when the cookie expires.
fn read_until<T: DeserializeOwned>(jar: &SignedCookieJar, name: &str) -> Option<(T, u64)> {
    let json = URL_SAFE_NO_PAD.decode(jar.get(name)?.value()).ok()?;
    let (value, expires): (T, u64) = serde_json::from_slice(&json).ok()?;
    (expires > unix_now()).then_some((value, expires))
}

fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
