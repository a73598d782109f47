//! A tar stream of `n` one-byte files, generated while it is read and never held in memory:
//! the input of the bounded-memory tests.

use std::io::Read;

/// `n` one-byte regular files, the i-th at `path(i)`, then the two zero blocks that end a tar.
pub struct ManyFiles {
    n: u64,
    i: u64,
    path: fn(u64) -> String,
    buf: Vec<u8>,
    pos: usize,
}

impl ManyFiles {
    /// A stream of `n` files named by `path`.
    pub fn new(n: u64, path: fn(u64) -> String) -> Self {
        Self {
            n,
            i: 0,
            path,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ManyFiles {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.i < self.n {
                let mut h = tar::Header::new_gnu();
                h.set_path((self.path)(self.i))?;
                h.set_size(1);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_cksum();
                self.buf.extend_from_slice(h.as_bytes());
                let mut data = [0u8; 512];
                data[0] = b'x';
                self.buf.extend_from_slice(&data);
                self.i += 1;
            } else if self.i == self.n {
                self.buf.extend_from_slice(&[0u8; 1024]);
                self.i += 1;
            } else {
                return Ok(0);
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}
