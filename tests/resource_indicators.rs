//! Resource indicators (RFC 8707), RFC 9068 JWT access tokens, the JWKS
//! and key rotation, observed as clients and resource servers see them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod lifecycle;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    Harness, ISSUER, TestClient, cc_request, harness_with, param, redirect_params, refresh_request,
    start, token_request,
};
use http::Request;
use lifecycle::{RS_NAME, RS_SECRET, revocation, rs_introspection};
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::jose::{Algorithm, JwkSet, KeySet, PublicKey, SigningKey, UnverifiedJws};
use portcullis::protocol::{Resource, Scope};
use portcullis::resource::{BearerValidator, JwtAccessTokenSource, Realm, TokenSource};
use portcullis::{AuthorizationServer, BuildError};
use url::Url;

/// A JWT resource for `read` only, living 5 minutes.
const API: &str = "https://api.example/v1";
/// An opaque resource for `write`.
const FILES: &str = "https://files.example";
/// A resource for any scope.
const ANY: &str = "urn:example:any";

fn keys() -> KeySet {
    KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap()
}

fn resources(b: portcullis::ServerBuilder, keys: KeySet) -> portcullis::ServerBuilder {
    b.signing_keys(keys)
        .resource(
            Resource::new(API)
                .unwrap()
                .scopes("read".parse().unwrap())
                .jwt()
                .access_token_lifetime(Duration::from_secs(300)),
        )
        .resource(
            Resource::new(FILES)
                .unwrap()
                .scopes("write".parse().unwrap()),
        )
        .resource(Resource::new(ANY).unwrap())
        .introspection_credential(RS_NAME, RS_SECRET)
}

fn harness() -> Harness {
    harness_with(|b| {
        resources(b, keys())
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .grant(portcullis::grant::RefreshTokenGrant)
    })
}

fn enc(s: &str) -> String {
    common::form_encode(s)
}

/// The header and claims of a compact JWS, undecoded signature aside.
fn decode(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    let mut parts = jwt.split('.');
    let mut part =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (part(), part())
}

/// The server's JWKS as a resource server fetches it.
fn jwks(server: &AuthorizationServer) -> JwkSet {
    let response = server.jwks_endpoint(Request::get("/jwks").body(()).unwrap());
    JwkSet::from_json(response.body()).unwrap()
}

/// Verifies `jwt` with the server's published keys.
fn verify(server: &AuthorizationServer, jwt: &str) -> Result<Vec<u8>, portcullis::jose::JwsError> {
    let keys: Vec<PublicKey> = jwks(server)
        .keys
        .iter()
        .map(|k| PublicKey::from_jwk(k).unwrap())
        .collect();
    UnverifiedJws::parse(jwt)?
        .verify_with_any(&keys, &[Algorithm::Es256, Algorithm::Rs256])
        .map(|(payload, _)| payload)
}

async fn rs_ask(h: &Harness, token: &str) -> serde_json::Value {
    let (reply, _) = h.introspect(rs_introspection(RS_SECRET, token, "")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json
}

#[tokio::test]
async fn the_jwks_is_published_and_names_every_key() {
    let keys = keys()
        .with_key(SigningKey::generate(Algorithm::Rs256).unwrap())
        .unwrap();
    let h = harness_with(|b| resources(b, keys));
    let metadata = h.server.metadata();
    assert_eq!(
        metadata.jwks_uri.as_ref().map(Url::as_str),
        Some("https://auth.example/jwks")
    );
    let response = h
        .server
        .jwks_endpoint(Request::get("/jwks").body(()).unwrap());
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_ne!(kids[0], kids[1]);
    for key in keys {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{key}");
        }
    }
    let post = h
        .server
        .jwks_endpoint(Request::post("/jwks").body(()).unwrap());
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn a_server_without_keys_publishes_no_jwks_and_refuses_jwt_resources() {
    assert!(common::harness().server.metadata().jwks_uri.is_none());
    let store = portcullis::store::MemoryStore::new();
    let built = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .resource(Resource::new(API).unwrap().jwt())
        .build();
    assert!(matches!(built, Err(BuildError::MissingSigningKey(_))));
    let twice = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store.clone())
        .resource(Resource::new(ANY).unwrap())
        .resource(Resource::new(ANY).unwrap())
        .build();
    assert!(matches!(twice, Err(BuildError::InvalidResource(_))));
    let wrong_alg = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .tokens(store)
        .signing_keys(keys())
        .access_token_signing_alg(Algorithm::Rs256)
        .build();
    assert!(matches!(
        wrong_alg,
        Err(BuildError::MissingSigningKey("RS256"))
    ));
}

