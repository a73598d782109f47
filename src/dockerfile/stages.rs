//! The stage model, the one `parse`, the rules, `analyze` and the reports share: which `FROM`
//! starts which stage, what each stage is built on, which earlier stages it needs (`FROM
//! <stage>`, `COPY --from`, `RUN --mount=...,from=`), which stages the chosen target needs at
//! all, and which ones end up in the target image.
//!
//! Owns: [`Stage`], [`Stages::build`]. Base images are expanded the way BuildKit
//! expands `FROM`: with the global `ARG`s (those before the first `FROM`), their defaults
//! overridden by `--build-arg` values for declared names.
//! Does not: parse (see [`super::parse()`]), resolve images in a registry, or evaluate
//! variables inside stages.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;

use super::{Dockerfile, Instruction, Keyword, Span};

/// Options that change the stage graph: the target and `--build-arg` values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageOptions {
    /// The stage to build (`--target`); the last stage when `None`.
    pub target: Option<String>,
    /// `--build-arg NAME=VALUE` overrides for global `ARG`s.
    pub build_args: BTreeMap<String, String>,
}

/// How a stage uses another stage or image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// `FROM <earlier stage>`.
    From,
    /// `COPY --from=...`.
    CopyFrom,
    /// `RUN --mount=...,from=...`.
    MountFrom,
}

/// One use of another stage (or an external image) by a stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// How it is used.
    pub kind: DependencyKind,
    /// The reference as written (`build`, `0`, `alpine:3.20`).
    pub reference: String,
    /// The stage it names, if it names one; `None` for an external image.
    pub stage: Option<usize>,
    /// Index of the instruction that creates the dependency.
    pub instruction: usize,
    /// Span of the flag or image word.
    pub span: Span,
}

/// One build stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// 0-based position.
    pub index: usize,
    /// `AS name` (lower-cased, as BuildKit compares stage names).
    pub name: Option<String>,
    /// The base image exactly as written after `FROM`.
    pub base: String,
    /// The base with global ARG defaults and `--build-arg` overrides expanded.
    pub base_expanded: String,
    /// The earlier stage the base names, if any. A base named through BuildKit's automatic
    /// platform arguments (`FROM runtime-$TARGETARCH`) names the stage of the first platform
    /// that has one, in [`PLATFORM_ARCHES`] order (amd64 first, the default of most builders).
    pub base_stage: Option<usize>,
    /// The stages the same base names on the other platforms (`runtime-arm64` beside
    /// `runtime-amd64`): they ship in the image built for those platforms.
    #[serde(skip)]
    pub platform_bases: Vec<usize>,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// Indices (into [`Dockerfile::instructions`]) of this stage's instructions, its `FROM`
    /// included.
    pub instructions: Range<usize>,
    /// Everything this stage uses from other stages or images, in file order.
    pub dependencies: Vec<Dependency>,
    /// The stages it needs directly (sorted, unique).
    pub depends_on: Vec<usize>,
    /// The stages it copies or mounts from (`depends_on` without its base stage).
    pub copies_from: Vec<usize>,
    /// Whether building the target needs this stage (the target itself included).
    pub reaches_target: bool,
    /// Whether its filesystem is part of the target image: the target and its `FROM` chain,
    /// and stages copied from wholesale (`COPY --from=x / /`) into one of those.
    pub ships: bool,
}

impl Stage {
    /// Number of instructions, `FROM` included.
    #[must_use]
    pub fn instruction_count(&self) -> usize {
        self.instructions.len()
    }
}

/// All stages of a Dockerfile and the chosen target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stages {
    /// Indices of the global `ARG` instructions (before the first `FROM`).
    pub global_args: Vec<usize>,
    /// Global ARG values after defaults and overrides (unset ones are absent).
    pub global_arg_values: BTreeMap<String, String>,
    /// The stages in file order.
    pub stages: Vec<Stage>,
    /// Index of the target stage.
    pub target: usize,
}

/// Why a stage graph cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No `FROM` at all.
    #[error("the Dockerfile has no FROM instruction, so it has no stages")]
    NoStages,
    /// `--target` names no stage.
    #[error("target stage {name:?} not found (stages: {available})")]
    UnknownTarget {
        /// The requested name.
        name: String,
        /// The stage names there are, comma-separated.
        available: String,
    },
    /// An `ARG` default or a `FROM` base expands to more than [`MAX_EXPANDED`] bytes.
    #[error("line {line}: {what} expands to more than 1 MiB (the limit for an expanded value)")]
    TooLong {
        /// `ARG NAME` or `the FROM image`.
        what: String,
        /// 1-based line of the instruction.
        line: usize,
    },
}

