//! DPoP at the token endpoint (RFC 9449 §4, §5, §8): proofs checked,
//! refused as the RFC says, and tokens bound to the proof's key — in the
//! token response, the stored token, a JWT access token, introspection and
//! a public client's refresh tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::dpop::{ProofKey, fresh_jti, jwt_claims};
use common::{
    Harness, Reply, TestClient, alive, basic, cc_request, harness_with, param, refresh_request,
    token_request,
};
use http::{HeaderValue, Request};
use portcullis::endpoint::Dpop;
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::protocol::Resource;
use portcullis::token::{Clock as _, Confirmation};
use serde_json::json;

const TOKEN_URL: &str = "https://auth.example/token";
const RS_NAME: &str = "rs";
const RS_SECRET: &str = "a-resource-server-secret-of-enough-length-0123456789";
const NONCE_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn dpop_harness() -> Harness {
    harness_with(|b| {
        let store = portcullis::MemoryStore::new();
        b.dpop(Dpop::new(store))
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .grant(portcullis::grant::RefreshTokenGrant)
            .introspection_credential(RS_NAME, RS_SECRET)
    })
}

fn nonce_harness() -> Harness {
    harness_with(|b| {
        b.dpop(
            Dpop::new(portcullis::MemoryStore::new())
                .require_nonce(NONCE_KEY, Duration::from_secs(60))
                .unwrap(),
        )
    })
}

/// `request` with `DPoP: proof`.
fn with_proof(mut request: Request<Vec<u8>>, proof: &str) -> Request<Vec<u8>> {
    request
        .headers_mut()
        .append("dpop", HeaderValue::from_str(proof).unwrap());
    request
}

/// A proof's claims for the token endpoint at the harness's start time,
/// with a fresh `jti`.
fn token_claims() -> serde_json::Value {
    let iat = common::start()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"jti": fresh_jti(), "htm": "POST", "htu": TOKEN_URL, "iat": iat})
}

/// The compact JWS of `header` and `claims` with `signature`, unsigned by
/// any key: what an attacker forges.
fn forged(header: &serde_json::Value, claims: &serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A proof for the token endpoint, now.
fn token_proof(h: &Harness, key: &ProofKey) -> String {
    key.proof("POST", TOKEN_URL, h.clock.now(), None, None)
}

async fn introspect(h: &Harness, token: &str) -> serde_json::Value {
    let request = Request::post("https://auth.example/introspect")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {RS_SECRET}"))
        .body(format!("token={}", common::form_encode(token)).into_bytes())
        .unwrap();
    let reply = Reply::from(h.server.introspection_endpoint(request).await);
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json
}

/// Asserts `400 invalid_dpop_proof` for the reason `why` (a word of the
/// description), and that no token came.
#[track_caller]
fn assert_invalid_proof(reply: &Reply, why: &str) {
    reply.assert_error(400, "invalid_dpop_proof");
    assert!(
        reply.description().contains(why),
        "{} does not say {why}",
        reply.description()
    );
    assert!(reply.json.get("access_token").is_none());
}

#[tokio::test]
async fn a_proof_binds_the_token_to_its_key() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let reply = h
        .post(with_proof(cc_request(&client, ""), &token_proof(&h, &key)))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    let info = h
        .server
        .access_token_info(reply.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));

    // RFC 9449 §6.2: introspection says DPoP and gives the thumbprint.
    let introspected = introspect(&h, reply.access_token()).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"], json!({"jkt": key.jkt()}));
}

#[tokio::test]
async fn without_a_proof_the_token_stays_a_bearer_token() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let reply = h.post(cc_request(&client, "")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["token_type"], "Bearer");
    let info = h
        .server
        .access_token_info(reply.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cnf, None);
    let introspected = introspect(&h, reply.access_token()).await;
    assert_eq!(introspected["token_type"], "Bearer");
    assert!(introspected.get("cnf").is_none());
}

