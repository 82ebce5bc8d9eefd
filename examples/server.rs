//! A small authorization server on axum: the token endpoint with the client
//! credentials grant, over the in-memory store.
//!
//! ```text
//! cargo run --example server -- [--addr 127.0.0.1:8080] [--issuer URL]
//! ```
//!
//! At start it registers a demo confidential client and prints its credentials
//! and a `curl` command that obtains a token. Security events (failed client
//! authentication, throttling) are logged to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::TokenError;
use portcullis::grant::ClientCredentialsGrant;
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;
use portcullis::{AuthorizationServer, DEFAULT_MAX_BODY};

struct Options {
    addr: SocketAddr,
    issuer: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("valid default");
    let mut issuer = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--issuer" => issuer = Some(value("--issuer")?),
            "--help" | "-h" => {
                println!("usage: server [--addr HOST:PORT] [--issuer URL]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Options { addr, issuer })
}

/// Hands the request to the library: the body is read (bounded) into memory,
/// and the library's `http::Response` goes back as it is.
async fn token(State(server): State<AuthorizationServer>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, DEFAULT_MAX_BODY).await else {
        // Over the limit (or the body could not be read): the library's own
        // 413 answer.
        return TokenError::BodyTooLarge.into_http().map(Body::from);
    };
    let response = server
        .token_endpoint(http::Request::from_parts(parts, bytes))
        .await;
    response.map(Body::from)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\nusage: server [--addr HOST:PORT] [--issuer URL]");
            std::process::exit(2);
        }
    };
    let issuer = options
        .issuer
        .unwrap_or_else(|| format!("http://{}", options.addr));

    let store = MemoryStore::new();
    let server = match AuthorizationServer::builder(issuer.as_str())
        .clients(store.clone())
        .tokens(store)
        .grant(ClientCredentialsGrant)
        .build()
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };

    let demo = server
        .register_client(
            ClientRegistration::web_application()
                .name("Demo service")
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("read write".parse().expect("valid scope")),
        )
        .await
        .expect("registering the demo client");
    let id = demo.client.id().to_string();
    let secret = demo.secret.expect("confidential clients get a secret");
    let token_url = format!("{}/token", issuer.trim_end_matches('/'));

    let app = Router::new().route("/token", any(token)).with_state(server);
    let listener = match tokio::net::TcpListener::bind(options.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", options.addr);
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().expect("bound address");

    println!("demo client_id:     {id}");
    println!("demo client_secret: {}", secret.expose_secret());
    println!("get a token:");
    println!(
        "  curl -s -u '{id}:{}' -d grant_type=client_credentials -d scope=read {token_url}",
        secret.expose_secret()
    );
    println!("listening on http://{local}");

    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .expect("server error");
}
