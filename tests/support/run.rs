//! The one way the integration tests run the `imgopt` binary: [`imgopt()`] gives a builder
//! with the environment cleaned (no colour, no credentials file from the developer's shell),
//! stdin closed unless given, both pipes drained on threads (a chatty child never blocks), and
//! optionally a deadline and an address-space limit for hostile inputs.
//!
//! ```ignore
//! let out = support::imgopt().args(["parse", "-"]).stdin("FROM a\n").run();
//! assert_eq!(out.code, Some(0), "{}", out.err());
//! ```
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A run of the imgopt binary being set up; [`Imgopt::run`] starts it and waits.
#[must_use]
pub struct Imgopt {
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
    stdin: Input,
    deadline: Option<Duration>,
    max_address_space: Option<u64>,
    close_stdout: bool,
}

enum Input {
    Closed,
    Bytes(Vec<u8>),
    From(Stdio),
}

/// How a run ended and what it printed.
pub struct Run {
    /// The exit status.
    pub status: ExitStatus,
    /// The exit code (`None`: killed, by the deadline or a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Whether the deadline killed it.
    pub timed_out: bool,
}

impl Run {
    /// stdout as text (lossy).
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The imgopt binary, ready to be given arguments.
pub fn imgopt() -> Imgopt {
    Imgopt {
        args: Vec::new(),
        envs: vec![
            ("NO_COLOR".into(), Some("1".into())),
            // Credentials come only from what a test sets up.
            ("REGISTRY_AUTH_FILE".into(), None),
        ],
        dir: None,
        stdin: Input::Closed,
        deadline: None,
        max_address_space: None,
        close_stdout: false,
    }
}

impl Imgopt {
    /// Adds one argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.envs.push((k.as_ref().to_owned(), Some(v.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.envs.push((k.as_ref().to_owned(), None));
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Writes `bytes` to stdin, then closes it (a child that exits first is fine).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Input::Bytes(bytes.into());
        self
    }

    /// Connects stdin to `from` (a file, `/dev/zero`).
    pub fn stdin_from(mut self, from: impl Into<Stdio>) -> Self {
        self.stdin = Input::From(from.into());
        self
    }

    /// Kills the run after `d` (then [`Run::timed_out`] is set).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Limits the address space to `bytes` through `prlimit --as`, where it is installed.
    pub fn max_address_space(mut self, bytes: u64) -> Self {
        self.max_address_space = Some(bytes);
        self
    }

    /// Gives it a stdout pipe whose reading end is already closed (`imgopt … | head` after head
    /// has exited): its first write fails with EPIPE.
    pub fn closed_stdout(mut self) -> Self {
        self.close_stdout = true;
        self
    }

    /// Runs it and waits.
    pub fn run(self) -> Run {
        let bin = super::imgopt_bin();
        let prlimit = Path::new("/usr/bin/prlimit");
        let mut cmd = match self.max_address_space {
            Some(limit) if prlimit.is_file() => {
                let mut c = Command::new(prlimit);
                c.arg(format!("--as={limit}")).arg("--").arg(&bin);
                c
            }
            _ => Command::new(&bin),
        };
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        let mut feed = None;
        cmd.stdin(match self.stdin {
            Input::Closed => Stdio::null(),
            Input::Bytes(b) => {
                feed = Some(b);
                Stdio::piped()
            }
            Input::From(s) => s,
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
        let feeder = feed.map(|bytes| {
            let mut input = child.stdin.take().expect("stdin");
            // The child may exit before reading stdin (a bad flag): a broken pipe is fine.
            std::thread::spawn(move || drop(input.write_all(&bytes)))
        });
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut b = Vec::new();
                let _ = r.read_to_end(&mut b);
                b
            })
        };
        let stdout = child.stdout.take().expect("stdout");
        let out = if self.close_stdout {
            drop(stdout);
            drain(Box::new(std::io::empty()))
        } else {
            drain(Box::new(stdout))
        };
        let err = drain(Box::new(child.stderr.take().expect("stderr")));
        let start = Instant::now();
        let mut timed_out = false;
        let status = match self.deadline {
            None => child.wait().expect("wait for imgopt"),
            Some(deadline) => loop {
                if let Some(s) = child.try_wait().expect("wait for imgopt") {
                    break s;
                }
                if start.elapsed() > deadline {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().expect("wait for imgopt");
                }
                std::thread::sleep(Duration::from_millis(20));
            },
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        Run {
            status,
            code: status.code(),
            stdout: out.join().expect("stdout"),
            stderr: err.join().expect("stderr"),
            timed_out,
        }
    }

    /// Runs it and waits; the result as [`std::process::Output`], for tests that read the status.
    pub fn output(self) -> Output {
        let r = self.run();
        Output {
            status: r.status,
            stdout: r.stdout,
            stderr: r.stderr,
        }
    }
}
