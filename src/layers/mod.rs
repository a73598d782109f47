//! Layer analysis over any [`crate::source::ImageSource`]: what each layer
//! stores, what reaches the final filesystem, and what is waste.
//!
//! Owns: stacking per-layer file trees ([`merge`]), whiteouts ([`whiteout`]), waste
//! attribution ([`waste`], [`merge`]), dive's score ([`dive`]), packages ([`packages`]),
//! history alignment ([`history`]), the report model ([`report`]), and what a run did for
//! `--verbose` ([`trace`]: returned beside the report, never in it).
//! Does not: fetch or verify bytes (see `source`), decide pass/fail (see `policy`), or format
//! output (see `report`).
//!
//! The tar walk ([`scan`], over the bounded reader [`tarstream`]) is synchronous and runs on a blocking thread per layer; only the
//! source is async. [`Analysis`] takes the per-layer [`LayerScan`]s bottom first and builds the
//! report; it never sees tar bytes, so it is unit-tested on in-memory scans.

pub mod base;
pub mod cache;
pub mod dive;
pub mod filetree;
pub mod history;
pub mod merge;
pub mod packages;
pub mod report;
pub mod scan;
pub mod tarstream;
pub mod trace;
pub mod waste;
pub mod whiteout;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;

use crate::digest::Digest;
use crate::limits::{Limit, LimitHit, LimitValue};
use crate::source::blob::{LayerReadOptions, open_layer};
use crate::source::{Descriptor, History, ImageSource, Manifest};
use crate::units::ByteSize;

pub use filetree::{Entry, EntryKind, LayerScan};
pub use report::{BaseSplit, LayerReport, LayersReport, MultiPlatformReport, PathBytes, Totals, WasteByKind};
pub use scan::{ScanError, ScanOptions};
pub use trace::{ImageTrace, LayerOrigin, LayerTrace, Trace};
pub use waste::{WasteItem, WasteKind};

/// Why an image could not be analysed. Messages name the layer (index and digest).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source failed (manifest, config, index, registry).
    #[error(transparent)]
    Source(#[from] crate::source::Error),
    /// A layer's bytes failed: missing blob, digest or diff_id mismatch, corrupt compression,
    /// a compression bomb, I/O.
    #[error("layer {index} ({digest}) could not be read")]
    Layer {
        /// 0-based layer index.
        index: usize,
        /// The layer's blob digest.
        digest: Digest,
        /// What went wrong.
        #[source]
        source: crate::source::Error,
    },
    /// A layer's tar is broken (truncated entry, bad header).
    #[error("layer {index} ({digest}) is not a valid tar stream")]
    Tar {
        /// 0-based layer index.
        index: usize,
        /// The layer's blob digest.
        digest: Digest,
        /// What the tar walk found.
        #[source]
        source: ScanError,
    },
    /// A layer's tar reached a limit that keeps the walk bounded (path length, implied
    /// parents, extension record size, sparse holes).
    #[error("layer {index} ({digest}) was refused by a tar walk limit")]
    Limit {
        /// 0-based layer index.
        index: usize,
        /// The layer's blob digest.
        digest: Digest,
        /// Which limit.
        #[source]
        source: ScanError,
    },
    /// The manifest and the config disagree on the number of layers.
    #[error("manifest {manifest} lists {layers} layers but its config has {diff_ids} diff_ids")]
    LayerCount {
        /// The manifest.
        manifest: Digest,
        /// Layers in the manifest.
        layers: usize,
        /// `rootfs.diff_ids` in the config.
        diff_ids: usize,
    },
    /// The `--cache-dir` folder could not be created.
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    /// A worker thread failed.
    #[error("layer {index}: analysis thread failed: {message}")]
    Worker {
        /// 0-based layer index.
        index: usize,
        /// The panic or cancellation message.
        message: String,
    },
}

impl Error {
    /// The limit of docs/limits.md that ended the analysis, if one did (for `-v`).
    #[must_use]
    pub fn limit_hit(&self) -> Option<LimitHit> {
        match self {
            Error::Source(e) | Error::Layer { source: e, .. } => e.limit_hit(),
            Error::Limit {
                index,
                digest,
                source: ScanError::Limit { limit, value, .. },
            } => Some(LimitHit::new(
                *limit,
                value.clone(),
                format!("layer {index} ({digest}): ended the run"),
            )),
            _ => None,
        }
    }
}

/// Progress callback: (layers done, layers total, stored bytes done, stored bytes total).
/// Called from the layer threads while bytes flow (about every MiB) and as layers finish.
pub type Progress = Arc<dyn Fn(usize, usize, u64, u64) + Send + Sync>;

