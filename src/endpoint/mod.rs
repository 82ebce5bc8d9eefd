//! Endpoints: each turns an `http::Request` into an `http::Response`, with a
//! typed layer beneath for hosts that parse HTTP themselves.

mod authorize;
mod redirect;
mod token;
mod token_error;

pub use authorize::{
    AuthorizationError, DecisionError, MAX_STATE_LEN, PendingAuthorization, ResponseType,
};
pub use redirect::secure_page_headers;
pub(crate) use token::HeaderNames;
pub use token::TokenRequest;
pub use token_error::TokenError;
