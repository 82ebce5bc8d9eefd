//! Client authentication (RFC 6749 §2.3, §3.2.1): the sequence described in
//! the [`client`](crate::client) module docs.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use super::assertion::read_assertion;
use super::blocking::BlockingRunner;
use super::credentials::read_secret_credentials;
use super::events::{Report, SecurityEvents, loggable};
use super::jwt_auth::{AssertionAudiences, JwtClientAuth};
use super::mtls::{verify_self_signed, verify_tls_client_auth};
use super::registry::DynClientRegistry;
use super::throttle::DynAuthLimiter;
use super::{
    Admission, AuthMethod, AuthRequest, Client, ClientId, ClientKeys, ClientProfile, ClientType,
    PresentedCredentials, SecretHash, ThrottleSource,
};
use crate::error::StoreError;
use crate::protocol::Scope;

/// Why client authentication failed.
///
/// On the wire most of these are the same `invalid_client` with the same
/// description, so a caller cannot tell an unknown client from a wrong secret;
/// the variant is for the host's logs and tests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// The request carried no client authentication.
    #[error("no client authentication was included")]
    Missing,
    /// More than one authentication method in one request (RFC 6749 §2.3).
    #[error("more than one client authentication method was used")]
    MultipleMethods,
    /// The body's `client_id` names a client other than the `Authorization`
    /// header's.
    #[error("client_id does not match the authenticated client")]
    ClientIdMismatch,
    /// `client_id` or `client_secret` was repeated (RFC 6749 §3.2).
    #[error("parameter `{0}` is repeated")]
    RepeatedParameter(&'static str),
    /// A credential appeared in the request URI (RFC 6749 §2.3.1: "MUST NOT be
    /// included in the request URI").
    #[error("client credentials must not be sent in the request URI")]
    CredentialsInUri,
    /// The credentials could not be parsed.
    #[error("client credentials are malformed")]
    MalformedCredentials,
    /// An `Authorization` scheme other than `Basic`.
    #[error("unsupported authentication scheme")]
    UnsupportedScheme,
    /// No client has this identifier.
    #[error("unknown client")]
    UnknownClient,
    /// The method used is not the one the client registered (RFC 6749 §2.3.2).
    #[error("the client is registered for another authentication method")]
    MethodMismatch,
    /// The secret is wrong.
    #[error("invalid client secret")]
    InvalidSecret,
    /// A JWT client assertion was refused (RFC 7523 §3): the reason, which
    /// never quotes the assertion.
    #[error("invalid client assertion: {0}")]
    InvalidAssertion(&'static str),
    /// The assertion's `jti` was used before (RFC 7523 §3 item 7).
    #[error("the client assertion was already used")]
    ReplayedAssertion,
    /// Mutual TLS (RFC 8705 §2): the request came without a client
    /// certificate.
    #[error("no client certificate was presented")]
    CertificateMissing,
    /// Mutual TLS (RFC 8705 §2): the certificate does not match the
    /// client's registration, its chain was not validated for
    /// `tls_client_auth`, or it is not a certificate.
    #[error("the client certificate does not match the registration")]
    CertificateMismatch,
    /// The client authenticated, but not as the server's profile allows:
    /// under the FAPI 2.0 Security Profile only confidential clients using
    /// `private_key_jwt` or mutual TLS (§5.3.2.1 items 3 and 6).
    #[error("the client's authentication method is not allowed by the server's profile")]
    MethodNotAllowed,
    /// Too many recent failures; try again later.
    #[error("too many failed authentication attempts")]
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The registry or limiter failed.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl ClientAuthError {
    /// Whether this is a malformed request (`invalid_request`) rather than failed
    /// authentication (`invalid_client`).
    pub fn is_invalid_request(&self) -> bool {
        matches!(
            self,
            Self::MultipleMethods
                | Self::ClientIdMismatch
                | Self::RepeatedParameter(_)
                | Self::CredentialsInUri
        )
    }
}

/// Reads and verifies client credentials.
///
/// The built-in [`SecretAuthenticator`] implements `client_secret_basic`,
/// `client_secret_post` and `none`. Another scheme (mutual TLS, say) is an
/// implementation of this trait; the server still enforces the sequence in
/// the [`client` module docs](crate::client) around it. JWT client
/// assertions (`private_key_jwt`, `client_secret_jwt`) are not read by an
/// authenticator: the server verifies them itself, in an async step of the
/// sequence, when it has a replay cache.
pub trait ClientAuthenticator: Send + Sync + 'static {
    /// Reads the claimed client and its credentials from the request. No IO, no
    /// verification.
    fn identify(&self, request: &AuthRequest<'_>) -> Result<PresentedCredentials, ClientAuthError>;

    /// Verifies `presented` against `client`, whose registered method the server
    /// has already checked equals `presented.method`. MUST compare secrets in
    /// constant time.
    ///
    /// Synchronous: verification is computation on the request and the client's
    /// registration (a hash, a signature, a certificate). Anything that needs
    /// IO belongs in the [`Client`] the registry returns (or, as for JWT
    /// client assertions, in the server's own async step).
    fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
    ) -> Result<(), ClientAuthError>;

    /// The methods this authenticator implements (RFC 8414
    /// `token_endpoint_auth_methods_supported`).
    fn methods(&self) -> &[AuthMethod];
}

/// `client_secret_basic`, `client_secret_post` and `none` (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretAuthenticator;

const SECRET_METHODS: [AuthMethod; 3] = [
    AuthMethod::CLIENT_SECRET_BASIC,
    AuthMethod::CLIENT_SECRET_POST,
    AuthMethod::NONE,
];

impl ClientAuthenticator for SecretAuthenticator {
    fn identify(&self, request: &AuthRequest<'_>) -> Result<PresentedCredentials, ClientAuthError> {
        read_secret_credentials(request)
    }

    fn verify(
        &self,
        presented: &PresentedCredentials,
        client: &Client,
    ) -> Result<(), ClientAuthError> {
        if presented.method == AuthMethod::NONE {
            // A public client: identified, not authenticated (RFC 6749 §2.3).
            return Ok(());
        }
        if !presented.method.uses_secret() {
            return Err(ClientAuthError::UnsupportedScheme);
        }
        match (client.secret_hash(), &presented.secret) {
            (Some(hash), Some(secret)) if hash.verify(secret.expose_secret()) => Ok(()),
            _ => Err(ClientAuthError::InvalidSecret),
        }
    }

    fn methods(&self) -> &[AuthMethod] {
        &SECRET_METHODS
    }
}

/// A client that passed authentication at this request.
///
/// Only the crate makes one, and only by the sequence in the [`client` module
/// docs](crate::client); every grant handler takes one.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    client: Arc<Client>,
    method: AuthMethod,
}

