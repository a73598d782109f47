//! The verdicts: each setting of the policy against what `imgopt layers` or `imgopt analyze`
//! measured. A size limit passes when the measured bytes are at most the limit; a minimum when
//! the value is at least it; the three dive keys compare as dive does (`efficiency < limit`,
//! `wasted > limit` and `wasted / user bytes > fraction` fail), so a `.dive-ci` gives dive's
//! verdicts.
//!
//! Owns: [`ImageFacts`], [`DockerfileFacts`] and the check of each key. Does not: measure.

use serde_json::{Value as Json, json};

use crate::analyze::{AnalyzeReport, FindingReport};
use crate::dockerfile::{StageOptions, Stages};
use crate::layers::LayersReport;
use crate::rules::Selection;
use crate::units::ByteSize;

use super::policy::{FailOn, Policy, Setting, Table, Value};
use super::{Baseline, CheckResult, Growth, Location, TargetKind, TargetResult, Unit, glob};

/// What an image check needs from `imgopt layers`' report and the image config.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFacts {
    /// Sum of the layer blobs as stored.
    pub compressed_bytes: u64,
    /// Sum of the layer tars.
    pub tar_bytes: u64,
    /// Number of layers.
    pub layers: u64,
    /// The largest layer tar, and its index.
    pub largest_layer: Option<(usize, u64)>,
    /// dive's efficiency.
    pub efficiency: f64,
    /// dive's wasted bytes.
    pub wasted_bytes: u64,
    /// dive's wasted bytes over the bytes of layers 1.. (a fraction; `None` with no such bytes).
    pub user_wasted_fraction: Option<f64>,
    /// Bytes squashing would save.
    pub reclaimable_bytes: u64,
    /// Sum of the layers' content bytes.
    pub content_bytes: u64,
    /// Package-manager caches in the final filesystem.
    pub package_cache_bytes: u64,
    /// `config.User`, as set.
    pub user: Option<String>,
}

impl ImageFacts {
    /// The facts of a layers report and the config's `User`.
    #[must_use]
    pub fn new(r: &LayersReport, user: Option<String>) -> Self {
        Self {
            compressed_bytes: r.totals.compressed_bytes.0,
            tar_bytes: r.totals.tar_bytes.0,
            layers: r.layers.len() as u64,
            largest_layer: r
                .layers
                .iter()
                .map(|l| (l.index, l.tar_bytes.0))
                .max_by_key(|&(i, b)| (b, std::cmp::Reverse(i))),
            efficiency: r.dive.efficiency,
            wasted_bytes: r.dive.wasted_bytes,
            user_wasted_fraction: r.dive.user_wasted_percent,
            reclaimable_bytes: r.reclaimable_bytes.0,
            content_bytes: r.totals.content_bytes.0,
            package_cache_bytes: r.waste_by_kind.package_cache.0,
            user,
        }
    }

    /// Whether `User` names someone other than root (`root`, `0`, `root:…`, `0:…` and unset are
    /// root).
    #[must_use]
    pub fn non_root(&self) -> bool {
        match self.user.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(u) => {
                let who = u.split(':').next().unwrap_or(u);
                who != "root" && who != "0"
            }
        }
    }
}

/// The final stage's base image and the line of its `FROM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalBase {
    /// The image (global ARGs expanded), following `FROM <stage>` to the image it starts from.
    pub image: String,
    /// 1-based line of the final stage's `FROM`.
    pub line: usize,
}

/// The final stage's base of a Dockerfile (`None` when it does not parse or has no stage;
/// `analyze` reports those).
#[must_use]
pub fn final_base(text: &[u8]) -> Option<FinalBase> {
    let df = crate::dockerfile::parse(text).ok()?;
    let stages = Stages::build(&df, &StageOptions::default()).ok()?;
    let last = stages.stages.get(stages.target)?;
    let line = df.instructions.get(last.instructions.start)?.start_line;
    let mut s = last;
    for _ in 0..stages.stages.len() {
        match s.base_stage {
            Some(i) => s = stages.stages.get(i)?,
            None => break,
        }
    }
    Some(FinalBase {
        image: s.base_expanded.clone(),
        line,
    })
}

/// What a Dockerfile check needs.
pub struct DockerfileFacts<'a> {
    /// `imgopt analyze`'s report of this one Dockerfile.
    pub report: &'a AnalyzeReport,
    /// The final stage's base.
    pub base: Option<FinalBase>,
}

