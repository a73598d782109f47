//! [`LayerStream`]: the decompressed tar bytes of one layer, with the blob digest, size and
//! diff_id checked as they stream and the compression-bomb limits enforced.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use super::super::{BlobStream, Descriptor, Error};
use super::bridge::channel_reader;
use super::compressed::{Compressed, Src};
use super::gzip::GzipMembers;
use super::hasher::{Hasher, digest_of};
use super::sniff::Compression;
use super::{DIGEST_IS_DIFF_ID, LayerReadOptions, LayerStats};
use crate::digest::Digest;

enum Decoder {
    Plain(Box<Compressed>),
    Gzip(Box<flate2::bufread::MultiGzDecoder<Compressed>>),
    /// gzip whose output is hashed against the diff_id: no CRC-32 (see [`GzipMembers`]).
    GzipNoCrc(Box<GzipMembers<Compressed>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, Compressed>>),
}

impl Decoder {
    fn compressed(&mut self) -> &mut Compressed {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::GzipNoCrc(d) => d.get_mut(),
            Decoder::Zstd(d) => d.get_mut(),
        }
    }
    fn compressed_ref(&self) -> &Compressed {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.get_ref(),
            Decoder::GzipNoCrc(d) => d.get_ref(),
            Decoder::Zstd(d) => d.get_ref(),
        }
    }
}

impl Read for Decoder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::GzipNoCrc(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// The decompressed tar bytes of one layer, verified while they stream.
///
/// Read it with a tar reader (it also implements `Seek`, forward only, so
/// `tar::Archive::entries_with_seek` works; an unverified local plain tar then skips file data
/// by seeking), then call [`LayerStream::finish`].
pub struct LayerStream {
    dec: Decoder,
    compression: Compression,
    desc: Descriptor,
    diff_id: Option<Digest>,
    tar_hasher: Option<Hasher>,
    tar_bytes: u64,
    verify: bool,
    opts: LayerReadOptions,
    done: bool,
    failed: Option<Error>,
    feeder: Option<tokio::task::JoinHandle<()>>,
    /// Reused by forward seeks that must read.
    scratch: Vec<u8>,
    /// Decompressed bytes not yet read, when the diff_id is hashed: the decoder fills
    /// `out[..out_filled]` [`OUT_BLOCK`] bytes at a time, reads are served from it, and once
    /// read the block goes to the diff_id hasher whole (see [`LayerStream::refill`]). Empty
    /// otherwise (the decoder then writes into the caller's buffer).
    out: Vec<u8>,
    out_pos: usize,
    out_filled: usize,
}

/// Decompressed bytes produced per decoder call when the diff_id is hashed.
///
/// A tar walk reads in small pieces (a 512-byte header, the data, the padding, per entry).
/// Decoding each piece straight into the reader's buffer makes many small inflate calls,
/// which take the decoder's slow path and copy every byte into its window, and the hasher
/// then copies the bytes again into its own blocks. Decoding into a block of this size that
/// the hasher then takes whole costs one copy (into the reader's buffer) and keeps the decoder
/// on its fast path.
const OUT_BLOCK: usize = 256 * 1024;

impl Drop for LayerStream {
    fn drop(&mut self) {
        if let Some(h) = self.feeder.take() {
            h.abort();
        }
    }
}

pub(super) fn wrap(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Opens a layer blob for reading: sniffs the compression, and returns the decompressed tar
/// bytes as a [`LayerStream`] that hashes the compressed bytes against `desc.digest` and the
/// decompressed ones against `diff_id` while they stream.
///
/// `opts.verify == false` skips hashing for [`BlobStream::Local`] only. A
/// [`BlobStream::Remote`] is fed by a task spawned on `rt` through a bounded channel, so call
/// this (and read the stream) from a blocking thread (`spawn_blocking`), never from inside
/// an async task.
pub fn open_layer(
    blob: BlobStream,
    desc: &Descriptor,
    diff_id: Option<&Digest>,
    opts: &LayerReadOptions,
    rt: &tokio::runtime::Handle,
) -> Result<LayerStream, Error> {
    let labelled = Compression::from_media_type(&desc.media_type)?;
    let (src, verify, feeder) = match blob {
        BlobStream::Local(r) => (Src::Seekable(r), opts.verify, None),
        BlobStream::Remote(s) => {
            let (reader, handle) = channel_reader(s, rt);
            (Src::Stream(Box::new(reader)), true, Some(handle))
        }
    };
    let mut c = Compressed::new(src, verify.then(|| Hasher::new(desc.size)), desc);
    let loc = format!("reading blob {}", desc.digest);
    c.fill_prefix(512).map_err(|e| Error::from_io(e, &loc))?;
    let compression = if c.buffered().is_empty() {
        labelled
    } else {
        match Compression::sniff(&c.buffered()[..c.buffered().len().min(512)]) {
            Some(found) => found,
            None => {
                // Before blaming the format, check whether the bytes are even the right blob.
                let mut stream = c;
                let _ = stream.drain();
                if verify && stream.eof {
                    let actual = digest_of(stream.take_hasher());
                    if stream.count == stream.expected && actual != desc.digest {
                        return Err(Error::DigestMismatch {
                            expected: desc.digest.clone(),
                            actual,
                        });
                    }
                }
                return Err(Error::Corrupt {
                    digest: desc.digest.clone(),
                    compression: labelled.name().to_string(),
                    // The bytes themselves are not quoted: they may be anything.
                    message: "its first bytes (from byte 0) are neither gzip, zstd nor a tar header".into(),
                });
            }
        }
    };
    let buf = c;
    let dec = match compression {
        Compression::None => Decoder::Plain(Box::new(buf)),
        // The diff_id hash covers every decompressed byte: the CRC-32 would only repeat it.
        Compression::Gzip if verify && diff_id.is_some() => Decoder::GzipNoCrc(Box::new(GzipMembers::new(buf))),
        Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buf))),
        Compression::Zstd => Decoder::Zstd(Box::new(
            zstd::stream::read::Decoder::with_buffer(buf).map_err(|e| Error::io(loc.clone(), e))?,
        )),
    };
    Ok(LayerStream {
        dec,
        compression,
        desc: desc.clone(),
        diff_id: diff_id.cloned(),
        // A plain tar's diff_id is its blob digest: hash once.
        tar_hasher: (verify && compression != Compression::None && diff_id.is_some()).then(|| Hasher::new(desc.size)),
        tar_bytes: 0,
        verify,
        opts: opts.clone(),
        done: false,
        failed: None,
        feeder,
        scratch: Vec::new(),
        out: Vec::new(),
        out_pos: 0,
        out_filled: 0,
    })
}

