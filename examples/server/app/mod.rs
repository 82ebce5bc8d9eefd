//! The example server's application: an authorization server with users
//! who sign in, demo clients, the pages people see, and one protected
//! resource — on `portcullis::axum::router`, which serves every endpoint at
//! the paths its metadata advertises, and `portcullis::tower::BearerLayer`,
//! which guards the resource.
//!
//! `main.rs` parses the command line, runs [`start`] and waits for a signal;
//! the tests run the same [`start`] in process. The protocol is in the
//! library; this is the host's part: pages, sessions, users.
//!
//! | module | what |
//! |---|---|
//! | `options` | the command line (clap) |
//! | `store`, `secrets`, `clients` | state: the SQL store, the secrets file beside it, the demo clients |
//! | `users`, `session` | who can sign in (Argon2id, throttled); signed session and known-browser cookies, CSRF tokens |
//! | `pages`, `form`, `login`, `consent`, `device` | the pages (askama templates in `templates/`) and their forms |
//! | `openid` | what a request asks of the session: sign-in, consent or neither (OpenID Connect's `prompt`, `max_age`) |
//! | `logout` | signing out at the logout endpoint (RP-Initiated Logout), after the user confirms |
//! | `fetch` | the SSRF-safe HTTP client that fetches client ID metadata documents |
//! | `api` | `GET /api/me`, the protected resource, and its RFC 9728 metadata |
//! | `serve` | the connection loop: timeouts, a connection cap, graceful shutdown |
//! | `banner` | what is printed at start |

mod api;
mod banner;
pub mod clients;
mod consent;
mod device;
pub mod fetch;
mod form;
mod login;
mod logout;
mod openid;
pub mod options;
mod pages;
pub mod secrets;
mod serve;
mod session;
pub mod store;
pub mod users;

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use axum_extra::extract::cookie::Key;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::AuthorizationServer;
use portcullis::client::ClientIdMetadataDocuments;
use portcullis::endpoint::{DEFAULT_DPOP_ALGORITHMS, Dpop, DynamicRegistration, Endpoint};
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
    TokenExchangeGrant,
};
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::oidc::OpenIdConnect;
use portcullis::protocol::{GrantType, Resource, Scope};
use portcullis::resource::{BearerValidator, DpopResource, Realm};
use portcullis::tower::BearerLayer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;
use url::Url;

use clients::DemoClients;
use options::{Options, User};
use secrets::Secrets;
use session::Sessions;
use store::{Store, close_store, open_store};
use users::Users;

/// The protected resource: who the token speaks for, and its scope.
pub const RESOURCE_PATH: &str = "/api/me";
/// The default user's name; the password is drawn on the first start.
pub const DEMO_USER: &str = "demo";
/// The name of the demo resource server's introspection credential.
pub const RESOURCE_SERVER: &str = "demo-api";
/// How often expired rows are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// The longest a request may take, body included: a slow client cannot
/// hold a handler (and a database connection) for longer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for each piece of a request body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The key that signs cookies (64 bytes: HMAC-SHA-256's, and spare).
    cookie_key: Key,
    /// The cost of hashing users' passwords.
    password_cost: argon2::Params,
    /// The longest pause in a request body.
    body_read_timeout: Duration,
    /// The longest a request may take.
    request_timeout: Duration,
}

