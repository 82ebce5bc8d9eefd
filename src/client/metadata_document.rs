//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-01).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::de::IgnoredAny;
use url::{Host, Url};

use super::events::loggable;
use super::metadata::MetadataLimits;
use super::registry::DynClientRegistry;
use super::{AuthMethod, Client, ClientMetadata, MAX_CLIENT_ID_LEN, RegistrationQuota};
use crate::error::StoreError;
use crate::fetch::{FetchLimits, Fetcher, cache_lifetime};
use crate::protocol::{GrantType, Scope};
use crate::token::{Clock, TokenHash};

/// The grant types a client metadata document may list.
const DOCUMENT_GRANTS: [GrantType; 2] = [GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN];

/// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document-01):
/// a `client_id` that is an `https` URL names a JSON document of client
/// metadata, which the server fetches — through the host's
/// [`Fetcher`] — instead of looking the client up in its registry.
///
/// [`ClientIdMetadataDocuments`] holds the settings; the builder's
/// [`client_id_metadata_documents`](crate::ServerBuilder::client_id_metadata_documents)
/// puts its registry of documents in front of the host's registry. The rules:
///
/// - **The identifier (§3).** `https`, with a host and a path, no fragment,
///   no user information, no `.` or `..` segment, and in the form a URL
///   parser writes (lower-case scheme and host, no default port), at most
///   [`MAX_CLIENT_ID_LEN`] bytes. `http` on a loopback host (`127.0.0.0/8`,
///   `[::1]`, `localhost`) only with the development switch
///   [`allow_loopback_http`](ClientIdMetadataDocuments::allow_loopback_http).
///   Any other `client_id` goes to the host's registry, and so does this one
///   first: a client registered under a URL keeps its registration (§6.10).
/// - **The fetch (§4, §6.5, §6.6).** One `GET`, no redirects, within
///   [`FetchLimits`] (default 5 KiB, §6.6's recommendation, in 5 seconds);
///   only `200` counts. SSRF protection is the fetcher's: it must refuse
///   special-use addresses after resolving the host.
/// - **The document (§4.1).** A JSON object whose `client_id` equals the URL
///   exactly (RFC 3986 §6.2.1 simple string comparison), with at least one
///   redirect URI. No `client_secret` or `client_secret_expires_at`, and
///   `token_endpoint_auth_method` `none` (the default here, since no secret
///   can be shared): the client is public, so PKCE is required of it. A
///   secret-based method is refused (§4.1), and so is `private_key_jwt`,
///   which this server does not accept from documents, and
///   `sector_identifier_uri`, whose document a lookup does not fetch
///   (OpenID Connect Registration §5). Grant types are
///   `authorization_code` and `refresh_token` at most. Otherwise the RFC 7591
///   rules of [`ClientMetadata`] apply: redirect URIs, response types, scope
///   within [`max_scope`](ClientIdMetadataDocuments::max_scope).
/// - **Redirect URIs (§4.5).** Compared exactly, port included: a loopback
///   redirect in a document does not match on any port (RFC 8252 §7.3's
///   relaxation is for registered native apps; the draft requires an exact
///   match).
/// - **Caching (§4.4).** A document is kept as long as its `Cache-Control`
///   says ([`cache_lifetime`]), within bounds (default 60 seconds to 24
///   hours; 5 minutes without the header). Errors and invalid documents are
///   not cached (§4.4) unless the host sets a
///   [`failure_lifetime`](ClientIdMetadataDocuments::failure_lifetime). At
///   most [`max_cached`](ClientIdMetadataDocuments::max_cached) documents
///   and [`max_concurrent_fetches`](ClientIdMetadataDocuments::max_concurrent_fetches)
///   fetches at once, so unknown URLs cannot exhaust memory or connections.
///
/// A document that cannot be fetched or is refused makes the client unknown:
/// the authorization endpoint answers `400` without redirecting (§4.3:
/// abort the request), the token endpoint `invalid_client`. The reason goes
/// to `tracing` (target `portcullis::security`, event
/// `client_metadata_document_refused`), never to the client.
///
/// How the server resolves URL-shaped `client_id`s
/// (draft-ietf-oauth-client-id-metadata-document-01), by the rules above.
///
/// ```
/// use std::sync::Arc;
/// use portcullis::client::ClientIdMetadataDocuments;
/// # use portcullis::fetch::{Fetcher, FetchError, FetchLimits};
/// # #[derive(Debug)] struct MyFetcher;
/// # impl Fetcher for MyFetcher {
/// #     fn get<'a>(&'a self, _: &'a url::Url, _: FetchLimits)
/// #         -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<http::Response<Vec<u8>>, FetchError>> + Send + 'a>>
/// #     { Box::pin(async { Err(FetchError::new("offline")) }) }
/// # }
/// let documents = ClientIdMetadataDocuments::new(Arc::new(MyFetcher))
///     .max_scope("read".parse()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientIdMetadataDocuments {
    fetcher: Arc<dyn Fetcher>,
    allow_loopback_http: bool,
    limits: FetchLimits,
    max_scope: Scope,
    default_lifetime: Duration,
    min_lifetime: Duration,
    max_lifetime: Duration,
    failure_lifetime: Duration,
    max_cached: usize,
    max_concurrent_fetches: usize,
}

