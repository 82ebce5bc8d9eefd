//! The `authorization_details` parameter (RFC 9396 §2): a JSON array of
//! objects, each with a string `type` and whatever else that type defines.
//!
//! Parsing checks the shape the RFC fixes for every type — an array, of
//! objects, each with a string `type`, the common fields (§2.2) of the
//! right JSON types — and a size bound. Whether a type is known, the client
//! may use it and its other fields make sense is the server's and the
//! host's validator's business
//! ([`ServerBuilder::authorization_details_type`](crate::ServerBuilder::authorization_details_type)).

use std::fmt;

use serde_json::{Map, Value};

/// The longest `authorization_details` value accepted, in bytes of JSON: 8 KiB.
/// A longer one is `invalid_authorization_details` (RFC 9396 §5) before it is
/// parsed.
pub const MAX_AUTHORIZATION_DETAILS_LEN: usize = 8 * 1024;

/// The most objects one `authorization_details` array may hold: 16.
pub const MAX_AUTHORIZATION_DETAILS: usize = 16;

/// The common fields whose values are arrays of strings (RFC 9396 §2.2).
const STRING_ARRAY_FIELDS: [&str; 4] = ["locations", "actions", "datatypes", "privileges"];

/// Why an `authorization_details` value is not one (RFC 9396 §5:
/// `invalid_authorization_details`). The message is safe to show the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAuthorizationDetails(pub(crate) &'static str);

impl InvalidAuthorizationDetails {
    /// What is wrong, for `error_description`.
    pub fn description(&self) -> &'static str {
        self.0
    }
}

/// One authorization details object (RFC 9396 §2): its `type` and its
/// other members, kept as the client sent them.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationDetail {
    object: Map<String, Value>,
}

impl AuthorizationDetail {
    /// Checks one object's shape (RFC 9396 §2, §2.2).
    fn from_value(value: Value) -> Result<Self, InvalidAuthorizationDetails> {
        let Value::Object(object) = value else {
            return Err(InvalidAuthorizationDetails(
                "each authorization_details element must be a JSON object",
            ));
        };
        match object.get("type") {
            Some(Value::String(t)) if !t.is_empty() => {}
            Some(_) => {
                return Err(InvalidAuthorizationDetails(
                    "an authorization_details type must be a non-empty string",
                ));
            }
            None => {
                return Err(InvalidAuthorizationDetails(
                    "an authorization_details element has no type",
                ));
            }
        }
        for field in STRING_ARRAY_FIELDS {
            match object.get(field) {
                None => {}
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
                Some(_) => {
                    return Err(InvalidAuthorizationDetails(
                        "locations, actions, datatypes and privileges must be arrays of strings",
                    ));
                }
            }
        }
        match object.get("identifier") {
            None | Some(Value::String(_)) => {}
            Some(_) => {
                return Err(InvalidAuthorizationDetails(
                    "an authorization_details identifier must be a string",
                ));
            }
        }
        Ok(Self { object })
    }

    /// The `type` (RFC 9396 §2).
    pub fn type_name(&self) -> &str {
        match self.object.get("type") {
            Some(Value::String(t)) => t,
            // Parsing refuses an object without a string type.
            _ => "",
        }
    }

    /// The `locations` (RFC 9396 §2.2): where the resources are.
    pub fn locations(&self) -> Vec<&str> {
        self.strings("locations")
    }

    /// The `actions` (RFC 9396 §2.2): what may be done.
    pub fn actions(&self) -> Vec<&str> {
        self.strings("actions")
    }

    /// The `datatypes` (RFC 9396 §2.2): what kinds of data may be read.
    pub fn datatypes(&self) -> Vec<&str> {
        self.strings("datatypes")
    }

    /// The `privileges` (RFC 9396 §2.2).
    pub fn privileges(&self) -> Vec<&str> {
        self.strings("privileges")
    }

    /// The `identifier` (RFC 9396 §2.2): a specific resource.
    pub fn identifier(&self) -> Option<&str> {
        self.object.get("identifier").and_then(Value::as_str)
    }

    /// Any member, by name: the type-specific fields (RFC 9396 §2).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.object.get(name)
    }

    /// The whole object.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.object
    }

    fn strings(&self, name: &str) -> Vec<&str> {
        match self.object.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Debug for AuthorizationDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Details can carry amounts and account numbers: the type only.
        f.debug_struct("AuthorizationDetail")
            .field("type", &self.type_name())
            .finish_non_exhaustive()
    }
}

/// A request's or a grant's authorization details (RFC 9396 §2); empty
/// when none were asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationDetails(Vec<AuthorizationDetail>);

