//! What the server prints at start: where it is, who can log in, the demo
//! clients and credentials, and a `curl` command for each flow.

use std::io::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::endpoint::Endpoint;
use sha2::{Digest, Sha256};

use super::clients::REDIRECT_URI;
use super::secrets::random_secret;
use super::store::PERSISTENT;
use super::{Demo, RESOURCE_PATH, RESOURCE_SERVER};

/// Prints the banner.
pub fn print(demo: &Demo, out: &mut dyn Write) -> io::Result<()> {
    let server = &demo.server;
    let urls = server.endpoint_urls();
    let token = urls.get(Endpoint::Token);
    let clients = &demo.clients;
    let (service, secret, app) = (
        &clients.service_id,
        &clients.service_secret,
        &clients.app_id,
    );
    let mut api = server.issuer_url().clone();
    api.set_path(RESOURCE_PATH);

    writeln!(out, "portcullis example authorization server")?;
    writeln!(out, "issuer:              {}", server.issuer())?;
    match (&demo.secrets_path, PERSISTENT) {
        (Some(keys), true) => writeln!(
            out,
            "database:            {} (and its secrets: {})",
            demo.database,
            keys.display()
        )?,
        (Some(keys), false) => writeln!(
            out,
            "database:            none yet: clients and tokens are kept in memory \
             (secrets in {})",
            keys.display()
        )?,
        (None, _) => writeln!(out, "database:            in memory: nothing is kept")?,
    }
    if demo.default_user {
        for user in &demo.users {
            writeln!(
                out,
                "demo user:           {} / {}",
                user.name, user.password
            )?;
        }
    } else {
        let names: Vec<&str> = demo.users.iter().map(|u| u.name.as_str()).collect();
        writeln!(out, "users:               {}", names.join(", "))?;
    }
    writeln!(
        out,
        "scopes:              {}",
        server.metadata().scopes_supported.join(" ")
    )?;
    writeln!(
        out,
        "public client:       {app}  (authorization code + PKCE, refresh token, device code; \
         redirect URI {REDIRECT_URI}, any port)"
    )?;
    let fresh = if clients.service_secret_new {
        "  (new secret)"
    } else {
        ""
    };
    writeln!(
        out,
        "confidential client: {service} / {secret}  (client credentials){fresh}"
    )?;
    writeln!(
        out,
        "resource server:     {RESOURCE_SERVER}, introspection credential {}",
        demo.introspection_secret
    )?;
    writeln!(out, "metadata:            {}", server.metadata_url())?;
    writeln!(out)?;
    writeln!(
        out,
        "client credentials, then the protected resource (needs scope read):"
    )?;
    writeln!(
        out,
        "  curl -s -u '{service}:{secret}' -d grant_type=client_credentials -d scope=read {token}"
    )?;
    writeln!(
        out,
        "  curl -s -H 'Authorization: Bearer ACCESS_TOKEN' {api}"
    )?;
    writeln!(out, "revocation:")?;
    writeln!(
        out,
        "  curl -s -u '{service}:{secret}' -d token=ACCESS_TOKEN {}",
        urls.get(Endpoint::Revocation)
    )?;
    writeln!(out, "introspection, as the resource server:")?;
    writeln!(
        out,
        "  curl -s -H 'Authorization: Bearer {}' -d token=ACCESS_TOKEN {}",
        demo.introspection_secret,
        urls.get(Endpoint::Introspection)
    )?;
    code_flow(demo, out)?;
    writeln!(
        out,
        "device flow: ask for codes, open verification_uri_complete, sign in, approve; then poll:"
    )?;
    writeln!(
        out,
        "  curl -s -d client_id={app} -d scope=read {}",
        urls.get(Endpoint::DeviceAuthorization)
    )?;
    writeln!(
        out,
        "  curl -s -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
         -d client_id={app} -d device_code=DEVICE_CODE {token}"
    )?;
    match &demo.registration_token {
        Some(initial) => {
            writeln!(out, "dynamic registration:")?;
            writeln!(
                out,
                "  curl -s -H 'Authorization: Bearer {initial}' -H 'Content-Type: application/json' \
                 -d '{{\"client_name\": \"My service\", \"grant_types\": [\"client_credentials\"]}}' {}",
                urls.get(Endpoint::Registration)
            )?;
        }
        None => writeln!(
            out,
            "dynamic registration: off (start with --registration-token TOKEN)"
        )?,
    }
    Ok(())
}

/// The authorization code flow with PKCE (RFC 7636): a verifier drawn now,
/// the URL to open, and the code exchange.
fn code_flow(demo: &Demo, out: &mut dyn Write) -> io::Result<()> {
    let urls = demo.server.endpoint_urls();
    let app = &demo.clients.app_id;
    let verifier = random_secret();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier));
    let mut authorize = urls.get(Endpoint::Authorization).clone();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", app)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "read")
        .append_pair("state", &random_secret())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    writeln!(
        out,
        "authorization code with PKCE: open this in a browser, sign in and approve, then take"
    )?;
    writeln!(
        out,
        "`code` from the address bar (nothing listens at the redirect URI):"
    )?;
    writeln!(out, "  {authorize}")?;
    writeln!(
        out,
        "  curl -s -d grant_type=authorization_code -d client_id={app} -d redirect_uri={REDIRECT_URI} \
         -d code_verifier={verifier} -d code=CODE {}",
        urls.get(Endpoint::Token)
    )?;
    writeln!(
        out,
        "  curl -s -d grant_type=refresh_token -d client_id={app} -d refresh_token=REFRESH_TOKEN {}",
        urls.get(Endpoint::Token)
    )
}
