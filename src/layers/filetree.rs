//! Per-layer file entries and the paths they live at.
//!
//! Owns: [`Entry`] (one tar entry as imgopt keeps it: normalised path, kind, size, metadata,
//! content hash), [`LayerScan`] (everything one layer's tar says, independent of the layers
//! below it, so it can be cached by digest), path normalisation and the component order that
//! dive's tree walk uses. Does not: read tar bytes (see `scan`) or stack layers (see `merge`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::whiteout::{self, Whiteout};

/// What a tar entry is, as far as layer analysis cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file (tar types `0`, `\0`, `7`, GNU sparse `S`): its size is content.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier path (`link` holds the normalised target).
    HardLink,
    /// A device node or FIFO.
    Other,
    /// `.wh.<name>`: deletes `<name>` from the lower layers.
    Whiteout,
    /// `.wh..wh..opq`: the parent directory hides everything below it in the lower layers.
    Opaque,
    /// `.wh..wh.<other>`: aufs bookkeeping, not part of the filesystem.
    WhiteoutMeta,
}

impl EntryKind {
    /// Whether the entry is a whiteout marker of any sort (not a filesystem object).
    #[must_use]
    pub fn is_marker(self) -> bool {
        matches!(self, Self::Whiteout | Self::Opaque | Self::WhiteoutMeta)
    }

    /// The byte used in the cache file.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::File => 0,
            Self::Dir => 1,
            Self::Symlink => 2,
            Self::HardLink => 3,
            Self::Other => 4,
            Self::Whiteout => 5,
            Self::Opaque => 6,
            Self::WhiteoutMeta => 7,
        }
    }

    /// The inverse of [`EntryKind::code`].
    pub(crate) fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => Self::File,
            1 => Self::Dir,
            2 => Self::Symlink,
            3 => Self::HardLink,
            4 => Self::Other,
            5 => Self::Whiteout,
            6 => Self::Opaque,
            7 => Self::WhiteoutMeta,
            _ => return None,
        })
    }
}

/// One tar entry of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Absolute, normalised path (`/usr/bin/env`), as written in the tar: a whiteout keeps its
    /// `.wh.` name (`/app/.wh.build`); see [`Entry::target_owned`] for the path it deletes.
    pub path: Arc<str>,
    /// What the entry is.
    pub kind: EntryKind,
    /// The size field of the tar header: the content bytes this entry stores.
    pub size: u64,
    /// Permission bits and file type bits as stored.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Symlink target as written, or the normalised absolute path a hard link points to.
    pub link: Option<Box<str>>,
    /// xxh3-128 of the content, when the content was read (regular files only).
    pub hash: Option<u128>,
}

impl Entry {
    /// The path a whiteout deletes, the opaque directory, or the entry's own path.
    #[must_use]
    pub fn target_owned(&self) -> String {
        let (dir, name) = split_parent(&self.path);
        match whiteout::classify(name) {
            Whiteout::Delete(rest) => join(dir, rest),
            Whiteout::Opaque => {
                if dir.is_empty() {
                    "/".to_string()
                } else {
                    dir.to_string()
                }
            }
            _ => self.path.to_string(),
        }
    }
}

/// Everything one layer's tar says, independent of the layers below it (so it is cached by
/// the layer's digest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerScan {
    /// Entries in tar order (the root entry `/` is skipped, as dive and tarfile do).
    pub entries: Vec<Entry>,
    /// Sum of the size fields of all entries: dive's layer size.
    pub content_bytes: u64,
    /// Whether regular files' contents were hashed (`false` when file data was skipped).
    pub hashed: bool,
    /// Package databases captured for [`super::packages`]: path to bytes.
    pub captured: BTreeMap<String, Vec<u8>>,
    /// Things that were odd but safely handled (escaping paths and the like).
    pub warnings: Vec<String>,
    /// Limits the walk reached without failing (a package database not kept), for `--verbose`.
    pub limit_hits: Vec<crate::limits::LimitHit>,
}

