//! What the shipped stage does: its base, the build commands its `RUN`s execute (and where
//! each writes its output), the packages it installs, its working directory, user and how the
//! container starts. The ecosystem follows from these and the build context.
//!
//! Owns: [`StageFacts::read`] and [`Ecosystem`] detection.
//! Does not: choose a runtime base or write text (see `plan` and `emit`).

use serde::Serialize;

use super::context::ContextFacts;
use crate::catalog::ImageRef;
use crate::dockerfile::shell::{self, Command};
use crate::dockerfile::{Dockerfile, Instruction, Keyword, Stage};

/// The ecosystem of the app a stage builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    /// Go (`go build`, `go install`).
    Go,
    /// Rust (`cargo build`, `cargo install`).
    Rust,
    /// C (`gcc`, `cc`, `clang`, `make`, `cmake`).
    C,
    /// C++ (`g++`, `clang++`).
    Cpp,
    /// Node.js (npm, yarn, pnpm).
    Node,
    /// Python (pip, poetry, uv).
    Python,
    /// Java (Maven, Gradle).
    Java,
    /// .NET (`dotnet publish`).
    Dotnet,
}

impl Ecosystem {
    /// The name used in messages and JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Go => "go",
            Self::Rust => "rust",
            Self::C => "c",
            Self::Cpp => "cpp",
            Self::Node => "node",
            Self::Python => "python",
            Self::Java => "java",
            Self::Dotnet => "dotnet",
        }
    }

    /// Whether the artefact is native code linked against a C library.
    #[must_use]
    pub fn is_native(self) -> bool {
        matches!(self, Self::Go | Self::Rust | Self::C | Self::Cpp)
    }
}

/// A build tool a `RUN` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `go build`.
    GoBuild,
    /// `go install`.
    GoInstall,
    /// `cargo build`.
    CargoBuild,
    /// `cargo install`.
    CargoInstall,
    /// A C compiler.
    Cc,
    /// A C++ compiler.
    Cxx,
    /// `make` or `cmake`.
    Make,
    /// `npm ci` / `npm install`.
    Npm,
    /// `yarn install`.
    Yarn,
    /// `pnpm install`.
    Pnpm,
    /// `pip install`.
    Pip,
    /// `poetry install`.
    Poetry,
    /// `uv sync` / `uv pip install`.
    Uv,
    /// `mvn` / `mvnw`.
    Maven,
    /// `gradle` / `gradlew`.
    Gradle,
    /// `dotnet publish`.
    Dotnet,
}

impl Tool {
    fn ecosystem(self) -> Ecosystem {
        match self {
            Tool::GoBuild | Tool::GoInstall => Ecosystem::Go,
            Tool::CargoBuild | Tool::CargoInstall => Ecosystem::Rust,
            Tool::Cc | Tool::Make => Ecosystem::C,
            Tool::Cxx => Ecosystem::Cpp,
            Tool::Npm | Tool::Yarn | Tool::Pnpm => Ecosystem::Node,
            Tool::Pip | Tool::Poetry | Tool::Uv => Ecosystem::Python,
            Tool::Maven | Tool::Gradle => Ecosystem::Java,
            Tool::Dotnet => Ecosystem::Dotnet,
        }
    }
}

/// One build command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildCmd {
    /// The tool.
    pub tool: Tool,
    /// Where it writes its output (`-o`), absolute when the working directory is known.
    pub output: Option<String>,
    /// Byte offset of the program word in the file (where a prefix such as `CGO_ENABLED=0 `
    /// goes).
    pub program_at: usize,
    /// The working directory when it ran.
    pub workdir: String,
    /// `cargo --release` (or `-r`).
    pub release: bool,
    /// A musl target (`--target *-musl`).
    pub musl: bool,
    /// Dependencies installed for production only (`--omit=dev`, `--production`, `--prod`)
    /// or into the user's site (`pip --user`).
    pub flag: bool,
    /// Index of the `RUN` instruction.
    pub instruction: usize,
}

