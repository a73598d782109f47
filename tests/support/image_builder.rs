//! A declarative test-image builder: layers as lists of entries, written as an OCI image layout,
//! an oci-archive or a docker-archive (classic `docker save` and Docker 25+ OCI-in-tar).
//!
//! Everything is deterministic (fixed mtimes, gzip header mtime 0, fixed zstd level), so digests
//! are stable across runs. Broken images are produced on purpose with [`Fault`].
//!
//! ```ignore
//! let img = ImageBuilder::new()
//!     .layer("RUN apt-get install", vec![Entry::file("etc/a", b"hello"), Entry::dir("var/lib")])
//!     .empty_step("ENV A=1")
//!     .layer("RUN rm", vec![Entry::whiteout("etc/a")])
//!     .build();
//! img.write_oci_layout(&dir, Some("latest"));
//! ```
//!
//! Formats written (the layouts the sources must read):
//! - OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>` (image-spec `image-layout.md`).
//! - oci-archive: the same tree in a tar file.
//! - docker-archive, classic: `manifest.json` (`Config`, `RepoTags`, `Layers`), `<id>/layer.tar`,
//!   `<id>/VERSION`, `<id>/json`, `<hex>.json` config, `repositories`; layers uncompressed.
//! - docker-archive, Docker 25+: an OCI layout (uncompressed layers) plus `manifest.json` whose
//!   paths point into `blobs/sha256/`.
#![allow(dead_code, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The mtime written into every tar header (2023-11-14T22:13:20Z).
pub const FIXED_MTIME: u64 = 1_700_000_000;
/// The `created` timestamp written into config and history.
pub const FIXED_CREATED: &str = "2023-11-14T22:13:20Z";

/// OCI media types.
pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI index media type.
pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI config media type.
pub const MT_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI uncompressed layer.
pub const MT_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip layer.
pub const MT_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd layer.
pub const MT_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// A media type no reader knows.
pub const MT_LAYER_UNKNOWN: &str = "application/vnd.imgopt.test.layer.v1.tar+lz4";

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex part of a `sha256:<hex>` digest.
pub fn hex_of(digest: &str) -> &str {
    digest.split_once(':').map_or(digest, |(_, h)| h)
}

/// One entry of a layer tar.
#[derive(Clone, Debug)]
pub enum Entry {
    /// A regular file.
    File {
        /// Path inside the layer, no leading `/`.
        path: String,
        /// File data.
        content: Vec<u8>,
        /// Permission bits.
        mode: u32,
        /// Owner.
        uid: u64,
        /// Group.
        gid: u64,
    },
    /// A regular file of `size` zero bytes, streamed (for big or bomb-like layers).
    Zeros {
        /// Path.
        path: String,
        /// Size in bytes.
        size: u64,
    },
    /// A directory.
    Dir {
        /// Path.
        path: String,
        /// Permission bits.
        mode: u32,
        /// Owner.
        uid: u64,
        /// Group.
        gid: u64,
    },
    /// A symbolic link.
    Symlink {
        /// Path of the link.
        path: String,
        /// Link target as written.
        target: String,
    },
    /// A hard link to an earlier entry of the same layer.
    Hardlink {
        /// Path of the link.
        path: String,
        /// Target path inside the layer.
        target: String,
    },
    /// A whiteout: `dir/.wh.name` deletes `dir/name` from lower layers.
    Whiteout {
        /// The path deleted.
        path: String,
    },
    /// An opaque whiteout: `dir/.wh..wh..opq` hides everything below `dir` from lower layers.
    OpaqueWhiteout {
        /// The directory made opaque.
        dir: String,
    },
    /// A raw tar header with the given name and content (for `../` names and other oddities).
    RawFile {
        /// Name bytes written into the header as is.
        name: String,
        /// Data.
        content: Vec<u8>,
    },
}

