//! Login sessions as signed cookies, and the CSRF tokens of the forms.
//!
//! A session is a cookie holding a random session id, the user's name (none
//! before login) and an expiry, with an HMAC-SHA-256 tag (RFC 2104) under
//! the server's key: nothing is stored, so sessions survive a restart as long
//! as the key does (it is kept in the secrets file). The cookie is `HttpOnly`
//! (no script reads it), `SameSite=Lax` (sent when a client sends the user
//! here, not with another site's form posts) and, on an `https` issuer,
//! `Secure` with the `__Host-` prefix.
//!
//! Every form carries a CSRF token: a tag over the session id and what the
//! form decides, so a form posted from elsewhere, replayed in another
//! browser, or edited to decide something else is refused (RFC 6819
//! §4.4.1.8). Logging in draws a new session id (no session fixation).
//! Signing out removes the cookie; a copy taken before stays valid until it
//! expires — the price of keeping nothing on the server.
//!
//! A browser that signs in also gets a known-browser cookie: a random id and
//! the user's name, signed the same way, kept for
//! [`KNOWN_BROWSER_LIFETIME`] and through sign-out. Its later attempts to
//! sign in as that user are throttled by that id instead of by the user's
//! name and the network's address, so someone else guessing that user's
//! password cannot lock the user out of the browser they always use (the
//! abuse RFC 6819 §5.1.4.2.3 warns of; the "device cookie" defence).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a login lasts.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a session before login lasts: long enough to type a password.
pub const ANONYMOUS_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long a browser stays known after a successful sign-in.
pub const KNOWN_BROWSER_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// An HMAC-SHA-256 key.
pub struct Key([u8; 32]);

impl Key {
    /// A key from its base64url form, as the secrets file keeps it.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The tag of `parts`, base64url. Each part is length-prefixed, so no two
    /// lists of parts sign the same bytes.
    pub fn sign(&self, parts: &[&str]) -> String {
        let mut inner_pad = [0x36u8; 64];
        let mut outer_pad = [0x5cu8; 64];
        for ((i, o), k) in inner_pad.iter_mut().zip(&mut outer_pad).zip(&self.0) {
            *i ^= k;
            *o ^= k;
        }
        let mut inner = Sha256::new();
        inner.update(inner_pad);
        for part in parts {
            inner.update((part.len() as u64).to_be_bytes());
            inner.update(part);
        }
        let tag = Sha256::new()
            .chain_update(outer_pad)
            .chain_update(inner.finalize())
            .finalize();
        URL_SAFE_NO_PAD.encode(tag)
    }

    /// Whether `tag` is the tag of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&str], tag: &str) -> bool {
        let expected = self.sign(parts);
        expected.len() == tag.len() && bool::from(expected.as_bytes().ct_eq(tag.as_bytes()))
    }
}

/// One browser's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Random, 128 bits, base64url; new at each login.
    id: String,
    /// Who logged in; `None` before login.
    user: Option<String>,
    /// Seconds since the Unix epoch.
    expires: u64,
    /// Whether the browser does not have this cookie yet.
    new: bool,
}

impl Session {
    /// The user logged in, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    fn start(user: Option<String>, lifetime: Duration) -> Self {
        Self {
            id: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            user,
            expires: unix_now().saturating_add(lifetime.as_secs()),
            new: true,
        }
    }
}

