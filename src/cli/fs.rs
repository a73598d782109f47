//! The file I/O every command shares: the one atomic writer (`-o FILE`, `check -o FORMAT=PATH`,
//! `--write`) and the one capped text reader (Dockerfiles, policies, plan files, manifests).
//!
//! Writing: a new or regular file is replaced atomically. The bytes go to a temporary file in
//! the same folder (created exclusively, so an existing file or link of that name is never
//! followed), are flushed to disk, take the original's permissions and are renamed over it; a
//! failure, or a run that ends before [`AtomicFile::commit`], leaves the original as it was and
//! no temporary file behind. A read-only file is refused. Anything that is not a regular file
//! (`/dev/null`, a FIFO) is written in place, never replaced by a regular file.
//!
//! Reading: a regular file only (a FIFO would block, a device may never end, a folder is a
//! mistake), or stdin, and never more than the caller's cap, so `/dev/zero` or an endless pipe
//! cannot fill the memory (docs/limits.md). Errors name the file and the cap, never its bytes.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, bail};

/// A file being written: [`AtomicFile::commit`] puts it in place; dropping it without a commit
/// leaves the target as it was.
pub struct AtomicFile {
    path: PathBuf,
    file: BufWriter<File>,
    /// The temporary file renamed over `path` on commit; `None` when writing in place.
    tmp: Option<PathBuf>,
    /// The replaced file's permissions, given to the new one.
    permissions: Option<Permissions>,
}

/// Makes temporary names unique within this process (two outputs may name the same file).
static NEXT_TMP: AtomicU32 = AtomicU32::new(0);

impl AtomicFile {
    /// Starts writing `path`. A read-only file is refused, naming it.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let shown = path.display();
        let permissions = match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("writing {shown}"))?;
                return Ok(Self {
                    path: path.to_path_buf(),
                    file: BufWriter::new(f),
                    tmp: None,
                    permissions: None,
                });
            }
            Ok(m) if m.permissions().readonly() => bail!("{shown} is read-only; it was left as it was"),
            Ok(m) => Some(m.permissions()),
            // Missing (or not visible to us): the rename below says what is wrong, if anything.
            Err(_) => None,
        };
        let name = path
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let (tmp, f) = loop {
            let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
            let tmp = path.with_file_name(format!(".{name}.imgopt-{}-{n}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let folder = path
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."));
                    bail!(
                        "cannot write {shown}: the folder {} does not exist (imgopt does not create folders)",
                        folder.display()
                    );
                }
                Err(e) => return Err(e).with_context(|| format!("writing {shown}")),
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::new(f),
            tmp: Some(tmp),
            permissions,
        })
    }

    /// Flushes the bytes to disk and renames them over the target.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let done = self.finish();
        if done.is_err()
            && let Some(tmp) = self.tmp.take()
        {
            let _ = std::fs::remove_file(tmp);
        }
        done.with_context(|| {
            let kept = if self.permissions.is_some() {
                "; the original was left as it was"
            } else {
                ""
            };
            format!("writing {}{kept}", self.path.display())
        })
    }

    fn finish(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let Some(tmp) = &self.tmp else { return Ok(()) };
        self.file.get_ref().sync_all()?;
        if let Some(p) = &self.permissions {
            std::fs::set_permissions(tmp, p.clone())?;
        }
        std::fs::rename(tmp, &self.path)?;
        self.tmp = None;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    /// An uncommitted file leaves no temporary file, and the target untouched.
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `bytes` over `path` atomically (see [`AtomicFile`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    f.commit()
}

/// Reads `what` (e.g. "the Dockerfile") from the regular file `path`, at most `cap` bytes;
/// `or_stdin` says whether the refusal of a pipe may suggest `-` (stdin) instead.
pub fn read_file(path: &Path, what: &str, cap: u64, or_stdin: bool) -> anyhow::Result<Vec<u8>> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("reading {what} {shown}"))?;
    if meta.is_dir() {
        bail!("{shown} is a directory; give the path of {what} inside it");
    }
    if !meta.is_file() {
        let hint = if or_stdin { ", or `-` for stdin" } else { "" };
        bail!("{shown} is not a regular file (a pipe, socket or device); give {what} as a file{hint}");
    }
    if meta.len() > cap {
        return Err(TooLarge {
            message: format!(
                "{shown} is {} bytes, larger than the {} limit for {what}",
                meta.len(),
                mib(cap)
            ),
            what: what.to_string(),
            cap,
        }
        .into());
    }
    let file = File::open(path).with_context(|| format!("reading {what} {shown}"))?;
    read_capped(file, &shown.to_string(), what, cap)
}

