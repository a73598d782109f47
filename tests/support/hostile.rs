//! Hostile inputs for the source tests, and a way to run imgopt on them that fails fast: a
//! deadline (the child is killed when it passes) and, where `prlimit` exists, an address-space
//! limit, so a regression that loops or allocates without bound fails the test instead of
//! taking the machine down.
#![allow(dead_code, clippy::print_stderr)]

use std::path::Path;
use std::time::Duration;

/// Address space allowed to a hostile run (imgopt needs far less; a blow-up hits it).
pub const AS_LIMIT: u64 = 2 << 30;

/// What a limited run printed and how it ended.
pub use crate::support::run::Run;

/// Runs `imgopt args…` under the address-space limit and kills it after `deadline`.
pub fn run_limited(args: &[&str], deadline: Duration) -> Run {
    crate::support::imgopt()
        .args(args)
        .max_address_space(AS_LIMIT)
        .deadline(deadline)
        .run()
}

/// Runs `f` on a thread and fails the test if it takes longer than `deadline` (the thread is
/// left behind; the test process ends soon after).
pub fn within<T: Send + 'static>(deadline: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(deadline)
        .unwrap_or_else(|_| panic!("did not finish within {deadline:?}"))
}

/// Whether `bytes` hold a control character other than `\n` (an escape, BEL, NUL, C1).
pub fn has_control(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.chars().any(|c| c.is_control() && c != '\n')
}

/// A text file that looks like `/etc/shadow`, with a marker string on every line.
pub fn secret_file(path: &Path, marker: &str) {
    let text: String = (0..40)
        .map(|i| format!("user{i}:$6${marker}$hashhashhashhash:19000:0:99999:7:::\n"))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// `n` deterministic pseudo-random bytes (xorshift), with every byte value, escapes included.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Replaces `members`' `manifest.json` with `value`.
pub fn replace_member(files: &mut [(String, Vec<u8>)], name: &str, bytes: Vec<u8>) {
    let slot = files.iter_mut().find(|(n, _)| n == name).expect("member");
    slot.1 = bytes;
}

/// The member `name` parsed as JSON.
pub fn member_json(files: &[(String, Vec<u8>)], name: &str) -> serde_json::Value {
    let (_, b) = files.iter().find(|(n, _)| n == name).expect("member");
    serde_json::from_slice(b).unwrap()
}

/// An OCI layout whose `index.json` reaches `img`'s manifest through nested image indexes:
/// `levels` indexes deep, each listing the next one `repeat` times; with `distinct`, the top
/// index lists `repeat` different indexes instead (each listing the manifest).
pub fn nested_index_layout(
    dir: &Path,
    img: &crate::support::image_builder::BuiltImage,
    levels: usize,
    repeat: usize,
    distinct: bool,
) {
    use crate::support::image_builder::{MT_OCI_INDEX, MT_OCI_MANIFEST, sha256, write_tree};
    use serde_json::json;
    let mut files: Vec<(String, Vec<u8>)> = img
        .blobs
        .iter()
        .map(|(d, b)| (format!("blobs/sha256/{}", &d[7..]), b.clone()))
        .collect();
    let mut add = |bytes: Vec<u8>| {
        let d = sha256(&bytes);
        files.push((format!("blobs/sha256/{}", &d[7..]), bytes.clone()));
        json!({"mediaType": MT_OCI_INDEX, "digest": d, "size": bytes.len()})
    };
    let manifest = json!({"mediaType": MT_OCI_MANIFEST, "digest": img.manifest_digest,
        "size": img.manifest.len(), "platform": {"os": "linux", "architecture": "amd64"}});
    let mut child = if distinct {
        let kids: Vec<_> = (0..repeat)
            .map(|i| {
                let idx = json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [manifest],
                    "annotations": {"n": i.to_string()}});
                add(serde_json::to_vec(&idx).unwrap())
            })
            .collect();
        add(serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": kids})).unwrap())
    } else {
        add(
            serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [manifest]}))
                .unwrap(),
        )
    };
    for _ in 1..levels {
        let idx = json!({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
            "manifests": vec![child.clone(); repeat]});
        child = add(serde_json::to_vec(&idx).unwrap());
    }
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    let top = json!({"schemaVersion": 2, "manifests": [child]});
    files.push(("index.json".into(), serde_json::to_vec(&top).unwrap()));
    write_tree(dir, &files);
}
