//! `imgopt rewrite --verify`: build the original Dockerfile and its rewrite with a real builder
//! found on the machine, run both images' start command (or `--smoke ARGS`) with a timeout,
//! compare exit code and stdout, and measure both images through imgopt's own layer reader.
//!
//! Owns: finding and driving the builder ([`builder`]), running its commands with a deadline
//! and bounded output ([`process`]), the report ([`VerifyReport`]) and cleaning up every
//! container, image and temporary file it made.
//! Does not: print, pull on its own (the builder does), or read image bytes itself (the caller
//! passes a measuring function, see [`measure::measure`], so this module needs no runtime).
//!
//! A build or run that fails is a [`Failure`] in the report (the step and the builder's last
//! lines), never an `Err`: `Err` means verification could not start (no builder, no temporary
//! folder).

pub mod builder;
pub mod measure;
pub mod process;
mod smoke;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use builder::{Builder, BuilderKind};
pub use measure::ImageSize;
pub use smoke::split as split_smoke;

use process::{Capture, Finished};

/// What `--verify` does.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--builder` (default: the first of buildah, podman, docker on `PATH`).
    pub builder: Option<BuilderKind>,
    /// `--smoke ARGS`, split into words: run with these arguments instead of the image's CMD.
    pub smoke: Option<Vec<String>>,
    /// The build context, for both builds.
    pub context: PathBuf,
    /// `--build-arg NAME=VALUE` (values are never reported).
    pub build_args: Vec<(String, String)>,
    /// `--build-volume SRC:DST[:OPTS]`, mounted into RUN steps of both builds.
    pub volumes: Vec<String>,
    /// Deadline of each build.
    pub build_timeout: Duration,
    /// Deadline of each run.
    pub run_timeout: Duration,
    /// The `PATH` builders are looked for on.
    pub path: Option<OsString>,
}

/// Why verification could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No builder on `PATH`.
    #[error("no container builder found on PATH (looked for {looked})")]
    NoBuilder {
        /// The programs looked for.
        looked: String,
    },
    /// A temporary file or folder could not be made.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: io::Error,
    },
}

/// Which of the two Dockerfiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The user's file.
    Original,
    /// imgopt's rewrite.
    Rewrite,
}

impl Side {
    /// Its name in messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Rewrite => "rewrite",
        }
    }
}

/// The result of `--verify` (the `verify` object of the rewrite JSON, docs/rewrite.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The builder used.
    pub builder: BuilderKind,
    /// Its `--version` line.
    pub builder_version: Option<String>,
    /// `--smoke` arguments, when given (otherwise each image's own start command ran).
    pub smoke: Option<Vec<String>>,
    /// Names of the `--build-arg`s passed to both builds (never their values).
    pub build_args: Vec<String>,
    /// Both built, both ran to the end, with the same exit code and stdout.
    pub passed: bool,
    /// Same exit code and the same stdout bytes (false until both ran).
    pub same_output: bool,
    /// The original's build, run and size.
    pub original: ImageResult,
    /// The rewrite's build, run and size.
    pub rewrite: ImageResult,
    /// Original minus rewrite, when both were measured.
    pub saving: Option<MeasuredSaving>,
    /// The first step that failed.
    pub failure: Option<Failure>,
    /// Wall time of the whole verification.
    pub seconds: f64,
}

/// One image's build, run and size.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImageResult {
    /// The image id the builder wrote (`sha256:…`), once built.
    pub image_id: Option<String>,
    /// How long the build took.
    pub build_seconds: Option<f64>,
    /// Its run, once run.
    pub run: Option<RunResult>,
    /// Its measured bytes, once measured.
    pub size: Option<ImageSize>,
}

/// A run of an image's start command.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunResult {
    /// What ran (entrypoint and command, or entrypoint and `--smoke`).
    pub argv: Vec<String>,
    /// Its exit code (`None` when a signal or the timeout ended it).
    pub exit_code: Option<i32>,
    /// The deadline passed.
    pub timed_out: bool,
    /// SHA-256 of its stdout.
    pub stdout_sha256: Option<String>,
    /// Bytes of stdout.
    pub stdout_bytes: u64,
    /// Its first lines of stdout.
    pub stdout_first_lines: Vec<String>,
    /// Its last lines of stderr (the builder's own messages included).
    pub stderr_last_lines: Vec<String>,
    /// How long it ran.
    pub seconds: f64,
}

