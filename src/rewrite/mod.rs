//! `imgopt rewrite`: turns a single-stage Dockerfile into a build stage plus a small runtime
//! stage that ships only the artefacts, keeping the file's intent, with a reason for every
//! change, the risks it takes and a predicted saving.
//!
//! Owns: ecosystem detection ([`detect`], [`context`]), the runtime base ([`runtime`]), the
//! `-dev` → runtime package table ([`libs`]), the rewritten text, the report model
//! ([`RewriteReport`]) and unified diffs ([`diff`]).
//! Does not: print, write files (`--write` is the command line's atomic writer), or fix single findings (`analyze --fix`). Building and running both
//! versions (`--verify`) lives in [`verify`].
//!
//! The result is idempotent: a file whose shipped stage already runs on a small base with no
//! build steps comes back unchanged, so `rewrite(rewrite(x)) == rewrite(x)`.

pub mod context;
pub mod detect;
pub mod diff;
mod edits;
mod emit;
pub mod libs;
pub mod runtime;
pub mod verify;

use std::path::Path;

use serde::Serialize;

pub use detect::Ecosystem;

use crate::dockerfile::{Dockerfile, StageOptions, Stages};
use crate::estimate::Estimate;

/// The JSON schema version of [`RewriteReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// What kind of runtime the rewrite aims for (`--to`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The smallest base the artefact and its start command can run on.
    #[default]
    Auto,
    /// A build stage plus a runtime stage with a shell and a package manager (an OS base is
    /// kept as it is).
    MultiStage,
    /// Like multi-stage, on a `-slim` base.
    Slim,
    /// An Alpine (musl) runtime.
    Alpine,
    /// A distroless runtime.
    Distroless,
    /// `scratch` (static binaries only).
    Scratch,
}

impl Target {
    /// The name `--to` takes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::MultiStage => "multi-stage",
            Self::Slim => "slim",
            Self::Alpine => "alpine",
            Self::Distroless => "distroless",
            Self::Scratch => "scratch",
        }
    }
}

/// What a change does (docs/rewrite.md lists each with its safety).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// The single stage became a build stage.
    MultiStage,
    /// The runtime stage's base image.
    RuntimeBase,
    /// A `COPY --from=<build>` of an artefact.
    CopyArtefact,
    /// Packages installed in the runtime stage (run-time libraries, CA certificates, tools).
    RuntimePackages,
    /// `CGO_ENABLED=0` added to a `go build`.
    StaticBuild,
    /// Development dependencies removed before the copy.
    PruneDevDependencies,
    /// The runtime stage runs as a non-root user.
    NonRootUser,
    /// Instructions repeated or moved into the runtime stage.
    KeepInstructions,
    /// The shipped stage's base swapped for a smaller variant.
    BaseSwap,
}

/// One change, with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What it does.
    pub kind: ChangeKind,
    /// What and why.
    pub message: String,
    /// First line of the original file it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<usize>,
    /// Last line of the original file it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
}

/// What could break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskKind {
    /// The runtime base has no shell, but something needs one.
    NoShell,
    /// Native code moves from glibc to musl.
    GlibcToMusl,
    /// Builder and runtime must share a glibc version.
    GlibcVersion,
    /// Compiled extensions may need libraries only the build image had.
    NativeExtensions,
    /// A `-dev` package whose runtime library is not known.
    MissingRuntimeLibrary,
    /// Packages the runtime base cannot install.
    MissingRuntimePackages,
    /// cgo is turned off.
    CgoDisabled,
    /// The app now runs as a non-root user.
    NonRoot,
    /// A start script may call programs the runtime base lacks.
    EntrypointScript,
    /// The HEALTHCHECK needs a program the runtime base lacks.
    HealthcheckTool,
    /// The runtime has no CA certificates.
    NoCaCertificates,
    /// Files the app reads at run time may not be copied.
    RuntimeFiles,
    /// The build's `/etc/passwd` and `/etc/group` replace the runtime's.
    PasswdCopied,
    /// A named user may not exist in the runtime base.
    UserMissing,
    /// devDependencies are pruned.
    DevDependenciesPruned,
    /// The JDK vendor changes.
    VendorChange,
    /// The runtime image kind is a guess.
    RuntimeGuess,
}

