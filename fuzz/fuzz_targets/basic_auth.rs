//! Client credentials (RFC 6749 §2.3.1): `client_secret_basic` against a
//! reference decoder written on `base64` and `percent-encoding`, and
//! `client_secret_post` / `none` from the form body.
//!
//! Input: the `Authorization` header's value, a newline, the form body. A
//! first line of `-` sends no header.
//!
//! - The header is accepted exactly when the reference accepts it: scheme
//!   `Basic` (any case), spaces, the canonical standard base64 (padded or
//!   not) of `id ":" secret`, each form-urlencoded, UTF-8, non-empty, at most
//!   4096 bytes in all; and then id and secret are the reference's.
//! - With a header, a `client_secret` in the body is a second method, and a
//!   body `client_id` must name the same client.
//! - `Debug` of the credentials does not depend on the secret.
#![no_main]

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD,
};
use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use portcullis::client::{
    AuthMethod, AuthRequest, ClientAuthError, ClientAuthenticator, ClientSecret,
    PresentedCredentials, SecretAuthenticator,
};
use portcullis::protocol::Params;

/// Decodes both padded and unpadded base64, leniently; canonicity is
/// checked by re-encoding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `+` is a space, `%XX` a byte, and anything else after `%` is malformed.
fn form_decode(bytes: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return None;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let plus: Vec<u8> = bytes
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    String::from_utf8(percent_encoding::percent_decode(&plus).collect()).ok()
}

/// The reference reading of a Basic header: `Some((id, secret))` or `None`.
fn reference(value: &[u8]) -> Option<(String, String)> {
    if value.len() > 4096 {
        return None;
    }
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let text = std::str::from_utf8(rest).ok()?.trim_matches(' ');
    let bytes = LENIENT.decode(text).ok()?;
    if STANDARD.encode(&bytes) != text && STANDARD_NO_PAD.encode(&bytes) != text {
        return None;
    }
    let colon = bytes.iter().position(|b| *b == b':')?;
    let id = form_decode(&bytes[..colon])?;
    let secret = form_decode(&bytes[colon + 1..])?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

fuzz_target!(|input: &[u8]| {
    let (header, body) = match input.iter().position(|b| *b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[][..]),
    };
    let mut headers = HeaderMap::new();
    let header = if header == b"-" { None } else { Some(header) };
    if let Some(value) = header {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            return;
        };
        headers.insert(AUTHORIZATION, value);
    }
    let Ok(params) = Params::parse(body) else {
        return;
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let result = SecretAuthenticator.identify(&AuthRequest::new(&headers, &params));

    match header {
        Some(value) => {
            let expected = reference(value);
            let is_basic = value
                .split(|b| *b == b' ')
                .next()
                .is_some_and(|s| s.eq_ignore_ascii_case(b"basic"));
            match &result {
                Ok(creds) => {
                    let (id, secret) = expected.as_ref().unwrap_or_else(|| {
                        panic!("accepted a header the reference refuses: {value:?}")
                    });
                    assert_eq!(&creds.client_id, id);
                    let presented = creds.secret.as_ref().expect("a secret");
                    assert_eq!(presented.expose_secret(), secret);
                    assert_eq!(creds.method, AuthMethod::CLIENT_SECRET_BASIC);
                    assert!(creds.via_authorization_header);
                    assert!(
                        matches!(body_secret, Ok(None)),
                        "a second method was accepted"
                    );
                    assert!(
                        matches!(body_id, Ok(None)) || matches!(body_id, Ok(Some(b)) if b == id),
                        "a body client_id naming another client was accepted"
                    );
                }
                Err(ClientAuthError::UnsupportedScheme) => assert!(!is_basic, "{value:?}"),
                Err(ClientAuthError::MalformedCredentials) => {
                    assert!(
                        expected.is_none(),
                        "refused a valid header {value:?}: {expected:?}"
                    )
                }
                Err(ClientAuthError::MultipleMethods) => {
                    assert!(matches!(body_secret, Ok(Some(_))))
                }
                Err(ClientAuthError::ClientIdMismatch) => {
                    assert!(
                        matches!(body_id, Ok(Some(b)) if expected.as_ref().is_some_and(|(id, _)| id != b))
                    )
                }
                Err(ClientAuthError::RepeatedParameter(_)) => {
                    assert!(body_id.is_err() || body_secret.is_err())
                }
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
        None => match (&result, body_id, body_secret) {
            (Ok(c), Ok(Some(id)), Ok(Some(secret))) => {
                assert_eq!(c.method, AuthMethod::CLIENT_SECRET_POST);
                assert_eq!(c.client_id, id);
                assert_eq!(
                    c.secret.as_ref().map(ClientSecret::expose_secret),
                    Some(secret)
                );
                assert!(!c.via_authorization_header);
            }
            (Ok(c), Ok(Some(id)), Ok(None)) => {
                assert_eq!(c.method, AuthMethod::NONE);
                assert_eq!(c.client_id, id);
                assert!(c.secret.is_none());
            }
            (Err(ClientAuthError::Missing), Ok(None), Ok(None)) => {}
            (Err(ClientAuthError::MalformedCredentials), Ok(None), Ok(Some(_))) => {}
            (Err(ClientAuthError::RepeatedParameter(_)), id, secret) => {
                assert!(id.is_err() || secret.is_err())
            }
            (r, id, secret) => panic!("{r:?} for body client_id {id:?}, client_secret {secret:?}"),
        },
    }

    // The secret never shows in `Debug`: the rendering with another secret
    // in its place is the same.
    if let Ok(creds) = result {
        let mut other = PresentedCredentials::new(creds.client_id.clone(), creds.method.clone());
        if creds.secret.is_some() {
            other = other.with_secret(ClientSecret::new("another secret"));
        }
        if creds.via_authorization_header {
            other = other.via_authorization_header();
        }
        assert_eq!(format!("{creds:?}"), format!("{other:?}"));
    }
});
