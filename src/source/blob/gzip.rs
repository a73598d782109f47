//! gzip members inflated without the CRC-32 (the diff_id's SHA-256 covers every byte).

use std::io::{self, BufRead, Read};

/// gzip without the CRC-32: the members of a gzip stream (RFC 1952 section 2.2: one or more
/// members back to back), each a header, a raw deflate stream and an 8-byte trailer, inflated
/// with the same decompressor as [`flate2::bufread::MultiGzDecoder`] but without computing the
/// CRC-32 of the output.
///
/// Used only when the decompressed bytes are hashed against the config's diff_id: SHA-256 over
/// every decompressed byte is a far stronger check than the trailer's CRC-32 (RFC 1952 section
/// 2.3.1), and the blob digest covers the headers and trailers, so skipping the CRC loses no
/// integrity while saving about a tenth of the CPU time of a gzip layer. The trailer's ISIZE
/// (the length mod 2^32) is still checked, as it costs nothing. Unverified reads
/// (`--no-verify`, or a layer without a diff_id) keep flate2's decoder and its CRC check.
pub(super) struct GzipMembers<R> {
    r: R,
    z: flate2::Decompress,
    in_member: bool,
    done: bool,
    /// Output bytes of the current member (mod 2^32, as ISIZE counts).
    size: u32,
}

/// gzip header flag bits (RFC 1952 section 2.3.1).
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

fn gz_err(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl<R: BufRead> GzipMembers<R> {
    pub(super) fn new(r: R) -> Self {
        Self {
            r,
            z: flate2::Decompress::new(false),
            in_member: false,
            done: false,
            size: 0,
        }
    }

    pub(super) fn get_ref(&self) -> &R {
        &self.r
    }

    pub(super) fn get_mut(&mut self) -> &mut R {
        &mut self.r
    }

    pub(super) fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b).map_err(|e| truncated(e, "a gzip header"))?;
        Ok(b[0])
    }

    pub(super) fn skip_exact(&mut self, mut n: usize) -> io::Result<()> {
        while n > 0 {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the gzip stream ends inside a header",
                ));
            }
            let k = avail.len().min(n);
            self.r.consume(k);
            n -= k;
        }
        Ok(())
    }

    pub(super) fn skip_zero_terminated(&mut self) -> io::Result<()> {
        while self.byte()? != 0 {}
        Ok(())
    }

    /// Reads the next member's header; `false` at a clean end of the stream.
    pub(super) fn start_member(&mut self) -> io::Result<bool> {
        let head = self.r.fill_buf()?;
        if head.is_empty() {
            return Ok(false);
        }
        if head[0] != 0x1f || head.get(1).is_some_and(|&b| b != 0x8b) {
            return Err(gz_err(
                "invalid gzip header (bytes after a member are not another member)",
            ));
        }
        let mut h = [0u8; 10];
        self.r.read_exact(&mut h).map_err(|e| truncated(e, "a gzip header"))?;
        if h[0] != 0x1f || h[1] != 0x8b {
            return Err(gz_err(
                "invalid gzip header (bytes after a member are not another member)",
            ));
        }
        if h[2] != 8 {
            return Err(gz_err(format!("unsupported gzip compression method {}", h[2])));
        }
        let flags = h[3];
        if flags & 0xe0 != 0 {
            return Err(gz_err("invalid gzip header: reserved flag bits set"));
        }
        if flags & FEXTRA != 0 {
            let lo = self.byte()?;
            let hi = self.byte()?;
            self.skip_exact(usize::from(u16::from_le_bytes([lo, hi])))?;
        }
        if flags & FNAME != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_zero_terminated()?;
        }
        if flags & FHCRC != 0 {
            // The header CRC-16 is covered by the blob digest like every other stored byte.
            self.skip_exact(2)?;
        }
        self.z.reset(false);
        self.size = 0;
        Ok(true)
    }

    pub(super) fn end_member(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.r.read_exact(&mut t).map_err(|e| truncated(e, "a gzip trailer"))?;
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        if isize != self.size {
            return Err(gz_err(format!(
                "gzip trailer says {isize} bytes (mod 2^32), the member inflated to {}",
                self.size
            )));
        }
        Ok(())
    }
}

