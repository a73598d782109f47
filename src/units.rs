//! Domain quantities as newtypes: byte sizes today; CPU and memory quantities live with the
//! planner that owns their Kubernetes parsing rules.
//!
//! Every report prints sizes through [`ByteSize`]'s `Display`, so `312.4 MiB` looks the same
//! in every table, diagnostic and Markdown comment.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A size in bytes. Parses `"150MiB"`, `"2GB"`, `"1.5 GiB"`, `"1048576"`; displays with binary
/// units (`1.5 MiB`). Serialises as a plain integer number of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ByteSize(pub u64);

/// Why a size string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseSizeError {
    /// The string was empty.
    #[error("empty size")]
    Empty,
    /// The number part was not a number.
    #[error("`{0}` is not a number")]
    Number(String),
    /// The unit is not one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (or K, M, G, T, Ki, Mi, Gi, Ti).
    #[error("unknown unit `{0}` (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)")]
    Unit(String),
    /// The value is negative or does not fit in 64 bits.
    #[error("size out of range")]
    Range,
}

impl ByteSize {
    /// One kibibyte.
    pub const KIB: u64 = 1024;
    /// One mebibyte.
    pub const MIB: u64 = 1024 * 1024;
    /// One gibibyte.
    pub const GIB: u64 = 1024 * 1024 * 1024;

    /// The size in bytes.
    #[must_use]
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// A size of `n` mebibytes.
    #[must_use]
    pub fn mib(n: u64) -> Self {
        Self(n * Self::MIB)
    }

    /// The size in mebibytes as a float, for ratios and display.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn as_mib_f64(self) -> f64 {
        self.0 as f64 / Self::MIB as f64
    }
}

impl From<u64> for ByteSize {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl FromStr for ByteSize {
    type Err = ParseSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseSizeError::Empty);
        }
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let unit = unit.trim();
        let mult: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "m" | "mb" => 1000 * 1000,
            "g" | "gb" => 1000 * 1000 * 1000,
            "t" | "tb" => 1000 * 1000 * 1000 * 1000,
            "ki" | "kib" => 1 << 10,
            "mi" | "mib" => 1 << 20,
            "gi" | "gib" => 1 << 30,
            "ti" | "tib" => 1 << 40,
            _ => return Err(ParseSizeError::Unit(unit.to_string())),
        };
        if num.is_empty() {
            return Err(ParseSizeError::Number(s.to_string()));
        }
        if let Ok(n) = num.parse::<u64>() {
            return n.checked_mul(mult).map(Self).ok_or(ParseSizeError::Range);
        }
        let f: f64 = num.parse().map_err(|_| ParseSizeError::Number(num.to_string()))?;
        #[allow(clippy::cast_precision_loss)]
        let v = f * mult as f64;
        if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
            return Err(ParseSizeError::Range);
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Self(v.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    /// Binary units with one decimal (`1.5 MiB`); plain bytes below 1 KiB (`512 B`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        #[allow(clippy::cast_precision_loss)]
        let mut v = self.0 as f64 / 1024.0;
        let mut i = 0;
        while v >= 1024.0 && i + 1 < UNITS.len() {
            v /= 1024.0;
            i += 1;
        }
        write!(f, "{v:.1} {}", UNITS[i])
    }
}

/// A signed byte difference as people read it: `+1.5 MiB`, `-512 B`, `0 B`.
#[must_use]
pub fn signed_bytes(delta: i128) -> String {
    let size = ByteSize(u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX));
    match delta.signum() {
        1 => format!("+{size}"),
        -1 => format!("-{size}"),
        _ => size.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_differences() {
        assert_eq!(signed_bytes(1536 * 1024), "+1.5 MiB");
        assert_eq!(signed_bytes(-512), "-512 B");
        assert_eq!(signed_bytes(0), "0 B");
        assert_eq!(signed_bytes(i128::MIN), "-16384.0 PiB");
    }

    #[test]
    fn parses_units() {
        let cases = [
            ("0", 0),
            ("1048576", 1_048_576),
            ("150MiB", 150 * 1024 * 1024),
            ("2GB", 2_000_000_000),
            ("1.5 GiB", 1_610_612_736),
            ("512Mi", 512 * 1024 * 1024),
            ("10k", 10_000),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<ByteSize>(), Ok(ByteSize(want)), "{s}");
        }
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!("".parse::<ByteSize>(), Err(ParseSizeError::Empty));
        assert!(matches!("12XB".parse::<ByteSize>(), Err(ParseSizeError::Unit(_))));
        assert!(matches!("MiB".parse::<ByteSize>(), Err(ParseSizeError::Number(_))));
        assert!(matches!("1.2.3MiB".parse::<ByteSize>(), Err(ParseSizeError::Number(_))));
        assert_eq!("99999999999TiB".parse::<ByteSize>(), Err(ParseSizeError::Range));
    }

    #[test]
    fn displays_binary_units() {
        assert_eq!(ByteSize(512).to_string(), "512 B");
        assert_eq!(ByteSize(1536).to_string(), "1.5 KiB");
        assert_eq!(ByteSize(312 * 1024 * 1024 + 400 * 1024).to_string(), "312.4 MiB");
        assert_eq!(ByteSize(3 * ByteSize::GIB).to_string(), "3.0 GiB");
    }
}
