//! `--cache-dir`: per-layer scan results kept on disk by layer digest and diff_id, so a base
//! layer shared by many images is read once.
//!
//! Owns: the cache file format and its safety. Each entry is one file,
//! `<dir>/layers-v1/<algorithm>-<hex>-<diff_id hex, 32 digits>.layer`, whose name comes only from
//! validated digests (lower-case hex), so nothing is ever written outside the folder. The key
//! holds the diff_id as well as the blob digest: a verified scan proves that the blob
//! decompresses to that diff_id, and says nothing about another config's diff_id for the same
//! blob (which must be read and fail, not be served as verified). The entry repeats both
//! digests, and a read checks them. Writes go to a temporary
//! file in the same folder that is flushed to disk and then renamed over the final name, so a
//! crash mid-write leaves either the old entry or none, never half of one; a checksum over the
//! whole file catches anything else (a truncated or edited file reads as a miss).
//! Does not: decide when a cached result may be used (see `layers::analyze`: an unverified
//! result never serves a verifying run).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

use crate::digest::Digest;

use super::filetree::{Entry, EntryKind, LayerScan};

const MAGIC: &[u8; 8] = b"IMGOPTLC";
/// Bumped whenever the scan's meaning or the encoding changes.
const VERSION: u32 = 3;
const SUBDIR: &str = "layers-v1";

/// Why the cache folder could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cache {path}: {source}")]
pub struct CacheError {
    /// The file or folder.
    pub path: String,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// What the source reported about a layer's bytes, kept with the scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedStats {
    /// Stored blob size.
    pub compressed_bytes: u64,
    /// Decompressed tar length.
    pub tar_bytes: u64,
    /// `gzip`, `zstd`, `none`.
    pub compression: String,
    /// Whether blob digest and diff_id were verified when the scan was made.
    pub verified: bool,
}

/// One cached layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedLayer {
    /// Byte statistics.
    pub stats: CachedStats,
    /// The scan.
    pub scan: LayerScan,
}