#[tokio::test]
async fn a_server_without_dpop_ignores_the_header() {
    let h = common::harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let reply = h
        .post(with_proof(cc_request(&client, ""), &token_proof(&h, &key)))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["token_type"], "Bearer");
    assert!(
        h.server
            .metadata()
            .dpop_signing_alg_values_supported
            .is_empty()
    );
    let document: serde_json::Value = serde_json::from_slice(
        h.server
            .metadata_endpoint(
                Request::get(h.server.metadata_url().as_str())
                    .body(())
                    .unwrap(),
            )
            .body(),
    )
    .unwrap();
    assert!(document.get("dpop_signing_alg_values_supported").is_none());
}

#[tokio::test]
async fn metadata_lists_the_proof_algorithms() {
    let h = dpop_harness();
    let response = h.server.metadata_endpoint(
        Request::get(h.server.metadata_url().as_str())
            .body(())
            .unwrap(),
    );
    let document: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256", "PS256", "EdDSA"])
    );
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let proof = token_proof(&h, &key);
    let first = h.post(with_proof(cc_request(&client, ""), &proof)).await;
    assert_eq!(first.status, 200);
    let again = h.post(with_proof(cc_request(&client, ""), &proof)).await;
    assert_invalid_proof(&again, "already used");
}

#[tokio::test]
async fn a_proof_for_another_url_or_method_is_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let now = h.clock.now();
    for (htm, htu, why) in [
        ("POST", "https://auth.example/other", "another URI"),
        ("POST", "https://evil.example/token", "another URI"),
        ("POST", "http://auth.example/token", "another URI"),
        ("GET", TOKEN_URL, "another method"),
        ("post", TOKEN_URL, "another method"),
    ] {
        let proof = key.proof(htm, htu, now, None, None);
        let reply = h.post(with_proof(cc_request(&client, ""), &proof)).await;
        assert_invalid_proof(&reply, why);
    }
    // §4.3 item 9: the query and fragment are ignored, and the URI is
    // compared normalised.
    let proof = key.proof(
        "POST",
        "HTTPS://AUTH.example:443/token?x=1#f",
        now,
        None,
        None,
    );
    let reply = h.post(with_proof(cc_request(&client, ""), &proof)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

#[tokio::test]
async fn a_stale_or_future_iat_is_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let now = h.clock.now();
    for iat in [
        now - Duration::from_secs(120),
        now + Duration::from_secs(60),
    ] {
        let proof = key.proof("POST", TOKEN_URL, iat, None, None);
        let reply = h.post(with_proof(cc_request(&client, ""), &proof)).await;
        assert_invalid_proof(&reply, "iat");
    }
    // Within the window (60 s old, 5 s of skew) it passes.
    let proof = key.proof("POST", TOKEN_URL, now - Duration::from_secs(50), None, None);
    assert_eq!(
        h.post(with_proof(cc_request(&client, ""), &proof))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unsigned_and_symmetric_proofs_are_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    // alg none, with no signature; HS256 "signed" with 32 chosen bytes.
    for (alg, signature) in [("none", &[][..]), ("HS256", &[7u8; 32][..])] {
        let mut header = key.header();
        header["alg"] = json!(alg);
        let proof = forged(&header, &token_claims(), signature);
        assert_invalid_proof(
            &h.post(with_proof(cc_request(&client, ""), &proof)).await,
            "algorithm",
        );
    }
}

#[tokio::test]
async fn a_private_key_in_the_jwk_is_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let mut header = key.header();
    header["jwk"]["d"] = json!("jjUYDN1gqOaR-rB9E4bNXBFZkKDx2pUxSNhnhx2ccLQ");
    let proof = key.sign(&header, &token_claims());
    assert_invalid_proof(
        &h.post(with_proof(cc_request(&client, ""), &proof)).await,
        "jwk",
    );
}

