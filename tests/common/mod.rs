//! Helpers shared by the integration tests: a server on a manual clock, and
//! requests as a client would build them.
#![allow(dead_code)]

pub mod dpop;
pub mod mtls;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{Request, Response};
use portcullis::client::{ClientRegistration, ThrottlePolicy};
use portcullis::grant::ClientCredentialsGrant;
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, ServerBuilder};

pub const ISSUER: &str = "https://auth.example";

pub struct Harness {
    pub server: AuthorizationServer,
    pub store: MemoryStore,
    pub clock: Arc<ManualClock>,
}

/// A fixed, realistic start time.
pub fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A builder with a memory store, a manual clock and the client credentials
/// grant; `customise` adds to it.
pub fn harness_with(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    let store = MemoryStore::new();
    let clock = Arc::new(ManualClock::new(start()));
    let builder = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .grant(ClientCredentialsGrant)
        .clock(clock.clone());
    Harness {
        server: customise(builder).build().unwrap(),
        store,
        clock,
    }
}

pub fn harness() -> Harness {
    harness_with(|b| b)
}

/// A harness whose limiter lets `allowed` failures pass, then waits 1 s,
/// doubling.
pub fn throttled_harness(allowed: u32) -> Harness {
    harness_with(|b| {
        b.throttle_policy(
            ThrottlePolicy::default()
                .with_allowed_failures(allowed)
                .with_initial_delay(Duration::from_secs(1))
                .with_max_delay(Duration::from_secs(60)),
        )
    })
}

pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestClient {
    /// The same client id presenting another secret.
    pub fn with_secret(&self, secret: &str) -> TestClient {
        TestClient {
            id: self.id.clone(),
            secret: secret.to_owned(),
        }
    }
}

impl Harness {
    /// Registers a confidential client_credentials client with scopes
    /// `read write`.
    pub async fn cc_client(&self) -> TestClient {
        self.register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("read write".parse().unwrap()),
        )
        .await
    }

    pub async fn register(&self, registration: ClientRegistration) -> TestClient {
        let r = self.server.register_client(registration).await.unwrap();
        TestClient {
            id: r.client.id().to_string(),
            secret: r
                .secret
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default(),
        }
    }

    pub async fn post(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.token_endpoint(request).await)
    }
}

/// The RFC 7636 Appendix B verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A harness serving the authorization code and refresh token grants too.
pub fn code_harness() -> Harness {
    harness_with(|b| {
        b.grant(portcullis::grant::AuthorizationCodeGrant)
            .grant(portcullis::grant::RefreshTokenGrant)
    })
}

impl Harness {
    /// A public native client for the code flow (with refresh tokens), its
    /// redirect URI `http://127.0.0.1/cb`.
    pub async fn native_client(&self) -> TestClient {
        self.register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read write".parse().unwrap()),
        )
        .await
    }

    /// A GET to the authorization endpoint with these query parameters.
    pub async fn authorize(
        &self,
        query: &str,
    ) -> Result<portcullis::endpoint::PendingAuthorization, portcullis::endpoint::AuthorizationError>
    {
        let request = Request::get(format!("https://auth.example/authorize?{query}"))
            .body(Vec::<u8>::new())
            .unwrap();
        self.server.authorization_request(&request).await
    }

    /// Runs the front channel for `client`: authorization request with PKCE
    /// S256 and `state`, approval for `alice`; returns the redirect's query
    /// parameters.
    pub async fn code_for(&self, client: &TestClient, extra: &str) -> Vec<(String, String)> {
        let pending = self
            .authorize(&format!(
                "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz{extra}",
                client.id
            ))
            .await
            .unwrap();
        let response = self.server.approve(pending, "alice", None).await.unwrap();
        assert_eq!(response.status(), 303);
        redirect_params(&response)
    }

    /// Redeems `code` as the public client `client` with the RFC 7636 verifier.
    pub async fn redeem(&self, client: &TestClient, code: &str) -> Reply {
        self.post(token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={VERIFIER}",
                client.id
            ),
        ))
        .await
    }
}

