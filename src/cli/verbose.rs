//! What `-v` says on stderr: the traces the library returns beside its reports
//! ([`crate::layers::Trace`], [`crate::analyze::Trace`], [`crate::plan::PlanTrace`]) in words.
//!
//! Owns: the wording, one `imgopt: ` line per fact. Does not: write (the lines go through
//! [`super::printer::Printer::verbose`], which shows control characters as `?` and says nothing
//! without `-v`), or compute anything the library did not return. Nothing here is a secret:
//! traces name where credentials came from, never what they are.

use std::fmt::Write as _;
use std::time::Duration;

use crate::analyze::{AnalyzeReport, ContextTrace, Trace as AnalyzeTrace};
use crate::layers::{LayerOrigin, Trace as LayersTrace};
use crate::limits::{Limit, LimitHit, LimitValue};
use crate::plan::{ExactOutcome, PlanReport, PlanTrace};
use crate::source::ImageSource;
use crate::source::registry::NetCounts;
use crate::units::ByteSize;

use super::printer::Printer;

/// Every `-v` line starts with this, so it stands apart from warnings and errors.
pub(crate) const PREFIX: &str = "imgopt: ";

/// Writes `lines` with `-v` (through the printer's sanitising).
pub(crate) fn print(printer: &Printer, lines: &[String]) {
    for l in lines {
        printer.verbose(&format!("{PREFIX}{l}"));
    }
}

/// `12.3 ms`, `1.24 s`.
pub(crate) fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn plural(n: impl Into<u64>, word: &str) -> String {
    irregular(n, word, &format!("{word}s"))
}

fn irregular(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

fn count(n: usize, word: &str) -> String {
    plural(n as u64, word)
}

/// What the image source is and where its credentials come from: said before reading, so a
/// run that fails (a 401, a missing blob) still shows it.
pub(crate) fn source(s: &impl ImageSource) -> Vec<String> {
    let mut out = vec![format!(
        "source: {} ({})",
        s.describe(),
        if s.is_local() { "local files" } else { "registry" }
    )];
    if let Some(c) = s.credential_source() {
        out.push(format!("credentials: {c}"));
    }
    out
}

/// The limits of one run, gathered from every trace it made (a plan's images, an analysis
/// and its `--image`), so `-v` says the values once and each hit once.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    values: std::collections::BTreeMap<Limit, String>,
    hits: Vec<LimitHit>,
}

impl Limits {
    /// Adds limits in effect (the first value given for a limit stays).
    pub(crate) fn values(&mut self, values: &[LimitValue]) -> &mut Self {
        for v in values {
            self.values.entry(v.limit).or_insert_with(|| v.value.clone());
        }
        self
    }

    /// Adds one limit in effect.
    pub(crate) fn value(&mut self, limit: Limit, value: impl Into<String>) -> &mut Self {
        self.values.entry(limit).or_insert_with(|| value.into());
        self
    }

    /// Adds limits reached (a repeat of one already there is dropped).
    pub(crate) fn hits(&mut self, hits: &[LimitHit]) -> &mut Self {
        for h in hits {
            if !self.hits.contains(h) {
                self.hits.push(h.clone());
            }
        }
        self
    }

    /// Adds what an image read used and reached.
    pub(crate) fn image(&mut self, t: &LayersTrace) -> &mut Self {
        self.values(&t.limits).hits(&t.limit_hits);
        for im in &t.images {
            self.hits(&im.limit_hits);
        }
        self
    }

    /// `limits: …` (one line, docs/limits.md order), then one `limit hit: …` line per hit.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.values.is_empty() {
            let shown: Vec<String> = self
                .values
                .iter()
                .map(|(l, v)| match l.flag() {
                    Some(f) => format!("{} {f} {v}", l.name()),
                    None => format!("{} {v}", l.name()),
                })
                .collect();
            out.push(format!("limits: {} (docs/limits.md)", shown.join(", ")));
        }
        out.extend(self.hits.iter().map(limit_hit));
        out
    }
}

/// `limit hit: package database file 64 MiB (no flag changes it): layer 1 (…): …`.
pub(crate) fn limit_hit(h: &LimitHit) -> String {
    let flag = h
        .limit
        .flag()
        .map_or_else(|| "no flag changes it".to_string(), |f| format!("{f} changes it"));
    format!("limit hit: {} {} ({flag}): {}", h.limit.name(), h.value, h.detail)
}

