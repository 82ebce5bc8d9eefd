//! JWT client authentication (RFC 7523 §2.2, §3; RFC 7521 §4.2) at the
//! token, revocation, introspection and device authorization endpoints, on
//! a memory store with a `private_key_jwt` client (`jwt-client`, an ES256
//! key `k1`) and a `client_secret_jwt` client (`secret-jwt-client`).
//!
//! Input, one item a line: the endpoint (`token`, `revoke`, `introspect`,
//! `device`); the key (`right`, `wrong`, `none`, `secret`, `public`); the
//! JWS header's JSON; the claims' JSON; then the rest of the form body,
//! appended after the assertion. In the header and claims, `$ID` is
//! `jwt-client`, `$ISS` the issuer, `$URL` the endpoint's URL, `$NOW` the
//! server's time in seconds and `$EXP` a minute later. The target signs
//! the header and claims as they are, with the key named, so the fuzzer
//! reaches the claim checks behind the signature.
//!
//! - Never 5xx; an error has an `error` from RFC 6749 §5.2 (and RFC 8628
//!   §3.5, RFC 7009, RFC 7662) and never contains the assertion.
//! - A request that authenticates (a success, or a refusal that comes only
//!   after authentication, such as `invalid_scope`) had an assertion the
//!   reference accepts: signed with
//!   the client's own key or secret, `iss` = `sub` = the client, one `aud`
//!   (the issuer or the endpoint), `exp` at most 5 minutes away and not
//!   past (30 seconds' leeway), a `jti`.
//! - Sent again, the same assertion never authenticates (RFC 7523 §3 item
//!   7): the replay is `invalid_client`.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Request;
use libfuzzer_sys::fuzz_target;
use portcullis::MemoryStore;
use portcullis::client::{AuthMethod, ClientRegistration};
use portcullis::jose::{Algorithm, JwkSet, SigningKey};
use portcullis::protocol::GrantType;
use portcullis_fuzz::{Fixture, ISSUER, TOKEN_ERRORS, block_on, check_error_body};

const JWT_ID: &str = "jwt-client";
const SECRET_JWT_ID: &str = "secret-jwt-client";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |kid| {
            SigningKey::generate(Algorithm::Es256)
                .and_then(|k| k.with_key_id(kid))
                .expect("a key")
        };
        (key("k1"), key("k1"))
    })
}

fn hs256(secret: &[u8], input: &str) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, input.as_bytes())
        .as_ref()
        .to_vec()
}

/// What the reference requires of the claims of an assertion that
/// authenticates `client` at `url` at `now`.
fn reference_accepts(claims: &serde_json::Value, client: &str, url: &str, now: i64) -> bool {
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == ISSUER || a == url,
        serde_json::Value::Array(a) => {
            a.len() == 1 && a[0].as_str().is_some_and(|a| a == ISSUER || a == url)
        }
        _ => false,
    };
    let exp_ok = claims["exp"]
        .as_i64()
        .is_some_and(|exp| exp + 30 > now && exp <= now + 300 + 30);
    claims["iss"] == client
        && claims["sub"] == client
        && aud_ok
        && exp_ok
        && claims["jti"].as_str().is_some_and(|j| !j.is_empty())
}

