//! The example resource server's application: one protected resource,
//! `GET /api/me`, whose bearer tokens are checked by asking the
//! authorization server's introspection endpoint over HTTP (RFC 7662), with
//! the resource server's own credential.
//!
//! The library does the RFC 6750 work — [`BearerLayer`] in front of the
//! route finds the token, asks the [`Introspector`], checks the scope and
//! answers the `WWW-Authenticate` challenges — and reads the answer
//! ([`TokenInfo::from_introspection`], which fails closed); this file is
//! the HTTP call and the glue. `main.rs` parses the command line;
//! `tests/end_to_end.rs` runs it in process.

pub mod http1;

use std::error::Error;
use std::fmt;
use std::io::Write;
use std::time::SystemTime;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::header::{self, HeaderValue};
use portcullis::axum::Token;
use portcullis::endpoint::WELL_KNOWN_PATH;
use portcullis::protocol::{IntrospectionResponse, Scope};
use portcullis::resource::{BearerValidator, Realm, TokenInfo, TokenSource, TokenSourceError};
use portcullis::tower::BearerLayer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::{Host, Url};

/// The protected resource.
pub const RESOURCE_PATH: &str = "/api/me";

/// The command line.
pub const USAGE: &str = "\
usage: resource_server --credential SECRET [OPTIONS]

  --credential SECRET  the resource server's introspection credential, as the
                       authorization server printed it (required)
  --issuer URL         the authorization server (default http://127.0.0.1:8080)
  --addr HOST:PORT     where to listen (default 127.0.0.1:8081)
  --scope NAME         the scope GET /api/me requires (default read)";

/// What the command line says.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub addr: String,
    /// The authorization server's issuer identifier; its metadata says where
    /// the introspection endpoint is.
    pub issuer: String,
    /// The credential sent as `Authorization: Bearer` to the introspection
    /// endpoint.
    pub credential: String,
    /// The scope the resource requires.
    pub scope: String,
}

/// What to do.
#[derive(Debug)]
pub enum Command {
    /// Serve.
    Run(Options),
    /// Print [`USAGE`].
    Help,
}

impl Options {
    /// Reads the arguments (without the program name): `--name value` or
    /// `--name=value`.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
        let mut options = Options {
            addr: "127.0.0.1:8081".to_owned(),
            issuer: "http://127.0.0.1:8080".to_owned(),
            credential: String::new(),
            scope: "read".to_owned(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            if name == "--help" || name == "-h" {
                return Ok(Command::Help);
            }
            if !["--addr", "--issuer", "--credential", "--scope"].contains(&name.as_str()) {
                return Err(format!("unknown option {name}"));
            }
            let value = match inline {
                Some(value) => value.to_owned(),
                None => args.next().ok_or(format!("{name} needs a value"))?,
            };
            match name.as_str() {
                "--addr" => options.addr = value,
                "--issuer" => options.issuer = value,
                "--credential" => options.credential = value,
                "--scope" => options.scope = value,
                other => return Err(format!("unknown option {other}")),
            }
        }
        if options.credential.is_empty() {
            return Err("--credential is required".to_owned());
        }
        Ok(Command::Run(options))
    }
}

/// A [`TokenSource`] that asks the authorization server: `POST token=…` to
/// its introspection endpoint (RFC 7662 §2.1), authenticated with the
/// resource server's credential.
#[derive(Clone)]
pub struct Introspector {
    endpoint: http::Uri,
    /// The issuer as the server spells it, to check the answers' `iss`.
    issuer: String,
    /// `Bearer <credential>`, marked sensitive.
    authorization: HeaderValue,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.endpoint)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Reads the authorization server's metadata (RFC 8414 §3) for its
    /// introspection endpoint.
    pub async fn discover(issuer: &str, credential: &str) -> Result<Self, Box<dyn Error>> {
        let issuer = Url::parse(issuer).map_err(|e| format!("--issuer: {e}"))?;
        check_reachable(&issuer)?;
        // RFC 8414 §3: the well-known segment goes before the issuer's path.
        let mut metadata_url = issuer.clone();
        metadata_url.set_path(&format!(
            "{WELL_KNOWN_PATH}{}",
            issuer.path().trim_end_matches('/')
        ));
        let request = http::Request::get(metadata_url.as_str())
            .header(header::ACCEPT, "application/json")
            .body(Vec::new())?;
        let response = http1::send(request).await?;
        if response.status() != http::StatusCode::OK {
            return Err(format!("{metadata_url} answered {}", response.status()).into());
        }
        let metadata: serde_json::Value = serde_json::from_slice(response.body())?;
        // RFC 8414 §3.3: the document must name the issuer it was fetched for.
        let named = metadata
            .get("issuer")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if Url::parse(named).ok().as_ref() != Some(&issuer) {
            return Err(format!("{metadata_url} names another issuer: {named:?}").into());
        }
        let endpoint = metadata
            .get("introspection_endpoint")
            .and_then(|v| v.as_str())
            .ok_or("the authorization server has no introspection endpoint")?;
        let endpoint_url = Url::parse(endpoint)?;
        check_reachable(&endpoint_url)?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {credential}"))
            .map_err(|_| "the credential is not a valid header value")?;
        authorization.set_sensitive(true);
        Ok(Self {
            endpoint: endpoint.parse()?,
            issuer: named.to_owned(),
            authorization,
        })
    }
}

