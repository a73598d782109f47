//! `docker-archive:FILE[:REPO:TAG]`: what `docker save` writes, in both layouts.
//!
//! - Classic (before Docker 25, and skopeo's `docker-archive:`): `manifest.json` lists
//!   `Config` and `Layers` paths inside the tar (`<id>/layer.tar` or `<diffid>.tar`), layers
//!   usually uncompressed. There is no registry manifest: imgopt synthesises the Docker
//!   schema 2 manifest for the layers as stored, so `manifest_digest` is stable but is not a
//!   registry's digest.
//! - Docker 25+ (moby PR 44598): the tar is an OCI image layout (`oci-layout`, `index.json`,
//!   `blobs/sha256/`) plus a compatible `manifest.json`; it is read as an OCI layout.
//!
//! Owns: choosing the image (`RepoTags`), path safety of `manifest.json` entries (a `../`
//! entry is an error, not a read outside the archive), and layer descriptors: a plain-tar
//! layer's digest is its diff_id (the same bytes), a compressed one is hashed once when the
//! archive is opened. Does not: decompress or verify layers (see [`super::blob`]).

use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use super::blob::Compression;
use super::model::{self, MAX_JSON};
use super::oci_layout::OciLayoutSource;
use super::spec::SourceOptions;
use super::store::{Store, safe_rel};
use super::{BlobStream, Descriptor, Error, ImageConfig, ImageSource, Manifest};
use crate::digest::{Digest, Sha256Writer};

/// A docker-archive in either layout.
pub enum DockerArchiveSource {
    /// Docker 25+: an OCI layout inside the tar.
    Oci(OciLayoutSource),
    /// The classic `manifest.json` layout.
    Classic(Box<ClassicArchive>),
}

/// A classic docker-archive, with its manifest synthesised when opened.
pub struct ClassicArchive {
    store: Store,
    label: String,
    manifest: Manifest,
    config: ImageConfig,
    /// The layers' member paths, bottom first. A layer descriptor names its member in the
    /// [`MEMBER`] annotation: two layers may share a digest (`Layers` may list the same
    /// diff_id twice, for different files), and each file must be read and verified itself.
    paths: Vec<String>,
}

/// Annotation on a classic docker-archive's layer descriptor: the index of its member in
/// `Layers` (never shown; descriptors of other sources do not have it).
const MEMBER: &str = "dev.imgopt.docker-archive.layer-index";

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// Opens a docker-archive; `image` picks one of several images by a `RepoTags` entry.
pub fn open(file: &Path, image: Option<&str>, opts: &SourceOptions) -> Result<DockerArchiveSource, Error> {
    let label = format!(
        "docker-archive:{}{}",
        file.display(),
        image.map(|t| format!(":{t}")).unwrap_or_default()
    );
    super::store::regular_file(file, &label)?;
    let store = Store::tar(file)?;
    let loc = store.location("manifest.json");
    let entries: Option<Vec<Entry>> = match store.read("manifest.json", MAX_JSON, crate::limits::Limit::LocalJson)? {
        Some(b) => Some(serde_json::from_slice(&b).map_err(|e| {
            Error::invalid(
                &loc,
                format!("not a docker-archive manifest.json: it {}", super::json_error(&e)),
            )
        })?),
        None => None,
    };
    let oci = store.exists("index.json") && store.exists("oci-layout");
    let Some(entries) = entries else {
        if oci {
            return Ok(DockerArchiveSource::Oci(OciLayoutSource::from_store(
                store, image, label, opts,
            )?));
        }
        return Err(Error::invalid(
            file.display().to_string(),
            "not a docker-archive (no manifest.json)",
        ));
    };
    let entry = choose(entries, image, &loc)?;
    if oci && entry.config.starts_with("blobs/") {
        // Docker 25+: manifest.json mirrors index.json; read the real OCI manifest, but keep
        // the path checks of manifest.json (a `../` entry is still an error).
        for p in entry.layers.iter().chain(std::iter::once(&entry.config)) {
            safe_rel(p, &loc)?;
        }
        return Ok(DockerArchiveSource::Oci(OciLayoutSource::from_store(
            store, image, label, opts,
        )?));
    }
    let archive = ClassicArchive::new(store, &entry, label)?;
    if let Some(want) = &opts.platform {
        // One image, one platform: `--platform` must match it.
        super::platform::check_single(want, &archive.config.platform, &archive.label)?;
    }
    Ok(DockerArchiveSource::Classic(Box::new(archive)))
}

fn choose(entries: Vec<Entry>, image: Option<&str>, loc: &str) -> Result<Entry, Error> {
    let all_tags = |es: &[Entry]| super::capped_list(es.iter().flat_map(|e| e.repo_tags.iter().flatten().cloned()));
    match image {
        Some(want) => {
            let tags = all_tags(&entries);
            let norm = |t: &str| {
                t.trim_start_matches("docker.io/")
                    .trim_start_matches("library/")
                    .to_string()
            };
            entries
                .into_iter()
                .find(|e| {
                    e.repo_tags
                        .as_ref()
                        .is_some_and(|ts| ts.iter().any(|t| norm(t) == norm(want)))
                })
                .ok_or_else(|| Error::NotFound {
                    reference: loc.to_string(),
                    message: format!("no image tagged `{want}` (tags: {tags})"),
                })
        }
        None if entries.len() == 1 => Ok(entries.into_iter().next().unwrap_or_else(|| unreachable!())),
        None if entries.is_empty() => Err(Error::invalid(loc, "manifest.json lists no images")),
        None => Err(Error::invalid(
            loc,
            format!(
                "the archive holds {} images; add :REPO:TAG to choose one (tags: {})",
                entries.len(),
                all_tags(&entries)
            ),
        )),
    }
}

