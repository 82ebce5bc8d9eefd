//! Client metadata as RFC 7591 §2 writes it: the JSON document a client sends
//! to the registration endpoint, and the registered metadata the server
//! returns.
//!
//! The rules are described on [`ClientMetadata`].

use super::openid::OpenIdParts;
use super::{
    AuthMethod, Client, ClientKeys, ClientProfile, ClientRegistration, RedirectUri,
    RegistrationError,
};
use crate::protocol::{GrantType, Scope};

/// OpenID Connect's `application_type`: a web client or a native app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApplicationType {
    /// A client served from the web (the default).
    Web,
    /// An app installed on the user's device (RFC 8252).
    Native,
}

impl ApplicationType {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Web => "web",
            ApplicationType::Native => "native",
        }
    }

    /// The application type of a client profile.
    pub fn of(profile: ClientProfile) -> Self {
        match profile {
            ClientProfile::Native => ApplicationType::Native,
            ClientProfile::WebApplication | ClientProfile::UserAgentBased => ApplicationType::Web,
        }
    }
}

/// A client metadata document (RFC 7591 §2): every member optional, unknown
/// members ignored.
///
/// Parse one from a request body with [`ClientMetadata::from_json`]; render a
/// registered client's with [`ClientMetadata::of`].
///
/// Registering one makes it a [`ClientRegistration`], which passes the same
/// validation as a client an administrator registers — one set of rules for
/// redirect URIs, client types and authentication methods. What is particular
/// to RFC 7591 is applied first:
///
/// - **Defaults (§2).** `token_endpoint_auth_method` defaults to
///   `client_secret_basic` (to `none` for `application_type: native`).
///   When both `grant_types` and `response_types` are omitted they default to
///   `["authorization_code"]` and `["code"]`; when only one is given, the
///   other is derived from it by the table of §2.1, so a `client_credentials`
///   client need not send `response_types: []`.
/// - **Consistency (§2.1).** `code` is registered exactly when
///   `authorization_code` is, and `token` exactly when `implicit` is;
///   anything else is `invalid_client_metadata`.
/// - **The client profile (RFC 6749 §2.1)** follows from the authentication
///   method and OpenID Connect's `application_type`:
///
///   | `token_endpoint_auth_method` | `application_type` | profile |
///   |---|---|---|
///   | `client_secret_basic`, `client_secret_post`, or an extension method | `web` (default) | [`WebApplication`](ClientProfile::WebApplication), confidential |
///   | `none` | `web` (default otherwise) | [`UserAgentBased`](ClientProfile::UserAgentBased), public |
///   | `none` (the default for native) | `native` | [`Native`](ClientProfile::Native), public |
///   | `none` | absent, and every redirect URI loopback `http` or a private-use scheme | [`Native`](ClientProfile::Native), public (RFC 8252 §8.4) |
///   | any other | `native` | refused: native apps are public clients (RFC 8252 §8.4, §8.5) |
///
///   The profile decides which redirect URIs are acceptable: `https` for web
///   and user-agent-based clients; native apps may also use loopback `http`
///   and private-use schemes (RFC 8252 §7). RFC 7591 has no
///   `application_type`, so a public client registering only redirect URIs
///   a native app receives is taken for one, and its response says
///   `application_type: native`. A public client mixing `https` and loopback
///   redirects is not (OpenID Connect Registration §2: native apps register
///   only custom schemes and loopback URLs), and its loopback redirect is
///   refused; an explicit `application_type: web` is never overridden.
/// - **Keys (§2, RFC 7523).** `jwks` (public keys only) or `jwks_uri`, not
///   both; `private_key_jwt` needs one of them, and `jwks_uri` a server
///   with a [`Fetcher`](crate::fetch::Fetcher). `token_endpoint_auth_signing_alg`,
///   if given, is the one algorithm the client's assertions may use.
/// - **OpenID Connect (Registration §2; Core §8.1; RP-Initiated Logout 1.0
///   §3.1).** `id_token_signed_response_alg` and
///   `userinfo_signed_response_alg` are one of
///   [`OPENID_SIGNING_ALGORITHMS`](super::OPENID_SIGNING_ALGORITHMS) (never
///   `none` or `HS256`); `subject_type` is `public` (the default) or
///   `pairwise`, which needs a sector identifier: a `sector_identifier_uri`
///   (`https`; the registration endpoint fetches it and it must list every
///   redirect URI, §5) or `https` redirect URIs on one host.
///   `post_logout_redirect_uris` follow the redirect URI rules of the
///   client's profile and are matched exactly. `require_auth_time`,
///   `default_max_age` and `default_acr_values` are kept for the
///   authorization endpoint. The encryption members
///   (`id_token_encrypted_response_alg`/`_enc`,
///   `userinfo_encrypted_response_alg`/`_enc`,
///   `request_object_encryption_alg`/`_enc`) are refused, not ignored: a
///   client naming one expects encryption, which this server does not do.
///   `request_uris` is ignored: this server fetches no request objects.
///   `require_pushed_authorization_requests` (RFC 9126 §6),
///   `require_signed_request_object` and `request_object_signing_alg`
///   (RFC 9101 §10.5) are kept for the authorization endpoint.
/// - **Unknown members are ignored (§2)**, including `software_statement`
///   (not supported, so ignored as §3.1.1 allows) and internationalised
///   names such as `client_name#ja`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ClientMetadata {
    /// Redirect URIs, registered in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// How the client authenticates at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// The grant types the client will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// The response types the client will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// A name to show users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The client's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// The client's logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// The scope values the client may ask for, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Ways to contact the people responsible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<String>>,
    /// Terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// Privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// The client software's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// The client software's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    /// `web` or `native` (OpenID Connect Dynamic Client Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// The client's public keys, a JWK Set (RFC 7591 §2; RFC 7517 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The one algorithm the client's assertions use (RFC 7591 §2; OpenID
    /// Connect Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// The algorithm to sign the client's ID tokens with (OpenID Connect
    /// Registration §2): RS256, PS256, ES256 or EdDSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// The algorithm to sign the client's userinfo responses with
    /// (Registration §2); absent, they are plain JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<String>,
    /// `public` or `pairwise` (Registration §2; Core §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<String>,
    /// The `https` URL of a JSON array of the client's redirect URIs, whose
    /// host is its sector identifier (Registration §2, §5; Core §8.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// Where the client may have the user sent after logout (RP-Initiated
    /// Logout 1.0 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Whether ID tokens must carry `auth_time` (Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_auth_time: Option<bool>,
    /// The default `max_age`, in seconds (Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_max_age: Option<u64>,
    /// The default `acr` values, in order of preference (Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_acr_values: Option<Vec<String>>,
    /// Whether the client's authorization requests must be pushed
    /// (RFC 9126 §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Whether the client's authorization requests must be signed request
    /// objects (RFC 9101 §10.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_signed_request_object: Option<bool>,
    /// The algorithm the client's request objects are signed with
    /// (RFC 9101 §10.5; OpenID Connect Registration §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    /// Whether the client always uses DPoP (RFC 9449 §5.2): its token
    /// requests without a proof are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
    /// The authorization details types the client may ask for (RFC 9396
    /// §10); at a server's registration endpoint each must be one the
    /// server accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details_types: Option<Vec<String>>,
    /// The subject DN of a `tls_client_auth` client's certificate (RFC 8705
    /// §2.1.2), as an RFC 4514 string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    /// A `dNSName` SAN of a `tls_client_auth` client's certificate (RFC
    /// 8705 §2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_dns: Option<String>,
    /// A `uniformResourceIdentifier` SAN of a `tls_client_auth` client's
    /// certificate (RFC 8705 §2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_uri: Option<String>,
    /// An `iPAddress` SAN of a `tls_client_auth` client's certificate, in
    /// IPv4 dotted decimal or IPv6 colon-hexadecimal form (RFC 8705 §2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_ip: Option<String>,
    /// An `rfc822Name` SAN of a `tls_client_auth` client's certificate (RFC
    /// 8705 §2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_san_email: Option<String>,
    /// Whether the client's access tokens are bound to its certificate
    /// (RFC 8705 §3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// Members asking for encryption, which this server does not do.
    #[serde(flatten)]
    encryption: EncryptionMembers,
}

