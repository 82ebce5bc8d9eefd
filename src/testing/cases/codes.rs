//! Authorization code redemption (RFC 6749 §4.1.3, RFC 7636 §4.6): the store
//! checks the code's binding, consumes it once and issues its tokens, in one
//! atomic operation; a replay revokes the grant (RFC 6819 §5.2.1.1), a
//! refusal changes nothing.
//!
//! The answers are [`CodeRedemption::decide`]'s, whether the store calls it
//! or states its conditions in SQL.

use std::time::Duration;

use crate::client::ClientId;
use crate::protocol::CodeChallenge;
use crate::store::{AuthorizationCodeStore, CodeRedemption, FoundRefreshToken, Redemption};
use crate::testing::fixtures::{
    API, CHALLENGE, DAY, HOUR, Issued, MINUTE, REDIRECT_URI, SECOND, VERIFIER, WRONG_VERIFIER,
    access_found, client_id, code_found, expected_access, expected_refresh, hash, now, ok,
    openid_grant, planned, redeem, redemption, redemption_stored, refresh_found, resources, scope,
    verifier,
};

/// A redemption for an audience (RFC 8707): the access token is stored
/// with the planned audience and the narrower scope the redemption names
/// ([`CodeRedemption::access_scope`]); the refresh token keeps the grant's
/// scope, and the grant its resources.
pub async fn redeem_code_narrows_the_access_token_to_its_audience<
    S: AuthorizationCodeStore + Clone,
>(
    store: S,
) {
    let t = now();
    let client = client_id("client");
    let issued = Issued::code(&client, t).create_code(&store).await;
    let grant = &issued.grant;
    let at = t + SECOND;
    let mut narrowed = redemption(&client, at).access_scope(Some(scope("read")));
    narrowed.access_token = narrowed
        .access_token
        .clone()
        .with_audience(resources(&[API]));
    assert_eq!(
        redeem(&store, &issued.code_hash(), &narrowed).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code for an audience, every check passing, must be Redeemed"
    );
    let access = expected_access(&narrowed.access_token, grant, &scope("read"), at);
    assert_eq!(access.audience, resources(&[API]));
    assert_eq!(
        ok(
            store.find_access_token(&access.hash).await,
            "find_access_token"
        ),
        Some((access, grant.clone())),
        "the access token of a redemption for an audience must carry that audience and the          redemption's narrower scope; its grant keeps its resources and scope"
    );
    let refresh = expected_refresh(
        narrowed.refresh_token.as_ref().unwrap(),
        grant,
        &grant.scope,
        at,
    );
    assert_eq!(
        refresh_found(&store, &refresh.hash).await,
        Some(FoundRefreshToken {
            record: refresh,
            grant: grant.clone(),
            current: true,
        }),
        "the refresh token of a redemption for an audience must keep the grant's scope"
    );
}

/// A grant made by an OpenID Connect request keeps its record
/// ([`GrantRecord::openid`](crate::store::GrantRecord::openid): the nonce,
/// the authentication, the `claims` request) wherever the grant is read back
/// — with its code, on redemption, with its access token and with its
/// refresh token — for the ID tokens and UserInfo answers that depend on
/// it.
pub async fn an_openid_grant_keeps_its_record<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let mut issued = Issued::code(&client, t);
    issued.grant.openid = Some(std::sync::Arc::new(openid_grant()));
    let issued = issued.create_code(&store).await;
    let grant = &issued.grant;
    assert_eq!(
        ok(store.find_code(&issued.code_hash()).await, "find_code"),
        Some(issued.found_code(false)),
        "find_code must return the grant with its OpenID Connect record"
    );
    let at = t + SECOND;
    let redeeming = redemption(&client, at);
    assert_eq!(
        redeem(&store, &issued.code_hash(), &redeeming).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code must return the grant with its OpenID Connect record"
    );
    let access = expected_access(&redeeming.access_token, grant, &grant.scope, at);
    assert_eq!(
        ok(
            store.find_access_token(&access.hash).await,
            "find_access_token"
        ),
        Some((access, grant.clone())),
        "find_access_token must return the grant with its OpenID Connect record"
    );
    let refresh = expected_refresh(
        redeeming.refresh_token.as_ref().unwrap(),
        grant,
        &grant.scope,
        at,
    );
    assert_eq!(
        refresh_found(&store, &refresh.hash)
            .await
            .map(|found| found.grant),
        Some(grant.clone()),
        "find_refresh_token must return the grant with its OpenID Connect record"
    );
}

