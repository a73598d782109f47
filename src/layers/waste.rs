//! Waste: the kinds, the package-manager cache paths, and the bloat still present in the final
//! filesystem.
//!
//! Owns: [`WasteKind`], [`CacheKind`] and [`cache_kind`] (which paths are package-manager caches), and the
//! final-filesystem findings beside `reclaimable_bytes`: `package_cache` (caches that were
//! never cleaned) and `duplicate_content` (the same bytes at several paths, by content hash).
//! Does not: stack layers (see `merge`, which keeps the cross-layer ledger that
//! `overwritten`, `deleted` and `metadata_only` come from) or compute dive's score (`dive`).
//!
//! Definitions (issue 4, DESIGN.md section 3 decision 4): `reclaimable_bytes` is what squashing
//! the image would save, the content bytes stored in all layers minus the content bytes of the
//! final merged filesystem. Each of those bytes is in exactly one cross-layer kind.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::filetree::EntryKind;
use super::merge::Node;

/// Why bytes are waste.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WasteKind {
    /// Content replaced by a later layer (or later in the same layer) with different content.
    Overwritten,
    /// Removed by a later layer (whiteout, opaque directory, or a directory replaced by a
    /// file); a directory delete counts every file below it.
    Deleted,
    /// The same content stored again by a later layer, only its metadata (mode, owner, time)
    /// changed: the `chown -R` layer.
    MetadataOnly,
    /// A package-manager cache still in the final filesystem (not part of
    /// `reclaimable_bytes`).
    PackageCache,
    /// Content identical to another path's in the final filesystem (`--dedupe`; not part of
    /// `reclaimable_bytes`).
    DuplicateContent,
}

impl WasteKind {
    /// The JSON name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overwritten => "overwritten",
            Self::Deleted => "deleted",
            Self::MetadataOnly => "metadata_only",
            Self::PackageCache => "package_cache",
            Self::DuplicateContent => "duplicate_content",
        }
    }
}

/// A package-manager cache, as `layers` recognises it by path and rules name it when they
/// say which measured bytes confirm them (`rules::RuleMeta::measured`). The tag (`as_str`) is
/// what `waste[].cache` holds in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CacheKind {
    /// `/var/lib/apt/lists/`: the package index `apt-get update` downloads.
    #[serde(rename = "apt-lists")]
    AptLists,
    /// `/var/cache/apt/archives/`: downloaded `.deb` files.
    #[serde(rename = "apt-archives")]
    AptArchives,
    /// `/var/cache/apt/`: apt's binary caches.
    #[serde(rename = "apt-cache")]
    AptCache,
    /// `/var/cache/apk/`, `/etc/apk/cache/`.
    #[serde(rename = "apk")]
    Apk,
    /// `/var/cache/yum/`.
    #[serde(rename = "yum")]
    Yum,
    /// `/var/cache/dnf/`.
    #[serde(rename = "dnf")]
    Dnf,
    /// `/var/cache/zypp/`.
    #[serde(rename = "zypper")]
    Zypper,
    /// `*/.cache/pip/`.
    #[serde(rename = "pip")]
    Pip,
    /// `*/.npm/_cacache/`.
    #[serde(rename = "npm")]
    Npm,
    /// `*/.cache/yarn/`, `*/.yarn/cache/`.
    #[serde(rename = "yarn")]
    Yarn,
    /// `*/.cache/go-build/`.
    #[serde(rename = "go-build")]
    GoBuild,
    /// `*/go/pkg/mod/cache/`.
    #[serde(rename = "go-mod")]
    GoMod,
    /// `*/.m2/repository/`.
    #[serde(rename = "maven")]
    Maven,
    /// `*/.gradle/caches/`.
    #[serde(rename = "gradle")]
    Gradle,
}

impl CacheKind {
    /// Every kind, in tag order of [`CACHES`].
    pub const ALL: [Self; 14] = [
        Self::AptLists,
        Self::AptArchives,
        Self::AptCache,
        Self::Apk,
        Self::Yum,
        Self::Dnf,
        Self::Zypper,
        Self::Pip,
        Self::Npm,
        Self::Yarn,
        Self::GoBuild,
        Self::GoMod,
        Self::Maven,
        Self::Gradle,
    ];

