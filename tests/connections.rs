//! The example server against connections that would hold it (RFC 6819
//! §4.4.1.11): request heads sent a byte at a time (slowloris), sockets that
//! send nothing, bodies sent too slowly, bodies declared 10 GB, and more
//! connections than it serves at once. Each is closed or refused in time,
//! the cap on connections holds, and legitimate clients are answered
//! throughout. Run in process, over real sockets on loopback, with short
//! timeouts (`Options::header_read_timeout`, `body_read_timeout`,
//! `request_timeout`, `max_connections`).
//!
//! The 1,000-connection test holds both ends of every connection in this
//! process, so it raises its soft limit on open files (to the hard limit at
//! most; it fails, saying so, if that is too low).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::sync::Arc;
use std::time::Duration;

use example::{Server, basic, get, post_form};
use portcullis::endpoint::Endpoint;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

const METADATA: &str = "/.well-known/oauth-authorization-server";
/// A body the server must never wait for.
const TEN_GB: &str = "10000000000";
/// The longest a legitimate request may wait under attack: many times what
/// it takes (the header-read timeout, at most twice over), and less than the
/// test client's own ten seconds.
const ANSWERED_WITHIN: Duration = Duration::from_secs(8);
/// The longest a slow connection may stay open, from its connect: the
/// header-read or body timeout, after waiting in the backlog, many times
/// over.
const CLOSED_WITHIN: Duration = Duration::from_secs(15);

/// The example server with `configure`'s options.
async fn start(configure: impl FnOnce(&mut example::app::options::Options)) -> Server {
    let mut options = example::options(&[]);
    configure(&mut options);
    example::start_with(options).await
}

/// `HOST:PORT` of `server`.
fn addr(server: &Server) -> String {
    server.running.url.trim_start_matches("http://").to_owned()
}

/// A request head: `method path`, a `Host`, then `headers`.
fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The path of `url`.
fn path(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_owned()
}

/// The head of a client-credentials token request whose body is declared
/// `length` bytes long, with the demo service's credentials.
fn token_head(server: &Server, length: &str) -> Vec<u8> {
    let clients = &server.demo().clients;
    head(
        "POST",
        &path(&server.endpoint(Endpoint::Token)),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                &basic(&clients.service_id, &clients.service_secret),
            ),
            ("Content-Length", length),
        ],
    )
}

/// How the server ended a connection: the status it answered first, if
/// any, and whether the close was a reset (the server closes with bytes of
/// ours unread, and its answer may be lost with them).
#[derive(Debug, Clone, Copy)]
struct End {
    status: Option<u16>,
    reset: bool,
}

/// The status of a raw response, if it has begun.
fn status_of(raw: &[u8]) -> Option<u16> {
    let line = raw.strip_prefix(b"HTTP/1.1 ")?;
    std::str::from_utf8(line.get(..3)?).ok()?.parse().ok()
}

/// Connects to `addr`, sends `first`, then one byte of `trickle` (cycled)
/// every `pause`, until the server closes the connection, which it must do
/// within [`CLOSED_WITHIN`]. An empty `trickle` sends nothing more.
async fn hold(addr: &str, first: &[u8], trickle: &[u8], pause: Duration) -> End {
    let stream = TcpStream::connect(addr).await.unwrap();
    hold_open(stream, first, trickle, pause).await
}

