//! Image sources behind one trait: registries, OCI layouts, OCI archives and docker-archives.
//!
//! Owns: finding the manifest (resolving an index to one platform), the config, and the raw
//! bytes of each blob. Implementations provide only this minimal core; compression sniffing,
//! digest verification and diff_id checks are written once above the trait, in [`blob`].
//! Does not: walk tar entries or compute sizes (see `layers`).
//!
//! Digest versus DiffID follows go-containerregistry: the manifest lists compressed blob
//! digests, the config's `rootfs.diff_ids` lists the uncompressed tar digests.

pub mod auth;
pub mod blob;
pub mod docker_archive;
mod model;
pub mod oci_archive;
pub mod oci_layout;
pub mod platform;
pub mod registry;
pub mod spec;
mod store;

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use serde::Serialize;

use crate::digest::Digest;
use crate::limits::{self, Limit, LimitHit, LimitValue};

/// A content descriptor (OCI image spec `descriptor.md`), converted to imgopt's types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// Media type as stored (`application/vnd.oci.image.layer.v1.tar+gzip`, Docker's
    /// `application/vnd.docker.image.rootfs.diff.tar.gzip`, ...).
    pub media_type: String,
    /// Digest of the blob's bytes.
    pub digest: Digest,
    /// Size of the blob in bytes, as the manifest claims (checked while reading).
    pub size: u64,
    /// Annotations, sorted.
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor without annotations.
    #[must_use]
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.into(),
            digest,
            size,
            annotations: BTreeMap::new(),
        }
    }
}

/// An `os/arch[/variant]` platform.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v7`, `v8`, ... when given.
    pub variant: Option<String>,
}

/// One platform's image manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Digest of the manifest bytes as stored.
    pub digest: Digest,
    /// Media type of the manifest.
    pub media_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// Layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// The platform this manifest was chosen for (from the index, or the config).
    pub platform: Option<Platform>,
    /// How the manifest was picked from an image index (`None`: the reference named a
    /// manifest, or the source has no index). For `--verbose`; not in any report.
    #[serde(skip)]
    pub index: Option<IndexChoice>,
}

/// How a manifest was picked from an image index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexChoice {
    /// The index's digest: the registry's, or in an OCI layout the one image index
    /// `index.json` points at; `None` when the choice was made in `index.json` itself (a file,
    /// not a blob).
    pub digest: Option<Digest>,
    /// Runnable manifests the index lists (attestations left out, nested indexes followed).
    pub entries: usize,
    /// The platform matched against the entries (`--platform`, or the host's); `None` when
    /// the index's only entry names no platform, or every platform was read.
    pub wanted: Option<Platform>,
}

/// One entry of the config's `history`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// The step that made the layer (`RUN /bin/sh -c ...`, `COPY ... # buildkit`).
    pub created_by: String,
    /// `empty_layer: true`: the step made no layer (ENV, CMD, ...).
    pub empty_layer: bool,
    /// Creation time as written.
    pub created: Option<String>,
    /// Comment, if any.
    pub comment: Option<String>,
}

/// The parts of the image config imgopt uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageConfig {
    /// Digest of the config blob (verified).
    pub digest: Digest,
    /// `rootfs.diff_ids`, bottom first.
    pub diff_ids: Vec<Digest>,
    /// History, oldest first (empty-layer entries included).
    pub history: Vec<History>,
    /// The platform the config states.
    pub platform: Platform,
    /// `config.User`.
    pub user: Option<String>,
    /// `config.Env`.
    pub env: Vec<String>,
}

/// A blob's raw (still compressed) bytes.
pub enum BlobStream {
    /// A local file or archive member: read synchronously, seekable (so `--no-verify` can skip
    /// file data instead of reading it).
    Local(Box<dyn ReadSeek + Send>),
    /// Bytes arriving over the network, in chunks; always verified.
    Remote(futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>),
}

