//! The OpenID Foundation's Basic OP certification plan
//! (`oidcc-basic-certification-test-plan`), module by module, through the
//! library's public API: each test is named after the module it stands in
//! for and checks what that module checks of the provider.
//! docs/OPENID_CONFORMANCE.md lists every module with the tests that cover
//! it — these, those of `tests/openid_connect.rs`, `tests/userinfo.rs`,
//! and the example server's over HTTP (`tests/example_openid.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    CHALLENGE, Harness, ISSUER, TestClient, VERIFIER, basic, form_encode, harness_with, param,
    redirect_params, token_request,
};
use http::Request;
use portcullis::client::{AuthMethod, ClientRegistration};
use portcullis::endpoint::Approval;
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, SigningKey, UnverifiedJws};
use portcullis::oidc::{Claims, ClaimsError, ClaimsQuery, ClaimsSource, OpenIdConnect};
use portcullis::protocol::GrantType;
use serde_json::Value;

const REDIRECT: &str = "https://rp.example/cb";

/// A claims source that answers for anyone and records the locales it was
/// asked in.
#[derive(Clone, Default)]
struct Recording {
    locales: Arc<Mutex<Vec<Vec<String>>>>,
}

impl ClaimsSource for Recording {
    fn claims<'a>(
        &'a self,
        query: ClaimsQuery<'a>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Option<Claims>, ClaimsError>> + Send + 'a>,
    > {
        self.locales.lock().unwrap().push(query.locales.to_vec());
        let mut claims = Claims::new();
        for name in &query.names {
            claims.insert(*name, format!("{name} of {}", query.subject));
        }
        Box::pin(std::future::ready(Ok(Some(claims))))
    }
}

fn op(source: Recording) -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .signing_keys(
                KeySet::new()
                    .with_key(SigningKey::generate(Algorithm::Rs256).unwrap())
                    .unwrap(),
            )
            .openid_connect(OpenIdConnect::new(source))
    })
}

/// A confidential web client, as the plan registers: `client_secret_basic`
/// unless `method` says otherwise.
async fn web_client(h: &Harness, method: AuthMethod) -> TestClient {
    h.register(
        ClientRegistration::web_application()
            .redirect_uri(REDIRECT)
            .auth_method(method)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("openid profile email address phone".parse().unwrap()),
    )
    .await
}

fn query(client: &TestClient, extra: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&state=st&nonce=nn\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        client.id,
        form_encode(REDIRECT)
    )
}

async fn code(h: &Harness, query: &str) -> String {
    let pending = h.authorize(query).await.unwrap();
    let response = h
        .server
        .approve_with(
            pending,
            Approval::new("alice").authenticated_at(common::start()),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state"), Some("st"));
    assert_eq!(param(&params, "iss"), Some(ISSUER));
    param(&params, "code").unwrap().to_owned()
}

fn redeem_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        form_encode(REDIRECT)
    )
}

/// Redeems with `client_secret_basic`.
async fn redeem(h: &Harness, client: &TestClient, code: &str) -> common::Reply {
    h.post(token_request(
        Some(&basic(&client.id, &client.secret)),
        &redeem_body(code),
    ))
    .await
}

fn id_token_claims(h: &Harness, reply: &common::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.json);
    let jws = UnverifiedJws::parse(reply.json["id_token"].as_str().unwrap()).unwrap();
    let (payload, _) = jws
        .verify_with_any(&h.server.jwks().public_keys(), &[Algorithm::Rs256])
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[tokio::test]
async fn oidcc_server() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let code = code(&h, &query(&client, "&scope=openid")).await;
    let claims = id_token_claims(&h, &redeem(&h, &client, &code).await);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "nn");
    assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
}

#[tokio::test]
async fn oidcc_server_client_secret_post() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_POST).await;
    let code = code(&h, &query(&client, "&scope=openid")).await;
    let reply = h
        .post(token_request(
            None,
            &format!(
                "{}&client_id={}&client_secret={}",
                redeem_body(&code),
                client.id,
                form_encode(&client.secret)
            ),
        ))
        .await;
    assert_eq!(id_token_claims(&h, &reply)["sub"], "alice");
}

#[tokio::test]
async fn oidcc_ensure_other_scope_order_succeeds() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let code = code(&h, &query(&client, "&scope=email%20openid")).await;
    let reply = redeem(&h, &client, &code).await;
    assert_eq!(id_token_claims(&h, &reply)["sub"], "alice");
}

#[tokio::test]
async fn oidcc_display_page_and_popup() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    for display in ["page", "popup"] {
        let code = code(
            &h,
            &query(&client, &format!("&scope=openid&display={display}")),
        )
        .await;
        assert!(redeem(&h, &client, &code).await.json["id_token"].is_string());
    }
}

#[tokio::test]
async fn oidcc_claims_locales() {
    let source = Recording::default();
    let h = op(source.clone());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let claims = form_encode(r#"{"id_token":{"name":null}}"#);
    let code = code(
        &h,
        &query(
            &client,
            &format!("&scope=openid&claims_locales=de-CH%20en&claims={claims}"),
        ),
    )
    .await;
    let claims = id_token_claims(&h, &redeem(&h, &client, &code).await);
    assert_eq!(claims["name"], "name of alice");
    let asked = source.locales.lock().unwrap().clone();
    assert_eq!(asked, [vec!["de-CH".to_owned(), "en".to_owned()]]);
}

#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let request = Request::post("https://auth.example/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query(&client, "&scope=openid").into_bytes())
        .unwrap();
    let pending = h.server.authorization_request(&request).await.unwrap();
    assert!(pending.openid().is_some());
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    assert!(redeem(&h, &client, &code).await.json["id_token"].is_string());
}

#[tokio::test]
async fn oidcc_codereuse_30seconds() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let code = code(&h, &query(&client, "&scope=openid")).await;
    let first = redeem(&h, &client, &code).await;
    assert!(first.json["id_token"].is_string());
    h.clock.advance(Duration::from_secs(30));
    redeem(&h, &client, &code)
        .await
        .assert_error(400, "invalid_grant");
    // The tokens issued the first time are revoked (RFC 6749 §4.1.2).
    assert!(!common::alive(&h, first.access_token()).await);
}

#[tokio::test]
async fn oidcc_ensure_request_with_acr_values_succeeds() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let pending = h
        .authorize(&query(&client, "&scope=openid&acr_values=1%202"))
        .await
        .unwrap();
    assert_eq!(pending.acr_values(), ["1", "2"]);
    let response = h
        .server
        .approve_with(pending, Approval::new("alice").acr("1"))
        .await
        .unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    assert_eq!(
        id_token_claims(&h, &redeem(&h, &client, &code).await)["acr"],
        "1"
    );
}

#[tokio::test]
async fn oidcc_login_hint_and_ui_locales_reach_the_host() {
    let h = op(Recording::default());
    let client = web_client(&h, AuthMethod::CLIENT_SECRET_BASIC).await;
    let pending = h
        .authorize(&query(
            &client,
            "&scope=openid&login_hint=alice%40example.com&ui_locales=se%20en",
        ))
        .await
        .unwrap();
    assert_eq!(pending.login_hint(), Some("alice@example.com"));
    assert_eq!(pending.ui_locales(), ["se", "en"]);
}
