//! Estimated savings: a byte range, uncompressed and (where known) compressed, and the basis
//! the numbers rest on. Never shown without its basis.
//!
//! Owns: [`Estimate`], [`Basis`], the sourced heuristic ranges rules use ([`heuristics`]) and
//! the sum of several estimates ([`Total`]).
//! Does not: measure anything (the layers analysis produces `Measured` figures) or decide
//! which rule fires.

use std::fmt;

use serde::Serialize;

use crate::units::ByteSize;

/// What an estimate rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Sizes from the embedded, dated base-image catalog ([`crate::catalog`]).
    Catalog,
    /// A sourced range from public measurements ([`heuristics`]); depends on what is installed.
    Heuristic,
    /// Computed from the bytes involved (e.g. files in the build context).
    Exact,
    /// Measured on a built image.
    Measured,
}

impl Basis {
    /// Lower-case name, as in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Heuristic => "heuristic",
            Self::Exact => "exact",
            Self::Measured => "measured",
        }
    }
}

/// An estimated saving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Least saving, uncompressed (on disk).
    pub low_bytes: ByteSize,
    /// Greatest saving, uncompressed.
    pub high_bytes: ByteSize,
    /// Least saving, compressed (registry transfer), when known.
    pub compressed_low_bytes: Option<ByteSize>,
    /// Greatest saving, compressed, when known.
    pub compressed_high_bytes: Option<ByteSize>,
    /// Where the numbers come from.
    pub basis: Basis,
}

impl Estimate {
    /// An uncompressed range with unknown compressed figures.
    #[must_use]
    pub fn uncompressed(low: u64, high: u64, basis: Basis) -> Self {
        Self {
            low_bytes: ByteSize(low.min(high)),
            high_bytes: ByteSize(high.max(low)),
            compressed_low_bytes: None,
            compressed_high_bytes: None,
            basis,
        }
    }

    /// Adds a compressed range.
    #[must_use]
    pub fn with_compressed(mut self, low: u64, high: u64) -> Self {
        self.compressed_low_bytes = Some(ByteSize(low.min(high)));
        self.compressed_high_bytes = Some(ByteSize(high.max(low)));
        self
    }

    /// The exact number of bytes (low = high).
    #[must_use]
    pub fn exact(bytes: u64) -> Self {
        Self::uncompressed(bytes, bytes, Basis::Exact)
    }
}

fn range(f: &mut fmt::Formatter<'_>, low: ByteSize, high: ByteSize) -> fmt::Result {
    if low == high {
        write!(f, "{low}")
    } else {
        write!(f, "{low} – {high}")
    }
}

impl fmt::Display for Estimate {
    /// `10.0 MiB – 40.0 MiB uncompressed, 4.0 MiB – 9.0 MiB compressed (heuristic)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        range(f, self.low_bytes, self.high_bytes)?;
        f.write_str(" uncompressed")?;
        if let (Some(l), Some(h)) = (self.compressed_low_bytes, self.compressed_high_bytes) {
            f.write_str(", ")?;
            range(f, l, h)?;
            f.write_str(" compressed")?;
        }
        write!(f, " ({})", self.basis.as_str())
    }
}

/// The sum of several estimates: uncompressed totals always, compressed totals over the
/// findings that have them, and every basis involved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Total {
    /// Sum of the low ends, uncompressed.
    pub low_bytes: ByteSize,
    /// Sum of the high ends, uncompressed.
    pub high_bytes: ByteSize,
    /// Sum of the known compressed low ends (`None` when no finding has one).
    pub compressed_low_bytes: Option<ByteSize>,
    /// Sum of the known compressed high ends.
    pub compressed_high_bytes: Option<ByteSize>,
    /// The bases of the summed estimates, sorted.
    pub bases: Vec<Basis>,
    /// How many estimates were summed.
    pub count: usize,
}

impl Total {
    /// Adds one estimate.
    pub fn add(&mut self, e: &Estimate) {
        self.low_bytes.0 += e.low_bytes.0;
        self.high_bytes.0 += e.high_bytes.0;
        if let (Some(l), Some(h)) = (e.compressed_low_bytes, e.compressed_high_bytes) {
            self.compressed_low_bytes = Some(ByteSize(self.compressed_low_bytes.map_or(0, |x| x.0) + l.0));
            self.compressed_high_bytes = Some(ByteSize(self.compressed_high_bytes.map_or(0, |x| x.0) + h.0));
        }
        if !self.bases.contains(&e.basis) {
            self.bases.push(e.basis);
            self.bases.sort();
        }
        self.count += 1;
    }
}

impl fmt::Display for Total {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        range(f, self.low_bytes, self.high_bytes)?;
        f.write_str(" uncompressed")?;
        if let (Some(l), Some(h)) = (self.compressed_low_bytes, self.compressed_high_bytes) {
            f.write_str(" (")?;
            range(f, l, h)?;
            f.write_str(" compressed where known)")?;
        }
        let bases: Vec<&str> = self.bases.iter().map(|b| b.as_str()).collect();
        write!(f, "; basis: {}", bases.join(", "))
    }
}

/// One megabyte as the sources write it (10^6 bytes; Docker Hub and repo-info use decimal MB).
pub const MB: u64 = 1_000_000;

/// Sourced saving ranges for cache and package rules (uncompressed), each with the public
/// threads its numbers come from; they scale with the number of packages installed, so they
/// are ranges, not promises.
pub mod heuristics {
    use super::{Basis, Estimate, MB};

    /// `apt-get update` lists kept: ~10 MB (rocker-org/rocker#45; progrium/cedarish#13) to
    /// 40 MB with several sources (phusion/baseimage-docker#41 saw >80 MB in 2014).
    #[must_use]
    pub fn apt_lists() -> Estimate {
        Estimate::uncompressed(10 * MB, 40 * MB, Basis::Heuristic)
    }