/// `Read + Seek`, as one object-safe trait.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Where image bytes come from. Implementations provide only the minimal core; decompression,
/// digest checks and whiteout handling live above this trait.
#[allow(async_fn_in_trait)]
pub trait ImageSource {
    /// Human label for reports, e.g. `registry docker.io/library/alpine:3.20` (never a
    /// credential).
    fn describe(&self) -> String;
    /// Whether bytes come from the local disk (then `--no-verify` may skip hashing); network
    /// bytes are always verified.
    fn is_local(&self) -> bool;
    /// The platform-resolved image manifest.
    async fn manifest(&self) -> Result<Manifest, Error>;
    /// All platform manifests, for `--all-platforms` (a single-manifest image gives one).
    async fn manifests(&self) -> Result<Vec<Manifest>, Error>;
    /// The parsed, digest-verified config.
    async fn config(&self, manifest: &Manifest) -> Result<ImageConfig, Error>;
    /// The blob's raw bytes. The reader above the trait verifies size and digest.
    async fn blob(&self, desc: &Descriptor) -> Result<BlobStream, Error>;
    /// What the network did so far (registries only), for `--verbose`.
    fn network_counts(&self) -> Option<registry::NetCounts> {
        None
    }
    /// Where the credentials come from (registries only; never the credentials), for
    /// `--verbose`.
    fn credential_source(&self) -> Option<&'static str> {
        None
    }
    /// The limits that bound reading this source, with the values in effect, for `--verbose`.
    fn limits(&self) -> Vec<LimitValue> {
        local_limits()
    }
    /// The limits this source reached so far without failing (a stalled request retried),
    /// for `--verbose`.
    fn limit_hits(&self) -> Vec<LimitHit> {
        Vec::new()
    }
}

/// The limits that bound a local source (an OCI layout or an archive).
#[must_use]
pub fn local_limits() -> Vec<LimitValue> {
    vec![
        LimitValue::new(Limit::LocalJson, limits::bytes(model::MAX_JSON)),
        LimitValue::new(Limit::ConfigBlob, limits::bytes(model::MAX_JSON)),
        LimitValue::new(Limit::IndexDepth, oci_layout::MAX_DEPTH.to_string()),
        LimitValue::new(Limit::IndexCount, model::MAX_INDEX_DOCS.to_string()),
        LimitValue::new(Limit::IndexEntries, model::MAX_INDEX_ENTRIES.to_string()),
    ]
}