/// What the rewrite saves, measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeasuredSaving {
    /// Original minus rewrite, compressed (negative when the rewrite is larger).
    pub compressed_bytes: i64,
    /// Original minus rewrite, uncompressed.
    pub uncompressed_bytes: i64,
    /// Rewrite over original, uncompressed (0.5 = half the bytes).
    pub uncompressed_ratio: f64,
}

/// The step that failed, and what the builder said last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// `build original`, `build rewrite`, `run original`, `run rewrite`, `export rewrite`,
    /// `measure original`, `compare`.
    pub step: String,
    /// What went wrong (with the Dockerfile step, e.g. `STEP 3/5: RUN make`, when the builder
    /// named one).
    pub message: String,
    /// The builder's last lines (at most [`process::TAIL_LINES`]; build-arg values masked).
    pub last_lines: Vec<String>,
}

/// The Dockerfiles to build: the original (its path when it is a file, else its text) and the
/// rewrite's text.
pub struct Inputs<'a> {
    /// The user's Dockerfile, when it is a file: built in place with `-f`.
    pub original_path: Option<&'a Path>,
    /// The user's Dockerfile text (built from a temporary copy when there is no path).
    pub original_text: &'a str,
    /// The rewrite (written to a temporary folder, never beside the user's file).
    pub rewrite_text: &'a str,
}

/// The builder `opts` asks for, or the first one on `PATH`.
pub fn find_builder(opts: &Options) -> Result<Builder, Error> {
    let env = |k: &str| std::env::var(k).ok();
    Builder::find(opts.builder, opts.path.as_deref(), &env).ok_or_else(|| Error::NoBuilder {
        looked: match opts.builder {
            Some(k) => k.as_str().to_string(),
            None => BuilderKind::SEARCH.map(BuilderKind::as_str).join(", "),
        },
    })
}

/// Builds, runs and measures both Dockerfiles. `measure` reads an exported image (a source
/// spec such as `oci:DIR:TAG`) and returns its size or a message.
pub fn verify(
    inputs: &Inputs<'_>,
    opts: &Options,
    measure: &mut dyn FnMut(&str) -> Result<ImageSize, String>,
) -> Result<VerifyReport, Error> {
    let start = Instant::now();
    let builder = find_builder(opts)?;
    let mut session = Session::new(builder, opts)?;
    let mut report = VerifyReport {
        builder: session.builder.kind,
        builder_version: session.version(),
        smoke: opts.smoke.clone(),
        build_args: opts.build_args.iter().map(|(k, _)| k.clone()).collect(),
        passed: false,
        same_output: false,
        original: ImageResult::default(),
        rewrite: ImageResult::default(),
        saving: None,
        failure: None,
        seconds: 0.0,
    };
    report.failure = session.steps(inputs, &mut report, measure).err();
    report.passed = report.failure.is_none() && report.same_output;
    report.seconds = start.elapsed().as_secs_f64();
    drop(session);
    Ok(report)
}

/// One verification's builder, temporary folder and what it made (removed on drop).
struct Session<'o> {
    builder: Builder,
    opts: &'o Options,
    dir: TempDir,
    images: Vec<String>,
    containers: Vec<String>,
}

impl<'o> Session<'o> {
    fn new(builder: Builder, opts: &'o Options) -> Result<Self, Error> {
        let dir = TempDir::new().map_err(|source| Error::Io {
            what: "making a temporary folder for --verify".into(),
            source,
        })?;
        Ok(Session {
            builder,
            opts,
            dir,
            images: Vec::new(),
            containers: Vec::new(),
        })
    }

    fn version(&self) -> Option<String> {
        let f = process::run(self.builder.version(), Capture::Split, Duration::from_secs(30)).ok()?;
        f.stdout_head
            .first()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
    }