#[tokio::test]
async fn a_token_for_a_jwt_resource_is_an_rfc_9068_jwt() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h
        .post(cc_request(
            &c,
            &format!("&scope=read+write&resource={}", enc(API)),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // The scope is narrowed to what applies to the resource, and says so.
    assert_eq!(r.json["scope"], "read");
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 300);
    let jwt = r.access_token();
    let (header, claims) = decode(jwt);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let kid = header["kid"].as_str().unwrap();
    assert!(jwks(&h.server).find(kid).is_some());
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], API);
    // No user: `sub` is the client (RFC 9068 §2.2).
    assert_eq!(claims["sub"], c.id.as_str());
    assert_eq!(claims["client_id"], c.id.as_str());
    assert_eq!(claims["scope"], "read");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(
        iat,
        start()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    );
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300);
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
    verify(&h.server, jwt).unwrap();
    // Two tokens never share a jti.
    let again = h
        .post(cc_request(
            &c,
            &format!("&scope=read&resource={}", enc(API)),
        ))
        .await;
    assert_ne!(decode(again.access_token()).1["jti"], claims["jti"]);
}

#[tokio::test]
async fn unknown_malformed_and_inapplicable_resources_are_invalid_target() {
    let h = harness();
    let c = h.cc_client().await;
    for (resource, why) in [
        ("https://evil.example", "not known"),
        ("relative/path", "absolute URI"),
        ("https://api.example/v1#frag", "absolute URI"),
        ("https://api.example/v1/", "not known"),
    ] {
        let r = h
            .post(cc_request(
                &c,
                &format!("&scope=read&resource={}", enc(resource)),
            ))
            .await;
        r.assert_error(400, "invalid_target");
        assert!(
            r.description().contains(why),
            "{resource}: {}",
            r.description()
        );
    }
    // A JWT resource for `read` only, asked for with `write` alone.
    let r = h
        .post(cc_request(
            &c,
            &format!("&scope=write&resource={}", enc(API)),
        ))
        .await;
    r.assert_error(400, "invalid_target");
    assert!(r.description().contains("scope"));
}

