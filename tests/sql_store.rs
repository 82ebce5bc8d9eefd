//! The SQL store (`SqlStore`, feature `sql`): every storage contract, the
//! races that atomicity decides, persistence across a restart, and the
//! server's flows, on SQLite in memory, SQLite in a file, and — when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set — PostgreSQL, each test in a schema
//! of its own.
#![cfg(feature = "sql")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[macro_use]
mod sql_support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{
    CHALLENGE, Reply, TestClient, VERIFIER, basic, cc_request, param, redirect_params,
    refresh_request, token_request,
};
use portcullis::AuthorizationServer;
use portcullis::client::{
    Admission, AuthLimiter, Client, ClientId, ClientRegistration, ClientRegistry, ClientSecret,
    RegistrationQuota, ThrottlePolicy,
};
use portcullis::endpoint::Approval;
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
};
use portcullis::jose::{Algorithm, KeySet, SigningKey, UnverifiedJws};
use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};
use portcullis::protocol::openid::{ClaimsRequest, OpenIdParams};
use portcullis::protocol::{
    AuthorizationDetails, CodeChallenge, CodeVerifier, GrantType, Params, ResourceIndicator,
    ResourceSet, Scope,
};
use portcullis::store::{
    AccessTokenRecord, AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption,
    DeviceAuthorizationRecord, DeviceAuthorizationStore, DeviceCollection, DeviceDecision,
    DeviceStatus, FoundCode, FoundRefreshToken, GrantId, GrantRecord, GrantStore, IdTokenHint,
    NewCodeGrant, NewGrant, OpenIdGrant, OpenIdRequest, PendingAuthorizationRecord, PlannedToken,
    Redemption, RefreshRotation, RefreshTokenRecord, ResponseMode, ResponseType, Rotation,
    SqlStore, StoreError, Subject,
};
use portcullis::token::{ManualClock, TokenHash};
use rand::RngCore as _;
use sql_support::{Backend, TestDb};

on_every_backend!(
    clients_round_trip_through_their_serde_form,
    client_updates_compare_and_swap_on_the_registration_token,
    a_tampered_client_row_is_refused,
    grants_and_access_tokens,
    expired_records_stay_findable_until_purged,
    refresh_tokens_rotate_once_and_reuse_is_recognised,
    codes_are_redeemed_once_and_replays_are_recognised,
    revoking_a_grant_kills_everything_derived_from_it,
    revoking_a_clients_grants_spares_other_clients,
    pending_requests_are_taken_once,
    device_authorizations_keep_user_codes_unique_among_live_ones,
    device_decisions_happen_once,
    device_polls_are_serialised_and_slowed_down,
    device_codes_are_redeemed_once,
    concurrent_redemptions_of_one_code_have_one_winner,
    concurrent_rotations_of_one_refresh_token_have_one_winner,
    concurrent_takes_of_one_pending_request_have_one_winner,
    concurrent_redemptions_of_one_device_code_have_one_winner,
    concurrent_decisions_and_polls_are_serialised,
    opening_is_idempotent_and_state_survives_a_restart,
    replicas_opening_one_database_at_once_migrate_it_once,
    a_newer_schema_is_refused,
    a_version_1_database_is_migrated,
    debug_shows_no_secrets,
    the_database_holds_only_hashes,
    server_client_credentials_flow,
    server_code_flow_with_pkce_and_refresh_rotation,
    server_openid_flow_keeps_the_authentication_in_the_database,
    server_device_flow,
    the_limiter_is_shared_by_replicas,
    replicas_throttle_a_guesser_together,
);

// ---------------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------------

/// A realistic time with nanoseconds, so an inexact round trip shows.
fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn random_hash() -> TokenHash {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    TokenHash::from_bytes(bytes)
}

fn scope(s: &str) -> Scope {
    s.parse().unwrap()
}

/// `ClientId` has no public constructor; take one from a registration.
fn client_id(id: &str) -> ClientId {
    native_client(id).id().clone()
}

fn native_client(id: &str) -> Client {
    ClientRegistration::native()
        .client_id(id)
        .name("Example CLI")
        .redirect_uri("http://127.0.0.1/cb")
        .grant_type(GrantType::AUTHORIZATION_CODE)
        .grant_type(GrantType::REFRESH_TOKEN)
        .scope(scope("read write"))
        .register()
        .unwrap()
        .client
}

fn grant_for(client: &ClientId, now: SystemTime, lifetime: Duration) -> GrantRecord {
    GrantRecord {
        id: GrantId::generate(),
        client_id: client.clone(),
        subject: Some(Subject::new("alice")),
        scope: scope("read write"),
        // Identifiers the SQL could trip on: a quote, a percent sign.
        resources: resources(&["https://api.example/o'brien", "urn:x:100%"]),
        // RFC 9396 details with text that would be SQL, and nested JSON.
        authorization_details: AuthorizationDetails::parse(
            r#"[{"type":"payment_initiation","actions":["initiate"],
                "creditorName":"o'brien'); DROP TABLE grants; --",
                "instructedAmount":{"currency":"EUR","amount":"1.50"}}]"#,
        )
        .unwrap(),
        openid: Some(Arc::new(openid_grant())),
        created_at: now,
        expires_at: now + lifetime,
    }
}

/// An OpenID Connect grant's record with values a JSON column could trip on.
fn openid_grant() -> OpenIdGrant {
    let mut openid = OpenIdGrant::default();
    openid.nonce = Some("n'\"}{ü".to_owned());
    openid.auth_time = Some(1_700_000_000);
    openid.acr = Some("urn:mace:incommon:iap:silver".to_owned());
    openid.amr = vec!["pwd".to_owned(), "otp".to_owned()];
    openid.session_id = Some("sid-1".to_owned());
    openid.claims = Some(
        ClaimsRequest::parse(
            r#"{"userinfo":{"email":{"essential":true}},"id_token":{"acr":{"values":["a","b"]}}}"#,
        )
        .unwrap(),
    );
    openid.claims_locales = vec!["de-CH".to_owned()];
    openid
}

/// An OpenID Connect request as a pending request keeps it.
fn openid_request() -> OpenIdRequest {
    let params = Params::parse(
        b"nonce=n%27%22x&prompt=login%20consent&max_age=0&ui_locales=fr%20en&login_hint=a%40b&acr_values=urn%3A1&claims=%7B%22userinfo%22%3A%7B%22name%22%3Anull%7D%7D",
    )
    .unwrap();
    OpenIdRequest::new(
        OpenIdParams::from_params(&params).unwrap(),
        Some(IdTokenHint::new("pairwise-sub", Some("sid-9".to_owned()))),
    )
}

fn resources(all: &[&str]) -> ResourceSet {
    ResourceSet::new(all.iter().map(|r| ResourceIndicator::new(r).unwrap()))
}

fn access_for(grant: &GrantRecord, now: SystemTime, lifetime: Duration) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: random_hash(),
        grant_id: grant.id,
        scope: scope("read"),
        audience: resources(&["urn:x:100%"]),
        issued_at: now,
        expires_at: now + lifetime,
        exchange: None,
        cnf: None,
        authorization_details: AuthorizationDetails::empty(),
    }
}

fn refresh_for(grant: &GrantRecord, now: SystemTime, lifetime: Duration) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: random_hash(),
        grant_id: grant.id,
        scope: scope("read write"),
        issued_at: now,
        expires_at: now + lifetime,
        cnf: None,
    }
}

fn code_for(grant: &GrantRecord, now: SystemTime) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: random_hash(),
        grant_id: grant.id,
        redirect_uri: Arc::from("http://127.0.0.1/cb"),
        redirect_uri_in_request: true,
        challenge: Some(CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap()),
        issued_at: now,
        expires_at: now + secs(60),
        dpop_jkt: None,
    }
}

fn planned(now: SystemTime, lifetime: Duration) -> PlannedToken {
    PlannedToken::new(random_hash(), now + lifetime)
}

/// A redemption by `client` at `now` that a code made by `code_for` passes:
/// an access token living ten minutes, a refresh token living half an hour.
fn redemption_for(client: &ClientId, now: SystemTime) -> CodeRedemption {
    CodeRedemption::new(
        client.clone(),
        now,
        planned(now, secs(600)),
        Some(planned(now, secs(1800))),
    )
    .redirect_uri(Some("http://127.0.0.1/cb"))
    .code_verifier(Some(CodeVerifier::parse(VERIFIER).unwrap()))
}

/// What a device poll at `now` collects if it finds an approval: a grant
/// living an hour, an access token living ten minutes, a refresh token
/// living half an hour.
fn collection_at(now: SystemTime) -> DeviceCollection {
    DeviceCollection::new(
        GrantId::generate(),
        now + secs(3600),
        planned(now, secs(600)),
        Some(planned(now, secs(1800))),
    )
}

/// A rotation by `client` at `now`, not narrowing the scope.
fn rotation_for(client: &ClientId, now: SystemTime) -> RefreshRotation {
    RefreshRotation::new(
        client.clone(),
        None,
        now,
        planned(now, secs(1800)),
        planned(now, secs(600)),
    )
}

/// A grant with an access token and a refresh token, stored.
async fn issued(
    store: &SqlStore,
    client: &ClientId,
) -> (GrantRecord, AccessTokenRecord, RefreshTokenRecord) {
    let grant = grant_for(client, t0(), secs(3600));
    let access = access_for(&grant, t0(), secs(600));
    let refresh = refresh_for(&grant, t0(), secs(1800));
    store
        .create_grant(
            NewGrant::with_access_token(grant.clone(), access.clone())
                .and_refresh_token(refresh.clone()),
        )
        .await
        .unwrap();
    (grant, access, refresh)
}

