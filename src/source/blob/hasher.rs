//! SHA-256 of a blob's bytes, inline for small blobs and on a helper thread for big ones, so
//! hashing overlaps decompression and the tar walk instead of adding to them.

use crate::digest::{Digest, Sha256};

/// Blobs at least this big are hashed on a helper thread, so SHA-256 overlaps decompression
/// and the tar walk instead of adding to them (on two cores the second one hashes while the
/// first inflates).
const BACKGROUND_HASH_MIN: u64 = 4 << 20;
/// Blocks in flight to the hashing thread (bounded memory: at most `HASH_QUEUE + 2` of the
/// caller's blocks exist per hasher, and they are reused, never freed and reallocated: a
/// fresh allocation per block costs a page fault per 4 KiB, which showed up as a third of the
/// hashing time).
const HASH_QUEUE: usize = 4;

/// SHA-256, inline for small blobs and on a helper thread for big ones.
pub(super) enum Hasher {
    Inline(Sha256),
    Background {
        /// Blocks to hash, with the length to hash (a block keeps its full length, so a
        /// recycled one is never zeroed again).
        tx: std::sync::mpsc::SyncSender<(Vec<u8>, usize)>,
        /// Blocks the thread has hashed, back for reuse.
        spent: std::sync::mpsc::Receiver<Vec<u8>>,
        handle: std::thread::JoinHandle<Sha256>,
    },
}

impl Hasher {
    pub(super) fn new(size_hint: u64) -> Self {
        if size_hint < BACKGROUND_HASH_MIN {
            return Hasher::Inline(Sha256::new());
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(HASH_QUEUE);
        // Unbounded, but only blocks that exist travel back: at most HASH_QUEUE + 2.
        let (back, spent) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new().name("imgopt-sha256".into()).spawn(move || {
            let mut h = Sha256::new();
            for (block, len) in rx {
                h.update(block.get(..len).unwrap_or(&block));
                // The reader may be gone (finalize): the block is then simply dropped.
                let _ = back.send(block);
            }
            h
        });
        match spawned {
            Ok(handle) => Hasher::Background { tx, spent, handle },
            Err(_) => Hasher::Inline(Sha256::new()),
        }
    }

    /// Hashes `block[..len]` and returns a block to fill next: the same block when hashing
    /// inline, a recycled (or new) one when the block went to the hashing thread. Blocks keep
    /// their length, so a recycled one need not be zeroed again.
    pub(super) fn update_owned(&mut self, block: Vec<u8>, len: usize) -> Vec<u8> {
        match self {
            Hasher::Inline(h) => {
                h.update(block.get(..len).unwrap_or(&block));
                block
            }
            Hasher::Background { tx, spent, .. } => {
                let cap = block.capacity();
                if len > 0 {
                    let _ = tx.send((block, len));
                }
                spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(cap))
            }
        }
    }

    pub(super) fn finalize(self) -> [u8; 32] {
        match self {
            Hasher::Inline(h) => h.finish(),
            Hasher::Background { tx, handle, .. } => {
                drop(tx);
                // The thread only hashes; if it died, hash nothing rather than panic: the
                // digest then mismatches and the layer fails with a clear error.
                handle.join().unwrap_or_default().finish()
            }
        }
    }
}

pub(super) fn digest_of(h: Option<Hasher>) -> Digest {
    let hex = hex::encode(h.map_or_else(|| Sha256::new().finish(), Hasher::finalize));
    Digest::parse(&format!("sha256:{hex}")).unwrap_or_else(|_| Digest::sha256_of(b""))
}