impl AuthenticatedClient {
    /// The client's registration.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client identifier.
    pub fn id(&self) -> &ClientId {
        self.client.id()
    }

    /// The method it authenticated with.
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    /// Whether the client proved its identity with credentials: a confidential
    /// client that did not use `none`. A public client is identified by its
    /// `client_id` only and never counts (RFC 6749 §2.3).
    pub fn is_confidential(&self) -> bool {
        // mutants: equivalent — `||` for `&&`: every `Client` is validated
        // (confidential exactly when its method is not `none`), and
        // authentication succeeds only with the registered method, so the
        // two terms are always equal; the check is defence in depth.
        self.client.client_type() == ClientType::Confidential && self.method != AuthMethod::NONE
    }
}

/// The object-safe form of [`ClientAuthenticator`] that the server holds.
/// With no async methods, the trait is object-safe as it is.
#[allow(dead_code)]
fn _obj_safe(_: &dyn ClientAuthenticator) {}

/// The endpoints whose client-authentication failures are counted together
/// (RFC 6749 §2.3.1 asks every endpoint that takes a client password to be
/// protected): guesses at revocation or introspection must not lock a client
/// out of the token endpoint, unless the host says they share
/// ([`ServerBuilder::shared_throttle_keys`](crate::ServerBuilder::shared_throttle_keys)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointFamily {
    /// The token and device authorization endpoints: where a client gets
    /// tokens.
    Token,
    /// The revocation endpoint (RFC 7009).
    Revocation,
    /// The introspection endpoint (RFC 7662).
    Introspection,
}

impl EndpointFamily {
    /// The prefix of the family's limiter keys.
    fn prefix(self, shared: bool) -> &'static str {
        match (shared, self) {
            (true, _) => "client",
            (false, Self::Token) => "token",
            (false, Self::Revocation) => "revocation",
            (false, Self::Introspection) => "introspection",
        }
    }
}

/// What the authentication sequence needs from the server.
pub(crate) struct Authentication<'a> {
    pub(crate) authenticator: &'a Arc<dyn ClientAuthenticator>,
    pub(crate) clients: &'a dyn DynClientRegistry,
    pub(crate) limiter: &'a dyn DynAuthLimiter,
    pub(crate) runner: &'a dyn BlockingRunner,
    pub(crate) events: &'a SecurityEvents,
    pub(crate) family: EndpointFamily,
    /// Whether every family counts under one key
    /// ([`ServerBuilder::shared_throttle_keys`](crate::ServerBuilder::shared_throttle_keys)).
    pub(crate) shared_keys: bool,
    /// JWT client authentication (RFC 7523), when configured.
    pub(crate) jwt: Option<&'a JwtClientAuth>,
    /// The audiences a client assertion may name here.
    pub(crate) audiences: AssertionAudiences<'a>,
    /// Whether the server offers mutual-TLS client authentication
    /// (`tls_client_auth`, `self_signed_tls_client_auth`, RFC 8705 §2).
    pub(crate) mutual_tls: bool,
}

