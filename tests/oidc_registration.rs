//! OpenID Connect client metadata (OpenID Connect Dynamic Client
//! Registration 1.0 §2, §5; Core 1.0 §8.1; RP-Initiated Logout 1.0 §3.1):
//! through the registration and client configuration endpoints, and
//! through `ClientRegistration`.
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
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use http::Request;
use portcullis::ServerBuilder;
use portcullis::client::{
    Client, ClientRegistration, ClientRegistry, OPENID_SIGNING_ALGORITHMS, RegistrationError,
    SubjectType,
};
use portcullis::endpoint::DynamicRegistration;
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::oidc::{OpenIdConnect, PairwiseKey, StaticClaims};
use portcullis::protocol::GrantType;
use serde_json::{Value, json};
use url::Url;

const IAT: &str = "iat-Wq3Xv9Lr2Tn8Yb5Kc1Hd7Pf4Gs6Jm0Za";
const SECTOR: &str = "https://sector.example/redirect_uris.json";

/// What a URL answers: a status and body, or `None` for a failed connection.
type Answer = Option<(u16, Vec<u8>)>;

/// The host's HTTP client, played by a table: a URL answers its JSON
/// body, or fails to connect; anything else is `404`. Counts fetches.
#[derive(Debug, Clone, Default)]
struct TableFetcher {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    fetches: Arc<Mutex<usize>>,
}

impl TableFetcher {
    fn serve(&self, url: &str, body: Value) {
        self.serve_raw(url, 200, serde_json::to_vec(&body).unwrap());
    }

    fn serve_raw(&self, url: &str, status: u16, body: Vec<u8>) {
        self.answers
            .lock()
            .unwrap()
            .insert(url.to_owned(), Some((status, body)));
    }

    fn fail(&self, url: &str) {
        self.answers.lock().unwrap().insert(url.to_owned(), None);
    }

    fn fetches(&self) -> usize {
        *self.fetches.lock().unwrap()
    }
}

impl Fetcher for TableFetcher {
    fn get<'a>(
        &'a self,
        url: &'a Url,
        _limits: FetchLimits,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Vec<u8>>, FetchError>> + Send + 'a>>
    {
        *self.fetches.lock().unwrap() += 1;
        let answer = self.answers.lock().unwrap().get(url.as_str()).cloned();
        Box::pin(async move {
            match answer {
                Some(Some((status, body))) => {
                    Ok(http::Response::builder().status(status).body(body).unwrap())
                }
                Some(None) => Err(FetchError::new("connection refused")),
                None => Ok(http::Response::builder()
                    .status(404)
                    .body(Vec::new())
                    .unwrap()),
            }
        })
    }
}

/// One signing key of each algorithm a client may register, made once:
/// RSA keys are slow to generate.
fn all_keys() -> KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        OPENID_SIGNING_ALGORITHMS
            .into_iter()
            .fold(KeySet::new(), |set, alg| {
                set.with_key(SigningKey::generate(alg).unwrap()).unwrap()
            })
    })
    .clone()
}

/// An OpenID Provider signing ID tokens with `keys`' ES256 key; with
/// pairwise subjects if `pairwise`.
fn provider(b: ServerBuilder, keys: KeySet, pairwise: bool) -> ServerBuilder {
    let mut config = OpenIdConnect::new(StaticClaims::new()).id_token_signing_alg(Algorithm::Es256);
    if pairwise {
        config = config.pairwise_subjects(PairwiseKey::new(&[7; 32]).unwrap());
    }
    b.signing_keys(keys).openid_connect(config)
}

fn registration() -> DynamicRegistration {
    DynamicRegistration::with_initial_access_token(IAT).max_scope("openid profile".parse().unwrap())
}

/// An OpenID Provider with a key of every algorithm and pairwise subjects,
/// the code flow, registration behind [`IAT`], and a fetcher.
fn setup() -> (Harness, TableFetcher) {
    let fetcher = TableFetcher::default();
    let h = harness_with(|b| {
        provider(b, all_keys(), true)
            .grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .dynamic_registration(registration())
            .fetcher(fetcher.clone())
    });
    (h, fetcher)
}

async fn register(h: &Harness, body: &Value) -> Reply {
    let request = Request::post("https://auth.example/register")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {IAT}"))
        .body(serde_json::to_vec(body).unwrap())
        .unwrap();
    Reply::from(h.server.registration_endpoint(request).await)
}

