//! `--base REF`: which bottom layers of an image are its base image's, so base bytes and the
//! image's own bytes are reported apart (dive counts only layer 0 as base; anchors.md
//! section 2, consequence 3).
//!
//! Owns: the comparison. Layers are compared by diff_id (the digest of the uncompressed tar),
//! so a base recompressed differently still matches. Does not: fetch the base (the caller
//! reads its config through any `ImageSource`).

use crate::digest::Digest;
use crate::units::ByteSize;

use super::report::{BaseSplit, LayerReport};

/// Splits `layers` into the base's (the longest bottom run whose diff_ids equal the base's)
/// and the image's own.
#[must_use]
pub fn split(reference: &str, layers: &[LayerReport], base_diff_ids: &[Digest]) -> BaseSplit {
    let n = layers
        .iter()
        .zip(base_diff_ids)
        .take_while(|(l, b)| l.diff_id.as_ref() == Some(*b))
        .count();
    let sum =
        |ls: &[LayerReport], f: fn(&LayerReport) -> u64| ByteSize(super::filetree::saturating_sum(ls.iter().map(f)));
    let (base, own) = layers.split_at(n);
    BaseSplit {
        reference: reference.to_string(),
        layers: n,
        matches_fully: n == base_diff_ids.len() && n > 0,
        base_compressed_bytes: sum(base, |l| l.compressed_bytes.0),
        base_content_bytes: sum(base, |l| l.content_bytes.0),
        own_compressed_bytes: sum(own, |l| l.compressed_bytes.0),
        own_content_bytes: sum(own, |l| l.content_bytes.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(i: usize, diff: &Digest, stored: u64, content: u64) -> LayerReport {
        LayerReport {
            index: i,
            digest: diff.clone(),
            diff_id: Some(diff.clone()),
            media_type: String::new(),
            compression: "gzip".into(),
            compressed_bytes: ByteSize(stored),
            tar_bytes: ByteSize(content.saturating_add(1024)),
            content_bytes: ByteSize(content),
            entries: 1,
            files_added: 1,
            files_modified: 0,
            files_deleted: 0,
            created_by: String::new(),
            history_index: None,
            verified: true,
            wasted_bytes: ByteSize(0),
            made_waste_bytes: ByteSize(0),
            top_files: vec![],
            top_dirs: vec![],
        }
    }

    #[test]
    fn splits_on_the_common_bottom_run() {
        let d: Vec<Digest> = (0..4u8).map(|i| Digest::sha256_of(&[i])).collect();
        let layers = vec![
            layer(0, &d[0], 10, 100),
            layer(1, &d[1], 20, 200),
            layer(2, &d[2], 40, 400),
        ];
        let s = split("debian:bookworm", &layers, &d[..2]);
        assert_eq!((s.layers, s.matches_fully), (2, true));
        assert_eq!((s.base_compressed_bytes.0, s.base_content_bytes.0), (30, 300));
        assert_eq!((s.own_compressed_bytes.0, s.own_content_bytes.0), (40, 400));
        let s = split("other", &layers, &[d[0].clone(), d[3].clone()]);
        assert_eq!((s.layers, s.matches_fully), (1, false));
        let s = split("unrelated", &layers, &d[3..]);
        assert_eq!((s.layers, s.own_content_bytes.0), (0, 700));
    }
}
