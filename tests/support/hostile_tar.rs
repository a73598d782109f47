//! Hostile layer tars written header by header (GNU sparse maps, long-name and PAX records
//! whose size fields claim far more than follows, paths with 100k components), an OCI layout
//! around raw layer tars, and a runner that starts `imgopt` under an address-space limit and a
//! deadline so a regression fails fast instead of taking the machine down.
//!
//! Header layout from POSIX.1-2001 ustar and GNU tar's documented format
//! (<https://www.gnu.org/software/tar/manual/html_node/Standard.html>).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::support::image_builder::{Compression, MT_OCI_CONFIG, MT_OCI_INDEX, MT_OCI_MANIFEST, sha256, write_tree};

/// A tar stream built block by block.
#[derive(Default)]
pub struct RawTar {
    bytes: Vec<u8>,
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0width$o}", width = field.len() - 1);
    assert!(
        s.len() < field.len(),
        "{v} does not fit an octal field of {}",
        field.len()
    );
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

/// GNU base-256: the high bit of the first byte set, the number big-endian in the rest.
fn base256(field: &mut [u8], v: u64) {
    field.fill(0);
    let n = field.len();
    field[n - 8..].copy_from_slice(&v.to_be_bytes());
    field[0] |= 0x80;
}

fn number(field: &mut [u8], v: u64) {
    if v < 8u64.pow(u32::try_from(field.len() - 1).unwrap()) {
        octal(field, v);
    } else {
        base256(field, v);
    }
}

/// A GNU header block (magic `ustar  \0`) with the checksum set.
fn header(name: &[u8], typeflag: u8, size: u64, fill: impl FnOnce(&mut [u8; 512])) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    number(&mut h[124..136], size);
    octal(&mut h[136..148], 1_000);
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar ");
    h[263..265].copy_from_slice(b" \0");
    fill(&mut h);
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    octal(&mut h[148..155], sum);
    h[155] = b' ';
    h
}

impl RawTar {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, block: &[u8]) {
        self.bytes.extend_from_slice(block);
        let pad = (512 - self.bytes.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0, pad));
    }

    /// A regular file (name up to 100 bytes).
    pub fn file(mut self, name: &str, data: &[u8]) -> Self {
        self.push(&header(name.as_bytes(), b'0', data.len() as u64, |_| {}));
        self.push(data);
        self
    }

    /// A directory.
    pub fn dir(mut self, name: &str) -> Self {
        self.push(&header(name.as_bytes(), b'5', 0, |_| {}));
        self
    }

    /// A regular file whose name comes from a GNU long-name (`L`) record.
    pub fn long_name_file(mut self, name: &[u8], data: &[u8]) -> Self {
        let mut rec = name.to_vec();
        rec.push(0);
        self.push(&header(b"././@LongLink", b'L', rec.len() as u64, |_| {}));
        self.push(&rec);
        self.file("placeholder", data)
    }

    /// An extension record (`L` GNU long name, `x` PAX) whose size field says `claimed` bytes
    /// while only one block follows, then a file: a reader that trusts the size holds
    /// `claimed` bytes (or reads to the end of the stream).
    pub fn oversized_record(mut self, typeflag: u8, claimed: u64) -> Self {
        self.push(&header(b"././@LongLink", typeflag, claimed, |_| {}));
        self.push(&[b'a'; 512]);
        self.file("after", b"x")
    }

    /// A GNU sparse file (`S`) of `real_size` bytes storing `data` at offset 0 and nothing
    /// else (the rest is a hole, closed by a zero-length chunk at `real_size`).
    pub fn sparse(mut self, name: &str, real_size: u64, data: &[u8]) -> Self {
        let stored = data.len() as u64;
        let h = header(name.as_bytes(), b'S', stored, |h| {
            // Slot 0: (0, stored); slot 1: (real_size, 0).
            number(&mut h[386..398], 0);
            number(&mut h[398..410], stored);
            number(&mut h[410..422], real_size);
            number(&mut h[422..434], 0);
            h[482] = 0;
            number(&mut h[483..495], real_size);
        });
        self.push(&h);
        self.push(data);
        self
    }

    /// The stream with its two end blocks.
    pub fn done(mut self) -> Vec<u8> {
        self.bytes.extend(std::iter::repeat_n(0, 1024));
        self.bytes
    }
}

/// A path of `depth` components (`a/a/…/a/f`).
pub fn deep_path(depth: usize) -> Vec<u8> {
    let mut p = b"a/".repeat(depth);
    p.push(b'f');
    p
}

/// Writes an OCI layout holding one image whose layers are the given tars as they are
/// (compressed with `c`). Returns the layers' blob digests.
pub fn write_oci_layout(dir: &Path, tars: &[Vec<u8>], c: Compression) -> Vec<String> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for t in tars {
        let blob = c.compress(t);
        let digest = sha256(&blob);
        layers.push(json!({"mediaType": c.media_type(), "digest": digest, "size": blob.len()}));
        diff_ids.push(sha256(t));
        history.push(json!({"created_by": "RUN hostile"}));
        files.push((format!("blobs/sha256/{}", &digest[7..]), blob));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
    }))
    .unwrap();
    let config_digest = sha256(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))
    .unwrap();
    let manifest_digest = sha256(&manifest);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MT_OCI_INDEX,
        "manifests": [{"mediaType": MT_OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len()}],
    }))
    .unwrap();
    files.push((format!("blobs/sha256/{}", &config_digest[7..]), config));
    files.push((format!("blobs/sha256/{}", &manifest_digest[7..]), manifest));
    files.push(("index.json".into(), index));
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    write_tree(dir, &files);
    layers
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// What a bounded run produced.
#[derive(Debug)]
pub struct Limited {
    /// The exit code (`None` when killed by a signal, e.g. on running out of address space).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `imgopt args` with its address space limited to `max_bytes` (through `prlimit --as`
/// when it is installed) and kills it after `deadline`, failing the test then.
pub fn run_imgopt_limited(args: &[&str], max_bytes: u64, deadline: Duration) -> Limited {
    let run = crate::support::imgopt()
        .args(args)
        .max_address_space(max_bytes)
        .deadline(deadline)
        .run();
    assert!(!run.timed_out, "imgopt {args:?} did not finish within {deadline:?}");
    Limited {
        code: run.code,
        stdout: run.out(),
        stderr: run.err(),
    }
}

/// Runs `f` on a thread and fails the test when it does not return within `deadline` (the
/// thread is left behind; the test process ends soon after).
pub fn within<T: Send + 'static>(deadline: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(deadline)
        .unwrap_or_else(|_| panic!("did not finish within {deadline:?}"))
}
