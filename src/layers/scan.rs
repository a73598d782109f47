//! The tar walk: one layer's decompressed tar stream in, a [`LayerScan`] out.
//!
//! Owns: turning the headers [`super::tarstream`] reads into [`Entry`] values, hashing file
//! contents (xxh3-128) when asked, capturing the package databases, the per-entry limits
//! ([`MAX_PATH_BYTES`], [`MAX_IMPLICIT_PARENT_BYTES`], the capture limits, sparse holes), and
//! telling a truncated or corrupt tar apart from a good one.
//! Does not: decompress or verify digests (see `source::blob`), or look at other layers.
//!
//! Memory grows with the number of entries and the length of their names (each capped),
//! never with file sizes: file data is streamed through a fixed buffer, or hashed in place from
//! a buffered stream's own buffer ([`scan_buffered_counted`]), or skipped by seeking when
//! nothing needs it; sparse holes are counted, never read.

use std::collections::HashSet;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::sync::Arc;

use twox_hash::XxHash3_128;
use xxhash_rust::xxh3::xxh3_64;

use super::filetree::{Entry, EntryKind, LayerScan, ancestors, normalize, split_parent};
use super::packages;
use super::tarstream::{self, Buffered, Forward, Next, Seeking, Skip, TarError, TarReader};
use super::whiteout::{self, Whiteout};
use crate::limits::{self, Limit, LimitHit};

/// Longest entry path or link target accepted, in bytes: Linux's `PATH_MAX` (4096,
/// <https://man7.org/linux/man-pages/man3/realpath.3.html>). A runtime extracts a layer with
/// path-based system calls, which refuse longer names (`ENAMETOOLONG`), so no image that runs
/// holds one; refusing them keeps the per-entry work of the walk and the merge bounded.
pub const MAX_PATH_BYTES: usize = 4096;

/// Largest total of the path text of parent directories a layer implies without listing them
/// (16 MiB). Layers written by Docker and BuildKit list every directory; a tar that lists
/// only deep files makes the merge create each missing parent, whose paths would otherwise
/// grow with the square of the path depth.
pub const MAX_IMPLICIT_PARENT_BYTES: u64 = 16 << 20;

/// Largest package database file kept in memory by default (64 MiB).
pub const DEFAULT_CAPTURE_LIMIT: u64 = 64 << 20;

/// Largest total of package database bytes one layer keeps in memory by default (128 MiB).
pub const DEFAULT_CAPTURE_TOTAL_LIMIT: u64 = 128 << 20;

/// What to do with file data while walking.
#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// Hash every regular file's content (needed for metadata-only detection by content and
    /// for `--dedupe`). Without it file data is skipped.
    pub hash_content: bool,
    /// Largest package database file kept in memory (bigger ones are skipped with a warning).
    pub capture_limit: u64,
    /// Largest total of package database bytes kept for one layer (the rest is skipped with a
    /// warning).
    pub capture_total_limit: u64,
    /// Largest total of sparse-file holes (bytes a GNU sparse entry declares but does not
    /// store) accepted in one layer; holes are never read, but they count as content.
    pub max_hole_bytes: u64,
    /// Limits of the tar reader (extension record sizes).
    pub tar: tarstream::Limits,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            hash_content: true,
            capture_limit: DEFAULT_CAPTURE_LIMIT,
            capture_total_limit: DEFAULT_CAPTURE_TOTAL_LIMIT,
            max_hole_bytes: crate::source::blob::LayerReadOptions::DEFAULT_MAX_TAR_BYTES,
            tar: tarstream::Limits::default(),
        }
    }
}

/// What the walk measured beside the entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Bytes of sparse-file holes (declared, not stored): the caller holds the tar bytes plus
    /// these against the compression-bomb limits.
    pub hole_bytes: u64,
}

