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
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};

use super::auth::{self, CredentialOrigin, Credentials};
use super::model::{self, Doc, MAX_JSON};
use super::platform;
use super::spec::SourceOptions;
use super::{BlobStream, Descriptor, Error, ImageConfig, ImageSource, IndexChoice, Manifest};
use crate::digest::Digest;

/// Manifest media types asked for (indexes included: imgopt resolves platforms itself).
const ACCEPT: &[&str] = &[
    model::OCI_MANIFEST,
    model::OCI_INDEX,
    model::DOCKER_MANIFEST,
    model::DOCKER_LIST,
];

/// Counters of what the network did, for tests and `--verbose`.
#[derive(Debug, Default)]
pub struct NetStats {
    /// Manifest and index requests sent (each attempt counts).
    pub manifest_requests: AtomicU64,
    /// Token (authentication) requests sent.
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
    client: oci_client::Client,
    http: reqwest::Client,
    auth: RegistryAuth,
    basic: Option<(String, auth::Secret)>,
    base_url: String,
    header: tokio::sync::Mutex<Option<AuthHeader>>,
    opts: SourceOptions,
    stats: NetStats,
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
        let plain = opts.plain_http || is_loopback(&registry);
        let (creds, origin) = match &opts.credentials {
            Some(c) => (Some(c.clone()), Some(CredentialOrigin::CommandLine)),
            None => match auth::lookup(parsed.registry(), &opts.auth_files)? {
                Some((c, o)) => (Some(c), Some(o)),
                None => (None, None),
            },
        };
        let (auth, basic) = match &creds {
            Some(Credentials::Basic { username, password }) => (
                RegistryAuth::Basic(username.clone(), password.expose().to_string()),
                Some((username.clone(), password.clone())),
            ),
            Some(Credentials::IdentityToken(t)) => (RegistryAuth::Bearer(t.expose().to_string()), None),
            None => (RegistryAuth::Anonymous, None),
        };
        let config = ClientConfig {
            protocol: if plain {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: opts.insecure,
            read_timeout: Some(opts.timeout),
            connect_timeout: Some(opts.timeout),
            platform_resolver: None,
            user_agent: concat!("imgopt/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
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
                client: oci_client::Client::new(config),
                http,
                auth,
                basic,
                reference: parsed,
                header: tokio::sync::Mutex::new(None),
                opts: opts.clone(),
                stats: NetStats::default(),
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
        let (bytes, digest) = sh
            .retrying(&what, || async {
                sh.stats.manifest_requests.fetch_add(1, Ordering::Relaxed);
                let pulled = tokio::time::timeout(
                    sh.opts.timeout.saturating_mul(2),
                    sh.client.pull_manifest_raw(reference, &sh.auth, ACCEPT),
                )
                .await;
                match pulled {
                    Err(_) => Err(Attempt::Retry {
                        message: format!("no answer within {:?}", sh.opts.timeout * 2),
                        after: None,
                    }),
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(e)) => Err(sh.classify_oci(e, &what)),
                }
            })
            .await?;
        if bytes.len() as u64 > MAX_JSON {
            return Err(Error::invalid(&what, "manifest larger than 16 MiB"));
        }
        sh.stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let actual = Digest::sha256_of(&bytes);
        let claimed = Digest::parse(&digest).map_err(|e| Error::invalid(&what, format!("registry sent {e}")))?;
        if claimed.algorithm() == "sha256" && claimed != actual {
            return Err(Error::DigestMismatch {
                expected: claimed,
                actual,
            });
        }
        if let Some(want) = reference.digest() {
            let want = Digest::parse(want).map_err(|e| Error::invalid(&what, e.to_string()))?;
            if want.algorithm() == "sha256" && want != actual {
                return Err(Error::DigestMismatch { expected: want, actual });
            }
        }
        Ok((bytes.to_vec(), actual))
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
            Doc::Index(entries) => Ok(Err((platform::runnable(entries), digest))),
            doc => Ok(Ok(model::manifest_from(doc, digest, None, &what)?)),
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
        };
        futures_util::stream::unfold(fetch, |mut f| async move {
            let item = f.next_chunk().await?;
            Some((item, f))
        })
        .boxed()
    }
}