const ERRORS: [&str; 13] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "authorization_pending",
    "slow_down",
    "access_denied",
    "expired_token",
    "unsupported_token_type",
    "invalid_target",
    "server_error",
];

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut lines = text.splitn(5, '\n');
    let (Some(endpoint), Some(signer), Some(header), Some(claims)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let rest = lines.next().unwrap_or_default();
    let url = match endpoint {
        "token" => "https://auth.example/token",
        "revoke" => "https://auth.example/revoke",
        "introspect" => "https://auth.example/introspect",
        "device" => "https://auth.example/device_authorization",
        _ => return,
    };

    let (right, wrong) = keys();
    let mut secret = String::new();
    let fixture = Fixture::new(|b| {
        b.replay_cache(MemoryStore::new())
            .client_secret_jwt_key(vec![3; 32])
    });
    block_on(async {
        let jwks = JwkSet::from_value(&serde_json::json!({ "keys": [right.public_jwk()] }))
            .expect("a key set");
        let registration = |id: &str, method| {
            ClientRegistration::web_application()
                .client_id(id)
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .grant_type(GrantType::DEVICE_CODE)
                .scope("read".parse().expect("scope"))
                .auth_method(method)
        };
        fixture
            .server
            .register_client(registration(JWT_ID, AuthMethod::PRIVATE_KEY_JWT).jwks(&jwks))
            .await
            .expect("the jwt client registers");
        let registered = fixture
            .server
            .register_client(registration(SECRET_JWT_ID, AuthMethod::CLIENT_SECRET_JWT))
            .await
            .expect("the secret jwt client registers");
        secret = registered
            .secret
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default();
    });

    let now = portcullis::jose::seconds(portcullis::token::Clock::now(&*fixture.clock));
    let fill = |s: &str| {
        s.replace("$ID", JWT_ID)
            .replace("$ISS", ISSUER)
            .replace("$URL", url)
            .replace("$NOW", &now.to_string())
            .replace("$EXP", &(now + 60).to_string())
    };
    let (header, claims) = (fill(header), fill(claims));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&header),
        URL_SAFE_NO_PAD.encode(&claims)
    );
    let signature = match signer {
        "right" => right.sign_now(signing_input.as_bytes()).unwrap_or_default(),
        "wrong" => wrong.sign_now(signing_input.as_bytes()).unwrap_or_default(),
        "secret" => hs256(secret.as_bytes(), &signing_input),
        "public" => hs256(
            &serde_json::to_vec(right.public_jwk()).unwrap_or_default(),
            &signing_input,
        ),
        _ => Vec::new(),
    };
    let assertion = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));
    let body = format!(
        "client_assertion_type={}&client_assertion={assertion}{rest}",
        ASSERTION_TYPE.replace(':', "%3A")
    );
    let request = || {
        Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone().into_bytes())
            .expect("a request")
    };
    let send = |request: Request<Vec<u8>>| {
        block_on(async {
            match endpoint {
                "token" => fixture.server.token_endpoint(request).await,
                "revoke" => fixture.server.revocation_endpoint(request).await,
                "introspect" => fixture.server.introspection_endpoint(request).await,
                _ => fixture.server.device_authorization_endpoint(request).await,
            }
        })
    };

    let authenticated = |response: &http::Response<Vec<u8>>| -> bool {
        let status = response.status().as_u16();
        assert!(status < 500, "{status}: {:?}", response.body());
        if status == 200 {
            return true;
        }
        let mut allowed: Vec<&str> = ERRORS.to_vec();
        allowed.extend(TOKEN_ERRORS);
        let code = check_error_body(response, &allowed, &[assertion.clone()]);
        assert_ne!(code, "server_error");
        // Refusals that may come before client authentication prove nothing.
        !matches!(
            code.as_str(),
            "invalid_client"
                | "invalid_request"
                | "unsupported_grant_type"
                | "unsupported_token_type"
        )
    };

    let first = send(request());
    if authenticated(&first) {
        let parsed: serde_json::Value = serde_json::from_str(&claims).expect("claims JSON");
        let client = parsed["sub"].as_str().unwrap_or_default();
        let key_ok = match (client, signer) {
            (JWT_ID, "right") => true,
            (SECRET_JWT_ID, "secret") => true,
            _ => false,
        };
        assert!(
            key_ok && reference_accepts(&parsed, client, url, now),
            "authenticated an assertion the reference refuses: {header} {claims} ({signer})"
        );
        let replay = send(request());
        assert!(
            !authenticated(&replay),
            "a replayed assertion authenticated: {:?}",
            String::from_utf8_lossy(replay.body())
        );
    }
});
