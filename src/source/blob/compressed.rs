//! The blob's raw side: the stored (compressed) bytes as the decoder's input buffer, counted,
//! hashed and held to the descriptor's size.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use super::super::{Descriptor, Error, ReadSeek};
use super::hasher::Hasher;
use super::stream::wrap;
use crate::digest::Digest;

/// Buffer between the compressed source and the decoder.
const BUF: usize = 256 * 1024;

/// The blob's raw side: counts, hashes and enforces the descriptor's size, and is the
/// decoder's input buffer itself (`BufRead`): bytes are read from the source into a block, the
/// decoder consumes them from there, and the spent block goes to the hasher whole (to the
/// hashing thread for big blobs, which hands blocks back for reuse). Each stored byte is thus
/// copied once, by the source's read, and never again for hashing.
pub(super) struct Compressed {
    pub(super) src: Src,
    /// The current block, always [`BUF`] bytes long (initialised once, so reads never zero
    /// it again); `block[..filled]` came from the source, hashed when the block is retired.
    pub(super) block: Vec<u8>,
    pub(super) filled: usize,
    /// Bytes of `block` the decoder has consumed.
    pub(super) pos: usize,
    pub(super) hasher: Option<Hasher>,
    /// Bytes read from the source (all of them in blocks, hashed or about to be).
    pub(super) count: u64,
    pub(super) expected: u64,
    pub(super) digest: Digest,
    pub(super) eof: bool,
}

pub(super) enum Src {
    Seekable(Box<dyn ReadSeek + Send>),
    Stream(Box<dyn Read + Send>),
}

impl Compressed {
    pub(super) fn new(src: Src, hasher: Option<Hasher>, desc: &Descriptor) -> Self {
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
    pub(super) fn retire_block(&mut self) {
        if self.filled > 0 {
            let block = std::mem::take(&mut self.block);
            self.block = match &mut self.hasher {
                Some(h) => h.update_owned(block, self.filled),
                None => block,
            };
        }
        // Zeroes only what a recycled block lacks (nothing for a full one).
        self.block.resize(BUF, 0);
        self.filled = 0;
        self.pos = 0;
    }

    /// The hasher with every byte read so far fed to it.
    pub(super) fn take_hasher(&mut self) -> Option<Hasher> {
        self.retire_block();
        self.hasher.take()
    }

    /// Reads more of the source into the block (appending, retiring it first when it is
    /// nearly full); `Ok(0)` at the end.
    pub(super) fn read_more(&mut self) -> io::Result<usize> {
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
    pub(super) fn fill_prefix(&mut self, want: usize) -> io::Result<()> {
        while self.filled - self.pos < want {
            if self.read_more()? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// The buffered bytes not consumed yet.
    pub(super) fn buffered(&self) -> &[u8] {
        &self.block[self.pos..self.filled]
    }

    /// Skips `n` bytes: a seek when the source can and nothing is hashed, else a read.
    pub(super) fn skip(&mut self, mut n: u64) -> io::Result<()> {
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
    pub(super) fn drain(&mut self) -> io::Result<()> {
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
