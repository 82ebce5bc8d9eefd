//! Where a request comes from, as the host names it, for throttling keys
//! (RFC 6819 §4.4.1.11, §5.1.4.2.3).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Where a request comes from — the peer address, an mTLS identity, a
/// device cookie — as the host names it, so that guesses at a client's
/// secret from one source cannot lock the client out at another.
///
/// The host attaches it to the `http::Request` it hands an endpoint, as an
/// extension:
///
/// ```
/// # use portcullis::client::ThrottleSource;
/// let mut request = http::Request::new(Vec::<u8>::new());
/// request
///     .extensions_mut()
///     .insert(ThrottleSource::new("203.0.113.7"));
/// ```
///
/// or passes it to a typed request (`TokenRequest::with_source`, …).
///
/// It matters for a client whose secret a person chose (an imported secret,
/// stored with Argon2id), the only kind a guesser can hope to find: such a
/// client's failures are then counted per client *and* per source, so an
/// attacker elsewhere exhausts only their own budget. The trade-off: an
/// attacker with many sources (a botnet) gets one budget per source, so the
/// source should be something an attacker cannot mint cheaply (an address
/// prefix rather than a header the client sets). Without a source the
/// budget is per client, and anyone who knows the `client_id` can exhaust
/// it. A client with a generated secret is never locked out, source or not.
///
/// The value is the host's: the server compares it, never parses it, and
/// never logs it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ThrottleSource(Arc<str>);

impl ThrottleSource {
    /// A source named `name` — e.g. the peer IP address, or the subject of
    /// a client certificate.
    pub fn new(name: impl Into<String>) -> Self {
        Self(Arc::from(name.into()))
    }

    /// The source of a request from the peer address `ip`: an IPv4
    /// address is one source; an IPv6 address stands for its /64, since a
    /// host is handed a whole /64 and picks any address in it — keying by
    /// the full address would give a guesser 2^64 fresh budgets. An
    /// IPv4-mapped IPv6 address is its IPv4 address.
    ///
    /// ```
    /// # use portcullis::client::ThrottleSource;
    /// let a = ThrottleSource::from_ip("2001:db8:1:2:aaaa::1".parse().unwrap());
    /// let b = ThrottleSource::from_ip("2001:db8:1:2:bbbb::2".parse().unwrap());
    /// assert_eq!(a, b);
    /// let v4 = ThrottleSource::from_ip("::ffff:192.0.2.7".parse().unwrap());
    /// assert_eq!(v4.as_str(), "192.0.2.7");
    /// ```
    ///
    /// Behind a reverse proxy every peer is the proxy, so all requests share
    /// one source: still safe (one budget is only stricter), but a host that
    /// trusts its proxy passes the client's address from the proxy's
    /// `Forwarded` header (RFC 7239) here instead. Never trust that header
    /// from anyone else: a client can send any.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::new(v4.to_string()),
            IpAddr::V6(v6) => {
                let [a, b, c, d, ..] = v6.segments();
                Self::new(format!("{a:x}:{b:x}:{c:x}:{d:x}::/64"))
            }
        }
    }

    /// The name given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ThrottleSource {
    // An address is personal data: keep it out of logs by default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThrottleSource(..)")
    }
}
