//! Image sources: test images from the builder in every format, read back through
//! `source::open`; each bad input gives its typed error. The fixture images are read too.

mod support;

use std::process::Command;

use support::image_builder::{Compression, DockerLayout, Entry, Fault, ImageBuilder, IndexBuilder};

fn sample(c: Compression) -> ImageBuilder {
    ImageBuilder::new()
        .compression(c)
        .layer(
            "ADD rootfs /",
            vec![
                Entry::dir("etc"),
                Entry::file("etc/os-release", "ID=test\n"),
                Entry::file_with("bin/tool", vec![7u8; 5000], 0o755, 0, 0),
                Entry::symlink("bin/sh", "tool"),
                Entry::hardlink("bin/tool2", "bin/tool"),
            ],
        )
        .empty_step("ENV A=1")
        .layer(
            "RUN rm -rf /etc && chown -R 1000 /bin",
            vec![
                Entry::whiteout("etc/os-release"),
                Entry::opaque("var"),
                Entry::file_with("bin/tool", vec![7u8; 5000], 0o755, 1000, 1000),
            ],
        )
}

/// skopeo (an independent OCI implementation) accepts what the builder writes: it verifies
/// every blob digest while copying.
#[test]
fn builder_output_is_valid_for_skopeo() {
    let Some(skopeo) = support::tool("skopeo") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let run = |src: String| {
        let out = tmp.path().join(format!("copy-{}", src.len()));
        let o = Command::new(&skopeo)
            .args(["copy", "--quiet", &src, &format!("oci:{}", out.display())])
            .output()
            .unwrap();
        assert!(o.status.success(), "skopeo copy {src}: {}", String::from_utf8_lossy(&o.stderr));
    };
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let dir = tmp.path().join(format!("oci-{c:?}"));
        sample(c).build().write_oci_layout(&dir, Some("latest"));
        run(format!("oci:{}:latest", dir.display()));
    }
    let arch = tmp.path().join("a.oci.tar");
    sample(Compression::Gzip).build().write_oci_archive(&arch, Some("v1"));
    run(format!("oci-archive:{}", arch.display()));
    for l in [DockerLayout::Classic, DockerLayout::Oci] {
        let f = tmp.path().join(format!("docker-{l:?}.tar"));
        sample(Compression::Gzip).build_uncompressed().write_docker_archive(&f, l);
        run(format!("docker-archive:{}", f.display()));
    }
    let multi = tmp.path().join("multi");
    IndexBuilder::new()
        .image(&sample(Compression::Gzip).platform("linux/amd64"))
        .image(&sample(Compression::Gzip).platform("linux/arm64/v8"))
        .write_oci_layout(&multi, Some("latest"), true);
    let o = Command::new(&skopeo)
        .args(["inspect", "--raw", &format!("oci:{}:latest", multi.display())])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("arm64"));
}

/// The builder is deterministic: two builds give the same digests.
#[test]
fn builder_is_deterministic() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let a = sample(c).build();
        let b = sample(c).build();
        assert_eq!(a.manifest_digest, b.manifest_digest);
        assert_eq!(a.layers.len(), 2);
    }
    let broken = sample(Compression::Gzip).fault(Fault::MissingBlob(1)).build();
    assert!(!broken.blobs.contains_key(&broken.layers[1].digest));
}