/// One risk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// What could break.
    pub kind: RiskKind,
    /// How, and what to check.
    pub message: String,
}

/// The result of `imgopt rewrite` (JSON schema_version 1, docs/rewrite.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RewriteReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The Dockerfile as named on the command line.
    pub file: String,
    /// `--to`.
    pub target: Target,
    /// Nothing to change (then `dockerfile` is the input and `estimate` is null).
    pub unchanged: bool,
    /// The whole new text.
    pub dockerfile: String,
    /// Every change, with its reason.
    pub changes: Vec<Change>,
    /// What could break.
    pub risks: Vec<Risk>,
    /// Predicted saving of the shipped image (null when unchanged).
    pub estimate: Option<Estimate>,
    /// The ecosystem detected, if any.
    pub ecosystem: Option<Ecosystem>,
    /// The runtime stage's base, when rewritten.
    pub runtime_base: Option<String>,
    /// Notes: why a file is unchanged, what the estimate rests on.
    pub notes: Vec<String>,
    /// A unified diff from the input to `dockerfile` (`--diff`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Where the new text was written (`--write`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
    /// Both versions built, run and measured (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<verify::VerifyReport>,
}

/// Options of a rewrite.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--to`.
    pub target: Target,
    /// The build context (`--context`, default the Dockerfile's folder); `None` when unknown.
    pub context: Option<std::path::PathBuf>,
}

/// Why a rewrite could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// BuildKit's parser rejects the file.
    #[error("{0}")]
    Parse(#[from] crate::dockerfile::Error),
}

/// Rewrites the Dockerfile text `src` (parsed as `df`), named `file` in the report.
#[must_use]
pub fn rewrite(file: &str, src: &str, df: &Dockerfile<'_>, opts: &Options) -> RewriteReport {
    let mut report = RewriteReport {
        schema_version: SCHEMA_VERSION,
        file: file.to_string(),
        target: opts.target,
        unchanged: true,
        dockerfile: src.to_string(),
        changes: Vec::new(),
        risks: Vec::new(),
        estimate: None,
        ecosystem: None,
        runtime_base: None,
        notes: Vec::new(),
        diff: None,
        written: None,
        verify: None,
    };
    let stages = match Stages::build(df, &StageOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            report.notes.push(format!("unchanged: no stage to rewrite ({e})"));
            return report;
        }
    };
    let ctx = match opts.context.as_deref() {
        Some(dir) => context::probe(dir),
        None => context::ContextFacts::default(),
    };
    match emit::plan(src, df, &stages, &ctx, opts) {
        Ok(out) => {
            report.ecosystem = out.ecosystem;
            report.notes = out.notes;
            if out.text == src {
                report.notes.insert(0, "unchanged: nothing to rewrite".to_string());
                return report;
            }
            report.unchanged = false;
            report.dockerfile = out.text;
            report.changes = out.changes;
            report.risks = out.risks;
            report.estimate = Some(out.estimate);
            report.runtime_base = out.runtime_base;
        }
        Err(skip) => {
            report.ecosystem = skip.ecosystem;
            report.notes.push(format!("unchanged: {}", skip.why));
        }
    }
    report
}

/// Parses `src` and rewrites it (for tests, benches and library users).
pub fn rewrite_str(file: &str, src: &str, opts: &Options) -> Result<RewriteReport, Error> {
    let df = crate::dockerfile::parse_str(src)?;
    Ok(rewrite(file, src, &df, opts))
}

/// The context folder to use for a Dockerfile at `path` when none is given: its folder.
#[must_use]
pub fn default_context(path: &Path) -> Option<std::path::PathBuf> {
    let parent = path.parent()?;
    Some(if parent.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        parent.to_path_buf()
    })
}
