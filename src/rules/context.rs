//! What a rule sees: the parsed file and its text, the stages (which ones reach the target and
//! which ones ship in the final image), ARG/ENV scope, the shell commands of every `RUN`, and
//! the build context when there is one.
//!
//! Owns: [`RuleContext`] and what rules derive from the stage model
//! ([`crate::dockerfile::stages::Stage`]): development targets, the shell of each `RUN`, ARG
//! and ENV scope.
//! Does not: parse (see `dockerfile`) or decide findings (see the rule files).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::catalog::ImageRef;
use crate::context::BuildContext;
use crate::dockerfile::shell::{self, Command};
use crate::dockerfile::stages::Stage;
use crate::dockerfile::{Dockerfile, Instruction, Keyword, Span, StageOptions, Stages};

/// The image a stage is built from: `None` when its `FROM` names an earlier stage or the
/// expanded base is not an image reference.
#[must_use]
pub fn base_image(st: &Stage) -> Option<ImageRef> {
    if st.base_stage.is_some() {
        None
    } else {
        ImageRef::parse(&st.base_expanded)
    }
}

/// The sources a `COPY` or `ADD` takes from the build context, as written (URLs included):
/// none for other instructions, `--from` copies and heredocs.
#[must_use]
pub fn context_sources<'i>(inst: &'i Instruction<'_>) -> Vec<Cow<'i, str>> {
    if !matches!(inst.keyword, Keyword::Copy | Keyword::Add) || inst.flag("from").is_some() || !inst.heredocs.is_empty()
    {
        return Vec::new();
    }
    let mut v = inst.values();
    v.pop(); // the destination
    v
}

/// Everything a rule may look at.
pub struct RuleContext<'a> {
    /// The file's text (spans index into it).
    pub src: &'a str,
    /// The parsed file.
    pub dockerfile: &'a Dockerfile<'a>,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// The target stage index.
    pub target: usize,
    /// Stage index of each instruction (`None` before the first `FROM`).
    pub stage_of: Vec<Option<usize>>,
    /// Shell commands of each `RUN` (empty for other instructions and exec form).
    pub commands: Vec<Vec<Command>>,
    /// Global ARG values (defaults before the first FROM, overridden by `--build-arg`).
    pub global_args: BTreeMap<String, String>,
    /// The build context, when one was read.
    pub build_context: Option<&'a BuildContext>,
    /// The target is a product image, not a development one: its name is not `dev`,
    /// `build`, `test`, `lint`, `validate`, ... Size rules skip development targets.
    pub product: bool,
    /// The target is a product image that runs something (its stage chain has `CMD` or
    /// `ENTRYPOINT`): rules about what a runtime image should not carry apply.
    pub runtime: bool,
}

/// Words in a target stage name that mark a development or CI image rather than a product.
const DEV_WORDS: &[&str] = &[
    "dev",
    "devcontainer",
    "development",
    "build",
    "builder",
    "test",
    "tests",
    "testing",
    "lint",
    "validate",
    "validation",
    "generate",
    "generated",
    "vendor",
    "vendored",
    "tools",
    "toolchain",
    "debug",
    "sdk",
    "shell",
    "ci",
    "upload",
    "artifact",
    "artifacts",
];

