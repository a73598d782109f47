//! Rule DF106 unstripped-binary: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::pkg;
use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::shell::Command;

crate::declare_rule! {
    /// ## What it does
    /// Checks for binaries built with their debug data in a stage whose output reaches the
    /// final image (the final image itself or a stage it copies from):
    /// - `go build` / `go install` without `-ldflags "-s -w"` (or `-s`, which implies `-w`),
    ///   and `go get` of a remote command without `-d`, which builds and installs it the same
    ///   way in GOPATH mode (Go before 1.17, or `GO111MODULE=off`).
    ///   Flags from a variable (`-ldflags "$LDFLAGS"`, a flag that is a whole `$VAR`) or
    ///   `GOFLAGS`, and debugger builds (`-gcflags "all=-N -l"`), are not reported; a value
    ///   computed inside a flag (`-X main.version=$(git describe --tags)`,
    ///   `-X main.commit=${COMMIT}`) does not hide `-s`, so it is.
    /// - C and C++ compiles with `-g` (`gcc`, `g++`, `cc`, `c++`, `clang`) and no `-s`, when no
    ///   `strip` runs later in that stage.
    /// - `cargo build --release` / `cargo install` when the build context's `Cargo.toml` turns
    ///   debug info on in `[profile.release]` (`debug = true`, `1`, `2`, `"full"`, `"limited"`)
    ///   without `strip`, and neither `CARGO_PROFILE_RELEASE_STRIP` nor a later `strip` is set.
    ///   Since Rust 1.77 release builds drop debug info by default, so without the context
    ///   nothing is reported.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT` and the target is not a development stage (`dev`, `build`, `test`,
    /// `validate`, ...).
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
    /// For C, drop `-g` or run `strip --strip-unneeded` on the output; for Rust, set
    /// `strip = true` in `[profile.release]` (or `CARGO_PROFILE_RELEASE_STRIP=true`).
    ///
    /// ## References
    /// - Go `cmd/link` documentation, `-s`: omit the symbol table and debug information
    ///   (<https://pkg.go.dev/cmd/link>)
    /// - The Cargo book, "Profiles": `strip` and `debug`
    ///   (<https://doc.rust-lang.org/cargo/reference/profiles.html>)
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
        if !ctx.runtime {
            return;
        }
        // Stages whose output reaches the image: shipping ones and those they copy from.
        let mut feeds = vec![false; ctx.stages.len()];
        for st in ctx.stages.iter().filter(|s| s.ships) {
            feeds[st.index] = true;
            for &c in &st.copies_from {
                feeds[c] = true;
            }
        }
        for st in ctx.stages.iter().filter(|s| s.reaches_target) {
            if !feeds[st.index] {
                continue;
            }
            let instrs: Vec<usize> = ctx.stage_instructions(st.index).map(|(i, _)| i).collect();
            // The last `strip` of this stage: one at or after instruction `i` strips its output.
            let last_strip = instrs.iter().rev().copied().find(|&k| {
                ctx.commands[k].iter().any(|c| {
                    c.name()
                        .is_some_and(|n| n == "strip" || n.ends_with("-strip") || n == "llvm-strip")
                })
            });
            let strips_from = |i: usize| last_strip.is_some_and(|k| k >= i);
            for &i in &instrs {
                let goflags = ctx.env_at(st.index, i, "GOFLAGS").is_some();
                for c in &ctx.commands[i] {
                    // `go get REMOTE` without `-d` builds and installs the command in GOPATH
                    // mode (Go before 1.17, or `GO111MODULE=off`).
                    let go_get_builds = pkg::is(c, "go", &["get"])
                        && !c.has_flag("-d")
                        && c.args()
                            .iter()
                            .skip(1)
                            .any(|w| !w.text.starts_with('-') && !w.text.starts_with('.') && w.text.contains('/'));
                    if pkg::is(c, "go", &["build", "install"]) || go_get_builds {
                        if goflags || c.words.iter().any(|w| w.text.starts_with("GOFLAGS=")) {
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