impl ClassicArchive {
    fn new(store: Store, entry: &Entry, label: String) -> Result<Self, Error> {
        let loc = store.location("manifest.json");
        let config_rel = safe_rel(&entry.config, &loc)?;
        let config_bytes = store
            .read(&config_rel, MAX_JSON, crate::limits::Limit::ConfigBlob)?
            .ok_or_else(|| {
                Error::invalid(
                    &loc,
                    format!("the config `{}` it names is not in the archive", entry.config),
                )
            })?;
        let config_digest = Digest::sha256_of(&config_bytes);
        // `docker save` names the config by its digest (the image ID): check it.
        let stem = config_rel.rsplit('/').next().unwrap_or("").trim_end_matches(".json");
        if let Ok(named) = Digest::parse(&format!("sha256:{stem}"))
            && named != config_digest
        {
            return Err(Error::DigestMismatch {
                expected: named,
                actual: config_digest,
            });
        }
        let config = model::parse_config(&config_bytes, config_digest.clone(), &store.location(&config_rel))?;
        if config.diff_ids.len() != entry.layers.len() {
            return Err(Error::invalid(
                &loc,
                format!(
                    "lists {} layers but the config has {} diff_ids",
                    entry.layers.len(),
                    config.diff_ids.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        let mut paths = Vec::new();
        for (i, raw) in entry.layers.iter().enumerate() {
            let rel = safe_rel(raw, &loc)?;
            let diff_id = &config.diff_ids[i];
            let Some((mut r, size)) = store.open(&rel)? else {
                return Err(Error::BlobMissing {
                    digest: diff_id.clone(),
                    location: format!("{} (manifest.json names `{raw}`)", store.root()),
                });
            };
            let mut head = Vec::with_capacity(512);
            (&mut r)
                .take(512)
                .read_to_end(&mut head)
                .map_err(|e| Error::io(store.location(&rel), e))?;
            let compression = Compression::sniff(&head).unwrap_or(Compression::None);
            let (digest, media_type) = match compression {
                // The same bytes: the blob digest is the diff_id (verified when read).
                Compression::None => (diff_id.clone(), model::DOCKER_LAYER_TAR),
                c => {
                    let (r, _) = store
                        .open(&rel)?
                        .ok_or_else(|| Error::invalid(&loc, "member vanished"))?;
                    let mut w = Sha256Writer::new();
                    std::io::copy(&mut { r }, &mut w).map_err(|e| Error::io(store.location(&rel), e))?;
                    let mt = if c == Compression::Gzip {
                        model::DOCKER_LAYER_GZIP
                    } else {
                        model::DOCKER_LAYER_ZSTD
                    };
                    (w.finish().0, mt)
                }
            };
            paths.push(rel);
            let mut desc = Descriptor::new(media_type, digest, size);
            desc.annotations.insert(MEMBER.into(), i.to_string());
            if compression == Compression::None {
                desc.annotations
                    .insert(super::blob::DIGEST_IS_DIFF_ID.into(), "true".into());
            }
            layers.push(desc);
        }
        let config_desc = Descriptor::new(model::DOCKER_CONFIG, config_digest, config_bytes.len() as u64);
        let synthesized = json!({
            "schemaVersion": 2,
            "mediaType": model::DOCKER_MANIFEST,
            "config": {"mediaType": config_desc.media_type, "size": config_desc.size, "digest": config_desc.digest},
            "layers": layers.iter().map(|l| json!({"mediaType": l.media_type, "size": l.size, "digest": l.digest})).collect::<Vec<_>>(),
        });
        let manifest = Manifest {
            digest: Digest::sha256_of(&serde_json::to_vec(&synthesized).unwrap_or_default()),
            media_type: model::DOCKER_MANIFEST.into(),
            config: config_desc,
            layers,
            platform: Some(config.platform.clone()),
            index: None,
        };
        Ok(Self {
            store,
            label,
            manifest,
            config,
            paths,
        })
    }
}

impl ImageSource for DockerArchiveSource {
    fn describe(&self) -> String {
        match self {
            DockerArchiveSource::Oci(s) => s.describe(),
            DockerArchiveSource::Classic(c) => c.label.clone(),
        }
    }
    fn is_local(&self) -> bool {
        true
    }
    async fn manifest(&self) -> Result<Manifest, Error> {
        match self {
            DockerArchiveSource::Oci(s) => s.manifest().await,
            DockerArchiveSource::Classic(c) => Ok(c.manifest.clone()),
        }
    }
    async fn manifests(&self) -> Result<Vec<Manifest>, Error> {
        match self {
            DockerArchiveSource::Oci(s) => s.manifests().await,
            DockerArchiveSource::Classic(c) => Ok(vec![c.manifest.clone()]),
        }
    }
    async fn config(&self, manifest: &Manifest) -> Result<ImageConfig, Error> {
        match self {
            DockerArchiveSource::Oci(s) => s.config(manifest).await,
            DockerArchiveSource::Classic(c) => Ok(c.config.clone()),
        }
    }
    async fn blob(&self, desc: &Descriptor) -> Result<BlobStream, Error> {
        match self {
            DockerArchiveSource::Oci(s) => s.blob(desc).await,
            DockerArchiveSource::Classic(c) => {
                let missing = || Error::BlobMissing {
                    digest: desc.digest.clone(),
                    location: c.store.root(),
                };
                let rel = desc
                    .annotations
                    .get(MEMBER)
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| c.paths.get(i))
                    .ok_or_else(missing)?;
                let (r, _) = c.store.open(rel)?.ok_or_else(missing)?;
                Ok(BlobStream::Local(r))
            }
        }
    }
}
