//! Where a local image's files live: a folder (OCI layout) or the members of a tar file
//! (oci-archive, docker-archive). Both hand out seekable readers over one file's bytes.
//!
//! Owns: path safety (a name from an image may never leave the folder or archive: no `..`,
//! no absolute names), the member index of a tar file (one pass over the headers, seeking past
//! the data), and bounded readers over a member's bytes. Does not: parse JSON or verify digests.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{Error, ReadSeek};

/// An open file or member and its size.
pub(crate) type Member = (Box<dyn ReadSeek + Send>, u64);

/// A file store: a folder or a tar file.
pub(crate) enum Store {
    /// Files under a folder.
    Dir(PathBuf),
    /// Members of a tar file: name -> (data offset, size).
    Tar {
        path: PathBuf,
        members: BTreeMap<String, (u64, u64)>,
    },
}

/// Checks that `rel` stays inside the store and returns it normalised (no `./`).
pub(crate) fn safe_rel(rel: &str, location: &str) -> Result<String, Error> {
    let trimmed = rel.trim_start_matches("./");
    let bad = trimmed.is_empty()
        || trimmed.starts_with('/')
        || trimmed.contains('\\')
        || trimmed.contains('\0')
        || trimmed.split('/').any(|c| c == "..");
    if bad {
        return Err(Error::invalid(
            location,
            format!("`{rel}` is not a path inside the image (it would escape it)"),
        ));
    }
    Ok(trimmed
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/"))
}

/// Checks that `path` is a regular file (symlinks followed) before anything opens it: a FIFO
/// would block the open or the read forever, and a device (`/dev/zero`) never ends. `label` is
/// what the user typed, for the message.
pub(crate) fn regular_file(path: &Path, label: &str) -> Result<(), Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotFound {
                reference: label.to_string(),
                message: "no such file".into(),
            });
        }
        Err(e) => return Err(Error::io(label, e)),
    };
    if meta.is_file() {
        return Ok(());
    }
    Err(Error::invalid(
        label,
        format!("is {}, not a regular file", kind_of(&meta)),
    ))
}

/// What a non-regular file is, for messages.
pub(crate) fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

impl Store {
    /// A folder store.
    pub fn dir(path: &Path) -> Self {
        Store::Dir(path.to_path_buf())
    }

