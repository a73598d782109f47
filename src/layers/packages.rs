//! Installed packages and what they weigh: Debian's dpkg database (`/var/lib/dpkg/status`
//! plus `/var/lib/dpkg/info/<package>.list`) and Alpine's apk database
//! (`/lib/apk/db/installed`).
//!
//! Owns: which files the tar walk keeps in memory for this ([`wants_capture`]), parsing those
//! databases, and attributing the final filesystem's file bytes to packages, with the layer
//! that holds most of each package's bytes. Does not: read tar streams or stack layers.
//!
//! Sizes are measured from the image (the files' tar sizes in the final filesystem), not taken
//! from `Installed-Size`, which dpkg estimates in KiB.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::filetree::{EntryKind, normalize};
use super::merge::Node;

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
const DPKG_INFO: &str = "/var/lib/dpkg/info/";
const APK_DBS: [&str; 2] = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

/// Whether the tar walk should keep this file's bytes for package attribution.
#[must_use]
pub fn wants_capture(path: &str) -> bool {
    path == DPKG_STATUS || (path.starts_with(DPKG_INFO) && path.ends_with(".list")) || APK_DBS.contains(&path)
}

/// One installed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Version as the database records it.
    pub version: String,
    /// `dpkg` or `apk`.
    pub manager: &'static str,
    /// Content bytes of its files in the final filesystem.
    pub bytes: u64,
    /// Its regular files found in the final filesystem.
    pub files: u64,
    /// The layer holding most of its bytes (where it was installed or last upgraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
}

/// Longest line of a package database that is looked up (longer ones cannot be paths of the
/// merged tree, whose paths the tar walk caps at [`super::scan::MAX_PATH_BYTES`]).
const MAX_LINE_BYTES: usize = super::scan::MAX_PATH_BYTES;

/// Symlinks followed while resolving one path (as Linux's `MAXSYMLINKS`, 40).
const MAX_HOPS: usize = 40;

/// The hash of a path extended by one component: paths are hashed component by component so
/// every prefix of a path is hashed in one pass over it.
fn extend_hash(h: u64, component: &str) -> u64 {
    (h ^ xxh3_64(component.as_bytes()))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(29)
}

/// Looks paths up in the merged tree, following symlinks in their directories (`/bin/sh` in a
/// dpkg list is `/usr/bin/sh` on a merged-/usr system). Each lookup costs time linear in the
/// path's length per symlink followed: every prefix is checked against the tree's symlinks by
/// a hash built component by component, not by building and looking up each prefix.
struct Resolver<'a> {
    stack: &'a BTreeMap<Arc<str>, Node>,
    /// Prefix hash of every symlink path of the tree.
    links: HashMap<u64, Vec<(&'a str, &'a Node)>>,
    /// Lookups that gave up after [`MAX_HOPS`] symlinks, and lines longer than
    /// [`MAX_LINE_BYTES`] skipped ([`LimitCounts`]).
    counts: std::cell::Cell<LimitCounts>,
}

/// Lookups the attribution's limits cut short.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitCounts {
    /// Lines longer than [`MAX_LINE_BYTES`], skipped.
    pub long_lines: u64,
    /// Lookups that followed [`MAX_HOPS`] symbolic links and gave up.
    pub hop_give_ups: u64,
}

impl LimitCounts {
    /// Limit hits for `--verbose`, one per limit that cut something.
    #[must_use]
    pub fn hits(self) -> Vec<crate::limits::LimitHit> {
        use crate::limits::{Limit, LimitHit};
        let mut out = Vec::new();
        if self.long_lines > 0 {
            out.push(LimitHit::new(
                Limit::PackageDbLine,
                format!("{MAX_LINE_BYTES} bytes"),
                format!(
                    "{} package database lines were longer and were skipped",
                    self.long_lines
                ),
            ));
        }
        if self.hop_give_ups > 0 {
            out.push(LimitHit::new(
                Limit::SymlinkHops,
                MAX_HOPS.to_string(),
                format!(
                    "{} package file lookups met more symbolic links and gave up",
                    self.hop_give_ups
                ),
            ));
        }
        out
    }
}

impl<'a> Resolver<'a> {
    fn new(stack: &'a BTreeMap<Arc<str>, Node>) -> Self {
        let mut links: HashMap<u64, Vec<(&'a str, &'a Node)>> = HashMap::new();
        for (k, n) in stack {
            if n.kind == EntryKind::Symlink {
                let h = k.split('/').filter(|c| !c.is_empty()).fold(0, extend_hash);
                links.entry(h).or_default().push((k, n));
            }
        }
        Self {
            stack,
            links,
            counts: std::cell::Cell::default(),
        }
    }

