//! Dockerfile lint rules: one file per rule, one stable code per rule (`DF0xx` instructions
//! a build rejects, `DF1xx` base image and stages, `DF2xx` package managers and caches, `DF3xx` COPY, context
//! and ordering, `DF4xx` layer structure), each documented by its `///` comment.
//!
//! Owns: the [`Rule`] trait, the `declare_rule!` macro that captures a rule's doc, the
//! [`RULES`] registry, [`Finding`], rule selection by code, name or prefix ([`Selection`]),
//! and running the rules over one file ([`check`]).
//! Does not: read files, apply suppression comments or render (see `analyze` and `report`).

pub mod context;
mod dependency_fetch;
mod pkg;
mod suggest;

mod add_remote_archive;
mod apk_add_cache;
mod apt_install_recommends;
mod apt_lists_not_removed;
mod base_image_latest_tag;
mod base_image_not_pinned;
mod broad_copy_from_build_stage;
mod build_toolchain_in_final_stage;
mod cleanup_in_later_layer;
mod consecutive_package_installs;
mod copy_all_before_dependency_install;
mod curl_and_wget_installed;
mod deleted_in_later_layer;
mod dev_dependencies_in_final_image;
mod dockerignore_missing;
mod docs_kept;
mod full_base_image;
mod gem_cache_kept;
mod jdk_as_runtime;
mod js_package_cache_kept;
mod packages_removed_later;
mod pip_cache_kept;
mod recursive_chown_in_separate_layer;
mod rpm_cache_kept;
mod toolchain_image_as_runtime;
mod unknown_flag;
mod unknown_instruction;
mod unstripped_binary;
mod useradd_without_no_log_init;

use serde::Serialize;

pub use context::RuleContext;
pub use unknown_instruction::closest_instruction;

use crate::diag::Severity;
use crate::diag::codes::Code;
use crate::dockerfile::Span;
use crate::estimate::Estimate;
use crate::fix::Fix;
use crate::layers::waste::{CacheKind, WasteKind};

/// Which bytes of a built image confirm a rule's finding (`imgopt analyze --image`): the
/// layers of the finding's instruction are measured for them, and the measured bytes replace
/// the estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measured {
    /// Content bytes the instruction's layers stored under these package-manager caches,
    /// whether or not a later layer removed them.
    Caches(&'static [CacheKind]),
    /// Bytes of earlier layers that the instruction's layers made waste of this kind
    /// ([`WasteKind::Deleted`] for deletes, [`WasteKind::MetadataOnly`] for `chown -R`);
    /// package-manager caches excluded (their own rules count them).
    Waste(WasteKind),
}

/// A rule's identity and documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct RuleMeta {
    /// Stable code as a typed value.
    pub id: Code,
    /// Stable code, e.g. `DF201` (the text of [`RuleMeta::id`]).
    pub code: &'static str,
    /// Kebab-case name of the anti-pattern, e.g. `apt-lists-not-removed`.
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Whether the rule runs without `--select` (opt-in rules are `false`).
    pub default_enabled: bool,
    /// The `///` doc as captured (one leading space per line).
    pub raw_doc: &'static str,
    /// What a built image's layers show for a finding, when the saving can be measured.
    pub measured: Option<Measured>,
}

impl RuleMeta {
    /// The documentation as Markdown (the leading space of each doc line removed).
    #[must_use]
    pub fn doc(&self) -> String {
        let mut out = String::new();
        for line in self.raw_doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim().to_string() + "\n"
    }

    /// The first sentence under `## What it does`.
    #[must_use]
    pub fn summary(&self) -> String {
        let doc = self.doc();
        let after = doc.split("## What it does").nth(1).unwrap_or(&doc);
        let para: Vec<&str> = after
            .trim_start()
            .lines()
            .take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with("- "))
            .collect();
        let text = para.join(" ");
        // The first sentence: a `. ` outside backticks followed by a capital letter.
        let b = text.as_bytes();
        let mut in_code = false;
        for i in 0..b.len() {
            match b[i] {
                b'`' => in_code = !in_code,
                b'.' if !in_code && b.get(i + 1) == Some(&b' ') && b.get(i + 2).is_some_and(u8::is_ascii_uppercase) => {
                    return text[..=i].to_string();
                }
                _ => {}
            }
        }
        match text.strip_suffix(':') {
            Some(t) => format!("{t}."),
            None => text,
        }
    }
}

