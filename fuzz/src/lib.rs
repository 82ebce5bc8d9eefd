//! Shared pieces of the fuzz targets: an executor, a populated server, the
//! request format the endpoint targets read, and the checks several targets
//! make.
//!
//! # The request format
//!
//! The endpoint targets read a request as text, so that seeds are readable
//! and the dictionaries work on it:
//!
//! ```text
//! POST /token
//! authorization: Basic $BASIC
//! content-type: application/x-www-form-urlencoded
//!
//! grant_type=authorization_code&code=$CODE&code_verifier=$VERIFIER
//! ```
//!
//! The first line is the method and the path (with any query), then header
//! lines up to an empty line, then the body. Placeholders (`$CODE`, ...,
//! see [`Fixture::substitute`]) are replaced by live credentials of the
//! populated server, so the fuzzer reaches the code paths behind client
//! authentication and a valid grant.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue, Method, Request, Response};
use portcullis::client::{ClientRegistration, ClientSecret};
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, PasswordGrant,
    RefreshTokenGrant, ResourceOwnerVerifier,
};
use portcullis::protocol::GrantType;
use portcullis::store::{StoreError, Subject};
use portcullis::token::ManualClock;
use portcullis::{AuthorizationServer, MemoryStore, ServerBuilder};

/// The issuer of every fixture server.
pub const ISSUER: &str = "https://auth.example";

/// The confidential client (`client_secret_basic`).
pub const CONF_ID: &str = "conf-client";
/// Its redirect URIs.
pub const CONF_REDIRECTS: [&str; 2] = ["https://app.example/cb", "https://app.example/cb2?x=1"];
/// The confidential client using `client_secret_post`.
pub const POST_ID: &str = "post-client";
/// The public native client.
pub const NATIVE_ID: &str = "native-app";
/// Its redirect URIs: loopback (any port matches, RFC 8252 §7.3) and a
/// private-use scheme.
pub const NATIVE_REDIRECTS: [&str; 3] = [
    "http://127.0.0.1/cb",
    "http://[::1]:8080/cb",
    "com.example.app:/oauth",
];
/// The public browser-based client (implicit grant allowed).
pub const SPA_ID: &str = "spa";
/// Its one redirect URI.
pub const SPA_REDIRECTS: [&str; 1] = ["https://spa.example/"];
/// The password-grant user.
pub const USER: &str = "alice";
/// Her password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The RFC 7636 Appendix B verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// [`VERIFIER`]'s S256 challenge.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The RFC 6749 §5.2 error codes, and RFC 8628 §3.5's for the device grant:
/// every error the token endpoint may answer with.
pub const TOKEN_ERRORS: [&str; 10] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "authorization_pending",
    "slow_down",
    "access_denied",
    "expired_token",
];

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// Runs `future` to completion on this thread's runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

/// The password grant's user store: one user, compared plainly (the fuzz
/// targets test the grant's handling, not a password hash).
#[derive(Debug)]
pub struct OneUser;

impl ResourceOwnerVerifier for OneUser {
    async fn verify(&self, username: &str, password: &str) -> Result<Option<Subject>, StoreError> {
        Ok((username == USER && password == PASSWORD).then(|| Subject::new(USER)))
    }
}

