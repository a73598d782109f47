//! Rule DF106 unstripped-binary: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::shell::Command;
use crate::dockerfile::stages::DependencyKind;

crate::declare_rule! {
    /// ## What it does
    /// Checks for binaries built with their debug data in a stage whose output reaches the
    /// final image (the final image itself or a stage it copies from):
    /// - `go build` / `go install` without `-ldflags "-s -w"` (or `-s`, which implies `-w`),
    ///   and `go get` of a remote command without `-d`, which builds and installs it the same
    ///   way in GOPATH mode (Go before 1.17, or `GO111MODULE=off`).
    ///   Flags from a variable (`-ldflags "$LDFLAGS"`, a flag that is a whole `$VAR`) or
    ///   `GOFLAGS` (an `ENV`, or an `ARG` the build gives a value), and debugger builds (`-gcflags "all=-N -l"`), are not reported; a value
    ///   computed inside a flag (`-X main.version=$(git describe --tags)`,
    ///   `-X main.commit=${COMMIT}`) does not hide `-s`, so it is.
    ///   A `go install`/`go build` of remote import paths without a version before the stage
    ///   copies its source (`go install golang.org/x/crypto/ssh` next to `go.mod` alone)
    ///   pre-builds the dependencies for the layer cache and installs no program: not reported.
    /// - C and C++ compiles with `-g` (`gcc`, `g++`, `cc`, `c++`, `clang`) and no `-s`, when no
    ///   `strip` runs later in that stage.
    /// - C and C++ builds that a build system is asked to make with debug information:
    ///   `CFLAGS`/`CXXFLAGS` with `-g` given to `./configure` or `make` (an argument, an
    ///   assignment before the command, or an `ENV`/`ARG` in scope; `cmake` reads them from the
    ///   environment too), `cmake -DCMAKE_C_FLAGS="... -g"` (or `CMAKE_CXX_FLAGS`),
    ///   `-DCMAKE_BUILD_TYPE=Debug` or `RelWithDebInfo`, `meson --buildtype=debug` or
    ///   `debugoptimized`; not when the stage strips later (`strip`, `make install-strip`,
    ///   `cmake --install ... --strip`, `meson install --strip`, `install -s`, `LDFLAGS=-s`).
    ///   Autoconf's own default flags (`-g -O2` when `CFLAGS` is unset) are not counted: only a
    ///   file that asks for `-g` is reported.
    /// - `cargo build --release` / `cargo install` when the build context's `Cargo.toml` turns
    ///   debug info on in `[profile.release]` (`debug = true`, `1`, `2`, `"full"`, `"limited"`)
    ///   without `strip`, and neither `CARGO_PROFILE_RELEASE_STRIP` nor a later `strip` is set.
    ///   Since Rust 1.77 release builds drop debug info by default, so without the context
    ///   nothing is reported.
    ///
    /// A stage's output reaches the image when the image ships it, copies from it, or copies
    /// from a stage that copied it into a path the image takes (`COPY --from=lib /out/ /out/`
    /// in a stage whose `/out/` the final image copies). Only images that run something are
    /// checked: the target's stage chain has `CMD`, `ENTRYPOINT`, `EXPOSE` or `HEALTHCHECK`,
    /// or installs a program a build stage made (`COPY --from=build /go/bin/* /usr/local/bin/`,
    /// run with a command given at `docker run`), and the target is not a development stage
    /// (`dev`, `build`, `test`, `validate`, ...).
    ///
    /// ## Why is this bad?
    /// Symbol tables and DWARF debug information are not needed to run a program. Stripping
    /// Go binaries cut them by 17–29% (8.32 → 5.94 MB, schollz/croc#321; 206 → 171 MB,
    /// CherryHQ/stella#1150) and one image from 161 to 114 MB (tailscale/tailscale#18705);
    /// panic stack traces still work (`gopclntab` is kept). An unstripped jlink runtime was
    /// 346 MB against 49 MB stripped (docker-library/openjdk#217); the official php and python
    /// images strip their binaries for this reason. The binary's size is unknown from the
    /// Dockerfile, so imgopt gives no byte estimate.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN CGO_ENABLED=0 go build -ldflags="-s -w" -o /out/app ./cmd/app
    /// ```
    /// For C, drop `-g` (`-DCMAKE_BUILD_TYPE=Release`), install with `make install-strip`, or
    /// run `strip --strip-unneeded` on the output; for Rust, set
    /// `strip = true` in `[profile.release]` (or `CARGO_PROFILE_RELEASE_STRIP=true`).
    ///
    /// ## References
    /// - Go `cmd/link` documentation, `-s`: omit the symbol table and debug information
    ///   (<https://pkg.go.dev/cmd/link>)
    /// - The Cargo book, "Profiles": `strip` and `debug`
    ///   (<https://doc.rust-lang.org/cargo/reference/profiles.html>)
    /// - CMake, `CMAKE_BUILD_TYPE` (<https://cmake.org/cmake/help/latest/variable/CMAKE_BUILD_TYPE.html>);
    ///   GNU Automake, `install-strip` (<https://www.gnu.org/software/automake/manual/html_node/Standard-Targets.html>)
    pub UnstrippedBinary, DF106, "unstripped-binary", Severity::Info
}