impl<'a> RuleContext<'a> {
    /// Builds the context. `target` names a stage (`--target`); `None` means the last stage.
    pub fn new(
        src: &'a str,
        dockerfile: &'a Dockerfile<'a>,
        target: Option<&str>,
        build_args: &BTreeMap<String, String>,
        build_context: Option<&'a BuildContext>,
    ) -> Result<Self, String> {
        let ins = &dockerfile.instructions;
        // The stage graph is the parser's (dockerfile::stages); `ships` is imgopt's own.
        let graph = Stages::build(
            dockerfile,
            &StageOptions {
                target: target.map(str::to_string),
                build_args: build_args.clone(),
            },
        )
        .map_err(|e| e.to_string())?;
        let Stages {
            global_arg_values: global_args,
            stages,
            target,
            ..
        } = graph;
        let mut stage_of = vec![None; ins.len()];
        for s in &stages {
            for i in s.instructions.clone() {
                stage_of[i] = Some(s.index);
            }
        }
        // RUNs of a non-POSIX shell (`SHELL ["powershell", ...]`, `cmd`, or a file using the
        // backtick escape, which Windows Dockerfiles do) are not split: rules say nothing.
        let posix = |s: usize, at: usize| -> bool {
            if dockerfile.escape == '`' {
                return false;
            }
            let mut cur = Some(s);
            let mut seen = Vec::new();
            while let Some(st) = cur {
                if seen.contains(&st) {
                    break;
                }
                seen.push(st);
                let r = stages[st].instructions.clone();
                let end = if st == s { at } else { r.end };
                if let Some(sh) = (r.start..end).rev().find(|&k| ins[k].keyword == Keyword::Shell) {
                    let prog = ins[sh].args.first().map(|a| a.value.text());
                    let prog = prog.as_deref().unwrap_or("");
                    let base = prog.rsplit(['/', '\\']).next().unwrap_or(prog).to_ascii_lowercase();
                    return matches!(
                        base.as_str(),
                        "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh" | "busybox"
                    );
                }
                cur = stages[st].base_stage;
            }
            true
        };
        let commands = ins
            .iter()
            .enumerate()
            .map(|(i, inst)| match stage_of[i] {
                Some(s) if inst.keyword == Keyword::Run && posix(s, i) => {
                    shell::run_commands(src, inst, dockerfile.escape)
                }
                _ => Vec::new(),
            })
            .collect();
        let product = stages[target]
            .name
            .as_deref()
            .is_none_or(|n| !n.split(['-', '_', '.']).any(|w| DEV_WORDS.contains(&w)));
        let mut chain = vec![target];
        while let Some(p) = stages[*chain.last().unwrap_or(&target)].base_stage {
            if chain.contains(&p) {
                break;
            }
            chain.push(p);
        }
        let runs = chain.iter().any(|s| {
            stages[*s]
                .instructions
                .clone()
                .any(|i| matches!(ins[i].keyword, Keyword::Cmd | Keyword::Entrypoint))
        });
        Ok(Self {
            src,
            dockerfile,
            stages,
            target,
            stage_of,
            commands,
            global_args,
            build_context,
            product,
            runtime: product && runs,
        })
    }