impl Harness {
    /// Redeems `code` as `client` authenticates: Basic for a confidential
    /// client, `client_id` in the body for a public one; the RFC 7636
    /// verifier.
    pub async fn redeem_as(&self, client: &TestClient, code: &str) -> Reply {
        if client.secret.is_empty() {
            return self.redeem(client, code).await;
        }
        self.post(token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
        ))
        .await
    }
}

/// A key set with a fresh active key of each of `algorithms`.
pub fn signing_keys(algorithms: &[Algorithm]) -> KeySet {
    algorithms.iter().fold(KeySet::new(), |set, alg| {
        set.with_key(SigningKey::generate(*alg).unwrap()).unwrap()
    })
}

/// Whether `access_token` is live (issued, unexpired, its grant unrevoked).
pub async fn alive(h: &Harness, access_token: &str) -> bool {
    h.server
        .access_token_info(access_token)
        .await
        .unwrap()
        .is_some()
}

/// A refresh request as `client` sends it: Basic for a confidential client,
/// `client_id` in the body for a public one; `extra` is appended to the body.
pub fn refresh_request(client: &TestClient, refresh: &str, extra: &str) -> Request<Vec<u8>> {
    if client.secret.is_empty() {
        token_request(
            None,
            &format!(
                "grant_type=refresh_token&refresh_token={refresh}&client_id={}{extra}",
                client.id
            ),
        )
    } else {
        token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!("grant_type=refresh_token&refresh_token={refresh}{extra}"),
        )
    }
}

/// The parameters of a redirect's `Location` (query, or fragment if there is one).
pub fn redirect_params(response: &Response<Vec<u8>>) -> Vec<(String, String)> {
    let location = response.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    match url.fragment() {
        Some(f) => url::form_urlencoded::parse(f.as_bytes())
            .into_owned()
            .collect(),
        None => url.query_pairs().into_owned().collect(),
    }
}

/// One parameter of a redirect.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749
/// Appendix B), as a client library does it.
pub fn form_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The RFC 6749 §2.3.1 Basic header: form-encode id and secret, then base64.
pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret)))
    )
}

/// A POST to /token with a form body and optional Authorization header.
pub fn token_request(authorization: Option<&str>, body: &str) -> Request<Vec<u8>> {
    let mut b = Request::post("https://auth.example/token")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// A client_credentials request authenticated with Basic.
pub fn cc_request(client: &TestClient, extra: &str) -> Request<Vec<u8>> {
    token_request(
        Some(&basic(&client.id, &client.secret)),
        &format!("grant_type=client_credentials{extra}"),
    )
}

/// A response, with its JSON body parsed.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub json: serde_json::Value,
}

impl From<Response<Vec<u8>>> for Reply {
    fn from(r: Response<Vec<u8>>) -> Self {
        let json = serde_json::from_slice(r.body()).unwrap_or(serde_json::Value::Null);
        Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            json,
        }
    }
}

impl Reply {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("<none>")
    }

    pub fn description(&self) -> &str {
        self.json["error_description"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn access_token(&self) -> &str {
        self.json["access_token"].as_str().unwrap()
    }

    /// Asserts an OAuth error response (RFC 6749 §5.2) with its no-store
    /// headers, JSON content type, and a description free of quotes and
    /// backslashes.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, code),
            "{:?}",
            self.json
        );
        self.assert_no_store();
        assert_eq!(self.header("content-type"), Some("application/json"));
        if let Some(d) = self.json["error_description"].as_str() {
            assert!(
                d.bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                "description outside RFC 6749 §5.2 charset: {d:?}"
            );
        }
    }

    #[track_caller]
    pub fn assert_no_store(&self) {
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("pragma"), Some("no-cache"));
    }
}

/// Asserts an authorization request rejected without a redirect
/// (`AuthorizationError::Rejected`) with the error `code`.
#[track_caller]
pub fn assert_rejected(
    result: Result<
        portcullis::endpoint::PendingAuthorization,
        portcullis::endpoint::AuthorizationError,
    >,
    code: &str,
) {
    match result {
        Err(portcullis::endpoint::AuthorizationError::Rejected(e)) => {
            assert_eq!(e.code().as_str(), code, "{e:?}")
        }
        other => panic!("expected a rejection with {code}, got {other:?}"),
    }
}