impl Entry {
    /// A file with mode 0644, root-owned.
    pub fn file(path: &str, content: impl Into<Vec<u8>>) -> Self {
        Entry::File {
            path: path.into(),
            content: content.into(),
            mode: 0o644,
            uid: 0,
            gid: 0,
        }
    }
    /// A file with explicit mode and owner.
    pub fn file_with(path: &str, content: impl Into<Vec<u8>>, mode: u32, uid: u64, gid: u64) -> Self {
        Entry::File {
            path: path.into(),
            content: content.into(),
            mode,
            uid,
            gid,
        }
    }
    /// A file of `size` zero bytes.
    pub fn zeros(path: &str, size: u64) -> Self {
        Entry::Zeros {
            path: path.into(),
            size,
        }
    }
    /// A directory with mode 0755.
    pub fn dir(path: &str) -> Self {
        Entry::Dir {
            path: path.into(),
            mode: 0o755,
            uid: 0,
            gid: 0,
        }
    }
    /// A directory with explicit mode and owner.
    pub fn dir_with(path: &str, mode: u32, uid: u64, gid: u64) -> Self {
        Entry::Dir {
            path: path.into(),
            mode,
            uid,
            gid,
        }
    }
    /// A symlink.
    pub fn symlink(path: &str, target: &str) -> Self {
        Entry::Symlink {
            path: path.into(),
            target: target.into(),
        }
    }
    /// A hard link.
    pub fn hardlink(path: &str, target: &str) -> Self {
        Entry::Hardlink {
            path: path.into(),
            target: target.into(),
        }
    }
    /// A whiteout deleting `path`.
    pub fn whiteout(path: &str) -> Self {
        Entry::Whiteout { path: path.into() }
    }
    /// An opaque whiteout for `dir`.
    pub fn opaque(dir: &str) -> Self {
        Entry::OpaqueWhiteout { dir: dir.into() }
    }
    /// A file whose header name is written verbatim (may be `../x` or `/abs`).
    pub fn raw_file(name: &str, content: impl Into<Vec<u8>>) -> Self {
        Entry::RawFile {
            name: name.into(),
            content: content.into(),
        }
    }
}

/// Layer compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (flate2, level 6, header mtime 0).
    Gzip,
    /// zstd (level 3).
    Zstd,
}

impl Compression {
    /// The OCI media type for this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => MT_LAYER_TAR,
            Compression::Gzip => MT_LAYER_GZIP,
            Compression::Zstd => MT_LAYER_ZSTD,
        }
    }
    /// Compresses `tar`.
    pub fn compress(self, tar: &[u8]) -> Vec<u8> {
        match self {
            Compression::None => tar.to_vec(),
            Compression::Gzip => {
                let mut e = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(Vec::new(), flate2::Compression::new(6));
                e.write_all(tar).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(tar, 3).unwrap(),
        }
    }
}

/// A deliberate defect, applied when the image is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Layer `n`'s stored bytes differ from its digest (one byte flipped, same size).
    WrongDigest(usize),
    /// Layer `n`'s stored blob is cut to half its size (the descriptor keeps the full size).
    TruncatedBlob(usize),
    /// Layer `n`'s blob is absent from the store.
    MissingBlob(usize),
    /// The config's diff_id for layer `n` is wrong.
    WrongDiffId(usize),
    /// Layer `n` has a media type no reader knows (its bytes stay valid).
    UnknownMediaType(usize),
    /// Layer `n`'s compressed stream is corrupted in the middle; its digest and size are
    /// recomputed so that only decompression fails (gzip or zstd, whichever the layer uses).
    CorruptCompression(usize),
    /// Layer `n`'s media type claims gzip but the bytes are zstd (or the other way round); the
    /// digest is right. Readers that sniff magic bytes still read it.
    MislabelledCompression(usize),
    /// The manifest reference escapes the layout: index.json names a manifest digest
    /// `sha256:../../..` (OCI) and manifest.json names `../outside.tar` (docker-archive).
    PathTraversal,
    /// The config blob's bytes do not match its digest.
    WrongConfigDigest,
}

