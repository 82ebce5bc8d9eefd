//! OpenID Connect Core 1.0 on the code flow, through the public API: the
//! authentication request's parameters (§3.1.2.1), the host's approval, the
//! ID token (§2, §3.1.3.6) on the code's token response and on refresh
//! (§12.2), and the refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    CHALLENGE, Harness, ISSUER, TestClient, VERIFIER, form_encode, harness_with, param,
    redirect_params, refresh_request, start, token_request,
};
use portcullis::client::ClientRegistration;
use portcullis::client::SubjectType;
use portcullis::endpoint::{Approval, AuthorizationError, DecisionError, InteractionRequired};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, SigningKey, UnverifiedJws};
use portcullis::oidc::{Claims, OpenIdConnect, PairwiseKey, StaticClaims};
use portcullis::protocol::GrantType;
use portcullis::token::Clock as _;
use portcullis::{BuildError, ServerBuilder};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

fn keys() -> KeySet {
    common::signing_keys(&[Algorithm::Rs256, Algorithm::Es256])
}

fn users() -> StaticClaims {
    StaticClaims::new().user(
        "alice",
        Claims::new()
            .with("name", "Alice Example")
            .with("email", "alice@example.com")
            .with("email_verified", true)
            .with("phone_number", "+1 555 0100"),
    )
}

fn provider(b: ServerBuilder, config: OpenIdConnect) -> ServerBuilder {
    b.grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .signing_keys(keys())
        .openid_connect(config)
}

fn op() -> Harness {
    harness_with(|b| provider(b, OpenIdConnect::new(users())))
}

async fn rp(h: &Harness) -> TestClient {
    h.register(
        ClientRegistration::native()
            .redirect_uri("http://127.0.0.1/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .grant_type(GrantType::REFRESH_TOKEN)
            .scope("openid profile email read".parse().unwrap()),
    )
    .await
}

fn auth_query(client: &TestClient, extra: &str) -> String {
    format!(
        "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz&scope=openid{extra}",
        client.id
    )
}

/// Runs the front channel with `approval` and returns the code.
async fn front_channel(
    h: &Harness,
    client: &TestClient,
    extra: &str,
    approval: Approval,
) -> String {
    let pending = h.authorize(&auth_query(client, extra)).await.unwrap();
    let response = h.server.approve_with(pending, approval).await.unwrap();
    let params = redirect_params(&response);
    param(&params, "code").unwrap().to_owned()
}

async fn redeem(h: &Harness, client: &TestClient, code: &str) -> Value {
    let reply = h.redeem(client, code).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

/// The ID token's claims, after checking its signature against the
/// server's JWKS and its header.
fn verified(h: &Harness, id_token: &str, alg: &str) -> Value {
    let jws = UnverifiedJws::parse(id_token).unwrap();
    assert_eq!(jws.header().algorithm().as_str(), alg);
    assert!(jws.header().kid().is_some());
    let keys = h.server.jwks().public_keys();
    let (payload, _) = jws
        .verify_with_any(&keys, &[Algorithm::Rs256, Algorithm::Es256])
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[tokio::test]
async fn the_code_brings_an_id_token_that_states_the_authentication() {
    let h = op();
    let client = rp(&h).await;
    let signed_in = start() - Duration::from_secs(120);
    let approval = Approval::new("alice")
        .authenticated_at(signed_in)
        .acr("urn:example:loa:2")
        .amr(["pwd", "otp"])
        .session_id("session-1");
    let code = front_channel(&h, &client, "&nonce=n-0S6_WzA2Mj&max_age=300", approval).await;
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["iat"], secs(start()));
    assert_eq!(claims["exp"], secs(start()) + 600);
    assert_eq!(claims["auth_time"], secs(signed_in));
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["acr"], "urn:example:loa:2");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
    assert_eq!(claims["sid"], "session-1");
    assert_eq!(
        claims["at_hash"],
        at_hash(body["access_token"].as_str().unwrap())
    );
    assert!(claims.get("azp").is_none(), "one audience needs no azp");
    // Scope claims go to UserInfo, not the ID token (Core §5.4).
    assert!(claims.get("email").is_none() && claims.get("name").is_none());
}

#[tokio::test]
async fn the_nonce_comes_back_exactly_as_sent() {
    let h = op();
    let client = rp(&h).await;
    for nonce in [
        "a",
        "ü € 😀 \"quoted\" \\ back",
        "x+y/z=&%20",
        &"n".repeat(512),
    ] {
        let extra = format!("&nonce={}", form_encode(nonce));
        let code = front_channel(&h, &client, &extra, Approval::new("alice")).await;
        let body = redeem(&h, &client, &code).await;
        let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
        assert_eq!(claims["nonce"], nonce);
    }
    // Without a nonce (allowed in the code flow) there is none.
    let code = front_channel(&h, &client, "", Approval::new("alice")).await;
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
    assert!(claims.get("nonce").is_none());
    assert!(
        claims.get("auth_time").is_none(),
        "not asked for, not known"
    );
}

#[tokio::test]
async fn only_openid_requests_on_a_provider_get_id_tokens() {
    let h = op();
    let client = rp(&h).await;
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=read",
            client.id
        ))
        .await
        .unwrap();
    assert!(pending.openid().is_none());
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let body = redeem(&h, &client, &code).await;
    assert!(body.get("id_token").is_none());

    // On a plain OAuth server `openid` is a scope like any other, and the
    // OpenID parameters are not read.
    let plain = common::code_harness();
    let client = rp(&plain).await;
    let pending = plain
        .authorize(&auth_query(&client, "&prompt=bogus&max_age=x"))
        .await
        .unwrap();
    assert!(pending.openid().is_none());
    let response = plain.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let body = redeem(&plain, &client, &code).await;
    assert!(body.get("id_token").is_none());
}

