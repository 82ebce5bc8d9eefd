//! The server's HTTP client for client ID metadata documents: an
//! SSRF-safe [`Fetcher`] (draft-ietf-oauth-client-id-metadata-document-01
//! §6.5, §6.6).
//!
//! - `https` only; `http` only with `--allow-loopback-client-metadata`, and
//!   then only to a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`)
//!   resolving to loopback addresses.
//! - The host is resolved here, every address it resolves to is checked
//!   ([`is_public`]: no private, loopback, link-local, unique-local,
//!   multicast, unspecified, CGNAT, documentation or otherwise special-use
//!   address — RFC 6890 — nor an IPv4-mapped or -embedding IPv6 form of
//!   one), and the connection goes to the address checked, so a second DNS
//!   answer (rebinding) cannot swap it.
//! - One `GET`, HTTP/1.1, no redirects followed (a `3xx` is returned as it
//!   is, and the library refuses it); the body read up to the limit and no
//!   further; the whole fetch within the time limit.
//! - TLS by rustls on aws-lc-rs, with Mozilla's roots (`webpki-roots`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use url::{Host, Url};

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The fetcher: [`SafeFetcher::new`] for production, with `allow_loopback`
/// only for development.
#[derive(Clone)]
pub struct SafeFetcher {
    tls: TlsConnector,
    allow_loopback: bool,
}

impl fmt::Debug for SafeFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SafeFetcher")
            .field("allow_loopback", &self.allow_loopback)
            .finish_non_exhaustive()
    }
}

/// Why a fetch was refused before any connection.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Not `https` (nor loopback `http` when allowed).
    #[error("only https URLs are fetched")]
    Scheme,
    /// Carries user information, or has no host.
    #[error("the URL has no host or carries credentials")]
    Malformed,
    /// Resolves to an address the server must not reach.
    #[error("{0} is a private or special-use address")]
    Address(IpAddr),
    /// Resolves to nothing.
    #[error("the host does not resolve")]
    NoAddress,
}

impl SafeFetcher {
    /// A fetcher of `https` URLs on public addresses; with
    /// `allow_loopback`, also of `http` URLs on loopback hosts.
    pub fn new(allow_loopback: bool) -> Result<Self, rustls::Error> {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            allow_loopback,
        })
    }

    /// The address to connect to for `url`, vetted; and whether to use TLS.
    pub async fn vet(&self, url: &Url) -> Result<(SocketAddr, bool), Refused> {
        let tls = match url.scheme() {
            "https" => true,
            "http" if self.allow_loopback && is_loopback_host(url) => false,
            _ => return Err(Refused::Scheme),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Malformed);
        }
        let port = url.port_or_known_default().ok_or(Refused::Malformed)?;
        let addresses: Vec<SocketAddr> = match url.host() {
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Domain(name)) => tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| Refused::NoAddress)?
                .collect(),
            None => return Err(Refused::Malformed),
        };
        // Every address must pass: a name that resolves to one public and
        // one private address is refused, whichever would be tried first.
        let allowed = |ip: IpAddr| {
            if tls { is_public(ip) } else { ip.is_loopback() }
        };
        if let Some(bad) = addresses.iter().find(|a| !allowed(a.ip())) {
            return Err(Refused::Address(bad.ip()));
        }
        addresses
            .first()
            .copied()
            .ok_or(Refused::NoAddress)
            .map(|a| (a, tls))
    }

    async fn fetch(
        &self,
        url: &Url,
        limits: FetchLimits,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        let (address, tls) = self.vet(url).await.map_err(FetchError::new)?;
        let tcp = TcpStream::connect(address).await.map_err(FetchError::new)?;
        if tls {
            let name = match url.host() {
                Some(Host::Domain(d)) => ServerName::try_from(d.to_owned()),
                _ => Ok(ServerName::IpAddress(address.ip().into())),
            }
            .map_err(FetchError::new)?;
            let stream = self.tls.connect(name, tcp).await.map_err(FetchError::new)?;
            get(stream, url, limits).await
        } else {
            get(tcp, url, limits).await
        }
    }
}

/// One `GET` over `stream`, the body read up to `limits.max_body`.
async fn get<S>(
    stream: S,
    url: &Url,
    limits: FetchLimits,
) -> Result<http::Response<Vec<u8>>, FetchError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(FetchError::new)?;
    let driver = tokio::spawn(connection);
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let request = http::Request::get(path)
        .header(http::header::HOST, host)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "portcullis-example-server")
        .body(Empty::<Bytes>::new())
        .map_err(FetchError::new)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(FetchError::new)?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, limits.max_body)
        .collect()
        .await
        .map_err(|e| FetchError::new(format!("reading the body: {e}")))?
        .to_bytes()
        .to_vec();
    driver.abort();
    Ok(http::Response::from_parts(parts, body))
}

impl Fetcher for SafeFetcher {
    fn get<'a>(
        &'a self,
        url: &'a Url,
        limits: FetchLimits,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
        Box::pin(async move {
            tokio::time::timeout(limits.timeout, self.fetch(url, limits))
                .await
                .map_err(|_| FetchError::new("timed out"))?
        })
    }
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// Whether the server may connect to `ip` for a document: a globally
/// routable unicast address, and none of RFC 6890's special-use ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const SPECIAL: [([u8; 4], u32); 17] = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (cloud metadata services)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 31, 196, 0], 24), // AS112
        ([192, 52, 193, 0], 24), // AMT
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and broadcast
    ];
    !SPECIAL.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // An IPv6 form of an IPv4 address is judged as that address: mapped
    // (::ffff:a.b.c.d) and the deprecated compatible form (::a.b.c.d).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let bits = u128::from(ip);
    let in_net = |net: u128, prefix: u32| {
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        bits & mask == net & mask
    };
    // Only global unicast (2000::/3) can be public…
    if !in_net(0x2000 << 112, 3) {
        // (::/96 is the unspecified, loopback and IPv4-compatible space;
        // fc00::/7 unique-local, fe80::/10 link-local, ff00::/8 multicast,
        // 64:ff9b::/96 NAT64, 100::/64 discard: all outside 2000::/3.)
        return false;
    }
    // … less its special-use parts.
    const SPECIAL: [(u128, u32); 6] = [
        (0x2001_0000 << 96, 23), // IETF protocol assignments (Teredo, ORCHID, benchmarking…)
        (0x2001_0db8 << 96, 32), // documentation
        (0x2002 << 112, 16),     // 6to4: embeds an IPv4 address
        (0x3fff << 112, 20),     // documentation (RFC 9637)
        (0x2620_004f_8000 << 80, 48), // AS112-v6
        (0x2001_0002 << 96, 48), // benchmarking
    ];
    !SPECIAL.iter().any(|(net, prefix)| in_net(*net, *prefix))
}
