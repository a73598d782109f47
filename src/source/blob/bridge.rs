//! The async bridge: a network stream's chunks handed to the synchronous decoder through a
//! bounded channel, fed by a task on the runtime (network and decompression overlap; nothing is
//! spooled).

use std::io::{self, Read};

/// Bytes from a network stream, handed over through a bounded channel by a task on `rt`.
pub(super) struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    cur: bytes::Bytes,
    done: bool,
}

/// Chunks in flight between the network task and the decoder (bounded memory).
const CHANNEL_CHUNKS: usize = 32;

pub(super) fn channel_reader(
    mut stream: futures_util::stream::BoxStream<'static, io::Result<bytes::Bytes>>,
    rt: &tokio::runtime::Handle,
) -> (ChannelReader, tokio::task::JoinHandle<()>) {
    use futures_util::StreamExt as _;
    let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_CHUNKS);
    let handle = rt.spawn(async move {
        while let Some(item) = stream.next().await {
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    (
        ChannelReader {
            rx,
            cur: bytes::Bytes::new(),
            done: false,
        },
        handle,
    )
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                None => {
                    self.done = true;
                    return Ok(0);
                }
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}