/// `Some(true)` stripped, `Some(false)` not stripped, `None` unknown (flags from a variable).
fn stripped(c: &Command) -> Option<bool> {
    let args = c.args();
    let mut found = false;
    for (i, w) in args.iter().enumerate() {
        let t = w.text.trim_start_matches('-');
        let val = if t == "ldflags" {
            args.get(i + 1).map(|w| w.text.as_str())
        } else if let Some(v) = t.strip_prefix("ldflags=") {
            Some(v)
        } else {
            continue;
        };
        let Some(val) = val else { continue };
        found = true;
        let val = val.trim_matches(['"', '\'']);
        if val
            .split_whitespace()
            .any(|f| f == "-s" || f == "-s=true" || f.starts_with("-s "))
        {
            return Some(true);
        }
        // A flag that comes whole from a variable (`"$LDFLAGS -X a=b"`) may be `-s`; a value
        // computed inside a flag (`-X main.version=$(git describe --tags)`) cannot.
        if without_substitutions(val)
            .split_whitespace()
            .any(|f| f.starts_with('$'))
        {
            return None;
        }
    }
    if c.args()
        .iter()
        .any(|w| w.text.starts_with("-gcflags") && (w.text.contains("-N") || w.text.contains("-l")))
    {
        return None;
    }
    let _ = found;
    Some(false)
}

/// `s` with its command substitutions (`$(...)`, nested, and `` `...` ``) removed.
fn without_substitutions(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut backtick) = (0usize, false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' if depth == 0 => backtick = !backtick,
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                depth += 1;
            }
            '(' if depth > 0 => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 && !backtick => out.push(c),
            _ => {}
        }
    }
    out
}

/// A C/C++ compile with `-g` (not `-g0`) and without `-s`.
fn c_debug_build(c: &Command) -> bool {
    matches!(c.name(), Some("gcc" | "g++" | "cc" | "c++" | "clang" | "clang++"))
        && c.args()
            .iter()
            .any(|w| w.text.starts_with("-g") && w.text != "-g0" && !w.text.starts_with("-gno"))
        && !c
            .args()
            .iter()
            .any(|w| w.text == "-s" || w.text == "-Wl,-s" || w.text == "-Wl,--strip-all")
        && c.args()
            .iter()
            .any(|w| w.text == "-o" || (w.text.starts_with("-o") && w.text.len() > 2))
        && !c.args().iter().any(|w| w.text == "-c")
}

