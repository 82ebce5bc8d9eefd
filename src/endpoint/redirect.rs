//! Delivering an authorization response to the client's redirect URI
//! (RFC 6749 §4.1.2, §4.2.2; OAuth 2.0 Form Post Response Mode; RFC 9207).

use std::borrow::Cow;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use sha2::{Digest as _, Sha256};
use url::form_urlencoded;

use crate::store::ResponseMode;

/// The script that submits the form_post page; its hash goes in the CSP.
const AUTO_SUBMIT: &str = "document.forms[0].submit()";

/// Headers for any page the authorization endpoint's flow shows in a browser —
/// the host's login and consent pages included (RFC 6819 §4.4.1.9
/// clickjacking, §5.2.2.6; RFC 9700 §4.16):
///
/// - `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors
///   'none'`: the page cannot be framed by another site;
/// - `Referrer-Policy: no-referrer`: the request's parameters do not leak in
///   `Referer`;
/// - `Cache-Control: no-store`: nothing is kept by caches.
///
/// An existing `Content-Security-Policy` is left alone, so a host can send a
/// stricter one that includes `frame-ancestors 'none'` itself.
pub fn secure_page_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The response that carries `params` to `redirect_uri` by `mode`: a `303 See
/// Other` to the URI with the parameters in its query (keeping any query it
/// has, RFC 6749 §3.1.2) or fragment, or an auto-submitting form.
pub(crate) fn deliver(
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
) -> Response<Vec<u8>> {
    let capacity = redirect_uri.len()
        + params
            .iter()
            .map(|(n, v)| n.len() + 3 * v.len() + 2)
            .sum::<usize>();
    match mode {
        ResponseMode::FormPost => form_post(redirect_uri, params),
        ResponseMode::Fragment => {
            let mut location = String::with_capacity(capacity);
            location.push_str(strip_fragment(redirect_uri));
            location.push('#');
            let start = location.len();
            see_other(&append_form(location, start, params))
        }
        ResponseMode::Query => {
            let mut location = String::with_capacity(capacity);
            location.push_str(strip_fragment(redirect_uri));
            // RFC 6749 §3.1.2: the registered URI's query is kept, and the
            // response's parameters follow it.
            let start = match location.find('?') {
                Some(q) => q + 1,
                None => {
                    location.push('?');
                    location.len()
                }
            };
            see_other(&append_form(location, start, params))
        }
    }
}

fn strip_fragment(uri: &str) -> &str {
    uri.split('#').next().unwrap_or(uri)
}

/// Appends `params` to `out` as `application/x-www-form-urlencoded` (RFC 6749
/// Appendix B), with `&` before them when `out` already has parameters
/// after `start`.
fn append_form(out: String, start: usize, params: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::for_suffix(out, start);
    form.extend_pairs(params);
    form.finish()
}

pub(crate) fn see_other(location: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    // RFC 9700 §4.12: 303, so a browser never re-POSTs the consent form's body
    // (with the user's credentials, perhaps) to the client.
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn form_post(redirect_uri: &str, params: &[(&str, &str)]) -> Response<Vec<u8>> {
    let mut body = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Continue</title></head>\
         <body><form method=\"post\" action=\"",
    );
    body.push_str(&html_escape(redirect_uri));
    body.push_str("\">");
    for (name, value) in params {
        body.push_str("<input type=\"hidden\" name=\"");
        body.push_str(&html_escape(name));
        body.push_str("\" value=\"");
        body.push_str(&html_escape(value));
        body.push_str("\">");
    }
    body.push_str("<noscript><button type=\"submit\">Continue</button></noscript></form><script>");
    body.push_str(AUTO_SUBMIT);
    body.push_str("</script></body></html>");

    let mut response = Response::new(body.into_bytes());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let digest = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(AUTO_SUBMIT),
    );
    let csp = format!("default-src 'none'; script-src 'sha256-{digest}'; frame-ancestors 'none'");
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    secure_page_headers(headers);
    response
}

