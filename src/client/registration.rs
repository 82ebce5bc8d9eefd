//! Client registration (RFC 6749 §2; the metadata names follow RFC 7591 §2).
//!
//! Every client — registered by an administrator through
//! [`ClientRegistration`], or read back from a store — passes the same
//! validation, so no path can produce an inconsistent [`Client`].

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use super::info::{ClientInfoParts, document_url};
use super::openid::{OpenIdParts, check_sector_listing};
use super::registration_error::RegistrationError;
use super::requests::RequestPolicy;
use super::secret::generate;
use super::{
    AuthMethod, Client, ClientId, ClientKeys, ClientProfile, ClientSecret, ClientType, RedirectUri,
    SecretHash, SecretSalt,
};
use crate::jose::{Algorithm, JwkSet, PublicKey};
use crate::protocol::{GrantType, Scope};
use crate::token::TokenHash;

/// The longest client identifier accepted, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// The longest client name accepted, in bytes.
pub const MAX_CLIENT_NAME_LEN: usize = 256;

/// The most redirect URIs one client may register: far more than any client
/// needs, and a bound on the work of checking them (each is parsed, and
/// duplicates are dropped).
pub const MAX_REDIRECT_URIS: usize = 32;

fn invalid(reason: impl Into<Cow<'static, str>>) -> RegistrationError {
    RegistrationError::InvalidMetadata(reason.into())
}

/// What an administrator registers: the client's metadata.
///
/// ```
/// use portcullis::client::{ClientRegistration, ClientType};
/// use portcullis::protocol::GrantType;
///
/// let registered = ClientRegistration::web_application()
///     .name("Reporting service")
///     .grant_type(GrantType::CLIENT_CREDENTIALS)
///     .scope("reports:read".parse()?)
///     .register()?;
/// assert_eq!(registered.client.client_type(), ClientType::Confidential);
/// // The secret is returned this once; the client keeps only its hash.
/// let secret = registered.secret.expect("confidential clients get a secret");
/// assert!(registered.client.secret_hash().unwrap().verify(secret.expose_secret()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientRegistration {
    profile: ClientProfile,
    client_id: Option<String>,
    name: Option<String>,
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    scope: Scope,
    default_scope: Scope,
    auth_method: Option<AuthMethod>,
    imported_secret: Option<ClientSecret>,
    pub(super) info: ClientInfoParts,
    registration_token: Option<TokenHash>,
    issued_at: Option<u64>,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    signing_alg: Option<String>,
    pub(super) openid: OpenIdParts,
    pub(super) requests: RequestPolicy,
    /// The redirect URIs the host found at `sector_identifier_uri`, to
    /// check at registration; `None` when the registration endpoint fetches
    /// the document itself.
    pub(super) sector_listing: Option<Vec<String>>,
    dpop_bound_access_tokens: bool,
    pub(crate) mtls: super::mtls::MutualTlsMetadata,
}

/// A client, just registered, with its secret in plaintext for the one time it
/// is shown.
#[derive(Debug)]
#[non_exhaustive]
pub struct Registered {
    /// The client to store.
    pub client: Client,
    /// The generated secret, for a confidential client using a secret-based
    /// method. `None` for public clients and for imported secrets.
    pub secret: Option<ClientSecret>,
}

impl ClientRegistration {
    /// Registration for a client of `profile`.
    pub fn new(profile: ClientProfile) -> Self {
        Self {
            profile,
            client_id: None,
            name: None,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scope: Scope::empty(),
            default_scope: Scope::empty(),
            auth_method: None,
            imported_secret: None,
            info: ClientInfoParts::default(),
            registration_token: None,
            issued_at: None,
            jwks: None,
            jwks_uri: None,
            signing_alg: None,
            openid: OpenIdParts::default(),
            requests: RequestPolicy::default(),
            sector_listing: None,
            dpop_bound_access_tokens: false,
            mtls: Default::default(),
        }
    }

    /// Requires DPoP of the client (`dpop_bound_access_tokens`, RFC 9449
    /// §5.2): a token request of its without a valid proof is refused, so
    /// every token it gets is bound to a key.
    pub fn dpop_bound_access_tokens(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens = required;
        self
    }

    /// A confidential web application (or service).
    pub fn web_application() -> Self {
        Self::new(ClientProfile::WebApplication)
    }

    /// A public, browser-based application.
    pub fn user_agent_based() -> Self {
        Self::new(ClientProfile::UserAgentBased)
    }