/// Progress shared by the layer threads of one manifest.
struct Tracker {
    cb: Progress,
    layers_done: AtomicUsize,
    bytes: AtomicU64,
    total: usize,
    total_bytes: u64,
}

impl Tracker {
    fn report(&self) {
        let b = self.bytes.load(Ordering::Relaxed).min(self.total_bytes);
        (self.cb)(
            self.layers_done.load(Ordering::Relaxed),
            self.total,
            b,
            self.total_bytes,
        );
    }
    fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.report();
    }
    fn layer_done(&self) {
        self.layers_done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }
}

/// A layer stream that reports the stored bytes consumed so far to a [`Tracker`].
struct Counting<'a> {
    inner: &'a mut crate::source::blob::LayerStream,
    tracker: Option<&'a Tracker>,
    reported: u64,
    /// Position in the tar stream as the tar reader sees it (seeks included), which can pass
    /// the end of the data when a header claims more than is there.
    pos: u64,
}

impl Counting<'_> {
    fn tick(&mut self) {
        if let Some(t) = self.tracker {
            let c = self.inner.compressed_bytes();
            if c >= self.reported.saturating_add(1 << 20) {
                t.add_bytes(c - self.reported);
                self.reported = c;
            }
        }
    }
}

impl std::io::Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos = self.pos.saturating_add(n as u64);
        self.tick();
        Ok(n)
    }
}

impl std::io::BufRead for Counting<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.pos = self.pos.saturating_add(amt as u64);
        self.tick();
    }
}

impl std::io::Seek for Counting<'_> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let p = self.inner.seek(pos)?;
        // `Current(0)` only asks; after the end the stream reports its real length there.
        if pos != std::io::SeekFrom::Current(0) {
            self.pos = p;
        }
        self.tick();
        Ok(p)
    }
}