/// How the container starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Start {
    /// The program (first word of ENTRYPOINT, else CMD).
    pub program: Option<String>,
    /// All words of ENTRYPOINT then CMD (shell form split on whitespace).
    pub words: Vec<String>,
    /// A shell-form ENTRYPOINT/CMD (needs `/bin/sh`).
    pub shell_form: bool,
    /// Shell form with `$` expansion or shell operators.
    pub shell_expansion: bool,
    /// A shell script runs first (`*.sh`, or `sh`/`bash` with a script).
    pub script: Option<String>,
}

/// Everything the rewrite reads from the shipped stage.
#[derive(Clone, Debug, Default)]
pub struct StageFacts {
    /// The base as written (expanded with global ARGs).
    pub base: String,
    /// The base parsed, when it is a plain reference.
    pub base_ref: Option<ImageRef>,
    /// Build commands in order.
    pub builds: Vec<BuildCmd>,
    /// Packages installed with apt.
    pub apt: Vec<String>,
    /// Packages installed with apk.
    pub apk: Vec<String>,
    /// `CGO_ENABLED` as set by ENV or in a RUN (`Some(false)` for `0`).
    pub cgo: Option<bool>,
    /// The final working directory (`None` when never set).
    pub workdir: Option<String>,
    /// A WORKDIR uses a variable.
    pub workdir_has_var: bool,
    /// How the container starts.
    pub start: Start,
    /// HEALTHCHECK programs that a runtime base may lack (`curl`, `wget`).
    pub healthcheck_tools: Vec<String>,
    /// The last USER.
    pub user: Option<String>,
    /// Users and groups created by `useradd`/`adduser`/`groupadd`/`addgroup`.
    pub created_users: Vec<String>,
    /// Instruction indices to move to the runtime stage (EXPOSE, LABEL, HEALTHCHECK, …).
    pub moved: Vec<usize>,
    /// ARG and ENV instruction indices (repeated in the runtime stage).
    pub arg_env: Vec<usize>,
    /// WORKDIR instruction indices.
    pub workdirs: Vec<usize>,
    /// COPY/ADD instructions from the build context (not `--from`).
    pub context_copies: Vec<usize>,
    /// The stage installs `ca-certificates` or its base ships them.
    pub has_ca_certs: bool,
    /// A `make install` (or `cmake --install`, `ninja install`) spreads files over the
    /// filesystem.
    pub make_install: bool,
}

const MOVED: &[Keyword] = &[
    Keyword::Expose,
    Keyword::Label,
    Keyword::Healthcheck,
    Keyword::Stopsignal,
    Keyword::Volume,
    Keyword::Maintainer,
    Keyword::Onbuild,
    Keyword::Entrypoint,
    Keyword::Cmd,
];

fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        let d = dir.trim_end_matches('/');
        let p = path.trim_start_matches("./");
        format!("{d}/{p}")
    }
}

fn flag_value(cmd: &Command, short: &str, long: &str) -> Option<String> {
    let args = cmd.args();
    for (i, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        if t == short || t == long {
            return args.get(i + 1).map(|n| n.text.clone());
        }
        for f in [short, long] {
            if let Some(v) = t.strip_prefix(f).and_then(|r| r.strip_prefix('=')) {
                return Some(v.to_string());
            }
        }
    }
    None
}

fn packages_after(cmd: &Command, sub: &str, value_flags: &[&str]) -> Vec<String> {
    let args = cmd.args();
    let Some(pos) = args.iter().position(|w| w.text == sub) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut skip = false;
    for w in &args[pos + 1..] {
        if skip {
            skip = false;
            continue;
        }
        let t = w.text.as_str();
        if value_flags.contains(&t) {
            skip = true;
        } else if !t.starts_with('-') && !t.contains('$') && !t.is_empty() {
            out.push(t.split('=').next().unwrap_or(t).to_string());
        }
    }
    out
}