    /// The tag, as in JSON (`apt-lists`, `pip`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AptLists => "apt-lists",
            Self::AptArchives => "apt-archives",
            Self::AptCache => "apt-cache",
            Self::Apk => "apk",
            Self::Yum => "yum",
            Self::Dnf => "dnf",
            Self::Zypper => "zypper",
            Self::Pip => "pip",
            Self::Npm => "npm",
            Self::Yarn => "yarn",
            Self::GoBuild => "go-build",
            Self::GoMod => "go-mod",
            Self::Maven => "maven",
            Self::Gradle => "gradle",
        }
    }

    /// The kind a tag names.
    #[must_use]
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == tag)
    }

    /// System package-manager caches sit at fixed paths; the others are under any home.
    fn anchored(self) -> bool {
        matches!(
            self,
            Self::AptLists | Self::AptArchives | Self::AptCache | Self::Apk | Self::Yum | Self::Dnf | Self::Zypper
        )
    }
}

/// Package-manager caches: (kind, how the cache directory is recognised).
/// Anchored patterns start with `/`; the others match anywhere (`/root/.cache/pip/` and
/// `/home/app/.cache/pip/` alike). Sources: the tools' documented cache locations
/// (apt-get(8) `Dir::Cache::archives`, `Dir::State::lists`; pip "Caching"; npm `cache`;
/// Go `GOCACHE`; Maven local repository; Gradle user home), and hadolint DL3009/DL3019/DL3042/
/// DL3060 (<https://github.com/hadolint/hadolint/wiki>).
const CACHES: &[(CacheKind, &str)] = &[
    (CacheKind::AptLists, "/var/lib/apt/lists/"),
    (CacheKind::AptArchives, "/var/cache/apt/archives/"),
    (CacheKind::AptCache, "/var/cache/apt/"),
    (CacheKind::Apk, "/var/cache/apk/"),
    (CacheKind::Apk, "/etc/apk/cache/"),
    (CacheKind::Yum, "/var/cache/yum/"),
    (CacheKind::Dnf, "/var/cache/dnf/"),
    (CacheKind::Zypper, "/var/cache/zypp/"),
    (CacheKind::Pip, "/.cache/pip/"),
    (CacheKind::Npm, "/.npm/_cacache/"),
    (CacheKind::Yarn, "/.cache/yarn/"),
    (CacheKind::Yarn, "/.yarn/cache/"),
    (CacheKind::GoBuild, "/.cache/go-build/"),
    (CacheKind::GoMod, "/go/pkg/mod/cache/"),
    (CacheKind::Maven, "/.m2/repository/"),
    (CacheKind::Gradle, "/.gradle/caches/"),
];

/// The package-manager cache a path belongs to: its tag ([`CacheKind::as_str`]) and the cache
/// directory (with a trailing `/`).
#[must_use]
pub fn cache_tag(path: &str) -> Option<(&'static str, String)> {
    cache_kind(path).map(|(k, root)| (k.as_str(), root))
}

/// The package-manager cache a path belongs to and the cache directory (with a trailing `/`).
#[must_use]
pub fn cache_kind(path: &str) -> Option<(CacheKind, String)> {
    // Every pattern is under /var/ or /etc/apk/, or has a hidden component or go/pkg: most
    // paths are rejected here without trying each pattern.
    let b = path.as_bytes();
    if !(path.starts_with("/var/")
        || path.starts_with("/etc/apk/")
        || b.windows(2).any(|w| w == b"/.")
        || path.contains("/go/pkg/"))
    {
        return None;
    }
    for (kind, pat) in CACHES {
        if kind.anchored() {
            if path.starts_with(pat) {
                return Some((*kind, (*pat).to_string()));
            }
        } else if let Some(i) = path.find(pat) {
            return Some((*kind, path[..i + pat.len()].to_string()));
        }
    }
    None
}

