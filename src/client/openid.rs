//! What a client registers for OpenID Connect (OpenID Connect Dynamic
//! Client Registration 1.0 §2; Core 1.0 §8; RP-Initiated Logout 1.0 §3.1):
//! how its ID tokens and userinfo responses are signed, its subject
//! identifier type and sector, where it may be sent after logout, and the
//! authentication defaults of its requests.
//!
//! Registered with [`ClientRegistration`]'s setters below or by dynamic
//! registration ([`ClientMetadata`](super::ClientMetadata)), stored with the
//! client, and read with [`Client`]'s getters below. Clients stored before
//! these members existed load with their defaults.

use url::Url;

use super::info::document_url;
use super::registration_error::RegistrationError;
use super::{Client, ClientProfile, ClientRegistration, MAX_REDIRECT_URIS, RedirectUri};
use crate::fetch::{FetchLimits, Fetcher};
use crate::jose::Algorithm;

/// The algorithms a client may register for its ID tokens
/// (`id_token_signed_response_alg`) and userinfo responses
/// (`userinfo_signed_response_alg`): asymmetric ones only. `none` is never
/// accepted, and `HS256` is refused: the server keeps no client secret to
/// sign with (it stores only hashes).
pub const OPENID_SIGNING_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::Es256,
    Algorithm::EdDsa,
];

/// The most `default_acr_values` a client may register.
pub const MAX_DEFAULT_ACR_VALUES: usize = 16;

/// The longest `default_acr_values` entry accepted, in bytes.
pub const MAX_ACR_VALUE_LEN: usize = 256;

/// The largest `default_max_age` accepted, in seconds (about 136 years): far
/// beyond any real session, and small enough that adding it to a time
/// cannot overflow.
pub const MAX_DEFAULT_MAX_AGE: u64 = u32::MAX as u64;

/// The subject identifier type a client receives (OpenID Connect Core 1.0
/// §8; Registration §2 `subject_type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectType {
    /// The same `sub` for an end-user at every client (the default).
    #[default]
    Public,
    /// A `sub` of its own per sector identifier (Core §8.1), so that
    /// clients of different sectors cannot correlate an end-user.
    Pairwise,
}

impl SubjectType {
    /// The value on the wire: `public` or `pairwise`.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Public => "public",
            SubjectType::Pairwise => "pairwise",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "public" => Some(SubjectType::Public),
            "pairwise" => Some(SubjectType::Pairwise),
            _ => None,
        }
    }
}

/// A client's validated OpenID Connect metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OpenIdMetadata {
    id_token_alg: Option<Algorithm>,
    userinfo_alg: Option<Algorithm>,
    subject_type: SubjectType,
    sector_identifier_uri: Option<Url>,
    /// Derived from the above and the redirect URIs, never stored.
    sector_identifier: Option<String>,
    post_logout_redirect_uris: Vec<RedirectUri>,
    require_auth_time: bool,
    default_max_age: Option<u64>,
    default_acr_values: Vec<String>,
}

/// The stored form of [`OpenIdMetadata`], flattened into a stored client
/// under the Registration §2 member names; every member defaults, so a
/// client stored without them loads.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct OpenIdParts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) userinfo_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sector_identifier_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) require_auth_time: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_max_age: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) default_acr_values: Vec<String>,
}

fn invalid(reason: impl Into<std::borrow::Cow<'static, str>>) -> RegistrationError {
    RegistrationError::InvalidMetadata(reason.into())
}

/// A signing algorithm named by `member`: one of
/// [`OPENID_SIGNING_ALGORITHMS`].
fn signing_alg(member: &str, name: Option<&str>) -> Result<Option<Algorithm>, RegistrationError> {
    let Some(name) = name else { return Ok(None) };
    match name.parse::<Algorithm>() {
        Ok(alg) if OPENID_SIGNING_ALGORITHMS.contains(&alg) => Ok(Some(alg)),
        _ => Err(invalid(format!(
            "{member} must be one of RS256, PS256, ES256, EdDSA (none and HS256 are not accepted)"
        ))),
    }
}