#[tokio::test]
async fn a_bad_signature_a_missing_jwk_or_typ_is_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let refused = |proof: String, why: &'static str| {
        let reply = h.post(with_proof(cc_request(&client, ""), &proof));
        async move { assert_invalid_proof(&reply.await, why) }
    };
    // Signed by another key than the header's.
    refused(
        ProofKey::new().sign(&key.header(), &token_claims()),
        "signature",
    )
    .await;
    // The payload changed after signing.
    let proof = token_proof(&h, &key);
    let mut parts: Vec<&str> = proof.split('.').collect();
    let changed = URL_SAFE_NO_PAD.encode(token_claims().to_string());
    parts[1] = &changed;
    refused(parts.join("."), "signature").await;
    // No jwk; another typ; a missing claim; not a JWS.
    let mut header = key.header();
    header.as_object_mut().unwrap().remove("jwk");
    refused(key.sign(&header, &token_claims()), "jwk").await;
    let mut header = key.header();
    header["typ"] = json!("JWT");
    refused(key.sign(&header, &token_claims()), "typ").await;
    let mut claims = token_claims();
    claims.as_object_mut().unwrap().remove("jti");
    refused(key.sign(&key.header(), &claims), "required claim").await;
    refused("not.a.jwt".to_owned(), "malformed").await;
}

#[tokio::test]
async fn two_dpop_headers_are_refused() {
    let h = dpop_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let request = with_proof(cc_request(&client, ""), &token_proof(&h, &key));
    let request = with_proof(request, &token_proof(&h, &key));
    assert_invalid_proof(&h.post(request).await, "more than one");
}

