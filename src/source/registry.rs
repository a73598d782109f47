//! Registry references (`alpine`, `library/alpine:3.20`, `ghcr.io/o/r@sha256:...`,
//! `127.0.0.1:5000/app:1`), read over the OCI distribution API.
//!
//! Owns: reference normalisation (oci-client's `Reference`, which follows Docker: a bare name
//! is `docker.io/library/NAME:latest`), the transport choice (plain HTTP for `localhost` and
//! `127.0.0.0/8` as Docker does, or with `--plain-http`; `--insecure` accepts any TLS
//! certificate), authentication (oci-client's token exchange, anonymous bearer tokens
//! included; credentials from [`super::auth`]), manifests and indexes through oci-client with
//! retries, and blob streams.
//!
//! Blob bytes are fetched with reqwest (the same client build oci-client uses) rather than
//! `pull_blob_stream_partial`, because oci-client's errors drop the response headers: a 429's
//! `Retry-After` and a 206's `Content-Range` are needed here. Each blob is one streamed GET;
//! a reset, a stall (no byte for `timeout`) or an early end resumes with
//! `Range: bytes=N-` from the last byte received (a registry that answers 200 instead is
//! re-read from the start, the first N bytes discarded); 5xx and 429 are retried with
//! exponential backoff, honouring `Retry-After` (seconds) up to a limit. Nothing is written
//! to disk; [`super::blob`] verifies every byte against the digest.
//!
//! Does not: decompress or verify layers (see [`super::blob`]); print anything. Credentials
//! never appear in messages, labels or `Debug` output.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use oci_client::Reference;

use super::auth::{self, CredentialOrigin, Credentials};
use super::model::{self, Doc, MAX_JSON};
use super::platform;
use super::spec::SourceOptions;
use super::{BlobStream, Descriptor, Error, ImageConfig, ImageSource, IndexChoice, Manifest};
use crate::digest::Digest;
use crate::limits::{Limit, LimitHit, LimitValue};

/// Manifest media types asked for (indexes included: imgopt resolves platforms itself).
const ACCEPT: &[&str] = &[
    model::OCI_MANIFEST,
    model::OCI_INDEX,
    model::DOCKER_MANIFEST,
    model::DOCKER_LIST,
];

/// The largest manifest or index body read from a registry: the distribution registry
/// refuses to store bigger ones (`defaultMaxManifestBodySize`, 4 MiB,
/// <https://github.com/distribution/distribution/blob/main/registry/handlers/manifests.go>).
pub const MAX_MANIFEST_BODY: u64 = 4 << 20;
/// The largest token-service answer read (a JSON object with one token; real ones are a few
/// KiB).
pub const MAX_TOKEN_BODY: u64 = 1 << 20;
/// The largest error body read (the distribution API's JSON error envelope).
const MAX_ERROR_BODY: u64 = 64 << 10;
/// Entries an image index may list (after attestations are dropped and duplicates merged).
pub const MAX_INDEX_ENTRIES: usize = super::model::MAX_INDEX_ENTRIES;

/// Counters of what the network did, for tests and `--verbose`.
#[derive(Debug, Default)]
pub struct NetStats {
    /// Manifest and index requests sent (each attempt counts).
    pub manifest_requests: AtomicU64,
    /// Token exchanges (the `/v2/` challenge and the token request it leads to count once).
    pub token_requests: AtomicU64,
    /// Blob GETs sent (configs included; each attempt and each resume counts).
    pub blob_requests: AtomicU64,
    /// Bytes received in manifest and blob bodies (re-read bytes included).
    pub bytes: AtomicU64,
    /// Requests retried (5xx, 429, resets, stalls).
    pub retries: AtomicU64,
    /// Blob downloads resumed with a `Range` request.
    pub resumes: AtomicU64,
    /// Blob responses that ignored `Range` (re-read from the start).
    pub range_ignored: AtomicU64,
}

/// A snapshot of [`NetStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetCounts {
    /// Manifest and index requests sent.
    pub manifest_requests: u64,
    /// Token requests sent (oci-client may add an authentication challenge of its own).
    pub token_requests: u64,
    /// Blob GETs sent.
    pub blob_requests: u64,
    /// Bytes received in manifest and blob bodies.
    pub bytes: u64,
    /// Requests retried.
    pub retries: u64,
    /// Downloads resumed with `Range`.
    pub resumes: u64,
    /// Responses that ignored `Range`.
    pub range_ignored: u64,
}

/// Whether Docker would speak plain HTTP to `host[:port]`: `localhost` and `127.0.0.0/8`.
#[must_use]
pub fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                registry
            }
        })
    };
    host == "localhost" || host == "::1" || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.octets()[0] == 127)
}

/// Parses a reference as Docker writes it.
pub fn parse_reference(s: &str) -> Result<Reference, Error> {
    s.parse::<Reference>().map_err(|e| Error::BadReference {
        reference: s.to_string(),
        message: e.to_string(),
    })
}

