//! What every command that reads a Dockerfile shares: reading it (a path or `-` for stdin, a
//! regular file only, at most [`MAX_TEXT_BYTES`]), `--build-arg` parsing, and the one way a
//! parse error is shown (`file:line:col: message` with a snippet, exit 2).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;

use super::Rendered;
use super::fs;
use super::printer::Printer;
use crate::diag::{Diagnostic, Files};

/// The largest Dockerfile (or other text input) imgopt reads: far above any real file, and a
/// bound on what `/dev/zero` or an endless pipe can make it hold (docs/limits.md).
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// The name stdin has in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// A text file as read: its name (the path as given, `-` for stdin), its bytes, and its path
/// (`None` for stdin). The same value `imgopt analyze` takes, so nothing is copied field by field.
pub use crate::analyze::Input as TextInput;

/// Reads `what` (e.g. "the Dockerfile") from `path`, or from stdin for `-`. A folder, a FIFO,
/// a device or anything larger than [`MAX_TEXT_BYTES`] is refused with a message naming it
/// ([`super::fs::read_file`]).
pub fn read_text(path: &Path, what: &str) -> anyhow::Result<TextInput> {
    if path.as_os_str() == "-" {
        let bytes = fs::read_capped(std::io::stdin().lock(), STDIN_NAME, what, MAX_TEXT_BYTES)?;
        return Ok(TextInput {
            name: "-".to_string(),
            bytes,
            path: None,
        });
    }
    Ok(TextInput {
        name: path.display().to_string(),
        bytes: fs::read_file(path, what, MAX_TEXT_BYTES, true)?,
        path: Some(path.to_path_buf()),
    })
}

/// `--build-arg` values as `docker build` takes them: `K=V`, or `K` alone for the value of the
/// environment variable `K` (left out when `K` is not set, so the ARG keeps its default, as
/// docker does).
pub fn build_args(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in raw {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            Some(_) => bail!("--build-arg `{a}`: the name before `=` is empty"),
            None if a.is_empty() => bail!("--build-arg: empty; expected NAME=VALUE or NAME"),
            None => {
                if let Ok(v) = std::env::var(a) {
                    out.insert(a.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

/// The error for a Dockerfile BuildKit's parser rejects: a rendered diagnostic with the line,
/// column and a snippet, already complete (the caller returns it; exit 2).
#[must_use]
pub fn parse_error(input: &TextInput, err: &crate::dockerfile::Error, printer: &Printer) -> anyhow::Error {
    let mut files = Files::new();
    let id = files.add(
        input.shown().to_string(),
        crate::analyze::text_same_offsets(&input.bytes),
    );
    let label = if err.span.start() >= input.bytes.len() {
        "the file ends here"
    } else {
        "BuildKit's parser rejects this"
    };
    let diag = Diagnostic::error(format!(
        "{}:{}:{}: {}",
        input.shown(),
        err.line,
        err.column,
        err.message
    ))
    .with_code("parse")
    .with_primary(id, err.span.range(), label);
    let mut buf = Vec::new();
    let _ = crate::diag::render_human(&[diag], &files, printer.err_color, &mut buf);
    anyhow::Error::new(Rendered(String::from_utf8_lossy(&buf).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_as_docker_takes_them() {
        let raw = [
            "A=1".to_string(),
            "B=".to_string(),
            "IMGOPT_SURELY_UNSET_VAR".to_string(),
        ];
        let m = build_args(&raw).expect("valid");
        assert_eq!(m.get("A").map(String::as_str), Some("1"));
        assert_eq!(m.get("B").map(String::as_str), Some(""));
        assert!(!m.contains_key("IMGOPT_SURELY_UNSET_VAR"));
        assert!(build_args(&["=x".to_string()]).is_err());
        assert!(build_args(&[String::new()]).is_err());
    }

    #[test]
    fn folders_and_devices_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = read_text(dir.path(), "the Dockerfile").expect_err("a folder");
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = read_text(Path::new("/dev/zero"), "the Dockerfile").expect_err("a device");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
