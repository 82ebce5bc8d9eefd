//! The example server's application: an authorization server with users
//! who log in, demo clients, the pages people see, every endpoint of the
//! library on the paths its metadata advertises, and one protected resource.
//!
//! `main.rs` parses the command line, runs [`start`] and waits for a signal;
//! `tests/example_server.rs` and `tests/end_to_end.rs` run the same
//! [`start`] in process. Everything here is framework glue: the protocol is
//! in the library.
//!
//! | module | what |
//! |---|---|
//! | `options` | the command line |
//! | `store` | the store for `--database` ([`open_store`](store::open_store)) |
//! | `secrets` | the signing key and demo credentials, in a file beside the database |
//! | `clients` | the demo clients, registered once |
//! | `users`, `session`, `source` | logins and their throttling, signed session and known-browser cookies, CSRF tokens, where a request comes from |
//! | `html`, `login`, `consent`, `device` | the pages: sign-in, consent, device verification |
//! | `oauth` | the machine-facing endpoints and `GET /api/me` |
//! | `banner` | what is printed at start |

mod banner;
pub mod clients;
mod consent;
mod device;
mod html;
mod login;
mod oauth;
pub mod options;
pub mod secrets;
mod session;
mod source;
pub mod store;
mod users;

use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use portcullis::AuthorizationServer;
use portcullis::endpoint::DynamicRegistration;
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
};
use portcullis::protocol::Scope;
use portcullis::resource::{BearerValidator, Realm};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use clients::DemoClients;
use options::{Options, User};
use secrets::Secrets;
use session::{Key, Sessions};
use store::{Store, close_store, open_store};
use users::Users;

/// The protected resource: who the token speaks for, and its scope.
pub const RESOURCE_PATH: &str = "/api/me";
/// The scope a token needs for [`RESOURCE_PATH`].
pub const RESOURCE_SCOPE: &str = "read";
/// The default user's name; the password is drawn on the first start.
pub const DEMO_USER: &str = "demo";
/// The name of the demo resource server's introspection credential.
pub const RESOURCE_SERVER: &str = "demo-api";
/// How often expired rows are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// How long a stop waits for requests in progress.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The server, and what a person needs to use it (printed at start).
pub struct Demo {
    /// The authorization server.
    pub server: AuthorizationServer,
    /// Its store.
    pub store: Store,
    /// The demo clients.
    pub clients: DemoClients,
    /// The demo resource server's introspection credential
    /// (`Authorization: Bearer`), named [`RESOURCE_SERVER`].
    pub introspection_secret: String,
    /// Who can log in.
    pub users: Vec<User>,
    /// Whether [`users`](Self::users) is the default demo user.
    pub default_user: bool,
    /// The initial access token for dynamic registration, if enabled.
    pub registration_token: Option<String>,
    /// `--database`.
    pub database: String,
    /// The secrets file; `None` in memory.
    pub secrets_path: Option<PathBuf>,
    /// The key of session cookies and CSRF tokens, base64url.
    session_key: String,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("server", &self.server)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Opens the store and the secrets, builds the server for `issuer`, and
/// finds or registers the demo clients.
pub async fn build(options: &Options, issuer: String) -> Result<Demo, Box<dyn Error>> {
    let scope = options.scope()?;
    let mut secrets = Secrets::open(&options.database)?;
    let session_key = secrets.get_or_create("session_key", secrets::random_secret)?;
    if Key::from_base64(&session_key).is_none() {
        return Err("the secrets file's session_key is not a 256-bit base64url key".into());
    }
    let introspection_secret =
        secrets.get_or_create("introspection_secret", secrets::random_secret)?;
    let default_user = options.users.is_empty();
    let users = if default_user {
        let password = secrets.get_or_create("demo_password", secrets::random_password)?;
        vec![User {
            name: DEMO_USER.to_owned(),
            password,
        }]
    } else {
        options.users.clone()
    };

    let store = open_store(&options.database)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", options.database))?;
    let mut builder = AuthorizationServer::builder(issuer.clone())
        .clients(store.clone())
        .tokens(store.clone())
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .grant(ClientCredentialsGrant)
        .grant(DeviceCodeGrant)
        .device_polling_interval(options.device_polling_interval)
        .scopes_supported(scope.clone())
        .introspection_credential(RESOURCE_SERVER, &introspection_secret);
    if let Some(token) = &options.registration_token {
        builder = builder.dynamic_registration(
            DynamicRegistration::with_initial_access_token(token).max_scope(scope.clone()),
        );
    }
    let server = builder.build().map_err(|e| match e {
        portcullis::BuildError::InvalidIssuer(why) => {
            format!("issuer {issuer}: {why}; set --issuer to the https URL clients use")
        }
        portcullis::BuildError::WeakInitialAccessToken
        | portcullis::BuildError::MalformedInitialAccessToken => {
            format!("--registration-token: {e}")
        }
        e => e.to_string(),
    })?;
    let clients = clients::ensure(&server, &store, &mut secrets, &scope).await?;
    Ok(Demo {
        server,
        store,
        clients,
        introspection_secret,
        users,
        default_user,
        registration_token: options.registration_token.clone(),
        database: options.database.clone(),
        secrets_path: secrets.path().map(PathBuf::from),
        session_key,
    })
}

/// Where the pages are: beside the endpoints, under the issuer's path.
struct Paths {
    home: String,
    login: String,
    logout: String,
    consent: String,
    authorize: String,
    device: String,
}

/// What every handler shares.
struct AppState {
    server: AuthorizationServer,
    /// The protected resource's validator, asking the server in process.
    validator: BearerValidator<AuthorizationServer>,
    resource_scope: Scope,
    users: Users,
    sessions: Sessions,
    paths: Paths,
    /// `scheme://host[:port]` of the issuer, for absolute redirects.
    origin: String,
}

impl AppState {
    /// The absolute URL of one of this server's paths.
    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.origin)
    }
}

