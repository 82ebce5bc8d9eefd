//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-01):
//! a URL `client_id` resolved by fetching its document through the host's
//! fetcher, through the public API: authorization, token endpoint, metadata,
//! caching, and every refusal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use http::Request;
use portcullis::client::{ClientIdMetadataDocuments, ClientRegistration};
use portcullis::endpoint::{AuthorizationError, DynamicRegistration};
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::protocol::GrantType;
use url::Url;

const CLIENT: &str = "https://app.example/oauth/client.json";
const REDIRECT: &str = "https://app.example/cb";

/// What the test fetcher answers for a URL.
#[derive(Debug, Clone)]
enum Answer {
    Document {
        status: u16,
        cache_control: Option<&'static str>,
        body: Vec<u8>,
    },
    Fails,
}

/// The host's HTTP client, played by a table of answers; counts fetches
/// per URL and checks the limits it is given.
#[derive(Debug, Clone, Default)]
struct TableFetcher {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    fetches: Arc<Mutex<HashMap<String, usize>>>,
}

impl TableFetcher {
    fn serve(&self, url: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(url.to_owned(), answer);
    }

    fn serve_json(&self, url: &str, document: serde_json::Value) {
        self.serve(url, ok(document, None));
    }

    fn fetches(&self, url: &str) -> usize {
        self.fetches.lock().unwrap().get(url).copied().unwrap_or(0)
    }
}

fn ok(document: serde_json::Value, cache_control: Option<&'static str>) -> Answer {
    Answer::Document {
        status: 200,
        cache_control,
        body: serde_json::to_vec(&document).unwrap(),
    }
}

impl Fetcher for TableFetcher {
    fn get<'a>(
        &'a self,
        url: &'a Url,
        limits: FetchLimits,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Vec<u8>>, FetchError>> + Send + 'a>>
    {
        *self
            .fetches
            .lock()
            .unwrap()
            .entry(url.as_str().to_owned())
            .or_default() += 1;
        let answer = self.answers.lock().unwrap().get(url.as_str()).cloned();
        Box::pin(async move {
            match answer {
                Some(Answer::Document {
                    status,
                    cache_control,
                    body,
                }) => {
                    // A fetcher keeps to the limits (the server checks again).
                    let mut body = body;
                    body.truncate(limits.max_body + 1);
                    let mut response = http::Response::builder()
                        .status(status)
                        .header("content-type", "application/json");
                    if let Some(cc) = cache_control {
                        response = response.header("cache-control", cc);
                    }
                    Ok(response.body(body).unwrap())
                }
                Some(Answer::Fails) => Err(FetchError::new("connection refused")),
                None => Ok(http::Response::builder()
                    .status(404)
                    .body(Vec::new())
                    .unwrap()),
            }
        })
    }
}

/// A typical MCP client's document.
fn document(client_id: &str) -> serde_json::Value {
    serde_json::json!({
        "client_id": client_id,
        "client_name": "Example MCP client",
        "client_uri": "https://app.example",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

fn settings(fetcher: &TableFetcher) -> ClientIdMetadataDocuments {
    ClientIdMetadataDocuments::new(Arc::new(fetcher.clone()))
        .max_scope("read write".parse().unwrap())
}

fn harness_with_documents(documents: ClientIdMetadataDocuments) -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .client_id_metadata_documents(documents)
            .dynamic_registration(DynamicRegistration::open().max_scope("read".parse().unwrap()))
    })
}

fn setup() -> (Harness, TableFetcher) {
    let fetcher = TableFetcher::default();
    fetcher.serve_json(CLIENT, document(CLIENT));
    (harness_with_documents(settings(&fetcher)), fetcher)
}

fn client(id: &str) -> TestClient {
    TestClient {
        id: form_encode(id),
        secret: String::new(),
    }
}

/// An authorization request from `client_id` to `redirect_uri`, with PKCE.
async fn authorize(
    h: &Harness,
    client_id: &str,
    redirect_uri: &str,
) -> Result<portcullis::endpoint::PendingAuthorization, AuthorizationError> {
    h.authorize(&format!(
        "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz&scope=read",
        form_encode(client_id),
        form_encode(redirect_uri),
    ))
    .await
}