/// Registers `body` and expects `201`.
async fn registered(h: &Harness, body: &Value) -> Value {
    let reply = register(h, body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    reply.json
}

/// Registers `body` and expects `400 invalid_client_metadata`; the
/// description.
async fn refused(h: &Harness, body: &Value) -> String {
    let reply = register(h, body).await;
    reply.assert_error(400, "invalid_client_metadata");
    reply.description().to_owned()
}

/// The stored client a registration response describes.
async fn stored(h: &Harness, info: &Value) -> Arc<Client> {
    h.store
        .find_client(info["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// A web client's metadata with `extra` members.
fn web(extra: Value) -> Value {
    let mut body = json!({
        "redirect_uris": ["https://app.example/cb"],
        "grant_types": ["authorization_code"],
        "scope": "openid",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn every_openid_member_is_accepted_stored_and_echoed() {
    let (h, fetcher) = setup();
    fetcher.serve(
        SECTOR,
        json!(["https://app.example/cb", "https://other.example/cb"]),
    );
    let members = json!({
        "redirect_uris": ["https://app.example/cb", "https://other.example/cb"],
        "id_token_signed_response_alg": "ES256",
        "userinfo_signed_response_alg": "PS256",
        "subject_type": "pairwise",
        "sector_identifier_uri": SECTOR,
        "post_logout_redirect_uris": ["https://app.example/logged-out"],
        "require_auth_time": true,
        "default_max_age": 3600,
        "default_acr_values": ["urn:example:loa:2", "urn:example:loa:1"],
    });
    let info = registered(&h, &web(members.clone())).await;
    for (member, value) in members.as_object().unwrap() {
        assert_eq!(&info[member], value, "{member}");
    }
    assert_eq!(fetcher.fetches(), 1);

    let client = stored(&h, &info).await;
    assert_eq!(
        client.id_token_signed_response_alg(),
        Some(Algorithm::Es256)
    );
    assert_eq!(
        client.userinfo_signed_response_alg(),
        Some(Algorithm::Ps256)
    );
    assert_eq!(client.subject_type(), SubjectType::Pairwise);
    assert_eq!(client.subject_type().as_str(), "pairwise");
    assert_eq!(client.sector_identifier_uri().unwrap().as_str(), SECTOR);
    assert_eq!(client.sector_identifier(), Some("sector.example"));
    assert!(client.allows_post_logout_redirect_uri("https://app.example/logged-out"));
    assert!(client.require_auth_time());
    assert_eq!(client.default_max_age(), Some(3600));
    assert_eq!(
        client.default_acr_values(),
        ["urn:example:loa:2", "urn:example:loa:1"]
    );
}

#[tokio::test]
async fn a_client_without_them_is_public_with_plain_userinfo() {
    let (h, fetcher) = setup();
    let info = registered(&h, &web(json!({}))).await;
    assert_eq!(info["subject_type"], "public");
    for member in [
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "sector_identifier_uri",
        "post_logout_redirect_uris",
        "require_auth_time",
        "default_max_age",
        "default_acr_values",
    ] {
        assert!(info.get(member).is_none(), "{member}: {info}");
    }
    let client = stored(&h, &info).await;
    assert_eq!(client.subject_type(), SubjectType::Public);
    assert_eq!(client.id_token_signed_response_alg(), None);
    assert_eq!(client.userinfo_signed_response_alg(), None);
    assert!(!client.require_auth_time());
    assert_eq!(client.default_max_age(), None);
    assert!(client.default_acr_values().is_empty());
    assert!(client.post_logout_redirect_uris().is_empty());
    assert_eq!(client.sector_identifier(), Some("app.example"));
    assert_eq!(fetcher.fetches(), 0);
}

#[tokio::test]
async fn signing_algorithms_must_be_asymmetric() {
    let (h, _) = setup();
    for member in [
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
    ] {
        for good in ["RS256", "PS256", "ES256", "EdDSA"] {
            let info = registered(&h, &web(json!({ member: good }))).await;
            assert_eq!(info[member], good);
        }
        for bad in [
            json!("none"),
            json!("HS256"),
            json!("RS512"),
            json!("es256"),
        ] {
            let description = refused(&h, &web(json!({ member: bad }))).await;
            assert!(description.contains(member), "{description}");
        }
        refused(&h, &web(json!({ member: 256 }))).await;
    }
}

#[tokio::test]
async fn malformed_members_are_refused() {
    let (h, _) = setup();
    for extra in [
        json!({"subject_type": "anonymous"}),
        json!({"subject_type": "Pairwise"}),
        json!({"require_auth_time": "yes"}),
        json!({"default_max_age": -1}),
        json!({"default_max_age": 1.5}),
        json!({"default_max_age": 4_294_967_296_u64}),
        json!({"default_acr_values": "urn:example:loa:2"}),
        json!({"default_acr_values": [""]}),
        json!({"default_acr_values": ["two words"]}),
        json!({"default_acr_values": ["x".repeat(257)]}),
        json!({"default_acr_values": (0..17).map(|i| i.to_string()).collect::<Vec<_>>()}),
        json!({"post_logout_redirect_uris": "https://app.example/bye"}),
        json!({"post_logout_redirect_uris": ["/bye"]}),
        json!({"post_logout_redirect_uris": ["https://app.example/bye#top"]}),
        json!({"post_logout_redirect_uris": ["http://app.example/bye"]}),
        json!({"post_logout_redirect_uris": ["http://127.0.0.1/bye"]}),
        json!({"post_logout_redirect_uris": ["com.example.app:/bye"]}),
        json!({"post_logout_redirect_uris": (0..11).map(|i| format!("https://app.example/{i}")).collect::<Vec<_>>()}),
        json!({"sector_identifier_uri": "not a url"}),
    ] {
        refused(&h, &web(extra)).await;
    }
    // The largest default_max_age is accepted.
    registered(&h, &web(json!({"default_max_age": 4_294_967_295_u64}))).await;
}

#[tokio::test]
async fn a_native_app_may_return_to_loopback_and_private_use_uris_after_logout() {
    let (h, _) = setup();
    let uris = json!(["http://127.0.0.1/bye", "com.example.app:/bye"]);
    let info = registered(
        &h,
        &json!({
            "application_type": "native",
            "redirect_uris": ["http://127.0.0.1/cb"],
            "post_logout_redirect_uris": uris,
        }),
    )
    .await;
    assert_eq!(info["post_logout_redirect_uris"], uris);
}

#[tokio::test]
async fn encryption_members_are_refused_not_ignored() {
    let (h, _) = setup();
    for member in [
        "id_token_encrypted_response_alg",
        "id_token_encrypted_response_enc",
        "userinfo_encrypted_response_alg",
        "userinfo_encrypted_response_enc",
        "request_object_encryption_alg",
        "request_object_encryption_enc",
    ] {
        let description = refused(&h, &web(json!({ member: "RSA-OAEP-256" }))).await;
        assert!(description.contains(member), "{description}");
    }
}

#[tokio::test]
async fn request_object_signing_alg_is_kept_and_request_uris_ignored() {
    let (h, fetcher) = setup();
    // RFC 9101 §10.5: the algorithm is kept, and echoed; request_uris is
    // ignored, since the server fetches no request objects.
    let info = registered(
        &h,
        &web(json!({
            "request_object_signing_alg": "RS256",
            "require_signed_request_object": true,
            "request_uris": ["https://app.example/request.jwt"],
        })),
    )
    .await;
    assert_eq!(info["request_object_signing_alg"], "RS256");
    assert_eq!(info["require_signed_request_object"], true);
    assert!(info.get("request_uris").is_none());
    assert_eq!(fetcher.fetches(), 0);
    // Never none or HS256.
    for alg in ["none", "HS256"] {
        let description = refused(&h, &web(json!({ "request_object_signing_alg": alg }))).await;
        assert!(
            description.contains("request_object_signing_alg"),
            "{alg}: {description}"
        );
    }
}

#[tokio::test]
async fn the_sector_document_must_list_every_redirect_uri() {
    let (h, fetcher) = setup();
    fetcher.serve(SECTOR, json!(["https://app.example/cb"]));
    let body = web(json!({
        "redirect_uris": ["https://app.example/cb", "https://app.example/cb2"],
        "sector_identifier_uri": SECTOR,
    }));
    let description = refused(&h, &body).await;
    assert!(
        description.contains("https://app.example/cb2"),
        "{description}"
    );
    assert_eq!(fetcher.fetches(), 1);

    // Listed exactly: a listed prefix or a different case does not count.
    fetcher.serve(
        SECTOR,
        json!([
            "https://app.example/cb",
            "https://app.example/cb2/",
            "HTTPS://app.example/cb2"
        ]),
    );
    refused(&h, &body).await;

    fetcher.serve(
        SECTOR,
        json!([
            "https://app.example/cb",
            "https://app.example/cb2",
            "https://elsewhere.example/x"
        ]),
    );
    let info = registered(&h, &body).await;
    assert_eq!(info["sector_identifier_uri"], SECTOR);
    assert_eq!(
        stored(&h, &info).await.sector_identifier(),
        Some("sector.example")
    );
}

#[tokio::test]
async fn a_sector_identifier_uri_must_be_https_and_is_then_not_fetched() {
    let (h, fetcher) = setup();
    for uri in [
        "http://sector.example/uris.json",
        "https://user@sector.example/uris.json",
        "https://sector.example/uris.json#x",
        "sector.example/uris.json",
    ] {
        fetcher.serve(uri, json!(["https://app.example/cb"]));
        let description = refused(&h, &web(json!({"sector_identifier_uri": uri}))).await;
        assert!(
            description.contains("sector_identifier_uri"),
            "{description}"
        );
    }
    assert_eq!(fetcher.fetches(), 0);
}

#[tokio::test]
async fn a_sector_document_that_cannot_be_used_is_refused() {
    let (h, fetcher) = setup();
    let body = web(json!({"sector_identifier_uri": SECTOR}));
    // Not served: 404.
    refused(&h, &body).await;
    fetcher.fail(SECTOR);
    refused(&h, &body).await;
    fetcher.serve_raw(SECTOR, 500, b"[\"https://app.example/cb\"]".to_vec());
    refused(&h, &body).await;
    for document in [
        json!({"redirect_uris": ["https://app.example/cb"]}),
        json!("https://app.example/cb"),
        json!(["https://app.example/cb", 5]),
        json!([]),
    ] {
        fetcher.serve(SECTOR, document);
        refused(&h, &body).await;
    }
    fetcher.serve_raw(SECTOR, 200, b"[\"https://app.example/cb\"".to_vec());
    refused(&h, &body).await;
    // Too large for the fetch limits, even if the fetcher returned it all.
    let mut big = vec!["https://app.example/cb".to_owned()];
    big.extend((0..4000).map(|i| format!("https://app.example/padding/{i}")));
    fetcher.serve(SECTOR, json!(big));
    refused(&h, &body).await;
    assert_eq!(fetcher.fetches(), 9);
    // No client was stored by any of them.
    fetcher.serve(SECTOR, json!(["https://app.example/cb"]));
    registered(&h, &body).await;
}

#[tokio::test]
async fn a_server_without_a_fetcher_refuses_sector_identifier_uri() {
    let h = harness_with(|b| {
        provider(b, all_keys(), true)
            .grant(AuthorizationCodeGrant)
            .dynamic_registration(registration())
    });
    let description = refused(&h, &web(json!({"sector_identifier_uri": SECTOR}))).await;
    assert!(description.contains("does not fetch"), "{description}");
    // Pairwise still works with redirect URIs on one host.
    let info = registered(&h, &web(json!({"subject_type": "pairwise"}))).await;
    assert_eq!(info["subject_type"], "pairwise");
}

#[tokio::test]
async fn a_pairwise_client_needs_one_sector() {
    let (h, fetcher) = setup();
    let two_hosts = json!(["https://app.example/cb", "https://other.example/cb"]);
    let description = refused(
        &h,
        &web(json!({"subject_type": "pairwise", "redirect_uris": two_hosts})),
    )
    .await;
    assert!(
        description.contains("sector_identifier_uri"),
        "{description}"
    );
    // A loopback redirect names no site: every native app shares it.
    refused(
        &h,
        &json!({"application_type": "native", "subject_type": "pairwise",
                "redirect_uris": ["http://127.0.0.1/cb"]}),
    )
    .await;
    // Public clients may span hosts; they have no sector.
    let info = registered(&h, &web(json!({"redirect_uris": two_hosts}))).await;
    assert_eq!(stored(&h, &info).await.sector_identifier(), None);
    // One host, several paths: that host.
    let info = registered(
        &h,
        &web(json!({"subject_type": "pairwise",
                    "redirect_uris": ["https://app.example/a", "https://app.example/b?x=1"]})),
    )
    .await;
    assert_eq!(
        stored(&h, &info).await.sector_identifier(),
        Some("app.example")
    );
    // Several hosts with a sector_identifier_uri listing them.
    fetcher.serve(SECTOR, two_hosts.clone());
    let info = registered(
        &h,
        &web(
            json!({"subject_type": "pairwise", "redirect_uris": two_hosts,
                    "sector_identifier_uri": SECTOR}),
        ),
    )
    .await;
    assert_eq!(
        stored(&h, &info).await.sector_identifier(),
        Some("sector.example")
    );
}

#[tokio::test]
async fn post_logout_redirect_uris_match_exactly() {
    let client = ClientRegistration::native()
        .redirect_uri("http://127.0.0.1/cb")
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .post_logout_redirect_uri("http://127.0.0.1:8080/bye")
        .post_logout_redirect_uri("https://app.example/bye?from=op")
        .post_logout_redirect_uri("https://app.example/bye?from=op")
        .register()
        .unwrap()
        .client;
    assert_eq!(client.post_logout_redirect_uris().len(), 2);
    assert!(client.allows_post_logout_redirect_uri("http://127.0.0.1:8080/bye"));
    assert!(client.allows_post_logout_redirect_uri("https://app.example/bye?from=op"));
    for other in [
        // Unlike a loopback redirect URI, no port is free after logout.
        "http://127.0.0.1:9999/bye",
        "http://127.0.0.1/bye",
        "https://app.example/bye",
        "https://app.example/bye?from=op&x=1",
        "https://APP.example/bye?from=op",
        "https://app.example:443/bye?from=op",
        "https://app.example/bye?from=op#",
        // The redirect URI is not a post-logout one.
        "http://127.0.0.1/cb",
        "",
    ] {
        assert!(!client.allows_post_logout_redirect_uri(other), "{other}");
    }
    // Web clients: https only.
    assert!(matches!(
        ClientRegistration::web_application()
            .redirect_uri("https://app.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .post_logout_redirect_uri("http://127.0.0.1/bye")
            .register(),
        Err(RegistrationError::InvalidMetadata(_))
    ));
}

fn web_app() -> ClientRegistration {
    ClientRegistration::web_application()
        .redirect_uri("https://app.example/cb")
        .redirect_uri("https://other.example/cb")
        .grant_type(GrantType::AUTHORIZATION_CODE)
}

/// [`web_app`], pairwise, with a sector document listing both redirect
/// URIs.
fn pairwise_web_app() -> ClientRegistration {
    web_app()
        .subject_type(SubjectType::Pairwise)
        .sector_identifier_uri(
            SECTOR,
            ["https://app.example/cb", "https://other.example/cb"],
        )
}

#[tokio::test]
async fn an_administrator_registers_the_sector_document_it_fetched() {
    let registered = pairwise_web_app()
        .id_token_signed_response_alg(Algorithm::Rs256)
        .userinfo_signed_response_alg(Algorithm::EdDsa)
        .require_auth_time(true)
        .default_max_age(0)
        .default_acr_value("urn:example:loa:3")
        .register()
        .unwrap();
    let client = registered.client;
    assert_eq!(client.sector_identifier(), Some("sector.example"));
    assert_eq!(
        client.id_token_signed_response_alg(),
        Some(Algorithm::Rs256)
    );
    assert_eq!(
        client.userinfo_signed_response_alg(),
        Some(Algorithm::EdDsa)
    );
    assert_eq!(client.default_max_age(), Some(0));
    assert_eq!(client.default_acr_values(), ["urn:example:loa:3"]);
    assert!(client.require_auth_time());

    // The server stores it as it is: the document was the host's to fetch.
    let h = harness_with(|b| b.grant(AuthorizationCodeGrant));
    let stored = h.server.register_client(pairwise_web_app()).await.unwrap();
    assert_eq!(stored.client.subject_type(), SubjectType::Pairwise);

    for refused in [
        // A redirect URI the document does not list.
        web_app().sector_identifier_uri(SECTOR, ["https://app.example/cb"]),
        web_app().sector_identifier_uri(SECTOR, Vec::<String>::new()),
        // Not https.
        web_app().sector_identifier_uri(
            "http://sector.example/uris.json",
            ["https://app.example/cb", "https://other.example/cb"],
        ),
        // Pairwise across hosts without a sector.
        web_app().subject_type(SubjectType::Pairwise),
        web_app().id_token_signed_response_alg(Algorithm::Hs256),
        web_app().userinfo_signed_response_alg(Algorithm::Hs256),
        web_app().default_max_age(u64::MAX),
        web_app().default_acr_value("a b"),
    ] {
        let outcome = refused.register();
        assert!(
            matches!(outcome, Err(RegistrationError::InvalidMetadata(_))),
            "{outcome:?}"
        );
    }
}

#[test]
fn the_sector_identifier_is_derived_from_the_registration() {
    let sector = |registration: ClientRegistration| {
        registration
            .register()
            .unwrap()
            .client
            .sector_identifier()
            .map(str::to_owned)
    };
    let code = |uris: &[&str]| {
        uris.iter().fold(
            ClientRegistration::web_application().grant_type(GrantType::AUTHORIZATION_CODE),
            |r, uri| r.redirect_uri(*uri),
        )
    };
    assert_eq!(
        sector(code(&["https://App.Example:8443/cb"])).as_deref(),
        Some("app.example")
    );
    assert_eq!(
        sector(code(&[
            "https://app.example/a",
            "https://app.example:8443/b"
        ]))
        .as_deref(),
        Some("app.example")
    );
    assert_eq!(
        sector(code(&[
            "https://app.example/a",
            "https://www.app.example/b"
        ])),
        None
    );
    // sector_identifier_uri wins over the redirect URIs' host.
    assert_eq!(
        sector(code(&["https://app.example/a"]).sector_identifier_uri(
            "https://login.example:444/sector.json",
            ["https://app.example/a"]
        ))
        .as_deref(),
        Some("login.example")
    );
    // No redirect URIs, or only those of a native app: no sector.
    assert_eq!(
        sector(ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS)),
        None
    );
    assert_eq!(
        sector(
            ClientRegistration::native()
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .redirect_uri("com.example.app:/cb")
        ),
        None
    );
}

/// A client stored before the OpenID Connect members existed, as its JSON
/// was written then.
const STORED_BEFORE: &str = r#"{
    "client_id": "legacy-cli",
    "profile": "native",
    "client_name": "Legacy CLI",
    "redirect_uris": ["http://127.0.0.1/cb"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": "openid profile",
    "default_scope": "",
    "token_endpoint_auth_method": "none",
    "client_uri": "https://cli.example/",
    "contacts": ["ops@cli.example"]
}"#;

fn assert_defaults(client: &Client) {
    assert_eq!(client.id().as_str(), "legacy-cli");
    assert_eq!(client.subject_type(), SubjectType::Public);
    assert_eq!(client.id_token_signed_response_alg(), None);
    assert_eq!(client.userinfo_signed_response_alg(), None);
    assert_eq!(client.sector_identifier_uri(), None);
    assert_eq!(client.sector_identifier(), None);
    assert!(client.post_logout_redirect_uris().is_empty());
    assert!(!client.require_auth_time());
    assert_eq!(client.default_max_age(), None);
    assert!(client.default_acr_values().is_empty());
}

#[test]
fn clients_stored_before_load_with_the_defaults_and_round_trip() {
    let client: Client = serde_json::from_str(STORED_BEFORE).unwrap();
    assert_defaults(&client);
    // Written back, a default client gains no member.
    let json = serde_json::to_value(&client).unwrap();
    for member in [
        "subject_type",
        "require_auth_time",
        "post_logout_redirect_uris",
        "default_acr_values",
    ] {
        assert!(json.get(member).is_none(), "{member}: {json}");
    }

    // A client with every member round-trips through its stored form,
    // which is validated again on the way back.
    let full = pairwise_web_app()
        .id_token_signed_response_alg(Algorithm::Ps256)
        .userinfo_signed_response_alg(Algorithm::Es256)
        .post_logout_redirect_uri("https://app.example/bye")
        .require_auth_time(true)
        .default_max_age(600)
        .default_acr_value("1")
        .register()
        .unwrap()
        .client;
    let json = serde_json::to_string(&full).unwrap();
    let back: Client = serde_json::from_str(&json).unwrap();
    assert_eq!(back, full);
    assert_eq!(back.sector_identifier(), Some("sector.example"));
    // A stored pairwise client is held to the sector rule too.
    let tampered = json.replace(&format!(r#","sector_identifier_uri":"{SECTOR}""#), "");
    assert_ne!(tampered, json);
    assert!(serde_json::from_str::<Client>(&tampered).is_err());
    let tampered = json.replace("\"PS256\"", "\"HS256\"");
    assert!(serde_json::from_str::<Client>(&tampered).is_err());
}

#[cfg(feature = "sql")]
#[macro_use]
mod sql_support;

#[cfg(feature = "sql")]
#[tokio::test]
async fn the_sql_store_loads_a_client_row_written_before() {
    use sql_support::{Backend, TestDb};
    for backend in [Backend::SqliteFile, Backend::Postgres] {
        let Some(db) = TestDb::new(backend, "oidc_registration").await else {
            continue;
        };
        let store = db.open().await;
        let row = STORED_BEFORE.replace('\'', "''");
        assert!(
            db.execute_raw(&format!(
                "INSERT INTO clients (client_id, client) VALUES ('legacy-cli', '{row}')"
            ))
            .await
        );
        let client = store.find_client("legacy-cli").await.unwrap().unwrap();
        assert_defaults(&client);
    }
}

/// The client configuration endpoint (RFC 7592) with `token`.
async fn configure(h: &Harness, uri: &str, token: &str, body: Option<&Value>) -> Reply {
    let request = match body {
        None => Request::get(uri),
        Some(_) => Request::put(uri).header("content-type", "application/json"),
    }
    .header("authorization", format!("Bearer {token}"))
    .body(
        body.map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default(),
    )
    .unwrap();
    Reply::from(h.server.client_configuration_endpoint(request).await)
}

#[tokio::test]
async fn configuration_reads_and_updates_round_trip_and_revalidate() {
    let (h, fetcher) = setup();
    fetcher.serve(
        SECTOR,
        json!(["https://app.example/cb", "https://app.example/cb2"]),
    );
    let metadata = web(json!({
        "id_token_signed_response_alg": "ES256",
        "subject_type": "pairwise",
        "sector_identifier_uri": SECTOR,
        "post_logout_redirect_uris": ["https://app.example/bye"],
        "require_auth_time": true,
        "default_max_age": 60,
        "default_acr_values": ["1"],
    }));
    let info = registered(&h, &metadata).await;
    assert_eq!(fetcher.fetches(), 1);
    let uri = info["registration_client_uri"].as_str().unwrap().to_owned();
    let id = info["client_id"].as_str().unwrap().to_owned();

    // Read: every member as registered.
    let read = configure(
        &h,
        &uri,
        info["registration_access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(read.status, 200, "{:?}", read.json);
    for (member, value) in metadata.as_object().unwrap() {
        assert_eq!(&read.json[member], value, "{member}");
    }
    let mut token = read.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Sending back what was read changes nothing, and fetches nothing:
    // neither the sector_identifier_uri nor the redirect URIs changed.
    let mut update = read.json.clone();
    for member in [
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        update.as_object_mut().unwrap().remove(member);
    }
    update["default_max_age"] = json!(120);
    update["default_acr_values"] = json!(["2", "1"]);
    let put = configure(&h, &uri, &token, Some(&update)).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
    assert_eq!(put.json["default_max_age"], 120);
    assert_eq!(put.json["default_acr_values"], json!(["2", "1"]));
    assert_eq!(put.json["subject_type"], "pairwise");
    assert_eq!(fetcher.fetches(), 1);
    token = put.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A redirect URI the document lists: fetched again, and accepted.
    update["redirect_uris"] = json!(["https://app.example/cb", "https://app.example/cb2"]);
    let put = configure(&h, &uri, &token, Some(&update)).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
    assert_eq!(fetcher.fetches(), 2);
    token = put.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Refused updates leave the client as it was (and the token valid).
    for (member, value) in [
        (
            "redirect_uris",
            json!(["https://app.example/cb", "https://app.example/cb3"]),
        ),
        (
            "sector_identifier_uri",
            json!("https://sector.example/other.json"),
        ),
        ("id_token_signed_response_alg", json!("HS256")),
        ("id_token_encrypted_response_alg", json!("RSA-OAEP")),
        (
            "post_logout_redirect_uris",
            json!(["http://app.example/bye"]),
        ),
        ("subject_type", json!("unknown")),
    ] {
        let mut bad = update.clone();
        bad[member] = value;
        let reply = configure(&h, &uri, &token, Some(&bad)).await;
        reply.assert_error(400, "invalid_client_metadata");
    }
    assert_eq!(fetcher.fetches(), 4);

    // Public again, with no sector_identifier_uri: nothing to fetch.
    let mut public = update.clone();
    for member in ["sector_identifier_uri", "default_acr_values"] {
        public.as_object_mut().unwrap().remove(member);
    }
    public["subject_type"] = json!("public");
    public["redirect_uris"] = json!(["https://app.example/cb", "https://elsewhere.example/cb"]);
    let put = configure(&h, &uri, &token, Some(&public)).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
    assert!(put.json.get("sector_identifier_uri").is_none());
    assert!(put.json.get("default_acr_values").is_none());
    assert_eq!(fetcher.fetches(), 4);
    let client = h.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(client.subject_type(), SubjectType::Public);
    assert_eq!(client.sector_identifier(), None);
    assert_eq!(client.default_max_age(), Some(120));
}

#[tokio::test]
async fn sector_fetches_count_against_the_registration_rate() {
    let fetcher = TableFetcher::default();
    let h = harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .dynamic_registration(registration().max_registrations_per_minute(2))
            .fetcher(fetcher.clone())
    });
    // Refused after the fetch, but counted: the fetches a registrant
    // causes are bounded by the rate.
    let body = web(json!({"sector_identifier_uri": SECTOR}));
    refused(&h, &body).await;
    refused(&h, &body).await;
    let reply = register(&h, &body).await;
    reply.assert_error(429, "temporarily_unavailable");
    assert_eq!(fetcher.fetches(), 2);
}

const DOCUMENT_CLIENT: &str = "https://app.example/client.json";

/// A server resolving client ID metadata documents through `fetcher`.
fn documents_harness(fetcher: &TableFetcher) -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .client_id_metadata_documents(
                portcullis::client::ClientIdMetadataDocuments::new(Arc::new(fetcher.clone()))
                    .max_scope("openid".parse().unwrap()),
            )
    })
}

/// A client ID metadata document with `extra` members.
fn document(extra: Value) -> Value {
    let mut body = json!({
        "client_id": DOCUMENT_CLIENT,
        "redirect_uris": ["https://app.example/cb"],
        "token_endpoint_auth_method": "none",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

async fn authorize_document(
    h: &Harness,
) -> Result<portcullis::endpoint::PendingAuthorization, portcullis::endpoint::AuthorizationError> {
    h.authorize(&format!(
        "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid",
        form_encode(DOCUMENT_CLIENT)
    ))
    .await
}

#[tokio::test]
async fn metadata_documents_carry_openid_members_but_no_sector_document() {
    let fetcher = TableFetcher::default();
    fetcher.serve(SECTOR, json!(["https://app.example/cb"]));
    fetcher.serve(
        DOCUMENT_CLIENT,
        document(json!({"subject_type": "pairwise",
                        "post_logout_redirect_uris": ["https://app.example/bye"]})),
    );
    let pending = authorize_document(&documents_harness(&fetcher))
        .await
        .unwrap();
    let client = pending.client();
    assert_eq!(client.subject_type(), SubjectType::Pairwise);
    assert_eq!(client.sector_identifier(), Some("app.example"));
    assert!(client.allows_post_logout_redirect_uri("https://app.example/bye"));

    for refused in [
        json!({"sector_identifier_uri": SECTOR}),
        json!({"id_token_encrypted_response_alg": "RSA-OAEP"}),
        json!({"id_token_signed_response_alg": "none"}),
    ] {
        fetcher.serve(DOCUMENT_CLIENT, document(refused.clone()));
        let outcome = authorize_document(&documents_harness(&fetcher)).await;
        assert!(outcome.is_err(), "{refused}");
    }
}

#[tokio::test]
async fn what_the_server_cannot_sign_or_derive_is_refused() {
    // A provider with an ES256 key alone and no pairwise key.
    let es256 = KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap();
    let h = harness_with(|b| {
        provider(b, es256, false)
            .grant(AuthorizationCodeGrant)
            .dynamic_registration(registration())
    });
    for member in [
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
    ] {
        registered(&h, &web(json!({ member: "ES256" }))).await;
        for alg in ["RS256", "PS256", "EdDSA"] {
            let description = refused(&h, &web(json!({ member: alg }))).await;
            assert!(description.contains("no active key"), "{description}");
        }
    }
    let description = refused(&h, &web(json!({"subject_type": "pairwise"}))).await;
    assert!(description.contains("pairwise"), "{description}");
    let info = registered(&h, &web(json!({"subject_type": "public"}))).await;

    // An update is held to the same rules.
    let uri = info["registration_client_uri"].as_str().unwrap();
    let token = info["registration_access_token"].as_str().unwrap();
    let mut update = web(json!({"subject_type": "pairwise"}));
    update["client_id"] = info["client_id"].clone();
    configure(&h, uri, token, Some(&update))
        .await
        .assert_error(400, "invalid_client_metadata");
    update["subject_type"] = json!("public");
    update["id_token_signed_response_alg"] = json!("EdDSA");
    configure(&h, uri, token, Some(&update))
        .await
        .assert_error(400, "invalid_client_metadata");
    update["id_token_signed_response_alg"] = json!("ES256");
    let reply = configure(&h, uri, token, Some(&update)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);

    // A server that is no OpenID Provider signs no ID tokens or userinfo
    // and derives no pairwise subjects, whatever keys it has; the other
    // members are kept.
    let h = harness_with(|b| {
        b.signing_keys(all_keys())
            .grant(AuthorizationCodeGrant)
            .dynamic_registration(registration())
    });
    for extra in [
        json!({"id_token_signed_response_alg": "ES256"}),
        json!({"userinfo_signed_response_alg": "ES256"}),
        json!({"subject_type": "pairwise"}),
    ] {
        refused(&h, &web(extra)).await;
    }
    registered(
        &h,
        &web(
            json!({"subject_type": "public", "require_auth_time": true, "default_max_age": 5,
                    "post_logout_redirect_uris": ["https://app.example/bye"]}),
        ),
    )
    .await;
}