type App = Arc<AppState>;

/// The router: the endpoints' paths come from the server's own configuration
/// — the metadata document (RFC 8414) and the device verification URI — so
/// what is served is what is advertised.
pub fn router(demo: &Demo) -> Result<Router, Box<dyn Error>> {
    let server = &demo.server;
    let metadata = server.metadata();
    let authorize = metadata
        .authorization_endpoint
        .as_ref()
        .ok_or("the code grant is served")?;
    let issuer = server.issuer_url();
    let base = issuer.path().trim_end_matches('/');
    let paths = Paths {
        home: format!("{base}/"),
        login: format!("{base}/login"),
        logout: format!("{base}/logout"),
        consent: format!("{base}/consent"),
        authorize: authorize.path().to_owned(),
        device: server.device_verification_uri().path().to_owned(),
    };
    let key = Key::from_base64(&demo.session_key).ok_or("invalid session key")?;
    let state = Arc::new(AppState {
        server: server.clone(),
        validator: BearerValidator::new(server.clone(), Realm::new("demo")?),
        resource_scope: RESOURCE_SCOPE.parse()?,
        users: Users::new(&demo.users),
        sessions: Sessions::new(key, issuer.scheme() == "https"),
        origin: issuer.origin().ascii_serialization(),
        paths,
    });

    // The library answers wrong methods itself (405 with `Allow`), so its
    // endpoints take any method.
    let paths = &state.paths;
    let mut router = Router::new()
        .route(&server.metadata_path(), any(oauth::metadata))
        .route(
            &paths.authorize,
            get(consent::authorize).post(consent::authorize),
        )
        .route(&paths.consent, get(consent::view).post(consent::decide))
        .route(&paths.login, get(login::show).post(login::submit))
        .route(&paths.logout, post(login::logout))
        .route(&paths.home, get(login::home))
        .route(&paths.device, get(device::show).post(device::submit))
        .route(metadata.token_endpoint.path(), any(oauth::token))
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

/// A server that is accepting connections.
pub struct Running {
    /// `http://HOST:PORT` it listens on, as printed.
    pub url: String,
    /// The server and its credentials.
    pub demo: Demo,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    purge: JoinHandle<()>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Stops accepting connections, lets the requests in progress finish
    /// (for a few seconds at most), and closes the store.
    pub async fn stop(self) -> Result<(), Box<dyn Error>> {
        let _ = self.shutdown.send(());
        let mut task = self.task;
        let served = match tokio::time::timeout(STOP_GRACE, &mut task).await {
            Ok(joined) => joined.map_err(Box::<dyn Error>::from).and_then(|r| Ok(r?)),
            Err(_) => {
                task.abort();
                Ok(())
            }
        };
        self.purge.abort();
        close_store(&self.demo.store).await;
        served
    }
}

/// Listens on `--addr`, builds the server, prints the banner and then
/// `listening on http://HOST:PORT` to `out`, and serves until
/// [`Running::stop`].
pub async fn start(options: Options, out: &mut dyn Write) -> Result<Running, Box<dyn Error>> {
    let listener = TcpListener::bind(&options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let port = listener.local_addr()?.port();
    let host = options
        .addr
        .rsplit_once(':')
        .map_or(options.addr.as_str(), |(host, _)| host);
    let url = format!("http://{host}:{port}");
    let issuer = options.issuer.clone().unwrap_or_else(|| url.clone());
    let demo = build(&options, issuer).await?;
    let router = router(&demo)?;

    banner::print(&demo, out)?;
    // The listener is bound: connections made from now on are accepted.
    writeln!(out, "listening on {url}")?;
    out.flush()?;

    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // With each connection's peer address, which throttles failed
        // logins per source (`source`).
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let server = demo.server.clone();
    let purge = tokio::spawn(async move {
        let mut every = tokio::time::interval(PURGE_EVERY);
        loop {
            every.tick().await;
            if let Err(e) = server.purge_expired().await {
                tracing::error!(error = %e, "purging expired state failed");
            }
        }
    });
    Ok(Running {
        url,
        demo,
        shutdown,
        task,
        purge,
    })
}
