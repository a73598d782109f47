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

impl Store {
    /// A folder store.
    pub fn dir(path: &Path) -> Self {
        Store::Dir(path.to_path_buf())
    }

    /// Indexes a tar file's members (regular files; symlinks and hard links resolved to their
    /// targets' data).
    pub fn tar(path: &Path) -> Result<Self, Error> {
        let loc = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(loc.clone(), e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = BTreeMap::new();
        let mut links = Vec::new();
        let entries = archive.entries_with_seek().map_err(|e| Error::io(loc.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                Error::invalid(&loc, format!("not a readable tar file: {}", first_line(&e.to_string())))
            })?;
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
            Store::Dir(p) => p.join(rel).is_file(),
            Store::Tar { members, .. } => members.contains_key(rel),
        }
    }

    /// A reader over `rel` and its size, or `None` when absent.
    pub fn open(&self, rel: &str) -> Result<Option<Member>, Error> {
        let rel = safe_rel(rel, &self.root())?;
        match self {
            Store::Dir(root) => {
                let path = root.join(&rel);
                match File::open(&path) {
                    Ok(f) => {
                        let len = f
                            .metadata()
                            .map_err(|e| Error::io(path.display().to_string(), e))?
                            .len();
                        Ok(Some((Box::new(f), len)))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(path.display().to_string(), e)),
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

    /// Reads a whole (small) file, or `None` when absent; more than `max` bytes is an error.
    pub fn read(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>, Error> {
        let Some((r, len)) = self.open(rel)? else {
            return Ok(None);
        };
        let loc = self.location(rel);
        if len > max {
            return Err(Error::invalid(
                loc,
                format!("{len} bytes is more than the {max} allowed for this file"),
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

/// The first line of an error text, at most 120 characters: the tar reader quotes raw header
/// bytes in its errors, and a file that is not a tar (or a hostile one) must not pour its
/// contents onto the terminal.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(120).collect();
    if line.chars().count() > 120 || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod first_line_tests {
    use super::first_line;

    #[test]
    fn cuts_raw_bytes_out_of_tar_errors() {
        let raw = "numeric field was not a number: login\nsy when getting cksum for root:x:0:0";
        assert_eq!(first_line(raw), "numeric field was not a number: login…");
        assert_eq!(first_line("short"), "short");
        assert_eq!(first_line(&"x".repeat(200)).chars().count(), 121);
    }
}
