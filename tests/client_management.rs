//! Dynamic client registration management (RFC 7592): reading, updating and
//! deleting a registration at its client configuration endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

use http::Request;
use portcullis::client::{ClientRegistration, ClientRegistry};
use portcullis::endpoint::{
    ClientUpdate, DecisionError, DynamicRegistration, DynamicRegistrationError,
};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::protocol::GrantType;
use portcullis::store::{AuthorizationCodeStore, GrantStore};
use portcullis::token::TokenHash;
use serde_json::{Value, json};

const IAT: &str = "iat-Wq3Xv9Lr2Tn8Yb5Kc1Hd7Pf4Gs6Jm0Za";

fn managed() -> Harness {
    harness_with(|b| {
        b.grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .dynamic_registration(
                DynamicRegistration::with_initial_access_token(IAT)
                    .max_scope("read write".parse().unwrap()),
            )
    })
}

const WEB_APP: &str = r#"{
    "redirect_uris": ["https://app.example/cb"],
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "client_name": "Example App",
    "scope": "read write",
    "logo_uri": "https://app.example/logo.png"
}"#;

/// A registration as the client holds it: its credentials and the current
/// registration access token.
struct Registration {
    id: String,
    secret: String,
    uri: String,
    token: String,
}

impl Registration {
    fn client(&self) -> TestClient {
        TestClient {
            id: self.id.clone(),
            secret: self.secret.clone(),
        }
    }
}

impl Harness {
    async fn register_dynamic(&self, body: &str) -> Registration {
        let request = Request::post("https://auth.example/register")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {IAT}"))
            .body(body.as_bytes().to_vec())
            .unwrap();
        let reply = Reply::from(self.server.registration_endpoint(request).await);
        assert_eq!(reply.status, 201, "{:?}", reply.json);
        let j = &reply.json;
        Registration {
            id: j["client_id"].as_str().unwrap().to_owned(),
            secret: j["client_secret"].as_str().unwrap_or_default().to_owned(),
            uri: j["registration_client_uri"].as_str().unwrap().to_owned(),
            token: j["registration_access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn configure(&self, request: Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.client_configuration_endpoint(request).await)
    }

    async fn read(&self, uri: &str, token: &str) -> Reply {
        self.configure(
            Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Vec::new())
                .unwrap(),
        )
        .await
    }

    async fn update(&self, uri: &str, token: &str, body: &Value) -> Reply {
        self.configure(
            Request::put(uri)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).unwrap())
                .unwrap(),
        )
        .await
    }

    async fn delete(&self, uri: &str, token: &str) -> http::Response<Vec<u8>> {
        self.server
            .client_configuration_endpoint(
                Request::delete(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Vec::new())
                    .unwrap(),
            )
            .await
    }
}

#[tokio::test]
async fn read_returns_the_registration_without_the_secret_and_rotates_the_token() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let reply = h.read(&r.uri, &r.token).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.assert_no_store();
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let j = &reply.json;
    assert_eq!(j["client_id"], r.id.as_str());
    assert_eq!(j["client_name"], "Example App");
    assert_eq!(j["logo_uri"], "https://app.example/logo.png");
    assert_eq!(j["registration_client_uri"], r.uri.as_str());
    assert_eq!(
        j["client_id_issued_at"],
        start()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    // The secret is kept only as a hash: shown once, at registration.
    assert!(j.get("client_secret").is_none());
    assert!(j.get("client_secret_expires_at").is_none());
    // A new registration access token; the presented one is retired.
    let new_token = j["registration_access_token"].as_str().unwrap();
    assert_ne!(new_token, r.token);
    h.read(&r.uri, &r.token)
        .await
        .assert_error(401, "invalid_token");
    assert_eq!(h.read(&r.uri, new_token).await.status, 200);
    // The secret still authenticates the client.
    assert_eq!(h.post(cc_request(&r.client(), "")).await.status, 200);
}

