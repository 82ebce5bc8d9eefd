//! A resource server in its own process: it serves `GET /api/me` and
//! validates each bearer token by asking the example authorization server's
//! introspection endpoint (RFC 7662), with the resource-server credential
//! that server prints at start.
//!
//! ```text
//! cargo run --example server                       # prints the credential
//! cargo run --example resource_server -- --credential SECRET
//! curl -s -H 'Authorization: Bearer ACCESS_TOKEN' http://127.0.0.1:8081/api/me
//! ```
//!
//! The application is in `app/`; `tests/end_to_end.rs` runs it against the
//! authorization server.

mod app;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let options = match app::Options::parse(std::env::args().skip(1)) {
        Ok(app::Command::Run(options)) => options,
        Ok(app::Command::Help) => {
            println!("{}", app::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{}", app::USAGE);
            return ExitCode::from(2);
        }
    };
    let running = match app::start(options, &mut std::io::stdout()).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %running.url, "serving");
    shutdown_signal().await;
    match running.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT (Ctrl-C), or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