    fn lookup(&self, path: &str) -> Option<&'a Node> {
        if let Some(n) = self.stack.get(path) {
            return Some(n);
        }
        if self.links.is_empty() {
            return None;
        }
        let mut cur = normalize(path).0;
        'hop: for _ in 0..=MAX_HOPS {
            let mut h = 0;
            let comps: Vec<(usize, usize)> = component_spans(&cur);
            // The last component is the file itself: a symlink there is not followed.
            for &(s, end) in comps.iter().take(comps.len().saturating_sub(1)) {
                h = extend_hash(h, &cur[s..end]);
                let Some(cands) = self.links.get(&h) else { continue };
                let prefix = &cur[..end];
                let Some((_, n)) = cands.iter().find(|(p, _)| *p == prefix) else {
                    continue;
                };
                let target = n.link.as_deref().unwrap_or("");
                let rest = &cur[end..];
                let dir = split_dir(prefix);
                let joined = if target.starts_with('/') {
                    format!("{target}{rest}")
                } else {
                    format!("{dir}/{target}{rest}")
                };
                cur = normalize(&joined).0;
                continue 'hop;
            }
            return self.stack.get(cur.as_str());
        }
        let mut c = self.counts.get();
        c.hop_give_ups += 1;
        self.counts.set(c);
        None
    }
}

/// The (start, end) byte spans of the components of a normalised absolute path.
fn component_spans(path: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in path.bytes().enumerate() {
        if b == b'/' {
            if i > start {
                out.push((start, i));
            }
            start = i + 1;
        }
    }
    if path.len() > start {
        out.push((start, path.len()));
    }
    out
}

/// `/a/b` gives `/a`; `/a` gives ``.
fn split_dir(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn measure<'a>(resolver: &Resolver<'_>, paths: impl Iterator<Item = &'a str>) -> (u64, u64, Option<usize>) {
    let mut seen = HashSet::new();
    let mut bytes: u64 = 0;
    let mut files = 0;
    let mut by_layer: BTreeMap<u32, u64> = BTreeMap::new();
    for p in paths {
        let p = p.trim();
        if p.len() > MAX_LINE_BYTES {
            let mut c = resolver.counts.get();
            c.long_lines += 1;
            resolver.counts.set(c);
            continue;
        }
        if p.is_empty() || !seen.insert(p) {
            continue;
        }
        if let Some(n) = resolver.lookup(p)
            && n.kind == EntryKind::File
        {
            bytes = bytes.saturating_add(n.size);
            files += 1;
            let l = by_layer.entry(n.layer).or_default();
            *l = l.saturating_add(n.size.max(1));
        }
    }
    let layer = by_layer
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(l, _)| *l as usize);
    (bytes, files, layer)
}

/// Paragraphs of a dpkg/apk database: blank-line separated `Key: value` blocks.
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").filter(|p| !p.trim().is_empty())
}

/// The packages of the final filesystem, largest first. `captured` holds the final versions of
/// the captured database files with the layer that stored them.
#[must_use]
pub fn attribute(captured: &BTreeMap<String, (usize, Vec<u8>)>, stack: &BTreeMap<Arc<str>, Node>) -> Vec<Package> {
    attribute_counted(captured, stack).0
}