#[tokio::test]
async fn concurrent_reads_with_one_token_yield_one_success() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let server = h.server.clone();
            let (uri, token) = (r.uri.clone(), r.token.clone());
            tokio::spawn(async move {
                let request = Request::get(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Vec::new())
                    .unwrap();
                server.client_configuration_endpoint(request).await.status()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap().as_u16() {
            200 => ok += 1,
            401 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_on_threads_yield_one_success() {
    let h = managed();
    for _ in 0..20 {
        let r = h.register_dynamic(WEB_APP).await;
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let server = h.server.clone();
                let (id, token) = (r.id.clone(), r.token.clone());
                tokio::spawn(
                    async move { server.read_client_configuration(&id, &token).await.is_ok() },
                )
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            ok += usize::from(task.await.unwrap());
        }
        assert_eq!(ok, 1);
    }
}

#[tokio::test]
async fn every_failure_to_authenticate_is_the_same_401() {
    let h = managed();
    let a = h.register_dynamic(WEB_APP).await;
    let b = h.register_dynamic(WEB_APP).await;
    let missing = h
        .configure(Request::get(&a.uri).body(Vec::new()).unwrap())
        .await;
    missing.assert_error(401, "invalid_token");
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"https://auth.example\"")
    );
    let unknown_uri = "https://auth.example/register/AAAAAAAAAAAAAAAAAAAAAA";
    let cases = [
        (
            a.uri.as_str(),
            "pc_ra_not-the-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        (a.uri.as_str(), "not-even-the-right-shape"),
        // Another client's token: never reveal that client `a` exists.
        (a.uri.as_str(), b.token.as_str()),
        (unknown_uri, a.token.as_str()),
        ("https://auth.example/register/", a.token.as_str()),
    ];
    let mut bodies = Vec::new();
    for (uri, token) in cases {
        for reply in [
            h.read(uri, token).await,
            h.update(uri, token, &json!({"client_id": a.id})).await,
            Reply::from(h.delete(uri, token).await),
        ] {
            reply.assert_error(401, "invalid_token");
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"https://auth.example\", error=\"invalid_token\"")
            );
            bodies.push(reply.json.clone());
        }
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    // Nothing above touched either client.
    assert_eq!(h.read(&a.uri, &a.token).await.status, 200);
    assert_eq!(h.read(&b.uri, &b.token).await.status, 200);
}

