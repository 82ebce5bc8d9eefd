//! The `claims` request parameter (OpenID Connect Core 1.0 §5.5).

use std::collections::BTreeMap;

use serde_json::Value;

/// The longest `claims` parameter accepted, in bytes.
pub const MAX_CLAIMS_REQUEST_LEN: usize = 8 * 1024;

/// The most claims one member (`userinfo`, `id_token`) may name.
pub const MAX_REQUESTED_CLAIMS: usize = 64;

/// How one claim is requested (OpenID Connect Core 1.0 §5.5.1): `null` for
/// "this claim, voluntarily", or an object with `essential`, `value` or
/// `values`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ClaimRequest {
    /// The relying party needs the claim for the End-User's task to go
    /// smoothly (§5.5.1). Failing to provide it is not an error (§5.5.1:
    /// the provider still answers), but the host may use it to prompt.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub essential: bool,
    /// The one value the claim is asked to have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The values, in order of preference, the claim is asked to have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

impl ClaimRequest {
    /// Whether `value` is one the request allows: any, unless `value` or
    /// `values` names some.
    pub fn accepts(&self, value: &Value) -> bool {
        match (&self.value, &self.values) {
            (Some(wanted), _) => wanted == value,
            (None, Some(wanted)) => wanted.contains(value),
            (None, None) => true,
        }
    }
}

/// The claims a relying party asks for by name (OpenID Connect Core 1.0
/// §5.5), beyond those its scope values ask for (§5.4): some returned from
/// the UserInfo endpoint, some in the ID token.
///
/// Unknown members are ignored (§5.5). Claim names may carry a language tag
/// (`name#ja-Kana-JP`, §5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    userinfo: BTreeMap<String, ClaimRequest>,
    id_token: BTreeMap<String, ClaimRequest>,
}

/// Why a `claims` parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidClaimsRequest {
    /// Longer than [`MAX_CLAIMS_REQUEST_LEN`].
    #[error("the claims parameter is too long")]
    TooLong,
    /// Not a JSON object of the §5.5 shape.
    #[error("the claims parameter is malformed")]
    Malformed,
    /// A member names more than [`MAX_REQUESTED_CLAIMS`] claims.
    #[error("the claims parameter names too many claims")]
    TooMany,
}

/// The wire and storage shape: each member an object of claim → `null` or
/// request; other members ignored.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    userinfo: Option<BTreeMap<String, Option<ClaimRequest>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<BTreeMap<String, Option<ClaimRequest>>>,
}

fn member(
    wire: Option<BTreeMap<String, Option<ClaimRequest>>>,
) -> Result<BTreeMap<String, ClaimRequest>, InvalidClaimsRequest> {
    let wire = wire.unwrap_or_default();
    if wire.len() > MAX_REQUESTED_CLAIMS {
        return Err(InvalidClaimsRequest::TooMany);
    }
    if wire.keys().any(String::is_empty) {
        return Err(InvalidClaimsRequest::Malformed);
    }
    Ok(wire
        .into_iter()
        .map(|(name, request)| (name, request.unwrap_or_default()))
        .collect())
}

impl ClaimsRequest {
    /// Parses the parameter's JSON value.
    pub fn parse(json: &str) -> Result<Self, InvalidClaimsRequest> {
        if json.len() > MAX_CLAIMS_REQUEST_LEN {
            return Err(InvalidClaimsRequest::TooLong);
        }
        // An object, not the array serde would also read a struct from.
        let value: Value =
            serde_json::from_str(json).map_err(|_| InvalidClaimsRequest::Malformed)?;
        if !value.is_object() {
            return Err(InvalidClaimsRequest::Malformed);
        }
        let wire: Wire =
            serde_json::from_value(value).map_err(|_| InvalidClaimsRequest::Malformed)?;
        Ok(Self {
            userinfo: member(wire.userinfo)?,
            id_token: member(wire.id_token)?,
        })
    }

    /// The claims asked of the UserInfo endpoint.
    pub fn userinfo(&self) -> impl Iterator<Item = (&str, &ClaimRequest)> {
        self.userinfo.iter().map(|(name, r)| (name.as_str(), r))
    }

    /// The claims asked for in the ID token.
    pub fn id_token(&self) -> impl Iterator<Item = (&str, &ClaimRequest)> {
        self.id_token.iter().map(|(name, r)| (name.as_str(), r))
    }

    /// How `name` is asked for in the ID token, if it is.
    pub fn id_token_claim(&self, name: &str) -> Option<&ClaimRequest> {
        self.id_token.get(name)
    }

    /// How `name` is asked for at the UserInfo endpoint, if it is.
    pub fn userinfo_claim(&self, name: &str) -> Option<&ClaimRequest> {
        self.userinfo.get(name)
    }

    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty() && self.id_token.is_empty()
    }

    /// The JSON form, as parsed (for storage).
    pub fn to_json(&self) -> String {
        let wrap = |m: &BTreeMap<String, ClaimRequest>| {
            (!m.is_empty()).then(|| {
                m.iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect()
            })
        };
        let wire = Wire {
            userinfo: wrap(&self.userinfo),
            id_token: wrap(&self.id_token),
        };
        serde_json::to_string(&wire).unwrap_or_else(|_| "{}".to_owned())
    }
}

impl serde::Serialize for ClaimsRequest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_json())
    }
}

impl<'de> serde::Deserialize<'de> for ClaimsRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = String::deserialize(deserializer)?;
        Self::parse(&json).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_with_null_and_objects_and_unknown_members_are_ignored() {
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{"email":null,"name":{"essential":true}},
                "id_token":{"acr":{"values":["urn:a","urn:b"]},"auth_time":{"essential":true}},
                "other":{"x":null}}"#,
        )
        .unwrap();
        assert!(request.userinfo_claim("email").is_some());
        assert!(request.userinfo_claim("name").unwrap().essential);
        let acr = request.id_token_claim("acr").unwrap();
        assert!(acr.accepts(&Value::from("urn:b")) && !acr.accepts(&Value::from("urn:c")));
        assert_eq!(request.id_token().count(), 2);
        let again = ClaimsRequest::parse(&request.to_json()).unwrap();
        assert_eq!(again, request);
    }

    #[test]
    fn malformed_and_oversized_requests_are_refused() {
        assert_eq!(
            ClaimsRequest::parse("[]"),
            Err(InvalidClaimsRequest::Malformed)
        );
        assert_eq!(
            ClaimsRequest::parse(r#"{"userinfo":{"email":true}}"#),
            Err(InvalidClaimsRequest::Malformed)
        );
        assert_eq!(
            ClaimsRequest::parse(r#"{"userinfo":{"":null}}"#),
            Err(InvalidClaimsRequest::Malformed)
        );
        let many: Vec<String> = (0..65).map(|i| format!("\"c{i}\":null")).collect();
        let json = format!("{{\"userinfo\":{{{}}}}}", many.join(","));
        assert_eq!(
            ClaimsRequest::parse(&json),
            Err(InvalidClaimsRequest::TooMany)
        );
        let long = format!("{{\"userinfo\":{{\"{}\":null}}}}", "a".repeat(9000));
        assert_eq!(
            ClaimsRequest::parse(&long),
            Err(InvalidClaimsRequest::TooLong)
        );
    }
}