/// The `400` page's description of a request the server will not redirect.
#[track_caller]
fn rejected<T: std::fmt::Debug>(outcome: Result<T, AuthorizationError>) -> String {
    match outcome {
        Err(AuthorizationError::Rejected(e)) => {
            let description = e.description().unwrap_or_default().to_owned();
            let response = AuthorizationError::Rejected(e).into_http();
            assert_eq!(response.status(), 400);
            assert!(response.headers().get("location").is_none());
            description
        }
        other => panic!("expected a rejection without redirect, got {other:?}"),
    }
}

/// A token request as a public client whose code it never got.
async fn token_as(h: &Harness, client_id: &str) -> Reply {
    h.post(token_request(
        None,
        &format!(
            "grant_type=authorization_code&code=x&client_id={}&code_verifier={VERIFIER}&redirect_uri={}",
            form_encode(client_id),
            form_encode(REDIRECT)
        ),
    ))
    .await
}

#[tokio::test]
async fn the_metadata_advertises_support_only_when_enabled() {
    let (h, _) = setup();
    assert!(h.server.metadata().client_id_metadata_document_supported);
    let json = serde_json::to_value(h.server.metadata()).unwrap();
    assert_eq!(json["client_id_metadata_document_supported"], true);

    let plain = code_harness();
    let json = serde_json::to_value(plain.server.metadata()).unwrap();
    assert!(json.get("client_id_metadata_document_supported").is_none());
}

#[tokio::test]
async fn a_document_client_completes_the_code_flow_as_a_public_client() {
    let (h, fetcher) = setup();
    let pending = authorize(&h, CLIENT, REDIRECT).await.unwrap();
    assert_eq!(pending.client().id().as_str(), CLIENT);
    assert_eq!(pending.client().name(), Some("Example MCP client"));
    assert_eq!(
        pending.client().client_type(),
        portcullis::client::ClientType::Public
    );
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let params = redirect_params(&response);
    let code = param(&params, "code").unwrap();

    let c = client(CLIENT);
    let reply = h
        .post(token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={VERIFIER}&redirect_uri={}",
                c.id,
                form_encode(REDIRECT)
            ),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["scope"], "read");
    assert!(alive(&h, reply.access_token()).await);
    let info = h
        .server
        .access_token_info(reply.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.client_id.as_str(), CLIENT);

    // Refresh works for the same client, and is bound to it.
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let refreshed = h.post(refresh_request(&c, refresh, "")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
    // One fetch served the whole flow: the document was cached.
    assert_eq!(fetcher.fetches(CLIENT), 1);
}