/// Errors from image sources. Messages name the file, reference or digest; never a secret.
/// Cheap to clone (the I/O source is shared), so a layer stream can return the error it met
/// both from `Read` and again from `finish`.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A blob's bytes do not hash to its descriptor's digest.
    #[error("blob {expected} does not match its digest (got {actual})")]
    DigestMismatch {
        /// What the manifest promised.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// A layer's uncompressed bytes do not hash to the config's diff_id.
    #[error("layer {layer} decompresses to {actual}, but the config's diff_id is {expected}")]
    DiffIdMismatch {
        /// The layer blob.
        layer: Digest,
        /// The config's `rootfs.diff_ids` entry.
        expected: Digest,
        /// What the decompressed bytes hash to.
        actual: Digest,
    },
    /// A blob is shorter or longer than its descriptor says.
    #[error("blob {digest} is {actual} bytes, but its descriptor says {expected}")]
    SizeMismatch {
        /// The blob.
        digest: Digest,
        /// Size from the descriptor.
        expected: u64,
        /// Bytes actually read.
        actual: u64,
    },
    /// A blob listed by a manifest is not in the store.
    #[error("blob {digest} is listed by the manifest but missing from {}", shown(.location))]
    BlobMissing {
        /// The missing blob.
        digest: Digest,
        /// Where it was looked for.
        location: String,
    },
    /// The layer's compression is not one imgopt reads.
    #[error("{} layers are not supported (known: gzip, zstd, uncompressed tar)", shown(.media_type))]
    UnsupportedCompression {
        /// Media type as stored.
        media_type: String,
    },
    /// Anything else wrong with the source's contents.
    #[error("{}: {}", shown(.location), shown(.message))]
    Invalid {
        /// File, reference or digest.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The layer's compressed stream is damaged (its digest matched, or was not checked).
    #[error("layer {digest} is not valid {compression}: {}", shown(.message))]
    Corrupt {
        /// The layer blob.
        digest: Digest,
        /// `gzip`, `zstd` or `tar`.
        compression: String,
        /// What the decoder said.
        message: String,
    },
    /// A layer decompresses to more than the limits allow (a compression bomb, or a limit set
    /// too low; see [`blob::LayerReadOptions`]).
    #[error(
        "layer {digest} expands past the limit: {tar_bytes} bytes from {compressed_bytes} \
         compressed ({limit}); a layer this expansive is treated as a compression bomb"
    )]
    TooLarge {
        /// The layer blob.
        digest: Digest,
        /// Decompressed bytes when reading stopped.
        tar_bytes: u64,
        /// Compressed bytes read by then.
        compressed_bytes: u64,
        /// Which limit was hit.
        limit: String,
    },
    /// A limit of `docs/limits.md` ended the read (a body, config or JSON file too large, indexes
    /// nested too deep or too many, a download past its deadline). `-v` names it.
    #[error("{}: {}", shown(.location), shown(.message))]
    OverLimit {
        /// File, reference or digest.
        location: String,
        /// What was over the limit, with the figures.
        message: String,
        /// Which limit.
        limit: crate::limits::Limit,
        /// Its value in effect, as docs/limits.md writes it.
        value: String,
    },
    /// No manifest in the index matches the wanted platform.
    #[error("{} has no image for platform {} (available: {})", shown(.location), shown(.wanted), shown(.available))]
    NoMatchingPlatform {
        /// The image.
        location: String,
        /// The platform asked for.
        wanted: String,
        /// What the index offers, comma-separated.
        available: String,
    },
    /// The image reference or source spec cannot be understood.
    #[error("invalid image reference `{}`: {}", shown(.reference), shown(.message))]
    BadReference {
        /// The text given.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// The registry or store does not have the image, tag or blob.
    #[error("{}: not found ({})", shown(.reference), shown(.message))]
    NotFound {
        /// The reference.
        reference: String,
        /// Details.
        message: String,
    },
    /// The registry refused the credentials (401) or access (403).
    #[error("{}: {}", shown(.reference), shown(.message))]
    Unauthorized {
        /// The reference (never a credential).
        reference: String,
        /// HTTP status.
        status: u16,
        /// What the registry said and what to try.
        message: String,
    },
    /// A registry request failed after all retries (5xx, connection resets, timeouts).
    #[error("{}: {}", shown(.reference), shown(.message))]
    Registry {
        /// The reference or blob.
        reference: String,
        /// What happened, with the number of attempts.
        message: String,
    },
    /// I/O error with the path or reference it concerns.
    #[error("{}", shown(.location))]
    Io {
        /// File or reference.
        location: String,
        /// The I/O error (shared, so the error can be cloned).
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
}

impl Error {
    /// The typed error an [`std::io::Error`] carries when it came out of a
    /// [`blob::LayerStream`] (which wraps its typed errors into `io::Error` for `Read`), or an
    /// [`Error::Io`] naming `location` otherwise.
    #[must_use]
    pub fn from_io(err: std::io::Error, location: &str) -> Self {
        if err
            .get_ref()
            .is_some_and(<dyn std::error::Error + std::marker::Send + std::marker::Sync + 'static>::is::<Error>)
        {
            let (kind, msg) = (err.kind(), err.to_string());
            if let Some(Ok(e)) = err
                .into_inner()
                .map(<dyn std::error::Error + std::marker::Send + std::marker::Sync + 'static>::downcast::<Error>)
            {
                return *e;
            }
            return Error::io(location, std::io::Error::new(kind, msg));
        }
        Error::io(location, err)
    }

    pub(crate) fn over_limit(
        location: impl Into<String>,
        message: impl Into<String>,
        limit: crate::limits::Limit,
        value: impl Into<String>,
    ) -> Self {
        Error::OverLimit {
            location: location.into(),
            message: message.into(),
            limit,
            value: value.into(),
        }
    }

    /// The limit that ended this read, if one did (for `-v`'s `limit hit` line).
    #[must_use]
    pub fn limit_hit(&self) -> Option<crate::limits::LimitHit> {
        use crate::limits::{Limit, LimitHit};
        match self {
            Error::OverLimit { limit, value, .. } => Some(LimitHit::new(*limit, value.clone(), "ended the run")),
            Error::TooLarge { digest, limit, .. } => {
                // `limit` is the stream's own wording: `more than N bytes` or `ratio above R:1 past N bytes`.
                let which = if limit.starts_with("ratio") {
                    Limit::BombRatio
                } else {
                    Limit::TarBytes
                };
                Some(LimitHit::new(
                    which,
                    limit.clone(),
                    format!("layer {digest}: ended the run"),
                ))
            }
            _ => None,
        }
    }

    pub(crate) fn invalid(location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            location: location.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(location: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            location: location.into(),
            source: std::sync::Arc::new(source),
        }
    }
}

/// Text from an image, a registry or the command line, made safe for one line of a terminal:
/// every control character (C0, DEL, C1: `\x1b`, BEL, newlines, ...) and every bidirectional
/// override becomes `?`, and text longer than [`SHOWN_MAX`] characters is cut with `…`.
/// Every string field of [`Error`] goes through it in `Display`.
#[must_use]
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let long = text.len() > SHOWN_MAX && text.chars().nth(SHOWN_MAX).is_some();
    if !long && !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out: String = text
        .chars()
        .take(SHOWN_MAX)
        .map(|c| if bad(c) { '?' } else { c })
        .collect();
    if long {
        out.push('…');
    }
    std::borrow::Cow::Owned(out)
}

/// The longest text [`shown`] prints from one field.
pub const SHOWN_MAX: usize = 1000;

/// At most [`LIST_MAX`] names, comma-separated, then `… and N more`: an archive with 100k tags
/// must not become one enormous error line. The names are shown by [`Error`]'s `Display`.
#[must_use]
pub fn capped_list<I: IntoIterator<Item = String>>(names: I) -> String {
    let mut out = String::new();
    let mut more = 0usize;
    for (i, n) in names.into_iter().enumerate() {
        if i < LIST_MAX {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&n.chars().take(100).collect::<String>());
        } else {
            more += 1;
        }
    }
    if more > 0 {
        out.push_str(&format!(" … and {more} more"));
    }
    out
}

/// Names listed in one error message at most (tags, platforms).
pub const LIST_MAX: usize = 20;

/// A JSON error without the document's bytes: serde_json quotes the values it rejects
/// (`invalid type: string "…"`), and the document came from an image, not from the user.
/// Keeps the position and what was expected.
#[must_use]
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Io => format!("could not be read: {e}"),
        Category::Eof => format!("ends early ({at})"),
        Category::Syntax => format!("is not valid JSON ({at})"),
        Category::Data => {
            let msg = e.to_string();
            let what = if let Some(f) = msg.strip_prefix("missing field ") {
                format!("missing field {}", f.split(" at line").next().unwrap_or(""))
            } else if let Some((_, exp)) = msg.split_once(", expected ") {
                format!(
                    "a value has the wrong type (expected {})",
                    exp.split(" at line").next().unwrap_or("")
                )
            } else {
                "a value has the wrong type or shape".to_string()
            };
            format!("has the wrong shape: {what} ({at})")
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}
