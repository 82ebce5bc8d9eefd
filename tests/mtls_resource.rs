//! Certificate-bound access tokens at protected resources (RFC 8705 §3):
//! every validator — the `BearerValidator` over the server, over JWT
//! access tokens and over introspection responses, the tower layer, and
//! UserInfo — accepts a token bound by `x5t#S256` only as `Authorization:
//! Bearer` over a connection with the same certificate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use common::dpop::ProofKey;
use common::mtls::{TestCert, with_cert};
use common::{Harness, Reply, harness_with, token_request};
use http::{Request, Response};
use portcullis::AuthorizationServer;
use portcullis::client::{AuthMethod, ClientRegistration, TlsClientAuthSubject};
use portcullis::endpoint::{Dpop, MutualTls};
use portcullis::fetch::{FetchError, FetchLimits, Fetcher};
use portcullis::oidc::{Claims, OpenIdConnect, StaticClaims};
use portcullis::protocol::{GrantType, IntrospectionResponse, Resource, Scope};
use portcullis::resource::{
    BearerValidator, DpopResource, JwtAccessTokenSource, Realm, TokenInfo, TokenSource,
};
use portcullis::token::{ClientCertificate, Clock, Confirmation};
use portcullis::tower::BearerLayer;
use tower::{Layer as _, ServiceExt as _};
use url::Url;

const API: &str = "https://api.example";
const USERINFO: &str = "https://auth.example/userinfo";

fn harness() -> Harness {
    harness_with(|b| {
        b.mutual_tls(MutualTls::new())
            .dpop(Dpop::new(portcullis::MemoryStore::new()))
            .grant(portcullis::grant::AuthorizationCodeGrant)
            .signing_keys(common::signing_keys(&[
                portcullis::jose::Algorithm::Rs256,
                portcullis::jose::Algorithm::Es256,
            ]))
            .resource(Resource::new(API).unwrap().jwt())
            .openid_connect(OpenIdConnect::new(
                StaticClaims::new().user("alice", Claims::new().with("name", "Alice")),
            ))
    })
}

/// A `tls_client_auth` client whose tokens are bound to `cert`.
async fn bound_client(h: &Harness) -> common::TestClient {
    h.register(
        ClientRegistration::web_application()
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .scope("read".parse().unwrap())
            .auth_method(AuthMethod::TLS_CLIENT_AUTH)
            .tls_client_auth_subject(TlsClientAuthSubject::SubjectDn("CN=bound client".into()))
            .tls_client_certificate_bound_access_tokens(true),
    )
    .await
}

/// An access token bound to `cert` (`extra` added to the request body).
async fn bound_token(h: &Harness, cert: &TestCert, extra: &str) -> String {
    let client = bound_client(h).await;
    let request = with_cert(
        token_request(
            None,
            &format!(
                "grant_type=client_credentials&client_id={}{extra}",
                client.id
            ),
        ),
        cert.verified(),
    );
    let reply = h.post(request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["token_type"], "Bearer");
    reply.access_token().to_owned()
}

fn get(url: &str, authorization: &str, cert: Option<ClientCertificate>) -> Request<Vec<u8>> {
    let request = Request::get(url)
        .header("authorization", authorization)
        .body(Vec::new())
        .unwrap();
    match cert {
        Some(cert) => with_cert(request, cert),
        None => request,
    }
}

fn server_validator(h: &Harness) -> BearerValidator<AuthorizationServer> {
    let clock: Arc<dyn Clock> = h.clock.clone();
    BearerValidator::new(h.server.clone(), Realm::new("api").unwrap()).dpop(
        DpopResource::new(
            Dpop::new(portcullis::MemoryStore::new()),
            Url::parse(API).unwrap(),
        )
        .clock(clock),
    )
}

/// The status and error code `validator` answers `request` with.
async fn outcome<S: TokenSource>(
    validator: &BearerValidator<S>,
    request: Request<Vec<u8>>,
) -> (u16, String) {
    match validator.validate(&request, &Scope::empty()).await {
        Ok(_) => (200, String::new()),
        Err(e) => {
            let reply = Reply::from(e.into_http());
            (reply.status, reply.error().to_owned())
        }
    }
}

