//! The FAPI 2.0 Security Profile's flow (FAPI 2.0 §5.3.1, §5.3.2) run
//! end to end against the example server over real HTTP on loopback, as a
//! confidential client would run it: registration with inline `jwks`,
//! `private_key_jwt`, `require_pushed_authorization_requests` and
//! `dpop_bound_access_tokens`; a pushed request with a client assertion,
//! PKCE S256 and a DPoP proof (which binds the code to the key, RFC 9449
//! §10.1); the browser's sign-in and consent; the code redeemed with a
//! proof of the same key; the DPoP-bound tokens at `/api/me`, UserInfo,
//! introspection and refresh — and the refusals an attacker meets at each
//! step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;
#[path = "common/dpop.rs"]
mod proofs;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use example::{Browser, Reply, Server, get, post_form, request, start};
use portcullis::endpoint::Endpoint;
use portcullis::jose::{Algorithm, SigningKey, sign_json};
use proofs::{ProofKey, fresh_jti, jwt_claims};
use serde_json::json;

const REGISTRATION_TOKEN: &str = "iat-Fp2vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
const CALLBACK: &str = "https://rp.example/fapi/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A confidential FAPI client: its id and the key it signs assertions with.
struct Client {
    id: String,
    key: SigningKey,
}

impl Client {
    /// Registers through RFC 7591 with `private_key_jwt` (ES256, inline
    /// `jwks`), PAR and DPoP required.
    async fn register(server: &Server) -> Self {
        let key = SigningKey::generate(Algorithm::Es256)
            .unwrap()
            .with_key_id("fapi-client")
            .unwrap();
        let reply = request(
            "POST",
            &server.endpoint(Endpoint::Registration),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &format!("Bearer {REGISTRATION_TOKEN}")),
            ],
            json!({
                "client_name": "FAPI client",
                "redirect_uris": [CALLBACK],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "ES256",
                "jwks": { "keys": [key.public_jwk()] },
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": "openid read",
                "require_pushed_authorization_requests": true,
                "dpop_bound_access_tokens": true,
            })
            .to_string(),
        )
        .await;
        assert_eq!(reply.status(), 201, "{}", reply.text());
        let info = reply.json();
        assert_eq!(info["token_endpoint_auth_method"], "private_key_jwt");
        assert_eq!(info["require_pushed_authorization_requests"], true);
        assert_eq!(info["dpop_bound_access_tokens"], true);
        assert!(info.get("client_secret").is_none(), "{info}");
        Self {
            id: info["client_id"].as_str().unwrap().to_owned(),
            key,
        }
    }

    /// A fresh client assertion (RFC 7523 §3) for `server`: `aud` is the
    /// issuer as a string, as FAPI 2.0 §5.3.2.1-8 has it.
    async fn assertion(&self, server: &Server) -> String {
        let now = now();
        sign_json(
            &self.key,
            None,
            &json!({
                "iss": self.id,
                "sub": self.id,
                "aud": server.issuer(),
                "jti": fresh_jti(),
                "iat": now,
                "exp": now + 60,
            }),
        )
        .await
        .unwrap()
    }

    /// A form POST to `endpoint` authenticated with an assertion, with a
    /// DPoP proof by `dpop` (if any) and `pairs`.
    async fn post(
        &self,
        server: &Server,
        endpoint: Endpoint,
        dpop: Option<&ProofKey>,
        pairs: &[(&str, &str)],
    ) -> Reply {
        let url = server.endpoint(endpoint);
        let assertion = self.assertion(server).await;
        let mut form = vec![
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        form.extend_from_slice(pairs);
        let proof = dpop.map(|key| key.proof("POST", &url, SystemTime::now(), None, None));
        let headers: Vec<(&str, &str)> = proof.iter().map(|p| ("DPoP", p.as_str())).collect();
        post_form(&url, &headers, &form).await
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

async fn server() -> Server {
    start(&[
        "--user",
        "alice:wonderland",
        "--registration-token",
        REGISTRATION_TOKEN,
    ])
    .await
}

/// The authorization request a FAPI client pushes: code, PKCE S256, the
/// redirect URI (required in a pushed request, §5.3.2.2-6), `state` and
/// `nonce`.
fn authorization_request(client_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", CALLBACK.to_owned()),
        ("scope", "openid read".to_owned()),
        ("state", "fapi-state".to_owned()),
        ("nonce", "n-0S6_WzA2Mj".to_owned()),
        ("code_challenge", CHALLENGE.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

fn pairs<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// The browser at the authorization endpoint with `request_uri`, signing in
/// as alice and approving: the redirect's parameters.
async fn authorize(
    server: &Server,
    client_id: &str,
    request_uri: &str,
) -> BTreeMap<String, String> {
    let url = format!(
        "{}?{}",
        server.endpoint(Endpoint::Authorization),
        example::form(&[("client_id", client_id), ("request_uri", request_uri)])
    );
    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    assert_eq!(page.status(), 200, "{}", page.text());
    let signed_in = browser.sign_in(&page, "alice", "wonderland").await;
    let consent = browser.follow(&signed_in).await;
    assert!(consent.text().contains("FAPI client"), "{}", consent.text());
    let approved = browser.submit(&consent, &[("decision", "approve")]).await;
    // §5.3.2.2-10, -11: never 307; 303 it is.
    assert_eq!(approved.status(), 303, "{}", approved.text());
    assert!(approved.location().as_str().starts_with(CALLBACK));
    approved.location_params()
}

/// The form that redeems `code`: PKCE verifier and redirect URI.
fn redemption(code: &str) -> [(&'static str, &str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ]
}

impl Client {
    /// Pushes `params` with an assertion and a proof by `dpop`, then runs
    /// the browser through the `request_uri`: the redirect's parameters.
    async fn push_and_authorize(
        &self,
        server: &Server,
        dpop: &ProofKey,
        params: &[(&'static str, String)],
    ) -> BTreeMap<String, String> {
        let pushed = self
            .post(
                server,
                Endpoint::PushedAuthorization,
                Some(dpop),
                &pairs(params),
            )
            .await;
        assert_eq!(pushed.status(), 201, "{}", pushed.text());
        let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
        authorize(server, &self.id, &request_uri).await
    }
}

/// A GET of `url` with `Authorization: <scheme> <token>` and a proof by
/// `key` for it, if given.
async fn call(url: &str, scheme: &str, token: &str, key: Option<&ProofKey>) -> Reply {
    let authorization = format!("{scheme} {token}");
    let proof = key.map(|k| k.proof("GET", url, SystemTime::now(), Some(token), None));
    let mut headers = vec![("Authorization", authorization.as_str())];
    if let Some(proof) = &proof {
        headers.push(("DPoP", proof));
    }
    get(url, &headers).await
}

#[tokio::test]
async fn the_fapi2_flow_runs_end_to_end_with_par_private_key_jwt_dpop_and_pkce() {
    let server = server().await;
    let metadata = get(&server.url("/.well-known/openid-configuration"), &[])
        .await
        .json();
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        server.endpoint(Endpoint::PushedAuthorization)
    );
    for (field, value) in [
        ("token_endpoint_auth_methods_supported", "private_key_jwt"),
        ("dpop_signing_alg_values_supported", "ES256"),
        ("code_challenge_methods_supported", "S256"),
    ] {
        let values = metadata[field].as_array().unwrap();
        assert!(values.contains(&json!(value)), "{field}: {metadata}");
    }
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );

    let client = Client::register(&server).await;
    let dpop = ProofKey::new();
    let params = authorization_request(&client.id);

    // Not pushed: refused, and not redirected (§5.3.2.2-3).
    let mut browser = Browser::new();
    let plain = browser
        .get(&format!(
            "{}?{}",
            server.endpoint(Endpoint::Authorization),
            example::form(&pairs(&params))
        ))
        .await;
    assert_eq!(plain.status(), 400, "{}", plain.text());
    assert!(plain.header("location").is_none());

    // Pushed without client authentication: refused (§5.3.2.2-4).
    let unauthenticated = post_form(
        &server.endpoint(Endpoint::PushedAuthorization),
        &[],
        &pairs(&params),
    )
    .await;
    // RFC 6749 §5.2: 401 only where the client tried the Authorization
    // header; a failed form credential (or none) is a 400.
    assert_eq!(unauthenticated.status(), 400, "{}", unauthenticated.text());
    assert_eq!(unauthenticated.json()["error"], "invalid_client");

    // Pushed with an assertion and a proof, which binds the code to the key.
    let pushed = client
        .post(
            &server,
            Endpoint::PushedAuthorization,
            Some(&dpop),
            &pairs(&params),
        )
        .await;
    assert_eq!(pushed.status(), 201, "{}", pushed.text());
    let expires_in = pushed.json()["expires_in"].as_u64().unwrap();
    assert!(expires_in > 0 && expires_in < 600, "{expires_in}");
    let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();

    let redirect = authorize(&server, &client.id, &request_uri).await;
    assert_eq!(redirect["state"], "fapi-state");
    assert_eq!(redirect["iss"], server.issuer(), "RFC 9207 iss");
    let redeem = redemption(&redirect["code"]);

    // Another key's proof cannot redeem the bound code, and burns nothing.
    let thief = ProofKey::new();
    let stolen = client
        .post(&server, Endpoint::Token, Some(&thief), &redeem)
        .await;
    assert_eq!(stolen.status(), 400, "{}", stolen.text());
    assert_eq!(stolen.json()["error"], "invalid_dpop_proof");
    // Without a proof: a client registered for DPoP gets nothing.
    let unproven = client.post(&server, Endpoint::Token, None, &redeem).await;
    assert_eq!(unproven.status(), 400, "{}", unproven.text());
    assert_eq!(unproven.json()["error"], "invalid_dpop_proof");
    // A wrong verifier: PKCE.
    let mut wrong_verifier = redeem;
    wrong_verifier[3] = (
        "code_verifier",
        "wrong-verifier-wrong-verifier-wrong-verifier",
    );
    let refused = client
        .post(&server, Endpoint::Token, Some(&dpop), &wrong_verifier)
        .await;
    assert_eq!(refused.status(), 400, "{}", refused.text());
    assert_eq!(refused.json()["error"], "invalid_grant");

    // None of those used the code up: the right redemption works.
    let tokens = client
        .post(&server, Endpoint::Token, Some(&dpop), &redeem)
        .await;
    assert_eq!(tokens.status(), 200, "{}", tokens.text());
    let body = tokens.json();
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let id_token = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["aud"], client.id.as_str());
    assert_eq!(id_token["nonce"], "n-0S6_WzA2Mj");

    // The code once only (§5.3.2.2-9), and its replay kills its tokens.
    let replayed = client
        .post(&server, Endpoint::Token, Some(&dpop), &redeem)
        .await;
    assert_eq!(replayed.status(), 400, "{}", replayed.text());
    assert_eq!(replayed.json()["error"], "invalid_grant");
    let me = server.url(example::app::RESOURCE_PATH);
    assert_eq!(call(&me, "DPoP", &access, Some(&dpop)).await.status(), 401);

    // A fresh flow for the rest: the tokens are held to the key.
    let redirect = client.push_and_authorize(&server, &dpop, &params).await;
    let tokens = client
        .post(
            &server,
            Endpoint::Token,
            Some(&dpop),
            &redemption(&redirect["code"]),
        )
        .await;
    assert_eq!(tokens.status(), 200, "{}", tokens.text());
    let body = tokens.json();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let id_token = jwt_claims(body["id_token"].as_str().unwrap());

    let reply = call(&me, "DPoP", &access, Some(&dpop)).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(call(&me, "Bearer", &access, None).await.status(), 401);
    assert_eq!(call(&me, "DPoP", &access, Some(&thief)).await.status(), 401);
    let userinfo = server.endpoint(Endpoint::UserInfo);
    let reply = call(&userinfo, "DPoP", &access, Some(&dpop)).await;
    assert_eq!(reply.status(), 200, "{}", reply.text());
    assert_eq!(reply.json()["sub"], id_token["sub"]);

    let introspected = client
        .post(
            &server,
            Endpoint::Introspection,
            None,
            &[("token", access.as_str())],
        )
        .await;
    assert_eq!(introspected.status(), 200, "{}", introspected.text());
    let introspected = introspected.json();
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], dpop.jkt().as_str());

    // Refresh with a proof of the key: a new DPoP-bound access token.
    let refreshed = client
        .post(
            &server,
            Endpoint::Token,
            Some(&dpop),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.text());
    let refreshed = refreshed.json();
    assert_eq!(refreshed["token_type"], "DPoP");
    let renewed = refreshed["access_token"].as_str().unwrap();
    assert_eq!(call(&me, "DPoP", renewed, Some(&dpop)).await.status(), 200);
    assert_eq!(call(&me, "Bearer", renewed, None).await.status(), 401);

    // Revocation with an assertion ends the grant.
    let revoked = client
        .post(
            &server,
            Endpoint::Revocation,
            None,
            &[(
                "token",
                refreshed["refresh_token"].as_str().unwrap_or(&refresh),
            )],
        )
        .await;
    assert_eq!(revoked.status(), 200, "{}", revoked.text());
    assert_eq!(call(&me, "DPoP", renewed, Some(&dpop)).await.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn a_fapi_client_is_refused_without_its_assertion_or_with_a_secret() {
    let server = server().await;
    let client = Client::register(&server).await;
    let params = authorization_request(&client.id);
    let dpop = ProofKey::new();

    // An assertion signed by another key.
    let impostor = Client {
        id: client.id.clone(),
        key: SigningKey::generate(Algorithm::Es256)
            .unwrap()
            .with_key_id("fapi-client")
            .unwrap(),
    };
    let pushed = impostor
        .post(
            &server,
            Endpoint::PushedAuthorization,
            Some(&dpop),
            &pairs(&params),
        )
        .await;
    assert_eq!(pushed.status(), 400, "{}", pushed.text());
    assert_eq!(pushed.json()["error"], "invalid_client");

    // A client secret, for a client registered for private_key_jwt.
    let basic = example::basic(&client.id, "guessed-secret");
    let pushed = post_form(
        &server.endpoint(Endpoint::PushedAuthorization),
        &[("Authorization", &basic)],
        &pairs(&params),
    )
    .await;
    assert_eq!(pushed.status(), 401, "{}", pushed.text());
    assert_eq!(pushed.json()["error"], "invalid_client");

    // The same assertion twice: its jti was used.
    let assertion = client.assertion(&server).await;
    let mut form = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    form.extend(pairs(&params));
    let url = server.endpoint(Endpoint::PushedAuthorization);
    assert_eq!(post_form(&url, &[], &form).await.status(), 201);
    let replayed = post_form(&url, &[], &form).await;
    assert_eq!(replayed.status(), 400, "{}", replayed.text());
    assert_eq!(replayed.json()["error"], "invalid_client");

    // A proof whose key differs from the dpop_jkt the request names.
    let mut bound = pairs(&params);
    let other = ProofKey::new();
    let jkt = other.jkt();
    bound.push(("dpop_jkt", jkt.as_str()));
    let mismatched = client
        .post(&server, Endpoint::PushedAuthorization, Some(&dpop), &bound)
        .await;
    assert_eq!(mismatched.status(), 400, "{}", mismatched.text());
    assert_eq!(mismatched.json()["error"], "invalid_dpop_proof");
    server.stop().await;
}
