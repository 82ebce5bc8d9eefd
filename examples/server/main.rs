//! A small authorization server on axum, over the in-memory store: every
//! endpoint of the library, an HTML login-and-consent page, the device
//! verification page, and one protected resource.
//!
//! ```text
//! cargo run --example server -- [--addr 127.0.0.1:8080] [--issuer URL] [--registration-token TOKEN]
//! ```
//!
//! At start it prints the demo user, a confidential and a public client, the
//! demo resource server's introspection credential and `curl` commands for
//! each flow. Security events (failed logins and client authentications,
//! throttling, revocations) are logged to stderr.
//!
//! The application is in `app/`; `tests/example_server.rs` runs it over HTTP.
#![allow(clippy::expect_used)]

mod app;

use std::net::SocketAddr;
use std::process::exit;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::endpoint::Endpoint;
use sha2::{Digest, Sha256};

const USAGE: &str = "usage: server [--addr HOST:PORT] [--issuer URL] [--registration-token TOKEN]";

struct Options {
    addr: SocketAddr,
    issuer: Option<String>,
    registration_token: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        issuer: None,
        registration_token: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => {
                options.addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--issuer" => options.issuer = Some(value("--issuer")?),
            "--registration-token" => {
                options.registration_token = Some(value("--registration-token")?)
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let options = parse_options().unwrap_or_else(|e| {
        eprintln!("error: {e}\n{USAGE}");
        exit(2);
    });
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("error: cannot listen on {}: {e}", options.addr);
            exit(1);
        });
    let local = listener
        .local_addr()
        .expect("a bound listener has an address");

    let mut config = app::Config::new(options.issuer.unwrap_or_else(|| format!("http://{local}")));
    config.registration_token = options.registration_token;
    let demo = app::demo(config).await.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        exit(2);
    });
    let router = app::router(&demo).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        exit(2);
    });

    print_instructions(&demo);
    println!("listening on http://{local}");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .expect("server error");
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The demo credentials, and a `curl` command for each flow.
fn print_instructions(demo: &app::Demo) {
    let server = &demo.server;
    let urls = server.endpoint_urls();
    let token = urls.get(Endpoint::Token);
    let (service, secret, public) = (&demo.service_id, &demo.service_secret, &demo.app_id);
    let mut api = server.issuer().clone();
    api.set_path(app::RESOURCE_PATH);

    println!(
        "demo user:           {} / {}",
        app::USER_NAME,
        demo.user_password
    );
    println!("confidential client: {service} / {secret}  (client credentials)");
    println!(
        "public client:       {public}  (authorization code + PKCE, refresh token, device code; \
         redirect URI {})",
        app::REDIRECT_URI
    );
    println!(
        "resource server:     {}, introspection secret {}",
        app::RESOURCE_SERVER,
        demo.resource_server_secret
    );
    println!("metadata:            {}", server.metadata_url());
    println!();
    println!("client credentials, then the protected resource (needs scope read):");
    println!(
        "  curl -s -u '{service}:{secret}' -d grant_type=client_credentials -d scope=read {token}"
    );
    println!("  curl -s -H 'Authorization: Bearer ACCESS_TOKEN' {api}");
    println!("introspection, as the resource server:");
    println!(
        "  curl -s -H 'Authorization: Bearer {}' -d token=ACCESS_TOKEN {}",
        demo.resource_server_secret,
        urls.get(Endpoint::Introspection)
    );
    println!("revocation:");
    println!(
        "  curl -s -u '{service}:{secret}' -d token=ACCESS_TOKEN {}",
        urls.get(Endpoint::Revocation)
    );
    print_code_flow(demo);
    println!(
        "device flow: ask for codes, open verification_uri_complete, sign in, approve; then poll:"
    );
    println!(
        "  curl -s -d client_id={public} -d scope=read {}",
        urls.get(Endpoint::DeviceAuthorization)
    );
    println!(
        "  curl -s -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
         -d client_id={public} -d device_code=DEVICE_CODE {token}"
    );
    match &demo.registration_token {
        Some(initial) => {
            println!("dynamic registration:");
            println!(
                "  curl -s -H 'Authorization: Bearer {initial}' -H 'Content-Type: application/json' \
                 -d '{{\"client_name\": \"My service\", \"grant_types\": [\"client_credentials\"]}}' {}",
                urls.get(Endpoint::Registration)
            );
        }
        None => println!("dynamic registration: off (start with --registration-token TOKEN)"),
    }
}

/// The authorization code flow with PKCE (RFC 7636): a verifier drawn now, the
/// URL to open, and the code exchange.
fn print_code_flow(demo: &app::Demo) {
    let urls = demo.server.endpoint_urls();
    let verifier = app::random_secret();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier));
    let mut authorize = urls.get(Endpoint::Authorization).clone();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &demo.app_id)
        .append_pair("redirect_uri", app::REDIRECT_URI)
        .append_pair("scope", "read")
        .append_pair("state", &app::random_secret())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    println!("authorization code with PKCE: open this, sign in and approve, then take `code`");
    println!("from the address bar (nothing listens at the redirect URI):");
    println!("  {authorize}");
    println!(
        "  curl -s -d grant_type=authorization_code -d client_id={} -d redirect_uri={} \
         -d code_verifier={verifier} -d code=CODE {}",
        demo.app_id,
        app::REDIRECT_URI,
        urls.get(Endpoint::Token)
    );
    println!(
        "  curl -s -d grant_type=refresh_token -d client_id={} -d refresh_token=REFRESH_TOKEN {}",
        demo.app_id,
        urls.get(Endpoint::Token)
    );
}