struct Shared {
    reference: Reference,
    label: String,
    http: reqwest::Client,
    /// An identity token from the credential store, sent as the bearer token itself.
    identity: Option<auth::Secret>,
    basic: Option<(String, auth::Secret)>,
    base_url: String,
    header: tokio::sync::Mutex<Option<AuthHeader>>,
    opts: SourceOptions,
    stats: NetStats,
    /// When the source was made: `--max-time` counts from here.
    started: std::time::Instant,
    /// Limits reached without failing (stalls retried), for `--verbose`.
    hits: std::sync::Mutex<Vec<LimitHit>>,
}

/// An image in a registry.
pub struct RegistrySource {
    shared: Arc<Shared>,
    origin: Option<CredentialOrigin>,
}

/// How blob GETs authenticate.
#[derive(Clone)]
enum AuthHeader {
    None,
    Bearer(auth::Secret),
    Basic,
}

/// One attempt's failure: give up now, or try again (after the server's `Retry-After`).
enum Attempt {
    Fatal(Error),
    Retry { message: String, after: Option<Duration> },
}

impl RegistrySource {
    /// Prepares a source for `reference` (no network traffic yet).
    pub fn new(reference: &str, opts: &SourceOptions) -> Result<Self, Error> {
        let parsed = parse_reference(reference)?;
        let registry = parsed.resolve_registry().to_string();
        check_port(&registry, reference)?;
        let plain = opts.plain_http || is_loopback(&registry);
        let (creds, origin) = match &opts.credentials {
            Some(c) => (Some(c.clone()), Some(CredentialOrigin::CommandLine)),
            None => match auth::lookup(parsed.registry(), &opts.auth_files)? {
                Some((c, o)) => (Some(c), Some(o)),
                None => (None, None),
            },
        };
        let (identity, basic) = match &creds {
            Some(Credentials::Basic { username, password }) => (None, Some((username.clone(), password.clone()))),
            Some(Credentials::IdentityToken(t)) => (Some(t.clone()), None),
            None => (None, None),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(opts.timeout)
            .read_timeout(opts.timeout)
            .danger_accept_invalid_certs(opts.insecure)
            .user_agent(concat!("imgopt/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Registry {
                reference: reference.to_string(),
                message: format!("HTTP client: {e}"),
            })?;
        let label = format!("registry {}", parsed.whole());
        Ok(Self {
            shared: Arc::new(Shared {
                base_url: format!("{}://{registry}", if plain { "http" } else { "https" }),
                label,
                http,
                identity,
                basic,
                reference: parsed,
                header: tokio::sync::Mutex::new(None),
                opts: opts.clone(),
                stats: NetStats::default(),
                started: std::time::Instant::now(),
                hits: std::sync::Mutex::default(),
            }),
            origin,
        })
    }

    /// The normalised reference (`docker.io/library/alpine:latest`).
    #[must_use]
    pub fn reference(&self) -> String {
        self.shared.reference.whole()
    }

    /// Where the credentials came from, if any (never the credentials).
    #[must_use]
    pub fn credential_origin(&self) -> Option<&CredentialOrigin> {
        self.origin.as_ref()
    }

    /// What the network did so far.
    #[must_use]
    pub fn net_counts(&self) -> NetCounts {
        let s = &self.shared.stats;
        NetCounts {
            manifest_requests: s.manifest_requests.load(Ordering::Relaxed),
            token_requests: s.token_requests.load(Ordering::Relaxed),
            blob_requests: s.blob_requests.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            resumes: s.resumes.load(Ordering::Relaxed),
            range_ignored: s.range_ignored.load(Ordering::Relaxed),
        }
    }

    async fn fetch_doc(&self, reference: &Reference) -> Result<(Vec<u8>, Digest), Error> {
        let sh = &self.shared;
        let what = reference.whole();
        let name = reference.digest().or(reference.tag()).unwrap_or("latest");
        let url = format!("{}/v2/{}/manifests/{name}", sh.base_url, reference.repository());
        let mut reauthed = false;
        let mut failures = 0u32;
        let (bytes, claimed) = loop {
            sh.check_run_deadline(&what)?;
            sh.stats.manifest_requests.fetch_add(1, Ordering::Relaxed);
            match sh.get_small(&url, BodyKind::Manifest, &mut reauthed, &what).await {
                Ok(v) => break v,
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry { message, after }) => {
                    failures += 1;
                    sh.pause(&what, &message, after, failures).await?;
                }
            }
        };
        let actual = Digest::sha256_of(&bytes);
        if let Some(claimed) = claimed {
            let claimed = Digest::parse(&claimed).map_err(|e| Error::invalid(&what, format!("registry sent {e}")))?;
            if claimed.algorithm() == "sha256" && claimed != actual {
                return Err(Error::DigestMismatch {
                    expected: claimed,
                    actual,
                });
            }
        }
        if let Some(want) = reference.digest() {
            let want = Digest::parse(want).map_err(|e| Error::invalid(&what, e.to_string()))?;
            if want.algorithm() == "sha256" && want != actual {
                return Err(Error::DigestMismatch { expected: want, actual });
            }
        }
        Ok((bytes, actual))
    }

