//! Whiteout names: how a layer tar says "delete this" (OCI image spec `layer.md`, "Whiteouts").
//!
//! Owns: recognising `.wh.<name>` (delete `<name>` and everything below it from the lower
//! layers), `.wh..wh..opq` (opaque directory: hide everything the lower layers put below the
//! directory) and other `.wh..wh.` names (aufs bookkeeping such as `.wh..wh.plnk`, never part of
//! the filesystem). Does not: apply them (see `filetree`).

/// The whiteout prefix from the OCI image spec.
pub const PREFIX: &str = ".wh.";
/// The opaque-directory marker's file name.
pub const OPAQUE: &str = ".wh..wh..opq";
/// Names starting with this are aufs metadata, not files (the spec reserves them).
pub const META_PREFIX: &str = ".wh..wh.";

/// What one path component means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whiteout<'a> {
    /// An ordinary name.
    None,
    /// `.wh.<name>`: delete `<name>` (the borrowed part).
    Delete(&'a str),
    /// `.wh..wh..opq`: the containing directory is opaque.
    Opaque,
    /// `.wh..wh.<other>`: aufs metadata, ignored.
    Meta,
}

/// Classifies the last component of a path (a file name).
#[must_use]
pub fn classify(name: &str) -> Whiteout<'_> {
    if name == OPAQUE {
        Whiteout::Opaque
    } else if name.starts_with(META_PREFIX) {
        Whiteout::Meta
    } else if let Some(rest) = name.strip_prefix(PREFIX) {
        if rest.is_empty() {
            Whiteout::Meta
        } else {
            Whiteout::Delete(rest)
        }
    } else {
        Whiteout::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(classify("passwd"), Whiteout::None);
        assert_eq!(classify(".wh.build"), Whiteout::Delete("build"));
        assert_eq!(classify(".wh..hidden"), Whiteout::Delete(".hidden"));
        assert_eq!(classify(".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(classify(".wh..wh.plnk"), Whiteout::Meta);
        assert_eq!(classify(".wh."), Whiteout::Meta);
        assert_eq!(classify("x.wh.y"), Whiteout::None);
    }
}
