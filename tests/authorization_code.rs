//! The authorization code grant with PKCE and refresh tokens, end to end
//! (RFC 6749 §4.1, §6; RFC 7636; RFC 9700 §4.14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

#[tokio::test]
async fn code_flow_with_pkce_refresh_and_reuse_detection() {
    let h = code_harness();
    let c = h.native_client().await;
    let params = h.code_for(&c, "&scope=read").await;
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some("https://auth.example"));
    let code = param(&params, "code").unwrap().to_owned();

    let r = h.redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();
    let info = h.server.access_token_info(&access).await.unwrap().unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.scope.to_string(), "read");

    // Refresh rotates.
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={}",
        c.id
    );
    let r2 = h.post(token_request(None, &body)).await;
    assert_eq!(r2.status, 200, "{:?}", r2.json);
    let access2 = r2.access_token().to_owned();
    let refresh2 = r2.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    assert!(
        h.server
            .access_token_info(&access2)
            .await
            .unwrap()
            .is_some()
    );

    // Reusing the rotated-out token revokes the whole grant.
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_grant");
    assert!(h.server.access_token_info(&access).await.unwrap().is_none());
    assert!(
        h.server
            .access_token_info(&access2)
            .await
            .unwrap()
            .is_none()
    );
    let body2 = format!(
        "grant_type=refresh_token&refresh_token={refresh2}&client_id={}",
        c.id
    );
    h.post(token_request(None, &body2))
        .await
        .assert_error(400, "invalid_grant");

    // The code is single use.
    h.redeem(&c, &code).await.assert_error(400, "invalid_grant");
}

// ---------------------------------------------------------------------------
// Helpers local to this file.
// ---------------------------------------------------------------------------

use std::time::Duration;

use portcullis::client::ClientRegistration;
use portcullis::grant::AuthorizationCodeGrant;
use portcullis::protocol::GrantType;

const WEB_REDIRECT: &str = "https://client.example/cb";
const WEB_REDIRECT_ENC: &str = "https%3A%2F%2Fclient.example%2Fcb";

/// A confidential web client (Basic), redirect `https://client.example/cb`,
/// scope `read write`, registered for the code grant and, if `refresh`, the
/// refresh token grant.
async fn web_client(h: &Harness, refresh: bool) -> TestClient {
    let mut registration = ClientRegistration::web_application()
        .redirect_uri(WEB_REDIRECT)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .scope("read write".parse().unwrap());
    if refresh {
        registration = registration.grant_type(GrantType::REFRESH_TOKEN);
    }
    h.register(registration).await
}

/// Runs the front channel and returns just the code.
async fn fresh_code(h: &Harness, client: &TestClient, extra: &str) -> String {
    let params = h.code_for(client, extra).await;
    param(&params, "code").unwrap().to_owned()
}

/// A token request for the code grant as `client`: Basic when it has a
/// secret, `client_id` in the body otherwise. `extra` is appended verbatim.
fn code_request(client: &TestClient, code: &str, extra: &str) -> http::Request<Vec<u8>> {
    if client.secret.is_empty() {
        token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}{extra}",
                client.id
            ),
        )
    } else {
        token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!("grant_type=authorization_code&code={code}{extra}"),
        )
    }
}

/// The RFC 7636 verifier as a body parameter.
fn with_verifier() -> String {
    format!("&code_verifier={VERIFIER}")
}

/// A successful token response (RFC 6749 §5.1): 200, no-store, Bearer,
/// `expires_in` the default 600 s.
#[track_caller]
fn assert_token_response(r: &Reply) {
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    assert!(r.access_token().starts_with("pc_at_"));
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 600);
}

// ---------------------------------------------------------------------------
// Success, and when a refresh token comes with it.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn confidential_client_with_basic_redeems_a_code() {
    let h = code_harness();
    let c = web_client(&h, true).await;
    let code = fresh_code(&h, &c, "&scope=read").await;
    let r = h.post(code_request(&c, &code, &with_verifier())).await;
    assert_token_response(&r);
    let refresh = r.json["refresh_token"].as_str().unwrap();
    assert!(refresh.starts_with("pc_rt_"));
    assert_ne!(refresh, r.access_token());
    // The scope was the one requested, so it may be omitted (§5.1).
    assert!(r.json.get("scope").is_none_or(|s| s == "read"));

    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.scope.to_string(), "read");
}