impl LayerStream {
    /// The compression found by sniffing.
    #[must_use]
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Whether this stream checks digests (network streams always do).
    #[must_use]
    pub fn verifies(&self) -> bool {
        self.verify
    }

    /// Whether [`BufRead`] serves the decoded bytes (from the block the diff_id hasher then
    /// takes whole): true for a compressed layer whose diff_id is checked. Otherwise
    /// `fill_buf` finds nothing: read with [`Read`].
    #[must_use]
    pub fn lends_blocks(&self) -> bool {
        self.buffered()
    }

    /// Decompressed bytes delivered so far.
    #[must_use]
    pub fn tar_bytes(&self) -> u64 {
        self.position()
    }

    /// Decompressed bytes read by the caller (decoded ones not read yet excluded).
    fn position(&self) -> u64 {
        self.tar_bytes - (self.out_filled - self.out_pos) as u64
    }

    /// Whether decoded bytes go through [`LayerStream::out`]: when they are hashed against
    /// the diff_id (a plain tar is hashed as the blob, inside its own buffer).
    fn buffered(&self) -> bool {
        self.tar_hasher.is_some()
    }

    /// Hands the block that was read to the diff_id hasher and decodes the next one;
    /// `out_filled == 0` afterwards means the end (its checks passed).
    fn refill(&mut self) -> io::Result<()> {
        if self.out_filled > 0
            && let Some(h) = &mut self.tar_hasher
        {
            let block = std::mem::take(&mut self.out);
            self.out = h.update_owned(block, self.out_filled);
        }
        // Zeroes only what a recycled block lacks (nothing for a full one).
        self.out.resize(OUT_BLOCK, 0);
        self.out_pos = 0;
        self.out_filled = 0;
        let mut out = std::mem::take(&mut self.out);
        let n = self.decode(&mut out);
        self.out = out;
        self.out_filled = n?;
        Ok(())
    }

