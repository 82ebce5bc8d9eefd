//! Mutual TLS at the authorization server (RFC 8705): `tls_client_auth` and
//! `self_signed_tls_client_auth` at every endpoint where a client
//! authenticates, certificate-bound access tokens and refresh tokens,
//! registration of the metadata, and the metadata document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::IpAddr;

use common::dpop::{ProofKey, jwt_claims};
use common::mtls::{Subject, TestCert, with_cert};
use common::{
    CHALLENGE, Harness, Reply, TestClient, VERIFIER, code_harness, harness_with, param,
    token_request,
};
use http::{HeaderValue, Request};
use portcullis::BuildError;
use portcullis::client::{
    AuthMethod, ClientRegistration, RegistrationError, ThrottlePolicy, TlsClientAuthSubject,
};
use portcullis::endpoint::{Dpop, Endpoint, MutualTls};
use portcullis::grant::{AuthorizationCodeGrant, RefreshTokenGrant};
use portcullis::jose::{Algorithm, KeySet, SigningKey};
use portcullis::protocol::{GrantType, Resource};
use portcullis::token::{Clock as _, Confirmation};
use serde_json::json;

const RS_NAME: &str = "rs";
const RS_SECRET: &str = "a-resource-server-secret-of-enough-length-0123456789";
const DN: &str = "CN=client.example,O=Example Corp";

fn mtls_harness() -> Harness {
    harness_with(|b| {
        b.mutual_tls(MutualTls::new())
            .grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .introspection_credential(RS_NAME, RS_SECRET)
    })
}

fn dn_cert() -> TestCert {
    TestCert::new(Subject {
        common_name: Some("client.example"),
        organization: Some("Example Corp"),
        ..Subject::default()
    })
}

/// A confidential client_credentials client of `method`, with `extra`
/// applied to its registration.
async fn client_of(
    h: &Harness,
    method: AuthMethod,
    extra: impl FnOnce(ClientRegistration) -> ClientRegistration,
) -> TestClient {
    h.register(extra(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .redirect_uri("https://client.example/cb")
            .grant_type(GrantType::AUTHORIZATION_CODE)
            .scope("read write".parse().unwrap())
            .auth_method(method),
    ))
    .await
}

async fn tls_client(h: &Harness, subject: TlsClientAuthSubject) -> TestClient {
    client_of(h, AuthMethod::TLS_CLIENT_AUTH, |r| {
        r.tls_client_auth_subject(subject)
    })
    .await
}

async fn self_signed_client(h: &Harness, cert: &TestCert) -> TestClient {
    let jwks = cert.jwks();
    client_of(h, AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH, |r| {
        r.jwks(&jwks)
    })
    .await
}

/// A client_credentials request naming `client` in the body only, as an
/// mTLS client sends it (RFC 8705 §2), with `cert` if given.
fn mtls_cc(
    client: &TestClient,
    cert: Option<portcullis::token::ClientCertificate>,
) -> Request<Vec<u8>> {
    let request = token_request(
        None,
        &format!("grant_type=client_credentials&client_id={}", client.id),
    );
    match cert {
        Some(cert) => with_cert(request, cert),
        None => request,
    }
}

#[track_caller]
fn assert_refused(reply: &Reply) {
    reply.assert_error(401, "invalid_client");
    assert!(reply.header("www-authenticate").is_some());
    assert!(reply.json.get("access_token").is_none());
}

async fn introspect(h: &Harness, token: &str) -> serde_json::Value {
    let request = Request::post("https://auth.example/introspect")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {RS_SECRET}"))
        .body(format!("token={}", common::form_encode(token)).into_bytes())
        .unwrap();
    let reply = Reply::from(h.server.introspection_endpoint(request).await);
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json
}

