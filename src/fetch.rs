//! The host's HTTP client: what portcullis needs fetched — a client's
//! `jwks_uri` (RFC 7591 §2), a client ID metadata document, an
//! authorization server's JWKS at a resource server — it asks a
//! [`Fetcher`] for. The library itself does no IO.
//!
//! A fetcher reaches URLs that requests name, so it is an SSRF risk: the
//! host's must refuse what its network should not be reached at (private,
//! loopback and link-local addresses after DNS resolution), follow no
//! redirects, and keep to [`FetchLimits`]. The example server's
//! `examples/server/app/fetch.rs` is one that does.

use std::fmt;
use std::time::Duration;

use http::HeaderMap;
use http::header::CACHE_CONTROL;
use url::Url;

use crate::erased::BoxFuture;

/// How much a fetch may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchLimits {
    /// The largest body to read; a longer one is an error.
    pub max_body: usize,
    /// How long the whole fetch may take.
    pub timeout: Duration,
}

impl FetchLimits {
    /// Limits of `max_body` bytes and `timeout`.
    pub fn new(max_body: usize, timeout: Duration) -> Self {
        Self { max_body, timeout }
    }
}

impl Default for FetchLimits {
    /// 64 KiB in 5 seconds: a key set or a metadata document is a few KiB.
    fn default() -> Self {
        Self::new(64 * 1024, Duration::from_secs(5))
    }
}

/// A fetch that failed: refused by the fetcher's rules, unreachable, too
/// slow or too large. Its cause is logged, never sent to a client.
#[derive(Debug, thiserror::Error)]
#[error("fetch failed: {0}")]
pub struct FetchError(Box<dyn std::error::Error + Send + Sync>);

impl FetchError {
    /// A failure with its cause.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

/// The host's HTTP client, for the documents portcullis must fetch.
///
/// `get` makes one `GET` request — no redirects followed — and returns the
/// response, whatever its status, with a body of at most
/// `limits.max_body` bytes, within `limits.timeout`.
pub trait Fetcher: fmt::Debug + Send + Sync + 'static {
    /// `GET url`.
    fn get<'a>(
        &'a self,
        url: &'a Url,
        limits: FetchLimits,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>>;
}

/// How long a fetched document may be cached, from its `Cache-Control`
/// (RFC 9111 §5.2.2): `max-age`, or zero for `no-store` and `no-cache`;
/// `default` without either; always within `min..=max`, so that a document
/// is neither fetched on every request nor kept for ever.
pub fn cache_lifetime(
    headers: &HeaderMap,
    default: Duration,
    min: Duration,
    max: Duration,
) -> Duration {
    let mut lifetime = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                lifetime = Some(Duration::ZERO);
            } else if name.eq_ignore_ascii_case("max-age") && lifetime.is_none() {
                lifetime = argument
                    .and_then(|a| a.parse::<u64>().ok())
                    .map(Duration::from_secs);
            }
        }
    }
    lifetime.unwrap_or(default).clamp(min, max.max(min))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(CACHE_CONTROL, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn cache_control_is_honoured_within_bounds() {
        let (default, min, max) = (
            Duration::from_secs(300),
            Duration::from_secs(30),
            Duration::from_secs(3600),
        );
        let life = |v: &[&str]| cache_lifetime(&headers(v), default, min, max).as_secs();
        assert_eq!(life(&[]), 300);
        assert_eq!(life(&["public, max-age=600"]), 600);
        assert_eq!(life(&["max-age=\"120\""]), 120);
        assert_eq!(life(&["max-age=5"]), 30);
        assert_eq!(life(&["max-age=999999"]), 3600);
        assert_eq!(life(&["no-store"]), 30);
        assert_eq!(life(&["max-age=600", "no-cache"]), 30);
        assert_eq!(life(&["max-age=abc"]), 300);
        assert_eq!(life(&["MAX-AGE=90"]), 90);
    }
}
