//! The fixed limits that keep a run on hostile input bounded, named once.
//!
//! Owns: [`Limit`], one entry per row of the tables in `docs/limits.md` (a test holds the two
//! together), [`LimitValue`] (a limit and the value a run used) and [`LimitHit`] (a limit that
//! stopped, cut or retried something). The traces that `-v` renders
//! ([`crate::layers::Trace`], [`crate::analyze::Trace`], [`crate::plan::PlanTrace`]) carry
//! both as data. Does not: enforce anything (each limit lives beside the code it bounds) or
//! print.

/// A limit of `docs/limits.md`: each entry is one row of its tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// A registry manifest or index body.
    ManifestBody,
    /// A registry token-service answer.
    TokenBody,
    /// A registry error body (read for its message).
    ErrorBody,
    /// A config blob.
    ConfigBlob,
    /// A local `index.json`, manifest, index or `manifest.json`.
    LocalJson,
    /// Nested image indexes.
    IndexDepth,
    /// Image indexes read to resolve one image.
    IndexCount,
    /// Manifests one index lists.
    IndexEntries,
    /// Connecting, and a stalled download (`--timeout`).
    Timeout,
    /// Attempts per registry request.
    Attempts,
    /// The longest `Retry-After` honoured.
    RetryAfter,
    /// One blob's download deadline (`--min-rate`, `--timeout`).
    BlobDeadline,
    /// The whole run's registry traffic (`--max-time`).
    RunDeadline,
    /// Decompressed to compressed bytes of a layer.
    BombRatio,
    /// A layer's decompressed size.
    TarBytes,
    /// Names listed in one error.
    ListedNames,
    /// One name or message shown.
    ShownText,
    /// A path or link target in a layer.
    PathBytes,
    /// Parent directories a layer implies without listing them.
    ImpliedParents,
    /// A GNU long name / long link or a PAX record.
    ExtensionRecord,
    /// Holes of sparse files.
    SparseHoles,
    /// One package database file kept for attribution.
    PackageDbFile,
    /// Package database files kept per layer.
    PackageDbLayer,
    /// Package database files kept per image.
    PackageDbImage,
    /// A package database line looked up.
    PackageDbLine,
    /// Symbolic links followed for one lookup.
    SymlinkHops,
    /// Sums of sizes from an image.
    SaturatingSums,
    /// A Dockerfile.
    Dockerfile,
    /// The value an `ARG` default or `FROM` expands to.
    ArgExpansion,
    /// Files walked in a build context.
    ContextFiles,
    /// A plan file, stdin or a manifest it names.
    PlanFile,
    /// Nodes a plan file's YAML aliases expand to.
    YamlAliases,
    /// Paths a plan file names.
    PlanPaths,
    /// A `--manifests` folder walk.
    ManifestsDir,
    /// A surge.
    Surge,
    /// `.dockerignore`.
    Dockerignore,
    /// A policy file.
    PolicyFile,
}