#[tokio::test]
async fn clients_registered_by_an_administrator_cannot_be_managed() {
    let h = managed();
    let admin = h.cc_client().await;
    let uri = format!("https://auth.example/register/{}", admin.id);
    for token in ["", "pc_ra_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        h.read(&uri, token).await.assert_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn update_replaces_the_registration() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let reply = h
        .update(
            &r.uri,
            &r.token,
            &json!({
                "client_id": r.id,
                "client_secret": r.secret,
                "redirect_uris": ["https://app.example/new-cb"],
                "grant_types": ["authorization_code", "client_credentials"],
                "client_name": "Renamed",
                "scope": "read",
                "token_endpoint_auth_method": "client_secret_post",
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.assert_no_store();
    let j = &reply.json;
    assert_eq!(j["client_name"], "Renamed");
    assert_eq!(j["redirect_uris"], json!(["https://app.example/new-cb"]));
    assert_eq!(
        j["grant_types"],
        json!(["authorization_code", "client_credentials"])
    );
    assert_eq!(j["scope"], "read");
    assert_eq!(j["token_endpoint_auth_method"], "client_secret_post");
    // Omitted members are deleted (RFC 7592 §2.2).
    assert!(j.get("logo_uri").is_none());
    // No new secret.
    assert!(j.get("client_secret").is_none());
    let token = j["registration_access_token"].as_str().unwrap();
    assert_ne!(token, r.token);

    let stored = h.store.find_client(&r.id).await.unwrap().unwrap();
    assert_eq!(stored.name(), Some("Renamed"));
    assert!(stored.info().logo_uri().is_none());
    assert!(!stored.allows_grant("refresh_token"));
    // The same secret, now by the new method only.
    let post = token_request(
        None,
        &format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            r.id,
            form_encode(&r.secret)
        ),
    );
    assert_eq!(h.post(post).await.status, 200);
    h.post(cc_request(&r.client(), ""))
        .await
        .assert_error(401, "invalid_client");
    // The new scope bounds token requests.
    h.post(token_request(
        None,
        &format!(
            "grant_type=client_credentials&scope=write&client_id={}&client_secret={}",
            r.id,
            form_encode(&r.secret)
        ),
    ))
    .await
    .assert_error(400, "invalid_scope");
    // The old token is retired, the new one works.
    h.read(&r.uri, &r.token)
        .await
        .assert_error(401, "invalid_token");
    assert_eq!(h.read(&r.uri, token).await.json["client_name"], "Renamed");
}

#[tokio::test]
async fn update_checks_identity_and_issued_values() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let base = || {
        json!({
            "client_id": r.id,
            "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["client_credentials"],
        })
    };
    let with = |member: &str, value: Value| {
        let mut body = base();
        body[member] = value;
        body
    };
    let issued = start()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut missing_id = base();
    missing_id.as_object_mut().unwrap().remove("client_id");
    let refused = [
        missing_id,
        with("client_id", json!("someone-else")),
        with("client_secret", json!("pc_cs_wrong")),
        with("registration_access_token", json!("pc_ra_other")),
        with("registration_client_uri", json!("https://evil.example/x")),
        with("client_secret_expires_at", json!(12345)),
        with("client_id_issued_at", json!(issued + 1)),
    ];
    for body in &refused {
        h.update(&r.uri, &r.token, body)
            .await
            .assert_error(400, "invalid_request");
    }
    // A refused update retires nothing: the token still works.
    let mut all = base();
    all["client_secret"] = json!(r.secret);
    all["registration_access_token"] = json!(r.token);
    all["registration_client_uri"] = json!(r.uri);
    all["client_secret_expires_at"] = json!(0);
    all["client_id_issued_at"] = json!(issued);
    let reply = h.update(&r.uri, &r.token, &all).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
}

#[tokio::test]
async fn update_validates_metadata_like_registration() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let cases = [
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"grant_types": ["authorization_code"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "logo_uri": "https://evil.example/l.png"}),
            "invalid_client_metadata",
        ),
        // Confidential to public, or away from the secret: a new client.
        (
            json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
    ];
    for (mut body, code) in cases {
        body["client_id"] = json!(r.id);
        h.update(&r.uri, &r.token, &body)
            .await
            .assert_error(400, code);
    }
    let wrong_type = Request::put(&r.uri)
        .header("authorization", format!("Bearer {}", r.token))
        .header("content-type", "text/plain")
        .body(b"{}".to_vec())
        .unwrap();
    h.configure(wrong_type)
        .await
        .assert_error(400, "invalid_request");
    let not_json = Request::put(&r.uri)
        .header("authorization", format!("Bearer {}", r.token))
        .header("content-type", "application/json")
        .body(b"{".to_vec())
        .unwrap();
    h.configure(not_json)
        .await
        .assert_error(400, "invalid_client_metadata");
    // None of that changed the client or retired the token.
    assert_eq!(
        h.read(&r.uri, &r.token).await.json["client_name"],
        "Example App"
    );
}

