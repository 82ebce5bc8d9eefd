//! The introspection endpoint (RFC 7662), observed as a resource server
//! would: the exact JSON members, statuses and headers, and the privacy
//! policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod lifecycle;

use std::time::Duration;

use common::{Harness, TestClient, alive, cc_request, harness_with, start};
use http::{HeaderMap, Request};
use lifecycle::{
    RS_NAME, RS_SECRET, Tokens, capture_events, client_introspection, never_issued, post,
    revocation, rs_introspection,
};
use portcullis::client::ClientAuthError;
use portcullis::endpoint::{
    IntrospectedToken, IntrospectionCaller, IntrospectionError, IntrospectionRequest, RequestError,
};
use portcullis::protocol::{IntrospectionResponse, Params};
use portcullis::token::TokenKind;
use portcullis::{AuthorizationServer, BuildError, ServerBuilder};
use serde_json::json;

const INACTIVE: &[u8] = br#"{"active":false}"#;

/// A server with the code, refresh and client credentials grants and the
/// test resource server's credential; `customise` adds to it.
fn rs_harness_with(customise: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Harness {
    harness_with(|b| {
        customise(
            b.grant(portcullis::grant::AuthorizationCodeGrant)
                .grant(portcullis::grant::RefreshTokenGrant)
                .introspection_credential(RS_NAME, RS_SECRET),
        )
    })
}

fn rs_harness() -> Harness {
    rs_harness_with(|b| b)
}

async fn web_setup() -> (Harness, TestClient, Tokens) {
    let h = rs_harness();
    let client = h.web_client().await;
    let tokens = h.tokens_for(&client).await;
    (h, client, tokens)
}

/// Introspects `token` as the resource server and returns the JSON.
async fn rs_ask(h: &Harness, token: &str) -> serde_json::Value {
    let (reply, _) = h.introspect(rs_introspection(RS_SECRET, token, "")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json
}

/// Asserts the answer is `{"active":false}`, byte for byte, with the right
/// headers (RFC 7662 §2.2: no other member for an inactive token).
#[track_caller]
fn assert_inactive((reply, body): &(common::Reply, Vec<u8>)) {
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(body.as_slice(), INACTIVE, "{:?}", reply.json);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.assert_no_store();
}

fn secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn an_active_access_token_has_exactly_the_promised_members() {
    let (h, client, tokens) = web_setup().await;
    let (reply, _) = h
        .introspect(rs_introspection(RS_SECRET, &tokens.access, ""))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.assert_no_store();
    assert_eq!(
        reply.json,
        json!({
            "active": true,
            "scope": "read",
            "client_id": client.id,
            "sub": "alice",
            "exp": secs(start()) + 600,
            "iat": secs(start()),
            "token_type": "Bearer",
            "iss": "https://auth.example",
        })
    );
}

#[tokio::test]
async fn a_client_credentials_token_has_no_subject() {
    let h = rs_harness();
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, "&scope=write"))
        .await
        .access_token()
        .to_owned();
    let json = rs_ask(&h, &token).await;
    assert_eq!(json["active"], true);
    assert_eq!(json["scope"], "write");
    assert_eq!(json["client_id"], client.id.as_str());
    assert!(json.get("sub").is_none(), "{json}");
}

#[tokio::test]
async fn a_token_without_scope_has_no_scope_member() {
    let h = rs_harness();
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let json = rs_ask(&h, &token).await;
    assert_eq!(json["active"], true);
    assert!(json.get("scope").is_none(), "{json}");
}

#[tokio::test]
async fn a_refresh_token_is_active_without_a_token_type() {
    let (h, client, tokens) = web_setup().await;
    let json = rs_ask(&h, &tokens.refresh).await;
    assert_eq!(
        json,
        json!({
            "active": true,
            "scope": "read",
            "client_id": client.id,
            "sub": "alice",
            "exp": secs(start()) + 30 * 24 * 3600,
            "iat": secs(start()),
            "iss": "https://auth.example",
        })
    );
    let parsed = IntrospectionResponse::from_json(json.to_string().as_bytes()).unwrap();
    assert!(parsed.active && !parsed.is_active_access_token());
}