#[tokio::test]
async fn no_refresh_token_when_the_client_is_not_registered_for_it() {
    let h = code_harness();
    let c = web_client(&h, false).await;
    let code = fresh_code(&h, &c, "").await;
    let r = h.post(code_request(&c, &code, &with_verifier())).await;
    assert_token_response(&r);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);
}

#[tokio::test]
async fn no_refresh_token_when_the_server_does_not_serve_the_refresh_grant() {
    let h = harness_with(|b| b.grant(AuthorizationCodeGrant));
    let c = web_client(&h, true).await;
    let code = fresh_code(&h, &c, "").await;
    let r = h.post(code_request(&c, &code, &with_verifier())).await;
    assert_token_response(&r);
    assert!(r.json.get("refresh_token").is_none(), "{:?}", r.json);
}

#[tokio::test]
async fn a_confidential_client_must_authenticate_to_redeem() {
    // RFC 6749 §4.1.3: the client authenticates if it is confidential. Its
    // client_id alone is not enough.
    let h = code_harness();
    let c = web_client(&h, false).await;
    let code = fresh_code(&h, &c, "").await;
    let anonymous = TestClient {
        id: c.id.clone(),
        secret: String::new(),
    };
    let r = h
        .post(code_request(&anonymous, &code, &with_verifier()))
        .await;
    r.assert_error(400, "invalid_client");
    let wrong = c.with_secret("not the secret");
    let r = h.post(code_request(&wrong, &code, &with_verifier())).await;
    r.assert_error(401, "invalid_client");
    assert_eq!(h.store.access_token_count(), 0);
}

// ---------------------------------------------------------------------------
// redirect_uri binding (RFC 6749 §4.1.3).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn redirect_uri_given_in_the_authorization_request_must_be_repeated_exactly() {
    let h = code_harness();
    let c = web_client(&h, false).await;
    let extra = format!("&redirect_uri={WEB_REDIRECT_ENC}");

    // Repeated exactly: fine.
    let code = fresh_code(&h, &c, &extra).await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!("{}{extra}", with_verifier()),
        ))
        .await;
    assert_token_response(&r);

    // Missing.
    let code = fresh_code(&h, &c, &extra).await;
    let r = h.post(code_request(&c, &code, &with_verifier())).await;
    r.assert_error(400, "invalid_grant");

    // Different (another path, a trailing slash, a query, another case).
    for other in [
        "https%3A%2F%2Fclient.example%2Fother",
        "https%3A%2F%2Fclient.example%2Fcb%2F",
        "https%3A%2F%2Fclient.example%2Fcb%3Fx%3D1",
        "https%3A%2F%2FCLIENT.example%2Fcb",
        "https%3A%2F%2Fattacker.example%2Fcb",
    ] {
        let code = fresh_code(&h, &c, &extra).await;
        let r = h
            .post(code_request(
                &c,
                &code,
                &format!("{}&redirect_uri={other}", with_verifier()),
            ))
            .await;
        r.assert_error(400, "invalid_grant");
    }
    assert_eq!(h.store.access_token_count(), 1);
}

#[tokio::test]
async fn loopback_redirect_uri_must_be_repeated_with_its_port() {
    // RFC 8252 §7.3 lets the port vary at the authorization endpoint; the
    // token request must then repeat the URI actually used, port and all.
    let h = code_harness();
    let c = h.native_client().await;
    let used = "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcb";

    let code = fresh_code(&h, &c, used).await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!(
                "{}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb",
                with_verifier()
            ),
        ))
        .await;
    r.assert_error(400, "invalid_grant");

    let code = fresh_code(&h, &c, used).await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!("{}{used}", with_verifier()),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

#[tokio::test]
async fn redirect_uri_absent_from_the_authorization_request_may_be_omitted_but_not_wrong() {
    let h = code_harness();
    let c = web_client(&h, false).await;

    // Omitted in both: fine.
    let code = fresh_code(&h, &c, "").await;
    assert_token_response(&h.post(code_request(&c, &code, &with_verifier())).await);

    // Omitted at authorization, the registered URI at the token endpoint: fine.
    let code = fresh_code(&h, &c, "").await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!("{}&redirect_uri={WEB_REDIRECT_ENC}", with_verifier()),
        ))
        .await;
    assert_token_response(&r);

    // Omitted at authorization, a wrong one at the token endpoint.
    let code = fresh_code(&h, &c, "").await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!(
                "{}&redirect_uri=https%3A%2F%2Fattacker.example%2Fcb",
                with_verifier()
            ),
        ))
        .await;
    r.assert_error(400, "invalid_grant");
}