    /// Recommended packages: none to ~40 MB (RPi-Distro/pi-gen#383).
    #[must_use]
    pub fn apt_recommends() -> Estimate {
        Estimate::uncompressed(0, 40 * MB, Basis::Heuristic)
    }

    /// apk index cache: 1–2 MB (resyst-it/docker-bind9#11 ~1.8 MB; NLnetLabs/routinator#262
    /// ~1.4 MB; govuk-pay/pay-adminusers#258 ~1 MB).
    #[must_use]
    pub fn apk_cache() -> Estimate {
        Estimate::uncompressed(MB, 2 * MB, Basis::Heuristic)
    }

    /// pip wheel/http cache: 10–17 MB (caronc/apprise#939) to 78 MB (robusta-dev/krr#334,
    /// 581 → 503 MB).
    #[must_use]
    pub fn pip_cache() -> Estimate {
        Estimate::uncompressed(10 * MB, 78 * MB, Basis::Heuristic)
    }

    /// npm/yarn/pnpm cache: 6 MB (mozilla/page-metadata-service#117) to 150 MB
    /// (maddevsio/maddevs#2543).
    #[must_use]
    pub fn js_cache() -> Estimate {
        Estimate::uncompressed(6 * MB, 150 * MB, Basis::Heuristic)
    }

    /// yum/dnf/zypper metadata and package cache: 18 MB (geerlingguy/docker-centos8-ansible#9,
    /// 395 → 377 MB) to 700 MB (ome/omero-server-docker#66, 2.34 → 1.63 GB).
    #[must_use]
    pub fn rpm_cache() -> Estimate {
        Estimate::uncompressed(18 * MB, 700 * MB, Basis::Heuristic)
    }

    /// Docs, man pages and locales of Debian packages: up to doc 11 MB + locale 34 MB + man
    /// 6.3 MB (balena-io-library/resin-rpi-raspbian#7); far less for a few packages.
    #[must_use]
    pub fn docs() -> Estimate {
        Estimate::uncompressed(0, 51_300_000, Basis::Heuristic)
    }

    /// A C toolchain (gcc, g++, make and headers) installed with apt: the golang:1.25-bookworm
    /// gcc/g++/make layer is 92.5 MB compressed, node:22's compilers and -dev libraries layer
    /// 211.7 MB (docker-library/repo-info, 2026-07/09); uncompressed derived at 2.6–2.8×
    /// (the ratio of repo-info's `local/` to `remote/` sizes).
    #[must_use]
    pub fn apt_toolchain() -> Estimate {
        derived(92_500_000, 211_700_000)
    }

    /// A C toolchain installed with apk: rust:1-alpine's musl-dev/gcc layer is 75.1 MB
    /// compressed (docker-library/repo-info, 2026-08); uncompressed derived at 2.6–2.8×.
    #[must_use]
    pub fn apk_toolchain() -> Estimate {
        derived(75_100_000, 75_100_000)
    }

    /// A JDK where a JRE would do: `eclipse-temurin:21-jdk` is 109 MB larger compressed than
    /// `21-jre` (docker-library/repo-info, `repos/eclipse-temurin/remote/21-jdk.md` and
    /// `21-jre.md`, 2026-09); distribution JDK packages are of the same order.
    #[must_use]
    pub fn jdk_over_jre() -> Estimate {
        derived(109 * MB, 109 * MB)
    }

    /// A heuristic estimate from compressed figures, uncompressed derived at 2.6–2.8×.
    #[must_use]
    pub fn derived(compressed_low: u64, compressed_high: u64) -> Estimate {
        Estimate::uncompressed(compressed_low * 26 / 10, compressed_high * 28 / 10, Basis::Heuristic)
            .with_compressed(compressed_low, compressed_high)
    }

    /// `useradd -u UID` without `-l`: lastlog grows to 292 bytes × (UID + 1) (the size of
    /// glibc's `struct lastlog` on Linux) and faillog to 32 bytes × (UID + 1); Docker stores
    /// these sparse files as real bytes (moby/moby#5419; jenkinsci/docker#1373).
    #[must_use]
    pub fn lastlog(uid: u64) -> Estimate {
        let n = uid.saturating_add(1);
        Estimate::uncompressed(n.saturating_mul(292), n.saturating_mul(292 + 32), Basis::Heuristic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_basis() {
        let e = Estimate::uncompressed(10 * MB, 40 * MB, Basis::Heuristic);
        assert_eq!(e.to_string(), "9.5 MiB – 38.1 MiB uncompressed (heuristic)");
        let e = Estimate::exact(2048).with_compressed(1024, 1024);
        assert_eq!(e.to_string(), "2.0 KiB uncompressed, 1.0 KiB compressed (exact)");
    }

    #[test]
    fn totals_sum_and_keep_bases() {
        let mut t = Total::default();
        t.add(&heuristics::apk_cache());
        t.add(&Estimate::exact(100).with_compressed(50, 60));
        assert_eq!(t.low_bytes, ByteSize(MB + 100));
        assert_eq!(t.high_bytes, ByteSize(2 * MB + 100));
        assert_eq!(t.compressed_low_bytes, Some(ByteSize(50)));
        assert_eq!(t.bases, vec![Basis::Heuristic, Basis::Exact]);
    }

    #[test]
    fn lastlog_grows_with_the_uid() {
        // 292-byte lastlog records: UID 999999 -> 292,000,000 bytes.
        assert_eq!(heuristics::lastlog(999_999).low_bytes, ByteSize(292_000_000));
    }
}