#[tokio::test]
async fn a_rotated_out_refresh_token_is_inactive() {
    let (h, client, tokens) = web_setup().await;
    let refreshed = h.refresh(&client, &tokens.refresh).await;
    let new_refresh = refreshed.json["refresh_token"].as_str().unwrap().to_owned();
    assert_inactive(
        &h.introspect(rs_introspection(RS_SECRET, &tokens.refresh, ""))
            .await,
    );
    assert_eq!(rs_ask(&h, &new_refresh).await["active"], true);
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_inactive() {
    let (h, _, _) = web_setup().await;
    for token in [
        never_issued("pc_at_"),
        never_issued("pc_rt_"),
        never_issued("pc_ac_"),
        "pc_at_short".to_owned(),
        "garbage".to_owned(),
        RS_SECRET.to_owned(),
    ] {
        assert_inactive(&h.introspect(rs_introspection(RS_SECRET, &token, "")).await);
    }
}

#[tokio::test]
async fn expired_tokens_are_inactive() {
    let (h, _, tokens) = web_setup().await;
    h.clock.advance(Duration::from_secs(599));
    assert_eq!(rs_ask(&h, &tokens.access).await["active"], true);
    h.clock.advance(Duration::from_secs(1));
    assert_inactive(
        &h.introspect(rs_introspection(RS_SECRET, &tokens.access, ""))
            .await,
    );
    // The refresh token outlives the access token, until its idle lifetime.
    assert_eq!(rs_ask(&h, &tokens.refresh).await["active"], true);
    h.clock.advance(Duration::from_secs(30 * 24 * 3600));
    assert_inactive(
        &h.introspect(rs_introspection(RS_SECRET, &tokens.refresh, ""))
            .await,
    );
}

#[tokio::test]
async fn revoked_tokens_are_inactive() {
    // An access token revoked alone.
    let (h, client, tokens) = web_setup().await;
    assert_eq!(
        h.revoke(revocation(&client, &tokens.access, ""))
            .await
            .status,
        200
    );
    assert_inactive(
        &h.introspect(rs_introspection(RS_SECRET, &tokens.access, ""))
            .await,
    );
    assert_eq!(rs_ask(&h, &tokens.refresh).await["active"], true);

    // A grant revoked through its refresh token: both are inactive.
    assert_eq!(
        h.revoke(revocation(&client, &tokens.refresh, ""))
            .await
            .status,
        200
    );
    assert_inactive(
        &h.introspect(rs_introspection(RS_SECRET, &tokens.refresh, ""))
            .await,
    );

    // A grant the host revoked.
    let tokens = h.tokens_for(&client).await;
    let grant = h
        .server
        .access_token_info(&tokens.access)
        .await
        .unwrap()
        .unwrap()
        .grant_id;
    assert!(h.server.revoke_grant(&grant).await.unwrap());
    for token in [&tokens.access, &tokens.refresh] {
        assert_inactive(&h.introspect(rs_introspection(RS_SECRET, token, "")).await);
    }
}

#[tokio::test]
async fn the_hint_is_not_trusted() {
    let (h, _, tokens) = web_setup().await;
    for (token, hint) in [
        (&tokens.refresh, "access_token"),
        (&tokens.access, "refresh_token"),
        (&tokens.access, "access_token"),
        (&tokens.refresh, "id_token"),
    ] {
        let (reply, _) = h
            .introspect(rs_introspection(
                RS_SECRET,
                token,
                &format!("&token_type_hint={hint}"),
            ))
            .await;
        assert_eq!(reply.json["active"], true, "{hint}: {:?}", reply.json);
    }
}

#[tokio::test]
async fn a_client_may_introspect_its_own_tokens() {
    let (h, client, tokens) = web_setup().await;
    for token in [&tokens.access, &tokens.refresh] {
        let (reply, _) = h.introspect(client_introspection(&client, token, "")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json["active"], true, "{:?}", reply.json);
        assert_eq!(reply.json["client_id"], client.id.as_str());
    }
}

#[tokio::test]
async fn a_client_learns_nothing_about_another_clients_token() {
    // RFC 7662 §2.2, §5: the answer is the one an unknown token gets.
    let (h, owner, tokens) = web_setup().await;
    let other = h.web_client().await;
    for token in [&tokens.access, &tokens.refresh] {
        assert_inactive(&h.introspect(client_introspection(&other, token, "")).await);
    }
    let (_, unknown) = h
        .introspect(client_introspection(&other, &never_issued("pc_at_"), ""))
        .await;
    assert_eq!(unknown, INACTIVE);
    // The token is untouched.
    assert!(alive(&h, &tokens.access).await);
    let (reply, _) = h
        .introspect(client_introspection(&owner, &tokens.access, ""))
        .await;
    assert_eq!(reply.json["active"], true);
}

#[tokio::test]
async fn a_public_client_may_not_introspect_by_default() {
    let h = rs_harness();
    let app = h.native_client().await;
    let tokens = h.tokens_for(&app).await;
    assert_inactive(
        &h.introspect(client_introspection(&app, &tokens.access, ""))
            .await,
    );
    // The resource server still sees it.
    assert_eq!(rs_ask(&h, &tokens.access).await["active"], true);
}

#[tokio::test]
async fn a_host_policy_can_let_public_clients_introspect_their_own_tokens() {
    let h = rs_harness_with(|b| {
        b.introspection_policy(|caller: &IntrospectionCaller, token: &IntrospectedToken| {
            match caller {
                IntrospectionCaller::Client(c) => token.client_id == *c.id(),
                _ => true,
            }
        })
    });
    let app = h.native_client().await;
    let tokens = h.tokens_for(&app).await;
    let (reply, _) = h
        .introspect(client_introspection(&app, &tokens.access, ""))
        .await;
    assert_eq!(reply.json["active"], true, "{:?}", reply.json);
    let other = h.native_client().await;
    assert_inactive(
        &h.introspect(client_introspection(&other, &tokens.access, ""))
            .await,
    );
}

#[tokio::test]
async fn a_host_policy_can_restrict_resource_servers() {
    // Only access tokens, and only for the named resource server.
    let h = rs_harness_with(|b| {
        b.introspection_credential("billing-api", &format!("{RS_SECRET}-billing"))
            .introspection_policy(|caller: &IntrospectionCaller, token: &IntrospectedToken| {
                matches!(caller, IntrospectionCaller::ResourceServer(rs) if rs.name() == RS_NAME)
                    && token.kind == TokenKind::AccessToken
            })
    });
    let client = h.web_client().await;
    let tokens = h.tokens_for(&client).await;
    assert_eq!(rs_ask(&h, &tokens.access).await["active"], true);
    assert_inactive(
        &h.introspect(rs_introspection(RS_SECRET, &tokens.refresh, ""))
            .await,
    );
    let billing = format!("{RS_SECRET}-billing");
    let (reply, body) = h
        .introspect(rs_introspection(&billing, &tokens.access, ""))
        .await;
    assert_inactive(&(reply, body));
}

#[tokio::test]
async fn a_wrong_or_unknown_resource_server_credential_is_401_invalid_token() {
    let (h, _, tokens) = web_setup().await;
    // The right credential, with the scheme in any case (RFC 9110 §11.1).
    let (reply, _) = h
        .introspect(post(
            "/introspect",
            Some(&format!("bearer {RS_SECRET}")),
            &format!("token={}", tokens.access),
        ))
        .await;
    assert_eq!(reply.json["active"], true);
    for secret in [
        format!("{RS_SECRET}x"),
        "not-the-secret".to_owned(),
        RS_SECRET[..RS_SECRET.len() - 1].to_owned(),
    ] {
        let (reply, _) = h
            .introspect(rs_introspection(&secret, &tokens.access, ""))
            .await;
        reply.assert_error(401, "invalid_token");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"https://auth.example\", error=\"invalid_token\"")
        );
    }
    // Malformed bearer credentials too.
    for authorization in ["Bearer", "Bearer a b", "Bearer =abc"] {
        let (reply, _) = h
            .introspect(post(
                "/introspect",
                Some(authorization),
                &format!("token={}", tokens.access),
            ))
            .await;
        reply.assert_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn without_configured_credentials_every_bearer_is_refused() {
    let h = harness_with(|b| b);
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let (reply, _) = h.introspect(rs_introspection(RS_SECRET, &token, "")).await;
    reply.assert_error(401, "invalid_token");
}

/// Failures are not counted under a key every resource server shares: anyone
/// reaching the endpoint could then keep them all refused. The secrets'
/// entropy is what defeats guessing.
#[tokio::test]
async fn wrong_resource_server_credentials_never_lock_out_the_right_one() {
    let h = rs_harness_with(|b| {
        b.throttle_policy(
            portcullis::client::ThrottlePolicy::default()
                .with_allowed_failures(2)
                .with_initial_delay(Duration::from_secs(1))
                .with_max_delay(Duration::from_secs(60)),
        )
    });
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    // Far past the policy's allowance, with no time passing.
    for _ in 0..20 {
        let (reply, _) = h
            .introspect(rs_introspection("wrong-secret", &token, ""))
            .await;
        reply.assert_error(401, "invalid_token");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer ")),
            "{:?}",
            reply.header("www-authenticate")
        );
    }
    // The resource server with the right credential gets its answer at once.
    assert_eq!(rs_ask(&h, &token).await["active"], true);
    // Clients still authenticate under their own throttled keys: their
    // guesses are refused once over the policy (a generated secret itself is
    // never refused).
    for _ in 0..3 {
        let (reply, _) = h
            .introspect(client_introspection(
                &client.with_secret("wrong"),
                &token,
                "",
            ))
            .await;
        reply.assert_error(401, "invalid_client");
    }
    let (reply, _) = h
        .introspect(client_introspection(
            &client.with_secret("wrong"),
            &token,
            "",
        ))
        .await;
    reply.assert_error(429, "invalid_client");
    let (reply, _) = h
        .introspect(client_introspection(&client, &token, ""))
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_wrong_client_secret_is_401_with_a_basic_challenge() {
    let (h, client, tokens) = web_setup().await;
    let (reply, _) = h
        .introspect(client_introspection(
            &client.with_secret("wrong"),
            &tokens.access,
            "",
        ))
        .await;
    reply.assert_error(401, "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example\"")
    );
    // No authentication at all: 401 too (RFC 7662 §2.1).
    let (reply, _) = h
        .introspect(post(
            "/introspect",
            None,
            &format!("token={}", tokens.access),
        ))
        .await;
    reply.assert_error(401, "invalid_client");
}

