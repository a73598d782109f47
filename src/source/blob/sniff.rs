//! Compression sniffing: what a layer's media type says, and what its first bytes are.
//!
//! gzip (`1f 8b`, RFC 1952 section 2.3.1), zstd (`28 b5 2f fd`, or a skippable frame first;
//! RFC 8878 section 3.1.1) or a tar header (`ustar` at offset 257, or a valid v7 checksum;
//! POSIX `ustar` header layout). eStargz layers are gzip streams and read as such.

use serde::Serialize;

use super::super::Error;

/// How a layer blob is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (also eStargz).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// `tar`, `gzip` or `zstd`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// What a layer media type says about compression: `Ok` for the OCI and Docker layer
    /// types (including `nondistributable` and `foreign` ones), [`Error::UnsupportedCompression`]
    /// for anything else.
    pub fn from_media_type(media_type: &str) -> Result<Self, Error> {
        let mt = media_type.trim();
        if mt.ends_with("+gzip") || mt.ends_with(".gzip") {
            Ok(Compression::Gzip)
        } else if mt.ends_with("+zstd") || mt.ends_with(".zstd") {
            Ok(Compression::Zstd)
        } else if mt.ends_with(".tar") || mt.ends_with("/tar") || mt.ends_with("layer.v1.tar") {
            Ok(Compression::None)
        } else {
            Err(Error::UnsupportedCompression {
                media_type: media_type.to_string(),
            })
        }
    }

    /// Compression recognised from a blob's first bytes (up to 512), or `None` when the bytes
    /// are none of gzip, zstd or tar.
    #[must_use]
    pub fn sniff(prefix: &[u8]) -> Option<Self> {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            return Some(Compression::Gzip);
        }
        if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Some(Compression::Zstd);
        }
        // A zstd skippable frame (magic 0x184D2A50..=0x184D2A5F, little-endian) may come first.
        if prefix.len() >= 4 && prefix[0] & 0xf0 == 0x50 && prefix[1..4] == [0x2a, 0x4d, 0x18] {
            return Some(Compression::Zstd);
        }
        if prefix.len() >= 262 && &prefix[257..262] == b"ustar" {
            return Some(Compression::None);
        }
        if prefix.len() >= 512 {
            if prefix[..512].iter().all(|&b| b == 0) {
                return Some(Compression::None); // an empty archive: end-of-archive blocks only
            }
            if tar_checksum_ok(&prefix[..512]) {
                return Some(Compression::None);
            }
        }
        None
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A v7/ustar header checksum: the octal field at 148..156 equals the byte sum with that field
/// read as spaces.
fn tar_checksum_ok(h: &[u8]) -> bool {
    let field = &h[148..156];
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect::<String>()
        .trim()
        .to_string();
    let Ok(want) = u32::from_str_radix(&text, 8) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) })
        .sum();
    sum == want
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+gzip").unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar.gzip").unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd").unwrap(),
            Compression::Zstd
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar").unwrap(),
            Compression::None
        );
        assert_eq!(
            Compression::from_media_type("application/vnd.docker.image.rootfs.diff.tar").unwrap(),
            Compression::None
        );
        assert!(matches!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+lz4"),
            Err(Error::UnsupportedCompression { .. })
        ));
    }

    #[test]
    fn sniffs_magic() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Some(Compression::Gzip));
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::sniff(&[0x5e, 0x2a, 0x4d, 0x18, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(&[0u8; 1024]), Some(Compression::None));
        assert_eq!(Compression::sniff(b"PK\x03\x04 not a layer"), None);
        // A real ustar header from the tar crate.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_cksum();
        b.append_data(&mut h, "a", &b"x"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        assert_eq!(Compression::sniff(&bytes[..512]), Some(Compression::None));
        let mut v7 = bytes[..512].to_vec();
        v7[257..263].fill(0); // no ustar magic: the checksum alone must do
        let mut hdr = tar::Header::new_old();
        hdr.as_mut_bytes().copy_from_slice(&v7);
        hdr.set_cksum();
        assert_eq!(Compression::sniff(hdr.as_bytes()), Some(Compression::None));
    }
}
