//! Proof Key for Code Exchange (RFC 7636).
//!
//! The authorization request carries a `code_challenge`; the token request
//! proves possession of the `code_verifier` it was derived from. portcullis
//! requires `S256` (RFC 9700 §2.1.1): `plain` protects nothing against an
//! attacker who can read the authorization request, and is accepted only when
//! the server is explicitly configured to.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::secret::secret_type;
use crate::token::is_base64url;

/// Why a PKCE parameter was refused. Each maps to `invalid_request` at the
/// authorization endpoint, or `invalid_grant` at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// `code_challenge_method` is neither `S256` nor `plain`.
    #[error("unsupported code_challenge_method")]
    UnsupportedMethod,
    /// `plain` (or no method, which RFC 7636 §4.3 reads as `plain`) where only
    /// `S256` is allowed.
    #[error("code_challenge_method must be S256")]
    PlainNotAllowed,
    /// The challenge is not of the form its method requires (RFC 7636 §4.2).
    #[error("code_challenge is malformed")]
    InvalidChallenge,
    /// The verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1).
    #[error("code_verifier is malformed")]
    InvalidVerifier,
}

/// How the challenge was derived from the verifier (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeChallengeMethod {
    /// `BASE64URL(SHA256(verifier))`.
    S256,
    /// The verifier itself. Off unless the server opts in.
    Plain,
}

impl CodeChallengeMethod {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChallengeMethod::S256 => "S256",
            CodeChallengeMethod::Plain => "plain",
        }
    }

    /// Parses a wire name; the comparison is case-sensitive (RFC 7636 §4.3).
    pub fn parse(name: &str) -> Result<Self, PkceError> {
        match name {
            "S256" => Ok(Self::S256),
            "plain" => Ok(Self::Plain),
            _ => Err(PkceError::UnsupportedMethod),
        }
    }
}

