//! Finding a token a client or resource server presents, by its shape and an
//! optional `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1). Shared by the
//! revocation and introspection endpoints.

use std::time::SystemTime;

use crate::client::ClientId;
use crate::protocol::{FormError, Params};
use crate::store::{AccessTokenRecord, DynGrantStore, FoundRefreshToken, GrantRecord, StoreError};
use crate::token::{TokenHash, TokenKind, is_access_token};

/// The `token` and `token_type_hint` parameters of a revocation or
/// introspection request. `token` is `None` when absent; a repeated
/// parameter is an error (RFC 6749 §3.2).
pub(crate) fn token_params<'p>(
    params: &'p Params<'_>,
) -> Result<(Option<&'p str>, Option<TokenKind>), FormError> {
    let token = params.get("token")?;
    let hint = params.get("token_type_hint")?.and_then(parse_hint);
    Ok((token, hint))
}

/// The two hint values RFC 7009 §2.1 defines. Any other value is ignored
/// (RFC 7009 §2.2: "An invalid token type hint value is ignored").
fn parse_hint(hint: &str) -> Option<TokenKind> {
    match hint {
        "access_token" => Some(TokenKind::AccessToken),
        "refresh_token" => Some(TokenKind::RefreshToken),
        _ => None,
    }
}

/// The order in which token types are searched: the hinted type first, then
/// the other — the hint is a lookup optimisation, never trusted (RFC 7009
/// §2.1: "it MUST extend its search across all of its supported token types").
fn search_order(hint: Option<TokenKind>) -> [TokenKind; 2] {
    match hint {
        Some(TokenKind::RefreshToken) => [TokenKind::RefreshToken, TokenKind::AccessToken],
        _ => [TokenKind::AccessToken, TokenKind::RefreshToken],
    }
}

/// A token found in the store, with its grant.
#[derive(Debug)]
pub(crate) enum Found {
    /// An access token.
    Access(AccessTokenRecord, GrantRecord),
    /// A refresh token, current or rotated out.
    Refresh(FoundRefreshToken),
}

impl Found {
    /// The grant the token belongs to.
    pub(crate) fn grant(&self) -> &GrantRecord {
        match self {
            Found::Access(_, grant) => grant,
            Found::Refresh(found) => &found.grant,
        }
    }

    /// The client the token was issued to.
    pub(crate) fn client_id(&self) -> &ClientId {
        match self {
            // An exchanged token is its requester's (RFC 8693 §2.1).
            Found::Access(record, grant) => record
                .exchange
                .as_ref()
                .map_or(&grant.client_id, |e| &e.client_id),
            Found::Refresh(found) => &found.grant.client_id,
        }
    }

    /// Whether the token would be accepted now: unexpired, its grant
    /// unexpired (a revoked grant is never found), and, for a refresh token,
    /// not rotated out.
    pub(crate) fn is_active(&self, now: SystemTime) -> bool {
        let (expires_at, current) = match self {
            Found::Access(record, _) => (record.expires_at, true),
            Found::Refresh(found) => (found.record.expires_at, found.current),
        };
        current && expires_at > now && self.grant().expires_at > now
    }
}

/// Finds `token` among the types it could be, hinted type first. A string
/// with neither an access nor a refresh token's shape costs no lookup.
pub(crate) async fn find_token(
    store: &dyn DynGrantStore,
    token: &str,
    hint: Option<TokenKind>,
) -> Result<Option<Found>, StoreError> {
    for kind in search_order(hint) {
        let shaped = match kind {
            TokenKind::AccessToken => is_access_token(token),
            _ => kind.matches(token),
        };
        if !shaped {
            continue;
        }
        let hash = TokenHash::of(token);
        let found = match kind {
            TokenKind::AccessToken => store
                .find_access_token(&hash)
                .await?
                .map(|(record, grant)| Found::Access(record, grant)),
            _ => store.find_refresh_token(&hash).await?.map(Found::Refresh),
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_order_the_search_and_unknown_hints_are_ignored() {
        use TokenKind::{AccessToken, RefreshToken};
        assert_eq!(parse_hint("refresh_token"), Some(RefreshToken));
        assert_eq!(parse_hint("access_token"), Some(AccessToken));
        assert_eq!(parse_hint("Access_Token"), None);
        assert_eq!(parse_hint("id_token"), None);
        assert_eq!(
            search_order(Some(RefreshToken)),
            [RefreshToken, AccessToken]
        );
        assert_eq!(search_order(Some(AccessToken)), [AccessToken, RefreshToken]);
        assert_eq!(search_order(None), [AccessToken, RefreshToken]);
    }

    #[test]
    fn repeated_parameters_are_errors() {
        let p = Params::parse(b"token=a&token=b").unwrap();
        assert!(token_params(&p).is_err());
        let p = Params::parse(b"token=a&token_type_hint=x&token_type_hint=y").unwrap();
        assert!(token_params(&p).is_err());
        let p = Params::parse(b"token=a&token_type_hint=bogus").unwrap();
        assert_eq!(token_params(&p).unwrap(), (Some("a"), None));
    }
}