/// A Dockerfile rule: a struct made by [`declare_rule!`](crate::declare_rule) (which provides
/// its identity) and its `check`.
pub trait Rule: Sync + Declared {
    /// Code, name, severity and doc.
    fn meta(&self) -> &'static RuleMeta {
        self.declared()
    }
    /// Appends findings for the file in `ctx`.
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>);
}

/// A rule's declaration, implemented by [`declare_rule!`](crate::declare_rule) only.
pub trait Declared {
    /// The rule's identity and documentation.
    fn declared(&self) -> &'static RuleMeta;
}

/// Declares a rule struct, captures its `///` doc into `META` (the clippy lint-macro shape) and
/// implements [`Declared`], so a rule file holds its doc, its identity and its `check` only.
/// `measured = ...` says which bytes of a built image confirm a finding ([`Measured`]).
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub $name:ident, $code:ident, $kebab:literal, $sev:expr
        $(, default_enabled = $en:expr)?
        $(, measured = $measured:expr)?
    ) => {
        $(#[doc = $doc])*
        pub struct $name;
        impl $name {
            /// The rule's identity and documentation.
            pub const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                id: $crate::diag::codes::Code::$code,
                code: $crate::diag::codes::Code::$code.as_str(),
                name: $kebab,
                severity: $sev,
                default_enabled: true $(&& $en)?,
                raw_doc: concat!($($doc, "\n"),*),
                measured: $crate::declare_rule!(@opt $($measured)?),
            };
        }
        impl $crate::rules::Declared for $name {
            fn declared(&self) -> &'static $crate::rules::RuleMeta {
                &Self::META
            }
        }
    };
    (@opt) => { None };
    (@opt $e:expr) => { Some($e) };
}

/// Every rule, in code order. Each appears exactly once.
pub static RULES: &[&dyn Rule] = &[
    &unknown_instruction::UnknownInstruction,
    &unknown_flag::UnknownFlag,
    &base_image_latest_tag::BaseImageLatestTag,
    &base_image_not_pinned::BaseImageNotPinned,
    &full_base_image::FullBaseImage,
    &toolchain_image_as_runtime::ToolchainImageAsRuntime,
    &build_toolchain_in_final_stage::BuildToolchainInFinalStage,
    &unstripped_binary::UnstrippedBinary,
    &jdk_as_runtime::JdkAsRuntime,
    &apt_lists_not_removed::AptListsNotRemoved,
    &apt_install_recommends::AptInstallRecommends,
    &apk_add_cache::ApkAddCache,
    &pip_cache_kept::PipCacheKept,
    &js_package_cache_kept::JsPackageCacheKept,
    &rpm_cache_kept::RpmCacheKept,
    &docs_kept::DocsKept,
    &curl_and_wget_installed::CurlAndWgetInstalled,
    &dev_dependencies_in_final_image::DevDependenciesInFinalImage,
    &gem_cache_kept::GemCacheKept,
    &copy_all_before_dependency_install::CopyAllBeforeDependencyInstall,
    &add_remote_archive::AddRemoteArchive,
    &dockerignore_missing::DockerignoreMissing,
    &broad_copy_from_build_stage::BroadCopyFromBuildStage,
    &deleted_in_later_layer::DeletedInLaterLayer,
    &recursive_chown_in_separate_layer::RecursiveChownInSeparateLayer,
    &useradd_without_no_log_init::UseraddWithoutNoLogInit,
    &consecutive_package_installs::ConsecutivePackageInstalls,
];

