//! A bounded tar reader: headers, GNU long names, PAX records and GNU sparse maps, with every
//! size checked and every piece of text it keeps capped.
//!
//! Owns: turning a tar stream (ustar, GNU and PAX as written by Docker, BuildKit, Buildah and
//! GNU tar) into [`Header`]s, reading or skipping each entry's stored data, and the limits that
//! keep memory and time proportional to the stream (see [`Limits`]).
//! Does not: interpret paths, whiteouts or file types (see `scan`).
//!
//! Formats, from the public specifications: POSIX.1-2001 `pax` (ustar header, `x`/`g`
//! extended records `"%d %s=%s\n"`; <https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html>),
//! GNU tar's `L`/`K` long names and old-style `S` sparse headers with extension blocks
//! (<https://www.gnu.org/software/tar/manual/html_node/Standard.html>). Numbers are octal or,
//! with the high bit of the first byte set, GNU base-256.
//!
//! Why our own reader rather than the `tar` crate's: that crate reads a long name or a PAX
//! record whole whatever its size (a 512 MiB name is held in memory) and feeds a sparse file's
//! holes through `Read` as zeros (a 2^55-byte hole never finishes). Here extension records are
//! capped, and sparse holes are never materialised: their length is counted
//! ([`Header::hole_bytes`]) so the caller can hold it against the compression-bomb limits.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

/// Size of a tar block.
pub const BLOCK: u64 = 512;

/// What the reader refuses to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest GNU long name (`L`), long link (`K`) or PAX extended header (`x`) read into
    /// memory, in bytes.
    pub max_extension_bytes: u64,
}

impl Limits {
    /// Default for [`Limits::max_extension_bytes`]: 1 MiB (a path is at most 4 KiB on Linux;
    /// a PAX record also carries extended attributes, each at most 64 KiB on ext4).
    pub const DEFAULT_MAX_EXTENSION_BYTES: u64 = 1 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_extension_bytes: Self::DEFAULT_MAX_EXTENSION_BYTES,
        }
    }
}

/// Why the tar stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// A malformed header or record (the message says which); never quotes the stream's bytes.
    #[error("{0}")]
    Malformed(&'static str),
    /// An extension record larger than [`Limits::max_extension_bytes`].
    #[error("a {kind} record of {size} bytes is larger than the {limit}-byte limit")]
    ExtensionTooLarge {
        /// `GNU long name`, `GNU long link` or `PAX extended header`.
        kind: &'static str,
        /// Its size field.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The stream ended inside a header or inside data that is skipped.
    #[error("unexpected end of the stream: {0}")]
    Eof(&'static str),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// One entry's header, with its long name, PAX values and sparse map applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The name as stored (long name, PAX `path`, or ustar prefix + name).
    pub path: Vec<u8>,
    /// The link target (long link, PAX `linkpath`, or the header field), when not empty.
    pub link: Option<Vec<u8>>,
    /// The type flag byte (`0`, `5`, `S`, ...).
    pub typeflag: u8,
    /// The entry's logical size: the header (or PAX `size`) field, or a sparse file's real size.
    pub size: u64,
    /// Bytes of data stored in the stream after the header (before padding).
    pub stored: u64,
    /// Mode bits (0 when the field is unreadable).
    pub mode: u32,
    /// Owner (PAX `uid` wins).
    pub uid: u64,
    /// Group (PAX `gid` wins).
    pub gid: u64,
    /// Modification time in seconds (the header field).
    pub mtime: u64,
    /// For a GNU sparse file: the stored data chunks as (offset in the file, length).
    pub sparse: Option<Vec<(u64, u64)>>,
}

impl Header {
    /// Bytes of a sparse file that are holes (not stored): `size - stored`, 0 otherwise.
    #[must_use]
    pub fn hole_bytes(&self) -> u64 {
        if self.sparse.is_some() {
            self.size.saturating_sub(self.stored)
        } else {
            0
        }
    }
}

/// How the reader passes over data it does not read, and hands over data it does.
pub trait Skip: Read {
    /// Skips `n` bytes; returns how many were there (less than `n` only at the end).
    fn skip(&mut self, n: u64) -> io::Result<u64>;

    /// Passes the next bytes of the stream, at most `max`, to `f` and returns how many there
    /// were (0 at the end). This default reads them into `scratch` first; a stream that holds
    /// its bytes in a buffer of its own lends them from there ([`Buffered`]).
    fn data_with(&mut self, max: usize, scratch: &mut [u8], f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let want = max.min(scratch.len());
        let n = self.read(&mut scratch[..want])?;
        f(&scratch[..n]);
        Ok(n)
    }
}

/// A forward-only stream: skipping reads and discards.
pub struct Forward<R>(pub R);

impl<R: Read> Read for Forward<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Skip for Forward<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        io::copy(&mut (&mut self.0).take(n), &mut io::sink())
    }
}