/// One built layer: the truth the tests compare against.
#[derive(Clone, Debug)]
pub struct BuiltLayer {
    /// The uncompressed tar.
    pub tar: Vec<u8>,
    /// The blob as the manifest describes it (compressed, before faults).
    pub blob: Vec<u8>,
    /// Media type in the manifest.
    pub media_type: String,
    /// Digest in the manifest.
    pub digest: String,
    /// Size in the manifest.
    pub size: u64,
    /// The true diff_id (sha256 of `tar`).
    pub diff_id: String,
    /// `created_by` of the history step.
    pub created_by: String,
}

/// A platform: `(os, architecture, variant)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestPlatform {
    /// `linux`.
    pub os: String,
    /// `amd64`.
    pub architecture: String,
    /// `v8`.
    pub variant: Option<String>,
}

impl TestPlatform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Self {
        let mut it = s.split('/');
        Self {
            os: it.next().unwrap().into(),
            architecture: it.next().expect("os/arch").into(),
            variant: it.next().map(Into::into),
        }
    }
    fn json(&self) -> Value {
        let mut v = json!({"os": self.os, "architecture": self.architecture});
        if let Some(var) = &self.variant {
            v["variant"] = json!(var);
        }
        v
    }
}

enum Step {
    Layer {
        created_by: String,
        entries: Vec<Entry>,
        compression: Option<Compression>,
    },
    Empty {
        created_by: String,
    },
}

