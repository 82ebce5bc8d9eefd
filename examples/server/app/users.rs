//! The resource owners who can log in, with throttled password checks.
//!
//! A real host has its own accounts; this is the least that keeps the demo
//! honest. Passwords come from the command line (or the secrets file) and
//! live only in memory, as SHA-256 digests compared in constant time: a slow
//! hash protects a stored password database, and there is none here.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use portcullis::client::{Admission, AuthLimiter, MemoryLimiter, ThrottlePolicy};
use portcullis::store::StoreError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::options::{MAX_USER_NAME_LEN, User};

/// Why a login failed.
pub enum LoginError {
    /// Unknown user or wrong password; which is not said.
    Wrong,
    /// Too many failures for this user name: try again later.
    Throttled(Duration),
    /// The limiter failed.
    Unavailable(StoreError),
}

/// The users, and a limiter of failed logins per user name.
pub struct Users {
    /// Name → SHA-256 of the password.
    passwords: HashMap<String, [u8; 32]>,
    limiter: MemoryLimiter,
}

impl Users {
    /// The users who can log in.
    pub fn new(users: &[User]) -> Self {
        Self {
            passwords: users
                .iter()
                .map(|u| (u.name.clone(), Sha256::digest(&u.password).into()))
                .collect(),
            limiter: MemoryLimiter::new(ThrottlePolicy::default()),
        }
    }

    /// Checks a user name and password; returns the user's name (the subject
    /// of what they approve).
    pub async fn check(&self, name: &str, password: &str) -> Result<String, LoginError> {
        // No user has a longer name; refusing it here keeps the limiter's
        // keys small.
        if name.len() > MAX_USER_NAME_LEN {
            return Err(LoginError::Wrong);
        }
        let key = format!("login:{name}");
        let now = SystemTime::now();
        // The attempt is admitted — and counted — before the password is
        // checked, so concurrent guesses cannot slip past the limit.
        match self.limiter.admit(&key, now).await {
            Ok(Admission::Refuse { retry_after }) => {
                return Err(LoginError::Throttled(retry_after));
            }
            Ok(_) => {}
            Err(e) => return Err(LoginError::Unavailable(e)),
        }
        // The digest is computed and compared for unknown names too, so the
        // answer takes as long either way.
        let digest: [u8; 32] = Sha256::digest(password).into();
        let stored = self.passwords.get(name);
        let matches = bool::from(digest.ct_eq(stored.unwrap_or(&[0; 32])));
        if matches && stored.is_some() {
            return match self.limiter.succeeded(&key, now).await {
                Ok(()) => Ok(name.to_owned()),
                Err(e) => Err(LoginError::Unavailable(e)),
            };
        }
        // Not the name: people type their password there by mistake.
        tracing::warn!(target: "portcullis::security", event = "login_failed");
        Err(LoginError::Wrong)
    }
}