/// A buffered forward-only stream: data is lent from the stream's own buffer
/// ([`Skip::data_with`] copies nothing) and skipping consumes it.
pub struct Buffered<R>(pub R);

impl<R: BufRead> Read for Buffered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: BufRead> Skip for Buffered<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        while left > 0 {
            let avail = match self.0.fill_buf() {
                Ok(b) => b.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail == 0 {
                break;
            }
            let k = usize::try_from(left).unwrap_or(usize::MAX).min(avail);
            self.0.consume(k);
            left -= k as u64;
        }
        Ok(n - left)
    }

    fn data_with(&mut self, max: usize, _scratch: &mut [u8], f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let avail = self.0.fill_buf()?;
        let k = avail.len().min(max);
        f(&avail[..k]);
        self.0.consume(k);
        Ok(k)
    }
}

/// A seekable stream: skipping seeks (a seek past the end succeeds; the caller compares the
/// final position with the stream's length).
pub struct Seeking<R>(pub R);

impl<R: Read> Read for Seeking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read + Seek> Skip for Seeking<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let off = i64::try_from(n).map_err(|_| io::Error::other("seek offset out of range"))?;
        self.0.seek(SeekFrom::Current(off))?;
        Ok(n)
    }
}

/// Reads headers one after the other; the data of the current entry is read with
/// [`TarReader::read_data`] or [`TarReader::data_with`], or left to be skipped by the next [`TarReader::next_header`].
pub struct TarReader<S> {
    inner: S,
    limits: Limits,
    /// Data bytes of the current entry not read yet.
    remaining: u64,
    /// Padding after the current entry's data.
    padding: u64,
    done: bool,
}

fn other(msg: &'static str) -> TarError {
    TarError::Malformed(msg)
}

/// Up to the first NUL.
fn truncate(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

/// An octal or GNU base-256 number field.
fn number(field: &[u8]) -> Result<u64, TarError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return Err(other("negative base-256 number in a header"));
        }
        // Base-256: big-endian, the flag bit cleared; more than 8 significant bytes overflow.
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|x| x.checked_add(u64::from(b)))
                .ok_or(other("base-256 number in a header does not fit 64 bits"))?;
        }
        return Ok(v);
    }
    let t = truncate(field);
    let s = std::str::from_utf8(t).map_err(|_| other("numeric header field is not text"))?;
    u64::from_str_radix(s.trim_matches(|c: char| c == ' ' || c == '\0'), 8)
        .map_err(|_| other("numeric header field is not an octal number"))
}

fn fill<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn padding_of(n: u64) -> u64 {
    (BLOCK - n % BLOCK) % BLOCK
}

/// The values of a PAX extended header that matter here. Malformed records end the parse
/// (as other readers do, the rest is ignored).
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
}

fn parse_pax(data: &[u8]) -> Pax {
    let mut pax = Pax::default();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&c| c == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            break;
        }
        let record = &rest[sp + 1..len - 1];
        rest = &rest[len..];
        let Some(eq) = record.iter().position(|&c| c == b'=') else {
            continue;
        };
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        let num = || std::str::from_utf8(value).ok().and_then(|s| s.parse::<u64>().ok());
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"linkpath" => pax.linkpath = Some(value.to_vec()),
            b"size" => pax.size = num(),
            b"uid" => pax.uid = num(),
            b"gid" => pax.gid = num(),
            _ => {}
        }
    }
    pax
}

/// Parses the (offset, length) pairs of a sparse map area, 24 bytes each; empty slots end it.
fn sparse_pairs(area: &[u8], out: &mut Vec<(u64, u64)>) -> Result<(), TarError> {
    for slot in area.chunks_exact(24) {
        let (off, len) = slot.split_at(12);
        if off[0] == 0 && len[0] == 0 {
            continue;
        }
        out.push((number(off)?, number(len)?));
    }
    Ok(())
}