#[tokio::test]
async fn a_request_without_any_authentication_is_401_naming_every_accepted_scheme() {
    // RFC 7662 §2.1 requires authorization, §2.3 answers 401; RFC 9110
    // §15.5.2: the challenge names the schemes that would do. With resource
    // server credentials configured, that is Basic for clients and Bearer for
    // resource servers, the latter without an error code since no bearer
    // credential was presented (RFC 6750 §3.1).
    let (h, _, tokens) = web_setup().await;
    let (reply, body) = h
        .introspect(post(
            "/introspect",
            None,
            &format!("token={}", tokens.access),
        ))
        .await;
    reply.assert_error(401, "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example\", Bearer realm=\"https://auth.example\"")
    );
    assert!(!String::from_utf8_lossy(&body).contains("active"));

    // Without resource server credentials, only clients can authenticate.
    let h = harness_with(|b| b);
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let (reply, _) = h
        .introspect(post("/introspect", None, &format!("token={token}")))
        .await;
    reply.assert_error(401, "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example\"")
    );

    // The typed layer says the same.
    let headers = HeaderMap::new();
    let params = Params::from_pairs([("token", token)]);
    let result = h
        .server
        .introspect(IntrospectionRequest::new(params, &headers))
        .await;
    assert!(matches!(
        result,
        Err(IntrospectionError::Request(RequestError::ClientAuth {
            error: ClientAuthError::Missing,
            challenge: Some(_),
        }))
    ));
}

