//! Many clients and tasks at once against the memory store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashSet;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_requests_yield_distinct_valid_tokens() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 250;
    let h = harness();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(h.cc_client().await);
    }

    let mut tasks = Vec::new();
    for c in clients {
        for _ in 0..PER_CLIENT {
            let server = h.server.clone();
            let request = cc_request(&c, "&scope=read");
            let id = c.id.clone();
            tasks.push(tokio::spawn(async move {
                let reply = Reply::from(server.token_endpoint(request).await);
                assert_eq!(reply.status, 200, "{:?}", reply.json);
                (id, reply.access_token().to_owned())
            }));
        }
    }
    let mut tokens = HashSet::new();
    let mut issued = Vec::new();
    for t in tasks {
        let (id, token) = t.await.unwrap();
        assert!(tokens.insert(token.clone()), "duplicate token");
        issued.push((id, token));
    }
    assert_eq!(tokens.len(), CLIENTS * PER_CLIENT);
    assert_eq!(h.store.access_token_count(), CLIENTS * PER_CLIENT);
    assert_eq!(h.store.grant_count(), CLIENTS * PER_CLIENT);
    for (id, token) in issued {
        let info = h.server.access_token_info(&token).await.unwrap().unwrap();
        assert_eq!(
            info.client_id.as_str(),
            id,
            "token attributed to the wrong client"
        );
        assert_eq!(info.scope.to_string(), "read");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guessing_is_throttled() {
    // Throttling holds when the guesses arrive in parallel: with 3 free
    // failures, of 200 concurrent wrong guesses exactly 4 are admitted (the
    // fourth sets the block) and the rest refused.
    let h = throttled_harness(3);
    let c = h.cc_client().await;
    let wrong = c.with_secret("guess");
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let server = h.server.clone();
        let request = cc_request(&wrong, "");
        tasks.push(tokio::spawn(async move {
            Reply::from(server.token_endpoint(request).await)
        }));
    }
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.error(), "invalid_client");
        if r.status == 429 {
            refused += 1;
        } else {
            assert_eq!(r.status, 401);
        }
    }
    assert!(refused > 0, "no attempt was refused");
    assert_eq!(
        200 - refused,
        4,
        "more guesses admitted than the policy allows"
    );
    // Right now guesses must wait; the generated secret itself, which no one
    // can guess, is not refused (RFC 6819 §5.1.4.2.3).
    h.post(cc_request(&wrong, ""))
        .await
        .assert_error(429, "invalid_client");
    assert_eq!(h.post(cc_request(&c, "")).await.status, 200);
}