/// `redeem_code` with every check passing is [`Redemption::Redeemed`],
/// carrying the code and its grant as found (unredeemed), and stores the
/// planned tokens: both with the grant's scope, issued at the request's
/// `now`, expiring as planned but never after the grant (a refresh token
/// planned to outlive it expires with it). The code stays findable,
/// redeemed. Redeeming it again — a replay by its own client, passing every
/// other check — is [`Redemption::Revoked`] with the grant's id: the grant is
/// revoked, the first redemption's tokens die with it, the replay's are not
/// stored, and the code is then unknown. Without a planned refresh token only
/// the access token is stored.
pub async fn redeem_code_once<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let issued = Issued::code(&client, t).create_code(&store).await;
    let grant = &issued.grant;

    // Redeemed five seconds after the code was issued, with a refresh token
    // planned to live two days: past the grant's one.
    let at = t + 5 * SECOND;
    let mut first = redemption(&client, at);
    first.refresh_token = Some(planned(at, 2 * DAY));
    assert_eq!(
        redeem(&store, &issued.code_hash(), &first).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code of an unredeemed code, every check passing, must be Redeemed with the \
         code and its grant as found before the redemption"
    );
    let first_access = expected_access(&first.access_token, grant, &grant.scope, at);
    assert_eq!(
        ok(
            store.find_access_token(&first_access.hash).await,
            "find_access_token"
        ),
        Some((first_access.clone(), grant.clone())),
        "after Redeemed, the access token must be found with the grant's scope, issued at the \
         redemption's now, expiring as planned"
    );
    let first_refresh = expected_refresh(
        first.refresh_token.as_ref().unwrap(),
        grant,
        &grant.scope,
        at,
    );
    assert_eq!(
        first_refresh.expires_at, grant.expires_at,
        "the fixture plans a refresh token outliving its grant"
    );
    assert_eq!(
        refresh_found(&store, &first_refresh.hash).await,
        Some(FoundRefreshToken {
            record: first_refresh.clone(),
            grant: grant.clone(),
            current: true,
        }),
        "after Redeemed, the refresh token must be found current, with the grant's scope, \
         issued at the redemption's now, and expiring no later than its grant (a token \
         planned to outlive the grant is capped at the grant's expiry)"
    );
    assert_eq!(
        ok(store.find_code(&issued.code_hash()).await, "find_code"),
        Some(issued.found_code(true)),
        "a redeemed code must stay findable, as stored, with redeemed = true \
         (RFC 6819 §5.2.1.1)"
    );

    let replay = redemption(&client, at + 5 * SECOND);
    assert_eq!(
        redeem(&store, &issued.code_hash(), &replay).await,
        Redemption::Revoked(grant.id),
        "redeem_code of a redeemed code by its own client, every other check passing, is a \
         replay: it must be Revoked with the grant's id (RFC 6819 §5.2.1.1)"
    );
    assert!(
        !redemption_stored(&store, &replay).await,
        "a replay must store no token"
    );
    assert!(
        !access_found(&store, &first_access.hash).await
            && refresh_found(&store, &first_refresh.hash).await.is_none(),
        "a replay must revoke the grant: the tokens the first redemption issued must no \
         longer be found"
    );
    assert!(
        !code_found(&store, &issued.code_hash()).await,
        "after a replay revoked its grant, the code must not be found"
    );
    let again = redemption(&client, at + 10 * SECOND);
    assert_eq!(
        redeem(&store, &issued.code_hash(), &again).await,
        Redemption::Refused(None),
        "redeem_code of a code whose grant a replay revoked must be Refused(None)"
    );
    assert!(
        !redemption_stored(&store, &again).await,
        "a refused redemption must store no token"
    );

    // Without a refresh token.
    let bare = Issued::code(&client, t).create_code(&store).await;
    let mut without = redemption(&client, at);
    without.refresh_token = None;
    assert_eq!(
        redeem(&store, &bare.code_hash(), &without).await,
        Redemption::Redeemed(bare.found_code(false)),
        "redeem_code without a planned refresh token must be Redeemed"
    );
    let bare_access = expected_access(&without.access_token, &bare.grant, &bare.grant.scope, at);
    assert_eq!(
        ok(
            store.find_access_token(&bare_access.hash).await,
            "find_access_token"
        ),
        Some((bare_access, bare.grant.clone())),
        "after Redeemed, the access token must be found as planned"
    );
    assert_eq!(
        ok(store.find_code(&bare.code_hash()).await, "find_code"),
        Some(bare.found_code(true)),
        "a redeemed code must be found with redeemed = true"
    );
}

