//! Dynamic client registration's settings (RFC 7591, RFC 7592): whether it
//! is open or needs an initial access token, what a dynamically registered
//! client may have, and how much one registrant may register.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::build_error::BuildError;
use crate::client::{
    AuthLimiter, ClientMetadata, DynAuthLimiter, MAX_REDIRECT_URI_LEN, MAX_REDIRECT_URIS,
    MemoryLimiter, RedirectUriError, RegistrationError, RegistrationQuota, ThrottlePolicy,
};
use crate::protocol::{GrantType, Scope, is_b64token};
use crate::token::TokenHash;

/// The shortest initial access token accepted: 32 characters. Generate it
/// randomly (for instance 32 random bytes, base64url-encoded); it guards
/// client creation.
pub const MIN_INITIAL_ACCESS_TOKEN_LEN: usize = 32;

/// Dynamic client registration (RFC 7591, RFC 7592), as enabled on the
/// builder with [`ServerBuilder::dynamic_registration`](crate::ServerBuilder::dynamic_registration).
///
/// Off unless the builder is given one, which is an explicit choice between
/// two modes:
///
/// - [`with_initial_access_token`](Self::with_initial_access_token): a
///   registration request must carry `Authorization: Bearer <initial access
///   token>` (RFC 7591 §3). The server keeps only the token's SHA-256 and
///   compares hashes in constant time; a missing or wrong token is `401
///   invalid_token` with a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
/// - [`open`](Self::open): anyone may register. See its documentation for
///   what that exposes.
///
/// When registration is off, the registration endpoint and the client
/// configuration endpoints answer `404` with `invalid_request`, as if they did
/// not exist, and the metadata document has no `registration_endpoint`.
///
/// A registration is validated by the RFC 7591 rules described on
/// [`ClientMetadata`](crate::client::ClientMetadata) and then by the same rules as a client an administrator
/// registers. It is answered with `201` and the [`ClientInformation`](super::ClientInformation): the
/// `client_id`, the `client_secret` for a confidential client (shown this
/// once, with `client_secret_expires_at: 0`), `client_id_issued_at`, every
/// registered metadata value, and the RFC 7592 `registration_access_token`
/// and `registration_client_uri` with which the client reads, updates or
/// deletes its registration
/// ([`AuthorizationServer::client_configuration_endpoint`](crate::AuthorizationServer::client_configuration_endpoint)).
///
/// What a dynamically registered client may have:
///
/// - **grant types**: those the server serves (the token endpoint's, and
///   `implicit` when enabled) *and* the registration allows:
///   `authorization_code`, `refresh_token` and the device grant by default,
///   `client_credentials` too when an initial access token protects the
///   endpoint; anything else — `implicit`, `password`, extension grants,
///   `client_credentials` under open registration — only after
///   [`allow_grant_type`](Self::allow_grant_type). Anything else is
///   `invalid_client_metadata`.
/// - **scope**: within [`max_scope`](Self::max_scope) (empty unless set); a
///   wider `scope` is refused with `invalid_client_metadata`, not narrowed,
///   so the client learns at once; an omitted `scope` registers the maximum.
/// - **display URLs** (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`):
///   `https`, and, when the client has `https` redirect URIs, on the host of
///   one of them (RFC 7591 §5), so a client cannot borrow another site's
///   pages on the consent screen.
/// - **OpenID Connect members** (Registration §2, Core §8.1, RP-Initiated
///   Logout 1.0 §3.1), as [`ClientMetadata`](crate::client::ClientMetadata)
///   lists them. A `sector_identifier_uri` is fetched through the server's
///   [`Fetcher`](crate::fetch::Fetcher) once the rate admits the
///   registration, and must be a JSON array listing every redirect URI
///   (Registration §5); without a fetcher the member is refused. An update
///   fetches it again only when it changes the URI or adds a redirect URI,
///   and that update counts against the rate. The encryption members are
///   refused: this server does not encrypt. So are signing algorithms the
///   OpenID Provider has no active key for, and `pairwise` without
///   [`OpenIdConnect::pairwise_subjects`](crate::oidc::OpenIdConnect::pairwise_subjects)
///   (all three on a server that is no OpenID Provider).
///
/// # Quotas
///
/// Each registration stores a client, so the endpoint bounds what one
/// registrant — the holder of the initial access token, or everyone under
/// open registration — can make the server store (RFC 6819 §4.4.1.11-style
/// resource exhaustion; RFC 7591 §3 lets the server refuse registrations
/// as it sees fit):
///
/// | Setting | Default | Refused with |
/// |---|---|---|
/// | [`max_metadata_bytes`](Self::max_metadata_bytes): the metadata document, as compact JSON of its known members | [`DEFAULT_MAX_METADATA_BYTES`](Self::DEFAULT_MAX_METADATA_BYTES), 8 KiB | `400 invalid_client_metadata` |
/// | [`max_redirect_uris`](Self::max_redirect_uris) | [`DEFAULT_MAX_REDIRECT_URIS`](Self::DEFAULT_MAX_REDIRECT_URIS), 10 | `400 invalid_redirect_uri` |
/// | [`max_redirect_uri_len`](Self::max_redirect_uri_len), each | [`DEFAULT_MAX_REDIRECT_URI_LEN`](Self::DEFAULT_MAX_REDIRECT_URI_LEN), 512 bytes | `400 invalid_redirect_uri` |
/// | the same two for `post_logout_redirect_uris` | the same | `400 invalid_client_metadata` |
/// | [`max_registrations_per_minute`](Self::max_registrations_per_minute) | [`DEFAULT_REGISTRATIONS_PER_MINUTE`](Self::DEFAULT_REGISTRATIONS_PER_MINUTE), 20 | `429 temporarily_unavailable` with `Retry-After` |
/// | [`max_clients`](Self::max_clients) stored at once | [`DEFAULT_MAX_CLIENTS`](Self::DEFAULT_MAX_CLIENTS), 1000 | `403 access_denied` |
///
/// Every other member is bounded for every client, however registered:
/// `client_name`, each contact, `software_id` and `software_version` (256
/// bytes), `contacts` (16), display URLs (2048 bytes), `default_acr_values`
/// (16 of 256 bytes), `default_max_age`; `scope` is within
/// [`max_scope`](Self::max_scope); `grant_types`, `response_types`,
/// `token_endpoint_auth_method` and `application_type` take only the values
/// listed above. The metadata bounds apply to updates (RFC 7592 §2.2) too;
/// each error description names the member and the limit. The request body
/// as a whole is bounded by
/// [`ServerBuilder::max_body`](crate::ServerBuilder::max_body) (`413`).
///
/// **The rate** is counted by an [`AuthLimiter`] under a key per registrant:
/// up to `n` registrations at once, then one every `60 / n` seconds; a minute
/// without one restores the allowance. Only registrations that store a
/// client count, and those that made the server fetch a
/// `sector_identifier_uri`, stored or not. The default limiter lives in the process: a fleet of
/// replicas shares one with [`registration_limiter`](Self::registration_limiter)
/// (for instance `SqlStore::limiter(DynamicRegistration::rate_policy(20))`).
/// A registration over the rate is answered `429 Too Many Requests` with
/// `Retry-After` (RFC 6585 §4) and the error `temporarily_unavailable`: RFC
/// 7591 §3.2.2 defines no code for it, and this one tells the client that the
/// same request will succeed later.
///
/// **The number of clients** is counted by the client registry, which keeps
/// each dynamically registered client's registrant — the SHA-256 of the
/// initial access token, or a fixed value for open registration — with the
/// client ([`ClientRegistry::insert_client_within_quota`](crate::client::ClientRegistry::insert_client_within_quota)):
/// the count and the insert are one atomic step, so concurrent registrations
/// never exceed it, and with the SQL store it holds across restarts and
/// replicas. Deleting a client (RFC 7592 §2.3, or
/// [`AuthorizationServer::delete_client`](crate::AuthorizationServer::delete_client))
/// frees its place; clients an administrator registers count against none.
/// A registration past it is answered `403 Forbidden` with `access_denied`:
/// the request is understood and the server refuses it, and repeating it will
/// not help until a client is deleted (RFC 9110 §15.5.4). RFC 7591 §3.2.2's
/// own codes say the metadata are wrong, which they are not, and `401
/// invalid_token` would tell the client its token is wrong.
///
/// Under open registration every registrant shares one key, so the rate and
/// the cap are the whole server's: anyone can use them up. Rate-limit open
/// registration per source address in front of the server as well.
#[derive(Clone)]
#[must_use]
pub struct DynamicRegistration {
    /// `None` in open mode.
    pub(super) initial_access_token: Option<TokenHash>,
    initial_access_token_len: usize,
    /// Whether the token can be sent as `Authorization: Bearer`.
    initial_access_token_is_bearer: bool,
    pub(super) max_scope: Scope,
    extra_grants: Vec<GrantType>,
    max_metadata_bytes: usize,
    max_redirect_uris: usize,
    max_redirect_uri_len: usize,
    max_clients: u64,
    registrations_per_minute: u32,
    limiter: Arc<dyn DynAuthLimiter>,
}

