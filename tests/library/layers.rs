//! Layer analysis on synthetic layers built in memory with the `tar` crate: every expected
//! number below is worked out by hand from the layer contents (and, for the efficiency, from
//! dive's formula in ../shared/reference/anchors.md section 2), not taken from imgopt.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use crate::support;
use crate::support::hostile_tar;

use std::io::Cursor;

use imgopt::digest::Digest;
use imgopt::layers::{
    Analysis, AnalysisOptions, ImageMeta, LayerMeta, LayersReport, ScanError, ScanOptions, WasteKind,
    scan::{scan, scan_seek},
};

/// A layer tar under construction.
struct Tar {
    b: tar::Builder<Vec<u8>>,
}

impl Tar {
    fn new() -> Self {
        Self {
            b: tar::Builder::new(Vec::new()),
        }
    }
    fn header(kind: tar::EntryType, size: u64, mode: u32, uid: u64, mtime: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_mtime(mtime);
        h
    }
    fn file_full(mut self, path: &str, data: &[u8], uid: u64, mtime: u64) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, data.len() as u64, 0o644, uid, mtime);
        self.b.append_data(&mut h, path, data).unwrap();
        self
    }
    fn file(self, path: &str, data: &[u8]) -> Self {
        self.file_full(path, data, 0, 1_000)
    }
    fn dir(mut self, path: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, 0, 0o755, 0, 1_000);
        self.b.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }
    fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0, 0o777, 0, 1_000);
        self.b.append_link(&mut h, path, target).unwrap();
        self
    }
    fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Link, 0, 0o644, 0, 1_000);
        self.b.append_link(&mut h, path, target).unwrap();
        self
    }
    fn whiteout(self, dir: &str, name: &str) -> Self {
        let p = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&p, b"")
    }
    fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), b"")
    }
    fn done(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn analyze_with(layers: &[Vec<u8>], opts: ScanOptions, aopts: AnalysisOptions) -> LayersReport {
    let mut a = Analysis::new(aopts);
    for t in layers {
        let s = scan(&mut Cursor::new(t), &opts).unwrap();
        let d = Digest::sha256_of(t);
        a.push(
            LayerMeta {
                digest: d.clone(),
                diff_id: Some(d),
                media_type: "application/vnd.oci.image.layer.v1.tar".into(),
                compression: "tar".into(),
                compressed_bytes: t.len() as u64,
                tar_bytes: t.len() as u64,
                verified: true,
            },
            s,
        );
    }
    let r = a.finish(ImageMeta {
        source: "test".into(),
        ..ImageMeta::default()
    });
    check_invariants(&r);
    r
}

fn analyze(layers: &[Vec<u8>]) -> LayersReport {
    analyze_with(layers, ScanOptions::default(), AnalysisOptions::default())
}

/// What holds for every report: the cross-layer kinds sum to reclaimable, which is stored
/// minus final; per-layer content sums to the total.
fn check_invariants(r: &LayersReport) {
    if r.totals.content_bytes.0 == u64::MAX {
        // Sizes that passed u64::MAX saturate: the sums are no longer exact.
        return;
    }
    let w = &r.waste_by_kind;
    assert_eq!(
        w.overwritten.0 + w.deleted.0 + w.metadata_only.0,
        r.reclaimable_bytes.0,
        "kinds sum"
    );
    assert_eq!(
        r.totals.content_bytes.0 - r.totals.final_content_bytes.0,
        r.reclaimable_bytes.0
    );
    assert_eq!(
        r.layers.iter().map(|l| l.content_bytes.0).sum::<u64>(),
        r.totals.content_bytes.0
    );
    let items: u64 = r
        .waste
        .iter()
        .filter(|i| {
            matches!(
                i.kind,
                WasteKind::Overwritten | WasteKind::Deleted | WasteKind::MetadataOnly
            )
        })
        .map(|i| i.bytes)
        .sum();
    assert_eq!(items, r.reclaimable_bytes.0, "items sum");
    assert_eq!(
        r.layers.iter().map(|l| l.wasted_bytes.0).sum::<u64>(),
        r.reclaimable_bytes.0
    );
}

fn item<'a>(r: &'a LayersReport, path: &str, kind: WasteKind) -> &'a imgopt::layers::WasteItem {
    r.waste
        .iter()
        .find(|i| i.path == path && i.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} item {path} in {:#?}", r.waste))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn overwrite_counts_the_replaced_copy_once() {
    let l0 = Tar::new().dir("etc").file("etc/app.conf", &bytes(100, 1)).done();
    let l1 = Tar::new().dir("etc").file("etc/app.conf", &bytes(50, 2)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.reclaimable_bytes.0, 100);
    assert_eq!(r.waste_by_kind.overwritten.0, 100);
    let i = item(&r, "/etc/app.conf", WasteKind::Overwritten);
    assert_eq!((i.stored_in, i.made_waste_by, i.bytes), (0, Some(1), 100));
    assert_eq!(
        (
            r.layers[0].files_added,
            r.layers[1].files_modified,
            r.layers[1].files_added
        ),
        (1, 1, 0)
    );
    // dive: /etc/app.conf seen twice, C = 150, m = 50; the /etc dir is not a leaf.
    assert!(close(r.efficiency, 50.0 / 150.0), "{}", r.efficiency);
    // dive's "wasted bytes" counts both copies.
    assert_eq!(r.dive.wasted_bytes, 150);
}

