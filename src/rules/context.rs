//! What a rule sees: the parsed file and its text, the stages (which ones reach the target and
//! which ones ship in the final image), ARG/ENV scope, the shell commands of every `RUN`, and
//! the build context when there is one.
//!
//! Owns: [`RuleContext`] and what rules derive from the stage model
//! ([`crate::dockerfile::stages::Stage`]): development targets, the shell of each `RUN`, ARG
//! and ENV scope.
//! Does not: parse (see `dockerfile`) or decide findings (see the rule files).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::catalog::ImageRef;
use crate::context::BuildContext;
use crate::dockerfile::shell::{self, Command};
use crate::dockerfile::stages::{DependencyKind, Stage};
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
    /// ENV/ARG/USER/SHELL/WORKDIR lookups, answered without walking the file.
    scope: Scope,
}

/// Where names are defined, so that "the value at instruction `i` of stage `s`" costs a binary
/// search per stage of the `FROM` chain, and a stage chain is walked once per name
/// (memoised): files with thousands of chained stages or `RUN`s stay linear.
#[derive(Default)]
struct Scope {
    /// Name -> instructions that set it, in file order: ENV keys and ARGs with a default
    /// under their names, `USER` and `SHELL` under [`USER`] and [`SHELL`].
    defs: BTreeMap<String, Vec<usize>>,
    /// (name, stage) -> the instruction that sets the name last in the stage or its chain.
    at_end: RefCell<HashMap<(String, usize), Option<usize>>>,
    /// The WORKDIR before each instruction, as an index into `workdirs`.
    workdir_before: Vec<u32>,
    /// The WORKDIR at the end of each stage.
    workdir_end: Vec<u32>,
    /// Distinct WORKDIR values (`\0unknown` when a path would pass [`MAX_PATH`]).
    workdirs: Vec<String>,
    /// The first stage of each stage's `FROM` chain.
    root_of: Vec<usize>,
}

/// Pseudo-names for `USER` and `SHELL` in [`Scope::defs`] (no ENV key starts with a NUL).
const USER: &str = "\0USER";
const SHELL: &str = "\0SHELL";
/// Longest WORKDIR followed (Linux's `PATH_MAX`); longer chains of relative WORKDIRs are
/// unknown rather than strings that grow with the file.
const MAX_PATH: usize = 4096;

impl Scope {
    fn build(df: &Dockerfile<'_>, stages: &[Stage]) -> Self {
        let ins = &df.instructions;
        let mut sc = Self {
            workdir_before: vec![0; ins.len()],
            workdir_end: vec![0; stages.len()],
            workdirs: vec!["/".to_string()],
            root_of: Vec::with_capacity(stages.len()),
            ..Self::default()
        };
        for st in stages {
            let root = st.base_stage.map_or(st.index, |b| sc.root_of[b]);
            sc.root_of.push(root);
            let mut wd = st.base_stage.map_or(0, |b| sc.workdir_end[b]);
            for i in st.instructions.clone() {
                sc.workdir_before[i] = wd;
                let inst = &ins[i];
                let mut def = |k: &str| sc.defs.entry(k.to_string()).or_default().push(i);
                match inst.keyword {
                    Keyword::Env => {
                        for pair in inst.values().chunks(2) {
                            if pair.len() == 2 {
                                def(&pair[0]);
                            }
                        }
                    }
                    Keyword::Arg => {
                        for a in &inst.args {
                            let text = a.value.text();
                            if let (k, Some(_)) = split_kv(&text) {
                                def(k);
                            }
                        }
                    }
                    Keyword::User => def(USER),
                    Keyword::Shell => def(SHELL),
                    Keyword::Workdir => {
                        if let Some(v) = inst.values().first() {
                            let cur = &sc.workdirs[wd as usize];
                            let next = if cur.starts_with('\0') && !v.starts_with('/') {
                                cur.clone()
                            } else {
                                super::pkg::join(cur, v)
                            };
                            let next = if next.len() > MAX_PATH {
                                "\0unknown".to_string()
                            } else {
                                next
                            };
                            sc.workdirs.push(next);
                            wd = u32::try_from(sc.workdirs.len() - 1).unwrap_or(0);
                        }
                    }
                    _ => {}
                }
            }
            sc.workdir_end[st.index] = wd;
        }
        for v in sc.defs.values_mut() {
            v.dedup();
        }
        sc
    }

    /// The instruction that last sets `name` before instruction `at` of stage `s` (`at` past
    /// the stage's end means its end), following the `FROM` chain.
    fn last_def(&self, stages: &[Stage], s: usize, at: usize, name: &str) -> Option<usize> {
        let defs = self.defs.get(name)?;
        let r = &stages[s].instructions;
        let end = at.clamp(r.start, r.end);
        let p = defs.partition_point(|&d| d < end);
        if p > 0 && defs[p - 1] >= r.start {
            return Some(defs[p - 1]);
        }
        self.def_at_end(stages, stages[s].base_stage?, name, defs)
    }

    fn def_at_end(&self, stages: &[Stage], s: usize, name: &str, defs: &[usize]) -> Option<usize> {
        let mut memo = self.at_end.borrow_mut();
        let mut walked = Vec::new();
        let mut cur = Some(s);
        let found = loop {
            let Some(st) = cur else { break None };
            if let Some(v) = memo.get(&(name.to_string(), st)) {
                break *v;
            }
            walked.push(st);
            let r = &stages[st].instructions;
            let p = defs.partition_point(|&d| d < r.end);
            if p > 0 && defs[p - 1] >= r.start {
                break Some(defs[p - 1]);
            }
            cur = stages[st].base_stage;
        };
        for st in walked {
            memo.insert((name.to_string(), st), found);
        }
        found
    }
}

/// Test frameworks' runners: an image whose command is one of them runs a test suite.
const TEST_RUNNERS: &[&str] = &[
    "pytest", "py.test", "tox", "nox", "jest", "mocha", "vitest", "karma", "ava", "rspec", "cucumber", "phpunit",
    "codecept", "behat", "robot", "newman",
];

/// How many levels of `ENV` values naming other variables are expanded, and how many values
/// one lookup expands in all (a value naming many variables that name many more stays cheap).
const MAX_ENV_NESTING: usize = 8;
const MAX_ENV_LOOKUPS: usize = 64;

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
    "unittest",
    "unittests",
    "integration",
    "e2e",
    "smoketest",
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