/// Escapes `text` for HTML element content and quoted attribute values:
/// `&`, `<`, `>`, `"` and `'` become character references (OWASP XSS
/// Prevention Rule #1 and #2, for attributes always quoted). Borrowed when
/// there is nothing to escape.
///
/// The form_post page (OAuth 2.0 Form Post Response Mode §2) puts every
/// value through it; a host rendering its own login and consent pages may
/// use it too.
///
/// ```
/// use portcullis::endpoint::html_escape;
///
/// assert_eq!(html_escape("<a href=\"x\">Tom & Jerry's</a>"),
///            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
/// assert_eq!(html_escape("plain"), "plain");
/// ```
pub fn html_escape(text: &str) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'');
    let Some(first) = text.find(special) else {
        return Cow::Borrowed(text);
    };
    let (clean, rest) = text.split_at(first);
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(clean);
    for c in rest.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(r: &Response<Vec<u8>>) -> &str {
        r.headers()["location"].to_str().unwrap()
    }

    #[test]
    fn query_keeps_the_existing_query_and_drops_a_fragment() {
        let p = [("code", "a b"), ("state", "x&y")];
        let r = deliver("https://c.example/cb", ResponseMode::Query, &p);
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "https://c.example/cb?code=a+b&state=x%26y");
        let r = deliver("https://c.example/cb?k=v", ResponseMode::Query, &p);
        assert_eq!(
            location(&r),
            "https://c.example/cb?k=v&code=a+b&state=x%26y"
        );
        let r = deliver("https://c.example/cb?", ResponseMode::Query, &p);
        assert_eq!(location(&r), "https://c.example/cb?code=a+b&state=x%26y");
    }

    #[test]
    fn encoding_matches_the_url_crate() {
        for value in [
            "",
            "a b",
            "x&y=z",
            "https://auth.example/",
            "é ü+%~*-._",
            "日本",
        ] {
            let r = deliver("https://c.example/cb", ResponseMode::Query, &[("v", value)]);
            let theirs: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            assert_eq!(
                location(&r),
                format!("https://c.example/cb?v={theirs}"),
                "{value:?}"
            );
            let query = location(&r).split_once('?').unwrap().1;
            let decoded: Vec<_> = url::form_urlencoded::parse(query.as_bytes()).collect();
            assert_eq!(decoded, [("v".into(), value.into())], "{value:?}");
        }
        let r = deliver(
            "https://c.example/cb",
            ResponseMode::Query,
            &[("s", "é ü+%~*-._")],
        );
        assert_eq!(
            location(&r),
            "https://c.example/cb?s=%C3%A9+%C3%BC%2B%25%7E*-._"
        );
    }

    #[test]
    fn html_escape_escapes_the_five_and_borrows_otherwise() {
        assert_eq!(html_escape(r#"&<>"'"#), "&amp;&lt;&gt;&quot;&#39;");
        assert_eq!(html_escape("日本 é"), "日本 é");
        assert!(matches!(html_escape("abc"), Cow::Borrowed("abc")));
        assert_eq!(html_escape("a<b>日本"), "a&lt;b&gt;日本");
    }

    #[test]
    fn fragment_mode() {
        let r = deliver(
            "https://c.example/cb?k=v",
            ResponseMode::Fragment,
            &[("access_token", "t")],
        );
        assert_eq!(location(&r), "https://c.example/cb?k=v#access_token=t");
    }

    #[test]
    fn form_post_escapes_and_locks_down_the_page() {
        let r = deliver(
            "https://c.example/cb?a=1&b=\"2\"",
            ResponseMode::FormPost,
            &[("state", "<script>alert(1)</script>")],
        );
        assert_eq!(r.status(), 200);
        let body = String::from_utf8(r.body().clone()).unwrap();
        assert!(body.contains("action=\"https://c.example/cb?a=1&amp;b=&quot;2&quot;\""));
        assert!(body.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(!body.contains("<script>alert"));
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'sha256-") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }

    #[test]
    fn page_headers() {
        let mut h = HeaderMap::new();
        secure_page_headers(&mut h);
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["content-security-policy"], "frame-ancestors 'none'");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
    }
}
