//! Finding and validating a bearer token (RFC 6750 §2) with
//! `BearerValidator` on a server holding one live access token (`$ACCESS`).
//!
//! Input: one flag byte (bit 0: accept a form body, bit 1: accept the URI
//! query), then a request in the text format of the crate's docs.
//!
//! - A token from the `Authorization` header is exactly what a reference
//!   reading of `"Bearer" 1*SP b64token` (scheme in any case, optional
//!   whitespace around the field value) gives; a header the reference
//!   refuses is never read as a token.
//! - A token is found only where it is accepted, and only when the request
//!   uses one method (§2: clients MUST NOT use more than one).
//! - Validation never answers 5xx; a 401 has a `WWW-Authenticate`
//!   challenge; the live token with the scope it grants validates.
//! - `Debug` of the request and of the token never shows the token.
#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use portcullis::protocol::{Params, Scope};
use portcullis::resource::{BearerErrorKind, BearerValidator, Realm, TokenLocation};
use portcullis_fuzz::{Fixture, block_on, parse_request};

thread_local! {
    static FIXTURE: std::cell::RefCell<(Fixture, String)> = std::cell::RefCell::new({
        let mut fixture = Fixture::new(|b| b);
        let access = fixture.value("$ACCESS");
        (fixture, access)
    });
}

fn is_b64token(token: &[u8]) -> bool {
    let body = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    body > 0
        && token[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
}

/// The reference reading of one `Authorization` field value: `None` for
/// another scheme, `Some(None)` for malformed Bearer credentials.
fn reference(value: &[u8]) -> Option<Option<&[u8]>> {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    let value = &value[start..end];
    let split = value.iter().position(ows).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token_start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    let token = &rest[token_start..];
    Some((token_start > 0 && token.len() <= 4096 && is_b64token(token)).then_some(token))
}

/// Whether `input` (a query or body) carries `access_token`, as far as a
/// lenient reader can tell.
fn has_access_token(input: &[u8]) -> bool {
    form_urlencoded::parse(input).any(|(n, v)| n == "access_token" && !v.is_empty())
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    FIXTURE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (fixture, access) = &mut *guard;
        let Some(request) = parse_request(&fixture.substitute(rest)) else {
            return;
        };
        let mut validator =
            BearerValidator::new(fixture.server.clone(), Realm::new("api").expect("realm"));
        if flags & 1 != 0 {
            validator = validator.accept_form_body();
        }
        if flags & 2 != 0 {
            validator = validator.dangerous_accept_uri_query();
        }

        let authorizations: Vec<&[u8]> = request
            .headers()
            .get_all("authorization")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        let header = match authorizations.as_slice() {
            [one] => reference(one),
            _ => None,
        };
        let in_query = request
            .uri()
            .query()
            .is_some_and(|q| has_access_token(q.as_bytes()));
        let form = request
            .headers()
            .get_all("content-type")
            .iter()
            .collect::<Vec<_>>();
        let body_qualifies = matches!(
            *request.method(),
            Method::POST | Method::PUT | Method::PATCH
        ) && form.len() == 1
            && form[0]
                .as_bytes()
                .split(|b| *b == b';')
                .next()
                .is_some_and(|m| {
                    m.trim_ascii()
                        .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
                });
        let in_body = body_qualifies && has_access_token(request.body());

        let extracted = validator.extract(&request);
        match &extracted {
            Ok(token) => {
                let value = token.expose_secret();
                match token.location() {
                    TokenLocation::AuthorizationHeader => {
                        assert_eq!(authorizations.len(), 1);
                        assert_eq!(
                            header,
                            Some(Some(value.as_bytes())),
                            "header {:?}",
                            authorizations
                        );
                        assert!(!in_query && !in_body, "two methods accepted");
                    }
                    TokenLocation::UriQuery => {
                        assert!(flags & 2 != 0, "query token accepted");
                        let query = request.uri().query().unwrap_or_default().as_bytes();
                        let params = Params::parse(query).expect("an accepted query parses");
                        assert_eq!(params.get("access_token"), Ok(Some(value)));
                        assert!(header.is_none() && !in_body, "two methods accepted");
                    }
                    TokenLocation::FormBody => {
                        assert!(flags & 1 != 0 && body_qualifies, "body token accepted");
                        assert!(request.body().is_ascii());
                        let params =
                            Params::parse(request.body()).expect("an accepted body parses");
                        assert_eq!(params.get("access_token"), Ok(Some(value)));
                        assert!(header.is_none() && !in_query, "two methods accepted");
                    }
                    other => panic!("unknown location {other:?}"),
                }
                assert!(value.len() <= portcullis::resource::MAX_TOKEN_LEN);
                let shown = format!("{token:?}");
                assert_eq!(
                    shown,
                    format!(
                        "BearerToken {{ value: \"[redacted]\", location: {:?} }}",
                        token.location()
                    )
                );
                // The request's `Debug` does not depend on header values, the
                // query or the body's content: where tokens travel.
                let mut blanked = http::Request::new(vec![0u8; request.body().len()]);
                *blanked.method_mut() = request.method().clone();
                let mut parts = request.uri().clone().into_parts();
                if let Some(pq) = &parts.path_and_query {
                    parts.path_and_query = Some(pq.path().parse().expect("a path"));
                }
                *blanked.uri_mut() = http::Uri::from_parts(parts).expect("the URI less its query");
                for name in request.headers().keys() {
                    for _ in request.headers().get_all(name) {
                        blanked
                            .headers_mut()
                            .append(name, http::HeaderValue::from_static("x"));
                    }
                }
                assert_eq!(
                    format!("{:?}", portcullis::resource::BearerRequest::from(&request)),
                    format!("{:?}", portcullis::resource::BearerRequest::from(&blanked))
                );
            }
            Err(e) => {
                if let Some(Some(token)) = header {
                    // A well-formed header token is refused only for a
                    // second method.
                    // (Or a query or body, where accepted, that is no
                    // form: it might hide a second token.)
                    let malformed = |accepted: bool, input: Option<&[u8]>| {
                        accepted && input.is_some_and(|i| Params::parse(i).is_err())
                    };
                    let query = request.uri().query().map(str::as_bytes);
                    let body = body_qualifies.then_some(request.body().as_slice());
                    assert!(
                        in_query
                            || in_body
                            || malformed(flags & 2 != 0, query)
                            || malformed(flags & 1 != 0, body),
                        "refused a well-formed header token {:?}: {:?}",
                        String::from_utf8_lossy(token),
                        e.kind()
                    );
                }
                if authorizations.len() == 1 && header == Some(None) {
                    assert!(matches!(e.kind(), BearerErrorKind::InvalidRequest(_)));
                }
            }
        }

        let required: Scope = "read".parse().expect("scope");
        let validated = block_on(validator.validate(&request, &required));
        match validated {
            Ok(info) => {
                assert_eq!(
                    extracted.as_ref().map(|t| t.expose_secret()).ok(),
                    Some(access.as_str())
                );
                assert!(required.is_subset(&info.scope));
            }
            Err(e) => {
                let status = e.status();
                assert!(!status.is_server_error(), "{status} for {:?}", e.kind());
                if let Ok(token) = &extracted {
                    assert_ne!(
                        token.expose_secret(),
                        access.as_str(),
                        "the live token was refused: {:?}",
                        e.kind()
                    );
                }
                let response = e.into_http();
                assert_eq!(response.status(), status);
                if status == 401 {
                    assert!(response.headers().contains_key("www-authenticate"));
                }
            }
        }
    });
});