/// How [`analyze`] reads and what it computes.
#[derive(Clone)]
pub struct Options {
    /// What the report contains.
    pub analysis: AnalysisOptions,
    /// Limits for reading layers; `read.verify == false` is `--no-verify` (local sources only:
    /// network bytes are always verified).
    pub read: LayerReadOptions,
    /// Layers read at once (default: the number of cores).
    pub jobs: usize,
    /// `--cache-dir`.
    pub cache: Option<cache::LayerCache>,
    /// Called as layers finish.
    pub progress: Option<Progress>,
    /// Keep every regular file of the final filesystem with its size in
    /// [`LayersReport::final_files`] (`imgopt diff` compares two images by it).
    pub final_files: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            analysis: AnalysisOptions::default(),
            read: LayerReadOptions::default(),
            jobs: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            cache: None,
            progress: None,
            final_files: false,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("analysis", &self.analysis)
            .field("read", &self.read)
            .field("jobs", &self.jobs)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Analyses the image the source resolves to (one platform).
pub async fn analyze<S: ImageSource>(source: &S, opts: &Options) -> Result<LayersReport, Error> {
    analyze_traced(source, opts).await.map(|(r, _)| r)
}

/// [`analyze`], and what it did ([`Trace`], for `--verbose`).
pub async fn analyze_traced<S: ImageSource>(source: &S, opts: &Options) -> Result<(LayersReport, Trace), Error> {
    let start = Instant::now();
    let manifest = source.manifest().await?;
    let resolve_time = start.elapsed();
    let (report, image) = analyze_manifest_traced(source, &manifest, opts).await?;
    let trace = Trace {
        source: source.describe(),
        local: source.is_local(),
        resolve_time,
        images: vec![image],
        net: source.network_counts(),
        credentials: source.credential_source(),
        limits: limits_in_effect(source, opts),
        limit_hits: source.limit_hits(),
        total_time: start.elapsed(),
    };
    Ok((report, trace))
}

/// Analyses every platform of the image (`--all-platforms`).
pub async fn analyze_all<S: ImageSource>(source: &S, opts: &Options) -> Result<MultiPlatformReport, Error> {
    analyze_all_traced(source, opts).await.map(|(r, _)| r)
}

/// [`analyze_all`], and what it did (one [`ImageTrace`] per platform).
pub async fn analyze_all_traced<S: ImageSource>(
    source: &S,
    opts: &Options,
) -> Result<(MultiPlatformReport, Trace), Error> {
    let start = Instant::now();
    let manifests = source.manifests().await?;
    let resolve_time = start.elapsed();
    let mut platforms = Vec::new();
    let mut images = Vec::new();
    for m in manifests {
        let (r, t) = analyze_manifest_traced(source, &m, opts).await?;
        platforms.push(r);
        images.push(t);
    }
    let report = MultiPlatformReport {
        schema_version: report::SCHEMA_VERSION,
        platforms,
    };
    let trace = Trace {
        source: source.describe(),
        local: source.is_local(),
        resolve_time,
        images,
        net: source.network_counts(),
        credentials: source.credential_source(),
        limits: limits_in_effect(source, opts),
        limit_hits: source.limit_hits(),
        total_time: start.elapsed(),
    };
    Ok((report, trace))
}

/// The limits that bound reading `source` with `opts`, with the values in effect: the
/// source's own (bodies, deadlines) and the tar walk's.
#[must_use]
pub fn limits_in_effect<S: ImageSource>(source: &S, opts: &Options) -> Vec<LimitValue> {
    let r = &opts.read;
    let scan = ScanOptions::default();
    let mut out = source.limits();
    out.extend([
        LimitValue::new(
            Limit::BombRatio,
            format!("{}:1 past {}", r.max_ratio, crate::limits::bytes(r.ratio_floor)),
        ),
        LimitValue::new(Limit::TarBytes, crate::limits::bytes(r.max_tar_bytes)),
        LimitValue::new(Limit::PathBytes, format!("{} bytes", scan::MAX_PATH_BYTES)),
        LimitValue::new(
            Limit::ImpliedParents,
            crate::limits::bytes(scan::MAX_IMPLICIT_PARENT_BYTES),
        ),
        LimitValue::new(
            Limit::ExtensionRecord,
            crate::limits::bytes(scan.tar.max_extension_bytes),
        ),
        LimitValue::new(Limit::PackageDbFile, crate::limits::bytes(scan.capture_limit)),
        LimitValue::new(Limit::PackageDbLayer, crate::limits::bytes(scan.capture_total_limit)),
        LimitValue::new(
            Limit::PackageDbImage,
            crate::limits::bytes(MAX_CAPTURED_IMAGE_BYTES as u64),
        ),
    ]);
    out
}

/// The diff_ids of an image (for `--base`).
pub async fn diff_ids<S: ImageSource>(source: &S) -> Result<Vec<Digest>, Error> {
    let m = source.manifest().await?;
    Ok(source.config(&m).await?.diff_ids)
}

/// Analyses one platform's manifest: layers are read concurrently (at most `opts.jobs` at
/// once), each tar walk on a blocking thread, and stacked bottom first as they complete in
/// order.
pub async fn analyze_manifest<S: ImageSource>(
    source: &S,
    manifest: &Manifest,
    opts: &Options,
) -> Result<LayersReport, Error> {
    analyze_manifest_traced(source, manifest, opts).await.map(|(r, _)| r)
}

/// [`analyze_manifest`], and what it did.
pub async fn analyze_manifest_traced<S: ImageSource>(
    source: &S,
    manifest: &Manifest,
    opts: &Options,
) -> Result<(LayersReport, ImageTrace), Error> {
    let config_start = Instant::now();
    let config = source.config(manifest).await?;
    let config_time = config_start.elapsed();
    if config.diff_ids.len() != manifest.layers.len() {
        return Err(Error::LayerCount {
            manifest: manifest.digest.clone(),
            layers: manifest.layers.len(),
            diff_ids: config.diff_ids.len(),
        });
    }
    let rt = tokio::runtime::Handle::current();
    let total = manifest.layers.len();
    let total_bytes: u64 = filetree::saturating_sum(manifest.layers.iter().map(|d| d.size));
    let tracker = opts.progress.clone().map(|cb| {
        Arc::new(Tracker {
            cb,
            layers_done: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            total,
            total_bytes,
        })
    });
    if let Some(t) = &tracker {
        t.report();
    }
    let mut results = futures_util::stream::iter(manifest.layers.iter().enumerate().map(|(i, desc)| {
        let diff_id = config.diff_ids.get(i).cloned();
        let rt = rt.clone();
        let tracker = tracker.clone();
        async move { read_layer(source, i, desc, diff_id, opts, rt, tracker).await }
    }))
    .buffered(opts.jobs.max(1));
    let read_start = Instant::now();
    let mut analysis = Analysis::new(opts.analysis);
    analysis.final_files = opts.final_files;
    let mut analysis_time = Duration::ZERO;
    let mut layer_traces = Vec::with_capacity(total);
    while let Some(r) = results.next().await {
        let (meta, prepared, (origin, elapsed)) = r?;
        layer_traces.push(LayerTrace {
            index: layer_traces.len(),
            digest: meta.digest.clone(),
            media_type: meta.media_type.clone(),
            compressed_bytes: meta.compressed_bytes,
            tar_bytes: meta.tar_bytes,
            origin,
            verified: meta.verified,
            elapsed,
        });
        let pushed = Instant::now();
        analysis.push_prepared(meta, prepared);
        analysis_time += pushed.elapsed();
        if let Some(t) = &tracker {
            t.layer_done();
        }
    }
    let read_time = read_start.elapsed().saturating_sub(analysis_time);
    let platform = manifest.platform.clone().unwrap_or_else(|| config.platform.clone());
    let finishing = Instant::now();
    let (report, limit_hits) = analysis.finish_traced(ImageMeta {
        source: source.describe(),
        platform: Some(platform.to_string()),
        manifest_digest: Some(manifest.digest.clone()),
        config_digest: Some(config.digest.clone()),
        history: config.history.clone(),
    });
    analysis_time += finishing.elapsed();
    let trace = ImageTrace {
        manifest_digest: manifest.digest.clone(),
        manifest_media_type: manifest.media_type.clone(),
        index: manifest.index.clone(),
        platform: platform.to_string(),
        platform_from_index: manifest.platform.is_some() && manifest.index.is_some(),
        config_digest: config.digest.clone(),
        layers: layer_traces,
        config_time,
        read_time,
        analysis_time,
        limit_hits,
    };
    Ok((report, trace))
}

async fn read_layer<S: ImageSource>(
    source: &S,
    index: usize,
    desc: &Descriptor,
    diff_id: Option<Digest>,
    opts: &Options,
    rt: tokio::runtime::Handle,
    tracker: Option<Arc<Tracker>>,
) -> Result<(LayerMeta, PreparedLayer, (LayerOrigin, Duration)), Error> {
    let start = Instant::now();
    let want_verify = opts.read.verify || !source.is_local();
    let want_hash = want_verify || opts.analysis.dedupe;
    let meta_of = |stats: &cache::CachedStats| LayerMeta {
        digest: desc.digest.clone(),
        diff_id: diff_id.clone(),
        media_type: desc.media_type.clone(),
        compression: stats.compression.clone(),
        compressed_bytes: stats.compressed_bytes,
        tar_bytes: stats.tar_bytes,
        verified: stats.verified,
    };
    if let Some(c) = &opts.cache
        && let Some(hit) = c.get(&desc.digest, diff_id.as_ref())
    {
        // An unverified result never serves a verifying run; a run that needs content
        // hashes needs a hashed scan.
        if (hit.stats.verified || !want_verify) && (hit.scan.hashed || !want_hash) {
            if let Some(t) = &tracker {
                t.add_bytes(desc.size);
            }
            let prepared = prepare(hit.scan, opts, index).await?;
            return Ok((meta_of(&hit.stats), prepared, (LayerOrigin::Cache, start.elapsed())));
        }
    }
    let layer_err = |source| Error::Layer {
        index,
        digest: desc.digest.clone(),
        source,
    };
    let blob = source.blob(desc).await.map_err(layer_err)?;
    let job = Job {
        index,
        desc: desc.clone(),
        diff_id: diff_id.clone(),
        read: opts.read.clone(),
        dedupe: opts.analysis.dedupe,
    };
    let job = tokio::task::spawn_blocking(move || scan_blob(&job, blob, &rt, tracker.as_deref()));
    let (scan, stats) = job.await.map_err(|e| Error::Worker {
        index,
        message: e.to_string(),
    })??;
    let cached = cache::CachedLayer {
        stats: cache::CachedStats {
            compressed_bytes: stats.compressed_bytes,
            tar_bytes: stats.tar_bytes,
            compression: stats.compression.name().to_string(),
            verified: stats.verified,
        },
        scan,
    };
    let failed_put = opts
        .cache
        .as_ref()
        .and_then(|c| c.put(&desc.digest, diff_id.as_ref(), &cached).err());
    let cache::CachedLayer { stats, mut scan } = cached;
    if let Some(e) = failed_put {
        scan.warnings.push(format!("could not write the cache entry: {e}"));
    }
    let origin = if source.is_local() {
        LayerOrigin::File
    } else {
        LayerOrigin::Network
    };
    let prepared = prepare(scan, opts, index).await?;
    Ok((meta_of(&stats), prepared, (origin, start.elapsed())))
}

/// [`PreparedLayer::new`] on a blocking thread (it sorts every entry of the layer), so it
/// overlaps the reading of other layers.
async fn prepare(scan: LayerScan, opts: &Options, index: usize) -> Result<PreparedLayer, Error> {
    let analysis = opts.analysis;
    tokio::task::spawn_blocking(move || PreparedLayer::new(scan, &analysis))
        .await
        .map_err(|e| Error::Worker {
            index,
            message: e.to_string(),
        })
}

/// One layer to read on a blocking thread.
struct Job {
    index: usize,
    desc: Descriptor,
    diff_id: Option<Digest>,
    read: LayerReadOptions,
    dedupe: bool,
}

/// The blocking part: decompress, verify and walk one layer.
fn scan_blob(
    job: &Job,
    blob: crate::source::BlobStream,
    rt: &tokio::runtime::Handle,
    tracker: Option<&Tracker>,
) -> Result<(LayerScan, crate::source::blob::LayerStats), Error> {
    let (index, desc, read, dedupe) = (job.index, &job.desc, &job.read, job.dedupe);
    let diff_id = job.diff_id.as_ref();
    let layer_err = |source| Error::Layer {
        index,
        digest: desc.digest.clone(),
        source,
    };
    let mut stream = open_layer(blob, desc, diff_id, read, rt).map_err(layer_err)?;
    let hash = stream.verifies() || dedupe;
    let sopts = ScanOptions {
        hash_content: hash,
        max_hole_bytes: read.max_tar_bytes,
        ..ScanOptions::default()
    };
    let mut counting = Counting {
        inner: &mut stream,
        tracker,
        reported: 0,
        pos: 0,
    };
    let walked = if hash && counting.inner.lends_blocks() {
        // File contents are hashed straight from the decoder's output block.
        scan::scan_buffered_counted(&mut counting, &sopts)
    } else if hash {
        scan::scan_counted(&mut counting, &sopts)
    } else {
        scan::scan_seek_counted(&mut counting, &sopts)
    };
    let (reported, reached) = (counting.reported, counting.pos);
    let (scan, walk_stats) = match walked {
        Ok(s) => s,
        Err(e @ ScanError::Limit { .. }) => {
            return Err(Error::Limit {
                index,
                digest: desc.digest.clone(),
                source: e,
            });
        }
        Err(ScanError::Read { source, .. } | ScanError::Corrupt { source, .. }) => {
            return Err(layer_err(stream.explain(source)));
        }
        Err(e @ ScanError::Truncated { .. }) => {
            // A stream cut short may also fail its digest: that is the better explanation.
            stream.finish().map_err(layer_err)?;
            return Err(Error::Tar {
                index,
                digest: desc.digest.clone(),
                source: e,
            });
        }
    };
    let stats = stream.finish().map_err(layer_err)?;
    // Sparse holes are never read, but they are content a runtime writes out: they count
    // against the same compression-bomb limits as the tar bytes.
    let expanded = stats.tar_bytes.saturating_add(walk_stats.hole_bytes);
    if walk_stats.hole_bytes > 0 {
        let compressed = stats.compressed_bytes.max(1);
        let limit = if expanded > read.max_tar_bytes {
            Some(format!("more than {} bytes, sparse holes included", read.max_tar_bytes))
        } else if expanded > read.ratio_floor && expanded / compressed > read.max_ratio {
            Some(format!(
                "ratio above {}:1 past {} bytes, sparse holes included",
                read.max_ratio, read.ratio_floor
            ))
        } else {
            None
        };
        if let Some(limit) = limit {
            return Err(layer_err(crate::source::Error::TooLarge {
                digest: desc.digest.clone(),
                tar_bytes: expanded,
                compressed_bytes: stats.compressed_bytes,
                limit,
            }));
        }
    }
    if let Some(t) = tracker {
        t.add_bytes(desc.size.saturating_sub(reported));
    }
    if reached > stats.tar_bytes {
        // Only a skipped (seeked-over) entry can end past the data.
        // The data started one padded size before where the walk ended up.
        let (path, size) = scan
            .entries
            .last()
            .map_or((String::new(), 0), |e| (e.path.to_string(), e.size));
        return Err(Error::Tar {
            index,
            digest: desc.digest.clone(),
            source: ScanError::Truncated {
                path,
                expected: size,
                actual: stats
                    .tar_bytes
                    .saturating_sub(reached.saturating_sub(size.div_ceil(512) * 512))
                    .min(size),
            },
        });
    }
    Ok((scan, stats))
}

/// What the analysis computes beyond the defaults.
#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    /// Largest files and directories listed per layer.
    pub top: usize,
    /// Look for identical content at different paths (`--dedupe`).
    pub dedupe: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self { top: 10, dedupe: false }
    }
}