    /// The instructions of stage `s` with their indices (the `FROM` included).
    pub fn stage_instructions(&self, s: usize) -> impl Iterator<Item = (usize, &'a Instruction<'a>)> + '_ {
        let r = self.stages[s].instructions.clone();
        let ins = &self.dockerfile.instructions;
        r.map(move |i| (i, &ins[i]))
    }

    /// Stages whose filesystem is in the target image.
    /// (none when the target is a development image, see [`RuleContext::product`]).
    pub fn shipping_stages(&self) -> impl Iterator<Item = &Stage> + '_ {
        self.stages.iter().filter(|s| s.ships && self.product)
    }

    /// The index of stage `st`'s `FROM` and the span of its image word (for findings on the
    /// base image).
    #[must_use]
    pub fn from_span(&self, st: &Stage) -> (usize, Span) {
        let i = st.instructions.start;
        let inst = &self.dockerfile.instructions[i];
        (i, inst.args.first().map_or(inst.span, |a| a.span))
    }

    /// Stages built for the target.
    pub fn needed_stages(&self) -> impl Iterator<Item = &Stage> + '_ {
        self.stages.iter().filter(|s| s.reaches_target)
    }

    /// The stage chain from `s` up through its `FROM` stages (`s` first).
    #[must_use]
    pub fn chain(&self, s: usize) -> Vec<usize> {
        let mut out = vec![s];
        let mut cur = s;
        while let Some(p) = self.stages[cur].base_stage {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            cur = p;
        }
        out
    }

    /// The `RUN` instructions whose layers make up the target image, oldest first: the
    /// target's `FROM` chain walked from its first stage, as `(stage, instruction index)`.
    #[must_use]
    pub fn target_runs(&self) -> Vec<(usize, usize)> {
        let mut chain = self.chain(self.target);
        chain.reverse();
        chain
            .into_iter()
            .flat_map(|s| {
                self.stage_instructions(s)
                    .filter(|(_, inst)| inst.keyword == crate::dockerfile::Keyword::Run)
                    .map(move |(i, _)| (s, i))
            })
            .collect()
    }

    /// The external image a stage ultimately builds on (following `FROM stage` links).
    #[must_use]
    pub fn root_base(&self, s: usize) -> &str {
        let chain = self.chain(s);
        &self.stages[*chain.last().unwrap_or(&s)].base_expanded
    }

    /// The value an environment variable has for instruction `at` in stage `s`: ENV and ARG
    /// (with default) before it in the stage and its `FROM` chain. `None` when unset.
    #[must_use]
    pub fn env_at(&self, s: usize, at: usize, key: &str) -> Option<String> {
        for st in self.chain(s) {
            let r = self.stages[st].instructions.clone();
            let end = if st == s { at.min(r.end) } else { r.end };
            for i in (r.start..end).rev() {
                let inst = &self.dockerfile.instructions[i];
                match inst.keyword {
                    Keyword::Env => {
                        let v = inst.values();
                        for pair in v.chunks(2).rev() {
                            if pair.len() == 2 && pair[0] == key {
                                return Some(unquote(&pair[1]));
                            }
                        }
                    }
                    Keyword::Arg => {
                        for a in inst.args.iter().rev() {
                            let text = a.value.text();
                            let (k, v) = split_kv(&text);
                            if k == key
                                && let Some(v) = v
                            {
                                return Some(unquote(v));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// Whether instruction `at` has a `--mount=type=cache` (or `tmpfs`) whose target is `dir`
    /// or a parent of it. `dir` may be a suffix pattern starting with `*/` (e.g. `*/.cache/pip`).
    #[must_use]
    pub fn has_cache_mount(&self, at: usize, dirs: &[&str]) -> bool {
        self.dockerfile.instructions[at].flags_named("mount").any(|m| {
            let Some(v) = m.value() else { return false };
            let mut ty = "bind";
            let mut target = None;
            for kv in v.split(',') {
                let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
                match k {
                    "type" => ty = val,
                    "target" | "dst" | "destination" => target = Some(val.trim_end_matches('/')),
                    _ => {}
                }
            }
            let Some(t) = target else { return false };
            (ty == "cache" || ty == "tmpfs") && dirs.iter().any(|d| covers(t, d))
        })
    }

    /// The text of a span.
    #[must_use]
    pub fn text(&self, span: Span) -> &str {
        self.src.get(span.range()).unwrap_or("")
    }

    /// The `USER` in effect for instruction `at` in stage `s` (`None`: root or unknown).
    #[must_use]
    pub fn user_at(&self, s: usize, at: usize) -> Option<String> {
        for st in self.chain(s) {
            let r = self.stages[st].instructions.clone();
            let end = if st == s { at.min(r.end) } else { r.end };
            for i in (r.start..end).rev() {
                let inst = &self.dockerfile.instructions[i];
                if inst.keyword == Keyword::User {
                    let u = inst
                        .values()
                        .first()
                        .map(|v| v.split(':').next().unwrap_or("").to_string())?;
                    return (u != "root" && u != "0").then_some(u);
                }
            }
        }
        None
    }
}

/// Whether a mount at `target` covers `dir` (`dir` equal or below; `*/x` matches any `.../x`).
fn covers(target: &str, dir: &str) -> bool {
    if let Some(suffix) = dir.strip_prefix("*/") {
        // target ends with the suffix or a prefix of it (`/root/.cache` covers `*/.cache/pip`).
        let parts: Vec<&str> = suffix.split('/').collect();
        (1..=parts.len()).any(|n| target.ends_with(&format!("/{}", parts[..n].join("/"))))
    } else {
        dir == target || dir.starts_with(&format!("{target}/")) || target == "/"
    }
}

/// Splits `K=V` into (`K`, `Some(V)`), or `K` into (`K`, `None`).
#[must_use]
pub fn split_kv(s: &str) -> (&str, Option<&str>) {
    match s.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    }
}

/// Removes one level of surrounding quotes.
#[must_use]
pub fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// Expands `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR-default}`, `${VAR:+alt}` from `vars`;
/// unknown variables expand to nothing, as BuildKit does for base names. The result is cut
/// after [`crate::dockerfile::stages::MAX_EXPANDED`] bytes.
#[must_use]
pub fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    // Values are capped where ARGs are read (`stages::MAX_EXPANDED`); a word naming them many
    // times is cut at the same cap.
    while i < b.len() && out.len() <= crate::dockerfile::stages::MAX_EXPANDED {
        if b[i] == '\\' && i + 1 < b.len() && b[i + 1] == '$' {
            out.push('$');
            i += 2;
        } else if b[i] == '$' && i + 1 < b.len() && b[i + 1] == '{' {
            let Some(close) = b[i + 2..].iter().position(|c| *c == '}') else {
                out.extend(&b[i..]);
                break;
            };
            let inner: String = b[i + 2..i + 2 + close].iter().collect();
            let (name, op, word) = match inner.find([':', '-', '+']) {
                Some(p) => {
                    let rest = &inner[p..];
                    let (op, word) = if let Some(w) = rest.strip_prefix(":-") {
                        ("-", w)
                    } else if let Some(w) = rest.strip_prefix(":+") {
                        ("+", w)
                    } else if let Some(w) = rest.strip_prefix('-') {
                        ("-", w)
                    } else if let Some(w) = rest.strip_prefix('+') {
                        ("+", w)
                    } else {
                        ("", "")
                    };
                    (&inner[..p], op, word)
                }
                None => (inner.as_str(), "", ""),
            };
            let val = vars.get(name).filter(|v| !v.is_empty());
            match (op, val) {
                ("-", None) => out.push_str(&expand(word, vars)),
                ("+", Some(_)) => out.push_str(&expand(word, vars)),
                ("+", None) => {}
                (_, Some(v)) => out.push_str(v),
                (_, None) => {}
            }
            i += close + 3;
        } else if b[i] == '$' && i + 1 < b.len() && (b[i + 1].is_ascii_alphabetic() || b[i + 1] == '_') {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            let name: String = b[i + 1..j].iter().collect();
            if let Some(v) = vars.get(&name) {
                out.push_str(v);
            }
            i = j;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_buildkit() {
        let mut v = BTreeMap::new();
        v.insert("V".to_string(), "3.12".to_string());
        assert_eq!(expand("python:${V}-slim", &v), "python:3.12-slim");
        assert_eq!(expand("python:$V", &v), "python:3.12");
        assert_eq!(expand("x:${W:-1.2}", &v), "x:1.2");
        assert_eq!(expand("x${V:+-y}", &v), "x-y");
        assert_eq!(expand("x:${W}", &v), "x:");
    }

    #[test]
    fn cache_mount_coverage() {
        assert!(covers("/root/.cache", "*/.cache/pip"));
        assert!(covers("/home/app/.cache/pip", "*/.cache/pip"));
        assert!(!covers("/root/.npm", "*/.cache/pip"));
        assert!(covers("/var/lib/apt", "/var/lib/apt/lists"));
        assert!(!covers("/var/cache/apt", "/var/lib/apt/lists"));
    }
}