/// Whether the target's command (its `ENTRYPOINT` followed by its `CMD`, from the stage
/// chain `chain`, target first) runs a test suite: `npm test`, `npm run test:e2e`, `yarn
/// test`, `pytest`, `tox`, `go test`, `cargo test`, `mvn test`, `gradle test`, `dotnet test`,
/// `rspec`, `rake spec`, `phpunit`, `codecept`, `jest`, `playwright test`, `cypress run`, `make test`;
/// or a build script (`CMD ["./docker-build.sh"]`); or, with no command at all, whose last step
/// runs one (`RUN make check`, `RUN travis compile | bash`). Such an image runs a CI step, like a target named `test`: nothing in it ships to
/// production.
fn runs_test_suite(ins: &[Instruction<'_>], stages: &[Stage], chain: &[usize]) -> bool {
    let last = |k: Keyword| {
        chain
            .iter()
            .find_map(|&s| stages[s].instructions.clone().rev().find(|&i| ins[i].keyword == k))
    };
    let command = [last(Keyword::Entrypoint), last(Keyword::Cmd)];
    // Without a command, an image whose last step runs the test suite or a CI build (`RUN make
    // check`, `RUN travis compile | bash`) is that CI step.
    let last_step = chain
        .first()
        .and_then(|&t| stages[t].instructions.clone().last())
        .filter(|&i| ins[i].keyword == Keyword::Run && command.iter().all(Option::is_none));
    let words: Vec<String> = command
        .into_iter()
        .chain([last_step])
        .flatten()
        .flat_map(|i| {
            ins[i]
                .values()
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        })
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|w| w.rsplit('/').next().unwrap_or(&w).to_string())
        .filter(|w| !w.starts_with('-'))
        .collect();
    let test_word = |w: &str| matches!(w, "test" | "tests" | "check" | "e2e" | "spec") || w.starts_with("test:");
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    w.windows(2).any(|p| {
        matches!(
            p[0],
            "npm" | "yarn" | "pnpm" | "bun" | "go" | "cargo" | "mvn" | "mvnw" | "gradle" | "gradlew" | "dotnet"
                | "rake" | "make" | "playwright" | "mix" | "ctest"
        ) && test_word(p[1])
            || p[0] == "cypress" && p[1] == "run"
            // Travis CI's build script compiled and run locally.
            || p[0] == "travis" && matches!(p[1], "compile" | "run")
    }) || w.windows(3).any(|p| matches!(p[0], "npm" | "yarn" | "pnpm" | "bun") && p[1] == "run" && test_word(p[2]))
        // The runner as the program, or run through a wrapper (`bundle exec rspec`, `python -m
        // pytest`, `npx jest`).
        || w.iter()
            .take(3)
            .any(|f| TEST_RUNNERS.contains(f))
        // A build script as the command (`CMD ["/src/contrib/docker-build.sh"]`): a build
        // environment that runs one build over the sources and exits.
        || last_step.is_none()
            && w.first().is_some_and(|f| {
                let stem = f.strip_suffix(".sh").unwrap_or(f);
                f.ends_with(".sh") && stem.split(['-', '_', '.']).any(|p| p == "build")
            })
}

/// How many earlier instructions [`RuleContext::declared_at`] reads for a valueless `ARG`.
const MAX_DECLARED_SCAN: usize = 256;

/// How many whole-context copy folders [`RuleContext::installs_context_program`] keeps.
const MAX_CONTEXT_COPIES: usize = 64;