impl Authentication<'_> {
    /// The sequence of the `client` module docs.
    pub(crate) async fn run(
        &self,
        request: &AuthRequest<'_>,
        now: SystemTime,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        // A JWT client assertion is read by the server itself when it offers
        // JWT client authentication; anything else by the authenticator.
        let assertion = match self.jwt {
            Some(_) => read_assertion(request)?,
            None => None,
        };
        let presented = match assertion {
            Some(presented) => presented,
            None => self.authenticator.identify(request)?,
        };
        let id = presented.client_id.as_str();

        let Some(client) = self.clients.find_client(id).await? else {
            if presented.method.uses_secret() {
                // Same work as a wrong secret, so timing does not reveal which
                // identifiers exist. The result is meaningless by construction.
                let _ = self.authenticator.verify(&presented, decoy());
            }
            // Not tracked: there is nothing to guess for an unknown
            // identifier, and tracking made-up ones would let anyone fill the
            // limiter's memory.
            return Err(self.report_failure(id, ClientAuthError::UnknownClient, now));
        };

        // A secret a person chose (stored with Argon2id) can be guessed: each
        // attempt is admitted by the limiter before it is checked, so no more
        // are checked than the policy allows, and per source when the host
        // names one, so guesses from elsewhere do not lock the client out
        // (RFC 6819 §4.4.1.11).
        if matches!(client.secret_hash(), Some(SecretHash::Argon2id(_))) {
            return self
                .run_guessable(presented, client, request.source(), now)
                .await;
        }

        // RFC 8705 §2: a mutual-TLS client sends its `client_id` alone; the
        // certificate of the connection is its credential, checked against
        // its registration by the method it registered.
        let mut presented = presented;
        if self.mutual_tls
            && presented.method == AuthMethod::NONE
            && presented.secret.is_none()
            && presented.assertion.is_none()
            && client.auth_method().is_mutual_tls()
        {
            presented.method = client.auth_method().clone();
        }
        let id = presented.client_id.as_str();

        // A generated secret (256 bits) cannot be guessed: the right one
        // always authenticates, and the limiter only counts and slows the
        // wrong ones (RFC 6819 §5.1.4.2.3). The common path — the right
        // secret — does not touch the limiter.
        let outcome = if presented.method != *client.auth_method() {
            Err(ClientAuthError::MethodMismatch)
        } else {
            match (self.jwt, &presented.assertion) {
                // Needs IO (a jwks_uri, the replay cache): an async step of
                // its own.
                (Some(jwt), Some(_)) => jwt.verify(&presented, &client, self.audiences, now).await,
                _ if self.mutual_tls && presented.method == AuthMethod::TLS_CLIENT_AUTH => {
                    verify_tls_client_auth(request.certificate(), &client)
                }
                _ if self.mutual_tls
                    && presented.method == AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH =>
                {
                    self.verify_self_signed(request.certificate(), &client, now)
                        .await
                }
                _ => self.authenticator.verify(&presented, &client),
            }
        };
        match outcome {
            Ok(()) => Ok(AuthenticatedClient {
                client,
                method: presented.method,
            }),
            // The replay cache failed: nothing to count.
            Err(error @ ClientAuthError::Storage(_)) => Err(error),
            Err(error) => {
                let error = self.report_failure(id, error, now);
                // A wrong secret or a refused assertion is counted, and
                // refused once the limiter says so.
                if presented.method.uses_secret()
                    || presented.assertion.is_some()
                    || presented.method.is_mutual_tls()
                {
                    let key = self.key(id, None);
                    if let Admission::Refuse { retry_after } = self.limiter.admit(&key, now).await?
                    {
                        return Err(self.report_throttled(id, retry_after, now));
                    }
                }
                Err(error)
            }
        }
    }

    /// `self_signed_tls_client_auth` (RFC 8705 §2.2): the certificate's key
    /// is one the client registered, inline or at its `jwks_uri` — fetched
    /// again, at most once per refresh interval, when none matches (the
    /// client may have rotated its certificate).
    async fn verify_self_signed(
        &self,
        certificate: Option<&crate::token::ClientCertificate>,
        client: &Client,
        now: SystemTime,
    ) -> Result<(), ClientAuthError> {
        let certificate = certificate.ok_or(ClientAuthError::CertificateMissing)?;
        match client.keys() {
            Some(ClientKeys::Jwks(set)) => {
                verify_self_signed(Some(certificate), &set.public_keys())
            }
            Some(ClientKeys::JwksUri(_)) => {
                let jwt = self.jwt.ok_or(ClientAuthError::CertificateMismatch)?;
                let keys = jwt.client_keys(client, now, false).await?;
                match verify_self_signed(Some(certificate), &keys) {
                    Err(ClientAuthError::CertificateMismatch) => {
                        let keys = jwt.client_keys(client, now, true).await?;
                        verify_self_signed(Some(certificate), &keys)
                    }
                    outcome => outcome,
                }
            }
            None => Err(ClientAuthError::CertificateMismatch),
        }
    }

    /// The rest of the sequence for a client whose secret a person chose:
    /// admission first, then the check on the [`BlockingRunner`], then the
    /// outcome told to the limiter.
    async fn run_guessable(
        &self,
        presented: PresentedCredentials,
        client: Arc<Client>,
        source: Option<&ThrottleSource>,
        now: SystemTime,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        let key = self.key(&presented.client_id, source);
        if let Admission::Refuse { retry_after } = self.limiter.admit(&key, now).await? {
            return Err(self.report_throttled(&presented.client_id, retry_after, now));
        }
        let method = presented.method.clone();
        let id = presented.client_id.clone();
        let outcome = if method != *client.auth_method() {
            Err(ClientAuthError::MethodMismatch)
        } else {
            self.verify_off_thread(presented, client.clone()).await
        };
        match outcome {
            Ok(()) => {
                self.limiter.succeeded(&key, now).await?;
                Ok(AuthenticatedClient { client, method })
            }
            Err(error) => Err(self.report_failure(&id, error, now)),
        }
    }

    /// The limiter key of `client_id` in this family, and per `source` when
    /// given. Lengths make it unambiguous whatever the two strings hold.
    fn key(&self, client_id: &str, source: Option<&ThrottleSource>) -> String {
        let prefix = self.family.prefix(self.shared_keys);
        match source {
            Some(source) => format!(
                "{prefix}:{}:{client_id}:source:{}",
                client_id.len(),
                source.as_str()
            ),
            None => format!("{prefix}:{}:{client_id}", client_id.len()),
        }
    }

    /// Verifies on the [`BlockingRunner`]: an Argon2id hash takes tens of
    /// milliseconds of CPU, which must not stall the host's async workers.
    async fn verify_off_thread(
        &self,
        presented: PresentedCredentials,
        client: Arc<Client>,
    ) -> Result<(), ClientAuthError> {
        let outcome = Arc::new(Mutex::new(None));
        let slot = outcome.clone();
        let authenticator = self.authenticator.clone();
        self.runner
            .run(Box::new(move || {
                let result = authenticator.verify(&presented, &client);
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
            }))
            .await;
        let result = outcome.lock().unwrap_or_else(|p| p.into_inner()).take();
        // A check that never ran is a failed one.
        result.unwrap_or(Err(ClientAuthError::InvalidSecret))
    }

    /// Reports a failed authentication, returning the error to answer with.
    fn report_failure(&self, id: &str, error: ClientAuthError, now: SystemTime) -> ClientAuthError {
        if self.events.note("client_authentication_failed", id, now) == Report::First {
            tracing::warn!(
                target: "portcullis::security",
                event = "client_authentication_failed",
                client_id = ?loggable(id),
                reason = %error,
            );
        }
        error
    }

    /// Reports a refused attempt, returning the error to answer with.
    fn report_throttled(
        &self,
        id: &str,
        retry_after: Duration,
        now: SystemTime,
    ) -> ClientAuthError {
        if self.events.note("client_authentication_throttled", id, now) == Report::First {
            tracing::warn!(
                target: "portcullis::security",
                event = "client_authentication_throttled",
                client_id = ?loggable(id),
                retry_after_secs = retry_after.as_secs(),
            );
        }
        ClientAuthError::Throttled { retry_after }
    }
}

/// A confidential client no secret matches: its hash is of random bytes.
fn decoy() -> &'static Client {
    static DECOY: OnceLock<Client> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut digest = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut digest);
        Client {
            id: ClientId::new_unchecked("decoy"),
            profile: ClientProfile::WebApplication,
            name: None,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scope: Scope::empty(),
            default_scope: Scope::empty(),
            auth_method: AuthMethod::CLIENT_SECRET_BASIC,
            secret: Some(SecretHash::Sha256(digest)),
            info: super::ClientInfo::default(),
            registration_token: None,
            issued_at: None,
            keys: None,
            signing_alg: None,
            secret_salt: None,
            openid: Default::default(),
            requests: Default::default(),
            dpop_bound_access_tokens: false,
            mtls: Default::default(),
        }
    })
}
