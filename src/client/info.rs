//! Descriptive client metadata (RFC 7591 §2): the pages, logo, contacts and
//! software identity a client states about itself.
//!
//! None of it takes part in a security decision. It is what a client says
//! about itself — a rogue client can copy a legitimate one's name and logo
//! (RFC 7591 §5) — so a host showing it on a consent page must present it as
//! the client's claim. The URLs must be `https`, so at least the page the user
//! follows is served over TLS by whoever holds that name.

use std::time::{Duration, SystemTime};

use url::Url;

use super::MAX_REDIRECT_URI_LEN;
use super::registration_error::RegistrationError;

/// The most `contacts` a client may register.
pub const MAX_CONTACTS: usize = 16;

/// The longest contact, `software_id` or `software_version` accepted, in
/// bytes.
pub const MAX_METADATA_STRING_LEN: usize = 256;

/// What a client says about itself, for people (RFC 7591 §2).
///
/// Registered with [`ClientRegistration::client_uri`](crate::client::ClientRegistration::client_uri) and its siblings, or
/// by dynamic registration; read with [`Client::info`](super::Client::info).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    client_uri: Option<Url>,
    logo_uri: Option<Url>,
    tos_uri: Option<Url>,
    policy_uri: Option<Url>,
    contacts: Vec<String>,
    software_id: Option<String>,
    software_version: Option<String>,
}

impl ClientInfo {
    /// The client's home page (`client_uri`).
    pub fn client_uri(&self) -> Option<&Url> {
        self.client_uri.as_ref()
    }

    /// The client's logo (`logo_uri`).
    pub fn logo_uri(&self) -> Option<&Url> {
        self.logo_uri.as_ref()
    }

    /// The client's terms of service (`tos_uri`).
    pub fn tos_uri(&self) -> Option<&Url> {
        self.tos_uri.as_ref()
    }

    /// The client's privacy policy (`policy_uri`).
    pub fn policy_uri(&self) -> Option<&Url> {
        self.policy_uri.as_ref()
    }

    /// Ways to contact the people responsible for the client, typically
    /// e-mail addresses (`contacts`; RFC 7591 §6 on privacy).
    pub fn contacts(&self) -> &[String] {
        &self.contacts
    }

    /// An identifier of the client software, the same for all its instances
    /// (`software_id`).
    pub fn software_id(&self) -> Option<&str> {
        self.software_id.as_deref()
    }

    /// The version of the client software (`software_version`).
    pub fn software_version(&self) -> Option<&str> {
        self.software_version.as_deref()
    }

    /// The URLs a consent page may show: `client_uri`, `logo_uri`, `tos_uri`
    /// and `policy_uri`, with their metadata names.
    pub fn display_uris(&self) -> impl Iterator<Item = (&'static str, &Url)> {
        [
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
            ("tos_uri", &self.tos_uri),
            ("policy_uri", &self.policy_uri),
        ]
        .into_iter()
        .filter_map(|(name, uri)| uri.as_ref().map(|u| (name, u)))
    }
}

/// The stored form of [`ClientInfo`], flattened into a stored client under
/// the RFC 7591 member names.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ClientInfoParts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) contacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) software_version: Option<String>,
}

fn invalid(reason: String) -> RegistrationError {
    RegistrationError::InvalidMetadata(reason.into())
}

/// An absolute `https` URL with a host and no user information, printable
/// ASCII, at most [`MAX_REDIRECT_URI_LEN`] bytes.
fn display_uri(name: &str, uri: Option<String>) -> Result<Option<Url>, RegistrationError> {
    let Some(uri) = uri else {
        return Ok(None);
    };
    let refuse = || invalid(format!("{name} must be an absolute https URL"));
    if uri.len() > MAX_REDIRECT_URI_LEN || !uri.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
        return Err(refuse());
    }
    let url = Url::parse(&uri).map_err(|_| refuse())?;
    if url.scheme() != "https"
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(refuse());
    }
    Ok(Some(url))
}

/// The URL of a document the server fetches (`jwks_uri`, RFC 7591 §2;
/// `sector_identifier_uri`, OpenID Connect Registration §2): a display
/// URL's rules, and no fragment. `member` names it in the error.
pub(super) fn document_url(member: &str, uri: &str) -> Result<Url, RegistrationError> {
    match display_uri(member, Some(uri.to_owned()))? {
        Some(url) if url.fragment().is_none() => Ok(url),
        _ => Err(invalid(format!(
            "{member} must be an https URL without user information or fragment"
        ))),
    }
}

