//! Choosing one platform's manifest from an image index.
//!
//! Owns: parsing `os/arch[/variant]`, the host's default platform, matching (with the
//! normalisations containerd's `platforms` package applies: `x86_64` is `amd64`, `aarch64` is
//! `arm64`, `arm64` without a variant is `arm64/v8`, `arm` without one is `arm/v7`), and
//! skipping BuildKit attestation manifests (platform `unknown/unknown`, annotation
//! `vnd.docker.reference.type: attestation-manifest`). Does not: fetch anything.

use std::str::FromStr;

use super::{Descriptor, Error, Platform};

impl FromStr for Platform {
    type Err = Error;
    /// Parses `os/arch[/variant]` (`linux/arm64/v8`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || Error::Invalid {
            location: format!("platform `{s}`"),
            message: "a platform is os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8".into(),
        };
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        Ok(Platform {
            os: parts[0].to_ascii_lowercase(),
            architecture: normalize_arch(&parts[1].to_ascii_lowercase()).to_string(),
            variant: parts.get(2).map(|v| v.to_ascii_lowercase()),
        })
    }
}

fn normalize_arch(a: &str) -> &str {
    match a {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        other => other,
    }
}

/// The variant a platform implies when it states none.
fn default_variant(arch: &str) -> Option<&'static str> {
    match arch {
        "arm64" => Some("v8"),
        "arm" => Some("v7"),
        _ => None,
    }
}

/// The host's platform (`linux/<arch>`; images are Linux images even on other hosts).
#[must_use]
pub fn host() -> Platform {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    Platform {
        os: "linux".into(),
        architecture: arch.into(),
        variant: None,
    }
}

/// The platform [`select`] matched against, given what it returned: `None` when it took an
/// index's lone entry that names no platform.
#[must_use]
pub fn wanted(want: Option<&Platform>, chosen: Option<&Platform>) -> Option<Platform> {
    chosen.map(|_| want.cloned().unwrap_or_else(host))
}

/// Whether `have` satisfies `want` (a `want` without a variant accepts any variant).
#[must_use]
pub fn matches(want: &Platform, have: &Platform) -> bool {
    if want.os != have.os || normalize_arch(&want.architecture) != normalize_arch(&have.architecture) {
        return false;
    }
    match &want.variant {
        None => true,
        Some(v) => {
            let arch = normalize_arch(&have.architecture);
            have.variant.as_deref().or_else(|| default_variant(arch)) == Some(v.as_str())
        }
    }
}

/// Whether an index entry is an attestation (or otherwise not a runnable image).
#[must_use]
pub fn is_attestation(desc: &Descriptor, platform: Option<&Platform>) -> bool {
    desc.annotations
        .get("vnd.docker.reference.type")
        .is_some_and(|t| t == "attestation-manifest")
        || platform.is_some_and(|p| p.os == "unknown" || p.architecture == "unknown")
}

/// The runnable entries of an index (attestations removed), in index order.
#[must_use]
pub fn runnable(entries: Vec<(Descriptor, Option<Platform>)>) -> Vec<(Descriptor, Option<Platform>)> {
    entries
        .into_iter()
        .filter(|(d, p)| !is_attestation(d, p.as_ref()))
        .collect()
}

/// Picks the entry for `want` (the host's platform when `None`). A lone entry without a
/// platform is taken as is. The first match in index order wins.
pub fn select(
    entries: Vec<(Descriptor, Option<Platform>)>,
    want: Option<&Platform>,
    location: &str,
) -> Result<(Descriptor, Option<Platform>), Error> {
    let entries = runnable(entries);
    if entries.len() == 1 && entries[0].1.is_none() {
        return Ok(entries.into_iter().next().unwrap_or_else(|| unreachable!()));
    }
    let wanted = want.cloned().unwrap_or_else(host);
    let available: Vec<String> = entries
        .iter()
        .map(|(_, p)| {
            p.as_ref()
                .map_or_else(|| "unspecified".to_string(), ToString::to_string)
        })
        .collect();
    entries
        .into_iter()
        .find(|(_, p)| p.as_ref().is_some_and(|p| matches(&wanted, p)))
        .ok_or_else(|| Error::NoMatchingPlatform {
            location: location.to_string(),
            wanted: wanted.to_string(),
            available: if available.is_empty() {
                "none".into()
            } else {
                super::capped_list(available)
            },
        })
}

/// For an image without an index (or an index entry without a platform): `--platform` must
/// match the platform its config states, or it is [`Error::NoMatchingPlatform`], as for an
/// index.
pub fn check_single(want: &Platform, have: &Platform, location: &str) -> Result<(), Error> {
    if matches(want, have) {
        return Ok(());
    }
    Err(Error::NoMatchingPlatform {
        location: location.to_string(),
        wanted: want.to_string(),
        available: have.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_matches() {
        assert_eq!(p("linux/x86_64"), p("linux/amd64"));
        assert!(matches(&p("linux/arm64"), &p("linux/arm64/v8")));
        assert!(matches(
            &p("linux/arm64/v8"),
            &Platform {
                os: "linux".into(),
                architecture: "arm64".into(),
                variant: None
            }
        ));
        assert!(!matches(&p("linux/arm/v6"), &p("linux/arm/v7")));
        assert!(!matches(&p("linux/amd64"), &p("windows/amd64")));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//v8".parse::<Platform>().is_err());
    }

    #[test]
    fn selects_and_reports_choices() {
        let d = |n: u8| Descriptor::new("m", crate::digest::Digest::sha256_of(&[n]), 1);
        let e = vec![
            (d(1), Some(p("linux/amd64"))),
            (d(2), Some(p("linux/arm64/v8"))),
            (
                d(3),
                Some(Platform {
                    os: "unknown".into(),
                    architecture: "unknown".into(),
                    variant: None,
                }),
            ),
        ];
        assert_eq!(select(e.clone(), Some(&p("linux/arm64")), "x").unwrap().0, d(2));
        let err = select(e, Some(&p("linux/s390x")), "img").unwrap_err().to_string();
        assert!(
            err.contains("linux/amd64, linux/arm64/v8") && !err.contains("unknown"),
            "{err}"
        );
    }
}
