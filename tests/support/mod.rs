//! Helpers shared by the integration tests. Each test binary (`tests/*/main.rs`) declares
//! `mod support;` once; its files `use crate::support;`.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;

/// Whether CI demands the corpus and fixtures (`IMGOPT_REQUIRE_CORPUS=1`).
pub fn required() -> bool {
    std::env::var("IMGOPT_REQUIRE_CORPUS").is_ok_and(|v| v == "1")
}

/// Says loudly that `what` is missing and returns `None`, or panics when CI requires it.
pub fn missing<T>(what: &str) -> Option<T> {
    assert!(!required(), "IMGOPT_REQUIRE_CORPUS=1 but {what} is missing");
    eprintln!("\n*** SKIPPED: {what} is missing; set it up (scripts/test.sh does) to run this test ***\n");
    None
}

/// The shared folder beside the repo (`../shared`, or `IMGOPT_SHARED`).
pub fn shared_dir() -> Option<PathBuf> {
    let p = std::env::var_os("IMGOPT_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    if p.is_dir() {
        Some(p)
    } else {
        missing("../shared (IMGOPT_SHARED)")
    }
}

/// The Dockerfile corpus (`IMGOPT_CORPUS`, default `../shared/corpus/dockerfiles`).
pub fn corpus_dir() -> Option<PathBuf> {
    let p = std::env::var_os("IMGOPT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dockerfiles"),
        PathBuf::from,
    );
    if p.is_dir() {
        Some(p)
    } else {
        missing(&format!("the Dockerfile corpus at {}", p.display()))
    }
}

/// The fixture images built by `make-images.sh` (`IMGOPT_FIXTURES`).
pub fn fixtures_dir() -> Option<PathBuf> {
    let p = std::env::var_os("IMGOPT_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/imgopt-fixtures")));
    match p {
        Some(p) if p.join("images.tsv").is_file() => Some(p),
        _ => missing("the fixture images (IMGOPT_FIXTURES, built by make-images.sh)"),
    }
}

/// The imgopt binary built for this test run.
pub fn imgopt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_imgopt"))
}

pub mod check_cases;
pub mod hostile;
pub mod hostile_tar;
pub mod image_builder;
pub mod many_files;
pub mod plan_files;
pub mod run;
pub mod standins;

#[allow(unused_imports)] // not every test binary runs the binary
pub use run::{Run, imgopt};

/// The path of an external tool on `PATH`, or a loud skip.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .or_else(|| missing(&format!("the `{name}` program")))
}

pub mod fault_proxy;

/// The anonymous test registry (`IMGOPT_REGISTRY`, `host:port`) with every fixture pushed as
/// `imgopt/<name>:latest`, or a loud skip.
pub fn registry() -> Option<String> {
    match std::env::var("IMGOPT_REGISTRY") {
        Ok(r) if !r.is_empty() => Some(r),
        _ => missing("the test registry (IMGOPT_REGISTRY; scripts/test.sh starts it)"),
    }
}

/// The htpasswd test registry (`IMGOPT_REGISTRY_AUTH`) with its user and password, or a loud
/// skip.
pub fn auth_registry() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("IMGOPT_REGISTRY_AUTH"),
        get("IMGOPT_REGISTRY_USER"),
        get("IMGOPT_REGISTRY_PASS"),
    ) {
        (Some(r), Some(u), Some(p)) => Some((r, u, p)),
        _ => missing("the htpasswd test registry (IMGOPT_REGISTRY_AUTH/_USER/_PASS; scripts/test.sh starts it)"),
    }
}
