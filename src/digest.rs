//! Content digests (`algorithm:hex`), parsed once and never trusted from an image without a
//! check: [`Digest::parse`] validates the form, [`Sha256Writer`] computes the real value.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// SHA-256 (FIPS 180-4), computed by aws-lc-rs: its assembly uses the CPU's SHA extensions
/// where present, the fastest implementation in the dependency tree (it is there for rustls).
/// Verification of layers is nearly all hashing, so this is the hot path.
#[derive(Clone)]
pub struct Sha256(aws_lc_rs::digest::Context);

impl Sha256 {
    /// A fresh hasher.
    #[must_use]
    pub fn new() -> Self {
        Self(aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256))
    }

    /// Hashes `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The 32-byte digest.
    #[must_use]
    pub fn finish(self) -> [u8; 32] {
        let d = self.0.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// The digest as a [`Digest`].
    #[must_use]
    pub fn digest(self) -> Digest {
        Digest(format!("sha256:{}", hex::encode(self.finish())))
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

/// A validated content digest such as `sha256:2c26b46b…`. Only `sha256` (64 hex digits) and
/// `sha512` (128 hex digits) are accepted, in lower case, as the OCI image spec requires.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid digest: {reason}")]
pub struct ParseDigestError {
    /// The rejected text (digests are not secret).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Digest {
    /// Parses and validates `algorithm:hex`.
    pub fn parse(s: &str) -> Result<Self, ParseDigestError> {
        let err = |reason| ParseDigestError {
            // Digests come from images: keep the message one safe line (no terminal escapes).
            value: s
                .chars()
                .take(200)
                .map(|c| if c.is_control() { '?' } else { c })
                .collect(),
            reason,
        };
        let (algo, hex) = s.split_once(':').ok_or_else(|| err("missing `algorithm:`"))?;
        let want = match algo {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(err("unsupported algorithm (sha256 or sha512)")),
        };
        if hex.len() != want {
            return Err(err("wrong length"));
        }
        if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(err("not lower-case hex"));
        }
        Ok(Self(s.to_string()))
    }

    /// The SHA-256 digest of `bytes`.
    #[must_use]
    pub fn sha256_of(bytes: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(bytes);
        h.digest()
    }

    /// The algorithm part (`sha256`).
    #[must_use]
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(a, _)| a)
    }

    /// The hex part.
    #[must_use]
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, h)| h)
    }

    /// The full `algorithm:hex` text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for tables.
    #[must_use]
    pub fn short(&self) -> &str {
        let h = self.hex();
        &h[..h.len().min(12)]
    }
}

impl FromStr for Digest {
    type Err = ParseDigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = ParseDigestError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

/// A reader that hashes (SHA-256) and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; with `verify == false` it only counts bytes.
    pub fn new(inner: R, verify: bool) -> Self {
        Self {
            inner,
            hasher: verify.then(Sha256::new),
            count: 0,
        }
    }

    /// Bytes read so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of everything read, or `None` when hashing was off.
    #[must_use]
    pub fn finish(self) -> (Option<Digest>, u64) {
        (self.hasher.map(Sha256::digest), self.count)
    }

    /// Mutable access to the wrapped reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that hashes (SHA-256) everything written to it and discards it.
#[derive(Default)]
pub struct Sha256Writer {
    hasher: Sha256,
    count: u64,
}

impl Sha256Writer {
    /// A fresh hasher.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The digest and byte count of everything written.
    #[must_use]
    pub fn finish(self) -> (Digest, u64) {
        (self.hasher.digest(), self.count)
    }
}

impl Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.count += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_form() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&ok).unwrap().short(), "aaaaaaaaaaaa");
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("md5:{}", "a".repeat(64))).is_err());
        assert!(Digest::parse("../../etc/passwd").is_err());
    }

    #[test]
    fn agrees_with_an_independent_sha256() {
        use sha2::Digest as _;
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for n in [0, 1, 55, 56, 63, 64, 65, 4096, 299_999] {
            let want = hex::encode(sha2::Sha256::digest(&data[..n]));
            assert_eq!(Digest::sha256_of(&data[..n]).hex(), want, "{n} bytes");
            let mut w = Sha256Writer::new();
            for c in data[..n].chunks(777) {
                w.write_all(c).unwrap();
            }
            assert_eq!(w.finish().0.hex(), want, "{n} bytes in chunks");
        }
    }

    #[test]
    fn hashes_known_value() {
        // sha256("") is a well-known constant.
        assert_eq!(
            Digest::sha256_of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut r = HashingReader::new(&b"abc"[..], true);
        let mut sink = Vec::new();
        r.read_to_end(&mut sink).unwrap();
        let (d, n) = r.finish();
        assert_eq!(n, 3);
        assert_eq!(
            d.unwrap().hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
