//! Endpoints: each turns an `http::Request` into an `http::Response`, with a
//! typed layer beneath for hosts that parse HTTP themselves.

mod token;
mod token_error;

pub(crate) use token::HeaderNames;
pub use token::TokenRequest;
pub use token_error::TokenError;
