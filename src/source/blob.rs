//! Reading one layer blob: compression sniffing, decompression, digest and diff_id checks and
//! compression-bomb limits, written once above every [`ImageSource`](super::ImageSource).
//!
//! Owns: turning a [`BlobStream`] into the decompressed tar bytes ([`open_layer`]) while the
//! compressed bytes are hashed against the descriptor's digest and the decompressed ones against
//! the config's diff_id, in one pass (nothing is spooled to disk). Does not: walk tar entries
//! (that is `layers`), or fetch bytes (the sources do).
//!
//! Compression is decided by the media type *and* the first bytes: gzip (`1f 8b`), zstd
//! (`28 b5 2f fd`) or a tar header (`ustar` at offset 257, or a valid v7 checksum). eStargz
//! layers are gzip streams and read as such. A media type that names no tar layer is
//! [`Error::UnsupportedCompression`]. Magic numbers: RFC 1952 section 2.3.1 (gzip), RFC 8878
//! section 3.1.1 (zstd), POSIX `ustar` (pax) header layout.
//!
//! Errors surface twice: [`LayerStream`]'s `Read` returns an `io::Error` that carries the typed
//! [`Error`] (recover it with [`Error::from_io`]), and [`LayerStream::finish`] returns it again.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::{BlobStream, Descriptor, Error, ReadSeek};
use crate::digest::Digest;

/// Annotation a source puts on a layer descriptor whose digest was taken from the config's
/// diff_id (classic docker-archives record no blob digest): a mismatch then reports the
/// diff_id as wrong.
pub const DIGEST_IS_DIFF_ID: &str = "dev.imgopt.digest-is-diff-id";

/// How a layer blob is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (also eStargz).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// `tar`, `gzip` or `zstd`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// What a layer media type says about compression: `Ok` for the OCI and Docker layer
    /// types (including `nondistributable` and `foreign` ones), [`Error::UnsupportedCompression`]
    /// for anything else.
    pub fn from_media_type(media_type: &str) -> Result<Self, Error> {
        let mt = media_type.trim();
        if mt.ends_with("+gzip") || mt.ends_with(".gzip") {
            Ok(Compression::Gzip)
        } else if mt.ends_with("+zstd") || mt.ends_with(".zstd") {
            Ok(Compression::Zstd)
        } else if mt.ends_with(".tar") || mt.ends_with("/tar") || mt.ends_with("layer.v1.tar") {
            Ok(Compression::None)
        } else {
            Err(Error::UnsupportedCompression {
                media_type: media_type.to_string(),
            })
        }
    }

    /// Compression recognised from a blob's first bytes (up to 512), or `None` when the bytes
    /// are none of gzip, zstd or tar.
    #[must_use]
    pub fn sniff(prefix: &[u8]) -> Option<Self> {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            return Some(Compression::Gzip);
        }
        if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Some(Compression::Zstd);
        }
        // A zstd skippable frame (magic 0x184D2A50..=0x184D2A5F, little-endian) may come first.
        if prefix.len() >= 4 && prefix[0] & 0xf0 == 0x50 && prefix[1..4] == [0x2a, 0x4d, 0x18] {
            return Some(Compression::Zstd);
        }
        if prefix.len() >= 262 && &prefix[257..262] == b"ustar" {
            return Some(Compression::None);
        }
        if prefix.len() >= 512 {
            if prefix[..512].iter().all(|&b| b == 0) {
                return Some(Compression::None); // an empty archive: end-of-archive blocks only
            }
            if tar_checksum_ok(&prefix[..512]) {
                return Some(Compression::None);
            }
        }
        None
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A v7/ustar header checksum: the octal field at 148..156 equals the byte sum with that field
/// read as spaces.
fn tar_checksum_ok(h: &[u8]) -> bool {
    let field = &h[148..156];
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect::<String>()
        .trim()
        .to_string();
    let Ok(want) = u32::from_str_radix(&text, 8) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) })
        .sum();
    sum == want
}

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

/// Blobs at least this big are hashed on a helper thread, so SHA-256 overlaps decompression
/// and the tar walk instead of adding to them (on two cores the second one hashes while the
/// first inflates).
const BACKGROUND_HASH_MIN: u64 = 4 << 20;
/// Bytes handed to the hashing thread at a time.
const HASH_BLOCK: usize = 1 << 20;
/// Blocks in flight to the hashing thread (bounded memory: at most `HASH_QUEUE + 2` blocks of
/// [`HASH_BLOCK`] bytes exist per hasher, and they are reused, never freed and reallocated:
/// a fresh 1 MiB allocation per block costs a page fault per 4 KiB, which showed up as a
/// third of the hashing time).
const HASH_QUEUE: usize = 4;