    fn child(&self, digest: &Digest) -> Reference {
        let r = &self.shared.reference;
        Reference::with_digest(r.registry().to_string(), r.repository().to_string(), digest.to_string())
    }

    /// The manifest the reference names, or the runnable entries of the index it names (with
    /// the index's digest).
    async fn entries(&self) -> Result<Result<Manifest, (Vec<model::Entry>, Digest)>, Error> {
        let (bytes, digest) = self.fetch_doc(&self.shared.reference).await?;
        let what = self.shared.reference.whole();
        match model::parse_doc(&bytes, &what)? {
            Doc::Index(entries) => Ok(Err((
                model::bounded_entries(platform::runnable(entries), &what)?,
                digest,
            ))),
            doc @ Doc::Manifest { .. } => Ok(Ok(model::manifest_from(doc, digest, None, &what)?)),
        }
    }

    async fn load_child(&self, desc: &Descriptor, plat: Option<super::Platform>) -> Result<Manifest, Error> {
        let child = self.child(&desc.digest);
        let (bytes, digest) = self.fetch_doc(&child).await?;
        if digest != desc.digest {
            return Err(Error::DigestMismatch {
                expected: desc.digest.clone(),
                actual: digest,
            });
        }
        let what = child.whole();
        model::manifest_from(model::parse_doc(&bytes, &what)?, digest, plat, &what)
    }

    /// The blob's bytes, streamed with retries and `Range` resume.
    fn blob_stream(&self, desc: &Descriptor) -> BoxStream<'static, std::io::Result<bytes::Bytes>> {
        let fetch = BlobFetch {
            shared: Arc::clone(&self.shared),
            desc: desc.clone(),
            offset: 0,
            body: None,
            skip: 0,
            failures: 0,
            reauthed: false,
            done: false,
            deadline: std::time::Instant::now() + self.shared.opts.blob_deadline(desc.size),
        };
        futures_util::stream::unfold(fetch, |mut f| async move {
            let item = f.next_chunk().await?;
            Some((item, f))
        })
        .boxed()
    }
}

impl Shared {
    /// Notes that `--timeout` passed without an answer or a byte: the request is retried (or,
    /// after the last attempt, the run fails saying so).
    fn stalled(&self, what: &str, message: &str) {
        let hit = LimitHit::new(
            Limit::Timeout,
            crate::limits::duration(self.opts.timeout),
            format!(
                "{what}: {message}; retried (at most {} attempts in all)",
                self.opts.attempts.max(1)
            ),
        );
        // Kept bounded: a registry that stalls on every chunk still makes a short list.
        if let Ok(mut h) = self.hits.lock()
            && h.len() < 100
        {
            h.push(hit);
        }
    }

    /// The limits that bound a registry read, with the values in effect.
    fn limits(&self) -> Vec<LimitValue> {
        let o = &self.opts;
        vec![
            LimitValue::new(Limit::ManifestBody, crate::limits::bytes(MAX_MANIFEST_BODY)),
            LimitValue::new(Limit::TokenBody, crate::limits::bytes(MAX_TOKEN_BODY)),
            LimitValue::new(Limit::ConfigBlob, crate::limits::bytes(super::model::MAX_JSON)),
            LimitValue::new(Limit::IndexEntries, MAX_INDEX_ENTRIES.to_string()),
            LimitValue::new(Limit::Timeout, crate::limits::duration(o.timeout)),
            LimitValue::new(Limit::Attempts, o.attempts.max(1).to_string()),
            LimitValue::new(Limit::RetryAfter, crate::limits::duration(o.max_retry_after)),
            LimitValue::new(
                Limit::BlobDeadline,
                format!(
                    "{}/s plus --timeout × {}",
                    crate::limits::bytes(o.min_rate),
                    o.attempts.max(1).saturating_mul(2).saturating_add(1)
                ),
            ),
            LimitValue::new(Limit::RunDeadline, crate::limits::duration(o.max_time)),
        ]
    }

    /// Waits before retry number `failures`, or gives up with the last message.
    async fn pause(&self, what: &str, message: &str, after: Option<Duration>, failures: u32) -> Result<(), Error> {
        let attempts = self.opts.attempts.max(1);
        if failures >= attempts {
            return Err(Error::Registry {
                reference: what.to_string(),
                message: format!("{message} (gave up after {attempts} attempts)"),
            });
        }
        if let Some(a) = after
            && a > self.opts.max_retry_after
        {
            return Err(Error::Registry {
                reference: what.to_string(),
                message: format!(
                    "{message}; the registry asks to wait {}s (Retry-After), more than the {}s allowed",
                    a.as_secs(),
                    self.opts.max_retry_after.as_secs()
                ),
            });
        }
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        let backoff = self.opts.backoff.saturating_mul(1u32 << (failures - 1).min(10));
        tokio::time::sleep(after.unwrap_or(backoff)).await;
        Ok(())
    }