#[tokio::test]
async fn a_refresh_brings_a_fresh_id_token_for_the_same_authentication() {
    let h = op();
    let client = rp(&h).await;
    let signed_in = start() - Duration::from_secs(30);
    let approval = Approval::new("alice").authenticated_at(signed_in);
    let code = front_channel(&h, &client, "%20read&nonce=abc", approval).await;
    let first = redeem(&h, &client, &code).await;
    let first_claims = verified(&h, first["id_token"].as_str().unwrap(), "RS256");

    h.clock.advance(Duration::from_secs(100));
    let reply = h
        .post(refresh_request(
            &client,
            first["refresh_token"].as_str().unwrap(),
            "",
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let claims = verified(&h, reply.json["id_token"].as_str().unwrap(), "RS256");
    // Core §12.2: same iss, sub, aud and auth_time; a new iat; no nonce.
    for same in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(claims[same], first_claims[same], "{same}");
    }
    assert_eq!(claims["iat"], secs(start()) + 100);
    assert!(claims.get("nonce").is_none());
    assert_eq!(
        claims["at_hash"],
        at_hash(reply.json["access_token"].as_str().unwrap())
    );

    // A refresh narrowed to a scope without `openid` gets none.
    let reply = h
        .post(refresh_request(
            &client,
            reply.json["refresh_token"].as_str().unwrap(),
            "&scope=read",
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(reply.json.get("id_token").is_none());
}

/// The error redirect of an authorization request that `authorize`
/// refused: its parameters.
async fn refused(h: &Harness, query: &str) -> Vec<(String, String)> {
    match h.authorize(query).await {
        Err(AuthorizationError::Redirect { response, .. }) => {
            assert_eq!(response.status(), 303);
            redirect_params(&response)
        }
        other => panic!("expected an error redirect for {query}: {other:?}"),
    }
}

#[tokio::test]
async fn malformed_authentication_requests_are_refused_on_the_redirect_uri() {
    let h = op();
    let client = rp(&h).await;
    for (extra, code) in [
        ("&prompt=none%20login", "invalid_request"),
        ("&prompt=sometimes", "invalid_request"),
        ("&max_age=-1", "invalid_request"),
        ("&max_age=soon", "invalid_request"),
        ("&display=hologram", "invalid_request"),
        ("&claims=%7Bnot%20json", "invalid_request"),
        ("&claims=%5B%5D", "invalid_request"),
        ("&nonce=a&nonce=b", "invalid_request"),
        ("&id_token_hint=not.a.jwt", "invalid_request"),
        ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "&request_uri=https%3A%2F%2Frp.example%2Fr",
            "request_uri_not_supported",
        ),
        ("&registration=%7B%7D", "registration_not_supported"),
    ] {
        let params = refused(&h, &auth_query(&client, extra)).await;
        assert_eq!(param(&params, "error"), Some(code), "{extra}");
        assert_eq!(param(&params, "state"), Some("xyz"), "{extra}");
        assert_eq!(param(&params, "iss"), Some(ISSUER), "{extra}");
    }
    // Unknown parameters are ignored (Core §3.1.2.1), and every known one
    // is accepted and passed to the host.
    let pending = h
        .authorize(&auth_query(
            &client,
            "&unknown=1&display=popup&ui_locales=de-CH%20en&login_hint=alice%40example.com&acr_values=urn%3Aa%20urn%3Ab&prompt=login%20consent",
        ))
        .await
        .unwrap();
    assert_eq!(pending.ui_locales(), ["de-CH", "en"]);
    assert_eq!(pending.login_hint(), Some("alice@example.com"));
    assert_eq!(pending.acr_values(), ["urn:a", "urn:b"]);
    assert!(pending.prompt().login() && pending.prompt().consent());
    assert!(pending.display().is_some());
}

#[tokio::test]
async fn prompt_none_ends_with_the_error_the_host_names() {
    let h = op();
    let client = rp(&h).await;
    for (why, code) in [
        (InteractionRequired::Login, "login_required"),
        (InteractionRequired::Consent, "consent_required"),
        (
            InteractionRequired::AccountSelection,
            "account_selection_required",
        ),
        (InteractionRequired::Interaction, "interaction_required"),
    ] {
        let mut pending = h
            .authorize(&auth_query(&client, "&prompt=none"))
            .await
            .unwrap();
        assert!(pending.prompt().none());
        let id = h.server.defer(&mut pending).await.unwrap().to_owned();
        let response = h.server.interaction_required(pending, why).await.unwrap();
        let params = redirect_params(&response);
        assert_eq!(param(&params, "error"), Some(code));
        assert_eq!(param(&params, "state"), Some("xyz"));
        assert_eq!(param(&params, "iss"), Some(ISSUER));
        assert!(param(&params, "code").is_none());
        // Decided: the stored request is gone.
        assert!(h.server.pending_authorization(&id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn max_age_exceeded_forces_a_new_sign_in() {
    let h = op();
    let client = rp(&h).await;
    let mut pending = h
        .authorize(&auth_query(&client, "&max_age=60"))
        .await
        .unwrap();
    let id = h.server.defer(&mut pending).await.unwrap().to_owned();
    let old = start() - Duration::from_secs(61);
    assert!(pending.requires_login(Some(old)));
    assert!(pending.requires_login(None));
    assert!(!pending.requires_login(Some(start() - Duration::from_secs(60))));

    let stale = h
        .server
        .approve_with(pending, Approval::new("alice").authenticated_at(old))
        .await;
    assert!(matches!(stale, Err(DecisionError::LoginRequired)));
    // Still pending: the host signs the user in and approves again.
    let pending = h.server.pending_authorization(&id).await.unwrap().unwrap();
    let missing = h.server.approve_with(pending, Approval::new("alice")).await;
    assert!(matches!(
        missing,
        Err(DecisionError::AuthenticationTimeRequired)
    ));
    let pending = h.server.pending_authorization(&id).await.unwrap().unwrap();
    h.clock.advance(Duration::from_secs(5));
    let fresh = h.clock.now();
    let response = h
        .server
        .approve_with(pending, Approval::new("alice").authenticated_at(fresh))
        .await
        .unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
    assert_eq!(claims["auth_time"], secs(fresh));

    // max_age=0: any sign-in before the request is too old; one after it
    // (the login page this request showed) is fine, however long the
    // consent page took.
    let pending = h
        .authorize(&auth_query(&client, "&max_age=0"))
        .await
        .unwrap();
    let requested = h.clock.now();
    assert!(pending.requires_login(Some(requested - Duration::from_secs(1))));
    h.clock.advance(Duration::from_secs(2));
    let signed_in = h.clock.now();
    h.clock.advance(Duration::from_secs(40));
    assert!(!pending.requires_login(Some(signed_in)));
    let response = h
        .server
        .approve_with(pending, Approval::new("alice").authenticated_at(signed_in))
        .await;
    assert_eq!(response.unwrap().status(), 303);
}

#[tokio::test]
async fn prompt_login_wants_a_sign_in_after_the_request() {
    let h = op();
    let client = rp(&h).await;
    let session = start() - Duration::from_secs(1);
    let pending = h
        .authorize(&auth_query(&client, "&prompt=login"))
        .await
        .unwrap();
    assert!(pending.requires_login(Some(session)));
    let refused = h
        .server
        .approve_with(pending, Approval::new("alice").authenticated_at(session))
        .await;
    assert!(matches!(refused, Err(DecisionError::LoginRequired)));

    let pending = h
        .authorize(&auth_query(&client, "&prompt=login"))
        .await
        .unwrap();
    h.clock.advance(Duration::from_secs(3));
    let again = h.clock.now();
    assert!(!pending.requires_login(Some(again)));
    let response = h
        .server
        .approve_with(pending, Approval::new("alice").authenticated_at(again))
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn an_essential_auth_time_must_be_known() {
    let h = op();
    let client = rp(&h).await;
    let claims = form_encode(r#"{"id_token":{"auth_time":{"essential":true}}}"#);
    let pending = h
        .authorize(&auth_query(&client, &format!("&claims={claims}")))
        .await
        .unwrap();
    let refused = h.server.approve_with(pending, Approval::new("alice")).await;
    assert!(matches!(
        refused,
        Err(DecisionError::AuthenticationTimeRequired)
    ));
}

#[tokio::test]
async fn id_token_hint_names_the_end_user_to_approve() {
    let h = op();
    let client = rp(&h).await;
    let code = front_channel(&h, &client, "", Approval::new("alice")).await;
    let hint = redeem(&h, &client, &code).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Expired hints are still hints (Core §3.1.2.1).
    h.clock.advance(Duration::from_secs(3600));
    let query = auth_query(&client, &format!("&prompt=none&id_token_hint={hint}"));
    let pending = h.authorize(&query).await.unwrap();
    assert_eq!(pending.id_token_hint().unwrap().subject, "alice");
    let wrong = h.server.approve_with(pending, Approval::new("bob")).await;
    assert!(matches!(wrong, Err(DecisionError::SubjectMismatch)));
    let pending = h.authorize(&query).await.unwrap();
    let right = h.server.approve_with(pending, Approval::new("alice")).await;
    assert_eq!(right.unwrap().status(), 303);

    // A hint issued to another client, or signed by another provider, or
    // tampered with, is refused.
    let other = rp(&h).await;
    let params = refused(&h, &auth_query(&other, &format!("&id_token_hint={hint}"))).await;
    assert_eq!(param(&params, "error"), Some("invalid_request"));

    let stranger = op();
    let stranger_client = rp(&stranger).await;
    let code = front_channel(&stranger, &stranger_client, "", Approval::new("alice")).await;
    let foreign = redeem(&stranger, &stranger_client, &code).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let params = refused(
        &h,
        &auth_query(&client, &format!("&id_token_hint={foreign}")),
    )
    .await;
    assert_eq!(param(&params, "error"), Some("invalid_request"));

    let mut parts: Vec<&str> = hint.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD
        .encode(serde_json::json!({"iss": ISSUER, "sub": "mallory", "aud": client.id}).to_string());
    parts[1] = &forged_payload;
    let forged = parts.join(".");
    let params = refused(
        &h,
        &auth_query(&client, &format!("&id_token_hint={forged}")),
    )
    .await;
    assert_eq!(param(&params, "error"), Some("invalid_request"));
}

#[tokio::test]
async fn the_claims_parameter_puts_claims_in_the_id_token() {
    let h = op();
    let client = rp(&h).await;
    let claims = form_encode(
        r#"{"id_token":{"email":{"essential":true},"email_verified":null,"sub":null},"userinfo":{"name":null}}"#,
    );
    let code = front_channel(
        &h,
        &client,
        &format!("&claims={claims}"),
        Approval::new("alice"),
    )
    .await;
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(
        claims["sub"], "alice",
        "sub is the provider's, never the source's"
    );
    assert!(claims.get("name").is_none(), "asked of UserInfo only");
    assert!(claims.get("phone_number").is_none());
}

#[tokio::test]
async fn scope_claims_can_go_in_the_id_token_too() {
    let h = harness_with(|b| provider(b, OpenIdConnect::new(users()).scope_claims_in_id_token()));
    let client = rp(&h).await;
    let code = front_channel(&h, &client, "%20email", Approval::new("alice")).await;
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
    assert_eq!(claims["email"], "alice@example.com");
    assert!(claims.get("name").is_none(), "profile was not asked for");
}

#[tokio::test]
async fn an_end_user_the_claims_source_no_longer_knows_gets_no_tokens() {
    let h = op();
    let client = rp(&h).await;
    let claims = form_encode(r#"{"id_token":{"email":null}}"#);
    let code = front_channel(
        &h,
        &client,
        &format!("&claims={claims}"),
        Approval::new("deleted-user"),
    )
    .await;
    let reply = h.redeem(&client, &code).await;
    reply.assert_error(400, "invalid_grant");
    // The code is spent and its grant revoked: a replay gets nothing.
    h.redeem(&client, &code)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn id_tokens_are_signed_with_the_configured_algorithm() {
    let h = harness_with(|b| {
        provider(
            b,
            OpenIdConnect::new(users()).id_token_signing_alg(Algorithm::Es256),
        )
    });
    let client = rp(&h).await;
    let code = front_channel(&h, &client, "", Approval::new("alice")).await;
    let body = redeem(&h, &client, &code).await;
    verified(&h, body["id_token"].as_str().unwrap(), "ES256");
}

#[tokio::test]
async fn a_provider_that_cannot_sign_or_carry_id_tokens_does_not_build() {
    let es_only = KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap();
    let built = portcullis::AuthorizationServer::builder(ISSUER)
        .clients(portcullis::MemoryStore::new())
        .tokens(portcullis::MemoryStore::new())
        .grant(AuthorizationCodeGrant)
        .signing_keys(es_only)
        .openid_connect(OpenIdConnect::new(users()))
        .build();
    assert!(matches!(built, Err(BuildError::InvalidOpenIdConnect(_))));
    let no_code_grant = portcullis::AuthorizationServer::builder(ISSUER)
        .clients(portcullis::MemoryStore::new())
        .tokens(portcullis::MemoryStore::new())
        .grant(portcullis::grant::ClientCredentialsGrant)
        .signing_keys(keys())
        .openid_connect(OpenIdConnect::new(users()))
        .build();
    assert!(matches!(
        no_code_grant,
        Err(BuildError::InvalidOpenIdConnect(_))
    ));
    let too_long = portcullis::AuthorizationServer::builder(ISSUER)
        .clients(portcullis::MemoryStore::new())
        .tokens(portcullis::MemoryStore::new())
        .grant(AuthorizationCodeGrant)
        .signing_keys(keys())
        .openid_connect(OpenIdConnect::new(users()).id_token_lifetime(Duration::ZERO))
        .build();
    assert!(matches!(too_long, Err(BuildError::InvalidOpenIdConnect(_))));
}

#[tokio::test]
async fn a_replayed_code_kills_the_tokens_its_id_token_came_with() {
    let h = op();
    let client = rp(&h).await;
    let code = front_channel(&h, &client, "&nonce=n", Approval::new("alice")).await;
    let body = redeem(&h, &client, &code).await;
    assert!(body["id_token"].is_string());
    h.redeem(&client, &code)
        .await
        .assert_error(400, "invalid_grant");
    assert!(!common::alive(&h, body["access_token"].as_str().unwrap()).await);
    let reply = h
        .post(token_request(
            None,
            &format!(
                "grant_type=refresh_token&refresh_token={}&client_id={}",
                body["refresh_token"].as_str().unwrap(),
                client.id
            ),
        ))
        .await;
    reply.assert_error(400, "invalid_grant");
    let _ = VERIFIER;
}

fn pairwise_op() -> Harness {
    harness_with(|b| {
        provider(
            b,
            OpenIdConnect::new(users()).pairwise_subjects(PairwiseKey::new(&[42; 32]).unwrap()),
        )
    })
}

async fn pairwise_client(h: &Harness, redirect: &str) -> TestClient {
    h.register(
        ClientRegistration::web_application()
            .redirect_uri(redirect)
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .subject_type(SubjectType::Pairwise)
            .scope("openid".parse().unwrap()),
    )
    .await
}

/// A confidential client's authorization request (PKCE as usual).
fn confidential_query(client: &TestClient, redirect: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid",
        client.id,
        form_encode(redirect)
    )
}

/// The ID token of a confidential client's code flow approved for
/// `subject`, as sent.
async fn confidential_id_token_raw(
    h: &Harness,
    client: &TestClient,
    redirect: &str,
    subject: &str,
) -> String {
    let pending = h
        .authorize(&confidential_query(client, redirect))
        .await
        .unwrap();
    let response = h.server.approve(pending, subject, None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let reply = h
        .post(token_request(
            Some(&common::basic(&client.id, &client.secret)),
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                form_encode(redirect)
            ),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["id_token"].as_str().unwrap().to_owned()
}

/// The claims of that ID token, its signature checked.
async fn confidential_id_token(
    h: &Harness,
    client: &TestClient,
    redirect: &str,
    subject: &str,
) -> Value {
    let id_token = confidential_id_token_raw(h, client, redirect, subject).await;
    let jws = UnverifiedJws::parse(&id_token).unwrap();
    let keys = h.server.jwks().public_keys();
    let (payload, _) = jws
        .verify_with_any(&keys, &[Algorithm::Rs256, Algorithm::Es256])
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[tokio::test]
async fn pairwise_subjects_are_stable_per_sector_and_unlinkable_across_sectors() {
    let h = pairwise_op();
    let a = pairwise_client(&h, "https://rp-a.example/cb").await;
    let a2 = pairwise_client(&h, "https://rp-a.example/other").await;
    let b = pairwise_client(&h, "https://rp-b.example/cb").await;
    let sub_a =
        confidential_id_token(&h, &a, "https://rp-a.example/cb", "alice").await["sub"].clone();
    let again =
        confidential_id_token(&h, &a, "https://rp-a.example/cb", "alice").await["sub"].clone();
    let same_sector =
        confidential_id_token(&h, &a2, "https://rp-a.example/other", "alice").await["sub"].clone();
    let sub_b =
        confidential_id_token(&h, &b, "https://rp-b.example/cb", "alice").await["sub"].clone();
    let bob_a =
        confidential_id_token(&h, &a, "https://rp-a.example/cb", "bob").await["sub"].clone();
    assert_ne!(sub_a, "alice");
    assert_eq!(sub_a, again, "stable");
    assert_eq!(sub_a, same_sector, "one sector, one identifier");
    assert_ne!(sub_a, sub_b, "unlinkable across sectors");
    assert_ne!(sub_a, bob_a);
    // A public client of the same provider sees the local identifier.
    let public = rp(&h).await;
    let code = front_channel(&h, &public, "", Approval::new("alice")).await;
    let body = redeem(&h, &public, &code).await;
    assert_eq!(
        verified(&h, body["id_token"].as_str().unwrap(), "RS256")["sub"],
        "alice"
    );
}

#[tokio::test]
async fn an_id_token_hint_with_a_pairwise_subject_names_the_local_end_user() {
    let h = pairwise_op();
    let redirect = "https://rp-a.example/cb";
    let client = pairwise_client(&h, redirect).await;
    let query = confidential_query(&client, redirect);
    let hint = confidential_id_token_raw(&h, &client, redirect, "alice").await;
    let hinted = format!("{query}&id_token_hint={hint}");
    let pending = h.authorize(&hinted).await.unwrap();
    assert_ne!(pending.id_token_hint().unwrap().subject, "alice");
    let wrong = h.server.approve(pending, "bob", None).await;
    assert!(matches!(wrong, Err(DecisionError::SubjectMismatch)));
    let pending = h.authorize(&hinted).await.unwrap();
    assert_eq!(
        h.server
            .approve(pending, "alice", None)
            .await
            .unwrap()
            .status(),
        303
    );
}

#[tokio::test]
async fn a_client_gets_id_tokens_signed_with_the_algorithm_it_registered() {
    let h = op();
    let client = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .id_token_signed_response_alg(Algorithm::Es256)
                .scope("openid".parse().unwrap()),
        )
        .await;
    let code = front_channel(&h, &client, "", Approval::new("alice")).await;
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "ES256");
    // at_hash follows the ID token's algorithm: SHA-256 for ES256 too.
    assert_eq!(
        claims["at_hash"],
        at_hash(body["access_token"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_clients_registered_defaults_apply_unless_the_request_overrides_them() {
    let h = op();
    let client = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .require_auth_time(true)
                .default_max_age(60)
                .default_acr_value("urn:example:loa:1")
                .scope("openid".parse().unwrap()),
        )
        .await;
    let pending = h.authorize(&auth_query(&client, "")).await.unwrap();
    assert_eq!(pending.max_age(), Some(60));
    assert_eq!(pending.acr_values(), ["urn:example:loa:1"]);
    let pending_overridden = h
        .authorize(&auth_query(&client, "&max_age=3600&acr_values=urn%3Ax"))
        .await
        .unwrap();
    assert_eq!(pending_overridden.max_age(), Some(3600));
    assert_eq!(pending_overridden.acr_values(), ["urn:x"]);
    // require_auth_time: an approval must say when.
    let missing = h.server.approve_with(pending, Approval::new("alice")).await;
    assert!(matches!(
        missing,
        Err(DecisionError::AuthenticationTimeRequired)
    ));
    let pending = h.authorize(&auth_query(&client, "")).await.unwrap();
    let code = {
        let response = h
            .server
            .approve_with(pending, Approval::new("alice").authenticated_at(start()))
            .await
            .unwrap();
        param(&redirect_params(&response), "code")
            .unwrap()
            .to_owned()
    };
    let body = redeem(&h, &client, &code).await;
    let claims = verified(&h, body["id_token"].as_str().unwrap(), "RS256");
    assert_eq!(claims["auth_time"], secs(start()));
}

#[tokio::test]
async fn id_token_response_types_are_not_served() {
    // Core §16.5, §16.16: no ID token or access token travels through the
    // front channel; the implicit and hybrid flows are refused.
    let h = op();
    let client = rp(&h).await;
    for response_type in [
        "id_token",
        "id_token%20token",
        "code%20id_token",
        "code%20token",
    ] {
        let query = format!(
            "response_type={response_type}&client_id={}&scope=openid&nonce=n&state=xyz\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            client.id
        );
        let params = refused(&h, &query).await;
        assert_eq!(
            param(&params, "error"),
            Some("unsupported_response_type"),
            "{response_type}"
        );
        assert!(param(&params, "id_token").is_none() && param(&params, "code").is_none());
    }
}