/// Why a layer's tar could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The stream ended inside an entry's data (a header size larger than the data).
    #[error("the tar stream ends inside the data of {path}: its header says {expected} bytes, only {actual} follow")]
    Truncated {
        /// The entry.
        path: String,
        /// Size from the header.
        expected: u64,
        /// Bytes that were there.
        actual: u64,
    },
    /// The tar structure is broken (bad header, bad checksum, early end while skipping).
    #[error("corrupt tar after {after}: {source}")]
    Corrupt {
        /// The last good entry (`the start` when none).
        after: String,
        /// What the tar reader said.
        #[source]
        source: io::Error,
    },
    /// Reading the underlying stream failed (decompression, digest, I/O).
    #[error("reading the layer stream at {at}: {source}")]
    Read {
        /// The entry being read.
        at: String,
        /// The error from the stream.
        #[source]
        source: io::Error,
    },
    /// A limit that keeps the walk's memory and time bounded was reached. The offending
    /// entry's name is not quoted (it may be megabytes long); the last good entry is.
    #[error("the tar entry after {after}: {what}")]
    Limit {
        /// The last good entry (`the start` when none).
        after: String,
        /// Which limit, with the figures.
        what: String,
        /// The docs/limits.md row, and its value as the docs write it (for `-v`).
        limit: Limit,
        /// The value in effect.
        value: String,
    },
}

/// One walk of a whole stream: what it found, what it measured, and its last entry.
fn walk_all<S: Skip>(
    tar: &mut TarReader<S>,
    opts: &ScanOptions,
) -> Result<(LayerScan, WalkStats, LastEntry), ScanError> {
    let mut out = LayerScan {
        hashed: opts.hash_content,
        ..LayerScan::default()
    };
    let mut last = LastEntry::default();
    let stats = walk(tar, opts, &mut out, &mut last)?;
    Ok((out, stats, last))
}

/// Walks a tar stream, reading (and discarding) file data that is not hashed.
pub fn scan<R: Read>(reader: &mut R, opts: &ScanOptions) -> Result<LayerScan, ScanError> {
    scan_counted(reader, opts).map(|(s, _)| s)
}

/// [`scan`], and what it measured beside the entries ([`WalkStats`]).
pub fn scan_counted<R: Read>(reader: &mut R, opts: &ScanOptions) -> Result<(LayerScan, WalkStats), ScanError> {
    let mut tar = TarReader::new(Forward(reader), opts.tar);
    walk_all(&mut tar, opts).map(|(out, stats, _)| (out, stats))
}

/// [`scan_counted`] over a buffered stream: file data is hashed (and package databases are
/// kept) straight from the stream's own buffer, never copied into the walk's.
pub fn scan_buffered_counted<R: BufRead>(
    reader: &mut R,
    opts: &ScanOptions,
) -> Result<(LayerScan, WalkStats), ScanError> {
    let mut tar = TarReader::new(Buffered(reader), opts.tar);
    walk_all(&mut tar, opts).map(|(out, stats, _)| (out, stats))
}

/// Walks a seekable tar stream: file data that is not needed is skipped with a seek (the
/// `--no-verify` fast path for uncompressed local layers).
///
/// A stream that cannot tell its end (a forward-only layer stream) skips the final check that
/// the last seek stayed inside the data; its caller compares positions instead.
pub fn scan_seek<R: Read + Seek>(reader: &mut R, opts: &ScanOptions) -> Result<LayerScan, ScanError> {
    scan_seek_counted(reader, opts).map(|(s, _)| s)
}

/// [`scan_seek`], and what it measured beside the entries ([`WalkStats`]).
pub fn scan_seek_counted<R: Read + Seek>(
    reader: &mut R,
    opts: &ScanOptions,
) -> Result<(LayerScan, WalkStats), ScanError> {
    let mut tar = TarReader::new(Seeking(reader), opts.tar);
    let (out, stats, last) = walk_all(&mut tar, opts)?;
    let inner = tar.into_inner().0;
    // A seek past the end succeeds and the next header read sees a clean end, so a header
    // size larger than the data is only visible here.
    let pos = inner.stream_position().map_err(|e| ScanError::Read {
        at: last.path.clone(),
        source: e,
    })?;
    let Ok(end) = inner.seek(SeekFrom::End(0)) else {
        return Ok((out, stats));
    };
    if pos > end && !last.path.is_empty() {
        let missing = pos - end;
        return Err(ScanError::Truncated {
            path: last.path,
            expected: last.size,
            actual: last.size.saturating_sub(missing),
        });
    }
    Ok((out, stats))
}

