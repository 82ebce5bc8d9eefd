//! OpenID Connect's authentication request parameters (OpenID Connect Core
//! 1.0 §3.1.2.1): what a request whose scope includes `openid` may add to an
//! OAuth authorization request, parsed and bounded. Pure types: the
//! authorization endpoint decides what they mean.

mod claims_request;
mod prompt;

pub use claims_request::{
    ClaimRequest, ClaimsRequest, InvalidClaimsRequest, MAX_CLAIMS_REQUEST_LEN, MAX_REQUESTED_CLAIMS,
};
pub use prompt::{InvalidPrompt, Prompt};

use super::{ErrorCode, FormError, OAuthError, Params};

/// The longest `nonce` accepted, in bytes.
pub const MAX_NONCE_LEN: usize = 512;

/// The longest `login_hint`, `id_token_hint` or `acr_values` accepted, in
/// bytes.
pub const MAX_HINT_LEN: usize = 2048;

/// The most values `ui_locales`, `claims_locales` or `acr_values` may hold.
pub const MAX_LIST_VALUES: usize = 16;

/// The largest `max_age` accepted, in seconds (ten years); larger values
/// are refused rather than overflow a time.
pub const MAX_MAX_AGE: u64 = 10 * 365 * 24 * 60 * 60;

/// How the relying party would like pages displayed (`display`, Core
/// §3.1.2.1). Passed to the host, which may ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Display {
    /// A full page (the default).
    Page,
    /// A popup window.
    Popup,
    /// A touch interface.
    Touch,
    /// A feature phone.
    Wap,
}

impl Display {
    /// The values `display` may take.
    pub const SUPPORTED: [&'static str; 4] = ["page", "popup", "touch", "wap"];

    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "page" => Display::Page,
            "popup" => Display::Popup,
            "touch" => Display::Touch,
            "wap" => Display::Wap,
            _ => return None,
        })
    }
}

/// The parameters an OpenID Connect authentication request adds (Core
/// §3.1.2.1), as received: each bounded in length and count, but not yet
/// checked against anything but its syntax. `id_token_hint` is kept raw
/// here; the authorization endpoint verifies it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct OpenIdParams {
    /// `nonce`: returned unchanged in the ID token (§3.1.2.1, §3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `prompt`.
    #[serde(default, skip_serializing_if = "Prompt::is_empty")]
    pub prompt: Prompt,
    /// `max_age`: the most seconds since the End-User last authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// `display`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Display>,
    /// `ui_locales`: BCP 47 tags, preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ui_locales: Vec<String>,
    /// `claims_locales`: BCP 47 tags for claim values, preferred first
    /// (§5.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
    /// `login_hint`: who the relying party thinks is signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// `acr_values`: authentication context classes, preferred first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// `id_token_hint`, unverified; never stored.
    #[serde(skip)]
    pub id_token_hint: Option<String>,
    /// `claims` (§5.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
}

fn refuse(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(description)
}

fn single<'a>(params: &'a Params<'_>, name: &str) -> Result<Option<&'a str>, OAuthError> {
    params
        .get(name)
        .map_err(|_: FormError| refuse("a parameter is repeated"))
}

/// A space-separated list of at most [`MAX_LIST_VALUES`] values each
/// passing `valid`.
fn list(
    value: Option<&str>,
    valid: impl Fn(&str) -> bool,
    description: &'static str,
) -> Result<Vec<String>, OAuthError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if value.len() > MAX_HINT_LEN {
        return Err(refuse(description));
    }
    let values: Vec<String> = value
        .split(' ')
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if values.len() > MAX_LIST_VALUES || !values.iter().all(|v| valid(v)) {
        return Err(refuse(description));
    }
    Ok(values)
}

