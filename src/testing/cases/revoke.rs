//! Revocation: of a grant, of one access token, of every grant of a client,
//! and of a client's pending requests and device authorizations.

use super::device::collection;
use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, DeviceDecision, GrantId, GrantStore, Subject,
};
use crate::testing::fixtures::{
    Issued, Lineage, SECOND, access_found, assert_access_as_stored, client_id, code_found, device,
    hash, now, ok, pending, refresh_found, scope,
};

/// `revoke_grant` returns `true` for a stored grant, and afterwards none of
/// its access tokens or refresh tokens (current or rotated out) is found;
/// other grants, of the same client or another, are untouched. It returns
/// `false` for a grant already revoked or never stored.
pub async fn revoke_grant_kills_everything_of_the_grant<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let other = client_id("other-client");
    let doomed = Lineage::of_tokens(&store, &client, t).await;
    let sibling = Lineage::of_tokens(&store, &client, t).await;
    let stranger = Lineage::of_tokens(&store, &other, t).await;
    let sibling_issued = Issued::access_and_refresh(&client, t).create(&store).await;

    assert!(
        ok(
            store.revoke_grant(&doomed.issued.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a stored grant must return true"
    );
    assert!(
        !doomed.anything_found(&store).await,
        "after revoke_grant, no access token or refresh token (current or rotated out) of the \
         grant may be found"
    );
    assert!(
        sibling.all_found(&store).await && stranger.all_found(&store).await,
        "revoke_grant must leave the other grants' tokens as they were"
    );
    assert!(
        access_found(&store, &sibling_issued.access_hash()).await
            && refresh_found(&store, &sibling_issued.refresh_hash())
                .await
                .is_some_and(|r| r.current),
        "revoke_grant must leave the other grants' tokens as they were"
    );
    assert!(
        !ok(
            store.revoke_grant(&doomed.issued.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a grant already revoked must return false"
    );
    assert!(
        !ok(
            store.revoke_grant(&GrantId::generate()).await,
            "revoke_grant"
        ),
        "revoke_grant of a grant never stored must return false"
    );
    assert!(
        sibling.all_found(&store).await,
        "revoke_grant of an unknown grant must change nothing"
    );
}

/// `revoke_grant` kills the grant's code with its tokens: afterwards neither
/// its code (redeemed or not) nor any of its tokens is found, while other
/// grants' codes and tokens, of the same client or another, stay as they
/// were.
pub async fn revoke_grant_kills_the_codes_of_the_grant<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let t = now();
    let client = client_id("client");
    let other = client_id("other-client");
    let doomed = Lineage::create(&store, &client, t).await;
    let sibling = Lineage::create(&store, &client, t).await;
    let stranger = Lineage::create(&store, &other, t).await;
    let unredeemed = Issued::code(&client, t).create_code(&store).await;
    let sibling_code = Issued::code(&client, t).create_code(&store).await;

    for grant in [&doomed.issued.grant, &unredeemed.grant] {
        assert!(
            ok(store.revoke_grant(&grant.id).await, "revoke_grant"),
            "revoke_grant of a stored grant must return true"
        );
    }
    assert!(
        !doomed.anything_or_code_found(&store).await,
        "after revoke_grant, no code, access token or refresh token (current or rotated out) \
         of the grant may be found"
    );
    assert!(
        !code_found(&store, &unredeemed.code_hash()).await,
        "after revoke_grant, the grant's unredeemed code must not be found"
    );
    assert!(
        sibling.all_and_code_found(&store).await
            && stranger.all_and_code_found(&store).await
            && ok(
                store.find_code(&sibling_code.code_hash()).await,
                "find_code"
            ) == Some(sibling_code.found_code(false)),
        "revoke_grant must leave the other grants' codes and tokens as they were"
    );
}

/// `revoke_access_token` revokes that access token and nothing else: the
/// grant's other access tokens and its refresh tokens stay as they were. It
/// returns `false`, changing nothing, for a hash already revoked, never
/// stored, or held by a refresh token.
pub async fn revoke_access_token_revokes_only_that_token<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let lineage = Lineage::of_tokens(&store, &client, t).await;
    let other = Lineage::of_tokens(&store, &client, t).await;

    assert!(
        ok(
            store.revoke_access_token(&lineage.first_access.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a stored access token must return true"
    );
    assert!(
        !access_found(&store, &lineage.first_access.hash).await,
        "after revoke_access_token, find_access_token must return None for the token"
    );
    let grant = &lineage.issued.grant;
    assert_eq!(
        ok(
            store.find_access_token(&lineage.access.hash).await,
            "find_access_token"
        ),
        Some((lineage.access.clone(), grant.clone())),
        "revoke_access_token must leave the grant's other access tokens"
    );
    assert!(
        refresh_found(&store, &lineage.refresh.hash)
            .await
            .is_some_and(|r| r.current && r.record == lineage.refresh),
        "revoke_access_token must leave the grant's refresh token current"
    );
    assert!(
        refresh_found(&store, &lineage.first_refresh.hash)
            .await
            .is_some_and(|r| !r.current),
        "revoke_access_token must leave the grant's rotated-out refresh token findable"
    );
    assert!(
        other.all_found(&store).await,
        "revoke_access_token must leave other grants as they were"
    );

    assert!(
        !ok(
            store.revoke_access_token(&lineage.first_access.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a token already revoked must return false"
    );
    assert!(
        !ok(
            store.revoke_access_token(&hash()).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a hash never stored must return false"
    );
    assert!(
        !ok(
            store.revoke_access_token(&lineage.refresh.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a refresh token's hash must return false"
    );
    assert!(
        refresh_found(&store, &lineage.refresh.hash)
            .await
            .is_some_and(|r| r.current),
        "revoke_access_token of a refresh token's hash must leave it"
    );
}

/// `revoke_access_token` leaves codes alone: revoking an access token issued
/// for a redeemed code leaves the code findable, redeemed; and it returns
/// `false` for a code's hash, redeemed or not, leaving the code as it was.
pub async fn revoke_access_token_leaves_codes<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let lineage = Lineage::create(&store, &client, t).await;
    let unredeemed = Issued::code(&client, t).create_code(&store).await;

    assert!(
        ok(
            store.revoke_access_token(&lineage.first_access.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a stored access token must return true"
    );
    assert!(
        ok(
            store.find_code(&lineage.issued.code_hash()).await,
            "find_code"
        )
        .is_some_and(|c| c.redeemed),
        "revoke_access_token must leave the grant's redeemed code findable"
    );
    for code in [lineage.issued.code_hash(), unredeemed.code_hash()] {
        assert!(
            !ok(
                store.revoke_access_token(&code).await,
                "revoke_access_token"
            ),
            "revoke_access_token of a code's hash must return false"
        );
    }
    assert!(
        refresh_found(&store, &lineage.refresh.hash)
            .await
            .is_some_and(|r| r.current)
            && code_found(&store, &lineage.issued.code_hash()).await,
        "revoke_access_token of a refresh token's or a code's hash must leave it"
    );
    assert_eq!(
        ok(store.find_code(&unredeemed.code_hash()).await, "find_code"),
        Some(unredeemed.found_code(false)),
        "revoke_access_token of a code's hash must leave the code unredeemed"
    );
}

/// `revoke_client_grants` revokes every grant of the client — with their
/// access and refresh tokens — and returns how many grants went; another
/// client's grants stay.
pub async fn revoke_client_grants_spares_other_clients<S: GrantStore + Clone>(store: S) {
    let t = now();
    let doomed = client_id("doomed");
    let spared = client_id("spared");
    let lineage = Lineage::of_tokens(&store, &doomed, t).await;
    let with_access = Issued::access_and_refresh(&doomed, t).create(&store).await;
    let single = Issued::single_access(&doomed, t).create(&store).await;
    let spared_lineage = Lineage::of_tokens(&store, &spared, t).await;
    let spared_access = Issued::access_and_refresh(&spared, t).create(&store).await;

    let revoked = ok(
        store.revoke_client_grants(&doomed).await,
        "revoke_client_grants",
    );
    assert_eq!(
        revoked, 3,
        "revoke_client_grants must return how many grants of the client went"
    );
    assert!(
        !lineage.anything_found(&store).await
            && !access_found(&store, &with_access.access_hash()).await
            && refresh_found(&store, &with_access.refresh_hash())
                .await
                .is_none()
            && !access_found(&store, &single.access_hash()).await,
        "after revoke_client_grants, no access token or refresh token of the client's grants \
         may be found"
    );
    assert!(
        spared_lineage.all_found(&store).await
            && access_found(&store, &spared_access.access_hash()).await
            && refresh_found(&store, &spared_access.refresh_hash())
                .await
                .is_some_and(|r| r.current),
        "revoke_client_grants must leave other clients' grants as they were"
    );
    assert_eq!(
        ok(
            store.revoke_client_grants(&doomed).await,
            "revoke_client_grants"
        ),
        0,
        "revoke_client_grants of a client with no grants left must return 0"
    );
}

/// `revoke_client_grants` counts the client's grants made with a code and
/// kills their codes, redeemed or not, with their tokens; other clients'
/// codes stay as they were.
pub async fn revoke_client_grants_kills_the_clients_codes<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let t = now();
    let doomed = client_id("doomed");
    let spared = client_id("spared");
    let lineage = Lineage::create(&store, &doomed, t).await;
    let with_code = Issued::code(&doomed, t).create_code(&store).await;
    let spared_lineage = Lineage::create(&store, &spared, t).await;
    let spared_code = Issued::code(&spared, t).create_code(&store).await;

    assert_eq!(
        ok(
            store.revoke_client_grants(&doomed).await,
            "revoke_client_grants"
        ),
        2,
        "revoke_client_grants must return how many grants of the client went, those made \
         with a code included"
    );
    assert!(
        !lineage.anything_or_code_found(&store).await
            && !code_found(&store, &with_code.code_hash()).await,
        "after revoke_client_grants, no code, access token or refresh token of the client's \
         grants may be found"
    );
    assert!(
        spared_lineage.all_and_code_found(&store).await
            && ok(store.find_code(&spared_code.code_hash()).await, "find_code")
                .is_some_and(|c| !c.redeemed),
        "revoke_client_grants must leave other clients' grants as they were"
    );
}

/// `revoke_client_pending` drops every pending request of the client and
/// returns how many went; another client's pending requests stay, as saved.
pub async fn revoke_client_pending_spares_other_clients<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let t = now();
    let doomed = client_id("doomed");
    let spared = client_id("spared");
    let doomed_pending = [pending(&doomed, t), pending(&doomed, t)];
    for p in &doomed_pending {
        ok(store.save_pending(p.clone()).await, "save_pending");
    }
    let spared_pending = pending(&spared, t);
    ok(
        store.save_pending(spared_pending.clone()).await,
        "save_pending",
    );

    assert_eq!(
        ok(
            store.revoke_client_pending(&doomed).await,
            "revoke_client_pending"
        ),
        2,
        "revoke_client_pending must return how many pending requests of the client went"
    );
    for p in &doomed_pending {
        assert!(
            ok(store.find_pending(&p.hash).await, "find_pending").is_none(),
            "after revoke_client_pending, the client's pending requests must be gone"
        );
    }
    assert_eq!(
        ok(
            store.find_pending(&spared_pending.hash).await,
            "find_pending"
        ),
        Some(spared_pending),
        "revoke_client_pending must leave other clients' pending requests"
    );
    assert_eq!(
        ok(
            store.revoke_client_pending(&doomed).await,
            "revoke_client_pending"
        ),
        0,
        "revoke_client_pending of a client with no pending requests left must return 0"
    );
}

/// `revoke_client_device_authorizations` drops every device authorization of
/// the client, whatever its status — an approval not yet collected included,
/// which its client can then no longer collect — and returns how many went;
/// another client's stay, as saved.
pub async fn revoke_client_device_authorizations_spares_other_clients<
    S: DeviceAuthorizationStore + Clone,
>(
    store: S,
) {
    let t = now();
    let doomed = client_id("doomed");
    let spared = client_id("spared");
    let doomed_device = device(&doomed, t);
    let approved = device(&doomed, t);
    let spared_device = device(&spared, t);
    for d in [&doomed_device, &approved, &spared_device] {
        ok(
            store.save_device_authorization(d.clone()).await,
            "save_device_authorization",
        );
    }
    let approve = DeviceDecision::Approve {
        subject: Subject::new("alice"),
        scope: scope("read"),
    };
    assert!(ok(
        store
            .decide_device_authorization(&approved.device_code_hash, approve, t)
            .await,
        "decide_device_authorization"
    ));

    assert_eq!(
        ok(
            store.revoke_client_device_authorizations(&doomed).await,
            "revoke_client_device_authorizations"
        ),
        2,
        "revoke_client_device_authorizations must return how many device authorizations of \
         the client went"
    );
    for d in [&doomed_device, &approved] {
        assert!(
            ok(
                store.find_device_authorization(&d.user_code_hash).await,
                "find_device_authorization"
            )
            .is_none(),
            "after revoke_client_device_authorizations, the client's device authorizations \
             must be gone: a device code approved but not collected must not outlive its client"
        );
    }
    let offered = collection(t);
    let polled = ok(
        store
            .poll_device_code(&approved.device_code_hash, &doomed, t + SECOND, &offered)
            .await,
        "poll_device_code",
    );
    assert!(
        polled.is_none() && !access_found(&store, &offered.access_token.hash).await,
        "after revoke_client_device_authorizations, a poll of the client's approved device \
         code must find nothing and collect nothing"
    );
    assert_eq!(
        ok(
            store
                .find_device_authorization(&spared_device.user_code_hash)
                .await,
            "find_device_authorization"
        ),
        Some(spared_device),
        "revoke_client_device_authorizations must leave other clients' device authorizations"
    );
    assert_eq!(
        ok(
            store.revoke_client_device_authorizations(&doomed).await,
            "revoke_client_device_authorizations"
        ),
        0,
        "revoke_client_device_authorizations of a client with none left must return 0"
    );
}

/// A grant whose only secret is its first access token, with the grant's
/// scope and lifetime (client credentials), keeps every revocation contract:
/// `find_access_token` returns both as stored; `revoke_access_token` leaves
/// the grant, so `revoke_grant` still finds it; `revoke_grant` kills the
/// token; `revoke_client_grants` counts the grant.
pub async fn a_grant_of_one_access_token_is_revoked_like_any<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let token_first = Issued::single_access(&client, t).create(&store).await;
    let grant_first = Issued::single_access(&client, t).create(&store).await;
    let by_client = Issued::single_access(&client, t).create(&store).await;

    for issued in [&token_first, &grant_first, &by_client] {
        assert_access_as_stored(&store, issued).await;
    }

    assert!(
        ok(
            store.revoke_access_token(&token_first.access_hash()).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a stored access token must return true"
    );
    assert!(
        !access_found(&store, &token_first.access_hash()).await,
        "after revoke_access_token, find_access_token must return None for the token"
    );
    assert!(
        ok(
            store.revoke_grant(&token_first.grant.id).await,
            "revoke_grant"
        ),
        "revoke_access_token must leave the grant: revoke_grant must still find it"
    );

    assert!(
        ok(
            store.revoke_grant(&grant_first.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a stored grant must return true"
    );
    assert!(
        !access_found(&store, &grant_first.access_hash()).await,
        "after revoke_grant, the grant's access token must not be found"
    );
    assert!(
        !ok(
            store.revoke_grant(&grant_first.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a grant already revoked must return false"
    );

    assert!(
        access_found(&store, &by_client.access_hash()).await,
        "revoking other grants must leave this one"
    );
    assert_eq!(
        ok(
            store.revoke_client_grants(&client).await,
            "revoke_client_grants"
        ),
        1,
        "revoke_client_grants must count a grant of one access token"
    );
    assert!(
        !access_found(&store, &by_client.access_hash()).await,
        "after revoke_client_grants, the client's access tokens must not be found"
    );
}
