//! The pushed authorization request endpoint (RFC 9126 §2) with signed
//! request objects (RFC 9101 §4, §6), on a memory store with a confidential
//! client that registered an ES256 key (`jar-client`, `client_secret_basic`,
//! redirect URI `https://app.example/cb`, the authorization code grant).
//!
//! Input, one item a line: the key that signs the request object (`right`,
//! `wrong`, `none`), or `plain` for a push without one; the JWS header's
//! JSON; the claims' JSON; then the rest of the form body, appended after
//! `client_id` (and `request`). In the header and claims, `$ID` is the
//! client, `$ISS` the issuer, `$NOW` the server's time in seconds and `$EXP`
//! five minutes later. The push authenticates with the client's secret.
//!
//! - Never 5xx; `Cache-Control: no-store`; an error is JSON with an
//!   `error` of RFC 9126 §2.3 (RFC 6749 §4.1.2.1 and §5.2, RFC 9101 §6.3)
//!   and never contains the client's secret.
//! - A push with a request object is accepted only for an object the
//!   reference accepts: signed with the client's key, `alg` ES256, `typ`
//!   absent, `oauth-authz-req+jwt` or `JWT`, `iss` the client, `aud` the
//!   issuer, `exp` not past and at most an hour away, `nbf` and `iat` not in
//!   the future, a `client_id` member (if any) the client, and no `request`
//!   or `request_uri` member.
//! - A 201 carries a `request_uri` of the RFC 9126 §2.2 form and an
//!   `expires_in` of 1 to 600 s; the authorization endpoint takes it once
//!   (RFC 9126 §4): a second use is refused, not redirected.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::Request;
use libfuzzer_sys::fuzz_target;
use portcullis::MemoryStore;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::AuthorizationError;
use portcullis::jose::{Algorithm, JwkSet, SigningKey};
use portcullis::protocol::GrantType;
use portcullis_fuzz::{Fixture, ISSUER, block_on, check_error_body};
use serde_json::Value;

const ID: &str = "jar-client";
const REDIRECT: &str = "https://app.example/cb";
const URL: &str = "https://auth.example/par";
/// The leeway the reference gives every time check, more than the
/// server's.
const LEEWAY: i64 = 60;

const ERRORS: [&str; 12] = [
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "invalid_request_object",
    "invalid_target",
    "invalid_authorization_details",
    "invalid_dpop_proof",
    "request_not_supported",
    "request_uri_not_supported",
];

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = || {
            SigningKey::generate(Algorithm::Es256)
                .and_then(|k| k.with_key_id("k1"))
                .expect("a key")
        };
        (key(), key())
    })
}

fn seconds(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_f64().map(|f| f as i64))
}