impl fmt::Debug for DynamicRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicRegistration")
            .field("open", &self.is_open())
            .field("max_scope", &self.max_scope)
            .field("extra_grants", &self.extra_grants)
            .field("max_metadata_bytes", &self.max_metadata_bytes)
            .field("max_redirect_uris", &self.max_redirect_uris)
            .field("max_redirect_uri_len", &self.max_redirect_uri_len)
            .field("max_clients", &self.max_clients)
            .finish_non_exhaustive()
    }
}

/// The registrant of open registration: everyone, under one key.
const OPEN_REGISTRANT: &str = "portcullis open dynamic client registration";

/// How many keys the default rate limiter holds: one per registrant, and
/// there is one.
const RATE_LIMITER_KEYS: usize = 64;

impl DynamicRegistration {
    /// Registration for whoever presents `token` as a bearer token (RFC 7591
    /// §3). Only its SHA-256 is kept. At least
    /// [`MIN_INITIAL_ACCESS_TOKEN_LEN`] characters, or
    /// [`ServerBuilder::build`](crate::ServerBuilder::build) fails with
    /// [`BuildError::WeakInitialAccessToken`]; in the `b64token` syntax of
    /// RFC 6750 §2.1 (base64 or base64url will do), or it fails with
    /// [`BuildError::MalformedInitialAccessToken`].
    pub fn with_initial_access_token(token: &str) -> Self {
        Self {
            initial_access_token: Some(TokenHash::of(token)),
            initial_access_token_len: token.chars().count(),
            initial_access_token_is_bearer: is_b64token(token.as_bytes()),
            ..Self::open()
        }
    }