#[derive(Default)]
struct LastEntry {
    path: String,
    /// Data bytes stored for it.
    size: u64,
}

impl LastEntry {
    fn describe(&self) -> String {
        if self.path.is_empty() {
            "the start".to_string()
        } else {
            self.path.clone()
        }
    }
}

fn tar_error(e: TarError, last: &LastEntry) -> ScanError {
    match e {
        TarError::Io(source) => ScanError::Read {
            at: last.describe(),
            source,
        },
        TarError::ExtensionTooLarge { limit, .. } => ScanError::Limit {
            after: last.describe(),
            what: e.to_string(),
            limit: Limit::ExtensionRecord,
            value: limits::bytes(limit),
        },
        TarError::Malformed(_) | TarError::Eof(_) => ScanError::Corrupt {
            after: last.describe(),
            source: io::Error::other(e.to_string()),
        },
    }
}

/// Counts the parent directories of `path` that this layer has not listed or implied yet
/// (their hashes are kept in `seen`), and adds their path bytes to `implicit`.
fn imply_parents(path: &str, seen: &mut HashSet<u64>, implicit: &mut u64) {
    for anc in ancestors(path) {
        if !seen.insert(xxh3_64(anc.as_bytes())) {
            break;
        }
        *implicit = implicit.saturating_add(anc.len() as u64);
    }
    seen.insert(xxh3_64(path.as_bytes()));
}