    fn auth_hint(&self, status: u16) -> String {
        let host = self.reference.registry();
        let anonymous = self.basic.is_none() && self.identity.is_none();
        match (status, anonymous) {
            (401, true) => format!(
                "authentication required (401); log in with `docker login {host}` or pass --username and --password-stdin"
            ),
            (401, false) => "the registry refused the credentials (401); check the user name and password".to_string(),
            (_, true) => {
                format!("access denied (403); the repository may be private: log in with `docker login {host}`")
            }
            _ => "access denied (403) for these credentials".to_string(),
        }
    }

    /// The `Authorization` header for registry requests: a bearer token from the registry's
    /// token service (anonymous ones included; the Docker token protocol,
    /// <https://distribution.github.io/distribution/spec/auth/token/>), basic credentials when
    /// the registry asks for those, an identity token as is, or none.
    async fn auth_header(&self, refresh: bool) -> Result<AuthHeader, Attempt> {
        let mut cached = self.header.lock().await;
        if let (Some(h), false) = (&*cached, refresh) {
            return Ok(h.clone());
        }
        let header = match &self.identity {
            Some(t) => AuthHeader::Bearer(t.clone()),
            None => self.challenge().await?,
        };
        *cached = Some(header.clone());
        Ok(header)
    }

    /// Asks `/v2/` how to authenticate, and fetches a token when told to.
    async fn challenge(&self) -> Result<AuthHeader, Attempt> {
        let what = self.reference.whole();
        let url = format!("{}/v2/", self.base_url);
        // One exchange counts once: the `/v2/` challenge and the token it leads to.
        self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
        let resp = self.send(self.http.get(&url), &what).await?;
        let status = resp.status().as_u16();
        let Some(value) = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return Ok(match (status, &self.basic) {
                (401, Some(_)) => AuthHeader::Basic,
                _ => AuthHeader::None,
            });
        };
        let Some(challenge) = parse_bearer_challenge(&value) else {
            // `Basic realm=...` (htpasswd registries), or a scheme imgopt does not speak.
            return Ok(if self.basic.is_some() {
                AuthHeader::Basic
            } else {
                AuthHeader::None
            });
        };
        self.fetch_token(&challenge, &what).await.map(AuthHeader::Bearer)
    }

    /// The token from the challenge's realm (`GET realm?scope=repository:R:pull&service=S`,
    /// with basic credentials when there are some).
    async fn fetch_token(&self, challenge: &BearerChallenge, what: &str) -> Result<auth::Secret, Attempt> {
        let realm = &challenge.realm;
        let fatal = |message: String| {
            Attempt::Fatal(Error::Registry {
                reference: what.to_string(),
                message,
            })
        };
        let url = match reqwest::Url::parse(realm) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            Ok(u) => {
                return Err(fatal(format!(
                    "the registry's token service `{realm}` is a {}: URL, not http(s); no credentials were sent",
                    u.scheme()
                )));
            }
            Err(e) => {
                return Err(fatal(format!(
                    "the registry's token service `{realm}` is not a URL ({e}); no credentials were sent"
                )));
            }
        };
        let scope = format!("repository:{}:pull", self.reference.repository());
        let mut query = vec![("scope", scope.as_str())];
        if let Some(s) = &challenge.service {
            query.push(("service", s.as_str()));
        }
        let mut req = self.http.get(url).query(&query);
        if let Some((u, p)) = &self.basic {
            req = req.basic_auth(u, Some(p.expose()));
        }
        let resp = match self.send(req, what).await {
            Ok(r) => r,
            Err(Attempt::Retry { message, after }) => {
                return Err(Attempt::Retry {
                    message: format!("token service {realm}: {message} (no answer, so no credentials were checked)"),
                    after,
                });
            }
            Err(e) => return Err(e),
        };
        let status = resp.status().as_u16();
        match status {
            200 => {}
            401 | 403 => {
                return Err(Attempt::Fatal(Error::Unauthorized {
                    reference: what.to_string(),
                    status,
                    message: self.auth_hint(status),
                }));
            }
            429 => {
                return Err(Attempt::Retry {
                    message: "token service: too many requests (429)".into(),
                    after: retry_after(resp.headers()),
                });
            }
            s if s >= 500 => {
                return Err(Attempt::Retry {
                    message: format!("token service {realm}: HTTP {s}"),
                    after: retry_after(resp.headers()),
                });
            }
            s => return Err(fatal(format!("token service {realm} answered HTTP {s}"))),
        }
        let body = self.read_capped(resp, MAX_TOKEN_BODY, "token", what).await?;
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let t: Token = serde_json::from_slice(&body)
            .map_err(|e| fatal(format!("the token service's answer {}", super::json_error(&e))))?;
        match t.token.or(t.access_token).filter(|t| !t.is_empty()) {
            Some(t) => Ok(auth::Secret::new(t)),
            None => Err(fatal("the token service's answer holds no token".into())),
        }
    }

    /// Sends a request within `--timeout`, mapping transport failures.
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, Attempt> {
        match tokio::time::timeout(self.opts.timeout, req.send()).await {
            Err(_) => {
                let message = format!("no response within {}s", self.opts.timeout.as_secs_f32());
                self.stalled(what, &message);
                Err(Attempt::Retry { message, after: None })
            }
            Ok(Err(e)) => {
                let failure = request_failure(&e, what);
                if let (true, Attempt::Retry { message, .. }) = (e.is_timeout(), &failure) {
                    self.stalled(what, message);
                }
                Err(failure)
            }
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Reads a whole body of at most `max` bytes (more is an error: an endless or oversized
    /// answer ends here, not in memory), each chunk within `--timeout`.
    async fn read_capped(&self, resp: reqwest::Response, max: u64, kind: &str, what: &str) -> Result<Vec<u8>, Attempt> {
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(too_big(kind, max, what));
        }
        let mut body = resp.bytes_stream();
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout(self.opts.timeout, body.next()).await {
                Err(_) => {
                    let message = format!("the {kind} stalled after {} bytes", out.len());
                    self.stalled(what, &message);
                    return Err(Attempt::Retry { message, after: None });
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    let message = format!(
                        "the {kind} broke off after {} bytes: {}",
                        out.len(),
                        describe_reqwest(&e)
                    );
                    if e.is_timeout() {
                        self.stalled(what, &message);
                    }
                    return Err(Attempt::Retry { message, after: None });
                }
                Ok(Some(Ok(chunk))) => {
                    self.stats.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if (out.len() + chunk.len()) as u64 > max {
                        return Err(too_big(kind, max, what));
                    }
                    out.extend_from_slice(&chunk);
                }
            }
        }
        Ok(out)
    }

    /// GET of a small document (manifest, index): the body (capped) and the digest the
    /// registry claims for it.
    async fn get_small(
        &self,
        url: &str,
        kind: BodyKind,
        reauthed: &mut bool,
        what: &str,
    ) -> Result<(Vec<u8>, Option<String>), Attempt> {
        let header = self.auth_header(false).await?;
        let mut req = self.authorize(self.http.get(url), &header);
        if kind == BodyKind::Manifest {
            req = req.header(reqwest::header::ACCEPT, ACCEPT.join(", "));
        }
        let resp = self.send(req, what).await?;
        let status = resp.status().as_u16();
        match status {
            200 => {
                let claimed = resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = self.read_capped(resp, kind.max(), kind.name(), what).await?;
                Ok((body, claimed))
            }
            // A bearer token may have expired: fetch a new one, once.
            401 if !*reauthed && matches!(header, AuthHeader::Bearer(_)) => {
                *reauthed = true;
                self.auth_header(true).await?;
                Err(Attempt::Retry {
                    message: "token expired (401)".into(),
                    after: Some(Duration::ZERO),
                })
            }
            401 | 403 => Err(Attempt::Fatal(Error::Unauthorized {
                reference: what.to_string(),
                status,
                message: self.auth_hint(status),
            })),
            404 => {
                let detail = self.error_text(resp, what).await;
                Err(Attempt::Fatal(Error::NotFound {
                    reference: what.to_string(),
                    message: detail.unwrap_or_else(|| "HTTP 404".into()),
                }))
            }
            429 => Err(Attempt::Retry {
                message: "too many requests (429)".into(),
                after: retry_after(resp.headers()),
            }),
            s if s >= 500 => Err(Attempt::Retry {
                message: format!("HTTP {s}"),
                after: retry_after(resp.headers()),
            }),
            s if (300..400).contains(&s) => Err(Attempt::Fatal(Error::Registry {
                reference: what.to_string(),
                message: format!("the registry answered a redirect (HTTP {s}) that could not be followed"),
            })),
            s => {
                let detail = self.error_text(resp, what).await;
                Err(Attempt::Fatal(Error::Registry {
                    reference: what.to_string(),
                    message: match detail {
                        Some(d) => format!("HTTP {s}: {d}"),
                        None => format!("unexpected HTTP {s}"),
                    },
                }))
            }
        }
    }

    /// The messages of a distribution-API error body (`{"errors":[{"code","message"}]}`),
    /// read up to 64 KiB.
    async fn error_text(&self, resp: reqwest::Response, what: &str) -> Option<String> {
        let body = self.read_capped(resp, MAX_ERROR_BODY, "error body", what).await.ok()?;
        #[derive(serde::Deserialize)]
        struct Envelope {
            errors: Vec<ErrorItem>,
        }
        #[derive(serde::Deserialize)]
        struct ErrorItem {
            #[serde(default)]
            message: String,
        }
        let e: Envelope = serde_json::from_slice(&body).ok()?;
        let text = e
            .errors
            .into_iter()
            .map(|i| i.message)
            .filter(|m| !m.is_empty())
            .take(3)
            .collect::<Vec<_>>()
            .join("; ");
        (!text.is_empty()).then_some(text)
    }

    /// Adds the `Authorization` header.
    fn authorize(&self, req: reqwest::RequestBuilder, header: &AuthHeader) -> reqwest::RequestBuilder {
        match (header, &self.basic) {
            (AuthHeader::Bearer(t), _) => req.bearer_auth(t.expose()),
            (AuthHeader::Basic, Some((u, p))) => req.basic_auth(u, Some(p.expose())),
            _ => req,
        }
    }

    /// Fails once the whole run has taken longer than `--max-time`.
    fn check_run_deadline(&self, what: &str) -> Result<(), Error> {
        if self.started.elapsed() > self.opts.max_time {
            return Err(Error::over_limit(
                what,
                format!(
                    "the run took longer than --max-time ({}s)",
                    self.opts.max_time.as_secs()
                ),
                Limit::RunDeadline,
                crate::limits::duration(self.opts.max_time),
            ));
        }
        Ok(())
    }
}