    /// Open registration: anyone who can reach the endpoint may register a
    /// client, as RFC 7591 §3 suggests for interoperability.
    ///
    /// Risky, and so a separate, named choice:
    ///
    /// - **Phishing.** Every metadata value is self-asserted (RFC 7591 §5): a
    ///   rogue client can take a trusted client's name and logo, and the
    ///   consent page is then the only defence. The host's consent page should
    ///   mark dynamically registered clients
    ///   ([`Client::registration_access_token_hash`](crate::client::Client::registration_access_token_hash) is `Some`) and must not
    ///   skip consent for them.
    /// - **Redirects to attacker-chosen URIs.** Anyone can register a redirect
    ///   URI of their own and send users' browsers through the authorization
    ///   endpoint to it, with an error or a code for a grant the user approved
    ///   for the rogue client (RFC 9700 §4.11.2). Still `https` only (loopback
    ///   and private-use schemes for native apps), and matched exactly.
    /// - **Resource exhaustion.** Each request stores a client. The
    ///   [quotas](Self#quotas) bound the whole server's open registrations —
    ///   so anyone can use them up; rate-limit the endpoint per source in the
    ///   host too (RFC 7591 §3 allows it).
    /// - **Tokens without a user.** `client_credentials` would give anyone a
    ///   token; it is not registrable in open mode unless allowed with
    ///   [`allow_grant_type`](Self::allow_grant_type).
    pub fn open() -> Self {
        Self {
            initial_access_token: None,
            initial_access_token_len: 0,
            initial_access_token_is_bearer: false,
            max_scope: Scope::empty(),
            extra_grants: Vec::new(),
            max_metadata_bytes: Self::DEFAULT_MAX_METADATA_BYTES,
            max_redirect_uris: Self::DEFAULT_MAX_REDIRECT_URIS,
            max_redirect_uri_len: Self::DEFAULT_MAX_REDIRECT_URI_LEN,
            max_clients: Self::DEFAULT_MAX_CLIENTS,
            registrations_per_minute: Self::DEFAULT_REGISTRATIONS_PER_MINUTE,
            limiter: rate_limiter(Self::DEFAULT_REGISTRATIONS_PER_MINUTE),
        }
    }