fn tool_of(cmd: &Command) -> Option<Tool> {
    let name = cmd.name()?;
    let sub = cmd.subcommand().map(|w| w.text.as_str());
    Some(match (name, sub) {
        ("go", Some("build")) => Tool::GoBuild,
        ("go", Some("install")) => Tool::GoInstall,
        ("cargo", Some("build" | "b")) => Tool::CargoBuild,
        ("cargo", Some("install")) => Tool::CargoInstall,
        ("gcc" | "cc" | "clang" | "musl-gcc", _) => Tool::Cc,
        ("g++" | "c++" | "clang++", _) => Tool::Cxx,
        ("make" | "cmake" | "ninja", _) => Tool::Make,
        ("npm", Some("ci" | "install" | "i")) => Tool::Npm,
        ("yarn", None | Some("install")) => Tool::Yarn,
        ("pnpm", Some("install" | "i")) => Tool::Pnpm,
        ("pip" | "pip3", Some("install")) => Tool::Pip,
        ("python" | "python3", _)
            if cmd
                .args()
                .windows(3)
                .any(|w| w[0].text == "-m" && w[1].text == "pip" && w[2].text == "install") =>
        {
            Tool::Pip
        }
        ("poetry", Some("install")) => Tool::Poetry,
        ("uv", Some("sync" | "pip")) => Tool::Uv,
        ("mvn" | "mvnw", _) => Tool::Maven,
        ("gradle" | "gradlew", _) => Tool::Gradle,
        ("dotnet", Some("publish")) => Tool::Dotnet,
        _ => return None,
    })
}

fn start_of(src: &str, instr: &Instruction, start: &mut Start) {
    let values: Vec<String> = instr.values().into_iter().map(std::borrow::Cow::into_owned).collect();
    if instr.json {
        start.words.extend(values);
    } else {
        let text = values.join(" ");
        start.shell_form = true;
        if text.contains('$') || text.contains("&&") || text.contains('|') || text.contains(';') || text.contains('`') {
            start.shell_expansion = true;
        }
        start.words.extend(text.split_whitespace().map(str::to_string));
        let _ = src;
    }
}

