//! An authorization server a person can use: users who sign in, a consent
//! page, the device verification page, every endpoint of the library, and
//! one protected resource — built on `portcullis::axum::router` and
//! `portcullis::tower::BearerLayer`.
//!
//! ```text
//! cargo run --release --example server -- --help
//! ```
//!
//! At start it prints the users, the demo clients and their credentials, the
//! demo resource server's introspection credential and a `curl` command for
//! each flow, then `listening on http://HOST:PORT`. It stops cleanly on
//! SIGINT or SIGTERM. Security events (failed sign-ins and client
//! authentications, throttling, revocations) are logged to stderr.
//!
//! The application is in `app/`, its pages in `templates/`; the tests run
//! it in process and over HTTP.

mod app;

use std::process::ExitCode;

use app::options::{Command, Options};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => *options,
        Ok(Command::Help(help)) => {
            print!("{help}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("{e}");
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
    shutdown_signal().await;
    eprintln!("stopping");
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
