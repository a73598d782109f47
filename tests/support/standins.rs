//! The Debian stand-in base images (`scripts/standins.sh`, served by a loopback registry that
//! buildah uses as its docker.io and gcr.io mirror) and the lock that keeps buildah builds one
//! at a time: they share buildah's storage and two cores.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The stand-ins' registries.conf when buildah and the stand-ins are here, or a loud skip
/// (a failure under `IMGOPT_REQUIRE_CORPUS=1`).
pub fn registries_conf() -> Option<PathBuf> {
    super::tool("buildah")?;
    match std::env::var_os("IMGOPT_STANDIN_REGISTRIES_CONF").map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ => super::missing(
            "the stand-in base images (IMGOPT_STANDIN_REGISTRIES_CONF; scripts/test.sh builds them with \
             scripts/standins.sh and serves them)",
        ),
    }
}

/// Holds the build lock (a test that panicked while holding it does not block the others).
pub fn one_build_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
