//! The tar walk: one layer's decompressed tar stream in, a [`LayerScan`] out.
//!
//! Owns: reading tar headers (the `tar` crate handles ustar, GNU long names and PAX), turning
//! them into [`Entry`] values, hashing file contents (xxh3-128) when asked, capturing the
//! package databases, and telling a truncated or corrupt tar apart from a good one.
//! Does not: decompress or verify digests (see `source::blob`), or look at other layers.
//!
//! Memory grows with the number of entries, never with file sizes: file data is streamed
//! through a fixed buffer (or skipped by seeking when nothing needs it).

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3Default;

use super::filetree::{Entry, EntryKind, LayerScan, normalize, split_parent};
use super::packages;
use super::whiteout::{self, Whiteout};

/// What to do with file data while walking.
#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// Hash every regular file's content (needed for metadata-only detection by content and
    /// for `--dedupe`). Without it file data is skipped.
    pub hash_content: bool,
    /// Largest package database file kept in memory (bigger ones are skipped with a warning).
    pub capture_limit: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            hash_content: true,
            capture_limit: 64 * 1024 * 1024,
        }
    }
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
}

/// Walks a tar stream, reading (and discarding) file data that is not hashed.
pub fn scan<R: Read>(reader: &mut R, opts: &ScanOptions) -> Result<LayerScan, ScanError> {
    let mut archive = tar::Archive::new(reader);
    let mut out = LayerScan {
        hashed: opts.hash_content,
        ..LayerScan::default()
    };
    let mut last = LastEntry::default();
    let entries = archive.entries().map_err(|e| ScanError::Corrupt {
        after: "the start".into(),
        source: e,
    })?;
    walk(entries, opts, &mut out, &mut last)?;
    Ok(out)
}

/// Walks a seekable tar stream: file data that is not needed is skipped with a seek (the
/// `--no-verify` fast path for uncompressed local layers).
///
/// A stream that cannot tell its end (a forward-only layer stream) skips the final check that
/// the last seek stayed inside the data; its caller compares positions instead.
pub fn scan_seek<R: Read + Seek>(reader: &mut R, opts: &ScanOptions) -> Result<LayerScan, ScanError> {
    let mut archive = tar::Archive::new(reader);
    let mut out = LayerScan {
        hashed: opts.hash_content,
        ..LayerScan::default()
    };
    let mut last = LastEntry::default();
    let entries = archive.entries_with_seek().map_err(|e| ScanError::Corrupt {
        after: "the start".into(),
        source: e,
    })?;
    walk(entries, opts, &mut out, &mut last)?;
    let inner = archive.into_inner();
    // A seek past the end succeeds and the next header read sees a clean end, so a header
    // size larger than the data is only visible here.
    let pos = inner.stream_position().map_err(|e| ScanError::Read {
        at: last.path.clone(),
        source: e,
    })?;
    let Ok(end) = inner.seek(SeekFrom::End(0)) else {
        return Ok(out);
    };
    if pos > end && !last.path.is_empty() {
        let missing = pos - end;
        return Err(ScanError::Truncated {
            path: last.path,
            expected: last.size,
            actual: last.size.saturating_sub(missing),
        });
    }
    Ok(out)
}

#[derive(Default)]
struct LastEntry {
    path: String,
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

fn walk<R: Read>(
    entries: tar::Entries<'_, R>,
    opts: &ScanOptions,
    out: &mut LayerScan,
    last: &mut LastEntry,
) -> Result<(), ScanError> {
    let mut buf = vec![0u8; 128 * 1024];
    for item in entries {
        let mut entry = match item {
            Ok(e) => e,
            Err(e) => {
                // The tar crate skips unread data itself; running out there means the last
                // entry's header promised more bytes than the stream holds.
                if e.to_string().contains("unexpected EOF") && !last.path.is_empty() {
                    return Err(ScanError::Truncated {
                        path: last.path.clone(),
                        expected: last.size,
                        actual: 0,
                    });
                }
                return Err(ScanError::Corrupt {
                    after: last.describe(),
                    source: e,
                });
            }
        };
        let header = entry.header();
        let et = header.entry_type();
        if et.is_pax_global_extensions() || et.is_pax_local_extensions() || et.is_gnu_longname() || et.is_gnu_longlink()
        {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (path, unsafe_name) = normalize(&raw);
        if path == "/" {
            continue;
        }
        if unsafe_name {
            out.warnings.push(format!(
                "tar entry {raw:?} is absolute or climbs out of the layer root; read as {path}"
            ));
        }
        let size = entry.size();
        let mode = header.mode().unwrap_or(0);
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mtime = header.mtime().unwrap_or(0);
        let (_, name) = split_parent(&path);
        let kind = match whiteout::classify(name) {
            Whiteout::Delete(_) => EntryKind::Whiteout,
            Whiteout::Opaque => EntryKind::Opaque,
            Whiteout::Meta => EntryKind::WhiteoutMeta,
            Whiteout::None => {
                if et.is_dir() {
                    EntryKind::Dir
                } else if et.is_symlink() {
                    EntryKind::Symlink
                } else if et.is_hard_link() {
                    EntryKind::HardLink
                } else if et.is_file() || et.is_contiguous() || et.is_gnu_sparse() {
                    EntryKind::File
                } else {
                    EntryKind::Other
                }
            }
        };
        let link: Option<Box<str>> = match kind {
            EntryKind::Symlink => entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into()),
            EntryKind::HardLink => entry
                .link_name_bytes()
                .map(|b| normalize(&String::from_utf8_lossy(&b)).0.into()),
            _ => None,
        };
        let capture = kind == EntryKind::File && packages::wants_capture(&path);
        if capture && size > opts.capture_limit {
            out.warnings.push(format!(
                "package database {path} is {size} bytes, over the {} byte limit; packages from it are not listed",
                opts.capture_limit
            ));
        }
        let capture = capture && size <= opts.capture_limit;
        let mut hash = None;
        if kind == EntryKind::File && (opts.hash_content || capture) {
            let mut hasher = Xxh3Default::new();
            let mut kept = if capture {
                Vec::with_capacity(usize::try_from(size).unwrap_or(0))
            } else {
                Vec::new()
            };
            let mut got: u64 = 0;
            loop {
                let n = match entry.read(&mut buf) {
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
                hasher.update(&buf[..n]);
                if capture {
                    kept.extend_from_slice(&buf[..n]);
                }
                got += n as u64;
            }
            if got != size {
                return Err(ScanError::Truncated {
                    path,
                    expected: size,
                    actual: got,
                });
            }
            if opts.hash_content {
                hash = Some(hasher.digest128());
            }
            if capture {
                out.captured.insert(path.clone(), kept);
            }
        }
        out.content_bytes += size;
        last.path.clone_from(&path);
        last.size = size;
        out.entries.push(Entry {
            path: Arc::from(path),
            kind,
            size,
            mode,
            uid,
            gid,
            mtime,
            link,
            hash,
        });
    }
    Ok(())
}