/// The encryption members of OpenID Connect Registration §2. Not
/// supported, and refused rather than ignored: a client naming one expects
/// encrypted responses. Never rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct EncryptionMembers {
    #[serde(default, skip_serializing)]
    id_token_encrypted_response_alg: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    id_token_encrypted_response_enc: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    userinfo_encrypted_response_alg: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    userinfo_encrypted_response_enc: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    request_object_encryption_alg: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    request_object_encryption_enc: Option<serde_json::Value>,
}

impl EncryptionMembers {
    /// The first member present, if any.
    fn first(&self) -> Option<&'static str> {
        [
            (
                "id_token_encrypted_response_alg",
                &self.id_token_encrypted_response_alg,
            ),
            (
                "id_token_encrypted_response_enc",
                &self.id_token_encrypted_response_enc,
            ),
            (
                "userinfo_encrypted_response_alg",
                &self.userinfo_encrypted_response_alg,
            ),
            (
                "userinfo_encrypted_response_enc",
                &self.userinfo_encrypted_response_enc,
            ),
            (
                "request_object_encryption_alg",
                &self.request_object_encryption_alg,
            ),
            (
                "request_object_encryption_enc",
                &self.request_object_encryption_enc,
            ),
        ]
        .into_iter()
        .find_map(|(name, value)| value.is_some().then_some(name))
    }
}