/// `redeem_code` is [`Redemption::Refused`]`(None)`, storing nothing, for a
/// code never stored and for a code whose grant was revoked; such a code is
/// not found, and other codes stay as they were.
pub async fn redeem_unknown_or_revoked_code<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let live = Issued::code(&client, t).create_code(&store).await;

    let unknown = redemption(&client, t);
    assert_eq!(
        redeem(&store, &hash(), &unknown).await,
        Redemption::Refused(None),
        "redeem_code of a code never stored must be Refused(None)"
    );
    assert!(
        !redemption_stored(&store, &unknown).await,
        "redeem_code of an unknown code must store nothing"
    );
    assert_eq!(
        ok(store.find_code(&live.code_hash()).await, "find_code"),
        Some(live.found_code(false)),
        "a refused redemption of another code must leave this one unredeemed"
    );

    let revoked = Issued::code(&client, t).create_code(&store).await;
    assert!(ok(
        store.revoke_grant(&revoked.grant.id).await,
        "revoke_grant"
    ));
    assert!(
        !code_found(&store, &revoked.code_hash()).await,
        "find_code must return None for a code whose grant was revoked"
    );
    let late = redemption(&client, t);
    assert_eq!(
        redeem(&store, &revoked.code_hash(), &late).await,
        Redemption::Refused(None),
        "redeem_code of a code whose grant was revoked must be Refused(None)"
    );
    assert!(
        !redemption_stored(&store, &late).await,
        "redeem_code for a revoked grant must store nothing"
    );
}

/// `redeem_code` by a client other than the grant's is refused
/// ([`Redemption::Refused`] with the code as found) and changes nothing: no
/// token is stored, and the code stays redeemable by its own client.
pub async fn redeem_code_refuses_another_client<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let other = client_id("other-client");
    let issued = Issued::code(&client, t).create_code(&store).await;
    assert_refused(
        &store,
        &issued,
        redemption(&other, t),
        &client,
        "by another client than the grant's",
    )
    .await;
}

/// `redeem_code` checks `redirect_uri` (RFC 6749 §4.1.3): when the
/// authorization request named it, the token request must repeat it exactly
/// — a different one, one differing by a trailing slash, or none is refused;
/// when the authorization request omitted it, the token request may omit it
/// or send the code's own (both redeem), but not another. Each refusal
/// changes nothing and leaves the code redeemable.
pub async fn redeem_code_checks_the_redirect_uri<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");

    let refusals: [(Option<&str>, &str); 3] = [
        (
            Some("https://client.example/elsewhere"),
            "with another redirect_uri than the authorization request's",
        ),
        (
            Some("https://client.example/callback/"),
            "with a redirect_uri differing from the authorization request's by a trailing slash",
        ),
        (
            None,
            "without redirect_uri, though the authorization request had one",
        ),
    ];
    for (redirect_uri, what) in refusals {
        let issued = Issued::code(&client, t).create_code(&store).await;
        let asked = redemption(&client, t).redirect_uri(redirect_uri);
        assert_refused(&store, &issued, asked, &client, what).await;
    }

    // The authorization request omitted redirect_uri.
    let omitted = |issued: Issued| issued.with_code(|c| c.redirect_uri_in_request = false);
    for (redirect_uri, what) in [
        (None, "without redirect_uri, as the authorization request"),
        (
            Some(REDIRECT_URI),
            "with the code's redirect_uri, which the authorization request omitted",
        ),
    ] {
        let issued = omitted(Issued::code(&client, t)).create_code(&store).await;
        let asked = redemption(&client, t).redirect_uri(redirect_uri);
        let outcome = redeem(&store, &issued.code_hash(), &asked).await;
        assert_eq!(
            outcome,
            Redemption::Redeemed(issued.found_code(false)),
            "redeem_code {what} must be Redeemed"
        );
    }
    let issued = omitted(Issued::code(&client, t)).create_code(&store).await;
    let asked = redemption(&client, t).redirect_uri(Some("https://client.example/elsewhere"));
    assert_refused(
        &store,
        &issued,
        asked,
        &client,
        "with a redirect_uri other than the code's, though the authorization request omitted it",
    )
    .await;
}