#[tokio::test]
async fn a_missing_or_stale_nonce_gets_use_dpop_nonce() {
    let h = nonce_harness();
    let client = h.cc_client().await;
    let key = ProofKey::new();
    // No nonce: 400 use_dpop_nonce, and the nonce to use.
    let reply = h
        .post(with_proof(cc_request(&client, ""), &token_proof(&h, &key)))
        .await;
    reply.assert_error(400, "use_dpop_nonce");
    let nonce = reply.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    // A nonce the server never made.
    let forged = key.proof(
        "POST",
        TOKEN_URL,
        h.clock.now(),
        None,
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    h.post(with_proof(cc_request(&client, ""), &forged))
        .await
        .assert_error(400, "use_dpop_nonce");
    // With it: a bound token, and no new nonce yet.
    let proof = key.proof("POST", TOKEN_URL, h.clock.now(), None, Some(&nonce));
    let reply = h.post(with_proof(cc_request(&client, ""), &proof)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    assert_eq!(reply.header("dpop-nonce"), None);
    // A slot later the nonce still works, and a fresh one comes with the
    // tokens (§8.2).
    h.clock.advance(Duration::from_secs(60));
    let proof = key.proof("POST", TOKEN_URL, h.clock.now(), None, Some(&nonce));
    let reply = h.post(with_proof(cc_request(&client, ""), &proof)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let fresh = reply
        .header("dpop-nonce")
        .expect("a rotated nonce")
        .to_owned();
    assert_ne!(fresh, nonce);
    // Two slots later it is stale.
    h.clock.advance(Duration::from_secs(60));
    let proof = key.proof("POST", TOKEN_URL, h.clock.now(), None, Some(&nonce));
    let reply = h.post(with_proof(cc_request(&client, ""), &proof)).await;
    reply.assert_error(400, "use_dpop_nonce");
    assert!(reply.header("dpop-nonce").is_some());
}

/// Redeems a code for the public native client with a proof of `key`.
async fn public_tokens(h: &Harness, client: &TestClient, key: &ProofKey) -> Reply {
    let params = h.code_for(client, "").await;
    let code = param(&params, "code").unwrap().to_owned();
    let request = token_request(
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}",
            client.id,
            common::VERIFIER
        ),
    );
    let reply = h.post(with_proof(request, &token_proof(h, key))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    reply
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let h = dpop_harness();
    let client = h.native_client().await;
    let key = ProofKey::new();
    let reply = public_tokens(&h, &client, &key).await;
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();
    let introspected = introspect(&h, &refresh).await;
    assert_eq!(introspected["cnf"], json!({"jkt": key.jkt()}));

    // Another key's proof, and no proof at all: refused, and the token is
    // still good (nothing rotated, nothing revoked).
    let thief = ProofKey::new();
    let stolen = h
        .post(with_proof(
            refresh_request(&client, &refresh, ""),
            &token_proof(&h, &thief),
        ))
        .await;
    assert_invalid_proof(&stolen, "bound to");
    let bare = h.post(refresh_request(&client, &refresh, "")).await;
    assert_invalid_proof(&bare, "bound to");
    assert!(alive(&h, reply.access_token()).await);

    // The right key refreshes; the new refresh token keeps the binding.
    let refreshed = h
        .post(with_proof(
            refresh_request(&client, &refresh, ""),
            &token_proof(&h, &key),
        ))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
    assert_eq!(refreshed.json["token_type"], "DPoP");
    let next = refreshed.json["refresh_token"].as_str().unwrap();
    let stolen = h
        .post(with_proof(
            refresh_request(&client, next, ""),
            &token_proof(&h, &thief),
        ))
        .await;
    assert_invalid_proof(&stolen, "bound to");
    let introspected = introspect(&h, refreshed.access_token()).await;
    assert_eq!(introspected["cnf"], json!({"jkt": key.jkt()}));
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_bound_to_its_authentication() {
    let h = dpop_harness();
    let client = h
        .register(
            portcullis::client::ClientRegistration::web_application()
                .redirect_uri("https://client.example/cb")
                .grant_type(portcullis::protocol::GrantType::AUTHORIZATION_CODE)
                .grant_type(portcullis::protocol::GrantType::REFRESH_TOKEN)
                .scope("read".parse().unwrap()),
        )
        .await;
    let params = h.code_for(&client, "").await;
    let code = param(&params, "code").unwrap();
    let request = token_request(
        Some(&basic(&client.id, &client.secret)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&code_verifier={}",
            common::VERIFIER
        ),
    );
    let key = ProofKey::new();
    let reply = h.post(with_proof(request, &token_proof(&h, &key))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let refresh = reply.json["refresh_token"].as_str().unwrap();
    // RFC 9449 §5: a new key at refresh binds the new access token to it.
    let other = ProofKey::new();
    let refreshed = h
        .post(with_proof(
            refresh_request(&client, refresh, ""),
            &token_proof(&h, &other),
        ))
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json);
    let info = h
        .server
        .access_token_info(refreshed.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cnf, Some(Confirmation::jkt(other.jkt())));
}

#[tokio::test]
async fn a_jwt_access_token_carries_cnf() {
    const API: &str = "https://api.example";
    let h = harness_with(|b| {
        b.dpop(Dpop::new(portcullis::MemoryStore::new()))
            .signing_keys(
                KeySet::new()
                    .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
                    .unwrap(),
            )
            .resource(Resource::new(API).unwrap().jwt())
    });
    let client = h.cc_client().await;
    let key = ProofKey::new();
    let reply = h
        .post(with_proof(
            cc_request(&client, "&resource=https%3A%2F%2Fapi.example"),
            &token_proof(&h, &key),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    let claims = jwt_claims(reply.access_token());
    assert_eq!(claims["cnf"], json!({"jkt": key.jkt()}));
    assert_eq!(claims["aud"], API);
}

#[tokio::test]
async fn a_client_registered_for_dpop_gets_no_token_without_a_proof() {
    let h = dpop_harness();
    let client = h
        .register(
            portcullis::client::ClientRegistration::web_application()
                .grant_type(portcullis::protocol::GrantType::CLIENT_CREDENTIALS)
                .scope("read".parse().unwrap())
                .dpop_bound_access_tokens(true),
        )
        .await;
    assert_invalid_proof(&h.post(cc_request(&client, "")).await, "no DPoP proof");
    let key = ProofKey::new();
    let reply = h
        .post(with_proof(cc_request(&client, ""), &token_proof(&h, &key)))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
}

#[tokio::test]
async fn dynamic_registration_keeps_dpop_bound_access_tokens() {
    let metadata: portcullis::client::ClientMetadata = serde_json::from_value(json!({
        "client_name": "DPoP service",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "dpop_bound_access_tokens": true
    }))
    .unwrap();
    assert_eq!(metadata.dpop_bound_access_tokens, Some(true));
    let h = dpop_harness();
    let client = h
        .register(
            portcullis::client::ClientRegistration::web_application()
                .grant_type(portcullis::protocol::GrantType::CLIENT_CREDENTIALS)
                .dpop_bound_access_tokens(true),
        )
        .await;
    let stored = h.store.clone();
    let found = portcullis::client::ClientRegistry::find_client(&stored, &client.id)
        .await
        .unwrap()
        .unwrap();
    assert!(found.dpop_bound_access_tokens());
    let rendered = serde_json::to_value(portcullis::client::ClientMetadata::of(&found)).unwrap();
    assert_eq!(rendered["dpop_bound_access_tokens"], true);
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_to_the_key() {
    let h = dpop_harness();
    let client = h.native_client().await;
    let key = ProofKey::new();
    let params = h
        .code_for(&client, &format!("&dpop_jkt={}", key.jkt()))
        .await;
    let code = param(&params, "code").unwrap().to_owned();
    let redeem = |proof: String| {
        let request = token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}",
                client.id,
                common::VERIFIER
            ),
        );
        h.post(with_proof(request, &proof))
    };
    // RFC 9449 §10: another key cannot redeem it, and the refusal leaves it
    // redeemable.
    let thief = ProofKey::new();
    assert_invalid_proof(&redeem(token_proof(&h, &thief)).await, "bound to");
    let reply = redeem(token_proof(&h, &key)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
}

#[tokio::test]
async fn a_malformed_dpop_jkt_is_invalid_request() {
    let h = dpop_harness();
    let client = h.native_client().await;
    let refused = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256&state=xyz&dpop_jkt=short",
            client.id,
            common::CHALLENGE
        ))
        .await;
    let error = refused.expect_err("a malformed dpop_jkt is refused");
    assert_eq!(
        error.error().map(|e| e.code().as_str().to_owned()),
        Some("invalid_request".to_owned())
    );
    let response = error.into_http();
    assert_eq!(response.status(), 303);
    let params = common::redirect_params(&response);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
}

/// Token exchange (RFC 8693) of a DPoP-bound token: only with a proof of
/// its key, and the token it gives is bound to that key too. Without a
/// proof, or with another key's, the subject token is refused as an unknown
/// one is — or a stolen bound token could be traded for a bearer one.
#[tokio::test]
async fn a_bound_token_is_exchanged_only_with_a_proof_of_its_key() {
    let h = harness_with(|b| {
        b.dpop(Dpop::new(portcullis::MemoryStore::new()))
            .grant(portcullis::grant::TokenExchangeGrant::new())
    });
    let client = h
        .register(
            portcullis::client::ClientRegistration::web_application()
                .grant_type(portcullis::protocol::GrantType::CLIENT_CREDENTIALS)
                .grant_type(portcullis::protocol::GrantType::TOKEN_EXCHANGE),
        )
        .await;
    let key = ProofKey::new();
    let bound = h
        .post(with_proof(cc_request(&client, ""), &token_proof(&h, &key)))
        .await;
    assert_eq!(bound.status, 200, "{:?}", bound.json);
    let body = format!(
        "grant_type={}&subject_token={}&subject_token_type={}",
        common::form_encode("urn:ietf:params:oauth:grant-type:token-exchange"),
        common::form_encode(bound.access_token()),
        common::form_encode("urn:ietf:params:oauth:token-type:access_token"),
    );
    let exchange = || token_request(Some(&basic(&client.id, &client.secret)), &body);

    h.post(exchange()).await.assert_error(400, "invalid_grant");
    let other = ProofKey::new();
    h.post(with_proof(exchange(), &token_proof(&h, &other)))
        .await
        .assert_error(400, "invalid_grant");

    let reply = h.post(with_proof(exchange(), &token_proof(&h, &key))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    assert_ne!(reply.access_token(), bound.access_token());
    let info = h
        .server
        .access_token_info(reply.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));
}

/// Nonces a host asks for are never silently off (RFC 9449 §8): a key
/// shorter than 32 bytes, or a slot under a second, is an error.
#[test]
fn a_short_nonce_key_or_slot_is_refused() {
    use portcullis::endpoint::DpopNonceError;
    let dpop = || Dpop::new(portcullis::MemoryStore::new());
    assert_eq!(
        dpop()
            .require_nonce(&NONCE_KEY[..31], Duration::from_secs(60))
            .err(),
        Some(DpopNonceError::ShortKey)
    );
    assert_eq!(
        dpop()
            .require_nonce(NONCE_KEY, Duration::from_millis(999))
            .err(),
        Some(DpopNonceError::ShortSlot)
    );
    assert!(
        dpop()
            .require_nonce(NONCE_KEY, Duration::from_secs(1))
            .unwrap()
            .requires_nonce()
    );
}

const PAR_URL: &str = "https://auth.example/par";

/// A push of `client`'s code request (PKCE S256) to the PAR endpoint, with
/// `extra` parameters and a `DPoP` proof when given.
async fn push(h: &Harness, client: &TestClient, extra: &str, proof: Option<String>) -> Reply {
    let mut request = Request::post(PAR_URL)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            format!(
                "response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256\
                 &state=xyz{extra}",
                client.id,
                common::CHALLENGE
            )
            .into_bytes(),
        )
        .unwrap();
    if let Some(proof) = proof {
        request = with_proof(request, &proof);
    }
    Reply::from(
        h.server
            .pushed_authorization_request_endpoint(request)
            .await,
    )
}

/// RFC 9449 §10.1: a DPoP proof on a pushed authorization request binds
/// the code to its key, as `dpop_jkt` would: the code is redeemed with a
/// proof of that key only, and a refusal leaves it redeemable.
#[tokio::test]
async fn a_proof_on_a_pushed_request_binds_the_code_to_its_key() {
    let h = dpop_harness();
    let client = h.native_client().await;
    let key = ProofKey::new();
    let pushed = push(
        &h,
        &client,
        "",
        Some(key.proof("POST", PAR_URL, h.clock.now(), None, None)),
    )
    .await;
    assert_eq!(pushed.status, 201, "{:?}", pushed.json);
    let request_uri = pushed.json["request_uri"].as_str().unwrap();
    let pending = h
        .authorize(&format!(
            "client_id={}&request_uri={}",
            client.id,
            common::form_encode(request_uri)
        ))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = common::redirect_params(&response);
    let code = param(&params, "code").unwrap().to_owned();
    let redeem = |proof: Option<String>| {
        let request = token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}",
                client.id,
                common::VERIFIER
            ),
        );
        h.post(match proof {
            Some(proof) => with_proof(request, &proof),
            None => request,
        })
    };
    redeem(None).await.assert_error(400, "invalid_dpop_proof");
    let thief = ProofKey::new();
    assert_invalid_proof(&redeem(Some(token_proof(&h, &thief))).await, "bound to");
    let reply = redeem(Some(token_proof(&h, &key))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    let info = h
        .server
        .access_token_info(reply.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cnf, Some(Confirmation::jkt(key.jkt())));
}