/// What the source says about one layer (everything but its entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerMeta {
    /// Blob digest.
    pub digest: Digest,
    /// `rootfs.diff_ids` entry.
    pub diff_id: Option<Digest>,
    /// Media type as stored.
    pub media_type: String,
    /// `gzip`, `zstd` or `tar` (uncompressed).
    pub compression: String,
    /// Stored blob size.
    pub compressed_bytes: u64,
    /// Decompressed tar length.
    pub tar_bytes: u64,
    /// Whether digest and diff_id were checked.
    pub verified: bool,
}

/// The image-level facts that go into the report header.
#[derive(Clone, Debug, Default)]
pub struct ImageMeta {
    /// Human label of the source.
    pub source: String,
    /// `os/arch[/variant]`.
    pub platform: Option<String>,
    /// Manifest digest.
    pub manifest_digest: Option<Digest>,
    /// Config digest.
    pub config_digest: Option<Digest>,
    /// The config's history.
    pub history: Vec<History>,
}

/// Largest total of package database bytes held for the whole image (256 MiB); each layer is
/// also held to [`scan::DEFAULT_CAPTURE_TOTAL_LIMIT`] and each file to
/// [`scan::DEFAULT_CAPTURE_LIMIT`].
pub const MAX_CAPTURED_IMAGE_BYTES: usize = 256 << 20;