    /// The default of [`max_metadata_bytes`](Self::max_metadata_bytes): 8 KiB.
    pub const DEFAULT_MAX_METADATA_BYTES: usize = 8 * 1024;
    /// The default of [`max_redirect_uris`](Self::max_redirect_uris): 10.
    pub const DEFAULT_MAX_REDIRECT_URIS: usize = 10;
    /// The default of [`max_redirect_uri_len`](Self::max_redirect_uri_len):
    /// 512 bytes.
    pub const DEFAULT_MAX_REDIRECT_URI_LEN: usize = 512;
    /// The default of [`max_clients`](Self::max_clients): 1000.
    pub const DEFAULT_MAX_CLIENTS: u64 = 1000;
    /// The default of
    /// [`max_registrations_per_minute`](Self::max_registrations_per_minute): 20.
    pub const DEFAULT_REGISTRATIONS_PER_MINUTE: u32 = 20;

    /// The largest client metadata document accepted, in bytes of compact
    /// JSON of its known members (unknown members are ignored and not
    /// stored). Larger is `400 invalid_client_metadata`, naming the largest
    /// member. Default: [`DEFAULT_MAX_METADATA_BYTES`](Self::DEFAULT_MAX_METADATA_BYTES).
    /// At least 1.
    pub fn max_metadata_bytes(mut self, bytes: usize) -> Self {
        self.max_metadata_bytes = bytes;
        self
    }

    /// The most redirect URIs one registration may have. More is `400
    /// invalid_redirect_uri`. Default:
    /// [`DEFAULT_MAX_REDIRECT_URIS`](Self::DEFAULT_MAX_REDIRECT_URIS); at
    /// most [`MAX_REDIRECT_URIS`], which binds every client.
    pub fn max_redirect_uris(mut self, n: usize) -> Self {
        self.max_redirect_uris = n;
        self
    }

    /// The longest redirect URI a registration may have, in bytes. Longer is
    /// `400 invalid_redirect_uri`. Default:
    /// [`DEFAULT_MAX_REDIRECT_URI_LEN`](Self::DEFAULT_MAX_REDIRECT_URI_LEN);
    /// 1 to [`MAX_REDIRECT_URI_LEN`], which binds every client.
    pub fn max_redirect_uri_len(mut self, bytes: usize) -> Self {
        self.max_redirect_uri_len = bytes;
        self
    }

    /// The most clients one registrant may have stored at once: see
    /// [Quotas](Self#quotas). Past it, `403 access_denied`. Default:
    /// [`DEFAULT_MAX_CLIENTS`](Self::DEFAULT_MAX_CLIENTS). At least 1.
    pub fn max_clients(mut self, n: u64) -> Self {
        self.max_clients = n;
        self
    }

    /// How fast one registrant may register: `n` at once, then one every
    /// `60 / n` seconds, counted in this process by a [`MemoryLimiter`]
    /// with [`rate_policy(n)`](Self::rate_policy). Past it, `429` with
    /// `Retry-After`. Default:
    /// [`DEFAULT_REGISTRATIONS_PER_MINUTE`](Self::DEFAULT_REGISTRATIONS_PER_MINUTE).
    /// At least 1. Replaces a limiter given to
    /// [`registration_limiter`](Self::registration_limiter).
    pub fn max_registrations_per_minute(mut self, n: u32) -> Self {
        self.registrations_per_minute = n;
        self.limiter = rate_limiter(n);
        self
    }