#[test]
fn file_whiteout_deletes_and_dive_counts_it() {
    let l0 = Tar::new()
        .dir("d")
        .file("d/f", &bytes(1000, 1))
        .file("d/g", &bytes(10, 2))
        .done();
    let l1 = Tar::new().dir("d").whiteout("d", "f").done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.waste_by_kind.deleted.0, 1000);
    let i = item(&r, "/d/f", WasteKind::Deleted);
    assert_eq!((i.stored_in, i.made_waste_by, i.files), (0, Some(1), 1));
    assert_eq!(r.layers[1].files_deleted, 1);
    assert_eq!(r.totals.final_content_bytes.0, 10);
    // dive: /d/f C = 1000 + 0 (file whiteout), m = 0; /d/g 10.
    assert!(close(r.efficiency, 10.0 / 1010.0));
}

#[test]
fn directory_whiteout_counts_every_file_below_it() {
    let l0 = Tar::new()
        .dir("app")
        .dir("app/build")
        .file("app/build/a.whl", &bytes(2000, 1))
        .file("app/build/b.whl", &bytes(3000, 2))
        .file("app/keep", &bytes(5, 3))
        .done();
    let l1 = Tar::new().dir("app").whiteout("app", "build").done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.reclaimable_bytes.0, 5000);
    let i = item(&r, "/app/build/", WasteKind::Deleted);
    assert_eq!((i.bytes, i.files, i.stored_in, i.made_waste_by), (5000, 2, 0, Some(1)));
    assert_eq!(r.layers[1].files_deleted, 2);
    // dive adds the subtree size to both m and C of /app/build: the delete is invisible.
    assert!(close(r.efficiency, 1.0));
    assert_eq!(r.dive.wasted_bytes, 0);
}

#[test]
fn opaque_directory_hides_the_lower_contents() {
    let l0 = Tar::new()
        .dir("etc")
        .file("etc/x", &bytes(100, 1))
        .file("etc/y", &bytes(200, 2))
        .done();
    let l1 = Tar::new().dir("etc").opaque("etc").file("etc/z", &bytes(7, 3)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.waste_by_kind.deleted.0, 300);
    let i = item(&r, "/etc/", WasteKind::Deleted);
    assert_eq!((i.files, i.stored_in, i.made_waste_by), (2, 0, Some(1)));
    assert_eq!(r.totals.final_content_bytes.0, 7);
    assert_eq!((r.layers[1].files_added, r.layers[1].files_deleted), (1, 2));
    // dive drops the marker and does not apply it: every path is seen once.
    assert!(close(r.efficiency, 1.0));
}

#[test]
fn opaque_then_rewrite_of_same_path_is_an_overwrite() {
    let l0 = Tar::new().dir("etc").file("etc/x", &bytes(100, 1)).done();
    let l1 = Tar::new().dir("etc").opaque("etc").file("etc/x", &bytes(100, 9)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!((r.waste_by_kind.overwritten.0, r.waste_by_kind.deleted.0), (100, 0));
    assert_eq!((r.layers[1].files_modified, r.layers[1].files_deleted), (1, 0));
}

#[test]
fn chown_rewrite_is_metadata_only_and_new_content_is_not() {
    let js = bytes(4096, 1);
    let l0 = Tar::new()
        .dir("app")
        .file("app/s.js", &js)
        .file("app/data", &bytes(800, 2))
        .done();
    let l1 = Tar::new()
        .dir("app")
        .file_full("app/s.js", &js, 10001, 1_000)
        .file_full("app/data", &bytes(800, 3), 10001, 1_000)
        .done();
    let r = analyze(&[l0.clone(), l1.clone()]);
    assert_eq!(r.waste_by_kind.metadata_only.0, 4096);
    assert_eq!(r.waste_by_kind.overwritten.0, 800);
    assert_eq!(item(&r, "/app/s.js", WasteKind::MetadataOnly).made_waste_by, Some(1));
    assert_eq!(r.content_compared_by, "content_hash");
    // dive: both paths twice: m = 4096 + 800, C = 8192 + 1600.
    assert!(close(r.efficiency, 4896.0 / 9792.0));
    // Without content hashes, the quick check (size + mtime) cannot tell the rewritten data
    // apart: it kept its mtime here, so it reads as metadata-only. The report says how.
    let q = analyze_with(
        &[l0, l1],
        ScanOptions {
            hash_content: false,
            ..ScanOptions::default()
        },
        AnalysisOptions::default(),
    );
    assert_eq!(q.content_compared_by, "size_and_mtime");
    assert_eq!(q.waste_by_kind.metadata_only.0, 4896);
}

#[test]
fn hard_link_keeps_content_alive_after_its_first_name_goes() {
    let l0 = Tar::new()
        .dir("bin")
        .file("bin/a", &bytes(500, 1))
        .hardlink("bin/b", "bin/a")
        .done();
    let l1 = Tar::new().dir("bin").whiteout("bin", "a").done();
    let r = analyze(&[l0.clone(), l1]);
    assert_eq!(r.reclaimable_bytes.0, 0, "{:#?}", r.waste);
    assert_eq!(r.totals.final_content_bytes.0, 500);
    assert_eq!(r.layers[1].files_deleted, 1);
    // Deleting both names frees the content.
    let l1 = Tar::new().dir("bin").whiteout("bin", "a").whiteout("bin", "b").done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.waste_by_kind.deleted.0, 500);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn hard_link_to_a_missing_target_is_a_warning_not_a_panic() {
    let l0 = Tar::new().dir("bin").hardlink("bin/b", "bin/nowhere").done();
    let r = analyze(&[l0]);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("/bin/b") && w.contains("/bin/nowhere")),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.reclaimable_bytes.0, 0);
}

