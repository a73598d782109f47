//! The build context: the files `docker build` sends, after `.dockerignore`.
//!
//! Owns: walking the context directory (never following symlinks, so nothing outside the
//! context is read or counted), applying `.dockerignore` / `<Dockerfile>.dockerignore` with
//! BuildKit's semantics ([`dockerignore`]), matching `COPY`/`ADD` sources against the files,
//! and spotting entries that look accidental (`.git`, `node_modules`, `target/`,
//! `__pycache__`, `*.log`, `.env`).
//! Does not: read file contents (except small manifests through [`BuildContext::read_small`]),
//! or decide findings (the rules do).

pub mod dockerignore;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::units::ByteSize;

pub use dockerignore::IgnoreFile;

/// At most this many files are walked; beyond it the context report says `truncated`.
pub const MAX_FILES: usize = 200_000;

/// Largest `.dockerignore` read, in bytes (1 MiB; real ones are a few hundred bytes).
pub const MAX_IGNORE_FILE_BYTES: u64 = 1 << 20;

/// Reading the build context failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The context directory cannot be read.
    #[error("reading build context {path}")]
    Read {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The context is not a directory.
    #[error("build context {path} is not a directory")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The ignore file exists but cannot be read (permissions, I/O).
    #[error("reading the ignore file {path}")]
    IgnoreFile {
        /// The ignore file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The ignore file is a symbolic link, which is never followed.
    #[error(
        "the ignore file {path} is a symbolic link; imgopt never follows symlinks in a build context, \
         so it is not read (replace the link with the file it points to)"
    )]
    IgnoreFileSymlink {
        /// The ignore file.
        path: PathBuf,
    },
    /// The ignore file is not a regular file (a FIFO, a device, a directory).
    #[error("the ignore file {path} is not a regular file (a FIFO, device or directory), so it is not read")]
    IgnoreFileNotRegular {
        /// The ignore file.
        path: PathBuf,
    },
    /// The ignore file is larger than [`MAX_IGNORE_FILE_BYTES`].
    #[error("the ignore file {path} is larger than {limit} bytes")]
    IgnoreFileTooLarge {
        /// The ignore file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
}

impl Error {
    /// The limit of docs/limits.md this error is, if it is one (for `-v`).
    #[must_use]
    pub fn limit_hit(&self) -> Option<crate::limits::LimitHit> {
        match self {
            Error::IgnoreFileTooLarge { path, limit } => Some(crate::limits::LimitHit::new(
                crate::limits::Limit::Dockerignore,
                crate::limits::bytes(*limit),
                format!("{}: ended the run", path.display()),
            )),
            _ => None,
        }
    }
}