#[tokio::test]
async fn pkce_is_required_of_document_clients() {
    let (h, _) = setup();
    let outcome = h
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={}&state=xyz",
            form_encode(CLIENT),
            form_encode(REDIRECT)
        ))
        .await;
    match outcome {
        Err(AuthorizationError::Redirect { error, response }) => {
            assert_eq!(error.code().as_str(), "invalid_request");
            let params = redirect_params(&response);
            assert_eq!(param(&params, "error"), Some("invalid_request"));
            assert!(
                error.description().unwrap().contains("code_challenge"),
                "{error:?}"
            );
        }
        other => panic!("expected an error redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn a_document_whose_client_id_differs_is_an_unknown_client() {
    let (h, fetcher) = setup();
    let impostor = "https://evil.example/client.json";
    fetcher.serve_json(impostor, document(CLIENT));
    let page = rejected(authorize(&h, impostor, REDIRECT).await);
    assert_eq!(page, "unknown client");
    assert_eq!(fetcher.fetches(impostor), 1);
    token_as(&h, impostor)
        .await
        .assert_error(400, "invalid_client");

    // Nor does a client_id differing only in form match (simple string
    // comparison, RFC 3986 §6.2.1).
    let almost = "https://app.example/oauth/client.json?";
    let other = "https://app.example/oauth/other.json";
    fetcher.serve_json(other, document(almost));
    assert_eq!(
        rejected(authorize(&h, other, REDIRECT).await),
        "unknown client"
    );
}

#[tokio::test]
async fn redirect_uris_are_compared_exactly_port_included() {
    let (h, fetcher) = setup();
    let page = rejected(authorize(&h, CLIENT, "https://app.example/cb2").await);
    assert!(page.contains("redirect_uri"), "{page}");
    let page = rejected(authorize(&h, CLIENT, "https://evil.example/cb").await);
    assert!(page.contains("redirect_uri"), "{page}");

    // A native client's loopback redirect: exactly as in the document, not
    // on any port as for registered native apps (RFC 8252 §7.3).
    let native = "https://app.example/native.json";
    let mut doc = document(native);
    doc["redirect_uris"] = serde_json::json!(["http://127.0.0.1:33418/callback"]);
    fetcher.serve_json(native, doc);
    assert!(
        authorize(&h, native, "http://127.0.0.1:33418/callback")
            .await
            .is_ok()
    );
    let page = rejected(authorize(&h, native, "http://127.0.0.1:40000/callback").await);
    assert!(page.contains("redirect_uri"), "{page}");
    let page = rejected(authorize(&h, native, "http://127.0.0.1/callback").await);
    assert!(page.contains("redirect_uri"), "{page}");
    // Whereas a registered native app's loopback redirect varies in port.
    let registered = h.native_client().await;
    assert!(
        authorize(&h, &registered.id, "http://127.0.0.1:40000/cb")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn identifiers_must_be_https_urls_by_the_drafts_rules() {
    let (h, fetcher) = setup();
    for id in [
        "http://app.example/oauth/client.json",
        "http://127.0.0.1:5000/client.json",
        "https://app.example",
        "https://app.example/",
        "https://app.example/oauth/client.json#x",
        "https://user@app.example/oauth/client.json",
        "https://app.example/x/../oauth/client.json",
        "https://APP.example/oauth/client.json",
        "https://app.example:443/oauth/client.json",
    ] {
        fetcher.serve_json(id, document(id));
        assert_eq!(
            rejected(authorize(&h, id, REDIRECT).await),
            "unknown client",
            "{id}"
        );
        assert_eq!(fetcher.fetches(id), 0, "{id} must not be fetched");
    }
}

#[tokio::test]
async fn loopback_http_identifiers_need_the_development_switch() {
    let fetcher = TableFetcher::default();
    let dev = "http://127.0.0.1:5000/client.json";
    let mut doc = document(dev);
    doc["redirect_uris"] = serde_json::json!(["http://127.0.0.1:5000/cb"]);
    fetcher.serve_json(dev, doc.clone());
    let remote = "http://app.example/client.json";
    doc["client_id"] = remote.into();
    fetcher.serve_json(remote, doc);

    let h = harness_with_documents(settings(&fetcher).allow_loopback_http(true));
    let pending = authorize(&h, dev, "http://127.0.0.1:5000/cb")
        .await
        .unwrap();
    assert_eq!(pending.client().id().as_str(), dev);
    // Loopback only: plain http elsewhere is still refused.
    assert_eq!(
        rejected(authorize(&h, remote, REDIRECT).await),
        "unknown client"
    );
    assert_eq!(fetcher.fetches(remote), 0);
}

#[tokio::test]
async fn failed_fetches_make_an_unknown_client_and_are_not_cached() {
    let (h, fetcher) = setup();
    let cases: Vec<(&str, Answer)> = vec![
        (
            "https://app.example/404.json",
            Answer::Document {
                status: 404,
                cache_control: None,
                body: b"{}".to_vec(),
            },
        ),
        (
            "https://app.example/500.json",
            Answer::Document {
                status: 500,
                cache_control: None,
                body: Vec::new(),
            },
        ),
        (
            // A redirect is not followed, and not a document (§4).
            "https://app.example/moved.json",
            Answer::Document {
                status: 302,
                cache_control: None,
                body: Vec::new(),
            },
        ),
        (
            // 201 is not 200 (§4).
            "https://app.example/201.json",
            Answer::Document {
                status: 201,
                cache_control: None,
                body: serde_json::to_vec(&document("https://app.example/201.json")).unwrap(),
            },
        ),
        (
            "https://app.example/malformed.json",
            Answer::Document {
                status: 200,
                cache_control: None,
                body: b"{\"client_id\": \"https://app.example/malformed.json\",".to_vec(),
            },
        ),
        (
            "https://app.example/array.json",
            Answer::Document {
                status: 200,
                cache_control: None,
                body: b"[]".to_vec(),
            },
        ),
        ("https://app.example/unreachable.json", Answer::Fails),
    ];
    for (url, answer) in cases {
        fetcher.serve(url, answer);
        assert_eq!(
            rejected(authorize(&h, url, REDIRECT).await),
            "unknown client",
            "{url}"
        );
        token_as(&h, url).await.assert_error(400, "invalid_client");
        // §4.4: errors are not cached, so each lookup fetched again.
        assert_eq!(fetcher.fetches(url), 2, "{url}");
    }
}

#[tokio::test]
async fn an_oversize_document_is_refused() {
    let (h, fetcher) = setup();
    let big = "https://app.example/big.json";
    let mut doc = document(big);
    // Valid JSON, a member the metadata ignores, past the 5 KiB default.
    doc["padding"] = "x".repeat(6 * 1024).into();
    fetcher.serve_json(big, doc.clone());
    assert_eq!(
        rejected(authorize(&h, big, REDIRECT).await),
        "unknown client"
    );

    // The same document within a larger limit is accepted.
    let roomy = harness_with_documents(
        settings(&fetcher).limits(FetchLimits::new(64 * 1024, Duration::from_secs(5))),
    );
    assert!(authorize(&roomy, big, REDIRECT).await.is_ok());
}

#[tokio::test]
async fn documents_asking_for_secrets_or_other_grants_are_refused() {
    let (h, fetcher) = setup();
    let cases: Vec<(&str, serde_json::Value)> = vec![
        (
            "basic",
            serde_json::json!({"token_endpoint_auth_method": "client_secret_basic"}),
        ),
        (
            "post",
            serde_json::json!({"token_endpoint_auth_method": "client_secret_post"}),
        ),
        (
            "jwt",
            serde_json::json!({"token_endpoint_auth_method": "client_secret_jwt"}),
        ),
        (
            "pkjwt",
            serde_json::json!({"token_endpoint_auth_method": "private_key_jwt",
                               "jwks_uri": "https://app.example/jwks.json"}),
        ),
        ("secret", serde_json::json!({"client_secret": "s3cr3t"})),
        (
            "expires",
            serde_json::json!({"client_secret_expires_at": 0}),
        ),
        (
            "cc",
            serde_json::json!({"grant_types": ["client_credentials"], "response_types": []}),
        ),
        (
            "implicit",
            serde_json::json!({"grant_types": ["implicit"], "response_types": ["token"]}),
        ),
        ("no-redirects", serde_json::json!({"redirect_uris": []})),
        (
            "http-redirect",
            serde_json::json!({"redirect_uris": ["http://app.example/cb"]}),
        ),
        ("wide-scope", serde_json::json!({"scope": "read admin"})),
        ("no-client-id", serde_json::json!({"client_id": null})),
        (
            "native-secret",
            serde_json::json!({"application_type": "native",
                                             "token_endpoint_auth_method": "client_secret_basic"}),
        ),
    ];
    for (name, changes) in cases {
        let url = format!("https://app.example/{name}.json");
        let mut doc = document(&url);
        for (k, v) in changes.as_object().unwrap() {
            doc[k] = v.clone();
        }
        fetcher.serve_json(&url, doc);
        assert_eq!(
            rejected(authorize(&h, &url, REDIRECT).await),
            "unknown client",
            "{name}"
        );
    }

    // Without token_endpoint_auth_method the client is public: there is no
    // secret a document could share.
    let implicit_none = "https://app.example/default-method.json";
    let mut doc = document(implicit_none);
    doc.as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    fetcher.serve_json(implicit_none, doc);
    let pending = authorize(&h, implicit_none, REDIRECT).await.unwrap();
    assert_eq!(pending.client().auth_method().as_str(), "none");

    // Keys beside `none` authenticate nothing, and are not registered.
    let with_keys = "https://app.example/with-keys.json";
    let mut doc = document(with_keys);
    doc["jwks_uri"] = "https://app.example/jwks.json".into();
    fetcher.serve_json(with_keys, doc);
    let pending = authorize(&h, with_keys, REDIRECT).await.unwrap();
    assert_eq!(pending.client().auth_method().as_str(), "none");
    assert_eq!(fetcher.fetches("https://app.example/jwks.json"), 0);
}

#[tokio::test]
async fn documents_are_cached_as_cache_control_says_within_bounds() {
    let (h, fetcher) = setup();
    // No Cache-Control: five minutes.
    authorize(&h, CLIENT, REDIRECT).await.unwrap();
    authorize(&h, CLIENT, REDIRECT).await.unwrap();
    assert_eq!(fetcher.fetches(CLIENT), 1);
    h.clock.advance(Duration::from_secs(299));
    authorize(&h, CLIENT, REDIRECT).await.unwrap();
    assert_eq!(fetcher.fetches(CLIENT), 1);
    // Expired: fetched again, and a change to the document takes effect.
    let mut changed = document(CLIENT);
    changed["redirect_uris"] = serde_json::json!(["https://app.example/new-cb"]);
    fetcher.serve(CLIENT, ok(changed, Some("max-age=3600")));
    h.clock.advance(Duration::from_secs(2));
    let page = rejected(authorize(&h, CLIENT, REDIRECT).await);
    assert!(page.contains("redirect_uri"), "{page}");
    assert_eq!(fetcher.fetches(CLIENT), 2);
    // max-age=3600 is honoured…
    h.clock.advance(Duration::from_secs(3599));
    authorize(&h, CLIENT, "https://app.example/new-cb")
        .await
        .unwrap();
    assert_eq!(fetcher.fetches(CLIENT), 2);
    h.clock.advance(Duration::from_secs(2));
    authorize(&h, CLIENT, "https://app.example/new-cb")
        .await
        .unwrap();
    assert_eq!(fetcher.fetches(CLIENT), 3);

    // … and bounded: no-store still caches for the minimum (60 s), a year
    // for at most the maximum (24 h).
    let short = "https://app.example/short.json";
    fetcher.serve(short, ok(document(short), Some("no-store")));
    let long = "https://app.example/long.json";
    fetcher.serve(long, ok(document(long), Some("max-age=31536000")));
    for url in [short, long] {
        authorize(&h, url, REDIRECT).await.unwrap();
    }
    h.clock.advance(Duration::from_secs(59));
    authorize(&h, short, REDIRECT).await.unwrap();
    assert_eq!(fetcher.fetches(short), 1);
    h.clock.advance(Duration::from_secs(2));
    authorize(&h, short, REDIRECT).await.unwrap();
    assert_eq!(fetcher.fetches(short), 2);
    h.clock.advance(Duration::from_secs(24 * 3600 - 62));
    authorize(&h, long, REDIRECT).await.unwrap();
    assert_eq!(fetcher.fetches(long), 1);
    h.clock.advance(Duration::from_secs(2));
    authorize(&h, long, REDIRECT).await.unwrap();
    assert_eq!(fetcher.fetches(long), 2);
}

#[tokio::test]
async fn a_failure_lifetime_remembers_failures_briefly() {
    let fetcher = TableFetcher::default();
    let h = harness_with_documents(settings(&fetcher).failure_lifetime(Duration::from_secs(10)));
    let down = "https://app.example/down.json";
    fetcher.serve(down, Answer::Fails);
    rejected(authorize(&h, down, REDIRECT).await);
    rejected(authorize(&h, down, REDIRECT).await);
    assert_eq!(fetcher.fetches(down), 1);
    // Fixed, and past the failure's lifetime: it resolves.
    fetcher.serve_json(down, document(down));
    h.clock.advance(Duration::from_secs(11));
    assert!(authorize(&h, down, REDIRECT).await.is_ok());
    assert_eq!(fetcher.fetches(down), 2);
}

#[tokio::test]
async fn registered_clients_are_not_confused_with_documents() {
    let (h, fetcher) = setup();
    // Dynamic registration generates its own identifier: a client_id in the
    // request is not taken, so a registrant cannot claim a document's URL.
    let reply: Reply = h
        .server
        .registration_endpoint(
            Request::post("https://auth.example/register")
                .header("content-type", "application/json")
                .body(
                    serde_json::to_vec(&serde_json::json!({
                        "client_id": CLIENT,
                        "redirect_uris": ["https://evil.example/cb"],
                        "token_endpoint_auth_method": "none",
                    }))
                    .unwrap(),
                )
                .unwrap(),
        )
        .await
        .into();
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let generated = reply.json["client_id"].as_str().unwrap();
    assert_ne!(generated, CLIENT);
    assert!(!generated.starts_with("https://"));
    // The URL still means its document, with its redirect URIs only.
    let page = rejected(authorize(&h, CLIENT, "https://evil.example/cb").await);
    assert!(page.contains("redirect_uri"), "{page}");
    assert!(
        authorize(&h, generated, "https://evil.example/cb")
            .await
            .is_ok()
    );
    assert!(authorize(&h, CLIENT, REDIRECT).await.is_ok());

    // A client an administrator registered under a URL keeps its
    // registration (§6.10), and its document is never fetched.
    let preregistered = "https://partner.example/client.json";
    h.register(
        ClientRegistration::user_agent_based()
            .client_id(preregistered)
            .redirect_uri("https://partner.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .scope("read".parse().unwrap()),
    )
    .await;
    assert!(
        authorize(&h, preregistered, "https://partner.example/cb")
            .await
            .is_ok()
    );
    assert_eq!(fetcher.fetches(preregistered), 0);
}

/// RFC 9396 §10, as registration holds it: a document naming an
/// `authorization_details_types` value the server does not accept makes an
/// unknown client; one naming an accepted type is a client registered for
/// it, whose authorization request may then carry details of that type.
#[tokio::test]
async fn authorization_details_types_are_checked_against_the_servers() {
    let fetcher = TableFetcher::default();
    let h = harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .client_id_metadata_documents(settings(&fetcher))
            .authorization_details_type(
                "payment_initiation",
                |_: &portcullis::protocol::AuthorizationDetail| Ok(()),
            )
    });
    let with_types = |id: &str, types: serde_json::Value| {
        let mut doc = document(id);
        doc["grant_types"] = serde_json::json!(["authorization_code"]);
        doc["authorization_details_types"] = types;
        doc
    };
    let unknown = "https://app.example/oauth/unknown-type.json";
    fetcher.serve_json(
        unknown,
        with_types(
            unknown,
            serde_json::json!(["payment_initiation", "wire_transfer"]),
        ),
    );
    assert_eq!(
        rejected(authorize(&h, unknown, REDIRECT).await),
        "unknown client"
    );
    token_as(&h, unknown)
        .await
        .assert_error(400, "invalid_client");

    let known = "https://app.example/oauth/payments.json";
    fetcher.serve_json(
        known,
        with_types(known, serde_json::json!(["payment_initiation"])),
    );
    let details = r#"[{"type":"payment_initiation","actions":["initiate"]}]"#;
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&state=xyz&authorization_details={}",
            form_encode(known),
            form_encode(REDIRECT),
            form_encode(details),
        ))
        .await
        .unwrap();
    assert_eq!(
        pending.authorization_details().iter().count(),
        1,
        "the document's type is registered for the client"
    );
}