impl<S: Skip> TarReader<S> {
    /// A reader over `inner`.
    pub fn new(inner: S, limits: Limits) -> Self {
        Self {
            inner,
            limits,
            remaining: 0,
            padding: 0,
            done: false,
        }
    }

    /// The underlying stream.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Reads the current entry's data; 0 at its end.
    pub fn read_data(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.remaining -= n as u64;
        Ok(n)
    }

    /// Passes the next piece of the current entry's data to `f` (lent from the stream's
    /// buffer when it has one, else read into `scratch`); returns its length, 0 at the end of
    /// the data.
    pub fn data_with(&mut self, scratch: &mut [u8], f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let want = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.data_with(want, scratch, f)?;
        self.remaining -= n as u64;
        Ok(n)
    }

    /// Skips what is left of the current entry. Returns the data bytes that were missing
    /// (the stream ended inside the data), 0 normally.
    fn skip_current(&mut self) -> Result<u64, TarError> {
        let want = self.remaining;
        let got = self.inner.skip(want)?;
        self.remaining = 0;
        if got < want {
            self.padding = 0;
            return Ok(want - got);
        }
        let pad = self.padding;
        self.padding = 0;
        // Missing padding at the very end is tolerated (the next header read sees the end).
        self.inner.skip(pad)?;
        Ok(0)
    }

    /// Reads one 512-byte header block: `None` at the end of the stream or at a zero block.
    fn block(&mut self) -> Result<Option<[u8; 512]>, TarError> {
        let mut b = [0u8; 512];
        let n = fill(&mut self.inner, &mut b)?;
        if n == 0 {
            return Ok(None);
        }
        if n < b.len() {
            return Err(TarError::Eof("the stream ends inside a header block"));
        }
        if b.iter().all(|&c| c == 0) {
            return Ok(None);
        }
        let sum: u64 = b[..148].iter().chain(&b[156..]).map(|&c| u64::from(c)).sum::<u64>() + 8 * 32;
        if number(&b[148..156])? != sum {
            return Err(other("archive header checksum mismatch"));
        }
        Ok(Some(b))
    }

    /// Reads an extension record's data (capped).
    fn extension(&mut self, kind: &'static str, size: u64) -> Result<Vec<u8>, TarError> {
        if size > self.limits.max_extension_bytes {
            return Err(TarError::ExtensionTooLarge {
                kind,
                size,
                limit: self.limits.max_extension_bytes,
            });
        }
        let len = usize::try_from(size).map_err(|_| other("extension record size out of range"))?;
        let mut v = vec![0u8; len];
        if fill(&mut self.inner, &mut v)? < len {
            return Err(TarError::Eof("the stream ends inside an extension record"));
        }
        let pad = padding_of(size);
        if self.inner.skip(pad)? < pad {
            return Err(TarError::Eof("the stream ends inside an extension record"));
        }
        Ok(v)
    }