/// SHA-256, inline for small blobs and on a helper thread for big ones.
enum Hasher {
    Inline(Sha256),
    Background {
        buf: Vec<u8>,
        tx: std::sync::mpsc::SyncSender<Vec<u8>>,
        /// Blocks the thread has hashed, back for reuse.
        spent: std::sync::mpsc::Receiver<Vec<u8>>,
        handle: std::thread::JoinHandle<Sha256>,
    },
}

impl Hasher {
    fn new(size_hint: u64) -> Self {
        if size_hint < BACKGROUND_HASH_MIN {
            return Hasher::Inline(Sha256::new());
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
        // Unbounded, but only blocks that exist travel back: at most HASH_QUEUE + 2.
        let (back, spent) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new().name("imgopt-sha256".into()).spawn(move || {
            let mut h = Sha256::new();
            for block in rx {
                h.update(&block);
                // The reader may be gone (finalize): the block is then simply dropped.
                let _ = back.send(block);
            }
            h
        });
        match spawned {
            Ok(handle) => Hasher::Background {
                buf: Vec::with_capacity(HASH_BLOCK),
                tx,
                spent,
                handle,
            },
            Err(_) => Hasher::Inline(Sha256::new()),
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        match self {
            Hasher::Inline(h) => h.update(data),
            Hasher::Background { buf, tx, spent, .. } => {
                while !data.is_empty() {
                    let take = (HASH_BLOCK - buf.len()).min(data.len());
                    buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if buf.len() >= HASH_BLOCK {
                        let next = match spent.try_recv() {
                            Ok(mut b) => {
                                b.clear();
                                b
                            }
                            Err(_) => Vec::with_capacity(HASH_BLOCK),
                        };
                        let full = std::mem::replace(buf, next);
                        // A send fails only if the thread is gone; finalize() then reports it.
                        let _ = tx.send(full);
                    }
                }
            }
        }
    }

    /// Hashes a whole block and returns an empty one to fill next: the same block when
    /// hashing inline, a recycled (or new) one when the block went to the hashing thread.
    fn update_owned(&mut self, block: Vec<u8>) -> Vec<u8> {
        match self {
            Hasher::Inline(h) => {
                h.update(&block);
                block
            }
            Hasher::Background { buf, tx, spent, .. } => {
                if !buf.is_empty() {
                    let pending = std::mem::take(buf);
                    let _ = tx.send(pending);
                }
                let cap = block.capacity();
                if !block.is_empty() {
                    let _ = tx.send(block);
                }
                spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(cap))
            }
        }
    }

    fn finalize(self) -> sha2::digest::Output<Sha256> {
        match self {
            Hasher::Inline(h) => h.finalize(),
            Hasher::Background { buf, tx, handle, .. } => {
                let _ = tx.send(buf);
                drop(tx);
                // The thread only hashes; if it died, hash nothing rather than panic: the
                // digest then mismatches and the layer fails with a clear error.
                handle.join().unwrap_or_default().finalize()
            }
        }
    }
}

/// The blob's raw side: counts, hashes and enforces the descriptor's size, and is the
/// decoder's input buffer itself (`BufRead`): bytes are read from the source into a block, the
/// decoder consumes them from there, and the spent block goes to the hasher whole (to the
/// hashing thread for big blobs, which hands blocks back for reuse). Each stored byte is thus
/// copied once, by the source's read, and never again for hashing.
struct Compressed {
    src: Src,
    /// The current block, always [`BUF`] bytes long (initialised once, so reads never zero
    /// it again); `block[..filled]` came from the source, hashed when the block is retired.
    block: Vec<u8>,
    filled: usize,
    /// Bytes of `block` the decoder has consumed.
    pos: usize,
    hasher: Option<Hasher>,
    /// Bytes read from the source (all of them in blocks, hashed or about to be).
    count: u64,
    expected: u64,
    digest: Digest,
    eof: bool,
}

enum Src {
    Seekable(Box<dyn ReadSeek + Send>),
    Stream(Box<dyn Read + Send>),
}

impl Compressed {
    fn new(src: Src, hasher: Option<Hasher>, desc: &Descriptor) -> Self {
        Self {
            src,
            block: vec![0u8; BUF],
            filled: 0,
            pos: 0,
            hasher,
            count: 0,
            expected: desc.size,
            digest: desc.digest.clone(),
            eof: false,
        }
    }

