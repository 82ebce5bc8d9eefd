//! Crashes: the example authorization server as a process of its own, on a
//! SQLite file and on PostgreSQL, under a load of client-credentials and
//! code-then-refresh requests, killed with SIGKILL at random moments and
//! started again on the same database, [`KILLS`] times. Then:
//!
//! - every token the server answered with still works: each access token at
//!   `/api/me`, and each refresh token not rotated out is active at
//!   introspection and refreshes;
//! - no refresh token works twice: every one rotated out is inactive and is
//!   refused (`invalid_grant`) — and that reuse revokes its grant;
//! - no answer was ever a 5xx;
//! - on SQLite, `PRAGMA integrity_check` says `ok` after every restart.
//!
//! A request cut off by the kill has no answer, so its outcome is unknown:
//! its flow is dropped, and a refresh token sent in such a request is never
//! presented again (the rotation may have happened). An answered request is
//! durable: codes, tokens and rotations answered before a kill hold after it.
//!
//! The server is the `server` example binary, which `cargo test` builds
//! beside the test binaries: `target/<profile>/examples/server`, found from
//! this test's own path (`target/<profile>/deps/crash-…`). A plain `cargo
//! test` builds it; `cargo test --test crash` alone does not, so build it
//! first (`cargo build --all-features --example server`).
//!
//! Users and clients come from the command line and RFC 7591 registration
//! (`--user`, `--registration-token`), which hold on PostgreSQL too, where
//! the server keeps no secrets file and draws new secrets at every start.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;
mod sql_support;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use example::{Reply, basic};
use http::Request;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sql_support::{Backend, TestDb};
use sqlx::Connection as _;

/// How many times the server is killed.
const KILLS: usize = 4;
/// How long the load runs before each kill, at most (at random, from a third
/// of it).
const MAX_RUN: Duration = Duration::from_millis(1500);
/// Tasks asking for client-credentials tokens, and tasks running code flows
/// with refreshes.
const SERVICE_TASKS: usize = 2;
const CODE_TASKS: usize = 3;
/// Refreshes per code flow.
const REFRESHES: usize = 3;

const USER: &str = "alice";
const PASSWORD: &str = "correct-horse-battery-staple";
const REGISTRATION_TOKEN: &str = "iat-crash-Xq3vR8nT2wY6pL9zB4cF7hJ1kM5sD0gA";
/// The app's redirect URI; nothing listens there: the code is read from the
/// `Location` of the consent form's answer.
const CALLBACK: &str = "https://crash-app.example/callback";

/// The example server binary (see the module documentation).
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/crash-… → target/<profile>
    let profile = exe.parent().unwrap().parent().unwrap();
    let binary = profile
        .join("examples")
        .join(format!("server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: `cargo test` builds it; with `cargo test --test crash` run \
         `cargo build --all-features --example server` first",
        binary.display()
    );
    binary
}

/// A running server process; killed (SIGKILL) when dropped, so a failing
/// test leaves nothing behind.
struct Process {
    child: Child,
}