#[test]
fn symlinks_carry_no_content_and_can_be_replaced() {
    let l0 = Tar::new().symlink("x", "y").file("y", &bytes(30, 1)).done();
    let l1 = Tar::new().file("x", &bytes(10, 2)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.reclaimable_bytes.0, 0);
    assert_eq!((r.layers[0].files_added, r.layers[1].files_modified), (2, 1));
    assert_eq!(r.totals.final_content_bytes.0, 40);
}

#[test]
fn same_path_as_file_then_directory_and_back() {
    // A file becomes a directory: the file's bytes are overwritten.
    let l0 = Tar::new().file("p", &bytes(300, 1)).done();
    let l1 = Tar::new().dir("p").file("p/q", &bytes(20, 2)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.waste_by_kind.overwritten.0, 300);
    assert_eq!(item(&r, "/p", WasteKind::Overwritten).made_waste_by, Some(1));
    assert_eq!(r.totals.final_content_bytes.0, 20);
    // A directory becomes a file: everything below it is gone.
    let l0 = Tar::new()
        .dir("p")
        .file("p/q", &bytes(20, 2))
        .file("p/r", &bytes(22, 3))
        .done();
    let l1 = Tar::new().file("p", &bytes(5, 4)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.waste_by_kind.deleted.0, 42);
    assert_eq!(item(&r, "/p/", WasteKind::Deleted).files, 2);
    assert_eq!(r.totals.final_content_bytes.0, 5);
}

#[test]
fn per_layer_counts_and_a_dive_score_worked_by_hand() {
    // L0: /a 100, /b 200, /c 300.  L1: /a 100 (rewritten), /d 50, delete /b.
    // L2: /a 40, /e 10, delete /d.
    let l0 = Tar::new()
        .file("a", &bytes(100, 1))
        .file("b", &bytes(200, 2))
        .file("c", &bytes(300, 3))
        .done();
    let l1 = Tar::new()
        .file("a", &bytes(100, 4))
        .file("d", &bytes(50, 5))
        .whiteout("", "b")
        .done();
    let l2 = Tar::new()
        .file("a", &bytes(40, 6))
        .file("e", &bytes(10, 7))
        .whiteout("", "d")
        .done();
    let r = analyze(&[l0, l1, l2]);
    let counts: Vec<(u64, u64, u64)> = r
        .layers
        .iter()
        .map(|l| (l.files_added, l.files_modified, l.files_deleted))
        .collect();
    assert_eq!(counts, [(3, 0, 0), (1, 1, 1), (1, 1, 1)]);
    // Stored 600 + 150 + 50 = 800; final /a 40, /c 300, /e 10 = 350.
    assert_eq!(r.reclaimable_bytes.0, 450);
    assert_eq!((r.waste_by_kind.overwritten.0, r.waste_by_kind.deleted.0), (200, 250));
    // dive: /a C = 240 m = 40; /b C = 200 m = 0; /c 300/300; /d C = 50 m = 0; /e 10/10.
    let eff = (40.0 + 0.0 + 300.0 + 0.0 + 10.0) / (240.0 + 200.0 + 300.0 + 50.0 + 10.0);
    assert!(close(r.efficiency, eff), "{} vs {eff}", r.efficiency);
    assert_eq!(r.dive.wasted_bytes, 240 + 200 + 50);
    // dive's user bytes are layers 1.. only: 150 + 50.
    assert!(close(r.dive.user_wasted_percent.unwrap(), 490.0 / 200.0));
    assert_eq!(r.layers[0].wasted_bytes.0, 300);
    assert_eq!(r.layers[0].top_files[0].path, "/c");
}

#[test]
fn whiteout_of_a_missing_path_stops_dives_walk_like_dive() {
    // dive enters the missing path with a minimum of -1 and stops visiting that layer.
    let l0 = Tar::new().file("a", &bytes(100, 1)).done();
    let l1 = Tar::new().whiteout("", "ghost").file("z", &bytes(10, 2)).done();
    let r = analyze(&[l0, l1]);
    assert_eq!(r.dive.errors.len(), 1);
    // Visited: /a (100/100) and /ghost (min -1, C 0); /z comes after /.wh.ghost and is skipped.
    assert!(close(r.efficiency, 99.0 / 100.0), "{}", r.efficiency);
    assert_eq!(r.reclaimable_bytes.0, 0);
}

#[test]
fn package_caches_and_duplicates_are_reported_beside_reclaimable() {
    let deb = bytes(700, 1);
    let l0 = Tar::new()
        .file("var/cache/apt/archives/python3_3.11_amd64.deb", &deb)
        .file("var/cache/apt/pkgcache.bin", &bytes(90, 2))
        .file("var/lib/apt/lists/deb_Packages", &bytes(400, 3))
        .file("opt/a/lib.so", &bytes(64, 4))
        .file("opt/b/lib.so", &bytes(64, 4))
        .done();
    let l1 = Tar::new().whiteout("var/lib/apt/lists", "deb_Packages").done();
    let r = analyze_with(
        &[l0, l1],
        ScanOptions::default(),
        AnalysisOptions { top: 5, dedupe: true },
    );
    assert_eq!(r.waste_by_kind.package_cache.0, 790);
    assert_eq!(
        item(&r, "/var/cache/apt/archives/", WasteKind::PackageCache)
            .cache
            .as_deref(),
        Some("apt-archives")
    );
    assert_eq!(item(&r, "/var/cache/apt/", WasteKind::PackageCache).bytes, 90);
    let lists = item(&r, "/var/lib/apt/lists/deb_Packages", WasteKind::Deleted);
    assert_eq!(lists.cache.as_deref(), Some("apt-lists"));
    assert_eq!(r.reclaimable_bytes.0, 400);
    assert_eq!(r.waste_by_kind.duplicate_content.map(|b| b.0), Some(64));
    let d = item(&r, "/opt/b/lib.so", WasteKind::DuplicateContent);
    assert_eq!(d.duplicate_of.as_deref(), Some("/opt/a/lib.so"));
}