/// `redeem_code` checks PKCE (RFC 7636 §4.6): for an S256 challenge the
/// verifier must hash to it — a wrong verifier, no verifier, or the
/// challenge itself sent as the verifier is refused; for a `plain` challenge
/// the verifier must equal it — a different one, none, or the one whose
/// S256 hash it is, is refused; for a code without a challenge no verifier
/// may come (RFC 9700 §4.8.2). Each refusal changes nothing and leaves the
/// code redeemable; each matching verifier redeems.
pub async fn redeem_code_checks_pkce<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");

    // S256 (the fixture's code).
    for (presented, what) in [
        (
            Some(WRONG_VERIFIER),
            "with a verifier that does not answer the S256 challenge",
        ),
        (
            None,
            "without a verifier, though the code has an S256 challenge",
        ),
        (
            Some(CHALLENGE),
            "with the S256 challenge itself as the verifier (compared as if plain)",
        ),
    ] {
        let issued = Issued::code(&client, t).create_code(&store).await;
        let asked = redemption(&client, t).code_verifier(presented.map(verifier));
        assert_refused(&store, &issued, asked, &client, what).await;
    }

    // `plain`: the challenge is the verifier. Its value is the S256 challenge
    // of VERIFIER, so a store hashing a plain challenge's verifier accepts
    // VERIFIER.
    let plain = |issued: Issued| {
        issued.with_code(|c| {
            c.challenge = Some(CodeChallenge::parse(CHALLENGE, Some("plain"), true).unwrap());
        })
    };
    for (presented, what) in [
        (
            Some(WRONG_VERIFIER),
            "with a verifier other than the plain challenge",
        ),
        (
            None,
            "without a verifier, though the code has a plain challenge",
        ),
        (
            Some(VERIFIER),
            "with a verifier whose S256 hash is the plain challenge (compared as if S256)",
        ),
    ] {
        let issued = plain(Issued::code(&client, t)).create_code(&store).await;
        let asked = redemption(&client, t).code_verifier(presented.map(verifier));
        let proper = redemption(&client, t).code_verifier(Some(verifier(CHALLENGE)));
        assert_refused_then(&store, &issued, asked, proper, what).await;
    }
    let issued = plain(Issued::code(&client, t)).create_code(&store).await;
    let asked = redemption(&client, t).code_verifier(Some(verifier(CHALLENGE)));
    assert_eq!(
        redeem(&store, &issued.code_hash(), &asked).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code with the verifier equal to the code's plain challenge must be Redeemed"
    );

    // No challenge: a verifier is a downgrade attempt.
    let unchallenged = |issued: Issued| issued.with_code(|c| c.challenge = None);
    let issued = unchallenged(Issued::code(&client, t))
        .create_code(&store)
        .await;
    let asked = redemption(&client, t);
    let proper = redemption(&client, t).code_verifier(None);
    assert_refused_then(
        &store,
        &issued,
        asked,
        proper,
        "with a verifier for a code issued without a challenge (RFC 9700 §4.8.2)",
    )
    .await;
}

