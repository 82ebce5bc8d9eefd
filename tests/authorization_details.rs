//! Rich authorization requests (RFC 9396) through the public API: details
//! asked for in a plain, pushed (RFC 9126) or signed (RFC 9101) request,
//! shown to the consent step, kept on the grant — in memory, SQLite and
//! PostgreSQL when `PORTCULLIS_TEST_POSTGRES_URL` is set — and returned by
//! the token endpoint, refresh and introspection, and in JWT access tokens;
//! each refusal `invalid_authorization_details`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod lifecycle;
mod sql_support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use http::Request;
use lifecycle::{RS_NAME, RS_SECRET, rs_introspection};
use portcullis::client::ClientRegistration;
use portcullis::endpoint::AuthorizationError;
use portcullis::jose::{Algorithm, JwkSet, SigningKey, sign_json};
use portcullis::protocol::{
    AuthorizationDetail, GrantType, MAX_AUTHORIZATION_DETAILS_LEN, Resource,
};
use portcullis::store::SqlStore;
use serde_json::{Value, json};
use sql_support::{Backend, TestDb};

const REDIRECT: &str = "https://app.example/cb";
const PAYMENT: &str = r#"[{"type":"payment_initiation","actions":["initiate"],"locations":["https://bank.example/payments"],"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}]"#;

/// The validator of `payment_initiation`: an amount in euros.
fn payment(detail: &AuthorizationDetail) -> Result<(), &'static str> {
    match detail
        .get("instructedAmount")
        .and_then(|a| a.get("currency"))
    {
        Some(Value::String(c)) if c == "EUR" => Ok(()),
        _ => Err("payments are in EUR"),
    }
}

fn builder_with_types(b: portcullis::ServerBuilder) -> portcullis::ServerBuilder {
    b.grant(portcullis::grant::AuthorizationCodeGrant)
        .grant(portcullis::grant::RefreshTokenGrant)
        .authorization_details_type("payment_initiation", payment)
        .authorization_details_type("account_information", |_: &AuthorizationDetail| Ok(()))
        .introspection_credential(RS_NAME, RS_SECRET)
}

fn rar_harness() -> Harness {
    harness_with(|b| builder_with_types(b).replay_cache(portcullis::MemoryStore::new()))
}

/// A server like [`rar_harness`]'s on a SQL store.
fn sql_harness(store: SqlStore) -> portcullis::AuthorizationServer {
    let clock = std::sync::Arc::new(portcullis::token::ManualClock::new(start()));
    builder_with_types(
        portcullis::AuthorizationServer::builder(ISSUER)
            .clients(store.clone())
            .tokens(store)
            .clock(clock),
    )
    .build()
    .unwrap()
}

fn registration(types: &[&str]) -> ClientRegistration {
    ClientRegistration::web_application()
        .redirect_uri(REDIRECT)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .grant_type(GrantType::REFRESH_TOKEN)
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .scope("read write".parse().unwrap())
        .authorization_details_types(types.iter().copied())
}

async fn payment_client(h: &Harness) -> TestClient {
    h.register(registration(&["payment_initiation"])).await
}

fn query(client: &TestClient, details: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&state=rar-state\
         &code_challenge={CHALLENGE}&code_challenge_method=S256&authorization_details={}",
        client.id,
        form_encode(REDIRECT),
        form_encode(details)
    )
}

/// The code's redemption as the confidential `client`, with `extra` in the
/// body.
fn redemption(client: &TestClient, code: &str, extra: &str) -> Request<Vec<u8>> {
    token_request(
        Some(&basic(&client.id, &client.secret)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}{extra}",
            form_encode(REDIRECT)
        ),
    )
}

/// The `authorization_details` the resource server learns by introspecting
/// `token`.
async fn introspected_details(server: &portcullis::AuthorizationServer, token: &str) -> Value {
    let reply = Reply::from(
        server
            .introspection_endpoint(rs_introspection(RS_SECRET, token, ""))
            .await,
    );
    assert_eq!(reply.json["active"], true, "{:?}", reply.json);
    reply.json["authorization_details"].clone()
}