#[test]
fn unsafe_names_are_read_inside_the_root_with_a_warning() {
    // The tar crate refuses to write such names, so the headers are patched by hand.
    let mut t = Tar::new()
        .file("placeholder1", &bytes(10, 1))
        .file("placeholder2", &bytes(20, 2))
        .done();
    let patch = |t: &mut Vec<u8>, at: usize, name: &str| {
        let mut h = tar::Header::new_gnu();
        h.as_mut_bytes().copy_from_slice(&t[at..at + 512]);
        let raw = &mut h.as_old_mut().name;
        raw.fill(0);
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        t[at..at + 512].copy_from_slice(h.as_bytes());
    };
    patch(&mut t, 0, "../../etc/evil");
    patch(&mut t, 1024, "/abs/path");
    let r = analyze(&[t]);
    let paths: Vec<&str> = r.layers[0].top_files.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["/abs/path", "/etc/evil"]);
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
}

#[test]
fn header_size_larger_than_the_data_is_a_clear_error() {
    let mut t = Tar::new().file("big", &bytes(10, 1)).done();
    // Claim 1000 bytes and cut the stream right after the 10 real ones.
    let mut h = tar::Header::new_gnu();
    h.as_mut_bytes().copy_from_slice(&t[..512]);
    h.set_size(1000);
    h.set_cksum();
    t[..512].copy_from_slice(h.as_bytes());
    t.truncate(512 + 10);
    for hash in [true, false] {
        let opts = ScanOptions {
            hash_content: hash,
            ..ScanOptions::default()
        };
        let err = scan(&mut Cursor::new(&t), &opts).unwrap_err();
        assert!(
            matches!(&err, ScanError::Truncated { path, expected: 1000, .. } if path == "/big"),
            "{err}"
        );
        let err = scan_seek(&mut Cursor::new(&t), &opts).unwrap_err();
        assert!(matches!(&err, ScanError::Truncated { expected: 1000, .. }), "{err}");
        assert!(err.to_string().contains("/big"), "{err}");
    }
}

#[test]
fn garbage_is_a_corrupt_tar_error() {
    let junk = bytes(4096, 7);
    let err = scan(&mut Cursor::new(&junk), &ScanOptions::default()).unwrap_err();
    assert!(matches!(err, ScanError::Corrupt { .. }), "{err}");
}

#[test]
fn seek_scan_equals_read_scan() {
    let l0 = Tar::new()
        .dir("d")
        .file("d/a", &bytes(3000, 1))
        .symlink("d/s", "a")
        .file("d/b", &bytes(1, 2))
        .done();
    let opts = ScanOptions {
        hash_content: false,
        ..ScanOptions::default()
    };
    let a = scan(&mut Cursor::new(&l0), &opts).unwrap();
    let b = scan_seek(&mut Cursor::new(&l0), &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.content_bytes, 3001);
}

#[test]
fn generated_stream_is_a_valid_tar() {
    let s = scan(
        &mut support::many_files::ManyFiles::new(2500, |i| format!("d{:04}/f{:07}", i / 1000, i)),
        &ScanOptions::default(),
    )
    .unwrap();
    assert_eq!((s.entries.len(), s.content_bytes), (2500, 2500));
    let _ = support::required();
}

mod through_sources {
    //! The same kinds of change as above, built as one real image by the test image builder
    //! and read back through every source format (gzip, zstd, uncompressed, docker-archive):
    //! every number is worked out by hand below.
    use super::support::image_builder::{Compression, DockerLayout, Entry, ImageBuilder};
    use imgopt::layers::{self, LayersReport, Options, WasteKind};
    use imgopt::source::spec::{SourceOptions, SourceSpec, open};

    fn image(c: Compression) -> ImageBuilder {
        ImageBuilder::new()
            .compression(c)
            .layer(
                "ADD rootfs /",
                vec![
                    Entry::dir("etc"),
                    Entry::file("etc/app.conf", vec![1u8; 100]),
                    Entry::dir("d"),
                    Entry::file("d/f", vec![2u8; 1000]),
                    Entry::file("d/g", vec![3u8; 10]),
                    Entry::dir("app"),
                    Entry::dir("app/build"),
                    Entry::file("app/build/a.whl", vec![4u8; 2000]),
                    Entry::file("app/build/b.whl", vec![5u8; 3000]),
                    Entry::file("app/s.js", vec![6u8; 4096]),
                    Entry::dir("bin"),
                    Entry::file("bin/a", vec![7u8; 500]),
                    Entry::hardlink("bin/b", "bin/a"),
                    Entry::symlink("x", "y"),
                    Entry::file("p", vec![8u8; 300]),
                    Entry::dir("opt"),
                    Entry::file("opt/x", vec![9u8; 100]),
                    Entry::file("opt/y", vec![10u8; 200]),
                ],
            )
            .empty_step("ENV A=1")
            .layer(
                "RUN rewrite, delete, chown",
                vec![
                    Entry::dir("etc"),
                    Entry::file("etc/app.conf", vec![11u8; 50]),
                    Entry::whiteout("d/f"),
                    Entry::whiteout("app/build"),
                    Entry::file_with("app/s.js", vec![6u8; 4096], 0o644, 1000, 1000),
                    Entry::whiteout("bin/a"),
                    Entry::dir("opt"),
                    Entry::opaque("opt"),
                    Entry::file("opt/z", vec![12u8; 7]),
                    Entry::dir("p"),
                    Entry::file("p/q", vec![13u8; 20]),
                ],
            )
            .empty_step("CMD [\"sh\"]")
    }