/// The on-disk store.
#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LayerCache {
    /// Opens (creating it if needed) the cache below `dir`.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let d = dir.join(SUBDIR);
        fs::create_dir_all(&d).map_err(|e| CacheError {
            path: d.display().to_string(),
            source: e,
        })?;
        Ok(Self { dir: d })
    }

    fn path_for(&self, digest: &Digest, diff_id: Option<&Digest>) -> PathBuf {
        // `Digest` guarantees `sha256|sha512` and lower-case hex: no separators, no `..`.
        // The diff_id's first 32 hex digits keep names short (two sha512s would pass 255
        // bytes); the entry holds both digests in full and a read checks them.
        let diff = diff_id.map_or("none", |d| &d.hex()[..32]);
        self.dir
            .join(format!("{}-{}-{diff}.layer", digest.algorithm(), digest.hex()))
    }

    /// The cached layer for blob `digest` with the config's `diff_id`, if present and intact.
    #[must_use]
    pub fn get(&self, digest: &Digest, diff_id: Option<&Digest>) -> Option<CachedLayer> {
        let bytes = fs::read(self.path_for(digest, diff_id)).ok()?;
        decode(&bytes, &key(digest, diff_id))
    }

    /// Stores a layer atomically under blob `digest` and `diff_id`.
    pub fn put(&self, digest: &Digest, diff_id: Option<&Digest>, layer: &CachedLayer) -> Result<(), CacheError> {
        let final_path = self.path_for(digest, diff_id);
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".tmp-{}-{}-{n}", digest.hex(), std::process::id()));
        let err = |p: &Path| {
            let p = p.display().to_string();
            move |e| CacheError { path: p, source: e }
        };
        let data = encode(layer, &key(digest, diff_id));
        let result = (|| {
            let mut f = File::options().write(true).create_new(true).open(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &final_path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(err(&final_path))
    }
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// The key written into an entry: `digest` and `diff_id` (or nothing), one line.
fn key(digest: &Digest, diff_id: Option<&Digest>) -> String {
    format!("{digest} {}", diff_id.map_or("", Digest::as_str))
}

fn encode(layer: &CachedLayer, key: &str) -> Vec<u8> {
    let s = &layer.scan;
    let mut out = Vec::with_capacity(64 + s.entries.len() * 80);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    put_bytes(&mut out, key.as_bytes());
    put_u64(&mut out, layer.stats.compressed_bytes);
    put_u64(&mut out, layer.stats.tar_bytes);
    put_bytes(&mut out, layer.stats.compression.as_bytes());
    out.push(u8::from(layer.stats.verified));
    out.push(u8::from(s.hashed));
    put_u64(&mut out, s.content_bytes);
    put_u64(&mut out, s.entries.len() as u64);
    for e in &s.entries {
        put_bytes(&mut out, e.path.as_bytes());
        out.push(e.kind.code());
        put_u64(&mut out, e.size);
        put_u64(&mut out, u64::from(e.mode));
        put_u64(&mut out, e.uid);
        put_u64(&mut out, e.gid);
        put_u64(&mut out, e.mtime);
        match &e.link {
            Some(l) => {
                out.push(1);
                put_bytes(&mut out, l.as_bytes());
            }
            None => out.push(0),
        }
        match e.hash {
            Some(h) => {
                out.push(1);
                out.extend_from_slice(&h.to_le_bytes());
            }
            None => out.push(0),
        }
    }
    put_u64(&mut out, s.captured.len() as u64);
    for (p, b) in &s.captured {
        put_bytes(&mut out, p.as_bytes());
        put_bytes(&mut out, b);
    }
    put_u64(&mut out, s.warnings.len() as u64);
    for w in &s.warnings {
        put_bytes(&mut out, w.as_bytes());
    }
    put_u64(&mut out, s.limit_hits.len() as u64);
    for h in &s.limit_hits {
        put_bytes(&mut out, h.limit.key().as_bytes());
        put_bytes(&mut out, h.value.as_bytes());
        put_bytes(&mut out, h.detail.as_bytes());
    }
    let sum = xxh3_64(&out);
    put_u64(&mut out, sum);
    out
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

fn decode(all: &[u8], key: &str) -> Option<CachedLayer> {
    if all.len() < MAGIC.len() + 4 + 8 {
        return None;
    }
    let (body, sum) = all.split_at(all.len() - 8);
    if xxh3_64(body).to_le_bytes() != sum {
        return None;
    }
    let mut r = Reader { b: body };
    if r.take(8)? != MAGIC || r.take(4)? != VERSION.to_le_bytes() || r.bytes()? != key.as_bytes() {
        return None;
    }
    let compressed_bytes = r.u64()?;
    let tar_bytes = r.u64()?;
    let compression = r.string()?;
    let verified = r.u8()? == 1;
    let hashed = r.u8()? == 1;
    let content_bytes = r.u64()?;
    let n = usize::try_from(r.u64()?).ok()?;
    let mut entries = Vec::with_capacity(n.min(body.len() / 40));
    for _ in 0..n {
        let path: Arc<str> = Arc::from(r.string()?);
        let kind = EntryKind::from_code(r.u8()?)?;
        let size = r.u64()?;
        let mode = u32::try_from(r.u64()?).ok()?;
        let uid = r.u64()?;
        let gid = r.u64()?;
        let mtime = r.u64()?;
        let link = if r.u8()? == 1 {
            Some(r.string()?.into_boxed_str())
        } else {
            None
        };
        let hash = if r.u8()? == 1 {
            Some(u128::from_le_bytes(r.take(16)?.try_into().ok()?))
        } else {
            None
        };
        entries.push(Entry {
            path,
            kind,
            size,
            mode,
            uid,
            gid,
            mtime,
            link,
            hash,
        });
    }
    let mut captured = std::collections::BTreeMap::new();
    for _ in 0..r.u64()? {
        let p = r.string()?;
        let b = r.bytes()?.to_vec();
        captured.insert(p, b);
    }
    let mut warnings = Vec::new();
    for _ in 0..r.u64()? {
        warnings.push(r.string()?);
    }
    let mut limit_hits = Vec::new();
    for _ in 0..r.u64()? {
        let limit = crate::limits::Limit::from_key(&r.string()?)?;
        limit_hits.push(crate::limits::LimitHit::new(limit, r.string()?, r.string()?));
    }
    if !r.b.is_empty() {
        return None;
    }
    Some(CachedLayer {
        stats: CachedStats {
            compressed_bytes,
            tar_bytes,
            compression,
            verified,
        },
        scan: LayerScan {
            entries,
            content_bytes,
            hashed,
            captured,
            warnings,
            limit_hits,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CachedLayer {
        let e = |p: &str, kind, size, hash| Entry {
            path: Arc::from(p),
            kind,
            size,
            mode: 0o644,
            uid: 1,
            gid: 2,
            mtime: 3,
            link: (kind == EntryKind::Symlink).then(|| "target".into()),
            hash,
        };
        let mut captured = std::collections::BTreeMap::new();
        captured.insert("/var/lib/dpkg/status".to_string(), b"Package: x\n".to_vec());
        CachedLayer {
            stats: CachedStats {
                compressed_bytes: 10,
                tar_bytes: 20,
                compression: "gzip".into(),
                verified: true,
            },
            scan: LayerScan {
                entries: vec![
                    e("/a", EntryKind::File, 5, Some(7u128 << 100)),
                    e("/l", EntryKind::Symlink, 0, None),
                    e("/d/.wh.x", EntryKind::Whiteout, 0, None),
                ],
                content_bytes: 5,
                hashed: true,
                captured,
                warnings: vec!["w".into()],
                limit_hits: vec![crate::limits::LimitHit::new(
                    crate::limits::Limit::PackageDbFile,
                    "64 MiB",
                    "/var/lib/dpkg/status was not kept",
                )],
            },
        }
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::open(dir.path()).unwrap();
        let d = Digest::sha256_of(b"layer");
        let diff = Digest::sha256_of(b"tar");
        assert!(cache.get(&d, Some(&diff)).is_none());
        cache.put(&d, Some(&diff), &sample()).unwrap();
        assert_eq!(cache.get(&d, Some(&diff)), Some(sample()));
        // The same blob under another config's diff_id (or none) is not this entry.
        assert!(cache.get(&d, Some(&Digest::sha256_of(b"other tar"))).is_none());
        assert!(cache.get(&d, None).is_none());
        // Only the entry is left behind: no temporary files.
        let names: Vec<String> = fs::read_dir(dir.path().join(SUBDIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [format!("sha256-{}-{}.layer", d.hex(), &diff.hex()[..32])]);
        // A torn write (what a crash without the rename would leave) reads as a miss.
        let p = cache.path_for(&d, Some(&diff));
        let full = fs::read(&p).unwrap();
        for cut in [0, 5, full.len() / 2, full.len() - 1] {
            fs::write(&p, &full[..cut]).unwrap();
            assert!(cache.get(&d, Some(&diff)).is_none(), "cut at {cut}");
        }
        let mut flipped = full.clone();
        flipped[20] ^= 1;
        fs::write(&p, &flipped).unwrap();
        assert!(cache.get(&d, Some(&diff)).is_none());
        // Writing again repairs it.
        cache.put(&d, Some(&diff), &sample()).unwrap();
        assert_eq!(cache.get(&d, Some(&diff)), Some(sample()));
        // An entry renamed to another key (or copied there) is not served under that key.
        let other = Digest::sha256_of(b"other tar");
        fs::copy(&p, cache.path_for(&d, Some(&other))).unwrap();
        assert!(cache.get(&d, Some(&other)).is_none());
    }
}