impl Shared {
    /// Runs `attempt` until it succeeds, fails fatally, or the attempts are used up.
    async fn retrying<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let mut failures = 0u32;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry { message, after }) => {
                    failures += 1;
                    self.pause(what, &message, after, failures).await?;
                }
            }
        }
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

    fn classify_oci(&self, e: OciDistributionError, what: &str) -> Attempt {
        let unauthorized = |status: u16| {
            Attempt::Fatal(Error::Unauthorized {
                reference: what.to_string(),
                status,
                message: self.auth_hint(status),
            })
        };
        match e {
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
                unauthorized(401)
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                let text = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                if codes.iter().any(|c| matches!(c, OciErrorCode::Unauthorized)) {
                    unauthorized(401)
                } else if codes.iter().any(|c| matches!(c, OciErrorCode::Denied)) {
                    unauthorized(403)
                } else if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                            | OciErrorCode::BlobUnknown
                    )
                }) {
                    Attempt::Fatal(Error::NotFound {
                        reference: what.to_string(),
                        message: text,
                    })
                } else if codes.iter().any(|c| matches!(c, OciErrorCode::Toomanyrequests)) {
                    // Docker Hub's pull rate limit says so here; keep its words.
                    Attempt::Retry {
                        message: format!("too many requests (429): {text}"),
                        after: None,
                    }
                } else {
                    Attempt::Fatal(Error::Registry {
                        reference: what.to_string(),
                        message: text,
                    })
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 => unauthorized(401),
                403 => unauthorized(403),
                404 => Attempt::Fatal(Error::NotFound {
                    reference: what.to_string(),
                    message: "HTTP 404".into(),
                }),
                429 => Attempt::Retry {
                    message: "too many requests (429)".into(),
                    after: None,
                },
                c if c >= 500 => Attempt::Retry {
                    message: format!("HTTP {c}: {}", message.trim()),
                    after: None,
                },
                c => Attempt::Fatal(Error::Registry {
                    reference: what.to_string(),
                    message: format!("HTTP {c}: {}", message.trim()),
                }),
            },
            OciDistributionError::ImageManifestNotFoundError(m) => Attempt::Fatal(Error::NotFound {
                reference: what.to_string(),
                message: m,
            }),
            OciDistributionError::RequestError(e) => request_failure(&e, what),
            OciDistributionError::IoError(e) => Attempt::Retry {
                message: e.to_string(),
                after: None,
            },
            other => Attempt::Fatal(Error::Registry {
                reference: what.to_string(),
                message: other.to_string(),
            }),
        }
    }

    fn auth_hint(&self, status: u16) -> String {
        let host = self.reference.registry();
        match (status, &self.auth) {
            (401, RegistryAuth::Anonymous) => format!(
                "authentication required (401); log in with `docker login {host}` or pass --username and --password-stdin"
            ),
            (401, _) => "the registry refused the credentials (401); check the user name and password".to_string(),
            (_, RegistryAuth::Anonymous) => {
                format!("access denied (403); the repository may be private: log in with `docker login {host}`")
            }
            _ => "access denied (403) for these credentials".to_string(),
        }
    }

    /// The `Authorization` header for blob GETs: a bearer token from oci-client's exchange
    /// (anonymous ones included), or basic credentials, or none.
    async fn auth_header(&self, refresh: bool) -> Result<AuthHeader, Attempt> {
        let mut cached = self.header.lock().await;
        if let (Some(h), false) = (&*cached, refresh) {
            return Ok(h.clone());
        }
        let what = self.reference.whole();
        self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
        let token = tokio::time::timeout(
            self.opts.timeout.saturating_mul(2),
            self.client.auth(&self.reference, &self.auth, RegistryOperation::Pull),
        )
        .await
        .map_err(|_| Attempt::Retry {
            message: "authentication timed out".into(),
            after: None,
        })?
        .map_err(|e| self.classify_oci(e, &what))?;
        let header = match (token, &self.basic) {
            (Some(t), _) => AuthHeader::Bearer(auth::Secret::new(t)),
            (None, Some(_)) => AuthHeader::Basic,
            (None, None) => AuthHeader::None,
        };
        *cached = Some(header.clone());
        Ok(header)
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL (never a credential: none is put in URLs); add the cause.
    let mut s = if e.is_timeout() {
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
}

impl BlobFetch {
    fn what(&self) -> String {
        format!(
            "{}@{}",
            self.shared.reference.whole().split('@').next().unwrap_or_default(),
            self.desc.digest
        )
    }

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
            match tokio::time::timeout(timeout, body.next()).await {
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
                    let m = format!(
                        "connection broke after {} of {} bytes: {}",
                        self.offset,
                        self.desc.size,
                        describe_reqwest(&e)
                    );
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
        let mut req = sh.http.get(&url);
        req = match (&header, &sh.basic) {
            (AuthHeader::Bearer(t), _) => req.bearer_auth(t.expose()),
            (AuthHeader::Basic, Some((u, p))) => req.basic_auth(u, Some(p.expose())),
            _ => req,
        };
        sh.stats.blob_requests.fetch_add(1, Ordering::Relaxed);
        if self.offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={}-", self.offset));
            sh.stats.resumes.fetch_add(1, Ordering::Relaxed);
        }
        let resp = match tokio::time::timeout(sh.opts.timeout, req.send()).await {
            Err(_) => {
                return Err(Attempt::Retry {
                    message: format!("no response within {}s", sh.opts.timeout.as_secs_f32()),
                    after: None,
                });
            }
            Ok(Err(e)) => return Err(request_failure(&e, &self.what())),
            Ok(Ok(r)) => r,
        };
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
            Ok(m) => Ok(m),
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
            return Err(Error::invalid(
                &self.shared.label,
                format!("config {} is larger than 16 MiB", desc.digest),
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