    fn read(spec: &str) -> LayersReport {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let src = open(&SourceSpec::parse(spec).unwrap(), &SourceOptions::default()).unwrap();
        rt.block_on(layers::analyze(&src, &Options::default())).unwrap()
    }

    fn check(r: &LayersReport) {
        super::check_invariants(r);
        let w = &r.waste_by_kind;
        // overwritten: app.conf 100 + file p replaced by a directory 300.
        // deleted: d/f 1000 + app/build 5000 + opt/x, opt/y under the opaque dir 300; bin/a's
        // 500 bytes live on through the hard link bin/b.  metadata_only: s.js re-stored by chown.
        assert_eq!((w.overwritten.0, w.deleted.0, w.metadata_only.0), (400, 6300, 4096));
        assert_eq!(r.reclaimable_bytes.0, 10_796);
        // final: app.conf 50 + d/g 10 + s.js 4096 + bin/b 500 + opt/z 7 + p/q 20.
        assert_eq!(r.totals.final_content_bytes.0, 4683);
        let counts: Vec<(u64, u64, u64)> = r
            .layers
            .iter()
            .map(|l| (l.files_added, l.files_modified, l.files_deleted))
            .collect();
        assert_eq!(counts, [(12, 0, 0), (2, 2, 6)]);
        assert_eq!(r.layers[1].created_by, "RUN rewrite, delete, chown");
        assert_eq!(r.layers[1].history_index, Some(2));
        let build = r.waste.iter().find(|i| i.path == "/app/build/").unwrap();
        assert_eq!((build.kind, build.files, build.bytes), (WasteKind::Deleted, 2, 5000));
        // dive, leaf by leaf (see the comment above): minimum 14 783 of 20 479 discovered.
        assert!((r.efficiency - 14_783.0 / 20_479.0).abs() < 1e-12, "{}", r.efficiency);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn every_change_kind_in_every_format() {
        let tmp = tempfile::tempdir().unwrap();
        for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
            let dir = tmp.path().join(format!("oci-{c:?}"));
            image(c).build().write_oci_layout(&dir, Some("latest"));
            let r = read(&format!("oci:{}", dir.display()));
            check(&r);
            let want = match c {
                Compression::Gzip => "gzip",
                Compression::Zstd => "zstd",
                Compression::None => "tar",
            };
            assert_eq!(r.layers[0].compression, want);
        }
        for l in [DockerLayout::Classic, DockerLayout::Oci] {
            let f = tmp.path().join(format!("docker-{l:?}.tar"));
            image(Compression::Gzip)
                .build_uncompressed()
                .write_docker_archive(&f, l);
            let r = read(&format!("docker-archive:{}", f.display()));
            check(&r);
            assert_eq!(r.layers[0].compressed_bytes, r.layers[0].tar_bytes);
        }
    }
}

#[test]
fn progress_reaches_every_layer_and_byte() {
    use std::sync::{Arc, Mutex};
    use support::image_builder::{Compression, Entry, ImageBuilder};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    // Incompressible data, so the big layer reports progress while it streams.
    let noise: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    ImageBuilder::new()
        .compression(Compression::Gzip)
        .layer("ADD big", vec![Entry::file("big.bin", noise)])
        .layer("ADD small", vec![Entry::file("s", vec![1u8; 10])])
        .build()
        .write_oci_layout(&dir, Some("latest"));
    /// (layers done, layers in all, bytes done, bytes in all) per progress call.
    type Calls = Arc<Mutex<Vec<(usize, usize, u64, u64)>>>;
    let calls: Calls = Arc::default();
    let c = calls.clone();
    let opts = imgopt::layers::Options {
        progress: Some(Arc::new(move |d, t, b, tb| c.lock().unwrap().push((d, t, b, tb)))),
        ..imgopt::layers::Options::default()
    };
    let spec = imgopt::source::spec::SourceSpec::parse(&format!("oci:{}", dir.display())).unwrap();
    let src = imgopt::source::spec::open(&spec, &imgopt::source::spec::SourceOptions::default()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(imgopt::layers::analyze(&src, &opts)).unwrap();
    let calls = calls.lock().unwrap().clone();
    let total_bytes = r.totals.compressed_bytes.0;
    assert_eq!(calls.first(), Some(&(0, 2, 0, total_bytes)));
    assert_eq!(calls.last(), Some(&(2, 2, total_bytes, total_bytes)));
    // Bytes were reported before the big layer finished, and never went backwards.
    assert!(calls.iter().any(|&(d, _, b, _)| d == 0 && b > 0), "{calls:?}");
    assert!(
        calls.windows(2).all(|w| w[1].2 >= w[0].2 && w[1].0 >= w[0].0),
        "{calls:?}"
    );
}

#[test]
fn alpine_packages_are_measured_from_the_apk_database() {
    use support::image_builder::{Entry, ImageBuilder};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("img");
    let db1 = "P:musl\nV:1.2.5-r0\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r29\nF:bin\nR:busybox\n\n";
    let db2 = format!("{db1}P:curl\nV:8.9.1-r0\nF:usr/bin\nR:curl\n\n");
    ImageBuilder::new()
        .layer(
            "ADD alpine-minirootfs.tar.gz /",
            vec![
                Entry::file("lib/ld-musl-x86_64.so.1", vec![1u8; 600]),
                Entry::file("bin/busybox", vec![2u8; 800]),
                Entry::file("lib/apk/db/installed", db1.as_bytes().to_vec()),
            ],
        )
        .layer(
            "RUN apk add curl",
            vec![
                Entry::file("usr/bin/curl", vec![3u8; 250]),
                Entry::file("lib/apk/db/installed", db2.as_bytes().to_vec()),
            ],
        )
        .build()
        .write_oci_layout(&dir, Some("latest"));
    let spec = imgopt::source::spec::SourceSpec::parse(&format!("oci:{}", dir.display())).unwrap();
    let src = imgopt::source::spec::open(&spec, &imgopt::source::spec::SourceOptions::default()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt
        .block_on(imgopt::layers::analyze(&src, &imgopt::layers::Options::default()))
        .unwrap();
    let got: Vec<(&str, &str, u64, Option<usize>)> = r
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.manager, p.bytes, p.layer))
        .collect();
    assert_eq!(
        got,
        [
            ("busybox", "apk", 800, Some(0)),
            ("musl", "apk", 600, Some(0)),
            ("curl", "apk", 250, Some(1))
        ]
    );
    // The first database was replaced: its bytes are overwritten waste.
    assert_eq!(r.waste_by_kind.overwritten.0, db1.len() as u64);
}

