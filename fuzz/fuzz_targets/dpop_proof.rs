//! DPoP proofs (RFC 9449 §4.2, §4.3, §5) at the token endpoint, on a memory
//! store with DPoP configured (the default algorithms, `iat` at most 60 s
//! old and 5 s ahead) and the confidential fixture client asking for a
//! client credentials token.
//!
//! Input, one item a line: the key that signs (`right`, `wrong`, `none`,
//! `hs256`); the JWS header's JSON; the claims' JSON; then the rest of the
//! form body. In the header and claims, `$JWK` is the right key's public
//! JWK, `$URL` the token endpoint's URL, `$NOW` the server's time in
//! seconds. The target signs the header and claims as they are, so the
//! fuzzer reaches the claim checks behind the signature.
//!
//! - Never 5xx; an error has an `error` of RFC 6749 §5.2 or RFC 9449 §5
//!   (`invalid_dpop_proof`, `use_dpop_nonce`) and never contains the proof.
//! - A token is issued only for a proof the reference accepts: signed by
//!   the key its header's `jwk` names, `typ` `dpop+jwt`, an asymmetric
//!   `alg` of the allow-list, no private key members, `htm` `POST`, `htu`
//!   the endpoint's URL (without query and fragment, normalised as URL
//!   parsing does), `iat` within the window, a `jti` of 1 to 256 bytes. It
//!   is `token_type: DPoP`.
//! - Sent again, the same proof never gets a token (RFC 9449 §11.1).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Request;
use libfuzzer_sys::fuzz_target;
use portcullis::MemoryStore;
use portcullis::endpoint::Dpop;
use portcullis::jose::{Algorithm, SigningKey};
use portcullis_fuzz::{CONF_ID, Fixture, TOKEN_ERRORS, block_on, check_error_body};
use serde_json::Value;

const URL: &str = "https://auth.example/token";

fn keys() -> &'static (SigningKey, SigningKey) {
    static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = || SigningKey::generate(Algorithm::Es256).expect("a key");
        (key(), key())
    })
}

/// The right key's public JWK as a proof's header carries it.
fn public_jwk() -> String {
    let mut jwk = serde_json::to_value(keys().0.public_jwk()).expect("a JWK");
    if let Some(object) = jwk.as_object_mut() {
        for member in ["kid", "use", "alg"] {
            object.remove(member);
        }
    }
    jwk.to_string()
}

/// What RFC 9449 §4.3 requires of a proof signed by `signer` at `now`.
fn reference_accepts(header: &Value, claims: &Value, signer: &str, now: i64) -> bool {
    let right = serde_json::to_value(keys().0.public_jwk()).expect("a JWK");
    let jwk = &header["jwk"];
    let key_ok = signer == "right"
        && ["kty", "crv", "x", "y"]
            .iter()
            .all(|m| jwk[m] == right[m] && !jwk[m].is_null())
        && ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .all(|m| jwk.get(m).is_none());
    let htu_ok = claims["htu"].as_str().is_some_and(|htu| {
        url::Url::parse(htu).is_ok_and(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.as_str() == URL
        })
    });
    let iat_ok = claims["iat"]
        .as_f64()
        .is_some_and(|iat| iat >= (now - 66) as f64 && iat <= (now + 6) as f64);
    let jti_ok = claims["jti"]
        .as_str()
        .is_some_and(|j| !j.is_empty() && j.len() <= 256);
    key_ok
        && header["typ"] == "dpop+jwt"
        && header["alg"] == "ES256"
        && claims["htm"] == "POST"
        && htu_ok
        && iat_ok
        && jti_ok
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
    let fixture = Fixture::new(|b| {
        b.dpop(
            Dpop::new(MemoryStore::new())
                .proof_window(Duration::from_secs(60), Duration::from_secs(5)),
        )
    });
    let now = portcullis::jose::seconds(portcullis::token::Clock::now(&*fixture.clock));
    let fill = |s: &str| {
        s.replace("$JWK", &public_jwk())
            .replace("$URL", URL)
            .replace("$NOW", &now.to_string())
    };
    let (header, claims) = (fill(header), fill(claims));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&header),
        URL_SAFE_NO_PAD.encode(&claims)
    );
    let (right, wrong) = keys();
    let signature = match signer {
        "right" => right.sign_now(signing_input.as_bytes()).unwrap_or_default(),
        "wrong" => wrong.sign_now(signing_input.as_bytes()).unwrap_or_default(),
        "hs256" => {
            let key =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public_jwk().as_bytes());
            aws_lc_rs::hmac::sign(&key, signing_input.as_bytes())
                .as_ref()
                .to_vec()
        }
        _ => Vec::new(),
    };
    let proof = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));
    let Ok(proof_header) = http::HeaderValue::from_str(&proof) else {
        return;
    };
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{CONF_ID}:{}", fixture.conf_secret));
    let body = format!("grant_type=client_credentials{rest}");
    let send = || {
        let request = Request::post(URL)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {credentials}"))
            .header("dpop", proof_header.clone())
            .body(body.clone().into_bytes())
            .expect("a request");
        block_on(fixture.server.token_endpoint(request))
    };
    let issued = |response: &http::Response<Vec<u8>>| -> bool {
        let status = response.status().as_u16();
        assert!(status < 500, "{status}: {:?}", response.body());
        if status == 200 {
            return true;
        }
        let mut allowed = TOKEN_ERRORS.to_vec();
        allowed.extend(["invalid_dpop_proof", "use_dpop_nonce", "invalid_target"]);
        let code = check_error_body(response, &allowed, &[proof.clone()]);
        assert_ne!(code, "server_error");
        false
    };

    let first = send();
    if issued(&first) {
        let header: Value = serde_json::from_str(&header).expect("header JSON");
        let claims: Value = serde_json::from_str(&claims).expect("claims JSON");
        assert!(
            reference_accepts(&header, &claims, signer, now),
            "a token for a proof the reference refuses: {header} {claims} ({signer})"
        );
        let body: Value = serde_json::from_slice(first.body()).expect("JSON");
        assert_eq!(body["token_type"], "DPoP", "{body}");
        let replay = send();
        assert!(
            !issued(&replay),
            "a replayed proof got a token: {:?}",
            String::from_utf8_lossy(replay.body())
        );
    }
});
