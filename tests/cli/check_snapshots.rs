//! Snapshots of `imgopt check`'s output on small, fixed cases: each output format of a failing
//! image budget, a passing one, a Dockerfile's checks, and the diagnostics of bad policies.
#![allow(clippy::unwrap_used)]

use crate::support::check_cases;

use check_cases::{DOCKERFILE, imgopt_in, layout, small, text, wasteful};

const POLICY: &str = "# budgets for the test image\n\
[image]\n\
max_compressed_bytes = \"1 MB\"\n\
max_layers = 1\n\
min_efficiency = 0.9\n\
max_reclaimable_bytes = \"10 kB\"\n\
max_package_cache_bytes = \"1 MiB\"\n\
non_root = true\n\
[baseline]\n\
max_growth_bytes = \"1 kB\"\n";

fn case() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &wasteful(None));
    std::fs::write(tmp.path().join("policy.toml"), POLICY).unwrap();
    (tmp, spec)
}

#[test]
fn failing_image_in_every_text_format() {
    let (tmp, spec) = case();
    layout(tmp.path(), "old", &small());
    for format in ["human", "markdown", "junit", "github"] {
        let out = imgopt_in(
            tmp.path(),
            &[
                "check",
                "--policy",
                "policy.toml",
                "--baseline",
                "oci:old",
                "--format",
                format,
                &spec,
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        insta::assert_snapshot!(format!("failing_image_{format}"), text(&out.stdout));
    }
}

#[test]
fn passing_image_human() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &small().user("app"));
    std::fs::write(tmp.path().join("policy.toml"), POLICY).unwrap();
    let out = imgopt_in(tmp.path(), &["check", "--policy", "policy.toml", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn dockerfile_human_and_github() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(
        tmp.path().join("policy.toml"),
        "[dockerfile]\nfail_on = \"warning\"\nallow = [\"DF101\"]\nmax_estimated_saving_bytes = 0\n\
         allowed_bases = [\"gcr.io/distroless/*\"]\n",
    )
    .unwrap();
    for format in ["human", "github"] {
        let out = imgopt_in(
            tmp.path(),
            &["check", "--policy", "policy.toml", "--format", format, "Dockerfile"],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        insta::assert_snapshot!(format!("dockerfile_{format}"), text(&out.stdout));
    }
}

#[test]
fn policy_diagnostics() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = layout(tmp.path(), "img", &small());
    std::fs::write(
        tmp.path().join("bad.toml"),
        "[image]\nmax_compresed_bytes = \"150 MB\"\nmax_layers = \"thirty\"\nmax_bytes = \"-1 MiB\"\n\
         min_efficiency = 1.5\n[dockerfile]\nfail_on = \"warn\"\ndeny = [\"DF9\"]\n[images]\n",
    )
    .unwrap();
    let out = imgopt_in(tmp.path(), &["check", "--policy", "bad.toml", &spec]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("policy_diagnostics", text(&out.stderr));
    std::fs::write(
        tmp.path().join(".dive-ci"),
        "rules:\n  lowestEfficency: 0.9\n  highestWastedBytes: 20 parsecs\n",
    )
    .unwrap();
    let out = imgopt_in(tmp.path(), &["check", "--dive-ci", ".dive-ci", &spec]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("dive_ci_diagnostics", text(&out.stderr));
}
