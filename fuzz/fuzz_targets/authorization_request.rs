//! The authorization endpoint (RFC 6749 §3.1, §4.1, §4.2), then the
//! decision: approve, deny, defer and approve later, or approve a narrower
//! scope. A fresh server per input, with the fixture clients.
//!
//! Input: one flag byte (bit 0: POST with a form body, else GET with a
//! query; bits 1-2: the decision), then the query or body, with the
//! placeholders of `Fixture::value` (`$CONF_ID`, `$NATIVE_ID`, ...).
//!
//! - The browser is only ever sent to a registered redirect URI of the
//!   client named (RFC 6749 §3.1.2, §4.1.2.1; RFC 6819 §4.2.4; RFC 9700
//!   §4.1): every `Location`, and every form_post page's form action,
//!   designates one by scheme, host, port (any port for loopback, RFC 8252
//!   §7.3), path and query, by a reference check written on `url`. A
//!   rejected request never redirects.
//! - Every redirect carries `iss` (RFC 9207) and the request's `state`; an
//!   error redirect's `error` is from the §4.1.2.1 set. Never 5xx.
//! - A code issued for the RFC 7636 challenge is redeemed at the token
//!   endpoint with its verifier.
#![no_main]

use base64::Engine as _;
use http::{Request, Response};
use libfuzzer_sys::fuzz_target;
use portcullis::endpoint::AuthorizationError;
use portcullis::protocol::Params;
use portcullis_fuzz::{
    CHALLENGE, CONF_ID, Fixture, ISSUER, USER, VERIFIER, block_on, designates_registered, location,
};

const AUTHORIZATION_ERRORS: [&str; 7] = [
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
];

fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where a response sends the browser, and the parameters it carries there.
fn target(response: &Response<Vec<u8>>) -> (String, Vec<(String, String)>) {
    match response.status().as_u16() {
        303 => {
            let to = location(response)
                .expect("a 303 has one Location")
                .to_owned();
            let url = url::Url::parse(&to).unwrap_or_else(|e| panic!("Location {to:?}: {e}"));
            let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            if let Some(fragment) = url.fragment() {
                params.extend(form_urlencoded::parse(fragment.as_bytes()).into_owned());
            }
            (to, params)
        }
        200 => {
            assert!(!response.headers().contains_key("location"));
            let page = std::str::from_utf8(response.body()).expect("a UTF-8 page");
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a form_post page has a form action");
            let mut params = Vec::new();
            for input in page.split("<input ").skip(1) {
                let attr = |name: &str| {
                    input
                        .split(&format!("{name}=\""))
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .map(html_unescape)
                };
                params.push((attr("name").expect("name"), attr("value").expect("value")));
            }
            (html_unescape(action), params)
        }
        other => panic!("an authorization response with status {other}"),
    }
}

