//! `oci-archive:FILE[:TAG]`: an OCI image layout stored in a tar file (what `skopeo copy
//! ... oci-archive:` and `buildah push` write).
//!
//! Owns: opening the archive as a member index (`store::Store`) and handing it to the OCI layout
//! reader; members are read in place (seek to the member, bounded reader), never extracted.
//! Does not: anything layout-specific (see [`super::oci_layout`]).

use std::path::Path;

use super::Error;
use super::oci_layout::OciLayoutSource;
use super::spec::SourceOptions;
use super::store::Store;

/// Opens an oci-archive.
pub fn open(file: &Path, tag: Option<&str>, opts: &SourceOptions) -> Result<OciLayoutSource, Error> {
    let label = format!(
        "oci-archive:{}{}",
        file.display(),
        tag.map(|t| format!(":{t}")).unwrap_or_default()
    );
    super::store::regular_file(file, &label)?;
    OciLayoutSource::from_store(Store::tar(file)?, tag, label, opts)
}