/// `redeem_code` refuses a code at its expiry or later, storing nothing and
/// leaving it unredeemed (a store may already have dropped it: then the
/// answer is `Refused(None)`); one second before its expiry it redeems. A
/// live code whose grant has expired is refused the same way. A
/// redeemed code replayed after its expiry, by its own client, still
/// revokes the grant — a replay is recognised before expiry is checked — if
/// the store still holds the code.
pub async fn redeem_code_refuses_an_expired_code<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");

    for (after_expiry, what) in [
        (Duration::ZERO, "at its expiry"),
        (HOUR, "an hour after its expiry"),
    ] {
        let issued = Issued::code(&client, t).create_code(&store).await;
        let expires_at = issued.code.as_ref().unwrap().expires_at;
        let at = expires_at + after_expiry;
        let late = redemption(&client, at);
        let outcome = redeem(&store, &issued.code_hash(), &late).await;
        let found = ok(store.find_code(&issued.code_hash()).await, "find_code");
        match (&outcome, &found) {
            (Redemption::Refused(Some(as_found)), Some(_)) => assert_eq!(
                *as_found,
                issued.found_code(false),
                "redeem_code of a code {what} must be Refused with the code as found"
            ),
            (Redemption::Refused(None), None) => {}
            _ => panic!(
                "redeem_code of a code {what} must be Refused, and leave the code unredeemed \
                 (or not found, if the store dropped it already); got {outcome:?}, and then \
                 find_code returned {found:?}"
            ),
        }
        assert!(
            found.is_none_or(|f| !f.redeemed),
            "a refused redemption of an expired code must leave it unredeemed"
        );
        assert!(
            !redemption_stored(&store, &late).await,
            "redeem_code of an expired code must store no token"
        );
    }

    // A code whose grant ends first goes with it: no tokens that would be
    // born expired.
    let mut short = Issued::code(&client, t);
    short.grant.expires_at = t + SECOND;
    let short = short.create_code(&store).await;
    let after_grant = redemption(&client, t + SECOND);
    let outcome = redeem(&store, &short.code_hash(), &after_grant).await;
    assert!(
        matches!(&outcome, Redemption::Refused(found) if found.as_ref().is_none_or(|f| *f == short.found_code(false))),
        "redeem_code of a live code whose grant has expired must be Refused; got {outcome:?}"
    );
    assert!(
        !redemption_stored(&store, &after_grant).await,
        "redeem_code under an expired grant must store no token"
    );

    let issued = Issued::code(&client, t).create_code(&store).await;
    let expires_at = issued.code.as_ref().unwrap().expires_at;
    let just_in_time = redemption(&client, expires_at - SECOND);
    assert_eq!(
        redeem(&store, &issued.code_hash(), &just_in_time).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code one second before the code expires must be Redeemed"
    );
    let replay = redemption(&client, expires_at + MINUTE);
    let outcome = redeem(&store, &issued.code_hash(), &replay).await;
    match outcome {
        Redemption::Revoked(id) => {
            assert_eq!(id, issued.grant.id, "Revoked must carry the grant's id");
            assert!(
                !access_found(&store, &just_in_time.access_token.hash).await,
                "a replay must revoke the grant: the first redemption's access token must no \
                 longer be found"
            );
        }
        // The store dropped the expired code, as it may.
        Redemption::Refused(None) => assert!(
            !code_found(&store, &issued.code_hash()).await,
            "redeem_code answered Refused(None) for a replay of a code find_code still finds"
        ),
        other => panic!(
            "redeem_code of a redeemed code after its expiry, by its own client, is still a \
             replay: it must be Revoked (a replay is recognised before expiry is checked), \
             or Refused(None) if the store dropped the code; got {other:?}"
        ),
    }
    assert!(
        !redemption_stored(&store, &replay).await,
        "a replay must store no token"
    );
}