/// Builds one single-platform image.
pub struct ImageBuilder {
    steps: Vec<Step>,
    compression: Compression,
    platform: TestPlatform,
    user: Option<String>,
    env: Vec<String>,
    faults: Vec<Fault>,
    tag: String,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageBuilder {
    /// An empty linux/amd64 image with gzip layers.
    pub fn new() -> Self {
        Self {
            steps: Vec::new(),
            compression: Compression::Gzip,
            platform: TestPlatform::parse("linux/amd64"),
            user: None,
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            faults: Vec::new(),
            tag: "imgopt-test/image:latest".into(),
        }
    }
    /// Default compression of the layers (each layer may override it).
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }
    /// The platform (`os/arch[/variant]`).
    pub fn platform(mut self, p: &str) -> Self {
        self.platform = TestPlatform::parse(p);
        self
    }
    /// `config.User`.
    pub fn user(mut self, u: &str) -> Self {
        self.user = Some(u.into());
        self
    }
    /// Adds to `config.Env`.
    pub fn env(mut self, e: &str) -> Self {
        self.env.push(e.into());
        self
    }
    /// The `RepoTags` entry of docker-archives.
    pub fn tag(mut self, t: &str) -> Self {
        self.tag = t.into();
        self
    }
    /// A layer made by `created_by`.
    pub fn layer(mut self, created_by: &str, entries: Vec<Entry>) -> Self {
        self.steps.push(Step::Layer {
            created_by: created_by.into(),
            entries,
            compression: None,
        });
        self
    }
    /// A layer with its own compression.
    pub fn layer_compressed(mut self, created_by: &str, c: Compression, entries: Vec<Entry>) -> Self {
        self.steps.push(Step::Layer {
            created_by: created_by.into(),
            entries,
            compression: Some(c),
        });
        self
    }
    /// A history step without a layer (`empty_layer: true`).
    pub fn empty_step(mut self, created_by: &str) -> Self {
        self.steps.push(Step::Empty {
            created_by: created_by.into(),
        });
        self
    }
    /// Adds a deliberate defect.
    pub fn fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }

    /// Builds the image with its own compression.
    pub fn build(&self) -> BuiltImage {
        self.build_inner(None)
    }

    /// Builds it with every layer uncompressed (what docker-archives store).
    pub fn build_uncompressed(&self) -> BuiltImage {
        self.build_inner(Some(Compression::None))
    }

    fn build_inner(&self, force: Option<Compression>) -> BuiltImage {
        let mut layers = Vec::new();
        let mut history = Vec::new();
        for step in &self.steps {
            match step {
                Step::Empty { created_by } => history.push(json!({
                    "created": FIXED_CREATED, "created_by": created_by, "empty_layer": true
                })),
                Step::Layer {
                    created_by,
                    entries,
                    compression,
                } => {
                    let c = force.or(*compression).unwrap_or(self.compression);
                    let tar = layer_tar(entries);
                    let blob = c.compress(&tar);
                    layers.push(BuiltLayer {
                        diff_id: sha256(&tar),
                        digest: sha256(&blob),
                        size: blob.len() as u64,
                        media_type: c.media_type().into(),
                        tar,
                        blob,
                        created_by: created_by.clone(),
                    });
                    history.push(json!({"created": FIXED_CREATED, "created_by": created_by}));
                }
            }
        }
        // Blob store: what gets written (faults change it, not the layer truth).
        let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
        for f in &self.faults {
            match f {
                Fault::UnknownMediaType(n) => layers[*n].media_type = MT_LAYER_UNKNOWN.into(),
                Fault::CorruptCompression(n) => {
                    let l = &mut layers[*n];
                    assert_ne!(
                        l.media_type, MT_LAYER_TAR,
                        "CorruptCompression needs a compressed layer"
                    );
                    let len = l.blob.len();
                    let mid = len / 2;
                    for b in &mut l.blob[mid..(mid + 16).min(len - 8)] {
                        *b ^= 0x5a;
                    }
                    l.digest = sha256(&l.blob);
                    l.size = l.blob.len() as u64;
                }
                Fault::MislabelledCompression(n) => {
                    let l = &mut layers[*n];
                    let (real, label) = if l.media_type == MT_LAYER_ZSTD {
                        (Compression::Gzip, MT_LAYER_ZSTD)
                    } else {
                        (Compression::Zstd, MT_LAYER_GZIP)
                    };
                    l.blob = real.compress(&l.tar);
                    l.digest = sha256(&l.blob);
                    l.size = l.blob.len() as u64;
                    l.media_type = label.into();
                }
                Fault::WrongDiffId(n) => diff_ids[*n] = sha256(b"not the layer"),
                _ => {}
            }
        }
        for l in &layers {
            blobs.insert(l.digest.clone(), l.blob.clone());
        }
        let mut config_json = json!({
            "created": FIXED_CREATED,
            "architecture": self.platform.architecture,
            "os": self.platform.os,
            "config": {"Env": self.env, "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        if let Some(v) = &self.platform.variant {
            config_json["variant"] = json!(v);
        }
        if let Some(u) = &self.user {
            config_json["config"]["User"] = json!(u);
        }
        let config = serde_json::to_vec(&config_json).unwrap();
        let config_digest = sha256(&config);
        blobs.insert(config_digest.clone(), config.clone());
        let manifest_json = json!({
            "schemaVersion": 2,
            "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": MT_OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": layers.iter().map(|l| json!({
                "mediaType": l.media_type, "digest": l.digest, "size": l.size
            })).collect::<Vec<_>>(),
        });
        let manifest = serde_json::to_vec(&manifest_json).unwrap();
        let manifest_digest = sha256(&manifest);
        blobs.insert(manifest_digest.clone(), manifest.clone());
        let mut path_traversal = false;
        for f in &self.faults {
            match f {
                Fault::WrongDigest(n) => {
                    let b = blobs.get_mut(&layers[*n].digest).unwrap();
                    let mid = b.len() / 2;
                    b[mid] ^= 0xff;
                }
                Fault::TruncatedBlob(n) => {
                    let b = blobs.get_mut(&layers[*n].digest).unwrap();
                    b.truncate(b.len() / 2);
                }
                Fault::MissingBlob(n) => {
                    blobs.remove(&layers[*n].digest);
                }
                Fault::WrongConfigDigest => {
                    let b = blobs.get_mut(&config_digest).unwrap();
                    let last = b.len() - 2;
                    b[last] = b' ';
                }
                Fault::PathTraversal => path_traversal = true,
                _ => {}
            }
        }
        BuiltImage {
            layers,
            config,
            config_digest,
            manifest,
            manifest_digest,
            blobs,
            platform: self.platform.clone(),
            tag: self.tag.clone(),
            history_len: self.steps.len(),
            path_traversal,
        }
    }
}

