//! `oci:DIR[:TAG]`: an OCI image layout folder (image-spec `image-layout.md`), and the same
//! layout inside a tar file (`oci-archive:`, and Docker 25+ `docker save` output).
//!
//! Owns: reading `index.json`, choosing the image by tag (`org.opencontainers.image.ref.name`,
//! or containerd's `io.containerd.image.name`), following nested indexes, platform selection,
//! and handing out blobs from `blobs/<alg>/<hex>`. Manifests, indexes and configs are always
//! verified against their digests (they are small). Does not: decompress or verify layers
//! (see [`super::blob`]).

use std::path::Path;

use super::blob::read_small;
use super::model::{self, Doc, Entry, MAX_JSON};
use super::platform;
use super::spec::SourceOptions;
use super::store::Store;
use super::{BlobStream, Descriptor, Error, ImageConfig, ImageSource, IndexChoice, Manifest, Platform};

/// The annotation naming a tag in an OCI layout.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's (and Docker 25+'s) full image name annotation.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Nested indexes followed at most this deep.
pub const MAX_DEPTH: usize = 4;

/// An OCI image layout, in a folder or a tar file.
pub struct OciLayoutSource {
    store: Store,
    tag: Option<String>,
    label: String,
    platform: Option<Platform>,
}

impl OciLayoutSource {
    /// Opens the layout folder `dir`, optionally choosing the image tagged `tag`.
    pub fn open(dir: &Path, tag: Option<&str>, opts: &SourceOptions) -> Result<Self, Error> {
        let label = format!(
            "oci:{}{}",
            dir.display(),
            tag.map(|t| format!(":{t}")).unwrap_or_default()
        );
        if !dir.is_dir() {
            return Err(Error::NotFound {
                reference: label,
                message: "no such folder".into(),
            });
        }
        Self::from_store(Store::dir(dir), tag, label, opts)
    }

    pub(crate) fn from_store(
        store: Store,
        tag: Option<&str>,
        label: String,
        opts: &SourceOptions,
    ) -> Result<Self, Error> {
        if !store.exists("index.json") {
            return Err(Error::invalid(
                store.root(),
                "not an OCI image layout (no index.json; `oci-layout` and `index.json` are required)",
            ));
        }
        Ok(Self {
            store,
            tag: tag.map(str::to_string),
            label,
            platform: opts.platform.clone(),
        })
    }

    fn read_blob_json(&self, desc: &Descriptor) -> Result<Vec<u8>, Error> {
        let rel = blob_path(&desc.digest);
        let loc = self.store.location(&rel);
        let Some((r, _)) = self.store.open(&rel)? else {
            return Err(Error::BlobMissing {
                digest: desc.digest.clone(),
                location: self.store.root(),
            });
        };
        read_small(r, desc, MAX_JSON, &loc)
    }

    /// The index.json entries for the chosen tag.
    fn top_entries(&self) -> Result<Vec<Entry>, Error> {
        let loc = self.store.location("index.json");
        let bytes = self
            .store
            .read("index.json", MAX_JSON, crate::limits::Limit::LocalJson)?
            .unwrap_or_default();
        let Doc::Index(entries) = model::parse_doc(&bytes, &loc)? else {
            return Err(Error::invalid(loc, "index.json is not an image index"));
        };
        let entries = platform::runnable(entries);
        if entries.is_empty() {
            return Err(Error::invalid(loc, "index.json lists no images"));
        }
        let name_of = |d: &Descriptor| d.annotations.get(REF_NAME).cloned();
        match &self.tag {
            Some(tag) => {
                let chosen: Vec<Entry> = entries
                    .iter()
                    .filter(|(d, _)| {
                        name_of(d).as_deref() == Some(tag.as_str())
                            || d.annotations.get(CONTAINERD_NAME).is_some_and(|n| name_matches(n, tag))
                    })
                    .cloned()
                    .collect();
                if chosen.is_empty() {
                    return Err(Error::NotFound {
                        reference: self.label.clone(),
                        message: format!("index.json has no image tagged `{tag}` (tags: {})", tags(&entries)),
                    });
                }
                Ok(chosen)
            }
            None => {
                let mut names: Vec<Option<String>> = entries.iter().map(|(d, _)| name_of(d)).collect();
                names.sort();
                names.dedup();
                let all_platformed = entries.iter().all(|(_, p)| p.is_some());
                if names.len() > 1 && !all_platformed {
                    return Err(Error::invalid(
                        loc,
                        format!(
                            "index.json holds several images; name one with :TAG (tags: {})",
                            tags(&entries)
                        ),
                    ));
                }
                Ok(entries)
            }
        }
    }