/// Opens the store and the secrets, builds the server for `issuer`, and
/// finds or registers the demo clients.
pub async fn build(options: &Options, issuer: String) -> Result<Demo, Box<dyn Error>> {
    // The --scope list, for the service; and every scope the server knows:
    // that list and OpenID Connect's (Core §3.1.2.1, §5.4), for the app,
    // registration and the metadata.
    let service_scope = options.scope()?;
    let scope = with_openid_scopes(&service_scope)?;
    let mut secrets = Secrets::open(&options.database)?;
    let cookie_key = secrets.get_or_create("cookie_key", || {
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 64]>())
    })?;
    let cookie_key = URL_SAFE_NO_PAD
        .decode(&cookie_key)
        .ok()
        .and_then(|bytes| Key::try_from(bytes.as_slice()).ok())
        .ok_or("the secrets file's cookie_key is not a 512-bit base64url key")?;
    let introspection_secret =
        secrets.get_or_create("introspection_secret", secrets::random_secret)?;
    let default_user = options.users.is_empty();
    let users = if default_user {
        let password = secrets.get_or_create("demo_password", secrets::random_password)?;
        vec![User::new(DEMO_USER, password)]
    } else {
        options.users.clone()
    };

    let store = open_store(&options.database).await.map_err(|e| {
        format!(
            "cannot open the database {}: {e}",
            store::redacted(&options.database)
        )
    })?;
    // The signing keys, kept in the secrets file so that JWTs issued before
    // a restart still verify; and the resources tokens may be for: /api/me
    // on the issuer's origin and each --resource, all with RFC 9068 JWTs.
    let keys = signing_keys(&mut secrets)?;
    let me = format!(
        "{}{RESOURCE_PATH}",
        Url::parse(&issuer)
            .map_err(|e| format!("issuer {issuer}: {e}"))?
            .origin()
            .ascii_serialization()
    );
    let mut builder = AuthorizationServer::builder(issuer.clone())
        .clients(store.clone())
        .tokens(store.clone())
        .signing_keys(keys)
        .resource(Resource::new(&me)?.jwt())
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .grant(ClientCredentialsGrant)
        .grant(DeviceCodeGrant)
        // Token exchange (RFC 8693), with the default policy: a client
        // exchanges only tokens issued to itself.
        .grant(TokenExchangeGrant::new())
        .device_polling_interval(options.device_polling_interval)
        .scopes_supported(scope.clone())
        .introspection_credential(RESOURCE_SERVER, &introspection_secret)
        // An OpenID Provider (OpenID Connect Core 1.0): the users' claims,
        // ID tokens signed RS256 (the default, Core §3.1.3.7) with the key
        // above unless a client registered another algorithm.
        .openid_connect(
            OpenIdConnect::new(users::claims(&users)).claims_supported(users::claims_supported()),
        )
        // private_key_jwt (RFC 7523): assertions' jtis are recorded in the
        // database, so a replay is refused by every replica. No fetcher:
        // clients register their keys inline (`jwks`), not a `jwks_uri`.
        .replay_cache(store.clone())
        // DPoP (RFC 9449): a token request with a proof gets tokens bound
        // to its key; proofs' jtis go to the same database.
        .dpop(Dpop::new(store.clone()));
    for resource in &options.resources {
        if *resource != me {
            builder = builder.resource(Resource::new(resource)?.jwt());
        }
    }
    // Client ID Metadata Documents: URL client_ids resolved by fetching
    // them, through a fetcher that reaches only public addresses (loopback
    // http too with --allow-loopback-client-metadata, for development).
    let fetcher = fetch::SafeFetcher::new(options.allow_loopback_client_metadata)
        .map_err(|e| format!("the TLS client: {e}"))?;
    builder = builder.client_id_metadata_documents(
        ClientIdMetadataDocuments::new(Arc::new(fetcher))
            .allow_loopback_http(options.allow_loopback_client_metadata)
            .max_scope(scope.clone()),
    );
    if let Some(token) = &options.registration_token {
        builder = builder.dynamic_registration(
            DynamicRegistration::with_initial_access_token(token)
                .max_scope(scope.clone())
                // An extension grant is registrable only when named.
                .allow_grant_type(GrantType::TOKEN_EXCHANGE),
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
    let clients = clients::ensure(&server, &store, &mut secrets, &scope, &service_scope).await?;
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
        cookie_key,
        password_cost: options.password_cost.clone(),
        body_read_timeout: options.body_read_timeout,
        request_timeout: options.request_timeout,
    })
}

/// Where the pages are: beside the endpoints, under the issuer's path.
struct Paths {
    home: String,
    login: String,
    logout: String,
    consent: String,
    device: String,
}