/// `request` at `server`'s token endpoint, which must issue a token
/// carrying `expected` both in the response and to introspection.
async fn token_carrying(
    server: &portcullis::AuthorizationServer,
    request: Request<Vec<u8>>,
    expected: &Value,
) -> Reply {
    let reply = Reply::from(server.token_endpoint(request).await);
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(&reply.json["authorization_details"], expected);
    assert_eq!(
        &introspected_details(server, reply.access_token()).await,
        expected
    );
    reply
}

/// A confidential client registered on `server` for `types`.
async fn client_on(server: &portcullis::AuthorizationServer, types: &[&str]) -> TestClient {
    let r = server.register_client(registration(types)).await.unwrap();
    TestClient {
        id: r.client.id().to_string(),
        secret: r.secret.unwrap().expose_secret().to_owned(),
    }
}

/// The claims of a JWT access token.
fn jwt_claims(jwt: &str) -> Value {
    let payload = URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn payment_json() -> Value {
    serde_json::from_str(PAYMENT).unwrap()
}

/// Asserts a refusal at the authorization endpoint redirected to the
/// client with `invalid_authorization_details`, `state` and `iss`.
#[track_caller]
fn assert_redirected_refusal(result: Result<impl std::fmt::Debug, AuthorizationError>) {
    match result {
        Err(AuthorizationError::Redirect { error, response }) => {
            assert_eq!(error.code().as_str(), "invalid_authorization_details");
            let params = redirect_params(&response);
            assert_eq!(
                param(&params, "error"),
                Some("invalid_authorization_details")
            );
            assert_eq!(param(&params, "state"), Some("rar-state"));
            assert_eq!(param(&params, "iss"), Some(ISSUER));
            assert!(
                response.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with(REDIRECT)
            );
        }
        other => panic!("expected a redirected invalid_authorization_details, got {other:?}"),
    }
}

#[tokio::test]
async fn details_are_carried_from_the_request_to_tokens_refresh_and_introspection() {
    let h = rar_harness();
    let client = payment_client(&h).await;

    let metadata: Value = serde_json::to_value(h.server.metadata()).unwrap();
    assert_eq!(
        metadata["authorization_details_types_supported"],
        json!(["payment_initiation", "account_information"])
    );

    let pending = h.authorize(&query(&client, PAYMENT)).await.unwrap();
    // The consent step sees what is asked, with the common fields typed.
    let shown: Vec<_> = pending.authorization_details().iter().collect();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].type_name(), "payment_initiation");
    assert_eq!(shown[0].actions(), ["initiate"]);
    assert_eq!(shown[0].locations(), ["https://bank.example/payments"]);
    assert_eq!(shown[0].get("creditorName"), Some(&json!("Merchant A")));

    // Deferred to a later request: the stored request keeps them.
    let mut pending = pending;
    let handle = h.server.defer(&mut pending).await.unwrap().to_owned();
    let pending = h
        .server
        .pending_authorization(&handle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.authorization_details().to_json(), payment_json());

    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = redirect_params(&response);
    let code = param(&params, "code").unwrap();
    let reply = h.post(redemption(&client, code, "")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["authorization_details"], payment_json());

    assert_eq!(
        introspected_details(&h.server, reply.access_token()).await,
        payment_json()
    );

    // A refresh keeps them.
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let refreshed = h.post(refresh_request(&client, refresh, "")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
    assert_eq!(refreshed.json["authorization_details"], payment_json());
    assert_eq!(
        introspected_details(&h.server, refreshed.access_token()).await,
        payment_json()
    );
}

#[tokio::test]
async fn a_request_without_details_gets_none() {
    let h = rar_harness();
    let client = payment_client(&h).await;
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}\
             &code_challenge_method=S256",
            client.id,
            form_encode(REDIRECT)
        ))
        .await
        .unwrap();
    assert!(pending.authorization_details().is_empty());
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = redirect_params(&response);
    let reply = h
        .post(redemption(&client, param(&params, "code").unwrap(), ""))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.json.get("authorization_details").is_none());
}