impl fmt::Debug for ClientIdMetadataDocuments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdMetadataDocuments")
            .field("fetcher", &self.fetcher)
            .field("allow_loopback_http", &self.allow_loopback_http)
            .field("limits", &self.limits)
            .field("max_scope", &self.max_scope)
            .finish_non_exhaustive()
    }
}

/// The largest document read by default: §6.6 recommends 5 kilobytes.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 5 * 1024;

impl ClientIdMetadataDocuments {
    /// Documents fetched with `fetcher`, with the defaults given in the
    /// type's documentation and an empty
    /// [`max_scope`](Self::max_scope).
    pub fn new(fetcher: Arc<dyn Fetcher>) -> Self {
        Self {
            fetcher,
            allow_loopback_http: false,
            limits: FetchLimits::new(DEFAULT_MAX_DOCUMENT_BYTES, Duration::from_secs(5)),
            max_scope: Scope::empty(),
            default_lifetime: Duration::from_secs(300),
            min_lifetime: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(24 * 3600),
            failure_lifetime: Duration::ZERO,
            max_cached: 1000,
            max_concurrent_fetches: 16,
        }
    }

    /// Development only: also accepts `http` identifiers on a loopback host
    /// (`http://127.0.0.1:PORT/…`, `http://[::1]/…`, `http://localhost/…`),
    /// so that a client under development can serve its document from the
    /// developer's machine (§4.2). The fetcher must allow fetching them too.
    pub fn allow_loopback_http(mut self, allow: bool) -> Self {
        self.allow_loopback_http = allow;
        self
    }