impl Error {
    /// The limit of docs/limits.md this error is, if it is one (for `-v`).
    #[must_use]
    pub fn limit_hit(&self) -> Option<crate::limits::LimitHit> {
        match self {
            Error::TooLong { what, line } => Some(crate::limits::LimitHit::new(
                crate::limits::Limit::ArgExpansion,
                crate::limits::bytes(MAX_EXPANDED as u64),
                format!("line {line}: {what}: ended the run"),
            )),
            _ => None,
        }
    }
}

/// The longest value an `ARG` default or a `FROM` base may expand to, in bytes. Expansion
/// can double a value per line (`ARG A=$A$A`), so without a cap 30 short lines ask for
/// gigabytes; 1 MiB is far above any real image reference or ARG value (a Dockerfile line is
/// at most 64 KiB in BuildKit's parser).
pub const MAX_EXPANDED: usize = 1 << 20;

/// Expansion stopped at [`MAX_EXPANDED`] bytes.
#[derive(Debug)]
struct TooLong;

/// Expands `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}` and
/// `${NAME+alt}` against `vars`; unknown names expand to nothing, quotes are removed and
/// backslash escapes honoured (what BuildKit does to a `FROM` argument). Fails once the
/// result would pass [`MAX_EXPANDED`] bytes.
/// The architectures BuildKit's automatic `TARGETARCH` and `BUILDARCH` take
/// (<https://docs.docker.com/build/building/variables/#multi-platform-build-arguments>),
/// amd64 first.
pub const PLATFORM_ARCHES: &[&str] = &["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"];

/// The earlier stages a `FROM` base names once BuildKit's automatic platform arguments
/// (`TARGETARCH`, `TARGETOS`, `BUILDARCH`, `BUILDOS`; in scope for `FROM` without an `ARG`)
/// take each platform's value, in [`PLATFORM_ARCHES`] order, each stage once. A value the
/// file or `--build-arg` gives is kept.
fn platform_stages(
    base: &str,
    platform_vars: &[BTreeMap<String, String>],
    escape: char,
    lookup: impl Fn(&str) -> Option<usize>,
) -> Vec<usize> {
    let mut out = Vec::new();
    for v in platform_vars {
        if let Ok(e) = expand(base, v, escape)
            && let Some(s) = lookup(&e)
            && !out.contains(&s)
        {
            out.push(s);
        }
    }
    out
}

/// BuildKit's automatic platform arguments that a stage name can hold.
const PLATFORM_ARG_NAMES: &[&str] = &["TARGETARCH", "TARGETOS", "BUILDARCH", "BUILDOS"];

/// The global variables once per platform of [`PLATFORM_ARCHES`], with the automatic platform
/// arguments added where the file or `--build-arg` does not set them.
fn platform_vars(vars: &BTreeMap<String, String>) -> Vec<BTreeMap<String, String>> {
    PLATFORM_ARCHES
        .iter()
        .map(|arch| {
            let mut v = vars.clone();
            for (name, value) in [
                ("TARGETARCH", *arch),
                ("BUILDARCH", *arch),
                ("TARGETOS", "linux"),
                ("BUILDOS", "linux"),
            ] {
                v.entry(name.to_string()).or_insert_with(|| value.to_string());
            }
            v
        })
        .collect()
}

fn expand(word: &str, vars: &BTreeMap<String, String>, escape: char) -> Result<String, TooLong> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    expand_into(&chars, &mut 0, vars, escape, None, &mut out, 0);
    if out.len() > MAX_EXPANDED {
        return Err(TooLong);
    }
    Ok(out)
}

