//! The authorization details types a server accepts (RFC 9396 §2, §5):
//! each registered by the host with a validator, each usable only by the
//! clients registered for it (`authorization_details_types`, §10).

use std::fmt;
use std::sync::Arc;

use crate::client::Client;
use crate::protocol::{AuthorizationDetail, AuthorizationDetails, InvalidAuthorizationDetails};

/// Checks the type-specific content of one authorization details object
/// (RFC 9396 §2: "the AS MUST validate … the fields of each object
/// according to its type"), registered with
/// [`ServerBuilder::authorization_details_type`](crate::ServerBuilder::authorization_details_type).
///
/// The common shape (a string `type`, the §2.2 common fields' JSON types)
/// is already checked when it runs. A refusal is answered
/// `invalid_authorization_details` (§5) with the returned text as
/// `error_description`, so it must not reveal anything the client may not
/// know. A closure `Fn(&AuthorizationDetail) -> Result<(), &'static str>`
/// is a validator.
pub trait AuthorizationDetailValidator: Send + Sync + 'static {
    /// `Ok` when `detail` is acceptable; otherwise why not.
    fn validate(&self, detail: &AuthorizationDetail) -> Result<(), &'static str>;
}

impl<F> AuthorizationDetailValidator for F
where
    F: Fn(&AuthorizationDetail) -> Result<(), &'static str> + Send + Sync + 'static,
{
    fn validate(&self, detail: &AuthorizationDetail) -> Result<(), &'static str> {
        self(detail)
    }
}

/// The registered types and their validators.
#[derive(Clone, Default)]
pub(crate) struct DetailTypes {
    types: Vec<(String, Arc<dyn AuthorizationDetailValidator>)>,
}

impl fmt::Debug for DetailTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.types.iter().map(|(t, _)| t))
            .finish()
    }
}

impl DetailTypes {
    /// Registers `type_name`; a second registration replaces the first.
    pub(crate) fn register(
        &mut self,
        type_name: String,
        validator: Arc<dyn AuthorizationDetailValidator>,
    ) {
        self.types.retain(|(t, _)| *t != type_name);
        self.types.push((type_name, validator));
    }

    /// The registered types, for `authorization_details_types_supported`
    /// (RFC 9396 §10.1); empty when the server accepts none.
    pub(crate) fn supported(&self) -> Vec<String> {
        self.types.iter().map(|(t, _)| t.clone()).collect()
    }

    /// Parses `raw` (the `authorization_details` parameter) and checks each
    /// object: a registered type (RFC 9396 §5), one `client` is registered
    /// for (§10), and one the type's validator accepts.
    pub(crate) fn check(
        &self,
        raw: &str,
        client: &Client,
    ) -> Result<AuthorizationDetails, InvalidAuthorizationDetails> {
        let details = AuthorizationDetails::parse(raw)?;
        for detail in &details {
            let type_name = detail.type_name();
            let Some((_, validator)) = self.types.iter().find(|(t, _)| t == type_name) else {
                return Err(InvalidAuthorizationDetails(
                    "an authorization_details type is not supported",
                ));
            };
            if !client
                .authorization_details_types()
                .iter()
                .any(|t| t == type_name)
            {
                return Err(InvalidAuthorizationDetails(
                    "the client is not registered for an authorization_details type",
                ));
            }
            validator
                .validate(detail)
                .map_err(InvalidAuthorizationDetails)?;
        }
        Ok(details)
    }
}

/// `invalid_authorization_details` at the token endpoint (RFC 9396 §5,
/// §6.2): 400.
pub(crate) fn details_error(why: InvalidAuthorizationDetails) -> super::TokenError {
    super::TokenError::OAuth(
        crate::protocol::OAuthError::new(crate::protocol::ErrorCode::INVALID_AUTHORIZATION_DETAILS)
            .with_description(why.description()),
    )
}

/// Refuses a token request's `authorization_details` that are not all
/// among the grant's (RFC 9396 §6.2). The access token then carries
/// exactly those asked for (`GrantContext::narrowed_details`).
pub(crate) fn within_grant(
    requested: &AuthorizationDetails,
    granted: &AuthorizationDetails,
) -> Result<(), super::TokenError> {
    if granted.contains_all(requested) {
        Ok(())
    } else {
        Err(details_error(InvalidAuthorizationDetails(
            "authorization_details asks for more than the grant holds",
        )))
    }
}

/// `authorization_details` in a token response (RFC 9396 §7): the
/// details the access token carries, when it carries any.
pub(crate) fn with_details(
    response: crate::protocol::TokenResponse,
    details: &AuthorizationDetails,
) -> crate::protocol::TokenResponse {
    if details.is_empty() {
        response
    } else {
        response.with_extra("authorization_details", details.to_json())
    }
}
