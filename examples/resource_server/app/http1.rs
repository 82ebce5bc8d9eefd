//! A minimal HTTP/1.1 client over a Tokio `TcpStream`: one request per
//! connection (`Connection: close`), plain `http://` only, bounded in time
//! and size. Enough to call an authorization server on the same machine;
//! a host talking to another machine uses a real client with TLS.

use std::fmt;
use std::time::Duration;

use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest response read: far above any OAuth answer or page here.
pub const MAX_RESPONSE: u64 = 1024 * 1024;

/// How long one exchange may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why an exchange failed.
#[derive(Debug)]
pub enum HttpError {
    /// The URL is not an absolute `http://` URL with a host.
    Url(&'static str),
    /// Connecting, writing or reading failed.
    Io(std::io::Error),
    /// No answer within [`TIMEOUT`].
    Timeout,
    /// The response is not HTTP/1.1 as this client reads it, or is larger
    /// than [`MAX_RESPONSE`].
    Malformed(&'static str),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Url(why) => write!(f, "unusable URL: {why}"),
            HttpError::Io(e) => write!(f, "connection failed: {e}"),
            HttpError::Timeout => write!(f, "no response within {TIMEOUT:?}"),
            HttpError::Malformed(why) => write!(f, "unreadable response: {why}"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for HttpError {
    fn from(e: std::io::Error) -> Self {
        HttpError::Io(e)
    }
}

/// Sends `request` (its URI absolute, `http://host[:port]/path?query`) on a
/// fresh connection and returns the response, redirects not followed.
pub async fn send(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, HttpError> {
    tokio::time::timeout(TIMEOUT, exchange(request))
        .await
        .map_err(|_| HttpError::Timeout)?
}

async fn exchange(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, HttpError> {
    let uri = request.uri();
    if uri.scheme_str() != Some("http") {
        return Err(HttpError::Url("only http:// is supported"));
    }
    let authority = uri.authority().ok_or(HttpError::Url("no host"))?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let target = uri.path_and_query().map_or("/", |p| p.as_str());

    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(request.method().as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(authority.as_str().as_bytes());
    head.extend_from_slice(b"\r\nConnection: close\r\n");
    let body = request.body();
    if !body.is_empty() || request.method() != http::Method::GET {
        head.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    for (name, value) in request.headers() {
        // This client writes these itself.
        if [HOST, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING].contains(name) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");

    let mut stream = TcpStream::connect((host, port)).await?;
    stream.write_all(&head).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.take(MAX_RESPONSE + 1).read_to_end(&mut raw).await?;
    if raw.len() as u64 > MAX_RESPONSE {
        return Err(HttpError::Malformed("too large"));
    }
    parse_response(&raw)
}

/// Parses a whole response, as read until the server closed the connection.
pub fn parse_response(raw: &[u8]) -> Result<Response<Vec<u8>>, HttpError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(HttpError::Malformed("no end of head"))?;
    let (head, rest) = raw.split_at(split);
    let body = rest.get(4..).unwrap_or_default();
    let head = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(HttpError::Malformed("not HTTP/1.x"));
    }
    let status = parts
        .next()
        .and_then(|s| StatusCode::from_bytes(s.as_bytes()).ok())
        .ok_or(HttpError::Malformed("no status"))?;

    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header without ':'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| HttpError::Malformed("header name"))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| HttpError::Malformed("header value"))?;
        response.headers_mut().append(name, value);
    }

    let headers = response.headers();
    let chunked = headers
        .get(TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.parse::<usize>())
        .transpose()
        .map_err(|_| HttpError::Malformed("Content-Length"))?;
    *response.body_mut() = if chunked {
        dechunk(body)?
    } else if let Some(length) = length {
        body.get(..length)
            .ok_or(HttpError::Malformed("body shorter than Content-Length"))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(response)
}

/// The body of a `Transfer-Encoding: chunked` message (RFC 9112 §7.1).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(HttpError::Malformed("chunk size line"))?;
        let (line, after) = rest.split_at(line_end);
        let line = std::str::from_utf8(line).map_err(|_| HttpError::Malformed("chunk size"))?;
        let size_field = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_field, 16)
            .map_err(|_| HttpError::Malformed("chunk size"))?;
        let after = after.get(2..).unwrap_or_default();
        if size == 0 {
            return Ok(body);
        }
        let chunk = after
            .get(..size)
            .ok_or(HttpError::Malformed("chunk shorter than its size"))?;
        body.extend_from_slice(chunk);
        rest = after.get(size + 2..).unwrap_or_default();
    }
}