/// One layer's scan with the part of the analysis that depends on that layer alone done
/// (dive's layer tree, the largest files and directories), so it can be done on the thread
/// that read the layer while other layers are still being read; [`Analysis::push_prepared`]
/// then does only the part that stacks layers in order.
pub struct PreparedLayer {
    scan: LayerScan,
    dive_tree: dive::LayerTree,
    top_files: Vec<PathBytes>,
    top_dirs: Vec<PathBytes>,
}

impl PreparedLayer {
    /// Prepares `scan` for an analysis with options `opts`.
    #[must_use]
    pub fn new(scan: LayerScan, opts: &AnalysisOptions) -> Self {
        let (top_files, top_dirs) = top_lists(&scan, opts.top);
        Self {
            dive_tree: dive::LayerTree::of(&scan),
            scan,
            top_files,
            top_dirs,
        }
    }
}

/// Builds a [`LayersReport`] from layers pushed bottom first.
pub struct Analysis {
    opts: AnalysisOptions,
    /// [`Options::final_files`].
    final_files: bool,
    merger: merge::Merger,
    dive: dive::DiveEmulator,
    layers: Vec<LayerReport>,
    captured: BTreeMap<String, (usize, Vec<u8>)>,
    /// Bytes held in `captured`.
    captured_bytes: usize,
    warnings: Vec<String>,
    all_hashed: bool,
    /// Limits reached without failing, for `--verbose`.
    limit_hits: Vec<LimitHit>,
}

