//! Security events under attack: repeated failures are aggregated, so an
//! attack writes a bounded number of log lines (issue: 70 MB of warnings in
//! five minutes), through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use http::header::{self, HeaderMap, HeaderValue};
use portcullis::endpoint::TokenRequest;
use portcullis::protocol::Params;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The security events written, by `event` name.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn named(&self, name: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|n| *n == name).count()
    }
}

struct EventName(String);

impl Visit for EventName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "event" {
            self.0 = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "event" && self.0.is_empty() {
            self.0 = format!("{value:?}");
        }
    }
}

/// A subscriber that counts the lines of `portcullis::security`.
impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "portcullis::security"
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut name = EventName(String::new());
        event.record(&mut name);
        self.0.lock().unwrap().push(name.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn basic_headers(id: &str, secret: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&basic(id, secret)).unwrap(),
    );
    headers
}

#[tokio::test(flavor = "current_thread")]
async fn a_hundred_thousand_failures_for_one_client_write_a_few_lines() {
    let lines = Lines::default();
    let _guard = tracing::subscriber::set_default(lines.clone());
    let h = throttled_harness(5);
    let c = h.cc_client().await;
    let headers = basic_headers(&c.id, "pc_cs_guess");
    let (mut failed, mut throttled) = (0, 0);
    // 100,000 guesses over 100 seconds.
    for _ in 0..100_000 {
        let params = Params::parse(b"grant_type=client_credentials").unwrap();
        match h.server.token(TokenRequest::new(params, &headers)).await {
            Err(e) => match e.into_http().status().as_u16() {
                429 => throttled += 1,
                _ => failed += 1,
            },
            Ok(_) => panic!("a guess succeeded"),
        }
        h.clock.advance(Duration::from_millis(1));
    }
    assert!(failed > 0 && throttled > 0);
    // The first of each, and a summary a minute.
    assert!(
        lines.count() <= 10,
        "{} lines for one client: {:?}",
        lines.count(),
        lines.0.lock().unwrap()
    );
    assert_eq!(lines.named("client_authentication_failed").min(1), 1);
    assert!(lines.named("client_authentication_throttled") >= 1);
    // The right secret still authenticates, and the next guess is still
    // counted rather than logged.
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
}

#[tokio::test(flavor = "current_thread")]
async fn failures_for_many_clients_are_bounded_by_the_aggregators_capacity() {
    // 1,024 keys are tracked, and at most 1,024 first events written an
    // interval; failures for keys beyond that are counted into one
    // `security_events_suppressed` summary an interval.
    let lines = Lines::default();
    let _guard = tracing::subscriber::set_default(lines.clone());
    let h = harness();
    for i in 0..5_000 {
        let headers = basic_headers(&format!("made-up-{i}"), "guess");
        let params = Params::parse(b"grant_type=client_credentials").unwrap();
        assert!(
            h.server
                .token(TokenRequest::new(params, &headers))
                .await
                .is_err()
        );
    }
    assert_eq!(lines.named("client_authentication_failed"), 1024);
    assert_eq!(lines.count(), 1024);
    // The next interval reports what was suppressed, once.
    h.clock.advance(Duration::from_secs(61));
    let headers = basic_headers("made-up-0", "guess");
    let params = Params::parse(b"grant_type=client_credentials").unwrap();
    assert!(
        h.server
            .token(TokenRequest::new(params, &headers))
            .await
            .is_err()
    );
    assert_eq!(lines.named("security_events_suppressed"), 1);
    assert!(lines.count() <= 1024 + 2, "{} lines", lines.count());
}

/// A replayed authorization code and a reused refresh token each write
/// their event, and the revocation of the grant (RFC 6819 §5.2.1.1,
/// RFC 9700 §4.14.2).
#[tokio::test(flavor = "current_thread")]
async fn a_replayed_code_and_a_reused_refresh_token_are_reported() {
    let lines = Lines::default();
    let _guard = tracing::subscriber::set_default(lines.clone());
    let h = code_harness();
    let c = h.native_client().await;

    let code = param(&h.code_for(&c, "").await, "code").unwrap().to_owned();
    assert_eq!(h.redeem(&c, &code).await.status, 200);
    h.redeem(&c, &code).await.assert_error(400, "invalid_grant");
    assert_eq!(lines.named("authorization_code_replay"), 1);
    assert!(lines.named("grant_revoked") >= 1);

    let code = param(&h.code_for(&c, "").await, "code").unwrap().to_owned();
    let r = h.redeem(&c, &code).await;
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();
    let body = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={}",
        c.id
    );
    assert_eq!(h.post(token_request(None, &body)).await.status, 200);
    h.post(token_request(None, &body))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(lines.named("refresh_token_reuse"), 1);
    assert_eq!(lines.named("authorization_code_replay"), 1);
}
