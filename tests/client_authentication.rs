//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1, §5.2;
//! RFC 6819 §4.3.2, §5.1.4.2.3), through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use http::{HeaderValue, Request};
use portcullis::client::{
    AuthMethod, AuthRequest, Client, ClientAuthError, ClientAuthenticator, ClientRegistration,
    ClientSecret, PresentedCredentials, SecretAuthenticator,
};
use portcullis::endpoint::TokenError;
use portcullis::grant::{GrantContext, GrantHandler, Issue};
use portcullis::protocol::{GrantType, TokenResponse};

const CHALLENGE: &str = "Basic realm=\"https://auth.example\"";

#[tokio::test]
async fn basic_authentication_succeeds() {
    let h = harness();
    let c = h.cc_client().await;
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
}

/// The built-in authenticator's methods are the ones the server offers
/// (RFC 8414 `token_endpoint_auth_methods_supported`).
#[tokio::test]
async fn the_built_in_authenticator_offers_basic_post_and_none() {
    let offered = [
        AuthMethod::CLIENT_SECRET_BASIC,
        AuthMethod::CLIENT_SECRET_POST,
        AuthMethod::NONE,
    ];
    assert_eq!(SecretAuthenticator.methods(), offered);
    assert_eq!(harness().server.token_endpoint_auth_methods(), offered);
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    // RFC 6749 §2.3.1: the id and secret are encoded with
    // application/x-www-form-urlencoded, then used as Basic user and password.
    let h = harness();
    let id = "svc:reports+1";
    let secret = "p@ss:w+rd%20 ÿ";
    h.register(
        ClientRegistration::web_application()
            .client_id(id)
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .import_secret(ClientSecret::new(secret)),
    )
    .await;
    let r = h
        .post(token_request(
            Some(&basic(id, secret)),
            "grant_type=client_credentials",
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);

    // Sending the raw (unencoded) values must not match the registered secret.
    let raw = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let r = h
        .post(token_request(Some(&raw), "grant_type=client_credentials"))
        .await;
    r.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn client_secret_post_works_only_for_clients_registered_for_it() {
    let h = harness();
    let post = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .auth_method(AuthMethod::CLIENT_SECRET_POST),
        )
        .await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_encode(&post.id),
        form_encode(&post.secret)
    );
    assert_eq!(h.post(token_request(None, &body)).await.status, 200);
    // RFC 6749 §2.3.2: the registration fixes the method; Basic is refused.
    h.post(cc_request(&post, ""))
        .await
        .assert_error(401, "invalid_client");

    // And a Basic client cannot switch to the body.
    let basic_client = h.cc_client().await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_encode(&basic_client.id),
        form_encode(&basic_client.secret)
    );
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_client");
}

#[tokio::test]
async fn failures_use_401_and_a_challenge_only_with_the_authorization_header() {
    // RFC 6749 §5.2: 401 with a WWW-Authenticate matching the scheme the client
    // used; without the header, 400.
    let h = harness();
    let c = h.cc_client().await;
    let r = h.post(cc_request(&c.with_secret("wrong"), "")).await;
    r.assert_error(401, "invalid_client");
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));

    let r = h
        .post(token_request(
            None,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret=wrong",
                c.id
            ),
        ))
        .await;
    r.assert_error(400, "invalid_client");
    assert_eq!(r.header("www-authenticate"), None);
}

#[tokio::test]
async fn unknown_client_and_wrong_secret_look_the_same() {
    let h = harness();
    let c = h.cc_client().await;
    let wrong = h.post(cc_request(&c.with_secret("x"), "")).await;
    let unknown = h
        .post(cc_request(
            &TestClient {
                id: "nobody".into(),
                secret: "x".into(),
            },
            "",
        ))
        .await;
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.json, unknown.json);
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
}

#[tokio::test]
async fn no_authentication_at_all_is_invalid_client() {
    let h = harness();
    h.post(token_request(None, "grant_type=client_credentials"))
        .await
        .assert_error(400, "invalid_client");
}