impl StageFacts {
    /// Reads the facts of `stage` of `df` (whose text is `src`).
    #[must_use]
    pub fn read(src: &str, df: &Dockerfile<'_>, stage: &Stage) -> Self {
        let mut f = StageFacts {
            base: stage.base_expanded.clone(),
            base_ref: ImageRef::parse(&stage.base_expanded),
            ..Self::default()
        };
        if let Some(r) = &f.base_ref {
            // Official language images ship CA certificates (buildpack-deps curl layer).
            f.has_ca_certs = matches!(
                r.repo.as_str(),
                "golang" | "rust" | "node" | "python" | "eclipse-temurin" | "maven" | "gradle"
            ) || r.repo.starts_with("dotnet/");
        }
        let mut wd = "/".to_string();
        let mut wd_set = false;
        let (mut entry, mut cmd): (Option<&Instruction>, Option<&Instruction>) = (None, None);
        for i in stage.instructions.clone().skip(1) {
            let instr = &df.instructions[i];
            if MOVED.contains(&instr.keyword) {
                f.moved.push(i);
            }
            match instr.keyword {
                Keyword::Arg | Keyword::Env => {
                    f.arg_env.push(i);
                    let text = instr.original.text();
                    if instr.keyword == Keyword::Env && text.contains("CGO_ENABLED") {
                        f.cgo = Some(!(text.contains("CGO_ENABLED=0") || text.contains("CGO_ENABLED 0")));
                    }
                }
                Keyword::Workdir => {
                    f.workdirs.push(i);
                    if let Some(v) = instr.values().first() {
                        if v.contains('$') {
                            f.workdir_has_var = true;
                        }
                        wd = join(&wd, v);
                        wd_set = true;
                    }
                }
                Keyword::User => f.user = instr.values().first().map(std::string::ToString::to_string),
                Keyword::Entrypoint => entry = Some(instr),
                Keyword::Cmd => cmd = Some(instr),
                Keyword::Healthcheck => {
                    let text = instr.original.text();
                    for t in ["curl", "wget"] {
                        if text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == t) {
                            f.healthcheck_tools.push(t.to_string());
                        }
                    }
                }
                Keyword::Copy | Keyword::Add if instr.flag("from").is_none() => f.context_copies.push(i),
                Keyword::Run => f.read_run(src, df, instr, i, &wd),
                _ => {}
            }
        }
        f.workdir = wd_set.then_some(wd);
        let mut start = Start::default();
        if let Some(e) = entry {
            start_of(src, e, &mut start);
        }
        // CMD is the ENTRYPOINT's arguments when both are present; with a shell-form
        // ENTRYPOINT it is ignored (Docker runs `sh -c ENTRYPOINT` only).
        if let Some(c) = cmd
            && entry.is_none_or(|e| e.json)
        {
            start_of(src, c, &mut start);
        }
        start.program = start.words.first().cloned();
        let script = start.words.iter().take(2).find(|w| w.ends_with(".sh")).cloned();
        start.script = script;
        f.start = start;
        f
    }

    fn read_run(&mut self, src: &str, df: &Dockerfile<'_>, instr: &Instruction, i: usize, wd: &str) {
        let text = instr.original.text();
        if text.contains("CGO_ENABLED=0") {
            self.cgo = Some(false);
        } else if text.contains("CGO_ENABLED=1") {
            self.cgo = Some(true);
        }
        let mut wd = wd.to_string();
        for c in shell::run_commands(src, instr, df.escape) {
            let Some(name) = c.name() else { continue };
            let sub = c.subcommand().map(|w| w.text.clone());
            match (name, sub.as_deref()) {
                ("cd", Some(d)) => wd = join(&wd, d),
                ("apt-get" | "apt" | "aptitude", Some("install")) => {
                    self.apt
                        .extend(packages_after(&c, "install", &["-t", "--target-release", "-o"]));
                }
                ("apk", Some("add")) => {
                    self.apk
                        .extend(packages_after(&c, "add", &["-t", "--virtual", "-X", "--repository"]));
                }
                ("useradd" | "adduser" | "groupadd" | "addgroup", _) => {
                    if let Some(w) = c.args().iter().rev().find(|w| !w.text.starts_with('-')) {
                        self.created_users.push(w.text.clone());
                    }
                }
                _ => {}
            }
            let Some(tool) = tool_of(&c) else { continue };
            if tool == Tool::Make && c.args().iter().any(|w| w.text == "install" || w.text == "--install") {
                self.make_install = true;
            }
            let output = match tool {
                Tool::GoBuild | Tool::Cc | Tool::Cxx => flag_value(&c, "-o", "-o"),
                Tool::Dotnet => flag_value(&c, "-o", "--output"),
                _ => None,
            }
            .filter(|o| !o.contains('$'))
            .map(|o| join(&wd, &o));
            let target = flag_value(&c, "--target", "--target");
            let flag = match tool {
                Tool::Npm => c.has_flag("--omit") || c.has_flag("--production") || c.has_flag("--only"),
                Tool::Yarn | Tool::Pnpm => c.has_flag("--production") || c.has_flag("--prod"),
                Tool::Pip => c.has_flag("--user"),
                _ => false,
            };
            let program_at = c.effective().first().map_or(0, |w| w.span.start());
            self.builds.push(BuildCmd {
                tool,
                output,
                program_at,
                workdir: wd.clone(),
                release: c.has_flag("--release") || c.args().iter().any(|w| w.text == "-r"),
                musl: target.is_some_and(|t| t.contains("musl")),
                flag,
                instruction: i,
            });
        }
        if self.apt.iter().chain(&self.apk).any(|p| p == "ca-certificates") {
            self.has_ca_certs = true;
        }
    }

    /// The ecosystem, from the build commands first (the most specific one wins: a `make`
    /// that drives `go build` is Go), then the context's manifests.
    #[must_use]
    pub fn ecosystem(&self, ctx: &ContextFacts) -> Option<Ecosystem> {
        let order = [
            Ecosystem::Go,
            Ecosystem::Rust,
            Ecosystem::Dotnet,
            Ecosystem::Java,
            Ecosystem::Node,
            Ecosystem::Python,
            Ecosystem::Cpp,
            Ecosystem::C,
        ];
        let found: Vec<Ecosystem> = self.builds.iter().map(|b| b.tool.ecosystem()).collect();
        if let Some(e) = order.iter().find(|e| found.contains(e)) {
            // `make` alone in a Go or Rust project is that project's build.
            if *e == Ecosystem::C && found.iter().all(|x| *x == Ecosystem::C) {
                if ctx.has("go.mod") && self.builds.iter().all(|b| b.tool == Tool::Make) {
                    return Some(Ecosystem::Go);
                }
                if ctx.has("Cargo.toml") && self.builds.iter().all(|b| b.tool == Tool::Make) {
                    return Some(Ecosystem::Rust);
                }
            }
            return Some(*e);
        }
        None
    }

    /// The build commands of one ecosystem.
    pub fn builds_of(&self, eco: Ecosystem) -> impl Iterator<Item = &BuildCmd> {
        self.builds.iter().filter(move |b| {
            let e = b.tool.ecosystem();
            e == eco || (eco == Ecosystem::Cpp && e == Ecosystem::C) || b.tool == Tool::Make
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::{StageOptions, Stages};

    fn facts(src: &str) -> StageFacts {
        let df = crate::dockerfile::parse_str(src).expect("parses");
        let st = Stages::build(&df, &StageOptions::default()).expect("stages");
        StageFacts::read(src, &df, &st.stages[st.target])
    }

    #[test]
    fn reads_a_go_build() {
        let f = facts(
            "FROM debian:bookworm\nRUN apt-get update && apt-get install -y golang-go ca-certificates\n\
             WORKDIR /src\nCOPY . .\nRUN go build -o app .\nEXPOSE 8080\nCMD [\"/src/app\"]\n",
        );
        assert_eq!(f.ecosystem(&ContextFacts::default()), Some(Ecosystem::Go));
        assert_eq!(f.builds[0].output.as_deref(), Some("/src/app"));
        assert_eq!(f.apt, vec!["golang-go".to_string(), "ca-certificates".to_string()]);
        assert!(f.has_ca_certs);
        assert_eq!(f.workdir.as_deref(), Some("/src"));
        assert_eq!(f.start.program.as_deref(), Some("/src/app"));
        assert!(!f.start.shell_form);
        assert_eq!(f.moved.len(), 2);
    }

    #[test]
    fn reads_shell_starts_and_healthchecks() {
        let f = facts(
            "FROM node:22\nWORKDIR /app\nRUN npm ci --omit=dev\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\n\
             CMD node server.js --port $PORT\n",
        );
        assert_eq!(f.ecosystem(&ContextFacts::default()), Some(Ecosystem::Node));
        assert!(f.builds[0].flag);
        assert!(f.start.shell_expansion);
        assert_eq!(f.healthcheck_tools, vec!["curl".to_string()]);
        let f = facts("FROM python:3.12\nRUN python -m pip install -r r.txt\nENTRYPOINT [\"./entrypoint.sh\"]\n");
        assert_eq!(f.ecosystem(&ContextFacts::default()), Some(Ecosystem::Python));
        assert_eq!(f.start.script.as_deref(), Some("./entrypoint.sh"));
    }
}
