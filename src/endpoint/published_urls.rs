//! Where the server publishes its endpoints: their names, their URLs, and
//! the rules every URL the server publishes keeps (RFC 8414 §2).

use url::{Host, Url};

/// An endpoint whose URL the metadata document publishes.
///
/// Each URL is the issuer joined with [`default_path`](Self::default_path)
/// unless the builder overrides it with
/// [`ServerBuilder::endpoint`](crate::ServerBuilder::endpoint). The host
/// routes requests to the matching endpoint methods; the metadata only says
/// where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The authorization endpoint (RFC 6749 §3.1).
    Authorization,
    /// The token endpoint (RFC 6749 §3.2).
    Token,
    /// The revocation endpoint (RFC 7009).
    Revocation,
    /// The introspection endpoint (RFC 7662).
    Introspection,
    /// The dynamic client registration endpoint (RFC 7591 §3); each client's
    /// configuration endpoint (RFC 7592) is beneath it.
    Registration,
    /// The device authorization endpoint (RFC 8628 §3.1).
    DeviceAuthorization,
    /// The JWKS (RFC 7517 §5): the keys that verify the server's JWTs.
    Jwks,
    /// The UserInfo endpoint (OpenID Connect Core 1.0 §5.3), published by
    /// an OpenID Provider.
    UserInfo,
    /// The OpenID Provider's logout endpoint (RP-Initiated Logout 1.0 §2).
    EndSession,
    /// The pushed authorization request endpoint (RFC 9126 §2).
    PushedAuthorization,
}

impl Endpoint {
    /// The path joined to the issuer unless the builder overrides it.
    pub fn default_path(self) -> &'static str {
        match self {
            Endpoint::Authorization => "/authorize",
            Endpoint::Token => "/token",
            Endpoint::Revocation => "/revoke",
            Endpoint::Introspection => "/introspect",
            Endpoint::Registration => "/register",
            Endpoint::DeviceAuthorization => "/device_authorization",
            Endpoint::Jwks => "/jwks",
            Endpoint::UserInfo => "/userinfo",
            Endpoint::EndSession => "/logout",
            Endpoint::PushedAuthorization => "/par",
        }
    }

    /// The metadata member that carries the URL (RFC 8414 §2, RFC 8628 §4,
    /// OpenID Connect Discovery 1.0 §3, RP-Initiated Logout 1.0 §2.1).
    pub fn metadata_name(self) -> &'static str {
        match self {
            Endpoint::Authorization => "authorization_endpoint",
            Endpoint::Token => "token_endpoint",
            Endpoint::Revocation => "revocation_endpoint",
            Endpoint::Introspection => "introspection_endpoint",
            Endpoint::Registration => "registration_endpoint",
            Endpoint::DeviceAuthorization => "device_authorization_endpoint",
            Endpoint::Jwks => "jwks_uri",
            Endpoint::UserInfo => "userinfo_endpoint",
            Endpoint::EndSession => "end_session_endpoint",
            Endpoint::PushedAuthorization => "pushed_authorization_request_endpoint",
        }
    }
}

/// Where each endpoint is, resolved when the server is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrls {
    pub(super) authorization: Url,
    pub(super) token: Url,
    pub(super) revocation: Url,
    pub(super) introspection: Url,
    pub(super) registration: Url,
    pub(super) device_authorization: Url,
    pub(super) jwks: Url,
    pub(super) userinfo: Url,
    pub(super) end_session: Url,
    pub(super) pushed_authorization: Url,
}

impl EndpointUrls {
    /// The URL of `endpoint`.
    pub fn get(&self, endpoint: Endpoint) -> &Url {
        match endpoint {
            Endpoint::Authorization => &self.authorization,
            Endpoint::Token => &self.token,
            Endpoint::Revocation => &self.revocation,
            Endpoint::Introspection => &self.introspection,
            Endpoint::Registration => &self.registration,
            Endpoint::DeviceAuthorization => &self.device_authorization,
            Endpoint::Jwks => &self.jwks,
            Endpoint::UserInfo => &self.userinfo,
            Endpoint::EndSession => &self.end_session,
            Endpoint::PushedAuthorization => &self.pushed_authorization,
        }
    }
}

/// An endpoint URL from its configured form: a path, joined to the issuer's
/// path, or an absolute URL held to the issuer's rules (RFC 8414 §2: `https`,
/// or `http` on a loopback host) with no query or fragment, so that paths
/// such as a client's configuration endpoint can be appended to it.
pub(super) fn endpoint_url(issuer: &Url, configured: &str) -> Result<Url, &'static str> {
    if configured.starts_with('/') {
        if configured.starts_with("//")
            || configured.contains(['?', '#', '\\'])
            || configured.split('/').any(|s| s == "." || s == "..")
            || !configured.bytes().all(|b| (0x21..=0x7E).contains(&b))
        {
            return Err("a path must be plain: no query, fragment, dot segments or spaces");
        }
        let mut url = issuer.clone();
        let base = issuer.path().trim_end_matches('/');
        url.set_path(&format!("{base}{configured}"));
        return Ok(url);
    }
    let url = Url::parse(configured).map_err(|_| "neither a path nor an absolute URL")?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    check_published_url(&url)?;
    Ok(url)
}

/// The rules for a URL the server publishes — its issuer, its endpoints, the
/// device verification page: no user information, and `https`, with `http`
/// only on a loopback host, for development (RFC 8414 §2, RFC 6749 §3.1,
/// RFC 8628 §3.2). The error says which rule failed.
pub(crate) fn check_published_url(url: &Url) -> Result<(), &'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not have user information");
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https (http only on a loopback host)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn paths_join_the_issuer_path() {
        let root = issuer("https://auth.example");
        let tenant = issuer("https://auth.example/t1/");
        assert_eq!(
            endpoint_url(&root, "/token").unwrap().as_str(),
            "https://auth.example/token"
        );
        assert_eq!(
            endpoint_url(&tenant, "/oauth/token").unwrap().as_str(),
            "https://auth.example/t1/oauth/token"
        );
        assert_eq!(
            endpoint_url(&root, "https://tokens.example/x")
                .unwrap()
                .as_str(),
            "https://tokens.example/x"
        );
        assert!(endpoint_url(&root, "http://127.0.0.1:8080/token").is_ok());
    }

    #[test]
    fn bad_overrides_are_refused() {
        let root = issuer("https://auth.example");
        for bad in [
            "token",
            "//evil.example/token",
            "/token?x=1",
            "/token#f",
            "/a/../token",
            "/to ken",
            "/t\\oken",
            "http://auth.example/token",
            "https://auth.example/token?x",
            "https://u@auth.example/token",
            "ftp://auth.example/token",
            "",
        ] {
            assert!(endpoint_url(&root, bad).is_err(), "{bad}");
        }
    }
}