/// A grant with an authorization code, stored.
async fn coded(store: &SqlStore, client: &ClientId) -> (GrantRecord, AuthorizationCodeRecord) {
    let grant = grant_for(client, t0(), secs(3600));
    let code = code_for(&grant, t0());
    store
        .create_code_grant(NewCodeGrant::new(grant.clone(), code.clone()))
        .await
        .unwrap();
    (grant, code)
}

fn pending_for(client: &ClientId) -> PendingAuthorizationRecord {
    PendingAuthorizationRecord {
        hash: random_hash(),
        client_id: client.clone(),
        response_type: ResponseType::Code,
        redirect_uri: Arc::from("http://127.0.0.1/cb"),
        redirect_uri_in_request: false,
        scope: scope("read"),
        resources: resources(&["https://api.example/"]),
        authorization_details: AuthorizationDetails::parse(
            r#"[{"type":"account_information","datatypes":["balances"],"identifier":"x'y"}]"#,
        )
        .unwrap(),
        openid: Some(Arc::new(openid_request())),
        // Data that would be SQL if it were pasted into a statement.
        state: Some("x'); DROP TABLE grants; -- ü".to_owned()),
        response_mode: ResponseMode::FormPost,
        challenge: Some(CodeChallenge::parse(CHALLENGE, Some("S256"), false).unwrap()),
        created_at: t0(),
        expires_at: t0() + secs(600),
        dpop_jkt: None,
    }
}

fn device_for(client: &ClientId, now: SystemTime) -> DeviceAuthorizationRecord {
    DeviceAuthorizationRecord {
        device_code_hash: random_hash(),
        user_code_hash: random_hash(),
        client_id: client.clone(),
        scope: scope("read write"),
        created_at: now,
        expires_at: now + secs(600),
        interval: secs(5),
        last_polled_at: None,
        status: DeviceStatus::Pending,
    }
}

fn approve(subject: &str) -> DeviceDecision {
    DeviceDecision::Approve {
        subject: Subject::new(subject),
        scope: scope("read"),
    }
}

// ---------------------------------------------------------------------------
// Clients.
// ---------------------------------------------------------------------------