// ---------------------------------------------------------------------------
// PKCE (RFC 7636 §4.5, §4.6; RFC 9700 §4.8.2).
// ---------------------------------------------------------------------------

#[tokio::test]
async fn rfc7636_appendix_b_pair_redeems() {
    let h = code_harness();
    let c = h.native_client().await;
    let code = fresh_code(&h, &c, "").await;
    let r = h.redeem(&c, &code).await;
    assert_token_response(&r);
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant() {
    let h = code_harness();
    let c = h.native_client().await;
    let code = fresh_code(&h, &c, "").await;
    // Well-formed (43 unreserved characters) but not the one.
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx";
    let r = h
        .post(code_request(&c, &code, &format!("&code_verifier={wrong}")))
        .await;
    r.assert_error(400, "invalid_grant");
    // The client is told which check failed (RFC 6749 §5.2).
    assert_eq!(
        r.json["error_description"],
        "code_verifier does not match the code_challenge"
    );
    assert!(r.json.get("access_token").is_none());
    assert_eq!(h.store.access_token_count(), 0);
    // A request that fails a check redeems nothing (the code is redeemed only
    // once every check has passed), so the code's own client can still use
    // it. Guessing a 256-bit verifier is no threat.
    assert_token_response(&h.redeem(&c, &code).await);
}

#[tokio::test]
async fn missing_verifier_is_invalid_grant() {
    let h = code_harness();
    let c = h.native_client().await;
    let code = fresh_code(&h, &c, "").await;
    h.post(code_request(&c, &code, ""))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(h.store.access_token_count(), 0);
}

#[tokio::test]
async fn malformed_verifiers_are_invalid_grant() {
    // RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~].
    let h = code_harness();
    let c = h.native_client().await;
    let long = "a".repeat(129);
    let short = "a".repeat(42);
    let malformed = [
        short.as_str(),
        long.as_str(),
        // 43 characters, one outside the alphabet ('+' decodes to a space).
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX%2B",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX%21",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+",
        // The challenge itself is not the verifier.
        CHALLENGE,
    ];
    for verifier in malformed {
        let code = fresh_code(&h, &c, "").await;
        let r = h
            .post(code_request(
                &c,
                &code,
                &format!("&code_verifier={verifier}"),
            ))
            .await;
        r.assert_error(400, "invalid_grant");
    }
    assert_eq!(h.store.access_token_count(), 0);
}

#[tokio::test]
async fn pkce_optional_for_confidential_clients_but_a_verifier_without_challenge_is_refused() {
    let h = harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .pkce_optional_for_confidential_clients()
    });
    let c = web_client(&h, false).await;
    let front_channel = |h: &Harness| {
        let id = c.id.clone();
        let server = h.server.clone();
        async move {
            let request = http::Request::get(format!(
                "https://auth.example/authorize?response_type=code&client_id={id}&state=s"
            ))
            .body(Vec::<u8>::new())
            .unwrap();
            let pending = server.authorization_request(&request).await.unwrap();
            let response = server.approve(pending, "alice", None).await.unwrap();
            param(&redirect_params(&response), "code")
                .unwrap()
                .to_owned()
        }
    };

    // No challenge, no verifier: fine.
    let code = front_channel(&h).await;
    assert_token_response(&h.post(code_request(&c, &code, "")).await);

    // No challenge, but a verifier: a PKCE downgrade (RFC 9700 §4.8.2).
    let code = front_channel(&h).await;
    h.post(code_request(&c, &code, &with_verifier()))
        .await
        .assert_error(400, "invalid_grant");

    // A confidential client that did send a challenge must still prove it.
    let code = fresh_code(&h, &c, "").await;
    h.post(code_request(&c, &code, ""))
        .await
        .assert_error(400, "invalid_grant");
    let code = fresh_code(&h, &c, "").await;
    assert_token_response(&h.post(code_request(&c, &code, &with_verifier())).await);
}

// ---------------------------------------------------------------------------
// Expiry, client binding, replay.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let h = code_harness();
    let c = h.native_client().await;

    // Just inside the 60 s lifetime: fine.
    let code = fresh_code(&h, &c, "").await;
    h.clock.advance(Duration::from_secs(59));
    assert_token_response(&h.redeem(&c, &code).await);

    let code = fresh_code(&h, &c, "").await;
    h.clock.advance(Duration::from_secs(61));
    h.redeem(&c, &code).await.assert_error(400, "invalid_grant");
    assert_eq!(h.store.access_token_count(), 1);
}