/// The rule with this code or name (case-insensitive).
#[must_use]
pub fn find(code_or_name: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code_or_name) || r.meta().name.eq_ignore_ascii_case(code_or_name))
}

/// One finding of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static RuleMeta,
    /// Severity (the rule's default).
    pub severity: Severity,
    /// One-line message.
    pub message: String,
    /// The offending bytes (a flag, a command, an instruction).
    pub span: Span,
    /// The instruction the finding belongs to (suppression comments attach to it).
    pub instruction: usize,
    /// Related places, e.g. the COPY that wrote what a later RUN deletes.
    pub related: Vec<(Span, String)>,
    /// What to write instead.
    pub help: String,
    /// Extra remarks (e.g. the catalog figures an estimate comes from).
    pub notes: Vec<String>,
    /// Estimated saving; `None` when the finding has no size effect or its size is unknown.
    pub estimate: Option<Estimate>,
    /// The stage the finding is in.
    pub stage: Option<usize>,
    /// A rewrite that removes the problem, when one is known ([`crate::fix`]).
    pub fix: Option<Fix>,
}

impl Finding {
    /// A finding of `rule` at `span` in instruction `instruction`.
    #[must_use]
    pub fn new(
        rule: &'static RuleMeta,
        ctx: &RuleContext<'_>,
        instruction: usize,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Self {
            rule,
            severity: rule.severity,
            message: message.into(),
            span,
            instruction,
            related: Vec::new(),
            help: help.into(),
            notes: Vec::new(),
            estimate: None,
            stage: ctx.stage_of.get(instruction).copied().flatten(),
            fix: None,
        }
    }

    /// Sets the fix.
    #[must_use]
    pub fn fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// Sets the estimate.
    #[must_use]
    pub fn estimate(mut self, e: Option<Estimate>) -> Self {
        self.estimate = e;
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    /// Adds a related span.
    #[must_use]
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }
}

/// A selection string could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No rule has this code, name or prefix.
    #[error("unknown rule `{0}` (see `imgopt explain --list`)")]
    UnknownRule(String),
}

/// Which rules run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// Codes of the enabled rules, sorted.
    pub codes: Vec<&'static str>,
}

/// Resolves one comma-separated list of codes, names or code prefixes.
pub fn resolve(list: &str) -> Result<Vec<&'static str>, Error> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let matched: Vec<&'static str> = RULES
            .iter()
            .map(|r| r.meta())
            .filter(|m| {
                m.name.eq_ignore_ascii_case(item)
                    || m.code.to_ascii_uppercase().starts_with(&item.to_ascii_uppercase())
                    || item.eq_ignore_ascii_case("all")
            })
            .map(|m| m.code)
            .collect();
        if matched.is_empty() {
            return Err(Error::UnknownRule(item.to_string()));
        }
        out.extend(matched);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Selection {
    /// Default rules, or exactly `select` when given, minus `ignore`.
    pub fn new(select: Option<&str>, ignore: Option<&str>) -> Result<Self, Error> {
        let mut codes: Vec<&'static str> = match select {
            Some(s) => resolve(s)?,
            None => RULES
                .iter()
                .map(|r| r.meta())
                .filter(|m| m.default_enabled)
                .map(|m| m.code)
                .collect(),
        };
        if let Some(i) = ignore {
            let ig = resolve(i)?;
            codes.retain(|c| !ig.contains(c));
        }
        codes.sort_unstable();
        Ok(Self { codes })
    }

    /// Whether `code` is enabled.
    #[must_use]
    pub fn enabled(&self, code: &str) -> bool {
        self.codes.contains(&code)
    }
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            codes: RULES
                .iter()
                .map(|r| r.meta())
                .filter(|m| m.default_enabled)
                .map(|m| m.code)
                .collect(),
        }
    }
}

