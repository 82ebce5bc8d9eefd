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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// How long a login lasts.
const LOGIN_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a session before login lasts: long enough to type a password.
const ANONYMOUS_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long a browser stays known after a successful sign-in.
const KNOWN_BROWSER_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

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
}

impl Session {
    fn new(user: Option<&str>, pending: Option<&str>) -> Self {
        Self {
            id: random_id(),
            csrf: random_id(),
            user: user.map(str::to_owned),
            pending: pending.map(str::to_owned),
        }
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
        read(jar, &self.name("session"))
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
        let json = serde_json::to_vec(&(value, expires)).unwrap_or_default();
        let max_age = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        Cookie::build((self.name(name), URL_SAFE_NO_PAD.encode(json)))
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure)
            .build()
    }
}

/// The value of the genuine cookie `name` (the jar checks its signature),
/// unless it expired: browsers drop it then too, but only this check is
/// ours.
fn read<T: DeserializeOwned>(jar: &SignedCookieJar, name: &str) -> Option<T> {
    let json = URL_SAFE_NO_PAD.decode(jar.get(name)?.value()).ok()?;
    let (value, expires): (T, u64) = serde_json::from_slice(&json).ok()?;
    (expires > unix_now()).then_some(value)
}

fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