/// The limit that ended a failed run, if one did: the first error of the chain that knows
/// its docs/limits.md row. `-v` prints it as a `limit hit` line before the error itself.
pub(crate) fn ended_by(err: &anyhow::Error) -> Option<LimitHit> {
    err.chain().find_map(|e| {
        if let Some(e) = e.downcast_ref::<crate::layers::Error>() {
            e.limit_hit()
        } else if let Some(e) = e.downcast_ref::<crate::source::Error>() {
            e.limit_hit()
        } else if let Some(e) = e.downcast_ref::<crate::analyze::Error>() {
            e.limit_hit()
        } else if let Some(e) = e.downcast_ref::<crate::dockerfile::stages::Error>() {
            e.limit_hit()
        } else if let Some(e) = e.downcast_ref::<crate::context::Error>() {
            e.limit_hit()
        } else if let Some(e) = e.downcast_ref::<crate::plan::Error>() {
            e.limit_hit()
        } else {
            e.downcast_ref::<super::fs::TooLarge>()
                .map(super::fs::TooLarge::limit_hit)
        }
    })
}

/// The Dockerfile reader's limit (`crate::cli::input`).
pub(crate) fn dockerfile_limit() -> (Limit, String) {
    (Limit::Dockerfile, crate::limits::bytes(super::input::MAX_TEXT_BYTES))
}

/// What the network did.
pub(crate) fn network(n: &NetCounts) -> String {
    format!(
        "network: {} ({} manifest, {} token, {} blob), {} received; {}, {} ({} answered from the start)",
        plural(n.manifest_requests + n.token_requests + n.blob_requests, "request"),
        n.manifest_requests,
        n.token_requests,
        n.blob_requests,
        ByteSize(n.bytes),
        irregular(n.retries, "retry", "retries"),
        plural(n.resumes, "resumed range"),
        n.range_ignored
    )
}

/// `imgopt layers -v` after a successful read: how the reference was resolved, every layer,
/// the network, the phases ([`source`] comes first, before the read).
pub(crate) fn layers(t: &LayersTrace) -> Vec<String> {
    let mut out = Vec::new();
    let several = t.images.len() > 1;
    for (k, im) in t.images.iter().enumerate() {
        let tag = if several {
            format!("[{}/{}] ", k + 1, t.images.len())
        } else {
            String::new()
        };
        out.push(match &im.index {
            Some(ix) => {
                let index = ix
                    .digest
                    .as_ref()
                    .map_or_else(|| "index.json".to_string(), |d| format!("image index {d}"));
                let choice = match &ix.wanted {
                    Some(w) => format!("chose {} (wanted {w})", im.platform),
                    None if several => "every platform is read (--all-platforms)".to_string(),
                    None => "took its only entry, which names no platform".to_string(),
                };
                format!(
                    "{tag}resolved: {index} lists {}; {choice}",
                    count(ix.entries, "image manifest")
                )
            }
            None => format!("{tag}resolved: the source names one image manifest (no index)"),
        });
        out.push(format!(
            "{tag}manifest: {} ({}); platform {} (from the {})",
            im.manifest_digest,
            im.manifest_media_type,
            im.platform,
            if im.platform_from_index { "index" } else { "config" }
        ));
        out.push(format!(
            "{tag}config: {} (read in {})",
            im.config_digest,
            duration(im.config_time)
        ));
        for l in &im.layers {
            let verified = match (l.verified, l.origin) {
                (true, LayerOrigin::Cache) => "verified when cached",
                (true, _) => "verified",
                (false, _) => "not verified (--no-verify)",
            };
            out.push(format!(
                "{tag}layer {}: {}, {} stored, {} tar, {}; from {}, {verified}, {}",
                l.index,
                l.digest,
                ByteSize(l.compressed_bytes),
                ByteSize(l.tar_bytes),
                l.media_type,
                l.origin.as_str(),
                duration(l.elapsed)
            ));
        }
        let from = |o: LayerOrigin| im.layers.iter().filter(|l| l.origin == o).count();
        out.push(format!(
            "{tag}layers: {} ({} from the cache, {} from files, {} from the network), {} stored",
            im.layers.len(),
            from(LayerOrigin::Cache),
            from(LayerOrigin::File),
            from(LayerOrigin::Network),
            ByteSize(im.layers.iter().map(|l| l.compressed_bytes).sum())
        ));
        out.push(format!(
            "{tag}time: config {}, fetch+verify+scan {} (layers read concurrently), analysis {}",
            duration(im.config_time),
            duration(im.read_time),
            duration(im.analysis_time)
        ));
    }
    if let Some(n) = &t.net {
        out.push(network(n));
    }
    out.push(format!(
        "time: resolve {}, total {}",
        duration(t.resolve_time),
        duration(t.total_time)
    ));
    out
}

