//! Image sources: test images from the builder in every format, read back through
//! `source::open`; each bad input gives its typed error. The fixture images are read too.

use crate::support;
use crate::support::hostile;

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
        assert!(
            o.status.success(),
            "skopeo copy {src}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
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
        sample(Compression::Gzip)
            .build_uncompressed()
            .write_docker_archive(&f, l);
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

// ---------------------------------------------------------------------------------------------
// Reading back through `source::open`.

use imgopt::digest::Digest;
use imgopt::source::blob::{self, LayerReadOptions, LayerStats};
use imgopt::source::spec::{self, SourceOptions, SourceSpec};
use imgopt::source::{Error, ImageConfig, ImageSource, Manifest};
use support::image_builder::BuiltImage;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What reading one image measured: manifest, config, and per layer the stats and the entry
/// names the tar crate saw.
struct ReadBack {
    manifest: Manifest,
    config: ImageConfig,
    layers: Vec<(LayerStats, Vec<String>)>,
}

fn read_image(spec: &str, opts: &SourceOptions, lro: &LayerReadOptions) -> Result<ReadBack, Error> {
    let rt = rt();
    let src = spec::open(&SourceSpec::parse(spec)?, opts)?;
    let manifest = rt.block_on(src.manifest())?;
    read_manifest(&rt, &src, manifest, lro)
}

fn read_manifest(
    rt: &tokio::runtime::Runtime,
    src: &impl ImageSource,
    manifest: Manifest,
    lro: &LayerReadOptions,
) -> Result<ReadBack, Error> {
    let config = rt.block_on(src.config(&manifest))?;
    let mut layers = Vec::new();
    for (i, desc) in manifest.layers.iter().enumerate() {
        let blob = rt.block_on(src.blob(desc))?;
        let stream = blob::open_layer(blob, desc, config.diff_ids.get(i), lro, rt.handle())?;
        let mut archive = tar::Archive::new(stream);
        let mut names = Vec::new();
        let walked: std::io::Result<()> = (|| {
            for e in archive.entries_with_seek()? {
                let e = e?;
                names.push(String::from_utf8_lossy(&e.path_bytes()).into_owned());
            }
            Ok(())
        })();
        if let Err(e) = walked {
            return Err(archive.into_inner().explain(e));
        }
        layers.push((archive.into_inner().finish()?, names));
    }
    Ok(ReadBack {
        manifest,
        config,
        layers,
    })
}

fn names_of(tar_bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar_bytes);
    a.entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect()
}

fn d(s: &str) -> Digest {
    Digest::parse(s).unwrap()
}

/// The read-back agrees with the builder's truth: layer by layer, digests, sizes, names.
fn check_against(img: &BuiltImage, rb: &ReadBack, same_manifest: bool) {
    if same_manifest {
        assert_eq!(rb.manifest.digest, d(&img.manifest_digest));
    }
    assert_eq!(rb.config.digest, d(&img.config_digest));
    assert_eq!(
        rb.config.diff_ids,
        img.layers.iter().map(|l| d(&l.diff_id)).collect::<Vec<_>>()
    );
    assert_eq!(rb.layers.len(), img.layers.len());
    for (i, ((stats, names), truth)) in rb.layers.iter().zip(&img.layers).enumerate() {
        assert_eq!(stats.tar_bytes, truth.tar.len() as u64, "layer {i}");
        assert_eq!(stats.compressed_bytes, truth.size, "layer {i}");
        assert!(stats.verified);
        assert_eq!(names, &names_of(&truth.tar), "layer {i}");
        assert_eq!(rb.manifest.layers[i].size, truth.size);
    }
    assert_eq!(rb.config.history.len(), img.history_len);
    assert!(rb.config.history[1].empty_layer && rb.config.history[1].created_by == "ENV A=1");
}