    /// Every platform manifest entry under the chosen tag (nested indexes followed, at most
    /// [`MAX_DEPTH`] deep and [`model::MAX_INDEX_DOCS`] indexes in all, each read once;
    /// repeated manifests merged; at most [`model::MAX_INDEX_ENTRIES`] manifests).
    fn flatten(&self, entries: Vec<Entry>) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::new();
        let mut visited = std::collections::BTreeSet::new();
        self.flatten_into(entries, 0, &mut visited, &mut out)?;
        model::bounded_entries(out, &self.store.root())
    }

    fn flatten_into(
        &self,
        entries: Vec<Entry>,
        depth: usize,
        visited: &mut std::collections::BTreeSet<crate::digest::Digest>,
        out: &mut Vec<Entry>,
    ) -> Result<(), Error> {
        for (desc, plat) in entries {
            if out.len() > model::MAX_INDEX_ENTRIES {
                break; // bounded_entries reports it
            }
            if !model::is_index_type(&desc.media_type) {
                out.push((desc, plat));
                continue;
            }
            if depth >= MAX_DEPTH {
                return Err(Error::over_limit(
                    self.store.root(),
                    format!("image indexes nested more than {MAX_DEPTH} deep"),
                    crate::limits::Limit::IndexDepth,
                    MAX_DEPTH.to_string(),
                ));
            }
            if !visited.insert(desc.digest.clone()) {
                continue; // read once (a cycle, or an index listed twice)
            }
            if visited.len() > model::MAX_INDEX_DOCS {
                return Err(Error::over_limit(
                    self.store.root(),
                    format!("more than {} image indexes to resolve one image", model::MAX_INDEX_DOCS),
                    crate::limits::Limit::IndexCount,
                    model::MAX_INDEX_DOCS.to_string(),
                ));
            }
            let bytes = self.read_blob_json(&desc)?;
            let loc = self.store.location(&blob_path(&desc.digest));
            match model::parse_doc(&bytes, &loc)? {
                Doc::Index(children) => self.flatten_into(platform::runnable(children), depth + 1, visited, out)?,
                Doc::Manifest { .. } => out.push((desc, plat)),
            }
        }
        Ok(())
    }

    fn load_manifest(&self, desc: &Descriptor, plat: Option<Platform>) -> Result<Manifest, Error> {
        let bytes = self.read_blob_json(desc)?;
        let loc = self.store.location(&blob_path(&desc.digest));
        let doc = model::parse_doc(&bytes, &loc)?;
        model::manifest_from(doc, desc.digest.clone(), plat, &loc)
    }

    /// The platform manifests under the chosen tag, and the digest of the image index they
    /// came from when `index.json` points at one (as `docker save` and BuildKit write it).
    fn platform_entries(&self) -> Result<(Vec<Entry>, Option<crate::digest::Digest>), Error> {
        let top = self.top_entries()?;
        let nested = match top.as_slice() {
            [(d, _)] if model::is_index_type(&d.media_type) => Some(d.digest.clone()),
            _ => None,
        };
        Ok((self.flatten(top)?, nested))
    }

    fn manifest_sync(&self) -> Result<Manifest, Error> {
        let (entries, digest) = self.platform_entries()?;
        let n = entries.len();
        let (desc, plat) = platform::select(entries, self.platform.as_ref(), &self.label)?;
        let wanted = platform::wanted(self.platform.as_ref(), plat.as_ref());
        let single = plat.is_none();
        let mut m = self.load_manifest(&desc, plat)?;
        if let (true, Some(want)) = (single, &self.platform) {
            // No platform in the index: `--platform` must match the config's.
            platform::check_single(want, &self.config_sync(&m)?.platform, &self.label)?;
        }
        m.index = Some(IndexChoice {
            digest,
            entries: n,
            wanted,
        });
        Ok(m)
    }

    fn manifests_sync(&self) -> Result<Vec<Manifest>, Error> {
        let (entries, digest) = self.platform_entries()?;
        let n = entries.len();
        entries
            .into_iter()
            .map(|(d, p)| {
                let mut m = self.load_manifest(&d, p)?;
                m.index = Some(IndexChoice {
                    digest: digest.clone(),
                    entries: n,
                    wanted: None,
                });
                Ok(m)
            })
            .collect()
    }

    fn config_sync(&self, manifest: &Manifest) -> Result<ImageConfig, Error> {
        let bytes = self.read_blob_json(&manifest.config)?;
        model::parse_config(
            &bytes,
            manifest.config.digest.clone(),
            &self.store.location(&blob_path(&manifest.config.digest)),
        )
    }

    fn blob_sync(&self, desc: &Descriptor) -> Result<BlobStream, Error> {
        match self.store.open(&blob_path(&desc.digest))? {
            Some((r, _)) => Ok(BlobStream::Local(r)),
            None => Err(Error::BlobMissing {
                digest: desc.digest.clone(),
                location: self.store.root(),
            }),
        }
    }
}