/// Normalises a tar entry name to an absolute path: `./a//b/` becomes `/a/b`, `.` parts go,
/// `..` pops a component. Returns the path and whether the name was unsafe (absolute, or a
/// `..` that would climb above the layer root, which is clamped there, as
/// `posixpath.normpath("/" + name)` does in `layer-waste.py`).
#[must_use]
pub fn normalize(raw: &str) -> (String, bool) {
    let mut parts: Vec<&str> = Vec::new();
    let mut unsafe_name = raw.starts_with('/');
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    unsafe_name = true;
                }
            }
            p => parts.push(p),
        }
    }
    let mut out = String::with_capacity(raw.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    (out, unsafe_name)
}

/// Splits `/a/b/c` into (`/a/b`, `c`); `/c` into (``, `c`).
#[must_use]
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// Joins a directory (``, `/a`) and a name.
#[must_use]
pub fn join(dir: &str, name: &str) -> String {
    let mut s = String::with_capacity(dir.len() + 1 + name.len());
    s.push_str(dir);
    s.push('/');
    s.push_str(name);
    s
}

/// Sums sizes read from an image without wrapping: a sum that would pass `u64::MAX` stays
/// there (two sparse entries of 2^63 bytes must not add up to a small number).
pub fn saturating_sum(it: impl IntoIterator<Item = u64>) -> u64 {
    it.into_iter().fold(0, u64::saturating_add)
}

/// Orders paths component by component (`/a/b` before `/a/b/c` before `/a/b-c`), which is the
/// order of a depth-first walk that visits children sorted by name, as dive's tree does.
#[must_use]
pub fn component_cmp(a: &str, b: &str) -> Ordering {
    let map = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(map).cmp(b.bytes().map(map))
}

/// Whether `path` is strictly below `dir` (`/a/b` is below `/a`, `/ab` is not).
#[must_use]
pub fn is_below(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return path.len() > 1;
    }
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// The ancestors of `path`, nearest first (`/a/b/c` gives `/a/b`, `/a`).
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut cur = path;
    std::iter::from_fn(move || {
        let i = cur.rfind('/')?;
        if i == 0 {
            return None;
        }
        cur = &cur[..i];
        Some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_normpath() {
        assert_eq!(normalize("./usr/bin/"), ("/usr/bin".into(), false));
        assert_eq!(normalize("usr//lib/./x"), ("/usr/lib/x".into(), false));
        assert_eq!(normalize("a/b/../c"), ("/a/c".into(), false));
        assert_eq!(normalize("../../etc/passwd"), ("/etc/passwd".into(), true));
        assert_eq!(normalize("/etc/shadow"), ("/etc/shadow".into(), true));
        assert_eq!(normalize("./"), ("/".into(), false));
    }

    #[test]
    fn orders_by_component() {
        let mut v = vec!["/a/b-c", "/a/b/c", "/a/b", "/a", "/a.b"];
        v.sort_by(|a, b| component_cmp(a, b));
        assert_eq!(v, ["/a", "/a/b", "/a/b/c", "/a/b-c", "/a.b"]);
    }

    #[test]
    fn below_and_ancestors() {
        assert!(is_below("/a/b", "/a"));
        assert!(!is_below("/ab", "/a"));
        assert!(!is_below("/a", "/a"));
        assert!(is_below("/a", "/"));
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), ["/a/b", "/a"]);
        assert_eq!(ancestors("/a").count(), 0);
    }

    #[test]
    fn whiteout_targets() {
        let mut e = Entry {
            path: "/app/.wh.build".into(),
            kind: EntryKind::Whiteout,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            hash: None,
        };
        assert_eq!(e.target_owned(), "/app/build");
        e.path = "/app/.wh..wh..opq".into();
        assert_eq!(e.target_owned(), "/app");
        e.path = "/.wh.tmp".into();
        assert_eq!(e.target_owned(), "/tmp");
    }
}