#[tokio::test]
async fn tls_client_auth_accepts_the_registered_subject_dn_and_refuses_others() {
    let h = mtls_harness();
    let client = tls_client(&h, TlsClientAuthSubject::SubjectDn(DN.into())).await;
    let cert = dn_cert();
    let reply = h.post(mtls_cc(&client, Some(cert.verified()))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "Bearer");

    // No certificate; another subject; the right subject without a chain
    // the host validated; something that is not a certificate.
    assert_refused(&h.post(mtls_cc(&client, None)).await);
    let other = TestCert::new(Subject {
        common_name: Some("client.example"),
        organization: Some("Other Corp"),
        ..Subject::default()
    });
    assert_refused(&h.post(mtls_cc(&client, Some(other.verified()))).await);
    assert_refused(&h.post(mtls_cc(&client, Some(cert.self_signed()))).await);
    let garbage =
        portcullis::token::ClientCertificate::chain_verified(b"not a certificate".to_vec());
    assert_refused(&h.post(mtls_cc(&client, Some(garbage))).await);
}

#[tokio::test]
async fn tls_client_auth_matches_each_kind_of_subject_alternative_name() {
    let h = mtls_harness();
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    let cert = TestCert::new(Subject {
        common_name: Some("ignored"),
        dns: Some("client.example"),
        uri: Some("https://client.example/id"),
        ip: Some(ip),
        email: Some("ops@client.example"),
        ..Subject::default()
    });
    let other = TestCert::new(Subject {
        common_name: Some("ignored"),
        dns: Some("other.example"),
        uri: Some("https://other.example/id"),
        ip: Some("192.0.2.8".parse().unwrap()),
        email: Some("ops@other.example"),
        ..Subject::default()
    });
    for subject in [
        TlsClientAuthSubject::SanDns("client.example".into()),
        TlsClientAuthSubject::SanUri("https://client.example/id".into()),
        TlsClientAuthSubject::SanIp(ip),
        TlsClientAuthSubject::SanEmail("ops@client.example".into()),
    ] {
        let client = tls_client(&h, subject.clone()).await;
        let reply = h.post(mtls_cc(&client, Some(cert.verified()))).await;
        assert_eq!(reply.status, 200, "{subject:?}: {:?}", reply.json);
        assert_refused(&h.post(mtls_cc(&client, Some(other.verified()))).await);
        assert_refused(&h.post(mtls_cc(&client, None)).await);
    }
    // A subject DN registered for a certificate whose SAN has the name is
    // not a match: the DN is compared, not the SANs.
    let client = tls_client(
        &h,
        TlsClientAuthSubject::SubjectDn("CN=client.example".into()),
    )
    .await;
    assert_refused(&h.post(mtls_cc(&client, Some(cert.verified()))).await);
}

#[tokio::test]
async fn self_signed_tls_client_auth_accepts_the_registered_certificate_only() {
    let h = mtls_harness();
    let cert = TestCert::named("self-signed client");
    let client = self_signed_client(&h, &cert).await;
    let reply = h.post(mtls_cc(&client, Some(cert.self_signed()))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    // A chain-verified certificate of the same key works as well.
    let reply = h.post(mtls_cc(&client, Some(cert.verified()))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);

    let unregistered = TestCert::named("self-signed client");
    assert_refused(
        &h.post(mtls_cc(&client, Some(unregistered.self_signed())))
            .await,
    );
    assert_refused(&h.post(mtls_cc(&client, None)).await);
}

#[tokio::test]
async fn without_mutual_tls_configured_an_mtls_client_cannot_authenticate() {
    let h = harness_with(|b| b);
    let cert = dn_cert();
    let client = tls_client(&h, TlsClientAuthSubject::SubjectDn(DN.into())).await;
    let reply = h.post(mtls_cc(&client, Some(cert.verified()))).await;
    assert_eq!(reply.error(), "invalid_client", "{:?}", reply.json);
    assert!(reply.json.get("access_token").is_none());
    let methods = h.server.metadata().token_endpoint_auth_methods_supported;
    assert!(!methods.contains(&AuthMethod::TLS_CLIENT_AUTH));
}

#[tokio::test]
async fn certificate_failures_are_throttled_like_other_authentication_failures() {
    let h = harness_with(|b| {
        b.mutual_tls(MutualTls::new()).throttle_policy(
            ThrottlePolicy::default()
                .with_allowed_failures(2)
                .with_initial_delay(std::time::Duration::from_secs(30)),
        )
    });
    let client = tls_client(&h, TlsClientAuthSubject::SubjectDn(DN.into())).await;
    let wrong = TestCert::named("attacker");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            h.post(mtls_cc(&client, Some(wrong.verified())))
                .await
                .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 401);
}