#[tokio::test]
async fn delete_removes_the_client_and_kills_its_tokens() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let other = h.register_dynamic(WEB_APP).await;
    let client = r.client();

    // Tokens of every kind, before the deletion.
    let cc_token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    let code = h.code_for(&client, "").await;
    let redeemed = h
        .post(token_request(
            Some(&basic(&client.id, &client.secret)),
            &format!(
                "grant_type=authorization_code&code={}&code_verifier={VERIFIER}",
                param(&code, "code").unwrap()
            ),
        ))
        .await;
    let user_token = redeemed.access_token().to_owned();
    let refresh = redeemed.json["refresh_token"].as_str().unwrap().to_owned();
    let unredeemed = h.code_for(&client, "").await;
    // A request waiting on a consent page, kept in the store.
    let mut pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            client.id
        ))
        .await
        .unwrap();
    h.server.defer(&mut pending).await.unwrap();
    let other_token = h
        .post(cc_request(&other.client(), ""))
        .await
        .access_token()
        .to_owned();
    for t in [&cc_token, &user_token, &other_token] {
        assert!(alive(&h, t).await);
    }

    let response = h.delete(&r.uri, &r.token).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
    assert_eq!(response.headers()["cache-control"], "no-store");

    // Every token of the client is dead at once …
    assert!(!alive(&h, &cc_token).await);
    assert!(!alive(&h, &user_token).await);
    h.post(refresh_request(&client, &refresh, ""))
        .await
        .assert_error(401, "invalid_client");
    h.post(token_request(
        Some(&basic(&client.id, &client.secret)),
        &format!(
            "grant_type=authorization_code&code={}&code_verifier={VERIFIER}",
            param(&unredeemed, "code").unwrap()
        ),
    ))
    .await
    .assert_error(401, "invalid_client");
    assert!(matches!(
        h.server.approve(pending, "alice", None).await,
        Err(DecisionError::NotPending)
    ));
    // The refresh token and the unredeemed code are gone from the store, not
    // merely unusable by a client that no longer authenticates.
    assert!(
        GrantStore::find_refresh_token(&h.store, &TokenHash::of(&refresh))
            .await
            .unwrap()
            .is_none()
    );
    let code_hash = TokenHash::of(param(&unredeemed, "code").unwrap());
    assert!(
        AuthorizationCodeStore::find_code(&h.store, &code_hash)
            .await
            .unwrap()
            .is_none()
    );
    // … the client can no longer authenticate or be found …
    h.post(cc_request(&client, ""))
        .await
        .assert_error(401, "invalid_client");
    assert!(h.store.find_client(&r.id).await.unwrap().is_none());
    assert!(
        h.authorize(&format!("response_type=code&client_id={}", r.id))
            .await
            .is_err()
    );
    // … nor managed; the other client is untouched.
    h.read(&r.uri, &r.token)
        .await
        .assert_error(401, "invalid_token");
    Reply::from(h.delete(&r.uri, &r.token).await).assert_error(401, "invalid_token");
    assert!(alive(&h, &other_token).await);
    assert_eq!(h.read(&other.uri, &other.token).await.status, 200);
}

#[tokio::test]
async fn delete_with_a_retired_token_is_refused_and_deletes_nothing() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let fresh = h.read(&r.uri, &r.token).await.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Reply::from(h.delete(&r.uri, &r.token).await).assert_error(401, "invalid_token");
    assert!(h.store.find_client(&r.id).await.unwrap().is_some());
    assert_eq!(h.delete(&r.uri, &fresh).await.status(), 204);
}

#[tokio::test]
async fn the_endpoint_serves_get_put_delete_only_and_only_when_enabled() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let post = Request::post(&r.uri)
        .header("authorization", format!("Bearer {}", r.token))
        .body(Vec::new())
        .unwrap();
    let reply = h.configure(post).await;
    reply.assert_error(405, "invalid_request");
    assert_eq!(reply.header("allow"), Some("GET, PUT, DELETE"));

    let off = harness();
    off.read(&r.uri, &r.token)
        .await
        .assert_error(404, "invalid_request");
}

