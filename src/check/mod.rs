//! `imgopt check`: CI size budgets from a policy file.
//!
//! A policy ([`policy`]) sets limits in `[image]`, `[baseline]` and `[dockerfile]`; dive's
//! `.dive-ci` maps onto the same keys ([`dive_ci`]). [`eval`] compares what `imgopt layers` and
//! `imgopt analyze` measured with those limits and returns a [`CheckReport`]: one
//! [`CheckResult`] per key the policy sets, each pointing at the policy line that set the limit
//! (or, for a Dockerfile check, at the finding's line). The JSON form is a contract for CI
//! scripts (docs/check.md): `schema_version`, `passed`, `policy`, `targets[]` with `target`,
//! `kind`, `passed`, `checks[]` with `id`, `limit`, `actual`, `passed`, `message`,
//! `policy_line`, and nothing else.
//!
//! Owns: policies, the verdicts and the report model. Does not: read images or files, print,
//! or choose exit codes (`cli::check` does).

pub mod baseline;
pub mod dive_ci;
pub mod eval;
pub mod glob;
pub mod policy;
pub mod size;

use serde::Serialize;

pub use baseline::Baseline;
pub use eval::{DockerfileFacts, ImageFacts};
pub use policy::{BUILTIN_NAME, Policy};

/// The JSON schema version of [`CheckReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// The result of `imgopt check`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Whether every check of every target passed.
    pub passed: bool,
    /// The policy file, or `built-in:default`.
    pub policy: String,
    /// One entry per target, in command-line order.
    pub targets: Vec<TargetResult>,
}

impl CheckReport {
    /// A report over `targets`.
    #[must_use]
    pub fn new(policy: &str, targets: Vec<TargetResult>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            passed: targets.iter().all(|t| t.passed),
            policy: policy.to_string(),
            targets,
        }
    }

    /// The first failed check, in target and policy order, with its target.
    #[must_use]
    pub fn first_failure(&self) -> Option<(&TargetResult, &CheckResult)> {
        self.targets
            .iter()
            .find_map(|t| t.checks.iter().find(|c| !c.passed).map(|c| (t, c)))
    }

    /// (checks, failed checks) over every target.
    #[must_use]
    pub fn counts(&self) -> (usize, usize) {
        let all = self.targets.iter().map(|t| t.checks.len()).sum();
        let failed = self
            .targets
            .iter()
            .flat_map(|t| &t.checks)
            .filter(|c| !c.passed)
            .count();
        (all, failed)
    }
}

/// What a target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An image (any source `imgopt layers` reads).
    Image,
    /// A Dockerfile.
    Dockerfile,
}

impl TargetKind {
    /// `image` or `dockerfile`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Image => "image",
            TargetKind::Dockerfile => "dockerfile",
        }
    }
}

/// The checks of one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetResult {
    /// The target as given on the command line.
    pub target: String,
    /// Image or Dockerfile.
    pub kind: TargetKind,
    /// Whether every check passed.
    pub passed: bool,
    /// One check per key the policy sets for this kind of target, in policy-format order.
    pub checks: Vec<CheckResult>,
    /// Growth against `--baseline` (image targets given one); shown by the human and Markdown
    /// renderers, not part of the JSON.
    #[serde(skip)]
    pub growth: Option<Growth>,
}

/// Compressed growth against the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Growth {
    /// The baseline as given.
    pub baseline: String,
    /// The baseline's compressed bytes.
    pub baseline_bytes: u64,
    /// The target's compressed bytes.
    pub target_bytes: u64,
}

impl Growth {
    /// Target minus baseline, exactly (negative when the image shrank).
    #[must_use]
    pub fn bytes(&self) -> i128 {
        i128::from(self.target_bytes) - i128::from(self.baseline_bytes)
    }

    /// Growth as a percentage of the baseline (`None` for an empty baseline).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn percent(&self) -> Option<f64> {
        (self.baseline_bytes > 0).then(|| self.bytes() as f64 * 100.0 / self.baseline_bytes as f64)
    }
}

/// The unit of a check's `limit` and `actual`, for renderers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// Signed bytes (growth).
    SignedBytes,
    /// A count.
    Count,
    /// A fraction from 0 to 1.
    Fraction,
    /// A percentage.
    Percent,
    /// A boolean.
    Bool,
    /// A severity name (limit) and a count of findings (actual).
    Findings,
    /// A list of patterns (limit) and a count or a name (actual).
    List,
}

/// Where a check points: a file and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file as named in reports.
    pub file: String,
    /// Whether `file` is a real path (the built-in policy is not).
    pub on_disk: bool,
    /// 1-based line.
    pub line: usize,
}

/// One check: a policy key's limit against what was measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// `<table>.<key>` of the policy.
    pub id: String,
    /// The limit, in the key's unit (bytes, a fraction, a percentage, a count, a boolean, a
    /// severity name or a list).
    pub limit: serde_json::Value,
    /// What was measured, in the same unit (`null` when nothing could be measured).
    pub actual: serde_json::Value,
    /// Whether the check passed.
    pub passed: bool,
    /// One sentence saying what was compared.
    pub message: String,
    /// The line of the policy (or `.dive-ci`) that set the limit.
    pub policy_line: usize,
    /// The unit of `limit` and `actual`.
    #[serde(skip)]
    pub unit: Unit,
    /// Where the check points: the policy line, or for a Dockerfile check the finding's line.
    #[serde(skip)]
    pub location: Location,
}

impl CheckResult {
    /// The limit as people read it (`150.0 MiB`, `10 %`, `warning`).
    #[must_use]
    pub fn shown_limit(&self) -> String {
        let unit = if self.unit == Unit::SignedBytes {
            Unit::Bytes
        } else {
            self.unit
        };
        show(unit, &self.limit)
    }

    /// What was measured, as people read it (`-` when nothing was).
    #[must_use]
    pub fn shown_actual(&self) -> String {
        match (self.unit, &self.actual) {
            (Unit::Findings, serde_json::Value::Number(n)) => {
                let n = n.as_u64().unwrap_or(0);
                if n == 1 {
                    "1 finding".to_string()
                } else {
                    format!("{n} findings")
                }
            }
            (Unit::Bool, serde_json::Value::Bool(b)) if self.id == "image.non_root" => {
                (if *b { "non-root" } else { "root" }).to_string()
            }
            _ => show(self.unit, &self.actual),
        }
    }
}

fn show(unit: Unit, v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match (unit, v) {
        (_, J::Null) => "-".to_string(),
        (Unit::Bytes, J::Number(n)) => crate::units::ByteSize(n.as_u64().unwrap_or(0)).to_string(),
        (Unit::SignedBytes, J::Number(n)) => {
            let d = n.as_i64().unwrap_or(0);
            let abs = crate::units::ByteSize(d.unsigned_abs());
            if d < 0 { format!("-{abs}") } else { format!("+{abs}") }
        }
        (Unit::Fraction, J::Number(n)) => format!("{:.4}", n.as_f64().unwrap_or(0.0)),
        (Unit::Percent, J::Number(n)) => format!("{:.2} %", n.as_f64().unwrap_or(0.0)),
        (Unit::Bool, J::Bool(b)) => (if *b { "required" } else { "not required" }).to_string(),
        (_, J::Array(items)) => items
            .iter()
            .map(|i| i.as_str().unwrap_or("?"))
            .collect::<Vec<_>>()
            .join(", "),
        (_, J::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}