/// Whether a compiler flag list (`-g -O2`, `-DPROM_LOG_ENABLE -g -O3`) turns debug
/// information on: a `-g` flag (`-g`, `-g3`, `-ggdb`, `-gdwarf-4`), not `-g0`.
fn debug_flags(list: &str) -> bool {
    list.split_whitespace()
        .map(|f| f.trim_matches(['"', '\'']))
        .any(|f| f.starts_with("-g") && f != "-g0" && !f.starts_with("-gno") && !f.starts_with("-gz"))
}

/// Variables that carry C and C++ compiler flags into `./configure`, `make` and `cmake`
/// (which reads them from the environment the first time it configures a build folder).
const FLAG_VARS: &[&str] = &["CFLAGS", "CXXFLAGS"];

/// The debug setting a C or C++ build system is given, as written: `CFLAGS="-g -O2"` (an
/// argument of `./configure` or `make`, an assignment before it, or an `ENV`/`ARG` in scope),
/// `cmake -DCMAKE_C_FLAGS="... -g"` (or `CMAKE_CXX_FLAGS`), `-DCMAKE_BUILD_TYPE=Debug` or
/// `RelWithDebInfo`, and `meson --buildtype=debug` or `debugoptimized`. The build types are
/// CMake's (<https://cmake.org/cmake/help/latest/variable/CMAKE_BUILD_TYPE.html>) and Meson's
/// (<https://mesonbuild.com/Builtin-options.html>); the variables are the GNU Coding
/// Standards' (<https://www.gnu.org/prep/standards/html_node/Command-Variables.html>).
/// Autoconf's own default of `-g -O2` when `CFLAGS` is unset is not counted: only a file that
/// asks for `-g` is reported.
fn build_system_debug(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command) -> Option<String> {
    let name = c.name()?;
    if !matches!(name, "configure" | "cmake" | "make" | "gmake" | "meson") {
        return None;
    }
    let args = c.args();
    let arg_value = |k: &str| {
        args.iter().find_map(|w| {
            w.text
                .strip_prefix(k)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_string)
        })
    };
    let assigned = |k: &str| {
        c.words
            .iter()
            .take_while(|w| w.text.contains('=') && !w.text.starts_with('-'))
            .find_map(|w| {
                w.text
                    .strip_prefix(k)
                    .and_then(|r| r.strip_prefix('='))
                    .map(str::to_string)
            })
    };
    let from_env = |k: &str| assigned(k).or_else(|| ctx.env_at(s, i, k));
    match name {
        "cmake" => {
            for w in args {
                let Some(def) = w.text.strip_prefix("-D") else { continue };
                let Some((key, val)) = def.split_once('=') else {
                    continue;
                };
                let key = key.split(':').next().unwrap_or(key);
                let val = val.trim_matches(['"', '\'']);
                if key == "CMAKE_BUILD_TYPE" && matches!(val.to_ascii_lowercase().as_str(), "debug" | "relwithdebinfo")
                {
                    return Some(format!("`-DCMAKE_BUILD_TYPE={val}`"));
                }
                if matches!(key, "CMAKE_C_FLAGS" | "CMAKE_CXX_FLAGS") && debug_flags(val) {
                    return Some(format!("`-g` in `{key}`"));
                }
            }
            FLAG_VARS
                .iter()
                .find_map(|k| from_env(k).filter(|v| debug_flags(v)).map(|_| format!("`-g` in `{k}`")))
        }
        "meson" => args.iter().enumerate().find_map(|(n, w)| {
            let v = w
                .text
                .strip_prefix("--buildtype=")
                .or_else(|| w.text.strip_prefix("-Dbuildtype="))
                .map(str::to_string)
                .or_else(|| {
                    (w.text == "--buildtype")
                        .then(|| args.get(n + 1).map(|x| x.text.clone()))
                        .flatten()
                })?;
            matches!(v.as_str(), "debug" | "debugoptimized").then(|| format!("`--buildtype={v}`"))
        }),
        _ => FLAG_VARS.iter().find_map(|k| {
            arg_value(k)
                .or_else(|| from_env(k))
                .filter(|v| debug_flags(v))
                .map(|_| format!("`-g` in `{k}`"))
        }),
    }
}