/// RFC 9449 §10.1: a push whose proof is of another key than its
/// `dpop_jkt`, or whose proof fails the checks of §4.3 (here: made for the
/// token endpoint), is refused with `invalid_dpop_proof`, and no
/// `request_uri` is issued. The same `dpop_jkt` as the proof's is accepted.
#[tokio::test]
async fn a_pushed_request_with_a_mismatched_or_bad_proof_is_refused() {
    let h = dpop_harness();
    let client = h.native_client().await;
    let (key, other) = (ProofKey::new(), ProofKey::new());
    let par_proof = |k: &ProofKey| Some(k.proof("POST", PAR_URL, h.clock.now(), None, None));

    let mismatched = push(
        &h,
        &client,
        &format!("&dpop_jkt={}", other.jkt()),
        par_proof(&key),
    )
    .await;
    assert_invalid_proof(&mismatched, "dpop_jkt");
    assert!(mismatched.json.get("request_uri").is_none());

    let for_the_token_endpoint = push(&h, &client, "", Some(token_proof(&h, &key))).await;
    assert_invalid_proof(&for_the_token_endpoint, "URI");
    assert!(for_the_token_endpoint.json.get("request_uri").is_none());

    let matching = push(
        &h,
        &client,
        &format!("&dpop_jkt={}", key.jkt()),
        par_proof(&key),
    )
    .await;
    assert_eq!(matching.status, 201, "{:?}", matching.json);
}