    /// A public native application.
    pub fn native() -> Self {
        Self::new(ClientProfile::Native)
    }

    /// Uses this identifier instead of generating one (for migrating existing
    /// clients). 1 to [`MAX_CLIENT_ID_LEN`] visible ASCII characters.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// A human-readable name, shown to users on consent pages.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a redirect URI (RFC 6749 §3.1.2), registered in full.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Allows a grant type. At least one is required.
    pub fn grant_type(mut self, grant_type: GrantType) -> Self {
        if !self.grant_types.contains(&grant_type) {
            self.grant_types.push(grant_type);
        }
        self
    }

    /// The scope the client may be granted (RFC 6749 §3.3).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The scope granted when a request omits `scope` (RFC 6749 §3.3); must be
    /// within [`scope`](Self::scope). Empty unless set: a request without
    /// `scope` then gets a token with no scope.
    pub fn default_scope(mut self, scope: Scope) -> Self {
        self.default_scope = scope;
        self
    }

    /// The token endpoint authentication method. Defaults to
    /// `client_secret_basic` for confidential clients and `none` for public ones.
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// The client's public keys, inline (`jwks`, RFC 7591 §2): a JWK Set of
    /// public keys, at least one of them a signature key portcullis can
    /// use (EC P-256, RSA of 2048 bits or more, Ed25519). Exclusive with
    /// [`jwks_uri`](Self::jwks_uri); `private_key_jwt` needs one of them.
    pub fn jwks(mut self, keys: &JwkSet) -> Self {
        self.jwks = Some(serde_json::json!({ "keys": keys.keys }));
        self
    }

    /// Where the client publishes its public keys (`jwks_uri`, RFC 7591
    /// §2): an `https` URL, fetched through the server's
    /// [`Fetcher`](crate::fetch::Fetcher). Exclusive with
    /// [`jwks`](Self::jwks).
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// The one algorithm the client's assertions may use
    /// (`token_endpoint_auth_signing_alg`, RFC 7591 §2): an asymmetric one
    /// for `private_key_jwt`, HS256 for `client_secret_jwt`.
    pub fn token_endpoint_auth_signing_alg(mut self, alg: Algorithm) -> Self {
        self.signing_alg = Some(alg.as_str().to_owned());
        self
    }

    /// Imports a secret chosen by a person (or another system) instead of
    /// generating one. It is stored with Argon2id, which makes every
    /// authentication of this client cost tens of milliseconds; prefer generated
    /// secrets.
    pub fn import_secret(mut self, secret: ClientSecret) -> Self {
        self.imported_secret = Some(secret);
        self
    }

    /// Validates the metadata, assigns the identifier, and generates (or hashes)
    /// the secret.
    pub fn register(mut self) -> Result<Registered, RegistrationError> {
        let method = self.method();
        let (secret_hash, secret) = match (method.uses_secret(), self.imported_secret.take()) {
            (true, Some(imported)) => (Some(SecretHash::argon2id(&imported)?), None),
            (true, None) => {
                let (secret, hash) = generate();
                (Some(hash), Some(secret))
            }
            (false, Some(_)) => {
                return Err(invalid(
                    "a secret was given but the authentication method does not use one",
                ));
            }
            (false, None) => (None, None),
        };
        let salt = (method == AuthMethod::CLIENT_SECRET_JWT).then(new_salt);
        let listing = self.sector_listing.take();
        let client = self.into_parts(&method, salt).validate_with(secret_hash)?;
        if let Some(listed) = listing {
            check_sector_listing(&client, &listed)?;
        }
        Ok(Registered { client, secret })
    }

    /// The authentication method: the one set, or the client type's default.
    fn method(&self) -> AuthMethod {
        self.auth_method
            .clone()
            .unwrap_or(match self.profile.client_type() {
                ClientType::Confidential => AuthMethod::CLIENT_SECRET_BASIC,
                ClientType::Public => AuthMethod::NONE,
            })
    }

    /// Marks the client as dynamically registered (RFC 7591): the hash of its
    /// registration access token (RFC 7592 §3) and when its identifier was
    /// issued.
    pub(crate) fn registration_access(mut self, token: TokenHash, issued_at: u64) -> Self {
        self.registration_token = Some(token);
        self.issued_at = Some(issued_at);
        self
    }