#[test]
fn every_format_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = SourceOptions::default();
    let lro = LayerReadOptions::default();
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let img = sample(c).build();
        let dir = tmp.path().join(format!("oci-{c:?}"));
        img.write_oci_layout(&dir, Some("v1"));
        for spec in [
            format!("oci:{}:v1", dir.display()),
            format!("oci:{}", dir.display()),
            dir.display().to_string(),
        ] {
            let rb = read_image(&spec, &opts, &lro).unwrap_or_else(|e| panic!("{spec}: {e}"));
            check_against(&img, &rb, true);
            let want = match c {
                Compression::Gzip => blob::Compression::Gzip,
                Compression::Zstd => blob::Compression::Zstd,
                Compression::None => blob::Compression::None,
            };
            assert!(rb.layers.iter().all(|(s, _)| s.compression == want));
        }
        let arch = tmp.path().join(format!("oci-{c:?}.tar"));
        img.write_oci_archive(&arch, Some("v1"));
        for spec in [format!("oci-archive:{}:v1", arch.display()), arch.display().to_string()] {
            check_against(&img, &read_image(&spec, &opts, &lro).unwrap(), true);
        }
    }
    let plain = sample(Compression::Gzip).build_uncompressed();
    for layout in [DockerLayout::Classic, DockerLayout::Oci] {
        let f = tmp.path().join(format!("docker-{layout:?}.tar"));
        plain.write_docker_archive(&f, layout);
        for spec in [format!("docker-archive:{}", f.display()), f.display().to_string()] {
            let rb = read_image(&spec, &opts, &lro).unwrap_or_else(|e| panic!("{spec}: {e}"));
            check_against(&plain, &rb, layout == DockerLayout::Oci);
            // Stored uncompressed: compressed bytes equal tar bytes.
            assert!(rb.layers.iter().all(|(s, _)| s.compressed_bytes == s.tar_bytes));
        }
    }
    // A gzip-layered classic archive (docker load accepts those): digests hashed at open.
    let gz = sample(Compression::Gzip).build();
    let f = tmp.path().join("docker-gz.tar");
    gz.write_docker_archive(&f, DockerLayout::Classic);
    let rb = read_image(&format!("docker-archive:{}", f.display()), &opts, &lro).unwrap();
    check_against(&gz, &rb, false);
    assert_eq!(rb.manifest.layers[0].digest, d(&gz.layers[0].digest));
}

#[test]
fn multi_platform_selection() {
    let tmp = tempfile::tempdir().unwrap();
    let amd = sample(Compression::Gzip).platform("linux/amd64");
    let arm = sample(Compression::Zstd).platform("linux/arm64/v8").env("ARM=1");
    let idx = IndexBuilder::new().image(&amd).image(&arm);
    let rt = rt();
    for nested in [false, true] {
        let dir = tmp.path().join(format!("multi-{nested}"));
        idx.write_oci_layout(&dir, Some("latest"), nested);
        let spec = SourceSpec::parse(&format!("oci:{}:latest", dir.display())).unwrap();
        for (want, image) in [
            ("linux/arm64", &idx.images()[1]),
            ("linux/arm64/v8", &idx.images()[1]),
            ("linux/amd64", &idx.images()[0]),
        ] {
            let opts = SourceOptions {
                platform: Some(want.parse().unwrap()),
                ..SourceOptions::default()
            };
            let src = spec::open(&spec, &opts).unwrap();
            let m = rt.block_on(src.manifest()).unwrap();
            assert_eq!(m.digest, d(&image.manifest_digest), "{want}");
            assert_eq!(m.platform.as_ref().unwrap().to_string(), image.platform_string());
            let rb = read_manifest(&rt, &src, m, &LayerReadOptions::default()).unwrap();
            check_against(image, &rb, true);
            assert_eq!(rb.config.platform.architecture, image.platform.architecture);
        }
        let src = spec::open(&spec, &SourceOptions::default()).unwrap();
        let all = rt.block_on(src.manifests()).unwrap();
        assert_eq!(
            all.iter().map(|m| m.digest.clone()).collect::<Vec<_>>(),
            vec![d(&idx.images()[0].manifest_digest), d(&idx.images()[1].manifest_digest)]
        );
        let opts = SourceOptions {
            platform: Some("linux/s390x".parse().unwrap()),
            ..SourceOptions::default()
        };
        let err = rt.block_on(spec::open(&spec, &opts).unwrap().manifest()).unwrap_err();
        assert!(matches!(err, Error::NoMatchingPlatform { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("linux/amd64") && text.contains("linux/arm64/v8") && text.contains("linux/s390x"),
            "{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: each defect gives its typed error, never a panic.

fn faulty(c: Compression, f: Fault) -> BuiltImage {
    sample(c).fault(f).build()
}

fn read_oci(img: &BuiltImage, lro: &LayerReadOptions) -> Result<ReadBack, Error> {
    let tmp = tempfile::tempdir().unwrap();
    img.write_oci_layout(tmp.path(), None);
    read_image(&format!("oci:{}", tmp.path().display()), &SourceOptions::default(), lro)
}

#[test]
fn truncated_blob_is_a_size_mismatch() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let img = faulty(c, Fault::TruncatedBlob(0));
        match read_oci(&img, &LayerReadOptions::default()) {
            Err(Error::SizeMismatch {
                digest,
                expected,
                actual,
            }) => {
                assert_eq!(digest, d(&img.layers[0].digest));
                assert_eq!(expected, img.layers[0].size);
                assert_eq!(actual, img.layers[0].size / 2);
            }
            other => panic!("{c:?}: {:?}", other.err()),
        }
    }
}

#[test]
fn flipped_byte_is_a_digest_mismatch_naming_both() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let img = faulty(c, Fault::WrongDigest(1));
        let stored = &img.blobs[&img.layers[1].digest];
        match read_oci(&img, &LayerReadOptions::default()) {
            Err(e @ Error::DigestMismatch { .. }) => {
                let text = e.to_string();
                assert!(text.contains(&img.layers[1].digest), "{text}");
                assert!(text.contains(&support::image_builder::sha256(stored)), "{text}");
            }
            other => panic!("{c:?}: {:?}", other.err()),
        }
    }
}

#[test]
fn wrong_diff_id_is_reported() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let img = faulty(c, Fault::WrongDiffId(0));
        match read_oci(&img, &LayerReadOptions::default()) {
            Err(Error::DiffIdMismatch {
                layer,
                expected,
                actual,
            }) => {
                assert_eq!(layer, d(&img.layers[0].digest));
                assert_eq!(actual, d(&img.layers[0].diff_id));
                assert_ne!(expected, actual);
            }
            other => panic!("{c:?}: {:?}", other.err()),
        }
    }
    // Classic docker-archive: the plain layer's digest is its diff_id; still a diff_id error.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("d.tar");
    sample(Compression::None)
        .fault(Fault::WrongDiffId(0))
        .build_uncompressed()
        .write_docker_archive(&f, DockerLayout::Classic);
    let err = read_image(
        &format!("docker-archive:{}", f.display()),
        &SourceOptions::default(),
        &LayerReadOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::DiffIdMismatch { .. }), "{err}");
}