#[tokio::test]
async fn opaque_resources_restrict_the_audience_too() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h
        .post(cc_request(
            &c,
            &format!(
                "&scope=read+write&resource={}&resource={}",
                enc(FILES),
                enc(ANY)
            ),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let token = r.access_token();
    assert!(token.starts_with("pc_at_"), "opaque for opaque resources");
    // ANY limits no scope, so nothing is narrowed.
    assert!(r.json.get("scope").is_none(), "{:?}", r.json);
    let info = h.server.access_token_info(token).await.unwrap().unwrap();
    let audience: Vec<&str> = info.audience.iter().map(|r| r.as_str()).collect();
    assert_eq!(audience, [FILES, ANY]);
    let json = rs_ask(&h, token).await;
    assert_eq!(json["aud"], serde_json::json!([FILES, ANY]));
    // Without `resource`, no audience at all.
    let plain = h.post(cc_request(&c, "&scope=read")).await;
    assert!(rs_ask(&h, plain.access_token()).await.get("aud").is_none());
}

#[tokio::test]
async fn jwt_access_tokens_introspect_and_revoke_like_opaque_ones() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h
        .post(cc_request(
            &c,
            &format!("&scope=read&resource={}", enc(API)),
        ))
        .await;
    let jwt = r.access_token().to_owned();
    let json = rs_ask(&h, &jwt).await;
    assert_eq!(json["active"], true);
    assert_eq!(json["aud"], API);
    assert_eq!(json["scope"], "read");
    assert_eq!(json["token_type"], "Bearer");
    assert!(h.server.access_token_info(&jwt).await.unwrap().is_some());

    let revoked = h.revoke(revocation(&c, &jwt, "")).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(rs_ask(&h, &jwt).await, serde_json::json!({"active": false}));
    assert!(h.server.access_token_info(&jwt).await.unwrap().is_none());
    // The resource server in process refuses it at once.
    let validator =
        BearerValidator::new(h.server.clone(), Realm::new("api").unwrap()).audience(API);
    let request = Request::get("/")
        .header("authorization", format!("Bearer {jwt}"))
        .body(Vec::new())
        .unwrap();
    let refused = validator
        .validate(&request, &Scope::empty())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401);
    // A forged JWT of the right shape is unknown, not an error.
    let forged = format!("{}x", &jwt[..jwt.len() - 1]);
    assert_eq!(
        rs_ask(&h, &forged).await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn the_code_remembers_its_resources_and_the_token_request_may_narrow_them() {
    let h = harness();
    let client = h.native_client().await;
    let params = h
        .code_for(
            &client,
            &format!(
                "&scope=read+write&resource={}&resource={}",
                enc(API),
                enc(FILES)
            ),
        )
        .await;
    let code = param(&params, "code").unwrap().to_owned();
    let redeem = |extra: String| {
        token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}{extra}",
                client.id,
                common::VERIFIER
            ),
        )
    };
    // A resource outside the authorization: refused, the code not used up.
    let widened = h.post(redeem(format!("&resource={}", enc(ANY)))).await;
    widened.assert_error(400, "invalid_target");
    // Narrowed to the JWT resource: its audience and its scope.
    let r = h.post(redeem(format!("&resource={}", enc(API)))).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["scope"], "read");
    let (_, claims) = decode(r.access_token());
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["sub"], "alice");
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();

    // A refresh may narrow to the other authorized resource…
    let files = h
        .post(refresh_request(
            &client,
            &refresh,
            &format!("&resource={}", enc(FILES)),
        ))
        .await;
    assert_eq!(files.status, 200, "{:?}", files.json);
    assert_eq!(files.json["scope"], "write");
    let info = h
        .server
        .access_token_info(files.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info.audience.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        [FILES]
    );
    let refresh = files.json["refresh_token"].as_str().unwrap().to_owned();
    // …never widen, and a refused refresh leaves the token usable.
    let widened = h
        .post(refresh_request(
            &client,
            &refresh,
            &format!("&resource={}", enc(ANY)),
        ))
        .await;
    widened.assert_error(400, "invalid_target");
    // Without `resource`, the grant's whole audience; a JWT, since one of
    // its resources asks for JWTs, with the grant's scope.
    let all = h.post(refresh_request(&client, &refresh, "")).await;
    assert_eq!(all.status, 200, "{:?}", all.json);
    let (_, claims) = decode(all.access_token());
    assert_eq!(claims["aud"], serde_json::json!([API, FILES]));
    assert_eq!(claims["scope"], "read write");
    // Asking to widen the scope is still invalid_scope, even with a
    // resource that would narrow it back.
    let refresh = all.json["refresh_token"].as_str().unwrap().to_owned();
    let r = h
        .post(refresh_request(
            &client,
            &refresh,
            &format!("&scope=read+admin&resource={}", enc(API)),
        ))
        .await;
    r.assert_error(400, "invalid_scope");
}

#[tokio::test]
async fn a_replayed_code_with_a_bad_resource_still_revokes_the_grant() {
    let h = harness();
    let client = h.native_client().await;
    let params = h
        .code_for(&client, &format!("&scope=read&resource={}", enc(API)))
        .await;
    let code = param(&params, "code").unwrap();
    let first = h.redeem(&client, code).await;
    assert_eq!(first.status, 200);
    let replay = h
        .post(token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}&resource={}",
                client.id,
                common::VERIFIER,
                enc(ANY)
            ),
        ))
        .await;
    replay.assert_error(400, "invalid_grant");
    assert!(
        h.server
            .access_token_info(first.access_token())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_unknown_resource_at_the_authorization_endpoint_is_an_error_redirect() {
    let h = harness();
    let client = h.native_client().await;
    let error = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256&state=s1&resource={}",
            client.id,
            common::CHALLENGE,
            enc("https://evil.example")
        ))
        .await
        .unwrap_err();
    let response = error.into_http();
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "error"), Some("invalid_target"));
    assert_eq!(param(&params, "state"), Some("s1"));
    assert_eq!(param(&params, "iss"), Some(ISSUER));
}

#[tokio::test]
async fn the_bearer_validator_refuses_a_token_for_another_resource() {
    let h = harness();
    let c = h.cc_client().await;
    let for_files = h
        .post(cc_request(
            &c,
            &format!("&scope=write&resource={}", enc(FILES)),
        ))
        .await;
    let unrestricted = h.post(cc_request(&c, "&scope=read")).await;
    let validator =
        BearerValidator::new(h.server.clone(), Realm::new("api").unwrap()).audience(API);
    let call = |token: &str| {
        Request::get("/")
            .header("authorization", format!("Bearer {token}"))
            .body(Vec::new())
            .unwrap()
    };
    let refused = validator
        .validate(&call(for_files.access_token()), &Scope::empty())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401);
    let response = refused.into_http();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let info = validator
        .validate(&call(unrestricted.access_token()), &Scope::empty())
        .await
        .unwrap();
    assert!(info.audience.is_empty());
}