fn expand_into(
    c: &[char],
    i: &mut usize,
    vars: &BTreeMap<String, String>,
    escape: char,
    stop: Option<char>,
    out: &mut String,
    depth: usize,
) {
    let mut quote: Option<char> = None;
    while *i < c.len() {
        if out.len() > MAX_EXPANDED {
            // Over the cap: the caller reports it; stop before anything grows further.
            *i = c.len();
            return;
        }
        let ch = c[*i];
        if quote.is_none() && stop == Some(ch) {
            *i += 1;
            return;
        }
        match ch {
            '\'' if quote != Some('"') => {
                quote = if quote == Some('\'') { None } else { Some('\'') };
                *i += 1;
            }
            '"' if quote != Some('\'') => {
                quote = if quote == Some('"') { None } else { Some('"') };
                *i += 1;
            }
            _ if ch == escape && quote != Some('\'') && *i + 1 < c.len() => {
                out.push(c[*i + 1]);
                *i += 2;
            }
            '$' if quote != Some('\'') => {
                *i += 1;
                if c.get(*i) == Some(&'{') {
                    *i += 1;
                    let start = *i;
                    while *i < c.len() && (c[*i].is_alphanumeric() || c[*i] == '_') {
                        *i += 1;
                    }
                    let name: String = c[start..*i].iter().collect();
                    let value = vars.get(&name);
                    let colon = c.get(*i) == Some(&':');
                    if colon {
                        *i += 1;
                    }
                    match c.get(*i) {
                        Some('}') => {
                            *i += 1;
                            out.push_str(value.map_or("", String::as_str));
                        }
                        Some(&m @ ('-' | '+')) if depth < 64 => {
                            *i += 1;
                            let mut alt = String::new();
                            expand_into(c, i, vars, escape, Some('}'), &mut alt, depth + 1);
                            if alt.len() > MAX_EXPANDED {
                                out.push_str(&alt);
                                return;
                            }
                            let set = value.is_some_and(|v| !colon || !v.is_empty());
                            let v = match (m, set) {
                                ('-', true) | ('+', false) => value.cloned().unwrap_or_default(),
                                ('-', false) | ('+', true) => alt,
                                _ => String::new(),
                            };
                            // `${X:+alt}` with X unset gives nothing, not X's value.
                            out.push_str(if m == '+' && !set { "" } else { &v });
                        }
                        _ => {
                            // Unsupported form: skip to the closing brace.
                            while *i < c.len() && c[*i] != '}' {
                                *i += 1;
                            }
                            *i += 1;
                            out.push_str(value.map_or("", String::as_str));
                        }
                    }
                } else {
                    let start = *i;
                    while *i < c.len() && (c[*i].is_alphanumeric() || c[*i] == '_') {
                        *i += 1;
                    }
                    if *i == start {
                        out.push('$');
                    } else {
                        let name: String = c[start..*i].iter().collect();
                        out.push_str(vars.get(&name).map_or("", String::as_str));
                    }
                }
            }
            _ => {
                out.push(ch);
                *i += 1;
            }
        }
    }
}

/// Splits an ARG word into name and optional default (quotes in the default removed).
fn arg_pair(word: &str, vars: &BTreeMap<String, String>, escape: char) -> Result<(String, Option<String>), String> {
    match word.split_once('=') {
        Some((k, v)) => match expand(v, vars, escape) {
            Ok(v) => Ok((k.to_string(), Some(v))),
            Err(TooLong) => Err(k.to_string()),
        },
        None => Ok((word.to_string(), None)),
    }
}

/// The `from=` value inside a `--mount` flag value, with its byte offset in the value.
fn mount_from(value: &str) -> Option<(String, usize)> {
    let mut off = 0;
    for part in value.split(',') {
        let p = part.trim();
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("from")
        {
            return Some((v.trim().to_string(), off + part.find('=').map_or(0, |x| x + 1)));
        }
        off += part.len() + 1;
    }
    None
}