async fn hold_open(mut stream: TcpStream, first: &[u8], trickle: &[u8], pause: Duration) -> End {
    let opened = Instant::now();
    let (mut reader, mut writer) = stream.split();
    // A write to a connection the server closed may fail: the read then
    // ends too, and tells how.
    let _ = writer.write_all(first).await;
    let mut bytes = trickle.iter().cycle();
    let mut next = opened + pause;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let reset = tokio::time::timeout(CLOSED_WITHIN, async {
        loop {
            tokio::select! {
                read = reader.read(&mut buffer) => match read {
                    Ok(0) => break false,
                    Ok(n) => answer.extend_from_slice(&buffer[..n]),
                    Err(_) => break true,
                },
                () = tokio::time::sleep_until(next), if !trickle.is_empty() => {
                    next += pause;
                    let _ = writer.write_all(&[*bytes.next().unwrap()]).await;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("a slow connection was left open for {CLOSED_WITHIN:?}"));
    End {
        status: status_of(&answer),
        reset,
    }
}

/// Reads one response (with a `Content-Length`) from a connection kept
/// alive: its status.
async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse().unwrap());
            if raw.len() >= end + 4 + length {
                return status_of(&raw).unwrap();
            }
        }
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "closed before a response");
        raw.extend_from_slice(&buffer[..n]);
    }
}

/// Whether `stream` gets a response within `wait`.
async fn answered_within(stream: &mut TcpStream, wait: Duration) -> bool {
    tokio::time::timeout(wait, read_response(stream))
        .await
        .is_ok()
}

/// A legitimate client's metadata request and client-credentials token
/// request, each answered `200` within [`ANSWERED_WITHIN`]; how long they
/// took.
async fn legitimate_requests(server: &Server) -> Duration {
    let started = Instant::now();
    let metadata = tokio::time::timeout(ANSWERED_WITHIN, get(&server.url(METADATA), &[]))
        .await
        .expect("the metadata request was not answered in time");
    assert_eq!(metadata.status(), 200, "{}", metadata.text());
    let clients = &server.demo().clients;
    let token = tokio::time::timeout(
        ANSWERED_WITHIN,
        post_form(
            &server.endpoint(Endpoint::Token),
            &[(
                "Authorization",
                &basic(&clients.service_id, &clients.service_secret),
            )],
            &[("grant_type", "client_credentials"), ("scope", "read")],
        ),
    )
    .await
    .expect("the token request was not answered in time");
    assert_eq!(token.status(), 200, "{}", token.text());
    assert!(token.json()["access_token"].is_string());
    started.elapsed()
}

/// Raises this process's soft limit on open files to `needed`, within the
/// hard limit.
fn allow_open_files(needed: u64) {
    let allowed = rlimit::increase_nofile_limit(needed).unwrap();
    assert!(
        allowed >= needed,
        "this test needs {needed} open files and the hard limit allows {allowed}: raise it (ulimit -Hn)"
    );
}

/// What an attacking connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Sends a request head a byte at a time, never finishing it.
    Slowloris,
    /// Sends nothing.
    Idle,
    /// Declares a 10 GB body at the token endpoint and trickles it.
    HugeBody,
    /// Declares a small body at the token endpoint and sends a byte of it
    /// now and then, each pause longer than the body-read timeout.
    SlowBody,
}