/// What a registration may ask for on this server.
#[derive(Debug)]
pub(crate) struct MetadataLimits<'a> {
    /// Grant types a dynamically registered client may have.
    pub(crate) grant_types: &'a [GrantType],
    /// The client authenticator's methods.
    pub(crate) auth_methods: &'a [AuthMethod],
    /// The most scope a client may register; also what it gets when it
    /// omits `scope`.
    pub(crate) max_scope: &'a Scope,
}

fn invalid(reason: impl Into<std::borrow::Cow<'static, str>>) -> RegistrationError {
    RegistrationError::InvalidMetadata(reason.into())
}

impl ClientMetadata {
    /// Parses a request body: a JSON object whose members are client
    /// metadata. A body that is not one, a member of the wrong JSON type, or a
    /// repeated member is [`RegistrationError::InvalidMetadata`].
    pub fn from_json(body: &[u8]) -> Result<Self, RegistrationError> {
        serde_json::from_slice(body)
            .map_err(|_| invalid("the body must be a JSON object of client metadata (RFC 7591 §2)"))
    }

    /// The registered metadata of `client`, as the client information
    /// response returns it (RFC 7591 §3.2.1): every member the client has,
    /// with `grant_types`, `response_types` and `token_endpoint_auth_method`
    /// always present — an omitted one would read as its default.
    pub fn of(client: &Client) -> Self {
        let info = client.info();
        let url = |u: Option<&url::Url>| u.map(|u| u.as_str().to_owned());
        let response_types = client
            .grant_types()
            .iter()
            .filter_map(|g| response_type_of(g).map(str::to_owned))
            .collect();
        Self {
            redirect_uris: (!client.redirect_uris().is_empty()).then(|| {
                client
                    .redirect_uris()
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect()
            }),
            token_endpoint_auth_method: Some(client.auth_method().as_str().to_owned()),
            grant_types: Some(
                client
                    .grant_types()
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect(),
            ),
            response_types: Some(response_types),
            client_name: client.name().map(str::to_owned),
            client_uri: url(info.client_uri()),
            logo_uri: url(info.logo_uri()),
            scope: (!client.scope().is_empty()).then(|| client.scope().as_str().to_owned()),
            contacts: (!info.contacts().is_empty()).then(|| info.contacts().to_vec()),
            tos_uri: url(info.tos_uri()),
            policy_uri: url(info.policy_uri()),
            software_id: info.software_id().map(str::to_owned),
            software_version: info.software_version().map(str::to_owned),
            application_type: Some(ApplicationType::of(client.profile()).as_str().to_owned()),
            jwks: match client.keys() {
                Some(ClientKeys::Jwks(set)) => Some(serde_json::json!({ "keys": set.keys })),
                _ => None,
            },
            jwks_uri: match client.keys() {
                Some(ClientKeys::JwksUri(url)) => Some(url.as_str().to_owned()),
                _ => None,
            },
            token_endpoint_auth_signing_alg: client
                .token_endpoint_auth_signing_alg()
                .map(|a| a.as_str().to_owned()),
            id_token_signed_response_alg: client
                .id_token_signed_response_alg()
                .map(|a| a.as_str().to_owned()),
            userinfo_signed_response_alg: client
                .userinfo_signed_response_alg()
                .map(|a| a.as_str().to_owned()),
            subject_type: Some(client.subject_type().as_str().to_owned()),
            sector_identifier_uri: url(client.sector_identifier_uri()),
            post_logout_redirect_uris: (!client.post_logout_redirect_uris().is_empty()).then(
                || {
                    client
                        .post_logout_redirect_uris()
                        .iter()
                        .map(|r| r.as_str().to_owned())
                        .collect()
                },
            ),
            require_auth_time: client.require_auth_time().then_some(true),
            default_max_age: client.default_max_age(),
            default_acr_values: (!client.default_acr_values().is_empty())
                .then(|| client.default_acr_values().to_vec()),
            require_pushed_authorization_requests: client
                .require_pushed_authorization_requests()
                .then_some(true),
            require_signed_request_object: client.require_signed_request_object().then_some(true),
            request_object_signing_alg: client
                .request_object_signing_alg()
                .map(|a| a.as_str().to_owned()),
            dpop_bound_access_tokens: client.dpop_bound_access_tokens().then_some(true),
            authorization_details_types: (!client.authorization_details_types().is_empty())
                .then(|| client.authorization_details_types().to_vec()),
            tls_client_auth_subject_dn: client.mtls.tls_client_auth_subject_dn.clone(),
            tls_client_auth_san_dns: client.mtls.tls_client_auth_san_dns.clone(),
            tls_client_auth_san_uri: client.mtls.tls_client_auth_san_uri.clone(),
            tls_client_auth_san_ip: client.mtls.tls_client_auth_san_ip.clone(),
            tls_client_auth_san_email: client.mtls.tls_client_auth_san_email.clone(),
            tls_client_certificate_bound_access_tokens: client
                .tls_client_certificate_bound_access_tokens()
                .then_some(true),
            encryption: EncryptionMembers::default(),
        }
    }

