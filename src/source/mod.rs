//! Image sources behind one trait: registries, OCI layouts, OCI archives and docker-archives.
//!
//! Owns: finding the manifest (resolving an index to one platform), the config, and the raw
//! bytes of each blob. Implementations provide only this minimal core; compression sniffing,
//! digest verification and diff_id checks are written once above the trait, in [`blob`].
//! Does not: walk tar entries or compute sizes (see `layers`).
//!
//! Digest versus DiffID follows go-containerregistry: the manifest lists compressed blob
//! digests, the config's `rootfs.diff_ids` lists the uncompressed tar digests.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use serde::Serialize;

use crate::digest::Digest;

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
}

/// Errors from image sources. Messages name the file, reference or digest; never a secret.
#[derive(Debug, thiserror::Error)]
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
    #[error("blob {digest} is listed by the manifest but missing from {location}")]
    BlobMissing {
        /// The missing blob.
        digest: Digest,
        /// Where it was looked for.
        location: String,
    },
    /// The layer's compression is not one imgopt reads.
    #[error("{media_type} layers are not supported (known: gzip, zstd, uncompressed tar)")]
    UnsupportedCompression {
        /// Media type as stored.
        media_type: String,
    },
    /// Anything else wrong with the source's contents.
    #[error("{location}: {message}")]
    Invalid {
        /// File, reference or digest.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// I/O error with the path or reference it concerns.
    #[error("{location}")]
    Io {
        /// File or reference.
        location: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
