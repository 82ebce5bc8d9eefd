//! What the server prints at start (`templates/banner.txt`): where it is,
//! who can sign in, the demo clients and credentials, and a `curl` command
//! for each flow.

use std::io::{self, Write};

use askama::Template;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::endpoint::Endpoint;
use sha2::{Digest, Sha256};

use super::clients::REDIRECT_URI;
use super::options::User;
use super::secrets::random_secret;
use super::{Demo, RESOURCE_PATH, RESOURCE_SERVER, store};

#[derive(Template)]
#[template(path = "banner.txt", config = "examples/server/askama.toml")]
struct Banner<'a> {
    issuer: &'a str,
    database: String,
    demo_user: Option<&'a User>,
    users: String,
    scopes: String,
    app: &'a str,
    redirect_uri: &'a str,
    service: &'a str,
    secret: &'a str,
    secret_new: bool,
    resource_server: &'a str,
    introspection_secret: &'a str,
    metadata: String,
    token: String,
    api: String,
    revocation: String,
    introspection: String,
    device_authorization: String,
    /// The URL that starts a code flow with PKCE (RFC 7636), and the
    /// verifier drawn for it now.
    authorize: String,
    verifier: String,
    /// The initial access token and the registration endpoint.
    registration: Option<(&'a str, String)>,
}

/// Prints the banner.
pub fn print(demo: &Demo, out: &mut dyn Write) -> io::Result<()> {
    let server = &demo.server;
    let urls = server.endpoint_urls();
    let url = |endpoint| urls.get(endpoint).to_string();
    let app = demo.clients.app_id.as_str();
    let verifier = random_secret();
    let mut authorize = urls.get(Endpoint::Authorization).clone();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", app)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid read")
        .append_pair("state", &random_secret())
        .append_pair("nonce", &random_secret())
        .append_pair(
            "code_challenge",
            &URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier)),
        )
        .append_pair("code_challenge_method", "S256");
    let database = match &demo.secrets_path {
        Some(keys) => format!("{} (and its secrets: {})", demo.database, keys.display()),
        None if store::is_postgres(&demo.database) => format!(
            "{} (secrets are drawn at every start)",
            store::redacted(&demo.database)
        ),
        None => "in memory: nothing is kept".to_owned(),
    };
    let banner = Banner {
        issuer: server.issuer(),
        database,
        demo_user: demo.users.first().filter(|_| demo.default_user),
        users: demo
            .users
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        scopes: server.metadata().scopes_supported.join(" "),
        app,
        redirect_uri: REDIRECT_URI,
        service: &demo.clients.service_id,
        secret: &demo.clients.service_secret,
        secret_new: demo.clients.service_secret_new,
        resource_server: RESOURCE_SERVER,
        introspection_secret: &demo.introspection_secret,
        metadata: server.metadata_url().to_string(),
        token: url(Endpoint::Token),
        api: server
            .issuer_url()
            .join(RESOURCE_PATH)
            .map(String::from)
            .unwrap_or_default(),
        revocation: url(Endpoint::Revocation),
        introspection: url(Endpoint::Introspection),
        device_authorization: url(Endpoint::DeviceAuthorization),
        authorize: authorize.to_string(),
        verifier,
        registration: demo
            .registration_token
            .as_deref()
            .map(|initial| (initial, url(Endpoint::Registration))),
    };
    let text = banner.render().map_err(io::Error::other)?;
    writeln!(out, "{text}")
}