    /// One decoder read into `buf`, with the counting, the limits and (at the end) the
    /// end-of-stream checks.
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.dec.read(buf) {
            Ok(0) => match self.end_checks() {
                Ok(()) => {
                    self.done = true;
                    Ok(0)
                }
                Err(e) => Err(self.fail(e)),
            },
            Ok(n) => {
                self.tar_bytes += n as u64;
                if let Err(e) = self.check_limits() {
                    return Err(self.fail(e));
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let typed = self.classify(e);
                Err(self.fail(typed))
            }
        }
    }

    /// Compressed bytes consumed so far.
    #[must_use]
    pub fn compressed_bytes(&self) -> u64 {
        self.dec.compressed_ref().count
    }

    /// Drains what the tar reader left unread, checks size, digest and diff_id, and returns
    /// what was measured. Any error met while reading is returned here again.
    pub fn finish(mut self) -> Result<LayerStats, Error> {
        let mut scratch = vec![0u8; 64 * 1024];
        loop {
            match self.read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(self
                        .failed
                        .take()
                        .unwrap_or_else(|| Error::from_io(e, &format!("reading layer {}", self.desc.digest))));
                }
            }
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        Ok(LayerStats {
            compressed_bytes: self.dec.compressed_ref().count,
            tar_bytes: self.tar_bytes,
            compression: self.compression,
            verified: self.verify,
        })
    }

    /// The real cause of an error the tar reader met while reading this stream: the typed
    /// error it carries, else whatever [`finish`](Self::finish) finds (a gzip stream whose
    /// damage shows only in its CRC feeds garbage to the tar reader first; the digest check
    /// or the decoder explains it), else the tar error itself, naming the layer.
    #[must_use]
    pub fn explain(self, err: io::Error) -> Error {
        if err
            .get_ref()
            .is_some_and(<dyn std::error::Error + std::marker::Send + std::marker::Sync + 'static>::is::<Error>)
        {
            return Error::from_io(err, "");
        }
        let digest = self.desc.digest.clone();
        let at = self.position();
        match self.finish() {
            Err(e) => e,
            Ok(_) => {
                // The tar reader's messages go on to quote the header's bytes after a colon
                // (`numeric field was not a number: <bytes> when getting cksum for <name>`):
                // keep only what went wrong, and say where.
                let text = err.to_string();
                let what = text.split(':').next().unwrap_or("damaged header");
                Error::invalid(
                    format!("layer {digest}"),
                    format!("not a valid tar stream: {what} (in the first {at} bytes of the tar)"),
                )
            }
        }
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let out = wrap(e.clone());
        self.failed = Some(e);
        out
    }

    /// The end-of-stream checks: size, digest, diff_id.
    fn end_checks(&mut self) -> Result<(), Error> {
        let loc = format!("reading blob {}", self.desc.digest);
        let c = self.dec.compressed();
        c.drain().map_err(|e| Error::from_io(e, &loc))?;
        if c.count != c.expected {
            return Err(Error::SizeMismatch {
                digest: self.desc.digest.clone(),
                expected: c.expected,
                actual: c.count,
            });
        }
        if self.compression == Compression::None {
            self.tar_bytes = c.count;
        }
        if !self.verify {
            return Ok(());
        }
        let blob_digest = digest_of(c.take_hasher());
        if blob_digest != self.desc.digest {
            // A plain layer described by its diff_id (a classic docker-archive): the diff_id
            // is what is wrong.
            if self.desc.annotations.contains_key(DIGEST_IS_DIFF_ID) {
                return Err(Error::DiffIdMismatch {
                    layer: self.desc.digest.clone(),
                    expected: self.desc.digest.clone(),
                    actual: blob_digest,
                });
            }
            return Err(Error::DigestMismatch {
                expected: self.desc.digest.clone(),
                actual: blob_digest,
            });
        }
        if let Some(want) = &self.diff_id {
            let actual = if self.compression == Compression::None {
                blob_digest
            } else {
                digest_of(self.tar_hasher.take())
            };
            if &actual != want {
                return Err(Error::DiffIdMismatch {
                    layer: self.desc.digest.clone(),
                    expected: want.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }

    /// Turns a decoder error into the typed cause: one of ours, a truncated blob, a digest
    /// mismatch (when the damaged bytes are not the blob at all), or a corrupt stream.
    fn classify(&mut self, e: io::Error) -> Error {
        if e.get_ref()
            .is_some_and(<dyn std::error::Error + std::marker::Send + std::marker::Sync + 'static>::is::<Error>)
        {
            return Error::from_io(e, "");
        }
        let digest = self.desc.digest.clone();
        if self.compression == Compression::None {
            return Error::from_io(e, &format!("reading blob {digest}"));
        }
        let c = self.dec.compressed();
        if c.drain().is_ok() {
            if c.count < c.expected {
                return Error::SizeMismatch {
                    digest,
                    expected: c.expected,
                    actual: c.count,
                };
            }
            if self.verify {
                let actual = digest_of(c.take_hasher());
                if actual != digest {
                    return Error::DigestMismatch {
                        expected: digest,
                        actual,
                    };
                }
            }
        }
        Error::Corrupt {
            digest,
            compression: self.compression.name().to_string(),
            message: e.to_string(),
        }
    }

    fn check_limits(&self) -> Result<(), Error> {
        let compressed = self.dec.compressed_ref().count.max(1);
        let limit = if self.tar_bytes > self.opts.max_tar_bytes {
            format!("more than {} bytes", self.opts.max_tar_bytes)
        } else if self.tar_bytes > self.opts.ratio_floor && self.tar_bytes / compressed > self.opts.max_ratio {
            format!(
                "ratio above {}:1 past {} bytes",
                self.opts.max_ratio, self.opts.ratio_floor
            )
        } else {
            return Ok(());
        };
        Err(Error::TooLarge {
            digest: self.desc.digest.clone(),
            tar_bytes: self.tar_bytes,
            compressed_bytes: compressed,
            limit,
        })
    }
}

impl BufRead for LayerStream {
    /// The decoded bytes not read yet (decoding the next block when there are none); empty
    /// at the end. Without diff_id hashing there is no block: use [`Read`].
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some(e) = &self.failed {
            return Err(wrap(e.clone()));
        }
        if self.out_pos == self.out_filled && !self.done && self.buffered() {
            self.refill()?;
        }
        Ok(&self.out[self.out_pos..self.out_filled])
    }

    fn consume(&mut self, amt: usize) {
        self.out_pos = (self.out_pos + amt).min(self.out_filled);
    }
}

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(wrap(e.clone()));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.buffered() {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            self.consume(n);
            return Ok(n);
        }
        if self.done {
            return Ok(0);
        }
        self.decode(buf)
    }
}

impl Seek for LayerStream {
    /// Forward seeks only (`Current(n >= 0)`, or `Start(x)` at or past the position).
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = self.position();
        let n = match pos {
            SeekFrom::Current(d) if d >= 0 => d.unsigned_abs(),
            SeekFrom::Start(x) if x >= at => x - at,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "layer streams only seek forward",
                ));
            }
        };
        if n == 0 {
            return Ok(at);
        }
        if let Some(e) = &self.failed {
            return Err(wrap(e.clone()));
        }
        if let Decoder::Plain(r) = &mut self.dec
            && !self.verify
        {
            let loc = format!("reading blob {}", self.desc.digest);
            if let Err(e) = r.skip(n) {
                let typed = Error::from_io(e, &loc);
                return Err(self.fail(typed));
            }
            self.tar_bytes += n;
            return Ok(self.tar_bytes);
        }
        // One buffer for every skip (a million small entries must not mean a million
        // allocations).
        let mut scratch = std::mem::take(&mut self.scratch);
        if scratch.is_empty() {
            scratch = vec![0u8; 64 * 1024];
        }
        let result = self.skip_by_reading(n, &mut scratch);
        self.scratch = scratch;
        result?;
        Ok(self.position())
    }
}

impl LayerStream {
    fn skip_by_reading(&mut self, mut left: u64, scratch: &mut [u8]) -> io::Result<()> {
        while left > 0 {
            let want = scratch.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let got = self.read(&mut scratch[..want])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "layer ended inside a seek",
                ));
            }
            left -= got as u64;
        }
        Ok(())
    }
}
