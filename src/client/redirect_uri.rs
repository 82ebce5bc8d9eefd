//! Registered redirection endpoints (RFC 6749 §3.1.2; RFC 8252 §7; RFC 9700 §4.1).
//!
//! A redirect URI is registered in full and later matched by exact string
//! comparison, so validation happens once, here, at registration:
//!
//! - absolute, with no fragment (RFC 6749 §3.1.2) and no user information;
//! - `https` for every client;
//! - for native apps also `http` on a loopback IP literal (RFC 8252 §7.3; any port
//!   matches at the authorization endpoint) and private-use schemes in reverse
//!   domain form such as `com.example.app:/cb` (RFC 8252 §7.1). `localhost` is
//!   refused: RFC 8252 §8.3 and RFC 9700 §4.1.3 recommend the IP literal, which
//!   cannot be re-pointed by a hosts file or DNS.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use url::{Host, Url};

use super::ClientProfile;

/// The longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Why a redirect URI was refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// Not an absolute URI.
    #[error("redirect URI must be an absolute URI")]
    NotAbsolute,
    /// Longer than [`MAX_REDIRECT_URI_LEN`], or than the limit a dynamic
    /// registration sets
    /// ([`DynamicRegistration::max_redirect_uri_len`](crate::endpoint::DynamicRegistration::max_redirect_uri_len)).
    #[error("each redirect URI must be at most {max} bytes")]
    TooLong {
        /// The limit, in bytes.
        max: usize,
    },
    /// More redirect URIs than a dynamic registration may have
    /// ([`DynamicRegistration::max_redirect_uris`](crate::endpoint::DynamicRegistration::max_redirect_uris));
    /// the URI is the first one past the limit.
    #[error("redirect_uris may have at most {max} entries")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// Has a fragment (RFC 6749 §3.1.2).
    #[error("redirect URI must not contain a fragment")]
    Fragment,
    /// Carries user information (`https://user@host/`).
    #[error("redirect URI must not contain user information")]
    UserInfo,
    /// Characters outside printable ASCII: a URI (RFC 3986) has none, and a
    /// redirect must fit in a `Location` header as it is.
    #[error("redirect URI must be printable ASCII (percent-encode anything else)")]
    InvalidCharacters,
    /// A scheme or host this client profile may not use.
    #[error("redirect URI must use https (native apps: loopback http or a private-use scheme)")]
    Insecure,
}

/// A validated redirect URI, kept exactly as registered.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri {
    uri: Arc<str>,
    loopback: bool,
}

impl RedirectUri {
    /// Validates `uri` for a client of `profile`.
    pub fn new(uri: &str, profile: ClientProfile) -> Result<Self, RedirectUriError> {
        if uri.len() > MAX_REDIRECT_URI_LEN {
            return Err(RedirectUriError::TooLong {
                max: MAX_REDIRECT_URI_LEN,
            });
        }
        if !uri.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
            return Err(RedirectUriError::InvalidCharacters);
        }
        let parsed = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
        if parsed.fragment().is_some() {
            return Err(RedirectUriError::Fragment);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(RedirectUriError::UserInfo);
        }
        let native = profile == ClientProfile::Native;
        let loopback = match parsed.scheme() {
            "https" if parsed.host().is_some() => false,
            "http" if native && is_loopback_ip(&parsed) => true,
            // RFC 8252 §7.1: a private-use scheme based on a domain name the app
            // controls, in reverse order, so it contains a period. This also
            // rules out `javascript:`, `data:` and `file:`.
            scheme if native && scheme.contains('.') => false,
            _ => return Err(RedirectUriError::Insecure),
        };
        Ok(Self {
            uri: Arc::from(uri),
            loopback,
        })
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The URI, sharing its allocation.
    pub(crate) fn shared(&self) -> Arc<str> {
        Arc::clone(&self.uri)
    }

    /// Whether `requested` designates this redirect URI: exact string
    /// comparison (RFC 9700 §4.1.3), except that a native app's loopback
    /// redirect matches on any port (RFC 8252 §7.3) — scheme, host, path and
    /// query must still be identical.
    pub fn matches(&self, requested: &str) -> bool {
        if requested == &*self.uri {
            return true;
        }
        if !self.loopback {
            return false;
        }
        // The registered URI is `http://HOST[:PORT]REST`; the requested one
        // must be `http://HOST[:PORT']REST`, character for character, with
        // only the port free (RFC 8252 §7.3, RFC 9700 §4.1.3).
        let Some((host, rest)) = split_loopback(&self.uri) else {
            return false;
        };
        let Some(after_host) = requested
            .strip_prefix("http://")
            .and_then(|r| r.strip_prefix(host))
        else {
            return false;
        };
        let after_port = match after_host.strip_prefix(':') {
            Some(port_and_rest) => {
                let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
                let port = port_and_rest
                    .get(..digits)
                    .and_then(|p| p.parse::<u16>().ok());
                if digits == 0 || port.is_none_or(|p| p == 0) {
                    return false;
                }
                port_and_rest.get(digits..).unwrap_or_default()
            }
            None => after_host,
        };
        after_port == rest
    }

    /// This URI, matched exactly even if it is a loopback one.
    pub(crate) fn exact(self) -> Self {
        Self {
            loopback: false,
            ..self
        }
    }