#[tokio::test]
async fn mtls_authenticates_at_par_revocation_and_introspection() {
    let h = mtls_harness();
    let cert = dn_cert();
    let client = tls_client(&h, TlsClientAuthSubject::SubjectDn(DN.into())).await;
    let token = h
        .post(mtls_cc(&client, Some(cert.verified())))
        .await
        .access_token()
        .to_owned();

    // Pushed authorization request (RFC 9126 §2).
    let par_body = format!(
        "client_id={}&response_type=code&redirect_uri=https%3A%2F%2Fclient.example%2Fcb\
         &code_challenge={CHALLENGE}&code_challenge_method=S256&scope=read",
        client.id
    );
    let par = |cert: Option<portcullis::token::ClientCertificate>| {
        let request = Request::post("https://auth.example/par")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(par_body.clone().into_bytes())
            .unwrap();
        match cert {
            Some(c) => with_cert(request, c),
            None => request,
        }
    };
    let reply = Reply::from(
        h.server
            .pushed_authorization_request_endpoint(par(Some(cert.verified())))
            .await,
    );
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_refused(&Reply::from(
        h.server
            .pushed_authorization_request_endpoint(par(None))
            .await,
    ));

    // Introspection (RFC 7662 §2.1).
    let introspection = |cert: portcullis::token::ClientCertificate| {
        with_cert(
            Request::post("https://auth.example/introspect")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={token}&client_id={}", client.id).into_bytes())
                .unwrap(),
            cert,
        )
    };
    let reply = Reply::from(
        h.server
            .introspection_endpoint(introspection(cert.verified()))
            .await,
    );
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["active"], true);
    let other = TestCert::named("other");
    assert_refused(&Reply::from(
        h.server
            .introspection_endpoint(introspection(other.verified()))
            .await,
    ));

    // Revocation (RFC 7009 §2.1): refused with another certificate, the
    // token still alive; accepted with the client's, the token dead.
    let revocation = |cert: portcullis::token::ClientCertificate| {
        with_cert(
            Request::post("https://auth.example/revoke")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={token}&client_id={}", client.id).into_bytes())
                .unwrap(),
            cert,
        )
    };
    assert_refused(&Reply::from(
        h.server
            .revocation_endpoint(revocation(other.verified()))
            .await,
    ));
    assert!(common::alive(&h, &token).await);
    let reply = Reply::from(
        h.server
            .revocation_endpoint(revocation(cert.verified()))
            .await,
    );
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(!common::alive(&h, &token).await);
}