#[tokio::test]
async fn a_bearer_credential_with_client_credentials_is_two_methods() {
    let (h, client, tokens) = web_setup().await;
    let (reply, _) = h
        .introspect(rs_introspection(
            RS_SECRET,
            &tokens.access,
            &format!("&client_id={}", client.id),
        ))
        .await;
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn only_post_with_a_form_is_accepted() {
    let (h, _, tokens) = web_setup().await;
    let get = Request::get(format!(
        "https://auth.example/introspect?token={}",
        tokens.access
    ))
    .header("authorization", format!("Bearer {RS_SECRET}"))
    .body(Vec::new())
    .unwrap();
    let (reply, _) = h.introspect(get).await;
    reply.assert_error(405, "invalid_request");
    assert_eq!(reply.header("allow"), Some("POST"));

    let json = Request::post("https://auth.example/introspect")
        .header("authorization", format!("Bearer {RS_SECRET}"))
        .header("content-type", "application/json")
        .body(format!("{{\"token\":\"{}\"}}", tokens.access).into_bytes())
        .unwrap();
    let (reply, _) = h.introspect(json).await;
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn a_missing_or_repeated_token_is_invalid_request() {
    let (h, client, tokens) = web_setup().await;
    let bearer = format!("Bearer {RS_SECRET}");
    let (reply, _) = h
        .introspect(post(
            "/introspect",
            Some(&bearer),
            "token_type_hint=access_token",
        ))
        .await;
    reply.assert_error(400, "invalid_request");
    assert!(reply.description().contains("token"), "{:?}", reply.json);
    let (reply, _) = h
        .introspect(post(
            "/introspect",
            Some(&bearer),
            &format!("token={0}&token={0}", tokens.access),
        ))
        .await;
    reply.assert_error(400, "invalid_request");
    // A client secret in the query string.
    let request = Request::post(format!(
        "https://auth.example/introspect?client_secret={}",
        client.secret
    ))
    .header("content-type", "application/x-www-form-urlencoded")
    .body(format!("token={}&client_id={}", tokens.access, client.id).into_bytes())
    .unwrap();
    let (reply, _) = h.introspect(request).await;
    reply.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn a_resource_server_in_another_process_reads_the_answer() {
    // What the resource-server side does with the body it received.
    let (h, client, tokens) = web_setup().await;
    let (_, body) = h
        .introspect(rs_introspection(RS_SECRET, &tokens.access, ""))
        .await;
    let answer = IntrospectionResponse::from_json(&body).unwrap();
    assert!(answer.is_active_access_token());
    assert_eq!(answer.client_id.as_deref(), Some(client.id.as_str()));
    assert_eq!(answer.sub.as_deref(), Some("alice"));
    assert_eq!(answer.iss.as_deref(), Some(h.server.issuer()));
    assert_eq!(
        answer.expires_at(),
        Some(start() + Duration::from_secs(600))
    );
    assert_eq!(answer.issued_at(), Some(start()));
    assert!(answer.scope.unwrap().contains("read"));

    // The typed layer gives the same answer the wire carried.
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {RS_SECRET}").parse().unwrap(),
    );
    let params = Params::from_pairs([("token", tokens.access.clone())]);
    let typed = h
        .server
        .introspect(IntrospectionRequest::new(params, &headers))
        .await
        .unwrap();
    assert_eq!(typed, IntrospectionResponse::from_json(&body).unwrap());

    let inactive = IntrospectionResponse::from_json(INACTIVE).unwrap();
    assert_eq!(inactive, IntrospectionResponse::inactive());
    assert!(!inactive.is_active_access_token());
}

#[tokio::test]
async fn the_typed_layer_reports_authentication_failures() {
    let (h, _, tokens) = web_setup().await;
    let mut headers = HeaderMap::new();
    headers.insert("authorization", "Bearer wrong-secret".parse().unwrap());
    let params = Params::from_pairs([("token", tokens.access.clone())]);
    let result = h
        .server
        .introspect(IntrospectionRequest::new(params, &headers))
        .await;
    assert!(matches!(
        result,
        Err(IntrospectionError::InvalidCredential { .. })
    ));
}

#[tokio::test]
async fn invalid_credentials_fail_the_build() {
    let build = |name: &str, secret: &str| {
        let store = portcullis::MemoryStore::new();
        AuthorizationServer::builder(common::ISSUER)
            .clients(store.clone())
            .tokens(store)
            .introspection_credential(name, secret)
            .build()
    };
    assert!(build(RS_NAME, RS_SECRET).is_ok());
    for (name, secret) in [
        (RS_NAME, "too-short"),
        (RS_NAME, "has spaces and is long enough to pass the length"),
        ("", RS_SECRET),
        ("two words", RS_SECRET),
    ] {
        assert!(
            matches!(
                build(name, secret),
                Err(BuildError::InvalidIntrospectionCredential(_))
            ),
            "{name:?} {secret:?}"
        );
    }
    let store = portcullis::MemoryStore::new();
    let duplicate = AuthorizationServer::builder(common::ISSUER)
        .clients(store.clone())
        .tokens(store)
        .introspection_credential("a", RS_SECRET)
        .introspection_credential("b", RS_SECRET)
        .build();
    assert!(matches!(
        duplicate,
        Err(BuildError::InvalidIntrospectionCredential(_))
    ));
}

#[tokio::test]
async fn refusals_and_failures_are_security_events_without_secrets() {
    let (h, _, tokens) = web_setup().await;
    let other = h.web_client().await;
    let (_, logged) =
        capture_events(h.introspect(client_introspection(&other, &tokens.access, ""))).await;
    assert!(logged.contains("introspection_denied"), "{logged}");
    assert!(!logged.contains(&tokens.access), "{logged}");

    let (_, logged) =
        capture_events(h.introspect(rs_introspection("wrong-secret-value", &tokens.access, "")))
            .await;
    assert!(
        logged.contains("resource_server_authentication_failed"),
        "{logged}"
    );
    assert!(!logged.contains("wrong-secret-value"), "{logged}");
    assert!(!logged.contains(&tokens.access), "{logged}");
}