mod hostile {
    //! Hostile tars (built by `support/hostile_tar.rs`): each must end with a result or a
    //! clear exit 2 within a deadline and an address-space limit.
    use std::io::Cursor;
    use std::time::Duration;

    use super::hostile_tar::{RawTar, deep_path, run_imgopt_limited, within, write_oci_layout};
    use super::support::image_builder::Compression;
    use super::{ScanError, ScanOptions, analyze_with, scan};
    use imgopt::layers::AnalysisOptions;

    /// Address space for a hostile run: far below what the unbounded walk needed (8 GB for a
    /// deep path), well above what imgopt needs for these small images.
    const AS_LIMIT: u64 = 3 << 30;
    const DEADLINE: Duration = Duration::from_secs(60);

    fn layout(tars: &[Vec<u8>], c: Compression) -> (tempfile::TempDir, String, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let digests = write_oci_layout(&dir.path().join("img"), tars, c);
        let spec = format!("oci:{}", dir.path().join("img").display());
        (dir, spec, digests)
    }

    #[test]
    fn a_path_of_100k_components_is_refused_naming_the_layer() {
        let tar = RawTar::new().long_name_file(&deep_path(100_000), b"x").done();
        let err = scan(&mut Cursor::new(&tar), &ScanOptions::default()).unwrap_err();
        assert!(matches!(err, ScanError::Limit { .. }), "{err}");
        assert!(err.to_string().contains("4096"), "{err}");
        let (_d, spec, digests) = layout(&[tar], Compression::Gzip);
        let r = run_imgopt_limited(&["layers", &spec], AS_LIMIT, DEADLINE);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains(&digests[0]), "names the layer digest: {}", r.stderr);
        assert!(r.stderr.contains("4096-byte limit"), "{}", r.stderr);
    }

    #[test]
    fn deep_paths_within_path_max_without_parent_entries_stay_bounded() {
        // 2000 components under a distinct top directory per entry, no directory entries:
        // the merge would create ~2000 parents of ~2 KiB each per entry.
        let mut t = RawTar::new();
        for i in 0..40 {
            let mut p = format!("t{i:03}/").into_bytes();
            p.extend_from_slice(&deep_path(2000));
            t = t.long_name_file(&p, b"x");
        }
        let tar = t.done();
        let err = within(DEADLINE, move || {
            scan(&mut Cursor::new(&tar), &ScanOptions::default()).unwrap_err()
        });
        assert!(matches!(err, ScanError::Limit { .. }), "{err}");
        assert!(err.to_string().contains("parent directory"), "{err}");
        // The same depth with its directories listed is fine (and linear).
        let mut t = RawTar::new();
        let mut p = String::new();
        for _ in 0..1000 {
            p.push_str("a/");
            t = t.long_name_file(p.as_bytes(), b"");
        }
        let r = analyze_with(&[t.done()], ScanOptions::default(), AnalysisOptions::default());
        assert_eq!(r.layers[0].entries, 1000);
    }

    #[test]
    fn long_name_and_pax_records_claiming_hundreds_of_mib_are_refused_unread() {
        for (flag, claimed, kind) in [(b'L', 512u64 << 20, "GNU long name"), (b'x', 256 << 20, "PAX")] {
            let tar = RawTar::new().oversized_record(flag, claimed).done();
            let err = scan(&mut Cursor::new(&tar), &ScanOptions::default()).unwrap_err();
            assert!(matches!(err, ScanError::Limit { .. }), "{err}");
            assert!(err.to_string().contains(kind), "{err}");
            let (_d, spec, digests) = layout(&[tar], Compression::Gzip);
            let r = run_imgopt_limited(&["layers", &spec], AS_LIMIT, DEADLINE);
            assert_eq!(r.code, Some(2), "{r:?}");
            assert!(r.stderr.contains(&digests[0]), "{}", r.stderr);
        }
    }

    #[test]
    fn a_sparse_file_of_2_pow_55_bytes_ends_quickly_against_the_bomb_limits() {
        let tar = RawTar::new().sparse("huge", 1 << 55, b"hello").done();
        let (_d, spec, digests) = layout(&[tar], Compression::Gzip);
        for extra in [&[][..], &["--no-verify"][..]] {
            let mut args = vec!["layers", spec.as_str()];
            args.extend_from_slice(extra);
            let r = run_imgopt_limited(&args, AS_LIMIT, DEADLINE);
            assert_eq!(r.code, Some(2), "{r:?}");
            assert!(r.stderr.contains(&digests[0]), "{}", r.stderr);
            assert!(r.stderr.contains("sparse"), "{}", r.stderr);
        }
        // A 1 GiB hole in a tiny blob passes the absolute limit but not the ratio.
        let tar = RawTar::new().sparse("gig", 1 << 30, b"hello").done();
        let (_d, spec, _) = layout(&[tar], Compression::Gzip);
        let r = run_imgopt_limited(&["layers", &spec], AS_LIMIT, DEADLINE);
        assert_eq!(r.code, Some(2), "{r:?}");
        assert!(r.stderr.contains("sparse holes included"), "{}", r.stderr);
    }

    #[test]
    fn a_small_sparse_file_is_content_without_reading_its_holes() {
        let tar = RawTar::new().sparse("s", 1 << 20, b"hello").file("f", b"abc").done();
        let r = analyze_with(&[tar], ScanOptions::default(), AnalysisOptions::default());
        assert_eq!(r.layers[0].content_bytes.0, (1 << 20) + 3);
        assert_eq!(r.totals.final_files, 2);
    }

    #[test]
    fn sizes_from_the_image_saturate_instead_of_wrapping() {
        // Two sparse files of 2^63 bytes: a wrapping sum says 5 content bytes.
        let tar = RawTar::new()
            .sparse("a", 1 << 63, b"he")
            .sparse("b", 1 << 63, b"llo")
            .done();
        let opts = ScanOptions {
            max_hole_bytes: u64::MAX,
            ..ScanOptions::default()
        };
        let s = scan(&mut Cursor::new(&tar), &opts).unwrap();
        assert_eq!(s.content_bytes, u64::MAX);
        let r = analyze_with(&[tar.clone(), tar], opts, AnalysisOptions::default());
        assert_eq!(r.totals.content_bytes.0, u64::MAX);
        assert_eq!(r.layers[0].content_bytes.0, u64::MAX);
        // The default limits refuse it, naming the holes.
        let err = scan(
            &mut Cursor::new(&RawTar::new().sparse("a", 1 << 63, b"he").done()),
            &ScanOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("holes"), "{err}");
    }

    #[test]
    fn package_attribution_stays_linear_on_repeated_stanzas_and_long_lists() {
        // 20,000 stanzas naming one package whose list has 20,000 lines, plus a list line of
        // 500k components: quadratic attribution took minutes.
        let mut status = String::new();
        for _ in 0..20_000 {
            status.push_str("Package: p\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n");
        }
        let mut list = String::new();
        for i in 0..20_000 {
            list.push_str(&format!("/usr/share/p/f{i}\n"));
        }
        list.push_str(&"/a".repeat(500_000));
        list.push('\n');
        let mut t = RawTar::new()
            .dir("usr/")
            .dir("usr/share/")
            .dir("usr/share/p/")
            .file("var/lib/dpkg/status", status.as_bytes());
        t = t.file("var/lib/dpkg/info/p.list", list.as_bytes());
        for i in 0..2_000 {
            t = t.file(&format!("usr/share/p/f{i}"), b"12345");
        }
        let tar = t.done();
        let r = within(DEADLINE, move || {
            analyze_with(&[tar], ScanOptions::default(), AnalysisOptions::default())
        });
        assert_eq!(r.packages.len(), 1, "a repeated stanza is one package");
        assert_eq!((r.packages[0].files, r.packages[0].bytes), (2_000, 10_000));
    }

    #[test]
    fn package_databases_past_the_layer_capture_total_are_skipped_with_a_warning() {
        let opts = ScanOptions {
            capture_total_limit: 1000,
            ..ScanOptions::default()
        };
        let tar = RawTar::new()
            .file("var/lib/dpkg/info/a.list", &[b'a'; 600])
            .file("var/lib/dpkg/info/b.list", &[b'b'; 600])
            .done();
        let s = scan(&mut Cursor::new(&tar), &opts).unwrap();
        assert_eq!(s.captured.len(), 1);
        assert!(s.warnings.iter().any(|w| w.contains("1000 bytes")), "{:?}", s.warnings);
    }
}

