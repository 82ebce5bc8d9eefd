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

/// The RFC 7636 Appendix B verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const REDIRECT_URI: &str = "https://client.example/cb";

/// A server for the interactive flow: the code and refresh grants, a
/// confidential web client using Basic, and lifetimes short enough (600 s for
/// grants, tokens and idle refresh tokens) that the stepping clock keeps the
/// store at a steady state.
pub struct CodeSetup {
    pub server: AuthorizationServer,
    pub client_id: String,
    pub authorization: String,
}

/// `grant_lifetime`: the absolute lifetime of grants — short for the full-flow
/// benchmark (so grants are swept), long for a refresh chain.
pub fn code_setup(step_micros: u64, grant_lifetime: Duration) -> CodeSetup {
    use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
    use portcullis::token::TokenLifetimes;
    let store = MemoryStore::new();
    let lifetime = Duration::from_secs(600);
    let server = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .clock(Arc::new(SteppingClock {
            reads: AtomicU64::new(0),
            step_micros,
        }))
        .token_lifetimes(
            TokenLifetimes::default()
                .with_access_token(lifetime)
                .with_refresh_token_idle(lifetime)
                .with_grant(grant_lifetime),
        )
        .build()
        .unwrap();
    let registered = run(server.register_client(
        ClientRegistration::web_application()
            .redirect_uri(REDIRECT_URI)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("read write".parse().unwrap()),
    ))
    .unwrap();
    let client_id = registered.client.id().to_string();
    let secret = registered.secret.unwrap();
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", secret.expose_secret()))
    );
    CodeSetup {
        server,
        client_id,
        authorization,
    }
}

impl CodeSetup {
    /// The authorization request a browser brings.
    pub fn authorize_request(&self) -> Request<Vec<u8>> {
        Request::get(format!(
            "https://auth.example/authorize?response_type=code&client_id={}&redirect_uri={}&scope=read&state=af0ifjsldkj&code_challenge={CHALLENGE}&code_challenge_method=S256",
            self.client_id,
            url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>(),
        ))
        .body(Vec::new())
        .unwrap()
    }

    /// The client's token request for `code`.
    pub fn code_request(&self, code: &str) -> Request<Vec<u8>> {
        Request::post("https://auth.example/token")
            .header("authorization", self.authorization.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                    url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
                )
                .into_bytes(),
            )
            .unwrap()
    }

    /// The client's refresh request.
    pub fn refresh_request(&self, refresh_token: &str) -> Request<Vec<u8>> {
        Request::post("https://auth.example/token")
            .header("authorization", self.authorization.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=refresh_token&refresh_token={refresh_token}").into_bytes())
            .unwrap()
    }
}

/// The `code` in a redirect's `Location`.
pub fn code_from(response: &http::Response<Vec<u8>>) -> String {
    let location = response.headers()["location"].to_str().unwrap();
    let start = location.find("code=").unwrap() + 5;
    location[start..].split('&').next().unwrap().to_owned()
}

/// A JSON member of a token response.
pub fn json_member(response: &http::Response<Vec<u8>>, name: &str) -> String {
    let value: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    value[name].as_str().unwrap().to_owned()
}