    /// Applies RFC 7591's defaults and consistency rules and the server's
    /// limits, and turns the document into a registration that the shared
    /// rules then validate.
    pub(crate) fn to_registration(
        &self,
        allowed: &MetadataLimits<'_>,
    ) -> Result<ClientRegistration, RegistrationError> {
        let (profile, method) = self.profile_and_method()?;
        if !allowed.auth_methods.contains(&method) {
            return Err(invalid(
                "token_endpoint_auth_method is not supported by this server",
            ));
        }

        let grant_types = self.grant_types(allowed)?;

        let scope = match &self.scope {
            Some(raw) => {
                let scope: Scope = raw
                    .parse()
                    .map_err(|_| invalid("scope is not a space-separated list of scope values"))?;
                if !scope.is_subset(allowed.max_scope) {
                    return Err(invalid(
                        "scope exceeds what this server lets dynamically registered clients have",
                    ));
                }
                scope
            }
            None => allowed.max_scope.clone(),
        };

        let mut registration = ClientRegistration::new(profile)
            .auth_method(method)
            .scope(scope)
            .dpop_bound_access_tokens(self.dpop_bound_access_tokens.unwrap_or(false));
        for grant in grant_types {
            registration = registration.grant_type(grant);
        }
        if let Some(types) = &self.authorization_details_types {
            registration = registration.authorization_details_types(types.iter().cloned());
        }
        for uri in self.redirect_uris.iter().flatten() {
            registration = registration.redirect_uri(uri.as_str());
        }
        if let Some(name) = &self.client_name {
            registration = registration.name(name.as_str());
        }
        for contact in self.contacts.iter().flatten() {
            registration = registration.contact(contact.as_str());
        }
        type Setter = fn(ClientRegistration, String) -> ClientRegistration;
        let optional: [(&Option<String>, Setter); 6] = [
            (&self.client_uri, ClientRegistration::client_uri),
            (&self.logo_uri, ClientRegistration::logo_uri),
            (&self.tos_uri, ClientRegistration::tos_uri),
            (&self.policy_uri, ClientRegistration::policy_uri),
            (&self.software_id, ClientRegistration::software_id),
            (&self.software_version, ClientRegistration::software_version),
        ];
        for (value, set) in optional {
            if let Some(value) = value {
                registration = set(registration, value.clone());
            }
        }
        if let Some(jwks) = &self.jwks {
            let keys = crate::jose::JwkSet::from_value(jwks)
                .map_err(|e| invalid(format!("jwks is not a set of public keys: {e}")))?;
            registration = registration.jwks(&keys);
        }
        if let Some(uri) = &self.jwks_uri {
            registration = registration.jwks_uri(uri.as_str());
        }
        if let Some(alg) = &self.token_endpoint_auth_signing_alg {
            let alg: crate::jose::Algorithm = alg.parse().map_err(|_| {
                invalid("token_endpoint_auth_signing_alg is not an algorithm this server supports")
            })?;
            registration = registration.token_endpoint_auth_signing_alg(alg);
        }
        if let Some(member) = self.encryption.first() {
            return Err(invalid(format!(
                "{member} is not supported: this server does not encrypt ID tokens or userinfo \
                 responses, nor decrypt request objects (OpenID Connect Registration §2)"
            )));
        }
        // Validated with the rest of the client; the registration endpoint
        // fetches the sector_identifier_uri document (Registration §5).
        registration.openid = OpenIdParts {
            id_token_signed_response_alg: self.id_token_signed_response_alg.clone(),
            userinfo_signed_response_alg: self.userinfo_signed_response_alg.clone(),
            subject_type: self.subject_type.clone(),
            sector_identifier_uri: self.sector_identifier_uri.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone().unwrap_or_default(),
            require_auth_time: self.require_auth_time.unwrap_or(false),
            default_max_age: self.default_max_age,
            default_acr_values: self.default_acr_values.clone().unwrap_or_default(),
        };
        // RFC 8705 §2.1.2, §3.4: validated with the rest of the client.
        registration.mtls = super::mtls::MutualTlsMetadata {
            tls_client_auth_subject_dn: self.tls_client_auth_subject_dn.clone(),
            tls_client_auth_san_dns: self.tls_client_auth_san_dns.clone(),
            tls_client_auth_san_uri: self.tls_client_auth_san_uri.clone(),
            tls_client_auth_san_ip: self.tls_client_auth_san_ip.clone(),
            tls_client_auth_san_email: self.tls_client_auth_san_email.clone(),
            tls_client_certificate_bound_access_tokens: self
                .tls_client_certificate_bound_access_tokens
                .unwrap_or(false),
        };
        registration.requests.require_pushed_authorization_requests =
            self.require_pushed_authorization_requests.unwrap_or(false);
        registration.requests.require_signed_request_object =
            self.require_signed_request_object.unwrap_or(false);
        registration.requests.request_object_signing_alg = self
            .request_object_signing_alg
            .as_deref()
            .map(|name| {
                name.parse::<crate::jose::Algorithm>().map_err(|_| {
                    invalid("request_object_signing_alg must be one of ES256, RS256, PS256, EdDSA")
                })
            })
            .transpose()?;
        Ok(registration)
    }

