//! A form extractor for the pages' `POST`s: the body read up to the
//! server's limit (beyond it, the library's `413`), then decoded into the
//! handler's type; a malformed form — or a field given twice — is `400`.

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use portcullis::axum::Reply;
use portcullis::grant::RequestError;
use serde::de::DeserializeOwned;

use super::App;
use super::pages::malformed_form;

/// A decoded `application/x-www-form-urlencoded` body.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<App> for Form<T> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &App) -> Result<Self, Response> {
        let limit = app.server.max_body();
        let body = to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| Reply(RequestError::BodyTooLarge.into_http()).into_response())?;
        serde_urlencoded::from_bytes(&body)
            .map(Form)
            .map_err(|_| malformed_form())
    }
}