fn top_lists(scan: &LayerScan, top: usize) -> (Vec<PathBytes>, Vec<PathBytes>) {
    let mut files: Vec<(&str, u64)> = scan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && e.size > 0)
        .map(|e| (&*e.path, e.size))
        .collect();
    // Each file adds to its parent only; directories then pass their totals up, deepest
    // first, so every directory is hashed once (adding each file to all its ancestors costs
    // the square of the path depth).
    let mut dirs: HashMap<&str, u64> = HashMap::new();
    let mut by_depth: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    let depth = |p: &str| p.bytes().filter(|&b| b == b'/').count();
    for (p, s) in &files {
        if let Some(parent) = filetree::ancestors(p).next() {
            let d = dirs.entry(parent).or_insert_with(|| {
                by_depth.entry(depth(parent)).or_default().push(parent);
                0
            });
            *d = d.saturating_add(*s);
        }
    }
    while let Some((_, level)) = by_depth.pop_last() {
        for dir in level {
            let total = dirs.get(dir).copied().unwrap_or(0);
            if let Some(parent) = filetree::ancestors(dir).next() {
                let d = dirs.entry(parent).or_insert_with(|| {
                    by_depth.entry(depth(parent)).or_default().push(parent);
                    0
                });
                *d = d.saturating_add(total);
            }
        }
    }
    let by_size = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
    files.sort_by(by_size);
    let mut dirs: Vec<(&str, u64)> = dirs.into_iter().collect();
    dirs.sort_by(by_size);
    let conv = |v: Vec<(&str, u64)>| -> Vec<PathBytes> {
        v.into_iter()
            .take(top)
            .map(|(p, b)| PathBytes {
                path: p.to_string(),
                bytes: ByteSize(b),
                in_final: None,
            })
            .collect()
    };
    (conv(files), conv(dirs))
}

