//! A small HTTP/1.1 proxy of our own on 127.0.0.1 in front of a real registry, injecting
//! faults into the first N blob requests (`GET /v2/<repo>/blobs/<digest>`).
//!
//! Each client request is forwarded on a fresh upstream connection with `Connection: close`,
//! so one TCP connection carries one request and the proxy sees every request (path and
//! `Range` header are logged for the tests to assert on). Faults:
//! - [`Fault::Status`]: answer with a status (5xx, 429) and an optional `Retry-After`,
//!   without asking the registry;
//! - [`Fault::CutBody`]: relay the headers and half the body, then close the connection
//!   (the client sees the connection break mid-blob);
//! - [`Fault::Stall`]: relay the headers and half the body, then send nothing (the client's
//!   stall timeout must fire);
//! - [`Fault::IgnoreRange`]: drop the `Range` header (a registry without range support);
//! - [`Fault::Silent`]: accept the request and never answer.
//! - [`Fault::Respond`]: answer with a status, headers and body of the test's choosing
//!   (`{self}` in a header value is replaced by the proxy's own `host:port`): token
//!   challenges with odd realms, redirect loops;
//! - [`Fault::Endless`]: answer 200 with a body that never ends (no `Content-Length`);
//! - [`Fault::Trickle`]: relay the registry's answer one byte per `every_ms`.
#![allow(dead_code, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A fault to inject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status; `retry_after` seconds in a `Retry-After` header.
    Status { code: u16, retry_after: Option<u64> },
    /// Relay half the body, then close.
    CutBody,
    /// Relay half the body, then go silent (until the client gives up or the proxy stops).
    Stall,
    /// Forward without the client's `Range` header.
    IgnoreRange,
    /// Answer nothing at all (not even headers) until the client gives up.
    Silent,
    /// Answer with this status, these headers and this body (no registry involved).
    Respond {
        code: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Answer 200 with an endless body (until the client hangs up, or 16 GiB).
    Endless,
    /// Relay the registry's answer, the body one byte per `every_ms` milliseconds.
    Trickle { every_ms: u64 },
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Logged {
    /// Request path.
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

struct Plan {
    /// Requests whose path contains this get the faults (`/blobs/` by default).
    target: String,
    /// (fault, how many more matching requests get it), applied in order.
    faults: Vec<(Fault, usize)>,
    log: Vec<Logged>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: String,
    stop: Arc<AtomicBool>,
    plan: Arc<Mutex<Plan>>,
    accept: Option<thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`). The first `n` blob requests get `fault`
    /// for each `(fault, n)` in order; later ones pass through.
    pub fn start(upstream: &str, faults: Vec<(Fault, usize)>) -> Self {
        Self::start_on(upstream, "/blobs/", faults)
    }

    /// Like [`FaultProxy::start`], for requests whose path contains `target` (`/manifests/`).
    pub fn start_on(upstream: &str, target: &str, faults: Vec<(Fault, usize)>) -> Self {
        Self::start_bound("127.0.0.1", upstream, target, faults)
    }

    /// Like [`FaultProxy::start_on`], listening on `bind_ip` (a non-loopback address makes
    /// the client treat the registry as remote: HTTPS unless `--plain-http`).
    pub fn start_bound(bind_ip: &str, upstream: &str, target: &str, faults: Vec<(Fault, usize)>) -> Self {
        let listener = TcpListener::bind((bind_ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let plan = Arc::new(Mutex::new(Plan {
            target: target.to_string(),
            faults,
            log: Vec::new(),
        }));
        let (stop2, plan2, upstream) = (Arc::clone(&stop), Arc::clone(&plan), upstream.to_string());
        let me = addr.clone();
        let accept = thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (stop3, plan3, up, me) = (Arc::clone(&stop2), Arc::clone(&plan2), upstream.clone(), me.clone());
                thread::spawn(move || {
                    let _ = serve(conn, &up, &me, &plan3, &stop3);
                });
            }
        });
        Self {
            addr,
            stop,
            plan,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The requests seen so far.
    pub fn log(&self) -> Vec<Logged> {
        self.plan.lock().unwrap().log.clone()
    }

    /// Blob requests seen so far.
    pub fn blob_requests(&self) -> Vec<Logged> {
        self.log().into_iter().filter(|l| l.path.contains("/blobs/")).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wake the accept loop
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn serve(client: TcpStream, upstream: &str, me: &str, plan: &Mutex<Plan>, stop: &AtomicBool) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    // Request line and headers (GETs only carry no body; a body is passed on by length).
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    let header = |name: &str| {
        headers.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let range = header("range");
    let body_len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; body_len];
    reader.read_exact(&mut body)?;
    let fault = {
        let mut p = plan.lock().unwrap();
        let mut chosen = None;
        if path.contains(p.target.as_str())
            && let Some((f, n)) = p.faults.iter_mut().find(|(_, n)| *n > 0)
        {
            *n -= 1;
            chosen = Some(f.clone());
        }
        p.log.push(Logged {
            path: path.clone(),
            range: range.clone(),
            fault: chosen.clone(),
        });
        chosen
    };
    if let Some(Fault::Status { code, retry_after }) = &fault {
        let mut resp = format!("HTTP/1.1 {code} Injected\r\nContent-Length: 0\r\nConnection: close\r\n");
        if let Some(s) = retry_after {
            resp.push_str(&format!("Retry-After: {s}\r\n"));
        }
        resp.push_str("\r\n");
        client.write_all(resp.as_bytes())?;
        return client.shutdown(Shutdown::Both);
    }
    if let Some(Fault::Respond { code, headers, body }) = &fault {
        let mut resp = format!(
            "HTTP/1.1 {code} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            resp.push_str(&format!("{k}: {}\r\n", v.replace("{self}", me)));
        }
        resp.push_str("\r\n");
        client.write_all(resp.as_bytes())?;
        client.write_all(body)?;
        return client.shutdown(Shutdown::Both);
    }
    if fault == Some(Fault::Endless) {
        client.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n",
        )?;
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0u64;
        while !stop.load(Ordering::SeqCst) && sent < (16 << 30) {
            if client.write_all(&chunk).is_err() {
                return Ok(()); // the client hung up: what it should do
            }
            sent += chunk.len() as u64;
        }
        return client.shutdown(Shutdown::Both);
    }
    if fault == Some(Fault::Silent) {
        wait_for_hangup(&client, stop)?;
        return client.shutdown(Shutdown::Both);
    }
    let mut up = TcpStream::connect(upstream)?;
    let mut out = format!("{}\r\n", request_line.trim_end());
    for h in &headers {
        let name = h.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        if name == "connection" || (name == "range" && fault == Some(Fault::IgnoreRange)) {
            continue;
        }
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes())?;
    up.write_all(&body)?;
    // Relay the response headers, then the body (all of it, or half for the cut faults).
    let mut up_reader = BufReader::new(up);
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if up_reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let end = line == b"\r\n";
        head.extend_from_slice(&line);
        if end {
            break;
        }
    }
    client.write_all(&head)?;
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: Option<u64> = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)));
    let limit = match (&fault, length) {
        (Some(Fault::CutBody | Fault::Stall), Some(n)) => n / 2,
        _ => u64::MAX,
    };
    let mut sent = 0u64;
    if let Some(Fault::Trickle { every_ms }) = &fault {
        let mut byte = [0u8; 1];
        while !stop.load(Ordering::SeqCst) && up_reader.read(&mut byte)? == 1 {
            if client.write_all(&byte).is_err() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(*every_ms));
        }
        return client.shutdown(Shutdown::Both);
    }
    let mut buf = vec![0u8; 16 * 1024];
    while sent < limit {
        let want = buf.len().min(usize::try_from(limit - sent).unwrap_or(usize::MAX));
        let n = up_reader.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        client.write_all(&buf[..n])?;
        sent += n as u64;
    }
    client.flush()?;
    if fault == Some(Fault::Stall) {
        wait_for_hangup(&client, stop)?;
    }
    client.shutdown(Shutdown::Both)
}

/// Holds the connection open, silent, until the client hangs up or the proxy stops (at most
/// 30 s).
fn wait_for_hangup(client: &TcpStream, stop: &AtomicBool) -> std::io::Result<()> {
    let started = Instant::now();
    client.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut probe = [0u8; 1];
    let mut c = client;
    while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(30) {
        match c.read(&mut probe) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    Ok(())
}