/// A BCP 47 language tag's syntax, loosely: letters, digits and hyphens,
/// at most 64 bytes.
fn is_language_tag(tag: &str) -> bool {
    tag.len() <= 64 && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Printable ASCII with no space (a single `acr_values` value).
fn is_printable_word(value: &str) -> bool {
    value.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

/// `ui_locales` (Core §3.1.2.1, RP-Initiated Logout 1.0 §2): at most
/// [`MAX_LIST_VALUES`] BCP 47 tags, preferred first.
pub(crate) fn ui_locales(params: &Params<'_>) -> Result<Vec<String>, OAuthError> {
    list(
        single(params, "ui_locales")?,
        is_language_tag,
        "ui_locales is malformed",
    )
}

/// A hint parameter (`login_hint`, `id_token_hint`, `logout_hint`): once,
/// at most [`MAX_HINT_LEN`] bytes.
pub(crate) fn hint(
    params: &Params<'_>,
    name: &str,
    description: &'static str,
) -> Result<Option<String>, OAuthError> {
    single(params, name)?
        .map(|value| match value.len() {
            0 => Err(refuse(description)),
            n if n > MAX_HINT_LEN => Err(refuse(description)),
            _ => Ok(value.to_owned()),
        })
        .transpose()
}

impl OpenIdParams {
    /// Reads the parameters from an authorization request.
    ///
    /// `request` (a request object) and `request_uri` are refused with
    /// `request_not_supported` and `request_uri_not_supported`, and
    /// `registration` with `registration_not_supported` (Core §3.1.2.6,
    /// §6): a provider that ignored them would process a request the
    /// relying party did not make. Anything malformed or too long is
    /// `invalid_request`.
    pub fn from_params(params: &Params<'_>) -> Result<Self, OAuthError> {
        if params.contains("request") {
            return Err(OAuthError::new(ErrorCode::REQUEST_NOT_SUPPORTED)
                .with_description("request objects are not supported"));
        }
        if params.contains("request_uri") {
            return Err(OAuthError::new(ErrorCode::REQUEST_URI_NOT_SUPPORTED)
                .with_description("request_uri is not supported"));
        }
        if params.contains("registration") {
            return Err(OAuthError::new(ErrorCode::REGISTRATION_NOT_SUPPORTED)
                .with_description("the registration parameter is not supported"));
        }
        let nonce = single(params, "nonce")?
            .map(|nonce| match nonce.len() {
                0 => Err(refuse("nonce is empty")),
                n if n > MAX_NONCE_LEN => Err(refuse("nonce is too long")),
                _ => Ok(nonce.to_owned()),
            })
            .transpose()?;
        let prompt = single(params, "prompt")?
            .map(Prompt::parse)
            .transpose()
            .map_err(|e| match e {
                InvalidPrompt::NoneWithOthers => {
                    refuse("prompt=none cannot be combined with other values")
                }
                _ => refuse("prompt has an unsupported value"),
            })?
            .unwrap_or_default();
        let max_age = single(params, "max_age")?
            .map(|value| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|age| value.bytes().all(|b| b.is_ascii_digit()) && *age <= MAX_MAX_AGE)
                    .ok_or_else(|| refuse("max_age must be a number of seconds"))
            })
            .transpose()?;
        let display = single(params, "display")?
            .map(|value| Display::parse(value).ok_or_else(|| refuse("unsupported display value")))
            .transpose()?;
        let ui_locales = ui_locales(params)?;
        let claims_locales = list(
            single(params, "claims_locales")?,
            is_language_tag,
            "claims_locales is malformed",
        )?;
        let acr_values = list(
            single(params, "acr_values")?,
            is_printable_word,
            "acr_values is malformed",
        )?;
        let login_hint = hint(params, "login_hint", "login_hint is empty or too long")?;
        let id_token_hint = hint(
            params,
            "id_token_hint",
            "id_token_hint is empty or too long",
        )?;
        let claims = single(params, "claims")?
            .map(ClaimsRequest::parse)
            .transpose()
            .map_err(|e| match e {
                InvalidClaimsRequest::TooLong => refuse("the claims parameter is too long"),
                InvalidClaimsRequest::TooMany => {
                    refuse("the claims parameter names too many claims")
                }
                _ => refuse("the claims parameter is malformed"),
            })?;
        Ok(Self {
            nonce,
            prompt,
            max_age,
            display,
            ui_locales,
            claims_locales,
            login_hint,
            acr_values,
            id_token_hint,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<OpenIdParams, OAuthError> {
        OpenIdParams::from_params(&Params::parse(query.as_bytes()).unwrap())
    }

    #[test]
    fn every_parameter_is_read() {
        let p = parse(
            "nonce=n-0S6_WzA2Mj&prompt=login%20consent&max_age=0&display=popup\
             &ui_locales=fr-CA%20fr%20en&claims_locales=de&login_hint=alice%40example.com\
             &acr_values=urn%3Aloa%3A2%20urn%3Aloa%3A1&id_token_hint=a.b.c\
             &claims=%7B%22id_token%22%3A%7B%22email%22%3Anull%7D%7D&unknown=ignored",
        )
        .unwrap();
        assert_eq!(p.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert!(p.prompt.login() && p.prompt.consent());
        assert_eq!(p.max_age, Some(0));
        assert_eq!(p.display, Some(Display::Popup));
        assert_eq!(p.ui_locales, ["fr-CA", "fr", "en"]);
        assert_eq!(p.claims_locales, ["de"]);
        assert_eq!(p.login_hint.as_deref(), Some("alice@example.com"));
        assert_eq!(p.acr_values, ["urn:loa:2", "urn:loa:1"]);
        assert_eq!(p.id_token_hint.as_deref(), Some("a.b.c"));
        assert!(p.claims.unwrap().id_token_claim("email").is_some());
        assert_eq!(parse("").unwrap(), OpenIdParams::default());
    }

    #[test]
    fn refusals_carry_the_registered_codes() {
        let code = |q: &str| parse(q).unwrap_err().code().as_str().to_owned();
        assert_eq!(code("request=eyJ"), "request_not_supported");
        assert_eq!(
            code("request_uri=https%3A%2F%2Fx"),
            "request_uri_not_supported"
        );
        assert_eq!(code("registration=%7B%7D"), "registration_not_supported");
        for bad in [
            "prompt=none%20login",
            "prompt=bogus",
            "max_age=-1",
            "max_age=%2B5",
            "max_age=1e3",
            "max_age=99999999999999999999",
            "display=tv",
            "nonce=a&nonce=b",
            "claims=%5B%5D",
            "ui_locales=%3Cscript%3E",
        ] {
            assert_eq!(code(bad), "invalid_request", "{bad}");
        }
        let long = format!("nonce={}", "n".repeat(MAX_NONCE_LEN + 1));
        assert_eq!(code(&long), "invalid_request");
    }
}
