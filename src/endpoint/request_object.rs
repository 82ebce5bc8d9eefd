//! Request objects (RFC 9101): an authorization request sent as a JWT in
//! the `request` parameter, signed by the client with a key it registered.
//!
//! The object is verified before anything reads it (RFC 9101 §6): the
//! signature with one of the client's registered keys (inline `jwks`, or a
//! `jwks_uri` fetched and cached, as for `private_key_jwt`) under an
//! algorithm the server and the client allow — never `none`, and by default
//! never HS256 — then `iss` (the client), `aud` (this server's issuer),
//! `exp` (present, not passed, at most [`MAX_REQUEST_OBJECT_LIFETIME`]
//! away), `nbf`, and `jti`, which when present is used once. Then the
//! request's parameters are the object's alone (RFC 9101 §5): those sent
//! beside it are ignored, but for `client_id`, which must be sent outside and
//! must match the one inside, if any.
//!
//! Request objects need the replay cache
//! ([`ServerBuilder::replay_cache`](crate::ServerBuilder::replay_cache)),
//! as JWT client authentication does; without it `request` is not
//! supported.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::authorization_server::AuthorizationServer;
use super::authorize::AuthorizationError;
use crate::client::{Client, ClientAuthError};
use crate::jose::{Algorithm, ClaimsError, ClaimsValidation, RegisteredClaims, UnverifiedJws};
use crate::protocol::{ErrorCode, OAuthError, Params};
use crate::store::ReplayKey;

/// The algorithms a request object may be signed with unless
/// [`ServerBuilder::request_object_signing_algs`](crate::ServerBuilder::request_object_signing_algs)
/// says otherwise: the asymmetric allow-list of RFC 8725 §3.1.
pub const DEFAULT_REQUEST_OBJECT_ALGORITHMS: [Algorithm; 4] =
    crate::client::PRIVATE_KEY_JWT_ALGORITHMS;

/// The longest a request object may live: its `exp` at most an hour after
/// its `iat` or now (RFC 9101 §10.8 asks for short-lived objects).
pub const MAX_REQUEST_OBJECT_LIFETIME: Duration = Duration::from_secs(3600);

/// The explicit type of a request object (RFC 9101 §4, §10.8).
pub const REQUEST_OBJECT_TYPE: &str = "oauth-authz-req+jwt";

/// The longest `jti` accepted, in bytes.
const MAX_JTI_LEN: usize = 256;

/// Claims of the JWT itself, not parameters of the request.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

/// The server's request object settings (RFC 9101 §10.5).
#[derive(Debug, Clone)]
pub(crate) struct RequestObjectSettings {
    /// The algorithms accepted.
    pub(crate) algorithms: Vec<Algorithm>,
    /// Every authorization request must be a signed request object.
    pub(crate) required: bool,
}

impl Default for RequestObjectSettings {
    fn default() -> Self {
        Self {
            algorithms: DEFAULT_REQUEST_OBJECT_ALGORITHMS.to_vec(),
            required: false,
        }
    }
}

fn refuse(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::INVALID_REQUEST_OBJECT).with_description(description)
}

impl AuthorizationServer {
    /// Whether the server reads request objects: it has the replay cache
    /// their `jti`s and the clients' keys go through.
    pub(crate) fn reads_request_objects(&self) -> bool {
        self.inner.jwt_auth.is_some()
    }

    /// The algorithms request objects may be signed with, when the server
    /// reads them (RFC 9101 §10.5 `request_object_signing_alg_values_supported`).
    pub(crate) fn request_object_algorithms(&self) -> &[Algorithm] {
        match self.reads_request_objects() {
            true => &self.inner.request_objects.algorithms,
            false => &[],
        }
    }