    /// Indexes a tar file's members (regular files; symlinks and hard links resolved to their
    /// targets' data).
    pub fn tar(path: &Path) -> Result<Self, Error> {
        let loc = path.display().to_string();
        regular_file(path, &loc)?;
        let file = File::open(path).map_err(|e| Error::io(loc.clone(), e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = BTreeMap::new();
        let mut links = Vec::new();
        let entries = archive.entries_with_seek().map_err(|e| Error::io(loc.clone(), e))?;
        // Where the next header should start, for errors: the tar reader's own messages quote
        // the header's bytes, and this file may not be a tar at all (`/etc/shadow`), so an error
        // names the byte offset instead.
        let mut next_header = 0u64;
        for entry in entries {
            let entry = entry.map_err(|e| {
                let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                    "the file ends inside the tar header"
                } else {
                    "the tar header is damaged"
                };
                Error::invalid(
                    &loc,
                    format!("not a readable tar file: {what} at or after byte {next_header}"),
                )
            })?;
            next_header = entry
                .raw_file_position()
                .saturating_add(entry.size().div_ceil(512).saturating_mul(512));
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Ok(name) = safe_rel(&name, &loc) else { continue };
            let kind = entry.header().entry_type();
            if kind.is_file() {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            } else if (kind.is_symlink() || kind.is_hard_link())
                && let Some(target) = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
            {
                links.push((name, target, kind.is_symlink()));
            }
        }
        // Resolve links (docker save wrote `<id>/layer.tar -> ../<other>/layer.tar` for shared
        // layers); targets must stay inside the archive.
        for (name, target, symlink) in links {
            let joined = if symlink {
                let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                let mut parts: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
                let mut ok = true;
                for c in target.split('/') {
                    match c {
                        "" | "." => {}
                        ".." => ok &= parts.pop().is_some(),
                        c => parts.push(c),
                    }
                }
                if !ok || target.starts_with('/') {
                    continue;
                }
                parts.join("/")
            } else {
                match safe_rel(&target, &loc) {
                    Ok(t) => t,
                    Err(_) => continue,
                }
            };
            if let Some(m) = members.get(&joined).copied() {
                members.insert(name, m);
            }
        }
        Ok(Store::Tar {
            path: path.to_path_buf(),
            members,
        })
    }

    /// `path` or `archive!member` for messages.
    pub fn location(&self, rel: &str) -> String {
        match self {
            Store::Dir(p) => p.join(rel).display().to_string(),
            Store::Tar { path, .. } => format!("{}!{rel}", path.display()),
        }
    }

    /// The store itself, for messages.
    pub fn root(&self) -> String {
        match self {
            Store::Dir(p) | Store::Tar { path: p, .. } => p.display().to_string(),
        }
    }

    /// Whether `rel` exists.
    pub fn exists(&self, rel: &str) -> bool {
        match self {
            Store::Dir(p) => std::fs::metadata(p.join(rel)).is_ok_and(|m| m.is_file()),
            Store::Tar { members, .. } => members.contains_key(rel),
        }
    }

    /// A reader over `rel` and its size, or `None` when absent.
    pub fn open(&self, rel: &str) -> Result<Option<Member>, Error> {
        let rel = safe_rel(rel, &self.root())?;
        match self {
            Store::Dir(root) => {
                let path = root.join(&rel);
                let shown = path.display().to_string();
                // Checked before opening (opening a FIFO blocks) and again on the open file.
                match std::fs::metadata(&path) {
                    Ok(m) if !m.is_file() => {
                        return Err(Error::invalid(shown, format!("is {}, not a regular file", kind_of(&m))));
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(Error::io(shown, e)),
                }
                match File::open(&path) {
                    Ok(f) => {
                        let meta = f.metadata().map_err(|e| Error::io(shown.clone(), e))?;
                        if !meta.is_file() {
                            return Err(Error::invalid(
                                shown,
                                format!("is {}, not a regular file", kind_of(&meta)),
                            ));
                        }
                        Ok(Some((Box::new(f), meta.len())))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(shown, e)),
                }
            }
            Store::Tar { path, members } => {
                let Some(&(start, len)) = members.get(&rel) else {
                    return Ok(None);
                };
                let mut f = File::open(path).map_err(|e| Error::io(path.display().to_string(), e))?;
                f.seek(SeekFrom::Start(start))
                    .map_err(|e| Error::io(path.display().to_string(), e))?;
                Ok(Some((
                    Box::new(Section {
                        file: f,
                        start,
                        len,
                        pos: 0,
                    }),
                    len,
                )))
            }
        }
    }

    /// Reads a whole (small) file, or `None` when absent; more than `max` bytes is an error
    /// naming `limit` (the docs/limits.md row `max` is the value of).
    pub fn read(&self, rel: &str, max: u64, limit: crate::limits::Limit) -> Result<Option<Vec<u8>>, Error> {
        let Some((r, len)) = self.open(rel)? else {
            return Ok(None);
        };
        let loc = self.location(rel);
        if len > max {
            return Err(Error::over_limit(
                loc,
                format!("{len} bytes is more than the {max} allowed for this file"),
                limit,
                crate::limits::bytes(max),
            ));
        }
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        r.take(max + 1).read_to_end(&mut buf).map_err(|e| Error::io(loc, e))?;
        Ok(Some(buf))
    }
}

/// A window `[start, start + len)` of a file, seekable within it.
struct Section {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Section {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(x) => Some(x),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the member"))?;
        // Past the end reads nothing, as a file does; the member's length stays the end.
        self.file.seek(SeekFrom::Start(self.start + target.min(self.len)))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escaping_paths() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "a\\..\\b"] {
            assert!(safe_rel(bad, "t").is_err(), "{bad}");
        }
        assert_eq!(safe_rel("./blobs//sha256/ab", "t").unwrap(), "blobs/sha256/ab");
    }
}