/// 1,000 connections at once — slowloris heads, idle sockets, 10 GB bodies
/// trickled, small bodies sent too slowly — each reopened as soon as the
/// server closes it, for several header-read timeouts; the server (with its
/// default cap of 512 connections) closes every one, and answers a
/// legitimate client's metadata and token requests throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_connections_are_closed_while_legitimate_clients_are_served() {
    const ATTACKERS: usize = 1000;
    // Both ends of each connection, and the server's own files.
    allow_open_files(2048);
    let server = start(|options| {
        options.header_read_timeout = Duration::from_secs(1);
        options.body_read_timeout = Duration::from_secs(1);
        options.request_timeout = Duration::from_secs(3);
    })
    .await;
    let addr = addr(&server);
    // A head that never ends: no blank line.
    let slowloris =
        format!("GET {METADATA} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: a\r\n").into_bytes();
    let huge = token_head(&server, TEN_GB);
    let slow = token_head(&server, "1000");
    let body = b"grant_type=client_credentials&".to_vec();
    let attack_for = Duration::from_secs(5);
    let until = Instant::now() + attack_for;
    // Every attacker connects before any sends a byte: 1,000 open at once.
    let connected = Arc::new(tokio::sync::Barrier::new(ATTACKERS));
    let mut attackers = tokio::task::JoinSet::new();
    for i in 0..ATTACKERS {
        let attack = match i % 10 {
            0..=3 => Attack::Slowloris,
            4..=6 => Attack::Idle,
            7 | 8 => Attack::HugeBody,
            _ => Attack::SlowBody,
        };
        let (addr, connected) = (addr.clone(), Arc::clone(&connected));
        let (slowloris, huge, slow, body) =
            (slowloris.clone(), huge.clone(), slow.clone(), body.clone());
        attackers.spawn(async move {
            let mut ends = Vec::new();
            let first = TcpStream::connect(&addr).await;
            connected.wait().await;
            let mut first = Some(first.unwrap());
            while first.is_some() || Instant::now() < until {
                let stream = match first.take() {
                    Some(stream) => stream,
                    None => TcpStream::connect(&addr).await.unwrap(),
                };
                let pause = Duration::from_millis(250);
                let end = match attack {
                    Attack::Slowloris => hold_open(stream, &[], &slowloris, pause).await,
                    Attack::Idle => hold_open(stream, &[], &[], pause).await,
                    Attack::HugeBody => hold_open(stream, &huge, &body, pause).await,
                    Attack::SlowBody => {
                        hold_open(stream, &slow, &body, Duration::from_millis(1500)).await
                    }
                };
                ends.push(end);
            }
            (attack, ends)
        });
    }
    // Meanwhile, a legitimate client.
    let mut rounds = Vec::new();
    while Instant::now() < until {
        rounds.push(legitimate_requests(&server).await);
    }
    let mut closed = std::collections::BTreeMap::<_, usize>::new();
    for (attack, ends) in attackers.join_all().await {
        for end in ends {
            let allowed: &[u16] = match attack {
                // The header-read timeout: closed, perhaps after a `408`.
                Attack::Slowloris | Attack::Idle => &[408],
                // Refused from its head: the library's `413`.
                Attack::HugeBody => &[413],
                // Cut off by the body-read timeout: the endpoint cannot
                // read the body, and answers the library's `413`; or by
                // the request timeout, `408`.
                Attack::SlowBody => &[408, 413],
            };
            match end.status {
                Some(status) => assert!(allowed.contains(&status), "{attack:?}: {end:?}"),
                // No answer: closed at the header-read timeout, or reset
                // with our bytes unread (the answer lost with them).
                None => assert!(
                    matches!(attack, Attack::Slowloris | Attack::Idle) || end.reset,
                    "{attack:?}: {end:?}"
                ),
            }
            *closed.entry(format!("{attack:?} {end:?}")).or_default() += 1;
        }
    }
    eprintln!("legitimate rounds: {rounds:?}; slow connections closed: {closed:#?}");
    assert!(!rounds.is_empty());
    legitimate_requests(&server).await;
    server.stop().await;
}

/// With as many connections open as the cap, the next ones get no answer
/// — they wait in the backlog — until one of the open ones ends; then
/// exactly as many are served as slots were freed.
#[tokio::test]
async fn the_connection_cap_holds_and_waiting_connections_are_served_as_slots_free() {
    const CAP: usize = 4;
    // Nothing times out during the test: only a closed connection frees a
    // slot.
    let server = start(|options| {
        options.max_connections = CAP;
        options.header_read_timeout = Duration::from_secs(120);
    })
    .await;
    let addr = addr(&server);
    let request = head("GET", METADATA, &[]);
    // `CAP` connections, each served once and kept alive.
    let mut open = Vec::new();
    for _ in 0..CAP {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        assert_eq!(read_response(&mut stream).await, 200);
        open.push(stream);
    }
    // Three more, connected in this order, each with its request sent.
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        waiting.push(stream);
    }
    for stream in &mut waiting {
        assert!(!answered_within(stream, Duration::from_millis(500)).await);
    }
    // The kept-alive connections are still served.
    for stream in &mut open {
        stream.write_all(&request).await.unwrap();
        assert_eq!(read_response(stream).await, 200);
    }
    // One slot frees: the first waiting connection is served, the others
    // still wait.
    drop(open.pop());
    assert!(answered_within(&mut waiting[0], ANSWERED_WITHIN).await);
    for stream in &mut waiting[1..] {
        assert!(!answered_within(stream, Duration::from_millis(500)).await);
    }
    // Two more: the rest are served.
    drop(open.pop());
    drop(open.pop());
    for stream in &mut waiting[1..] {
        assert!(answered_within(stream, ANSWERED_WITHIN).await);
    }
    server.stop().await;
}