/// A server on a memory store with the fixture clients registered, and the
/// credentials the placeholders stand for.
pub struct Fixture {
    /// The server.
    pub server: AuthorizationServer,
    /// Its clock, fixed.
    pub clock: Arc<ManualClock>,
    /// The confidential client's secret.
    pub conf_secret: String,
    /// The `client_secret_post` client's secret.
    pub post_secret: String,
    /// Credentials made on demand by [`Fixture::substitute`]: every
    /// placeholder substituted so far and its value.
    pub issued: Vec<(&'static str, String)>,
}

/// Every placeholder, longest first where one is a prefix of another.
pub const PLACEHOLDERS: [&str; 15] = [
    "$ACCESS",
    "$CONF_ID",
    "$CONF_SECRET",
    "$POST_ID",
    "$POST_SECRET",
    "$NATIVE_ID",
    "$SPA_ID",
    "$BASIC",
    "$VERIFIER",
    "$NATIVE_CODE",
    "$CODE",
    "$NATIVE_REFRESH",
    "$REFRESH",
    "$PENDING_DEVICE",
    "$DEVICE",
];

impl Fixture {
    /// A server serving every grant (the password grant too), the implicit
    /// grant enabled, plus `customise`; the fixture clients registered.
    pub fn new(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Self {
        let store = MemoryStore::new();
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ));
        let builder = AuthorizationServer::builder(ISSUER)
            .clients(store.clone())
            .tokens(store)
            .grant(ClientCredentialsGrant)
            .grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .grant(DeviceCodeGrant)
            .grant(PasswordGrant::new(OneUser))
            .enable_implicit_grant()
            .device_verification_uri("https://auth.example/device")
            .clock(clock.clone());
        let server = customise(builder)
            .build()
            .expect("the fixture server builds");
        let scope = || "read write admin".parse().expect("scope");
        let conf = ClientRegistration::web_application()
            .client_id(CONF_ID)
            .redirect_uri(CONF_REDIRECTS[0])
            .redirect_uri(CONF_REDIRECTS[1])
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .grant_type(GrantType::PASSWORD)
            .grant_type(GrantType::DEVICE_CODE)
            .scope(scope())
            .default_scope("read".parse().expect("scope"));
        let post = ClientRegistration::web_application()
            .client_id(POST_ID)
            .auth_method(portcullis::client::AuthMethod::CLIENT_SECRET_POST)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope(scope());
        let native = NATIVE_REDIRECTS.iter().fold(
            ClientRegistration::native().client_id(NATIVE_ID),
            |r, uri| r.redirect_uri(*uri),
        );
        let native = native
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .grant_type(GrantType::DEVICE_CODE)
            .scope(scope());
        let spa = ClientRegistration::user_agent_based()
            .client_id(SPA_ID)
            .redirect_uri(SPA_REDIRECTS[0])
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::IMPLICIT)
            .scope(scope());
        let (conf_secret, post_secret) = block_on(async {
            let secret = |r: portcullis::client::Registered| {
                r.secret
                    .as_ref()
                    .map(ClientSecret::expose_secret)
                    .map(str::to_owned)
                    .unwrap_or_default()
            };
            let conf = server.register_client(conf).await.expect("conf registers");
            let post = server.register_client(post).await.expect("post registers");
            server
                .register_client(native)
                .await
                .expect("native registers");
            server.register_client(spa).await.expect("spa registers");
            (secret(conf), secret(post))
        });
        Self {
            server,
            clock,
            conf_secret,
            post_secret,
            issued: Vec::new(),
        }
    }

    /// The fixture clients' registered redirect URIs.
    pub fn registered_redirects(client_id: &str) -> &'static [&'static str] {
        match client_id {
            CONF_ID => &CONF_REDIRECTS,
            NATIVE_ID => &NATIVE_REDIRECTS,
            SPA_ID => &SPA_REDIRECTS,
            _ => &[],
        }
    }

    /// Every registered redirect URI of every fixture client.
    pub fn all_redirects() -> impl Iterator<Item = &'static str> {
        CONF_REDIRECTS
            .iter()
            .chain(NATIVE_REDIRECTS.iter())
            .chain(SPA_REDIRECTS.iter())
            .copied()
    }

    /// The value `placeholder` stands for, minting credentials on demand:
    ///
    /// - `$CONF_ID`, `$CONF_SECRET`, `$BASIC` (the confidential client's
    ///   `client_secret_basic` credentials), `$POST_ID`, `$POST_SECRET`,
    ///   `$NATIVE_ID`, `$SPA_ID`, `$VERIFIER` (RFC 7636 Appendix B);
    /// - `$CODE` / `$NATIVE_CODE`: a live authorization code of the
    ///   confidential / native client for its first redirect URI, scope
    ///   `read write`, challenge of `$VERIFIER`;
    /// - `$REFRESH` / `$NATIVE_REFRESH`: a live refresh token of theirs;
    /// - `$ACCESS`: a live access token of the confidential client, scope
    ///   `read` (client credentials);
    /// - `$DEVICE` / `$PENDING_DEVICE`: a device code of the native client,
    ///   approved / still pending.
    pub fn value(&mut self, placeholder: &'static str) -> String {
        if let Some((_, v)) = self.issued.iter().find(|(p, _)| *p == placeholder) {
            return v.clone();
        }
        let value = match placeholder {
            "$CONF_ID" => CONF_ID.to_owned(),
            "$CONF_SECRET" => self.conf_secret.clone(),
            "$POST_ID" => POST_ID.to_owned(),
            "$POST_SECRET" => self.post_secret.clone(),
            "$NATIVE_ID" => NATIVE_ID.to_owned(),
            "$SPA_ID" => SPA_ID.to_owned(),
            "$BASIC" => STANDARD.encode(format!("{CONF_ID}:{}", self.conf_secret)),
            "$VERIFIER" => VERIFIER.to_owned(),
            "$CODE" => self.code(CONF_ID, CONF_REDIRECTS[0]),
            "$NATIVE_CODE" => self.code(NATIVE_ID, NATIVE_REDIRECTS[0]),
            "$REFRESH" => self.refresh(CONF_ID, CONF_REDIRECTS[0]),
            "$NATIVE_REFRESH" => self.refresh(NATIVE_ID, NATIVE_REDIRECTS[0]),
            "$ACCESS" => self.access_token(),
            "$DEVICE" => self.device_code(true),
            "$PENDING_DEVICE" => self.device_code(false),
            _ => String::new(),
        };
        self.issued.push((placeholder, value.clone()));
        value
    }

    /// `input` with every placeholder replaced.
    pub fn substitute(&mut self, input: &[u8]) -> Vec<u8> {
        if !input.contains(&b'$') {
            return input.to_vec();
        }
        let mut out = Vec::with_capacity(input.len() + 64);
        let mut rest = input;
        'outer: while let Some((&first, tail)) = rest.split_first() {
            if first == b'$' {
                for p in PLACEHOLDERS {
                    if rest.starts_with(p.as_bytes()) {
                        out.extend_from_slice(self.value(p).as_bytes());
                        rest = &rest[p.len()..];
                        continue 'outer;
                    }
                }
            }
            out.push(first);
            rest = tail;
        }
        out
    }

    /// The secrets substituted so far (and the clients' secrets): none may
    /// appear in an error response or a `Debug` rendering.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.conf_secret.clone(), self.post_secret.clone()];
        for (p, v) in &self.issued {
            if matches!(
                *p,
                "$ACCESS"
                    | "$CODE"
                    | "$NATIVE_CODE"
                    | "$REFRESH"
                    | "$NATIVE_REFRESH"
                    | "$DEVICE"
                    | "$PENDING_DEVICE"
            ) {
                secrets.push(v.clone());
            }
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }

    fn code(&self, client_id: &str, redirect_uri: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "read write")
            .append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let request = Request::get(format!("/authorize?{query}"))
            .body(Vec::<u8>::new())
            .expect("request");
        block_on(async {
            let pending = self
                .server
                .authorization_request(&request)
                .await
                .expect("the fixture's authorization request is valid");
            let response = self
                .server
                .approve(pending, USER, None)
                .await
                .expect("approval");
            let location = location(&response).expect("a redirect");
            query_param(location, "code").expect("a code")
        })
    }

    fn refresh(&mut self, client_id: &str, redirect_uri: &str) -> String {
        let code = self.code(client_id, redirect_uri);
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", VERIFIER);
        let mut request =
            Request::post("/token").header("content-type", "application/x-www-form-urlencoded");
        if client_id == CONF_ID {
            request = request.header(
                "authorization",
                format!(
                    "Basic {}",
                    STANDARD.encode(format!("{CONF_ID}:{}", self.conf_secret))
                ),
            );
        } else {
            body.append_pair("client_id", client_id);
        }
        let request = request.body(body.finish().into_bytes()).expect("request");
        let response = block_on(self.server.token_endpoint(request));
        let json: serde_json::Value =
            serde_json::from_slice(response.body()).expect("a JSON token response");
        json["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned()
    }

    fn access_token(&self) -> String {
        let request = Request::post("/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!(
                    "Basic {}",
                    STANDARD.encode(format!("{CONF_ID}:{}", self.conf_secret))
                ),
            )
            .body(b"grant_type=client_credentials&scope=read".to_vec())
            .expect("request");
        let response = block_on(self.server.token_endpoint(request));
        let json: serde_json::Value =
            serde_json::from_slice(response.body()).expect("a JSON token response");
        json["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    fn device_code(&self, approve: bool) -> String {
        let request = Request::post("/device")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("client_id={NATIVE_ID}&scope=read").into_bytes())
            .expect("request");
        block_on(async {
            let response = self.server.device_authorization_endpoint(request).await;
            let json: serde_json::Value =
                serde_json::from_slice(response.body()).expect("a device authorization");
            let device_code = json["device_code"]
                .as_str()
                .expect("device_code")
                .to_owned();
            if approve {
                let user_code = json["user_code"].as_str().expect("user_code");
                let pending = self
                    .server
                    .pending_device_authorization(user_code, &["fuzz"])
                    .await
                    .expect("the user code is pending");
                self.server
                    .approve_device(pending, USER, None)
                    .await
                    .expect("approval");
            }
            device_code
        })
    }
}

