//! Stacking layers into the merged filesystem, the way a container runtime applies them, and
//! attributing every stored byte that does not reach the final filesystem.
//!
//! Owns: the merged tree (path to [`Node`]), whiteout and opaque application (OCI image spec
//! `layer.md`: whiteouts apply to the lower layers only, so a layer's deletions are applied
//! before its additions), hard links (content stays reachable while one name survives),
//! per-layer added/modified/deleted counts, and the cross-layer waste ledger.
//! Does not: compute dive's score (see `dive`) or final-filesystem bloat (see `waste`).
//!
//! Invariant (checked by tests): the content bytes of all layers equal the content bytes of
//! the final tree plus the bytes in the ledger, so the waste kinds sum exactly to
//! `reclaimable_bytes`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use super::filetree::{EntryKind, LayerScan, ancestors};
use super::waste::{WasteKind, cache_tag};

/// One path of the merged filesystem.
#[derive(Clone, Debug)]
pub struct Node {
    /// The layer whose entry this is (0-based).
    pub layer: u32,
    /// File, Dir, Symlink, HardLink or Other (never a whiteout).
    pub kind: EntryKind,
    /// Content bytes stored for this path (a hard link that inherited its target's content
    /// after the target went away carries that content here).
    pub size: u64,
    /// Content hash, when read.
    pub hash: Option<u128>,
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time.
    pub mtime: u64,
    /// Hard link target (absolute) or symlink text.
    pub link: Option<Arc<str>>,
    /// A parent directory no entry of its own created.
    pub implicit: bool,
}

/// Files added, modified and deleted by one layer, relative to the layers below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerChanges {
    /// Non-directory paths that did not exist below.
    pub files_added: u64,
    /// Non-directory paths that existed below and were written again.
    pub files_modified: u64,
    /// Non-directory paths of the layers below removed by whiteouts, opaque directories or a
    /// directory replaced by a file.
    pub files_deleted: u64,
}

/// Key of one ledger line: what, where it was stored, what made it waste.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LedgerKey {
    /// The path, or the deleted directory with a trailing `/` for a directory delete.
    pub path: Arc<str>,
    /// Why the bytes are waste.
    pub kind: WasteKind,
    /// Layer that stored the bytes.
    pub stored_in: u32,
    /// Layer that made them unreachable.
    pub made_waste_by: u32,
    /// Package-manager cache tag of the files, if any.
    pub cache: Option<&'static str>,
}

/// Bytes and file count of one ledger line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerValue {
    /// Content bytes.
    pub bytes: u64,
    /// Files counted.
    pub files: u64,
}

struct Pending {
    node: Node,
    /// The whiteout target or opaque directory that removed it.
    root: Arc<str>,
    /// Whether the root is a directory delete (ledger path gets a trailing `/`).
    dir_root: bool,
}

/// The merged filesystem being built, layer by layer.
#[derive(Default)]
pub struct Merger {
    /// The merged tree.
    pub stack: BTreeMap<Arc<str>, Node>,
    /// Hard link target path to the link paths pointing at it.
    links: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// Cross-layer waste.
    pub ledger: BTreeMap<LedgerKey, LedgerValue>,
    /// Content bytes of every layer so far.
    pub shipped: u64,
    /// Per-layer counts, one per pushed layer.
    pub changes: Vec<LayerChanges>,
    /// Odd but handled situations (hard links to missing targets, ...).
    pub warnings: Vec<String>,
}