impl Stages {
    /// Builds the stage graph of `df`.
    ///
    /// # Errors
    /// [`Error::NoStages`] without any `FROM`; [`Error::UnknownTarget`] when
    /// `opts.target` names no stage.
    pub fn build(df: &Dockerfile, opts: &StageOptions) -> Result<Self, Error> {
        let escape = df.escape;
        let first_from = df
            .instructions
            .iter()
            .position(|i| i.keyword == Keyword::From)
            .ok_or(Error::NoStages)?;
        let mut global_args = Vec::new();
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for (idx, ins) in df.instructions[..first_from].iter().enumerate() {
            if ins.keyword != Keyword::Arg {
                continue;
            }
            global_args.push(idx);
            for a in &ins.args {
                let (name, default) = arg_pair(&a.value.text(), &vars, escape).map_err(|name| Error::TooLong {
                    what: format!("ARG {name}"),
                    line: ins.start_line,
                })?;
                let value = opts.build_args.get(&name).cloned().or(default);
                match value {
                    Some(v) => {
                        vars.insert(name, v);
                    }
                    None => {
                        vars.remove(&name);
                    }
                }
            }
        }
        let froms: Vec<usize> = df
            .instructions
            .iter()
            .enumerate()
            .filter(|(_, i)| i.keyword == Keyword::From)
            .map(|(n, _)| n)
            .collect();
        let mut stages: Vec<Stage> = Vec::with_capacity(froms.len());
        // Lower-cased stage name -> first stage with that name (a name lookup must not scan
        // every earlier stage: files with thousands of stages stay linear).
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        let mut per_platform: Option<Vec<BTreeMap<String, String>>> = None;
        for (si, &fi) in froms.iter().enumerate() {
            let end = froms.get(si + 1).copied().unwrap_or(df.instructions.len());
            let from = &df.instructions[fi];
            let base = from.args.first().map(|a| a.value.to_string()).unwrap_or_default();
            let base_expanded = expand(&base, &vars, escape).map_err(|TooLong| Error::TooLong {
                what: "the FROM image".to_string(),
                line: from.start_line,
            })?;
            let name = match from.args.get(1..3) {
                Some([as_kw, n]) if as_kw.value.text().eq_ignore_ascii_case("as") => {
                    Some(n.value.text().to_ascii_lowercase())
                }
                _ => None,
            };
            let platform = from.flag("platform").and_then(|f| f.value()).map(str::to_owned);
            let mut stage = Stage {
                index: si,
                name,
                base,
                base_expanded,
                base_stage: None,
                platform_bases: Vec::new(),
                platform,
                instructions: fi..end,
                dependencies: Vec::new(),
                depends_on: Vec::new(),
                copies_from: Vec::new(),
                reaches_target: false,
                ships: false,
            };
            let lookup = |r: &str| -> Option<usize> { by_name.get(&r.to_ascii_lowercase()).copied() };
            let mut bases: Vec<usize> = lookup(&stage.base_expanded).into_iter().collect();
            if bases.is_empty() && PLATFORM_ARG_NAMES.iter().any(|n| stage.base.contains(n)) {
                // Built once, on the first base that needs them (the global variables do not
                // change between stages).
                let pv = per_platform.get_or_insert_with(|| platform_vars(&vars));
                bases = platform_stages(&stage.base, pv, escape, lookup);
            }
            if let Some((&s, rest)) = bases.split_first() {
                stage.base_stage = Some(s);
                stage.platform_bases = rest.to_vec();
                for &b in &bases {
                    stage.dependencies.push(Dependency {
                        kind: DependencyKind::From,
                        reference: stage.base.clone(),
                        stage: Some(b),
                        instruction: fi,
                        span: from.args.first().map_or(from.span, |a| a.span),
                    });
                }
            }
            for (ii, ins) in df.instructions[fi + 1..end].iter().enumerate() {
                let idx = fi + 1 + ii;
                collect_deps(ins, idx, &mut stage.dependencies, |r| {
                    if !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()) {
                        r.parse::<usize>().ok().filter(|&n| n < si)
                    } else {
                        lookup(r)
                    }
                });
            }
            let mut deps: Vec<usize> = stage.dependencies.iter().filter_map(|d| d.stage).collect();
            deps.sort_unstable();
            deps.dedup();
            stage.copies_from = deps.iter().copied().filter(|d| Some(*d) != stage.base_stage).collect();
            stage.depends_on = deps;
            if let Some(n) = &stage.name {
                by_name.entry(n.clone()).or_insert(si);
            }
            stages.push(stage);
        }
        let target = match &opts.target {
            None => stages.len() - 1,
            Some(t) => {
                let lt = t.to_ascii_lowercase();
                stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(lt.as_str()))
                    .ok_or_else(|| Error::UnknownTarget {
                        name: t.clone(),
                        available: stages
                            .iter()
                            .map(|s| s.name.clone().unwrap_or_else(|| s.index.to_string()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
            }
        };
        let mut todo = vec![target];
        while let Some(s) = todo.pop() {
            if stages[s].reaches_target {
                continue;
            }
            stages[s].reaches_target = true;
            todo.extend(stages[s].depends_on.iter().copied());
        }
        mark_shipping(df, &mut stages, target);
        Ok(Self {
            global_args,
            global_arg_values: vars,
            stages,
            target,
        })
    }

    /// The stage an instruction index belongs to (`None` for global ARGs).
    #[must_use]
    pub fn stage_of(&self, instruction: usize) -> Option<&Stage> {
        // Stages cover consecutive instruction ranges in order: a binary search.
        let i = self.stages.partition_point(|s| s.instructions.end <= instruction);
        self.stages.get(i).filter(|s| s.instructions.contains(&instruction))
    }
}

/// Marks the stages whose filesystem is in the target image: the target's `FROM` chain and,
/// recursively, stages copied wholesale (`COPY --from=x / /`) into a shipping stage.
fn mark_shipping(df: &Dockerfile, stages: &mut [Stage], target: usize) {
    let mut stack = vec![target];
    while let Some(s) = stack.pop() {
        if stages[s].ships {
            continue;
        }
        stages[s].ships = true;
        stack.extend(stages[s].base_stage);
        stack.extend(stages[s].platform_bases.iter().copied());
        for d in stages[s]
            .dependencies
            .iter()
            .filter(|d| d.kind == DependencyKind::CopyFrom)
        {
            let Some(from) = d.stage else { continue };
            let vals = df.instructions[d.instruction].values();
            if vals.len() >= 2 && vals[..vals.len() - 1].iter().any(|v| *v == "/" || *v == "/.") {
                stack.push(from);
            }
        }
    }
}

fn collect_deps(ins: &Instruction<'_>, idx: usize, out: &mut Vec<Dependency>, resolve: impl Fn(&str) -> Option<usize>) {
    match ins.keyword {
        Keyword::Copy => {
            for f in ins.flags_named("from") {
                let r = f.value().unwrap_or_default().to_owned();
                out.push(Dependency {
                    kind: DependencyKind::CopyFrom,
                    stage: resolve(&r),
                    reference: r,
                    instruction: idx,
                    span: f.span,
                });
            }
        }
        Keyword::Run => {
            for f in ins.flags_named("mount") {
                if let Some((r, _)) = f.value().and_then(mount_from) {
                    out.push(Dependency {
                        kind: DependencyKind::MountFrom,
                        stage: resolve(&r),
                        reference: r,
                        instruction: idx,
                        span: f.span,
                    });
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    fn stages(src: &str, target: Option<&str>, args: &[(&str, &str)]) -> Result<Stages, Error> {
        let df = parse(src.as_bytes()).unwrap();
        let opts = StageOptions {
            target: target.map(String::from),
            build_args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        Stages::build(&df, &opts)
    }

    const MULTI: &str = "ARG GO=1.22\nARG BASE\nFROM golang:${GO}-alpine AS build\nRUN go build\n\
        FROM build AS test\nRUN go test\nFROM alpine AS tools\nRUN --mount=type=cache,target=/c,from=build true\n\
        FROM scratch\nCOPY --from=build /app /app\nCOPY --from=busybox:1 /bin/sh /sh\n";

    #[test]
    fn stage_of_and_repeated_names() {
        // Instructions 0-1 are global ARGs; stages start at 2, 4, 6 and 8.
        let s = stages(MULTI, None, &[]).unwrap();
        let of: Vec<Option<usize>> = (0..12).map(|i| s.stage_of(i).map(|x| x.index)).collect();
        assert_eq!(
            of,
            [
                None,
                None,
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(3),
                Some(3),
                Some(3),
                None
            ]
        );
        // A name used twice: references resolve to the first stage of that name before them.
        let s = stages("FROM a AS x\nFROM b AS x\nFROM c\nCOPY --from=X /a /a\n", None, &[]).unwrap();
        assert_eq!(s.stages[2].depends_on, [0]);
    }

    #[test]
    fn bases_named_by_platform_arguments_ship_on_every_platform() {
        let src = "FROM alpine:3.20 AS runtime-arm64\nFROM alpine:3.20 AS runtime-amd64\nFROM alpine:3.20 AS unused\nFROM runtime-$TARGETARCH\n";
        let s = stages(src, None, &[]).unwrap();
        // amd64 first (the default platform of most builders), arm64 beside it.
        assert_eq!(s.stages[3].base_stage, Some(1));
        assert_eq!(s.stages[3].platform_bases, [0]);
        assert!(s.stages[0].ships && s.stages[1].ships && !s.stages[2].ships);
        assert!(s.stages[0].reaches_target && !s.stages[2].reaches_target);
        // A value the file gives wins over the automatic one.
        let s = stages(&format!("ARG TARGETARCH=arm64\n{src}"), None, &[]).unwrap();
        assert_eq!(s.stages[3].base_stage, Some(0));
        assert!(s.stages[3].platform_bases.is_empty());
    }

    #[test]
    fn expands_bases_and_finds_dependencies() {
        let s = stages(MULTI, None, &[]).unwrap();
        assert_eq!(s.global_args, [0, 1]);
        assert_eq!(s.stages.len(), 4);
        assert_eq!(s.stages[0].base_expanded, "golang:1.22-alpine");
        assert_eq!(s.stages[1].base_stage, Some(0));
        assert_eq!(s.stages[2].depends_on, [0]);
        assert_eq!(s.stages[3].depends_on, [0]);
        assert_eq!(s.stages[3].dependencies[1].stage, None, "busybox:1 is an image");
        let reach: Vec<bool> = s.stages.iter().map(|x| x.reaches_target).collect();
        assert_eq!(reach, [true, false, false, true]);
        assert_eq!(s.stages[3].instructions, 8..11);
        // `scratch` copies a file from `build`: only the target ships.
        let ships: Vec<bool> = s.stages.iter().map(|x| x.ships).collect();
        assert_eq!(ships, [false, false, false, true]);
        assert_eq!(s.stages[1].copies_from, Vec::<usize>::new());
        assert_eq!(s.stages[2].copies_from, [0]);
    }

    #[test]
    fn shipping_follows_from_chains_and_wholesale_copies() {
        let src = "FROM a AS base\nFROM base AS mid\nFROM b AS whole\nFROM c AS part\n\
            FROM mid\nCOPY --from=whole / /\nCOPY --from=part /bin/x /x\n";
        let s = stages(src, None, &[]).unwrap();
        let ships: Vec<bool> = s.stages.iter().map(|x| x.ships).collect();
        assert_eq!(ships, [true, true, true, false, true]);
        assert_eq!(s.stages[4].copies_from, [2, 3]);
    }

    #[test]
    fn target_and_build_args() {
        let s = stages(MULTI, Some("TEST"), &[("GO", "1.23"), ("UNDECLARED", "x")]).unwrap();
        assert_eq!(s.target, 1);
        assert_eq!(s.stages[0].base_expanded, "golang:1.23-alpine");
        assert!(!s.global_arg_values.contains_key("UNDECLARED"));
        let reach: Vec<bool> = s.stages.iter().map(|x| x.reaches_target).collect();
        assert_eq!(reach, [true, true, false, false]);
        assert!(matches!(
            stages(MULTI, Some("nope"), &[]),
            Err(Error::UnknownTarget { .. })
        ));
    }

    #[test]
    fn doubling_args_stop_at_the_cap_with_the_line() {
        // 40 doublings would be 2^40 bytes; the cap stops it at the 21st line (2^21 > 1 MiB).
        let mut src = String::from("ARG A=x\n");
        for _ in 0..40 {
            src.push_str("ARG A=$A$A\n");
        }
        src.push_str("FROM scratch\n");
        let err = stages(&src, None, &[]).unwrap_err();
        assert_eq!(
            err,
            Error::TooLong {
                what: "ARG A".into(),
                line: 22
            }
        );
        assert!(err.to_string().starts_with("line 22: ARG A expands to more than 1 MiB"));
        // One value under the cap, referenced many times in one FROM: the FROM is refused.
        let mut src = String::from("ARG A=x\n");
        for _ in 0..19 {
            src.push_str("ARG A=$A$A\n");
        }
        src.push_str("FROM ");
        src.push_str(&"${A}".repeat(64));
        src.push('\n');
        assert!(matches!(stages(&src, None, &[]), Err(Error::TooLong { line: 21, .. })));
        // The same inside `${X:-...}` defaults.
        let src = format!(
            "ARG A={}\nARG B=${{U:-{}}}\nFROM scratch\n",
            "y".repeat(60_000),
            "$A".repeat(20)
        );
        assert!(matches!(stages(&src, None, &[]), Err(Error::TooLong { line: 2, .. })));
    }

    #[test]
    fn expansion_forms() {
        let vars: BTreeMap<String, String> = [("A".to_string(), "a".to_string()), ("E".to_string(), String::new())]
            .into_iter()
            .collect();
        assert_eq!(
            expand("${A}-$A-${B:-d}-${E:-d}-${E-d}-${A:+p}-${B:+p}", &vars, '\\').unwrap(),
            "a-a-d-d--p-"
        );
        assert_eq!(expand("\"x y\"", &vars, '\\').unwrap(), "x y");
    }
}