impl Analysis {
    /// A fresh analysis.
    #[must_use]
    pub fn new(opts: AnalysisOptions) -> Self {
        Self {
            opts,
            merger: merge::Merger::new(),
            final_files: false,
            dive: dive::DiveEmulator::new(),
            layers: Vec::new(),
            captured: BTreeMap::new(),
            captured_bytes: 0,
            warnings: Vec::new(),
            all_hashed: true,
            limit_hits: Vec::new(),
        }
    }

    /// Adds the next layer (bottom first).
    pub fn push(&mut self, meta: LayerMeta, scan: LayerScan) {
        let prepared = PreparedLayer::new(scan, &self.opts);
        self.push_prepared(meta, prepared);
    }

    /// [`Analysis::push`] for a layer whose own part of the work was done beforehand
    /// ([`PreparedLayer::new`], with the same [`AnalysisOptions`]).
    pub fn push_prepared(&mut self, meta: LayerMeta, prepared: PreparedLayer) {
        let PreparedLayer {
            mut scan,
            dive_tree,
            top_files,
            top_dirs,
        } = prepared;
        let index = self.layers.len();
        self.dive.push_tree(&dive_tree);
        drop(dive_tree);
        self.merger.push_layer(&scan);
        let ch = self.merger.changes.last().copied().unwrap_or_default();
        for (p, bytes) in std::mem::take(&mut scan.captured) {
            let old = self.captured.get(&p).map_or(0, |(_, b)| b.len());
            let held = self.captured_bytes.saturating_sub(old).saturating_add(bytes.len());
            if held > MAX_CAPTURED_IMAGE_BYTES {
                self.warnings.push(format!(
                    "layer {index} ({}): package databases of the image pass {MAX_CAPTURED_IMAGE_BYTES} bytes at {p}; packages from it are not listed",
                    meta.digest.short()
                ));
                self.limit_hits.push(LimitHit::new(
                    Limit::PackageDbImage,
                    crate::limits::bytes(MAX_CAPTURED_IMAGE_BYTES as u64),
                    format!(
                        "layer {index} ({}): {p} ({} bytes) passed the image's total and was not kept; packages from it are not listed",
                        meta.digest.short(),
                        bytes.len()
                    ),
                ));
                continue;
            }
            self.captured_bytes = held;
            self.captured.insert(p, (index, bytes));
        }
        for w in scan.warnings.drain(..) {
            self.warnings
                .push(format!("layer {index} ({}): {w}", meta.digest.short()));
        }
        for mut h in scan.limit_hits.drain(..) {
            h.detail = format!("layer {index} ({}): {}", meta.digest.short(), h.detail);
            self.limit_hits.push(h);
        }
        self.all_hashed &= scan.hashed;
        self.layers.push(LayerReport {
            index,
            digest: meta.digest,
            diff_id: meta.diff_id,
            media_type: meta.media_type,
            compression: meta.compression,
            compressed_bytes: ByteSize(meta.compressed_bytes),
            tar_bytes: ByteSize(meta.tar_bytes),
            content_bytes: ByteSize(scan.content_bytes),
            entries: scan.entries.len() as u64,
            files_added: ch.files_added,
            files_modified: ch.files_modified,
            files_deleted: ch.files_deleted,
            created_by: String::new(),
            history_index: None,
            verified: meta.verified,
            wasted_bytes: ByteSize(0),
            made_waste_bytes: ByteSize(0),
            top_files,
            top_dirs,
        });
    }

    /// Finishes the report.
    #[must_use]
    pub fn finish(self, image: ImageMeta) -> LayersReport {
        self.finish_traced(image).0
    }

