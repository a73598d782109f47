//! The report's image budgets: `imgopt check`'s policy evaluated on the plan's images and the
//! `--dockerfile` files, with [`crate::check::eval`] (the same verdicts `imgopt check` gives).
//!
//! Owns: what an image of the plan can be checked on. An image read from a reference (`{ref:
//! ...}` or `--image NAME=REF`) has the whole layers analysis and its config, so every
//! `[image]` key is checked; an image the plan file gives as `layers:` has only its layer
//! sizes, so the keys that need its files (efficiency, waste, reclaimable bytes, package
//! caches, the user) are reported as not checked (`actual: null`, with a message saying why),
//! never as a silent pass on zeros. Does not: read images or policies, or render.

use serde_json::Value as Json;

use crate::check::{ImageFacts, Policy, TargetResult, eval};
use crate::layers::LayersReport;
use crate::plan::ImageLayers;

/// What is known of one image.
#[derive(Clone, Copy, Debug)]
pub enum Measured<'a> {
    /// Read from a reference: the layers analysis and the config's `User` (`None` when the
    /// config could not be read: then `non_root` is not checked).
    Read(&'a LayersReport, Option<&'a Option<String>>),
    /// Layer sizes only (the plan file's `layers:`).
    Sizes(&'a ImageLayers),
}

/// `[image]` keys that need the image's files or config.
const NEEDS_FILES: &[&str] = &[
    "image.min_efficiency",
    "image.max_wasted_bytes",
    "image.max_user_wasted_percent",
    "image.max_reclaimable_bytes",
    "image.max_reclaimable_percent",
    "image.max_package_cache_bytes",
    "image.non_root",
];

/// The `[image]` and `[baseline]` checks of one plan image, named `target` (no baseline: its
/// keys are reported as not checked, as `imgopt check` does without `--baseline`).
#[must_use]
pub fn check_image(policy: &Policy, target: &str, m: Measured<'_>) -> TargetResult {
    let (facts, blind, no_user) = match m {
        Measured::Read(r, user) => (ImageFacts::new(r, user.cloned().flatten()), &[][..], user.is_none()),
        Measured::Sizes(img) => {
            let tar: u64 = img.layers.iter().map(|l| l.size).fold(0, u64::saturating_add);
            (
                ImageFacts {
                    compressed_bytes: img
                        .layers
                        .iter()
                        .map(|l| l.compressed_size)
                        .fold(0, u64::saturating_add),
                    tar_bytes: tar,
                    layers: img.layers.len() as u64,
                    largest_layer: img
                        .layers
                        .iter()
                        .enumerate()
                        .map(|(i, l)| (i, l.size))
                        .max_by_key(|&(i, b)| (b, std::cmp::Reverse(i))),
                    efficiency: 1.0,
                    wasted_bytes: 0,
                    user_wasted_fraction: None,
                    reclaimable_bytes: 0,
                    content_bytes: tar,
                    package_cache_bytes: 0,
                    user: None,
                },
                NEEDS_FILES,
                true,
            )
        }
    };
    let mut r = eval::check_image(policy, target, &facts, None);
    for c in &mut r.checks {
        let why = if blind.contains(&c.id.as_str()) {
            Some(
                "not checked: the plan gives only this image's layer sizes (read it with --image NAME=REF or `ref:` to check its files)",
            )
        } else if c.id == "image.non_root" && no_user {
            Some("not checked: the image's config (its User) was not read")
        } else {
            None
        };
        if let Some(why) = why {
            c.actual = Json::Null;
            c.passed = true;
            c.message = why.to_string();
        }
    }
    r.passed = r.checks.iter().all(|c| c.passed);
    r
}

/// Whether a check was made (it has a measured value); a check that was not is shown as "not
/// checked", neither pass nor fail.
#[must_use]
pub fn was_checked(c: &crate::check::CheckResult) -> bool {
    !c.actual.is_null()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Files;
    use crate::plan::Layer;

    #[test]
    fn sizes_only_checks_sizes_and_says_what_it_could_not() {
        let text = "[image]\nmax_bytes = \"100 MiB\"\nmax_layers = 1\nmin_efficiency = 0.9\nnon_root = true\n";
        let mut files = Files::new();
        let id = files.add("p.toml", text);
        let policy = crate::check::policy::parse(&files, id, "p.toml", true).unwrap();
        let img = ImageLayers {
            layers: vec![
                Layer {
                    digest: "a".into(),
                    size: 80 << 20,
                    compressed_size: 30 << 20,
                },
                Layer {
                    digest: "b".into(),
                    size: 40 << 20,
                    compressed_size: 10 << 20,
                },
            ],
        };
        let r = check_image(&policy, "web", Measured::Sizes(&img));
        let by: std::collections::BTreeMap<&str, &crate::check::CheckResult> =
            r.checks.iter().map(|c| (c.id.as_str(), c)).collect();
        assert!(!by["image.max_bytes"].passed, "120 MiB is over 100 MiB");
        assert!(!by["image.max_layers"].passed);
        assert!(!was_checked(by["image.min_efficiency"]));
        assert!(!was_checked(by["image.non_root"]));
        assert!(by["image.non_root"].message.starts_with("not checked"));
        assert!(!r.passed);
    }
}