/// The checks every validator passes: the bound certificate accepted;
/// none, another, or the token presented as DPoP refused as
/// `invalid_token`.
async fn assert_enforced<S: TokenSource>(
    h: &Harness,
    validator: &BearerValidator<S>,
    token: &str,
    cert: &TestCert,
) {
    let bearer = format!("Bearer {token}");
    assert_eq!(
        outcome(validator, get(API, &bearer, Some(cert.verified()))).await,
        (200, String::new())
    );
    // A self-signed handover of the same certificate: the thumbprint is the
    // binding, not the chain.
    assert_eq!(
        outcome(validator, get(API, &bearer, Some(cert.self_signed()))).await,
        (200, String::new())
    );
    let refused = (401, "invalid_token".to_owned());
    assert_eq!(outcome(validator, get(API, &bearer, None)).await, refused);
    let other = TestCert::named("bound client");
    assert_eq!(
        outcome(validator, get(API, &bearer, Some(other.verified()))).await,
        refused
    );
    // As DPoP, with a valid proof of some key, over the right connection.
    let key = ProofKey::new();
    let proof = key.proof("GET", API, h.clock.now(), Some(token), None);
    let mut request = get(API, &format!("DPoP {token}"), Some(cert.verified()));
    request
        .headers_mut()
        .insert("dpop", http::HeaderValue::from_str(&proof).unwrap());
    assert_eq!(outcome(validator, request).await, refused);
}

fn bound_cert() -> TestCert {
    TestCert::named("bound client")
}

#[tokio::test]
async fn the_server_backed_validator_enforces_the_certificate() {
    let h = harness();
    let cert = bound_cert();
    let token = bound_token(&h, &cert, "").await;
    assert_enforced(&h, &server_validator(&h), &token, &cert).await;
}

/// Serves the server's JWKS to a resource's JWT source.
#[derive(Clone)]
struct JwksFetcher(AuthorizationServer);

impl std::fmt::Debug for JwksFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwksFetcher")
    }
}

impl Fetcher for JwksFetcher {
    fn get<'a>(
        &'a self,
        url: &'a Url,
        _limits: FetchLimits,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<http::Response<Vec<u8>>, FetchError>>
                + Send
                + 'a,
        >,
    > {
        let server = self.0.clone();
        let path = url.path().to_owned();
        Box::pin(async move { Ok(server.jwks_endpoint(Request::get(path).body(()).unwrap())) })
    }
}

#[tokio::test]
async fn the_jwt_backed_validator_enforces_the_certificate() {
    let h = harness();
    let cert = bound_cert();
    let token = bound_token(&h, &cert, "&resource=https%3A%2F%2Fapi.example").await;
    let source = JwtAccessTokenSource::new(
        common::ISSUER,
        Url::parse("https://auth.example/jwks").unwrap(),
        API,
        JwksFetcher(h.server.clone()),
    )
    .clock(h.clock.clone());
    let info = source.token_info(&token).await.unwrap().unwrap();
    assert_eq!(info.cnf, Some(Confirmation::x5t_s256(cert.x5t_s256())));
    let clock: Arc<dyn Clock> = h.clock.clone();
    let validator = BearerValidator::new(source, Realm::new("api").unwrap()).dpop(
        DpopResource::new(
            Dpop::new(portcullis::MemoryStore::new()),
            Url::parse(API).unwrap(),
        )
        .clock(clock),
    );
    assert_enforced(&h, &validator, &token, &cert).await;
}

/// A token source that answers as an introspection endpoint did (RFC 7662
/// §2.2), read through `TokenInfo::from_introspection`.
struct Introspected(TokenInfo);

impl TokenSource for Introspected {
    async fn token_info(
        &self,
        _token: &str,
    ) -> Result<Option<TokenInfo>, portcullis::resource::TokenSourceError> {
        Ok(Some(self.0.clone()))
    }
}

