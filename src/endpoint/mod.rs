//! Endpoints: each turns an `http::Request` into an `http::Response`, with a
//! typed layer beneath for hosts that parse HTTP themselves.

mod authorize;
mod device;
mod device_verification;
mod redirect;
mod token;
mod token_error;

pub use authorize::{
    AuthorizationError, DecisionError, MAX_STATE_LEN, PendingAuthorization, ResponseType,
};
pub(crate) use device::DeviceFlow;
pub(crate) use device::DeviceSettings;
pub use device::{
    DEFAULT_DEVICE_CODE_LIFETIME, DEFAULT_POLLING_INTERVAL, default_user_code_policy,
};
pub use device_verification::{PendingDeviceAuthorization, UserCodeError};
pub use redirect::secure_page_headers;
pub(crate) use token::HeaderNames;
pub use token::TokenRequest;
pub use token_error::TokenError;