#[tokio::test]
async fn an_administrator_can_delete_any_client_and_its_tokens() {
    let h = managed();
    let client = h.cc_client().await;
    let token = h
        .post(cc_request(&client, ""))
        .await
        .access_token()
        .to_owned();
    assert!(h.server.delete_client(&client.id).await.unwrap());
    assert!(!alive(&h, &token).await);
    h.post(cc_request(&client, ""))
        .await
        .assert_error(401, "invalid_client");
    // Repeatable: the client is gone, the call still succeeds.
    assert!(!h.server.delete_client(&client.id).await.unwrap());
    // A public native client registered by the administrator too.
    let native = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN),
        )
        .await;
    let code = h.code_for(&native, "").await;
    let reply = h.redeem(&native, param(&code, "code").unwrap()).await;
    let access = reply.access_token().to_owned();
    assert!(h.server.delete_client(&native.id).await.unwrap());
    assert!(!alive(&h, &access).await);
}

#[tokio::test]
async fn the_typed_layer_matches_the_endpoint() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let info = h
        .server
        .read_client_configuration(&r.id, &r.token)
        .await
        .unwrap();
    assert!(info.client_secret().is_none());
    assert_eq!(info.registration_client_uri().as_str(), r.uri);
    let token = info.registration_access_token().expose_secret().to_owned();
    assert!(!format!("{info:?}").contains(&token));

    let mut update = ClientUpdate::from_json(
        br#"{"grant_types": ["client_credentials"], "client_name": "Typed"}"#,
    )
    .unwrap();
    update.client_id = Some(r.id.clone());
    let info = h
        .server
        .update_client_configuration(&r.id, &token, update)
        .await
        .unwrap();
    assert_eq!(info.client().name(), Some("Typed"));
    let token = info.registration_access_token().expose_secret().to_owned();

    let err = h
        .server
        .delete_client_configuration(&r.id, "wrong")
        .await
        .unwrap_err();
    assert!(matches!(err, DynamicRegistrationError::InvalidToken { .. }));
    h.server
        .delete_client_configuration(&r.id, &token)
        .await
        .unwrap();
    assert!(h.store.find_client(&r.id).await.unwrap().is_none());
}

#[tokio::test]
async fn the_store_swaps_and_deletes_only_with_the_current_token() {
    let h = managed();
    let r = h.register_dynamic(WEB_APP).await;
    let stored = h.store.find_client(&r.id).await.unwrap().unwrap();
    let current = *stored.registration_access_token_hash().unwrap();
    let stale = TokenHash::of("pc_ra_stale");
    let renamed = h
        .server
        .read_client_configuration(&r.id, &r.token)
        .await
        .unwrap()
        .client()
        .clone();
    let now_current = *renamed.registration_access_token_hash().unwrap();
    assert_ne!(now_current, current);
    // The token that was current is no longer: no swap, no deletion.
    assert!(
        !h.store
            .update_client((*stored).clone(), Some(&current))
            .await
            .unwrap()
    );
    assert!(
        !h.store
            .update_client((*stored).clone(), Some(&stale))
            .await
            .unwrap()
    );
    assert!(!h.store.delete_client(&r.id, Some(&current)).await.unwrap());
    assert_eq!(
        h.store
            .find_client(&r.id)
            .await
            .unwrap()
            .unwrap()
            .registration_access_token_hash(),
        Some(&now_current)
    );
    // With the current one, both work; without a condition too.
    assert!(
        h.store
            .update_client((*stored).clone(), Some(&now_current))
            .await
            .unwrap()
    );
    assert!(
        h.store
            .update_client((*stored).clone(), None)
            .await
            .unwrap()
    );
    assert!(h.store.delete_client(&r.id, Some(&current)).await.unwrap());
    assert!(!h.store.delete_client(&r.id, None).await.unwrap());
    // An unknown client is never inserted by an update.
    assert!(
        !h.store
            .update_client((*stored).clone(), None)
            .await
            .unwrap()
    );
    assert!(h.store.find_client(&r.id).await.unwrap().is_none());
}