    /// The client profile and authentication method the document asks for,
    /// by the table in the [module documentation](self).
    pub(crate) fn profile_and_method(
        &self,
    ) -> Result<(ClientProfile, AuthMethod), RegistrationError> {
        let application_type = match self.application_type.as_deref() {
            None if self.is_native_public_client() => ApplicationType::Native,
            None | Some("web") => ApplicationType::Web,
            Some("native") => ApplicationType::Native,
            Some(_) => return Err(invalid("application_type must be web or native")),
        };
        let method = match (&self.token_endpoint_auth_method, application_type) {
            (Some(m), _) => AuthMethod::extension(m.as_str()),
            (None, ApplicationType::Native) => AuthMethod::NONE,
            (None, ApplicationType::Web) => AuthMethod::CLIENT_SECRET_BASIC,
        };
        let profile = match (application_type, method == AuthMethod::NONE) {
            (ApplicationType::Web, false) => ClientProfile::WebApplication,
            (ApplicationType::Web, true) => ClientProfile::UserAgentBased,
            (ApplicationType::Native, true) => ClientProfile::Native,
            (ApplicationType::Native, false) => {
                return Err(invalid(
                    "native applications are public clients: token_endpoint_auth_method must be none",
                ));
            }
        };
        Ok((profile, method))
    }

