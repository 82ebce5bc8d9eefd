//! The authorization code grant with PKCE and refresh tokens, end to end
//! (RFC 6749 §4.1, §6; RFC 7636; RFC 9700 §4.14).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;

#[tokio::test]
async fn code_flow_with_pkce_refresh_and_reuse_detection() {
    let h = code_harness();
    let c = h.native_client().await;
    let params = h.code_for(&c, "&scope=read").await;
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some("https://auth.example/"));
    let code = param(&params, "code").unwrap().to_owned();

    let r = h.redeem(&c, &code).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();
    let info = h.server.access_token_info(&access).await.unwrap().unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    assert_eq!(info.scope.to_string(), "read");

    // Refresh rotates.
    let body = format!("grant_type=refresh_token&refresh_token={refresh}&client_id={}", c.id);
    let r2 = h.post(token_request(None, &body)).await;
    assert_eq!(r2.status, 200, "{:?}", r2.json);
    let access2 = r2.access_token().to_owned();
    let refresh2 = r2.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    assert!(h.server.access_token_info(&access2).await.unwrap().is_some());

    // Reusing the rotated-out token revokes the whole grant.
    h.post(token_request(None, &body)).await.assert_error(400, "invalid_grant");
    assert!(h.server.access_token_info(&access).await.unwrap().is_none());
    assert!(h.server.access_token_info(&access2).await.unwrap().is_none());
    let body2 = format!("grant_type=refresh_token&refresh_token={refresh2}&client_id={}", c.id);
    h.post(token_request(None, &body2)).await.assert_error(400, "invalid_grant");

    // The code is single use.
    h.redeem(&c, &code).await.assert_error(400, "invalid_grant");
}
