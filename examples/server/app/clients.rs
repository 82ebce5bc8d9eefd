//! The demo clients, registered on the first start and found again on the
//! next: fixed identifiers, and for the confidential one a secret whose hash
//! is in the store and whose plaintext is in the secrets file, so it can be
//! printed at every start.

use std::error::Error;

use portcullis::AuthorizationServer;
use portcullis::client::{Client, ClientRegistration, ClientRegistry};
use portcullis::protocol::{GrantType, Scope};

use super::secrets::Secrets;
use super::store::Store;

/// The public client: a native app (RFC 8252) using the authorization code
/// grant with PKCE, refresh tokens and the device grant.
pub const APP_ID: &str = "demo-app";
/// The confidential client: a service using the client credentials grant.
pub const SERVICE_ID: &str = "demo-service";
/// Where the demo app's authorization responses go: a loopback redirect of
/// a native app, which matches on any port (RFC 8252 §7.3).
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// The secrets file's name for the service's secret.
const SERVICE_SECRET: &str = "demo_service_secret";

/// The demo clients' credentials.
#[derive(Debug, Clone)]
pub struct DemoClients {
    /// The public client's identifier.
    pub app_id: String,
    /// The confidential client's identifier.
    pub service_id: String,
    /// The confidential client's secret.
    pub service_secret: String,
    /// Whether the secret was drawn at this start (first start, or a changed
    /// registration).
    pub service_secret_new: bool,
}

fn app(scope: &Scope) -> ClientRegistration {
    ClientRegistration::native()
        .client_id(APP_ID)
        .name("Demo app")
        .redirect_uri(REDIRECT_URI)
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .grant_type(GrantType::REFRESH_TOKEN)
        .grant_type(GrantType::DEVICE_CODE)
        .scope(scope.clone())
}

fn service(scope: &Scope) -> ClientRegistration {
    ClientRegistration::web_application()
        .client_id(SERVICE_ID)
        .name("Demo service")
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .scope(scope.clone())
}

/// Whether a stored client is what `registration` describes (the secret
/// aside).
fn same(stored: &Client, expected: &Client) -> bool {
    let uris = |c: &Client| {
        c.redirect_uris()
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    stored.name() == expected.name()
        && stored.scope() == expected.scope()
        && stored.grant_types() == expected.grant_types()
        && stored.auth_method() == expected.auth_method()
        && uris(stored) == uris(expected)
}

/// Finds the demo clients, registering them (or updating them, when the
/// scopes changed) as needed: the app may ask for `scope` (OpenID Connect's
/// included), the service for `service_scope`.
pub async fn ensure(
    server: &AuthorizationServer,
    store: &Store,
    secrets: &mut Secrets,
    scope: &Scope,
    service_scope: &Scope,
) -> Result<DemoClients, Box<dyn Error>> {
    let wanted = app(scope).register()?.client;
    match store.find_client(APP_ID).await? {
        Some(stored) if same(&stored, &wanted) => {}
        Some(_) => {
            store.update_client(wanted, None).await?;
        }
        None => {
            server.register_client(app(scope)).await?;
        }
    }

    let saved = secrets.get(SERVICE_SECRET).map(str::to_owned);
    let stored = store.find_client(SERVICE_ID).await?;
    let wanted = service(service_scope).register()?;
    let current = match (&stored, &saved) {
        (Some(stored), Some(secret))
            if same(stored, &wanted.client)
                && stored.secret_hash().is_some_and(|h| h.verify(secret)) =>
        {
            Some(secret.clone())
        }
        _ => None,
    };
    let (service_secret, service_secret_new) = match current {
        Some(secret) => (secret, false),
        None => {
            // A new secret: the first start, a lost secrets file, or other
            // scopes. The old secret stops working.
            let secret = wanted
                .secret
                .as_ref()
                .ok_or("a confidential client gets a secret")?
                .expose_secret()
                .to_owned();
            if stored.is_some() {
                store.update_client(wanted.client, None).await?;
            } else {
                store.insert_client(wanted.client).await?;
            }
            secrets.set(SERVICE_SECRET, &secret)?;
            (secret, true)
        }
    };
    Ok(DemoClients {
        app_id: APP_ID.to_owned(),
        service_id: SERVICE_ID.to_owned(),
        service_secret,
        service_secret_new,
    })
}