#[tokio::test]
async fn more_than_one_method_is_invalid_request() {
    // RFC 6749 §2.3: "The client MUST NOT use more than one authentication
    // method in each request."
    let h = harness();
    let c = h.cc_client().await;
    let both = format!(
        "&client_id={}&client_secret={}",
        c.id,
        form_encode(&c.secret)
    );
    let r = h.post(cc_request(&c, &both)).await;
    r.assert_error(400, "invalid_request");

    // Two Authorization headers.
    let mut req = cc_request(&c, "");
    req.headers_mut().append(
        "authorization",
        HeaderValue::from_str(&basic(&c.id, &c.secret)).unwrap(),
    );
    h.post(req).await.assert_error(400, "invalid_request");

    // A client_id in the body naming another client than the header.
    h.post(cc_request(&c, "&client_id=someone-else"))
        .await
        .assert_error(400, "invalid_request");
    // The same client_id is identification, not a second method.
    assert_eq!(
        h.post(cc_request(&c, &format!("&client_id={}", c.id)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn credentials_in_the_uri_are_refused() {
    // RFC 6749 §2.3.1: the client secret "MUST NOT be included in the request URI".
    let h = harness();
    let c = h.cc_client().await;
    let req = Request::post(format!(
        "https://auth.example/token?client_id={}&client_secret={}",
        c.id,
        form_encode(&c.secret)
    ))
    .header("content-type", "application/x-www-form-urlencoded")
    .body(format!("grant_type=client_credentials&client_id={}", c.id).into_bytes())
    .unwrap();
    let r = h.post(req).await;
    r.assert_error(400, "invalid_request");
    assert!(!r.json.to_string().contains(&c.secret));
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_client_with_a_challenge() {
    let h = harness();
    let c = h.cc_client().await;
    let b64 = |s: &[u8]| STANDARD.encode(s);
    let cases: Vec<Vec<u8>> = vec![
        b"Bearer abc".to_vec(),
        b"Digest username=\"a\"".to_vec(),
        b"Basic".to_vec(),
        b"Basic ".to_vec(),
        b"Basic !!!not-base64!!!".to_vec(),
        format!("Basic {}", b64(b"no-colon")).into_bytes(),
        format!("Basic {}", b64(b":secret-only")).into_bytes(),
        format!("Basic {}", b64(format!("{}:", c.id).as_bytes())).into_bytes(),
        format!("Basic {}", b64(b"\xff\xfe:\xfd")).into_bytes(),
        format!("Basic {}", b64(b"id:%zz")).into_bytes(),
        b"Basic \xc3\xa9\xff".to_vec(),
        format!("Basic {}", "A".repeat(10_000)).into_bytes(),
    ];
    for value in cases {
        let mut req = token_request(None, "grant_type=client_credentials");
        req.headers_mut()
            .insert("authorization", HeaderValue::from_bytes(&value).unwrap());
        let r = h.post(req).await;
        r.assert_error(401, "invalid_client");
        assert_eq!(r.header("www-authenticate"), Some(CHALLENGE), "{value:?}");
    }
}

#[tokio::test]
async fn basic_credentials_are_read_only_from_canonical_base64() {
    let h = harness();
    let id_len = h.cc_client().await.id.len();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for padding in [1, 2] {
        // An `id:secret` of a length that base64 pads with `padding` `=`.
        let secret = "s".repeat(
            (10..13)
                .find(|n| (id_len + 1 + n) % 3 == 3 - padding)
                .unwrap(),
        );
        let c = h
            .register(
                ClientRegistration::web_application()
                    .grant_type(GrantType::CLIENT_CREDENTIALS)
                    .import_secret(ClientSecret::new(secret.as_str())),
            )
            .await;
        let padded = STANDARD.encode(format!("{}:{secret}", c.id));
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(padded.len() - unpadded.len(), padding);
        for encoded in [padded.as_str(), unpadded, &format!("  {padded}  ")] {
            let auth = format!("Basic {encoded}");
            let r = h
                .post(token_request(Some(&auth), "grant_type=client_credentials"))
                .await;
            assert_eq!(r.status, 200, "{encoded}");
        }
        // The same bytes spelled otherwise: a spare bit set in the last
        // character, and (where two are due) one `=` of two.
        let last = unpadded.chars().last().unwrap();
        let spare_bit = alphabet
            .chars()
            .nth(alphabet.find(last).unwrap() ^ 1)
            .unwrap();
        // And whitespace other than spaces around the credentials.
        let mut refused = vec![
            format!("{}{spare_bit}", &unpadded[..unpadded.len() - 1]),
            format!("{padded}\t"),
        ];
        if padding == 2 {
            refused.push(format!("{unpadded}="));
        }
        for encoded in refused {
            let auth = format!("Basic {encoded}");
            let r = h
                .post(token_request(Some(&auth), "grant_type=client_credentials"))
                .await;
            r.assert_error(401, "invalid_client");
            assert_eq!(r.header("www-authenticate"), Some(CHALLENGE), "{encoded}");
        }
    }
}

#[tokio::test]
async fn the_scheme_name_is_case_insensitive() {
    let h = harness();
    let c = h.cc_client().await;
    let auth = basic(&c.id, &c.secret).replacen("Basic", "BASIC", 1);
    let r = h
        .post(token_request(Some(&auth), "grant_type=client_credentials"))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn imported_secrets_are_verified_with_argon2id() {
    let h = harness();
    let c = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .import_secret(ClientSecret::new("a secret a person chose")),
        )
        .await;
    let ok = c.with_secret("a secret a person chose");
    assert_eq!(h.post(cc_request(&ok, "")).await.status, 200);
    let bad = TestClient {
        id: c.id,
        secret: "a secret a person chose!".into(),
    };
    h.post(cc_request(&bad, ""))
        .await
        .assert_error(401, "invalid_client");
}

/// A client_credentials client whose secret a person chose (stored with
/// Argon2id): the kind a guesser can hope to find.
async fn imported_client(h: &Harness, secret: &str) -> TestClient {
    h.register(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .import_secret(ClientSecret::new(secret)),
    )
    .await
    .with_secret(secret)
}

#[tokio::test]
async fn repeated_failures_are_throttled_then_refused_with_retry_after() {
    // A generated secret: wrong guesses are slowed, then refused unchecked
    // with Retry-After; the right secret is never refused (RFC 6819
    // §5.1.4.2.3: 256 bits cannot be guessed, so refusing it buys nothing).
    let h = throttled_harness(3);
    let c = h.cc_client().await;
    let wrong = c.with_secret("guess");
    for _ in 0..3 {
        h.post(cc_request(&wrong, ""))
            .await
            .assert_error(401, "invalid_client");
    }
    // The fourth failure imposes a 1 s wait …
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(401, "invalid_client");
    // … during which guesses are refused …
    let r = h.post(cc_request(&wrong, "")).await;
    r.assert_error(429, "invalid_client");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("www-authenticate"), None);
    // … and the right secret still works.
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);

    // After the wait, one more failure doubles it.
    h.clock.advance(Duration::from_secs(1));
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(401, "invalid_client");
    let r = h.post(cc_request(&wrong, "")).await;
    r.assert_error(429, "invalid_client");
    assert_eq!(r.header("retry-after"), Some("2"));

    // The right secret does not wipe the record: the next failure waits 4 s.
    h.clock.advance(Duration::from_secs(2));
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(401, "invalid_client");
    let r = h.post(cc_request(&wrong, "")).await;
    r.assert_error(429, "invalid_client");
    assert_eq!(r.header("retry-after"), Some("4"));

    // A quiet hour forgets it all.
    h.clock.advance(Duration::from_secs(3600));
    for _ in 0..3 {
        h.post(cc_request(&wrong, ""))
            .await
            .assert_error(401, "invalid_client");
    }
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
}

#[tokio::test]
async fn an_imported_secret_is_refused_unchecked_while_blocked() {
    // A secret a person chose can be guessed: while its client is blocked,
    // every attempt — the right secret too — is refused without a check.
    let h = throttled_harness(3);
    let c = imported_client(&h, "a secret a person chose").await;
    let wrong = c.with_secret("a guess at it");
    for _ in 0..4 {
        h.post(cc_request(&wrong, ""))
            .await
            .assert_error(401, "invalid_client");
    }
    let r = h.post(cc_request(&c, "")).await;
    r.assert_error(429, "invalid_client");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("www-authenticate"), None);
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(429, "invalid_client");

    // Once the wait is over the right secret works, and lifts the wait its
    // own attempt set …
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
    // … but does not wipe the record: the failures still count, so the next
    // wrong guess is checked and blocks again, for twice as long.
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(401, "invalid_client");
    let r = h.post(cc_request(&wrong, "")).await;
    r.assert_error(429, "invalid_client");
    assert_eq!(r.header("retry-after"), Some("2"));

    // A quiet hour forgets it all.
    h.clock.advance(Duration::from_secs(3600));
    for _ in 0..3 {
        h.post(cc_request(&wrong, ""))
            .await
            .assert_error(401, "invalid_client");
    }
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
}

#[tokio::test]
async fn guesses_between_legitimate_requests_are_still_throttled() {
    // A guesser pacing itself between a busy client's successful requests must
    // not have its failures forgotten by those successes.
    let h = throttled_harness(3);
    let c = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .import_secret(ClientSecret::new("a secret a person chose")),
        )
        .await;
    let legit = c.with_secret("a secret a person chose");
    let wrong = c.with_secret("a guess");
    let mut refused = 0;
    for _ in 0..10 {
        assert_ne!(h.post(cc_request(&legit, "")).await.status, 401);
        if h.post(cc_request(&wrong, "")).await.status == 429 {
            refused += 1;
        }
    }
    assert!(
        refused >= 6,
        "only {refused} of 10 interleaved guesses were refused"
    );
}

#[tokio::test]
async fn throttling_is_per_client() {
    let h = throttled_harness(1);
    // Imported secrets: the victim is refused even its right secret, the
    // other client is not.
    let victim = imported_client(&h, "the victim's secret").await;
    let other = imported_client(&h, "the other's secret").await;
    let wrong = victim.with_secret("a guess at it");
    for _ in 0..2 {
        h.post(cc_request(&wrong, "")).await;
    }
    h.post(cc_request(&victim, ""))
        .await
        .assert_error(429, "invalid_client");
    assert_eq!(h.post(cc_request(&other, "")).await.status, 200);
    h.post(cc_request(&other.with_secret("a guess at it"), ""))
        .await
        .assert_error(401, "invalid_client");

    // Generated secrets: the victim's guesses are refused, another client's
    // are still checked.
    let victim = h.cc_client().await;
    let other = h.cc_client().await;
    for _ in 0..2 {
        h.post(cc_request(&victim.with_secret("guess"), "")).await;
    }
    h.post(cc_request(&victim.with_secret("guess"), ""))
        .await
        .assert_error(429, "invalid_client");
    h.post(cc_request(&other.with_secret("guess"), ""))
        .await
        .assert_error(401, "invalid_client");
    assert_eq!(h.post(cc_request(&other, "")).await.status, 200);
}

#[tokio::test]
async fn unknown_client_ids_are_not_tracked() {
    // Nothing to guess for an identifier that does not exist, and tracking
    // made-up ones would let anyone grow the limiter without bound.
    let h = throttled_harness(1);
    let ghost = TestClient {
        id: "ghost".into(),
        secret: "x".into(),
    };
    for _ in 0..10 {
        h.post(cc_request(&ghost, ""))
            .await
            .assert_error(401, "invalid_client");
    }
}

#[tokio::test]
async fn throttling_covers_the_post_method_and_method_mismatch() {
    let h = throttled_harness(1);
    // Wrong method counts as a failure too: for a generated secret, the
    // third is refused unchecked (the right secret over the right method
    // still works) …
    let c = h.cc_client().await;
    let post_body = |c: &TestClient| {
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            c.id,
            form_encode(&c.secret)
        )
    };
    for _ in 0..2 {
        h.post(token_request(None, &post_body(&c)))
            .await
            .assert_error(400, "invalid_client");
    }
    h.post(token_request(None, &post_body(&c)))
        .await
        .assert_error(429, "invalid_client");
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);

    // … and for an imported secret, two mismatches lock out even the right
    // secret over the right method.
    let c = imported_client(&h, "a secret a person chose").await;
    for _ in 0..2 {
        h.post(token_request(None, &post_body(&c)))
            .await
            .assert_error(400, "invalid_client");
    }
    h.post(cc_request(&c, ""))
        .await
        .assert_error(429, "invalid_client");
}