/// This example's client speaks plain HTTP, which is only safe to a server
/// on this machine: the token and the credential travel in the clear.
fn check_reachable(url: &Url) -> Result<(), String> {
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && loopback {
        Ok(())
    } else {
        Err(format!(
            "{url}: this example calls only http:// on a loopback address; \
             across machines use an HTTP client with TLS"
        ))
    }
}

impl TokenSource for Introspector {
    async fn token_info(&self, token: &str) -> Result<Option<TokenInfo>, TokenSourceError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let request = http::Request::post(self.endpoint.clone())
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(form.into_bytes())
            .map_err(TokenSourceError::new)?;
        let response = http1::send(request).await.map_err(TokenSourceError::new)?;
        if response.status() != http::StatusCode::OK {
            // A refused credential, say: the server cannot tell, so neither
            // can this resource (500, and the cause in the log).
            return Err(TokenSourceError::new(format!(
                "the introspection endpoint answered {}",
                response.status()
            )));
        }
        let answer =
            IntrospectionResponse::from_json(response.body()).map_err(TokenSourceError::new)?;
        Ok(TokenInfo::from_introspection(
            &answer,
            &self.issuer,
            SystemTime::now(),
        ))
    }
}

/// `GET /api/me`: `{"sub": …, "scope": …}` for a token the authorization
/// server says is active and has the scope; the layer in front of it has
/// answered every RFC 6750 refusal already.
async fn me(Token(token): Token) -> impl IntoResponse {
    let subject = token.subject.as_ref().map(|s| s.as_str());
    let client = token.client_id.as_ref().map(|c| c.as_str());
    let body = serde_json::json!({
        "sub": subject.or(client),
        "scope": token.scope.as_str(),
    });
    // RFC 6819 §4.6.6: what a token unlocks stays out of shared caches.
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    (no_store, Json(body))
}

/// The running resource server.
#[derive(Debug)]
pub struct Running {
    /// `http://HOST:PORT`, as printed.
    pub url: String,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, finishes the requests in progress, and returns.
    pub async fn stop(self) -> Result<(), Box<dyn Error>> {
        let _ = self.shutdown.send(());
        self.task.await??;
        Ok(())
    }
}

/// Discovers the introspection endpoint, listens, prints `listening on
/// http://HOST:PORT` to `out`, and serves until stopped.
pub async fn start(options: Options, out: &mut dyn Write) -> Result<Running, Box<dyn Error>> {
    let scope: Scope = options.scope.parse().map_err(|e| format!("--scope: {e}"))?;
    let introspector = Introspector::discover(&options.issuer, &options.credential).await?;
    // The layer validates each token by introspection and requires the
    // scope; a failed introspection call is a `500` (the cause logged).
    let validator = BearerValidator::new(introspector, Realm::new("demo-api")?);
    let router = Router::new()
        .route(RESOURCE_PATH, get(me))
        .route_layer(BearerLayer::new(validator).require_scope(scope));
    let listener = TcpListener::bind(&options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let port = listener.local_addr()?.port();
    let host = options
        .addr
        .rsplit_once(':')
        .map_or(options.addr.as_str(), |(host, _)| host);
    let url = format!("http://{host}:{port}");
    writeln!(out, "protected resource: {url}{RESOURCE_PATH}")?;
    writeln!(out, "listening on {url}")?;
    out.flush()?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        url,
        shutdown,
        task,
    })
}