#[tokio::test]
async fn a_code_presented_by_another_client_is_invalid_grant() {
    let h = code_harness();
    let a = web_client(&h, true).await;
    let b = web_client(&h, true).await;
    let code = fresh_code(&h, &a, "").await;

    // B authenticates fine but the code is not B's: the same answer as an
    // unknown code, and nothing is issued to B.
    let r = h.post(code_request(&b, &code, &with_verifier())).await;
    r.assert_error(400, "invalid_grant");
    assert!(r.json.get("access_token").is_none());
    assert_eq!(r.description(), "invalid authorization code");
    assert_eq!(h.store.access_token_count(), 0);

    // B's attempt redeemed nothing: A still redeems its code, and the tokens
    // are A's.
    let r = h.post(code_request(&a, &code, &with_verifier())).await;
    assert_token_response(&r);
    let info = h
        .server
        .access_token_info(r.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.client_id.as_str(), a.id);
    assert_eq!(h.store.access_token_count(), 1);

    // B trying again after A's redemption is still refused and revokes
    // nothing.
    h.post(code_request(&b, &code, &with_verifier()))
        .await
        .assert_error(400, "invalid_grant");
    assert!(alive(&h, r.access_token()).await);
}

#[tokio::test]
async fn a_replayed_code_revokes_the_tokens_issued_from_it() {
    // RFC 6749 §4.1.2, RFC 6819 §5.2.1.1.
    let h = code_harness();
    let c = h.native_client().await;
    let code = fresh_code(&h, &c, "").await;
    let r = h.redeem(&c, &code).await;
    assert_token_response(&r);
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();
    assert!(alive(&h, &access).await);

    // An unrelated grant of the same client is not touched.
    let other_code = fresh_code(&h, &c, "").await;
    let other = h.redeem(&c, &other_code).await;
    assert_token_response(&other);

    h.redeem(&c, &code).await.assert_error(400, "invalid_grant");
    assert!(!alive(&h, &access).await, "access token survived a replay");
    h.post(refresh_request(&c, &refresh, ""))
        .await
        .assert_error(400, "invalid_grant");
    assert!(alive(&h, other.access_token()).await);
}

