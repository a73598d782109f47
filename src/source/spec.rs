//! What the user typed as IMAGE, and opening it.
//!
//! Owns: [`SourceSpec::parse`] (`oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
//! `docker-archive:FILE[:REPO:TAG]`, `docker://REF`, a plain path recognised by what it
//! contains, or a registry reference as Docker writes it), [`SourceOptions`], and
//! [`AnySource`], the closed set of sources dispatching by `match` (DESIGN.md 1.4).
//! Does not: read layers (see [`super::blob`]).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auth::{AuthFiles, Credentials};
use super::docker_archive::{self, DockerArchiveSource};
use super::oci_layout::OciLayoutSource;
use super::registry::RegistrySource;
use super::{BlobStream, Descriptor, Error, ImageConfig, ImageSource, Manifest, Platform, oci_archive};

/// Where an image comes from, as parsed from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A registry reference (`alpine`, `ghcr.io/o/r@sha256:...`).
    Registry(String),
    /// `oci:DIR[:TAG]`.
    OciLayout {
        /// The layout folder.
        dir: PathBuf,
        /// The tag (`org.opencontainers.image.ref.name`).
        tag: Option<String>,
    },
    /// `oci-archive:FILE[:TAG]`.
    OciArchive {
        /// The tar file.
        file: PathBuf,
        /// The tag.
        tag: Option<String>,
    },
    /// `docker-archive:FILE[:REPO:TAG]`.
    DockerArchive {
        /// The tar file.
        file: PathBuf,
        /// A `RepoTags` entry choosing one of several images.
        image: Option<String>,
    },
    /// A path given without a prefix; its contents decide the kind.
    Path(PathBuf),
}

/// How to open and read a source.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// `--platform`: which platform of an index (default: the host's).
    pub platform: Option<Platform>,
    /// `--all-platforms`: the caller reads every platform ([`ImageSource::manifests`]).
    pub all_platforms: bool,
    /// `--plain-http`: speak HTTP to every registry (loopback registries always do).
    pub plain_http: bool,
    /// `--insecure`: accept invalid TLS certificates.
    pub insecure: bool,
    /// `--username`/`--password-stdin`: overrides the credential stores.
    pub credentials: Option<Credentials>,
    /// The credential files consulted when `credentials` is `None`.
    pub auth_files: AuthFiles,
    /// `--no-verify` inverted: hash local blobs (network bytes are always hashed).
    pub verify: bool,
    /// Time allowed for connecting, and for a stalled read (no byte for this long).
    pub timeout: Duration,
    /// Attempts per registry request (first try included) for 5xx, 429 and resets.
    pub attempts: u32,
    /// First retry delay; doubled per attempt (a `Retry-After` header wins).
    pub backoff: Duration,
    /// The longest `Retry-After` honoured before giving up.
    pub max_retry_after: Duration,
    /// `--min-rate`: the slowest download accepted, in bytes per second. A blob's download
    /// deadline is `timeout` plus its size at this rate, retries and resumes included.
    pub min_rate: u64,
    /// `--max-time`: the longest a whole run may talk to a registry.
    pub max_time: Duration,
}

impl SourceOptions {
    /// The default `--min-rate`: 64 KiB/s.
    pub const DEFAULT_MIN_RATE: u64 = 64 << 10;
    /// The default `--max-time`: 2 hours.
    pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(2 * 3600);

    /// How long the download of a `size`-byte blob may take in all, retries and resumes
    /// included: `timeout` twice for each attempt (the answer, then a stall) and once more,
    /// plus the size at `min_rate`. A stalling registry thus gives up on its stall timeout
    /// first, and a trickling one (never quite stalled) on this deadline.
    #[must_use]
    pub fn blob_deadline(&self, size: u64) -> Duration {
        self.timeout
            .saturating_mul(self.attempts.saturating_mul(2).saturating_add(1))
            .saturating_add(Duration::from_secs(size / self.min_rate.max(1)))
    }
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            platform: None,
            all_platforms: false,
            plain_http: false,
            insecure: false,
            credentials: None,
            auth_files: AuthFiles::from_env(),
            verify: true,
            timeout: Duration::from_secs(30),
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
            min_rate: Self::DEFAULT_MIN_RATE,
            max_time: Self::DEFAULT_MAX_TIME,
        }
    }
}