impl AuthorizationDetails {
    /// No authorization details.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// Parses an `authorization_details` parameter (RFC 9396 §2): a JSON
    /// array of 1 to [`MAX_AUTHORIZATION_DETAILS`] objects, each with a
    /// non-empty string `type`, the common fields (§2.2) — `locations`,
    /// `actions`, `datatypes`, `privileges` arrays of strings, `identifier`
    /// a string — when present, at most [`MAX_AUTHORIZATION_DETAILS_LEN`]
    /// bytes in all.
    pub fn parse(json: &str) -> Result<Self, InvalidAuthorizationDetails> {
        if json.len() > MAX_AUTHORIZATION_DETAILS_LEN {
            return Err(InvalidAuthorizationDetails(
                "authorization_details is too long",
            ));
        }
        let value: Value = serde_json::from_str(json)
            .map_err(|_| InvalidAuthorizationDetails("authorization_details is not valid JSON"))?;
        let Value::Array(items) = value else {
            return Err(InvalidAuthorizationDetails(
                "authorization_details must be a JSON array",
            ));
        };
        if items.is_empty() {
            return Err(InvalidAuthorizationDetails(
                "authorization_details must not be empty",
            ));
        }
        if items.len() > MAX_AUTHORIZATION_DETAILS {
            return Err(InvalidAuthorizationDetails(
                "authorization_details has too many elements",
            ));
        }
        items
            .into_iter()
            .map(AuthorizationDetail::from_value)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The objects, in the order the client sent them.
    pub fn iter(&self) -> impl Iterator<Item = &AuthorizationDetail> {
        self.0.iter()
    }

    /// Whether every object of `requested` is one of these (RFC 9396 §6.2:
    /// a token request may ask for a subset of the grant's details). An
    /// object counts only when it equals a granted one member for member.
    pub fn contains_all(&self, requested: &AuthorizationDetails) -> bool {
        requested.0.iter().all(|r| self.0.contains(r))
    }

    /// The JSON array, as the token response (§7) and introspection (§9.2)
    /// carry it.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|d| Value::Object(d.object.clone()))
                .collect(),
        )
    }

    /// The text a store keeps: the JSON array, or `""` for none.
    pub fn to_stored(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            self.to_json().to_string()
        }
    }

    /// Reads back what [`to_stored`](Self::to_stored) wrote.
    pub fn from_stored(text: &str) -> Result<Self, InvalidAuthorizationDetails> {
        if text.is_empty() {
            Ok(Self::empty())
        } else {
            Self::parse(text)
        }
    }
}

impl<'a> IntoIterator for &'a AuthorizationDetails {
    type Item = &'a AuthorizationDetail;
    type IntoIter = std::slice::Iter<'a, AuthorizationDetail>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_rules() {
        let ok = AuthorizationDetails::parse(
            r#"[{"type":"payment_initiation","actions":["initiate"],"identifier":"x",
                "instructedAmount":{"currency":"EUR","amount":"1.00"}}]"#,
        )
        .unwrap();
        let detail = ok.iter().next().unwrap();
        assert_eq!(detail.type_name(), "payment_initiation");
        assert_eq!(detail.actions(), ["initiate"]);
        assert_eq!(detail.identifier(), Some("x"));
        assert!(detail.get("instructedAmount").is_some());
        assert_eq!(
            AuthorizationDetails::from_stored(&ok.to_stored()).unwrap(),
            ok
        );
        assert!(AuthorizationDetails::from_stored("").unwrap().is_empty());
        for bad in [
            "",
            "{",
            r#"{"type":"a"}"#,
            "[]",
            "[1]",
            r#"[{"actions":["a"]}]"#,
            r#"[{"type":""}]"#,
            r#"[{"type":7}]"#,
            r#"[{"type":"a","locations":"https://x"}]"#,
            r#"[{"type":"a","actions":[1]}]"#,
            r#"[{"type":"a","identifier":[]}]"#,
        ] {
            assert!(AuthorizationDetails::parse(bad).is_err(), "{bad:?}");
        }
        let many = format!("[{}]", vec![r#"{"type":"a"}"#; 17].join(","));
        assert!(AuthorizationDetails::parse(&many).is_err());
        let long = format!(
            r#"[{{"type":"{}"}}]"#,
            "a".repeat(MAX_AUTHORIZATION_DETAILS_LEN)
        );
        assert!(AuthorizationDetails::parse(&long).is_err());
    }

    #[test]
    fn subsets() {
        let granted =
            AuthorizationDetails::parse(r#"[{"type":"a","actions":["r"]},{"type":"b"}]"#).unwrap();
        let part = AuthorizationDetails::parse(r#"[{"type":"b"}]"#).unwrap();
        let other = AuthorizationDetails::parse(r#"[{"type":"a","actions":["w"]}]"#).unwrap();
        assert!(granted.contains_all(&part));
        assert!(!granted.contains_all(&other));
        assert!(!part.contains_all(&granted));
    }
}