    /// The next entry's header, after skipping what is left of the current entry's data.
    /// `Err(TarError::Eof)` from a skip means the previous entry's data was cut short: the
    /// caller reports it against that entry ([`TarReader::next_header`] returns how many bytes
    /// were missing through [`Next::Truncated`]).
    pub fn next_header(&mut self) -> Result<Next, TarError> {
        if self.done {
            return Ok(Next::End);
        }
        let missing = self.skip_current()?;
        if missing > 0 {
            self.done = true;
            return Ok(Next::Truncated { missing });
        }
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax: Option<Pax> = None;
        loop {
            let Some(b) = self.block()? else {
                self.done = true;
                if long_name.is_some() || long_link.is_some() || pax.is_some() {
                    return Err(other(
                        "members found describing a future member but no future member found",
                    ));
                }
                return Ok(Next::End);
            };
            let ustar = &b[257..263] == b"ustar\0" && &b[263..265] == b"00";
            let gnu = &b[257..263] == b"ustar " && &b[263..265] == b" \0";
            let typeflag = b[156];
            let mut size = number(&b[124..136])?;
            let is_extension = matches!(typeflag, b'L' | b'K' | b'x' | b'g');
            if !is_extension && let Some(s) = pax.as_ref().and_then(|p| p.size) {
                size = s;
            }
            if (ustar || gnu) && matches!(typeflag, b'L' | b'K' | b'x') {
                let (kind, slot_taken) = match typeflag {
                    b'L' => ("GNU long name", long_name.is_some()),
                    b'K' => ("GNU long link", long_link.is_some()),
                    _ => ("PAX extended header", pax.is_some()),
                };
                if slot_taken {
                    return Err(other("two extension records describe the same member"));
                }
                let data = self.extension(kind, size)?;
                match typeflag {
                    b'L' => long_name = Some(strip_nul(data)),
                    b'K' => long_link = Some(strip_nul(data)),
                    _ => pax = Some(parse_pax(&data)),
                }
                continue;
            }
            let pax = pax.unwrap_or_default();
            let path = match (long_name, pax.path) {
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) => {
                    let name = truncate(&b[..100]);
                    let prefix = truncate(&b[345..500]);
                    if ustar && !prefix.is_empty() {
                        let mut p = prefix.to_vec();
                        p.push(b'/');
                        p.extend_from_slice(name);
                        p
                    } else {
                        name.to_vec()
                    }
                }
            };
            let link = match (long_link, pax.linkpath) {
                (Some(n), _) | (None, Some(n)) => Some(n),
                (None, None) => {
                    let l = truncate(&b[157..257]);
                    (!l.is_empty()).then(|| l.to_vec())
                }
            };
            let mut h = Header {
                path,
                link,
                typeflag,
                size,
                stored: size,
                mode: number(&b[100..108])
                    .ok()
                    .and_then(|m| u32::try_from(m).ok())
                    .unwrap_or(0),
                uid: pax.uid.or_else(|| number(&b[108..116]).ok()).unwrap_or(0),
                gid: pax.gid.or_else(|| number(&b[116..124]).ok()).unwrap_or(0),
                mtime: number(&b[136..148]).unwrap_or(0),
                sparse: None,
            };
            if typeflag == b'S' {
                if !gnu {
                    return Err(other("sparse entry type listed but not GNU header"));
                }
                self.sparse(&b, &mut h)?;
            }
            self.remaining = h.stored;
            self.padding = padding_of(h.stored);
            return Ok(Next::Entry(Box::new(h)));
        }
    }

    /// Reads a GNU sparse map (the header's four slots and any extension blocks) and checks
    /// it: chunks in order, not overlapping, their lengths summing to the stored size, the
    /// last ending at the real size.
    fn sparse(&mut self, b: &[u8; 512], h: &mut Header) -> Result<(), TarError> {
        let mut map = Vec::new();
        sparse_pairs(&b[386..482], &mut map)?;
        let mut extended = b[482] != 0;
        while extended {
            let mut ext = [0u8; 512];
            if fill(&mut self.inner, &mut ext)? < ext.len() {
                return Err(TarError::Eof("the stream ends inside a sparse map"));
            }
            sparse_pairs(&ext[..504], &mut map)?;
            extended = ext[504] != 0;
        }
        let real = number(&b[483..495])?;
        let mut end: u64 = 0;
        let mut data: u64 = 0;
        for &(off, len) in &map {
            if off < end {
                return Err(other("out of order or overlapping sparse blocks"));
            }
            end = off.checked_add(len).ok_or(other("sparse block ends past 2^64 bytes"))?;
            data = data
                .checked_add(len)
                .ok_or(other("sparse blocks hold more than 2^64 bytes"))?;
        }
        if data != h.stored {
            return Err(other("mismatch in sparse file chunks and entry size in header"));
        }
        if end != real {
            return Err(other("mismatch in sparse file chunks and size in header"));
        }
        h.size = real;
        h.sparse = Some(map);
        Ok(())
    }
}

fn strip_nul(mut v: Vec<u8>) -> Vec<u8> {
    if v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// What [`TarReader::next_header`] found.
#[derive(Debug)]
pub enum Next {
    /// Another entry.
    Entry(Box<Header>),
    /// The end of the archive (end of stream or a zero block).
    End,
    /// The stream ended inside the previous entry's data; this many bytes were missing.
    Truncated {
        /// Data bytes that were not there.
        missing: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(number(b"0000644\0").unwrap(), 0o644);
        assert_eq!(number(b"  12 \0\0\0").unwrap(), 0o12);
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[11] = 5;
        assert_eq!(number(&f).unwrap(), 5);
        f[1] = 1;
        assert!(number(&f).is_err(), "more than 64 bits");
        assert!(number(b"xyz\0").is_err());
    }

    #[test]
    fn pax_records() {
        let p = parse_pax(b"12 path=a/b\n11 size=42\n8 uid=7\nbad");
        assert_eq!(p.path.as_deref(), Some(&b"a/b"[..]));
        assert_eq!((p.size, p.uid), (Some(42), Some(7)));
    }
}