#[test]
fn largest_files_mark_what_a_later_layer_removed_in_json_human_and_markdown() {
    let long = format!("keep/{}", "n".repeat(300));
    let l0 = Tar::new()
        .file("var/lib/apt/lists/big_Packages", &bytes(5000, 1))
        .file(&long, &bytes(3000, 2))
        .file("app/model.bin", &bytes(4000, 3))
        .done();
    let l1 = Tar::new()
        .whiteout("var/lib/apt", "lists")
        .file("app/model.bin", &bytes(4000, 4))
        .done();
    let r = analyze(&[l0, l1]);
    let top = |layer: usize, p: &str| r.layers[layer].top_files.iter().find(|f| f.path == p).unwrap().in_final;
    assert_eq!(top(0, "/var/lib/apt/lists/big_Packages"), Some(false), "deleted later");
    assert_eq!(top(0, "/app/model.bin"), Some(false), "written again later");
    assert_eq!(top(1, "/app/model.bin"), Some(true));
    assert_eq!(top(0, &format!("/{long}")), Some(true));
    assert!(r.layers[0].top_dirs.iter().all(|d| d.in_final.is_none()));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["layers"][0]["top_files"][0]["in_final"], false);
    assert!(json["layers"][0]["top_dirs"][0].get("in_final").is_none());

    for width in [100u16, 80, 160] {
        let mut out = Vec::new();
        imgopt::report::human::layers::render_width(&r, 10, width, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(line.chars().count() <= usize::from(width), "wider than {width}: {line}");
        }
        let big = text.lines().find(|l| l.contains("big_Packages")).unwrap();
        assert!(big.contains("no ✗"), "{big}");
        assert!(text.contains("✗ not in the final image"), "{text}");
        let cut = text.lines().find(|l| l.contains("/keep/nnn")).unwrap();
        assert!(cut.contains("n…"), "a cut path ends with an ellipsis: {cut}");
        assert_eq!(
            text.contains('█') || text.contains('░'),
            width >= 120,
            "the bar needs room"
        );
    }
    let mut md = Vec::new();
    imgopt::report::markdown::layers::render(&r, 10, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    let row = md
        .lines()
        .find(|l| l.contains("big_Packages") && l.contains("| 0 |"))
        .unwrap();
    assert!(row.contains("**no**"), "{row}");
}