    /// Validates the metadata of a client that already has a secret (or
    /// none), keeping `secret` as it is: an update replaces the metadata, not
    /// the credentials.
    pub(crate) fn register_with_secret_hash(
        mut self,
        secret: Option<SecretHash>,
        salt: Option<SecretSalt>,
    ) -> Result<Client, RegistrationError> {
        if self.imported_secret.is_some() {
            return Err(invalid("an update cannot import a secret"));
        }
        let method = self.method();
        let listing = self.sector_listing.take();
        let client = self.into_parts(&method, salt).validate_with(secret)?;
        if let Some(listed) = listing {
            check_sector_listing(&client, &listed)?;
        }
        Ok(client)
    }

    /// The `jwks_uri` this registration names, if any.
    pub(crate) fn names_jwks_uri(&self) -> bool {
        self.jwks_uri.is_some()
    }

    /// Whether this registration names a `sector_identifier_uri` that the
    /// registration endpoint must fetch and check (OpenID Connect
    /// Registration §5): one given without the document's contents.
    pub(crate) fn needs_sector_fetch(&self) -> bool {
        self.openid.sector_identifier_uri.is_some() && self.sector_listing.is_none()
    }

    fn into_parts(self, method: &AuthMethod, salt: Option<SecretSalt>) -> ClientParts {
        ClientParts {
            client_id: self.client_id.unwrap_or_else(generate_client_id),
            profile: self.profile,
            client_name: self.name,
            redirect_uris: self.redirect_uris,
            grant_types: self
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scope: self.scope,
            default_scope: self.default_scope,
            token_endpoint_auth_method: method.as_str().to_owned(),
            secret_hash: None,
            info: self.info,
            registration_access_token_hash: self.registration_token.map(|h| h.to_hex()),
            client_id_issued_at: self.issued_at,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            token_endpoint_auth_signing_alg: self.signing_alg,
            client_secret_jwt_salt: salt.map(|s| URL_SAFE_NO_PAD.encode(s.0)),
            openid: self.openid,
            requests: self.requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            mtls: self.mtls,
        }
    }
}

/// A new `client_secret_jwt` salt: 128 random bits.
fn new_salt() -> SecretSalt {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SecretSalt(bytes)
}

/// A generated client identifier: 128 random bits, unpadded base64url
/// (22 characters, RFC 6749 §2.2).
fn generate_client_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a client, and the one place its rules are checked.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ClientParts {
    client_id: String,
    profile: ClientProfile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    default_scope: Scope,
    token_endpoint_auth_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_hash: Option<String>,
    /// RFC 7591 §2 descriptive metadata, under its own member names.
    #[serde(flatten)]
    info: ClientInfoParts,
    /// Hex SHA-256 of the RFC 7592 registration access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_access_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id_issued_at: Option<u64>,
    /// RFC 7591 §2 `jwks`: a JWK Set of public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks: Option<serde_json::Value>,
    /// RFC 7591 §2 `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    /// RFC 7591 §2 `token_endpoint_auth_signing_alg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg: Option<String>,
    /// The salt of a `client_secret_jwt` client's derived secret, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret_jwt_salt: Option<String>,
    /// OpenID Connect Registration §2 metadata, under its own member names.
    #[serde(flatten)]
    openid: OpenIdParts,
    /// RFC 9126 §6 metadata, under its own member names.
    #[serde(flatten)]
    requests: RequestPolicy,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens: bool,
    /// RFC 8705 §2.1.2, §3.4 metadata, under its own member names.
    #[serde(flatten)]
    mtls: super::mtls::MutualTlsMetadata,
}

impl ClientParts {
    pub(crate) fn validate(self) -> Result<Client, RegistrationError> {
        let secret = self
            .secret_hash
            .as_deref()
            .map(SecretHash::from_stored)
            .transpose()?;
        self.validate_with(secret)
    }

