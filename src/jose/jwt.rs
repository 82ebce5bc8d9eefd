//! JWT claims (RFC 7519 §4.1) and their validation (RFC 7519 §7.2,
//! RFC 8725 §3.8–§3.10).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// `aud`: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, written as a string.
    One(String),
    /// Several, written as an array.
    Many(Vec<String>),
}

impl Audience {
    /// An audience of `values`: a string for one, an array for several.
    pub fn of(mut values: Vec<String>) -> Self {
        if values.len() == 1 {
            Audience::One(values.pop().unwrap_or_default())
        } else {
            Audience::Many(values)
        }
    }

    /// The audiences.
    pub fn values(&self) -> &[String] {
        match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        }
    }

    /// Whether `audience` is one of them (exact string comparison).
    pub fn contains(&self, audience: &str) -> bool {
        self.values().iter().any(|a| a == audience)
    }
}

/// The registered claims of a JWT a verifier checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RegisteredClaims {
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud`.
    pub aud: Option<Audience>,
    /// `exp`, seconds since the epoch.
    pub exp: Option<i64>,
    /// `nbf`, seconds since the epoch.
    pub nbf: Option<i64>,
    /// `iat`, seconds since the epoch.
    pub iat: Option<i64>,
    /// `jti`.
    pub jti: Option<String>,
}

/// Why a JWT's claims were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// A claim the validation requires is absent.
    #[error("the JWT has no {0} claim")]
    Missing(&'static str),
    /// `iss` is not the expected issuer.
    #[error("the JWT is from another issuer")]
    WrongIssuer,
    /// No `aud` is one the validation accepts (RFC 7519 §4.1.3).
    #[error("the JWT is for another audience")]
    WrongAudience,
    /// `exp` has passed.
    #[error("the JWT has expired")]
    Expired,
    /// `nbf` has not come yet.
    #[error("the JWT is not valid yet")]
    NotYetValid,
    /// `iat` is in the future, or `exp` is further away than the
    /// validation allows.
    #[error("the JWT's lifetime is not acceptable")]
    Lifetime,
}

/// What a verifier requires of a JWT's registered claims.
#[derive(Debug, Clone)]
#[must_use]
pub struct ClaimsValidation {
    issuer: Option<String>,
    audiences: Vec<String>,
    leeway: Duration,
    max_lifetime: Option<Duration>,
    require: Vec<&'static str>,
}

impl Default for ClaimsValidation {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaimsValidation {
    /// `exp` required and in the future, `nbf` and `iat` honoured if
    /// present, 60 seconds of leeway for clocks.
    pub fn new() -> Self {
        Self {
            issuer: None,
            audiences: Vec::new(),
            leeway: Duration::from_secs(60),
            max_lifetime: None,
            require: vec!["exp"],
        }
    }

    /// `iss` must equal `issuer` exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// `aud` must contain `audience` (or one of the audiences given by
    /// repeated calls).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// `exp` may be at most this far after `now` (and after `iat`): a
    /// client assertion is short-lived (RFC 7523 §3).
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime);
        self
    }

    /// `claim` (`sub`, `jti`, `iat`, …) must be present.
    pub fn require(mut self, claim: &'static str) -> Self {
        if !self.require.contains(&claim) {
            self.require.push(claim);
        }
        self
    }

    /// Checks `claims` at `now`.
    pub fn check(&self, claims: &RegisteredClaims, now: SystemTime) -> Result<(), ClaimsError> {
        for claim in &self.require {
            let present = match *claim {
                "iss" => claims.iss.is_some(),
                "sub" => claims.sub.is_some(),
                "aud" => claims.aud.is_some(),
                "exp" => claims.exp.is_some(),
                "nbf" => claims.nbf.is_some(),
                "iat" => claims.iat.is_some(),
                "jti" => claims.jti.is_some(),
                _ => true,
            };
            if !present {
                return Err(ClaimsError::Missing(claim));
            }
        }
        if let Some(issuer) = &self.issuer {
            if claims.iss.as_deref() != Some(issuer.as_str()) {
                return Err(ClaimsError::WrongIssuer);
            }
        }
        if !self.audiences.is_empty() {
            let aud = claims.aud.as_ref().ok_or(ClaimsError::Missing("aud"))?;
            if !self.audiences.iter().any(|a| aud.contains(a)) {
                return Err(ClaimsError::WrongAudience);
            }
        }
        let now = seconds(now);
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        if let Some(exp) = claims.exp {
            if exp.saturating_add(leeway) <= now {
                return Err(ClaimsError::Expired);
            }
        }
        if let Some(nbf) = claims.nbf {
            if nbf.saturating_sub(leeway) > now {
                return Err(ClaimsError::NotYetValid);
            }
        }
        if let Some(iat) = claims.iat {
            if iat.saturating_sub(leeway) > now {
                return Err(ClaimsError::Lifetime);
            }
        }
        if let (Some(max), Some(exp)) = (self.max_lifetime, claims.exp) {
            let max = i64::try_from(max.as_secs()).unwrap_or(i64::MAX);
            let from = claims.iat.map_or(now, |iat| iat.min(now));
            if exp.saturating_sub(from) > max.saturating_add(leeway) {
                return Err(ClaimsError::Lifetime);
            }
        }
        Ok(())
    }
}

/// Seconds since the epoch (a NumericDate, RFC 7519 §2); times before the
/// epoch are 0.
pub fn seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn claims(exp: i64) -> RegisteredClaims {
        RegisteredClaims {
            iss: Some("https://as.example".into()),
            aud: Some(Audience::Many(vec!["a".into(), "b".into()])),
            exp: Some(exp),
            iat: Some(1_000),
            ..RegisteredClaims::default()
        }
    }

    #[test]
    fn audience_issuer_and_time_are_checked() {
        let v = ClaimsValidation::new()
            .issuer("https://as.example")
            .audience("b")
            .leeway(Duration::ZERO);
        assert_eq!(v.check(&claims(2_000), at(1_500)), Ok(()));
        assert_eq!(
            v.check(&claims(2_000), at(2_000)),
            Err(ClaimsError::Expired)
        );
        assert_eq!(
            ClaimsValidation::new()
                .audience("c")
                .check(&claims(2_000), at(1_500)),
            Err(ClaimsError::WrongAudience)
        );
        assert_eq!(
            ClaimsValidation::new()
                .issuer("https://other.example")
                .check(&claims(2_000), at(1_500)),
            Err(ClaimsError::WrongIssuer)
        );
        let mut no_exp = claims(0);
        no_exp.exp = None;
        assert_eq!(
            ClaimsValidation::new().check(&no_exp, at(1_500)),
            Err(ClaimsError::Missing("exp"))
        );
        assert_eq!(
            ClaimsValidation::new()
                .require("jti")
                .check(&claims(2_000), at(1_500)),
            Err(ClaimsError::Missing("jti"))
        );
    }

    #[test]
    fn leeway_nbf_iat_and_lifetime() {
        let v = ClaimsValidation::new().leeway(Duration::from_secs(30));
        assert_eq!(v.check(&claims(2_000), at(2_029)), Ok(()));
        assert_eq!(
            v.check(&claims(2_000), at(2_030)),
            Err(ClaimsError::Expired)
        );
        let mut early = claims(5_000);
        early.nbf = Some(1_100);
        assert_eq!(v.check(&early, at(1_069)), Err(ClaimsError::NotYetValid));
        assert_eq!(v.check(&early, at(1_070)), Ok(()));
        let mut future = claims(5_000);
        future.iat = Some(2_000);
        assert_eq!(v.check(&future, at(1_900)), Err(ClaimsError::Lifetime));
        let short = ClaimsValidation::new()
            .leeway(Duration::ZERO)
            .max_lifetime(Duration::from_secs(300));
        assert_eq!(short.check(&claims(1_300), at(1_000)), Ok(()));
        assert_eq!(
            short.check(&claims(1_301), at(1_000)),
            Err(ClaimsError::Lifetime)
        );
    }

    #[test]
    fn audiences_serialize_as_string_or_array() {
        assert_eq!(
            serde_json::to_value(Audience::of(vec!["x".into()])).unwrap(),
            serde_json::json!("x")
        );
        assert_eq!(
            serde_json::to_value(Audience::of(vec!["x".into(), "y".into()])).unwrap(),
            serde_json::json!(["x", "y"])
        );
        let parsed: RegisteredClaims = serde_json::from_str(r#"{"aud":"x"}"#).unwrap();
        assert!(parsed.aud.unwrap().contains("x"));
    }
}