/// A replay that fails a check — by another client, with a wrong verifier,
/// without a verifier, with a wrong `redirect_uri` — is refused
/// ([`Redemption::Refused`] with the code as found, redeemed) and revokes
/// nothing: the tokens the code was redeemed for stay live, and the code
/// stays findable, redeemed. Only then does the replay by its own client,
/// passing every check, revoke the grant. (Otherwise anyone holding a
/// leaked code could revoke the victim's grant.)
pub async fn refused_replays_do_not_revoke<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let other = client_id("other-client");
    let issued = Issued::code(&client, t).create_code(&store).await;
    let first = redemption(&client, t);
    assert_eq!(
        redeem(&store, &issued.code_hash(), &first).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code of an unredeemed code, every check passing, must be Redeemed"
    );

    let replays = [
        (redemption(&other, t), "by another client"),
        (
            redemption(&client, t).code_verifier(Some(verifier(WRONG_VERIFIER))),
            "with a wrong verifier",
        ),
        (
            redemption(&client, t).code_verifier(None),
            "without a verifier",
        ),
        (
            redemption(&client, t).redirect_uri(Some("https://client.example/elsewhere")),
            "with a wrong redirect_uri",
        ),
        (
            redemption(&client, t).redirect_uri(None),
            "without redirect_uri",
        ),
    ];
    for (replay, what) in replays {
        let outcome = redeem(&store, &issued.code_hash(), &replay).await;
        assert_eq!(
            outcome,
            Redemption::Refused(Some(issued.found_code(true))),
            "a replay of a redeemed code {what} fails a check before the replay one: it must be \
             Refused with the code as found (redeemed), and must not revoke the grant"
        );
        assert!(
            !redemption_stored(&store, &replay).await,
            "a refused replay ({what}) must store no token"
        );
        assert!(
            access_found(&store, &first.access_token.hash).await
                && refresh_found(&store, &first.refresh_token.as_ref().unwrap().hash)
                    .await
                    .is_some_and(|r| r.current),
            "a refused replay ({what}) must not revoke the grant: the tokens the code was \
             redeemed for must stay live"
        );
        assert_eq!(
            ok(store.find_code(&issued.code_hash()).await, "find_code"),
            Some(issued.found_code(true)),
            "a refused replay ({what}) must leave the code findable, redeemed"
        );
    }

    assert_eq!(
        redeem(&store, &issued.code_hash(), &redemption(&client, t)).await,
        Redemption::Revoked(issued.grant.id),
        "after refused replays, a replay by the code's own client passing every check must \
         still be Revoked"
    );
    assert!(
        !access_found(&store, &first.access_token.hash).await,
        "a replay must revoke the grant and the tokens the code was redeemed for"
    );
}

/// Presents `asked` for `issued`'s code, stored and unredeemed, and asserts
/// the refusal changed nothing; then redeems it by `client` with every check
/// passing, which must succeed.
async fn assert_refused<S: AuthorizationCodeStore>(
    store: &S,
    issued: &Issued,
    asked: CodeRedemption,
    client: &ClientId,
    what: &str,
) {
    let at = asked.now;
    assert_refused_then(store, issued, asked, redemption(client, at), what).await;
}

/// Presents `asked` for `issued`'s code, stored and unredeemed, and asserts
/// the store refused it and changed nothing: [`Redemption::Refused`] with the
/// code as found, neither planned token stored, the code still unredeemed.
/// Then presents `proper`, which passes every check and must redeem: a
/// refusal leaves the code redeemable, and its grant unrevoked.
async fn assert_refused_then<S: AuthorizationCodeStore>(
    store: &S,
    issued: &Issued,
    asked: CodeRedemption,
    proper: CodeRedemption,
    what: &str,
) {
    let code = issued.code_hash();
    let outcome = redeem(store, &code, &asked).await;
    assert_eq!(
        outcome,
        Redemption::Refused(Some(issued.found_code(false))),
        "redeem_code {what} must be Refused with the code as found, changing nothing"
    );
    assert!(
        !redemption_stored(store, &asked).await,
        "a refused redemption ({what}) must store no token"
    );
    assert_eq!(
        ok(store.find_code(&code).await, "find_code"),
        Some(issued.found_code(false)),
        "a refused redemption ({what}) must leave the code findable and unredeemed"
    );
    let outcome = redeem(store, &code, &proper).await;
    assert_eq!(
        outcome,
        Redemption::Redeemed(issued.found_code(false)),
        "a refused redemption ({what}) must leave the code redeemable: a redemption passing \
         every check afterwards must be Redeemed (Refused(None) here means the refusal \
         revoked the grant)"
    );
    assert!(
        access_found(store, &proper.access_token.hash).await,
        "after Redeemed, the access token must be found"
    );
}
