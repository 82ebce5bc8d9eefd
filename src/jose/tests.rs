//! The JOSE module through its public items: every algorithm signs and
//! verifies, and every refusal RFC 8725 asks for happens.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn signed(key: &SigningKey, typ: Option<&str>) -> String {
    block_on(sign_json(key, typ, &serde_json::json!({"sub": "alice"}))).unwrap()
}

fn public(key: &SigningKey) -> PublicKey {
    PublicKey::from_jwk(key.public_jwk()).unwrap()
}

#[test]
fn every_algorithm_signs_and_verifies_and_names_its_key() {
    for alg in [
        Algorithm::Es256,
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::EdDsa,
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let jws = signed(&key, Some("at+jwt"));
        let parsed = UnverifiedJws::parse(&jws).unwrap();
        assert_eq!(parsed.header().algorithm(), alg);
        assert_eq!(parsed.header().kid(), Some(key.key_id()));
        assert!(parsed.header().typ_is("at+jwt"));
        assert!(parsed.header().typ_is("application/AT+JWT"));
        assert!(!parsed.header().typ_is("jwt"));
        let payload = parsed.verify(&public(&key), &[alg]).unwrap();
        assert_eq!(payload, br#"{"sub":"alice"}"#);
        // The kid is the RFC 7638 thumbprint; the JWK says what it is for.
        let jwk = key.public_jwk();
        assert_eq!(jwk.kid.as_deref(), Some(jwk.thumbprint().unwrap().as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
        assert!(format!("{key:?}").contains(key.key_id()));
    }
}

#[test]
fn a_key_survives_pkcs8_and_its_debug_is_redacted() {
    for alg in [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa] {
        let key = SigningKey::generate(alg).unwrap();
        let der = key.to_pkcs8().unwrap();
        assert_eq!(format!("{der:?}"), "PrivateKeyDer([redacted])");
        let again = SigningKey::from_pkcs8(alg, der.expose_secret()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        let jws = signed(&again, None);
        UnverifiedJws::parse(&jws)
            .unwrap()
            .verify(&public(&key), &[alg])
            .unwrap();
    }
    let ec = SigningKey::generate(Algorithm::Es256).unwrap();
    assert_eq!(
        SigningKey::from_pkcs8(Algorithm::Rs256, ec.to_pkcs8().unwrap().expose_secret())
            .unwrap_err(),
        KeyError::Rejected(Algorithm::Rs256)
    );
    assert_eq!(
        SigningKey::generate(Algorithm::Hs256).unwrap_err(),
        KeyError::NotForSigning(Algorithm::Hs256)
    );
    let named = ec.with_key_id("2026-12").unwrap();
    assert_eq!(named.key_id(), "2026-12");
    assert_eq!(named.public_jwk().kid.as_deref(), Some("2026-12"));
    let other = SigningKey::generate(Algorithm::Es256).unwrap();
    assert_eq!(other.with_key_id("").unwrap_err(), KeyError::InvalidKeyId);
}

#[test]
fn tampering_and_the_wrong_key_fail() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let other = SigningKey::generate(Algorithm::Es256).unwrap();
    let jws = signed(&key, None);
    assert_eq!(
        UnverifiedJws::parse(&jws)
            .unwrap()
            .verify(&public(&other), &[Algorithm::Es256])
            .unwrap_err(),
        JwsError::BadSignature
    );
    // Another payload under the same header and signature.
    let mut parts: Vec<&str> = jws.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory"}"#);
    parts[1] = &forged_payload;
    let forged = parts.join(".");
    assert_eq!(
        UnverifiedJws::parse(&forged)
            .unwrap()
            .verify(&public(&key), &[Algorithm::Es256])
            .unwrap_err(),
        JwsError::BadSignature
    );
}

fn with_header(header: serde_json::Value, rest_from: &str) -> String {
    let mut parts = rest_from.splitn(2, '.');
    parts.next();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        parts.next().unwrap()
    )
}

#[test]
fn none_unknown_crit_and_algorithm_confusion_are_refused() {
    let rsa = SigningKey::generate(Algorithm::Rs256).unwrap();
    let jws = signed(&rsa, None);
    for alg in ["none", "HS512", "ES384", "RS256 "] {
        let bad = with_header(serde_json::json!({"alg": alg}), &jws);
        assert_eq!(
            UnverifiedJws::parse(&bad).unwrap_err(),
            JwsError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
    let critical = with_header(
        serde_json::json!({"alg": "RS256", "crit": ["b64"], "b64": false}),
        &jws,
    );
    assert_eq!(
        UnverifiedJws::parse(&critical).unwrap_err(),
        JwsError::Critical
    );
    // The RSA public key as an HMAC secret (the classic confusion).
    let confused = with_header(serde_json::json!({"alg": "HS256"}), &jws);
    assert_eq!(
        UnverifiedJws::parse(&confused)
            .unwrap()
            .verify(&public(&rsa), &[Algorithm::Hs256, Algorithm::Rs256])
            .unwrap_err(),
        JwsError::WrongKeyForAlgorithm
    );
    // An allowed algorithm list that does not list the token's.
    assert_eq!(
        UnverifiedJws::parse(&jws)
            .unwrap()
            .verify(&public(&rsa), &[Algorithm::Es256])
            .unwrap_err(),
        JwsError::AlgorithmNotAllowed
    );
    // An RSA key whose JWK says RS256 does not verify PS256.
    let ps = with_header(serde_json::json!({"alg": "PS256"}), &jws);
    assert_eq!(
        UnverifiedJws::parse(&ps)
            .unwrap()
            .verify(&public(&rsa), &[Algorithm::Ps256])
            .unwrap_err(),
        JwsError::WrongKeyForAlgorithm
    );
}

#[test]
fn malformed_input_is_refused_without_panicking() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let jws = signed(&key, None);
    let long = "a".repeat(MAX_JWS_LEN + 1);
    let padded = format!("{jws}=");
    for bad in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "!!!.e30.AA",
        "e30.e30.AA",
        "W10.e30.AA",
        "eyJhbGciOjF9.e30.AA",
        long.as_str(),
        padded.as_str(),
    ] {
        assert!(UnverifiedJws::parse(bad).is_err(), "{bad:.40}");
    }
    assert_eq!(
        UnverifiedJws::parse_with_limit(&jws, 10).unwrap_err(),
        JwsError::TooLong
    );
}

#[test]
fn a_key_set_is_searched_by_kid_then_by_algorithm() {
    let a = SigningKey::generate(Algorithm::Es256).unwrap();
    let b = SigningKey::generate(Algorithm::Es256).unwrap();
    let keys = [public(&a), public(&b)];
    let by_b = signed(&b, None);
    let (_, used) = UnverifiedJws::parse(&by_b)
        .unwrap()
        .verify_with_any(&keys, &[Algorithm::Es256])
        .unwrap();
    assert_eq!(used.kid(), Some(b.key_id()));
    // Without a kid, each key for the algorithm is tried.
    let no_kid = {
        let payload = URL_SAFE_NO_PAD.encode(b"{}");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256"}"#);
        let input = format!("{header}.{payload}");
        let sig = b.sign_now(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    };
    let (payload, used) = UnverifiedJws::parse(&no_kid)
        .unwrap()
        .verify_with_any(&keys, &[Algorithm::Es256])
        .unwrap();
    assert_eq!(payload, b"{}");
    assert_eq!(used.kid(), Some(b.key_id()));
    // A kid the set does not have.
    let stranger = SigningKey::generate(Algorithm::Es256).unwrap();
    assert_eq!(
        UnverifiedJws::parse(&signed(&stranger, None))
            .unwrap()
            .verify_with_any(&keys, &[Algorithm::Es256])
            .unwrap_err(),
        JwsError::NoMatchingKey
    );
}

#[test]
fn hmac_verification_needs_a_long_enough_secret() {
    use aws_lc_rs::hmac;
    let secret = [7u8; 32];
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(br#"{"iss":"c"}"#)
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &secret),
        input.as_bytes(),
    );
    let jws = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let verify = |secret: &[u8]| {
        UnverifiedJws::parse(&jws)
            .unwrap()
            .verify_hmac(secret, &[Algorithm::Hs256])
    };
    assert_eq!(verify(&secret).unwrap(), br#"{"iss":"c"}"#);
    assert_eq!(verify(&[8u8; 32]).unwrap_err(), JwsError::BadSignature);
    assert_eq!(verify(&[7u8; 16]).unwrap_err(), JwsError::WeakHmacKey);
    assert_eq!(
        UnverifiedJws::parse(&jws)
            .unwrap()
            .verify_hmac(&secret, &[Algorithm::Es256])
            .unwrap_err(),
        JwsError::AlgorithmNotAllowed
    );
}

#[test]
fn public_keys_are_checked() {
    let ok = SigningKey::generate(Algorithm::Es256).unwrap();
    let mut jwk = ok.public_jwk().clone();
    jwk.use_ = Some("enc".into());
    assert!(PublicKey::from_jwk(&jwk).is_err());
    let mut jwk = ok.public_jwk().clone();
    jwk.crv = Some("P-384".into());
    assert!(PublicKey::from_jwk(&jwk).is_err());
    let mut jwk = ok.public_jwk().clone();
    jwk.x = Some("AAAA".into());
    assert!(PublicKey::from_jwk(&jwk).is_err());
    let mut jwk = ok.public_jwk().clone();
    jwk.alg = Some("RS256".into());
    assert!(PublicKey::from_jwk(&jwk).is_err());
    // A 1024-bit RSA modulus.
    let weak = Jwk {
        kty: "RSA".into(),
        kid: None,
        use_: None,
        alg: None,
        crv: None,
        x: None,
        y: None,
        n: Some(URL_SAFE_NO_PAD.encode([0xc5u8; 128])),
        e: Some("AQAB".into()),
    };
    assert_eq!(
        PublicKey::from_jwk(&weak).unwrap_err(),
        JwkError::Unsupported("an RSA key under 2048 bits")
    );
    // A header's jwk must be public.
    let jws = signed(&ok, None);
    let with_private = with_header(
        serde_json::json!({"alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}}),
        &jws,
    );
    assert_eq!(
        UnverifiedJws::parse(&with_private).unwrap_err(),
        JwsError::HeaderKey(JwkError::PrivateMaterial)
    );
}

#[test]
fn rotation_publishes_before_use_and_keeps_the_old_key_until_its_tokens_expire() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let first = SigningKey::generate(Algorithm::Es256).unwrap();
    let first_kid = first.key_id().to_owned();
    let keys = KeySet::new().with_key(first).unwrap();
    assert_eq!(keys.algorithms(), vec![Algorithm::Es256]);
    let token = block_on(sign_json(
        keys.active(Algorithm::Es256).unwrap().as_ref(),
        None,
        &serde_json::json!({}),
    ))
    .unwrap();

    // Staged: published, not signing.
    let second = SigningKey::generate(Algorithm::Es256).unwrap();
    let second_kid = second.key_id().to_owned();
    keys.stage(second).unwrap();
    let published: Vec<_> = keys
        .jwks(t0)
        .keys
        .into_iter()
        .filter_map(|k| k.kid)
        .collect();
    assert_eq!(published, vec![first_kid.clone(), second_kid.clone()]);
    assert_eq!(keys.active(Algorithm::Es256).unwrap().key_id(), first_kid);

    // Activated: the new key signs; the old one stays published until
    // the retention time, so the token it signed still verifies.
    let until = t0 + Duration::from_secs(600);
    assert_eq!(
        keys.activate(&second_kid, until).unwrap(),
        Some(first_kid.clone())
    );
    assert_eq!(keys.active(Algorithm::Es256).unwrap().key_id(), second_kid);
    let jwks = keys.jwks(t0 + Duration::from_secs(599));
    let verifiers: Vec<PublicKey> = jwks
        .keys
        .iter()
        .map(|k| PublicKey::from_jwk(k).unwrap())
        .collect();
    UnverifiedJws::parse(&token)
        .unwrap()
        .verify_with_any(&verifiers, &[Algorithm::Es256])
        .unwrap();
    assert_eq!(keys.keys()[0].2, KeyStatus::Retired { until });

    // Past it, the old key leaves the JWKS, and purge drops it.
    let later: Vec<_> = keys
        .jwks(until)
        .keys
        .into_iter()
        .filter_map(|k| k.kid)
        .collect();
    assert_eq!(later, vec![second_kid.clone()]);
    assert_eq!(keys.purge(until), 1);
    assert_eq!(keys.keys().len(), 1);
}

#[test]
fn key_set_refusals() {
    let a = SigningKey::generate(Algorithm::Es256).unwrap();
    let a_kid = a.key_id().to_owned();
    let copy =
        SigningKey::from_pkcs8(Algorithm::Es256, a.to_pkcs8().unwrap().expose_secret()).unwrap();
    let keys = KeySet::new().with_key(a).unwrap();
    assert_eq!(
        keys.stage(copy).unwrap_err(),
        KeySetError::DuplicateKid(a_kid.clone())
    );
    assert_eq!(
        keys.activate(&a_kid, UNIX_EPOCH).unwrap_err(),
        KeySetError::NotStaged(a_kid.clone())
    );
    assert_eq!(
        keys.remove(&a_kid).unwrap_err(),
        KeySetError::Active(a_kid.clone())
    );
    assert_eq!(
        keys.activate("nope", UNIX_EPOCH).unwrap_err(),
        KeySetError::UnknownKid("nope".into())
    );
    // A second key of another algorithm is active at once; of the same,
    // staged.
    let keys = keys
        .with_key(SigningKey::generate(Algorithm::Rs256).unwrap())
        .unwrap()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap();
    assert_eq!(keys.algorithms(), vec![Algorithm::Es256, Algorithm::Rs256]);
    let staged: Vec<_> = keys
        .keys()
        .into_iter()
        .filter(|k| k.2 == KeyStatus::Staged)
        .collect();
    assert_eq!(staged.len(), 1);
    keys.remove(&staged[0].0).unwrap();
    assert_eq!(keys.keys().len(), 2);
}