fn split_tag(rest: &str) -> (PathBuf, Option<String>) {
    if Path::new(rest).exists() {
        return (PathBuf::from(rest), None);
    }
    match rest.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') && !p.is_empty() => (PathBuf::from(p), Some(t.to_string())),
        _ => (PathBuf::from(rest), None),
    }
}

impl SourceSpec {
    /// Parses IMAGE as the user typed it.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |m: &str| Error::BadReference {
            reference: s.to_string(),
            message: m.to_string(),
        };
        if s.trim().is_empty() {
            return Err(bad("empty image reference"));
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, tag) = split_tag(rest);
            return Ok(SourceSpec::OciLayout { dir, tag });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            let (file, tag) = split_tag(rest);
            return Ok(SourceSpec::OciArchive { file, tag });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            if Path::new(rest).exists() {
                return Ok(SourceSpec::DockerArchive {
                    file: rest.into(),
                    image: None,
                });
            }
            // FILE:REPO:TAG: the longest existing file prefix before a colon.
            for (i, _) in rest.match_indices(':') {
                if Path::new(&rest[..i]).is_file() {
                    return Ok(SourceSpec::DockerArchive {
                        file: rest[..i].into(),
                        image: Some(rest[i + 1..].to_string()),
                    });
                }
            }
            return Ok(SourceSpec::DockerArchive {
                file: rest.into(),
                image: None,
            });
        }
        if let Some(rest) = s.strip_prefix("docker://") {
            return Ok(SourceSpec::Registry(rest.to_string()));
        }
        if s.starts_with("docker-daemon:") || s.starts_with("containers-storage:") {
            return Err(bad(
                "daemon and containers-storage sources are not supported; use `docker save` or a registry",
            ));
        }
        let path = Path::new(s);
        if path.exists() {
            return Ok(SourceSpec::Path(path.to_path_buf()));
        }
        if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.ends_with(".tar") {
            return Err(Error::NotFound {
                reference: s.to_string(),
                message: "no such file or folder".into(),
            });
        }
        Ok(SourceSpec::Registry(s.to_string()))
    }
}

/// Every source imgopt reads, dispatching by `match`.
pub enum AnySource {
    /// An OCI layout (folder or oci-archive).
    OciLayout(OciLayoutSource),
    /// A docker-archive.
    DockerArchive(DockerArchiveSource),
    /// An image in a registry.
    Registry(Box<RegistrySource>),
}

/// Opens what `spec` names.
pub fn open(spec: &SourceSpec, opts: &SourceOptions) -> Result<AnySource, Error> {
    match spec {
        SourceSpec::OciLayout { dir, tag } => {
            Ok(AnySource::OciLayout(OciLayoutSource::open(dir, tag.as_deref(), opts)?))
        }
        SourceSpec::OciArchive { file, tag } => {
            Ok(AnySource::OciLayout(oci_archive::open(file, tag.as_deref(), opts)?))
        }
        SourceSpec::DockerArchive { file, image } => Ok(AnySource::DockerArchive(docker_archive::open(
            file,
            image.as_deref(),
            opts,
        )?)),
        SourceSpec::Path(p) => open_path(p, opts),
        SourceSpec::Registry(r) => Ok(AnySource::Registry(Box::new(RegistrySource::new(r, opts)?))),
    }
}

/// A path: a folder with `index.json` is an OCI layout; a tar with `manifest.json` is a
/// docker-archive (either layout), one with `index.json` an oci-archive.
fn open_path(p: &Path, opts: &SourceOptions) -> Result<AnySource, Error> {
    if p.is_dir() {
        if p.join("index.json").is_file() {
            return Ok(AnySource::OciLayout(OciLayoutSource::open(p, None, opts)?));
        }
        return Err(Error::invalid(
            p.display().to_string(),
            "folder is not an OCI image layout (no index.json)",
        ));
    }
    super::store::regular_file(p, &p.display().to_string())?;
    let mut head = [0u8; 512];
    let mut f = std::fs::File::open(p).map_err(|e| Error::io(p.display().to_string(), e))?;
    let n = f.read(&mut head).map_err(|e| Error::io(p.display().to_string(), e))?;
    if super::blob::Compression::sniff(&head[..n]) != Some(super::blob::Compression::None) {
        return Err(Error::invalid(
            p.display().to_string(),
            "not an image: expected an OCI layout folder, a docker-archive or an oci-archive tar",
        ));
    }
    let store = super::store::Store::tar(p)?;
    if store.exists("manifest.json") {
        return Ok(AnySource::DockerArchive(docker_archive::open(p, None, opts)?));
    }
    if store.exists("index.json") {
        return Ok(AnySource::OciLayout(oci_archive::open(p, None, opts)?));
    }
    Err(Error::invalid(
        p.display().to_string(),
        "tar file holds neither manifest.json (docker-archive) nor index.json (oci-archive)",
    ))
}

