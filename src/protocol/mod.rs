//! Pure protocol types: parameters, scopes, grant types, error codes and
//! responses. Nothing here does IO.

mod authorization_details;
mod bearer;
mod challenge;
mod device_response;
mod dpop;
mod error;
mod form;
mod grant_type;
mod header_names;
mod introspection_response;
pub mod openid;
mod pkce;
mod resource;
mod scope;
mod token_response;
mod token_type;

pub use authorization_details::{
    AuthorizationDetail, AuthorizationDetails, InvalidAuthorizationDetails,
    MAX_AUTHORIZATION_DETAILS, MAX_AUTHORIZATION_DETAILS_LEN,
};
pub use bearer::MAX_TOKEN_LEN;
pub(crate) use bearer::{BearerCredential, bearer_credential, dpop_credential, is_b64token};
pub(crate) use challenge::server_challenge;
pub use challenge::{
    BearerChallenge, InvalidMetadataUrl, InvalidRealm, Realm, ResourceMetadataUrl,
};
pub use device_response::DeviceAuthorizationResponse;
pub use dpop::{
    DPOP_HEADER, DPOP_JWT_TYP, DPOP_NONCE_HEADER, DpopError, MAX_PROOF_LEN, ProofCheck,
    VerifiedProof, access_token_hash, dpop_challenge, dpop_header, use_dpop_nonce, verify_proof,
};
pub use error::{ErrorCode, ErrorResponse, OAuthError};
pub(crate) use error::{document_response, empty_response, json_response, published_document};
pub(crate) use form::decode as form_decode;
pub use form::{FormError, MAX_PARAMS, Params};
pub use grant_type::GrantType;
pub(crate) use header_names::HeaderNames;
pub(crate) use introspection_response::epoch_secs;
pub use introspection_response::{IntrospectionResponse, InvalidIntrospectionResponse};
pub use pkce::{CodeChallenge, CodeChallengeMethod, CodeVerifier, PkceError};
pub use resource::{
    InvalidResource, MAX_RESOURCE_LEN, MAX_RESOURCES_PER_REQUEST, Resource, ResourceIndicator,
    ResourceSet, TokenFormat,
};
pub use scope::{InvalidScope, MAX_SCOPE_LEN, Scope};
pub use token_response::TokenResponse;
pub use token_type::TokenType;