    /// Whether a document without `application_type` describes a native app
    /// (RFC 8252 §8.4): a public client (`token_endpoint_auth_method: none`)
    /// whose redirect URIs are all loopback `http` or private-use schemes,
    /// which only an app on the user's device can receive (RFC 8252 §7.1,
    /// §7.3). RFC 7591 has no `application_type` — it is OpenID Connect's —
    /// so this is how command-line tools, desktop apps and MCP clients
    /// register. One `https` redirect among them makes it a web client, as
    /// OpenID Connect Registration §2 says native clients register only
    /// such URIs; its loopback ones are then refused.
    fn is_native_public_client(&self) -> bool {
        let public = self.token_endpoint_auth_method.as_deref() == Some(AuthMethod::NONE.as_str());
        let uris = self.redirect_uris.as_deref().unwrap_or_default();
        public
            && !uris.is_empty()
            && uris.iter().all(|uri| {
                RedirectUri::new(uri, ClientProfile::Native).is_ok()
                    && RedirectUri::new(uri, ClientProfile::UserAgentBased).is_err()
            })
    }

    /// `grant_types` and `response_types`, defaulted (§2), consistent
    /// (§2.1), and each grant one this server lets clients register.
    fn grant_types(
        &self,
        allowed: &MetadataLimits<'_>,
    ) -> Result<Vec<GrantType>, RegistrationError> {
        let mut response_types: Vec<&str> = Vec::new();
        for r in self.response_types.iter().flatten() {
            let implied = match r.as_str() {
                "code" | "token" => r.as_str(),
                _ => {
                    return Err(invalid(format!(
                        "response type {r:?} is not supported: only code and token"
                    )));
                }
            };
            if !response_types.contains(&implied) {
                response_types.push(implied);
            }
        }
        let mut grants: Vec<GrantType> = Vec::new();
        match &self.grant_types {
            Some(names) => {
                for name in names {
                    let grant = GrantType::parse(name)
                        .ok_or_else(|| invalid(format!("unknown grant type {name:?}")))?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
            }
            // Derived from response_types (§2.1), or the §2 default.
            None if self.response_types.is_some() => {
                for r in &response_types {
                    grants.push(if *r == "code" {
                        GrantType::AUTHORIZATION_CODE
                    } else {
                        GrantType::IMPLICIT
                    });
                }
            }
            None => grants.push(GrantType::AUTHORIZATION_CODE),
        }
        if self.response_types.is_some() {
            for (grant, response_type) in [
                (GrantType::AUTHORIZATION_CODE, "code"),
                (GrantType::IMPLICIT, "token"),
            ] {
                if grants.contains(&grant) != response_types.contains(&response_type) {
                    return Err(invalid(format!(
                        "grant type {grant} and response type {response_type} must be registered together (RFC 7591 §2.1)"
                    )));
                }
            }
        }
        if grants.is_empty() {
            return Err(invalid("at least one grant type is required"));
        }
        if let Some(refused) = grants.iter().find(|g| !allowed.grant_types.contains(g)) {
            return Err(invalid(format!(
                "grant type {refused} is not available to dynamically registered clients"
            )));
        }
        Ok(grants)
    }
}

/// The response type that goes with a grant type (RFC 7591 §2.1).
fn response_type_of(grant: &GrantType) -> Option<&'static str> {
    if *grant == GrantType::AUTHORIZATION_CODE {
        Some("code")
    } else if *grant == GrantType::IMPLICIT {
        Some("token")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientType, RedirectUriError};