/// Each refusal RFC 9396 §5 names, as the authorization endpoint's
/// redirect; nothing is left pending.
#[tokio::test]
async fn bad_details_are_refused_at_the_authorization_endpoint() {
    let h = rar_harness();
    let client = payment_client(&h).await;
    let too_long = format!(
        r#"[{{"type":"payment_initiation","pad":"{}"}}]"#,
        "x".repeat(MAX_AUTHORIZATION_DETAILS_LEN)
    );
    for (why, details) in [
        ("not JSON", "[{"),
        ("not an array", r#"{"type":"payment_initiation"}"#),
        ("empty", "[]"),
        ("an element not an object", r#"["payment_initiation"]"#),
        ("no type", r#"[{"actions":["initiate"]}]"#),
        ("a type not a string", r#"[{"type":1}]"#),
        (
            "a common field of the wrong type",
            r#"[{"type":"payment_initiation","actions":"initiate"}]"#,
        ),
        ("an unknown type", r#"[{"type":"wire_transfer"}]"#),
        // Registered on the server, not for this client (§10).
        (
            "a type the client is not registered for",
            r#"[{"type":"account_information"}]"#,
        ),
        (
            "the validator's refusal",
            r#"[{"type":"payment_initiation","instructedAmount":{"currency":"USD","amount":"1"}}]"#,
        ),
        ("too long", too_long.as_str()),
    ] {
        let result = h.authorize(&query(&client, details)).await;
        assert!(result.is_err(), "{why}");
        assert_redirected_refusal(result);
    }
    // The validator's own words are the description.
    match h
        .authorize(&query(
            &client,
            r#"[{"type":"payment_initiation","instructedAmount":{"currency":"USD"}}]"#,
        ))
        .await
    {
        Err(e) => assert_eq!(
            e.error().unwrap().description(),
            Some("payments are in EUR")
        ),
        Ok(_) => panic!("accepted"),
    }
}

#[tokio::test]
async fn a_client_registered_for_no_types_may_ask_for_none() {
    let h = rar_harness();
    let client = h.register(registration(&[])).await;
    assert_redirected_refusal(h.authorize(&query(&client, PAYMENT)).await);
}

#[tokio::test]
async fn the_implicit_grant_does_not_take_details() {
    let h = harness_with(|b| builder_with_types(b).enable_implicit_grant());
    let client = h
        .register(
            ClientRegistration::user_agent_based()
                .redirect_uri(REDIRECT)
                .grant_type(GrantType::IMPLICIT)
                .scope("read".parse().unwrap())
                .authorization_details_types(["payment_initiation"]),
        )
        .await;
    let result = h
        .authorize(&format!(
            "response_type=token&client_id={}&state=rar-state&authorization_details={}",
            client.id,
            form_encode(PAYMENT)
        ))
        .await;
    match result {
        Err(AuthorizationError::Redirect { error, .. }) => {
            assert_eq!(error.code().as_str(), "invalid_authorization_details")
        }
        other => panic!("{other:?}"),
    }
}

async fn push(h: &Harness, client: &TestClient, body: &str) -> Reply {
    Reply::from(
        h.server
            .pushed_authorization_request_endpoint(
                Request::post("https://auth.example/par")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("authorization", basic(&client.id, &client.secret))
                    .body(body.as_bytes().to_vec())
                    .unwrap(),
            )
            .await,
    )
}

fn par_body(details: &str) -> String {
    format!(
        "response_type=code&redirect_uri={}&state=rar-state&code_challenge={CHALLENGE}\
         &code_challenge_method=S256&authorization_details={}",
        form_encode(REDIRECT),
        form_encode(details)
    )
}

#[tokio::test]
async fn pushed_requests_carry_details_and_bad_ones_are_refused_as_json() {
    let h = rar_harness();
    let client = payment_client(&h).await;
    let reply = push(&h, &client, &par_body(PAYMENT)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    let pending = h
        .authorize(&format!(
            "client_id={}&request_uri={}",
            client.id,
            form_encode(reply.json["request_uri"].as_str().unwrap())
        ))
        .await
        .unwrap();
    assert_eq!(pending.authorization_details().to_json(), payment_json());
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let reply = h.post(redemption(&client, &code, "")).await;
    assert_eq!(reply.json["authorization_details"], payment_json());

    for details in [
        "not json",
        r#"[{"type":"wire_transfer"}]"#,
        r#"[{"type":"account_information"}]"#,
        r#"[{"type":"payment_initiation","instructedAmount":{"currency":"USD"}}]"#,
    ] {
        let reply = push(&h, &client, &par_body(details)).await;
        reply.assert_error(400, "invalid_authorization_details");
        assert!(reply.json.get("request_uri").is_none());
    }
}

#[tokio::test]
async fn signed_request_objects_carry_details() {
    let h = rar_harness();
    let key = SigningKey::generate(Algorithm::Es256)
        .unwrap()
        .with_key_id("k1")
        .unwrap();
    let jwks = JwkSet::from_value(&json!({ "keys": [key.public_jwk().clone()] })).unwrap();
    let client = h
        .register(registration(&["payment_initiation"]).jwks(&jwks))
        .await;
    let now = portcullis::jose::seconds(portcullis::token::Clock::now(&*h.clock));
    let object = |details: Value, jti: &str| {
        json!({
            "iss": client.id, "aud": ISSUER, "iat": now, "nbf": now, "exp": now + 300,
            "jti": jti, "client_id": client.id, "response_type": "code",
            "redirect_uri": REDIRECT, "state": "rar-state",
            "code_challenge": CHALLENGE, "code_challenge_method": "S256",
            // RFC 9396 §3: a JSON array in a request object, not a string.
            "authorization_details": details,
        })
    };
    let signed = sign_json(
        &key,
        Some("oauth-authz-req+jwt"),
        &object(payment_json(), "j1"),
    )
    .await
    .unwrap();
    let pending = h
        .authorize(&format!("client_id={}&request={signed}", client.id))
        .await
        .unwrap();
    assert_eq!(pending.authorization_details().to_json(), payment_json());

    let refused = sign_json(
        &key,
        Some("oauth-authz-req+jwt"),
        &object(json!([{"type": "wire_transfer"}]), "j2"),
    )
    .await
    .unwrap();
    assert_redirected_refusal(
        h.authorize(&format!("client_id={}&request={refused}", client.id))
            .await,
    );
}

#[tokio::test]
async fn a_token_request_may_name_only_details_of_the_grant() {
    let h = rar_harness();
    let client = payment_client(&h).await;
    let pending = h.authorize(&query(&client, PAYMENT)).await.unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();

    // Not in the grant: refused, and the code is still good.
    let other = r#"[{"type":"payment_initiation","instructedAmount":{"currency":"EUR","amount":"999.00"}}]"#;
    let reply = h
        .post(redemption(
            &client,
            &code,
            &format!("&authorization_details={}", form_encode(other)),
        ))
        .await;
    reply.assert_error(400, "invalid_authorization_details");
    // Malformed, or of a type the client may not use: refused too.
    for bad in ["{", r#"[{"type":"account_information"}]"#] {
        let reply = h
            .post(redemption(
                &client,
                &code,
                &format!("&authorization_details={}", form_encode(bad)),
            ))
            .await;
        reply.assert_error(400, "invalid_authorization_details");
    }

    // The grant's own details: accepted.
    let reply = h
        .post(redemption(
            &client,
            &code,
            &format!("&authorization_details={}", form_encode(PAYMENT)),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["authorization_details"], payment_json());

    // A refresh naming details outside the grant: refused, the refresh
    // token left current.
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let refresh_with = |extra: String| {
        token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!("grant_type=refresh_token&refresh_token={refresh}{extra}"),
        )
    };
    h.post(refresh_with(format!(
        "&authorization_details={}",
        form_encode(other)
    )))
    .await
    .assert_error(400, "invalid_authorization_details");
    let reply = h.post(refresh_with(String::new())).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["authorization_details"], payment_json());
}

#[tokio::test]
async fn the_client_credentials_grant_takes_details_at_the_token_endpoint() {
    let h = rar_harness();
    let client = payment_client(&h).await;
    let reply = h
        .post(cc_request(
            &client,
            &format!("&authorization_details={}", form_encode(PAYMENT)),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["authorization_details"], payment_json());
    assert_eq!(
        introspected_details(&h.server, reply.access_token()).await,
        payment_json()
    );

    for bad in [
        "[",
        r#"[{"type":"wire_transfer"}]"#,
        r#"[{"type":"account_information"}]"#,
        r#"[{"type":"payment_initiation","instructedAmount":{"currency":"USD"}}]"#,
    ] {
        h.post(cc_request(
            &client,
            &format!("&authorization_details={}", form_encode(bad)),
        ))
        .await
        .assert_error(400, "invalid_authorization_details");
    }
}

#[tokio::test]
async fn jwt_access_tokens_carry_the_claim() {
    let keys = signing_keys(&[Algorithm::Es256]);
    let h = harness_with(|b| {
        builder_with_types(b)
            .signing_keys(keys)
            .resource(Resource::new("https://api.example").unwrap().jwt())
    });
    let client = payment_client(&h).await;
    let reply = h
        .post(cc_request(
            &client,
            &format!(
                "&resource={}&authorization_details={}",
                form_encode("https://api.example"),
                form_encode(PAYMENT)
            ),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let claims = jwt_claims(reply.access_token());
    assert_eq!(claims["authorization_details"], payment_json());

    // And through a code, redeemed for the JWT resource.
    let pending = h
        .authorize(&format!(
            "{}&resource={}",
            query(&client, PAYMENT),
            form_encode("https://api.example")
        ))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let reply = h.post(redemption(&client, &code, "")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let claims = jwt_claims(reply.access_token());
    assert_eq!(claims["authorization_details"], payment_json());
}

/// The carry-through on a SQL store, across a restart between the consent
/// and the redemption.
async fn carried_through_a_sql_store(backend: Backend, test: &str) {
    let Some(db) = TestDb::new(backend, test).await else {
        return;
    };
    let server = sql_harness(db.open().await);
    let client = client_on(&server, &["payment_initiation"]).await;
    let request = Request::get(format!(
        "https://auth.example/authorize?{}",
        query(&client, PAYMENT)
    ))
    .body(Vec::<u8>::new())
    .unwrap();
    let mut pending = server.authorization_request(&request).await.unwrap();
    let handle = server.defer(&mut pending).await.unwrap().to_owned();

    // Another replica, on the same database.
    let server = sql_harness(db.open().await);
    let pending = server
        .pending_authorization(&handle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.authorization_details().to_json(), payment_json());
    let response = server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let reply = token_carrying(&server, redemption(&client, &code, ""), &payment_json()).await;
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    token_carrying(
        &server,
        refresh_request(&client, refresh, ""),
        &payment_json(),
    )
    .await;
}

#[tokio::test]
async fn carried_through_sqlite() {
    carried_through_a_sql_store(Backend::SqliteFile, "carried_through_sqlite").await;
}

#[tokio::test]
async fn carried_through_postgres() {
    carried_through_a_sql_store(Backend::Postgres, "carried_through_postgres").await;
}

/// RFC 9396 §13: details can hold personal data; their `Debug` form (what
/// ends up in logs) names the types only.
#[tokio::test]
async fn debug_output_shows_only_the_types() {
    let details = portcullis::protocol::AuthorizationDetails::parse(PAYMENT).unwrap();
    let debug = format!("{details:?}");
    assert!(debug.contains("payment_initiation"), "{debug}");
    for private in ["Merchant A", "123.50", "bank.example"] {
        assert!(!debug.contains(private), "{debug}");
    }
    let h = rar_harness();
    let client = payment_client(&h).await;
    let pending = h.authorize(&query(&client, PAYMENT)).await.unwrap();
    let debug = format!("{pending:?}");
    assert!(!debug.contains("Merchant A"), "{debug}");
}

/// Account information details, the second type the servers accept.
const ACCOUNTS: &str = r#"[{"type":"account_information","actions":["list_accounts"],"locations":["https://bank.example/accounts"]}]"#;

/// [`PAYMENT`] and [`ACCOUNTS`] together: what the subset tests grant.
fn both_details() -> String {
    let mut both = payment_json().as_array().unwrap().clone();
    both.extend(accounts_json().as_array().unwrap().iter().cloned());
    Value::Array(both).to_string()
}

fn accounts_json() -> Value {
    serde_json::from_str(ACCOUNTS).unwrap()
}

/// `&authorization_details=` with `details`, form-encoded.
fn naming(details: &str) -> String {
    format!("&authorization_details={}", form_encode(details))
}

/// A client registered for both types, and a code of a grant of
/// [`both_details`] from `authorize`, extra query `extra`.
async fn code_for_both(h: &Harness, extra: &str) -> (TestClient, String) {
    let client = h
        .register(registration(&["payment_initiation", "account_information"]))
        .await;
    let pending = h
        .authorize(&format!("{}{extra}", query(&client, &both_details())))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    (client, code)
}

/// RFC 9396 §6.2: a token request naming a subset of the grant's details
/// gets an access token of exactly that subset — in the token response and
/// introspection — while the grant keeps all of them: a later refresh
/// naming none carries them all, one naming another subset that subset.
#[tokio::test]
async fn a_token_request_naming_a_subset_gets_a_token_of_that_subset() {
    let h = rar_harness();
    let (client, code) = code_for_both(&h, "").await;
    let both: Value = serde_json::from_str(&both_details()).unwrap();

    let named = redemption(&client, &code, &naming(ACCOUNTS));
    let reply = token_carrying(&h.server, named, &accounts_json()).await;
    let accounts_token = reply.access_token().to_owned();

    // A refresh naming none: the grant's details, all of them.
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let reply = token_carrying(&h.server, refresh_request(&client, refresh, ""), &both).await;

    // A refresh naming the other subset: that one alone.
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let named = refresh_request(&client, refresh, &naming(PAYMENT));
    token_carrying(&h.server, named, &payment_json()).await;
    // The first token is as it was issued.
    assert_eq!(
        introspected_details(&h.server, &accounts_token).await,
        accounts_json()
    );
}

/// RFC 9396 §6.2, §9.1: a JWT access token issued for a subset carries
/// that subset in its claim, and introspects with it.
#[tokio::test]
async fn a_jwt_access_token_for_a_subset_carries_the_subset() {
    let keys = signing_keys(&[Algorithm::Es256]);
    let h = harness_with(|b| {
        builder_with_types(b)
            .signing_keys(keys)
            .resource(Resource::new("https://api.example").unwrap().jwt())
    });
    let resource = format!("&resource={}", form_encode("https://api.example"));
    let (client, code) = code_for_both(&h, &resource).await;
    let named = redemption(&client, &code, &naming(ACCOUNTS));
    let reply = token_carrying(&h.server, named, &accounts_json()).await;
    let claims = jwt_claims(reply.access_token());
    assert_eq!(claims["authorization_details"], accounts_json());
}

/// The subset on a SQL store: redeemed, refreshed naming another subset,
/// and refreshed naming none.
async fn subset_through_a_sql_store(backend: Backend, test: &str) {
    let Some(db) = TestDb::new(backend, test).await else {
        return;
    };
    let server = sql_harness(db.open().await);
    let client = client_on(&server, &["payment_initiation", "account_information"]).await;
    let request = Request::get(format!(
        "https://auth.example/authorize?{}",
        query(&client, &both_details())
    ))
    .body(Vec::<u8>::new())
    .unwrap();
    let pending = server.authorization_request(&request).await.unwrap();
    let response = server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let named = redemption(&client, &code, &naming(ACCOUNTS));
    let reply = token_carrying(&server, named, &accounts_json()).await;
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let named = refresh_request(&client, refresh, &naming(PAYMENT));
    let reply = token_carrying(&server, named, &payment_json()).await;
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    let both: Value = serde_json::from_str(&both_details()).unwrap();
    token_carrying(&server, refresh_request(&client, refresh, ""), &both).await;
}

#[tokio::test]
async fn a_subset_through_sqlite() {
    subset_through_a_sql_store(Backend::SqliteFile, "a_subset_through_sqlite").await;
}

#[tokio::test]
async fn a_subset_through_postgres() {
    subset_through_a_sql_store(Backend::Postgres, "a_subset_through_postgres").await;
}

/// The initial access token of [`registering_harness`].
const IAT: &str = "iat-Rr4Xv9Lr2Tn8Yb5Kc1Hd7Pf4Gs6Jm0Za";

/// [`rar_harness`] with dynamic registration (RFC 7591) behind [`IAT`].
fn registering_harness() -> Harness {
    harness_with(|b| {
        builder_with_types(b).dynamic_registration(
            portcullis::endpoint::DynamicRegistration::with_initial_access_token(IAT)
                .max_scope("read write".parse().unwrap()),
        )
    })
}

/// `body` sent to `uri` with `method` and `token`.
fn json_request(method: &str, uri: &str, token: &str, body: &Value) -> Request<Vec<u8>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap()
}

/// RFC 9396 §10 over RFC 7591 and RFC 7592: `authorization_details_types`
/// is registered, returned, read back and updated at the registration
/// endpoints, and governs what the client may ask for; a type the server
/// does not support is `invalid_client_metadata`, an update naming one
/// leaving the client as it was.
#[tokio::test]
async fn dynamic_registration_reads_and_writes_authorization_details_types() {
    use portcullis::client::ClientRegistry as _;

    let h = registering_harness();
    let metadata = json!({
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "read",
        "authorization_details_types": ["payment_initiation"]
    });
    let reply = Reply::from(
        h.server
            .registration_endpoint(json_request(
                "POST",
                "https://auth.example/register",
                IAT,
                &metadata,
            ))
            .await,
    );
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(
        reply.json["authorization_details_types"],
        json!(["payment_initiation"])
    );
    let id = reply.json["client_id"].as_str().unwrap().to_owned();
    let stored = h.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(stored.authorization_details_types(), ["payment_initiation"]);

    // The registered client may ask for its type, and only that one.
    let client = TestClient {
        id: id.clone(),
        secret: reply.json["client_secret"].as_str().unwrap().to_owned(),
    };
    let pending = h.authorize(&query(&client, PAYMENT)).await.unwrap();
    assert_eq!(pending.authorization_details().to_json(), payment_json());
    assert_redirected_refusal(h.authorize(&query(&client, ACCOUNTS)).await);

    // RFC 7592 §2.1: read back as registered.
    let uri = reply.json["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = reply.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = Reply::from(
        h.server
            .client_configuration_endpoint(
                Request::get(&uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Vec::<u8>::new())
                    .unwrap(),
            )
            .await,
    );
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert_eq!(
        read.json["authorization_details_types"],
        json!(["payment_initiation"])
    );
    let token = read.json["registration_access_token"]
        .as_str()
        .map_or(token, str::to_owned);

    // RFC 7592 §2.2: an update to another supported type replaces it; one
    // naming an unsupported type is refused and leaves the client as it
    // was.
    let mut update = metadata.clone();
    update["client_id"] = json!(id);
    update["authorization_details_types"] = json!(["wire_transfer"]);
    let refused = Reply::from(
        h.server
            .client_configuration_endpoint(json_request("PUT", &uri, &token, &update))
            .await,
    );
    refused.assert_error(400, "invalid_client_metadata");
    let stored = h.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(stored.authorization_details_types(), ["payment_initiation"]);
    update["authorization_details_types"] = json!(["account_information"]);
    let updated = Reply::from(
        h.server
            .client_configuration_endpoint(json_request("PUT", &uri, &token, &update))
            .await,
    );
    assert_eq!(updated.status, 200, "{:?}", updated.json);
    assert_eq!(
        updated.json["authorization_details_types"],
        json!(["account_information"])
    );
    let stored = h.store.find_client(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.authorization_details_types(),
        ["account_information"]
    );

    // A type the server does not support: refused.
    let mut unsupported = metadata.clone();
    unsupported["authorization_details_types"] = json!(["payment_initiation", "wire_transfer"]);
    let refused = Reply::from(
        h.server
            .registration_endpoint(json_request(
                "POST",
                "https://auth.example/register",
                IAT,
                &unsupported,
            ))
            .await,
    );
    refused.assert_error(400, "invalid_client_metadata");

    // A client registering none gets none, and the member is left out.
    let mut without = metadata.clone();
    without
        .as_object_mut()
        .unwrap()
        .remove("authorization_details_types");
    let reply = Reply::from(
        h.server
            .registration_endpoint(json_request(
                "POST",
                "https://auth.example/register",
                IAT,
                &without,
            ))
            .await,
    );
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert!(reply.json.get("authorization_details_types").is_none());
}

/// A token-exchange request (RFC 8693) by `client` for `subject`, with
/// `extra` in the body.
fn exchange_request(client: &TestClient, subject: &str, extra: &str) -> Request<Vec<u8>> {
    token_request(
        Some(&basic(&client.id, &client.secret)),
        &format!(
            "grant_type={}&subject_token={}&subject_token_type={}{extra}",
            form_encode("urn:ietf:params:oauth:grant-type:token-exchange"),
            form_encode(subject),
            form_encode("urn:ietf:params:oauth:token-type:access_token"),
        ),
    )
}

/// RFC 9396 §6.2 and §7 in token exchange: the new token carries the
/// subject token's details — in the token response and to introspection —
/// unless the request names a subset of them, when it carries that subset;
/// naming details the subject token does not carry (even ones its grant
/// holds) is `invalid_authorization_details`, and so is naming any for a
/// subject token that carries none.
#[tokio::test]
async fn a_token_exchange_carries_the_subject_tokens_details_or_a_subset() {
    let h =
        harness_with(|b| builder_with_types(b).grant(portcullis::grant::TokenExchangeGrant::new()));
    let client = h
        .register(
            registration(&["payment_initiation", "account_information"])
                .grant_type(GrantType::TOKEN_EXCHANGE),
        )
        .await;
    let pending = h.authorize(&query(&client, &both_details())).await.unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let both: Value = serde_json::from_str(&both_details()).unwrap();
    let subject = token_carrying(&h.server, redemption(&client, &code, ""), &both).await;
    let subject = subject.access_token().to_owned();

    // Naming none: the subject token's, all of them.
    token_carrying(&h.server, exchange_request(&client, &subject, ""), &both).await;
    // Naming a subset: exactly that subset.
    let narrowed = token_carrying(
        &h.server,
        exchange_request(&client, &subject, &naming(ACCOUNTS)),
        &accounts_json(),
    )
    .await;
    let narrowed = narrowed.access_token().to_owned();
    // The narrowed token exchanged again cannot widen back to what its
    // grant holds.
    let reply = h
        .post(exchange_request(&client, &narrowed, &naming(PAYMENT)))
        .await;
    reply.assert_error(400, "invalid_authorization_details");
    let reply = h
        .post(exchange_request(
            &client,
            &narrowed,
            &naming(&both_details()),
        ))
        .await;
    reply.assert_error(400, "invalid_authorization_details");
    // Exchanged again naming none, it keeps its subset.
    token_carrying(
        &h.server,
        exchange_request(&client, &narrowed, ""),
        &accounts_json(),
    )
    .await;

    // A subject token without details: naming some is refused, naming
    // none gets a token without any.
    let plain = h
        .post(token_request(
            Some(&basic(&client.id, &client.secret)),
            "grant_type=client_credentials&scope=read",
        ))
        .await;
    assert_eq!(plain.status, 200, "{:?}", plain.json);
    let plain = plain.access_token().to_owned();
    h.post(exchange_request(&client, &plain, &naming(ACCOUNTS)))
        .await
        .assert_error(400, "invalid_authorization_details");
    let reply = h.post(exchange_request(&client, &plain, "")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(reply.json.get("authorization_details").is_none());
}