    /// [`Analysis::finish`], and the limits reached on the way without failing (for
    /// `--verbose`).
    #[must_use]
    pub fn finish_traced(mut self, image: ImageMeta) -> (LayersReport, Vec<LimitHit>) {
        let (steps, warn) = history::align(&image.history, self.layers.len());
        if let Some(w) = warn {
            self.warnings.push(w);
        }
        for (layer, step) in self.layers.iter_mut().zip(steps) {
            if let Some(s) = step {
                layer.created_by = s.created_by;
                layer.history_index = Some(s.index);
            }
        }
        self.warnings.append(&mut self.merger.warnings);
        let stack = &self.merger.stack;
        for layer in &mut self.layers {
            for f in &mut layer.top_files {
                f.in_final = Some(stack.get(f.path.as_str()).is_some_and(|n| {
                    n.kind == EntryKind::File && n.layer as usize == layer.index && n.size == f.bytes.0
                }));
            }
        }

        // Cross-layer waste from the ledger.
        let mut waste: Vec<WasteItem> = Vec::with_capacity(self.merger.ledger.len());
        for (k, v) in &self.merger.ledger {
            if let Some(l) = self.layers.get_mut(k.stored_in as usize) {
                l.wasted_bytes.0 = l.wasted_bytes.0.saturating_add(v.bytes);
            }
            if let Some(l) = self.layers.get_mut(k.made_waste_by as usize) {
                l.made_waste_bytes.0 = l.made_waste_bytes.0.saturating_add(v.bytes);
            }
            waste.push(WasteItem {
                path: k.path.to_string(),
                kind: k.kind,
                stored_in: k.stored_in as usize,
                made_waste_by: Some(k.made_waste_by as usize),
                bytes: v.bytes,
                files: v.files,
                cache: k.cache.map(str::to_string),
                duplicate_of: None,
            });
        }
        let (overwritten, deleted, metadata_only) = self.merger.totals();

        // Final-filesystem findings.
        let caches = waste::package_caches(stack);
        let package_cache: u64 = filetree::saturating_sum(caches.iter().map(|w| w.bytes));
        waste.extend(caches);
        let duplicate_content = if self.opts.dedupe {
            let d = waste::duplicates(stack);
            let sum = filetree::saturating_sum(d.iter().map(|w| w.bytes));
            waste.extend(d);
            Some(ByteSize(sum))
        } else {
            None
        };
        waste.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.kind.cmp(&b.kind))
        });

        // Packages, from the final versions of their databases.
        self.captured.retain(|p, (layer, _)| {
            stack
                .get(p.as_str())
                .is_some_and(|n| n.kind == EntryKind::File && n.layer as usize == *layer)
        });
        let (packages, cut) = packages::attribute_counted(&self.captured, stack);
        self.limit_hits.extend(cut.hits());

        let final_file_list = if self.final_files {
            stack
                .iter()
                .filter(|(_, n)| n.kind == EntryKind::File)
                .map(|(p, n)| PathBytes {
                    path: p.to_string(),
                    bytes: ByteSize(n.size),
                    in_final: Some(true),
                })
                .collect()
        } else {
            Vec::new()
        };
        let final_bytes = self.merger.final_bytes();
        let final_files = stack.values().filter(|n| n.kind == EntryKind::File).count() as u64;
        let reclaimable = self.merger.shipped.saturating_sub(final_bytes);
        // Exact unless the sizes from the image passed u64::MAX (then every sum stays there).
        debug_assert!(
            self.merger.shipped == u64::MAX
                || reclaimable == overwritten.saturating_add(deleted).saturating_add(metadata_only),
            "waste kinds must sum to reclaimable"
        );
        let totals = Totals {
            layers: self.layers.len(),
            compressed_bytes: ByteSize(filetree::saturating_sum(
                self.layers.iter().map(|l| l.compressed_bytes.0),
            )),
            tar_bytes: ByteSize(filetree::saturating_sum(self.layers.iter().map(|l| l.tar_bytes.0))),
            content_bytes: ByteSize(self.merger.shipped),
            final_content_bytes: ByteSize(final_bytes),
            final_files,
        };
        if self.merger.shipped == u64::MAX || totals.tar_bytes.0 == u64::MAX || totals.compressed_bytes.0 == u64::MAX {
            self.limit_hits.push(LimitHit::new(
                Limit::SaturatingSums,
                "2^64 - 1",
                "sizes the image declares add up to more than 2^64 - 1 bytes; the totals show the maximum",
            ));
        }
        let dive = self.dive.finish();
        let report = LayersReport {
            schema_version: report::SCHEMA_VERSION,
            source: image.source,
            platform: image.platform,
            manifest_digest: image.manifest_digest,
            config_digest: image.config_digest,
            layers: self.layers,
            totals,
            efficiency: dive.efficiency,
            reclaimable_bytes: ByteSize(reclaimable),
            waste_by_kind: WasteByKind {
                overwritten: ByteSize(overwritten),
                deleted: ByteSize(deleted),
                metadata_only: ByteSize(metadata_only),
                package_cache: ByteSize(package_cache),
                duplicate_content,
            },
            waste,
            packages,
            dive,
            base: None,
            content_compared_by: if self.all_hashed {
                "content_hash"
            } else {
                "size_and_mtime"
            },
            instructions: None,
            warnings: self.warnings,
            history: image.history,
            final_files: final_file_list,
        };
        (report, self.limit_hits)
    }
}
