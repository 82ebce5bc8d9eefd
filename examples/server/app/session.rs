//! Login sessions and known browsers, as signed cookies (axum-extra's
//! `SignedCookieJar`: HMAC-SHA-256 under the server's key), and the CSRF
//! token of every form.
//!
//! Nothing is stored on the server, so sessions survive a restart as long
//! as the key does (it is in the secrets file). A signed cookie can be read
//! but not forged or altered: it holds nothing secret but its CSRF token,
//! which only its own browser sees. Signing out removes the cookie; a copy
//! taken before stays valid until it expires — the price of keeping nothing
//! on the server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// How long a login lasts.
const LOGIN_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a session before login lasts: long enough to type a password.
const ANONYMOUS_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long a browser stays known after a successful sign-in.
const KNOWN_BROWSER_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// One browser's session: what its signed cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Random, 128 bits; new at each login (no session fixation).
    id: String,
    /// The CSRF token of this session's forms: random, 128 bits, new with
    /// the id. A form posted from another site cannot know it
    /// (RFC 6819 §4.4.1.8).
    csrf: String,
    /// Who logged in; `None` before login.
    user: Option<String>,
    /// The authorization request this browser signed in for: only this
    /// session may open its consent page from the link sign-in redirects
    /// to, so the link is useless in any other browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<String>,
    /// Seconds since the Unix epoch. Browsers drop the cookie then too,
    /// but only this check is ours.
    expires: u64,
}

impl Session {
    fn start(user: Option<String>, lifetime: Duration) -> Self {
        Self {
            id: random_id(),
            csrf: random_id(),
            user,
            pending: None,
            expires: unix_now().saturating_add(lifetime.as_secs()),
        }
    }

    /// The user logged in, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether this browser signed in for the authorization request kept
    /// under `handle`.
    pub fn signed_in_for(&self, handle: &str) -> bool {
        self.pending
            .as_deref()
            .is_some_and(|pending| bool::from(pending.as_bytes().ct_eq(handle.as_bytes())))
    }

    /// The token this session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether a form's `token` is this session's, compared in constant time.
    pub fn check_csrf(&self, token: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// A browser that signed in as `user`: its later sign-ins as that user are
/// throttled by its own count, never by the user's name, so guesses from
/// elsewhere cannot lock the user out of it (RFC 6819 §5.1.4.2.3).
#[derive(Debug, Serialize, Deserialize)]
struct KnownBrowser {
    id: String,
    user: String,
    expires: u64,
}

/// Reads and writes the cookies.
#[derive(Clone)]
pub struct Sessions {
    key: Key,
    /// `Secure` and the `__Host-` prefix: on an `https` issuer.
    secure: bool,
}

impl Sessions {
    /// Sessions signed with `key`; `secure` on an `https` issuer.
    pub fn new(key: Key, secure: bool) -> Self {
        Self { key, secure }
    }

    /// The cookies of a request, to read and to answer with.
    pub fn jar(&self, headers: &HeaderMap) -> SignedCookieJar {
        SignedCookieJar::from_headers(headers, self.key.clone())
    }

    /// `__Host-`: browsers accept it only with `Secure`, `Path=/` and no
    /// `Domain`, so no other host or plain-HTTP page can plant it.
    fn name(&self, name: &'static str) -> String {
        if self.secure {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        }
    }

    /// The browser's session, if it sent a genuine, unexpired one.
    pub fn read(&self, jar: &SignedCookieJar) -> Option<Session> {
        read(jar, &self.name("session"))
    }

    /// The browser's session, or a new one before login (its cookie added
    /// to `jar`).
    pub fn read_or_start(&self, jar: SignedCookieJar) -> (SignedCookieJar, Session) {
        match self.read(&jar) {
            Some(session) => (jar, session),
            None => self.save(jar, Session::start(None, ANONYMOUS_LIFETIME)),
        }
    }

    /// A new session for `user`, who just logged in — for the pending
    /// authorization request `pending`, if any — under a new id.
    pub fn login(
        &self,
        jar: SignedCookieJar,
        user: &str,
        pending: Option<&str>,
    ) -> (SignedCookieJar, Session) {
        let mut session = Session::start(Some(user.to_owned()), LOGIN_LIFETIME);
        session.pending = pending.map(str::to_owned);
        self.save(jar, session)
    }

    /// Removes the session cookie.
    pub fn logout(&self, jar: SignedCookieJar) -> SignedCookieJar {
        jar.remove(Cookie::build(self.name("session")).path("/"))
    }

    fn save(&self, jar: SignedCookieJar, session: Session) -> (SignedCookieJar, Session) {
        let cookie = self.cookie("session", &session, session.expires, SameSite::Lax);
        (jar.add(cookie), session)
    }

    /// The throttling key of this browser's attempts to sign in as `user`,
    /// if it signed in as `user` before: its known-browser cookie for that
    /// user, or its signed-in session as that user. `None` for any other
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

    /// Makes this browser known for `user`, who just signed in: a new id
    /// each time, so its count starts afresh. Kept through sign-out.
    pub fn remember_browser(&self, jar: SignedCookieJar, user: &str) -> SignedCookieJar {
        let expires = unix_now().saturating_add(KNOWN_BROWSER_LIFETIME.as_secs());
        let known = KnownBrowser {
            id: random_id(),
            user: user.to_owned(),
            expires,
        };
        // `Strict`: only the sign-in form, a page of this site, needs it.
        jar.add(self.cookie("browser", &known, expires, SameSite::Strict))
    }

    /// A signed cookie carrying `value`: `HttpOnly` (no script reads it),
    /// `Path=/`, and on an `https` issuer `Secure` with the `__Host-`
    /// prefix.
    fn cookie<T: Serialize>(
        &self,
        name: &'static str,
        value: &T,
        expires: u64,
        same_site: SameSite,
    ) -> Cookie<'static> {
        let json = serde_json::to_vec(value).unwrap_or_default();
        let max_age = expires.saturating_sub(unix_now());
        Cookie::build((self.name(name), URL_SAFE_NO_PAD.encode(json)))
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(max_age).unwrap_or(i64::MAX),
            ))
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure)
            .build()
    }
}

/// The genuine cookie `name` (its signature checked by the jar), unexpired.
fn read<T: for<'de> Deserialize<'de> + Expiring>(jar: &SignedCookieJar, name: &str) -> Option<T> {
    let cookie = jar.get(name)?;
    let json = URL_SAFE_NO_PAD.decode(cookie.value()).ok()?;
    let value: T = serde_json::from_slice(&json).ok()?;
    (value.expires() > unix_now()).then_some(value)
}

trait Expiring {
    fn expires(&self) -> u64;
}

impl Expiring for Session {
    fn expires(&self) -> u64 {
        self.expires
    }
}

impl Expiring for KnownBrowser {
    fn expires(&self) -> u64 {
        self.expires
    }
}

fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