#[allow(clippy::too_many_lines)]
fn walk<S: Skip>(
    tar: &mut TarReader<S>,
    opts: &ScanOptions,
    out: &mut LayerScan,
    last: &mut LastEntry,
) -> Result<WalkStats, ScanError> {
    let mut buf = vec![0u8; 128 * 1024];
    let mut stats = WalkStats::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut implicit: u64 = 0;
    let mut captured_total: u64 = 0;
    loop {
        let header = match tar.next_header().map_err(|e| tar_error(e, last))? {
            Next::End => break,
            Next::Truncated { missing } => {
                return Err(ScanError::Truncated {
                    path: last.path.clone(),
                    expected: last.size,
                    actual: last.size.saturating_sub(missing),
                });
            }
            Next::Entry(h) => h,
        };
        if matches!(header.typeflag, b'g' | b'x' | b'L' | b'K') {
            // Extension records a reader did not recognise (an old-style header): no file.
            continue;
        }
        let limit = |limit: Limit, value: u64, what: String| ScanError::Limit {
            after: last.describe(),
            what,
            limit,
            value: limits::bytes(value),
        };
        if header.path.len() > opts.tar.max_extension_bytes as usize {
            return Err(limit(
                Limit::ExtensionRecord,
                opts.tar.max_extension_bytes,
                format!("its name is {} bytes long", header.path.len()),
            ));
        }
        let raw = String::from_utf8_lossy(&header.path).into_owned();
        let (path, unsafe_name) = normalize(&raw);
        if path.len() > MAX_PATH_BYTES {
            return Err(limit(
                Limit::PathBytes,
                MAX_PATH_BYTES as u64,
                format!(
                    "its path is {} bytes long, over the {MAX_PATH_BYTES}-byte limit (Linux PATH_MAX: no runtime can extract it)",
                    path.len()
                ),
            ));
        }
        if path == "/" {
            continue;
        }
        if unsafe_name {
            out.warnings.push(format!(
                "tar entry {raw:?} is absolute or climbs out of the layer root; read as {path}"
            ));
        }
        imply_parents(&path, &mut seen, &mut implicit);
        if implicit > MAX_IMPLICIT_PARENT_BYTES {
            return Err(limit(
                Limit::ImpliedParents,
                MAX_IMPLICIT_PARENT_BYTES,
                format!(
                    "the layer implies more than {MAX_IMPLICIT_PARENT_BYTES} bytes of unlisted parent directory paths"
                ),
            ));
        }
        let hole = header.hole_bytes();
        stats.hole_bytes = stats.hole_bytes.saturating_add(hole);
        if stats.hole_bytes > opts.max_hole_bytes {
            return Err(limit(
                Limit::SparseHoles,
                opts.max_hole_bytes,
                format!(
                    "sparse files declare more than {} bytes of holes (counted against the layer size limit)",
                    opts.max_hole_bytes
                ),
            ));
        }
        let size = header.size;
        let (_, name) = split_parent(&path);
        let et = header.typeflag;
        let kind = match whiteout::classify(name) {
            Whiteout::Delete(_) => EntryKind::Whiteout,
            Whiteout::Opaque => EntryKind::Opaque,
            Whiteout::Meta => EntryKind::WhiteoutMeta,
            Whiteout::None => match et {
                b'5' => EntryKind::Dir,
                b'2' => EntryKind::Symlink,
                b'1' => EntryKind::HardLink,
                b'0' | b'\0' | b'7' | b'S' => EntryKind::File,
                _ => EntryKind::Other,
            },
        };
        let link_text = match kind {
            EntryKind::Symlink | EntryKind::HardLink => header.link.as_deref(),
            _ => None,
        };
        if let Some(l) = link_text
            && l.len() > MAX_PATH_BYTES
        {
            return Err(limit(
                Limit::PathBytes,
                MAX_PATH_BYTES as u64,
                format!(
                    "its link target is {} bytes long, over the {MAX_PATH_BYTES}-byte limit (Linux PATH_MAX)",
                    l.len()
                ),
            ));
        }
        let link: Option<Box<str>> = match kind {
            EntryKind::Symlink => link_text.map(|b| String::from_utf8_lossy(b).into()),
            EntryKind::HardLink => link_text.map(|b| normalize(&String::from_utf8_lossy(b)).0.into()),
            _ => None,
        };
        let sparse = header.sparse.is_some();
        let wanted = kind == EntryKind::File && packages::wants_capture(&path);
        let mut capture = wanted && !sparse;
        if capture && size > opts.capture_limit {
            out.warnings.push(format!(
                "package database {path} is {size} bytes, over the {} byte limit; packages from it are not listed",
                opts.capture_limit
            ));
            out.limit_hits.push(LimitHit::new(
                Limit::PackageDbFile,
                limits::bytes(opts.capture_limit),
                format!("{path} ({size} bytes) was not kept; packages from it are not listed"),
            ));
            capture = false;
        } else if capture && captured_total.saturating_add(size) > opts.capture_total_limit {
            out.warnings.push(format!(
                "package databases of this layer pass {} bytes at {path}; packages from it are not listed",
                opts.capture_total_limit
            ));
            out.limit_hits.push(LimitHit::new(
                Limit::PackageDbLayer,
                limits::bytes(opts.capture_total_limit),
                format!(
                    "{path} ({size} bytes) passed the layer's total and was not kept; packages from it are not listed"
                ),
            ));
            capture = false;
        } else if wanted && sparse {
            out.warnings.push(format!(
                "package database {path} is a sparse file; packages from it are not listed"
            ));
        }
        let mut hash = None;
        if kind == EntryKind::File && (opts.hash_content || capture) {
            let mut hasher = XxHash3_128::new();
            let mut kept = if capture {
                Vec::with_capacity(usize::try_from(size).unwrap_or(0))
            } else {
                Vec::new()
            };
            let mut got: u64 = 0;
            loop {
                let mut take = |chunk: &[u8]| {
                    hasher.write(chunk);
                    if capture {
                        kept.extend_from_slice(chunk);
                    }
                };
                let n = match tar.data_with(&mut buf, &mut take) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(ScanError::Read {
                            at: path.clone(),
                            source: e,
                        });
                    }
                };
                if n == 0 {
                    break;
                }
                got += n as u64;
            }
            if got != header.stored {
                return Err(ScanError::Truncated {
                    path,
                    expected: header.stored,
                    actual: got,
                });
            }
            if let Some(map) = &header.sparse {
                // Holes are not read: the map and the real size stand for them in the hash.
                hasher.write(b"\0imgopt sparse map\0");
                for (off, len) in map {
                    hasher.write(&off.to_le_bytes());
                    hasher.write(&len.to_le_bytes());
                }
                hasher.write(&size.to_le_bytes());
            }
            if opts.hash_content {
                hash = Some(hasher.finish_128());
            }
            if capture {
                captured_total = captured_total.saturating_add(size);
                out.captured.insert(path.clone(), kept);
            }
        }
        out.content_bytes = out.content_bytes.saturating_add(size);
        last.path.clone_from(&path);
        last.size = header.stored;
        out.entries.push(Entry {
            path: Arc::from(path),
            kind,
            size,
            mode: header.mode,
            uid: header.uid,
            gid: header.gid,
            mtime: header.mtime,
            link,
            hash,
        });
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic bytes that do not repeat in short cycles.
    fn sample(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[3]
            })
            .collect()
    }

    /// The content hash is XXH3-128 with the default secret and seed, whatever the chunks it is
    /// fed in: the values stored in layer caches stay valid.
    #[test]
    fn content_hash_is_xxh3_128_in_any_chunks() {
        for (i, len) in [0, 1, 3, 16, 17, 128, 129, 240, 241, 1024, 1025, 100_000, 1 << 20]
            .into_iter()
            .enumerate()
        {
            let data = sample(len, i as u64 + 1);
            let want = xxhash_rust::xxh3::xxh3_128(&data);
            for chunk in [1, 7, 64, 4096, 1 << 20] {
                let mut h = XxHash3_128::new();
                for piece in data.chunks(chunk) {
                    h.write(piece);
                }
                assert_eq!(h.finish_128(), want, "length {len}, chunks of {chunk}");
            }
        }
    }

    fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// A reader whose `fill_buf` hands out at most `step` bytes, so file data arrives in
    /// pieces that do not line up with tar blocks.
    struct Steps<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Steps<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.fill_buf()?.len().min(buf.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Steps<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.data[..self.step.min(self.data.len())])
        }
        fn consume(&mut self, amt: usize) {
            self.data = &self.data[amt..];
        }
    }

    /// Hashing from the stream's own buffer gives the same entries, hashes and limits as
    /// reading through the walk's buffer, and the hashes are those of the contents.
    #[test]
    fn buffered_walk_matches_the_copying_walk() {
        let files = [
            ("a/empty", Vec::new()),
            ("a/small", sample(700, 1)),
            ("b/big", sample(300_000, 2)),
            (
                "var/lib/dpkg/status",
                b"Package: x\nStatus: install ok installed\n".to_vec(),
            ),
        ];
        let bytes = tar_of(&files);
        let opts = ScanOptions::default();
        let (copied, _) = scan_counted(&mut &bytes[..], &opts).unwrap();
        for step in [1, 511, 512, 513, 64 * 1024, bytes.len()] {
            let (lent, _) = scan_buffered_counted(&mut Steps { data: &bytes, step }, &opts).unwrap();
            assert_eq!(lent.entries, copied.entries, "step {step}");
            assert_eq!(lent.captured, copied.captured, "step {step}");
        }
        for (path, data) in &files {
            let e = copied.entries.iter().find(|e| e.path.ends_with(path)).unwrap();
            assert_eq!(e.hash, Some(xxhash_rust::xxh3::xxh3_128(data)), "{path}");
        }
        assert_eq!(copied.captured.len(), 1);
    }

    /// A stream cut inside a file's data is reported as truncated on the buffered path too.
    #[test]
    fn buffered_walk_reports_truncation() {
        let bytes = tar_of(&[("f", sample(10_000, 3))]);
        let cut = &bytes[..512 + 4000];
        let err = scan_buffered_counted(&mut Steps { data: cut, step: 1000 }, &ScanOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ScanError::Truncated {
                    expected: 10_000,
                    actual: 4000,
                    ..
                }
            ),
            "{err}"
        );
    }
}