/// A built image: the truth plus the blob store to write.
#[derive(Clone, Debug)]
pub struct BuiltImage {
    /// Layers, bottom first.
    pub layers: Vec<BuiltLayer>,
    /// Config bytes (as described by the manifest).
    pub config: Vec<u8>,
    /// Config digest.
    pub config_digest: String,
    /// Manifest bytes.
    pub manifest: Vec<u8>,
    /// Manifest digest.
    pub manifest_digest: String,
    /// digest -> stored bytes (after faults; a missing blob is absent).
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// Platform.
    pub platform: TestPlatform,
    /// RepoTags entry for docker-archives.
    pub tag: String,
    /// Number of history entries.
    pub history_len: usize,
    path_traversal: bool,
}

const TRAVERSAL_DIGEST: &str = "sha256:../../../../../../etc/passwd";

impl BuiltImage {
    /// `os/arch[/variant]`.
    pub fn platform_string(&self) -> String {
        let p = &self.platform;
        match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        }
    }

    /// The manifest descriptor for an index.
    fn manifest_descriptor(&self, ref_name: Option<&str>, with_platform: bool) -> Value {
        let digest = if self.path_traversal {
            TRAVERSAL_DIGEST
        } else {
            self.manifest_digest.as_str()
        };
        let mut d = json!({"mediaType": MT_OCI_MANIFEST, "digest": digest, "size": self.manifest.len()});
        if with_platform {
            d["platform"] = self.platform.json();
        }
        if let Some(r) = ref_name {
            d["annotations"] = json!({"org.opencontainers.image.ref.name": r});
        }
        d
    }

    /// The files of an OCI layout, as (relative path, bytes).
    pub fn oci_files(&self, tag: Option<&str>) -> Vec<(String, Vec<u8>)> {
        let index = json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
            "manifests": [self.manifest_descriptor(tag, false)]});
        oci_files_from(serde_json::to_vec(&index).unwrap(), std::iter::once(&self.blobs))
    }

    /// Writes an OCI image layout into `dir` (created).
    pub fn write_oci_layout(&self, dir: &Path, tag: Option<&str>) {
        write_tree(dir, &self.oci_files(tag));
    }

    /// Writes an oci-archive (the layout in a tar) to `file`.
    pub fn write_oci_archive(&self, file: &Path, tag: Option<&str>) {
        write_tar_file(file, &self.oci_files(tag));
    }

    /// Writes a docker-archive. Build the image with [`ImageBuilder::build_uncompressed`] to
    /// get what `docker save` writes (compressed layers are written as they are).
    pub fn write_docker_archive(&self, file: &Path, layout: DockerLayout) {
        write_tar_file(file, &self.docker_files(layout));
    }

    /// The members of a docker-archive.
    pub fn docker_files(&self, layout: DockerLayout) -> Vec<(String, Vec<u8>)> {
        let (repo, tag) = self.tag.rsplit_once(':').unwrap_or((&self.tag, "latest"));
        let repositories = json!({repo: {tag: self.layers.last().map_or("", |l| hex_of(&l.diff_id))}});
        let mut files = Vec::new();
        match layout {
            DockerLayout::Classic => {
                let cfg_name = format!("{}.json", hex_of(&self.config_digest));
                let mut layer_paths = Vec::new();
                for (i, l) in self.layers.iter().enumerate() {
                    // Classic v1 layer ids: any unique hex; the chain position keeps them apart.
                    let id = hex_of(&sha256(format!("{i}:{}", l.diff_id).as_bytes())).to_string();
                    let path = format!("{id}/layer.tar");
                    if let Some(b) = self.blobs.get(&l.digest) {
                        files.push((path.clone(), b.clone()));
                    }
                    files.push((format!("{id}/VERSION"), b"1.0".to_vec()));
                    files.push((format!("{id}/json"), serde_json::to_vec(&json!({"id": id})).unwrap()));
                    layer_paths.push(if self.path_traversal && i == 0 {
                        "../outside.tar".into()
                    } else {
                        path
                    });
                }
                if let Some(c) = self.blobs.get(&self.config_digest) {
                    files.push((cfg_name.clone(), c.clone()));
                }
                let manifest = json!([{"Config": cfg_name, "RepoTags": [self.tag], "Layers": layer_paths}]);
                files.push(("manifest.json".into(), serde_json::to_vec(&manifest).unwrap()));
                files.push(("repositories".into(), serde_json::to_vec(&repositories).unwrap()));
            }
            DockerLayout::Oci => {
                let mut desc = self.manifest_descriptor(None, false);
                desc["annotations"] = json!({
                    "io.containerd.image.name": format!("docker.io/{}", self.tag),
                    "org.opencontainers.image.ref.name": tag,
                });
                let index = json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [desc]});
                files = oci_files_from(serde_json::to_vec(&index).unwrap(), std::iter::once(&self.blobs));
                let layer_paths: Vec<String> = self
                    .layers
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if self.path_traversal && i == 0 {
                            "../outside.tar".into()
                        } else {
                            format!("blobs/sha256/{}", hex_of(&l.digest))
                        }
                    })
                    .collect();
                let manifest = json!([{
                    "Config": format!("blobs/sha256/{}", hex_of(&self.config_digest)),
                    "RepoTags": [self.tag], "Layers": layer_paths
                }]);
                files.push(("manifest.json".into(), serde_json::to_vec(&manifest).unwrap()));
                files.push(("repositories".into(), serde_json::to_vec(&repositories).unwrap()));
            }
        }
        files
    }
}