/// Whether containerd's full image name `name` (`docker.io/library/app:1`) is what the user
/// wrote: the same name up to Docker's implied `docker.io/` and `library/`, or just its tag.
fn name_matches(name: &str, want: &str) -> bool {
    let norm = |s: &str| {
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        s.strip_prefix("library/").unwrap_or(s).to_string()
    };
    norm(name) == norm(want) || (!want.contains(['/', ':']) && name.rsplit_once(':').is_some_and(|(_, t)| t == want))
}

fn tags(entries: &[Entry]) -> String {
    let mut t: Vec<String> = entries
        .iter()
        .filter_map(|(d, _)| d.annotations.get(REF_NAME).cloned())
        .collect();
    t.sort();
    t.dedup();
    if t.is_empty() {
        "none".into()
    } else {
        super::capped_list(t)
    }
}

/// `blobs/<alg>/<hex>` for a (validated) digest.
pub(crate) fn blob_path(d: &crate::digest::Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

impl ImageSource for OciLayoutSource {
    fn describe(&self) -> String {
        self.label.clone()
    }
    fn is_local(&self) -> bool {
        true
    }
    async fn manifest(&self) -> Result<Manifest, Error> {
        self.manifest_sync()
    }
    async fn manifests(&self) -> Result<Vec<Manifest>, Error> {
        self.manifests_sync()
    }
    async fn config(&self, manifest: &Manifest) -> Result<ImageConfig, Error> {
        self.config_sync(manifest)
    }
    async fn blob(&self, desc: &Descriptor) -> Result<BlobStream, Error> {
        self.blob_sync(desc)
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn containerd_names_match_as_docker_writes_them() {
        assert!(name_matches("docker.io/library/app:1.0", "app:1.0"));
        assert!(name_matches("docker.io/library/app:1.0", "library/app:1.0"));
        assert!(name_matches("docker.io/library/app:1.0", "1.0"));
        assert!(name_matches("ghcr.io/o/app:2", "ghcr.io/o/app:2"));
        assert!(!name_matches("docker.io/library/app:1.0", "other:1.0"));
        assert!(!name_matches("docker.io/library/app:1.0", "app:2.0"));
    }
}