impl OpenIdParts {
    /// Validates the members for a client of `profile` with these redirect
    /// URIs.
    pub(crate) fn validate(
        self,
        profile: ClientProfile,
        redirect_uris: &[RedirectUri],
    ) -> Result<OpenIdMetadata, RegistrationError> {
        let id_token_alg = signing_alg(
            "id_token_signed_response_alg",
            self.id_token_signed_response_alg.as_deref(),
        )?;
        let userinfo_alg = signing_alg(
            "userinfo_signed_response_alg",
            self.userinfo_signed_response_alg.as_deref(),
        )?;
        let subject_type = match self.subject_type.as_deref() {
            None => SubjectType::Public,
            Some(name) => SubjectType::parse(name)
                .ok_or_else(|| invalid("subject_type must be public or pairwise"))?,
        };

        // RP-Initiated Logout 1.0 §3.1: URLs the client may be sent to after
        // logout, held to the rules of its redirect URIs and matched
        // exactly (§2), loopback ones included.
        if self.post_logout_redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(invalid("too many post_logout_redirect_uris"));
        }
        let mut post_logout_redirect_uris: Vec<RedirectUri> = Vec::new();
        for uri in &self.post_logout_redirect_uris {
            let parsed = RedirectUri::new(uri, profile)
                .map_err(|reason| invalid(format!("post_logout_redirect_uris: {reason}")))?
                .exact();
            if !post_logout_redirect_uris.contains(&parsed) {
                post_logout_redirect_uris.push(parsed);
            }
        }

        if self
            .default_max_age
            .is_some_and(|age| age > MAX_DEFAULT_MAX_AGE)
        {
            return Err(invalid("default_max_age is too large"));
        }
        if self.default_acr_values.len() > MAX_DEFAULT_ACR_VALUES {
            return Err(invalid("too many default_acr_values"));
        }
        let mut default_acr_values: Vec<String> = Vec::new();
        for value in self.default_acr_values {
            // The acr_values request parameter is space-separated (Core
            // §3.1.2.1), so a value with a space could never be asked for.
            if value.is_empty()
                || value.len() > MAX_ACR_VALUE_LEN
                || value.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(invalid(
                    "each default_acr_values entry must be 1 to 256 bytes without spaces",
                ));
            }
            if !default_acr_values.contains(&value) {
                default_acr_values.push(value);
            }
        }

        let sector_identifier_uri = self
            .sector_identifier_uri
            .as_deref()
            .map(|uri| document_url("sector_identifier_uri", uri))
            .transpose()?;
        let sector_identifier = match &sector_identifier_uri {
            Some(uri) => uri.host_str().map(str::to_owned),
            None => redirect_host(redirect_uris),
        };
        if subject_type == SubjectType::Pairwise && sector_identifier.is_none() {
            return Err(invalid(
                "a pairwise client needs a sector identifier: register a sector_identifier_uri, \
                 or https redirect URIs on a single host (OpenID Connect Core §8.1)",
            ));
        }

        Ok(OpenIdMetadata {
            id_token_alg,
            userinfo_alg,
            subject_type,
            sector_identifier_uri,
            sector_identifier,
            post_logout_redirect_uris,
            require_auth_time: self.require_auth_time,
            default_max_age: self.default_max_age,
            default_acr_values,
        })
    }
}

/// The sector identifier redirect URIs give (Core §8.1): their host, when
/// every one is `https` on that same host. A loopback or private-use
/// redirect names no site — every native app shares `127.0.0.1` — so it
/// gives none, lest unrelated apps share pairwise identifiers.
fn redirect_host(redirect_uris: &[RedirectUri]) -> Option<String> {
    let mut host: Option<String> = None;
    for uri in redirect_uris {
        let url = Url::parse(uri.as_str()).ok()?;
        if url.scheme() != "https" {
            return None;
        }
        let this = url.host_str()?;
        match &host {
            Some(first) if first != this => return None,
            Some(_) => {}
            None => host = Some(this.to_owned()),
        }
    }
    host
}

impl From<&OpenIdMetadata> for OpenIdParts {
    fn from(m: &OpenIdMetadata) -> Self {
        Self {
            id_token_signed_response_alg: m.id_token_alg.map(|a| a.as_str().to_owned()),
            userinfo_signed_response_alg: m.userinfo_alg.map(|a| a.as_str().to_owned()),
            subject_type: (m.subject_type != SubjectType::Public)
                .then(|| m.subject_type.as_str().to_owned()),
            sector_identifier_uri: m
                .sector_identifier_uri
                .as_ref()
                .map(|u| u.as_str().to_owned()),
            post_logout_redirect_uris: m
                .post_logout_redirect_uris
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            require_auth_time: m.require_auth_time,
            default_max_age: m.default_max_age,
            default_acr_values: m.default_acr_values.clone(),
        }
    }
}