/// What RFC 9101 §6.1-§6.3 (and this server's bounds) require of a request
/// object signed by `signer` at `now`.
fn reference_accepts(header: &Value, claims: &Value, signer: &str, now: i64) -> bool {
    let typ_ok = match &header["typ"] {
        Value::Null => header.get("typ").is_none(),
        Value::String(t) => {
            t.eq_ignore_ascii_case("oauth-authz-req+jwt") || t.eq_ignore_ascii_case("JWT")
        }
        _ => false,
    };
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == ISSUER,
        Value::Array(a) => a.iter().any(|a| a == ISSUER),
        _ => false,
    };
    let exp_ok =
        seconds(&claims["exp"]).is_some_and(|exp| exp + LEEWAY > now && exp <= now + 3600 + LEEWAY);
    let not_future = |name: &str| {
        claims.get(name).is_none() || seconds(&claims[name]).is_some_and(|t| t <= now + LEEWAY)
    };
    let client_id_ok = claims.get("client_id").is_none() || claims["client_id"] == ID;
    signer == "right"
        && header["alg"] == "ES256"
        && typ_ok
        && claims["iss"] == ID
        && aud_ok
        && exp_ok
        && not_future("nbf")
        && not_future("iat")
        && client_id_ok
        && claims.get("request").is_none()
        && claims.get("request_uri").is_none()
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut lines = text.splitn(4, '\n');
    let (Some(signer), Some(header), Some(claims)) = (lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let rest = lines.next().unwrap_or_default();
    let (right, wrong) = keys();
    let fixture = Fixture::new(|b| b.replay_cache(MemoryStore::new()));
    let secret = block_on(async {
        let jwks = JwkSet::from_value(&serde_json::json!({ "keys": [right.public_jwk()] }))
            .expect("a key set");
        let registered = fixture
            .server
            .register_client(
                ClientRegistration::web_application()
                    .client_id(ID)
                    .redirect_uri(REDIRECT)
                    .grant_type(GrantType::AUTHORIZATION_CODE)
                    .scope("read write".parse().expect("scope"))
                    .jwks(&jwks),
            )
            .await
            .expect("the client registers");
        registered
            .secret
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default()
    });

    let now = portcullis::jose::seconds(portcullis::token::Clock::now(&*fixture.clock));
    let fill = |s: &str| {
        s.replace("$ID", ID)
            .replace("$ISS", ISSUER)
            .replace("$NOW", &now.to_string())
            .replace("$EXP", &(now + 300).to_string())
    };
    let (header, claims) = (fill(header), fill(claims));
    let object = (signer != "plain").then(|| {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&header),
            URL_SAFE_NO_PAD.encode(&claims)
        );
        let signature = match signer {
            "right" => right.sign_now(signing_input.as_bytes()).unwrap_or_default(),
            "wrong" => wrong.sign_now(signing_input.as_bytes()).unwrap_or_default(),
            _ => Vec::new(),
        };
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature))
    });
    let body = match &object {
        Some(object) => format!("client_id={ID}&request={object}{rest}"),
        None => format!("client_id={ID}{rest}"),
    };
    let request = Request::post(URL)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{ID}:{secret}"))),
        )
        .body(body.into_bytes())
        .expect("a request");
    let response = block_on(
        fixture
            .server
            .pushed_authorization_request_endpoint(request),
    );
    let status = response.status().as_u16();
    assert!(status < 500, "{status}: {:?}", response.body());
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    if status != 201 {
        let code = check_error_body(&response, &ERRORS, &[secret.clone()]);
        assert_ne!(code, "server_error");
        return;
    }

    if object.is_some() {
        let header: Value = serde_json::from_str(&header).expect("header JSON");
        let claims: Value = serde_json::from_str(&claims).expect("claims JSON");
        assert!(
            reference_accepts(&header, &claims, signer, now),
            "accepted a request object the reference refuses: {header} {claims} ({signer})"
        );
    }
    let body: Value = serde_json::from_slice(response.body()).expect("a JSON 201");
    let request_uri = body["request_uri"].as_str().expect("a request_uri");
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    let expires_in = body["expires_in"].as_u64().expect("expires_in");
    assert!((1..=600).contains(&expires_in), "{expires_in}");

    let authorize = || {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", ID)
            .append_pair("request_uri", request_uri)
            .finish();
        let request = Request::get(format!("https://auth.example/authorize?{query}"))
            .body(Vec::<u8>::new())
            .expect("a request");
        block_on(fixture.server.authorization_request(&request))
    };
    // The first use may still fail on the pushed parameters (a scope the
    // client lacks is found at the authorization endpoint too), but never
    // as an unknown request_uri.
    if let Err(AuthorizationError::Rejected(error)) = authorize() {
        assert_ne!(
            error.code().as_str(),
            "invalid_request_uri",
            "a fresh request_uri was refused: {error:?}"
        );
    }
    match authorize() {
        Err(AuthorizationError::Rejected(error)) => {
            assert_eq!(error.code().as_str(), "invalid_request_uri", "{error:?}");
            let response = AuthorizationError::Rejected(error).into_http();
            assert_eq!(response.status(), 400);
            assert!(!response.headers().contains_key("location"));
        }
        Err(AuthorizationError::Redirect { .. }) => {
            panic!("a used request_uri was redirected")
        }
        Ok(_) => panic!("a request_uri was used twice"),
        Err(other) => panic!("a used request_uri: {other:?}"),
    }
});