/// What the pages share.
struct AppState {
    server: AuthorizationServer,
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

/// The application: the library's Router — every endpoint, at the paths
/// the metadata advertises, with this app's sign-in and consent as the
/// authorization endpoint's interaction — and this app's pages and
/// protected resource beside it.
pub async fn router(demo: &Demo) -> Result<Router, Box<dyn Error>> {
    let server = &demo.server;
    let issuer = server.issuer_url();
    let base = issuer.path().trim_end_matches('/');
    let paths = Paths {
        home: format!("{base}/"),
        login: format!("{base}/login"),
        // The OpenID Provider's logout endpoint: the home page's sign-out
        // goes through it too.
        logout: server
            .endpoint_urls()
            .get(Endpoint::EndSession)
            .path()
            .to_owned(),
        consent: format!("{base}/consent"),
        device: server.device_verification_uri().path().to_owned(),
    };
    let app = Arc::new(AppState {
        server: server.clone(),
        users: Users::new(&demo.users, demo.password_cost.clone())
            .await
            .map_err(|e| e.to_string())?,
        // `Secure` cookies and the `__Host-` prefix on an https issuer.
        sessions: Sessions::new(demo.cookie_key.clone(), issuer.scheme() == "https"),
        origin: issuer.origin().ascii_serialization(),
        paths,
    });

    let paths = &app.paths;
    let pages = Router::new()
        .route(&paths.consent, get(consent::view).post(consent::decide))
        .route(&paths.login, get(login::show).post(login::submit))
        .route(&paths.home, get(login::home))
        .route(&paths.device, get(device::show).post(device::submit))
        .with_state(Arc::clone(&app));
    // The resource asks the server in process; the layer requires `read`
    // and answers every RFC 6750 refusal itself, each challenge naming the
    // resource's RFC 9728 document and the scope; the document is served
    // beside it.
    let resource = api::metadata(server, RESOURCE_PATH, DEFAULT_DPOP_ALGORITHMS.as_slice())?;
    // A token restricted to another resource is refused here (RFC 8707,
    // RFC 9700 §4.9); the in-process source refuses a revoked one, JWT or
    // opaque, at once.
    // DPoP-bound tokens (RFC 9449 §7) come as `Authorization: DPoP` with a
    // proof for this resource's URL on the issuer's origin.
    let dpop = DpopResource::new(
        Dpop::new(demo.store.clone()),
        Url::parse(&issuer.origin().ascii_serialization())?,
    );
    let validator = BearerValidator::new(server.clone(), Realm::new("demo")?)
        .audience(resource.resource())
        .resource_metadata(resource.resource_metadata_url().clone())
        .dpop(dpop);
    let api = Router::new()
        .route(RESOURCE_PATH, get(api::me))
        .route_layer(BearerLayer::new(validator).require_scope(api::READ.parse()?))
        .merge(portcullis::axum::protected_resource_metadata(resource));
    // Bodies the pages and the resource read stay small; the library's
    // endpoints bound their own (with the OAuth error for a larger one).
    let own = pages
        .merge(api)
        .route_layer(RequestBodyLimitLayer::new(server.max_body()));

    let interaction = login::SignInAndConsent(Arc::clone(&app));
    Ok(portcullis::axum::router(server.clone(), interaction)
        .merge(own)
        // A client that sends its body slowly, or a request that takes too
        // long, is cut off: `408`.
        .layer(RequestBodyTimeoutLayer::new(demo.body_read_timeout))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            demo.request_timeout,
        ))
        // Spans per request, at DEBUG: method, path, status, latency —
        // never headers or bodies, which carry credentials.
        .layer(TraceLayer::new_for_http()))
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
    // Not the secrets `demo` holds.
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
        let served = self.task.await;
        self.purge.abort();
        close_store(&self.demo.store).await;
        Ok(served??)
    }
}

/// Listens on `--addr`, builds the server, prints the banner and then
/// `listening on http://HOST:PORT` to `out`, and serves until
/// [`Running::stop`].
pub async fn start(options: Options, out: &mut dyn Write) -> Result<Running, Box<dyn Error>> {
    let listener = serve::bind(&options.addr)
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
    let router = router(&demo).await?;

    banner::print(&demo, out)?;
    // The listener is bound: connections made from now on are accepted.
    writeln!(out, "listening on {url}")?;
    out.flush()?;

    let (shutdown, stopped) = oneshot::channel::<()>();
    let limits = serve::Limits {
        header_read_timeout: options.header_read_timeout,
        max_connections: options.max_connections,
    };
    let task = tokio::spawn(serve::serve(listener, router, limits, stopped));
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

/// The scope values OpenID Connect defines that the example serves —
/// `openid`, and `profile` and `email` for the users' claims (Core §5.4) —
/// added to `scope`.
fn with_openid_scopes(scope: &Scope) -> Result<Scope, Box<dyn Error>> {
    Ok(Scope::from_tokens(scope.iter().chain(OPENID_SCOPES))?)
}

/// The scope values of [`with_openid_scopes`].
pub const OPENID_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// The server's signing keys: an ES256 key for access tokens and an RS256
/// one, each made once and kept (PKCS#8, base64) in the secrets file.
fn signing_keys(secrets: &mut Secrets) -> Result<KeySet, Box<dyn Error>> {
    let mut keys = KeySet::new();
    for (name, algorithm) in [
        ("signing_key_es256", Algorithm::Es256),
        ("signing_key_rs256", Algorithm::Rs256),
    ] {
        let mut failed = None;
        let stored = secrets.get_or_create(name, || {
            match SigningKey::generate(algorithm).and_then(|k| k.to_pkcs8()) {
                Ok(der) => URL_SAFE_NO_PAD.encode(der.expose_secret()),
                Err(e) => {
                    failed = Some(e);
                    String::new()
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(format!("cannot generate the {algorithm} signing key: {e}").into());
        }
        let der = URL_SAFE_NO_PAD
            .decode(&stored)
            .map_err(|_| format!("the secrets file's {name} is not base64url"))?;
        let key = SigningKey::from_pkcs8(algorithm, &der)
            .map_err(|e| format!("the secrets file's {name}: {e}"))?;
        keys = keys.with_key(key)?;
    }
    Ok(keys)
}