#[test]
fn corrupt_streams_are_corrupt_not_mismatched() {
    for (c, name) in [(Compression::Gzip, "gzip"), (Compression::Zstd, "zstd")] {
        let img = faulty(c, Fault::CorruptCompression(0));
        match read_oci(&img, &LayerReadOptions::default()) {
            Err(Error::Corrupt {
                digest, compression, ..
            }) => {
                assert_eq!(digest, d(&img.layers[0].digest));
                assert_eq!(compression, name);
            }
            other => panic!("{c:?}: {:?}", other.err()),
        }
    }
}

#[test]
fn unknown_media_type_is_unsupported() {
    let img = faulty(Compression::Gzip, Fault::UnknownMediaType(1));
    match read_oci(&img, &LayerReadOptions::default()) {
        Err(Error::UnsupportedCompression { media_type }) => {
            assert_eq!(media_type, support::image_builder::MT_LAYER_UNKNOWN);
        }
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn mislabelled_compression_is_read_by_magic_bytes() {
    for c in [Compression::Gzip, Compression::Zstd] {
        let img = faulty(c, Fault::MislabelledCompression(0));
        let rb = read_oci(&img, &LayerReadOptions::default()).unwrap();
        assert_eq!(rb.layers[0].0.tar_bytes, img.layers[0].tar.len() as u64);
        let found = rb.layers[0].0.compression;
        assert_eq!(
            found,
            if c == Compression::Gzip {
                blob::Compression::Zstd
            } else {
                blob::Compression::Gzip
            }
        );
    }
}

#[test]
fn missing_blob_names_the_digest() {
    let img = faulty(Compression::Gzip, Fault::MissingBlob(1));
    match read_oci(&img, &LayerReadOptions::default()) {
        Err(Error::BlobMissing { digest, .. }) => assert_eq!(digest, d(&img.layers[1].digest)),
        other => panic!("{:?}", other.err()),
    }
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("d.tar");
    sample(Compression::None)
        .fault(Fault::MissingBlob(1))
        .build_uncompressed()
        .write_docker_archive(&f, DockerLayout::Classic);
    let err = read_image(
        &format!("docker-archive:{}", f.display()),
        &SourceOptions::default(),
        &LayerReadOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::BlobMissing { .. }), "{err}");
}

#[test]
fn wrong_config_digest_is_caught() {
    let img = faulty(Compression::Gzip, Fault::WrongConfigDigest);
    let err = read_oci(&img, &LayerReadOptions::default()).err().unwrap();
    assert!(
        matches!(err, Error::DigestMismatch { ref expected, .. } if *expected == d(&img.config_digest)),
        "{err}"
    );
}

#[test]
fn path_traversal_is_rejected() {
    let img = faulty(Compression::None, Fault::PathTraversal);
    let err = read_oci(&img, &LayerReadOptions::default()).err().unwrap();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(
        err.to_string().contains("index.json") && err.to_string().contains("not a valid digest"),
        "{err}"
    );
    let tmp = tempfile::tempdir().unwrap();
    // A file the traversal would reach if it were followed.
    std::fs::write(tmp.path().join("outside.tar"), b"secret").unwrap();
    std::fs::create_dir(tmp.path().join("in")).unwrap();
    for layout in [DockerLayout::Classic, DockerLayout::Oci] {
        let f = tmp.path().join("in").join(format!("{layout:?}.tar"));
        sample(Compression::None)
            .fault(Fault::PathTraversal)
            .build_uncompressed()
            .write_docker_archive(&f, layout);
        let err = spec::open(
            &SourceSpec::parse(&format!("docker-archive:{}", f.display())).unwrap(),
            &SourceOptions::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, Error::Invalid { .. }), "{layout:?}: {err}");
        assert!(err.to_string().contains("../outside.tar"), "{err}");
    }
}