fn truncated(e: io::Error, what: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the gzip stream ends inside {what}"),
        )
    } else {
        e
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if !self.in_member {
                if !self.start_member()? {
                    self.done = true;
                    return Ok(0);
                }
                self.in_member = true;
            }
            let input = self.r.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, dst, flate2::FlushDecompress::None)
                .map_err(|e| gz_err(format!("corrupt deflate stream: {e}")))?;
            let consumed = usize::try_from(self.z.total_in() - before_in).unwrap_or(0);
            let produced = usize::try_from(self.z.total_out() - before_out).unwrap_or(0);
            self.r.consume(consumed);
            // ISIZE is the length modulo 2^32 (RFC 1952 section 2.3.1): truncation is meant.
            #[allow(clippy::cast_possible_truncation)]
            {
                self.size = self.size.wrapping_add(produced as u32);
            }
            if status == flate2::Status::StreamEnd {
                self.end_member()?;
                self.in_member = false;
                if produced > 0 {
                    return Ok(produced);
                }
                continue;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the gzip stream ends inside a deflate stream",
                ));
            }
            if consumed == 0 {
                // Input and room were both there and nothing moved: never spin.
                return Err(gz_err("corrupt deflate stream: the decoder made no progress"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    /// Deterministic, partly compressible bytes.
    fn sample_bytes(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if i % 3 == 0 { b'a' + (i % 7) as u8 } else { x as u8 }
            })
            .collect()
    }

    fn gzip_member(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        use std::io::Write as _;
        let mut e = builder.write(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Adds an FHCRC field (the CRC-16 of the header, RFC 1952 section 2.3.1) to a member
    /// without other optional fields.
    fn with_header_crc(member: &[u8]) -> Vec<u8> {
        let mut header = member[..10].to_vec();
        header[3] |= FHCRC;
        let mut crc = flate2::Crc::new();
        crc.update(&header);
        let crc16 = (crc.sum() & 0xffff) as u16;
        let mut out = header;
        out.extend_from_slice(&crc16.to_le_bytes());
        out.extend_from_slice(&member[10..]);
        out
    }

    fn read_all_with(r: &mut impl Read, chunk: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn gzip_members_match_flate2_and_the_input() {
        let parts = [
            sample_bytes(300_000, 1),
            Vec::new(),
            sample_bytes(70_000, 2),
            sample_bytes(5, 3),
        ];
        let mut stream = gzip_member(&parts[0], flate2::GzBuilder::new().filename("a.tar").comment("c"));
        stream.extend(gzip_member(
            &parts[1],
            flate2::GzBuilder::new().extra(b"SG\x04\0abcd".to_vec()),
        ));
        stream.extend(with_header_crc(&gzip_member(&parts[2], flate2::GzBuilder::new())));
        stream.extend(gzip_member(&parts[3], flate2::GzBuilder::new()));
        let want: Vec<u8> = parts.concat();
        // The reference decoder agrees on the test stream (it checks CRCs and the header CRC).
        let mut reference = Vec::new();
        flate2::read::MultiGzDecoder::new(&stream[..])
            .read_to_end(&mut reference)
            .unwrap();
        assert_eq!(reference, want);
        for chunk in [1, 7, 512, 128 * 1024] {
            let mut g = GzipMembers::new(BufReader::with_capacity(4096, &stream[..]));
            assert_eq!(read_all_with(&mut g, chunk).unwrap(), want, "chunk {chunk}");
        }
        let mut empty = GzipMembers::new(BufReader::new(&b""[..]));
        assert_eq!(read_all_with(&mut empty, 64).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn gzip_members_reject_truncation_at_every_cut() {
        let data = sample_bytes(20_000, 9);
        let mut stream = gzip_member(&data, flate2::GzBuilder::new().filename("x"));
        stream.extend(gzip_member(&data[..100], flate2::GzBuilder::new()));
        for cut in 1..stream.len() {
            let mut g = GzipMembers::new(BufReader::with_capacity(512, &stream[..cut]));
            let got = read_all_with(&mut g, 4096);
            // A cut exactly between two members is a complete, shorter gzip stream.
            if let Ok(out) = &got {
                let first = gzip_member(&data, flate2::GzBuilder::new().filename("x")).len();
                assert_eq!(cut, first, "cut at {cut} of {} read as complete", stream.len());
                assert_eq!(out, &data);
            }
        }
    }

    #[test]
    fn gzip_members_check_isize_and_garbage() {
        let data = sample_bytes(10_000, 4);
        let good = gzip_member(&data, flate2::GzBuilder::new());
        let mut bad_size = good.clone();
        let n = bad_size.len();
        bad_size[n - 1] ^= 1;
        let err = read_all_with(&mut GzipMembers::new(BufReader::new(&bad_size[..])), 4096).unwrap_err();
        assert!(err.to_string().contains("trailer says"), "{err}");
        let mut garbage = good.clone();
        garbage.extend_from_slice(b"PK\x03\x04");
        let err = read_all_with(&mut GzipMembers::new(BufReader::new(&garbage[..])), 4096).unwrap_err();
        assert!(err.to_string().contains("invalid gzip header"), "{err}");
        let mut damaged = good;
        damaged[20] ^= 0xff;
        damaged[21] ^= 0xff;
        // Damage inside the deflate data is either a decoder error or different output (which
        // the diff_id check catches); it never reads back as the original bytes.
        if let Ok(out) = read_all_with(&mut GzipMembers::new(BufReader::new(&damaged[..])), 4096) {
            assert_ne!(out, data);
        }
    }
}
