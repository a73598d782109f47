//! Rule DF302 add-remote-archive: one rule, documented by its `///` doc below (the user manual; `imgopt explain`).

use super::{Finding, Rule, RuleContext};
use crate::diag::Severity;
use crate::dockerfile::Keyword;

crate::declare_rule! {
    /// ## What it does
    /// Checks for `ADD https://...` of an archive (`.tar`, `.tar.gz`, `.tgz`, `.tar.xz`,
    /// `.tar.bz2`, `.zip`, ...) in a stage that ships in the final image. Git URLs and plain
    /// files (a single binary) are not reported, nor `ADD --unpack=true`, which extracts the
    /// archive (Dockerfile syntax 1.17+).
    ///
    /// ## Why is this bad?
    /// `ADD` does not extract remote archives. The archive lands in its own layer and stays
    /// there even when a later `RUN` extracts and deletes it: the image carries the archive
    /// and its extracted contents (one case: ~70 MiB, tuxgasy/docker-dolibarr#58). Docker's
    /// best-practice guide long called remote `ADD` "strongly discouraged". The archive's
    /// size is unknown from the Dockerfile, so imgopt gives no estimate.
    ///
    /// ## Example
    /// ```dockerfile
    /// ADD https://example.com/tool-1.2.tar.gz /tmp/
    /// RUN tar -xzf /tmp/tool-1.2.tar.gz -C /opt && rm /tmp/tool-1.2.tar.gz
    /// ```
    ///
    /// Use instead:
    /// ```dockerfile
    /// RUN curl -fsSL https://example.com/tool-1.2.tar.gz -o /tmp/tool.tgz \
    ///  && echo "<sha256>  /tmp/tool.tgz" | sha256sum -c - \
    ///  && tar -xzf /tmp/tool.tgz -C /opt && rm /tmp/tool.tgz
    /// ```
    /// or do the `ADD` in a builder stage and `COPY --from` the extracted files.
    ///
    /// ## References
    /// - hadolint DL3020 (<https://github.com/hadolint/hadolint/wiki/DL3020>); KICS 4b410d24; CIS Docker Benchmark 4.9
    /// - Dockerfile reference, `ADD` (<https://docs.docker.com/reference/dockerfile/#add>)
    pub AddRemoteArchive, DF302, "add-remote-archive", Severity::Warning
}

const ARCHIVES: &[&str] = &[
    ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".zip", ".gz", ".xz", ".bz2",
];

/// Whether a source is a remote archive URL.
pub(super) fn is_remote_archive(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) || lower.ends_with(".git") {
        return false;
    }
    let path = lower.split(['?', '#']).next().unwrap_or(&lower);
    ARCHIVES.iter().any(|ext| path.ends_with(ext))
}

impl Rule for AddRemoteArchive {
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for st in ctx.shipping_stages() {
            for (i, inst) in ctx.stage_instructions(st.index) {
                let unpacks = inst
                    .flag("unpack")
                    .is_some_and(|f| f.value().is_none_or(|v| v == "true"));
                if inst.keyword != Keyword::Add || unpacks {
                    continue;
                }
                let n = inst.args.len();
                for a in inst.args.iter().take(n.saturating_sub(1)) {
                    if is_remote_archive(&a.value.text()) {
                        out.push(Finding::new(&Self::META, ctx, i, a.span, "`ADD` of a remote archive keeps the archive in its own layer (remote archives are not extracted)", "download, verify, extract and delete it in one `RUN` (`curl -fsSL URL | tar -xz -C /dest`), or `ADD` it in a builder stage and `COPY --from` the files"));
                    }
                }
            }
        }
    }
}