/// Reads an ignore file: `Ok(None)` when there is none; an error when it exists but is not a
/// regular file, is a symlink, is too large or cannot be read (it is never silently treated
/// as absent, since that would send everything it excludes).
fn read_ignore_file(path: &Path) -> Result<Option<String>, Error> {
    use std::io::Read as _;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::IgnoreFile {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.file_type().is_symlink() {
        return Err(Error::IgnoreFileSymlink {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_file() {
        // Checked before opening: opening a FIFO for reading blocks until a writer comes.
        return Err(Error::IgnoreFileNotRegular {
            path: path.to_path_buf(),
        });
    }
    let io_err = |source| Error::IgnoreFile {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io_err)?;
    // The file may have been swapped since the check: look at what was opened.
    if !file.metadata().map_err(io_err)?.is_file() {
        return Err(Error::IgnoreFileNotRegular {
            path: path.to_path_buf(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_IGNORE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_IGNORE_FILE_BYTES {
        return Err(Error::IgnoreFileTooLarge {
            path: path.to_path_buf(),
            limit: MAX_IGNORE_FILE_BYTES,
        });
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// A file in the context (after ignores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Path relative to the context root, `/`-separated.
    pub path: String,
    /// Size in bytes (a symlink counts as the link itself).
    pub bytes: ByteSize,
}

/// An entry that looks accidental.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Accidental {
    /// Path relative to the context root (a directory or a file).
    pub path: String,
    /// Why it looks accidental (`vcs`, `dependencies`, `build-output`, `bytecode`, `log`, `secrets`).
    pub kind: &'static str,
    /// Bytes under it that are sent with the context.
    pub bytes: ByteSize,
    /// Files under it.
    pub files: usize,
}

/// The build context after `.dockerignore`.
#[derive(Clone, Debug, Default)]
pub struct BuildContext {
    /// Root directory, as given.
    pub root: PathBuf,
    /// The ignore file used, if any (path relative to where it was found).
    pub ignore_file: Option<PathBuf>,
    /// Parsed patterns.
    pub ignore: IgnoreFile,
    /// Files sent, sorted by path.
    pub entries: Vec<Entry>,
    /// Entries left out by `.dockerignore`: excluded files, plus excluded directories that
    /// were not descended into (each counts once).
    pub ignored_entries: usize,
    /// Whether the walk stopped at [`MAX_FILES`].
    pub truncated: bool,
}

impl BuildContext {
    /// Reads the context at `root`. `dockerfile` (when on disk) selects
    /// `<Dockerfile>.dockerignore` next to it, which BuildKit prefers over `root/.dockerignore`.
    pub fn read(root: &Path, dockerfile: Option<&Path>) -> Result<Self, Error> {
        let meta = fs::metadata(root).map_err(|source| Error::Read {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(Error::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        let specific = dockerfile.and_then(|d| {
            let name = d.file_name()?.to_string_lossy().to_string();
            Some(d.with_file_name(format!("{name}.dockerignore")))
        });
        let candidates = specific.into_iter().chain(std::iter::once(root.join(".dockerignore")));
        let mut ignore_file = None;
        let mut ignore = IgnoreFile::default();
        for c in candidates {
            if let Some(text) = read_ignore_file(&c)? {
                ignore = IgnoreFile::parse(&text);
                ignore_file = Some(c);
                break;
            }
        }
        let mut ctx = Self {
            root: root.to_path_buf(),
            ignore_file,
            ignore,
            ..Self::default()
        };
        ctx.walk(root, "")?;
        ctx.entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(ctx)
    }

    fn walk(&mut self, dir: &Path, rel: &str) -> Result<(), Error> {
        let rd = fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut children: Vec<(String, PathBuf)> = rd
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
            .collect();
        children.sort();
        for (name, path) in children {
            if self.entries.len() >= MAX_FILES {
                self.truncated = true;
                return Ok(());
            }
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // symlink_metadata: never follow a link (it may point outside the context).
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let excluded = self.ignore.is_excluded(&child_rel);
            if meta.is_dir() {
                if excluded && !self.ignore.may_reinclude_below(&child_rel) {
                    // Pruned without descending (as BuildKit does): counted as one entry.
                    self.ignored_entries += 1;
                    continue;
                }
                // Unreadable subdirectories are skipped rather than failing the analysis.
                let _ = self.walk(&path, &child_rel);
            } else if excluded {
                self.ignored_entries += 1;
            } else {
                self.entries.push(Entry {
                    path: child_rel,
                    bytes: ByteSize(meta.len()),
                });
            }
        }
        Ok(())
    }

    /// The text of a small file (at most 1 MiB) of the context, when it is sent (not ignored)
    /// and is a regular file inside the context.
    #[must_use]
    pub fn read_small(&self, rel: &str) -> Option<String> {
        let e = self.entries.iter().find(|e| e.path == rel)?;
        if e.bytes.0 > 1024 * 1024 {
            return None;
        }
        let p = self.root.join(rel);
        // symlink_metadata: a link is never followed out of the context.
        if !fs::symlink_metadata(&p).ok()?.is_file() {
            return None;
        }
        fs::read_to_string(p).ok()
    }

    /// Total bytes sent.
    #[must_use]
    pub fn total_bytes(&self) -> ByteSize {
        ByteSize(self.entries.iter().map(|e| e.bytes.0).fold(0, u64::saturating_add))
    }

    /// Files a `COPY`/`ADD` source (relative to the context, may contain globs) selects.
    #[must_use]
    pub fn matching(&self, source: &str) -> Vec<&Entry> {
        let c = dockerignore::clean(source.trim_start_matches('/'));
        if c == "." || c == "*" {
            return self.entries.iter().collect();
        }
        let pat: Vec<&str> = c.split('/').collect();
        self.entries
            .iter()
            .filter(|e| {
                let parts: Vec<&str> = e.path.split('/').collect();
                parts.len() >= pat.len()
                    && pat
                        .iter()
                        .zip(&parts)
                        .all(|(p, s)| dockerignore::glob(p.as_bytes(), s.as_bytes()))
            })
            .collect()
    }

    /// Entries that look accidental, largest first.
    #[must_use]
    pub fn accidental(&self) -> Vec<Accidental> {
        let mut found: std::collections::BTreeMap<String, Accidental> = std::collections::BTreeMap::new();
        for e in &self.entries {
            let parts: Vec<&str> = e.path.split('/').collect();
            let mut hit: Option<(String, &'static str)> = None;
            for (k, p) in parts.iter().enumerate() {
                let is_dir = k + 1 < parts.len();
                let kind = match *p {
                    ".git" | ".hg" | ".svn" if is_dir => Some("vcs"),
                    "node_modules" if is_dir => Some("dependencies"),
                    ".venv" | "venv" if is_dir => Some("dependencies"),
                    "target" if is_dir && k == 0 => Some("build-output"),
                    "__pycache__" if is_dir => Some("bytecode"),
                    _ if !is_dir && p.ends_with(".log") => Some("log"),
                    ".env" if !is_dir => Some("secrets"),
                    _ => None,
                };
                if let Some(kind) = kind {
                    hit = Some((parts[..=k].join("/"), kind));
                    break;
                }
            }
            if let Some((path, kind)) = hit {
                // Group bytecode and logs by kind per top-level folder to keep the list short.
                let key = if matches!(kind, "bytecode" | "log") {
                    format!("{kind}:{}", parts[0])
                } else {
                    path.clone()
                };
                let a = found.entry(key).or_insert(Accidental {
                    path,
                    kind,
                    bytes: ByteSize(0),
                    files: 0,
                });
                a.bytes.0 = a.bytes.0.saturating_add(e.bytes.0);
                a.files += 1;
            }
        }
        let mut v: Vec<Accidental> = found.into_values().collect();
        for a in &mut v {
            if a.files > 1 && matches!(a.kind, "bytecode" | "log") {
                a.path = match a.kind {
                    "bytecode" => {
                        format!("{}/**/__pycache__", a.path.split('/').next().unwrap_or(""))
                    }
                    _ => format!("{}/**/*.log", a.path.split('/').next().unwrap_or("")),
                };
            }
        }
        v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_applies_ignores_and_never_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ctx");
        fs::create_dir_all(root.join("src")).unwrap();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::create_dir_all(root.join("node_modules/x")).unwrap();
        fs::write(root.join("src/main.py"), "print(1)\n").unwrap();
        fs::write(root.join(".git/objects/a"), vec![0u8; 1000]).unwrap();
        fs::write(root.join("node_modules/x/i.js"), vec![0u8; 300]).unwrap();
        fs::write(root.join("app.log"), vec![0u8; 50]).unwrap();
        fs::write(root.join(".dockerignore"), "node_modules\n").unwrap();
        // A big file outside the context, linked from inside.
        fs::write(dir.path().join("outside.bin"), vec![0u8; 100_000]).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        let ctx = BuildContext::read(&root, None).unwrap();
        let paths: Vec<&str> = ctx.entries.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"src/main.py"));
        assert!(!paths.iter().any(|p| p.starts_with("node_modules")));
        assert!(ctx.total_bytes().0 < 100_000, "the symlinked parent was not followed");
        assert_eq!(ctx.ignored_entries, 1);
        let acc = ctx.accidental();
        assert_eq!(acc[0].path, ".git");
        assert_eq!(acc[0].bytes, ByteSize(1000));
        assert!(acc.iter().any(|a| a.path == "app.log" && a.kind == "log"));
        assert_eq!(ctx.matching("src").len(), 1);
        assert_eq!(ctx.matching("*.log").len(), 1);
        assert_eq!(ctx.matching(".").len(), ctx.entries.len());
    }

    fn context_with_ignore(make: impl FnOnce(&Path)) -> (tempfile::TempDir, Result<BuildContext, Error>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ctx");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("secret.key"), "k").unwrap();
        make(&root);
        let r = BuildContext::read(&root, None);
        (dir, r)
    }

    #[cfg(unix)]
    #[test]
    fn an_ignore_file_that_is_a_symlink_is_an_error_and_is_not_read() {
        let (_d, r) = context_with_ignore(|root| {
            fs::write(root.join("../outside"), "secret.key\n").unwrap();
            std::os::unix::fs::symlink("../outside", root.join(".dockerignore")).unwrap();
        });
        let err = r.unwrap_err();
        assert!(matches!(err, Error::IgnoreFileSymlink { .. }), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn an_ignore_file_that_is_a_fifo_is_an_error_not_a_hang() {
        let (_d, r) = context_with_ignore(|root| {
            let ok = std::process::Command::new("mkfifo")
                .arg(root.join(".dockerignore"))
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "mkfifo");
        });
        assert!(matches!(r, Err(Error::IgnoreFileNotRegular { .. })), "{r:?}");
    }

    #[test]
    fn an_ignore_file_that_cannot_be_read_as_a_file_is_an_error_not_absent() {
        let (_d, r) = context_with_ignore(|root| fs::create_dir(root.join(".dockerignore")).unwrap());
        assert!(matches!(r, Err(Error::IgnoreFileNotRegular { .. })), "{r:?}");
        let (_d, r) = context_with_ignore(|root| {
            fs::write(
                root.join(".dockerignore"),
                vec![b'#'; (MAX_IGNORE_FILE_BYTES + 1) as usize],
            )
            .unwrap();
        });
        assert!(matches!(r, Err(Error::IgnoreFileTooLarge { .. })), "{r:?}");
        // Not UTF-8 is still read (it used to count as no ignore file at all).
        let (_d, r) = context_with_ignore(|root| fs::write(root.join(".dockerignore"), b"\xff\nsecret.key\n").unwrap());
        let ctx = r.unwrap();
        assert!(ctx.entries.iter().all(|e| e.path != "secret.key"));
    }
}