    /// Hands the filled part of the current block to the hasher and starts an empty one
    /// (recycled when possible).
    fn retire_block(&mut self) {
        if self.filled > 0 {
            let mut block = std::mem::take(&mut self.block);
            block.truncate(self.filled);
            self.block = match &mut self.hasher {
                Some(h) => h.update_owned(block),
                None => block,
            };
        }
        // Zeroes only what a recycled block lacks (nothing for a full one).
        self.block.resize(BUF, 0);
        self.filled = 0;
        self.pos = 0;
    }

    /// The hasher with every byte read so far fed to it.
    fn take_hasher(&mut self) -> Option<Hasher> {
        self.retire_block();
        self.hasher.take()
    }

    /// Reads more of the source into the block (appending, retiring it first when it is
    /// nearly full); `Ok(0)` at the end.
    fn read_more(&mut self) -> io::Result<usize> {
        if BUF - self.filled < BUF / 8 {
            if self.pos < self.filled {
                // Unconsumed bytes must stay; only happens when asked for a long prefix.
                return Err(io::Error::other("blob prefix longer than the read buffer"));
            }
            self.retire_block();
        }
        let start = self.filled;
        let r = match &mut self.src {
            Src::Seekable(r) => r.read(&mut self.block[start..]),
            Src::Stream(r) => r.read(&mut self.block[start..]),
        };
        let n = match r {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let loc = format!("reading blob {}", self.digest);
                return Err(wrap(Error::from_io(e, &loc)));
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(0);
        }
        self.filled += n;
        self.count += n as u64;
        if self.count > self.expected {
            return Err(wrap(Error::SizeMismatch {
                digest: self.digest.clone(),
                expected: self.expected,
                actual: self.count,
            }));
        }
        Ok(n)
    }

    /// Reads until at least `want` bytes are buffered (or the end), for sniffing; they stay
    /// in the block for the decoder.
    fn fill_prefix(&mut self, want: usize) -> io::Result<()> {
        while self.filled - self.pos < want {
            if self.read_more()? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// The buffered bytes not consumed yet.
    fn buffered(&self) -> &[u8] {
        &self.block[self.pos..self.filled]
    }

    /// Skips `n` bytes: a seek when the source can and nothing is hashed, else a read.
    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        let from_buf = (self.filled - self.pos).min(usize::try_from(n).unwrap_or(usize::MAX));
        self.pos += from_buf;
        n -= from_buf as u64;
        if n == 0 {
            return Ok(());
        }
        if let (Src::Seekable(r), None) = (&mut self.src, &self.hasher) {
            let delta = i64::try_from(n).map_err(|_| io::Error::other("seek out of range"))?;
            r.seek(SeekFrom::Current(delta))?;
            self.count += n;
            return Ok(());
        }
        while n > 0 {
            let avail = self.fill_buf()?.len();
            if avail == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "blob ended inside a skip"));
            }
            let k = avail.min(usize::try_from(n).unwrap_or(usize::MAX));
            self.consume(k);
            n -= k as u64;
        }
        Ok(())
    }

    /// Reads or seeks to the end; afterwards `count` is the blob's real length (a seek past the
    /// end of a file counts too far, so the length is taken from the end position).
    fn drain(&mut self) -> io::Result<()> {
        if let (Src::Seekable(r), None) = (&mut self.src, &self.hasher) {
            self.pos = self.filled;
            self.count = r.seek(SeekFrom::End(0))?;
            self.eof = true;
            return Ok(());
        }
        loop {
            self.pos = self.filled;
            if self.eof || self.fill_buf()?.is_empty() {
                return Ok(());
            }
        }
    }
}