/// OpenID Connect metadata (Registration §2; RP-Initiated Logout 1.0 §3.1).
impl Client {
    /// The algorithm the client's ID tokens are signed with
    /// (`id_token_signed_response_alg`, Registration §2), if it registered
    /// one; otherwise the server's default.
    pub fn id_token_signed_response_alg(&self) -> Option<Algorithm> {
        self.openid.id_token_alg
    }

    /// The algorithm the client's userinfo responses are signed with
    /// (`userinfo_signed_response_alg`, Registration §2). `None`: they are
    /// plain JSON (`application/json`), as §2 defaults.
    pub fn userinfo_signed_response_alg(&self) -> Option<Algorithm> {
        self.openid.userinfo_alg
    }

    /// The subject identifier type the client receives (`subject_type`,
    /// Registration §2; Core §8).
    pub fn subject_type(&self) -> SubjectType {
        self.openid.subject_type
    }

    /// The registered `sector_identifier_uri` (Registration §2, §5), if
    /// any: checked to list every redirect URI when the client was
    /// registered.
    pub fn sector_identifier_uri(&self) -> Option<&Url> {
        self.openid.sector_identifier_uri.as_ref()
    }

    /// The sector identifier pairwise subject identifiers are computed for
    /// (Core §8.1): the host of [`sector_identifier_uri`](Self::sector_identifier_uri)
    /// if registered, else the host of the redirect URIs when they are all
    /// `https` on one host. `None` otherwise — also for loopback and
    /// private-use redirects, which name no site; a
    /// [`Pairwise`](SubjectType::Pairwise) client always has one.
    pub fn sector_identifier(&self) -> Option<&str> {
        self.openid.sector_identifier.as_deref()
    }

    /// The URLs the client may have the user sent to after logout
    /// (`post_logout_redirect_uris`, RP-Initiated Logout 1.0 §3.1).
    pub fn post_logout_redirect_uris(&self) -> &[RedirectUri] {
        &self.openid.post_logout_redirect_uris
    }

    /// Whether `uri` is one of the registered
    /// [`post_logout_redirect_uris`](Self::post_logout_redirect_uris), by
    /// exact string comparison (RP-Initiated Logout 1.0 §2): no loopback
    /// port is free here.
    pub fn allows_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.openid
            .post_logout_redirect_uris
            .iter()
            .any(|r| r.as_str() == uri)
    }

    /// Whether the client's ID tokens must carry `auth_time`
    /// (`require_auth_time`, Registration §2).
    pub fn require_auth_time(&self) -> bool {
        self.openid.require_auth_time
    }

    /// The `max_age` the client's authentication requests have when they
    /// send none, in seconds (`default_max_age`, Registration §2).
    pub fn default_max_age(&self) -> Option<u64> {
        self.openid.default_max_age
    }

    /// The `acr` values requested when a request names none, in order of
    /// preference (`default_acr_values`, Registration §2).
    pub fn default_acr_values(&self) -> &[String] {
        &self.openid.default_acr_values
    }
}

/// OpenID Connect metadata (Registration §2; RP-Initiated Logout 1.0
/// §3.1), checked when the client is registered.
impl ClientRegistration {
    /// The algorithm to sign the client's ID tokens with
    /// (`id_token_signed_response_alg`): one of
    /// [`OPENID_SIGNING_ALGORITHMS`].
    pub fn id_token_signed_response_alg(mut self, alg: Algorithm) -> Self {
        self.openid.id_token_signed_response_alg = Some(alg.as_str().to_owned());
        self
    }

    /// Signs the client's userinfo responses as JWTs with `alg`
    /// (`userinfo_signed_response_alg`): one of
    /// [`OPENID_SIGNING_ALGORITHMS`]. Without it they are plain JSON.
    pub fn userinfo_signed_response_alg(mut self, alg: Algorithm) -> Self {
        self.openid.userinfo_signed_response_alg = Some(alg.as_str().to_owned());
        self
    }