/// What a small GET fetches, and its cap.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Manifest,
}

impl BodyKind {
    fn max(self) -> u64 {
        match self {
            BodyKind::Manifest => MAX_MANIFEST_BODY,
        }
    }
    fn name(self) -> &'static str {
        match self {
            BodyKind::Manifest => "manifest",
        }
    }
}

fn too_big(kind: &str, max: u64, what: &str) -> Attempt {
    let limit = match kind {
        "token" => Limit::TokenBody,
        "error body" => Limit::ErrorBody,
        _ => Limit::ManifestBody,
    };
    Attempt::Fatal(Error::over_limit(
        what,
        format!("the registry's {kind} is larger than the {max} bytes allowed (see docs/limits.md)"),
        limit,
        crate::limits::bytes(max),
    ))
}

/// A `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
struct BearerChallenge {
    realm: String,
    service: Option<String>,
}

/// Parses a Bearer challenge (RFC 6750 section 3: `auth-param`s, values quoted or tokens);
/// `None` for another scheme or no realm.
fn parse_bearer_challenge(value: &str) -> Option<BearerChallenge> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = std::collections::BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            val = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), val.trim().to_string());
    }
    Some(BearerChallenge {
        realm: params.remove("realm").filter(|r| !r.is_empty())?,
        service: params.remove("service").filter(|s| !s.is_empty()),
    })
}