fn subtree_keys(stack: &BTreeMap<Arc<str>, Node>, dir: &str) -> Vec<Arc<str>> {
    let lo = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
    stack
        .range::<str, _>((Bound::Included(lo.as_str()), Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(lo.as_str()))
        .map(|(k, _)| k.clone())
        .collect()
}

fn same_content(old: &Node, new: &Node) -> bool {
    if old.kind != EntryKind::File || new.kind != EntryKind::File || old.size != new.size {
        return false;
    }
    match (old.hash, new.hash) {
        (Some(a), Some(b)) => a == b,
        // Without content hashes (file data skipped), rsync's quick check: same size and
        // modification time. `chown`/`chmod` keep the mtime; rewriting the file changes it.
        _ => old.mtime == new.mtime,
    }
}

impl Merger {
    /// An empty filesystem.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&mut self, path: &Arc<str>, dir_root: bool, node: &Node, kind: WasteKind, by: u32, file_path: &str) {
        if node.size == 0 {
            return;
        }
        let key_path: Arc<str> = if dir_root {
            Arc::from(format!("{}/", path.trim_end_matches('/')))
        } else {
            path.clone()
        };
        let key = LedgerKey {
            path: key_path,
            kind,
            stored_in: node.layer,
            made_waste_by: by,
            cache: cache_tag(file_path).map(|(t, _)| t),
        };
        let v = self.ledger.entry(key).or_default();
        v.bytes = v.bytes.saturating_add(node.size);
        v.files += 1;
    }

    /// A live hard link that can inherit `path`'s content, if any.
    fn live_linker(&self, path: &str) -> Option<Arc<str>> {
        let linkers = self.links.get(path)?;
        linkers
            .iter()
            .find(|l| {
                self.stack
                    .get(&***l)
                    .is_some_and(|n| n.kind == EntryKind::HardLink && n.link.as_deref() == Some(path))
            })
            .cloned()
    }

    /// Moves a removed file's content to a surviving hard link. Returns whether it did.
    fn transfer(&mut self, path: &str, node: &Node) -> bool {
        if node.kind != EntryKind::File || node.size == 0 {
            return false;
        }
        let Some(holder) = self.live_linker(path) else {
            self.links.remove(path);
            return false;
        };
        let others: Vec<Arc<str>> = self
            .links
            .remove(path)
            .unwrap_or_default()
            .into_iter()
            .filter(|l| *l != holder)
            .collect();
        if let Some(h) = self.stack.get_mut(&*holder) {
            h.kind = EntryKind::File;
            h.size = node.size;
            h.hash = node.hash;
            h.layer = node.layer;
            h.link = None;
        }
        for o in &others {
            if let Some(n) = self.stack.get_mut(&**o) {
                n.link = Some(holder.clone());
            }
        }
        if !others.is_empty() {
            self.links.insert(holder, others);
        }
        true
    }

    /// Retires a node replaced at `path` by layer `by`: its bytes become waste of `kind`
    /// unless a hard link keeps them reachable.
    fn retire(&mut self, path: &Arc<str>, node: &Node, kind: WasteKind, by: u32) {
        if self.transfer(path, node) {
            return;
        }
        self.record(path, false, node, kind, by, path);
    }

    fn unlink(&mut self, path: &Arc<str>, node: &Node) {
        if node.kind == EntryKind::HardLink
            && let Some(t) = &node.link
            && let Some(v) = self.links.get_mut(&**t)
        {
            v.retain(|l| l != path);
        }
    }

    /// Removes `root` (if `with_root`) and everything below it into `pending`.
    fn remove_into(
        &mut self,
        root: &Arc<str>,
        with_root: bool,
        pending: &mut HashMap<Arc<str>, Pending>,
        dir_root: bool,
    ) {
        let mut keys = subtree_keys(&self.stack, root);
        if with_root && self.stack.contains_key(&**root) {
            keys.push(root.clone());
        }
        let layer = u32::try_from(self.changes.len()).unwrap_or(u32::MAX);
        for k in keys {
            if let Some(node) = self.stack.remove(&*k) {
                self.unlink(&k, &node);
                // A path removed twice in one layer (a file hidden by a file over its folder,
                // then the folder made again and hidden again): the first removal's bytes are
                // deleted now, or they would drop out of the ledger.
                if let Some(prev) = pending.insert(
                    k.clone(),
                    Pending {
                        node,
                        root: root.clone(),
                        dir_root,
                    },
                ) {
                    let at = if prev.dir_root { prev.root.clone() } else { k.clone() };
                    self.record(&at, prev.dir_root, &prev.node, WasteKind::Deleted, layer, &k);
                }
            }
        }
    }

    /// Applies one layer on top of the merged tree. Layers must come bottom first.
    #[allow(clippy::too_many_lines)]
    pub fn push_layer(&mut self, scan: &LayerScan) {
        let layer = u32::try_from(self.changes.len()).unwrap_or(u32::MAX);
        self.shipped = self.shipped.saturating_add(scan.content_bytes);
        let mut changes = LayerChanges::default();
        let mut pending: HashMap<Arc<str>, Pending> = HashMap::new();

        // 1. Deletions (whiteouts and opaque directories) hide the lower layers only.
        for e in &scan.entries {
            match e.kind {
                EntryKind::Opaque => {
                    let dir: Arc<str> = Arc::from(e.target_owned());
                    self.remove_into(&dir, false, &mut pending, true);
                }
                EntryKind::Whiteout => {
                    let target: Arc<str> = Arc::from(e.target_owned());
                    let is_dir = self.stack.get(&*target).is_some_and(|n| n.kind == EntryKind::Dir);
                    self.remove_into(&target, true, &mut pending, is_dir);
                }
                _ => {}
            }
            if e.kind.is_marker() && e.size > 0 {
                // A marker that carries data: stored, never visible.
                let n = Node {
                    layer,
                    kind: EntryKind::File,
                    size: e.size,
                    hash: None,
                    mode: e.mode,
                    uid: e.uid,
                    gid: e.gid,
                    mtime: e.mtime,
                    link: None,
                    implicit: false,
                };
                self.record(&e.path.clone(), false, &n, WasteKind::Deleted, layer, &e.path);
            }
        }
        // Content of removed files stays if a hard link to it survives.
        let mut keys: Vec<Arc<str>> = pending.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let node = pending[&k].node.clone();
            if self.transfer(&k, &node)
                && let Some(p) = pending.get_mut(&k)
            {
                p.node.size = 0;
            }
        }

        // 2. Additions, in tar order (a later duplicate of a path wins).
        for e in &scan.entries {
            if e.kind.is_marker() {
                continue;
            }
            let path = e.path.clone();
            self.ensure_parents(&path, layer);
            let link: Option<Arc<str>> = match e.kind {
                EntryKind::HardLink => self.resolve_hardlink(&path, e.link.as_deref().unwrap_or("")),
                _ => e.link.as_deref().map(Arc::from),
            };
            let mut new = Node {
                layer,
                kind: e.kind,
                size: e.size,
                hash: e.hash,
                mode: e.mode,
                uid: e.uid,
                gid: e.gid,
                mtime: e.mtime,
                link,
                implicit: false,
            };
            if new.kind == EntryKind::HardLink && new.link.is_none() {
                // Target missing: a hard link to nothing reads as an empty file.
                new.kind = EntryKind::File;
                new.hash = None;
            }
            let old_stack = self.stack.remove(&*path);
            let from_below = match &old_stack {
                Some(n) => n.layer < layer,
                None => pending.contains_key(&path),
            };
            if e.kind != EntryKind::Dir {
                if from_below {
                    changes.files_modified += 1;
                } else if old_stack.is_none() {
                    changes.files_added += 1;
                }
            }
            if let Some(old) = old_stack {
                self.unlink(&path, &old);
                if old.kind == EntryKind::Dir && new.kind != EntryKind::Dir {
                    // A file replacing a directory hides everything below it.
                    self.remove_into(&path, false, &mut pending, true);
                }
                let kind = if same_content(&old, &new) {
                    WasteKind::MetadataOnly
                } else {
                    WasteKind::Overwritten
                };
                self.retire(&path, &old, kind, layer);
            } else if let Some(p) = pending.remove(&path) {
                let kind = if same_content(&p.node, &new) {
                    WasteKind::MetadataOnly
                } else {
                    WasteKind::Overwritten
                };
                self.record(&path, false, &p.node, kind, layer, &path);
            }
            if new.kind == EntryKind::HardLink
                && let Some(t) = new.link.clone()
            {
                self.links.entry(t).or_default().push(path.clone());
            }
            self.stack.insert(path, new);
        }

        // 3. What was removed and not written again is deleted.
        let mut rest: Vec<(Arc<str>, Pending)> = pending.into_iter().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, p) in rest {
            if p.node.kind != EntryKind::Dir && p.node.layer < layer {
                changes.files_deleted += 1;
            }
            let root = if p.dir_root { p.root.clone() } else { path.clone() };
            self.record(&root, p.dir_root, &p.node, WasteKind::Deleted, layer, &path);
        }
        self.changes.push(changes);
    }

    /// Resolves a hard link's target to the file that holds the content, or `None` (with a
    /// warning) when there is none.
    fn resolve_hardlink(&mut self, path: &str, target: &str) -> Option<Arc<str>> {
        let mut cur: Arc<str> = Arc::from(target);
        for _ in 0..16 {
            match self.stack.get(&*cur) {
                Some(n) if n.kind == EntryKind::HardLink => match &n.link {
                    Some(t) => cur = t.clone(),
                    None => break,
                },
                Some(n) if n.kind == EntryKind::File => return Some(cur),
                _ => break,
            }
        }
        self.warnings.push(format!(
            "hard link {path} points to {target}, which is not a file in this or a lower layer; read as an empty file"
        ));
        None
    }

    fn ensure_parents(&mut self, path: &str, layer: u32) {
        let mut missing: Vec<&str> = Vec::new();
        for anc in ancestors(path) {
            match self.stack.get(anc) {
                Some(n) if n.kind == EntryKind::Dir || n.kind == EntryKind::Symlink => break,
                Some(_) => {
                    // A file where a directory must be: the directory replaces it.
                    let key: Arc<str> = Arc::from(anc);
                    if let Some(old) = self.stack.remove(anc) {
                        self.unlink(&key, &old);
                        self.retire(&key, &old, WasteKind::Overwritten, layer);
                    }
                    missing.push(anc);
                    break;
                }
                None => missing.push(anc),
            }
        }
        for anc in missing {
            self.stack.insert(
                Arc::from(anc),
                Node {
                    layer,
                    kind: EntryKind::Dir,
                    size: 0,
                    hash: None,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                    link: None,
                    implicit: true,
                },
            );
        }
    }

    /// Content bytes of the merged filesystem.
    #[must_use]
    pub fn final_bytes(&self) -> u64 {
        super::filetree::saturating_sum(self.stack.values().map(|n| n.size))
    }

    /// Bytes in the ledger by kind: (overwritten, deleted, metadata_only).
    #[must_use]
    pub fn totals(&self) -> (u64, u64, u64) {
        let mut t = (0, 0, 0);
        for (k, v) in &self.ledger {
            match k.kind {
                WasteKind::Overwritten => t.0 = v.bytes.saturating_add(t.0),
                WasteKind::Deleted => t.1 = v.bytes.saturating_add(t.1),
                WasteKind::MetadataOnly => t.2 = v.bytes.saturating_add(t.2),
                _ => {}
            }
        }
        t
    }
}