/// The rules to run for a policy: the default ones and every rule `deny` names.
#[must_use]
pub fn selection(policy: &Policy) -> Selection {
    let mut sel = Selection::default();
    if let Some(Setting {
        value: Value::Rules(rules),
        ..
    }) = policy.get(Table::Dockerfile, "deny")
    {
        sel.codes.extend(rules.iter().flat_map(|(_, c)| c.iter().copied()));
        sel.codes.sort_unstable();
        sel.codes.dedup();
    }
    sel
}

fn bytes(n: u64) -> String {
    ByteSize(n).to_string()
}

fn at_policy(s: &Setting) -> Location {
    Location {
        file: s.origin.file.clone(),
        on_disk: s.origin.on_disk,
        line: s.origin.line,
    }
}

fn result(s: &Setting, unit: Unit, limit: Json, actual: Json, passed: bool, message: String) -> CheckResult {
    CheckResult {
        id: s.id(),
        limit,
        actual,
        passed,
        message,
        policy_line: s.origin.line,
        unit,
        location: at_policy(s),
    }
}

fn size_check(s: &Setting, limit: u64, actual: u64, what: &str) -> CheckResult {
    let passed = actual <= limit;
    let message = if passed {
        format!("{what} {} is within the {} limit", bytes(actual), bytes(limit))
    } else {
        format!(
            "{what} {} is over the {} limit by {}",
            bytes(actual),
            bytes(limit),
            bytes(actual - limit)
        )
    };
    result(s, Unit::Bytes, json!(limit), json!(actual), passed, message)
}

