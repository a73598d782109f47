//! Reading `--manifests DIR|FILE|-` for `imgopt plan` and `imgopt report`: the texts of a
//! folder of Kubernetes manifests (walked in name order), one file, or rendered Helm output on
//! stdin, within the limits of docs/limits.md. What they mean is [`crate::plan::manifests`].
//!
//! Limits: at most [`MAX_FILES`] manifest files, [`MAX_TOTAL_BYTES`] in all, folders
//! [`MAX_DEPTH`] deep, [`MAX_ENTRIES`] entries looked at; each file a regular file of at most 32 MiB of UTF-8. Symbolic links are
//! followed only to files inside the folder (never to folders, so a walk cannot loop);
//! hidden entries (`.git`) are skipped; files that are not `*.yaml`, `*.yml` or `*.json` are
//! skipped with a `-v` note.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::fs;
use super::plan::{MAX_TEXT_BYTES, read_text_file};
use super::printer::Printer;
use super::verbose;

/// Most manifest files read from one folder.
pub const MAX_FILES: usize = 10_000;
/// Most bytes read from one folder, all files together.
pub const MAX_TOTAL_BYTES: u64 = 256 << 20;
/// Deepest folder nesting walked.
pub const MAX_DEPTH: usize = 32;
/// Most folder entries looked at (files of every kind and folders), so pointing the walk at a
/// huge tree ends quickly.
pub const MAX_ENTRIES: usize = 100_000;

fn is_manifest(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// The manifests' texts, each with the name errors give it (`<stdin>`, or its path).
pub fn load(src: &Path, printer: &Printer) -> anyhow::Result<Vec<(String, String)>> {
    if src.as_os_str() == "-" {
        let bytes = fs::read_capped(std::io::stdin().lock(), "<stdin>", "--manifests", MAX_TEXT_BYTES)?;
        let text = fs::utf8(bytes, "<stdin>")?;
        return Ok(vec![("<stdin>".to_string(), text)]);
    }
    let meta = std::fs::metadata(src).with_context(|| format!("--manifests {}", src.display()))?;
    if !meta.is_dir() {
        let text = read_text_file(src, "the manifest", false)?;
        return Ok(vec![(src.display().to_string(), text)]);
    }
    let root = std::fs::canonicalize(src).with_context(|| format!("--manifests {}", src.display()))?;
    let mut notes = Vec::new();
    let mut found: Vec<PathBuf> = Vec::new();
    let mut seen = 0usize;
    walk(src, &root, 0, &mut seen, &mut found, &mut notes)?;
    let mut out = Vec::with_capacity(found.len());
    let mut total: u64 = 0;
    for p in found {
        let text = read_text_file(&p, "the manifest", false)?;
        total = total.saturating_add(text.len() as u64);
        if total > MAX_TOTAL_BYTES {
            bail!(
                "the manifests under {} are larger than the {} MiB limit for all manifests together",
                src.display(),
                MAX_TOTAL_BYTES >> 20
            );
        }
        notes.push(format!(
            "read manifest {} ({})",
            p.display(),
            crate::units::ByteSize(text.len() as u64)
        ));
        out.push((p.display().to_string(), text));
    }
    verbose::print(printer, &notes);
    Ok(out)
}

fn walk(
    dir: &Path,
    root: &Path,
    depth: usize,
    seen: &mut usize,
    found: &mut Vec<PathBuf>,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    if depth > MAX_DEPTH {
        bail!(
            "{} is nested more than {MAX_DEPTH} folders deep under --manifests",
            dir.display()
        );
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading folder {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading folder {}", dir.display()))?;
    *seen += entries.len();
    if *seen > MAX_ENTRIES {
        bail!("more than {MAX_ENTRIES} files and folders under --manifests; point it at the folder of your manifests");
    }
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            notes.push(format!("skipped {} (hidden)", p.display()));
            continue;
        }
        let lmeta = std::fs::symlink_metadata(&p).with_context(|| format!("reading {}", p.display()))?;
        if lmeta.file_type().is_symlink() {
            match std::fs::canonicalize(&p) {
                Ok(real) if !real.starts_with(root) => {
                    notes.push(format!("skipped {} (a symbolic link out of the folder)", p.display()));
                    continue;
                }
                Ok(real) if real.is_dir() => {
                    notes.push(format!(
                        "skipped {} (a symbolic link to a folder is not followed)",
                        p.display()
                    ));
                    continue;
                }
                Ok(_) => {}
                Err(_) => {
                    notes.push(format!("skipped {} (a broken symbolic link)", p.display()));
                    continue;
                }
            }
        } else if lmeta.is_dir() {
            walk(&p, root, depth + 1, seen, found, notes)?;
            continue;
        }
        if !is_manifest(&p) {
            notes.push(format!("skipped {} (not *.yaml, *.yml or *.json)", p.display()));
            continue;
        }
        let meta = std::fs::metadata(&p).with_context(|| format!("reading {}", p.display()))?;
        if !meta.is_file() {
            bail!(
                "manifest {} is not a regular file (a FIFO, socket or device)",
                p.display()
            );
        }
        if found.len() == MAX_FILES {
            bail!("more than {MAX_FILES} manifest files under --manifests; point it at a smaller folder");
        }
        found.push(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_names() {
        assert!(is_manifest(Path::new("a/b.yaml")));
        assert!(is_manifest(Path::new("a/b.YML")));
        assert!(is_manifest(Path::new("b.json")));
        assert!(!is_manifest(Path::new("README.md")));
        assert!(!is_manifest(Path::new("Chart.lock")));
    }
}