/// Which docker-archive layout to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DockerLayout {
    /// `docker save` before Docker 25: `<id>/layer.tar`.
    Classic,
    /// Docker 25+: an OCI layout plus `manifest.json`.
    Oci,
}

/// A multi-platform image: an index over several single-platform images.
pub struct IndexBuilder {
    images: Vec<BuiltImage>,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexBuilder {
    /// An empty index.
    pub fn new() -> Self {
        Self { images: Vec::new() }
    }
    /// Adds one platform's image (its platform comes from the builder).
    pub fn image(mut self, img: &ImageBuilder) -> Self {
        self.images.push(img.build());
        self
    }
    /// The built images, in index order.
    pub fn images(&self) -> &[BuiltImage] {
        &self.images
    }
    /// The index bytes as written into the inner index blob.
    pub fn index_bytes(&self) -> Vec<u8> {
        let idx = json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
            "manifests": self.images.iter().map(|i| i.manifest_descriptor(None, true)).collect::<Vec<_>>()});
        serde_json::to_vec(&idx).unwrap()
    }
    /// Digest of the index blob.
    pub fn index_digest(&self) -> String {
        sha256(&self.index_bytes())
    }
    /// Files of the layout. `nested == false`: index.json lists the platform manifests
    /// directly. `nested == true`: index.json points at an index blob (what skopeo writes).
    pub fn oci_files(&self, tag: Option<&str>, nested: bool) -> Vec<(String, Vec<u8>)> {
        let inner = self.index_bytes();
        let top = if nested {
            let mut d = json!({"mediaType": MT_OCI_INDEX, "digest": sha256(&inner), "size": inner.len()});
            if let Some(t) = tag {
                d["annotations"] = json!({"org.opencontainers.image.ref.name": t});
            }
            json!({"schemaVersion": 2, "manifests": [d]})
        } else {
            json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                "manifests": self.images.iter().map(|i| i.manifest_descriptor(tag, true)).collect::<Vec<_>>()})
        };
        let mut extra = BTreeMap::new();
        if nested {
            extra.insert(sha256(&inner), inner);
        }
        oci_files_from(
            serde_json::to_vec(&top).unwrap(),
            self.images.iter().map(|i| &i.blobs).chain(std::iter::once(&extra)),
        )
    }
    /// Writes the layout into `dir`.
    pub fn write_oci_layout(&self, dir: &Path, tag: Option<&str>, nested: bool) {
        write_tree(dir, &self.oci_files(tag, nested));
    }
    /// Writes an oci-archive.
    pub fn write_oci_archive(&self, file: &Path, tag: Option<&str>, nested: bool) {
        write_tar_file(file, &self.oci_files(tag, nested));
    }
}