async fn clients_round_trip_through_their_serde_form(db: &TestDb) {
    let store = db.open().await;
    let registered = ClientRegistration::web_application()
        .name("Reports")
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .scope(scope("reports:read"))
        .register()
        .unwrap();
    let client = registered.client;
    let secret = registered.secret.unwrap();
    store.insert_client(client.clone()).await.unwrap();

    let found = store
        .find_client(client.id().as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*found, client);
    // Only the secret's hash was stored, and it still verifies.
    assert!(found.secret_hash().unwrap().verify(secret.expose_secret()));
    assert!(store.find_client("unknown").await.unwrap().is_none());

    // A duplicate identifier is a conflict and changes nothing.
    let imposter = ClientRegistration::web_application()
        .client_id(client.id().as_str())
        .grant_type(GrantType::CLIENT_CREDENTIALS)
        .import_secret(ClientSecret::new("a person's chosen secret, long enough"))
        .register()
        .unwrap()
        .client;
    assert!(matches!(
        store.insert_client(imposter).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        *store
            .find_client(client.id().as_str())
            .await
            .unwrap()
            .unwrap(),
        client
    );
    // A public client (no secret) round-trips too, even with a quote in
    // its identifier.
    let public = native_client("o'brien';--");
    store.insert_client(public.clone()).await.unwrap();
    assert_eq!(
        *store.find_client("o'brien';--").await.unwrap().unwrap(),
        public
    );
}

/// `client` with `token` as its registration access token hash (the field
/// dynamic registration sets), renamed to `name`.
fn with_registration_token(client: &Client, token: &TokenHash, name: &str) -> Client {
    let mut json = serde_json::to_value(client).unwrap();
    json["registration_access_token_hash"] = token.to_hex().into();
    json["client_name"] = name.into();
    serde_json::from_value(json).unwrap()
}

async fn client_updates_compare_and_swap_on_the_registration_token(db: &TestDb) {
    let store = db.open().await;
    let (a, b, c) = (random_hash(), random_hash(), random_hash());
    let original = with_registration_token(&native_client("managed"), &a, "v1");
    store.insert_client(original.clone()).await.unwrap();

    // A wrong token: no swap.
    let v2 = with_registration_token(&original, &c, "v2");
    assert!(!store.update_client(v2.clone(), Some(&b)).await.unwrap());
    assert_eq!(
        *store.find_client("managed").await.unwrap().unwrap(),
        original
    );
    // The current one: swapped, and the stored token is the new one.
    assert!(store.update_client(v2.clone(), Some(&a)).await.unwrap());
    let stored = store.find_client("managed").await.unwrap().unwrap();
    assert_eq!(stored.name(), Some("v2"));
    assert_eq!(stored.registration_access_token_hash(), Some(&c));
    // The retired token no longer swaps or deletes.
    assert!(
        !store
            .update_client(original.clone(), Some(&a))
            .await
            .unwrap()
    );
    assert!(!store.delete_client("managed", Some(&a)).await.unwrap());
    assert!(store.find_client("managed").await.unwrap().is_some());
    // Concurrent updates presenting the current token: exactly one wins.
    let wins = race(32, |i| {
        let store = store.clone();
        let next = with_registration_token(&original, &random_hash(), &format!("racer {i}"));
        async move { store.update_client(next, Some(&c)).await.unwrap() }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    // Without a condition, an update and a delete just happen.
    assert!(store.update_client(v2.clone(), None).await.unwrap());
    assert!(store.delete_client("managed", Some(&c)).await.unwrap());
    assert!(store.find_client("managed").await.unwrap().is_none());
    assert!(!store.delete_client("managed", None).await.unwrap());
    // An update never inserts.
    assert!(!store.update_client(v2, None).await.unwrap());
    assert!(store.find_client("managed").await.unwrap().is_none());
}

async fn a_tampered_client_row_is_refused(db: &TestDb) {
    let store = db.open().await;
    store.insert_client(native_client("cli")).await.unwrap();
    // A public client given a client_secret_basic method by hand is not a
    // valid registration: the store fails rather than trust it.
    let changed = db
        .execute_raw(
            "UPDATE clients SET client = replace(client, '\"none\"', '\"client_secret_basic\"')",
        )
        .await;
    if changed {
        assert!(matches!(
            store.find_client("cli").await,
            Err(StoreError::Backend(_))
        ));
    }
}

// ---------------------------------------------------------------------------
// Grants and tokens.
// ---------------------------------------------------------------------------

async fn grants_and_access_tokens(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let (grant, access, refresh) = issued(&store, &client).await;

    let (found, found_grant) = store
        .find_access_token(&access.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, access);
    assert_eq!(found_grant, grant);
    let found = store
        .find_refresh_token(&refresh.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.record, found.grant, found.current),
        (refresh.clone(), grant.clone(), true)
    );
    assert!(
        store
            .find_access_token(&random_hash())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_refresh_token(&access.hash)
            .await
            .unwrap()
            .is_none()
    );

    // A grant acting for the client itself has no subject.
    let own = GrantRecord {
        subject: None,
        scope: Scope::empty(),
        ..grant_for(&client, t0(), secs(60))
    };
    let own_token = AccessTokenRecord {
        scope: Scope::empty(),
        ..access_for(&own, t0(), secs(60))
    };
    store
        .create_grant(NewGrant::with_access_token(own.clone(), own_token.clone()))
        .await
        .unwrap();
    let (_, found_own) = store
        .find_access_token(&own_token.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found_own, own);

    // A duplicate key is a conflict, and nothing of the new grant is stored.
    let clash = grant_for(&client, t0(), secs(60));
    let result = store
        .create_grant(NewGrant::with_access_token(
            clash.clone(),
            AccessTokenRecord {
                hash: access.hash,
                ..access_for(&clash, t0(), secs(60))
            },
        ))
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert!(!store.revoke_grant(&clash.id).await.unwrap());

    // Revoking one access token leaves its grant and refresh token.
    assert!(store.revoke_access_token(&access.hash).await.unwrap());
    assert!(
        store
            .find_access_token(&access.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.revoke_access_token(&access.hash).await.unwrap());
    assert!(
        store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.revoke_grant(&grant.id).await.unwrap());
}

async fn expired_records_stay_findable_until_purged(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    // A grant that lives 1 h with a token that lives 10 min, and a code.
    let (grant, access, refresh) = issued(&store, &client).await;
    let (_, code) = coded(&store, &client).await;
    let pending = pending_for(&client);
    store.save_pending(pending.clone()).await.unwrap();
    let device = device_for(&client, t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();

    // Callers check expiry: an expired record is still returned.
    assert!(
        store
            .find_access_token(&access.hash)
            .await
            .unwrap()
            .is_some()
    );
    // Nothing has expired at t0: a purge removes nothing.
    assert_eq!(store.purge_expired(t0()).await.unwrap(), 0);
    assert_eq!(store.purge_expired_codes(t0()).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_expired_device_authorizations(t0())
            .await
            .unwrap(),
        0
    );

    // At +10 min the access token (expires exactly then) goes, and the code
    // (60 s), the pending request and the device authorization (10 min),
    // each with the purge of its store.
    let later = t0() + secs(600);
    let tokens = store.purge_expired(later).await.unwrap();
    let codes = store.purge_expired_codes(later).await.unwrap();
    let devices = store
        .purge_expired_device_authorizations(later)
        .await
        .unwrap();
    assert_eq!((tokens, codes, devices), (1, 2, 1));
    assert_eq!(tokens + codes + devices, 4);
    assert!(
        store
            .find_access_token(&access.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_code(&code.hash).await.unwrap().is_none());
    assert!(store.find_pending(&pending.hash).await.unwrap().is_none());
    assert!(
        store
            .find_device_authorization(&device.user_code_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_some()
    );

    // When the grants expire, they go with their refresh token: two grants
    // (the code's and the tokens') and one refresh token.
    assert_eq!(store.purge_expired(grant.expires_at).await.unwrap(), 3);
    assert!(
        store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.revoke_grant(&grant.id).await.unwrap());

    // Tokens of a revoked grant are unreachable at once and purged before
    // they expire.
    let (grant, access, refresh) = issued(&store, &client).await;
    assert!(store.revoke_grant(&grant.id).await.unwrap());
    assert!(
        store
            .find_access_token(&access.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.purge_expired(t0()).await.unwrap(), 2);
    assert!(
        store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_none()
    );

    // So is the code of a revoked grant, by the codes' purge.
    let (grant, _) = coded(&store, &client).await;
    assert!(store.revoke_grant(&grant.id).await.unwrap());
    assert_eq!(store.purge_expired_codes(t0()).await.unwrap(), 1);
}

async fn refresh_tokens_rotate_once_and_reuse_is_recognised(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let (grant, first_access, old) = issued(&store, &client).await;
    let later = t0() + secs(60);
    // A refresh token planned to outlive the grant (an hour): capped, to the
    // nanosecond.
    let mut rotation = rotation_for(&client, later);
    rotation.refresh_token = planned(later, secs(7200));
    assert_eq!(
        store
            .rotate_refresh_token(&old.hash, &rotation)
            .await
            .unwrap(),
        Rotation::Rotated(FoundRefreshToken {
            record: old.clone(),
            grant: grant.clone(),
            current: true,
        })
    );
    // The old one stays findable, rotated out, so its reuse is recognised.
    let found = store.find_refresh_token(&old.hash).await.unwrap().unwrap();
    assert!(!found.current);
    let refresh2 = RefreshTokenRecord {
        hash: rotation.refresh_token.hash,
        grant_id: grant.id,
        scope: old.scope.clone(),
        issued_at: later,
        expires_at: grant.expires_at,
        cnf: None,
    };
    let found = store
        .find_refresh_token(&refresh2.hash)
        .await
        .unwrap()
        .unwrap();
    assert!(found.current);
    assert_eq!(found.record, refresh2);
    let access2 = AccessTokenRecord {
        hash: rotation.access_token.hash,
        grant_id: grant.id,
        scope: old.scope.clone(),
        audience: ResourceSet::empty(),
        issued_at: later,
        expires_at: later + secs(600),
        exchange: None,
        cnf: None,
        // A token planned without details of its own carries the grant's.
        authorization_details: grant.authorization_details.clone(),
    };
    assert_eq!(
        store
            .find_access_token(&access2.hash)
            .await
            .unwrap()
            .unwrap()
            .0,
        access2
    );

    // Narrowing the access token's scope; the refresh token keeps its own.
    let mut narrowed = rotation_for(&client, later);
    narrowed.scope = Some(scope("read"));
    assert!(matches!(
        store
            .rotate_refresh_token(&refresh2.hash, &narrowed)
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    let (access3, _) = store
        .find_access_token(&narrowed.access_token.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access3.scope, scope("read"));
    let refresh3 = store
        .find_refresh_token(&narrowed.refresh_token.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh3.record.scope, scope("read write"));
    assert!(refresh3.current);

    // Widening, or another client: refused, nothing stored, nothing revoked.
    let mut widened = rotation_for(&client, later);
    widened.scope = Some(scope("read write admin"));
    let stranger = rotation_for(&client_id("other"), later);
    for refused in [&widened, &stranger] {
        assert_eq!(
            store
                .rotate_refresh_token(&refresh3.record.hash, refused)
                .await
                .unwrap(),
            Rotation::Refused(Some(refresh3.clone()))
        );
        assert!(
            store
                .find_access_token(&refused.access_token.hash)
                .await
                .unwrap()
                .is_none()
        );
    }
    // Another client presenting a rotated-out token is not a reuse.
    assert!(matches!(
        store.rotate_refresh_token(&old.hash, &stranger).await.unwrap(),
        Rotation::Refused(Some(found)) if !found.current
    ));
    assert!(
        store
            .find_refresh_token(&refresh3.record.hash)
            .await
            .unwrap()
            .unwrap()
            .current
    );

    // Presenting a rotated-out token by its own client is a reuse: the grant
    // is revoked, and nothing stored.
    let reuse = rotation_for(&client, later);
    assert_eq!(
        store.rotate_refresh_token(&old.hash, &reuse).await.unwrap(),
        Rotation::Revoked(grant.id)
    );
    for hash in [&reuse.refresh_token.hash, &refresh3.record.hash, &old.hash] {
        assert!(store.find_refresh_token(hash).await.unwrap().is_none());
    }
    for hash in [&reuse.access_token.hash, &access2.hash, &first_access.hash] {
        assert!(store.find_access_token(hash).await.unwrap().is_none());
    }
    // Once the grant is revoked, its current token is unknown.
    assert_eq!(
        store
            .rotate_refresh_token(&refresh3.record.hash, &rotation_for(&client, later))
            .await
            .unwrap(),
        Rotation::Refused(None)
    );
    // An unknown token: nothing stored.
    let unknown = rotation_for(&client, later);
    assert_eq!(
        store
            .rotate_refresh_token(&random_hash(), &unknown)
            .await
            .unwrap(),
        Rotation::Refused(None)
    );
    assert!(
        store
            .find_refresh_token(&unknown.refresh_token.hash)
            .await
            .unwrap()
            .is_none()
    );
}

async fn codes_are_redeemed_once_and_replays_are_recognised(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let (grant, code) = coded(&store, &client).await;
    let found = store.find_code(&code.hash).await.unwrap().unwrap();
    assert_eq!(
        (found.code, found.grant, found.redeemed),
        (code.clone(), grant.clone(), false)
    );
    let unredeemed = FoundCode {
        code: code.clone(),
        grant: grant.clone(),
        redeemed: false,
    };

    // Another client, a wrong verifier, a wrong redirect URI: refused,
    // nothing stored, the code still redeemable.
    let now = t0() + secs(5);
    let refusals = [
        redemption_for(&client_id("other"), now),
        redemption_for(&client, now).code_verifier(Some(CodeVerifier::parse(CHALLENGE).unwrap())),
        redemption_for(&client, now).code_verifier(None),
        redemption_for(&client, now).redirect_uri(Some("http://127.0.0.1/cb/")),
        redemption_for(&client, now).redirect_uri(None),
    ];
    for refused in &refusals {
        assert_eq!(
            store.redeem_code(&code.hash, refused).await.unwrap(),
            Redemption::Refused(Some(unredeemed.clone()))
        );
        assert!(
            store
                .find_access_token(&refused.access_token.hash)
                .await
                .unwrap()
                .is_none()
        );
    }

    // A refresh token planned to outlive the grant (an hour): capped, to the
    // nanosecond.
    let mut redemption = redemption_for(&client, now);
    redemption.refresh_token = Some(planned(now, secs(7200)));
    assert_eq!(
        store.redeem_code(&code.hash, &redemption).await.unwrap(),
        Redemption::Redeemed(unredeemed.clone())
    );
    let access = AccessTokenRecord {
        hash: redemption.access_token.hash,
        grant_id: grant.id,
        scope: grant.scope.clone(),
        audience: ResourceSet::empty(),
        issued_at: now,
        expires_at: now + secs(600),
        exchange: None,
        cnf: None,
        // A token planned without details of its own carries the grant's.
        authorization_details: grant.authorization_details.clone(),
    };
    assert_eq!(
        store.find_access_token(&access.hash).await.unwrap(),
        Some((access.clone(), grant.clone()))
    );
    let refresh = RefreshTokenRecord {
        hash: redemption.refresh_token.as_ref().unwrap().hash,
        grant_id: grant.id,
        scope: grant.scope.clone(),
        issued_at: now,
        expires_at: grant.expires_at,
        cnf: None,
    };
    assert_eq!(
        store.find_refresh_token(&refresh.hash).await.unwrap(),
        Some(FoundRefreshToken {
            record: refresh.clone(),
            grant: grant.clone(),
            current: true,
        })
    );
    // A redeemed code stays findable, as redeemed, so a replay is recognised.
    assert!(store.find_code(&code.hash).await.unwrap().unwrap().redeemed);
    // A replay that fails a check revokes nothing.
    let stranger = redemption_for(&client_id("other"), now);
    assert!(matches!(
        store.redeem_code(&code.hash, &stranger).await.unwrap(),
        Redemption::Refused(Some(found)) if found.redeemed
    ));
    assert!(
        store
            .find_access_token(&access.hash)
            .await
            .unwrap()
            .is_some()
    );
    // The replay by its own client revokes the grant, and stores nothing.
    let replayed = redemption_for(&client, now);
    assert_eq!(
        store.redeem_code(&code.hash, &replayed).await.unwrap(),
        Redemption::Revoked(grant.id)
    );
    for hash in [&access.hash, &replayed.access_token.hash] {
        assert!(store.find_access_token(hash).await.unwrap().is_none());
    }
    assert!(
        store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_code(&code.hash).await.unwrap().is_none());
    assert_eq!(
        store.redeem_code(&code.hash, &replayed).await.unwrap(),
        Redemption::Refused(None)
    );
    assert_eq!(
        store
            .redeem_code(&random_hash(), &redemption_for(&client, now))
            .await
            .unwrap(),
        Redemption::Refused(None)
    );

    // A code without PKCE, the redirect URI not named in the authorization
    // request: a verifier is refused; redeemed without one, and without a
    // refresh token.
    let grant2 = grant_for(&client, t0(), secs(3600));
    let bare = AuthorizationCodeRecord {
        challenge: None,
        redirect_uri_in_request: false,
        ..code_for(&grant2, t0())
    };
    store
        .create_code_grant(NewCodeGrant::new(grant2.clone(), bare.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.find_code(&bare.hash).await.unwrap().unwrap().code,
        bare
    );
    let downgrade = redemption_for(&client, now).redirect_uri(None);
    assert!(matches!(
        store.redeem_code(&bare.hash, &downgrade).await.unwrap(),
        Redemption::Refused(Some(_))
    ));
    let mut plain = redemption_for(&client, now)
        .redirect_uri(None)
        .code_verifier(None);
    plain.refresh_token = None;
    assert!(matches!(
        store.redeem_code(&bare.hash, &plain).await.unwrap(),
        Redemption::Redeemed(_)
    ));
    assert!(
        store
            .find_access_token(&plain.access_token.hash)
            .await
            .unwrap()
            .is_some()
    );

    // A revoked grant's code is unknown: found by nothing, redeemed by none.
    let (grant3, code3) = coded(&store, &client).await;
    assert!(store.revoke_grant(&grant3.id).await.unwrap());
    assert!(store.find_code(&code3.hash).await.unwrap().is_none());
    let late = redemption_for(&client, now);
    assert_eq!(
        store.redeem_code(&code3.hash, &late).await.unwrap(),
        Redemption::Refused(None)
    );
    assert!(
        store
            .find_access_token(&late.access_token.hash)
            .await
            .unwrap()
            .is_none()
    );
}

async fn revoking_a_grant_kills_everything_derived_from_it(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let (grant, code) = coded(&store, &client).await;
    let now = t0() + secs(1);
    let redemption = redemption_for(&client, now);
    store.redeem_code(&code.hash, &redemption).await.unwrap();
    let refresh = redemption.refresh_token.as_ref().unwrap().hash;
    let rotation = rotation_for(&client, now);
    store
        .rotate_refresh_token(&refresh, &rotation)
        .await
        .unwrap();
    // Another grant of the same client is untouched.
    let (other, other_access, _) = issued(&store, &client).await;

    assert!(store.revoke_grant(&grant.id).await.unwrap());
    assert!(store.find_code(&code.hash).await.unwrap().is_none());
    for hash in [&redemption.access_token.hash, &rotation.access_token.hash] {
        assert!(store.find_access_token(hash).await.unwrap().is_none());
    }
    for hash in [&refresh, &rotation.refresh_token.hash] {
        assert!(store.find_refresh_token(hash).await.unwrap().is_none());
    }
    assert!(!store.revoke_grant(&grant.id).await.unwrap());
    let (_, found) = store
        .find_access_token(&other_access.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, other.id);
}

async fn revoking_a_clients_grants_spares_other_clients(db: &TestDb) {
    let store = db.open().await;
    let (mine, theirs) = (client_id("mine"), client_id("theirs"));
    let mut my_tokens = Vec::new();
    for _ in 0..3 {
        my_tokens.push(issued(&store, &mine).await.1);
    }
    let (_, my_code) = coded(&store, &mine).await;
    let my_pending = pending_for(&mine);
    store.save_pending(my_pending.clone()).await.unwrap();
    let (_, their_token, _) = issued(&store, &theirs).await;
    let their_pending = pending_for(&theirs);
    store.save_pending(their_pending.clone()).await.unwrap();
    // An approved device authorization not collected yet must not outlive
    // its client.
    let my_device = device_for(&mine, t0());
    store
        .save_device_authorization(my_device.clone())
        .await
        .unwrap();
    assert!(
        store
            .decide_device_authorization(&my_device.device_code_hash, approve("alice"), t0())
            .await
            .unwrap()
    );
    let their_device = device_for(&theirs, t0());
    store
        .save_device_authorization(their_device.clone())
        .await
        .unwrap();

    // What deleting a client drops, store by store.
    assert_eq!(store.revoke_client_grants(&mine).await.unwrap(), 4);
    assert_eq!(store.revoke_client_pending(&mine).await.unwrap(), 1);
    assert_eq!(
        store
            .revoke_client_device_authorizations(&mine)
            .await
            .unwrap(),
        1
    );
    for token in &my_tokens {
        assert!(
            store
                .find_access_token(&token.hash)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(store.find_code(&my_code.hash).await.unwrap().is_none());
    assert!(
        store
            .find_pending(&my_pending.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_access_token(&their_token.hash)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_pending(&their_pending.hash)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_device_authorization(&my_device.user_code_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_device_authorization(&their_device.user_code_hash)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.revoke_client_grants(&mine).await.unwrap(), 0);
    assert_eq!(store.revoke_client_pending(&mine).await.unwrap(), 0);
    assert_eq!(
        store
            .revoke_client_device_authorizations(&mine)
            .await
            .unwrap(),
        0
    );
}

async fn pending_requests_are_taken_once(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let pending = pending_for(&client);
    store.save_pending(pending.clone()).await.unwrap();
    let implicit = PendingAuthorizationRecord {
        response_type: ResponseType::Token,
        response_mode: ResponseMode::Fragment,
        state: None,
        challenge: None,
        scope: Scope::empty(),
        ..pending_for(&client)
    };
    store.save_pending(implicit.clone()).await.unwrap();

    assert_eq!(
        store.find_pending(&pending.hash).await.unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        store.find_pending(&implicit.hash).await.unwrap(),
        Some(implicit.clone())
    );
    // Finding does not consume; taking does, once.
    assert_eq!(
        store.take_pending(&pending.hash).await.unwrap(),
        Some(pending.clone())
    );
    assert_eq!(store.take_pending(&pending.hash).await.unwrap(), None);
    assert_eq!(store.find_pending(&pending.hash).await.unwrap(), None);
    assert_eq!(
        store.take_pending(&implicit.hash).await.unwrap(),
        Some(implicit)
    );
}

// ---------------------------------------------------------------------------
// Device authorizations (RFC 8628).
// ---------------------------------------------------------------------------

async fn device_authorizations_keep_user_codes_unique_among_live_ones(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("tv");
    let first = device_for(&client, t0());
    store
        .save_device_authorization(first.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_device_authorization(&first.user_code_hash)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_device_authorization(&random_hash())
            .await
            .unwrap(),
        None
    );

    // The same user code while the first is live: a conflict, nothing stored.
    let clash = DeviceAuthorizationRecord {
        user_code_hash: first.user_code_hash,
        ..device_for(&client, t0() + secs(599))
    };
    assert!(matches!(
        store.save_device_authorization(clash.clone()).await,
        Err(StoreError::Conflict)
    ));
    // The same device code: a conflict too.
    let same_device = DeviceAuthorizationRecord {
        device_code_hash: first.device_code_hash,
        ..device_for(&client, t0())
    };
    assert!(matches!(
        store.save_device_authorization(same_device.clone()).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .find_device_authorization(&first.user_code_hash)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_device_authorization(&same_device.user_code_hash)
            .await
            .unwrap(),
        None
    );

    // Once the first has expired, its user code may be reused.
    let reuse = DeviceAuthorizationRecord {
        user_code_hash: first.user_code_hash,
        ..device_for(&client, first.expires_at)
    };
    store
        .save_device_authorization(reuse.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .find_device_authorization(&first.user_code_hash)
            .await
            .unwrap(),
        Some(reuse)
    );
}

async fn device_decisions_happen_once(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("tv");
    let device = device_for(&client, t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();
    let now = t0() + secs(30);
    assert!(
        store
            .decide_device_authorization(&device.device_code_hash, approve("alice"), now)
            .await
            .unwrap()
    );
    let found = store
        .find_device_authorization(&device.user_code_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.status,
        DeviceStatus::Approved {
            subject: Subject::new("alice"),
            scope: scope("read")
        }
    );
    // Decided already: a second decision changes nothing.
    assert!(
        !store
            .decide_device_authorization(&device.device_code_hash, DeviceDecision::Deny, now)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_device_authorization(&device.user_code_hash)
            .await
            .unwrap()
            .unwrap()
            .status,
        found.status
    );

    // A denial; and no decision on an expired or unknown one.
    let denied = device_for(&client, t0());
    store
        .save_device_authorization(denied.clone())
        .await
        .unwrap();
    assert!(
        store
            .decide_device_authorization(&denied.device_code_hash, DeviceDecision::Deny, now)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_device_authorization(&denied.user_code_hash)
            .await
            .unwrap()
            .unwrap()
            .status,
        DeviceStatus::Denied
    );
    let expired = device_for(&client, t0());
    store
        .save_device_authorization(expired.clone())
        .await
        .unwrap();
    assert!(
        !store
            .decide_device_authorization(
                &expired.device_code_hash,
                approve("eve"),
                expired.expires_at
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_device_authorization(&random_hash(), approve("eve"), now)
            .await
            .unwrap()
    );
}

async fn device_polls_are_serialised_and_slowed_down(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("tv");
    let device = device_for(&client, t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();
    let hash = device.device_code_hash;

    // The first poll is never too fast.
    let p = store
        .poll_device_code(&hash, &client, t0() + secs(1), &collection_at(t0()))
        .await
        .unwrap()
        .unwrap();
    assert!(!p.too_fast);
    assert_eq!(p.record.last_polled_at, Some(t0() + secs(1)));
    assert_eq!(p.record.interval, secs(5));
    // 4 s later: too fast; the interval grows by 5 s (RFC 8628 §3.5).
    let p = store
        .poll_device_code(&hash, &client, t0() + secs(5), &collection_at(t0()))
        .await
        .unwrap()
        .unwrap();
    assert!(p.too_fast);
    assert_eq!(p.record.interval, secs(10));
    assert_eq!(p.record.last_polled_at, Some(t0() + secs(5)));
    // 10 s after that: fine.
    let p = store
        .poll_device_code(&hash, &client, t0() + secs(15), &collection_at(t0()))
        .await
        .unwrap()
        .unwrap();
    assert!(!p.too_fast);
    assert_eq!(p.record.interval, secs(10));
    // A poll that reads an earlier time than the last raced it: too fast,
    // and the last poll time does not move back.
    let p = store
        .poll_device_code(&hash, &client, t0() + secs(14), &collection_at(t0()))
        .await
        .unwrap()
        .unwrap();
    assert!(p.too_fast);
    assert_eq!(p.record.last_polled_at, Some(t0() + secs(15)));
    assert_eq!(p.record.interval, secs(15));
    // Another client's poll, or an unknown code: nothing, and nothing changes.
    assert!(
        store
            .poll_device_code(
                &hash,
                &client_id("other"),
                t0() + secs(60),
                &collection_at(t0())
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .poll_device_code(
                &random_hash(),
                &client,
                t0() + secs(60),
                &collection_at(t0())
            )
            .await
            .unwrap()
            .is_none()
    );
    let found = store
        .find_device_authorization(&device.user_code_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_polled_at, Some(t0() + secs(15)));
    assert_eq!(found.interval, secs(15));
}

async fn device_codes_are_redeemed_once(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("tv");
    let device = device_for(&client, t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();
    let hash = device.device_code_hash;
    let now = t0() + secs(20);
    let nothing_stored = |offer: DeviceCollection| {
        let store = store.clone();
        async move {
            store
                .find_access_token(&offer.access_token.hash)
                .await
                .unwrap()
                .is_none()
                && !store.revoke_grant(&offer.grant_id).await.unwrap()
        }
    };

    // Pending: nothing collected, nothing stored.
    let offer = collection_at(now);
    let polled = store
        .poll_device_code(&hash, &client, now, &offer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(polled.collected, None);
    assert!(nothing_stored(offer).await);

    // Approved: the poll collects it, in the same statement.
    store
        .decide_device_authorization(&hash, approve("alice"), now)
        .await
        .unwrap();
    let offer = collection_at(now);
    let polled = store
        .poll_device_code(&hash, &client, now, &offer)
        .await
        .unwrap()
        .unwrap();
    let grant = polled.collected.clone().unwrap();
    assert_eq!(grant.id, offer.grant_id);
    assert_eq!(grant.client_id, client);
    assert_eq!(grant.subject.as_ref().map(|s| s.as_str()), Some("alice"));
    assert_eq!(
        polled.record.status,
        DeviceStatus::Redeemed { grant_id: grant.id }
    );
    let (access, found) = store
        .find_access_token(&offer.access_token.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, grant);
    assert_eq!(access.scope, grant.scope);
    let refresh = offer.refresh_token.as_ref().unwrap();
    assert!(
        store
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .is_some_and(|r| r.current && r.grant == grant)
    );

    // A replay: nothing collected, nothing stored, and the grant revoked.
    let replay = collection_at(now);
    let polled = store
        .poll_device_code(&hash, &client, now + secs(10), &replay)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(polled.collected, None);
    assert_eq!(
        polled.record.status,
        DeviceStatus::Redeemed { grant_id: grant.id }
    );
    assert!(nothing_stored(replay).await);
    assert!(
        store
            .find_access_token(&offer.access_token.hash)
            .await
            .unwrap()
            .is_none(),
        "the replay must revoke the collected grant"
    );

    // Denied, expired and unknown: nothing collected.
    let denied = device_for(&client, t0());
    store
        .save_device_authorization(denied.clone())
        .await
        .unwrap();
    store
        .decide_device_authorization(&denied.device_code_hash, DeviceDecision::Deny, now)
        .await
        .unwrap();
    let offer = collection_at(now);
    let polled = store
        .poll_device_code(&denied.device_code_hash, &client, now, &offer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(polled.collected, None);
    assert!(nothing_stored(offer).await);
    let late = device_for(&client, t0());
    store.save_device_authorization(late.clone()).await.unwrap();
    store
        .decide_device_authorization(&late.device_code_hash, approve("alice"), now)
        .await
        .unwrap();
    let offer = collection_at(now);
    let polled = store
        .poll_device_code(&late.device_code_hash, &client, late.expires_at, &offer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(polled.collected, None);
    assert!(matches!(
        polled.record.status,
        DeviceStatus::Approved { .. }
    ));
    assert!(nothing_stored(offer).await);
    assert!(
        store
            .poll_device_code(&random_hash(), &client, now, &collection_at(now))
            .await
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------------------
// Races: of N concurrent attempts, exactly one wins.
// ---------------------------------------------------------------------------

const RACERS: usize = 32;

/// Runs `n` tasks made by `task` at once, each released by one barrier so
/// they really overlap, and returns their outcomes.
async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let fut = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(n);
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    outcomes
}

async fn concurrent_redemptions_of_one_code_have_one_winner(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let (grant, code) = coded(&store, &client).await;
    let redemptions: Vec<_> = (0..RACERS)
        .map(|_| Arc::new(redemption_for(&client, t0())))
        .collect();
    let outcomes = race(RACERS, |i| {
        let (store, redemption) = (store.clone(), redemptions[i].clone());
        async move { store.redeem_code(&code.hash, &redemption).await.unwrap() }
    })
    .await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Redemption::Redeemed(_)))
            .count(),
        1,
        "{outcomes:?}"
    );
    // Every loser found the code redeemed: a replay, which revokes the grant
    // (or finds it revoked already).
    assert!(
        outcomes.iter().all(
            |o| matches!(o, Redemption::Redeemed(_) | Redemption::Refused(None))
                || *o == Redemption::Revoked(grant.id)
        ),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&Redemption::Revoked(grant.id)));
    // No token is live: the losers' were never stored, the winner's died
    // with the grant.
    for redemption in &redemptions {
        assert!(
            store
                .find_access_token(&redemption.access_token.hash)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(store.find_code(&code.hash).await.unwrap().is_none());
}

async fn concurrent_rotations_of_one_refresh_token_have_one_winner(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("c");
    let (grant, _, old) = issued(&store, &client).await;
    let rotations: Vec<_> = (0..RACERS).map(|_| rotation_for(&client, t0())).collect();
    let outcomes = race(RACERS, |i| {
        let (store, rotation) = (store.clone(), rotations[i].clone());
        async move {
            store
                .rotate_refresh_token(&old.hash, &rotation)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Rotated(_)))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(
            |o| matches!(o, Rotation::Rotated(_) | Rotation::Refused(None))
                || *o == Rotation::Revoked(grant.id)
        ),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&Rotation::Revoked(grant.id)));
    for rotation in &rotations {
        assert!(
            store
                .find_refresh_token(&rotation.refresh_token.hash)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .find_access_token(&rotation.access_token.hash)
                .await
                .unwrap()
                .is_none()
        );
    }
}

async fn concurrent_takes_of_one_pending_request_have_one_winner(db: &TestDb) {
    let store = db.open().await;
    let pending = pending_for(&client_id("c"));
    store.save_pending(pending.clone()).await.unwrap();
    let outcomes = race(RACERS, |_| {
        let store = store.clone();
        async move { store.take_pending(&pending.hash).await.unwrap() }
    })
    .await;
    let taken: Vec<_> = outcomes.into_iter().flatten().collect();
    assert_eq!(taken, vec![pending]);
}

async fn concurrent_redemptions_of_one_device_code_have_one_winner(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("tv");
    let device = device_for(&client, t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();
    store
        .decide_device_authorization(&device.device_code_hash, approve("alice"), t0())
        .await
        .unwrap();
    let offers: Vec<_> = (0..RACERS).map(|_| collection_at(t0())).collect();
    let polls = race(RACERS, |i| {
        let (store, client, offer) = (store.clone(), client.clone(), offers[i].clone());
        async move {
            store
                .poll_device_code(&device.device_code_hash, &client, t0(), &offer)
                .await
                .unwrap()
                .unwrap()
        }
    })
    .await;
    let winners: Vec<_> = (0..RACERS)
        .filter(|i| polls[*i].collected.is_some())
        .collect();
    assert_eq!(winners.len(), 1, "{polls:?}");
    let winner = &offers[winners[0]];
    // Every poll sees the winner's grant; the others are replays.
    for polled in &polls {
        assert_eq!(
            polled.record.status,
            DeviceStatus::Redeemed {
                grant_id: winner.grant_id
            }
        );
    }
    for (i, offer) in offers.iter().enumerate() {
        assert!(
            store
                .find_access_token(&offer.access_token.hash)
                .await
                .unwrap()
                .is_none(),
            "only the winner's tokens are stored, and the replays revoked them"
        );
        if i != winners[0] {
            assert!(!store.revoke_grant(&offer.grant_id).await.unwrap());
        }
    }
}

async fn concurrent_decisions_and_polls_are_serialised(db: &TestDb) {
    let store = db.open().await;
    let client = client_id("tv");
    let device = device_for(&client, t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();
    let hash = device.device_code_hash;
    // Decisions: exactly one of the racers (half approve, half deny) wins.
    let decided = race(RACERS, |i| {
        let store = store.clone();
        let decision = if i % 2 == 0 {
            approve("alice")
        } else {
            DeviceDecision::Deny
        };
        async move {
            store
                .decide_device_authorization(&hash, decision, t0())
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(decided.iter().filter(|d| **d).count(), 1);
    // Polls at one instant: the first is on time, every later one sees the
    // one before it and is too fast, so the interval grows once per poll.
    let polls = race(RACERS, |_| {
        let (store, client) = (store.clone(), client.clone());
        async move {
            store
                .poll_device_code(&hash, &client, t0() + secs(1), &collection_at(t0()))
                .await
                .unwrap()
                .unwrap()
        }
    })
    .await;
    assert_eq!(polls.iter().filter(|p| !p.too_fast).count(), 1);
    let found = store
        .find_device_authorization(&device.user_code_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.interval, secs(5) + secs(5) * (RACERS as u32 - 1));
}

// ---------------------------------------------------------------------------
// The schema, restarts, and what the store shows.
// ---------------------------------------------------------------------------

async fn opening_is_idempotent_and_state_survives_a_restart(db: &TestDb) {
    let store = db.open().await;
    let client = native_client("cli");
    store.insert_client(client.clone()).await.unwrap();
    let (grant, access, refresh) = issued(&store, client.id()).await;
    let (_, code) = coded(&store, client.id()).await;
    let device = device_for(client.id(), t0());
    store
        .save_device_authorization(device.clone())
        .await
        .unwrap();

    // A second store on the same database (another replica, or the same
    // process after a restart) opens without migrating again, and sees it all.
    let reopened = if db.backend == Backend::SqliteMemory {
        // A database in memory lives as long as its store: it is the store.
        store.clone()
    } else {
        store.close().await;
        drop(store);
        db.open().await
    };
    assert_eq!(*reopened.find_client("cli").await.unwrap().unwrap(), client);
    let (found, found_grant) = reopened
        .find_access_token(&access.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, found_grant), (access, grant.clone()));
    assert!(
        reopened
            .find_refresh_token(&refresh.hash)
            .await
            .unwrap()
            .unwrap()
            .current
    );
    assert_eq!(
        reopened.find_code(&code.hash).await.unwrap().unwrap().code,
        code
    );
    assert_eq!(
        reopened
            .find_device_authorization(&device.user_code_hash)
            .await
            .unwrap(),
        Some(device)
    );
    // And it works on: revocation after the restart.
    assert!(reopened.revoke_grant(&grant.id).await.unwrap());
    assert!(
        reopened
            .find_access_token(&access_for(&grant, t0(), secs(1)).hash)
            .await
            .unwrap()
            .is_none()
    );
}

async fn replicas_opening_one_database_at_once_migrate_it_once(db: &TestDb) {
    if db.backend == Backend::SqliteMemory {
        // Nothing else can open a database in memory.
        return;
    }
    let stores = race(8, |_| {
        let location = db.location.clone();
        let backend = db.backend;
        async move {
            match backend {
                Backend::Postgres => SqlStore::postgres(&location).await,
                _ => SqlStore::sqlite(&location).await,
            }
        }
    })
    .await;
    let stores: Vec<SqlStore> = stores.into_iter().map(Result::unwrap).collect();
    // They share one set of tables.
    stores[0].insert_client(native_client("cli")).await.unwrap();
    for store in &stores {
        assert!(store.find_client("cli").await.unwrap().is_some());
    }
    assert!(matches!(
        stores[7].insert_client(native_client("cli")).await,
        Err(StoreError::Conflict)
    ));
}

async fn a_newer_schema_is_refused(db: &TestDb) {
    let store = db.open().await;
    store.insert_client(native_client("cli")).await.unwrap();
    if !db
        .execute_raw("UPDATE schema_version SET version = 99")
        .await
    {
        return;
    }
    store.close().await;
    let reopened = match db.backend {
        Backend::Postgres => SqlStore::postgres(&db.location).await,
        _ => SqlStore::sqlite(&db.location).await,
    };
    let error = reopened.unwrap_err();
    assert!(matches!(error, StoreError::Backend(_)));
    let chain = format!("{:?}", error);
    assert!(chain.contains("version 99"), "{chain}");
}

/// A database left at version 1 by an earlier build gains the limiter's
/// table, the clients' registrant column (version 3), resources (version 4), the replay cache's
/// table (version 5), OpenID Connect records (version 6), exchanged tokens' records (token
/// exchange), key bindings (DPoP, version 9) and authorization details (RFC 9396, version 10)
/// when opened, and keeps what it held.
async fn a_version_1_database_is_migrated(db: &TestDb) {
    let store = db.open().await;
    store.insert_client(native_client("cli")).await.unwrap();
    if !db
        .execute_raw(
            "DROP TABLE auth_failures; DROP INDEX clients_by_registrant; \
             ALTER TABLE clients DROP COLUMN registrant; \
             ALTER TABLE grants DROP COLUMN resources; \
             ALTER TABLE access_tokens DROP COLUMN audience; \
             ALTER TABLE pending_authorizations DROP COLUMN resources; \
             DROP TABLE replay_keys; \
             ALTER TABLE grants DROP COLUMN openid; \
             ALTER TABLE pending_authorizations DROP COLUMN openid; \
             DROP TABLE pushed_authorizations; \
             ALTER TABLE access_tokens DROP COLUMN exchange; \
             ALTER TABLE access_tokens DROP COLUMN cnf; \
             ALTER TABLE refresh_tokens DROP COLUMN cnf; \
             ALTER TABLE pending_authorizations DROP COLUMN dpop_jkt; \
             ALTER TABLE authorization_codes DROP COLUMN dpop_jkt; \
             ALTER TABLE grants DROP COLUMN authorization_details; \
             ALTER TABLE pending_authorizations DROP COLUMN authorization_details; \
             ALTER TABLE access_tokens DROP COLUMN authorization_details; \
             UPDATE schema_version SET version = 1",
        )
        .await
    {
        return;
    }
    store.close().await;
    let reopened = db.open().await;
    assert!(reopened.find_client("cli").await.unwrap().is_some());
    let limiter = reopened.limiter(ThrottlePolicy::default().with_allowed_failures(0));
    assert_eq!(limiter.admit("cli", t0()).await.unwrap(), Admission::Allow);
    assert!(matches!(
        limiter.admit("cli", t0()).await.unwrap(),
        Admission::Refuse { .. }
    ));
    let quota = RegistrationQuota::new(TokenHash::of("registrant"), 1);
    assert!(
        reopened
            .insert_client_within_quota(native_client("first"), &quota)
            .await
            .unwrap()
    );
    assert!(
        !reopened
            .insert_client_within_quota(native_client("second"), &quota)
            .await
            .unwrap()
    );
    // Version 4: grants keep their resources, access tokens their audience.
    let client = client_id("cli");
    let grant = grant_for(&client, t0(), secs(600));
    let access = access_for(&grant, t0(), secs(60));
    reopened
        .create_grant(NewGrant::with_access_token(grant.clone(), access.clone()))
        .await
        .unwrap();
    assert_eq!(
        reopened.find_access_token(&access.hash).await.unwrap(),
        Some((access, grant))
    );
    // Version 5: the replay cache's table.
    let jti = portcullis::store::ReplayKey::new("client_assertion", &["cli", "jti-1"]);
    let later = t0() + std::time::Duration::from_secs(60);
    use portcullis::store::ReplayCache as _;
    assert!(reopened.first_use(&jti, later, t0()).await.unwrap());
    assert!(!reopened.first_use(&jti, later, t0()).await.unwrap());
    // The pushed authorization requests' table (RFC 9126).
    let pushed = portcullis::store::PushedAuthorizationRecord {
        hash: random_hash(),
        client_id: client.clone(),
        parameters: "response_type=code&client_id=cli".to_owned(),
        created_at: t0(),
        expires_at: later,
    };
    reopened.save_pushed(pushed.clone()).await.unwrap();
    assert_eq!(
        reopened
            .take_pushed(&pushed.hash, &client, t0())
            .await
            .unwrap(),
        Some(pushed)
    );
}

async fn debug_shows_no_secrets(db: &TestDb) {
    let store = if db.backend == Backend::Postgres {
        // A password in the URL (trust authentication ignores it) must not
        // show in the store's Debug.
        let with_password = db
            .location
            .replacen("://postgres@", "://postgres:hunter2@", 1);
        SqlStore::postgres(&with_password).await.unwrap()
    } else {
        db.open().await
    };
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("postgres://"), "{shown}");
    assert!(shown.starts_with("SqlStore"), "{shown}");
}

// ---------------------------------------------------------------------------
// The server's flows on the SQL store.
// ---------------------------------------------------------------------------

struct Server {
    server: AuthorizationServer,
    clock: Arc<ManualClock>,
}

async fn server_on(db: &TestDb) -> Server {
    server_with(db, |b| {
        b.grant(ClientCredentialsGrant).grant(DeviceCodeGrant)
    })
    .await
}

/// A server on `db` with the code and refresh grants, a manual clock, and
/// what `customise` adds.
async fn server_with(
    db: &TestDb,
    customise: impl FnOnce(portcullis::ServerBuilder) -> portcullis::ServerBuilder,
) -> Server {
    let store = db.open().await;
    let clock = Arc::new(ManualClock::new(common::start()));
    let builder = AuthorizationServer::builder(common::ISSUER)
        .clients(store.clone())
        .tokens(store)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .clock(clock.clone());
    let server = customise(builder).build().unwrap();
    Server { server, clock }
}

impl Server {
    async fn register(&self, registration: ClientRegistration) -> TestClient {
        let r = self.server.register_client(registration).await.unwrap();
        TestClient {
            id: r.client.id().to_string(),
            secret: r
                .secret
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default(),
        }
    }

    async fn post(&self, request: http::Request<Vec<u8>>) -> Reply {
        Reply::from(self.server.token_endpoint(request).await)
    }

    async fn alive(&self, token: &str) -> bool {
        self.server
            .access_token_info(token)
            .await
            .unwrap()
            .is_some()
    }
}

async fn server_client_credentials_flow(db: &TestDb) {
    let s = server_on(db).await;
    let c = s
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(scope("read write")),
        )
        .await;
    let r = s
        .post(token_request(
            Some(&basic(&c.id, &c.secret)),
            "grant_type=client_credentials&scope=read",
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.assert_no_store();
    let token = r.access_token().to_owned();
    let info = s.server.access_token_info(&token).await.unwrap().unwrap();
    assert_eq!(info.client_id.as_str(), c.id);
    assert_eq!(info.scope.to_string(), "read");
    // A wrong secret is refused by the same client authentication.
    let r = s
        .post(token_request(
            Some(&basic(&c.id, "wrong")),
            "grant_type=client_credentials",
        ))
        .await;
    r.assert_error(401, "invalid_client");
    // The token expires with the clock, and a purge removes it.
    s.clock.advance(secs(601));
    assert!(!s.alive(&token).await);
    assert!(s.server.purge_expired().await.unwrap() >= 2);
}

/// An OpenID Connect request deferred to the database, approved, redeemed
/// and refreshed: what the ID tokens say comes back from the rows.
async fn server_openid_flow_keeps_the_authentication_in_the_database(db: &TestDb) {
    let keys = KeySet::new()
        .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
        .unwrap();
    let users = StaticClaims::new().user("alice", Claims::new().with("email", "a@example.com"));
    let openid = OpenIdConnect::new(users).id_token_signing_alg(Algorithm::Es256);
    let s = server_with(db, |b| b.signing_keys(keys.clone()).openid_connect(openid)).await;
    let c = s
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope(scope("openid email")),
        )
        .await;
    let claims = common::form_encode(
        r#"{"id_token":{"email":{"essential":true}},"userinfo":{"email":null}}"#,
    );
    let request = http::Request::get(format!(
        "https://auth.example/authorize?response_type=code&client_id={}&scope=openid\
         &code_challenge={CHALLENGE}&code_challenge_method=S256&nonce=n%27%22%C3%BC\
         &max_age=600&prompt=consent&ui_locales=de&claims={claims}",
        c.id
    ))
    .body(Vec::<u8>::new())
    .unwrap();
    let mut pending = s.server.authorization_request(&request).await.unwrap();
    let id = s.server.defer(&mut pending).await.unwrap().to_owned();
    drop(pending);
    let pending = s.server.pending_authorization(&id).await.unwrap().unwrap();
    assert_eq!(pending.max_age(), Some(600));
    assert!(pending.prompt().consent());
    assert_eq!(pending.ui_locales(), ["de"]);
    assert!(
        pending
            .claims_request()
            .unwrap()
            .id_token_claim("email")
            .is_some()
    );
    let signed_in = common::start() - Duration::from_secs(10);
    let approval = Approval::new("alice")
        .authenticated_at(signed_in)
        .amr(["pwd"])
        .session_id("sid-1");
    let response = s.server.approve_with(pending, approval).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let r = s
        .post(token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={VERIFIER}",
                c.id
            ),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let public = keys.jwks(common::start()).public_keys();
    let claims_of = |id_token: &str| -> serde_json::Value {
        let (payload, _) = UnverifiedJws::parse(id_token)
            .unwrap()
            .verify_with_any(&public, &[Algorithm::Es256])
            .unwrap();
        serde_json::from_slice(&payload).unwrap()
    };
    let first = claims_of(r.json["id_token"].as_str().unwrap());
    assert_eq!(first["nonce"], "n'\"ü");
    assert_eq!(first["auth_time"], 1_800_000_000 - 10);
    assert_eq!(first["amr"], serde_json::json!(["pwd"]));
    assert_eq!(first["sid"], "sid-1");
    assert_eq!(first["email"], "a@example.com");
    // UserInfo reads the claims request back from the grant's row: the
    // scope alone (`openid`) would release no email.
    let userinfo = s
        .server
        .userinfo_endpoint(
            http::Request::get("https://auth.example/userinfo")
                .header("authorization", format!("Bearer {}", r.access_token()))
                .body(Vec::<u8>::new())
                .unwrap(),
        )
        .await;
    assert_eq!(userinfo.status(), 200);
    let userinfo: serde_json::Value = serde_json::from_slice(userinfo.body()).unwrap();
    assert_eq!(
        userinfo,
        serde_json::json!({"sub": "alice", "email": "a@example.com"})
    );
    let refresh = r.json["refresh_token"].as_str().unwrap();
    let r2 = s.post(refresh_request(&c, refresh, "")).await;
    assert_eq!(r2.status, 200, "{:?}", r2.json);
    let second = claims_of(r2.json["id_token"].as_str().unwrap());
    assert_eq!(second["auth_time"], first["auth_time"]);
    assert_eq!(second["sid"], "sid-1");
    assert!(second.get("nonce").is_none());
}

async fn server_code_flow_with_pkce_and_refresh_rotation(db: &TestDb) {
    let s = server_on(db).await;
    let c = s
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope(scope("read write")),
        )
        .await;
    let request = http::Request::get(format!(
        "https://auth.example/authorize?response_type=code&client_id={}\
         &code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz",
        c.id
    ))
    .body(Vec::<u8>::new())
    .unwrap();
    let pending = s.server.authorization_request(&request).await.unwrap();
    let response = s.server.approve(pending, "alice", None).await.unwrap();
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(param(&params, "state"), Some("xyz"));
    let code = param(&params, "code").unwrap().to_owned();

    let redeem = |verifier: &str| {
        token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={verifier}",
                c.id
            ),
        )
    };
    // A wrong verifier fails (RFC 7636 §4.6).
    s.post(redeem("wrong-verifier-wrong-verifier-wrong-verifier-0"))
        .await
        .assert_error(400, "invalid_grant");
    let r = s.post(redeem(VERIFIER)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();
    let info = s.server.access_token_info(&access).await.unwrap().unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");

    // The refresh token rotates.
    let r2 = s.post(refresh_request(&c, &refresh, "")).await;
    assert_eq!(r2.status, 200, "{:?}", r2.json);
    let access2 = r2.access_token().to_owned();
    assert!(s.alive(&access2).await);
    // Reusing the rotated-out one revokes the grant (RFC 9700 §4.14.2).
    s.post(refresh_request(&c, &refresh, ""))
        .await
        .assert_error(400, "invalid_grant");
    assert!(!s.alive(&access).await);
    assert!(!s.alive(&access2).await);
    let refresh2 = r2.json["refresh_token"].as_str().unwrap();
    s.post(refresh_request(&c, refresh2, ""))
        .await
        .assert_error(400, "invalid_grant");
    // The code is spent: replaying it fails too.
    s.post(redeem(VERIFIER))
        .await
        .assert_error(400, "invalid_grant");
}

async fn server_device_flow(db: &TestDb) {
    let s = server_on(db).await;
    let c = s
        .register(
            ClientRegistration::native()
                .name("Living-room TV")
                .grant_type(GrantType::DEVICE_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope(scope("read write")),
        )
        .await;
    let request = http::Request::post("https://auth.example/device_authorization")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("client_id={}&scope=read", c.id).into_bytes())
        .unwrap();
    let r = Reply::from(s.server.device_authorization_endpoint(request).await);
    assert_eq!(r.status, 200, "{:?}", r.json);
    let device_code = r.json["device_code"].as_str().unwrap().to_owned();
    let user_code = r.json["user_code"].as_str().unwrap().to_owned();
    let poll = || {
        token_request(
            None,
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code\
                 &device_code={device_code}&client_id={}",
                c.id
            ),
        )
    };
    s.post(poll())
        .await
        .assert_error(400, "authorization_pending");
    s.clock.advance(secs(1));
    s.post(poll()).await.assert_error(400, "slow_down");

    let pending = s
        .server
        .pending_device_authorization(&user_code, &["session:s1"])
        .await
        .unwrap();
    assert_eq!(pending.client().name(), Some("Living-room TV"));
    s.server
        .approve_device(pending, "alice", None)
        .await
        .unwrap();
    s.clock.advance(secs(10));
    let r = s.post(poll()).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let access = r.access_token().to_owned();
    let info = s.server.access_token_info(&access).await.unwrap().unwrap();
    assert_eq!(info.subject.unwrap().as_str(), "alice");
    // A replay of the device code is refused and revokes what it issued.
    s.clock.advance(secs(10));
    s.post(poll()).await.assert_error(400, "invalid_grant");
    assert!(!s.alive(&access).await);
}

/// Whether `needle` occurs in `haystack`.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn the_database_holds_only_hashes(db: &TestDb) {
    let s = server_on(db).await;
    let c = s
        .register(
            ClientRegistration::web_application()
                .redirect_uri("https://app.example/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope(scope("read")),
        )
        .await;
    let request = http::Request::get(format!(
        "https://auth.example/authorize?response_type=code&client_id={}\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    ))
    .body(Vec::<u8>::new())
    .unwrap();
    let pending = s.server.authorization_request(&request).await.unwrap();
    let response = s.server.approve(pending, "alice", None).await.unwrap();
    let code = param(&redirect_params(&response), "code")
        .unwrap()
        .to_owned();
    let r = s
        .post(token_request(
            Some(&basic(&c.id, &c.secret)),
            &format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}"),
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let access = r.access_token().to_owned();
    let refresh = r.json["refresh_token"].as_str().unwrap().to_owned();

    let Some(contents) = db.contents().await else {
        return;
    };
    for secret in [&c.secret, &code, &access, &refresh] {
        assert!(
            !holds(&contents, secret.as_bytes()),
            "a plaintext secret is stored"
        );
    }
    // What is stored is the tokens' SHA-256 (as bytes in SQLite's file, as
    // hex in PostgreSQL's text rendering of a row).
    for token in [&code, &access, &refresh] {
        let hash = TokenHash::of(token);
        let stored = holds(&contents, hash.as_bytes())
            || holds(&contents, format!("\\x{}", hash.to_hex()).as_bytes());
        assert!(stored, "the hash of a token is not stored");
    }
}

// ---------------------------------------------------------------------------
// The limiter: failures counted in the database, shared by replicas.
// ---------------------------------------------------------------------------

/// A second store on `db`, as another replica opens it; the same store for
/// an in-memory SQLite database, which only its own connection sees.
async fn replica(db: &TestDb, first: &SqlStore) -> SqlStore {
    match db.backend {
        Backend::SqliteMemory => first.clone(),
        _ => db.open().await,
    }
}

async fn the_limiter_is_shared_by_replicas(db: &TestDb) {
    let a = db.open().await;
    let b = replica(db, &a).await;
    let policy = ThrottlePolicy::default()
        .with_allowed_failures(2)
        .with_initial_delay(secs(1))
        .with_max_delay(secs(4))
        .with_reset_after(secs(60));
    let (on_a, on_b) = (a.limiter(policy), b.limiter(policy));
    // Its Debug shows the policy in force, nothing of the database.
    let debug = format!("{on_a:?}");
    assert!(debug.starts_with("SqlLimiter"), "{debug}");
    assert!(debug.contains("allowed_failures: 2"), "{debug}");
    let key = "client-1";
    let t = t0();
    let refused = |wait| Admission::Refuse { retry_after: wait };

    // Two attempts cost nothing; the third, admitted by the other replica,
    // is checked but blocks the key for the initial delay — on both.
    assert_eq!(on_a.admit(key, t).await.unwrap(), Admission::Allow);
    assert_eq!(on_b.admit(key, t).await.unwrap(), Admission::Allow);
    assert_eq!(on_b.admit(key, t).await.unwrap(), Admission::Allow);
    assert_eq!(on_a.admit(key, t).await.unwrap(), refused(secs(1)));
    assert_eq!(on_b.admit(key, t).await.unwrap(), refused(secs(1)));
    assert_eq!(
        on_a.admit("client-2", t).await.unwrap(),
        Admission::Allow,
        "another key is not throttled"
    );

    // Refused attempts did not count: once the wait is over one attempt is
    // admitted, and its count doubles the wait, up to the ceiling.
    assert_eq!(
        on_b.admit(key, t + secs(1)).await.unwrap(),
        Admission::Allow
    );
    assert_eq!(
        on_a.admit(key, t + secs(1)).await.unwrap(),
        refused(secs(2))
    );
    assert_eq!(
        on_a.admit(key, t + secs(3)).await.unwrap(),
        Admission::Allow
    );
    assert_eq!(
        on_b.admit(key, t + secs(7)).await.unwrap(),
        Admission::Allow
    );
    assert_eq!(
        on_b.admit(key, t + secs(7)).await.unwrap(),
        refused(secs(4))
    );

    // A success takes back its own attempt and the block its admission
    // set; the failures before it still count, so the next failure is
    // checked and blocks again.
    assert_eq!(
        on_a.admit(key, t + secs(11)).await.unwrap(),
        Admission::Allow
    );
    on_b.succeeded(key, t + secs(11)).await.unwrap();
    assert_eq!(
        on_a.admit(key, t + secs(11)).await.unwrap(),
        Admission::Allow
    );
    assert_eq!(
        on_a.admit(key, t + secs(11)).await.unwrap(),
        refused(secs(4))
    );

    // A key quiet for `reset_after` starts afresh: admitted, and counted as
    // its first failure.
    let later = t + secs(11) + secs(60);
    assert_eq!(on_a.admit(key, later).await.unwrap(), Admission::Allow);
    assert_eq!(on_b.admit(key, later).await.unwrap(), Admission::Allow);

    // A key whose every attempt succeeded is forgotten at once.
    assert_eq!(
        on_a.admit("client-3", later).await.unwrap(),
        Admission::Allow
    );
    on_b.succeeded("client-3", later).await.unwrap();

    // Purging forgets quiet keys, and only those.
    assert_eq!(
        on_a.admit("client-2", later).await.unwrap(),
        Admission::Allow
    );
    a.purge_expired(later + secs(30)).await.unwrap();
    assert_eq!(
        on_a.admit(key, later + secs(30)).await.unwrap(),
        Admission::Allow,
        "the key's two attempts are remembered: this third one is checked"
    );
    assert_eq!(
        on_a.admit(key, later + secs(30)).await.unwrap(),
        refused(secs(1)),
        "and blocks the key"
    );
    a.purge_expired(later + secs(200)).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            on_a.admit(key, later + secs(200)).await.unwrap(),
            Admission::Allow,
            "after the purge the key counts from zero again"
        );
    }
}

/// Two servers on one database, each with the SQL limiter: a guesser
/// alternating between them is throttled as by one server, and `429` comes
/// with `Retry-After`. For a client whose secret a person chose, every
/// attempt is admitted first, so while blocked even the right secret waits;
/// for a client with a generated secret, the right one always
/// authenticates, and only the wrong ones are counted and refused.
async fn replicas_throttle_a_guesser_together(db: &TestDb) {
    let policy = ThrottlePolicy::default()
        .with_allowed_failures(2)
        .with_initial_delay(secs(30));
    let clock = Arc::new(ManualClock::new(common::start()));
    let first = db.open().await;
    let second = replica(db, &first).await;
    let build = |store: SqlStore| {
        AuthorizationServer::builder(common::ISSUER)
            .clients(store.clone())
            .tokens(store.clone())
            .limiter(store.limiter(policy))
            .grant(ClientCredentialsGrant)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let servers = [build(first), build(second)];

    // A secret a person chose: guessable, so throttled strictly.
    let chosen = "a person's chosen secret, long enough";
    let r = servers[0]
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(scope("read"))
                .import_secret(ClientSecret::new(chosen)),
        )
        .await
        .unwrap();
    let client = TestClient {
        id: r.client.id().to_string(),
        secret: chosen.to_owned(),
    };
    let guess = client.with_secret("not-the-secret");
    for server in servers.iter().cycle().take(3) {
        Reply::from(server.token_endpoint(cc_request(&guess, "")).await)
            .assert_error(401, "invalid_client");
    }
    for server in &servers {
        for attempt in [&guess, &client] {
            let reply = Reply::from(server.token_endpoint(cc_request(attempt, "")).await);
            assert_eq!(reply.status, 429, "{:?}", reply.json);
            assert_eq!(reply.header("retry-after"), Some("30"));
        }
    }
    clock.advance(secs(30));
    let reply = Reply::from(servers[1].token_endpoint(cc_request(&client, "")).await);
    assert_eq!(reply.status, 200, "{:?}", reply.json);

    // A generated secret: wrong guesses alternating between the replicas
    // are counted together and refused past the allowance on both, while
    // the right secret is never refused.
    let r = servers[1]
        .register_client(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope(scope("read")),
        )
        .await
        .unwrap();
    let client = TestClient {
        id: r.client.id().to_string(),
        secret: r.secret.unwrap().expose_secret().to_owned(),
    };
    let guess = client.with_secret("not-the-secret");
    for server in servers.iter().cycle().take(3) {
        Reply::from(server.token_endpoint(cc_request(&guess, "")).await)
            .assert_error(401, "invalid_client");
    }
    for server in &servers {
        let reply = Reply::from(server.token_endpoint(cc_request(&guess, "")).await);
        assert_eq!(reply.status, 429, "{:?}", reply.json);
        assert_eq!(reply.header("retry-after"), Some("30"));
        let reply = Reply::from(server.token_endpoint(cc_request(&client, "")).await);
        assert_eq!(
            reply.status, 200,
            "the right generated secret is never refused"
        );
    }
}
