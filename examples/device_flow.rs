//! The device authorization grant (RFC 8628), walked through step by step
//! with the library's public API — no HTTP server, the requests are built in
//! memory.
//!
//! ```text
//! cargo run --example device_flow
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use portcullis::AuthorizationServer;
use portcullis::client::ClientRegistration;
use portcullis::grant::{DeviceCodeGrant, RefreshTokenGrant};
use portcullis::protocol::GrantType;
use portcullis::store::MemoryStore;

fn form(path: &str, body: String) -> http::Request<Vec<u8>> {
    http::Request::post(format!("https://auth.example{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .unwrap()
}

fn json(response: &http::Response<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

fn text(value: &serde_json::Value) -> &str {
    value.as_str().unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let server = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store)
        .grant(DeviceCodeGrant)
        .grant(RefreshTokenGrant)
        .build()?;
    let tv = server
        .register_client(
            ClientRegistration::native()
                .name("Living-room TV")
                .grant_type(GrantType::DEVICE_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("video:watch".parse()?),
        )
        .await?;
    let client_id = tv.client.id().to_string();
    println!("registered the TV app as public client {client_id}");

    // 1. The TV asks the device authorization endpoint for codes (§3.1).
    let response = server
        .device_authorization_endpoint(form(
            "/device_authorization",
            format!("client_id={client_id}&scope=video%3Awatch"),
        ))
        .await;
    let codes = json(&response);
    let user_code = codes["user_code"].as_str().unwrap().to_owned();
    let device_code = codes["device_code"].as_str().unwrap().to_owned();
    println!(
        "TV screen: visit {} and enter {user_code} (or scan {}); expires in {} s, poll every {} s",
        text(&codes["verification_uri"]),
        text(&codes["verification_uri_complete"]),
        codes["expires_in"],
        codes["interval"],
    );

    // 2. The TV polls the token endpoint (§3.4); nobody has decided yet.
    let poll = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
         &device_code={device_code}&client_id={client_id}"
    );
    let answer = json(&server.token_endpoint(form("/token", poll.clone())).await);
    println!("TV polls: {}", text(&answer["error"]));

    // 3. On a phone, the logged-in user opens the verification page and
    //    types the code, lower case and without the dash. The host throttles
    //    failed lookups by the user's account.
    let typed = user_code.to_lowercase().replace('-', "");
    let pending = server
        .pending_device_authorization(&typed, &["user:alice"])
        .await?;
    println!(
        "verification page: \"{}\" asks for \"{}\"; is {} the code on your TV?",
        pending.client().name().unwrap_or("an unnamed device"),
        pending.scope(),
        pending.user_code(),
    );
    server.approve_device(pending, "alice", None).await?;
    println!("alice approves");

    // 4. The TV's next poll collects its tokens (§3.5).
    let tokens = json(&server.token_endpoint(form("/token", poll.clone())).await);
    let access = tokens["access_token"].as_str().unwrap();
    let info = server.access_token_info(access).await?.unwrap();
    println!(
        "TV polls: {} token for {} with scope \"{}\", expires in {} s; refresh token: {}",
        text(&tokens["token_type"]),
        info.subject.unwrap().as_str(),
        info.scope,
        tokens["expires_in"],
        tokens["refresh_token"].is_string(),
    );

    // 5. The device code is spent: polling again is a replay, which revokes
    //    the grant (as a replayed authorization code does).
    let replay = json(&server.token_endpoint(form("/token", poll)).await);
    let revoked = server.access_token_info(access).await?.is_none();
    println!(
        "TV polls again: {}; its token revoked: {revoked}",
        text(&replay["error"])
    );
    Ok(())
}