impl Limit {
    /// Every limit, in the order of `docs/limits.md`.
    pub const ALL: &'static [Limit] = &[
        Self::ManifestBody,
        Self::TokenBody,
        Self::ErrorBody,
        Self::ConfigBlob,
        Self::LocalJson,
        Self::IndexDepth,
        Self::IndexCount,
        Self::IndexEntries,
        Self::Timeout,
        Self::Attempts,
        Self::RetryAfter,
        Self::BlobDeadline,
        Self::RunDeadline,
        Self::BombRatio,
        Self::TarBytes,
        Self::ListedNames,
        Self::ShownText,
        Self::PathBytes,
        Self::ImpliedParents,
        Self::ExtensionRecord,
        Self::SparseHoles,
        Self::PackageDbFile,
        Self::PackageDbLayer,
        Self::PackageDbImage,
        Self::PackageDbLine,
        Self::SymlinkHops,
        Self::SaturatingSums,
        Self::Dockerfile,
        Self::ArgExpansion,
        Self::ContextFiles,
        Self::PlanFile,
        Self::YamlAliases,
        Self::PlanPaths,
        Self::ManifestsDir,
        Self::Surge,
        Self::Dockerignore,
        Self::PolicyFile,
    ];

    /// The row's first column in `docs/limits.md`, word for word.
    #[must_use]
    pub fn row(self) -> &'static str {
        match self {
            Self::ManifestBody => "Registry manifest or index body",
            Self::TokenBody => "Registry token-service answer",
            Self::ErrorBody => "Registry error body (read for its message)",
            Self::ConfigBlob => "Config blob (any source)",
            Self::LocalJson => "Local `index.json`, manifest, index, `manifest.json`",
            Self::IndexDepth => "Nested image indexes",
            Self::IndexCount => "Image indexes read to resolve one image",
            Self::IndexEntries => "Manifests an index lists (repeats merged)",
            Self::Timeout => "Connecting, and a stalled download (no byte)",
            Self::Attempts => "Attempts per registry request",
            Self::RetryAfter => "`Retry-After` honoured",
            Self::BlobDeadline => "One blob's download, resumes included",
            Self::RunDeadline => "The whole run's registry traffic",
            Self::BombRatio => "Decompressed layer / compressed bytes",
            Self::TarBytes => "Decompressed layer size",
            Self::ListedNames => "Names listed in one error (tags, platforms)",
            Self::ShownText => "One name or message shown",
            Self::PathBytes => "A path or link target in a layer",
            Self::ImpliedParents => "Parent directories a layer implies without listing them",
            Self::ExtensionRecord => "A GNU long name / long link or a PAX record",
            Self::SparseHoles => "Holes of sparse files",
            Self::PackageDbFile => "One package database file kept for attribution",
            Self::PackageDbLayer => "Package database files kept per layer",
            Self::PackageDbImage => "Package database files kept per image",
            Self::PackageDbLine => "A package database line looked up",
            Self::SymlinkHops => "Symbolic links followed for one lookup",
            Self::SaturatingSums => "Sums of sizes from an image",
            Self::Dockerfile => "A Dockerfile (file or stdin)",
            Self::ArgExpansion => "A value an `ARG` default or a `FROM` expands to",
            Self::ContextFiles => "Files walked in one build context",
            Self::PlanFile => "A plan file, stdin or a manifest it names",
            Self::YamlAliases => "Values a plan file's YAML aliases expand to",
            Self::PlanPaths => "Paths a plan file names (`manifest:`, image files)",
            Self::ManifestsDir => "`--manifests DIR`",
            Self::Surge => "A surge",
            Self::Dockerignore => "`.dockerignore`",
            Self::PolicyFile => "A policy file",
        }
    }

    /// A short name for `-v` lines (`manifest body`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::ManifestBody => "manifest body",
            Self::TokenBody => "token body",
            Self::ErrorBody => "error body",
            Self::ConfigBlob => "config",
            Self::LocalJson => "local JSON",
            Self::IndexDepth => "index depth",
            Self::IndexCount => "indexes",
            Self::IndexEntries => "index entries",
            Self::Timeout => "stall",
            Self::Attempts => "attempts",
            Self::RetryAfter => "Retry-After",
            Self::BlobDeadline => "blob deadline",
            Self::RunDeadline => "run",
            Self::BombRatio => "expansion ratio",
            Self::TarBytes => "layer size",
            Self::ListedNames => "names listed",
            Self::ShownText => "text shown",
            Self::PathBytes => "path",
            Self::ImpliedParents => "implied parents",
            Self::ExtensionRecord => "tar extension record",
            Self::SparseHoles => "sparse holes",
            Self::PackageDbFile => "package database file",
            Self::PackageDbLayer => "package databases per layer",
            Self::PackageDbImage => "package databases per image",
            Self::PackageDbLine => "package database line",
            Self::SymlinkHops => "symlink hops",
            Self::SaturatingSums => "size sums",
            Self::Dockerfile => "Dockerfile",
            Self::ArgExpansion => "ARG expansion",
            Self::ContextFiles => "context files",
            Self::PlanFile => "plan file",
            Self::YamlAliases => "YAML aliases",
            Self::PlanPaths => "plan paths",
            Self::ManifestsDir => "--manifests walk",
            Self::Surge => "surge",
            Self::Dockerignore => ".dockerignore",
            Self::PolicyFile => "policy",
        }
    }

    /// The flag that changes it, if one does (the first one, for a limit two flags set).
    #[must_use]
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Self::Timeout => Some("--timeout"),
            Self::BlobDeadline => Some("--min-rate"),
            Self::RunDeadline => Some("--max-time"),
            Self::PlanPaths => Some("--allow-paths-outside-plan"),
            _ => None,
        }
    }

    /// A stable key (the `--cache-dir` format stores hits by it).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::ManifestBody => "manifest-body",
            Self::TokenBody => "token-body",
            Self::ErrorBody => "error-body",
            Self::ConfigBlob => "config-blob",
            Self::LocalJson => "local-json",
            Self::IndexDepth => "index-depth",
            Self::IndexCount => "index-count",
            Self::IndexEntries => "index-entries",
            Self::Timeout => "timeout",
            Self::Attempts => "attempts",
            Self::RetryAfter => "retry-after",
            Self::BlobDeadline => "blob-deadline",
            Self::RunDeadline => "run-deadline",
            Self::BombRatio => "bomb-ratio",
            Self::TarBytes => "tar-bytes",
            Self::ListedNames => "listed-names",
            Self::ShownText => "shown-text",
            Self::PathBytes => "path-bytes",
            Self::ImpliedParents => "implied-parents",
            Self::ExtensionRecord => "extension-record",
            Self::SparseHoles => "sparse-holes",
            Self::PackageDbFile => "package-db-file",
            Self::PackageDbLayer => "package-db-layer",
            Self::PackageDbImage => "package-db-image",
            Self::PackageDbLine => "package-db-line",
            Self::SymlinkHops => "symlink-hops",
            Self::SaturatingSums => "saturating-sums",
            Self::Dockerfile => "dockerfile",
            Self::ArgExpansion => "arg-expansion",
            Self::ContextFiles => "context-files",
            Self::PlanFile => "plan-file",
            Self::YamlAliases => "yaml-aliases",
            Self::PlanPaths => "plan-paths",
            Self::ManifestsDir => "manifests-dir",
            Self::Surge => "surge",
            Self::Dockerignore => "dockerignore",
            Self::PolicyFile => "policy-file",
        }
    }

    /// The limit whose [`Limit::key`] is `key`.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| l.key() == key)
    }
}