#[tokio::test]
async fn a_replayed_code_revokes_tokens_for_a_confidential_client_too() {
    let h = code_harness();
    let c = web_client(&h, true).await;
    let code = fresh_code(&h, &c, "").await;
    let r = h.post(code_request(&c, &code, &with_verifier())).await;
    assert_token_response(&r);
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();

    h.post(code_request(&c, &code, &with_verifier()))
        .await
        .assert_error(400, "invalid_grant");
    assert!(!alive(&h, &access).await);
    h.post(refresh_request(&c, &refresh, ""))
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_replay_by_another_client_does_not_revoke() {
    // Someone who holds a leaked code but not its client's credentials must
    // not be able to kill the user's tokens with it.
    let h = code_harness();
    let a = web_client(&h, true).await;
    let stranger = web_client(&h, true).await;
    let public_stranger = h.native_client().await;
    let code = fresh_code(&h, &a, "").await;
    let r = h.post(code_request(&a, &code, &with_verifier())).await;
    assert_token_response(&r);
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();

    for who in [&stranger, &public_stranger] {
        let r = h.post(code_request(who, &code, &with_verifier())).await;
        r.assert_error(400, "invalid_grant");
        assert!(r.json.get("access_token").is_none());
    }
    assert!(
        alive(&h, &access).await,
        "a stranger's replay revoked the grant"
    );
    let r = h.post(refresh_request(&a, &refresh, "")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

#[tokio::test]
async fn a_replay_that_fails_the_redemption_checks_does_not_revoke() {
    // A public client's client_id is no secret, so someone holding a leaked
    // code can present it *as* the client. Without the PKCE verifier (or with
    // the wrong redirect_uri) that must not revoke the user's tokens.
    let h = code_harness();
    let c = h.native_client().await;
    let used = "&redirect_uri=http%3A%2F%2F127.0.0.1%3A50000%2Fcb";
    let code = fresh_code(&h, &c, used).await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!("{}{used}", with_verifier()),
        ))
        .await;
    assert_token_response(&r);
    let access = r.access_token().to_owned();

    let wrong_verifier = "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx";
    for extra in [
        // No verifier.
        used.to_owned(),
        // A wrong verifier.
        format!("{wrong_verifier}{used}"),
        // A malformed verifier.
        format!("&code_verifier=short{used}"),
        // The right verifier, without the redirect_uri.
        with_verifier(),
        // The right verifier, another redirect_uri.
        format!(
            "{}&redirect_uri=http%3A%2F%2F127.0.0.1%3A50001%2Fcb",
            with_verifier()
        ),
    ] {
        h.post(code_request(&c, &code, &extra))
            .await
            .assert_error(400, "invalid_grant");
        assert!(alive(&h, &access).await, "revoked by a replay with {extra}");
    }

    // The full replay, with everything a redemption needs, does revoke.
    h.post(code_request(
        &c,
        &code,
        &format!("{}{used}", with_verifier()),
    ))
    .await
    .assert_error(400, "invalid_grant");
    assert!(!alive(&h, &access).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_yield_exactly_one_token() {
    // `AuthorizationCodeStore::redeem_code` redeems and stores the tokens in one atomic
    // step, so of 50 simultaneous redemptions exactly one is answered with
    // tokens. The others are the same client presenting a code that is
    // already redeemed — replays — so, as `GrantContext::redeem_code`
    // documents, the grant is revoked and the winner's tokens with it.
    const TASKS: usize = 50;
    for _ in 0..20 {
        let h = code_harness();
        let c = h.native_client().await;
        let code = fresh_code(&h, &c, "").await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let server = h.server.clone();
            let request = code_request(&c, &code, &with_verifier());
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                Reply::from(server.token_endpoint(request).await)
            }));
        }
        let mut ok = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r.status == 200 {
                ok.push(r);
            } else {
                r.assert_error(400, "invalid_grant");
            }
        }
        assert_eq!(ok.len(), 1, "{} redemptions succeeded", ok.len());
        let winner = &ok[0];
        assert_eq!(h.store.access_token_count(), 1);
        assert!(!alive(&h, winner.access_token()).await);
        let refresh = winner.json["refresh_token"].as_str().unwrap();
        h.post(refresh_request(&c, refresh, ""))
            .await
            .assert_error(400, "invalid_grant");
    }
}

// ---------------------------------------------------------------------------
// Malformed requests.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_codes_are_invalid_grant() {
    let h = code_harness();
    let c = h.native_client().await;
    let real = fresh_code(&h, &c, "").await;
    let body = real.strip_prefix("pc_ac_").unwrap().to_owned();
    let long = format!("pc_ac_{}", "A".repeat(5000));
    let candidates = [
        "abc".to_owned(),
        "pc_ac_".to_owned(),
        format!("pc_ac_{}", &body[..42]),
        format!("{real}A"),
        format!("pc_at_{body}"),
        format!("pc_rt_{body}"),
        format!("PC_AC_{body}"),
        body.clone(),
        format!("pc_ac_{}%21", &body[..42]),
        long,
        // Well-formed but never issued.
        format!("pc_ac_{}", "A".repeat(43)),
    ];
    for code in &candidates {
        h.redeem(&c, code).await.assert_error(400, "invalid_grant");
    }
    // None of that touched the real code.
    assert_token_response(&h.redeem(&c, &real).await);
}

#[tokio::test]
async fn missing_code_is_invalid_request() {
    let h = code_harness();
    let c = h.native_client().await;
    let body = format!(
        "grant_type=authorization_code&client_id={}&code_verifier={VERIFIER}",
        c.id
    );
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_request");
    // An empty value counts as omitted (RFC 6749 §3.1).
    let body = format!(
        "grant_type=authorization_code&code=&client_id={}&code_verifier={VERIFIER}",
        c.id
    );
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn repeated_code_parameter_is_invalid_request() {
    let h = code_harness();
    let c = h.native_client().await;
    let code = fresh_code(&h, &c, "").await;
    let r = h
        .post(code_request(
            &c,
            &code,
            &format!("&code={code}&code_verifier={VERIFIER}"),
        ))
        .await;
    r.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn a_client_not_registered_for_the_code_grant_is_unauthorized() {
    let h = code_harness();
    let c = h.cc_client().await;
    let code = format!("pc_ac_{}", "A".repeat(43));
    h.post(code_request(&c, &code, &with_verifier()))
        .await
        .assert_error(400, "unauthorized_client");
}