/// Runs the selected rules and returns findings sorted by (span start, code).
#[must_use]
pub fn check(ctx: &RuleContext<'_>, selection: &Selection) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in RULES {
        if selection.enabled(r.meta().code) {
            r.check(ctx, &mut out);
        }
    }
    out.sort_by(|a, b| (a.span.start(), a.rule.code, a.span.end()).cmp(&(b.span.start(), b.rule.code, b.span.end())));
    out.dedup_by(|a, b| a.rule.code == b.rule.code && a.span == b.span);
    out
}

/// `docs/rules.md`: the rule table and every rule's documentation, generated from the rule
/// docs (a test fails when the checked-in file differs).
#[must_use]
pub fn docs_markdown() -> String {
    let mut out = String::from(
        "# imgopt rules\n\n<!-- Generated from the rule docs in src/rules/ by `imgopt::rules::docs_markdown`; do not edit.\n     Regenerate with: IMGOPT_UPDATE_DOCS=1 cargo test --test library rules::docs_are_current -->\n\n",
    );
    out.push_str("`imgopt analyze` runs these rules; `imgopt explain CODE` prints one of them. Codes never change: `DF0xx` instructions a build rejects, `DF1xx` base image and stages, `DF2xx` package managers and caches, `DF3xx` COPY, context and ordering, `DF4xx` layer structure. Size rules fire only in stages whose filesystem reaches the target image, and not at all when the target is a development stage (named `dev`, `build`, `test`, `lint`, `validate`, ...).\n\n");
    out.push_str("| Code | Name | Severity | Default | What it does |\n| --- | --- | --- | --- | --- |\n");
    for r in RULES {
        let m = r.meta();
        let anchor = format!("{}-{}", m.code.to_ascii_lowercase(), m.name);
        out.push_str(&format!(
            "| [{}](#{anchor}) | `{}` | {} | {} | {} |\n",
            m.code,
            m.name,
            m.severity.as_str(),
            if m.default_enabled { "on" } else { "opt-in" },
            m.summary().replace('|', "\\|")
        ));
    }
    for r in RULES {
        let m = r.meta();
        out.push_str(&format!(
            "\n## {} {}\n\nDefault severity: {}{}.\n\n",
            m.code,
            m.name,
            m.severity.as_str(),
            if m.default_enabled {
                ""
            } else {
                "; opt-in (enable with `--select`)"
            }
        ));
        for line in m.doc().lines() {
            if line.starts_with("## ") {
                out.push('#');
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for r in RULES {
            let m = r.meta();
            assert!(codes.insert(m.code), "duplicate code {}", m.code);
            assert!(names.insert(m.name), "duplicate name {}", m.name);
            assert!(
                m.code.len() == 5 && m.code.starts_with("DF") && m.code[2..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                m.code
            );
            assert!(
                matches!(&m.code[2..3], "0" | "1" | "2" | "3" | "4"),
                "{}: group digit",
                m.code
            );
            assert!(m.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", m.name);
        }
        let sorted: Vec<_> = RULES.iter().map(|r| r.meta().code).collect();
        let mut s2 = sorted.clone();
        s2.sort_unstable();
        assert_eq!(sorted, s2, "RULES is in code order");
    }

    #[test]
    fn every_doc_has_the_required_headings() {
        for r in RULES {
            let doc = r.meta().doc();
            for h in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "Use instead:",
                "## References",
            ] {
                assert!(doc.contains(h), "{} lacks `{h}`", r.meta().code);
            }
            assert!(!r.meta().summary().is_empty());
        }
    }

    #[test]
    fn selection_by_code_name_and_prefix() {
        let s = Selection::new(Some("DF2"), Some("apk-add-cache")).unwrap();
        assert!(s.enabled("DF201") && !s.enabled("DF203") && !s.enabled("DF101"));
        let s = Selection::new(None, None).unwrap();
        assert!(!s.enabled("DF102"), "digest pinning is opt-in");
        assert!(Selection::new(Some("DF102"), None).unwrap().enabled("DF102"));
        assert_eq!(
            Selection::new(Some("DF999"), None),
            Err(Error::UnknownRule("DF999".into()))
        );
    }
}
