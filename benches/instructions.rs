//! Instructions per library call, for callgrind: a plain program (no
//! criterion) whose `lib_*` functions are the only library calls counted.
//!
//! ```sh
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='instructions::lib_*' \
//!     target/release/deps/instructions-<hash> cc 3000
//! ```
//!
//! Modes: `cc`, `jwt` (client credentials for a JWT resource: an ES256
//! RFC 9068 token), `code`, `oidc` (the code flow with `openid` on an
//! OpenID Provider: an RS256 ID token), `refresh`, `bearer` (each `N`
//! times); run by
//! `cargo bench` with no mode, it does a few of each as a smoke test.
//! Callgrind runs SHA-256 in software, about 3,480 instructions a digest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]
use base64::Engine as _;
use portcullis::AuthorizationServer;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::Approval;
use portcullis::grant::{AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::oidc::{OpenIdConnect, StaticClaims};
use portcullis::protocol::{GrantType, Resource};
use portcullis::store::MemoryStore;
use std::future::Future;
use std::task::{Context, Poll, Waker};

fn run<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[inline(never)]
fn lib_token(server: &AuthorizationServer, req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    run(server.token_endpoint(req))
}

#[inline(never)]
fn lib_authorize(
    server: &AuthorizationServer,
    req: &http::Request<Vec<u8>>,
) -> http::Response<Vec<u8>> {
    let pending = run(server.authorization_request(req)).unwrap();
    run(server.approve(pending, "alice", None)).unwrap()
}

/// `lib_authorize` for an OpenID Connect request: the host reports when
/// the End-User signed in.
#[inline(never)]
fn lib_authenticate(
    server: &AuthorizationServer,
    req: &http::Request<Vec<u8>>,
    signed_in: std::time::SystemTime,
) -> http::Response<Vec<u8>> {
    let pending = run(server.authorization_request(req)).unwrap();
    run(server.approve_with(pending, Approval::new("alice").authenticated_at(signed_in))).unwrap()
}

#[inline(never)]
fn lib_info(server: &AuthorizationServer, token: &str) -> bool {
    run(server.access_token_info(token)).unwrap().is_some()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn json(r: &http::Response<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(r.body()).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(mode) = args.first() else {
        for mode in ["cc", "jwt", "code", "oidc", "refresh", "bearer"] {
            flow(mode, 10);
        }
        return;
    };
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    flow(mode, n);
}

fn flow(mode: &str, n: usize) {
    let store = MemoryStore::new();
    let mut builder = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant);
    if mode == "jwt" {
        // A resource with RFC 9068 JWT access tokens, signed with ES256.
        let keys = KeySet::new()
            .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
            .unwrap();
        builder = builder
            .signing_keys(keys)
            .resource(Resource::new("https://api.example").unwrap().jwt());
    }
    if mode == "oidc" {
        // An OpenID Provider signing ID tokens with its default, RS256.
        let keys = KeySet::new()
            .with_key(SigningKey::generate(Algorithm::Rs256).unwrap())
            .unwrap();
        builder = builder
            .signing_keys(keys)
            .openid_connect(OpenIdConnect::new(StaticClaims::new()));
    }
    let server = builder.build().unwrap();
    let scope = if mode == "oidc" {
        "openid read"
    } else {
        "read"
    };
    let reg = run(server.register_client(
        ClientRegistration::web_application()
            .redirect_uri("https://app.example/cb")
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope(scope.parse().unwrap()),
    ))
    .unwrap();
    let id = reg.client.id().to_string();
    let secret = reg.secret.unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{id}:{}", secret.expose_secret()))
    );
    let post = |body: String| {
        http::Request::post("/token")
            .header("authorization", &basic)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap()
    };
    let mut total = 0usize;
    match mode {
        "cc" => {
            for _ in 0..n {
                total += lib_token(
                    &server,
                    post("grant_type=client_credentials&scope=read".into()),
                )
                .body()
                .len();
            }
        }
        "jwt" => {
            for _ in 0..n {
                total += lib_token(
                    &server,
                    post(
                        "grant_type=client_credentials&scope=read\
                         &resource=https%3A%2F%2Fapi.example"
                            .into(),
                    ),
                )
                .body()
                .len();
            }
        }
        "code" | "oidc" => {
            let scope = if mode == "oidc" {
                "openid%20read&nonce=n-0S6_WzA2Mj"
            } else {
                "read"
            };
            for _ in 0..n {
                let req = http::Request::get(format!("https://auth.example/authorize?response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope={scope}&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256")).body(Vec::new()).unwrap();
                let redirect = if mode == "oidc" {
                    lib_authenticate(&server, &req, std::time::SystemTime::UNIX_EPOCH)
                } else {
                    lib_authorize(&server, &req)
                };
                let location = redirect.headers()["location"].to_str().unwrap().to_owned();
                let code = url::Url::parse(&location)
                    .unwrap()
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .unwrap()
                    .1
                    .into_owned();
                total += lib_token(&server, post(format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}"))).body().len();
            }
        }
        "refresh" => {
            let req = http::Request::get(format!("https://auth.example/authorize?response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256")).body(Vec::new()).unwrap();
            let redirect = run(async {
                let p = server.authorization_request(&req).await.unwrap();
                server.approve(p, "alice", None).await.unwrap()
            });
            let location = redirect.headers()["location"].to_str().unwrap().to_owned();
            let code = url::Url::parse(&location)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            let r = run(server.token_endpoint(post(format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}"))));
            let mut refresh = json(&r)["refresh_token"].as_str().unwrap().to_owned();
            for _ in 0..n {
                let r = lib_token(
                    &server,
                    post(format!("grant_type=refresh_token&refresh_token={refresh}")),
                );
                refresh = json(&r)["refresh_token"].as_str().unwrap().to_owned();
                total += 1;
            }
        }
        "bearer" => {
            let tokens: Vec<String> = (0..10_000)
                .map(|_| {
                    let r = run(server
                        .token_endpoint(post("grant_type=client_credentials&scope=read".into())));
                    json(&r)["access_token"].as_str().unwrap().to_owned()
                })
                .collect();
            for i in 0..n {
                total += lib_info(&server, &tokens[i % tokens.len()]) as usize;
            }
        }
        _ => panic!("mode: cc | jwt | code | oidc | refresh | bearer"),
    }
    println!("{total}");
}