#[allow(clippy::cast_precision_loss)]
fn percent_of(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// The checks of an image target: one per key of `[image]` and `[baseline]`.
#[must_use]
pub fn check_image(policy: &Policy, target: &str, f: &ImageFacts, baseline: Option<&Baseline>) -> TargetResult {
    let growth = baseline.map(|b| Growth {
        baseline: b.name.clone(),
        baseline_bytes: b.compressed_bytes,
        target_bytes: f.compressed_bytes,
    });
    let mut checks = Vec::new();
    for s in policy.table(Table::Image).chain(policy.table(Table::Baseline)) {
        let c = match (s.key.name, &s.value) {
            ("max_compressed_bytes", Value::Bytes(l)) => size_check(s, *l, f.compressed_bytes, "compressed size"),
            ("max_bytes", Value::Bytes(l)) => size_check(s, *l, f.tar_bytes, "uncompressed size"),
            ("max_layer_bytes", Value::Bytes(l)) => {
                let (i, b) = f.largest_layer.unwrap_or((0, 0));
                size_check(s, *l, b, &format!("the largest layer (#{i})"))
            }
            ("max_wasted_bytes", Value::Bytes(l)) => size_check(s, *l, f.wasted_bytes, "dive's wasted bytes"),
            ("max_reclaimable_bytes", Value::Bytes(l)) => size_check(s, *l, f.reclaimable_bytes, "reclaimable"),
            ("max_package_cache_bytes", Value::Bytes(l)) => size_check(s, *l, f.package_cache_bytes, "package caches"),
            ("max_layers", Value::Count(l)) => {
                let passed = f.layers <= *l;
                let msg = format!("{} layers; the limit is {l}", f.layers);
                result(s, Unit::Count, json!(l), json!(f.layers), passed, msg)
            }
            ("min_efficiency", Value::Fraction(l)) => {
                let failed = *l > f.efficiency;
                let passed = !failed;
                let msg = format!(
                    "efficiency {:.4} is {} the minimum {l}",
                    f.efficiency,
                    if passed { "at or above" } else { "below" }
                );
                result(s, Unit::Fraction, json!(l), json!(f.efficiency), passed, msg)
            }
            ("max_user_wasted_percent", Value::Percent(l)) => match f.user_wasted_fraction {
                Some(frac) => {
                    let failed = frac > l.fraction;
                    let passed = !failed;
                    let msg = format!(
                        "dive's wasted bytes are {:.2} % of the bytes above the first layer; the limit is {} %",
                        frac * 100.0,
                        l.percent
                    );
                    result(s, Unit::Percent, json!(l.percent), json!(frac * 100.0), passed, msg)
                }
                None => {
                    // No bytes above layer 0: dive divides by zero, which fails only with waste.
                    let passed = f.wasted_bytes == 0;
                    let msg = "the image has no bytes above its first layer".to_string();
                    result(s, Unit::Percent, json!(l.percent), Json::Null, passed, msg)
                }
            },
            ("max_reclaimable_percent", Value::Percent(l)) => {
                let pct = percent_of(f.reclaimable_bytes, f.content_bytes);
                let passed = pct <= l.percent;
                let msg = format!(
                    "reclaimable bytes are {pct:.2} % of the layers' content ({} of {}); the limit is {} %",
                    bytes(f.reclaimable_bytes),
                    bytes(f.content_bytes),
                    l.percent
                );
                result(s, Unit::Percent, json!(l.percent), json!(pct), passed, msg)
            }
            ("non_root", Value::Bool(required)) => {
                let non_root = f.non_root();
                let passed = !*required || non_root;
                let user = f.user.as_deref().filter(|u| !u.trim().is_empty());
                let msg = match (user, non_root) {
                    (None, _) => "the config sets no User, so the container runs as root".to_string(),
                    (Some(u), true) => format!("the container runs as `{u}`"),
                    (Some(u), false) => format!("the container runs as `{u}`, which is root"),
                };
                result(s, Unit::Bool, json!(required), json!(non_root), passed, msg)
            }
            ("max_growth_bytes", Value::Bytes(l)) => match &growth {
                Some(g) => {
                    let d = g.bytes();
                    let passed = d <= i128::from(*l);
                    let msg = format!(
                        "compressed size changed by {} against {} ({} → {}); the limit is {}",
                        signed(d),
                        g.baseline,
                        bytes(g.baseline_bytes),
                        bytes(g.target_bytes),
                        bytes(*l)
                    );
                    result(s, Unit::SignedBytes, json!(l), json!(d), passed, msg)
                }
                None => not_checked(s, Unit::SignedBytes, json!(l)),
            },
            ("max_growth_percent", Value::Percent(l)) => match &growth {
                Some(g) => {
                    let pct = g.percent();
                    let passed = pct.map_or(g.bytes() <= 0, |p| p <= l.percent);
                    let msg = match pct {
                        Some(p) => format!(
                            "compressed size changed by {p:+.2} % against {}; the limit is {} %",
                            g.baseline, l.percent
                        ),
                        None => format!(
                            "the baseline {} has no bytes; growth is {}",
                            g.baseline,
                            signed(g.bytes())
                        ),
                    };
                    result(
                        s,
                        Unit::Percent,
                        json!(l.percent),
                        pct.map_or(Json::Null, |p| json!(p)),
                        passed,
                        msg,
                    )
                }
                None => not_checked(s, Unit::Percent, json!(l.percent)),
            },
            _ => continue,
        };
        checks.push(c);
    }
    TargetResult {
        target: target.to_string(),
        kind: TargetKind::Image,
        passed: checks.iter().all(|c| c.passed),
        checks,
        growth,
    }
}

fn not_checked(s: &Setting, unit: Unit, limit: Json) -> CheckResult {
    result(
        s,
        unit,
        limit,
        Json::Null,
        true,
        "not checked: no --baseline given".to_string(),
    )
}

fn signed(d: i128) -> String {
    let abs = u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX);
    if d < 0 {
        format!("-{}", bytes(abs))
    } else {
        format!("+{}", bytes(abs))
    }
}

/// How a finding stands against `deny` and `allow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Denied,
    Allowed,
    Neutral,
}