    const METHODS: [AuthMethod; 3] = [
        AuthMethod::CLIENT_SECRET_BASIC,
        AuthMethod::CLIENT_SECRET_POST,
        AuthMethod::NONE,
    ];

    fn grants() -> Vec<GrantType> {
        vec![
            GrantType::AUTHORIZATION_CODE,
            GrantType::REFRESH_TOKEN,
            GrantType::CLIENT_CREDENTIALS,
            GrantType::IMPLICIT,
        ]
    }

    fn register(json: &str) -> Result<Client, RegistrationError> {
        let max: Scope = "read write".parse().unwrap();
        let grants = grants();
        let allowed = MetadataLimits {
            grant_types: &grants,
            auth_methods: &METHODS,
            max_scope: &max,
        };
        let metadata = ClientMetadata::from_json(json.as_bytes())?;
        Ok(metadata.to_registration(&allowed)?.register()?.client)
    }

    fn refused(json: &str) -> String {
        match register(json) {
            Err(RegistrationError::InvalidMetadata(why)) => why.into_owned(),
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_code_with_basic_and_the_maximum_scope() {
        let c = register(r#"{"redirect_uris":["https://c.example/cb"]}"#).unwrap();
        assert_eq!(c.grant_types(), [GrantType::AUTHORIZATION_CODE]);
        assert_eq!(c.auth_method(), &AuthMethod::CLIENT_SECRET_BASIC);
        assert_eq!(c.profile(), ClientProfile::WebApplication);
        assert_eq!(c.scope().as_str(), "read write");
        let m = ClientMetadata::of(&c);
        assert_eq!(m.response_types, Some(vec!["code".to_owned()]));
        assert_eq!(m.application_type.as_deref(), Some("web"));
    }

    #[test]
    fn profile_follows_method_and_application_type() {
        let spa = register(
            r#"{"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"none"}"#,
        )
        .unwrap();
        assert_eq!(spa.profile(), ClientProfile::UserAgentBased);
        let native =
            register(r#"{"redirect_uris":["http://127.0.0.1/cb"],"application_type":"native"}"#)
                .unwrap();
        assert_eq!(native.profile(), ClientProfile::Native);
        assert_eq!(native.client_type(), ClientType::Public);
        assert_eq!(native.auth_method(), &AuthMethod::NONE);
        assert!(refused(
            r#"{"redirect_uris":["http://127.0.0.1/cb"],"application_type":"native","token_endpoint_auth_method":"client_secret_basic"}"#
        )
        .contains("native"));
        // A web client may not use a loopback redirect: the shared rules say so.
        assert!(matches!(
            register(r#"{"redirect_uris":["http://127.0.0.1/cb"]}"#),
            Err(RegistrationError::InvalidRedirectUri {
                reason: RedirectUriError::Insecure,
                ..
            })
        ));
        // Without application_type, a public client whose redirects only a
        // native app can receive is one (RFC 8252 §8.4); not with an https
        // redirect among them, nor when it says it is a web client.
        for uris in [
            r#"["http://127.0.0.1:33418/callback"]"#,
            r#"["http://[::1]/cb","com.example.app:/cb"]"#,
        ] {
            let c = register(&format!(
                r#"{{"redirect_uris":{uris},"token_endpoint_auth_method":"none"}}"#
            ))
            .unwrap();
            assert_eq!(c.profile(), ClientProfile::Native, "{uris}");
            assert_eq!(
                ClientMetadata::of(&c).application_type.as_deref(),
                Some("native")
            );
        }
        for document in [
            r#"{"redirect_uris":["https://c.example/cb","http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}"#,
            r#"{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","application_type":"web"}"#,
        ] {
            assert!(
                matches!(
                    register(document),
                    Err(RegistrationError::InvalidRedirectUri {
                        reason: RedirectUriError::Insecure,
                        ..
                    })
                ),
                "{document}"
            );
        }
        refused(r#"{"application_type":"desktop","redirect_uris":["https://c.example/cb"]}"#);
        refused(
            r#"{"token_endpoint_auth_method":"private_key_jwt","redirect_uris":["https://c.example/cb"]}"#,
        );
    }

    #[test]
    fn grant_and_response_types_must_agree() {
        let cc = register(r#"{"grant_types":["client_credentials"]}"#).unwrap();
        assert_eq!(ClientMetadata::of(&cc).response_types, Some(vec![]));
        let derived =
            register(r#"{"response_types":["code"],"redirect_uris":["https://c.example/cb"]}"#)
                .unwrap();
        assert_eq!(derived.grant_types(), [GrantType::AUTHORIZATION_CODE]);
        for bad in [
            r#"{"grant_types":["authorization_code"],"response_types":["token"],"redirect_uris":["https://c.example/cb"]}"#,
            r#"{"grant_types":["implicit"],"response_types":["code"],"redirect_uris":["https://c.example/cb"]}"#,
            r#"{"grant_types":["client_credentials"],"response_types":["code"]}"#,
            r#"{"grant_types":["authorization_code"],"response_types":[],"redirect_uris":["https://c.example/cb"]}"#,
        ] {
            assert!(refused(bad).contains("RFC 7591"), "{bad}");
        }
        refused(r#"{"response_types":["id_token"],"redirect_uris":["https://c.example/cb"]}"#);
        refused(r#"{"grant_types":["password"]}"#);
        refused(r#"{"grant_types":["nonsense"]}"#);
        refused(r#"{"grant_types":[]}"#);
    }

    #[test]
    fn scope_is_bounded() {
        assert!(
            refused(r#"{"grant_types":["client_credentials"],"scope":"read admin"}"#)
                .contains("scope")
        );
        refused(r#"{"grant_types":["client_credentials"],"scope":" read"}"#);
        let c = register(r#"{"grant_types":["client_credentials"],"scope":"read"}"#).unwrap();
        assert_eq!(c.scope().as_str(), "read");
    }

    #[test]
    fn malformed_documents_are_invalid_metadata() {
        for bad in [
            "",
            "[]",
            "not json",
            r#"{"redirect_uris":"https://c.example/cb"}"#,
            r#"{"client_name":5}"#,
            r#"{"client_name":"a","client_name":"b"}"#,
        ] {
            refused(bad);
        }
    }

    #[test]
    fn unknown_members_are_ignored_and_metadata_round_trips() {
        let c = register(
            r#"{"grant_types":["client_credentials"],"client_name":"Svc","client_name#ja":"x",
                "software_statement":"x.y.z","example_extension_parameter":1,
                "contacts":["ops@c.example"],"logo_uri":"https://c.example/logo.png"}"#,
        )
        .unwrap();
        let m = ClientMetadata::of(&c);
        assert_eq!(m.client_name.as_deref(), Some("Svc"));
        assert_eq!(m.contacts, Some(vec!["ops@c.example".to_owned()]));
        let json = serde_json::to_value(&m).unwrap();
        assert!(json.get("software_statement").is_none());
        assert_eq!(json["logo_uri"], "https://c.example/logo.png");
    }
}