fn oci_files_from<'a>(
    index: Vec<u8>,
    stores: impl Iterator<Item = &'a BTreeMap<String, Vec<u8>>>,
) -> Vec<(String, Vec<u8>)> {
    let mut all = BTreeMap::new();
    for s in stores {
        for (d, b) in s {
            all.insert(format!("blobs/sha256/{}", hex_of(d)), b.clone());
        }
    }
    let mut files = vec![
        ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ("index.json".to_string(), index),
    ];
    files.extend(all);
    files
}

/// Writes `(relative path, bytes)` files under `dir`.
pub fn write_tree(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (p, b) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
}

/// Writes `(member name, bytes)` into a tar file (deterministic headers).
pub fn write_tar_file(file: &Path, files: &[(String, Vec<u8>)]) {
    let f = std::fs::File::create(file).unwrap();
    let mut t = tar::Builder::new(std::io::BufWriter::new(f));
    for (p, b) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(b.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(FIXED_MTIME);
        h.set_entry_type(tar::EntryType::Regular);
        t.append_data(&mut h, p, &b[..]).unwrap();
    }
    t.into_inner().unwrap().flush().unwrap();
}

fn header(kind: tar::EntryType, mode: u32, uid: u64, gid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_size(size);
    h.set_mtime(FIXED_MTIME);
    h
}

fn split_parent(path: &str) -> (&str, &str) {
    let p = path.trim_end_matches('/');
    match p.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", p),
    }
}

/// The uncompressed tar of a layer.
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            Entry::File {
                path,
                content,
                mode,
                uid,
                gid,
            } => {
                let mut h = header(tar::EntryType::Regular, *mode, *uid, *gid, content.len() as u64);
                t.append_data(&mut h, path, &content[..]).unwrap();
            }
            Entry::Zeros { path, size } => {
                let mut h = header(tar::EntryType::Regular, 0o644, 0, 0, *size);
                t.append_data(&mut h, path, std::io::repeat(0).take(*size)).unwrap();
            }
            Entry::Dir { path, mode, uid, gid } => {
                let mut h = header(tar::EntryType::Directory, *mode, *uid, *gid, 0);
                let p = format!("{}/", path.trim_end_matches('/'));
                t.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            Entry::Symlink { path, target } => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0, 0, 0);
                t.append_link(&mut h, path, target).unwrap();
            }
            Entry::Hardlink { path, target } => {
                let mut h = header(tar::EntryType::Link, 0o644, 0, 0, 0);
                t.append_link(&mut h, path, target).unwrap();
            }
            Entry::Whiteout { path } => {
                let (d, n) = split_parent(path);
                let wh = if d.is_empty() {
                    format!(".wh.{n}")
                } else {
                    format!("{d}/.wh.{n}")
                };
                let mut h = header(tar::EntryType::Regular, 0o644, 0, 0, 0);
                t.append_data(&mut h, wh, std::io::empty()).unwrap();
            }
            Entry::OpaqueWhiteout { dir } => {
                let d = dir.trim_end_matches('/');
                let wh = if d.is_empty() {
                    ".wh..wh..opq".to_string()
                } else {
                    format!("{d}/.wh..wh..opq")
                };
                let mut h = header(tar::EntryType::Regular, 0o644, 0, 0, 0);
                t.append_data(&mut h, wh, std::io::empty()).unwrap();
            }
            Entry::RawFile { name, content } => {
                // Bypass tar-rs's path checks: write the name bytes straight into the header.
                let mut h = header(tar::EntryType::Regular, 0o644, 0, 0, content.len() as u64);
                let raw = h.as_old_mut();
                let n = name.as_bytes();
                assert!(n.len() < 100, "raw names must fit the 100-byte field");
                raw.name[..n.len()].copy_from_slice(n);
                h.set_cksum();
                t.append(&h, &content[..]).unwrap();
            }
        }
    }
    t.into_inner().unwrap()
}