    /// Counts registrations with `limiter` instead — one that replicas
    /// share, such as `SqlStore::limiter(DynamicRegistration::rate_policy(n))`.
    /// Its own policy sets the rate. Keys are `registration:` followed by the
    /// registrant's hex fingerprint.
    pub fn registration_limiter(mut self, limiter: impl AuthLimiter) -> Self {
        self.registrations_per_minute = u32::MAX;
        self.limiter = Arc::new(limiter);
        self
    }

    /// The [`ThrottlePolicy`] of `n` registrations per minute: `n` admitted
    /// at once, then each waits `60 / n` seconds after the one before, and a
    /// minute without a registration starts afresh. So a registrant makes at
    /// most `2n` in its first minute and `n` in each after. `n` of 0 counts
    /// as 1.
    pub fn rate_policy(n: u32) -> ThrottlePolicy {
        let n = n.max(1);
        let interval = Duration::from_secs(60) / n;
        ThrottlePolicy::default()
            .with_allowed_failures(n - 1)
            .with_initial_delay(interval)
            .with_max_delay(interval)
            .with_reset_after(Duration::from_secs(60))
    }

    /// The most scope a dynamically registered client may have; a client
    /// that omits `scope` gets this. Empty unless set.
    pub fn max_scope(mut self, scope: Scope) -> Self {
        self.max_scope = scope;
        self
    }

    /// Lets dynamically registered clients ask for `grant_type` — still only
    /// if the server serves it. Needed for `implicit` and `password` (which
    /// the server must also enable), for extension grants, and for
    /// `client_credentials` under open registration.
    pub fn allow_grant_type(mut self, grant_type: GrantType) -> Self {
        if !self.extra_grants.contains(&grant_type) {
            self.extra_grants.push(grant_type);
        }
        self
    }

    /// Whether anyone may register, without an initial access token.
    pub fn is_open(&self) -> bool {
        self.initial_access_token.is_none()
    }

    pub(crate) fn check(&self) -> Result<(), BuildError> {
        self.check_limits()?;
        if self.is_open() {
            return Ok(());
        }
        if self.initial_access_token_len < MIN_INITIAL_ACCESS_TOKEN_LEN {
            return Err(BuildError::WeakInitialAccessToken);
        }
        if !self.initial_access_token_is_bearer {
            return Err(BuildError::MalformedInitialAccessToken);
        }
        Ok(())
    }

    fn check_limits(&self) -> Result<(), BuildError> {
        let invalid = BuildError::InvalidRegistrationLimit;
        if self.max_metadata_bytes == 0 {
            return Err(invalid("max_metadata_bytes must be at least 1"));
        }
        if self.max_redirect_uris > MAX_REDIRECT_URIS {
            return Err(invalid(
                "max_redirect_uris must be at most MAX_REDIRECT_URIS",
            ));
        }
        if self.max_redirect_uri_len == 0 || self.max_redirect_uri_len > MAX_REDIRECT_URI_LEN {
            return Err(invalid(
                "max_redirect_uri_len must be 1 to MAX_REDIRECT_URI_LEN",
            ));
        }
        if self.max_clients == 0 {
            return Err(invalid("max_clients must be at least 1"));
        }
        if self.registrations_per_minute == 0 {
            return Err(invalid("max_registrations_per_minute must be at least 1"));
        }
        Ok(())
    }

    /// The registrant every registration here counts against: the initial
    /// access token's SHA-256, or open registration's.
    pub(super) fn registrant(&self) -> TokenHash {
        self.initial_access_token
            .unwrap_or_else(|| TokenHash::of(OPEN_REGISTRANT))
    }

    /// The registrant's quota of stored clients.
    pub(super) fn quota(&self) -> RegistrationQuota {
        RegistrationQuota::new(self.registrant(), self.max_clients)
    }

    /// The rate limiter, and the registrant's key in it.
    pub(super) fn rate_limit(&self) -> (&dyn DynAuthLimiter, String) {
        let key = format!("registration:{}", self.registrant().to_hex());
        (&*self.limiter, key)
    }