    fn steps(
        &mut self,
        inputs: &Inputs<'_>,
        report: &mut VerifyReport,
        measure: &mut dyn FnMut(&str) -> Result<ImageSize, String>,
    ) -> Result<(), Failure> {
        let original = match inputs.original_path {
            Some(p) => p.to_path_buf(),
            None => self.write("Dockerfile.original", inputs.original_text)?,
        };
        let rewrite = self.write("Dockerfile.rewrite", inputs.rewrite_text)?;
        let mut ids = Vec::new();
        for (side, file) in [(Side::Original, &original), (Side::Rewrite, &rewrite)] {
            let (id, secs) = self.build(side, file)?;
            let r = side_of(report, side);
            r.image_id = Some(id.clone());
            r.build_seconds = Some(secs);
            ids.push((side, id));
        }
        for (side, id) in &ids {
            let run = self.run(*side, id)?;
            side_of(report, *side).run = Some(run);
        }
        for (side, id) in &ids {
            let size = self.measure(*side, id, measure)?;
            side_of(report, *side).size = Some(size);
        }
        if let (Some(a), Some(b)) = (report.original.size, report.rewrite.size) {
            report.saving = Some(saving(a, b));
        }
        compare(report)
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf, Failure> {
        let path = self.dir.path.join(name);
        std::fs::write(&path, text).map_err(|e| Failure {
            step: "prepare".into(),
            message: format!("writing {}: {e}", path.display()),
            last_lines: Vec::new(),
        })?;
        Ok(path)
    }

    /// Runs a builder command; a spawn error or a non-zero exit is a [`Failure`] of `step`.
    fn exec(&self, step: &str, cmd: Command, capture: Capture, timeout: Duration) -> Result<Finished, Failure> {
        let f = process::run(cmd, capture, timeout).map_err(|e| Failure {
            step: step.to_string(),
            message: format!("could not start {}: {e}", self.builder.program.display()),
            last_lines: Vec::new(),
        })?;
        if f.success() {
            return Ok(f);
        }
        Err(Failure {
            step: step.to_string(),
            message: ended(&f, timeout),
            last_lines: self.mask(&f.tail),
        })
    }

    fn build(&mut self, side: Side, dockerfile: &Path) -> Result<(String, f64), Failure> {
        let step = format!("build {}", side.as_str());
        let iidfile = self.dir.path.join(format!("{}.iid", side.as_str()));
        let spec = builder::BuildSpec {
            dockerfile,
            context: &self.opts.context,
            iidfile: &iidfile,
            build_args: &self.opts.build_args,
            volumes: &self.opts.volumes,
        };
        let cmd = self.builder.build(&spec);
        let f = process::run(cmd, Capture::Merged, self.opts.build_timeout).map_err(|e| Failure {
            step: step.clone(),
            message: format!("could not start {}: {e}", self.builder.program.display()),
            last_lines: Vec::new(),
        })?;
        if !f.success() {
            let at = last_step(&f.tail).map_or(String::new(), |s| format!(" at {s}"));
            return Err(Failure {
                step,
                message: format!("{}{at}", ended(&f, self.opts.build_timeout)),
                last_lines: self.mask(&f.tail),
            });
        }
        let id = std::fs::read_to_string(&iidfile).unwrap_or_default().trim().to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':') {
            return Err(Failure {
                step,
                message: "the builder wrote no image id".into(),
                last_lines: self.mask(&f.tail),
            });
        }
        self.images.push(id.clone());
        Ok((id, f.elapsed.as_secs_f64()))
    }