mod props {
    //! The tar/whiteout walk on random small tars, and on random damage to them: it never
    //! panics, its work is bounded by the stream, and an accepted image keeps the invariants.
    use std::io::Cursor;

    use proptest::prelude::*;

    use super::{ScanOptions, Tar, analyze_with, scan, scan_seek};
    use imgopt::layers::AnalysisOptions;

    #[derive(Clone, Debug)]
    enum Op {
        File(String, usize, u8),
        Dir(String),
        Symlink(String, String),
        Hardlink(String, String),
        Whiteout(String),
        Opaque(String),
    }

    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", ".wh.a", ".wh..wh..opq"]), 1..4)
            .prop_map(|v| v.join("/"))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (path(), 0usize..700, any::<u8>()).prop_map(|(p, n, s)| Op::File(p, n, s)),
            2 => path().prop_map(Op::Dir),
            1 => (path(), path()).prop_map(|(a, b)| Op::Symlink(a, b)),
            1 => (path(), path()).prop_map(|(a, b)| Op::Hardlink(a, b)),
            2 => path().prop_map(Op::Whiteout),
            1 => path().prop_map(Op::Opaque),
        ]
    }

    fn build(ops: &[Op]) -> Vec<u8> {
        let mut t = Tar::new();
        for o in ops {
            t = match o {
                Op::File(p, n, s) => t.file(p, &super::bytes(*n, *s)),
                Op::Dir(p) => t.dir(p),
                Op::Symlink(p, to) => t.symlink(p, to),
                Op::Hardlink(p, to) => t.hardlink(p, to),
                Op::Whiteout(p) => {
                    let (d, n) = p.rsplit_once('/').unwrap_or(("", p));
                    t.whiteout(d, n)
                }
                Op::Opaque(p) => t.opaque(p),
            };
        }
        t.done()
    }

    /// Found by the property below in CI: a file replaced by an empty file of the same name
    /// as its parent folder, a folder below it, and a hard link to the replaced path. The waste
    /// kinds must still sum to the reclaimable bytes.
    #[test]
    fn a_file_over_a_folder_with_a_hardlink_keeps_the_waste_sums() {
        let layers = [
            vec![Op::File("c/a".into(), 1, 0)],
            vec![
                Op::File("c".into(), 0, 0),
                Op::Dir("c/a/a".into()),
                Op::Hardlink("c".into(), "a".into()),
            ],
        ];
        let tars: Vec<Vec<u8>> = layers.iter().map(|l| build(l)).collect();
        for hash in [false, true] {
            let opts = ScanOptions {
                hash_content: hash,
                ..ScanOptions::default()
            };
            let r = analyze_with(&tars, opts, AnalysisOptions::default());
            assert!(r.totals.final_content_bytes.0 <= r.totals.content_bytes.0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_layers_walk_and_stack_without_panics(
            layers in prop::collection::vec(prop::collection::vec(op(), 0..12), 1..4),
            hash in any::<bool>(),
        ) {
            let tars: Vec<Vec<u8>> = layers.iter().map(|l| build(l)).collect();
            let opts = ScanOptions { hash_content: hash, ..ScanOptions::default() };
            for t in &tars {
                let a = scan(&mut Cursor::new(t), &opts).unwrap();
                let b = scan_seek(&mut Cursor::new(t), &ScanOptions { hash_content: false, ..opts }).unwrap();
                prop_assert_eq!(a.content_bytes, b.content_bytes);
                prop_assert!(a.entries.len() <= t.len() / 512);
            }
            // analyze_with checks that the waste kinds sum to the reclaimable bytes.
            let r = analyze_with(&tars, opts, AnalysisOptions::default());
            prop_assert!(r.totals.final_content_bytes.0 <= r.totals.content_bytes.0);
        }

        #[test]
        fn damaged_tars_are_errors_or_results_never_panics(
            ops in prop::collection::vec(op(), 1..8),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut t = build(&ops);
            for (i, b) in &flips {
                let at = i.index(t.len());
                t[at] ^= b | 1;
            }
            if truncate {
                let n = cut.index(t.len());
                t.truncate(n);
            }
            for hash in [true, false] {
                let opts = ScanOptions { hash_content: hash, ..ScanOptions::default() };
                if let Ok(s) = scan(&mut Cursor::new(&t), &opts) {
                    prop_assert!(s.entries.len() <= t.len() / 512 + 1);
                }
                let _ = scan_seek(&mut Cursor::new(&t), &opts);
            }
        }
    }
}