impl BufRead for Compressed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled && !self.eof {
            self.read_more()?;
        }
        Ok(&self.block[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

impl Read for Compressed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = buf.len().min(avail.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// gzip without the CRC-32: the members of a gzip stream (RFC 1952 section 2.2: one or more
/// members back to back), each a header, a raw deflate stream and an 8-byte trailer, inflated
/// with the same decompressor as [`flate2::bufread::MultiGzDecoder`] but without computing the
/// CRC-32 of the output.
///
/// Used only when the decompressed bytes are hashed against the config's diff_id: SHA-256 over
/// every decompressed byte is a far stronger check than the trailer's CRC-32 (RFC 1952 section
/// 2.3.1), and the blob digest covers the headers and trailers, so skipping the CRC loses no
/// integrity while saving about a tenth of the CPU time of a gzip layer. The trailer's ISIZE
/// (the length mod 2^32) is still checked, as it costs nothing. Unverified reads
/// (`--no-verify`, or a layer without a diff_id) keep flate2's decoder and its CRC check.
struct GzipMembers<R> {
    r: R,
    z: flate2::Decompress,
    in_member: bool,
    done: bool,
    /// Output bytes of the current member (mod 2^32, as ISIZE counts).
    size: u32,
}

/// gzip header flag bits (RFC 1952 section 2.3.1).
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

fn gz_err(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl<R: BufRead> GzipMembers<R> {
    fn new(r: R) -> Self {
        Self {
            r,
            z: flate2::Decompress::new(false),
            in_member: false,
            done: false,
            size: 0,
        }
    }

    fn get_ref(&self) -> &R {
        &self.r
    }

    fn get_mut(&mut self) -> &mut R {
        &mut self.r
    }

    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b).map_err(|e| truncated(e, "a gzip header"))?;
        Ok(b[0])
    }

    fn skip_exact(&mut self, mut n: usize) -> io::Result<()> {
        while n > 0 {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the gzip stream ends inside a header",
                ));
            }
            let k = avail.len().min(n);
            self.r.consume(k);
            n -= k;
        }
        Ok(())
    }

    fn skip_zero_terminated(&mut self) -> io::Result<()> {
        while self.byte()? != 0 {}
        Ok(())
    }

    /// Reads the next member's header; `false` at a clean end of the stream.
    fn start_member(&mut self) -> io::Result<bool> {
        let head = self.r.fill_buf()?;
        if head.is_empty() {
            return Ok(false);
        }
        if head[0] != 0x1f || head.get(1).is_some_and(|&b| b != 0x8b) {
            return Err(gz_err(
                "invalid gzip header (bytes after a member are not another member)",
            ));
        }
        let mut h = [0u8; 10];
        self.r.read_exact(&mut h).map_err(|e| truncated(e, "a gzip header"))?;
        if h[0] != 0x1f || h[1] != 0x8b {
            return Err(gz_err(
                "invalid gzip header (bytes after a member are not another member)",
            ));
        }
        if h[2] != 8 {
            return Err(gz_err(format!("unsupported gzip compression method {}", h[2])));
        }
        let flags = h[3];
        if flags & 0xe0 != 0 {
            return Err(gz_err("invalid gzip header: reserved flag bits set"));
        }
        if flags & FEXTRA != 0 {
            let lo = self.byte()?;
            let hi = self.byte()?;
            self.skip_exact(usize::from(u16::from_le_bytes([lo, hi])))?;
        }
        if flags & FNAME != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FHCRC != 0 {
            // The header CRC-16 is covered by the blob digest like every other stored byte.
            self.skip_exact(2)?;
        }
        self.z.reset(false);
        self.size = 0;
        Ok(true)
    }

    fn end_member(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.r.read_exact(&mut t).map_err(|e| truncated(e, "a gzip trailer"))?;
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        if isize != self.size {
            return Err(gz_err(format!(
                "gzip trailer says {isize} bytes (mod 2^32), the member inflated to {}",
                self.size
            )));
        }
        Ok(())
    }
}

fn truncated(e: io::Error, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the gzip stream ends inside {what}"),
        )
    } else {
        e
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if !self.in_member {
                if !self.start_member()? {
                    self.done = true;
                    return Ok(0);
                }
                self.in_member = true;
            }
            let input = self.r.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, dst, flate2::FlushDecompress::None)
                .map_err(|e| gz_err(format!("corrupt deflate stream: {e}")))?;
            let consumed = usize::try_from(self.z.total_in() - before_in).unwrap_or(0);
            let produced = usize::try_from(self.z.total_out() - before_out).unwrap_or(0);
            self.r.consume(consumed);
            // ISIZE is the length modulo 2^32 (RFC 1952 section 2.3.1): truncation is meant.
            #[allow(clippy::cast_possible_truncation)]
            {
                self.size = self.size.wrapping_add(produced as u32);
            }
            if status == flate2::Status::StreamEnd {
                self.end_member()?;
                self.in_member = false;
                if produced > 0 {
                    return Ok(produced);
                }
                continue;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the gzip stream ends inside a deflate stream",
                ));
            }
            if consumed == 0 {
                // Input and room were both there and nothing moved: never spin.
                return Err(gz_err("corrupt deflate stream: the decoder made no progress"));
            }
        }
    }
}

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

