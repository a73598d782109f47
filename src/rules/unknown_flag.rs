//! Rule DF002 unknown-flag: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext, suggest};
use crate::diag::Severity;
use crate::dockerfile::{Instruction, Keyword};
use crate::fix::{Edit, Fix};

crate::declare_rule! {
    /// ## What it does
    /// Checks for `--flags` an instruction does not take, such as `COPY --form=build` or
    /// `RUN --mout=type=cache`, and suggests the closest flag the instruction has. Flags of
    /// the Dockerfile labs syntax (`RUN --device`, `COPY --parents`, `--exclude`) are accepted.
    ///
    /// ## Why is this bad?
    /// The file parses, but BuildKit refuses the instruction with `unknown flag` and the build
    /// fails. A misspelt `--from` would otherwise copy from the build context instead of the
    /// stage, and a misspelt `--mount` would drop a cache mount.
    ///
    /// ## Example
    /// ```dockerfile
    /// COPY --form=build /out/app /app
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// COPY --from=build /out/app /app
    /// ```
    ///
    /// ## References
    /// - Dockerfile reference, the flags of each instruction (<https://docs.docker.com/reference/dockerfile/>)
    pub UnknownFlag, DF002, "unknown-flag", Severity::Error
}

/// The flags each instruction takes (Dockerfile reference, stable and labs syntax).
fn known_flags(k: Keyword) -> Option<&'static [&'static str]> {
    Some(match k {
        Keyword::From => &["platform"],
        Keyword::Run => &["mount", "network", "security", "device"],
        Keyword::Copy => &["from", "chown", "chmod", "link", "parents", "exclude"],
        Keyword::Add => &[
            "chown",
            "chmod",
            "link",
            "checksum",
            "keep-git-dir",
            "exclude",
            "parents",
            "unpack",
        ],
        Keyword::Healthcheck => &["interval", "timeout", "start-period", "start-interval", "retries"],
        Keyword::Unknown => return None,
        _ => &[],
    })
}

fn check_one(ctx: &RuleContext<'_>, i: usize, inst: &Instruction<'_>, out: &mut Vec<Finding>) {
    let Some(known) = known_flags(inst.keyword) else {
        return;
    };
    for f in &inst.flags {
        let name = f.name();
        if known.contains(&name) {
            continue;
        }
        let shown: String = name.chars().take(40).collect();
        let kw = inst.cmd.to_ascii_uppercase();
        let mut finding = Finding::new(
            &UnknownFlag::META,
            ctx,
            i,
            f.span,
            format!("`{kw}` has no flag `--{shown}`: the build fails here"),
            if known.is_empty() {
                format!("`{kw}` takes no flags")
            } else {
                format!(
                    "`{kw}` takes {}",
                    known.iter().map(|k| format!("`--{k}`")).collect::<Vec<_>>().join(", ")
                )
            },
        );
        if let Some(s) = suggest::closest(name, known) {
            finding.help = format!("did you mean `--{s}`?");
            // The name sits right after the dashes; the value is kept as written.
            let text = ctx.text(f.span);
            if let Some(at) = text.find(name).filter(|&at| text[..at].bytes().all(|b| b == b'-')) {
                let start = f.span.start() + at;
                let span = crate::dockerfile::Span::new(start, start + name.len());
                finding = finding.fix(Fix::unsafe_(
                    format!("rename `--{shown}` to `--{s}`"),
                    vec![Edit::replace(span, s)],
                ));
            }
        }
        out.push(finding);
    }
}

impl Rule for UnknownFlag {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (i, inst) in ctx.dockerfile.instructions.iter().enumerate() {
            check_one(ctx, i, inst, out);
            if let Some(sub) = inst.sub.as_deref() {
                check_one(ctx, i, sub, out);
            }
        }
    }
}