/// A port outside 1..=65535 is the user's mistake, said plainly (the HTTP client would fail
/// with an unhelpful message).
fn check_port(registry: &str, reference: &str) -> Result<(), Error> {
    let port = if registry.starts_with('[') {
        registry.rsplit_once("]:").map(|(_, p)| p)
    } else {
        registry.rsplit_once(':').map(|(_, p)| p)
    };
    match port {
        Some(p) if !matches!(p.parse::<u32>(), Ok(1..=65535)) => Err(Error::BadReference {
            reference: reference.to_string(),
            message: format!("port `{p}` is not a TCP port (1 to 65535)"),
        }),
        _ => Ok(()),
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL (never a credential: none is put in URLs); add the cause.
    let mut s = if e.is_redirect() {
        "the registry redirects in a loop (or more than 10 times)".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "connection failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// A failed request: TLS problems are fatal (retrying cannot fix them) and say which flag
/// helps; anything else (refused, reset, timed out) is retried.
fn request_failure(e: &reqwest::Error, what: &str) -> Attempt {
    let message = describe_reqwest(e);
    if e.is_redirect() || e.is_builder() {
        return Attempt::Fatal(Error::Registry {
            reference: what.to_string(),
            message,
        });
    }
    let lower = message.to_ascii_lowercase();
    let hint = if lower.contains("certificate") {
        Some("the registry's TLS certificate is not trusted; if you trust this registry, use --insecure")
    } else if lower.contains("tls") || lower.contains("handshake") || lower.contains("invalidcontenttype") {
        Some("the TLS handshake failed; if the registry speaks plain HTTP, use --plain-http")
    } else {
        None
    };
    match hint {
        Some(h) => Attempt::Fatal(Error::Registry {
            reference: what.to_string(),
            message: format!("{message} ({h})"),
        }),
        None => Attempt::Retry { message, after: None },
    }
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// One blob download, resumable.
struct BlobFetch {
    shared: Arc<Shared>,
    desc: Descriptor,
    offset: u64,
    body: Option<BoxStream<'static, reqwest::Result<bytes::Bytes>>>,
    skip: u64,
    failures: u32,
    reauthed: bool,
    done: bool,
    /// When this download must be done: `--timeout` plus the blob's size at `--min-rate`.
    deadline: std::time::Instant,
}

impl BlobFetch {
    fn what(&self) -> String {
        format!(
            "{}@{}",
            self.shared.reference.whole().split('@').next().unwrap_or_default(),
            self.desc.digest
        )
    }

    #[allow(clippy::unnecessary_wraps)] // the shape of the stream's next item: `return self.fail(e)`
    fn fail(&mut self, e: Error) -> Option<std::io::Result<bytes::Bytes>> {
        self.done = true;
        Some(Err(std::io::Error::other(e)))
    }

    async fn retry(&mut self, message: String, after: Option<Duration>) -> Result<(), Error> {
        self.body = None;
        self.failures += 1;
        let what = self.what();
        self.shared.pause(&what, &message, after, self.failures).await
    }

    async fn next_chunk(&mut self) -> Option<std::io::Result<bytes::Bytes>> {
        if self.done {
            return None;
        }
        loop {
            let what = self.what();
            if let Err(e) = self.shared.check_run_deadline(&what) {
                return self.fail(e);
            }
            let now = std::time::Instant::now();
            if now >= self.deadline {
                let opts = &self.shared.opts;
                let deadline = opts.blob_deadline(self.desc.size);
                let e = Error::over_limit(
                    what,
                    format!(
                        "the download took longer than its deadline ({}s: --timeout per attempt plus {} bytes at --min-rate {} bytes/s), with {} bytes received",
                        deadline.as_secs(),
                        self.desc.size,
                        opts.min_rate,
                        self.offset
                    ),
                    Limit::BlobDeadline,
                    crate::limits::duration(deadline),
                );
                return self.fail(e);
            }
            if self.body.is_none() {
                if self.offset >= self.desc.size && self.offset > 0 {
                    self.done = true;
                    return None;
                }
                match self.open().await {
                    Ok(()) => {}
                    Err(Attempt::Fatal(e)) => return self.fail(e),
                    Err(Attempt::Retry { message, after }) => {
                        if let Err(e) = self.retry(message, after).await {
                            return self.fail(e);
                        }
                        continue;
                    }
                }
            }
            let timeout = self.shared.opts.timeout;
            let Some(body) = self.body.as_mut() else { continue };
            let wait = timeout.min(self.deadline.saturating_duration_since(now));
            let waited = tokio::time::timeout(wait, body.next()).await;
            if waited.is_err() && std::time::Instant::now() >= self.deadline {
                continue; // the deadline check above says so
            }
            match waited {
                Ok(Some(Ok(mut chunk))) => {
                    self.shared.stats.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if self.skip > 0 {
                        let k = usize::try_from(self.skip).unwrap_or(usize::MAX).min(chunk.len());
                        let _ = chunk.split_to(k);
                        self.skip -= k as u64;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    self.offset += chunk.len() as u64;
                    self.failures = 0;
                    return Some(Ok(chunk));
                }
                Ok(Some(Err(e))) => {
                    let m = if e.is_timeout() {
                        // The client's read timeout is `--timeout`: no byte came for that long.
                        let m = format!(
                            "stalled: no data for {}s after {} bytes",
                            timeout.as_secs_f32(),
                            self.offset
                        );
                        self.shared.stalled(&self.what(), &m);
                        m
                    } else {
                        format!(
                            "connection broke after {} of {} bytes: {}",
                            self.offset,
                            self.desc.size,
                            describe_reqwest(&e)
                        )
                    };
                    if let Err(e) = self.retry(m, None).await {
                        return self.fail(e);
                    }
                }
                Ok(None) => {
                    if self.offset >= self.desc.size {
                        self.done = true;
                        return None;
                    }
                    let m = format!("connection closed after {} of {} bytes", self.offset, self.desc.size);
                    if let Err(e) = self.retry(m, None).await {
                        return self.fail(e);
                    }
                }
                Err(_) => {
                    let m = format!(
                        "stalled: no data for {}s after {} bytes",
                        timeout.as_secs_f32(),
                        self.offset
                    );
                    self.shared.stalled(&self.what(), &m);
                    if let Err(e) = self.retry(m, None).await {
                        return self.fail(e);
                    }
                }
            }
        }
    }

    /// Sends the GET (with `Range` when resuming) and checks the status.
    async fn open(&mut self) -> Result<(), Attempt> {
        let sh = Arc::clone(&self.shared);
        let header = sh.auth_header(false).await?;
        let url = format!(
            "{}/v2/{}/blobs/{}",
            sh.base_url,
            sh.reference.repository(),
            self.desc.digest
        );
        let mut req = sh.authorize(sh.http.get(&url), &header);
        sh.stats.blob_requests.fetch_add(1, Ordering::Relaxed);
        if self.offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", self.offset));
            sh.stats.resumes.fetch_add(1, Ordering::Relaxed);
        }
        let resp = sh.send(req, &self.what()).await?;
        let status = resp.status().as_u16();
        let what = self.what();
        match status {
            200 => {
                if self.offset > 0 {
                    sh.stats.range_ignored.fetch_add(1, Ordering::Relaxed);
                    self.skip = self.offset;
                }
            }
            206 => {
                let want = format!("bytes {}-", self.offset);
                let ok = resp
                    .headers()
                    .get(reqwest::header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with(&want));
                if !ok {
                    return Err(Attempt::Fatal(Error::Registry {
                        reference: what,
                        message: format!("asked for {want}… but the registry answered another range"),
                    }));
                }
            }
            401 if !self.reauthed => {
                self.reauthed = true;
                sh.auth_header(true).await?;
                return Err(Attempt::Retry {
                    message: "token expired (401)".into(),
                    after: Some(Duration::ZERO),
                });
            }
            401 | 403 => {
                return Err(Attempt::Fatal(Error::Unauthorized {
                    reference: what,
                    status,
                    message: sh.auth_hint(status),
                }));
            }
            404 => {
                return Err(Attempt::Fatal(Error::BlobMissing {
                    digest: self.desc.digest.clone(),
                    location: sh.label.clone(),
                }));
            }
            429 => {
                return Err(Attempt::Retry {
                    message: "too many requests (429)".into(),
                    after: retry_after(resp.headers()),
                });
            }
            s if s >= 500 => {
                return Err(Attempt::Retry {
                    message: format!("HTTP {s}"),
                    after: retry_after(resp.headers()),
                });
            }
            s if (300..400).contains(&s) => {
                return Err(Attempt::Fatal(Error::Registry {
                    reference: what,
                    message: format!("the registry answered a redirect (HTTP {s}) that could not be followed"),
                }));
            }
            s => {
                return Err(Attempt::Fatal(Error::Registry {
                    reference: what,
                    message: format!("unexpected HTTP {s}"),
                }));
            }
        }
        self.body = Some(resp.bytes_stream().boxed());
        Ok(())
    }
}

impl ImageSource for RegistrySource {
    fn describe(&self) -> String {
        self.shared.label.clone()
    }
    fn is_local(&self) -> bool {
        false
    }
    fn network_counts(&self) -> Option<NetCounts> {
        Some(self.net_counts())
    }
    fn limits(&self) -> Vec<LimitValue> {
        self.shared.limits()
    }
    fn limit_hits(&self) -> Vec<LimitHit> {
        self.shared.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
    fn credential_source(&self) -> Option<&'static str> {
        Some(match self.origin {
            None => "none (anonymous)",
            Some(CredentialOrigin::CommandLine) => "--username and --password-stdin",
            Some(CredentialOrigin::DockerConfig) => "Docker's config.json",
            Some(CredentialOrigin::PodmanAuthFile) => "REGISTRY_AUTH_FILE or Podman's auth.json",
        })
    }
    async fn manifest(&self) -> Result<Manifest, Error> {
        match self.entries().await? {
            Ok(m) => {
                // A single-platform image: `--platform` must still match what it is.
                if let Some(want) = &self.shared.opts.platform {
                    let config = self.config(&m).await?;
                    platform::check_single(want, &config.platform, &self.shared.label)?;
                }
                Ok(m)
            }
            Err((entries, index)) => {
                let (n, want) = (entries.len(), self.shared.opts.platform.as_ref());
                let (desc, plat) = platform::select(entries, want, &self.shared.label)?;
                let wanted = platform::wanted(want, plat.as_ref());
                let mut m = self.load_child(&desc, plat).await?;
                m.index = Some(IndexChoice {
                    digest: Some(index),
                    entries: n,
                    wanted,
                });
                Ok(m)
            }
        }
    }
    async fn manifests(&self) -> Result<Vec<Manifest>, Error> {
        match self.entries().await? {
            Ok(m) => Ok(vec![m]),
            Err((entries, index)) => {
                let n = entries.len();
                let mut out = Vec::new();
                for (d, p) in entries {
                    let mut m = self.load_child(&d, p).await?;
                    m.index = Some(IndexChoice {
                        digest: Some(index.clone()),
                        entries: n,
                        wanted: None,
                    });
                    out.push(m);
                }
                Ok(out)
            }
        }
    }
    async fn config(&self, manifest: &Manifest) -> Result<ImageConfig, Error> {
        let desc = &manifest.config;
        if desc.size > MAX_JSON {
            return Err(Error::over_limit(
                &self.shared.label,
                format!("config {} is larger than 16 MiB", desc.digest),
                Limit::ConfigBlob,
                crate::limits::bytes(MAX_JSON),
            ));
        }
        let mut stream = self.blob_stream(desc);
        let mut bytes = Vec::with_capacity(usize::try_from(desc.size).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::from_io(e, &format!("config {}", desc.digest)))?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > desc.size {
                break;
            }
        }
        if bytes.len() as u64 != desc.size {
            return Err(Error::SizeMismatch {
                digest: desc.digest.clone(),
                expected: desc.size,
                actual: bytes.len() as u64,
            });
        }
        let actual = Digest::sha256_of(&bytes);
        if actual != desc.digest {
            return Err(Error::DigestMismatch {
                expected: desc.digest.clone(),
                actual,
            });
        }
        model::parse_config(&bytes, actual, &self.shared.label)
    }
    async fn blob(&self, desc: &Descriptor) -> Result<BlobStream, Error> {
        Ok(BlobStream::Remote(self.blob_stream(desc)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        let r = parse_reference("alpine").unwrap();
        assert_eq!(r.whole(), "docker.io/library/alpine:latest");
        assert_eq!(
            parse_reference("library/alpine:3.20").unwrap().whole(),
            "docker.io/library/alpine:3.20"
        );
        let d = format!("ghcr.io/o/r@sha256:{}", "a".repeat(64));
        assert_eq!(
            parse_reference(&d).unwrap().digest(),
            Some(format!("sha256:{}", "a".repeat(64)).as_str())
        );
        let local = parse_reference("127.0.0.1:5000/app:1").unwrap();
        assert_eq!(
            (local.registry(), local.repository(), local.tag()),
            ("127.0.0.1:5000", "app", Some("1"))
        );
        assert!(parse_reference("alpine@sha256:xyz").is_err());
        assert!(parse_reference("alpine:bad tag").is_err());
    }

    #[test]
    fn loopback_speaks_http() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["docker.io", "ghcr.io", "10.0.0.1:5000", "128.0.0.1"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
