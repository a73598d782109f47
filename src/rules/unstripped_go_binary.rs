use super::pkg;
use super::{Finding, Rule, RuleContext, RuleMeta};
use crate::diag::Severity;
use crate::dockerfile::shell::Command;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `go build` (and `go install`) without `-ldflags "-s -w"` (or `-s`, which
    /// implies `-w`) in a stage whose output reaches the final image: the final image itself or
    /// a stage it copies from. Builds whose flags come from a variable (`-ldflags "$LDFLAGS"`),
    /// from `GOFLAGS`, or that disable optimisations for a debugger (`-gcflags "all=-N -l"`)
    /// are not reported.
    ///
    /// Only images that run something are checked: the target's stage chain has `CMD` or
    /// `ENTRYPOINT` and the target is not a development stage (`dev`, `build`, `test`,
    /// `validate`, ...).
    ///
    /// ## Why is this bad?
    /// Without `-s -w` the Go linker keeps the symbol table and DWARF debug information in the
    /// binary. Stripping them cut binaries by 17–29% (8.32 → 5.94 MB, schollz/croc#321;
    /// 206 → 171 MB, CherryHQ/stella#1150) and one image from 161 to 114 MB
    /// (tailscale/tailscale#18705). Panic stack traces still work: `gopclntab` is kept. The
    /// binary's size is unknown from the Dockerfile, so imgopt gives no byte estimate. Rust
    /// release builds are not checked: since Rust 1.77 they strip debug info by default.
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
    ///
    /// ## References
    /// - `../shared/reference/rewrites.md` sections 2.1 and 3, row 12
    /// - Go `cmd/link` documentation (`-s`: omit the symbol table and debug information)
    pub UnstrippedGoBinary, "DF106", "unstripped-go-binary", Severity::Info
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
        if val.split_whitespace().any(|f| f == "-s" || f == "-s=true" || f.starts_with("-s ")) {
            return Some(true);
        }
        if val.contains('$') {
            return None;
        }
    }
    if c.args().iter().any(|w| w.text.starts_with("-gcflags") && (w.text.contains("-N") || w.text.contains("-l"))) {
        return None;
    }
    let _ = found;
    Some(false)
}

impl Rule for UnstrippedGoBinary {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        if !ctx.runtime {
            return;
        }
        let shipping: Vec<usize> = ctx.stages.iter().filter(|s| s.ships).map(|s| s.index).collect();
        for st in ctx.stages.iter().filter(|s| s.reaches_target) {
            let feeds = st.ships || ctx.stages.iter().any(|o| shipping.contains(&o.index) && o.copies_from.contains(&st.index));
            if !feeds {
                continue;
            }
            for (i, _) in ctx.stage_instructions(st.index) {
                if ctx.env_at(st.index, i, "GOFLAGS").is_some() {
                    continue;
                }
                for c in &ctx.commands[i] {
                    if !pkg::is(c, "go", &["build", "install"]) {
                        continue;
                    }
                    if c.words.iter().any(|w| w.text.starts_with("GOFLAGS=")) {
                        continue;
                    }
                    // `go install pkg@version` of a tool, or a test/vet build: still a binary.
                    if stripped(c) == Some(false) {
                        out.push(
                            Finding::new(&Self::META, ctx, i, c.span_through(1).unwrap_or_default(), "`go build` without `-ldflags=\"-s -w\"` keeps the symbol table and DWARF data in the binary", "add `-ldflags=\"-s -w\"` (binaries shrink by 17–29% in published cases)")
                                .note("no byte estimate: the binary's size is not known from the Dockerfile"),
                        );
                    }
                }
            }
        }
    }
}