    /// The bounds on a metadata document that apply to dynamic registration
    /// and its updates (RFC 7591 §2, RFC 7592 §2.2): the number and length of
    /// redirect URIs and of post-logout redirect URIs, then the whole
    /// document's size.
    pub(super) fn check_metadata(
        &self,
        metadata: &ClientMetadata,
    ) -> Result<(), RegistrationError> {
        let uris = metadata.redirect_uris.as_deref().unwrap_or_default();
        if uris.len() > self.max_redirect_uris {
            return Err(RegistrationError::InvalidRedirectUri {
                uri: uris
                    .get(self.max_redirect_uris)
                    .cloned()
                    .unwrap_or_default(),
                reason: RedirectUriError::TooMany {
                    max: self.max_redirect_uris,
                },
            });
        }
        if let Some(uri) = uris.iter().find(|u| u.len() > self.max_redirect_uri_len) {
            return Err(RegistrationError::InvalidRedirectUri {
                uri: uri.clone(),
                reason: RedirectUriError::TooLong {
                    max: self.max_redirect_uri_len,
                },
            });
        }
        // RP-Initiated Logout 1.0 §3.1: held to the redirect URIs' bounds.
        let logout_uris = metadata
            .post_logout_redirect_uris
            .as_deref()
            .unwrap_or_default();
        if logout_uris.len() > self.max_redirect_uris
            || logout_uris
                .iter()
                .any(|u| u.len() > self.max_redirect_uri_len)
        {
            return Err(RegistrationError::InvalidMetadata(
                format!(
                    "post_logout_redirect_uris may have at most {} entries of at most {} bytes",
                    self.max_redirect_uris, self.max_redirect_uri_len
                )
                .into(),
            ));
        }
        let Ok(serde_json::Value::Object(members)) = serde_json::to_value(metadata) else {
            return Ok(());
        };
        // `{`, `}`, and per member its name, quotes, colon and comma.
        let sizes: Vec<(&str, usize)> = members
            .iter()
            .map(|(name, value)| (name.as_str(), name.len() + 4 + value.to_string().len()))
            .collect();
        let total = sizes.iter().map(|(_, size)| size).sum::<usize>() + 1;
        if total > self.max_metadata_bytes {
            let largest = sizes
                .iter()
                .max_by_key(|(_, size)| *size)
                .map_or("", |(name, _)| name);
            return Err(RegistrationError::InvalidMetadata(
                format!(
                    "the client metadata are {total} bytes of JSON, more than the {} this server \
                     accepts; the largest member is {largest}",
                    self.max_metadata_bytes
                )
                .into(),
            ));
        }
        Ok(())
    }

    /// Whether a registration may ask for `grant` (whether the server serves
    /// it is checked separately).
    pub(super) fn allows(&self, grant: &GrantType) -> bool {
        *grant == GrantType::AUTHORIZATION_CODE
            || *grant == GrantType::REFRESH_TOKEN
            || *grant == GrantType::DEVICE_CODE
            || (*grant == GrantType::CLIENT_CREDENTIALS && !self.is_open())
            || self.extra_grants.contains(grant)
    }
}

/// The default rate limiter for `n` registrations a minute.
fn rate_limiter(n: u32) -> Arc<dyn DynAuthLimiter> {
    Arc::new(
        MemoryLimiter::new(DynamicRegistration::rate_policy(n)).with_capacity(RATE_LIMITER_KEYS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_initial_access_token() {
        let token = "a-long-initial-access-token-0123456789";
        let shown = format!(
            "{:?}",
            DynamicRegistration::with_initial_access_token(token)
        );
        assert!(!shown.contains(token), "{shown}");
        assert!(shown.contains("open: false"));
    }

    #[test]
    fn short_initial_access_tokens_are_refused() {
        assert_eq!(
            DynamicRegistration::with_initial_access_token("short").check(),
            Err(BuildError::WeakInitialAccessToken)
        );
        assert_eq!(
            DynamicRegistration::with_initial_access_token("an-initial-access-token-of-32-chars!")
                .check(),
            Err(BuildError::MalformedInitialAccessToken)
        );
        assert!(DynamicRegistration::open().check().is_ok());
    }
}
