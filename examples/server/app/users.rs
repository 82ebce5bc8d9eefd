//! The resource owners who can sign in: passwords hashed with Argon2id
//! (RFC 9106; the `argon2` crate the library uses for imported client
//! secrets), checked on the blocking pool, and throttled.
//!
//! A real host has its own accounts; this is the least that keeps the demo
//! honest. Passwords come from the command line (or the secrets file) and
//! are hashed at start, each with its own random salt; only the hashes are
//! kept. An unknown name is checked against a hash of a random password, so
//! the answer takes as long either way (RFC 6819 §5.1.4.2.2: no user
//! enumeration by timing).
//!
//! Guessing is throttled (RFC 6819 §5.1.4.2.4, a tar pit: each failure past
//! a few makes the next attempt wait longer) by three counts:
//!
//! - per known browser: a browser that signed in as the user before is
//!   counted on its own, and on nothing else, so others' guesses never lock
//!   the user out of it (RFC 6819 §5.1.4.2.3 warns that locking accounts can
//!   be abused to lock users out);
//! - per source, for every other browser: one network's guesses stop there;
//! - per user name, for every other browser, with a larger allowance than a
//!   source's: guesses from many sources together still slow down, while
//!   one source's burst (refused at the source, so never counted here)
//!   cannot lock the user out of other networks.
//!
//! Each attempt is admitted — and counted as a failure — before the password
//! is checked, atomically, and takes its count back when it turns out right:
//! concurrent guesses cannot slip past the limit, and a throttled guess
//! costs no hashing. The limiters' memory is bounded by their capacity.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use portcullis::client::{Admission, AuthLimiter, MemoryLimiter, ThrottlePolicy};
use portcullis::oidc::{Claims, StaticClaims};

use super::options::{MAX_USER_NAME_LEN, User};

/// The failures a user name takes from browsers it does not know before it
/// is throttled: more than one source's allowance (the policy's default, 5,
/// and the attempt that sets the block), so a single source never blocks
/// the name, few enough that many sources together are slowed down early.
pub const NAME_ALLOWED_FAILURES: u32 = 20;

/// Why a login failed.
pub enum LoginError {
    /// Unknown user or wrong password; which is not said.
    Wrong,
    /// Too many failures from this browser, this source or for this user
    /// name: try again later.
    Throttled(Duration),
    /// The limiter or the hashing failed.
    Unavailable(Box<dyn Error + Send + Sync>),
}

/// Who attempts a login, for throttling.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A browser that signed in as this user before, by its key
    /// ([`Sessions::known_browser`](super::session::Sessions::known_browser)).
    KnownBrowser(&'a str),
    /// Any other browser, from this source (the peer's address).
    Source(&'a str),
}

/// The users, and the limiters of failed logins.
pub struct Users {
    /// Name → Argon2id hash (PHC string) of the password.
    hashes: HashMap<String, Arc<str>>,
    /// The hash an unknown name is checked against.
    decoy: Arc<str>,
    /// The hashing: Argon2id at the configured cost.
    argon2: Argon2<'static>,
    /// Attempts from browsers not known for the user, per source.
    sources: MemoryLimiter,
    /// The same attempts, per user name.
    names: MemoryLimiter,
    /// Attempts from known browsers, per browser.
    browsers: MemoryLimiter,
}

/// The Argon2id hash of `password`, with a fresh salt.
fn hash(argon2: &Argon2<'_>, password: &str) -> Result<Arc<str>, Box<dyn Error + Send + Sync>> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    let hash = argon2
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| e.to_string())?;
    Ok(Arc::from(hash.to_string()))
}

/// Whether `password` matches `hash` (at the cost the hash names); the
/// comparison is the crate's, constant-time.
fn verify(argon2: &Argon2<'_>, hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|hash| argon2.verify_password(password.as_bytes(), &hash).is_ok())
}

