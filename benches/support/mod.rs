//! What the token endpoint benchmarks share: a server at a steady state with
//! a chosen number of live tokens, and requests as a client sends them.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use http::Request;
use portcullis::AuthorizationServer;
use portcullis::client::{ClientRegistration, ThrottlePolicy};
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;
use portcullis::token::Clock;

/// Drives a future that never suspends (the memory store does no IO) without
/// an executor's overhead. Panics if the future does suspend.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the memory store never suspends"),
    }
}

/// A clock that moves forward by a fixed step each time it is read. The
/// token endpoint reads it once per request and tokens live 600 s, so a step
/// of 600 s / N keeps N tokens live in the store: the steady state of a server
/// issuing N tokens per token lifetime, with expired ones being swept.
#[derive(Debug)]
struct SteppingClock {
    reads: AtomicU64,
    step_micros: u64,
}

impl Clock for SteppingClock {
    fn now(&self) -> SystemTime {
        let n = self.reads.fetch_add(1, Ordering::Relaxed);
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_800_000_000)
            + Duration::from_micros(n * self.step_micros)
    }
}

const TOKEN_LIFETIME_MICROS: u64 = 600_000_000;

pub struct Setup {
    pub server: AuthorizationServer,
    pub authorization: String,
    pub wrong_authorization: String,
}

pub fn setup(policy: ThrottlePolicy, live_tokens: u64) -> Setup {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .clock(Arc::new(SteppingClock {
            reads: AtomicU64::new(0),
            step_micros: TOKEN_LIFETIME_MICROS / live_tokens,
        }))
        .throttle_policy(policy)
        .build()
        .unwrap();
    let registered = run(server.register_client(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope("read write".parse().unwrap()),
    ))
    .unwrap();
    let id = registered.client.id().to_string();
    let secret = registered.secret.unwrap();
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    Setup {
        authorization: format!("Basic {}", b64(format!("{id}:{}", secret.expose_secret()))),
        wrong_authorization: format!("Basic {}", b64(format!("{id}:pc_cs_wrong"))),
        server,
    }
}

pub fn request(authorization: &str) -> Request<Vec<u8>> {
    Request::post("https://auth.example/token")
        .header("authorization", authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=client_credentials&scope=read".to_vec())
        .unwrap()
}

/// A server at its steady state with `live` tokens, after more than one token
/// lifetime of requests.
pub fn warmed(live: u64) -> Setup {
    let s = setup(ThrottlePolicy::default(), live);
    for _ in 0..live + live / 5 {
        let response = run(s.server.token_endpoint(request(&s.authorization)));
        assert_eq!(response.status(), 200);
    }
    s
}