/// At most [`MAX_METADATA_STRING_LEN`] bytes, not empty, no control
/// characters.
fn short_text(name: &str, value: &str) -> Result<(), RegistrationError> {
    if value.is_empty()
        || value.len() > MAX_METADATA_STRING_LEN
        || value.chars().any(char::is_control)
    {
        return Err(invalid(format!(
            "{name} must be 1 to {MAX_METADATA_STRING_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

impl ClientInfoParts {
    pub(crate) fn validate(self) -> Result<ClientInfo, RegistrationError> {
        if self.contacts.len() > MAX_CONTACTS {
            return Err(invalid(format!("at most {MAX_CONTACTS} contacts")));
        }
        for contact in &self.contacts {
            short_text("each contact", contact)?;
        }
        for (name, value) in [
            ("software_id", &self.software_id),
            ("software_version", &self.software_version),
        ] {
            if let Some(value) = value {
                short_text(name, value)?;
            }
        }
        let mut contacts: Vec<String> = Vec::with_capacity(self.contacts.len());
        for contact in self.contacts {
            if !contacts.contains(&contact) {
                contacts.push(contact);
            }
        }
        Ok(ClientInfo {
            client_uri: display_uri("client_uri", self.client_uri)?,
            logo_uri: display_uri("logo_uri", self.logo_uri)?,
            tos_uri: display_uri("tos_uri", self.tos_uri)?,
            policy_uri: display_uri("policy_uri", self.policy_uri)?,
            contacts,
            software_id: self.software_id,
            software_version: self.software_version,
        })
    }
}

impl From<&ClientInfo> for ClientInfoParts {
    fn from(info: &ClientInfo) -> Self {
        let uri = |u: &Option<Url>| u.as_ref().map(|u| u.as_str().to_owned());
        Self {
            client_uri: uri(&info.client_uri),
            logo_uri: uri(&info.logo_uri),
            tos_uri: uri(&info.tos_uri),
            policy_uri: uri(&info.policy_uri),
            contacts: info.contacts.clone(),
            software_id: info.software_id.clone(),
            software_version: info.software_version.clone(),
        }
    }
}

/// Seconds since the Unix epoch, as RFC 7591 §3.2.1 writes times.
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The time `seconds` after the Unix epoch; `None` past what `SystemTime`
/// can hold, where `+` would panic.
pub(crate) fn from_unix_seconds(seconds: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientRegistration;
    use crate::protocol::GrantType;

    fn cc() -> ClientRegistration {
        ClientRegistration::web_application().grant_type(GrantType::CLIENT_CREDENTIALS)
    }

    #[test]
    fn descriptive_metadata_is_kept_and_round_trips() {
        let client = cc()
            .client_uri("https://client.example/")
            .logo_uri("https://client.example/logo.png")
            .tos_uri("https://client.example/tos")
            .policy_uri("https://client.example/privacy")
            .contact("ops@client.example")
            .contact("ops@client.example")
            .software_id("4NRB1-0XZABZI9E6-5SM3R")
            .software_version("2.1")
            .register()
            .unwrap()
            .client;
        let info = client.info();
        assert_eq!(
            info.logo_uri().map(Url::as_str),
            Some("https://client.example/logo.png")
        );
        assert_eq!(info.contacts(), ["ops@client.example"]);
        assert_eq!(info.display_uris().count(), 4);
        let json = serde_json::to_string(&client).unwrap();
        assert!(json.contains(r#""policy_uri":"https://client.example/privacy""#));
        let back: crate::client::Client = serde_json::from_str(&json).unwrap();
        assert_eq!(back, client);
    }

    #[test]
    fn bad_descriptive_metadata_is_refused() {
        for bad in [
            cc().client_uri("http://client.example/"),
            cc().logo_uri("javascript:alert(1)"),
            cc().tos_uri("/tos"),
            cc().policy_uri("https://user@client.example/p"),
            cc().client_uri("https://client.example/a b"),
            cc().contact(""),
            cc().contact("line\nbreak"),
            cc().software_id("x".repeat(MAX_METADATA_STRING_LEN + 1)),
        ] {
            assert!(
                matches!(bad.register(), Err(RegistrationError::InvalidMetadata(_))),
                "accepted"
            );
        }
        let many = (0..=MAX_CONTACTS).fold(cc(), |r, i| r.contact(format!("c{i}@x.example")));
        assert!(many.register().is_err());
    }

    #[test]
    fn registration_access_survives_a_round_trip_and_tampering_is_refused() {
        let token = crate::token::TokenHash::of("pc_ra_x");
        let client = cc()
            .registration_access(token, 1_800_000_000)
            .register()
            .unwrap()
            .client;
        assert_eq!(client.registration_access_token_hash(), Some(&token));
        assert_eq!(client.issued_at_seconds(), Some(1_800_000_000));
        let json = serde_json::to_string(&client).unwrap();
        assert!(json.contains(&token.to_hex()));
        let back: crate::client::Client = serde_json::from_str(&json).unwrap();
        assert_eq!(back, client);
        let tampered = json.replace(&token.to_hex(), "not-a-hash");
        assert!(serde_json::from_str::<crate::client::Client>(&tampered).is_err());
    }

    #[test]
    fn a_tampered_stored_logo_is_refused() {
        let client = cc().logo_uri("https://client.example/l.png").register();
        let json = serde_json::to_string(&client.unwrap().client).unwrap();
        let tampered = json.replace("https://client.example/l.png", "javascript:alert(1)");
        assert!(serde_json::from_str::<crate::client::Client>(&tampered).is_err());
    }
}
