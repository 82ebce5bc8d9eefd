//! The device authorization response (RFC 8628 §3.2).

use std::fmt;
use std::time::Duration;

use http::{Response, StatusCode};
use url::Url;

use super::error::json_response;
use crate::token::{DeviceCode, UserCode};

/// A successful device authorization response (RFC 8628 §3.2): the codes,
/// where the user goes, how long the codes live and how often to poll.
///
/// `Debug` shows neither code, nor `verification_uri_complete`, which carries
/// the user code.
pub struct DeviceAuthorizationResponse {
    device_code: DeviceCode,
    user_code: UserCode,
    verification_uri: Url,
    verification_uri_complete: Url,
    expires_in: Duration,
    interval: Duration,
}

impl DeviceAuthorizationResponse {
    pub(crate) fn new(
        device_code: DeviceCode,
        user_code: UserCode,
        verification_uri: &Url,
        expires_in: Duration,
        interval: Duration,
    ) -> Self {
        // RFC 8628 §3.3.1: the verification URI with the user code in it, for
        // a QR code; the verification page reads `user_code` to prefill its
        // form.
        let mut verification_uri_complete = verification_uri.clone();
        verification_uri_complete
            .query_pairs_mut()
            .append_pair("user_code", user_code.expose_secret());
        Self {
            device_code,
            user_code,
            verification_uri: verification_uri.clone(),
            verification_uri_complete,
            expires_in,
            interval,
        }
    }

    /// The device code, for the device to poll the token endpoint with.
    pub fn device_code(&self) -> &DeviceCode {
        &self.device_code
    }

    /// The user code, for the device to show the user.
    pub fn user_code(&self) -> &UserCode {
        &self.user_code
    }

    /// Where the user enters the user code.
    pub fn verification_uri(&self) -> &Url {
        &self.verification_uri
    }

    /// The verification URI with `user_code=…` in its query (RFC 8628
    /// §3.3.1). It carries the user code: treat it as the code itself.
    pub fn verification_uri_complete(&self) -> &Url {
        &self.verification_uri_complete
    }

    /// How long the codes live.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The least time between two polls.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The JSON body. This is where the codes' plaintext leaves the server.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            device_code: &'a str,
            user_code: &'a str,
            verification_uri: &'a str,
            verification_uri_complete: &'a str,
            expires_in: u64,
            interval: u64,
        }
        serde_json::to_vec(&Body {
            device_code: self.device_code.expose_secret(),
            user_code: self.user_code.expose_secret(),
            verification_uri: self.verification_uri.as_str(),
            verification_uri_complete: self.verification_uri_complete.as_str(),
            // Rounded down: the codes are surely still valid that long.
            expires_in: self.expires_in.as_secs(),
            // Rounded up: a device that waits that long is never too fast.
            interval: self.interval.as_secs() + u64::from(self.interval.subsec_nanos() > 0),
        })
        // Serialising strings and numbers into a Vec cannot fail.
        .unwrap_or_default()
    }

    /// Renders the response: 200, JSON, `Cache-Control: no-store`,
    /// `Pragma: no-cache` (RFC 8628 §3.2).
    pub fn into_http(self) -> Response<Vec<u8>> {
        json_response(StatusCode::OK, self.to_json())
    }
}

impl fmt::Debug for DeviceAuthorizationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorizationResponse")
            .field("device_code", &self.device_code)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri.as_str())
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(uri: &str, interval: Duration) -> DeviceAuthorizationResponse {
        DeviceAuthorizationResponse::new(
            DeviceCode::new("pc_dc_abc"),
            UserCode::parse("WDJB-MJHT").unwrap(),
            &Url::parse(uri).unwrap(),
            Duration::from_secs(600),
            interval,
        )
    }

    #[test]
    fn body_has_every_member() {
        let r = response("https://auth.example/device", Duration::from_secs(5));
        let json: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "device_code": "pc_dc_abc",
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://auth.example/device",
                "verification_uri_complete": "https://auth.example/device?user_code=WDJB-MJHT",
                "expires_in": 600,
                "interval": 5,
            })
        );
        let http = r.into_http();
        assert_eq!(http.headers()["cache-control"], "no-store");
        assert_eq!(http.headers()["content-type"], "application/json");
    }

    #[test]
    fn complete_uri_keeps_an_existing_query_and_interval_rounds_up() {
        let r = response(
            "https://auth.example/activate?lang=en",
            Duration::from_millis(2500),
        );
        assert_eq!(
            r.verification_uri_complete().as_str(),
            "https://auth.example/activate?lang=en&user_code=WDJB-MJHT"
        );
        let json: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
        assert_eq!(json["interval"], 3);
    }

    #[test]
    fn debug_shows_no_code() {
        let shown = format!(
            "{:?}",
            response("https://auth.example/device", Duration::from_secs(5))
        );
        assert!(
            !shown.contains("WDJB") && !shown.contains("pc_dc_abc"),
            "{shown}"
        );
    }
}
