//! The JSON documents of an image (index, manifest, config), parsed leniently into imgopt's
//! types. Shared by every source; the registry source gets the same bytes over HTTP.
//!
//! Owns: media-type constants, JSON shapes, digest validation of every referenced digest (a
//! digest that is not `algorithm:hex` is rejected before it can become a path). Does not: read
//! bytes or verify them (callers verify with [`super::blob::read_small`]).
//!
//! Shapes follow the OCI image spec (`manifest.md`, `image-index.md`, `config.md`) and Docker's
//! image manifest v2 schema 2, which has the same field names.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Descriptor, Error, History, ImageConfig, Manifest, Platform};
use crate::digest::Digest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest v2 schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Uncompressed Docker layer (what docker-archives hold).
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// gzip Docker layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// zstd Docker layer.
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";

/// The largest JSON document (index, manifest, config) read into memory.
pub const MAX_JSON: u64 = 16 << 20;

/// Platform manifests an image index may list, in all (nested indexes included, after
/// attestations are dropped and repeated digests merged). Real indexes list a few dozen.
pub const MAX_INDEX_ENTRIES: usize = 1024;

/// Image indexes read to resolve one image (nested indexes included).
pub const MAX_INDEX_DOCS: usize = 64;

/// The entries of an index with repeated digests merged (the first one stays), or an error
/// past [`MAX_INDEX_ENTRIES`].
pub(crate) fn bounded_entries(entries: Vec<Entry>, location: &str) -> Result<Vec<Entry>, Error> {
    let mut seen = std::collections::BTreeSet::new();
    let out: Vec<Entry> = entries
        .into_iter()
        .filter(|(d, _)| seen.insert(d.digest.clone()))
        .collect();
    if out.len() > MAX_INDEX_ENTRIES {
        return Err(Error::over_limit(
            location,
            format!(
                "the image index lists {} manifests, more than the {MAX_INDEX_ENTRIES} allowed",
                out.len()
            ),
            crate::limits::Limit::IndexEntries,
            MAX_INDEX_ENTRIES.to_string(),
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawDescriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
pub(crate) struct RawPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDoc {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<RawDescriptor>>,
    #[serde(default)]
    config: Option<RawDescriptor>,
    #[serde(default)]
    layers: Option<Vec<RawDescriptor>>,
}

/// An index entry: the manifest descriptor and the platform it is for.
pub(crate) type Entry = (Descriptor, Option<Platform>);

/// A parsed index or manifest.
pub(crate) enum Doc {
    /// An index or manifest list.
    Index(Vec<Entry>),
    /// A single image manifest (digest and platform are the caller's).
    Manifest {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

impl RawPlatform {
    fn convert(self) -> Platform {
        Platform {
            os: self.os,
            architecture: self.architecture,
            variant: self.variant.filter(|v| !v.is_empty()),
        }
    }
}

pub(crate) fn descriptor(raw: RawDescriptor, default_mt: &str, location: &str) -> Result<Entry, Error> {
    let digest = Digest::parse(&raw.digest).map_err(|e| Error::invalid(location, format!("a descriptor names {e}")))?;
    let size = u64::try_from(raw.size)
        .map_err(|_| Error::invalid(location, format!("descriptor {digest} has a negative size")))?;
    Ok((
        Descriptor {
            media_type: raw.media_type.unwrap_or_else(|| default_mt.to_string()),
            digest,
            size,
            annotations: raw.annotations.unwrap_or_default(),
        },
        raw.platform.map(RawPlatform::convert),
    ))
}

/// Parses an index, a manifest list or an image manifest.
pub(crate) fn parse_doc(bytes: &[u8], location: &str) -> Result<Doc, Error> {
    let raw: RawDoc = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(
            location,
            format!("not a valid image index or manifest: it {}", super::json_error(&e)),
        )
    })?;
    if raw.schema_version == Some(1) {
        return Err(Error::invalid(
            location,
            "Docker schema 1 manifests are not supported (deprecated since 2017; re-push the image)",
        ));
    }
    let mt = raw.media_type.clone().unwrap_or_default();
    let is_index = mt == OCI_INDEX || mt == DOCKER_LIST || (mt.is_empty() && raw.manifests.is_some());
    if is_index {
        let entries = raw
            .manifests
            .unwrap_or_default()
            .into_iter()
            .map(|d| descriptor(d, OCI_MANIFEST, location))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Doc::Index(entries));
    }
    let Some(config) = raw.config else {
        return Err(Error::invalid(
            location,
            format!("manifest without a config (media type `{mt}`)"),
        ));
    };
    let docker = mt == DOCKER_MANIFEST;
    let (config, _) = descriptor(
        config,
        if docker {
            DOCKER_CONFIG
        } else {
            "application/vnd.oci.image.config.v1+json"
        },
        location,
    )?;
    let layers = raw
        .layers
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            descriptor(
                d,
                if docker {
                    DOCKER_LAYER_GZIP
                } else {
                    "application/vnd.oci.image.layer.v1.tar+gzip"
                },
                location,
            )
            .map(|e| e.0)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Doc::Manifest {
        media_type: if mt.is_empty() { OCI_MANIFEST.to_string() } else { mt },
        config,
        layers,
    })
}

/// Builds a [`Manifest`] from a parsed single-image document.
pub(crate) fn manifest_from(
    doc: Doc,
    digest: Digest,
    platform: Option<Platform>,
    location: &str,
) -> Result<Manifest, Error> {
    match doc {
        Doc::Manifest {
            media_type,
            config,
            layers,
        } => Ok(Manifest {
            digest,
            media_type,
            config,
            layers,
            platform,
            index: None,
        }),
        Doc::Index(_) => Err(Error::invalid(
            location,
            format!("{digest} is an index where an image manifest was expected"),
        )),
    }
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    config: Option<RawRunConfig>,
    #[serde(default)]
    rootfs: Option<RawRootfs>,
    #[serde(default)]
    history: Option<Vec<RawHistory>>,
}

#[derive(Deserialize)]
struct RawRunConfig {
    #[serde(rename = "User", default)]
    user: Option<String>,
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawRootfs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
struct RawHistory {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: Option<bool>,
    #[serde(default)]
    comment: Option<String>,
}

/// Parses a config blob whose bytes were already verified against `digest`.
pub(crate) fn parse_config(bytes: &[u8], digest: Digest, location: &str) -> Result<ImageConfig, Error> {
    let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(
            location,
            format!(
                "config {digest} is not a valid image config: it {}",
                super::json_error(&e)
            ),
        )
    })?;
    let diff_ids = raw
        .rootfs
        .map(|r| r.diff_ids)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            Digest::parse(d).map_err(|e| Error::invalid(location, format!("config {digest}: rootfs.diff_ids has {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let history = raw
        .history
        .unwrap_or_default()
        .into_iter()
        .map(|h| History {
            created_by: h.created_by.unwrap_or_default(),
            empty_layer: h.empty_layer.unwrap_or(false),
            created: h.created,
            comment: h.comment,
        })
        .collect();
    let (user, env) = raw.config.map_or((None, Vec::new()), |c| {
        (c.user.filter(|u| !u.is_empty()), c.env.unwrap_or_default())
    });
    Ok(ImageConfig {
        digest,
        diff_ids,
        history,
        platform: Platform {
            os: raw.os,
            architecture: raw.architecture,
            variant: raw.variant.filter(|v| !v.is_empty()),
        },
        user,
        env,
    })
}

/// Whether a media type names an index or manifest list.
pub(crate) fn is_index_type(mt: &str) -> bool {
    mt == OCI_INDEX || mt == DOCKER_LIST
}

#[cfg(test)]
mod proptests {
    //! The manifest/index reader on arbitrary and mutated documents: never a panic, errors are
    //! one safe line, and generated indexes read back exactly (repeats merged, bounded).
    use super::*;
    use proptest::prelude::*;

    const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},
"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":3}]}"#;

    fn one_safe_line(e: &Error) -> bool {
        !e.to_string().chars().any(char::is_control)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Err(e) = parse_doc(&bytes, "doc") {
                prop_assert!(one_safe_line(&e));
            }
            if let Err(e) = parse_config(&bytes, Digest::sha256_of(&bytes), "cfg") {
                prop_assert!(one_safe_line(&e));
            }
        }

        #[test]
        fn mutated_manifests_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut b = MANIFEST.as_bytes().to_vec();
            for (at, v) in edits {
                let i = at % b.len();
                b[i] = v;
            }
            match parse_doc(&b, "doc") {
                Ok(Doc::Manifest { layers, .. }) => prop_assert!(layers.len() <= 1),
                Ok(Doc::Index(_)) => {}
                Err(e) => prop_assert!(one_safe_line(&e)),
            }
        }

        #[test]
        fn generated_indexes_read_back(
            entries in proptest::collection::vec((0u8..20, 0i64..1_000_000, "[a-z\u{1b}]{1,8}", "[a-z0-9]{1,8}"), 0..60)
        ) {
            let manifests: Vec<serde_json::Value> = entries.iter().map(|(n, size, os, arch)| serde_json::json!({
                "mediaType": OCI_MANIFEST, "digest": Digest::sha256_of(&[*n]).to_string(), "size": size,
                "platform": {"os": os, "architecture": arch}
            })).collect();
            let doc = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})).unwrap();
            let Doc::Index(read) = parse_doc(&doc, "idx").unwrap() else { panic!("not an index") };
            prop_assert_eq!(read.len(), entries.len());
            for ((d, p), (n, size, os, arch)) in read.iter().zip(&entries) {
                prop_assert_eq!(&d.digest, &Digest::sha256_of(&[*n]));
                prop_assert_eq!(d.size, u64::try_from(*size).unwrap());
                let p = p.as_ref().unwrap();
                prop_assert_eq!((&p.os, &p.architecture), (os, arch));
            }
            let unique: std::collections::BTreeSet<u8> = entries.iter().map(|e| e.0).collect();
            let merged = bounded_entries(read, "idx").unwrap();
            prop_assert_eq!(merged.len(), unique.len());
        }
    }

    #[test]
    fn too_many_entries_is_an_error() {
        let many: Vec<Entry> = (0..=MAX_INDEX_ENTRIES)
            .map(|i| {
                (
                    Descriptor::new(OCI_MANIFEST, Digest::sha256_of(&i.to_le_bytes()), 1),
                    None,
                )
            })
            .collect();
        let err = bounded_entries(many, "idx").unwrap_err().to_string();
        assert!(err.contains("more than the 1024 allowed"), "{err}");
    }
}
