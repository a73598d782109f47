//! SHA-256 of a blob's bytes, inline for small blobs and on a helper thread for big ones, so
//! hashing overlaps decompression and the tar walk instead of adding to them.

use crate::digest::{Digest, Sha256};

/// Blobs at least this big are hashed on a helper thread, so SHA-256 overlaps decompression
/// and the tar walk instead of adding to them (on two cores the second one hashes while the
/// first inflates).
const BACKGROUND_HASH_MIN: u64 = 4 << 20;
/// Blocks handed to the hashing thread at once. The thread hashes faster than blocks are
/// decoded, so it sleeps between hand-overs; handing blocks over one by one woke it (a futex
/// wake on the reader's thread, a context switch on both) once per block.
const BATCH: usize = 4;
/// Batches in flight to the hashing thread. Memory stays bounded: at most
/// `(HASH_QUEUE + 2) * BATCH + 1` of the caller's blocks exist per hasher (one batch being
/// filled, the queue, one being hashed, the caller's current block), and they are reused, never
/// freed and reallocated: a fresh allocation per block costs a page fault per 4 KiB, which
/// showed up as a third of the hashing time.
const HASH_QUEUE: usize = 1;

/// SHA-256, inline for small blobs and on a helper thread for big ones.
pub(super) enum Hasher {
    Inline(Sha256),
    Background {
        /// Batches of blocks to hash, each with the length to hash (a block keeps its full
        /// length, so a recycled one is never zeroed again).
        tx: std::sync::mpsc::SyncSender<Vec<(Vec<u8>, usize)>>,
        /// The batch being filled.
        pending: Vec<(Vec<u8>, usize)>,
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
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Vec<u8>, usize)>>(HASH_QUEUE);
        // Unbounded, but only blocks that exist travel back (see HASH_QUEUE).
        let (back, spent) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new().name("imgopt-sha256".into()).spawn(move || {
            let mut h = Sha256::new();
            for batch in rx {
                for (block, len) in batch {
                    h.update(block.get(..len).unwrap_or(&block));
                    // The reader may be gone (finalize): the block is then simply dropped.
                    let _ = back.send(block);
                }
            }
            h
        });
        match spawned {
            Ok(handle) => Hasher::Background {
                tx,
                pending: Vec::with_capacity(BATCH),
                spent,
                handle,
            },
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
            Hasher::Background { tx, pending, spent, .. } => {
                let cap = block.capacity();
                if len > 0 {
                    pending.push((block, len));
                    if pending.len() >= BATCH {
                        let _ = tx.send(std::mem::replace(pending, Vec::with_capacity(BATCH)));
                    }
                }
                spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(cap))
            }
        }
    }

    pub(super) fn finalize(self) -> [u8; 32] {
        match self {
            Hasher::Inline(h) => h.finish(),
            Hasher::Background {
                tx, pending, handle, ..
            } => {
                if !pending.is_empty() {
                    let _ = tx.send(pending);
                }
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