/// Whether a command strips what it builds or installs: `strip`, `make install-strip`,
/// `cmake --install ... --strip`, `install -s`, or a link with `-s` in `LDFLAGS`.
fn strips(c: &Command) -> bool {
    let Some(n) = c.name() else { return false };
    n == "strip"
        || n.ends_with("-strip")
        || ((n == "make" || n == "gmake") && c.args().iter().any(|w| w.text == "install-strip"))
        || (n == "cmake" && c.args().iter().any(|w| w.text == "--install") && c.has_flag("--strip"))
        || (n == "meson" && c.subcommand().is_some_and(|w| w.text == "install") && c.has_flag("--strip"))
        || (n == "install" && c.has_short_or_long('s', &["--strip"]))
        || c.words.iter().any(|w| {
            w.text.strip_prefix("LDFLAGS=").is_some_and(|v| {
                v.split_whitespace()
                    .any(|f| matches!(f.trim_matches(['"', '\'']), "-s" | "-Wl,-s" | "-Wl,--strip-all"))
            })
        })
}

/// Go flags that take the next word as their value.
const GO_VALUE_FLAGS: &[&str] = &[
    "-o",
    "-ldflags",
    "-gcflags",
    "-asmflags",
    "-tags",
    "-p",
    "-mod",
    "-modfile",
    "-overlay",
    "-pkgdir",
    "-toolexec",
    "-buildmode",
    "-compiler",
    "-installsuffix",
    "-pgo",
    "-C",
    "-gccgoflags",
];

/// A `go install`/`go build` of remote import paths without a version (`go install
/// github.com/aws/aws-sdk-go-v2/aws golang.org/x/crypto/ssh`) before the stage copies the
/// project's source: with only `go.mod` there they are the project's dependencies, built
/// into the build cache so the layer cache keeps them (library packages install nothing).
fn prebuilds_dependencies(ctx: &RuleContext<'_>, s: usize, i: usize, c: &Command) -> bool {
    let mut skip = false;
    let mut pkgs = Vec::new();
    for w in c.args().iter().skip(1) {
        if std::mem::take(&mut skip) {
            continue;
        }
        let t = w.text.as_str();
        if t.starts_with('-') {
            skip = !t.contains('=') && GO_VALUE_FLAGS.contains(&t);
            if t == "-o" || t.starts_with("-o=") {
                return false;
            }
            continue;
        }
        pkgs.push(t);
    }
    let remote = |p: &str| {
        !p.contains('@')
            && !p.starts_with('.')
            && !p.starts_with('/')
            && p.split('/').next().is_some_and(|h| h.contains('.'))
    };
    !pkgs.is_empty()
        && pkgs.iter().all(|p| remote(p))
        && ctx
            .stage_instructions(s)
            .any(|(j, _)| j > i && super::copy_all_before_dependency_install::copies_whole_context(ctx, s, j))
}

