//! The connection loop: hyper's HTTP/1.1 server under the application,
//! with the limits `axum::serve` does not set.
//!
//! - A client must send a request's head within [`HEADER_READ_TIMEOUT`],
//!   or its connection is closed — slowloris connections, and idle
//!   keep-alive ones, do not pile up.
//! - At most [`MAX_CONNECTIONS`] are open at once; past that, new ones wait
//!   in the kernel's backlog, and the file descriptors left keep the
//!   database and the log working.
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
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tower::ServiceExt as _;

/// How long a client has to send a request's head (and, between requests,
/// to start the next one).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// How long a stop waits for requests in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` fires; a client has
/// `header_read_timeout` to send each request's head.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    mut stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
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