/// Reports, in the response, what the grant saw of the client.
struct WhoAmI;

impl GrantHandler for WhoAmI {
    fn grant_type(&self) -> GrantType {
        GrantType::extension("urn:example:params:oauth:grant-type:whoami").unwrap()
    }

    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let confidential = ctx.client().is_confidential();
        let method = ctx.client().method().to_string();
        Ok(ctx
            .issue(Issue::for_client(ctx.scope_or_default()))
            .await?
            .with_extra("confidential", confidential.into())
            .with_extra("method", method.into()))
    }
}

const WHOAMI: &str = "grant_type=urn%3Aexample%3Aparams%3Aoauth%3Agrant-type%3Awhoami";

fn whoami_type() -> GrantType {
    WhoAmI.grant_type()
}

#[tokio::test]
async fn a_public_client_never_passes_as_confidential() {
    // RFC 6749 §2.3: the server MUST NOT rely on public client authentication
    // to identify the client.
    let h = harness_with(|b| b.grant(WhoAmI));
    let public = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(whoami_type()),
        )
        .await;
    let r = h
        .post(token_request(
            None,
            &format!("{WHOAMI}&client_id={}", public.id),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["confidential"], false);
    assert_eq!(r.json["method"], "none");

    // Presenting a secret does not make it confidential: it has none, and
    // `none` is its registered method.
    let r = h
        .post(token_request(
            None,
            &format!("{WHOAMI}&client_id={}&client_secret=anything", public.id),
        ))
        .await;
    r.assert_error(400, "invalid_client");
    let r = h
        .post(token_request(Some(&basic(&public.id, "anything")), WHOAMI))
        .await;
    r.assert_error(401, "invalid_client");

    // A confidential client that authenticates is confidential …
    let conf = h
        .register(
            ClientRegistration::web_application()
                .grant_type(whoami_type())
                .grant_type(GrantType::CLIENT_CREDENTIALS),
        )
        .await;
    let r = h
        .post(token_request(Some(&basic(&conf.id, &conf.secret)), WHOAMI))
        .await;
    assert_eq!(r.json["confidential"], true);
    assert_eq!(r.json["method"], "client_secret_basic");
    // … and cannot skip its secret by sending only its id.
    h.post(token_request(
        None,
        &format!("{WHOAMI}&client_id={}", conf.id),
    ))
    .await
    .assert_error(400, "invalid_client");
}