impl Process {
    /// SIGKILL (what `Child::kill` sends on Unix), and reaps it.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start the server, always the same way.
struct Launcher {
    binary: PathBuf,
    args: Vec<String>,
    /// The processes' stderr, appended (shown when a start fails).
    log: PathBuf,
    url: String,
}

impl Launcher {
    /// Starts the server and waits for `listening on URL`.
    async fn start(&self) -> Process {
        for _ in 0..5 {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .unwrap();
            let mut child = Command::new(&self.binary)
                .args(&self.args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let process = Process { child };
            let (tx, rx) = tokio::sync::oneshot::channel();
            // The banner is read to its last line; then the pipe is drained
            // until the process dies.
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(url) = line.strip_prefix("listening on ") {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(url.to_owned());
                        }
                    }
                }
            });
            match tokio::time::timeout(Duration::from_secs(30), rx).await {
                Ok(Ok(url)) => {
                    assert_eq!(url, self.url);
                    return process;
                }
                // Exited before listening: only because the port was still
                // held by the process just killed is that no failure.
                Ok(Err(_)) => {
                    drop(process);
                    let log = self.log_text();
                    let last = log.lines().rev().find(|l| l.starts_with("error:"));
                    assert!(
                        last.is_some_and(|l| l.contains("cannot listen")),
                        "the server did not start: {log}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(_) => panic!("the server did not start: {}", self.log_text()),
            }
        }
        panic!("the server did not start: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Where the endpoints are, from the server's metadata (RFC 8414).
#[derive(Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    introspection: String,
    registration: String,
    /// The protected resource.
    me: String,
}

impl Endpoints {
    async fn discover(url: &str) -> Self {
        let reply = example::get(
            &format!("{url}/.well-known/oauth-authorization-server"),
            &[],
        )
        .await;
        assert_eq!(reply.status(), 200, "{}", reply.text());
        let metadata = reply.json();
        Self {
            authorization: string(&metadata["authorization_endpoint"]),
            token: string(&metadata["token_endpoint"]),
            introspection: string(&metadata["introspection_endpoint"]),
            registration: string(&metadata["registration_endpoint"]),
            me: format!("{url}/api/me"),
        }
    }
}

/// The registered clients' credentials.
#[derive(Clone)]
struct Clients {
    service_id: String,
    service_secret: String,
    app_id: String,
    app_secret: String,
}

/// A grant from a code flow, as the client knows it.
#[derive(Default)]
struct Chain {
    /// Every access token answered.
    access: Vec<String>,
    /// The current refresh token; `None` once a refresh went unanswered (it
    /// may have been rotated), after which it is never presented again.
    refresh: Option<String>,
    /// Refresh tokens rotated out by an answered refresh.
    rotated: Vec<String>,
}

/// What the load saw.
#[derive(Default)]
struct Ledger {
    /// Client-credentials access tokens.
    service_tokens: Vec<String>,
    chains: Vec<Chain>,
    /// Answers received.
    answered: u64,
    /// Requests cut off by a kill: sent, but no answer.
    cut: u64,
    /// Requests whose connection was refused: the server was down.
    refused: u64,
    /// Sign-ins and consents refused after a restart (a browser session may
    /// not outlive one).
    lenient: u64,
    /// 5xx answers, and answers a working server does not give.
    wrong: Vec<String>,
}

/// Why a flow stopped early.
enum Stop {
    /// No answer: the server is down.
    Down,
    /// An answer that must not happen, recorded in the ledger.
    Wrong,
}

/// What every load task shares.
struct Load {
    endpoints: Endpoints,
    clients: Clients,
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
    /// Incremented at every kill.
    generation: AtomicU64,
}

impl Load {
    /// Sends `request` (with the jar's cookies, keeping the ones set), and
    /// checks the answer's status: `expected`, never 5xx. `lenient`: another
    /// status is no fault if the server was killed since `since` (a browser
    /// session or a pending request may not outlive a restart; tokens and
    /// codes must).
    async fn exchange(
        &self,
        jar: Option<&mut Jar>,
        mut request: Request<Vec<u8>>,
        expected: u16,
        lenient: Option<u64>,
    ) -> Result<Reply, Stop> {
        let url = request.uri().to_string();
        if let Some(jar) = &jar {
            if !jar.0.is_empty() {
                request
                    .headers_mut()
                    .insert("cookie", jar.header().parse().unwrap());
            }
        }
        let what = format!("{} {}", request.method(), request.uri().path());
        let response = match example::send(request).await {
            Ok(response) => response,
            Err(example::HttpError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                self.ledger.lock().unwrap().refused += 1;
                return Err(Stop::Down);
            }
            Err(_) => {
                self.ledger.lock().unwrap().cut += 1;
                return Err(Stop::Down);
            }
        };
        let reply = Reply { url, response };
        if let Some(jar) = jar {
            jar.take(&reply);
        }
        let mut ledger = self.ledger.lock().unwrap();
        ledger.answered += 1;
        let status = reply.status();
        if status == expected {
            return Ok(reply);
        }
        if status < 500 && lenient.is_some_and(|g| g != self.generation.load(Ordering::SeqCst)) {
            ledger.lenient += 1;
            return Err(Stop::Down);
        }
        ledger
            .wrong
            .push(format!("{what}: {status} {}", reply.text()));
        Err(Stop::Wrong)
    }

    fn token_request(&self, id: &str, secret: &str, pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
        Request::post(&self.endpoints.token)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic(id, secret))
            .body(example::form(pairs).into_bytes())
            .unwrap()
    }

    /// Client-credentials tokens until told to stop.
    async fn services(self: Arc<Self>) {
        let c = &self.clients;
        while !self.stop.load(Ordering::SeqCst) {
            let request = self.token_request(
                &c.service_id,
                &c.service_secret,
                &[("grant_type", "client_credentials"), ("scope", "read")],
            );
            match self.exchange(None, request, 200, None).await {
                Ok(reply) => {
                    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
                    self.ledger.lock().unwrap().service_tokens.push(token);
                }
                Err(Stop::Down) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(Stop::Wrong) => {}
            }
        }
    }

    /// Code flows, each followed by refreshes, until told to stop.
    async fn apps(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            if let Err(Stop::Down) = self.code_flow().await {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Sign-in, consent, the code exchange, then [`REFRESHES`] refreshes.
    async fn code_flow(&self) -> Result<(), Stop> {
        let since = Some(self.generation.load(Ordering::SeqCst));
        let c = &self.clients;
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let query = example::form(&[
            ("response_type", "code"),
            ("client_id", &c.app_id),
            ("redirect_uri", CALLBACK),
            ("scope", "read"),
            ("state", "crash"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let mut jar = Jar::default();
        let authorize = Request::get(format!("{}?{query}", self.endpoints.authorization))
            .body(Vec::new())
            .unwrap();
        let login = self.exchange(Some(&mut jar), authorize, 200, since).await?;
        let submit = submission(&login, &[("username", USER), ("password", PASSWORD)]);
        let signed_in = self.exchange(Some(&mut jar), submit, 303, since).await?;
        let consent_url = signed_in.location().to_string();
        let consent = Request::get(consent_url).body(Vec::new()).unwrap();
        let consent = self.exchange(Some(&mut jar), consent, 200, since).await?;
        let approve = submission(&consent, &[("decision", "approve")]);
        let redirect = self.exchange(Some(&mut jar), approve, 303, since).await?;
        let code = redirect.location_params()["code"].clone();

        // From here on everything was answered, so must hold whatever
        // happened since: strict.
        let exchange = self.token_request(
            &c.app_id,
            &c.app_secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
            ],
        );
        let tokens = self.exchange(None, exchange, 200, None).await?.json();
        let index = {
            let mut ledger = self.ledger.lock().unwrap();
            ledger.chains.push(Chain {
                access: vec![string(&tokens["access_token"])],
                refresh: Some(string(&tokens["refresh_token"])),
                rotated: Vec::new(),
            });
            ledger.chains.len() - 1
        };
        let mut refresh = string(&tokens["refresh_token"]);
        for _ in 0..REFRESHES {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let request = self.token_request(
                &c.app_id,
                &c.app_secret,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            );
            let answer = self.exchange(None, request, 200, None).await;
            let mut ledger = self.ledger.lock().unwrap();
            let chain = &mut ledger.chains[index];
            match answer {
                Ok(reply) => {
                    let tokens = reply.json();
                    chain.access.push(string(&tokens["access_token"]));
                    chain.rotated.push(refresh);
                    refresh = string(&tokens["refresh_token"]);
                    chain.refresh = Some(refresh.clone());
                }
                Err(stop) => {
                    // Perhaps rotated, perhaps not: never presented again.
                    chain.refresh = None;
                    return Err(stop);
                }
            }
        }
        Ok(())
    }
}

fn string(value: &Value) -> String {
    value.as_str().unwrap().to_owned()
}

/// The form on `page` submitted with its hidden fields and `fields`.
fn submission(page: &Reply, fields: &[(&str, &str)]) -> Request<Vec<u8>> {
    let (action, hidden, _) = page.form();
    let mut pairs: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    pairs.extend_from_slice(fields);
    Request::post(action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(example::form(&pairs).into_bytes())
        .unwrap()
}

/// A browser's cookies.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    fn take(&mut self, reply: &Reply) {
        for set in reply.headers("set-cookie") {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

/// Registers the two clients through RFC 7591.
async fn register(endpoints: &Endpoints) -> Clients {
    let register = |metadata: &'static str| async move {
        let reply = example::request(
            "POST",
            &endpoints.registration,
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &format!("Bearer {REGISTRATION_TOKEN}")),
            ],
            metadata,
        )
        .await;
        assert_eq!(reply.status(), 201, "{}", reply.text());
        let info = reply.json();
        (string(&info["client_id"]), string(&info["client_secret"]))
    };
    let (service_id, service_secret) = register(
        r#"{"client_name": "Crash service", "grant_types": ["client_credentials"], "scope": "read"}"#,
    )
    .await;
    let (app_id, app_secret) = register(
        r#"{"client_name": "Crash app", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "redirect_uris": ["https://crash-app.example/callback"],
            "token_endpoint_auth_method": "client_secret_basic", "scope": "read"}"#,
    )
    .await;
    Clients {
        service_id,
        service_secret,
        app_id,
        app_secret,
    }
}

/// `PRAGMA integrity_check` on the SQLite file at `path`.
async fn integrity_check(path: &str) {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let result: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(result, ["ok"]);
    conn.close().await.unwrap();
}

async fn crash_and_restart(backend: Backend, test: &str) {
    let Some(db) = TestDb::new(backend, test).await else {
        return;
    };
    let began = Instant::now();
    let dir = TempDir::new();
    let port = example::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let launcher = Launcher {
        binary: server_binary(),
        args: [
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database",
            &db.location,
            "--user",
            &format!("{USER}:{PASSWORD}"),
            "--registration-token",
            REGISTRATION_TOKEN,
        ]
        .map(str::to_owned)
        .to_vec(),
        log: dir.0.join("server.log"),
        url: url.clone(),
    };
    let check = || async {
        if backend == Backend::SqliteFile {
            integrity_check(&db.location).await;
        }
    };

    let mut process = launcher.start().await;
    let endpoints = Endpoints::discover(&url).await;
    let load = Arc::new(Load {
        clients: register(&endpoints).await,
        endpoints,
        ledger: Mutex::default(),
        stop: AtomicBool::new(false),
        generation: AtomicU64::new(0),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..SERVICE_TASKS {
        tasks.spawn(Arc::clone(&load).services());
    }
    for _ in 0..CODE_TASKS {
        tasks.spawn(Arc::clone(&load).apps());
    }
    for _ in 0..KILLS {
        let before = load.ledger.lock().unwrap().answered;
        let run = rand::random_range(MAX_RUN / 3..=MAX_RUN);
        tokio::time::sleep(run).await;
        load.generation.fetch_add(1, Ordering::SeqCst);
        process.kill();
        let answered = load.ledger.lock().unwrap().answered - before;
        assert!(answered > 0, "the load ran before the kill");
        process = launcher.start().await;
        check().await;
    }
    // A last stretch of load on the restarted server, then verification.
    tokio::time::sleep(MAX_RUN / 3).await;
    load.stop.store(true, Ordering::SeqCst);
    tasks.join_all().await;
    let ledger = std::mem::take(&mut *load.ledger.lock().unwrap());
    assert!(
        ledger.wrong.is_empty(),
        "answers a working server does not give: {:#?}",
        ledger.wrong
    );
    let chains_with_rotations = ledger
        .chains
        .iter()
        .filter(|c| !c.rotated.is_empty())
        .count();
    assert!(!ledger.service_tokens.is_empty());
    assert!(chains_with_rotations > 0);

    let loaded = began.elapsed();
    verify(&load.endpoints, &load.clients, &ledger).await;
    process.kill();
    check().await;
    eprintln!(
        "{test}: {KILLS} kills; {} answers, {} requests cut off, {} refused, {} browser steps \
         refused after a restart; {} client-credentials tokens, {} code grants ({} rotated, \
         {} with a refresh cut off); load {loaded:.1?}, all checked at {:.1?}",
        ledger.answered,
        ledger.cut,
        ledger.refused,
        ledger.lenient,
        ledger.service_tokens.len(),
        ledger.chains.len(),
        chains_with_rotations,
        ledger.chains.iter().filter(|c| c.refresh.is_none()).count(),
        began.elapsed()
    );
}

/// Every answered token still works; no rotated-out refresh token works.
async fn verify(endpoints: &Endpoints, clients: &Clients, ledger: &Ledger) {
    let me = |token: String| async move {
        example::get(
            &endpoints.me,
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await
        .status()
    };
    let active = |token: String| async move {
        let reply = example::post_form(
            &endpoints.introspection,
            &[(
                "Authorization",
                &basic(&clients.app_id, &clients.app_secret),
            )],
            &[("token", &token)],
        )
        .await;
        assert_eq!(reply.status(), 200, "{}", reply.text());
        reply.json()["active"].as_bool().unwrap()
    };
    let refresh = |token: String| async move {
        example::post_form(
            &endpoints.token,
            &[(
                "Authorization",
                &basic(&clients.app_id, &clients.app_secret),
            )],
            &[("grant_type", "refresh_token"), ("refresh_token", &token)],
        )
        .await
    };

    for token in &ledger.service_tokens {
        assert_eq!(me(token.clone()).await, 200, "a client-credentials token");
    }
    for chain in &ledger.chains {
        for token in &chain.access {
            assert_eq!(
                me(token.clone()).await,
                200,
                "an access token of a code grant"
            );
        }
        if let Some(current) = &chain.refresh {
            assert!(active(current.clone()).await, "the current refresh token");
        }
        for old in &chain.rotated {
            assert!(!active(old.clone()).await, "a rotated-out refresh token");
        }
    }
    // Using them: the current ones refresh, the rotated-out ones are refused
    // and take their grant with them.
    for chain in &ledger.chains {
        if let Some(current) = &chain.refresh {
            let reply = refresh(current.clone()).await;
            assert_eq!(reply.status(), 200, "{}", reply.text());
            let access = string(&reply.json()["access_token"]);
            assert_eq!(me(access).await, 200);
        }
        if chain.rotated.is_empty() {
            continue;
        }
        for old in &chain.rotated {
            let reply = refresh(old.clone()).await;
            assert_eq!(reply.status(), 400, "{}", reply.text());
            assert_eq!(reply.json()["error"], "invalid_grant");
        }
        for token in &chain.access {
            assert_eq!(me(token.clone()).await, 401, "revoked by the reuse");
        }
    }
}

/// A temporary directory, removed when dropped (a failing test too).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-crash-{}",
            URL_SAFE_NO_PAD.encode(rand::random::<[u8; 9]>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_on_sqlite_it_keeps_every_answer() {
    crash_and_restart(Backend::SqliteFile, "crash on SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_on_postgres_it_keeps_every_answer() {
    crash_and_restart(Backend::Postgres, "crash on PostgreSQL").await;
}