/// A limit and the value a run used (flags included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitValue {
    /// Which limit.
    pub limit: Limit,
    /// Its value, as the user would write it (`4 MiB`, `30s`, `64 KiB/s`).
    pub value: String,
}

impl LimitValue {
    /// `limit` at `value`.
    pub fn new(limit: Limit, value: impl Into<String>) -> Self {
        Self {
            limit,
            value: value.into(),
        }
    }
}

/// A limit that stopped, cut or retried something, even when the run went on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitHit {
    /// Which limit.
    pub limit: Limit,
    /// The value in effect (`64 MiB`).
    pub value: String,
    /// What it did, naming the layer, file or request (`layer 2 (sha256:ab12…): /var/lib/dpkg/status
    /// (70 MiB) not kept; its packages are not listed`).
    pub detail: String,
}

impl LimitHit {
    /// A hit of `limit` at `value`.
    pub fn new(limit: Limit, value: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            limit,
            value: value.into(),
            detail: detail.into(),
        }
    }
}

/// `4 MiB`, `64 KiB`, `1000 B`: a byte limit as the docs write it.
#[must_use]
pub fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} B")
}

/// `30s`, `2h`, `500ms`: a duration as the flags take it.
#[must_use]
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_a_row_of_docs_limits_md_and_every_row_a_limit() {
        let doc = include_str!("../docs/limits.md");
        let rows: Vec<&str> = doc
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| What ") && !l.starts_with("| ---"))
            .filter_map(|l| l.strip_prefix("| ")?.split(" | ").next())
            .collect();
        let ours: Vec<&str> = Limit::ALL.iter().map(|l| l.row()).collect();
        assert_eq!(rows, ours, "docs/limits.md rows and Limit::ALL differ");
    }

    #[test]
    fn keys_are_unique_and_round_trip() {
        for &l in Limit::ALL {
            assert_eq!(Limit::from_key(l.key()), Some(l));
        }
        let mut names: Vec<&str> = Limit::ALL.iter().map(|l| l.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Limit::ALL.len());
    }

    #[test]
    fn values_read_as_the_docs_write_them() {
        assert_eq!(bytes(4 << 20), "4 MiB");
        assert_eq!(bytes(64 << 10), "64 KiB");
        assert_eq!(bytes(1000), "1000 B");
        assert_eq!(duration(std::time::Duration::from_secs(7200)), "2h");
        assert_eq!(duration(std::time::Duration::from_secs(30)), "30s");
        assert_eq!(duration(std::time::Duration::from_millis(1500)), "1500ms");
    }
}