#[tokio::test]
async fn a_bound_token_carries_the_certificate_thumbprint_everywhere() {
    const API: &str = "https://api.example";
    let h = harness_with(|b| {
        b.mutual_tls(MutualTls::new())
            .introspection_credential(RS_NAME, RS_SECRET)
            .signing_keys(
                KeySet::new()
                    .with_key(SigningKey::generate(Algorithm::Es256).unwrap())
                    .unwrap(),
            )
            .resource(Resource::new(API).unwrap().jwt())
            .resource(Resource::new("https://opaque.example").unwrap())
    });
    let cert = dn_cert();
    let client = client_of(&h, AuthMethod::TLS_CLIENT_AUTH, |r| {
        r.tls_client_auth_subject(TlsClientAuthSubject::SubjectDn(DN.into()))
            .tls_client_certificate_bound_access_tokens(true)
    })
    .await;
    let x5t = cert.x5t_s256();

    // A JWT access token (RFC 9068): `cnf` in its claims, `Bearer` type.
    let request = with_cert(
        token_request(
            None,
            &format!(
                "grant_type=client_credentials&client_id={}&resource=https%3A%2F%2Fapi.example",
                client.id
            ),
        ),
        cert.verified(),
    );
    let reply = h.post(request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "Bearer");
    let claims = jwt_claims(reply.access_token());
    assert_eq!(claims["cnf"], json!({"x5t#S256": x5t}));

    // An opaque token: `cnf` in the record and the introspection response.
    let reply = h.post(mtls_cc(&client, Some(cert.verified()))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "Bearer");
    let introspected = introspect(&h, reply.access_token()).await;
    assert_eq!(introspected["cnf"], json!({"x5t#S256": x5t}));
    assert_eq!(introspected["token_type"], "Bearer");
    let info = h
        .server
        .access_token_info(reply.access_token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.cnf, Some(Confirmation::x5t_s256(x5t.as_str())));
    assert_eq!(info.cnf, Some(cert.verified().confirmation()));
}

