//! Small images and Dockerfiles for the `imgopt check` tests, written into a folder so that
//! every name in the output is relative (and the output deterministic).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use crate::support::image_builder::{Entry, ImageBuilder};

/// Runs `imgopt` in `dir` with colour off.
pub fn imgopt_in(dir: &Path, args: &[&str]) -> Output {
    crate::support::imgopt().args(args).current_dir(dir).output()
}

/// Lossy text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Two layers: 40 kB of apt lists deleted by the second (reclaimable and dive waste), an app
/// file, and `user` as the config's User when given.
pub fn wasteful(user: Option<&str>) -> ImageBuilder {
    let img = ImageBuilder::new()
        .layer(
            "RUN apt-get update && apt-get install -y curl",
            vec![
                Entry::dir("var"),
                Entry::dir("var/lib"),
                Entry::dir("var/lib/apt"),
                Entry::dir("var/lib/apt/lists"),
                Entry::file("var/lib/apt/lists/deb_Packages", vec![1u8; 40_000]),
                Entry::dir("app"),
                Entry::file("app/s.js", vec![3u8; 20_000]),
            ],
        )
        .layer(
            "RUN rm -rf /var/lib/apt/lists/*",
            vec![Entry::whiteout("var/lib/apt/lists/deb_Packages")],
        );
    match user {
        Some(u) => img.user(u),
        None => img,
    }
}

/// One small layer.
pub fn small() -> ImageBuilder {
    ImageBuilder::new().layer(
        "COPY app /app",
        vec![Entry::dir("app"), Entry::file("app/s.js", vec![3u8; 20_000])],
    )
}

/// Writes `img` as an OCI layout at `dir/name` and returns `oci:name`.
pub fn layout(dir: &Path, name: &str, img: &ImageBuilder) -> String {
    img.build().write_oci_layout(&dir.join(name), Some("latest"));
    format!("oci:{name}")
}

/// A Dockerfile with a `:latest`-less base, apt lists kept (DF201) and recommends (DF202).
pub const DOCKERFILE: &str = "FROM ubuntu\n\
RUN apt-get update && apt-get install -y curl\n\
COPY . /app\n\
USER 1000\n";
