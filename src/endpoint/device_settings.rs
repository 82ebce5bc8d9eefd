//! The device authorization grant's settings (RFC 8628): where users enter
//! user codes, how long codes live, how often devices may poll, and how
//! failed user-code lookups are throttled.

use std::time::Duration;

use url::Url;

use super::build_error::BuildError;
use super::published_urls::check_published_url;
use crate::client::{AuthLimiter, DynAuthLimiter, MemoryLimiter, SecurityEvents, ThrottlePolicy};

/// How long device codes and user codes live by default: 10 minutes — long
/// enough to find a phone and log in, short enough to limit a phished code
/// (RFC 8628 §5.4) and the window for guessing one (§5.1).
pub const DEFAULT_DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(600);

/// The longest device code lifetime the builder accepts: a day. The polling
/// interval may not exceed the lifetime.
pub const MAX_DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(86_400);

/// The default least time between two polls: 5 seconds, the interval RFC 8628
/// §3.2 assumes when none is given.
pub const DEFAULT_POLLING_INTERVAL: Duration = Duration::from_secs(5);

/// The default throttle for failed user-code lookups: 5 free failures per
/// key, then a wait of 1 second that doubles with each failure up to 10
/// minutes (the codes' default lifetime); a key is forgotten after a quiet
/// hour. About 20 guesses per key in the first hour and 150 a day, against
/// 20⁸ codes (RFC 8628 §5.1).
pub fn default_user_code_policy() -> ThrottlePolicy {
    ThrottlePolicy::default()
        .with_allowed_failures(5)
        .with_initial_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(600))
        .with_reset_after(Duration::from_secs(3600))
}

/// The device flow's settings, as the builder collects them.
pub(crate) struct DeviceSettings {
    pub(crate) verification_uri: Option<String>,
    pub(crate) lifetime: Duration,
    pub(crate) interval: Duration,
    pub(crate) limiter: Box<dyn DynAuthLimiter>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            verification_uri: None,
            lifetime: DEFAULT_DEVICE_CODE_LIFETIME,
            interval: DEFAULT_POLLING_INTERVAL,
            limiter: Box::new(MemoryLimiter::new(default_user_code_policy())),
        }
    }
}

impl DeviceSettings {
    pub(crate) fn set_limiter(&mut self, limiter: impl AuthLimiter) {
        self.limiter = Box::new(limiter);
    }

    /// Checks the settings; the verification URI defaults to
    /// `{issuer}/device`.
    pub(crate) fn build(self, issuer: &Url) -> Result<DeviceFlow, BuildError> {
        let invalid = BuildError::InvalidDeviceFlow;
        let verification_uri = match self.verification_uri {
            Some(uri) => Url::parse(&uri).map_err(|_| invalid("verification URI is not a URL"))?,
            None => Url::parse(&format!("{}/device", issuer.as_str().trim_end_matches('/')))
                .map_err(|_| invalid("no default verification URI for this issuer"))?,
        };
        if verification_uri.fragment().is_some() {
            return Err(invalid("verification URI must have no fragment"));
        }
        check_published_url(&verification_uri).map_err(|_| {
            invalid(
                "verification URI must be https (http only on a loopback host), without user information",
            )
        })?;
        if self.lifetime < Duration::from_secs(1) || self.interval < Duration::from_secs(1) {
            return Err(invalid(
                "device code lifetime and polling interval must be at least 1 second",
            ));
        }
        // Bounded so that `now + lifetime` and the interval rounded up for the
        // response cannot overflow (a panic on every request), and because a
        // longer-lived user code gives guessers more time (RFC 8628 §5.1).
        if self.lifetime > MAX_DEVICE_CODE_LIFETIME || self.interval > self.lifetime {
            return Err(invalid(
                "device code lifetime must be at most a day, and the polling interval at most the lifetime",
            ));
        }
        Ok(DeviceFlow {
            verification_uri,
            lifetime: self.lifetime,
            interval: self.interval,
            limiter: self.limiter,
            events: SecurityEvents::default(),
        })
    }
}

/// The device flow's settings, checked.
pub(crate) struct DeviceFlow {
    pub(crate) verification_uri: Url,
    pub(crate) lifetime: Duration,
    pub(crate) interval: Duration,
    /// Throttles failed user-code lookups on the verification page.
    pub(crate) limiter: Box<dyn DynAuthLimiter>,
    /// User-code lookup failures and refusals, aggregated.
    pub(crate) events: SecurityEvents,
}

impl std::fmt::Debug for DeviceFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFlow")
            .field("verification_uri", &self.verification_uri.as_str())
            .field("lifetime", &self.lifetime)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(uri: Option<&str>) -> Result<DeviceFlow, BuildError> {
        let settings = DeviceSettings {
            verification_uri: uri.map(str::to_owned),
            ..DeviceSettings::default()
        };
        settings.build(&Url::parse("https://auth.example/tenant/").unwrap())
    }

    #[test]
    fn verification_uri_defaults_to_issuer_slash_device() {
        let flow = build(None).unwrap();
        assert_eq!(
            flow.verification_uri.as_str(),
            "https://auth.example/tenant/device"
        );
    }

    #[test]
    fn verification_uri_rules() {
        assert!(build(Some("https://example.com/activate")).is_ok());
        assert!(build(Some("https://example.com/device?lang=en")).is_ok());
        assert!(build(Some("http://127.0.0.1:8080/device")).is_ok());
        for bad in [
            "http://example.com/device",
            "https://example.com/device#x",
            "https://u:p@example.com/device",
            "/device",
            "mailto:x@example.com",
        ] {
            assert!(
                matches!(build(Some(bad)), Err(BuildError::InvalidDeviceFlow(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn lifetimes_must_be_positive() {
        let issuer = Url::parse("https://auth.example").unwrap();
        for (lifetime, interval) in [(0, 5), (600, 0)] {
            let settings = DeviceSettings {
                lifetime: Duration::from_secs(lifetime),
                interval: Duration::from_secs(interval),
                ..DeviceSettings::default()
            };
            assert!(settings.build(&issuer).is_err());
        }
    }
}