    /// Whether this is a native app's loopback redirect (RFC 8252 §7.3), whose
    /// port may vary from request to request.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

/// `http://HOST[:PORT]REST` → (`HOST`, `REST`), for a registered loopback URI
/// (so HOST is `127.x.y.z` or `[…]`, as written at registration).
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.strip_prefix("http://")?;
    // Where a URL parser ends the authority of an `http` URL (WHATWG URL:
    // `\` is a path separator for special schemes, as in browsers); a
    // fragment is refused at registration. Ending it anywhere else would
    // read path characters as a port, free to vary.
    let authority_end = after_scheme
        .find(['/', '?', '\\'])
        .unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at(authority_end);
    let host = match authority.rfind(':') {
        // A port, unless the colon is inside an IPv6 literal's brackets.
        Some(colon) if !authority[colon..].contains(']') => authority.get(..colon)?,
        _ => authority,
    };
    Some((host, rest))
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({})", self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClientProfile::*;

    #[test]
    fn https_is_accepted_for_every_profile() {
        for p in [WebApplication, UserAgentBased, Native] {
            let r = RedirectUri::new("https://client.example/cb?x=1", p).unwrap();
            assert_eq!(r.as_str(), "https://client.example/cb?x=1");
            assert_eq!(&*r.shared(), "https://client.example/cb?x=1");
            assert_eq!(
                format!("{r:?}"),
                "RedirectUri(https://client.example/cb?x=1)"
            );
            assert!(!r.is_loopback());
        }
    }

    #[test]
    fn refused_everywhere() {
        for p in [WebApplication, UserAgentBased, Native] {
            assert_eq!(
                RedirectUri::new("/cb", p),
                Err(RedirectUriError::NotAbsolute)
            );
            assert_eq!(
                RedirectUri::new("https://a.example/cb#x", p),
                Err(RedirectUriError::Fragment)
            );
            assert_eq!(
                RedirectUri::new("https://a.example/cb#", p),
                Err(RedirectUriError::Fragment)
            );
            assert_eq!(
                RedirectUri::new("https://u:p@a.example/cb", p),
                Err(RedirectUriError::UserInfo)
            );
            assert_eq!(
                RedirectUri::new("javascript:alert(1)", p),
                Err(RedirectUriError::Insecure)
            );
            assert_eq!(
                RedirectUri::new("http://localhost/cb", p),
                Err(RedirectUriError::Insecure)
            );
            assert_eq!(
                RedirectUri::new("http://a.example/cb", p),
                Err(RedirectUriError::Insecure)
            );
        }
    }

    /// A loopback URI made exact (a client ID metadata document's, whose
    /// redirect URIs are compared with their ports) matches only itself.
    #[test]
    fn an_exact_loopback_uri_matches_only_its_own_port() {
        let exact = RedirectUri::new("http://127.0.0.1:8080/cb", Native)
            .unwrap()
            .exact();
        assert!(!exact.is_loopback());
        assert!(exact.matches("http://127.0.0.1:8080/cb"));
        assert!(!exact.matches("http://127.0.0.1:9999/cb"));
        assert!(!exact.matches("http://127.0.0.1/cb"));
    }

    #[test]
    fn matching_is_exact_but_for_loopback_ports() {
        let web = RedirectUri::new("https://client.example/cb?x=1", WebApplication).unwrap();
        assert!(web.matches("https://client.example/cb?x=1"));
        for other in [
            "https://client.example/cb?x=1&y=2",
            "https://client.example/cb",
            "https://client.example/cb?x=1#",
            "https://CLIENT.example/cb?x=1",
            "https://client.example:443/cb?x=1",
            "https://client.example/cb/?x=1",
        ] {
            assert!(!web.matches(other), "{other}");
        }
        let native = RedirectUri::new("http://127.0.0.1/cb", Native).unwrap();
        assert!(native.matches("http://127.0.0.1:51234/cb"));
        assert!(native.matches("http://127.0.0.1/cb"));
        for other in [
            "http://127.1:5000/cb",
            "http://0x7f.0.0.1:5000/cb",
            "HTTP://127.0.0.1:5000/cb",
            "http://127.0.0.1:5000/x/../cb",
            "http://127.0.0.1:5000\\cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:51234/cb2",
            "http://127.0.0.1:51234/cb?x",
            "http://localhost:51234/cb",
            "https://127.0.0.1:51234/cb",
            "http://127.0.0.2:51234/cb",
            "http://u@127.0.0.1:51234/cb",
            "http://127.0.0.1:51234/cb#f",
        ] {
            assert!(!native.matches(other), "{other}");
        }
        let v6 = RedirectUri::new("http://[::1]:8080/cb", Native).unwrap();
        assert!(v6.matches("http://[::1]:9999/cb"));
        assert!(!v6.matches("http://127.0.0.1:9999/cb"));
        // Registered without a port: the colons inside the brackets are not
        // one.
        let v6 = RedirectUri::new("http://[::1]/cb", Native).unwrap();
        assert!(v6.matches("http://[::1]:9999/cb"));
        assert!(!v6.matches("http://[::2]:9999/cb"));
    }

    #[test]
    fn native_apps_get_loopback_and_private_use_schemes() {
        let r = RedirectUri::new("http://127.0.0.1/cb", Native).unwrap();
        assert!(r.is_loopback());
        assert!(
            RedirectUri::new("http://[::1]:8080/cb", Native)
                .unwrap()
                .is_loopback()
        );
        assert!(RedirectUri::new("com.example.app:/oauth2redirect", Native).is_ok());
        assert_eq!(
            RedirectUri::new("myapp:/cb", Native),
            Err(RedirectUriError::Insecure)
        );
        assert_eq!(
            RedirectUri::new("http://127.0.0.1/cb", WebApplication),
            Err(RedirectUriError::Insecure)
        );
        assert_eq!(
            RedirectUri::new("com.example.app:/cb", UserAgentBased),
            Err(RedirectUriError::Insecure)
        );
    }
}
