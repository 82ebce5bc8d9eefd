//! The request's media type (RFC 9110 §8.3): exactly one `Content-Type`
//! header naming the expected type, in UTF-8 if it says.

use http::header::{self, HeaderMap};

/// Whether `headers` has exactly one `Content-Type`, naming `media_type`,
/// with no `charset` other than UTF-8. The media type and parameter names are
/// case-insensitive (RFC 9110 §8.3.1).
pub(crate) fn is_media_type(headers: &HeaderMap, media_type: &str) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    // The usual case, the bare media type as sent by nearly every client.
    if value.as_bytes() == media_type.as_bytes() {
        return true;
    }
    let Ok(value) = value.to_str() else {
        return false;
    };
    let mut parts = value.split(';');
    let given = parts.next().unwrap_or_default().trim();
    given.eq_ignore_ascii_case(media_type)
        && parts.all(|p| match p.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            Some(_) => true,
            None => p.trim().is_empty(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn is(content_types: &[&'static str], media_type: &str) -> bool {
        let mut h = HeaderMap::new();
        for v in content_types {
            h.append(header::CONTENT_TYPE, HeaderValue::from_static(v));
        }
        is_media_type(&h, media_type)
    }

    #[test]
    fn json_content_type_rules() {
        let json = |v| is(&[v], "application/json");
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=UTF-8"));
        assert!(!json("application/json; charset=latin1"));
        assert!(!json("application/x-www-form-urlencoded"));
        assert!(!json("text/json"));
        assert!(!is(&[], "application/json"));
        assert!(!is(
            &["application/json", "application/json"],
            "application/json"
        ));
    }

    #[test]
    fn form_content_type_rules() {
        let form = |v| is(&[v], "application/x-www-form-urlencoded");
        assert!(form("application/x-www-form-urlencoded"));
        assert!(form("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(form("application/x-www-form-urlencoded;charset=\"utf-8\""));
        assert!(!form(
            "application/x-www-form-urlencoded; charset=iso-8859-1"
        ));
        assert!(!form("application/json"));
        assert!(!form("multipart/form-data"));
        assert!(!form("application/x-www-form-urlencodedx"));
    }
}
