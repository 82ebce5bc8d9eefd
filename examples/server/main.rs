//! An authorization server a person can use: users who sign in, a consent
//! page, the device verification page, every endpoint of the library, and
//! one protected resource, on axum.
//!
//! ```text
//! cargo run --release --example server -- [OPTIONS]
//!
//!   --addr HOST:PORT            where to listen (default 127.0.0.1:8080)
//!   --issuer URL                issuer identifier (default http://HOST:PORT of --addr)
//!   --database PATH             SQLite file for all state; :memory: for none
//!                               (default portcullis-demo.sqlite3)
//!   --registration-token TOKEN  enables dynamic client registration (RFC 7591)
//!   --user NAME:PASSWORD        a user who can sign in (repeatable; default: one
//!                               demo user, whose password is printed at start)
//!   --scope NAME                a scope the server knows (repeatable; default read, write)
//! ```
//!
//! At start it prints the users, the demo clients and their credentials, the
//! demo resource server's introspection credential and a `curl` command for
//! each flow, then `listening on http://HOST:PORT`. It stops cleanly on
//! SIGINT or SIGTERM. Security events (failed logins and client
//! authentications, throttling, revocations) are logged to stderr.
//!
//! The application is in `app/`; `tests/example_server.rs` and
//! `tests/end_to_end.rs` run it over HTTP.

mod app;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let options = match app::options::Options::parse(std::env::args().skip(1)) {
        Ok(app::options::Command::Run(options)) => options,
        Ok(app::options::Command::Help) => {
            println!("{}", app::options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{}", app::options::USAGE);
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
