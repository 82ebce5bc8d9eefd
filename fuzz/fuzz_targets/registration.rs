//! Dynamic client registration (RFC 7591), then the registration's
//! management (RFC 7592): read, update with what was returned, read again.
//! A fresh server per input, registration open, scope up to `read write`.
//!
//! Input: the registration request's JSON body.
//!
//! - Never 5xx; every response has `Cache-Control: no-store`; an error is
//!   `400` (or `413`) with an RFC 7591 §3.2.2 code and a well-formed
//!   description.
//! - An accepted registration is readable (RFC 7592 §2.1): the same
//!   metadata, no secret, a new registration access token, the old one dead.
//! - The metadata returned is accepted back as an update (RFC 7592 §2.2),
//!   unchanged — both as the bare metadata with `client_id`, and as the whole
//!   registration response echoed (its server-issued members equal to the
//!   issued values).
//! - `Debug` of the client information and of a parsed update never shows
//!   the client secret or the registration access token.
#![no_main]

use http::{Request, Response};
use libfuzzer_sys::fuzz_target;
use portcullis::client::{ClientMetadata, ClientSecret};
use portcullis::endpoint::{ClientUpdate, DynamicRegistration};
use portcullis::protocol::GrantType;
use portcullis_fuzz::{Fixture, block_on, check_error_body};
use serde_json::{Map, Value};

const REGISTRATION_ERRORS: [&str; 5] = [
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "invalid_software_statement",
    "unapproved_software_statement",
    "invalid_request",
];

/// Members a response adds to the client's metadata.
const ISSUED: [&str; 5] = [
    "client_secret",
    "client_secret_expires_at",
    "client_id_issued_at",
    "registration_access_token",
    "registration_client_uri",
];

fn json(response: &Response<Vec<u8>>) -> Map<String, Value> {
    match serde_json::from_slice(response.body()) {
        Ok(Value::Object(map)) => map,
        _ => panic!(
            "not a JSON object: {:?}",
            String::from_utf8_lossy(response.body())
        ),
    }
}

fn metadata(info: &Map<String, Value>) -> Map<String, Value> {
    let mut m = info.clone();
    for name in ISSUED {
        m.remove(name);
    }
    m
}

fn no_store(response: &Response<Vec<u8>>) {
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}

fn token_of(info: &Map<String, Value>) -> String {
    info["registration_access_token"]
        .as_str()
        .expect("a registration access token")
        .to_owned()
}

fuzz_target!(|input: &[u8]| {
    let fixture = Fixture::new(|b| {
        b.dynamic_registration(
            DynamicRegistration::open()
                .max_scope("read write".parse().expect("scope"))
                .allow_grant_type(GrantType::CLIENT_CREDENTIALS),
        )
    });
    let server = fixture.server.clone();
    let request = Request::post("https://auth.example/register")
        .header("content-type", "application/json")
        .body(input.to_vec())
        .expect("request");
    let response = block_on(server.registration_endpoint(request));
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "{status}: {:?}",
        String::from_utf8_lossy(response.body())
    );
    no_store(&response);
    if status != 201 {
        assert!(
            status == 400 || status == 413,
            "registration answered {status}"
        );
        check_error_body(&response, &REGISTRATION_ERRORS, &[]);
        return;
    }
    let registered = json(&response);
    let client_id = registered["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let uri = registered["registration_client_uri"]
        .as_str()
        .expect("registration_client_uri");
    let path = url::Url::parse(uri)
        .expect("registration_client_uri is a URL")
        .path()
        .to_owned();
    assert!(path.ends_with(&format!("/{client_id}")) || client_id.contains('/'));
    let secret = registered
        .get("client_secret")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut token = token_of(&registered);
    let expected = metadata(&registered);

    let configure = |method: &str, token: &str, body: Option<&Value>| {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body
            .map(|b| serde_json::to_vec(b).expect("JSON"))
            .unwrap_or_default();
        let response =
            block_on(server.client_configuration_endpoint(request.body(body).expect("request")));
        no_store(&response);
        response
    };

    // RFC 7592 §2.1: read it back.
    let read = configure("GET", &token, None);
    assert_eq!(
        read.status(),
        200,
        "read: {:?}",
        String::from_utf8_lossy(read.body())
    );
    let current = json(&read);
    assert!(
        current.get("client_secret").is_none(),
        "the secret was shown again"
    );
    assert_eq!(metadata(&current), expected, "read back other metadata");
    let old = std::mem::replace(&mut token, token_of(&current));
    assert_ne!(old, token, "the registration access token did not rotate");
    assert_eq!(
        configure("GET", &old, None).status(),
        401,
        "a retired token still works"
    );

    // RFC 7592 §2.2: the metadata, with client_id, is accepted back as it is.
    let mut update = expected.clone();
    update.insert("client_id".into(), Value::String(client_id.clone()));
    let updated = configure("PUT", &token, Some(&Value::Object(update)));
    assert_eq!(
        updated.status(),
        200,
        "update with the returned metadata: {:?}",
        String::from_utf8_lossy(updated.body())
    );
    let after = json(&updated);
    assert_eq!(
        metadata(&after),
        expected,
        "the update changed the metadata"
    );
    token = token_of(&after);

    // So is the whole registration response, with the current token.
    let mut echo = registered.clone();
    echo.insert(
        "registration_access_token".into(),
        Value::String(token.clone()),
    );
    let echoed = configure("PUT", &token, Some(&Value::Object(echo.clone())));
    assert_eq!(
        echoed.status(),
        200,
        "the echoed registration: {:?}",
        String::from_utf8_lossy(echoed.body())
    );
    let after = json(&echoed);
    assert_eq!(metadata(&after), expected, "the echo changed the metadata");
    token = token_of(&after);

    // Debug of a parsed update redacts the secrets it carries.
    let parsed = ClientUpdate::from_json(&serde_json::to_vec(&echo).expect("JSON"))
        .expect("an update parses");
    let shown = format!("{parsed:?}");
    assert!(!shown.contains(&token), "{shown}");
    if let Some(secret) = &secret {
        assert!(!shown.contains(secret.as_str()), "{shown}");
        assert_eq!(
            parsed
                .client_secret
                .as_ref()
                .map(ClientSecret::expose_secret),
            Some(secret.as_str())
        );
    }

    // Debug of the client information redacts what it issues.
    let metadata = ClientMetadata::from_json(input).expect("accepted metadata parses");
    let info = block_on(server.register_with_metadata(&metadata)).expect("registers again");
    let shown = format!("{info:?}");
    assert!(
        !shown.contains(info.registration_access_token().expose_secret()),
        "{shown}"
    );
    if let Some(secret) = info.client_secret() {
        assert!(!shown.contains(secret.expose_secret()), "{shown}");
    }
});