    fn run(&mut self, side: Side, id: &str) -> Result<RunResult, Failure> {
        let step = format!("run {}", side.as_str());
        let short = Duration::from_secs(120);
        let inspect = self.exec(&step, self.builder.inspect(id), Capture::Split, short)?;
        let json = inspect.stdout_small.unwrap_or_default();
        let mut argv = builder::start_command(&json, self.opts.smoke.as_deref()).ok_or_else(|| Failure {
            step: step.clone(),
            message: "could not read the image's config from the builder".into(),
            last_lines: Vec::new(),
        })?;
        if argv.is_empty() {
            return Err(Failure {
                step,
                message: "the image has no ENTRYPOINT or CMD; give one with --smoke".into(),
                last_lines: Vec::new(),
            });
        }
        let target = if self.builder.runs_containers() {
            let from = self.exec(&step, self.builder.from(id), Capture::Split, short)?;
            let name = from
                .stdout_head
                .last()
                .map(|l| l.trim().to_string())
                .unwrap_or_default();
            if name.is_empty() {
                return Err(Failure {
                    step,
                    message: "the builder named no working container".into(),
                    last_lines: self.mask(&from.tail),
                });
            }
            self.containers.push(name.clone());
            name
        } else {
            // podman/docker run IMAGE [ARGS]: the entrypoint comes from the image.
            argv = match &self.opts.smoke {
                Some(s) => s.clone(),
                None => Vec::new(),
            };
            id.to_string()
        };
        let f = process::run(self.builder.run(&target, &argv), Capture::Split, self.opts.run_timeout).map_err(|e| {
            Failure {
                step: step.clone(),
                message: format!("could not start {}: {e}", self.builder.program.display()),
                last_lines: Vec::new(),
            }
        })?;
        if self.builder.runs_containers() {
            self.remove_container(&target);
        } else {
            argv = builder::start_command(&json, self.opts.smoke.as_deref()).unwrap_or_default();
        }
        if f.timed_out {
            return Err(Failure {
                step,
                message: ended(&f, self.opts.run_timeout),
                last_lines: self.mask(&f.tail),
            });
        }
        Ok(RunResult {
            argv,
            exit_code: f.code,
            timed_out: f.timed_out,
            stdout_sha256: f.stdout_digest.map(|d| d.as_str().to_string()),
            stdout_bytes: f.stdout_bytes,
            stdout_first_lines: self.mask(&f.stdout_head),
            stderr_last_lines: self.mask(&f.tail),
            seconds: f.elapsed.as_secs_f64(),
        })
    }

    fn measure(
        &mut self,
        side: Side,
        id: &str,
        measure: &mut dyn FnMut(&str) -> Result<ImageSize, String>,
    ) -> Result<ImageSize, Failure> {
        let out = self.dir.path.join(format!("export-{}", side.as_str()));
        std::fs::create_dir_all(&out).map_err(|e| Failure {
            step: format!("export {}", side.as_str()),
            message: format!("{}: {e}", out.display()),
            last_lines: Vec::new(),
        })?;
        let (cmd, spec) = self.builder.export(id, &out);
        self.exec(
            &format!("export {}", side.as_str()),
            cmd,
            Capture::Merged,
            self.opts.build_timeout,
        )?;
        let size = measure(&spec).map_err(|message| Failure {
            step: format!("measure {}", side.as_str()),
            message,
            last_lines: Vec::new(),
        })?;
        // The export is only needed for the measurement.
        let _ = std::fs::remove_dir_all(&out);
        Ok(size)
    }

    fn remove_container(&mut self, name: &str) {
        let cmd = self.builder.rm_container(name);
        if process::run(cmd, Capture::Merged, Duration::from_secs(120)).is_ok_and(|f| f.success()) {
            self.containers.retain(|c| c != name);
        }
    }

    /// Build-arg values replaced by `***` in text shown from the builder.
    fn mask(&self, lines: &[String]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                self.opts
                    .build_args
                    .iter()
                    .filter(|(_, v)| v.len() >= 3)
                    .fold(l.clone(), |acc, (_, v)| acc.replace(v.as_str(), "***"))
            })
            .collect()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let quick = Duration::from_secs(120);
        for c in std::mem::take(&mut self.containers) {
            let _ = process::run(self.builder.rm_container(&c), Capture::Merged, quick);
        }
        for i in std::mem::take(&mut self.images) {
            let _ = process::run(self.builder.rmi(&i), Capture::Merged, quick);
        }
    }
}

/// Same exit code and stdout, or the comparison's [`Failure`].
fn compare(report: &mut VerifyReport) -> Result<(), Failure> {
    let (Some(a), Some(b)) = (&report.original.run, &report.rewrite.run) else {
        return Ok(());
    };
    let same_code = a.exit_code == b.exit_code;
    let same_out = a.stdout_sha256 == b.stdout_sha256;
    report.same_output = same_code && same_out;
    if report.same_output {
        return Ok(());
    }
    let code = |c: Option<i32>| c.map_or_else(|| "none (killed)".to_string(), |c| c.to_string());
    let mut what = Vec::new();
    if !same_code {
        what.push(format!(
            "exit code {} (original) vs {} (rewrite)",
            code(a.exit_code),
            code(b.exit_code)
        ));
    }
    if !same_out {
        what.push(format!(
            "stdout differs ({} vs {} bytes)",
            a.stdout_bytes, b.stdout_bytes
        ));
    }
    let mut last_lines = vec!["rewrite stdout:".to_string()];
    last_lines.extend(b.stdout_first_lines.iter().map(|l| format!("  {l}")));
    if !b.stderr_last_lines.is_empty() {
        last_lines.push("rewrite stderr:".to_string());
        last_lines.extend(b.stderr_last_lines.iter().map(|l| format!("  {l}")));
    }
    Err(Failure {
        step: "compare".into(),
        message: format!("the rewrite does not behave like the original: {}", what.join("; ")),
        last_lines,
    })
}