/// Stages whose files reach the image: the shipping ones (and the stages they are built
/// `FROM`), the stages they `COPY --from`, and, transitively, a stage copied into a path a
/// later copy takes on (`COPY --from=lib /out/ /out/` in a stage whose `/out/` the final
/// image copies).
fn feeding_stages(ctx: &RuleContext<'_>) -> Vec<bool> {
    let n = ctx.stages.len();
    let mut feeds = vec![false; n];
    // The paths the image takes out of each stage ("/" for the ones that ship).
    let mut taken: Vec<Vec<String>> = vec![Vec::new(); n];
    for st in ctx.stages.iter().filter(|s| s.ships) {
        feeds[st.index] = true;
        taken[st.index].push("/".to_string());
    }
    let norm = |p: String| {
        // Up to the last `/` before a glob (`/go/bin/*` takes `/go/bin`).
        let p = match p.find(['*', '?', '[']) {
            Some(g) => p[..g].rsplit_once('/').map_or("/", |(d, _)| d).to_string(),
            None => p,
        };
        let t = p.trim_end_matches('/');
        if t.is_empty() || t.contains('$') {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    // A stage copies from and is built on earlier stages only: latest first.
    for st in ctx.stages.iter().rev() {
        if !feeds[st.index] || taken[st.index].len() > MAX_TAKEN {
            continue;
        }
        let paths = taken[st.index].clone();
        if let Some(b) = st.base_stage {
            feeds[b] = true;
            taken[b].extend(paths.iter().cloned());
        }
        for d in &st.dependencies {
            let (DependencyKind::CopyFrom, Some(x)) = (d.kind, d.stage) else {
                continue;
            };
            let inst = &ctx.dockerfile.instructions[d.instruction];
            let v = inst.values();
            let Some((dest, srcs)) = v.split_last() else { continue };
            let wd = ctx.workdir_at(st.index, d.instruction).to_string();
            let dest = norm(pkg::join(&wd, &ctx.expand_at(st.index, d.instruction, dest)));
            let reaches = paths
                .iter()
                .any(|t| t == "/" || dest == *t || dest.starts_with(&format!("{t}/")));
            if reaches {
                feeds[x] = true;
                for src in srcs {
                    taken[x].push(norm(pkg::join("/", &ctx.expand_at(st.index, d.instruction, src))));
                }
            }
        }
    }
    feeds
}

/// How many taken paths a stage's walk follows (files with thousands of copies stay linear;
/// past it, the stage's own sources are not followed further).
const MAX_TAKEN: usize = 256;

/// `debug = ...` of `[profile.release]` in the context's root Cargo.toml, when it turns
/// debug info on and `strip` is not set.
fn cargo_release_debug(bc: &crate::context::BuildContext) -> Option<String> {
    let text = bc.read_small("Cargo.toml")?;
    let v: toml::Table = text.parse().ok()?;
    let release = v.get("profile")?.get("release")?;
    if release.get("strip").is_some() {
        return None;
    }
    let d = release.get("debug")?;
    let on = match d {
        toml::Value::Boolean(b) => *b,
        toml::Value::Integer(n) => *n > 0,
        toml::Value::String(s) => matches!(
            s.as_str(),
            "full" | "limited" | "line-tables-only" | "line-directives-only"
        ),
        _ => false,
    };
    on.then(|| d.to_string())
}

impl Rule for UnstrippedBinary {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime_image() {
            return;
        }
        // Stages whose output reaches the image.
        let feeds = feeding_stages(ctx);
        for st in ctx.stages.iter().filter(|s| s.reaches_target) {
            if !feeds[st.index] {
                continue;
            }
            let instrs: Vec<usize> = ctx.stage_instructions(st.index).map(|(i, _)| i).collect();
            // The last strip of this stage: one at or after instruction `i` strips its output.
            let last_strip = instrs
                .iter()
                .rev()
                .copied()
                .find(|&k| ctx.commands[k].iter().any(strips));
            let strips_from = |i: usize| last_strip.is_some_and(|k| k >= i);
            for &i in &instrs {
                let mut c_build_reported = false;
                for c in &ctx.commands[i] {
                    // `go get REMOTE` without `-d` builds and installs the command in GOPATH
                    // mode (Go before 1.17, or `GO111MODULE=off`).
                    let go_get_builds = pkg::is(c, "go", &["get"])
                        && !c.has_flag("-d")
                        && c.args().iter().skip(1).any(|w| {
                            // `go get -v $PACKAGE` with `ENV PACKAGE github.com/x/y`.
                            let t = ctx.expand_at(st.index, i, &w.text);
                            !t.starts_with('-') && !t.starts_with('.') && t.contains('/') && !t.contains('$')
                        });
                    if pkg::is(c, "go", &["build", "install"]) || go_get_builds {
                        // `ARG GOFLAGS` without a value: the build passes the flags.
                        if ctx.declared_at(st.index, i, "GOFLAGS")
                            || c.words.iter().any(|w| w.text.starts_with("GOFLAGS="))
                            || (!go_get_builds && prebuilds_dependencies(ctx, st.index, i, c))
                        {
                            continue;
                        }
                        if stripped(c) == Some(false) {
                            out.push(
                                Finding::new(&Self::META, ctx, i, c.span_through(1).unwrap_or_default(), format!("`{}` without `-ldflags=\"-s -w\"` keeps the symbol table and DWARF data in the binary", ctx.text(c.span_through(1).unwrap_or_default())), "add `-ldflags=\"-s -w\"` (binaries shrink by 17–29% in published cases)")
                                    .note("no byte estimate: the binary's size is not known from the Dockerfile"),
                            );
                        }
                    } else if c_debug_build(c) && !strips_from(i) {
                        out.push(
                            Finding::new(
                                &Self::META,
                                ctx,
                                i,
                                c.span().unwrap_or_default(),
                                format!(
                                    "`{}` with `-g` builds debug information into the binary and nothing strips it",
                                    c.name().unwrap_or("cc")
                                ),
                                "drop `-g` (or add `-s`), or run `strip --strip-unneeded` on the output in this RUN",
                            )
                            .note("no byte estimate: the binary's size is not known from the Dockerfile"),
                        );
                    } else if !c_build_reported
                        && !strips_from(i)
                        && let Some(setting) = build_system_debug(ctx, st.index, i, c)
                    {
                        c_build_reported = true;
                        let tool = c.effective().first().map_or("make", |w| w.text.as_str());
                        out.push(
                            Finding::new(
                                &Self::META,
                                ctx,
                                i,
                                c.span_through(0).unwrap_or_default(),
                                format!(
                                    "`{tool}` builds with debug information ({setting}) and nothing strips what it installs"
                                ),
                                match c.name() {
                                    Some("cmake") => "build with `-DCMAKE_BUILD_TYPE=Release` and no `-g`, or install with `cmake --install BUILD_DIR --strip`",
                                    Some("meson") => "build with `--buildtype=release`, or install with `meson install --strip`",
                                    _ => "drop `-g` from the flags, or install with `make install-strip` (or run `strip --strip-unneeded` on the output)",
                                },
                            )
                            .note("no byte estimate: the size of the built files is not known from the Dockerfile"),
                        );
                    } else if pkg::is(c, "cargo", &["build", "install"])
                        && (c.has_flag("--release") || c.subcommand().is_some_and(|w| w.text == "install"))
                    {
                        let env_strip = ctx.env_at(st.index, i, "CARGO_PROFILE_RELEASE_STRIP").is_some()
                            || c.words.iter().any(|w| {
                                w.text.starts_with("CARGO_PROFILE_RELEASE_STRIP=")
                                    || (w.text.starts_with("RUSTFLAGS=") && w.text.contains("strip"))
                            })
                            || ctx
                                .env_at(st.index, i, "RUSTFLAGS")
                                .is_some_and(|v| v.contains("strip"));
                        if env_strip || strips_from(i) {
                            continue;
                        }
                        if let Some(debug) = ctx.build_context.and_then(cargo_release_debug) {
                            out.push(
                                Finding::new(&Self::META, ctx, i, c.span_through(1).unwrap_or_default(), format!("`cargo build --release` ships debug info: Cargo.toml sets `debug = {debug}` in [profile.release] and nothing strips the binary"), "set `strip = true` (or `\"debuginfo\"`) in [profile.release], or `ENV CARGO_PROFILE_RELEASE_STRIP=true`")
                                    .note("no byte estimate: the binary's size is not known from the Dockerfile"),
                            );
                        }
                    }
                }
            }
        }
    }
}