/// One waste finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WasteItem {
    /// The path (a directory delete ends in `/` and counts every file below it).
    pub path: String,
    /// Why it is waste.
    pub kind: WasteKind,
    /// The layer that stored the bytes.
    pub stored_in: usize,
    /// The layer that made them waste (absent for final-filesystem findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub made_waste_by: Option<usize>,
    /// Content bytes.
    pub bytes: u64,
    /// Files counted in `bytes`.
    pub files: u64,
    /// Package-manager cache tag (`apt-lists`, `pip`, ...), when the path is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// For `duplicate_content`: the path whose content this repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// Package-manager caches in the final filesystem: one item per cache directory and layer.
#[must_use]
pub fn package_caches(stack: &BTreeMap<Arc<str>, Node>) -> Vec<WasteItem> {
    let mut groups: BTreeMap<(String, &'static str, u32), (u64, u64)> = BTreeMap::new();
    for (path, node) in stack {
        if node.size == 0 {
            continue;
        }
        if let Some((tag, root)) = cache_tag(path) {
            let g = groups.entry((root, tag, node.layer)).or_default();
            g.0 = g.0.saturating_add(node.size);
            g.1 += 1;
        }
    }
    groups
        .into_iter()
        .map(|((root, tag, layer), (bytes, files))| WasteItem {
            path: root,
            kind: WasteKind::PackageCache,
            stored_in: layer as usize,
            made_waste_by: None,
            bytes,
            files,
            cache: Some(tag.to_string()),
            duplicate_of: None,
        })
        .collect()
}

/// Files in the final filesystem whose content repeats another's (same size and xxh3-128).
/// One item per content: the first path (in path order) is the original (`duplicate_of`),
/// `path` is the first copy, `files` counts the copies and `bytes` their bytes.
#[must_use]
pub fn duplicates(stack: &BTreeMap<Arc<str>, Node>) -> Vec<WasteItem> {
    enum Seen<'a> {
        Original(&'a Arc<str>),
        Item(usize),
    }
    let mut groups: HashMap<(u64, u128), Seen<'_>> = HashMap::new();
    let mut out: Vec<WasteItem> = Vec::new();
    for (path, node) in stack {
        if node.kind != EntryKind::File || node.size == 0 {
            continue;
        }
        let Some(h) = node.hash else { continue };
        let key = (node.size, h);
        let slot = match groups.get(&key) {
            None => {
                groups.insert(key, Seen::Original(path));
                continue;
            }
            Some(Seen::Item(i)) => *i,
            Some(Seen::Original(orig)) => {
                out.push(WasteItem {
                    path: path.to_string(),
                    kind: WasteKind::DuplicateContent,
                    stored_in: node.layer as usize,
                    made_waste_by: None,
                    bytes: 0,
                    files: 0,
                    cache: cache_tag(path).map(|(t, _)| t.to_string()),
                    duplicate_of: Some(orig.to_string()),
                });
                groups.insert(key, Seen::Item(out.len() - 1));
                out.len() - 1
            }
        };
        out[slot].bytes = out[slot].bytes.saturating_add(node.size);
        out[slot].files += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_caches() {
        let t = cache_tag;
        assert_eq!(
            t("/var/lib/apt/lists/x_Packages"),
            Some(("apt-lists", "/var/lib/apt/lists/".into()))
        );
        assert_eq!(
            t("/var/cache/apt/archives/python3_3.11.deb"),
            Some(("apt-archives", "/var/cache/apt/archives/".into()))
        );
        assert_eq!(
            t("/var/cache/apt/pkgcache.bin"),
            Some(("apt-cache", "/var/cache/apt/".into()))
        );
        assert_eq!(
            t("/root/.cache/pip/http/a/b"),
            Some(("pip", "/root/.cache/pip/".into()))
        );
        assert_eq!(
            t("/home/app/.npm/_cacache/index"),
            Some(("npm", "/home/app/.npm/_cacache/".into()))
        );
        assert_eq!(t("/usr/lib/python3/dist-packages/pip/__init__.py"), None);
        assert_eq!(t("/var/lib/apt/extended_states"), None);
    }

    #[test]
    fn cache_kinds_round_trip_their_tags() {
        for k in CacheKind::ALL {
            assert_eq!(CacheKind::from_tag(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert!(CACHES.iter().all(|(k, _)| CacheKind::ALL.contains(k)));
        assert_eq!(CacheKind::from_tag("nope"), None);
    }
}