#[test]
fn compression_bomb_stops_at_the_limits() {
    // 8 MiB of zeros gzip to about 8 KiB: a ratio near 1000:1.
    let img = ImageBuilder::new()
        .layer("RUN dd", vec![Entry::zeros("bomb", 8 << 20)])
        .build();
    let lro = LayerReadOptions {
        ratio_floor: 1 << 20,
        ..LayerReadOptions::default()
    };
    match read_oci(&img, &lro) {
        Err(e @ Error::TooLarge { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("100:1"), "{msg}");
            // No hint at a flag that does not exist (issue 18, #16).
            assert!(!msg.contains("raise") && !msg.contains("--"), "{msg}");
        }
        other => panic!("{:?}", other.err()),
    }
    let lro = LayerReadOptions {
        max_tar_bytes: 1 << 20,
        ..LayerReadOptions::default()
    };
    assert!(matches!(read_oci(&img, &lro), Err(Error::TooLarge { .. })));
    // Under the default limits (64 MiB floor) the same layer is fine.
    read_oci(&img, &LayerReadOptions::default()).unwrap();
}

#[test]
fn default_limits_stop_a_real_bomb() {
    // 80 MiB of zeros in zstd is a few KiB: past the 64 MiB floor at far more than 100:1.
    let img = ImageBuilder::new()
        .compression(Compression::Zstd)
        .layer("RUN dd", vec![Entry::zeros("bomb", 80 << 20)])
        .build();
    assert!(matches!(
        read_oci(&img, &LayerReadOptions::default()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn no_verify_skips_hashing_for_local_sources() {
    // A byte flipped inside a file's data: only hashing can notice.
    let img = ImageBuilder::new()
        .compression(Compression::None)
        .layer(
            "ADD x",
            vec![Entry::file("x", vec![1u8; 100_000]), Entry::file("y", "tail")],
        )
        .fault(Fault::WrongDigest(0))
        .build();
    let lro = LayerReadOptions {
        verify: false,
        ..LayerReadOptions::default()
    };
    let rb = read_oci(&img, &lro).unwrap();
    assert!(!rb.layers[0].0.verified);
    assert_eq!(rb.layers[0].0.tar_bytes, img.layers[0].tar.len() as u64);
    assert_eq!(rb.layers[0].1, vec!["x", "y"]);
    assert!(matches!(
        read_oci(&img, &LayerReadOptions::default()),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn not_an_image_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("x.txt");
    std::fs::write(&f, "hello").unwrap();
    let err = spec::open(
        &SourceSpec::parse(f.to_str().unwrap()).unwrap(),
        &SourceOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("not an image"), "{err}");
    let err = spec::open(
        &SourceSpec::parse(tmp.path().to_str().unwrap()).unwrap(),
        &SourceOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("not an OCI image layout"), "{err}");
    let err = spec::open(
        &SourceSpec::parse(&format!("oci:{}/nope", tmp.path().display())).unwrap(),
        &SourceOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The real fixture images (make-images.sh): images.tsv is the truth.

#[test]
fn fixture_images_match_images_tsv() {
    let Some(fx) = support::fixtures_dir() else { return };
    let tsv = std::fs::read_to_string(fx.join("images.tsv")).unwrap();
    let rt = rt();
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    for line in lines {
        let row: std::collections::BTreeMap<&str, &str> = header.iter().copied().zip(line.split('\t')).collect();
        let name = row["name"];
        let layout = fx.join("oci").join(name);
        let src = spec::open(
            &SourceSpec::parse(&format!("oci:{}", layout.display())).unwrap(),
            &SourceOptions::default(),
        )
        .unwrap();
        let manifests = rt.block_on(src.manifests()).unwrap();
        let platforms: Vec<String> = manifests
            .iter()
            .map(|m| {
                m.platform
                    .as_ref()
                    .map_or_else(|| "linux/amd64".into(), ToString::to_string)
            })
            .collect();
        assert_eq!(platforms.join(","), row["platforms"], "{name}");
        let (mut layers, mut compressed, mut tar) = (0u64, 0u64, 0u64);
        for m in manifests.clone() {
            let rb =
                read_manifest(&rt, &src, m, &LayerReadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            layers += rb.layers.len() as u64;
            compressed += rb.layers.iter().map(|l| l.0.compressed_bytes).sum::<u64>();
            tar += rb.layers.iter().map(|l| l.0.tar_bytes).sum::<u64>();
        }
        assert_eq!(layers.to_string(), row["layers"], "{name}");
        assert_eq!(compressed.to_string(), row["compressed_bytes"], "{name}");
        assert_eq!(tar.to_string(), row["uncompressed_bytes"], "{name}");
        if row["kind"] == "manifest" {
            assert_eq!(manifests[0].digest.as_str(), row["digest"], "{name}");
        }
        let archive = fx.join("archives").join(format!("{name}.tar"));
        if archive.is_file() {
            let rb = read_image(
                &archive.display().to_string(),
                &SourceOptions::default(),
                &LayerReadOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{name} archive: {e}"));
            assert_eq!(
                rb.layers.iter().map(|l| l.0.tar_bytes).sum::<u64>().to_string(),
                row["uncompressed_bytes"],
                "{name}"
            );
            let oci = rt.block_on(src.manifest()).unwrap();
            let oci_cfg = rt.block_on(src.config(&oci)).unwrap();
            assert_eq!(rb.config.diff_ids, oci_cfg.diff_ids, "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mutated images: whatever the damage, reading gives a result or a typed error, never a panic
// or a hang.

mod mutations {
    use proptest::prelude::*;

    use super::*;

    fn read_both(spec: &str) {
        for verify in [true, false] {
            let opts = SourceOptions {
                verify,
                ..SourceOptions::default()
            };
            let lro = LayerReadOptions {
                verify,
                ..LayerReadOptions::default()
            };
            let _ = read_image(spec, &opts, &lro);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn oci_layout_files(file in 0usize..16, at in 0usize..4096, byte in any::<u8>(), cut in any::<bool>()) {
            let img = sample(Compression::Gzip).build();
            let mut files = img.oci_files(Some("v1"));
            let n = files.len();
            let (_, bytes) = &mut files[file % n];
            if !bytes.is_empty() {
                let i = at % bytes.len();
                if cut { bytes.truncate(i) } else { bytes[i] = byte }
            }
            let tmp = tempfile::tempdir().unwrap();
            support::image_builder::write_tree(tmp.path(), &files);
            read_both(&format!("oci:{}", tmp.path().display()));
        }

        #[test]
        fn docker_archive_bytes(layout in any::<bool>(), at in 0usize..1_000_000, byte in any::<u8>(), cut in any::<bool>()) {
            let img = sample(Compression::None).build_uncompressed();
            let layout = if layout { DockerLayout::Classic } else { DockerLayout::Oci };
            let tmp = tempfile::tempdir().unwrap();
            let f = tmp.path().join("d.tar");
            img.write_docker_archive(&f, layout);
            let mut bytes = std::fs::read(&f).unwrap();
            let i = at % bytes.len();
            if cut { bytes.truncate(i) } else { bytes[i] = byte }
            std::fs::write(&f, &bytes).unwrap();
            read_both(&format!("docker-archive:{}", f.display()));
            read_both(&f.display().to_string());
        }
    }
}

#[test]
fn no_verify_reads_compressed_layers_by_skipping_forward() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let img = sample(c).build();
        let lro = LayerReadOptions {
            verify: false,
            ..LayerReadOptions::default()
        };
        let rb = read_oci(&img, &lro).unwrap();
        for ((stats, names), truth) in rb.layers.iter().zip(&img.layers) {
            assert!(!stats.verified);
            assert_eq!(stats.tar_bytes, truth.tar.len() as u64, "{c:?}");
            assert_eq!(stats.compressed_bytes, truth.size, "{c:?}");
            assert_eq!(names, &names_of(&truth.tar), "{c:?}");
        }
    }
}

#[test]
fn docker_archive_image_selection_by_repo_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let img = sample(Compression::None).tag("example/app:1.0").build_uncompressed();
    for layout in [DockerLayout::Classic, DockerLayout::Oci] {
        let f = tmp.path().join(format!("{layout:?}.tar"));
        img.write_docker_archive(&f, layout);
        for want in ["example/app:1.0", "docker.io/example/app:1.0"] {
            let spec = format!("docker-archive:{}:{want}", f.display());
            assert_eq!(
                SourceSpec::parse(&spec).unwrap(),
                SourceSpec::DockerArchive {
                    file: f.clone(),
                    image: Some(want.into())
                }
            );
            let rb = read_image(&spec, &SourceOptions::default(), &LayerReadOptions::default())
                .unwrap_or_else(|e| panic!("{layout:?} {want}: {e}"));
            check_against(&img, &rb, layout == DockerLayout::Oci);
        }
        let spec = format!("docker-archive:{}:example/other:1.0", f.display());
        let err = read_image(&spec, &SourceOptions::default(), &LayerReadOptions::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::NotFound { .. }), "{layout:?}: {err}");
    }
}

// ---- Hostile inputs (issue 18): no leaks, no raw escapes, bounded messages ----

fn imgopt_limited(args: &[&str]) -> hostile::Run {
    let run = hostile::run_limited(args, std::time::Duration::from_secs(60));
    assert!(!run.timed_out, "imgopt {args:?} passed its deadline");
    run
}

#[test]
fn a_file_that_is_not_a_tar_is_named_by_offset_never_quoted() {
    let tmp = tempfile::tempdir().unwrap();
    let shadow = tmp.path().join("shadow");
    hostile::secret_file(&shadow, "SeCrEtMaRk");
    let random = tmp.path().join("random.tar");
    std::fs::write(&random, hostile::random_bytes(8192, 7)).unwrap();
    for (spec, offset) in [
        (format!("docker-archive:{}", shadow.display()), true),
        (format!("oci-archive:{}", shadow.display()), true),
        (format!("docker-archive:{}", random.display()), true),
        (format!("oci-archive:{}", random.display()), true),
        (random.display().to_string(), false),
    ] {
        let run = imgopt_limited(&["layers", &spec]);
        let err = run.err();
        assert_eq!(run.code, Some(2), "{spec}: {err}");
        assert!(
            !err.contains("SeCrEt") && !err.contains("hashhash"),
            "{spec} quotes the file: {err}"
        );
        assert!(!hostile::has_control(&run.stderr), "{spec} prints raw bytes: {err:?}");
        assert!(!offset || err.contains("byte 0"), "{spec} names no offset: {err}");
    }
}

#[test]
fn fifos_and_devices_are_refused_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.tar");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for spec in [
        format!("docker-archive:{}", fifo.display()),
        format!("oci-archive:{}", fifo.display()),
        fifo.display().to_string(),
        "docker-archive:/dev/zero".to_string(),
    ] {
        let run = imgopt_limited(&["layers", &spec]);
        assert_eq!(run.code, Some(2), "{spec}: {}", run.err());
        assert!(run.err().contains("not a regular file"), "{spec}: {}", run.err());
    }
    // A FIFO in place of a layer blob of an OCI layout: refused, not a hang.
    let img = sample(Compression::Gzip).build();
    let dir = tmp.path().join("layout");
    img.write_oci_layout(&dir, None);
    let blob = dir
        .join("blobs/sha256")
        .join(support::image_builder::hex_of(&img.layers[0].digest));
    std::fs::remove_file(&blob).unwrap();
    assert!(Command::new("mkfifo").arg(&blob).status().unwrap().success());
    let spec = format!("oci:{}", dir.display());
    let run = imgopt_limited(&["layers", &spec]);
    assert_eq!(run.code, Some(2), "{}", run.err());
    assert!(run.err().contains("FIFO"), "{}", run.err());
}

/// A docker-archive holding the image twice: once with hostile tags (escapes, BEL) and once
/// with 100 000 tags.
fn archive_with_tags(path: &std::path::Path) {
    let img = sample(Compression::None).build_uncompressed();
    let mut files = img.docker_files(DockerLayout::Classic);
    let manifest = hostile::member_json(&files, "manifest.json");
    let mut evil = manifest[0].clone();
    evil["RepoTags"] = serde_json::json!(["evil\u{1b}]0;owned\u{7}:1", "red\u{1b}[31m:2\u{9b}"]);
    let mut many = manifest[0].clone();
    many["RepoTags"] = serde_json::json!((0..100_000).map(|i| format!("many/tag:{i}")).collect::<Vec<_>>());
    hostile::replace_member(
        &mut files,
        "manifest.json",
        serde_json::to_vec(&serde_json::json!([evil, many])).unwrap(),
    );
    support::image_builder::write_tar_file(path, &files);
}

#[test]
fn image_names_reach_the_terminal_as_safe_bounded_text() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("tags.tar");
    archive_with_tags(&archive);
    for spec in [
        format!("docker-archive:{}", archive.display()),
        format!("docker-archive:{}:nope/none:1", archive.display()),
    ] {
        let run = imgopt_limited(&["layers", &spec]);
        let err = run.err();
        assert_eq!(run.code, Some(2), "{err}");
        assert!(!hostile::has_control(&run.stderr), "raw escapes: {err:?}");
        assert!(err.contains("evil?]0;owned?:1"), "{err}");
        assert!(err.contains("and 99982 more"), "{err}");
        assert!(run.stderr.len() < 4096, "{} bytes of error", run.stderr.len());
    }

    // OCI: two images under hostile `org.opencontainers.image.ref.name`s.
    let img = sample(Compression::Gzip).build();
    let mut files = img.oci_files(Some("a\u{1b}[2Jb"));
    let mut index = hostile::member_json(&files, "index.json");
    let mut second = index["manifests"][0].clone();
    second["annotations"]["org.opencontainers.image.ref.name"] = serde_json::json!("bell\u{7}");
    index["manifests"].as_array_mut().unwrap().push(second);
    hostile::replace_member(&mut files, "index.json", serde_json::to_vec(&index).unwrap());
    let dir = tmp.path().join("oci");
    support::image_builder::write_tree(&dir, &files);
    for spec in [format!("oci:{}", dir.display()), format!("oci:{}:other", dir.display())] {
        let run = imgopt_limited(&["layers", &spec]);
        assert_eq!(run.code, Some(2), "{}", run.err());
        assert!(!hostile::has_control(&run.stderr), "raw escapes: {:?}", run.err());
        assert!(run.err().contains("a?[2Jb"), "{}", run.err());
    }

    // Platforms from an index.
    let idx = IndexBuilder::new()
        .image(&sample(Compression::Gzip).platform("linux/amd\u{1b}[31m64"))
        .image(&sample(Compression::Gzip).platform("linux/arm64"));
    let dir = tmp.path().join("multi");
    idx.write_oci_layout(&dir, None, false);
    let spec = format!("oci:{}", dir.display());
    let run = imgopt_limited(&["layers", &spec, "--platform", "linux/s390x"]);
    assert_eq!(run.code, Some(2), "{}", run.err());
    assert!(!hostile::has_control(&run.stderr), "raw escapes: {:?}", run.err());
    assert!(run.err().contains("linux/amd?[31m64"), "{}", run.err());
}

#[test]
fn references_typed_by_the_user_are_shown_without_escapes() {
    for typed in [
        "docker-archive:/nonexistent/\u{1b}[31mred.tar",
        "oci:/nonexistent/\u{7}bell",
        "/nonexistent/\u{1b}]0;title\u{7}.tar",
        "alpine:\u{1b}[2J",
    ] {
        let err = SourceSpec::parse(typed)
            .and_then(|s| spec::open(&s, &SourceOptions::default()).map(|_| ()))
            .expect_err(typed)
            .to_string();
        assert!(!err.chars().any(char::is_control), "{typed:?} -> {err:?}");
        assert!(err.contains('?'), "{err}");
    }
}

// ---- False "verified" (issue 18, #3 and #4) ----

#[test]
fn repeated_diff_id_in_a_docker_archive_reads_and_verifies_each_file() {
    let tmp = tempfile::tempdir().unwrap();
    let img = ImageBuilder::new()
        .layer(
            "ADD a /",
            vec![Entry::file("a", "first layer, not what the config says")],
        )
        .layer("ADD b /", vec![Entry::file("b", "second layer")])
        .build_uncompressed();
    let mut files = img.docker_files(DockerLayout::Classic);
    let mut manifest = hostile::member_json(&files, "manifest.json");
    let old_name = manifest[0]["Config"].as_str().unwrap().to_string();
    let mut config = hostile::member_json(&files, &old_name);
    // The config claims the second layer's diff_id for both layers.
    config["rootfs"]["diff_ids"][0] = config["rootfs"]["diff_ids"][1].clone();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let new_name = format!(
        "{}.json",
        support::image_builder::hex_of(&support::image_builder::sha256(&config_bytes))
    );
    files.retain(|(n, _)| n != &old_name);
    files.push((new_name.clone(), config_bytes));
    manifest[0]["Config"] = serde_json::json!(new_name);
    hostile::replace_member(&mut files, "manifest.json", serde_json::to_vec(&manifest).unwrap());
    let archive = tmp.path().join("repeated.tar");
    support::image_builder::write_tar_file(&archive, &files);
    let spec = format!("docker-archive:{}", archive.display());
    let err = read_image(&spec, &SourceOptions::default(), &LayerReadOptions::default())
        .err()
        .expect("a first layer that is not its diff_id must not read as verified");
    assert!(matches!(err, Error::DiffIdMismatch { .. }), "{err}");
    let run = imgopt_limited(&["layers", &spec]);
    assert_eq!(run.code, Some(2), "{}", run.err());
}

#[test]
fn cache_never_serves_a_blob_under_another_diff_id() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let good = sample(Compression::Gzip).build();
    let good_dir = tmp.path().join("good");
    good.write_oci_layout(&good_dir, None);
    // The same blobs, with a config whose first diff_id is wrong.
    let bad = sample(Compression::Gzip).fault(Fault::WrongDiffId(0)).build();
    assert_eq!(bad.layers[0].digest, good.layers[0].digest);
    let bad_dir = tmp.path().join("bad");
    bad.write_oci_layout(&bad_dir, None);
    let cache_arg = cache.display().to_string();
    let first = imgopt_limited(&[
        "layers",
        &format!("oci:{}", good_dir.display()),
        "--cache-dir",
        &cache_arg,
    ]);
    assert_eq!(first.code, Some(0), "{}", first.err());
    let second = imgopt_limited(&[
        "layers",
        &format!("oci:{}", bad_dir.display()),
        "--cache-dir",
        &cache_arg,
        "--format",
        "json",
    ]);
    assert_eq!(
        second.code,
        Some(2),
        "served from the cache: {}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(second.err().contains("diff_id"), "{}", second.err());
}

// ---- Bounds (issue 18, #7; issue 14's single-platform --platform) ----

#[test]
fn index_fan_out_is_bounded_in_depth_and_breadth() {
    let tmp = tempfile::tempdir().unwrap();
    let img = sample(Compression::Gzip).build();
    // Four levels, each listing the next 30 times: read once per level, and resolved.
    let repeated = tmp.path().join("repeated");
    hostile::nested_index_layout(&repeated, &img, 4, 30, false);
    let spec = format!("oci:{}", repeated.display());
    let opts = SourceOptions {
        platform: Some("linux/amd64".parse().unwrap()),
        ..SourceOptions::default()
    };
    let rb = hostile::within(std::time::Duration::from_secs(60), {
        let (spec, opts) = (spec.clone(), opts.clone());
        move || read_image(&spec, &opts, &LayerReadOptions::default()).map(|rb| rb.manifest.digest.to_string())
    })
    .unwrap();
    assert_eq!(rb, img.manifest_digest);
    let src = spec::open(&SourceSpec::parse(&spec).unwrap(), &opts).unwrap();
    assert_eq!(rt().block_on(src.manifests()).unwrap().len(), 1, "repeats are merged");
    // Too deep.
    let deep = tmp.path().join("deep");
    hostile::nested_index_layout(&deep, &img, 6, 1, false);
    let err = read_image(&format!("oci:{}", deep.display()), &opts, &LayerReadOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("nested more than 4 deep"), "{err}");
    // Too broad: a hundred different indexes.
    let broad = tmp.path().join("broad");
    hostile::nested_index_layout(&broad, &img, 1, 100, true);
    let err = read_image(&format!("oci:{}", broad.display()), &opts, &LayerReadOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("more than 64 image indexes"), "{err}");
}

#[test]
fn a_platform_the_single_platform_image_is_not_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let img = sample(Compression::Gzip).build();
    let dir = tmp.path().join("amd64");
    img.write_oci_layout(&dir, None);
    let archive = tmp.path().join("amd64.tar");
    sample(Compression::None)
        .build_uncompressed()
        .write_docker_archive(&archive, DockerLayout::Classic);
    for spec in [
        format!("oci:{}", dir.display()),
        format!("docker-archive:{}", archive.display()),
    ] {
        let run = imgopt_limited(&["layers", &spec, "--platform", "linux/arm64"]);
        assert_eq!(run.code, Some(2), "{spec}: {}", run.err());
        assert!(run.err().contains("no image for platform linux/arm64"), "{}", run.err());
        assert!(run.err().contains("available: linux/amd64"), "{}", run.err());
        let ok = imgopt_limited(&["layers", &spec, "--platform", "linux/amd64"]);
        assert_eq!(ok.code, Some(0), "{spec}: {}", ok.err());
    }
}
