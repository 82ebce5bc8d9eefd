//! What an access token issued by token exchange (RFC 8693) keeps beyond an
//! ordinary one: the client it was issued to and, for delegation, the actor.

use crate::client::ClientId;

/// The actor of a delegated token: the `act` claim (RFC 8693 §4.1). `sub`
/// names the party acting; a nested `act` names the party that acted before
/// it, so a chain of delegations reads outermost (current) first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Actor {
    /// The acting party (RFC 8693 §4.1): the actor token's resource owner,
    /// or its client when it speaks for no resource owner.
    pub sub: String,
    /// The prior actor in a chain of delegations (RFC 8693 §4.1), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// An actor `sub` who acts after `prior` (the chain of the token it
    /// acts on, if that token was itself delegated).
    pub fn new(sub: impl Into<String>, prior: Option<Actor>) -> Self {
        Self {
            sub: sub.into(),
            act: prior.map(Box::new),
        }
    }

    /// The claim's JSON value (RFC 8693 §4.1).
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// What an access token issued by the token-exchange grant (RFC 8693 §2)
/// keeps: the client that asked for it, and the actor when it was issued by
/// delegation (§1.1). It is stored under the subject token's grant, so
/// revoking that grant revokes it too.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenExchangeRecord {
    /// The client the exchanged token was issued to; it may differ from the
    /// grant's when the host's policy lets another client exchange.
    pub client_id: ClientId,
    /// The actor (`act`, RFC 8693 §4.1); `None` for impersonation.
    pub act: Option<Actor>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    act: Option<Actor>,
}

impl TokenExchangeRecord {
    /// An exchanged token issued to `client_id`, acted on by `act`.
    pub fn new(client_id: ClientId, act: Option<Actor>) -> Self {
        Self { client_id, act }
    }

    /// The JSON a store keeps.
    pub fn to_json(&self) -> String {
        let stored = Stored {
            client_id: self.client_id.as_str().to_owned(),
            act: self.act.clone(),
        };
        serde_json::to_string(&stored).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads back what [`to_json`](Self::to_json) wrote.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let stored: Stored = serde_json::from_str(json)?;
        Ok(Self {
            client_id: ClientId::new_unchecked(&stored.client_id),
            act: stored.act,
        })
    }
}