    fn validate_with(mut self, secret: Option<SecretHash>) -> Result<Client, RegistrationError> {
        let registration_token = match &self.registration_access_token_hash {
            Some(hex) => Some(
                TokenHash::from_hex(hex)
                    .ok_or_else(|| invalid("malformed registration access token hash"))?,
            ),
            None => None,
        };
        let id = &self.client_id;
        if id.is_empty()
            || id.len() > MAX_CLIENT_ID_LEN
            || !id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid(
                "client_id must be 1 to 128 visible ASCII characters",
            ));
        }
        if let Some(name) = &self.client_name {
            if name.len() > MAX_CLIENT_NAME_LEN || name.chars().any(char::is_control) {
                return Err(invalid("client_name is too long or has control characters"));
            }
        }

        if self.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(invalid("too many redirect URIs"));
        }
        let mut redirect_uris: Vec<RedirectUri> = Vec::with_capacity(self.redirect_uris.len());
        for uri in &self.redirect_uris {
            let parsed = RedirectUri::new(uri, self.profile).map_err(|reason| {
                RegistrationError::InvalidRedirectUri {
                    uri: uri.clone(),
                    reason,
                }
            })?;
            if !redirect_uris.contains(&parsed) {
                redirect_uris.push(parsed);
            }
        }

        let mut grant_types: Vec<GrantType> = Vec::with_capacity(self.grant_types.len());
        for g in &self.grant_types {
            let grant =
                GrantType::parse(g).ok_or_else(|| invalid(format!("unknown grant type {g:?}")))?;
            if !grant_types.contains(&grant) {
                grant_types.push(grant);
            }
        }
        if grant_types.is_empty() {
            return Err(invalid("at least one grant type is required"));
        }

        let client_type = self.profile.client_type();
        // RFC 6749 §4.4: the client credentials grant MUST only be used by
        // confidential clients.
        if client_type == ClientType::Public && grant_types.contains(&GrantType::CLIENT_CREDENTIALS)
        {
            return Err(invalid(
                "public clients cannot use the client_credentials grant",
            ));
        }
        // RFC 6749 §3.1.2.2: redirection-based grants need a registered endpoint.
        let redirecting = [GrantType::AUTHORIZATION_CODE, GrantType::IMPLICIT];
        if redirect_uris.is_empty() && grant_types.iter().any(|g| redirecting.contains(g)) {
            return Err(invalid(
                "authorization_code and implicit require at least one redirect URI",
            ));
        }
        if !self.default_scope.is_subset(&self.scope) {
            return Err(invalid("default_scope must be within scope"));
        }

        let auth_method = AuthMethod::extension(self.token_endpoint_auth_method.as_str());
        // RFC 6749 §2.3: the server MUST NOT rely on a public client's
        // authentication, so a public client authenticates with `none` and a
        // confidential one never does.
        match client_type {
            ClientType::Public if auth_method != AuthMethod::NONE => {
                return Err(invalid(
                    "public clients must use token_endpoint_auth_method none",
                ));
            }
            ClientType::Confidential if auth_method == AuthMethod::NONE => {
                return Err(invalid("confidential clients must authenticate"));
            }
            _ => {}
        }
        if auth_method.uses_secret() != secret.is_some() {
            return Err(invalid(
                "a client has a secret exactly when its authentication method uses one",
            ));
        }

        let (keys, signing_alg, secret_salt) = self.validate_keys(&auth_method)?;
        let info = self.info.validate()?;
        let openid = self.openid.validate(self.profile, &redirect_uris)?;
        self.requests.validate()?;
        self.mtls.validate(&auth_method)?;
        if self
            .client_id_issued_at
            .is_some_and(|t| super::info::from_unix_seconds(t).is_none())
        {
            return Err(invalid("client_id_issued_at is beyond the clock's range"));
        }

        Ok(Client {
            id: ClientId::new_unchecked(id),
            profile: self.profile,
            name: self.client_name,
            redirect_uris,
            grant_types,
            scope: self.scope,
            default_scope: self.default_scope,
            auth_method,
            secret,
            info,
            registration_token,
            issued_at: self.client_id_issued_at,
            keys,
            signing_alg,
            secret_salt,
            openid,
            requests: self.requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            mtls: self.mtls,
        })
    }

    /// The client's keys, assertion algorithm and `client_secret_jwt` salt
    /// (RFC 7591 §2, RFC 7523 §3): `jwks` and `jwks_uri` are exclusive;
    /// `private_key_jwt` needs one of them, with at least one usable
    /// signature key inline; the algorithm fits the method; a salt exactly
    /// for `client_secret_jwt`.
    fn validate_keys(&self, method: &AuthMethod) -> Result<KeyMetadata, RegistrationError> {
        let keys = match (&self.jwks, &self.jwks_uri) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "jwks and jwks_uri must not both be present (RFC 7591 §2)",
                ));
            }
            (Some(jwks), None) => {
                let set = JwkSet::from_value(jwks)
                    .map_err(|e| invalid(format!("jwks is not a set of public keys: {e}")))?;
                if !set.keys.iter().any(|k| PublicKey::from_jwk(k).is_ok()) {
                    return Err(invalid(
                        "jwks has no signature key this server can use \
                         (EC P-256, RSA of 2048 bits or more, Ed25519)",
                    ));
                }
                Some(ClientKeys::Jwks(set))
            }
            (None, Some(uri)) => Some(ClientKeys::JwksUri(document_url("jwks_uri", uri)?)),
            (None, None) => None,
        };
        if *method == AuthMethod::PRIVATE_KEY_JWT && keys.is_none() {
            return Err(invalid("private_key_jwt requires jwks or jwks_uri"));
        }
        // RFC 8705 §2.2.2: the certificate is registered in jwks or jwks_uri.
        if *method == AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH && keys.is_none() {
            return Err(invalid(
                "self_signed_tls_client_auth requires jwks or jwks_uri",
            ));
        }
        let signing_alg = match &self.token_endpoint_auth_signing_alg {
            None => None,
            Some(name) => {
                let alg: Algorithm = name.parse().map_err(|_| {
                    invalid(
                        "token_endpoint_auth_signing_alg is not an algorithm this server supports",
                    )
                })?;
                let fits = match method {
                    m if *m == AuthMethod::PRIVATE_KEY_JWT => alg != Algorithm::Hs256,
                    m if *m == AuthMethod::CLIENT_SECRET_JWT => alg == Algorithm::Hs256,
                    _ => false,
                };
                if !fits {
                    return Err(invalid(
                        "token_endpoint_auth_signing_alg does not fit token_endpoint_auth_method",
                    ));
                }
                Some(alg)
            }
        };
        let salt = match &self.client_secret_jwt_salt {
            Some(encoded) => {
                let bytes = URL_SAFE_NO_PAD
                    .decode(encoded)
                    .ok()
                    .and_then(|b| <[u8; 16]>::try_from(b).ok())
                    .ok_or_else(|| invalid("malformed client_secret_jwt salt"))?;
                Some(SecretSalt(bytes))
            }
            None => None,
        };
        if salt.is_some() != (*method == AuthMethod::CLIENT_SECRET_JWT) {
            return Err(invalid(
                "a client has a derived secret exactly when it uses client_secret_jwt",
            ));
        }
        Ok((keys, signing_alg, salt))
    }
}