fn saving(a: ImageSize, b: ImageSize) -> MeasuredSaving {
    let diff = |x: u64, y: u64| i64::try_from(x).unwrap_or(i64::MAX) - i64::try_from(y).unwrap_or(i64::MAX);
    #[allow(clippy::cast_precision_loss)]
    let ratio = if a.uncompressed_bytes == 0 {
        0.0
    } else {
        b.uncompressed_bytes as f64 / a.uncompressed_bytes as f64
    };
    MeasuredSaving {
        compressed_bytes: diff(a.compressed_bytes, b.compressed_bytes),
        uncompressed_bytes: diff(a.uncompressed_bytes, b.uncompressed_bytes),
        uncompressed_ratio: ratio,
    }
}

/// How a command ended, in words.
fn ended(f: &Finished, timeout: Duration) -> String {
    if f.timed_out {
        format!("timed out after {} s", timeout.as_secs())
    } else if let Some(c) = f.code {
        format!("exited with code {c}")
    } else if let Some(s) = f.signal {
        format!("ended by signal {s}")
    } else {
        "ended abnormally".to_string()
    }
}

/// The last Dockerfile step the builder announced: buildah and podman print
/// `STEP 3/5: RUN make`, docker (BuildKit) `#7 [3/5] RUN make`.
fn last_step(tail: &[String]) -> Option<String> {
    tail.iter().rev().find_map(|l| {
        let t = l.trim();
        if t.starts_with("STEP ") {
            return Some(t.to_string());
        }
        let rest = t.strip_prefix('#')?;
        let (_, after) = rest.split_once(' ')?;
        (after.starts_with('[') && after.contains("] ")).then(|| after.to_string())
    })
}

/// A private temporary folder, removed on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for _ in 0..16 {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("imgopt-verify-{}-{nanos:x}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary folder name",
        ))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The result of one side of the comparison.
fn side_of(report: &mut VerifyReport, side: Side) -> &mut ImageResult {
    match side {
        Side::Original => &mut report.original,
        Side::Rewrite => &mut report.rewrite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_step_finds_buildah_and_buildkit_steps() {
        let t = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(
            last_step(&t(&["STEP 1/3: FROM x", "STEP 2/3: RUN false", "error building"])).as_deref(),
            Some("STEP 2/3: RUN false")
        );
        assert_eq!(
            last_step(&t(&["#5 [2/3] RUN false", "#5 ERROR: process did not complete"])).as_deref(),
            Some("[2/3] RUN false")
        );
        assert_eq!(last_step(&t(&["nothing here"])), None);
    }

    #[test]
    fn saving_is_signed_and_the_ratio_is_rewrite_over_original() {
        let a = ImageSize {
            compressed_bytes: 100,
            uncompressed_bytes: 400,
            layers: 3,
        };
        let b = ImageSize {
            compressed_bytes: 150,
            uncompressed_bytes: 100,
            layers: 1,
        };
        let s = saving(a, b);
        assert_eq!(s.compressed_bytes, -50);
        assert_eq!(s.uncompressed_bytes, 300);
        assert!((s.uncompressed_ratio - 0.25).abs() < 1e-9);
    }

    #[test]
    fn temp_dirs_are_private_and_removed() {
        use std::os::unix::fs::PermissionsExt as _;
        let d = TempDir::new().expect("temp dir");
        let p = d.path.clone();
        assert_eq!(
            std::fs::metadata(&p).expect("exists").permissions().mode() & 0o777,
            0o700
        );
        drop(d);
        assert!(!p.exists());
    }
}
