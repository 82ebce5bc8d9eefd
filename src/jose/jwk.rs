//! Public JSON Web Keys and key sets (RFC 7517), and their thumbprints
//! (RFC 7638).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The members of a JWK that carry private key material (RFC 7518 §6.2.2,
/// §6.3.2, §6.4; RFC 8037 §2). A public key set holding any of them is
/// refused: a client that published its private key has no key at all.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The most keys a key set may hold. A client's or a server's set has a
/// handful; a set of thousands is a denial-of-service attempt on whoever
/// tries each key.
pub const MAX_KEYS: usize = 32;

/// Why a JWK or key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    /// Not a JSON object with the members RFC 7517 requires.
    #[error("malformed JWK: {0}")]
    Malformed(&'static str),
    /// The key carries private key material.
    #[error("the key set holds private key material")]
    PrivateMaterial,
    /// More than [`MAX_KEYS`] keys.
    #[error("the key set holds more than {MAX_KEYS} keys")]
    TooManyKeys,
    /// Two keys with one `kid`.
    #[error("two keys share the kid {0:?}")]
    DuplicateKid(String),
    /// A key type or curve portcullis cannot use, or a key too weak
    /// (RSA under 2048 bits).
    #[error("unsupported key: {0}")]
    Unsupported(&'static str),
}

/// A public JSON Web Key (RFC 7517 §4): an elliptic-curve (P-256), RSA or
/// Ed25519 (`OKP`) public key, with its `kid`, `use` and `alg` when given.
///
/// Parsed from a key set, a JWK is only data; [`PublicKey::from_jwk`](super::PublicKey::from_jwk)
/// checks that it is a usable key. Members this type does not know are
/// dropped when it is parsed, and a private member refuses it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// The key type: `EC`, `RSA` or `OKP` (RFC 7517 §4.1).
    pub kty: String,
    /// The key id (RFC 7517 §4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The intended use, `sig` for every key portcullis publishes
    /// (RFC 7517 §4.2).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The algorithm the key is for (RFC 7517 §4.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// The curve: `P-256` or `Ed25519` (RFC 7518 §6.2.1.1, RFC 8037 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The x coordinate (EC) or the public key (OKP), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The modulus (RSA), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The public exponent (RSA), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public material only, but long: the type, curve and id say which.
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Jwk {
    /// Parses one public JWK from a JSON object, refusing private members.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, JwkError> {
        let object = value
            .as_object()
            .ok_or(JwkError::Malformed("a JWK is a JSON object"))?;
        if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
            return Err(JwkError::PrivateMaterial);
        }
        serde_json::from_value(value.clone())
            .map_err(|_| JwkError::Malformed("a member has the wrong type"))
    }

    /// The RFC 7638 thumbprint: the base64url SHA-256 of the key's required
    /// members in lexicographic order. Used as the `kid` of the keys
    /// portcullis generates and, for DPoP, as `jkt` (RFC 9449 §6.1).
    pub fn thumbprint(&self) -> Result<String, JwkError> {
        let missing = JwkError::Malformed("a required member is missing");
        // serde_json writes the strings with the escaping RFC 7638 §3.3
        // asks for; the members are in lexicographic order by hand.
        let string = |s: &Option<String>| {
            s.as_deref()
                .map(|s| serde_json::Value::from(s).to_string())
                .ok_or(missing.clone())
        };
        let canonical = match self.kty.as_str() {
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                string(&self.crv)?,
                string(&self.x)?,
                string(&self.y)?
            ),
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                string(&self.e)?,
                string(&self.n)?
            ),
            "OKP" => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                string(&self.crv)?,
                string(&self.x)?
            ),
            _ => return Err(JwkError::Unsupported("key type")),
        };
        Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }
}

/// A JWK Set (RFC 7517 §5): what a `jwks_uri` serves, and what a client
/// registers as `jwks` (RFC 7591 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses a key set from JSON, refusing private key material, more than
    /// [`MAX_KEYS`] keys and two keys with one `kid`. Keys of a type
    /// portcullis does not understand are kept (RFC 7517 §5 says to ignore
    /// them); [`PublicKey::from_jwk`](super::PublicKey::from_jwk) refuses them when they are tried.
    pub fn from_json(json: &[u8]) -> Result<Self, JwkError> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|_| JwkError::Malformed("not JSON"))?;
        Self::from_value(&value)
    }

    /// [`from_json`](Self::from_json), from a parsed JSON value.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, JwkError> {
        let keys = value
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or(JwkError::Malformed("a key set has a \"keys\" array"))?;
        if keys.len() > MAX_KEYS {
            return Err(JwkError::TooManyKeys);
        }
        let keys = keys
            .iter()
            .map(Jwk::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        let mut kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        kids.sort_unstable();
        if let Some(pair) = kids.windows(2).find(|pair| pair.first() == pair.last()) {
            let kid = pair.first().copied().unwrap_or_default();
            return Err(JwkError::DuplicateKid(kid.to_owned()));
        }
        Ok(Self { keys })
    }

    /// The keys usable to verify signatures; keys of a type or curve
    /// portcullis does not verify with are left out.
    pub fn public_keys(&self) -> Vec<super::PublicKey> {
        self.keys
            .iter()
            .filter_map(|jwk| super::PublicKey::from_jwk(jwk).ok())
            .collect()
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// The set as JSON.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "keys": self.keys }).to_string()
    }
}

/// Decodes a base64url member (no padding, canonical: RFC 7515 §2).
pub(crate) fn decode_member(value: Option<&str>) -> Result<Vec<u8>, JwkError> {
    let value = value.ok_or(JwkError::Malformed("a required member is missing"))?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| JwkError::Malformed("a member is not base64url"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_material_duplicates_and_floods_are_refused() {
        let private = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}]});
        assert_eq!(JwkSet::from_value(&private), Err(JwkError::PrivateMaterial));
        let secret = serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        assert_eq!(JwkSet::from_value(&secret), Err(JwkError::PrivateMaterial));
        let twice = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "a", "kid": "k"},
            {"kty": "OKP", "crv": "Ed25519", "x": "b", "kid": "k"}
        ]});
        assert_eq!(
            JwkSet::from_value(&twice),
            Err(JwkError::DuplicateKid("k".into()))
        );
        let many: Vec<_> = (0..=MAX_KEYS)
            .map(|_| serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "a"}))
            .collect();
        assert_eq!(
            JwkSet::from_value(&serde_json::json!({ "keys": many })),
            Err(JwkError::TooManyKeys)
        );
        for bad in [
            serde_json::json!([]),
            serde_json::json!({"keys": {}}),
            serde_json::json!({"keys": [1]}),
            serde_json::json!({"keys": [{"kty": 1}]}),
        ] {
            assert!(
                matches!(JwkSet::from_value(&bad), Err(JwkError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(JwkSet::from_json(b"{").is_err());
    }

    #[test]
    fn unknown_key_types_are_kept_and_found_by_kid() {
        let set = JwkSet::from_value(&serde_json::json!({"keys": [
            {"kty": "XYZ", "kid": "later"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed"}
        ]}))
        .unwrap();
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.find("ed").unwrap().kty, "OKP");
        assert!(set.find("none").is_none());
        assert!(set.find("later").unwrap().thumbprint().is_err());
        let json: serde_json::Value = serde_json::from_str(&set.to_json()).unwrap();
        assert_eq!(json["keys"][1]["kid"], "ed");
        assert!(json["keys"][1].get("use").is_none());
    }
}
