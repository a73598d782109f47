//! `--write`: replaces a Dockerfile atomically. The new text goes to a temporary file in the
//! same folder, is flushed to disk, takes the original's permissions and is renamed over it,
//! so a failure (a full disk, a read-only file or folder) leaves the original as it was.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is marked read-only.
    #[error("{0} is read-only; it was left as it was")]
    ReadOnly(PathBuf),
    /// Writing, flushing or renaming failed.
    #[error("writing {path}: {source}; the original was left as it was")]
    Io {
        /// The Dockerfile.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `text` over `path` atomically.
pub fn atomic(path: &Path, text: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::metadata(path).map_err(io)?;
    if meta.permissions().readonly() {
        return Err(Error::ReadOnly(path.to_path_buf()));
    }
    let name = path
        .file_name()
        .map_or_else(|| "Dockerfile".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.imgopt-rewrite-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::set_permissions(&tmp, meta.permissions())?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_refuses_read_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("Dockerfile");
        fs::write(&p, "FROM a\n").unwrap();
        atomic(&p, "FROM b\n").expect("written");
        assert_eq!(fs::read_to_string(&p).unwrap(), "FROM b\n");
        let mut perm = fs::metadata(&p).unwrap().permissions();
        perm.set_readonly(true);
        fs::set_permissions(&p, perm).unwrap();
        assert!(matches!(atomic(&p, "FROM c\n"), Err(Error::ReadOnly(_))));
        assert_eq!(fs::read_to_string(&p).unwrap(), "FROM b\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
