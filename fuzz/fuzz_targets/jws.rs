//! Compact JWS and JWK parsing (`portcullis::jose`), and local validation of
//! JWT access tokens (`resource::JwtAccessTokenSource`), on arbitrary input.
//!
//! Input: one flag byte, then the data.
//!
//! - Bit 0 clear: the data is a compact JWS. `UnverifiedJws::parse` agrees
//!   with a reference reading (three parts, each canonical unpadded
//!   base64url; the header a JSON object with a supported string `alg` and
//!   no `crit`); verification with the fixture's keys never succeeds (no
//!   input is signed by them); `JwtAccessTokenSource` answers `None`, never
//!   an error or a token; `Debug` never shows the payload.
//! - Bit 0 set: the data is a payload, signed here with the fixture's key as
//!   an `at+jwt`: it parses and verifies back to exactly the data, with
//!   every key of the JWKS that is not the signer's refused; its claims,
//!   whatever they are, are read without panicking, and a token the source
//!   accepts names the audience, issuer and client it must.
//! - Bit 1: the data is also read as a JWK set; every key in one that
//!   parses is checked without panicking.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::jose::{Algorithm, JwkSet, JwsError, PublicKey, SigningKey, UnverifiedJws};
use portcullis::resource::{JwtAccessTokenSource, TokenSource};
use portcullis_fuzz::block_on;

const ISSUER: &str = "https://auth.example";
const AUDIENCE: &str = "https://api.example";

/// Serves a fixed JWKS.
#[derive(Debug)]
struct Jwks(String);

impl Fetcher for Jwks {
    fn get<'a>(
        &'a self,
        _url: &'a url::Url,
        _limits: FetchLimits,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<http::Response<Vec<u8>>, FetchError>>
                + Send
                + 'a,
        >,
    > {
        let body = self.0.clone().into_bytes();
        Box::pin(async move { Ok(http::Response::new(body)) })
    }
}

struct Fixture {
    signer: SigningKey,
    keys: Vec<PublicKey>,
    source: JwtAccessTokenSource,
}

thread_local! {
    static FIXTURE: Fixture = {
        let signer = SigningKey::generate(Algorithm::Es256).expect("a key");
        let others = [
            SigningKey::generate(Algorithm::Rs256).expect("a key"),
            SigningKey::generate(Algorithm::EdDsa).expect("a key"),
        ];
        let jwks = JwkSet {
            keys: std::iter::once(&signer)
                .chain(&others)
                .map(|k| k.public_jwk().clone())
                .collect(),
        };
        let keys = jwks
            .keys
            .iter()
            .map(|k| PublicKey::from_jwk(k).expect("a published key"))
            .collect();
        let source = JwtAccessTokenSource::new(
            ISSUER,
            url::Url::parse("https://auth.example/jwks").expect("a URL"),
            AUDIENCE,
            Jwks(jwks.to_json()),
        );
        Fixture { signer, keys, source }
    };
}

const ALL: [Algorithm; 5] = Algorithm::ALL;

/// The reference reading: whether `compact` is three canonical base64url
/// parts with a header object naming a supported `alg` and no `crit`.
fn reference(compact: &str) -> bool {
    let parts: Vec<&str> = compact.split('.').collect();
    if parts.len() != 3 || compact.len() > portcullis::jose::MAX_JWS_LEN {
        return false;
    }
    let decoded: Vec<Option<Vec<u8>>> = parts.iter().map(|p| URL_SAFE_NO_PAD.decode(p).ok()).collect();
    if decoded.iter().any(Option::is_none) {
        return false;
    }
    let Ok(serde_json::Value::Object(header)) =
        serde_json::from_slice::<serde_json::Value>(decoded[0].as_deref().unwrap_or_default())
    else {
        return false;
    };
    if header.contains_key("crit") {
        return false;
    }
    let alg_ok = matches!(header.get("alg"), Some(serde_json::Value::String(a))
        if ALL.iter().any(|x| x.as_str() == a));
    let strings_ok = ["kid", "typ"]
        .iter()
        .all(|m| matches!(header.get(*m), None | Some(serde_json::Value::String(_))));
    let jwk_ok = match header.get("jwk") {
        None => true,
        Some(jwk) => portcullis::jose::Jwk::from_value(jwk).is_ok(),
    };
    alg_ok && strings_ok && jwk_ok
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    if flags & 2 != 0 {
        if let Ok(set) = JwkSet::from_json(data) {
            assert!(set.keys.len() <= portcullis::jose::MAX_KEYS);
            for jwk in &set.keys {
                let _ = jwk.thumbprint();
                if let Ok(key) = PublicKey::from_jwk(jwk) {
                    assert!(!key.algorithms().is_empty());
                }
            }
        }
    }
    FIXTURE.with(|fixture| {
        if flags & 1 == 0 {
            let Ok(compact) = std::str::from_utf8(data) else {
                return;
            };
            let parsed = UnverifiedJws::parse(compact);
            assert_eq!(parsed.is_ok(), reference(compact), "{compact:?}: {parsed:?}");
            if let Ok(jws) = parsed {
                let shown = format!("{jws:?}");
                let payload = String::from_utf8_lossy(jws.unverified_payload()).into_owned();
                if payload.len() > 8 {
                    assert!(!shown.contains(&payload), "Debug shows the payload");
                }
                let verified = jws.verify_with_any(&fixture.keys, &ALL);
                assert!(verified.is_err(), "an unsigned input verified");
            }
            let info = block_on(fixture.source.token_info(compact));
            assert!(matches!(info, Ok(None)), "{info:?}");
        } else {
            // Sign the data as a payload with the fixture's key.
            let header = format!(
                r#"{{"alg":"ES256","kid":"{}","typ":"at+jwt"}}"#,
                fixture.signer.key_id()
            );
            let mut compact = URL_SAFE_NO_PAD.encode(header);
            compact.push('.');
            URL_SAFE_NO_PAD.encode_string(data, &mut compact);
            let signature = fixture.signer.sign_now(compact.as_bytes()).expect("a signature");
            compact.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut compact);
            match UnverifiedJws::parse(&compact) {
                Ok(jws) => {
                    let (payload, key) = jws
                        .verify_with_any(&fixture.keys, &ALL)
                        .expect("the fixture's own signature verifies");
                    assert_eq!(payload, data);
                    assert_eq!(key.kid(), Some(fixture.signer.key_id()));
                    // With any other key, or an algorithm off the list, it
                    // does not.
                    for other in &fixture.keys[1..] {
                        let again = UnverifiedJws::parse(&compact).expect("parses again");
                        assert!(again.verify(other, &ALL).is_err());
                    }
                    let again = UnverifiedJws::parse(&compact).expect("parses again");
                    assert_eq!(
                        again.verify(&fixture.keys[0], &[Algorithm::Rs256]),
                        Err(JwsError::AlgorithmNotAllowed)
                    );
                }
                Err(e) => {
                    // Only length can refuse what was signed here.
                    assert_eq!(e, JwsError::TooLong, "{compact:?}");
                }
            }
            if let Ok(Some(info)) = block_on(fixture.source.token_info(&compact)) {
                let claims: serde_json::Value =
                    serde_json::from_slice(data).expect("accepted claims are JSON");
                assert_eq!(claims["iss"], ISSUER);
                assert!(info.audience.iter().any(|a| a == AUDIENCE));
                assert_eq!(
                    info.client_id.as_ref().map(|c| c.as_str()),
                    claims["client_id"].as_str()
                );
            }
        }
    });
});