#[tokio::test]
async fn the_introspection_backed_validator_enforces_the_certificate() {
    let h = harness();
    let cert = bound_cert();
    let now = h.clock.now();
    let exp = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let json = format!(
        r#"{{"active":true,"scope":"read","client_id":"c1","token_type":"Bearer","exp":{exp},
            "cnf":{{"x5t#S256":"{}"}}}}"#,
        cert.x5t_s256()
    );
    let response = IntrospectionResponse::from_json(json.as_bytes()).unwrap();
    let info = TokenInfo::from_introspection(&response, common::ISSUER, now).unwrap();
    assert_eq!(info.cnf, Some(Confirmation::x5t_s256(cert.x5t_s256())));
    let validator = BearerValidator::new(Introspected(info), Realm::new("api").unwrap());
    let token = "an-opaque-token-the-introspection-endpoint-knows";
    let bearer = format!("Bearer {token}");
    assert_eq!(
        outcome(&validator, get(API, &bearer, Some(cert.verified()))).await,
        (200, String::new())
    );
    assert_eq!(
        outcome(&validator, get(API, &bearer, None)).await,
        (401, "invalid_token".to_owned())
    );
    let other = TestCert::named("other");
    assert_eq!(
        outcome(&validator, get(API, &bearer, Some(other.verified()))).await,
        (401, "invalid_token".to_owned())
    );
}

#[tokio::test]
async fn the_tower_layer_enforces_the_certificate() {
    let h = harness();
    let cert = bound_cert();
    let token = bound_token(&h, &cert, "").await;
    let inner = tower::service_fn(|request: Request<Vec<u8>>| async move {
        let client = request
            .extensions()
            .get::<TokenInfo>()
            .and_then(|i| i.client_id.as_ref().map(ToString::to_string))
            .unwrap_or_default();
        Ok::<_, Infallible>(Response::new(client.into_bytes()))
    });
    let service = BearerLayer::new(server_validator(&h)).layer(inner);
    let bearer = format!("Bearer {token}");
    let response = service
        .clone()
        .oneshot(get(API, &bearer, Some(cert.verified())))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(!response.body().is_empty(), "the token reached the service");
    for cert in [None, Some(TestCert::named("other").verified())] {
        let response = service
            .clone()
            .oneshot(get(API, &bearer, cert))
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let reply = Reply::from(response);
        assert_eq!(reply.error(), "invalid_token");
    }
}

#[tokio::test]
async fn userinfo_enforces_the_certificate() {
    let h = harness();
    let cert = bound_cert();
    let client = h
        .register(
            ClientRegistration::native()
                .redirect_uri("http://127.0.0.1/cb")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .scope("openid profile".parse().unwrap())
                .tls_client_certificate_bound_access_tokens(true),
        )
        .await;
    let pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256&scope=openid%20profile",
            client.id,
            common::CHALLENGE
        ))
        .await
        .unwrap();
    let response = h.server.approve(pending, "alice", None).await.unwrap();
    let params = common::redirect_params(&response);
    let code = common::param(&params, "code").unwrap();
    let request = with_cert(
        token_request(
            None,
            &format!(
                "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}",
                client.id,
                common::VERIFIER
            ),
        ),
        cert.self_signed(),
    );
    let reply = h.post(request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let token = reply.access_token().to_owned();
    let bearer = format!("Bearer {token}");

    let reply = Reply::from(
        h.server
            .userinfo_endpoint(get(USERINFO, &bearer, Some(cert.self_signed())))
            .await,
    );
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    assert_eq!(reply.json["sub"], "alice");
    for other in [None, Some(TestCert::named("other").self_signed())] {
        let reply = Reply::from(
            h.server
                .userinfo_endpoint(get(USERINFO, &bearer, other))
                .await,
        );
        assert_eq!(reply.status, 401);
        assert_eq!(reply.error(), "invalid_token");
    }
}