/// Wraps the built-in authenticator, counting verifications and optionally
/// claiming a different method than the request used.
#[derive(Default)]
struct Spy {
    verifies: Arc<AtomicUsize>,
    claim: Option<AuthMethod>,
}

impl ClientAuthenticator for Spy {
    fn identify(&self, request: &AuthRequest<'_>) -> Result<PresentedCredentials, ClientAuthError> {
        let mut presented = SecretAuthenticator.identify(request)?;
        if let Some(method) = &self.claim {
            presented.method = method.clone();
        }
        Ok(presented)
    }

    fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
    ) -> Result<(), ClientAuthError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        SecretAuthenticator.verify(presented, client)
    }

    fn methods(&self) -> &[AuthMethod] {
        SecretAuthenticator.methods()
    }
}

#[tokio::test]
async fn an_unknown_client_costs_a_secret_verification() {
    let verifies = Arc::new(AtomicUsize::new(0));
    let spy = Spy {
        verifies: verifies.clone(),
        claim: None,
    };
    let h = harness_with(|b| b.authenticator(spy));
    let c = h.cc_client().await;
    h.post(cc_request(
        &TestClient {
            id: "nobody".into(),
            secret: "x".into(),
        },
        "",
    ))
    .await;
    assert_eq!(
        verifies.load(Ordering::SeqCst),
        1,
        "the decoy was not verified"
    );
    h.post(cc_request(&c, "")).await;
    assert_eq!(verifies.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_custom_authenticator_cannot_bypass_the_registered_method() {
    // An authenticator claiming `none` for a Basic request still meets the
    // server's §2.3.2 check against the client's registration.
    let spy = Spy {
        verifies: Arc::default(),
        claim: Some(AuthMethod::NONE),
    };
    let verifies = spy.verifies.clone();
    let h = harness_with(|b| b.authenticator(spy));
    let c = h.cc_client().await;
    let r = h
        .post(cc_request(
            &TestClient {
                id: c.id,
                secret: "wrong".into(),
            },
            "",
        ))
        .await;
    r.assert_error(401, "invalid_client");
    assert_eq!(
        verifies.load(Ordering::SeqCst),
        0,
        "verified despite a method mismatch"
    );
}

#[tokio::test]
async fn errors_never_echo_secrets() {
    let h = harness();
    let c = h.cc_client().await;
    let secret = "pc_cs_this-is-a-guess-that-must-not-be-echoed-back";
    let r = h
        .post(cc_request(
            &TestClient {
                id: c.id.clone(),
                secret: secret.into(),
            },
            "",
        ))
        .await;
    assert!(!r.json.to_string().contains("this-is-a-guess"));
    let r = h
        .post(token_request(
            None,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={secret}",
                c.id
            ),
        ))
        .await;
    assert!(!r.json.to_string().contains("this-is-a-guess"));
}

#[tokio::test]
async fn a_basic_header_from_raw_bytes_never_panics() {
    let h = harness();
    for len in [0usize, 1, 2, 3, 4, 5, 63, 64, 65] {
        let mut req = Request::post("/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"grant_type=client_credentials".to_vec())
            .unwrap();
        let value = format!("Basic {}", STANDARD.encode(vec![b':'; len]));
        req.headers_mut()
            .insert("authorization", HeaderValue::from_str(&value).unwrap());
        let r = h.post(req).await;
        r.assert_error(401, "invalid_client");
    }
}