    /// The size and time limits of one fetch.
    pub fn limits(mut self, limits: FetchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The most scope a document's client may have; also what it gets when
    /// the document has no `scope`. Empty unless set.
    pub fn max_scope(mut self, scope: Scope) -> Self {
        self.max_scope = scope;
        self
    }

    /// How long a document is cached: `default` without `Cache-Control`,
    /// never less than `min` nor more than `max` (§4.4, RFC 9111 §5.2.2).
    pub fn cache_lifetime(mut self, default: Duration, min: Duration, max: Duration) -> Self {
        self.default_lifetime = default;
        self.min_lifetime = min;
        self.max_lifetime = max;
        self
    }

    /// How long a failed fetch or a refused document is remembered, so that
    /// requests naming it do not fetch it again. Zero by default: §4.4 says
    /// errors and invalid documents MUST NOT be cached; a few seconds spare
    /// a slow or broken client's host from repeated fetches, at the cost of
    /// that deviation.
    pub fn failure_lifetime(mut self, lifetime: Duration) -> Self {
        self.failure_lifetime = lifetime;
        self
    }

    /// The most documents (and remembered failures) kept at once; past it,
    /// the entry expiring first is dropped. Default 1000.
    pub fn max_cached(mut self, n: usize) -> Self {
        self.max_cached = n.max(1);
        self
    }

    /// The most fetches in progress at once; a lookup past it fails (the
    /// client is unknown) without fetching. Default 16.
    pub fn max_concurrent_fetches(mut self, n: usize) -> Self {
        self.max_concurrent_fetches = n.max(1);
        self
    }

    /// Whether `client_id` is one this resolves: an identifier URL by the
    /// rules of §3 (and the loopback switch). `None` when it is not.
    fn document_url(&self, client_id: &str) -> Option<Url> {
        let loopback_http = client_id.starts_with("http://") && self.allow_loopback_http;
        if !client_id.starts_with("https://") && !loopback_http {
            return None;
        }
        check_identifier(client_id, self.allow_loopback_http).ok()
    }
}

/// Why a URL is not a client identifier (§3).
fn check_identifier(client_id: &str, allow_loopback_http: bool) -> Result<Url, &'static str> {
    if client_id.len() > MAX_CLIENT_ID_LEN {
        return Err("longer than this server's client identifiers may be");
    }
    let url = Url::parse(client_id).map_err(|_| "not a URL")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && is_loopback(&url) => {}
        _ => return Err("not an https URL"),
    }
    if url.host().is_none() {
        return Err("no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("has user information");
    }
    if url.fragment().is_some() {
        return Err("has a fragment");
    }
    // The parser removes `.` and `..` segments (also percent-encoded ones),
    // lower-cases the host and drops a default port: an identifier it
    // rewrites is not in the one form the document's `client_id` is
    // compared with.
    if url.as_str() != client_id {
        return Err("not in normal form (dot segments, upper case, default port)");
    }
    if url.path().is_empty() || url.path() == "/" {
        return Err("no path");
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// The members of a document that RFC 7591 metadata does not cover but
/// §4.1 rules on.
#[derive(serde::Deserialize)]
struct Reserved {
    client_id: String,
    #[serde(default)]
    client_secret: Option<IgnoredAny>,
    #[serde(default)]
    client_secret_expires_at: Option<IgnoredAny>,
}

/// The client a fetched document describes, or why it is refused.
fn client_of(
    url: &Url,
    body: &[u8],
    max_scope: &Scope,
    detail_types: &[String],
) -> Result<Client, String> {
    let reserved: Reserved = serde_json::from_slice(body)
        .map_err(|_| "not a JSON object with a string client_id".to_owned())?;
    if reserved.client_id != url.as_str() {
        return Err("its client_id is not the URL it was fetched from".to_owned());
    }
    if reserved.client_secret.is_some() || reserved.client_secret_expires_at.is_some() {
        return Err("it has a client_secret (§4.1 forbids one)".to_owned());
    }
    let mut metadata = ClientMetadata::from_json(body).map_err(|e| e.to_string())?;
    let method = metadata
        .token_endpoint_auth_method
        .get_or_insert_with(|| AuthMethod::NONE.as_str().to_owned());
    match method.as_str() {
        "none" => {}
        "client_secret_basic" | "client_secret_post" | "client_secret_jwt" => {
            return Err(format!(
                "token_endpoint_auth_method {method} relies on a shared secret (§4.1 forbids it)"
            ));
        }
        other => {
            return Err(format!(
                "token_endpoint_auth_method {other} is not supported for metadata documents: only none"
            ));
        }
    }
    // OpenID Connect Registration §5 has the document it names fetched and
    // checked at registration; a lookup does not fetch a second document.
    if metadata.sector_identifier_uri.is_some() {
        return Err("sector_identifier_uri is not supported in metadata documents".to_owned());
    }
    // A public client authenticates with nothing: keys a document
    // publishes are not registered.
    metadata.jwks = None;
    metadata.jwks_uri = None;
    if metadata.redirect_uris.as_ref().is_none_or(Vec::is_empty) {
        return Err("it has no redirect_uris".to_owned());
    }
    // RFC 9396 §10, as at registration: the types a client names must be
    // ones this server accepts.
    if let Some(unknown) = metadata
        .authorization_details_types
        .iter()
        .flatten()
        .find(|t| !detail_types.contains(t))
    {
        return Err(format!(
            "authorization_details_types names {}, a type this server does not support",
            loggable(unknown)
        ));
    }
    let limits = MetadataLimits {
        grant_types: &DOCUMENT_GRANTS,
        auth_methods: &[AuthMethod::NONE],
        max_scope,
    };
    let client = metadata
        .to_registration(&limits)
        .map_err(|e| e.to_string())?
        .client_id(url.as_str())
        .register()
        .map_err(|e| e.to_string())?
        .client;
    Ok(client.with_exact_redirect_uris())
}

/// A cached lookup: the client, or a remembered failure.
struct Cached {
    client: Option<Arc<Client>>,
    expires_at: SystemTime,
}

/// The host's registry, with URL identifiers resolved from their documents
/// (the [module documentation](self) has the rules). Made by the builder.
pub(crate) struct DocumentClients {
    inner: Box<dyn DynClientRegistry>,
    settings: ClientIdMetadataDocuments,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<String, Cached>>,
    in_flight: AtomicUsize,
    /// The authorization details types the server accepts (RFC 9396 §10).
    detail_types: Vec<String>,
}

impl fmt::Debug for DocumentClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentClients")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Counts a fetch in progress while it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl DocumentClients {
    pub(crate) fn new(
        inner: Box<dyn DynClientRegistry>,
        settings: ClientIdMetadataDocuments,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            settings,
            clock,
            cache: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            detail_types: Vec::new(),
        }
    }

    /// The authorization details types the server accepts (RFC 9396 §10):
    /// a document naming any other is refused, as a registration is.
    pub(crate) fn accepting_detail_types(mut self, types: Vec<String>) -> Self {
        self.detail_types = types;
        self
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached lookup of `url`, if it has not expired.
    fn cached(&self, url: &str, now: SystemTime) -> Option<Option<Arc<Client>>> {
        let cache = self.cache();
        cache
            .get(url)
            .filter(|c| c.expires_at > now)
            .map(|c| c.client.clone())
    }

    fn remember(&self, url: &str, client: Option<Arc<Client>>, lifetime: Duration) {
        if lifetime.is_zero() {
            return;
        }
        let now = self.clock.now();
        let mut cache = self.cache();
        if !cache.contains_key(url) && cache.len() >= self.settings.max_cached {
            cache.retain(|_, c| c.expires_at > now);
            if cache.len() >= self.settings.max_cached {
                let first = cache
                    .iter()
                    .min_by_key(|(_, c)| c.expires_at)
                    .map(|(k, _)| k.clone());
                if let Some(first) = first {
                    cache.remove(&first);
                }
            }
        }
        cache.insert(
            url.to_owned(),
            Cached {
                client,
                expires_at: now + lifetime,
            },
        );
    }

    fn refuse(&self, url: &Url, reason: &str) -> Option<Arc<Client>> {
        tracing::warn!(
            target: "portcullis::security",
            event = "client_metadata_document_refused",
            client_id = loggable(url.as_str()),
            reason,
        );
        self.remember(url.as_str(), None, self.settings.failure_lifetime);
        None
    }

    /// Fetches and checks the document at `url`.
    async fn resolve(&self, url: &Url) -> Option<Arc<Client>> {
        let settings = &self.settings;
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= settings.max_concurrent_fetches {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(
                target: "portcullis::security",
                event = "client_metadata_document_refused",
                client_id = loggable(url.as_str()),
                reason = "too many fetches in progress",
            );
            return None;
        }
        let guard = InFlight(&self.in_flight);
        let fetched = settings.fetcher.get(url, settings.limits).await;
        drop(guard);
        let response = match fetched {
            Ok(response) => response,
            Err(e) => return self.refuse(url, &e.to_string()),
        };
        if response.status() != http::StatusCode::OK {
            return self.refuse(url, &format!("answered {}", response.status()));
        }
        if response.body().len() > settings.limits.max_body {
            return self.refuse(url, "larger than the limit");
        }
        match client_of(
            url,
            response.body(),
            &settings.max_scope,
            &self.detail_types,
        ) {
            Ok(client) => {
                let client = Arc::new(client);
                let lifetime = cache_lifetime(
                    response.headers(),
                    settings.default_lifetime,
                    settings.min_lifetime,
                    settings.max_lifetime,
                );
                self.remember(url.as_str(), Some(client.clone()), lifetime);
                Some(client)
            }
            Err(reason) => self.refuse(url, &reason),
        }
    }
}

impl super::ClientRegistry for DocumentClients {
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        let Some(url) = self.settings.document_url(client_id) else {
            return self.inner.find_client(client_id).await;
        };
        // A client registered under its URL keeps its registration (§6.10).
        if let Some(client) = self.inner.find_client(client_id).await? {
            return Ok(Some(client));
        }
        if let Some(cached) = self.cached(client_id, self.clock.now()) {
            return Ok(cached);
        }
        Ok(self.resolve(&url).await)
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        self.inner.insert_client(client).await
    }

    async fn insert_client_within_quota(
        &self,
        client: Client,
        quota: &RegistrationQuota,
    ) -> Result<bool, StoreError> {
        self.inner.insert_client_within_quota(client, quota).await
    }

    async fn update_client(
        &self,
        client: Client,
        expected_token: Option<&TokenHash>,
    ) -> Result<bool, StoreError> {
        self.inner.update_client(client, expected_token).await
    }

    async fn delete_client(
        &self,
        client_id: &str,
        expected_token: Option<&TokenHash>,
    ) -> Result<bool, StoreError> {
        self.inner.delete_client(client_id, expected_token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientRegistry;
    use crate::fetch::FetchError;
    use crate::token::SystemClock;

    /// A fetcher whose fetches wait for a permit, then fail.
    #[derive(Debug)]
    struct Stalled {
        permits: Arc<tokio::sync::Semaphore>,
        started: Arc<AtomicUsize>,
    }

    impl Fetcher for Stalled {
        fn get<'a>(
            &'a self,
            _url: &'a Url,
            _limits: FetchLimits,
        ) -> crate::erased::BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
            self.started.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let _permit = self.permits.acquire().await;
                Err(FetchError::new("unreachable"))
            })
        }
    }

    #[tokio::test]
    async fn lookups_past_the_concurrency_cap_fail_without_fetching() {
        let permits = Arc::new(tokio::sync::Semaphore::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let fetcher = Stalled {
            permits: permits.clone(),
            started: started.clone(),
        };
        let settings = ClientIdMetadataDocuments::new(Arc::new(fetcher)).max_concurrent_fetches(2);
        let clients = Arc::new(DocumentClients::new(
            Box::new(crate::store::MemoryStore::new()),
            settings,
            Arc::new(SystemClock),
        ));
        let lookup = |n: u32| {
            let clients = clients.clone();
            tokio::spawn(async move {
                ClientRegistry::find_client(&*clients, &format!("https://app.example/{n}.json"))
                    .await
            })
        };
        let (first, second) = (lookup(1), lookup(2));
        while started.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        // Two fetches in progress: a third lookup fails at once, unfetched.
        let third = lookup(3).await.unwrap().unwrap();
        assert!(third.is_none());
        assert_eq!(started.load(Ordering::SeqCst), 2);
        // Once they end, fetching is possible again.
        permits.add_permits(10);
        assert!(first.await.unwrap().unwrap().is_none());
        assert!(second.await.unwrap().unwrap().is_none());
        assert!(lookup(4).await.unwrap().unwrap().is_none());
        assert_eq!(started.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn identifier_rules() {
        let ok = |id: &str| check_identifier(id, false).is_ok();
        assert!(ok("https://client.example/metadata.json"));
        assert!(ok("https://client.example:8443/a/b?x=1"));
        for bad in [
            "http://client.example/metadata.json",
            "https://client.example",
            "https://client.example/",
            "https://client.example/a#f",
            "https://u@client.example/a",
            "https://u:p@client.example/a",
            "https://client.example/a/../b",
            "https://client.example/./b",
            "https://client.example/%2e%2e/b",
            "https://CLIENT.example/a",
            "https://client.example:443/a",
            "HTTPS://client.example/a",
            "https:///a",
            "http://127.0.0.1:5000/client.json",
        ] {
            assert!(!ok(bad), "{bad}");
        }
        let long = format!("https://client.example/{}", "a".repeat(MAX_CLIENT_ID_LEN));
        assert!(!ok(&long));
        let dev = |id: &str| check_identifier(id, true).is_ok();
        assert!(dev("http://127.0.0.1:5000/client.json"));
        assert!(dev("http://localhost:5000/client.json"));
        assert!(dev("http://[::1]:5000/client.json"));
        assert!(!dev("http://client.example/client.json"));
        assert!(!dev("http://10.0.0.1/client.json"));
    }
}
