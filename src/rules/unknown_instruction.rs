//! Rule DF001 unknown-instruction: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext, suggest};
use crate::diag::Severity;
use crate::dockerfile::Keyword;
use crate::fix::{Edit, Fix};

crate::declare_rule! {
    /// ## What it does
    /// Checks for instruction words Docker does not know, such as `FROOM` or `RUNN`, and
    /// suggests the closest known one. `ONBUILD` wrappers are checked too.
    ///
    /// ## Why is this bad?
    /// BuildKit's parser reads any word at the start of a line as an instruction, so the file
    /// parses, but every build then fails with `unknown instruction`. imgopt reports it as an
    /// error, the way the build would fail.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROOM alpine:3.20
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// FROM alpine:3.20
    /// ```
    ///
    /// ## References
    /// - Dockerfile reference, "Format" (<https://docs.docker.com/reference/dockerfile/#format>)
    /// - BuildKit, `instructions.Parse` ("unknown instruction"), <https://github.com/moby/buildkit>
    pub UnknownInstruction, DF001, "unknown-instruction", Severity::Error
}

/// The instruction words Docker knows.
pub(super) const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// The instruction an unknown word is probably a typo of.
#[must_use]
pub fn closest_instruction(word: &str) -> Option<&'static str> {
    suggest::closest(word, KEYWORDS)
}

impl Rule for UnknownInstruction {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (i, inst) in ctx.dockerfile.instructions.iter().enumerate() {
            let (word, span) = match (&inst.keyword, inst.sub.as_deref()) {
                (Keyword::Unknown, _) => (&*inst.cmd, inst.cmd_span),
                (Keyword::Onbuild, Some(sub)) if sub.keyword == Keyword::Unknown => (&*sub.cmd, sub.cmd_span),
                _ => continue,
            };
            let shown: String = word.chars().take(40).collect();
            let mut f = Finding::new(
                &Self::META,
                ctx,
                i,
                span,
                format!("unknown instruction `{shown}`: the build fails here"),
                "use one of the Dockerfile instructions (`imgopt explain DF001` lists them)",
            );
            if let Some(s) = suggest::closest(word, KEYWORDS) {
                let s = if word.chars().any(|c| c.is_ascii_lowercase()) && !word.chars().any(|c| c.is_ascii_uppercase())
                {
                    s.to_ascii_lowercase()
                } else {
                    s.to_string()
                };
                f.help = format!("did you mean `{s}`?");
                f = f.fix(Fix::unsafe_(
                    format!("rename `{shown}` to `{s}`"),
                    vec![Edit::replace(span, s)],
                ));
            }
            out.push(f);
        }
    }
}