/// A client's keys, assertion algorithm and `client_secret_jwt` salt.
type KeyMetadata = (Option<ClientKeys>, Option<Algorithm>, Option<SecretSalt>);

impl From<Client> for ClientParts {
    fn from(client: Client) -> Self {
        Self {
            client_id: client.id.as_str().to_owned(),
            profile: client.profile,
            client_name: client.name,
            redirect_uris: client
                .redirect_uris
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scope: client.scope,
            default_scope: client.default_scope,
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            secret_hash: client.secret.as_ref().map(SecretHash::to_stored),
            info: ClientInfoParts::from(&client.info),
            registration_access_token_hash: client.registration_token.map(|h| h.to_hex()),
            client_id_issued_at: client.issued_at,
            jwks: match &client.keys {
                Some(ClientKeys::Jwks(set)) => Some(serde_json::json!({ "keys": set.keys })),
                _ => None,
            },
            jwks_uri: match &client.keys {
                Some(ClientKeys::JwksUri(url)) => Some(url.as_str().to_owned()),
                _ => None,
            },
            token_endpoint_auth_signing_alg: client.signing_alg.map(|a| a.as_str().to_owned()),
            client_secret_jwt_salt: client.secret_salt.map(|s| URL_SAFE_NO_PAD.encode(s.0)),
            openid: OpenIdParts::from(&client.openid),
            requests: client.requests.clone(),
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            mtls: client.mtls.clone(),
        }
    }
}

/// Descriptive metadata (RFC 7591 §2), checked when the client is
/// registered: the URLs must be absolute `https` URLs without user
/// information; contacts and software identifiers are short single lines.
impl ClientRegistration {
    /// The client's home page (`client_uri`).
    pub fn client_uri(mut self, uri: impl Into<String>) -> Self {
        self.info.client_uri = Some(uri.into());
        self
    }

    /// The client's logo (`logo_uri`).
    pub fn logo_uri(mut self, uri: impl Into<String>) -> Self {
        self.info.logo_uri = Some(uri.into());
        self
    }