fn check_delivery(
    response: &Response<Vec<u8>>,
    client_id: &str,
    state: Option<&str>,
) -> Vec<(String, String)> {
    let registered = Fixture::registered_redirects(client_id);
    let (to, params) = target(response);
    assert!(
        designates_registered(&to, registered),
        "sent to {to:?}, not a registered redirect URI of {client_id}: {registered:?}"
    );
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("iss"), Some(ISSUER), "iss in {to}");
    if let Some(state) = state {
        assert_eq!(get("state"), Some(state), "state in {to}");
    }
    if let Some(error) = get("error") {
        assert!(AUTHORIZATION_ERRORS.contains(&error), "error {error:?}");
    }
    params
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let mut fixture = Fixture::new(|b| b);
    let raw = fixture.substitute(rest);
    let post = flags & 1 != 0;
    let request = if post {
        Request::post("https://auth.example/authorize")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(raw.clone())
    } else {
        let Ok(query) = std::str::from_utf8(&raw) else {
            return;
        };
        Request::get(format!("https://auth.example/authorize?{query}")).body(Vec::new())
    };
    let Ok(request) = request else {
        return;
    };
    // What the request asked for, as the server read it (the query of a GET
    // may have been normalised by `http`).
    let sent: &[u8] = if post {
        request.body()
    } else {
        request.uri().query().unwrap_or_default().as_bytes()
    };
    let params = Params::parse(sent).ok();
    let param = |name: &str| params.as_ref().and_then(|p| p.get(name).ok().flatten());
    let client_id = param("client_id").unwrap_or_default().to_owned();
    let state = param("state")
        .filter(|s| s.len() <= 1024)
        .map(str::to_owned);
    let server = fixture.server.clone();

    let pending = match block_on(server.authorization_request(&request)) {
        Ok(pending) => pending,
        Err(AuthorizationError::Rejected(error)) => {
            let response = AuthorizationError::Rejected(error).into_http();
            assert_eq!(response.status(), 400);
            assert!(!response.headers().contains_key("location"));
            return;
        }
        Err(AuthorizationError::Redirect { error, response }) => {
            let params = check_delivery(&response, &client_id, state.as_deref());
            assert!(
                params
                    .iter()
                    .any(|(n, v)| n == "error" && v == error.code().as_str())
            );
            return;
        }
        Err(e) => panic!("{e:?}"),
    };

    // What was accepted.
    assert_eq!(pending.client().id().as_str(), client_id);
    let redirect_uri = pending.redirect_uri().to_owned();
    assert!(
        pending
            .client()
            .redirect_uris()
            .iter()
            .any(|r| r.matches(&redirect_uri))
    );
    if let Some(requested) = param("redirect_uri") {
        assert_eq!(requested, redirect_uri);
    }
    assert!(pending.scope().is_subset(pending.client().scope()));
    let is_code = param("response_type") == Some("code");
    let pkce_known = param("code_challenge") == Some(CHALLENGE);

    let decision = (flags >> 1) & 3;
    // Narrowed: granted less than asked, so the token response names the
    // scope (RFC 6749 §5.1).
    let narrowed = decision == 3
        && pending.scope().as_str().split(' ').any(|s| s == "read")
        && pending.scope().as_str() != "read";
    let response = block_on(async {
        match decision {
            0 => server.approve(pending, USER, None).await,
            1 => server.deny(pending).await,
            2 => {
                let mut pending = pending;
                let handle = server
                    .defer(&mut pending)
                    .await
                    .expect("deferred")
                    .to_owned();
                drop(pending);
                let again = server
                    .pending_authorization(&handle)
                    .await
                    .expect("the store works")
                    .expect("still pending");
                let response = server.approve(again, USER, None).await;
                // Decided once.
                let later = server
                    .pending_authorization(&handle)
                    .await
                    .expect("the store works");
                assert!(later.is_none(), "a decided request is still pending");
                response
            }
            _ => {
                let read = pending.scope().as_str().split(' ').any(|s| s == "read");
                let scope = read.then(|| "read".parse().expect("scope"));
                server.approve(pending, USER, scope).await
            }
        }
    })
    .expect("a pending request is decided");
    assert!(!response.status().is_server_error());
    let delivered = check_delivery(&response, &client_id, state.as_deref());
    let get = |name: &str| {
        delivered
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if decision == 1 {
        assert_eq!(get("error").as_deref(), Some("access_denied"));
        return;
    }
    assert_eq!(get("error"), None);

    // The code comes back at the token endpoint with the verifier.
    if let (true, true, Some(code)) = (is_code, pkce_known, get("code")) {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("code_verifier", VERIFIER);
        if param("redirect_uri").is_some() {
            body.append_pair("redirect_uri", &redirect_uri);
        }
        let mut token =
            Request::post("/token").header("content-type", "application/x-www-form-urlencoded");
        if client_id == CONF_ID {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{CONF_ID}:{}", fixture.conf_secret));
            token = token.header("authorization", format!("Basic {basic}"));
        } else {
            body.append_pair("client_id", &client_id);
        }
        let token = token.body(body.finish().into_bytes()).expect("request");
        let response = block_on(server.token_endpoint(token));
        assert_eq!(
            response.status(),
            200,
            "the code for {client_id} at {redirect_uri} was refused: {}",
            String::from_utf8_lossy(response.body())
        );
        if narrowed {
            let json: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
            assert_eq!(json["scope"], "read");
        }
    }
});