/// The length of an `S256` challenge: a SHA-256 digest in unpadded base64url.
const S256_CHALLENGE_LEN: usize = 43;

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`, 43 to 128 of them
/// (RFC 7636 §4.1, §4.2).
fn is_verifier_syntax(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A `code_challenge` and its method, as received in an authorization request.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeChallenge {
    method: CodeChallengeMethod,
    /// Shared: a challenge travels from the request to the pending request,
    /// the code and back without being copied.
    value: Arc<str>,
}

impl CodeChallenge {
    /// Validates a challenge. `method` is the `code_challenge_method`
    /// parameter; when it is absent RFC 7636 §4.3 means `plain`, which (like an
    /// explicit `plain`) is refused unless `allow_plain`.
    pub fn parse(value: &str, method: Option<&str>, allow_plain: bool) -> Result<Self, PkceError> {
        let method = match method {
            Some(name) => CodeChallengeMethod::parse(name)?,
            None => CodeChallengeMethod::Plain,
        };
        if method == CodeChallengeMethod::Plain && !allow_plain {
            return Err(PkceError::PlainNotAllowed);
        }
        let valid = match method {
            // The base64url encoding of a SHA-256 digest: exactly 43 characters.
            CodeChallengeMethod::S256 => {
                value.len() == S256_CHALLENGE_LEN && is_base64url(value.as_bytes())
            }
            CodeChallengeMethod::Plain => is_verifier_syntax(value),
        };
        if !valid {
            return Err(PkceError::InvalidChallenge);
        }
        Ok(Self {
            method,
            value: Arc::from(value),
        })
    }

    /// The method.
    pub fn method(&self) -> CodeChallengeMethod {
        self.method
    }

    /// The challenge as received.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Whether `verifier` is the one this challenge was derived from
    /// (RFC 7636 §4.6). Constant-time in the compared values.
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        self.matches(verifier.expose_secret())
    }

    fn matches(&self, verifier: &str) -> bool {
        match self.method {
            CodeChallengeMethod::S256 => {
                let digest = Sha256::digest(verifier.as_bytes());
                // On the stack: a digest always fits, so `encode_slice` never
                // fails, and an empty slice would match nothing anyway.
                let mut encoded = [0u8; S256_CHALLENGE_LEN];
                let len = URL_SAFE_NO_PAD
                    .encode_slice(digest, &mut encoded)
                    .unwrap_or(0);
                // `ct_eq` of slices of different lengths is false.
                let encoded = encoded.get(..len).unwrap_or_default();
                // mutants: equivalent — `len >= 0` for `len > 0`: `len` is
                // always 43, as a digest always fits, so both are true; the
                // test only guards against an encoding failure that cannot
                // happen.
                len > 0 && bool::from(encoded.ct_eq(self.value.as_bytes()))
            }
            CodeChallengeMethod::Plain => {
                let (a, b) = (verifier.as_bytes(), self.value.as_bytes());
                a.len() == b.len() && bool::from(a.ct_eq(b))
            }
        }
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeChallenge({}, {})", self.method.as_str(), self.value)
    }
}

secret_type! {
    /// A PKCE `code_verifier` (RFC 7636 §4.1). Not `Clone`: it is presented
    /// once.
    CodeVerifier
}

impl CodeVerifier {
    /// The `S256` challenge this verifier answers: BASE64URL(SHA-256(verifier))
    /// (RFC 7636 §4.2). For a store that compares challenges itself, in SQL
    /// say; [`CodeChallenge::verify`] compares in constant time.
    pub fn s256_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.expose_secret().as_bytes()))
    }

    /// Validates a verifier received at the token endpoint.
    pub fn parse(value: &str) -> Result<Self, PkceError> {
        if is_verifier_syntax(value) {
            Ok(Self::new(value))
        } else {
            Err(PkceError::InvalidVerifier)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap();
        assert!(challenge.verify(&CodeVerifier::parse(VERIFIER).unwrap()));
        let other = CodeVerifier::parse(&VERIFIER.replace('d', "e")).unwrap();
        assert!(!challenge.verify(&other));
    }

    #[test]
    fn s256_challenge_is_rfc7636_appendix_b() {
        assert_eq!(
            CodeVerifier::parse(VERIFIER).unwrap().s256_challenge(),
            CHALLENGE
        );
    }

    #[test]
    fn plain_needs_an_opt_in_and_a_missing_method_means_plain() {
        assert_eq!(
            CodeChallenge::parse(VERIFIER, Some("plain"), false),
            Err(PkceError::PlainNotAllowed)
        );
        assert_eq!(
            CodeChallenge::parse(VERIFIER, None, false),
            Err(PkceError::PlainNotAllowed)
        );
        let plain = CodeChallenge::parse(VERIFIER, None, true).unwrap();
        assert_eq!(plain.method(), CodeChallengeMethod::Plain);
        assert!(plain.verify(&CodeVerifier::parse(VERIFIER).unwrap()));
        assert!(!plain.verify(&CodeVerifier::parse(&format!("{VERIFIER}x")).unwrap()));
        // Same length, different content: the lengths agreeing is not enough.
        assert!(!plain.verify(&CodeVerifier::parse(&VERIFIER.replace('d', "e")).unwrap()));
    }

    #[test]
    fn names_and_values_are_kept_as_received() {
        assert_eq!(CodeChallengeMethod::S256.as_str(), "S256");
        assert_eq!(CodeChallengeMethod::Plain.as_str(), "plain");
        for method in [CodeChallengeMethod::S256, CodeChallengeMethod::Plain] {
            assert_eq!(CodeChallengeMethod::parse(method.as_str()), Ok(method));
        }
        let challenge = CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap();
        assert_eq!(challenge.as_str(), CHALLENGE);
        assert_eq!(
            format!("{challenge:?}"),
            format!("CodeChallenge(S256, {CHALLENGE})")
        );
    }

    #[test]
    fn syntax_is_checked() {
        assert_eq!(
            CodeChallenge::parse(CHALLENGE, Some("s256"), false),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            CodeChallenge::parse(&CHALLENGE[..42], Some("S256"), false),
            Err(PkceError::InvalidChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(&format!("{}=", &CHALLENGE[..42]), Some("S256"), false),
            Err(PkceError::InvalidChallenge)
        );
        for bad in [
            "short",
            &"a".repeat(129),
            &format!("{}+", &VERIFIER[..43]),
            &format!("{} ", &VERIFIER[..43]),
        ] {
            assert_eq!(
                CodeVerifier::parse(bad).unwrap_err(),
                PkceError::InvalidVerifier,
                "{bad:?}"
            );
        }
        assert!(CodeVerifier::parse(&"a~._-".repeat(9)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn verifier_is_redacted() {
        let v = CodeVerifier::parse(VERIFIER).unwrap();
        assert_eq!(format!("{v:?}"), "CodeVerifier([redacted])");
    }
}