/// Buffer between the compressed source and the decoder.
const BUF: usize = 256 * 1024;

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
}

impl Drop for LayerStream {
    fn drop(&mut self) {
        if let Some(h) = self.feeder.take() {
            h.abort();
        }
    }
}

fn wrap(e: Error) -> io::Error {
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
    })
}

fn digest_of(h: Option<Hasher>) -> Digest {
    let hex = hex::encode(h.map_or_else(|| Sha256::new().finalize(), Hasher::finalize));
    Digest::parse(&format!("sha256:{hex}")).unwrap_or_else(|_| Digest::sha256_of(b""))
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

    /// Decompressed bytes delivered so far.
    #[must_use]
    pub fn tar_bytes(&self) -> u64 {
        self.tar_bytes
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
        if err.get_ref().is_some_and(|e| e.is::<Error>()) {
            return Error::from_io(err, "");
        }
        let digest = self.desc.digest.clone();
        match self.finish() {
            Err(e) => e,
            Ok(_) => Error::invalid(format!("layer {digest}"), format!("not a valid tar stream: {err}")),
        }
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let out = wrap(e.duplicate());
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
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
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

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(wrap(e.duplicate()));
        }
        if self.done || buf.is_empty() {
            return Ok(0);
        }
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
                if let Some(h) = &mut self.tar_hasher {
                    h.update(&buf[..n]);
                }
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
}

impl Seek for LayerStream {
    /// Forward seeks only (`Current(n >= 0)`, or `Start(x)` at or past the position).
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let n = match pos {
            SeekFrom::Current(d) if d >= 0 => d.unsigned_abs(),
            SeekFrom::Start(x) if x >= self.tar_bytes => x - self.tar_bytes,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "layer streams only seek forward",
                ));
            }
        };
        if n == 0 {
            return Ok(self.tar_bytes);
        }
        if let Some(e) = &self.failed {
            return Err(wrap(e.duplicate()));
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
        Ok(self.tar_bytes)
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

/// Bytes from a network stream, handed over through a bounded channel by a task on `rt`.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    cur: bytes::Bytes,
    done: bool,
}

/// Chunks in flight between the network task and the decoder (bounded memory).
const CHANNEL_CHUNKS: usize = 32;