/// Serves the server's JWKS as a host's HTTP client would fetch it, and
/// counts the fetches.
#[derive(Debug, Clone)]
struct JwksFetcher {
    server: Arc<Mutex<AuthorizationServer>>,
    fetches: Arc<AtomicUsize>,
}

impl Fetcher for JwksFetcher {
    fn get<'a>(
        &'a self,
        url: &'a Url,
        _limits: FetchLimits,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<http::Response<Vec<u8>>, FetchError>>
                + Send
                + 'a,
        >,
    > {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let server = self.server.lock().unwrap().clone();
        let url = url.clone();
        Box::pin(async move {
            assert_eq!(url.as_str(), "https://auth.example/jwks");
            Ok(server.jwks_endpoint(Request::get(url.path()).body(()).unwrap()))
        })
    }
}

fn local_source(h: &Harness, audience: &str) -> (JwtAccessTokenSource, Arc<AtomicUsize>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let fetcher = JwksFetcher {
        server: Arc::new(Mutex::new(h.server.clone())),
        fetches: fetches.clone(),
    };
    let source = JwtAccessTokenSource::new(
        ISSUER,
        Url::parse("https://auth.example/jwks").unwrap(),
        audience,
        fetcher,
    )
    .clock(h.clock.clone());
    (source, fetches)
}

#[tokio::test]
async fn a_resource_server_validates_jwts_locally_with_the_jwks() {
    let h = harness();
    let c = h.cc_client().await;
    let r = h
        .post(cc_request(
            &c,
            &format!("&scope=read&resource={}", enc(API)),
        ))
        .await;
    let jwt = r.access_token().to_owned();
    let (source, fetches) = local_source(&h, API);
    let info = source.token_info(&jwt).await.unwrap().unwrap();
    assert_eq!(info.client_id.as_ref().unwrap().as_str(), c.id);
    assert!(info.subject.is_none(), "a client's own token has no user");
    assert_eq!(info.scope.as_str(), "read");
    assert_eq!(info.audience, [API]);
    // Cached: a second token needs no fetch.
    assert!(source.token_info(&jwt).await.unwrap().is_some());
    assert_eq!(fetches.load(Ordering::SeqCst), 1);

    // Another resource's source refuses it (audience), as does everything
    // tampered with, and an opaque token.
    let (other, _) = local_source(&h, FILES);
    assert!(other.token_info(&jwt).await.unwrap().is_none());
    let (header, payload) = (
        jwt.split('.').next().unwrap(),
        jwt.split('.').nth(1).unwrap(),
    );
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["scope"] = "read admin".into();
    let tampered = format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        jwt.split('.').nth(2).unwrap()
    );
    assert!(source.token_info(&tampered).await.unwrap().is_none());
    let opaque = h.post(cc_request(&c, "&scope=read")).await;
    assert!(
        source
            .token_info(opaque.access_token())
            .await
            .unwrap()
            .is_none()
    );
    // Expired (past 5 minutes and the 60 s leeway).
    h.clock.advance(Duration::from_secs(361));
    assert!(source.token_info(&jwt).await.unwrap().is_none());
}

#[tokio::test]
async fn an_id_token_shaped_jwt_of_the_same_key_is_not_an_access_token() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let h = harness_with(|b| {
        resources(
            b,
            KeySet::new()
                .with_key(
                    SigningKey::from_pkcs8(
                        Algorithm::Es256,
                        key.to_pkcs8().unwrap().expose_secret(),
                    )
                    .unwrap(),
                )
                .unwrap(),
        )
    });
    let now = start()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "alice", "aud": API, "exp": now + 60, "iat": now, "client_id": "c"
    });
    // Signed by the server's own key, but typed as a plain JWT.
    let plain = portcullis::jose::sign_json(&key, Some("JWT"), &claims)
        .await
        .unwrap();
    let typed = portcullis::jose::sign_json(&key, Some("at+jwt"), &claims)
        .await
        .unwrap();
    let (source, _) = local_source(&h, API);
    assert!(source.token_info(&plain).await.unwrap().is_none());
    assert!(source.token_info(&typed).await.unwrap().is_some());
}

