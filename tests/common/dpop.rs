//! DPoP proofs (RFC 9449 §4.2) as a client makes them, for the tests.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::jose::{Algorithm, SigningKey};
use portcullis::protocol::access_token_hash;
use serde_json::{Value, json};

/// A client's DPoP key pair.
pub struct ProofKey {
    pub key: SigningKey,
}

impl ProofKey {
    /// A fresh ES256 key.
    pub fn new() -> Self {
        Self::of(Algorithm::Es256)
    }

    /// A fresh key of `alg`.
    pub fn of(alg: Algorithm) -> Self {
        Self {
            key: SigningKey::generate(alg).unwrap(),
        }
    }

    /// Its RFC 7638 thumbprint, the `jkt` a bound token carries.
    pub fn jkt(&self) -> String {
        self.key.public_jwk().thumbprint().unwrap()
    }

    /// The public JWK, as the proof's header carries it.
    pub fn jwk(&self) -> Value {
        let mut jwk = serde_json::to_value(self.key.public_jwk()).unwrap();
        if let Some(object) = jwk.as_object_mut() {
            object.remove("kid");
            object.remove("use");
            object.remove("alg");
        }
        jwk
    }

    /// A proof for `htm` `htu` at `iat`, with a fresh `jti`, and `ath` for
    /// `access_token` and `nonce` when given.
    pub fn proof(
        &self,
        htm: &str,
        htu: &str,
        iat: SystemTime,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": fresh_jti(),
            "htm": htm,
            "htu": htu,
            "iat": iat.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(access_token_hash(token));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        self.sign(&self.header(), &claims)
    }

    /// The header a proof has: `typ`, `alg`, `jwk`.
    pub fn header(&self) -> Value {
        json!({
            "typ": "dpop+jwt",
            "alg": self.key.algorithm().as_str(),
            "jwk": self.jwk(),
        })
    }

    /// A compact JWS of `header` and `claims`, signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign_now(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

impl Default for ProofKey {
    fn default() -> Self {
        Self::new()
    }
}

/// A random `jti`.
pub fn fresh_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("jti-{nanos}-{n}")
}

/// The payload of a compact JWT, unverified (the test trusts its server).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