impl Users {
    /// The users who can sign in, their passwords hashed with Argon2id at
    /// `cost` (on the blocking pool: at the default cost each hash takes
    /// tens of milliseconds, on purpose).
    pub async fn new(
        users: &[User],
        cost: argon2::Params,
    ) -> Result<Self, Box<dyn Error + Send + Sync>> {
        let argon2 = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, cost);
        let users = users.to_vec();
        let hasher = argon2.clone();
        let (hashes, decoy) = tokio::task::spawn_blocking(move || {
            let hashes = users
                .iter()
                .map(|u| Ok((u.name.clone(), hash(&hasher, &u.password)?)))
                .collect::<Result<HashMap<_, _>, Box<dyn Error + Send + Sync>>>()?;
            let decoy = hash(&hasher, &super::secrets::random_password())?;
            Ok::<_, Box<dyn Error + Send + Sync>>((hashes, decoy))
        })
        .await??;
        Ok(Self {
            hashes,
            decoy,
            argon2,
            sources: MemoryLimiter::new(ThrottlePolicy::default()),
            names: MemoryLimiter::new(
                ThrottlePolicy::default().with_allowed_failures(NAME_ALLOWED_FAILURES),
            ),
            browsers: MemoryLimiter::new(ThrottlePolicy::default()),
        })
    }

    /// Checks a user name and password attempted by `origin`; returns the
    /// user's name (the subject of what they approve).
    pub async fn check(
        &self,
        name: &str,
        password: &str,
        origin: Origin<'_>,
    ) -> Result<String, LoginError> {
        self.check_at(name, password, origin, SystemTime::now())
            .await
    }

    /// [`check`](Self::check) at `now` (for tests of the throttling).
    pub async fn check_at(
        &self,
        name: &str,
        password: &str,
        origin: Origin<'_>,
        now: SystemTime,
    ) -> Result<String, LoginError> {
        // No user has a longer name; refusing it here keeps the limiter's
        // keys small.
        if name.len() > MAX_USER_NAME_LEN {
            return Err(LoginError::Wrong);
        }
        // A known browser is counted by itself only; any other browser by
        // its source first — so a source refused there never reaches the
        // name's count, and a burst from one network cannot lock the name —
        // then by the name.
        let keys: Vec<(&MemoryLimiter, &str)> = match origin {
            Origin::KnownBrowser(browser) => vec![(&self.browsers, browser)],
            Origin::Source(source) => vec![(&self.sources, source), (&self.names, name)],
        };
        admit_all(&keys, now).await?;
        let known = self.hashes.get(name);
        let hash = Arc::clone(known.unwrap_or(&self.decoy));
        let password = password.to_owned();
        let argon2 = self.argon2.clone();
        let matches = tokio::task::spawn_blocking(move || verify(&argon2, &hash, &password))
            .await
            .map_err(|e| LoginError::Unavailable(e.into()))?;
        if matches && known.is_some() {
            // Right: this attempt no longer counts; the failures before it
            // still do (a success never resets a count, or guesses could hide
            // between the user's sign-ins).
            for (limiter, key) in &keys {
                let succeeded = limiter.succeeded(key, now).await;
                succeeded.map_err(|e| LoginError::Unavailable(e.into()))?;
            }
            return Ok(name.to_owned());
        }
        // Not the name: people type their password there by mistake.
        tracing::warn!(target: "portcullis::security", event = "login_failed");
        Err(LoginError::Wrong)
    }
}

/// Admits the attempt on every `(limiter, key)`, in order — counting it on
/// each — or on none: a refusal takes back the counts made before it, so a
/// key refuses only for its own failures.
async fn admit_all(keys: &[(&MemoryLimiter, &str)], now: SystemTime) -> Result<(), LoginError> {
    let unavailable = |e: portcullis::store::StoreError| LoginError::Unavailable(e.into());
    for (i, (limiter, key)) in keys.iter().enumerate() {
        let error = match limiter.admit(key, now).await {
            Ok(Admission::Refuse { retry_after }) => LoginError::Throttled(retry_after),
            Ok(_) => continue,
            Err(e) => unavailable(e),
        };
        for (limiter, key) in keys.iter().take(i) {
            limiter.succeeded(key, now).await.map_err(unavailable)?;
        }
        return Err(error);
    }
    Ok(())
}

/// The users' OpenID Connect claims (Core §5.1), which the provider
/// releases by scope (§5.4) at the UserInfo endpoint, and in ID tokens when
/// the `claims` parameter asks: `preferred_username` (the login name),
/// `name` (the full name, or the login name), and with an address `email`
/// and `email_verified` — true, as the operator gave the address.
pub fn claims(users: &[User]) -> StaticClaims {
    users.iter().fold(StaticClaims::new(), |source, user| {
        let mut claims = Claims::new()
            .with("preferred_username", user.name.as_str())
            .with("name", user.full_name.as_deref().unwrap_or(&user.name));
        if let Some(email) = &user.email {
            claims = claims
                .with("email", email.as_str())
                .with("email_verified", true);
        }
        source.user(user.name.as_str(), claims)
    })
}

/// The End-User claims [`claims`] holds.
const USER_CLAIMS: [&str; 4] = ["preferred_username", "name", "email", "email_verified"];

/// The claims this provider can state — the ID token's own (but `acr`,
/// which the example never reports) and those [`claims`] holds — for the
/// discovery document's `claims_supported` (Discovery §3).
pub fn claims_supported() -> impl Iterator<Item = &'static str> {
    portcullis::oidc::ID_TOKEN_CLAIMS
        .into_iter()
        .filter(|claim| *claim != "acr")
        .chain(USER_CLAIMS)
}