/// [`attribute`], and the lookups its limits cut short.
#[must_use]
pub fn attribute_counted(
    captured: &BTreeMap<String, (usize, Vec<u8>)>,
    stack: &BTreeMap<Arc<str>, Node>,
) -> (Vec<Package>, LimitCounts) {
    let mut out = Vec::new();
    let resolver = Resolver::new(stack);
    if let Some((status_layer, status)) = captured.get(DPKG_STATUS) {
        // Each list is measured once however many stanzas name it, and a repeated stanza
        // (same name and architecture) is listed once: the work stays linear in the bytes of
        // the databases.
        let mut measured: HashMap<&str, (u64, u64, Option<usize>)> = HashMap::new();
        let mut listed: HashSet<(&str, &str)> = HashSet::new();
        let text = String::from_utf8_lossy(status);
        let lists: HashMap<&str, &(usize, Vec<u8>)> = captured
            .iter()
            .filter_map(|(p, v)| {
                p.strip_prefix(DPKG_INFO)
                    .and_then(|n| n.strip_suffix(".list"))
                    .map(|n| (n, v))
            })
            .collect();
        for para in paragraphs(&text) {
            let mut name = "";
            let mut version = "";
            let mut arch = "";
            let mut installed = false;
            for line in para.lines() {
                if let Some(v) = line.strip_prefix("Package:") {
                    name = v.trim();
                } else if let Some(v) = line.strip_prefix("Version:") {
                    version = v.trim();
                } else if let Some(v) = line.strip_prefix("Architecture:") {
                    arch = v.trim();
                } else if let Some(v) = line.strip_prefix("Status:") {
                    installed = v.trim().ends_with(" installed");
                }
            }
            if name.is_empty() || !installed || !listed.insert((name, arch)) {
                continue;
            }
            let with_arch = format!("{name}:{arch}");
            let list = lists
                .get_key_value(name)
                .or_else(|| lists.get_key_value(with_arch.as_str()));
            let (bytes, files, layer) = match list {
                Some((key, (list_layer, data))) => {
                    let (b, f, l) = *measured.entry(key).or_insert_with(|| {
                        let t = String::from_utf8_lossy(data);
                        measure(&resolver, t.lines())
                    });
                    (b, f, l.or(Some(*list_layer)))
                }
                None => (0, 0, Some(*status_layer)),
            };
            out.push(Package {
                name: name.to_string(),
                version: version.to_string(),
                manager: "dpkg",
                bytes,
                files,
                layer,
            });
        }
    }
    for db in APK_DBS {
        let Some((db_layer, data)) = captured.get(db) else {
            continue;
        };
        let text = String::from_utf8_lossy(data);
        for para in paragraphs(&text) {
            let mut name = "";
            let mut version = "";
            let mut dir = String::new();
            let mut paths: Vec<String> = Vec::new();
            for line in para.lines() {
                if let Some(v) = line.strip_prefix("P:") {
                    name = v.trim();
                } else if let Some(v) = line.strip_prefix("V:") {
                    version = v.trim();
                } else if let Some(v) = line.strip_prefix("F:") {
                    dir = format!("/{}", v.trim());
                } else if let Some(v) = line.strip_prefix("R:") {
                    let d = if dir.is_empty() { "" } else { dir.as_str() };
                    paths.push(format!("{d}/{}", v.trim()));
                }
            }
            if name.is_empty() {
                continue;
            }
            let (bytes, files, layer) = measure(&resolver, paths.iter().map(String::as_str));
            out.push(Package {
                name: name.to_string(),
                version: version.to_string(),
                manager: "apk",
                bytes,
                files,
                layer: layer.or(Some(*db_layer)),
            });
        }
    }
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    (out, resolver.counts.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(layer: u32, kind: EntryKind, size: u64, link: Option<&str>) -> Node {
        Node {
            layer,
            kind,
            size,
            hash: None,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: link.map(Arc::from),
            implicit: false,
        }
    }

    #[test]
    fn attributes_dpkg_and_apk_files() {
        let mut stack = BTreeMap::new();
        stack.insert(Arc::from("/bin"), node(0, EntryKind::Symlink, 0, Some("usr/bin")));
        stack.insert(Arc::from("/usr"), node(0, EntryKind::Dir, 0, None));
        stack.insert(Arc::from("/usr/bin"), node(0, EntryKind::Dir, 0, None));
        stack.insert(Arc::from("/usr/bin/dash"), node(0, EntryKind::File, 100, None));
        stack.insert(
            Arc::from("/usr/share/doc/dash/copyright"),
            node(1, EntryKind::File, 7, None),
        );
        stack.insert(Arc::from("/usr/bin/python3"), node(2, EntryKind::File, 1000, None));
        stack.insert(Arc::from("/usr/lib/libz.so"), node(3, EntryKind::File, 50, None));
        let mut captured = BTreeMap::new();
        captured.insert(
            DPKG_STATUS.to_string(),
            (2, b"Package: dash\nStatus: install ok installed\nVersion: 0.5\nArchitecture: amd64\n\nPackage: python3\nStatus: install ok installed\nVersion: 3.11\nArchitecture: amd64\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n".to_vec()),
        );
        captured.insert(
            format!("{DPKG_INFO}dash.list"),
            (
                0,
                b"/.\n/bin\n/bin/dash\n/usr/share/doc/dash/copyright\n/bin/dash\n".to_vec(),
            ),
        );
        captured.insert(
            format!("{DPKG_INFO}python3:amd64.list"),
            (2, b"/usr/bin/python3\n".to_vec()),
        );
        captured.insert(
            APK_DBS[0].to_string(),
            (3, b"P:zlib\nV:1.3\nF:usr/lib\nR:libz.so\n".to_vec()),
        );
        let pkgs = attribute(&captured, &stack);
        let by: HashMap<&str, &Package> = pkgs.iter().map(|p| (p.name.as_str(), p)).collect();
        assert_eq!(pkgs.len(), 3);
        assert_eq!(
            (by["dash"].bytes, by["dash"].files, by["dash"].layer),
            (107, 2, Some(0))
        );
        assert_eq!((by["python3"].bytes, by["python3"].layer), (1000, Some(2)));
        assert_eq!(
            (by["zlib"].bytes, by["zlib"].manager, by["zlib"].layer),
            (50, "apk", Some(3))
        );
        assert_eq!(pkgs[0].name, "python3");
    }
}