fn channel_reader(
    mut stream: futures_util::stream::BoxStream<'static, io::Result<bytes::Bytes>>,
    rt: &tokio::runtime::Handle,
) -> (ChannelReader, tokio::task::JoinHandle<()>) {
    use futures_util::StreamExt as _;
    let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_CHUNKS);
    let handle = rt.spawn(async move {
        while let Some(item) = stream.next().await {
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    (
        ChannelReader {
            rx,
            cur: bytes::Bytes::new(),
            done: false,
        },
        handle,
    )
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                None => {
                    self.done = true;
                    return Ok(0);
                }
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// Reads a whole small blob (manifest, config, index) into memory, checking its size and
/// digest. `max` bounds the bytes read (JSON documents are small; a huge one is an error).
pub fn read_small(mut r: impl Read, desc: &Descriptor, max: u64, location: &str) -> Result<Vec<u8>, Error> {
    if desc.size > max {
        return Err(Error::invalid(
            location,
            format!(
                "{} is {} bytes, more than the {max} bytes allowed for JSON",
                desc.digest, desc.size
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn media_types() {
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+gzip").unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip").unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd").unwrap(),
            Compression::Zstd
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar").unwrap(),
            Compression::None
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar").unwrap(),
            Compression::None
        );
        assert!(matches!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+lz4"),
            Err(Error::UnsupportedCompression { .. })
        ));
    }

    #[test]
    fn sniffs_magic() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Some(Compression::Gzip));
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::sniff(&[0x5e, 0x2a, 0x4d, 0x18, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(&[0u8; 1024]), Some(Compression::None));
        assert_eq!(Compression::sniff(b"PK\x03\x04 not a layer"), None);
        // A real ustar header from the tar crate.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_cksum();
        b.append_data(&mut h, "a", &b"x"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        assert_eq!(Compression::sniff(&bytes[..512]), Some(Compression::None));
        let mut v7 = bytes[..512].to_vec();
        v7[257..263].fill(0); // no ustar magic: the checksum alone must do
        let mut hdr = tar::Header::new_old();
        hdr.as_mut_bytes().copy_from_slice(&v7);
        hdr.set_cksum();
        assert_eq!(Compression::sniff(hdr.as_bytes()), Some(Compression::None));
    }

    /// Deterministic, partly compressible bytes.
    fn sample_bytes(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if i % 3 == 0 { b'a' + (i % 7) as u8 } else { x as u8 }
            })
            .collect()
    }

    fn gzip_member(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        use std::io::Write as _;
        let mut e = builder.write(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Adds an FHCRC field (the CRC-16 of the header, RFC 1952 section 2.3.1) to a member
    /// without other optional fields.
    fn with_header_crc(member: &[u8]) -> Vec<u8> {
        let mut header = member[..10].to_vec();
        header[3] |= FHCRC;
        let mut crc = flate2::Crc::new();
        crc.update(&header);
        let crc16 = (crc.sum() & 0xffff) as u16;
        let mut out = header;
        out.extend_from_slice(&crc16.to_le_bytes());
        out.extend_from_slice(&member[10..]);
        out
    }

    fn read_all_with(r: &mut impl Read, chunk: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn gzip_members_match_flate2_and_the_input() {
        let parts = [
            sample_bytes(300_000, 1),
            Vec::new(),
            sample_bytes(70_000, 2),
            sample_bytes(5, 3),
        ];
        let mut stream = gzip_member(&parts[0], flate2::GzBuilder::new().filename("a.tar").comment("c"));
        stream.extend(gzip_member(
            &parts[1],
            flate2::GzBuilder::new().extra(b"SG\x04\0abcd".to_vec()),
        ));
        stream.extend(with_header_crc(&gzip_member(&parts[2], flate2::GzBuilder::new())));
        stream.extend(gzip_member(&parts[3], flate2::GzBuilder::new()));
        let want: Vec<u8> = parts.concat();
        // The reference decoder agrees on the test stream (it checks CRCs and the header CRC).
        let mut reference = Vec::new();
        flate2::read::MultiGzDecoder::new(&stream[..])
            .read_to_end(&mut reference)
            .unwrap();
        assert_eq!(reference, want);
        for chunk in [1, 7, 512, 128 * 1024] {
            let mut g = GzipMembers::new(BufReader::with_capacity(4096, &stream[..]));
            assert_eq!(read_all_with(&mut g, chunk).unwrap(), want, "chunk {chunk}");
        }
        let mut empty = GzipMembers::new(BufReader::new(&b""[..]));
        assert_eq!(read_all_with(&mut empty, 64).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn gzip_members_reject_truncation_at_every_cut() {
        let data = sample_bytes(20_000, 9);
        let mut stream = gzip_member(&data, flate2::GzBuilder::new().filename("x"));
        stream.extend(gzip_member(&data[..100], flate2::GzBuilder::new()));
        for cut in 1..stream.len() {
            let mut g = GzipMembers::new(BufReader::with_capacity(512, &stream[..cut]));
            let got = read_all_with(&mut g, 4096);
            // A cut exactly between two members is a complete, shorter gzip stream.
            if let Ok(out) = &got {
                let first = gzip_member(&data, flate2::GzBuilder::new().filename("x")).len();
                assert_eq!(cut, first, "cut at {cut} of {} read as complete", stream.len());
                assert_eq!(out, &data);
            }
        }
    }

    #[test]
    fn gzip_members_check_isize_and_garbage() {
        let data = sample_bytes(10_000, 4);
        let good = gzip_member(&data, flate2::GzBuilder::new());
        let mut bad_size = good.clone();
        let n = bad_size.len();
        bad_size[n - 1] ^= 1;
        let err = read_all_with(&mut GzipMembers::new(BufReader::new(&bad_size[..])), 4096).unwrap_err();
        assert!(err.to_string().contains("trailer says"), "{err}");
        let mut garbage = good.clone();
        garbage.extend_from_slice(b"PK\x03\x04");
        let err = read_all_with(&mut GzipMembers::new(BufReader::new(&garbage[..])), 4096).unwrap_err();
        assert!(err.to_string().contains("invalid gzip header"), "{err}");
        let mut damaged = good;
        damaged[20] ^= 0xff;
        damaged[21] ^= 0xff;
        // Damage inside the deflate data is either a decoder error or different output (which
        // the diff_id check catches); it never reads back as the original bytes.
        if let Ok(out) = read_all_with(&mut GzipMembers::new(BufReader::new(&damaged[..])), 4096) {
            assert_ne!(out, data);
        }
    }
}