/// Reads `what` from `r` (stdin), at most `cap` bytes; `name` is how messages call it.
pub fn read_capped(r: impl Read, name: &str, what: &str, cap: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {what} {name}"))?;
    if bytes.len() as u64 > cap {
        return Err(TooLarge {
            message: format!("{name}: {what} is larger than the {} limit; stopped reading", mib(cap)),
            what: what.to_string(),
            cap,
        }
        .into());
    }
    Ok(bytes)
}

/// A text input over its size cap ([`read_file`], [`read_capped`]): `-v` names the limit.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TooLarge {
    message: String,
    /// What was read, as the caller named it (`the Dockerfile`, `the plan file`, `the policy`).
    what: String,
    cap: u64,
}

impl TooLarge {
    /// The docs/limits.md row: the callers name a Dockerfile, a plan file or one of its
    /// manifests, or a policy-like file (`the policy`, `the .dive-ci file`, `the --baseline report`).
    #[must_use]
    pub fn limit_hit(&self) -> crate::limits::LimitHit {
        use crate::limits::Limit;
        let limit = if self.what.contains("Dockerfile") {
            Limit::Dockerfile
        } else if self.what.contains("plan") || self.what.contains("manifest") {
            Limit::PlanFile
        } else {
            Limit::PolicyFile
        };
        crate::limits::LimitHit::new(limit, mib(self.cap), format!("{}: ended the run", self.what))
    }
}

/// `bytes` as text; the error names `name` and the offset of the first invalid byte, never bytes.
pub fn utf8(bytes: Vec<u8>, name: &str) -> anyhow::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// A cap in words: `64 MiB` (every cap is a whole number of MiB).
fn mib(cap: u64) -> String {
    format!("{} MiB", cap >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_keeps_permissions_and_refuses_read_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("Dockerfile");
        std::fs::write(&p, "FROM a\n").unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(0o600)).unwrap();
        write_atomically(&p, b"FROM b\n").expect("written");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "FROM b\n");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let mut perm = std::fs::metadata(&p).unwrap().permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(&p, perm).unwrap();
        let e = write_atomically(&p, b"FROM c\n").expect_err("read-only");
        assert!(e.to_string().contains("Dockerfile is read-only"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "FROM b\n");
        assert_eq!(names(dir.path()), ["Dockerfile"], "no temporary file left");
    }

    #[test]
    fn creates_new_files_and_leaves_nothing_when_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("out.json");
        write_atomically(&p, b"{}").expect("created");
        assert_eq!(std::fs::read(&p).unwrap(), b"{}");
        let mut f = AtomicFile::create(&p).expect("create");
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"{}",
            "an uncommitted write changes nothing"
        );
        assert_eq!(names(dir.path()), ["out.json"]);
        // Two writers of the same file at once do not share a temporary file.
        let mut a = AtomicFile::create(&p).unwrap();
        let mut b = AtomicFile::create(&p).unwrap();
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("no/such/out.json");
        let e = write_atomically(&p, b"x").expect_err("no folder");
        assert!(format!("{e:#}").contains("out.json"), "{e:#}");
    }

    #[test]
    fn non_regular_files_are_written_in_place() {
        write_atomically(Path::new("/dev/null"), b"gone").expect("written in place");
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    }

    #[test]
    fn reading_refuses_folders_devices_and_big_input() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = read_file(dir.path(), "the Dockerfile", 64 << 20, true).expect_err("a folder");
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = read_file(Path::new("/dev/zero"), "the Dockerfile", 64 << 20, true).expect_err("a device");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(e.to_string().ends_with("or `-` for stdin"), "{e}");
        let e = read_file(Path::new("/dev/zero"), "the manifest", 64 << 20, false).expect_err("a device");
        assert!(e.to_string().ends_with("give the manifest as a file"), "{e}");
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; (1 << 20) + 1]).unwrap();
        let e = read_file(&p, "the plan file", 1 << 20, true).expect_err("too big");
        assert!(
            e.to_string().contains("larger than the 1 MiB limit for the plan file"),
            "{e}"
        );
        let e = read_capped(io::repeat(0), "<stdin>", "the plan file", 1 << 20).expect_err("endless");
        assert!(
            e.to_string()
                .contains("<stdin>: the plan file is larger than the 1 MiB limit"),
            "{e}"
        );
        assert_eq!(read_file(&p, "x", 2 << 20, false).unwrap().len(), (1 << 20) + 1);
    }

    #[test]
    fn utf8_names_the_offset_not_the_bytes() {
        let e = utf8(b"ok\xffsecret".to_vec(), "plan.yaml").expect_err("not UTF-8");
        assert_eq!(e.to_string(), "plan.yaml: not UTF-8 text (invalid byte at offset 2)");
    }
}