/// How specifically `rules` name `code`: a code or name that resolves to one rule beats any
/// prefix, and a longer prefix beats a shorter one.
fn specificity(rules: &[(String, Vec<&'static str>)], code: &str) -> Option<usize> {
    rules
        .iter()
        .filter(|(_, codes)| codes.contains(&code))
        .map(|(sel, codes)| if codes.len() == 1 { usize::MAX } else { sel.len() })
        .max()
}

fn verdict(deny: &[(String, Vec<&'static str>)], allow: &[(String, Vec<&'static str>)], code: &str) -> Verdict {
    match (specificity(deny, code), specificity(allow, code)) {
        (Some(d), Some(a)) if a > d => Verdict::Allowed,
        (Some(_), _) => Verdict::Denied,
        (None, Some(_)) => Verdict::Allowed,
        (None, None) => Verdict::Neutral,
    }
}

fn list(items: &[&FindingReport]) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(5)
        .map(|f| format!("{} at line {}", f.code, f.start_line))
        .collect();
    if items.len() > 5 {
        parts.push(format!("and {} more", items.len() - 5));
    }
    parts.join(", ")
}

fn at_finding(f: &FindingReport) -> Location {
    Location {
        file: f.file.clone(),
        on_disk: true,
        line: f.start_line,
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The checks of a Dockerfile target: one per key of `[dockerfile]`.
#[must_use]
pub fn check_dockerfile(policy: &Policy, target: &str, f: &DockerfileFacts<'_>) -> TargetResult {
    let empty = Vec::new();
    let rules_of = |name: &str| match policy.get(Table::Dockerfile, name) {
        Some(Setting {
            value: Value::Rules(r), ..
        }) => r,
        _ => &empty,
    };
    let (deny, allow) = (rules_of("deny"), rules_of("allow"));
    let findings: Vec<(&FindingReport, Verdict)> = f
        .report
        .findings
        .iter()
        .map(|x| (x, verdict(deny, allow, x.code)))
        .collect();
    let mut checks = Vec::new();
    for s in policy.table(Table::Dockerfile) {
        let c = match (s.key.name, &s.value) {
            ("fail_on", Value::FailOn(t)) => {
                let failing: Vec<&FindingReport> = findings
                    .iter()
                    .filter(|(x, v)| *v != Verdict::Allowed && matches!(t, FailOn::At(sev) if x.severity >= *sev))
                    .map(|(x, _)| *x)
                    .collect();
                let passed = failing.is_empty();
                let msg = match t {
                    FailOn::Never => "findings never fail by severity".to_string(),
                    FailOn::At(sev) if passed => format!("no finding at or above {sev}"),
                    FailOn::At(sev) => {
                        format!(
                            "{} at or above {sev}: {}",
                            plural(failing.len(), "finding"),
                            list(&failing)
                        )
                    }
                };
                let mut c = result(s, Unit::Findings, json!(t.as_str()), json!(failing.len()), passed, msg);
                if let Some(first) = failing.first() {
                    c.location = at_finding(first);
                }
                c
            }
            ("deny", Value::Rules(r)) => {
                let hit: Vec<&FindingReport> = findings
                    .iter()
                    .filter(|(_, v)| *v == Verdict::Denied)
                    .map(|(x, _)| *x)
                    .collect();
                let passed = hit.is_empty();
                let msg = if passed {
                    "no finding of a denied rule".to_string()
                } else {
                    format!("{} of denied rules: {}", plural(hit.len(), "finding"), list(&hit))
                };
                let limit: Vec<&str> = r.iter().map(|(sel, _)| sel.as_str()).collect();
                let mut c = result(s, Unit::List, json!(limit), json!(hit.len()), passed, msg);
                if let Some(first) = hit.first() {
                    c.location = at_finding(first);
                }
                c
            }
            ("allow", Value::Rules(r)) => {
                let n = findings.iter().filter(|(_, v)| *v == Verdict::Allowed).count();
                let limit: Vec<&str> = r.iter().map(|(sel, _)| sel.as_str()).collect();
                let msg = format!("{} allowed", plural(n, "finding"));
                result(s, Unit::List, json!(limit), json!(n), true, msg)
            }
            ("max_estimated_saving_bytes", Value::Bytes(l)) => {
                let low = f.report.summary.estimated_saving.as_ref().map_or(0, |t| t.low_bytes.0);
                let mut c = size_check(s, *l, low, "the estimated saving (low end)");
                if !c.passed
                    && let Some(big) = f
                        .report
                        .findings
                        .iter()
                        .filter_map(|x| x.estimate.as_ref().map(|e| (e.low_bytes.0, x)))
                        .max_by_key(|(b, x)| (*b, std::cmp::Reverse(x.start_line)))
                {
                    c.location = at_finding(big.1);
                }
                c
            }
            ("allowed_bases" | "denied_bases", Value::Globs(globs)) => {
                let allowed = s.key.name == "allowed_bases";
                match &f.base {
                    Some(b) => {
                        let norm = glob::normalize_base(&b.image);
                        let hit = globs.iter().find(|g| glob::matches(g, &norm));
                        let passed = hit.is_some() == allowed;
                        let msg = match (hit, allowed) {
                            (Some(g), true) => format!("the final base `{}` matches `{g}`", b.image),
                            (None, true) => format!("the final base `{}` matches none of the allowed bases", b.image),
                            (Some(g), false) => format!("the final base `{}` matches the denied `{g}`", b.image),
                            (None, false) => format!("the final base `{}` matches no denied base", b.image),
                        };
                        let mut c = result(s, Unit::List, json!(globs), json!(b.image), passed, msg);
                        if !passed {
                            c.location = Location {
                                file: target.to_string(),
                                on_disk: true,
                                line: b.line,
                            };
                        }
                        c
                    }
                    None => result(
                        s,
                        Unit::List,
                        json!(globs),
                        Json::Null,
                        true,
                        "the Dockerfile has no stage".into(),
                    ),
                }
            }
            _ => continue,
        };
        checks.push(c);
    }
    TargetResult {
        target: target.to_string(),
        kind: TargetKind::Dockerfile,
        passed: checks.iter().all(|c| c.passed),
        checks,
        growth: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Files;

    fn policy(text: &str) -> Policy {
        let mut files = Files::new();
        let id = files.add("p.toml", text);
        super::super::policy::parse(&files, id, "p.toml", true).expect("valid")
    }

    fn facts() -> ImageFacts {
        ImageFacts {
            compressed_bytes: 1_000,
            tar_bytes: 3_000,
            layers: 2,
            largest_layer: Some((1, 2_000)),
            efficiency: 0.9,
            wasted_bytes: 100,
            user_wasted_fraction: None,
            reclaimable_bytes: 30,
            content_bytes: 2_900,
            package_cache_bytes: 0,
            user: Some("root:root".into()),
        }
    }

    #[test]
    fn limits_compare_as_documented() {
        let p = policy(
            "[image]\nmax_layer_bytes = 2000\nmin_efficiency = 0.9\nmax_user_wasted_percent = 50.0\nnon_root = true\n\
             [baseline]\nmax_growth_bytes = 0\nmax_growth_percent = 0.0\n",
        );
        let base = Baseline {
            name: "old".into(),
            compressed_bytes: 1_000,
        };
        let t = check_image(&p, "img", &facts(), Some(&base));
        let passed: Vec<(&str, bool)> = t.checks.iter().map(|c| (c.id.as_str(), c.passed)).collect();
        assert_eq!(
            passed,
            [
                ("image.max_layer_bytes", true),
                ("image.min_efficiency", true),
                // No bytes above layer 0 but 100 wasted: dive divides by zero and fails.
                ("image.max_user_wasted_percent", false),
                ("image.non_root", false),
                ("baseline.max_growth_bytes", true),
                ("baseline.max_growth_percent", true),
            ]
        );
        let empty = Baseline {
            name: "empty".into(),
            compressed_bytes: 0,
        };
        let t = check_image(&p, "img", &facts(), Some(&empty));
        let g = t
            .checks
            .iter()
            .find(|c| c.id == "baseline.max_growth_percent")
            .expect("set");
        assert_eq!((g.passed, &g.actual), (false, &Json::Null));
    }

    #[test]
    fn the_more_specific_of_deny_and_allow_wins() {
        let r = |sel: &str| (sel.to_string(), crate::rules::resolve(sel).expect("rule"));
        let deny = vec![r("DF2")];
        let allow = vec![r("DF201")];
        assert_eq!(verdict(&deny, &allow, "DF201"), Verdict::Allowed);
        assert_eq!(verdict(&deny, &allow, "DF202"), Verdict::Denied);
        assert_eq!(verdict(&allow, &deny, "DF201"), Verdict::Denied);
        assert_eq!(
            verdict(&[r("DF201")], &[r("apt-lists-not-removed")], "DF201"),
            Verdict::Denied
        );
        assert_eq!(verdict(&[], &[], "DF201"), Verdict::Neutral);
    }

    #[test]
    fn the_final_base_follows_stages_to_an_image() {
        let b = final_base(b"ARG V=3.12\nFROM python:${V}-slim AS base\nFROM base\nRUN true\n").expect("base");
        assert_eq!(
            b,
            FinalBase {
                image: "python:3.12-slim".into(),
                line: 3
            }
        );
    }
}
