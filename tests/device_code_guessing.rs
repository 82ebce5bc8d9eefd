//! Guessing device user codes over HTTP at the example server's
//! verification page (RFC 8628 §5.1, §6.1): a signed-in browser submitting
//! wrong codes is refused `429` with `Retry-After` once its allowance is
//! spent, the right code is refused too while the block lasts, another user
//! is not affected, and the guesses one account gets per hour and per day,
//! against the space of user codes, leave a negligible chance of hitting a
//! live code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;

use std::time::Duration;

use example::{Browser, Reply, Server, post_form, start};
use portcullis::client::ThrottlePolicy;
use portcullis::endpoint::{Endpoint, default_user_code_policy};
use portcullis::token::{USER_CODE_ALPHABET, USER_CODE_LEN};

const ALICE: (&str, &str) = ("alice", "alice-password-7Qm2");
const BOB: (&str, &str) = ("bob", "bob-password-4Wn8");

/// A device authorization for the demo app: its user code.
async fn user_code(server: &Server) -> String {
    let codes = post_form(
        &server.endpoint(Endpoint::DeviceAuthorization),
        &[],
        &[
            ("client_id", &server.demo().clients.app_id),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(codes.status(), 200, "{}", codes.text());
    codes.json()["user_code"].as_str().unwrap().to_owned()
}

/// A browser signed in as `user`, on the verification page's code form.
async fn signed_in(server: &Server, (user, password): (&str, &str)) -> (Browser, Reply) {
    let mut browser = Browser::new();
    let login = browser.get(&server.url("/device")).await;
    let signed_in = browser.sign_in(&login, user, password).await;
    let form = browser.follow(&signed_in).await;
    assert_eq!(form.status(), 200, "{}", form.text());
    assert!(form.text().contains("Enter the code your device shows"));
    (browser, form)
}

/// The `n`-th wrong code: well-formed (8 letters of the alphabet), never
/// `live`.
fn wrong_code(n: usize, live: &str) -> String {
    let alphabet = USER_CODE_ALPHABET.as_bytes();
    let mut n = n;
    let code: String = (0..USER_CODE_LEN)
        .map(|_| {
            let c = alphabet[n % alphabet.len()];
            n /= alphabet.len();
            char::from(c)
        })
        .collect();
    let normalised = live.replace('-', "");
    if code == normalised {
        wrong_code(n + 1_000_000, live)
    } else {
        code
    }
}

fn is_confirmation(reply: &Reply) -> bool {
    reply.status() == 200 && reply.text().contains("<strong>Demo app</strong>")
}

/// `Retry-After` in whole seconds, which a `429` must carry.
fn retry_after(reply: &Reply) -> u64 {
    assert_eq!(reply.status(), 429, "{}", reply.text());
    reply
        .header("retry-after")
        .expect("a 429 carries Retry-After")
        .parse()
        .unwrap()
}

/// The most lookups one throttle key is admitted within `window` under
/// `policy`, guessing as fast as the limiter allows: each admitted failure
/// `n` blocks the key for the policy's delay after it (none within the
/// allowance, then the initial delay doubling up to the ceiling), and a
/// refused attempt is not counted. The guesser never stays quiet long enough
/// to be forgotten, which would only slow it further.
fn most_guesses(policy: &ThrottlePolicy, window: Duration) -> u64 {
    let delay = |failures: u32| -> Duration {
        let over = failures.saturating_sub(policy.allowed_failures);
        if over == 0 {
            return Duration::ZERO;
        }
        let doubled = policy
            .initial_delay
            .checked_mul(1u32.checked_shl(over - 1).unwrap_or(u32::MAX))
            .unwrap_or(policy.max_delay);
        doubled.min(policy.max_delay)
    };
    let (mut at, mut guesses) = (Duration::ZERO, 0u32);
    while at < window {
        guesses += 1;
        at += delay(guesses);
    }
    u64::from(guesses)
}

#[tokio::test]
async fn guessing_user_codes_is_throttled_per_user_and_bounded() {
    let server = start(&[
        "--user",
        &format!("{}:{}", ALICE.0, ALICE.1),
        "--user",
        &format!("{}:{}", BOB.0, BOB.1),
    ])
    .await;
    let live = user_code(&server).await;
    let policy = default_user_code_policy();

    // Alice guesses. The allowance: `allowed_failures` free failures, then
    // one more is looked up and starts the block (1 s, doubling). A request
    // on loopback takes milliseconds, far less than the block, so the next
    // guess is refused; a machine slower than a second per request would
    // see one or two more guesses pass before the doubling blocks catch up.
    let (mut alice, form) = signed_in(&server, ALICE).await;
    let allowance = usize::try_from(policy.allowed_failures).unwrap() + 1;
    let mut looked_up = 0;
    let refused = loop {
        let reply = alice
            .submit(&form, &[("user_code", &wrong_code(looked_up, &live))])
            .await;
        if reply.status() == 429 {
            break reply;
        }
        assert_eq!(reply.status(), 400, "{}", reply.text());
        assert!(reply.text().contains("not valid"));
        looked_up += 1;
        assert!(
            looked_up <= allowance + 2,
            "no 429 after {looked_up} guesses"
        );
    };
    assert!(
        looked_up >= allowance,
        "refused after {looked_up} wrong codes, before the allowance of {allowance}"
    );
    let wait = retry_after(&refused);
    assert!((1..=policy.max_delay.as_secs()).contains(&wait), "{wait}");
    assert!(refused.text().contains("Too many failed attempts"));

    // While the block lasts, the right code is refused too, unlooked-up: a
    // guesser learns nothing from a refusal.
    let right_while_blocked = alice.submit(&form, &[("user_code", &live)]).await;
    assert!(!is_confirmation(&right_while_blocked));
    assert!(retry_after(&right_while_blocked) >= 1);

    // Bob, another account on the same page (and the same address), is not
    // affected: his wrong code is looked up, and his right code works.
    let (mut bob, bob_form) = signed_in(&server, BOB).await;
    let bob_wrong = bob
        .submit(&bob_form, &[("user_code", &wrong_code(9_999, &live))])
        .await;
    assert_eq!(bob_wrong.status(), 400, "{}", bob_wrong.text());
    let bob_right = bob.submit(&bob_form, &[("user_code", &live)]).await;
    assert!(is_confirmation(&bob_right), "{}", bob_right.text());

    // Once the block is over, Alice's right code is accepted.
    let mut waited = 0;
    let accepted = loop {
        tokio::time::sleep(Duration::from_secs(
            retry_after(&right_while_blocked).max(1),
        ))
        .await;
        let reply = alice.submit(&form, &[("user_code", &live)]).await;
        if reply.status() != 429 {
            break reply;
        }
        waited += 1;
        assert!(waited < 3, "still refused: {}", reply.text());
    };
    assert!(is_confirmation(&accepted), "{}", accepted.text());
    server.stop().await;
}

#[test]
fn the_guesses_an_account_gets_leave_a_negligible_chance() {
    // The space of user codes (RFC 8628 §6.1): 8 characters of a 20-letter
    // alphabet, 20^8 ≈ 2.56 · 10^10 ≈ 2^34.6.
    let alphabet = u64::try_from(USER_CODE_ALPHABET.len()).unwrap();
    assert_eq!((alphabet, USER_CODE_LEN), (20, 8));
    let space = alphabet.pow(u32::try_from(USER_CODE_LEN).unwrap());
    assert_eq!(space, 25_600_000_000);

    // The example's page throttles by account with the library's default
    // policy (the HTTP test above sees its allowance and Retry-After).
    let policy = default_user_code_policy();
    let hour = Duration::from_secs(3600);
    let per_hour = most_guesses(&policy, hour);
    let per_day = most_guesses(&policy, 24 * hour);
    // 5 free, then waits of 1, 2, 4 … 512 s, then one per 600 s: 20 in the
    // first hour, 6 in each after.
    assert_eq!(per_hour, 20);
    assert_eq!(per_day, 20 + 23 * 6);

    // RFC 8628 §5.1: the chance that one account hits a live code. With
    // `live` codes outstanding at once each guess hits with probability
    // live / 20^8. Even a busy server with 10,000 codes live all day leaves
    // an account below 1 in 10^5 per hour and 1 in 10^4 per day; one live
    // code (a user's own device) leaves about 1 in 10^9 per hour.
    let chance = |guesses: u64, live: u64| (guesses * live) as f64 / space as f64;
    assert!(
        chance(per_hour, 10_000) < 1e-5,
        "{}",
        chance(per_hour, 10_000)
    );
    assert!(
        chance(per_day, 10_000) < 1e-4,
        "{}",
        chance(per_day, 10_000)
    );
    assert!(chance(per_hour, 1) < 1e-9, "{}", chance(per_hour, 1));

    // Without throttling an account could make a lookup per request: at
    // 100 requests a second, 360,000 an hour, a chance of 1 in 7 per hour
    // with 10,000 live codes. The throttle takes that down by 18,000 times.
    assert!(chance(360_000, 10_000) > 0.1);
    assert!(360_000 / per_hour >= 18_000);
}