    /// The client's terms of service (`tos_uri`).
    pub fn tos_uri(mut self, uri: impl Into<String>) -> Self {
        self.info.tos_uri = Some(uri.into());
        self
    }

    /// The client's privacy policy (`policy_uri`).
    pub fn policy_uri(mut self, uri: impl Into<String>) -> Self {
        self.info.policy_uri = Some(uri.into());
        self
    }

    /// Adds a contact, typically an e-mail address; at most
    /// [`MAX_CONTACTS`](super::MAX_CONTACTS).
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        self.info.contacts.push(contact.into());
        self
    }

    /// The client software's identifier (`software_id`).
    pub fn software_id(mut self, id: impl Into<String>) -> Self {
        self.info.software_id = Some(id.into());
        self
    }

    /// The client software's version (`software_version`).
    pub fn software_version(mut self, version: impl Into<String>) -> Self {
        self.info.software_version = Some(version.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SecretHashError;

    fn cc() -> ClientRegistration {
        ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS)
    }

    #[test]
    fn confidential_client_gets_id_and_secret() {
        let r = cc().register().unwrap();
        assert_eq!(r.client.id().as_str().len(), 22);
        assert_eq!(r.client.auth_method(), &AuthMethod::CLIENT_SECRET_BASIC);
        let secret = r.secret.unwrap();
        assert!(
            r.client
                .secret_hash()
                .unwrap()
                .verify(secret.expose_secret())
        );
    }

    #[test]
    fn ids_are_unique() {
        let a = cc().register().unwrap().client;
        let b = cc().register().unwrap().client;
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn public_client_has_no_secret_and_method_none() {
        let r = ClientRegistration::native()
            .redirect_uri("http://127.0.0.1/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .register()
            .unwrap();
        assert_eq!(r.client.client_type(), ClientType::Public);
        assert_eq!(r.client.auth_method(), &AuthMethod::NONE);
        assert!(r.secret.is_none() && r.client.secret_hash().is_none());
    }

    #[test]
    fn inconsistent_metadata_is_refused() {
        let public_cc = ClientRegistration::native().grant_type(GrantType::CLIENT_CREDENTIALS);
        assert!(matches!(
            public_cc.register(),
            Err(RegistrationError::InvalidMetadata(_))
        ));
        let public_secret = ClientRegistration::native()
            .redirect_uri("http://127.0.0.1/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .auth_method(AuthMethod::CLIENT_SECRET_BASIC);
        assert!(public_secret.register().is_err());
        assert!(cc().auth_method(AuthMethod::NONE).register().is_err());
        assert!(ClientRegistration::web_application().register().is_err());
        let code_without_redirect =
            ClientRegistration::web_application().grant_type(GrantType::AUTHORIZATION_CODE);
        assert!(code_without_redirect.register().is_err());
        let wide_default = cc()
            .scope("a".parse().unwrap())
            .default_scope("a b".parse().unwrap());
        assert!(wide_default.register().is_err());
        assert!(cc().client_id("has space").register().is_err());
        assert!(cc().client_id("").register().is_err());
        let bad_uri = cc().redirect_uri("http://evil.example/cb").register();
        assert!(matches!(
            bad_uri,
            Err(RegistrationError::InvalidRedirectUri { .. })
        ));
    }

    #[test]
    fn imported_secrets_use_argon2id() {
        let r = cc()
            .import_secret(ClientSecret::new("a person chose this"))
            .register()
            .unwrap();
        assert!(r.secret.is_none());
        assert!(matches!(
            r.client.secret_hash(),
            Some(SecretHash::Argon2id(_))
        ));
        assert!(
            r.client
                .secret_hash()
                .unwrap()
                .verify("a person chose this")
        );
        assert!(matches!(
            cc().import_secret(ClientSecret::new("short")).register(),
            Err(RegistrationError::Secret(SecretHashError::TooShort))
        ));
    }

    #[test]
    fn serde_round_trip_revalidates() {
        let r = cc()
            .scope("a b".parse().unwrap())
            .name("svc")
            .register()
            .unwrap();
        let json = serde_json::to_string(&r.client).unwrap();
        assert!(!json.contains(r.secret.as_ref().unwrap().expose_secret()));
        let back: Client = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r.client);

        let tampered = json.replace("web_application", "native");
        assert!(serde_json::from_str::<Client>(&tampered).is_err());
    }
}
