//! Reading one layer blob: compression sniffing, decompression, digest and diff_id checks and
//! compression-bomb limits, written once above every [`ImageSource`](super::ImageSource).
//!
//! Owns: turning a [`BlobStream`](super::BlobStream) into the decompressed tar bytes
//! ([`open_layer`]) while the compressed bytes are hashed against the descriptor's digest and
//! the decompressed ones against the config's diff_id, in one pass (nothing is spooled to
//! disk). Does not: walk tar entries (that is `layers`), or fetch bytes (the sources do).
//!
//! Compression is decided by the media type *and* the first bytes ([`sniff`]). A media type
//! that names no tar layer is [`Error::UnsupportedCompression`].
//!
//! The parts, along the path the bytes take: [`bridge`] (network chunks to a synchronous
//! reader), [`compressed`] (the stored bytes: counted, hashed, size-checked), [`hasher`]
//! (SHA-256, on a helper thread for big blobs), [`gzip`] (gzip members without the CRC-32),
//! [`stream`] ([`LayerStream`]: decoding, the checks, the limits).
//!
//! Errors surface twice: [`LayerStream`]'s `Read` returns an `io::Error` that carries the typed
//! [`Error`] (recover it with [`Error::from_io`]), and [`LayerStream::finish`] returns it again.

mod bridge;
mod compressed;
mod gzip;
mod hasher;
mod sniff;
mod stream;

use std::io::Read;

use serde::Serialize;

use super::{Descriptor, Error};
use crate::digest::Digest;

pub use sniff::Compression;
pub use stream::{LayerStream, open_layer};

/// Annotation a source puts on a layer descriptor whose digest was taken from the config's
/// diff_id (classic docker-archives record no blob digest): a mismatch then reports the
/// diff_id as wrong.
pub const DIGEST_IS_DIFF_ID: &str = "dev.imgopt.digest-is-diff-id";

/// Limits and switches for reading one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerReadOptions {
    /// Hash compressed and decompressed bytes (default `true`). Only local sources honour
    /// `false`; network bytes are always verified.
    pub verify: bool,
    /// Largest decompressed/compressed ratio accepted once the tar is past [`Self::ratio_floor`]
    /// (default 100, i.e. 100:1; real layers stay under about 10:1, so only a bomb trips it).
    pub max_ratio: u64,
    /// Decompressed size below which the ratio is not checked (default 64 MiB), so small,
    /// very compressible layers are fine.
    pub ratio_floor: u64,
    /// Largest decompressed tar accepted, whatever the ratio (default 64 GiB).
    pub max_tar_bytes: u64,
}

impl LayerReadOptions {
    /// The default ratio limit (100:1).
    pub const DEFAULT_MAX_RATIO: u64 = 100;
    /// The default size below which the ratio is not checked (64 MiB).
    pub const DEFAULT_RATIO_FLOOR: u64 = 64 << 20;
    /// The default absolute limit (64 GiB).
    pub const DEFAULT_MAX_TAR_BYTES: u64 = 64 << 30;
}

impl Default for LayerReadOptions {
    fn default() -> Self {
        Self {
            verify: true,
            max_ratio: Self::DEFAULT_MAX_RATIO,
            ratio_floor: Self::DEFAULT_RATIO_FLOOR,
            max_tar_bytes: Self::DEFAULT_MAX_TAR_BYTES,
        }
    }
}

/// What reading a layer measured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerStats {
    /// Bytes of the blob as stored.
    pub compressed_bytes: u64,
    /// Bytes of the decompressed tar stream.
    pub tar_bytes: u64,
    /// The compression found (by magic bytes).
    pub compression: Compression,
    /// Whether the blob digest and the diff_id were checked (and matched).
    pub verified: bool,
}

/// Reads a whole small blob (manifest, config, index) into memory, checking its size and
/// digest. `max` bounds the bytes read (JSON documents are small; a huge one is an error).
pub fn read_small(mut r: impl Read, desc: &Descriptor, max: u64, location: &str) -> Result<Vec<u8>, Error> {
    if desc.size > max {
        let limit = if desc.media_type.contains("config") {
            crate::limits::Limit::ConfigBlob
        } else {
            crate::limits::Limit::LocalJson
        };
        return Err(Error::over_limit(
            location,
            format!(
                "{} is {} bytes, more than the {max} bytes allowed for JSON",
                desc.digest, desc.size
            ),
            limit,
            crate::limits::bytes(max),
        ));
    }
    let mut buf = Vec::with_capacity(usize::try_from(desc.size).unwrap_or(0));
    (&mut r)
        .take(desc.size + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::from_io(e, location))?;
    if buf.len() as u64 != desc.size {
        return Err(Error::SizeMismatch {
            digest: desc.digest.clone(),
            expected: desc.size,
            actual: buf.len() as u64,
        });
    }
    let actual = Digest::sha256_of(&buf);
    if desc.digest.algorithm() == "sha256" && actual != desc.digest {
        return Err(Error::DigestMismatch {
            expected: desc.digest.clone(),
            actual,
        });
    }
    Ok(buf)
}