#[tokio::test]
async fn keys_rotate_without_breaking_a_token_in_flight() {
    let h = harness();
    let c = h.cc_client().await;
    let get = |h: &Harness| {
        let c = TestClient {
            id: c.id.clone(),
            secret: c.secret.clone(),
        };
        let server = h.server.clone();
        async move {
            let r = server
                .token_endpoint(cc_request(
                    &c,
                    &format!("&scope=read&resource={}", enc(API)),
                ))
                .await;
            let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let old_token = get(&h).await;
    let old_kid = decode(&old_token).0["kid"].as_str().unwrap().to_owned();
    let (source, fetches) = local_source(&h, API);
    assert!(source.token_info(&old_token).await.unwrap().is_some());

    // 1. Stage: published, not signing.
    let next = SigningKey::generate(Algorithm::Es256).unwrap();
    let next_kid = next.key_id().to_owned();
    h.server.signing_keys().stage(next).unwrap();
    assert!(jwks(&h.server).find(&next_kid).is_some());
    assert_eq!(decode(&get(&h).await).0["kid"], old_kid.as_str());

    // 2. After the JWKS's cache lifetime, activate: new tokens name the new
    //    key, and the old token still verifies — the old key stays
    //    published as long as the tokens it signed live.
    h.clock.advance(Duration::from_secs(300));
    assert_eq!(
        h.server.rotate_signing_key(&next_kid).unwrap(),
        Some(old_kid.clone())
    );
    let new_token = get(&h).await;
    assert_eq!(decode(&new_token).0["kid"], next_kid.as_str());
    verify(&h.server, &new_token).unwrap();
    verify(&h.server, &old_token).unwrap();
    // A resource server that cached the set before the new key existed
    // fetches it again for the unknown kid…
    let before = fetches.load(Ordering::SeqCst);
    assert!(source.token_info(&new_token).await.unwrap().is_some());
    assert_eq!(fetches.load(Ordering::SeqCst), before + 1);
    // …but at most once per interval, whatever kids tokens name.
    let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
    let claims = decode(&new_token).1;
    for _ in 0..5 {
        let forged = portcullis::jose::sign_json(&stranger, Some("at+jwt"), &claims)
            .await
            .unwrap();
        assert!(source.token_info(&forged).await.unwrap().is_none());
    }
    assert_eq!(fetches.load(Ordering::SeqCst), before + 1);

    // 3. Once the longest token lifetime (10 minutes here) and a minute
    //    have passed, the old key leaves the JWKS.
    h.clock.advance(Duration::from_secs(600 + 60));
    assert!(jwks(&h.server).find(&old_kid).is_none());
    assert!(jwks(&h.server).find(&next_kid).is_some());
    assert_eq!(
        h.server
            .signing_keys()
            .purge(start() + Duration::from_secs(961)),
        1
    );
}

#[tokio::test]
async fn resources_survive_the_sql_store() {
    // The same flow on SQLite: the grant's resources, the token's audience
    // and its narrowed scope are stored and read back.
    let dir = std::env::temp_dir().join(format!("portcullis-resources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = portcullis::store::SqlStore::sqlite(dir.join("db.sqlite"))
        .await
        .unwrap();
    let clock = Arc::new(portcullis::token::ManualClock::new(start()));
    let server = resources(
        AuthorizationServer::builder(ISSUER)
            .clients(store.clone())
            .tokens(store.clone())
            .clock(clock.clone())
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .grant(portcullis::grant::RefreshTokenGrant),
        keys(),
    )
    .build()
    .unwrap();
    let h = Harness {
        server,
        store: portcullis::store::MemoryStore::new(),
        clock,
    };
    let client = h.native_client().await;
    let params = h
        .code_for(
            &client,
            &format!(
                "&scope=read+write&resource={}&resource={}",
                enc(API),
                enc(FILES)
            ),
        )
        .await;
    let r = h.redeem(&client, param(&params, "code").unwrap()).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let (_, claims) = decode(r.access_token());
    assert_eq!(claims["aud"], serde_json::json!([API, FILES]));
    let refresh = r.json["refresh_token"].as_str().unwrap();
    let narrowed = h
        .post(refresh_request(
            &client,
            refresh,
            &format!("&resource={}", enc(FILES)),
        ))
        .await;
    assert_eq!(narrowed.status, 200, "{:?}", narrowed.json);
    let info = h
        .server
        .access_token_info(narrowed.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.scope.as_str(), "write");
    assert_eq!(
        info.audience.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        [FILES]
    );
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