/// An image read beside other input (`analyze --image`, plan images): one summary line, and
/// the network's when it came from a registry.
pub(crate) fn image_brief(what: &str, t: &LayersTrace) -> Vec<String> {
    let mut out = Vec::new();
    for im in &t.images {
        let from = |o: LayerOrigin| im.layers.iter().filter(|l| l.origin == o).count();
        let (net, file) = (from(LayerOrigin::Network), from(LayerOrigin::File));
        out.push(format!(
            "{what}: {}, manifest {}, platform {}, {} ({} from files, {} from the network, {}), read in {}",
            t.source,
            im.manifest_digest,
            im.platform,
            count(im.layers.len(), "layer"),
            file,
            net,
            if im.layers.iter().all(|l| l.verified) {
                "all verified"
            } else {
                "not all verified"
            },
            duration(t.total_time)
        ));
    }
    if let Some(c) = t.credentials {
        out.push(format!("{what}: credentials: {c}"));
    }
    if let Some(n) = &t.net {
        out.push(format!("{what}: {}", network(n)));
    }
    out
}

/// `imgopt analyze -v`: per file, what was read, the stages, the context, the rules.
pub(crate) fn analyze(t: &AnalyzeTrace, report: &AnalyzeReport) -> Vec<String> {
    let mut out = vec![format!("rules: {} selected", t.rules)];
    for (i, f) in t.files.iter().enumerate() {
        let name = &f.name;
        out.push(format!("read {name} ({})", ByteSize(f.bytes as u64)));
        let target = match &f.target.1 {
            Some(n) => format!("stage {} `{n}`", f.target.0),
            None => format!("stage {}", f.target.0),
        };
        let shipping: Vec<String> = f.shipping.iter().map(ToString::to_string).collect();
        out.push(format!(
            "{name}: {}, {}; target {target}; stages that ship: {}",
            count(f.instructions, "instruction"),
            count(f.stages, "stage"),
            if shipping.is_empty() {
                "none".to_string()
            } else {
                shipping.join(", ")
            }
        ));
        let report_ctx = report.files.get(i).and_then(|r| r.context.as_ref());
        out.push(match (&f.context, report_ctx) {
            (
                ContextTrace::Read {
                    dir,
                    from_flag,
                    patterns,
                    reinclusions,
                },
                Some(c),
            ) => {
                let why = if *from_flag {
                    "--context"
                } else {
                    "the Dockerfile's folder"
                };
                let ignore = match &c.dockerignore {
                    Some(p) => format!(
                        "{p} with {} ({} re-including)",
                        count(*patterns, "pattern"),
                        reinclusions
                    ),
                    None => "no .dockerignore".to_string(),
                };
                let mut line = format!(
                    "{name}: context {dir} ({why}), {ignore}; {} sent ({}), {} ignored",
                    count(c.files, "file"),
                    c.bytes,
                    irregular(c.ignored_entries as u64, "entry", "entries")
                );
                if c.truncated {
                    line.push_str("; the walk stopped at its file limit");
                }
                line
            }
            (ContextTrace::Read { dir, .. }, None) => format!("{name}: context {dir}"),
            (ContextTrace::Disabled, _) => format!("{name}: no build context (--no-context)"),
            (ContextTrace::Stdin, _) => {
                format!("{name}: no build context (read from stdin; give --context DIR to read one)")
            }
        });
        let mut line = format!("{name}: {} run; ", count(t.rules, "rule"));
        if f.findings_by_rule.is_empty() {
            line.push_str("no findings");
        } else {
            let _ = write!(line, "findings per rule: {}", per_rule(&f.findings_by_rule));
        }
        if !f.suppressed_by_rule.is_empty() {
            let _ = write!(line, "; suppressed by comments: {}", per_rule(&f.suppressed_by_rule));
        }
        out.push(line);
        out.push(format!(
            "{name}: time: parse {}, context {}, stages and rules {}",
            duration(f.parse_time),
            duration(f.context_time),
            duration(f.rules_time)
        ));
    }
    out
}