#[tokio::test]
async fn a_client_registered_for_bound_tokens_gets_none_without_a_certificate() {
    let h = mtls_harness();
    // A private-key-less client: secret authentication, tokens bound to
    // whatever certificate its connection presents.
    let client = h
        .register(
            ClientRegistration::web_application()
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("read".parse().unwrap())
                .tls_client_certificate_bound_access_tokens(true),
        )
        .await;
    let reply = h.post(common::cc_request(&client, "")).await;
    reply.assert_error(400, "invalid_request");
    assert!(reply.json.get("access_token").is_none());

    let cert = TestCert::named("any");
    let reply = h
        .post(with_cert(
            common::cc_request(&client, ""),
            cert.self_signed(),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let introspected = introspect(&h, reply.access_token()).await;
    assert_eq!(introspected["cnf"], json!({"x5t#S256": cert.x5t_s256()}));

    // A client not registered for it gets a bearer token, certificate or
    // not.
    let plain = h.cc_client().await;
    let reply = h
        .post(with_cert(
            common::cc_request(&plain, ""),
            cert.self_signed(),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert!(
        introspect(&h, reply.access_token())
            .await
            .get("cnf")
            .is_none()
    );
}

#[tokio::test]
async fn a_dpop_proof_takes_precedence_over_the_certificate() {
    const TOKEN_URL: &str = "https://auth.example/token";
    let h = harness_with(|b| {
        b.mutual_tls(MutualTls::new())
            .dpop(Dpop::new(portcullis::MemoryStore::new()))
            .introspection_credential(RS_NAME, RS_SECRET)
    });
    let cert = dn_cert();
    let client = client_of(&h, AuthMethod::TLS_CLIENT_AUTH, |r| {
        r.tls_client_auth_subject(TlsClientAuthSubject::SubjectDn(DN.into()))
            .tls_client_certificate_bound_access_tokens(true)
    })
    .await;
    let key = ProofKey::new();
    let mut request = mtls_cc(&client, Some(cert.verified()));
    request.headers_mut().insert(
        "dpop",
        HeaderValue::from_str(&key.proof("POST", TOKEN_URL, h.clock.now(), None, None)).unwrap(),
    );
    let reply = h.post(request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    let introspected = introspect(&h, reply.access_token()).await;
    assert_eq!(introspected["cnf"], json!({"jkt": key.jkt()}));
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_certificate() {
    let h = harness_with(|b| {
        b.mutual_tls(MutualTls::new())
            .grant(AuthorizationCodeGrant)
            .grant(RefreshTokenGrant)
            .introspection_credential(RS_NAME, RS_SECRET)
    });
    let client = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .grant_type(GrantType::REFRESH_TOKEN)
                .scope("read write".parse().unwrap())
                .tls_client_certificate_bound_access_tokens(true),
        )
        .await;
    let cert = TestCert::named("public client");
    let params = h.code_for(&client, "").await;
    let code = param(&params, "code").unwrap().to_owned();
    let redeem = with_cert(
        token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb\
                 &client_id={}&code_verifier={VERIFIER}",
                client.id
            ),
        ),
        cert.self_signed(),
    );
    let reply = h.post(redeem).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let refresh = reply.json["refresh_token"].as_str().unwrap().to_owned();

    // Another certificate, or none: refused.
    let other = TestCert::named("thief");
    let stolen = h
        .post(with_cert(
            common::refresh_request(&client, &refresh, ""),
            other.self_signed(),
        ))
        .await;
    assert_eq!(stolen.error(), "invalid_grant", "{:?}", stolen.json);
    let bare = h.post(common::refresh_request(&client, &refresh, "")).await;
    assert!(bare.status == 400, "{:?}", bare.json);
    assert!(bare.json.get("access_token").is_none());

    // The same certificate: a new access token, bound to it.
    let reply = h
        .post(with_cert(
            common::refresh_request(&client, &refresh, ""),
            cert.self_signed(),
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let introspected = introspect(&h, reply.access_token()).await;
    assert_eq!(introspected["cnf"], json!({"x5t#S256": cert.x5t_s256()}));
}

#[tokio::test]
async fn registration_validates_the_mtls_metadata() {
    let register = |r: ClientRegistration| r.register().map(|r| r.client);
    let base = || {
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .auth_method(AuthMethod::TLS_CLIENT_AUTH)
    };
    // None of the five, a malformed DN, a malformed DNS name or email.
    assert!(matches!(
        register(base()),
        Err(RegistrationError::InvalidMetadata(_))
    ));
    for subject in [
        TlsClientAuthSubject::SubjectDn("not a DN".into()),
        TlsClientAuthSubject::SanDns("two words.example".into()),
        TlsClientAuthSubject::SanEmail("no-at-sign".into()),
        TlsClientAuthSubject::SanUri("relative/uri".into()),
    ] {
        let result = register(base().tls_client_auth_subject(subject.clone()));
        assert!(
            matches!(result, Err(RegistrationError::InvalidMetadata(_))),
            "{subject:?}: {result:?}"
        );
    }
    // A subject for another method.
    let result = register(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .tls_client_auth_subject(TlsClientAuthSubject::SanDns("client.example".into())),
    );
    assert!(matches!(result, Err(RegistrationError::InvalidMetadata(_))));
    // self_signed_tls_client_auth without keys.
    let result = register(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .auth_method(AuthMethod::SELF_SIGNED_TLS_CLIENT_AUTH),
    );
    assert!(matches!(result, Err(RegistrationError::InvalidMetadata(_))));
    // The DN is kept canonical.
    let client =
        register(base().tls_client_auth_subject(TlsClientAuthSubject::SubjectDn(DN.into())))
            .unwrap();
    assert_eq!(
        client.tls_client_auth_subject(),
        Some(TlsClientAuthSubject::SubjectDn(DN.into()))
    );
}

#[tokio::test]
async fn dynamic_registration_takes_and_returns_the_mtls_metadata() {
    let h = harness_with(|b| {
        b.mutual_tls(MutualTls::new()).dynamic_registration(
            portcullis::endpoint::DynamicRegistration::open()
                .max_scope("read".parse().unwrap())
                .allow_grant_type(GrantType::CLIENT_CREDENTIALS),
        )
    });
    let post = |body: serde_json::Value| {
        Request::post("https://auth.example/register")
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
            .unwrap()
    };
    let reply = Reply::from(
        h.server
            .registration_endpoint(post(json!({
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_san_dns": "client.example",
                "tls_client_certificate_bound_access_tokens": true,
            })))
            .await,
    );
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["tls_client_auth_san_dns"], "client.example");
    assert_eq!(
        reply.json["tls_client_certificate_bound_access_tokens"],
        true
    );
    assert!(reply.json.get("client_secret").is_none());
    let id = reply.json["client_id"].as_str().unwrap().to_owned();

    // It authenticates with its certificate, and its token is bound.
    let cert = TestCert::new(Subject {
        dns: Some("client.example"),
        ..Subject::default()
    });
    let client = TestClient {
        id,
        secret: String::new(),
    };
    let token = h.post(mtls_cc(&client, Some(cert.verified()))).await;
    assert_eq!(token.status, 200, "{:?}", token.json);

    for bad in [
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth"}),
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth",
               "tls_client_auth_san_dns": "a.example", "tls_client_auth_san_email": "a@a.example"}),
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth",
               "tls_client_auth_san_ip": "not-an-ip"}),
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth",
               "tls_client_auth_subject_dn": "=,="}),
    ] {
        let reply = Reply::from(h.server.registration_endpoint(post(bad.clone())).await);
        reply.assert_error(400, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn the_metadata_advertises_mutual_tls() {
    let h = harness_with(|b| {
        b.mutual_tls(
            MutualTls::new()
                .endpoint_alias(Endpoint::Token, "https://mtls.auth.example/token")
                .endpoint_alias(Endpoint::Revocation, "https://mtls.auth.example/revoke"),
        )
    });
    let metadata = serde_json::to_value(h.server.metadata()).unwrap();
    let methods = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("tls_client_auth")));
    assert!(methods.contains(&json!("self_signed_tls_client_auth")));
    assert_eq!(metadata["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(
        metadata["mtls_endpoint_aliases"],
        json!({
            "token_endpoint": "https://mtls.auth.example/token",
            "revocation_endpoint": "https://mtls.auth.example/revoke",
        })
    );

    let plain = serde_json::to_value(code_harness().server.metadata()).unwrap();
    assert!(
        plain
            .get("tls_client_certificate_bound_access_tokens")
            .is_none()
    );
    assert!(plain.get("mtls_endpoint_aliases").is_none());
}

#[test]
fn the_builder_refuses_unusable_aliases() {
    for mtls in [
        MutualTls::new().endpoint_alias(Endpoint::Authorization, "https://mtls.auth.example/a"),
        MutualTls::new().endpoint_alias(Endpoint::Token, "http://mtls.auth.example/token"),
        MutualTls::new().endpoint_alias(Endpoint::Token, "not a url"),
    ] {
        let result = portcullis::AuthorizationServer::builder(common::ISSUER)
            .clients(portcullis::MemoryStore::new())
            .tokens(portcullis::MemoryStore::new())
            .grant(portcullis::grant::ClientCredentialsGrant)
            .mutual_tls(mtls)
            .build();
        assert!(
            matches!(result, Err(BuildError::InvalidMutualTls(_))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn the_implicit_grant_never_issues_a_token_to_a_client_registered_for_binding() {
    let h = harness_with(|b| b.mutual_tls(MutualTls::new()).enable_implicit_grant());
    let register = |bound: bool| {
        ClientRegistration::user_agent_based()
            .redirect_uri("https://spa.example/cb")
            .grant_type(GrantType::IMPLICIT)
            .scope("read".parse().unwrap())
            .tls_client_certificate_bound_access_tokens(bound)
    };
    let bound = h.register(register(true)).await;
    let query = |client: &TestClient| {
        format!(
            "response_type=token&client_id={}&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&state=s",
            client.id
        )
    };
    let error = h.authorize(&query(&bound)).await.unwrap_err();
    assert_eq!(
        error.error().unwrap().code().as_str(),
        "unauthorized_client"
    );
    let response = error.into_http();
    let params = common::redirect_params(&response);
    assert_eq!(param(&params, "error"), Some("unauthorized_client"));
    assert!(param(&params, "access_token").is_none());

    // A client not registered for binding still may (the server opted in).
    let plain = h.register(register(false)).await;
    assert!(h.authorize(&query(&plain)).await.is_ok());
}