impl<'a> RuleContext<'a> {
    /// Builds the context. `target` names a stage (`--target`); `None` means the last stage.
    pub fn new(
        src: &'a str,
        dockerfile: &'a Dockerfile<'a>,
        target: Option<&str>,
        build_args: &BTreeMap<String, String>,
        build_context: Option<&'a BuildContext>,
    ) -> Result<Self, crate::dockerfile::stages::Error> {
        let ins = &dockerfile.instructions;
        // The stage graph is the parser's (dockerfile::stages); `ships` is imgopt's own.
        let graph = Stages::build(
            dockerfile,
            &StageOptions {
                target: target.map(str::to_string),
                build_args: build_args.clone(),
            },
        )?;
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
        let scope = Scope::build(dockerfile, &stages);
        // RUNs of a non-POSIX shell (`SHELL ["powershell", ...]`, `cmd`, or a file using the
        // backtick escape, which Windows Dockerfiles do) are not split: rules say nothing.
        let posix = |s: usize, at: usize| -> bool {
            if dockerfile.escape == '`' {
                return false;
            }
            let Some(sh) = scope.last_def(&stages, s, at, SHELL) else {
                return true;
            };
            let prog = ins[sh].args.first().map(|a| a.value.text());
            let prog = prog.as_deref().unwrap_or("");
            let base = prog.rsplit(['/', '\\']).next().unwrap_or(prog).to_ascii_lowercase();
            matches!(
                base.as_str(),
                "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh" | "busybox"
            )
        };
        let commands = ins
            .iter()
            .enumerate()
            .map(|(i, inst)| match stage_of[i] {
                Some(s) if inst.keyword == Keyword::Run && posix(s, i) => unwrap_scripts(
                    src,
                    shell::run_commands(src, inst, dockerfile.escape),
                    dockerfile.escape,
                ),
                _ => Vec::new(),
            })
            .collect();
        // A stage's base is always an earlier stage, so chains end.
        let mut chain = vec![target];
        while let Some(p) = stages[*chain.last().unwrap_or(&target)].base_stage {
            chain.push(p);
        }
        let product = stages[target]
            .name
            .as_deref()
            .is_none_or(|n| !n.split(['-', '_', '.']).any(|w| DEV_WORDS.contains(&w)))
            && !runs_test_suite(ins, &stages, &chain);
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
            scope,
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
        // A stage's base is always an earlier stage (`Stages::build`), so chains end.
        let mut out = vec![s];
        let mut cur = s;
        while let Some(p) = self.stages[cur].base_stage {
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
        &self.stages[self.scope.root_of[s]].base_expanded
    }

    /// The WORKDIR in effect at instruction `at` of stage `s` (following the `FROM` chain;
    /// `/` when none is set, `\0unknown` when it cannot be followed).
    #[must_use]
    pub fn workdir_at(&self, s: usize, at: usize) -> &str {
        let r = &self.stages[s].instructions;
        let idx = if at >= r.end {
            self.scope.workdir_end[s]
        } else {
            self.scope.workdir_before[at.max(r.start)]
        };
        &self.scope.workdirs[idx as usize]
    }

    /// The value an environment variable has for instruction `at` in stage `s`: ENV and ARG
    /// (with default) before it in the stage and its `FROM` chain. `None` when unset.
    #[must_use]
    pub fn env_at(&self, s: usize, at: usize, key: &str) -> Option<String> {
        let mut budget = MAX_ENV_LOOKUPS;
        self.env_at_depth(s, at, key, MAX_ENV_NESTING, &mut budget)
    }

    /// [`RuleContext::env_at`], with the variables an `ENV` value or `ARG` default names
    /// expanded as they were where it was set (`ENV SRC=${GOPATH}/src/app`: Docker expands them
    /// when they are declared), at most `depth` levels deep so long chains stay cheap.
    fn env_at_depth(&self, s: usize, at: usize, key: &str, depth: usize, budget: &mut usize) -> Option<String> {
        let (i, v) = self.raw_env_at(s, at, key)?;
        if depth == 0 || *budget == 0 || !v.contains('$') {
            return Some(v);
        }
        *budget -= 1;
        let si = self.stage_of[i].unwrap_or(s);
        let mut vars = BTreeMap::new();
        for name in var_names(&v) {
            // A name without a value here (a build argument given at build time) leaves the
            // whole value as written: `${SOURCES:+/src}` may be either.
            let Some(x) = self.env_at_depth(si, i, &name, depth - 1, budget) else {
                return Some(v);
            };
            vars.insert(name, x);
        }
        Some(expand(&v, &vars))
    }

    /// Whether an `ENV` or `ARG` in scope at instruction `at` of stage `s` declares `key`, with
    /// or without a value (`ARG GOFLAGS`: the build supplies it).
    #[must_use]
    pub fn declared_at(&self, s: usize, at: usize, key: &str) -> bool {
        if self.scope.last_def(&self.stages, s, at, key).is_some() {
            return true;
        }
        // A valueless `ARG` is not a definition for [`RuleContext::env_at`]; look for one in
        // the stage chain (at most MAX_DECLARED_SCAN instructions back).
        self.chain(s)
            .into_iter()
            .flat_map(|st| {
                let r = &self.stages[st].instructions;
                (r.start..r.end.min(at)).rev()
            })
            .take(MAX_DECLARED_SCAN)
            .any(|i| {
                let inst = &self.dockerfile.instructions[i];
                inst.keyword == Keyword::Arg && inst.args.iter().any(|a| split_kv(&a.value.text()).0 == key)
            })
    }

    /// The instruction that sets `key` for instruction `at`, and the value it writes.
    fn raw_env_at(&self, s: usize, at: usize, key: &str) -> Option<(usize, String)> {
        let i = self.scope.last_def(&self.stages, s, at, key)?;
        let inst = &self.dockerfile.instructions[i];
        let v = match inst.keyword {
            Keyword::Env => {
                let v = inst.values();
                v.chunks(2)
                    .rev()
                    .find(|pair| pair.len() == 2 && pair[0] == key)
                    .map(|pair| unquote(&pair[1]))
            }
            _ => inst.args.iter().rev().find_map(|a| {
                let text = a.value.text();
                match split_kv(&text) {
                    (k, Some(v)) if k == key => Some(unquote(v)),
                    _ => None,
                }
            }),
        };
        v.map(|v| (i, v))
    }

    /// Whether instruction `at` has a `--mount=type=cache` (or `tmpfs`) whose target is `dir`
    /// or a parent of it. `dir` may be a suffix pattern starting with `*/` (e.g. `*/.cache/pip`).
    #[must_use]
    pub fn has_cache_mount(&self, at: usize, dirs: &[&str]) -> bool {
        let Some(s) = self.stage_of.get(at).copied().flatten() else {
            return false;
        };
        self.cache_mount_targets(s, at)
            .iter()
            .any(|t| dirs.iter().any(|d| covers(if t.is_empty() { "/" } else { t }, d)))
    }

    /// The targets of the `--mount=type=cache` (and `tmpfs`) flags of instruction `at` in
    /// stage `s`, trailing `/` removed, with `$NAME`/`${NAME}` expanded from the ENV and ARG
    /// values in scope (a name without a value is kept as written).
    #[must_use]
    pub fn cache_mount_targets(&self, s: usize, at: usize) -> Vec<String> {
        let mut out = Vec::new();
        for m in self.dockerfile.instructions[at].flags_named("mount") {
            let Some(v) = m.value() else { continue };
            let mut ty = "bind";
            let mut target = None;
            for kv in v.split(',') {
                let (k, val) = kv.split_once('=').unwrap_or((kv, ""));
                match k {
                    "type" => ty = val,
                    "target" | "dst" | "destination" => target = Some(val),
                    _ => {}
                }
            }
            let Some(t) = target.filter(|_| ty == "cache" || ty == "tmpfs") else {
                continue;
            };
            out.push(self.expand_at(s, at, t).trim_end_matches('/').to_string());
        }
        out
    }

    /// `text` with `$NAME`/`${NAME}` expanded from the ENV and ARG values in scope at
    /// instruction `at` of stage `s` (a name without a value is kept as written).
    #[must_use]
    pub fn expand_at(&self, s: usize, at: usize, text: &str) -> String {
        if !text.contains('$') {
            return text.to_string();
        }
        let mut vars = BTreeMap::new();
        for name in var_names(text) {
            match self.env_at(s, at, &name) {
                Some(v) => vars.insert(name, v),
                None => vars.insert(name.clone(), format!("${{{name}}}")),
            };
        }
        expand(text, &vars)
    }

    /// The text of a span.
    #[must_use]
    pub fn text(&self, span: Span) -> &str {
        self.src.get(span.range()).unwrap_or("")
    }

    /// Whether the target is a product image that serves something: [`RuleContext::runtime`],
    /// or its stage chain has `EXPOSE` or `HEALTHCHECK` (the command then comes from the base
    /// image, as `CMD ["irb"]` or `apache2-foreground` do).
    #[must_use]
    pub fn serves(&self) -> bool {
        self.runtime
            || self.serves_from_base()
            || self.product
                && self.chain(self.target).iter().any(|&s| {
                    self.stage_instructions(s)
                        .any(|(_, i)| matches!(i.keyword, Keyword::Expose | Keyword::Healthcheck))
                })
    }

    /// Whether the target is judged as an image that runs an application: it has a `CMD` or
    /// `ENTRYPOINT` ([`RuleContext::runtime`]), inherits an interpreter command
    /// ([`RuleContext::runs_base_interpreter`]), or declares a production environment
    /// (`RAILS_ENV`, `RACK_ENV`, `NODE_ENV`, `APP_ENV` or `MIX_ENV` set to `production` or
    /// `prod` by an ENV of its stage chain) while its command comes from its base image.
    #[must_use]
    pub fn runs_application(&self) -> bool {
        self.runtime
            || self.serves_from_base()
            || self.runs_base_interpreter()
            || self.product
                && self.chain(self.target).iter().any(|&s| {
                    self.stage_instructions(s).any(|(i, inst)| {
                        inst.keyword == Keyword::Env
                            && ["RAILS_ENV", "RACK_ENV", "NODE_ENV", "APP_ENV", "MIX_ENV"]
                                .iter()
                                .any(|k| {
                                    self.env_at(s, i + 1, k)
                                        .is_some_and(|v| matches!(v.as_str(), "production" | "prod"))
                                })
                    })
                })
    }

    /// Whether the shipping stages copy application files from the build context (anything but
    /// entrypoint scripts and config snippets).
    #[must_use]
    pub fn copies_app_sources(&self) -> bool {
        self.stages
            .iter()
            .filter(|s| s.ships)
            .flat_map(|s| self.stage_instructions(s.index))
            .any(|(_, inst)| {
                context_sources(inst).iter().any(|s| {
                    let base = s.rsplit('/').next().unwrap_or(s);
                    !(s.contains("://")
                        || base.ends_with(".sh")
                        || base.contains("entrypoint")
                        || base.ends_with(".conf")
                        || base.ends_with(".patch")
                        || base.ends_with(".ini")
                        || base.ends_with(".cfg"))
                })
            })
    }

    /// Whether the target is a product image without a command of its own built on an official
    /// server image whose command serves what the image holds: php's `-apache` and `-fpm`
    /// variants (`apache2-foreground`, `php-fpm`; docker-library/php), `nginx`, `httpd`,
    /// `tomcat`, `jetty`. The image must hold an application (it copies files that are not
    /// only scripts and configuration, or copies from a stage): one that copies nothing serves
    /// a checkout mounted at run time, a development setup.
    #[must_use]
    pub fn serves_from_base(&self) -> bool {
        let root = self.scope.root_of[self.target];
        let holds_app = || {
            self.copies_app_sources()
                || self.chain(self.target).iter().any(|&s| {
                    self.stages[s]
                        .dependencies
                        .iter()
                        .any(|d| d.kind == DependencyKind::CopyFrom)
                })
        };
        self.product
            && !self.runtime
            && base_image(&self.stages[root]).is_some_and(|r| {
                r.registry.is_none()
                    && match r.repo.as_str() {
                        "php" => r
                            .tag
                            .as_deref()
                            .is_some_and(|t| t.split('-').any(|p| p == "apache" || p == "fpm")),
                        "nginx" | "httpd" | "tomcat" | "jetty" => true,
                        _ => false,
                    }
            })
            && holds_app()
    }

    /// Whether the target is a product image built on an official node, python or ruby image
    /// without a `CMD` or `ENTRYPOINT` of its own, that sets a non-root `USER`: the base
    /// image's `CMD` (`node`, `python3`, `irb`; docker-library/official-images) runs the
    /// interpreter as that user, so the image is a runtime for scripts given at `docker run`
    /// (a puppeteer image), not a base for other builds (those leave the user as root).
    #[must_use]
    pub fn runs_base_interpreter(&self) -> bool {
        let chain = self.chain(self.target);
        let root = self.scope.root_of[self.target];
        self.product
            && !self.runtime
            && base_image(&self.stages[root])
                .is_some_and(|r| r.registry.is_none() && matches!(r.repo.as_str(), "node" | "python" | "ruby"))
            && chain
                .first()
                .is_some_and(|&s| self.user_at(s, self.stages[s].instructions.end).is_some())
    }

    /// Whether the target is a development environment rather than a service, by what it
    /// does rather than by its stage name: its stage chain gives a user `sudo` (`useradd -G
    /// sudo`, `usermod -aG wheel`, `adduser NAME sudo`, a `NOPASSWD: ALL` sudoers line), or the
    /// file has a single stage whose `RAILS_ENV`, `RACK_ENV`, `NODE_ENV`, `APP_ENV`,
    /// `FLASK_ENV` or `MIX_ENV` is `development` or `test`. Rules about what a production
    /// runtime should not carry (compilers, development dependencies, a JDK, two download
    /// tools) stay silent on such images; cache rules do not. Also a development server or
    /// watcher as the command ([`RuleContext::runs_dev_server`]), a toolchain image that
    /// ships unbuilt source ([`RuleContext::builds_at_start`]), an image that installs a
    /// browser driver only test suites use (`phantomjs`, `chromedriver`, `geckodriver`), and
    /// one that runs a checkout mounted at run time ([`RuleContext::runs_mounted_checkout`]).
    #[must_use]
    pub fn development_environment(&self) -> bool {
        let chain = self.chain(self.target);
        let grants_sudo = chain.iter().flat_map(|&s| self.stage_instructions(s)).any(|(i, inst)| {
            inst.keyword == Keyword::Run
                && self.commands[i].iter().any(|c| {
                    let user_cmd = matches!(c.name(), Some("useradd" | "usermod" | "adduser" | "gpasswd"));
                    // Passwordless sudo for every command (`NOPASSWD:ALL`); one for a few named
                    // commands (`NOPASSWD: /usr/sbin/tc`) is a narrow grant a service may need.
                    c.words.iter().any(|w| {
                        w.text.contains("NOPASSWD")
                            && w.text
                                .split("NOPASSWD")
                                .nth(1)
                                .is_some_and(|r| r.trim_start_matches([':', ' ']).starts_with("ALL"))
                    }) || c
                        .words
                        .windows(2)
                        .any(|p| p[0].text.ends_with("NOPASSWD:") && p[1].text.starts_with("ALL"))
                        || user_cmd
                            && c.args()
                                .iter()
                                .any(|w| w.text.split(',').any(|g| g == "sudo" || g == "wheel" || g == "admin"))
                })
        });
        let dev_env = self.stages.len() == 1
            && ["RAILS_ENV", "RACK_ENV", "NODE_ENV", "APP_ENV", "FLASK_ENV", "MIX_ENV"]
                .iter()
                .any(|k| {
                    let end = self.stages[self.target].instructions.end;
                    self.env_at(self.target, end, k)
                        .is_some_and(|v| matches!(v.as_str(), "development" | "dev" | "test"))
                });
        // A browser driver that only test suites use (`phantomjs` for rspec or karma,
        // `chromedriver`/`geckodriver` for Selenium): a test image.
        let test_driver = chain.iter().flat_map(|&s| self.stage_instructions(s)).any(|(i, _)| {
            self.commands[i].iter().any(|c| {
                c.words.iter().any(|w| {
                    ["phantomjs", "chromedriver", "geckodriver"]
                        .iter()
                        .any(|d| w.text.contains(d))
                })
            })
        });
        grants_sudo
            || dev_env
            || test_driver
            || self.installs_only_dev_requirements()
            // A shell as the command of an image that installs its project and starts
            // elsewhere is the way into that program (the Azure CLI image's `CMD bash` in
            // `/`), not a workspace.
            || self.opens_a_shell() && !self.shell_outside_installed_project()
            || self.runs_dev_server()
            || self.builds_at_start()
            || self.runs_mounted_checkout()
    }

    /// Whether the target's stage chain installs development or test requirements with pip
    /// (`requirements/dev.txt`, `requirements-test.txt`) but no production ones
    /// (`requirements.txt`, `requirements/base.txt`, `prod.txt`; files such as `docs.txt`
    /// count as neither), and no pip install takes the project itself (`pip install .`): an
    /// image for running the test suite and the development server, whose production
    /// requirements it never installs on their own.
    #[must_use]
    pub fn installs_only_dev_requirements(&self) -> bool {
        let mut dev = false;
        for s in self.chain(self.target) {
            for (i, inst) in self.stage_instructions(s) {
                if inst.keyword != Keyword::Run {
                    continue;
                }
                for c in &self.commands[i] {
                    let Some(args) = super::pkg::pip_args(c) else { continue };
                    if args.first().is_none_or(|w| w.text != "install") {
                        continue;
                    }
                    // Operands, without the values of the options that take a path or URL.
                    let project = args
                        .windows(2)
                        .filter(|p| !p[1].text.starts_with('-') && !super::pkg::pip_option_takes_value(&p[0].text))
                        .any(|p| {
                            let t = p[1].text.trim_matches(['"', '\'']);
                            (t == "." || t.starts_with("./") || t.starts_with('/')) && !t.contains('[')
                        });
                    let files = super::pkg::pip_requirement_files(c);
                    if project || files.iter().any(|f| super::pkg::production_requirements_file(f)) {
                        return false;
                    }
                    dev |= files.iter().any(|f| super::pkg::dev_requirements_file(f));
                }
            }
        }
        dev
    }

    /// Whether the target's command is an interactive shell and nothing else (`CMD
    /// ["/bin/bash"]`, `CMD bash -l`, no `ENTRYPOINT`): a workspace that people `docker run -it`
    /// into and work in, with the tools it installs, not a service. The command must be the
    /// image's own: an image that inherits `bash` from `ubuntu` says nothing.
    #[must_use]
    pub fn opens_a_shell(&self) -> bool {
        let chain = self.chain(self.target);
        let ins = &self.dockerfile.instructions;
        let last = |k: Keyword| {
            chain
                .iter()
                .flat_map(|&s| self.stage_instructions(s))
                .filter(|(_, i)| i.keyword == k)
                .map(|(i, _)| i)
                .last()
        };
        if last(Keyword::Entrypoint).is_some() {
            return false;
        }
        let Some(cmd) = last(Keyword::Cmd) else {
            return false;
        };
        let values = ins[cmd].values();
        let words: Vec<&str> = values.iter().flat_map(|v| v.split_whitespace()).collect();
        words
            .first()
            .is_some_and(|w| matches!(w.rsplit('/').next(), Some("bash" | "sh" | "zsh" | "ash" | "fish")))
            && words[1..]
                .iter()
                .all(|w| matches!(*w, "-l" | "-i" | "--login" | "-il" | "-li"))
    }

    /// Whether the target's command (`CMD` or `ENTRYPOINT` of its stage chain) runs a
    /// development server or file watcher: `grunt dev`, `npm run dev`, `yarn watch`,
    /// `nodemon`, `ng serve`, `next dev`, `vite` (not `vite preview`), `webpack serve`,
    /// `react-scripts start`, `cargo watch`, `air`, `dotnet watch`, `flask run --debug` or
    /// `--reload`, `uvicorn --reload`, Django's `manage.py runserver`, `php artisan serve`,
    /// `php -S`, `hugo server`, `jekyll serve`, `gradle bootRun`, `mvn spring-boot:run`.
    /// These serve the sources as they change, with the tools that need: a development image.
    #[must_use]
    pub fn runs_dev_server(&self) -> bool {
        let chain = self.chain(self.target);
        let words: Vec<String> = chain
            .iter()
            .flat_map(|&s| self.stage_instructions(s))
            .filter(|(_, i)| matches!(i.keyword, Keyword::Cmd | Keyword::Entrypoint))
            .flat_map(|(_, i)| i.values())
            .flat_map(|v| {
                v.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '"' | '\''))
                    .filter(|w| !w.is_empty())
                    .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let after = |tool: &str, subs: &[&str]| {
            w.windows(2).any(|p| p[0] == tool && subs.contains(&p[1]))
                || w.windows(3)
                    .any(|p| p[0] == tool && p[1] == "run" && subs.contains(&p[2]))
        };
        const DEV_SCRIPTS: &[&str] = &["dev", "develop", "watch", "start:dev", "dev:server", "start-dev"];
        w.iter().any(|t| {
            matches!(
                *t,
                "nodemon" | "webpack-dev-server" | "air" | "runserver" | "ts-node-dev" | "browser-sync"
            )
        }) || [
            "grunt",
            "gulp",
            "npm",
            "yarn",
            "pnpm",
            "bun",
            "next",
            "nuxt",
            "ng",
            "vue-cli-service",
        ]
        .iter()
        .any(|t| after(t, DEV_SCRIPTS))
            || w.windows(2).any(|p| {
                // A tool and the subcommand that starts its development server or watcher.
                const PAIRS: &[(&[&str], &[&str])] = &[
                    (&["cargo", "dotnet"], &["watch"]),
                    // `npm run serve` may start anything; `ng serve` is Angular's dev server.
                    (&["webpack", "artisan", "ng", "vue-cli-service"], &["serve"]),
                    (&["react-scripts"], &["start"]),
                    (&["hugo", "jekyll"], &["server", "serve"]),
                    (&["gradle", "gradlew"], &["bootRun"]),
                    (&["mvn", "mvnw"], &["spring-boot:run"]),
                    (&["php"], &["-S"]),
                ];
                PAIRS
                    .iter()
                    .any(|(tools, subs)| tools.contains(&p[0]) && subs.contains(&p[1]))
            })
            || w.first().is_some_and(|t| *t == "vite") && w.get(1).is_none_or(|a| *a != "preview" && *a != "build")
            || (w.contains(&"flask") || w.contains(&"uvicorn") || w.contains(&"gunicorn"))
                && w.iter().any(|t| matches!(*t, "--debug" | "--reload"))
    }

    /// Whether the target ships the source of a compiled language on its toolchain image
    /// without building it: the final stage is built on the official `golang` or `rust`
    /// image, copies the whole build context, and no `RUN` of its chain compiles the project
    /// (`go build`/`install`, `cargo build`/`install --path`, `make`). It builds and runs
    /// when the container starts, as development setups do (a compose backend that mounts
    /// the source).
    #[must_use]
    pub fn builds_at_start(&self) -> bool {
        let chain = self.chain(self.target);
        let root = self.scope.root_of[self.target];
        let Some(r) = base_image(&self.stages[root]) else {
            return false;
        };
        if r.registry.is_some() || !matches!(r.repo.as_str(), "golang" | "rust") {
            return false;
        }
        let insts = || chain.iter().flat_map(|&s| self.stage_instructions(s));
        let copies_source = insts().any(|(_, i)| context_sources(i).iter().any(|s| whole_context(s)));
        let compiles = insts().any(|(i, _)| {
            self.commands[i]
                .iter()
                .any(|c| match (c.name(), c.subcommand().map(|w| w.text.as_str())) {
                    (Some("go"), Some("build" | "install")) => true,
                    (Some("cargo"), Some("build" | "b")) => true,
                    (Some("cargo"), Some("install")) => c.has_flag("--path"),
                    (Some("make" | "gmake"), _) => true,
                    _ => false,
                })
        });
        copies_source && !compiles
    }

    /// Whether the target is a product image assembled from a build of this file: its stage
    /// chain copies a program that an earlier stage built (a stage with a `RUN`), from or into
    /// a `bin` or `sbin` folder or out of a Cargo `target/.../release` folder (`COPY
    /// --from=build /go/bin/app /usr/local/bin/`). Such an image runs that program even when
    /// its command is given at `docker run` (no `CMD` of its own); a stage that only names an
    /// image (`FROM composer:2 AS composer`) built nothing.
    #[must_use]
    pub fn installs_built_program(&self) -> bool {
        // Per stage, whether it or its `FROM` chain runs anything (one pass over the file).
        let mut runs = vec![false; self.stages.len()];
        for st in &self.stages {
            runs[st.index] = st.base_stage.is_some_and(|b| runs[b])
                || self
                    .stage_instructions(st.index)
                    .any(|(_, inst)| inst.keyword == Keyword::Run);
        }
        let built = |st: usize| runs[st];
        self.product
            && self.chain(self.target).iter().any(|&s| {
                self.stages[s].dependencies.iter().any(|d| {
                    d.kind == DependencyKind::CopyFrom
                        && d.stage.is_some_and(built)
                        && self.dockerfile.instructions[d.instruction]
                            .values()
                            .iter()
                            .any(|v| program_path(v))
                })
            })
    }

    /// Whether the target is judged as an image that runs a program (rules about what a
    /// runtime should not carry apply): it has a `CMD` or `ENTRYPOINT`
    /// ([`RuleContext::runtime`]), `EXPOSE` or `HEALTHCHECK` ([`RuleContext::serves`]), or
    /// installs a program built in another stage ([`RuleContext::installs_built_program`]) or
    /// from the build context ([`RuleContext::installs_context_program`]).
    #[must_use]
    pub fn runtime_image(&self) -> bool {
        self.serves() || self.installs_built_program() || self.installs_context_program()
    }

    /// Whether the target's stage chain copies the whole build context and then installs the
    /// project from it: `pip install .` (or the copied folder, `-e .`), `python setup.py
    /// install`, `make install`, `go install`, `cargo install --path`, or the project's own
    /// install script (`./scripts/install_full.sh`, an `install*` program under the copy). Such
    /// an image is the program's distribution (a CLI image run as `docker run image az ...`),
    /// even without a `CMD` of its own; a base image for other builds does not copy a project.
    #[must_use]
    pub fn installs_context_program(&self) -> bool {
        !self.installed_context_copies().is_empty()
    }

    /// Whether the target's shell starts outside the project it installed
    /// ([`RuleContext::installs_context_program`]): its final `WORKDIR` is neither the folder
    /// the context was copied to nor one above it (`/` aside). A shell that starts in the
    /// checkout is a workspace for it; one that starts elsewhere is the way into the program.
    fn shell_outside_installed_project(&self) -> bool {
        let copies = self.installed_context_copies();
        let end = self.stages[self.target].instructions.end;
        let wd = self.workdir_at(self.target, end).trim_end_matches('/');
        !copies.is_empty()
            && copies
                .iter()
                .all(|d| wd.is_empty() || !(d == wd || d.starts_with(&format!("{wd}/"))))
    }

    /// The folders the target's stage chain copied the whole build context to, when a later
    /// `RUN` installs the project from one of them (see [`RuleContext::installs_context_program`]).
    fn installed_context_copies(&self) -> Vec<String> {
        if !self.product {
            return Vec::new();
        }
        let mut copied: Vec<String> = Vec::new();
        for s in self.chain(self.target).into_iter().rev() {
            for (i, inst) in self.stage_instructions(s) {
                let wd = self.workdir_at(s, i).trim_end_matches('/').to_string();
                if matches!(inst.keyword, Keyword::Copy | Keyword::Add)
                    && inst.flag("from").is_none()
                    && context_sources(inst).iter().any(|x| whole_context(x))
                {
                    // At most MAX_CONTEXT_COPIES folders (each command is checked against all).
                    if let Some(dest) = inst.values().last()
                        && copied.len() < MAX_CONTEXT_COPIES
                    {
                        copied.push(super::pkg::join(&wd, dest).trim_end_matches('/').to_string());
                    }
                    continue;
                }
                if inst.keyword != Keyword::Run || copied.is_empty() {
                    continue;
                }
                let cmds = &self.commands[i];
                let cwds = super::pkg::cwds(cmds, &wd);
                let installs = cmds.iter().zip(&cwds).any(|(c, cwd)| {
                    let in_copy = |p: &str| {
                        let abs = super::pkg::join(cwd, p);
                        let abs = abs.trim_end_matches('/');
                        copied.iter().any(|d| abs == d || abs.starts_with(&format!("{d}/")))
                    };
                    let words: Vec<&str> = c.effective().iter().map(|w| w.text.as_str()).collect();
                    let Some(&prog) = words.first() else { return false };
                    let stem = prog.rsplit('/').next().unwrap_or(prog);
                    let stem = stem.strip_suffix(".sh").unwrap_or(stem);
                    let own_script = prog.contains('/') && !prog.contains('$') && in_copy(prog) && {
                        let first = stem.split(['-', '_', '.']).next().unwrap_or("");
                        first.eq_ignore_ascii_case("install")
                    };
                    let pip_project = super::pkg::pip_args(c).is_some_and(|a| {
                        a.first().is_some_and(|w| w.text == "install")
                            && a.iter().skip(1).filter(|w| !w.text.starts_with('-')).any(|w| {
                                let t = w.text.trim_matches(['"', '\'']);
                                let path = t.split('[').next().unwrap_or(t);
                                (path == "." || path.starts_with("./") || path.starts_with('/')) && in_copy(path)
                            })
                    });
                    let setup_py = prog.starts_with("python")
                        && words.get(1).is_some_and(|w| w.ends_with("setup.py") && in_copy(w))
                        && words.iter().skip(2).any(|w| *w == "install");
                    let make_install = matches!(prog, "make" | "gmake") && words.contains(&"install") && in_copy(".");
                    let go_install = prog == "go" && words.get(1) == Some(&"install") && in_copy(".");
                    let cargo_path = prog == "cargo"
                        && words.get(1) == Some(&"install")
                        && words.windows(2).any(|p| p[0] == "--path" && in_copy(p[1]));
                    own_script || pip_project || setup_py || make_install || go_install || cargo_path
                });
                if installs {
                    return copied;
                }
            }
        }
        Vec::new()
    }

    /// Whether the target runs a checkout mounted at run time rather than files of its own: the
    /// command is a program under the image's `WORKDIR` (`CMD /app/docker-entrypoint.sh`, a
    /// script given to an interpreter: `node server.js`, `ruby app.rb`), or a runner that
    /// works on the `WORKDIR`'s sources (`bundle exec`, `rails`, `rackup`, `puma`, `rake`,
    /// `npm start`, `yarn start`, `gunicorn`, `uvicorn`, `php artisan`), or the `WORKDIR` is a
    /// `VOLUME` and the command an interpreter (a tool such as `inspec` working on files mounted
    /// there is a product); and nothing in the image's stages puts anything there but dependency
    /// manifests (`Gemfile`, `package.json`, `requirements.txt`, lockfiles): no other `COPY`
    /// or `ADD` into it, no `COPY --from`, no `ONBUILD`, and no `RUN` beyond package installs,
    /// users, folders and modes. The `WORKDIR` must be a folder of its own (`/app`, not `/usr`
    /// or `/`). Such an image is a development environment for a source tree mounted with `-v
    /// "$PWD:/app"` (a compose file's volume).
    #[must_use]
    pub fn runs_mounted_checkout(&self) -> bool {
        let chain = self.chain(self.target);
        let insts: Vec<(usize, usize)> = chain
            .iter()
            .flat_map(|&s| self.stage_instructions(s).map(move |(i, _)| (s, i)))
            .collect();
        let ins = &self.dockerfile.instructions;
        let wd = self.workdir_at(self.target, usize::MAX).to_string();
        let wd = wd.trim_end_matches('/');
        if wd.is_empty() || wd.starts_with('\0') || wd.contains('$') || super::deleted_in_later_layer::base_filled(wd) {
            return false;
        }
        let under = |p: &str| p == wd || p.starts_with(&format!("{wd}/"));
        // The command: ENTRYPOINT's words, else CMD's.
        let last = |k: Keyword| insts.iter().rev().find(|&&(_, i)| ins[i].keyword == k).map(|&(_, i)| i);
        let Some(cmd_inst) = last(Keyword::Entrypoint).or_else(|| last(Keyword::Cmd)) else {
            return false;
        };
        let words: Vec<String> = ins[cmd_inst]
            .values()
            .iter()
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect();
        let Some(first) = words.first() else { return false };
        let path_of = |w: &str| (w.contains('/') && !w.contains('$')).then(|| super::pkg::join(wd, w));
        let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
        let interpreters = ["node", "ruby", "python", "python3", "php", "perl", "bash", "sh"];
        let program = if let Some(p) = path_of(first) {
            under(&p)
        } else if interpreters.contains(&base(first).as_str()) {
            // `node server.js`: the script, relative to the WORKDIR.
            words
                .get(1)
                .filter(|a| !a.starts_with('-') && !a.contains('$') && a.contains('.'))
                .is_some_and(|a| under(&super::pkg::join(wd, a)))
        } else {
            false
        };
        let runner = {
            let b = base(first);
            let second = words.get(1).map_or("", String::as_str);
            matches!(
                b.as_str(),
                "rails" | "rackup" | "puma" | "unicorn" | "rake" | "gunicorn" | "uvicorn" | "flask"
            ) || matches!(
                (b.as_str(), second),
                ("bundle", "exec") | ("npm" | "yarn" | "pnpm", "start" | "run") | ("php", "artisan")
            )
        };
        let volume = insts.iter().any(|&(_, i)| {
            ins[i].keyword == Keyword::Volume
                && ins[i]
                    .values()
                    .iter()
                    .any(|v| v.trim_matches(['[', ']', '"']).trim_end_matches('/') == wd)
        });
        // A tool that works on files mounted at its WORKDIR (`ENTRYPOINT ["inspec"]` with
        // `VOLUME /share`) is a product: only an interpreter or a runner there runs a checkout.
        let volume = volume && interpreters.contains(&base(first).as_str());
        if !(program || runner || volume) {
            return false;
        }
        // Nothing but manifests reaches the WORKDIR.
        const MANIFESTS: &[&str] = &[
            "Gemfile",
            "Gemfile.lock",
            "package.json",
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "requirements.txt",
            "Pipfile",
            "Pipfile.lock",
            "pyproject.toml",
            "poetry.lock",
            "uv.lock",
            "go.mod",
            "go.sum",
            "Cargo.toml",
            "Cargo.lock",
            "composer.json",
            "composer.lock",
            "mix.exs",
            "mix.lock",
            ".ruby-version",
            ".nvmrc",
            ".tool-versions",
            ".npmrc",
            ".yarnrc",
        ];
        let manifest = |src: &str| {
            let b = base(src.trim_end_matches('/'));
            MANIFESTS.contains(&b.as_str())
                || b.ends_with(".gemspec")
                || (b.starts_with("requirements") && b.ends_with(".txt"))
                || b == "Gemfile*"
                || b == "package*.json"
        };
        const SAFE: &[&str] = &[
            "apt-get",
            "apt",
            "apk",
            "yum",
            "dnf",
            "microdnf",
            "zypper",
            "apt-mark",
            "dpkg-reconfigure",
            "update-ca-certificates",
            "locale-gen",
            "localedef",
            "pip",
            "pip3",
            "gem",
            "bundle",
            "npm",
            "yarn",
            "pnpm",
            "composer",
            "useradd",
            "adduser",
            "addgroup",
            "groupadd",
            "usermod",
            "groupmod",
            "gpasswd",
            "chpasswd",
            "mkdir",
            "chown",
            "chmod",
            "chgrp",
            "ln",
            "echo",
            "printf",
            "rm",
            "sed",
            "set",
            "export",
            "true",
            "cd",
            "rc-update",
            "ldconfig",
            "update-alternatives",
            "[",
            "test",
        ];
        insts.iter().all(|&(s, i)| {
            let inst = &ins[i];
            match inst.keyword {
                Keyword::Onbuild => false,
                Keyword::Copy | Keyword::Add => {
                    if inst.flag("from").is_some() || !inst.heredocs.is_empty() {
                        // A program from another image or stage elsewhere is a tool.
                        return inst.flag("from").is_some()
                            && inst.values().last().is_some_and(|d| {
                                let d = super::pkg::join(self.workdir_at(s, i), &self.expand_at(s, i, d));
                                !under(d.trim_end_matches('/'))
                                    && !wd.starts_with(&format!("{}/", d.trim_end_matches('/')))
                            });
                    }
                    let v = inst.values();
                    let Some((dest, srcs)) = v.split_last() else {
                        return true;
                    };
                    let d = super::pkg::join(self.workdir_at(s, i), &self.expand_at(s, i, dest));
                    let d = d.trim_end_matches('/');
                    let reaches = under(d) || d.is_empty() || wd.starts_with(&format!("{d}/"));
                    !reaches || srcs.iter().all(|x| manifest(x))
                }
                Keyword::Run => {
                    !self.commands[i].is_empty()
                        && self.commands[i]
                            .iter()
                            .all(|c| c.name().is_none_or(|n| SAFE.contains(&n)))
                }
                _ => true,
            }
        })
    }

    /// The `USER` in effect for instruction `at` in stage `s` (`None`: root or unknown).
    #[must_use]
    pub fn user_at(&self, s: usize, at: usize) -> Option<String> {
        let i = self.scope.last_def(&self.stages, s, at, USER)?;
        let u = self.dockerfile.instructions[i]
            .values()
            .first()
            .map(|v| v.split(':').next().unwrap_or("").to_string())?;
        (u != "root" && u != "0").then_some(u)
    }
}

/// `commands` with each `sh -c '...'`, `bash -lc "..."`, `su USER -c "..."` or `runuser -l
/// USER -c "..."` replaced by the commands of its quoted script, read from the file (spans
/// stay file offsets): what the wrapper runs is what the rules see. A script that is not one
/// quoted word (`sh -c $CMD`) is left as it is.
fn unwrap_scripts(src: &str, commands: Vec<Command>, escape: char) -> Vec<Command> {
    if !commands.iter().any(|c| script_word(c).is_some()) {
        return commands;
    }
    let mut out = Vec::with_capacity(commands.len());
    for c in commands {
        let inner = script_word(&c).and_then(|w| {
            let text = src.get(w.span.range())?;
            let b = text.as_bytes();
            let quoted = b.len() >= 2 && matches!(b[0], b'"' | b'\'') && b[b.len() - 1] == b[0];
            quoted.then(|| {
                shell::split(
                    src,
                    Span::new(w.span.start() + 1, w.span.end() - 1),
                    shell::Mode::Dockerfile { escape },
                )
            })
        });
        match inner {
            Some(mut cmds) if !cmds.is_empty() => {
                cmds[0].separator = c.separator;
                cmds[0].opens = cmds[0].opens.saturating_add(c.opens);
                if let Some(last) = cmds.last_mut() {
                    last.closes = last.closes.saturating_add(c.closes);
                }
                out.extend(cmds);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The script word of `sh -c SCRIPT` (also `-ec`, `-lc`), `su ... -c SCRIPT` and `runuser ...
/// -c SCRIPT`.
fn script_word(c: &Command) -> Option<&shell::Word> {
    let args = c.args();
    match c.name()? {
        "sh" | "bash" | "ash" | "dash" | "zsh" => {
            let p = args.iter().position(|w| !w.text.starts_with('-'))?;
            let opt = p.checked_sub(1).map(|q| &args[q].text)?;
            (opt.starts_with('-') && !opt.starts_with("--") && opt.contains('c')).then(|| &args[p])
        }
        "su" | "runuser" => {
            let p = args.iter().position(|w| w.text == "-c" || w.text == "--command")?;
            args.get(p + 1)
        }
        _ => None,
    }
}

/// Whether a `COPY`/`ADD` source from the build context names the whole context: `.`, `./`,
/// `./.`, `*`, `./*`, and the context root written as `/` or `..` (BuildKit resolves every
/// source inside the context, so `COPY .. .` copies all of it).
#[must_use]
pub fn whole_context(src: &str) -> bool {
    matches!(
        src,
        "." | "./" | "*" | "./*" | "./." | ".." | "../" | "/" | "/." | "/*" | "../*"
    )
}

/// Whether a `COPY` path names a program: a part of it is a `bin` or `sbin` folder
/// (`/go/bin/*`, `/usr/local/bin/app`), or it is below a Cargo `target/` folder's `release`.
pub(super) fn program_path(p: &str) -> bool {
    let parts: Vec<&str> = p.trim_matches(['"', '\'']).split('/').collect();
    parts.iter().any(|x| matches!(*x, "bin" | "sbin"))
        || parts.windows(2).any(|w| w[0] == "target" && w[1] == "release")
        || parts.windows(3).any(|w| w[0] == "target" && w[2] == "release")
}

/// The variable names `$NAME` and `${NAME...}` in `s`.
fn var_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(p) = rest.find('$') {
        rest = &rest[p + 1..];
        let body = rest.strip_prefix('{').unwrap_or(rest);
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
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