/// A request in the text format of this crate's docs, or `None` when the
/// method, path or a header is not valid HTTP (a host's HTTP stack would
/// never produce such a request).
pub fn parse_request(input: &[u8]) -> Option<Request<Vec<u8>>> {
    let (head, body) = match find(input, b"\n\n") {
        Some(i) => (&input[..i], &input[i + 2..]),
        None => (input, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let first = lines.next()?;
    let (method, path) = match first.iter().position(|b| *b == b' ') {
        Some(i) => (&first[..i], &first[i + 1..]),
        None => (first, &b"/"[..]),
    };
    let mut builder = Request::builder()
        .method(Method::from_bytes(method).ok()?)
        .uri(http::Uri::try_from(path).ok()?);
    for line in lines {
        let colon = line.iter().position(|b| *b == b':')?;
        let name = HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        builder = builder.header(name, HeaderValue::from_bytes(value).ok()?);
    }
    builder.body(body.to_vec()).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `Location` header, when there is exactly one and it is text.
pub fn location(response: &Response<Vec<u8>>) -> Option<&str> {
    let mut values = response.headers().get_all(http::header::LOCATION).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok(),
        _ => None,
    }
}

/// A parameter of `uri`'s query.
pub fn query_param(uri: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// RFC 6749 §5.2: `error_description` is `%x20-21 / %x23-5B / %x5D-7E`.
pub fn valid_error_description(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Checks an OAuth JSON error response (RFC 6749 §5.2): a JSON object with
/// an `error` from `allowed`, a well-formed `error_description` if any, and
/// none of `secrets` anywhere in the body. Returns the code.
pub fn check_error_body(
    response: &Response<Vec<u8>>,
    allowed: &[&str],
    secrets: &[String],
) -> String {
    let json: serde_json::Value = serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {:?}", response.body()));
    let code = json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no `error` member: {json}"));
    assert!(
        allowed.contains(&code),
        "unexpected error code {code:?}: {json}"
    );
    if let Some(d) = json.get("error_description") {
        let d = d.as_str().expect("error_description is a string");
        assert!(
            valid_error_description(d),
            "error_description charset: {d:?}"
        );
    }
    let body = String::from_utf8_lossy(response.body());
    for s in secrets {
        assert!(
            !body.contains(s.as_str()),
            "a secret in an error response: {body}"
        );
    }
    code.to_owned()
}

/// Whether `uri` designates one of `registered` by origin and path (and the
/// registered query, which must start its query): the port is free only for
/// loopback `http` URIs (RFC 8252 §7.3). A reference check written on `url`,
/// independent of the library's own matching.
pub fn designates_registered(uri: &str, registered: &[&str]) -> bool {
    let Ok(target) = url::Url::parse(uri) else {
        return false;
    };
    registered.iter().any(|r| {
        let Ok(reg) = url::Url::parse(r) else {
            return false;
        };
        let loopback = reg.scheme() == "http"
            && match reg.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            };
        let query_ok = match reg.query() {
            None => true,
            Some(q) => target
                .query()
                .is_some_and(|t| t == q || t.starts_with(&format!("{q}&"))),
        };
        target.scheme() == reg.scheme()
            && target.host() == reg.host()
            && (loopback || target.port() == reg.port())
            && target.path() == reg.path()
            && target.username().is_empty()
            && target.password().is_none()
            && query_ok
    })
}