    /// The subject identifier type (`subject_type`, Core §8). A
    /// [`Pairwise`](SubjectType::Pairwise) client needs a sector identifier:
    /// [`sector_identifier_uri`](Self::sector_identifier_uri), or `https`
    /// redirect URIs on a single host (Core §8.1).
    pub fn subject_type(mut self, subject_type: SubjectType) -> Self {
        self.openid.subject_type = Some(subject_type.as_str().to_owned());
        self
    }

    /// The client's `sector_identifier_uri` (Registration §2, §5): an
    /// `https` URL whose host becomes the client's sector identifier, and
    /// `listed`, the JSON array of redirect URIs the host fetched from it.
    /// [`register`](Self::register) refuses the client unless every
    /// redirect URI is in `listed` (§5: "registration MUST fail").
    ///
    /// The library does no IO of its own, so here the host fetches the
    /// document; the registration endpoint fetches it through the server's
    /// [`Fetcher`].
    pub fn sector_identifier_uri<I, S>(mut self, uri: impl Into<String>, listed: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.openid.sector_identifier_uri = Some(uri.into());
        self.sector_listing = Some(listed.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a URL the client may have the user sent to after logout
    /// (`post_logout_redirect_uris`, RP-Initiated Logout 1.0 §3.1): held to
    /// the rules of redirect URIs for the client's profile (absolute, no
    /// fragment, `https`; loopback `http` and private-use schemes for native
    /// apps), at most [`MAX_REDIRECT_URIS`], matched exactly.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.openid.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Requires `auth_time` in the client's ID tokens (`require_auth_time`).
    pub fn require_auth_time(mut self, required: bool) -> Self {
        self.openid.require_auth_time = required;
        self
    }

    /// The `max_age` of the client's authentication requests that send
    /// none, in seconds (`default_max_age`); at most
    /// [`MAX_DEFAULT_MAX_AGE`].
    pub fn default_max_age(mut self, seconds: u64) -> Self {
        self.openid.default_max_age = Some(seconds);
        self
    }

    /// Adds an `acr` value requested by default, in order of preference
    /// (`default_acr_values`): 1 to [`MAX_ACR_VALUE_LEN`] bytes without
    /// spaces, at most [`MAX_DEFAULT_ACR_VALUES`].
    pub fn default_acr_value(mut self, value: impl Into<String>) -> Self {
        self.openid.default_acr_values.push(value.into());
        self
    }
}

/// Refuses `client` unless `listed` — the document at its
/// `sector_identifier_uri` — holds every redirect URI it registered
/// (Registration §5), compared as strings.
pub(crate) fn check_sector_listing(
    client: &Client,
    listed: &[String],
) -> Result<(), RegistrationError> {
    match client
        .redirect_uris()
        .iter()
        .find(|r| !listed.iter().any(|l| l == r.as_str()))
    {
        Some(missing) => Err(invalid(format!(
            "the sector_identifier_uri document does not list the redirect URI {} \
             (OpenID Connect Registration §5)",
            missing.as_str()
        ))),
        None => Ok(()),
    }
}

/// Fetches `client`'s `sector_identifier_uri` through `fetcher` and checks
/// that it lists every redirect URI (Registration §5). Only a `200` with a
/// JSON array of strings counts; why a fetch failed is logged, never sent.
pub(crate) async fn verify_sector_identifier(
    fetcher: &dyn Fetcher,
    client: &Client,
) -> Result<(), RegistrationError> {
    let Some(uri) = client.sector_identifier_uri() else {
        return Ok(());
    };
    let refused = |reason: &'static str| {
        tracing::warn!(
            target: "portcullis::security",
            event = "sector_identifier_refused",
            client_id = ?super::loggable(client.id().as_str()),
            reason,
        );
        invalid(format!(
            "sector_identifier_uri could not be used: {reason} (OpenID Connect Registration §5)"
        ))
    };
    let limits = FetchLimits::default();
    let response = fetcher
        .get(uri, limits)
        .await
        .map_err(|_| refused("it could not be fetched"))?;
    if response.status() != http::StatusCode::OK {
        return Err(refused("it did not answer 200"));
    }
    if response.body().len() > limits.max_body {
        return Err(refused("it is too large"));
    }
    let listed: Vec<String> = serde_json::from_slice(response.body())
        .map_err(|_| refused("it is not a JSON array of redirect URIs"))?;
    check_sector_listing(client, &listed)
}