/// `imgopt analyze --image -v`: what the image measured.
pub(crate) fn measured(report: &AnalyzeReport) -> Vec<String> {
    let mut out = Vec::new();
    for file in &report.files {
        let Some(im) = &file.image else { continue };
        let with_layers = im.instructions.iter().filter(|i| !i.measure.layers.is_empty()).count();
        let mut line = format!(
            "measured {} against {}: {}; {} of {} instructions of the target stage made layers",
            file.path,
            im.source,
            count(im.layers, "layer"),
            with_layers,
            im.instructions.len()
        );
        if let Some(b) = &im.base {
            let _ = write!(line, "; base {}: {}", b.reference, count(b.layers, "layer"));
        }
        out.push(line);
        for f in report.findings.iter().filter(|f| f.file == file.path) {
            let Some(m) = &f.measured else { continue };
            out.push(if m.bytes.0 > 0 {
                format!(
                    "measured {} (line {}): {} ({}){}",
                    f.code,
                    f.start_line,
                    m.bytes,
                    m.counted,
                    if m.replaced.is_some() {
                        ", replacing the estimate"
                    } else {
                        ""
                    }
                )
            } else {
                format!(
                    "measured {} (line {}): its layers show none ({}); the estimate is kept",
                    f.code, f.start_line, m.counted
                )
            });
        }
    }
    out
}

/// Whether the exact search ran.
fn searched(o: &ExactOutcome) -> bool {
    !matches!(o, ExactOutcome::NotNeeded | ExactOutcome::TooLarge { .. })
}