/// Idle connections that fill the cap are closed at the header-read
/// timeout, and a client waiting behind them is then served.
#[tokio::test]
async fn a_client_waiting_behind_idle_connections_is_served_once_they_time_out() {
    const CAP: usize = 4;
    let server = start(|options| {
        options.max_connections = CAP;
        options.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = addr(&server);
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Connected after them: it waits in the backlog until they time out.
    legitimate_requests(&server).await;
    for stream in idle {
        let end = hold_open(stream, &[], &[], Duration::ZERO).await;
        assert!(matches!(end.status, None | Some(408)), "{end:?}");
    }
    server.stop().await;
}

/// A body declared larger than the limit (10 GB) is refused from the
/// request's head — `413` at once, not after a timeout — at the library's
/// endpoints (its JSON error) and at the pages.
#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_read() {
    // Longer than the test: only a refusal from the head answers.
    let server = start(|options| {
        options.body_read_timeout = Duration::from_secs(120);
        options.request_timeout = Duration::from_secs(120);
    })
    .await;
    let addr = addr(&server);
    let mut heads = vec![(token_head(&server, TEN_GB), true)];
    for url in [
        server.endpoint(Endpoint::Authorization),
        server.endpoint(Endpoint::Revocation),
        server.endpoint(Endpoint::Introspection),
    ] {
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let head = head("POST", &path(&url), &[form, ("Content-Length", TEN_GB)]);
        heads.push((head, true));
    }
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    heads.push((
        head("POST", "/login", &[form, ("Content-Length", TEN_GB)]),
        false,
    ));
    for (head, library) in heads {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(&head).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(ANSWERED_WITHIN, stream.read_to_end(&mut raw))
            .await
            .expect("a 10 GB body was waited for")
            .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert_eq!(status_of(&raw), Some(413), "{text}");
        if library {
            assert!(text.contains(r#""error":"invalid_request""#), "{text}");
        }
    }
    server.stop().await;
}

/// A body sent slower than the server waits for is cut off: a pause longer
/// than the body-read timeout ends the request (the endpoint cannot read the
/// body: the library's `413`), and a steady trickle ends at the request
/// timeout (`408`). Either way the connection is closed.
#[tokio::test]
async fn a_body_sent_too_slowly_is_cut_off() {
    let server = start(|options| {
        options.body_read_timeout = Duration::from_secs(1);
        options.request_timeout = Duration::from_secs(3);
    })
    .await;
    let addr = addr(&server);
    let head = token_head(&server, "1000");
    let body = b"grant_type=client_credentials&";
    // A byte each 2 s: each pause is longer than the body-read timeout.
    let paused = hold(&addr, &head, body, Duration::from_secs(2)).await;
    assert_eq!(paused.status, Some(413), "{paused:?}");
    // A byte each 350 ms: no pause is, but 1,000 bytes take minutes. (No
    // byte is sent as the request times out, so none is left unread to
    // turn the close into a reset.)
    let steady = hold(&addr, &head, body, Duration::from_millis(350)).await;
    assert_eq!(steady.status, Some(408), "{steady:?}");
    legitimate_requests(&server).await;
    server.stop().await;
}
