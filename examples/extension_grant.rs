//! An extension grant (RFC 6749 §4.5), written by a host with the same public
//! API the built-in grants use.
//!
//! The grant `urn:example:params:oauth:grant-type:api-key` lets a registered,
//! authenticated client exchange a long-lived API key that the host issued to
//! one of its users for a short-lived access token on that user's behalf.
//!
//! ```text
//! cargo run --example extension_grant
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;

use base64::Engine as _;
use portcullis::AuthorizationServer;
use portcullis::client::ClientRegistration;
use portcullis::endpoint::TokenError;
use portcullis::grant::{GrantContext, GrantHandler, Issue};
use portcullis::protocol::{GrantType, TokenResponse};
use portcullis::store::{MemoryStore, Subject};
use portcullis::token::TokenHash;

/// The grant type: an absolute URI, as RFC 6749 §4.5 requires.
pub const API_KEY_GRANT: &str = "urn:example:params:oauth:grant-type:api-key";

/// API keys the host issued, by SHA-256 (never stored in plaintext), with the
/// user each belongs to.
#[derive(Debug)]
pub struct ApiKeyGrant {
    keys: HashMap<TokenHash, String>,
}

impl GrantHandler for ApiKeyGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::extension(API_KEY_GRANT).expect("an absolute URI")
    }

    // By the time this runs the token endpoint has authenticated the client,
    // checked it is registered for this grant type, and validated any
    // requested scope against the client's.
    async fn handle(&self, ctx: GrantContext<'_>) -> Result<TokenResponse, TokenError> {
        let key = ctx.required_param("api_key")?;
        let Some(owner) = self.keys.get(&TokenHash::of(key)) else {
            return Err(TokenError::InvalidGrant("unknown API key".into()));
        };
        ctx.issue(Issue::for_subject(
            Subject::new(owner),
            ctx.scope_or_default(),
        ))
        .await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let keys = HashMap::from([(TokenHash::of("key-of-alice"), "alice".to_owned())]);
    let server = AuthorizationServer::builder("https://auth.example")
        .clients(store.clone())
        .tokens(store)
        .grant(ApiKeyGrant { keys })
        .build()?;

    let registered = server
        .register_client(
            ClientRegistration::web_application()
                .name("Reporting job")
                .grant_type(GrantType::extension(API_KEY_GRANT).expect("an absolute URI"))
                .scope("reports:read".parse()?),
        )
        .await?;
    let id = registered.client.id().to_string();
    let secret = registered.secret.expect("a confidential client");
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{id}:{}", secret.expose_secret()));

    let body = format!(
        "grant_type={}&api_key=key-of-alice&scope=reports%3Aread",
        url::form_urlencoded::byte_serialize(API_KEY_GRANT.as_bytes()).collect::<String>()
    );
    let request = http::Request::post("https://auth.example/token")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())?;
    let response = server.token_endpoint(request).await;
    println!(
        "{} {}",
        response.status(),
        String::from_utf8_lossy(response.body())
    );

    let json: serde_json::Value = serde_json::from_slice(response.body())?;
    let token = json["access_token"].as_str().unwrap_or_default();
    if let Some(info) = server.access_token_info(token).await? {
        println!("token for {:?} with scope {}", info.subject, info.scope);
    }
    Ok(())
}