    /// The parameters of the request object `params` carries, verified and
    /// form-urlencoded — or `None` when it carries none, or the server does
    /// not read request objects (the OpenID Connect rules then refuse
    /// `request`). Nothing here can be redirected: the redirect URI is in
    /// the object, so every refusal is
    /// [`Rejected`](AuthorizationError::Rejected).
    pub(crate) async fn request_object(
        &self,
        params: &Params<'_>,
    ) -> Result<Option<String>, AuthorizationError> {
        let reject = |d: &'static str| {
            AuthorizationError::Rejected(
                OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(d),
            )
        };
        if !self.reads_request_objects() || !params.contains("request") {
            return Ok(None);
        }
        let compact = params
            .get("request")
            .map_err(|_| reject("request is repeated"))?
            .unwrap_or_default();
        // RFC 9101 §5: client_id is sent outside the object too.
        let client = self
            .requesting_client(params, "client_id is required beside a request object")
            .await?;
        self.request_object_parameters(compact, &client)
            .await
            .map(Some)
    }

    /// The parameters of the request object `compact` from `client`,
    /// verified as the module documentation says, form-urlencoded with the
    /// client's `client_id`.
    pub(crate) async fn request_object_parameters(
        &self,
        compact: &str,
        client: &Client,
    ) -> Result<String, AuthorizationError> {
        let rejected = |d: &'static str| AuthorizationError::Rejected(refuse(d));
        let Some(jwt) = self.inner.jwt_auth.as_ref() else {
            return Err(AuthorizationError::Rejected(
                OAuthError::new(ErrorCode::REQUEST_NOT_SUPPORTED)
                    .with_description("request objects are not supported"),
            ));
        };
        let now = self.inner.clock.now();
        let jws = UnverifiedJws::parse(compact).map_err(|_| {
            rejected("the request object is not a signed JWT with a supported algorithm")
        })?;
        // RFC 9101 §10.8: an object typed as another kind of JWT is refused.
        if let Some(typ) = jws.header().typ() {
            if !typ.eq_ignore_ascii_case(REQUEST_OBJECT_TYPE) && !typ.eq_ignore_ascii_case("JWT") {
                return Err(rejected(
                    "the request object's typ is not oauth-authz-req+jwt",
                ));
            }
        }
        let allowed: Vec<Algorithm> = self
            .inner
            .request_objects
            .algorithms
            .iter()
            .copied()
            .filter(|a| client.request_object_signing_alg().is_none_or(|r| r == *a))
            .collect();
        let payload = jwt
            .verify_with_client_keys(compact, client, &allowed, now)
            .await
            .map_err(|e| {
                rejected(match e {
                    ClientAuthError::InvalidAssertion("the algorithm is not allowed") => {
                        "the request object's algorithm is not allowed"
                    }
                    ClientAuthError::InvalidAssertion("the client has no keys") => {
                        "the client registered no keys to verify request objects with"
                    }
                    _ => "the request object's signature does not verify with the client's keys",
                })
            })?;
        let claims: serde_json::Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| rejected("the request object's claims are not a JSON object"))?;
        let registered: RegisteredClaims = serde_json::from_value(Value::Object(claims.clone()))
            .map_err(|_| rejected("a registered claim of the request object is malformed"))?;
        let id = client.id().as_str();
        // RFC 9101 §6.3, §10.2: the object is this client's, for this server.
        if registered.iss.as_deref() != Some(id) {
            return Err(rejected("the request object's iss is not the client_id"));
        }
        ClaimsValidation::new()
            .audience(self.inner.issuer.as_str())
            .leeway(jwt.leeway())
            .max_lifetime(MAX_REQUEST_OBJECT_LIFETIME)
            .check(&registered, now)
            .map_err(|e| {
                rejected(match e {
                    ClaimsError::Missing("exp") => "the request object has no exp",
                    ClaimsError::Missing(_) | ClaimsError::WrongAudience => {
                        "the request object's aud is not this server's issuer"
                    }
                    ClaimsError::Expired => "the request object has expired",
                    ClaimsError::NotYetValid => "the request object is not valid yet",
                    _ => "the request object lives too long or was issued in the future",
                })
            })?;
        // RFC 9101 §5: the client_id inside, if any, is the one outside.
        match claims.get("client_id") {
            None => {}
            Some(Value::String(inside)) if inside == id => {}
            Some(_) => {
                return Err(rejected(
                    "the client_id in the request object differs from the request's",
                ));
            }
        }
        if claims.contains_key("request") || claims.contains_key("request_uri") {
            return Err(rejected(
                "a request object cannot carry request or request_uri",
            ));
        }
        if let Some(jti) = &registered.jti {
            if jti.is_empty() || jti.len() > MAX_JTI_LEN {
                return Err(rejected("the request object's jti is empty or too long"));
            }
            let key = ReplayKey::new(ReplayKey::REQUEST_OBJECT, &[id, jti]);
            let exp = registered
                .exp
                .and_then(|exp| u64::try_from(exp).ok())
                .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
                .unwrap_or(now + MAX_REQUEST_OBJECT_LIFETIME);
            if !jwt.first_use(&key, exp.max(now), now).await? {
                tracing::warn!(
                    target: "portcullis::security",
                    event = "request_object_replayed",
                    client_id = %client.id(),
                );
                return Err(rejected("the request object was used before"));
            }
        }
        form(&claims, id).ok_or_else(|| rejected("a request object parameter has no form value"))
    }
}

/// The authorization request the claims carry, form-urlencoded, `client_id`
/// first: strings as they are, numbers and booleans as JSON writes them,
/// arrays of strings as repeated parameters (`resource`, RFC 8707), objects
/// (`claims`) and `authorization_details` (RFC 9396 §3) as JSON text. `None` if an array holds anything but strings.
fn form(claims: &serde_json::Map<String, Value>, client_id: &str) -> Option<String> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("client_id", client_id);
    for (name, value) in claims {
        if name == "client_id" || JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        match value {
            Value::Null => {}
            Value::String(s) => {
                form.append_pair(name, s);
            }
            Value::Number(_) | Value::Bool(_) | Value::Object(_) => {
                form.append_pair(name, &value.to_string());
            }
            // RFC 9396 §3: `authorization_details` is a JSON array of
            // objects in a request object, the parameter's JSON text.
            Value::Array(_) if name == "authorization_details" => {
                form.append_pair(name, &value.to_string());
            }
            Value::Array(values) => {
                for value in values {
                    form.append_pair(name, value.as_str()?);
                }
            }
        }
    }
    Some(form.finish())
}
