//! The example server's sign-in throttling (`examples/server/app/users.rs`)
//! at one instant: per source, per user name, per known browser, and what a
//! refusal takes back. The same rules over HTTP are in
//! `tests/example_server.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::time::{Duration, SystemTime};

use example::app::options::User;
use example::app::users::{LoginError, NAME_ALLOWED_FAILURES, Origin, Users};

const ALICE: &str = "alice";
const PASSWORD: &str = "correct horse";

async fn users() -> Users {
    let alice = User::new(ALICE, PASSWORD);
    let cost = argon2::Params::new(8, 1, 1, None).unwrap();
    Users::new(&[alice], cost).await.unwrap()
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)
}

/// What a login answers: "ok", "wrong" or "throttled".
async fn login(users: &Users, name: &str, password: &str, origin: Origin<'_>) -> &'static str {
    match users.check_at(name, password, origin, t0()).await {
        Ok(_) => "ok",
        Err(LoginError::Wrong) => "wrong",
        Err(LoginError::Throttled(_)) => "throttled",
        Err(LoginError::Unavailable(e)) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_burst_from_one_source_is_throttled_there_only() {
    let users = users().await;
    let mut answers = Vec::new();
    for _ in 0..100 {
        answers.push(login(&users, ALICE, "guess", Origin::Source("198.51.100.1")).await);
    }
    // The policy's five free failures and the one that sets the block.
    assert_eq!(answers.iter().filter(|a| **a == "wrong").count(), 6);
    assert_eq!(answers.iter().filter(|a| **a == "throttled").count(), 94);
    // Even the right password is not checked there now...
    let there = login(&users, ALICE, PASSWORD, Origin::Source("198.51.100.1")).await;
    assert_eq!(there, "throttled");
    // ...but elsewhere the user signs in, and is not slowed down.
    let elsewhere = Origin::Source("203.0.113.9");
    assert_eq!(login(&users, ALICE, "typo", elsewhere).await, "wrong");
    assert_eq!(login(&users, ALICE, PASSWORD, elsewhere).await, "ok");
}

#[tokio::test]
async fn guesses_from_many_sources_slow_the_name_but_not_a_known_browser() {
    let users = users().await;
    let mut answers = Vec::new();
    for source in 0..50 {
        let source = format!("198.51.100.{source}");
        for _ in 0..6 {
            answers.push(login(&users, ALICE, "guess", Origin::Source(&source)).await);
        }
    }
    // The name's allowance, and the failure that sets its block.
    let wrong = answers.iter().filter(|a| **a == "wrong").count();
    assert_eq!(wrong, NAME_ALLOWED_FAILURES as usize + 1);
    let fresh = login(&users, ALICE, PASSWORD, Origin::Source("203.0.113.9")).await;
    assert_eq!(fresh, "throttled");
    // The browser alice signed in from before is not refused.
    let known = Origin::KnownBrowser("browser:alices-laptop");
    assert_eq!(login(&users, ALICE, PASSWORD, known).await, "ok");
}

#[tokio::test]
async fn a_known_browsers_own_wrong_passwords_count_against_it() {
    let users = users().await;
    let known = Origin::KnownBrowser("browser:stolen");
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(login(&users, ALICE, "guess", known).await);
    }
    assert_eq!(answers.iter().filter(|a| **a == "wrong").count(), 6);
    assert_eq!(login(&users, ALICE, PASSWORD, known).await, "throttled");
    // Only that browser: another known browser, and the name, are free.
    let other = Origin::KnownBrowser("browser:other");
    assert_eq!(login(&users, ALICE, PASSWORD, other).await, "ok");
    let source = Origin::Source("203.0.113.9");
    assert_eq!(login(&users, ALICE, PASSWORD, source).await, "ok");
}

#[tokio::test]
async fn made_up_names_refused_at_the_source_leave_nothing_behind() {
    let users = users().await;
    let flood = Origin::Source("198.51.100.1");
    for i in 0..10_000 {
        login(&users, &format!("made-up-{i}"), "guess", flood).await;
    }
    // `made-up-9999` was refused at the source, so its name has no count:
    // its whole allowance is left, from other sources.
    let mut answers = Vec::new();
    for source in 0..=NAME_ALLOWED_FAILURES + 1 {
        let source = format!("203.0.113.{source}");
        answers.push(login(&users, "made-up-9999", "guess", Origin::Source(&source)).await);
    }
    let wrong = answers.iter().filter(|a| **a == "wrong").count();
    assert_eq!(wrong, NAME_ALLOWED_FAILURES as usize + 1, "{answers:?}");
    assert_eq!(answers.last(), Some(&"throttled"));
    // And the real user, from a source of their own, signs in.
    let own = Origin::Source("192.0.2.1");
    assert_eq!(login(&users, ALICE, PASSWORD, own).await, "ok");
}

#[tokio::test]
async fn a_refusal_by_the_name_takes_back_the_sources_count() {
    let users = users().await;
    // Block the name from 21 sources, one guess each.
    for source in 0..=NAME_ALLOWED_FAILURES {
        let source = format!("198.51.100.{source}");
        assert_eq!(
            login(&users, ALICE, "guess", Origin::Source(&source)).await,
            "wrong"
        );
    }
    // A source refused by the name 100 times is not counted for them:
    // its own allowance is whole for another name.
    let shared = Origin::Source("203.0.113.1");
    for _ in 0..100 {
        assert_eq!(login(&users, ALICE, "guess", shared).await, "throttled");
    }
    for _ in 0..6 {
        assert_eq!(login(&users, "bob", "guess", shared).await, "wrong");
    }
    assert_eq!(login(&users, "bob", "guess", shared).await, "throttled");
}