/// Reads, makes and signs sessions and CSRF tokens.
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

    fn cookie_name(&self) -> &'static str {
        // `__Host-`: browsers accept it only with `Secure`, `Path=/` and no
        // `Domain`, so no other host or plain-HTTP page can plant it.
        if self.secure {
            "__Host-session"
        } else {
            "session"
        }
    }

    fn known_browser_cookie_name(&self) -> &'static str {
        // `__Host-`, as the session cookie's: no other host or plain-HTTP
        // page can plant a known-browser cookie.
        if self.secure {
            "__Host-browser"
        } else {
            "browser"
        }
    }

    /// The browser's session, if it sent a genuine, unexpired one.
    pub fn read(&self, headers: &HeaderMap) -> Option<Session> {
        let (id, user, expires) = self.read_signed(headers, self.cookie_name(), "session")?;
        Some(Session {
            id,
            user,
            expires,
            new: false,
        })
    }

    /// The id, user and expiry of the genuine, unexpired cookie `name`
    /// signed as a `kind` (the kind is signed too: no cookie passes for
    /// another kind).
    fn read_signed(
        &self,
        headers: &HeaderMap,
        name: &str,
        kind: &str,
    ) -> Option<(String, Option<String>, u64)> {
        let value = cookie(headers, name)?;
        let mut parts = value.split('.');
        let (id, user, expires, tag) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !self.key.verify(&[kind, id, user, expires], tag) {
            return None;
        }
        let expires: u64 = expires.parse().ok()?;
        if expires <= unix_now() {
            return None;
        }
        let user = match user {
            "" => None,
            user => Some(String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?),
        };
        Some((id.to_owned(), user, expires))
    }

    /// The throttling key of this browser's attempts to sign in as `user`,
    /// if it signed in as `user` before: its known-browser cookie for that
    /// user, or its signed-in session as that user. `None` for any other
    /// browser — including one known for another user, or a guesser could
    /// sign in to an account of its own for a fresh key per guess.
    pub fn known_browser(
        &self,
        headers: &HeaderMap,
        session: &Session,
        user: &str,
    ) -> Option<String> {
        let cookie = self.read_signed(headers, self.known_browser_cookie_name(), "browser");
        match cookie {
            Some((id, Some(known), _)) if known == user => Some(format!("browser:{id}")),
            _ => (session.user() == Some(user)).then(|| format!("session:{}", session.id)),
        }
    }

    /// Adds the `Set-Cookie` that makes this browser known for `user`, who
    /// just signed in: a new id each time, so its count starts afresh.
    pub fn set_known_browser_cookie(&self, user: &str, headers: &mut HeaderMap) {
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let user = URL_SAFE_NO_PAD.encode(user);
        let lifetime = KNOWN_BROWSER_LIFETIME.as_secs();
        let expires = unix_now().saturating_add(lifetime).to_string();
        let tag = self.key.sign(&["browser", &id, &user, &expires]);
        let value = format!("{id}.{user}.{expires}.{tag}");
        // `Strict`: only the sign-in form, a page of this site, needs it.
        let name = self.known_browser_cookie_name();
        self.add_named_cookie(headers, name, &value, lifetime, "Strict");
    }

    /// The browser's session, or a new one before login.
    pub fn read_or_start(&self, headers: &HeaderMap) -> Session {
        self.read(headers)
            .unwrap_or_else(|| Session::start(None, ANONYMOUS_LIFETIME))
    }

    /// A new session for `user`, who just logged in.
    pub fn login(&self, user: &str) -> Session {
        Session::start(Some(user.to_owned()), LOGIN_LIFETIME)
    }

    /// Adds the `Set-Cookie` of `session` to a response's headers if the
    /// browser does not have it yet.
    pub fn set_cookie(&self, session: &Session, headers: &mut HeaderMap) {
        if !session.new {
            return;
        }
        let user = session
            .user
            .as_deref()
            .map_or_else(String::new, |u| URL_SAFE_NO_PAD.encode(u));
        let expires = session.expires.to_string();
        let tag = self.key.sign(&["session", &session.id, &user, &expires]);
        let max_age = session.expires.saturating_sub(unix_now());
        let value = format!("{}.{user}.{expires}.{tag}", session.id);
        self.add_cookie(headers, &value, max_age);
    }

    /// Adds the `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self, headers: &mut HeaderMap) {
        self.add_cookie(headers, "", 0);
    }

    fn add_cookie(&self, headers: &mut HeaderMap, value: &str, max_age: u64) {
        self.add_named_cookie(headers, self.cookie_name(), value, max_age, "Lax");
    }

    fn add_named_cookie(
        &self,
        headers: &mut HeaderMap,
        name: &str,
        value: &str,
        max_age: u64,
        same_site: &str,
    ) {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }

    /// The CSRF token for a form of `session` deciding `what`.
    pub fn csrf(&self, session: &Session, what: &[&str]) -> String {
        let mut parts = vec!["csrf", session.id.as_str()];
        parts.extend_from_slice(what);
        self.key.sign(&parts)
    }

    /// Whether `token` is [`csrf`](Self::csrf) of `session` and `what`.
    pub fn check_csrf(&self, session: &Session, what: &[&str], token: &str) -> bool {
        let mut parts = vec!["csrf", session.id.as_str()];
        parts.extend_from_slice(what);
        self.key.verify(&parts, token)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The value of the cookie `name`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then_some(v)
        })
}
