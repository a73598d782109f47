//! Running one builder command: a deadline, bounded captured output (the first lines and a
//! SHA-256 of stdout, the last lines of the log), and a kill of the whole process group when
//! the deadline passes. Nothing here knows which builder it runs.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::digest::{Digest, Sha256};

/// Lines of a failing step's log kept for the report.
pub const TAIL_LINES: usize = 40;
/// Lines of a program's stdout kept for the report.
pub const HEAD_LINES: usize = 5;
/// Longest line kept (longer ones are cut; the digest still covers every byte).
const MAX_LINE: usize = 400;

/// What a finished (or killed) command left.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The exit code; `None` when a signal ended it (or the deadline did).
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// The deadline passed and the process group was killed.
    pub timed_out: bool,
    /// How long it ran.
    pub elapsed: Duration,
    /// SHA-256 of every byte of stdout (only when stdout was kept apart from stderr).
    pub stdout_digest: Option<Digest>,
    /// Bytes of stdout (ditto).
    pub stdout_bytes: u64,
    /// The first [`HEAD_LINES`] lines of stdout (ditto).
    pub stdout_head: Vec<String>,
    /// The last [`TAIL_LINES`] lines of the log: stdout and stderr together for a merged
    /// command, stderr alone otherwise.
    pub tail: Vec<String>,
    /// The whole of stdout when it is short (at most 64 KiB; for ids the builder prints).
    pub stdout_small: Option<String>,
}

impl Finished {
    /// Exit code 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }
}

/// How the output is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// stdout and stderr into one log (build steps): only its tail is kept.
    Merged,
    /// stdout digested apart (a program's output under test); stderr's tail kept.
    Split,
}

/// Runs `cmd` with no stdin until it exits or `timeout` passes.
pub fn run(mut cmd: Command, capture: Capture, timeout: Duration) -> io::Result<Finished> {
    cmd.stdin(Stdio::null());
    // Its own process group, so a timeout ends everything it started.
    cmd.process_group(0);
    let start = Instant::now();
    let (mut child, out_handle, err_handle) = match capture {
        Capture::Merged => {
            let (reader, writer) = io::pipe()?;
            cmd.stdout(writer.try_clone()?).stderr(writer);
            let child = cmd.spawn()?;
            // The Command still holds the write ends; dropping it lets the reader see EOF.
            drop(cmd);
            let h = thread::spawn(move || Lines::collect(reader, false));
            (child, h, None)
        }
        Capture::Split => {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn()?;
            let out = child.stdout.take().ok_or_else(|| io::Error::other("no stdout pipe"))?;
            let err = child.stderr.take().ok_or_else(|| io::Error::other("no stderr pipe"))?;
            let ho = thread::spawn(move || Lines::collect(out, true));
            let he = thread::spawn(move || Lines::collect(err, false));
            (child, ho, Some(he))
        }
    };
    let (status, timed_out) = wait_until(&mut child, start + timeout)?;
    let out = out_handle.join().unwrap_or_default();
    let err = err_handle.map(|h| h.join().unwrap_or_default());
    let (stdout_digest, stdout_bytes, stdout_head, stdout_small, tail) = match err {
        None => (None, out.bytes, Vec::new(), out.small, out.tail.into()),
        Some(err) => (out.digest, out.bytes, out.head, out.small, err.tail.into()),
    };
    Ok(Finished {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        elapsed: start.elapsed(),
        stdout_digest,
        stdout_bytes,
        stdout_head,
        tail,
        stdout_small,
    })
}

fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<(Option<std::process::ExitStatus>, bool)> {
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok((Some(s), false));
        }
        if Instant::now() >= deadline {
            kill_group(child);
            let s = child.wait().ok();
            return Ok((s, true));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILL to the child's process group (it leads one: `process_group(0)`), then the child.
fn kill_group(child: &mut Child) {
    let pgid = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &pgid])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
}

#[derive(Default)]
struct Lines {
    digest: Option<Digest>,
    bytes: u64,
    head: Vec<String>,
    tail: VecDeque<String>,
    small: Option<String>,
}

impl Lines {
    /// Reads `r` to the end, keeping bounded parts of it.
    fn collect(r: impl Read, digest: bool) -> Lines {
        const SMALL: usize = 64 * 1024;
        let mut hasher = digest.then(Sha256::new);
        let mut lines = Lines::default();
        let mut small = Vec::new();
        let mut overflow = false;
        let mut br = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match br.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    lines.bytes += n as u64;
                    if let Some(h) = hasher.as_mut() {
                        h.update(&buf);
                    }
                    if !overflow {
                        if small.len() + n <= SMALL {
                            small.extend_from_slice(&buf);
                        } else {
                            overflow = true;
                            small = Vec::new();
                        }
                    }
                    let line = shown_line(&buf);
                    if lines.head.len() < HEAD_LINES {
                        lines.head.push(line.clone());
                    }
                    if lines.tail.len() == TAIL_LINES {
                        lines.tail.pop_front();
                    }
                    lines.tail.push_back(line);
                }
            }
        }
        lines.digest = hasher.map(Sha256::digest);
        if !overflow {
            lines.small = Some(String::from_utf8_lossy(&small).into_owned());
        }
        lines
    }
}

/// One line as shown: no line ending, carriage-return progress collapsed to its last part,
/// at most [`MAX_LINE`] characters.
fn shown_line(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(buf);
    let text = text.trim_end_matches(['\n', '\r']);
    let text = text.rsplit('\r').next().unwrap_or(text);
    if text.chars().count() > MAX_LINE {
        let cut: String = text.chars().take(MAX_LINE).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn split_digests_stdout_and_keeps_stderr_tail() {
        let f = run(
            sh("echo one; echo two; echo oops >&2; exit 3"),
            Capture::Split,
            Duration::from_secs(10),
        )
        .expect("runs");
        assert_eq!(f.code, Some(3));
        assert!(!f.success());
        assert_eq!(f.stdout_head, ["one", "two"]);
        assert_eq!(f.stdout_bytes, 8);
        assert_eq!(f.stdout_digest, Some(Digest::sha256_of(b"one\ntwo\n")));
        assert_eq!(f.tail, ["oops"]);
    }

    #[test]
    fn merged_keeps_only_the_last_lines() {
        let f = run(
            sh("i=0; while [ $i -lt 100 ]; do echo line $i; i=$((i+1)); done; echo err >&2"),
            Capture::Merged,
            Duration::from_secs(10),
        )
        .expect("runs");
        assert!(f.success());
        assert_eq!(f.tail.len(), TAIL_LINES);
        assert_eq!(f.tail.last().map(String::as_str), Some("err"));
        assert_eq!(f.tail[0], "line 61");
        assert!(f.stdout_digest.is_none());
    }

    #[test]
    fn a_deadline_kills_the_process_group() {
        let start = Instant::now();
        let f = run(
            sh("sleep 30 & sleep 30; echo never"),
            Capture::Split,
            Duration::from_millis(300),
        )
        .expect("runs");
        assert!(f.timed_out);
        assert!(!f.success());
        assert!(f.stdout_head.is_empty());
        // The background sleep held stdout open too: the group kill is what let this return.
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
