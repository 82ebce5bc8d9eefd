//! The example server's application: an authorization server over the
//! in-memory store with a demo user and demo clients, and the axum router
//! that serves every endpoint of the library plus one protected resource.
//!
//! `main.rs` parses the command line, prints the demo credentials and runs
//! the router; `tests/example_server.rs` drives the same router over HTTP.
//! Everything here is framework glue: the protocol lives in the library.

mod consent;
mod device;
mod html;
mod login;
mod oauth;

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::{DEFAULT_POLLING_INTERVAL, DynamicRegistration};
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
};
use portcullis::protocol::{GrantType, Scope};
use portcullis::resource::{BearerValidator, Realm};
use portcullis::{AuthorizationServer, MemoryStore};

use login::{FormKey, Users};

/// The protected resource: who the token speaks for, and its scope.
pub const RESOURCE_PATH: &str = "/api/me";
/// The scope a token needs for [`RESOURCE_PATH`].
pub const RESOURCE_SCOPE: &str = "read";
/// Every scope this server knows.
pub const SCOPES: &str = "read write";
/// Where the demo app's authorization responses go. A loopback redirect for
/// a native app: any port matches (RFC 8252 §7.3).
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// The demo user's name; the password is drawn at start.
pub const USER_NAME: &str = "demo";
/// The name of the demo resource server's introspection credential.
pub const RESOURCE_SERVER: &str = "demo-api";

/// How to set the server up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier (RFC 8414 §2); endpoint paths follow its path.
    pub issuer: String,
    /// Enables dynamic registration (RFC 7591) for holders of this token.
    pub registration_token: Option<String>,
    /// The least time between two device polls (RFC 8628 §3.2).
    pub device_polling_interval: Duration,
}

impl Config {
    /// The defaults for `issuer`: no dynamic registration.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            registration_token: None,
            device_polling_interval: DEFAULT_POLLING_INTERVAL,
        }
    }
}

/// The server and the demo credentials, printed at start.
#[derive(Debug)]
pub struct Demo {
    /// The authorization server.
    pub server: AuthorizationServer,
    /// A confidential client for the client credentials grant.
    pub service_id: String,
    /// Its secret.
    pub service_secret: String,
    /// A public native client for the authorization code (with PKCE),
    /// refresh token and device grants; redirects to [`REDIRECT_URI`].
    pub app_id: String,
    /// The demo resource server's introspection credential
    /// (`Authorization: Bearer`), named [`RESOURCE_SERVER`].
    pub resource_server_secret: String,
    /// The demo user's password (the user is [`USER_NAME`]).
    pub user_password: String,
    /// The initial access token for dynamic registration, if enabled.
    pub registration_token: Option<String>,
}

/// A fresh 256-bit random string, base64url: for secrets the demo draws.
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn scope(value: &str) -> Result<Scope, Box<dyn Error>> {
    Ok(value.parse()?)
}

/// Builds the server and registers the demo clients.
pub async fn demo(config: Config) -> Result<Demo, Box<dyn Error>> {
    let store = MemoryStore::new();
    let resource_server_secret = random_secret();
    let mut builder = AuthorizationServer::builder(config.issuer)
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .grant(ClientCredentialsGrant)
        .grant(DeviceCodeGrant)
        .device_polling_interval(config.device_polling_interval)
        .scopes_supported(scope(SCOPES)?)
        .introspection_credential(RESOURCE_SERVER, &resource_server_secret);
    if let Some(token) = &config.registration_token {
        builder = builder.dynamic_registration(
            DynamicRegistration::with_initial_access_token(token).max_scope(scope(SCOPES)?),
        );
    }
    let server = builder.build()?;

    let service = server
        .register_client(
            ClientRegistration::web_application()
                .name("Demo service")
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(scope(SCOPES)?),
        )
        .await?;
    let service_secret = service
        .secret
        .ok_or("a confidential client gets a secret")?
        .expose_secret()
        .to_owned();
    let app = server
        .register_client(
            ClientRegistration::native()
                .name("Demo app")
                .redirect_uri(REDIRECT_URI)
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .grant_type(GrantType::DEVICE_CODE)
                .scope(scope(SCOPES)?),
        )
        .await?;
    Ok(Demo {
        server,
        service_id: service.client.id().to_string(),
        service_secret,
        app_id: app.client.id().to_string(),
        resource_server_secret,
        user_password: random_secret(),
        registration_token: config.registration_token,
    })
}

/// What every handler shares.
struct AppState {
    server: AuthorizationServer,
    /// The protected resource's validator, asking the server in process.
    validator: BearerValidator<AuthorizationServer>,
    resource_scope: Scope,
    users: Users,
    /// Signs the hidden fields that bind a form to what it decides.
    forms: FormKey,
    /// Where the consent form posts back to.
    authorize_path: String,
    /// Where the verification form posts back to.
    verification_path: String,
    /// Whether cookies get `Secure`: on an `https` issuer.
    secure_cookies: bool,
}

type App = Arc<AppState>;

/// The router: every path comes from the server's own configuration — the
/// metadata document (RFC 8414) and the device verification URI — so what is
/// served is what is advertised.
pub fn router(demo: &Demo) -> Result<Router, Box<dyn Error>> {
    let server = &demo.server;
    let metadata = server.metadata();
    let authorize = metadata
        .authorization_endpoint
        .as_ref()
        .ok_or("the code grant is served")?;
    let verification = server.device_verification_uri();
    let state = Arc::new(AppState {
        server: server.clone(),
        validator: BearerValidator::new(server.clone(), Realm::new("demo")?),
        resource_scope: scope(RESOURCE_SCOPE)?,
        users: Users::new(USER_NAME, &demo.user_password),
        forms: FormKey::random(),
        authorize_path: authorize.path().to_owned(),
        verification_path: verification.path().to_owned(),
        secure_cookies: server.issuer().scheme() == "https",
    });

    // The library answers wrong methods itself (405 with `Allow`), so its
    // endpoints take any method.
    let mut router = Router::new()
        .route(&server.metadata_path(), any(oauth::metadata))
        .route(authorize.path(), get(consent::show).post(consent::submit))
        .route(metadata.token_endpoint.path(), any(oauth::token))
        .route(verification.path(), get(device::show).post(device::submit))
        .route(RESOURCE_PATH, get(oauth::me));
    if let Some(url) = &metadata.revocation_endpoint {
        router = router.route(url.path(), any(oauth::revoke));
    }
    if let Some(url) = &metadata.introspection_endpoint {
        router = router.route(url.path(), any(oauth::introspect));
    }
    if let Some(url) = &metadata.device_authorization_endpoint {
        router = router.route(url.path(), any(oauth::device_authorization));
    }
    if let Some(url) = &metadata.registration_endpoint {
        // RFC 7592: each client's configuration endpoint is beneath it.
        let configuration = format!("{}/{{client_id}}", url.path().trim_end_matches('/'));
        router = router
            .route(url.path(), any(oauth::register))
            .route(&configuration, any(oauth::client_configuration));
    }
    Ok(router.with_state(state))
}