impl ImageSource for AnySource {
    fn describe(&self) -> String {
        match self {
            AnySource::OciLayout(s) => s.describe(),
            AnySource::DockerArchive(s) => s.describe(),
            AnySource::Registry(s) => s.describe(),
        }
    }
    fn is_local(&self) -> bool {
        match self {
            AnySource::OciLayout(s) => s.is_local(),
            AnySource::DockerArchive(s) => s.is_local(),
            AnySource::Registry(s) => s.is_local(),
        }
    }
    fn network_counts(&self) -> Option<super::registry::NetCounts> {
        match self {
            AnySource::OciLayout(s) => s.network_counts(),
            AnySource::DockerArchive(s) => s.network_counts(),
            AnySource::Registry(s) => ImageSource::network_counts(s.as_ref()),
        }
    }
    fn credential_source(&self) -> Option<&'static str> {
        match self {
            AnySource::OciLayout(s) => s.credential_source(),
            AnySource::DockerArchive(s) => s.credential_source(),
            AnySource::Registry(s) => s.credential_source(),
        }
    }
    fn limits(&self) -> Vec<crate::limits::LimitValue> {
        match self {
            AnySource::OciLayout(s) => s.limits(),
            AnySource::DockerArchive(s) => s.limits(),
            AnySource::Registry(s) => ImageSource::limits(s.as_ref()),
        }
    }
    fn limit_hits(&self) -> Vec<crate::limits::LimitHit> {
        match self {
            AnySource::OciLayout(s) => s.limit_hits(),
            AnySource::DockerArchive(s) => s.limit_hits(),
            AnySource::Registry(s) => ImageSource::limit_hits(s.as_ref()),
        }
    }
    async fn manifest(&self) -> Result<Manifest, Error> {
        match self {
            AnySource::OciLayout(s) => s.manifest().await,
            AnySource::DockerArchive(s) => s.manifest().await,
            AnySource::Registry(s) => s.manifest().await,
        }
    }
    async fn manifests(&self) -> Result<Vec<Manifest>, Error> {
        match self {
            AnySource::OciLayout(s) => s.manifests().await,
            AnySource::DockerArchive(s) => s.manifests().await,
            AnySource::Registry(s) => s.manifests().await,
        }
    }
    async fn config(&self, manifest: &Manifest) -> Result<ImageConfig, Error> {
        match self {
            AnySource::OciLayout(s) => s.config(manifest).await,
            AnySource::DockerArchive(s) => s.config(manifest).await,
            AnySource::Registry(s) => s.config(manifest).await,
        }
    }
    async fn blob(&self, desc: &Descriptor) -> Result<BlobStream, Error> {
        match self {
            AnySource::OciLayout(s) => s.blob(desc).await,
            AnySource::DockerArchive(s) => s.blob(desc).await,
            AnySource::Registry(s) => s.blob(desc).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixes() {
        assert_eq!(
            SourceSpec::parse("oci:/nonexistent/dir:v1").unwrap(),
            SourceSpec::OciLayout {
                dir: "/nonexistent/dir".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            SourceSpec::parse("oci:/nonexistent/dir").unwrap(),
            SourceSpec::OciLayout {
                dir: "/nonexistent/dir".into(),
                tag: None
            }
        );
        assert_eq!(
            SourceSpec::parse("alpine").unwrap(),
            SourceSpec::Registry("alpine".into())
        );
        assert_eq!(
            SourceSpec::parse("127.0.0.1:5000/app:1").unwrap(),
            SourceSpec::Registry("127.0.0.1:5000/app:1".into())
        );
        assert_eq!(
            SourceSpec::parse("docker://alpine").unwrap(),
            SourceSpec::Registry("alpine".into())
        );
        assert!(matches!(
            SourceSpec::parse("./missing.tar"),
            Err(Error::NotFound { .. })
        ));
        assert!(SourceSpec::parse("").is_err());
    }
}
