//! The connection loop: hyper's HTTP/1.1 server under the application,
//! with the limits `axum::serve` does not set.
//!
//! - A client must send a request's head within [`HEADER_READ_TIMEOUT`],
//!   or its connection is closed — slowloris connections, and idle
//!   keep-alive ones, do not pile up.
//! - At most [`MAX_CONNECTIONS`] are open at once; past that, new ones wait
//!   in the kernel's backlog until a connection ends, and the file
//!   descriptors left keep the database and the log working. The backlog
//!   holds [`BACKLOG`] (not the 128 of `TcpListener::bind`), so a client
//!   arriving behind hundreds of slow connections waits its turn instead of
//!   having its connection dropped or reset.
//! - Bodies are the router's: a pause of more than
//!   [`BODY_READ_TIMEOUT`](super::BODY_READ_TIMEOUT) while sending one, or a
//!   request taking longer than [`REQUEST_TIMEOUT`](super::REQUEST_TIMEOUT),
//!   cuts the request off (`tower-http`'s timeout layers, in
//!   [`router`](super::router)); a body declared larger than the limit is
//!   refused before it is read.
//! - On shutdown, requests in progress finish (for [`SHUTDOWN_GRACE`] at
//!   most) and idle connections close.
//!
//! Each request carries its connection's peer address (`ConnectInfo`),
//! from which the library throttles client authentication per source.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, oneshot};
use tower::ServiceExt as _;

/// How long a client has to send a request's head (and, between requests,
/// to start the next one).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once: half of the usual soft limit
/// of 1,024 file descriptors.
pub const MAX_CONNECTIONS: usize = 512;
/// How many connections wait to be accepted, at most (the kernel may hold
/// fewer: Linux's `net.core.somaxconn`, 4096 by default).
pub const BACKLOG: u32 = 4096;
/// How long a stop waits for requests in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The limits on connections (from the `Options`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client has to send each request's head.
    pub header_read_timeout: Duration,
    /// How many connections are served at once (at least one).
    pub max_connections: usize,
}

/// Listens on `addr` (`HOST:PORT`; the first of the host's addresses that
/// binds) with a backlog of [`BACKLOG`].
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // As `TcpListener::bind` does on Unix: a restarted server binds its
        // port again while the last one's connections linger in TIME_WAIT.
        if cfg!(unix) {
            socket.set_reuseaddr(true)?;
        }
        match socket.bind(addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the host has no address")))
}

/// Serves `router` on `listener`, within `limits`, until `stop` fires.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    // A connection is accepted only with a slot; it gives the slot back
    // when it ends.
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => tokio::select! {
                    _ = &mut stop => break,
                    accepted = listener.accept() => accepted.map(|a| (a, slot)),
                },
                Err(_) => break,
            },
        };
        let ((stream, peer), slot) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than
                // spin, and go on serving the connections that are open.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = router
            .clone()
            .map_request(move |mut request: Request<_>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            })
            .map_err(|never: Infallible| match never {});
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection's end — closed, timed out, broken — is routine.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in progress after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    Ok(())
}