/// `DF201 2, DF301 1`: a count per rule code.
fn per_rule<K: std::fmt::Display>(counts: &std::collections::BTreeMap<K, usize>) -> String {
    counts
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn exact(o: &ExactOutcome) -> String {
    match o {
        ExactOutcome::NotNeeded => "not needed: the plan meets the lower bound (optimal)".to_string(),
        ExactOutcome::TooLarge { services, pods } => format!(
            "not tried: {} and {} are too many to search (the plan is heuristic)",
            count(*services, "service"),
            plural(*pods, "pod")
        ),
        ExactOutcome::Proven { explored } => {
            format!("finished after {}: proven optimal", plural(*explored, "search node"))
        }
        ExactOutcome::NodeLimit { explored } => format!(
            "stopped at --exact-node-limit ({}): not proven",
            plural(*explored, "search node")
        ),
        ExactOutcome::TimeLimit { explored } => format!(
            "stopped at its time budget after {}: not proven",
            plural(*explored, "search node")
        ),
        ExactOutcome::PatternLimit { explored } => format!(
            "stopped after {}: a node had too many fill patterns to enumerate, not proven",
            plural(*explored, "search node")
        ),
    }
}

/// `imgopt plan -v`: the input's size, per node type the bounds and how the plan was found,
/// the cheapest mix, and the phases.
pub(crate) fn plan(t: &PlanTrace, report: &PlanReport) -> Vec<String> {
    let mut out = vec![format!(
        "input: {}, {}, {} ({}), {}; {} to place",
        count(t.services, "service"),
        count(t.daemonsets, "DaemonSet"),
        count(t.images, "image"),
        count(t.layers, "distinct layer"),
        count(t.node_types.len(), "node type"),
        plural(t.pods, "pod")
    )];
    for tt in &t.node_types {
        let name = &tt.name;
        let Some(s) = &tt.search else {
            out.push(format!("node type {name}: no service fits it; nothing to plan"));
            continue;
        };
        let lp = match (s.lp_tried, s.lp) {
            (_, Some(b)) => b.to_string(),
            (false, None) => "not needed".to_string(),
            (true, None) => "not solved".to_string(),
        };
        let l2 = s
            .bounds
            .l2
            .map_or_else(|| "skipped (over 4,000 services)".to_string(), |b| b.to_string());
        let chosen = report.by_node_type.get(name);
        let mut line = format!(
            "node type {name}: lower bounds: volume {}, max_per_node {}, L2 {l2}, LP {lp}",
            s.bounds.volume, s.bounds.max_per_node
        );
        if let Some(c) = chosen {
            let spare = report.headroom.spare_nodes;
            let _ = write!(line, "; reported bound {}", c.lower_bound);
            if spare > 0 {
                let _ = write!(line, " ({spare} spare included)");
            }
        }
        out.push(line);
        let mut steps = format!("FFD {}", s.ffd_nodes);
        if let Some(h) = s.heuristic_nodes {
            let _ = write!(steps, ", heuristics {h}");
        }
        if let Some(l) = s.local_search_nodes {
            let _ = write!(steps, ", local search {l}");
        }
        let result = chosen.map_or_else(String::new, |c| {
            format!(
                "{} ({}), ",
                plural(c.nodes, "node"),
                if c.optimal { "optimal" } else { "not proven optimal" }
            )
        });
        out.push(format!(
            "node type {name}: {result}found by {} ({steps}); exact search: {}",
            s.found_by,
            exact(&s.exact)
        ));
        let ran = |yes: bool, d: Duration| {
            if yes { duration(d) } else { "not run".to_string() }
        };
        out.push(format!(
            "node type {name}: time: heuristics {}, local search {}, LP {}, exact search {}",
            duration(s.heuristic_time),
            ran(s.local_search_nodes.is_some(), s.local_search_time),
            ran(s.lp_tried, s.lp_time),
            ran(searched(&s.exact), s.exact_time)
        ));
    }
    if let Some((types, m)) = &t.mixed {
        let lp = |b: Option<f64>| b.map_or_else(|| "not solved".to_string(), |v| format!("${v:.4}/h"));
        out.push(format!(
            "cheapest mix over {}: lower bounds: unit price ${:.4}/h, configuration LP {}, assignment LP {}",
            types.join(", "),
            m.unit_price_bound,
            lp(m.pattern_lp),
            lp(m.assignment_lp)
        ));
        let result = report.cheapest.as_ref().map_or_else(String::new, |c| {
            format!(
                "${:.4}/h ({}), ",
                c.cost_per_hour,
                if c.optimal { "optimal" } else { "not proven optimal" }
            )
        });
        out.push(format!(
            "cheapest mix: {result}found by {}; exact search: {}",
            m.found_by,
            exact(&m.exact)
        ));
        out.push(format!(
            "cheapest mix: time: heuristics {}, LPs {}, exact search {}",
            duration(m.heuristic_time),
            duration(m.lp_time),
            if searched(&m.exact) {
                duration(m.exact_time)
            } else {
                "not run".to_string()
            }
        ));
    } else {
        out.push("cheapest mix: not planned (no node type has a price)".to_string());
    }
    out.push(format!(
        "time: fit {}, single-type plans {} (node types in parallel), cheapest mix {}",
        duration(t.fit_time),
        duration(t.single_time),
        duration(t.mixed_time)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_plurals_read_well() {
        assert_eq!(duration(Duration::from_micros(1234)), "1.2 ms");
        assert_eq!(duration(Duration::from_millis(2500)), "2.50 s");
        assert_eq!(plural(1u64, "layer"), "1 layer");
        assert_eq!(count(3, "layer"), "3 layers");
    }

    #[test]
    fn limits_are_said_once_in_docs_order_and_hits_once_each() {
        let mut l = Limits::default();
        l.values(&[
            LimitValue::new(Limit::RunDeadline, "30m"),
            LimitValue::new(Limit::ManifestBody, "4 MiB"),
        ])
        .value(Limit::RunDeadline, "2h")
        .value(Limit::Dockerfile, "64 MiB");
        let hit = LimitHit::new(Limit::Timeout, "1s", "r@sha256:x: stalled");
        l.hits(std::slice::from_ref(&hit)).hits(std::slice::from_ref(&hit));
        assert_eq!(
            l.lines(),
            [
                "limits: manifest body 4 MiB, run --max-time 30m, Dockerfile 64 MiB (docs/limits.md)",
                "limit hit: stall 1s (--timeout changes it): r@sha256:x: stalled",
            ]
        );
        assert!(Limits::default().lines().is_empty());
    }

    #[test]
    fn exact_outcomes_say_whether_the_plan_is_proven() {
        assert!(exact(&ExactOutcome::Proven { explored: 12 }).contains("proven optimal"));
        assert!(
            exact(&ExactOutcome::NodeLimit { explored: 5 }).contains("--exact-node-limit (5 search nodes): not proven")
        );
        assert!(exact(&ExactOutcome::TimeLimit { explored: 5 }).contains("time budget"));
        assert!(
            exact(&ExactOutcome::TooLarge {
                services: 20,
                pods: 900
            })
            .starts_with("not tried")
        );
    }
}
