//! The registry source against the real CNCF distribution registry on 127.0.0.1 (started by
//! scripts/test.sh), directly and through a fault-injecting proxy of our own.
//!
//! The expected digests come from the OCI layouts the fixtures were pushed from (an
//! independent reader: skopeo pushed them), and sizes from images.tsv.

use crate::support;
use crate::support::hostile;

use std::time::Duration;

use imgopt::digest::Digest;
use imgopt::source::auth::{AuthFiles, Credentials, Secret};
use imgopt::source::blob::{self, LayerReadOptions, LayerStats};
use imgopt::source::registry::RegistrySource;
use imgopt::source::spec::{self, SourceOptions, SourceSpec};
use imgopt::source::{Error, ImageSource, Manifest};
use support::fault_proxy::{Fault, FaultProxy};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Fast, bounded options: short stall timeout and backoff, no credential files.
fn quick() -> SourceOptions {
    SourceOptions {
        timeout: Duration::from_secs(2),
        backoff: Duration::from_millis(10),
        attempts: 4,
        auth_files: AuthFiles::default(),
        ..SourceOptions::default()
    }
}

/// Reads every layer of `m` through `open_layer`, returning the stats (verification included).
fn read_layers(rt: &tokio::runtime::Runtime, src: &impl ImageSource, m: &Manifest) -> Result<Vec<LayerStats>, Error> {
    let cfg = rt.block_on(src.config(m))?;
    let mut out = Vec::new();
    for (i, desc) in m.layers.iter().enumerate() {
        let b = rt.block_on(src.blob(desc))?;
        let mut s = blob::open_layer(b, desc, cfg.diff_ids.get(i), &LayerReadOptions::default(), rt.handle())?;
        std::io::copy(&mut s, &mut std::io::sink()).map_err(|e| Error::from_io(e, "layer"))?;
        out.push(s.finish()?);
    }
    Ok(out)
}

fn local_manifests(rt: &tokio::runtime::Runtime, name: &str) -> Option<Vec<Manifest>> {
    let fx = support::fixtures_dir()?;
    let spec = SourceSpec::parse(&format!("oci:{}", fx.join("oci").join(name).display())).unwrap();
    let src = spec::open(&spec, &SourceOptions::default()).unwrap();
    Some(rt.block_on(src.manifests()).unwrap())
}

#[test]
fn anonymous_pull_of_every_fixture_matches_the_oci_layout() {
    let (Some(reg), Some(fx)) = (support::registry(), support::fixtures_dir()) else {
        return;
    };
    let rt = rt();
    let tsv = std::fs::read_to_string(fx.join("images.tsv")).unwrap();
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    for line in lines {
        let row: std::collections::BTreeMap<&str, &str> = header.iter().copied().zip(line.split('\t')).collect();
        let name = row["name"];
        let src = RegistrySource::new(&format!("{reg}/imgopt/{name}:latest"), &quick()).unwrap();
        assert!(!src.is_local());
        let remote = rt.block_on(src.manifests()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let local = local_manifests(&rt, name).unwrap();
        assert_eq!(remote.len(), local.len(), "{name}");
        let (mut compressed, mut tar) = (0u64, 0u64);
        for (r, l) in remote.iter().zip(&local) {
            assert_eq!(r.digest, l.digest, "{name}");
            assert_eq!(r.config.digest, l.config.digest, "{name}");
            assert_eq!(r.layers, l.layers, "{name}");
            assert_eq!(r.platform, l.platform, "{name}");
            let stats = read_layers(&rt, &src, r).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(stats.iter().all(|s| s.verified), "network bytes are always verified");
            compressed += stats.iter().map(|s| s.compressed_bytes).sum::<u64>();
            tar += stats.iter().map(|s| s.tar_bytes).sum::<u64>();
        }
        assert_eq!(compressed.to_string(), row["compressed_bytes"], "{name}");
        assert_eq!(tar.to_string(), row["uncompressed_bytes"], "{name}");
        assert_eq!(
            src.net_counts().retries,
            0,
            "{name}: a healthy registry needs no retries"
        );
    }
}

#[test]
fn no_verify_does_not_apply_to_network_bytes() {
    let Some(reg) = support::registry() else { return };
    let rt = rt();
    let src = RegistrySource::new(&format!("{reg}/imgopt/static-tiny:latest"), &quick()).unwrap();
    let m = rt.block_on(src.manifest()).unwrap();
    let cfg = rt.block_on(src.config(&m)).unwrap();
    let lro = LayerReadOptions {
        verify: false,
        ..LayerReadOptions::default()
    };
    let b = rt.block_on(src.blob(&m.layers[0])).unwrap();
    let mut s = blob::open_layer(b, &m.layers[0], cfg.diff_ids.first(), &lro, rt.handle()).unwrap();
    std::io::copy(&mut s, &mut std::io::sink()).unwrap();
    assert!(s.finish().unwrap().verified);
}

#[test]
fn multi_platform_selection() {
    let Some(reg) = support::registry() else { return };
    let rt = rt();
    let Some(local) = local_manifests(&rt, "static-tiny-multi") else {
        return;
    };
    for (want, idx) in [("linux/amd64", 0), ("linux/arm64", 1), ("linux/arm64/v8", 1)] {
        let opts = SourceOptions {
            platform: Some(want.parse().unwrap()),
            ..quick()
        };
        let src = spec::open(
            &SourceSpec::parse(&format!("{reg}/imgopt/static-tiny-multi:latest")).unwrap(),
            &opts,
        )
        .unwrap();
        let m = rt.block_on(src.manifest()).unwrap();
        assert_eq!(m.digest, local[idx].digest, "{want}");
        let cfg = rt.block_on(src.config(&m)).unwrap();
        assert_eq!(cfg.platform.architecture, want.split('/').nth(1).unwrap());
    }
    let opts = SourceOptions {
        platform: Some("linux/riscv64".parse().unwrap()),
        ..quick()
    };
    let src = RegistrySource::new(&format!("{reg}/imgopt/static-tiny-multi:latest"), &opts).unwrap();
    let err = rt.block_on(src.manifest()).unwrap_err();
    assert!(matches!(err, Error::NoMatchingPlatform { .. }), "{err}");
    assert!(err.to_string().contains("linux/arm64/v8"), "{err}");
    // By digest: the index digest from images.tsv resolves the same way.
    let fx = support::fixtures_dir().unwrap();
    let tsv = std::fs::read_to_string(fx.join("images.tsv")).unwrap();
    let digest = tsv
        .lines()
        .find(|l| l.starts_with("static-tiny-multi\t"))
        .unwrap()
        .rsplit('\t')
        .next()
        .unwrap();
    let opts = SourceOptions {
        platform: Some("linux/arm64".parse().unwrap()),
        ..quick()
    };
    let src = RegistrySource::new(&format!("{reg}/imgopt/static-tiny-multi@{digest}"), &opts).unwrap();
    assert_eq!(rt.block_on(src.manifest()).unwrap().digest, local[1].digest);
}

#[test]
fn not_found_names_the_reference() {
    let Some(reg) = support::registry() else { return };
    let rt = rt();
    for r in [
        format!("{reg}/imgopt/does-not-exist:latest"),
        format!("{reg}/imgopt/static-tiny:no-such-tag"),
    ] {
        let src = RegistrySource::new(&r, &quick()).unwrap();
        let err = rt.block_on(src.manifest()).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{r}: {err:?}");
        assert!(err.to_string().contains(&r), "{err}");
    }
    // A blob the repository lacks.
    let src = RegistrySource::new(&format!("{reg}/imgopt/static-tiny:latest"), &quick()).unwrap();
    let mut m = rt.block_on(src.manifest()).unwrap();
    m.layers[0].digest = Digest::sha256_of(b"no such blob");
    let b = rt.block_on(src.blob(&m.layers[0])).unwrap();
    let err = blob::open_layer(b, &m.layers[0], None, &LayerReadOptions::default(), rt.handle())
        .err()
        .unwrap();
    assert!(matches!(err, Error::BlobMissing { .. }), "{err:?}");
}

#[test]
fn htpasswd_auth() {
    let Some((reg, user, pass)) = support::auth_registry() else {
        return;
    };
    let rt = rt();
    let r = format!("{reg}/imgopt/static-tiny:latest");
    // The right password.
    let good = SourceOptions {
        credentials: Some(Credentials::Basic {
            username: user.clone(),
            password: Secret::new(pass.clone()),
        }),
        ..quick()
    };
    let src = RegistrySource::new(&r, &good).unwrap();
    let m = rt.block_on(src.manifest()).unwrap();
    let stats = read_layers(&rt, &src, &m).unwrap();
    assert_eq!(stats.len(), m.layers.len());
    // A wrong password: a clear 401 that never shows the password.
    let wrong_pass = format!("{pass}-wrong");
    let bad = SourceOptions {
        credentials: Some(Credentials::Basic {
            username: user.clone(),
            password: Secret::new(wrong_pass.clone()),
        }),
        ..quick()
    };
    let src = RegistrySource::new(&r, &bad).unwrap();
    let err = rt.block_on(src.manifest()).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { status: 401, .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(&wrong_pass) && !shown.contains(&pass), "{shown}");
    assert!(shown.contains(&r), "{shown}");
    // No credentials: 401 with a hint.
    let src = RegistrySource::new(&r, &quick()).unwrap();
    let err = rt.block_on(src.manifest()).unwrap_err();
    assert!(err.to_string().contains("docker login"), "{err}");
    // Credentials from a DOCKER_CONFIG folder's config.json.
    let dir = tempfile::tempdir().unwrap();
    let cfg = serde_json::json!({"auths": {reg.clone(): {"username": user, "password": pass}}});
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    let from_file = SourceOptions {
        auth_files: AuthFiles::docker_config_dir(dir.path()),
        ..quick()
    };
    let src = RegistrySource::new(&r, &from_file).unwrap();
    assert_eq!(
        src.credential_origin(),
        Some(&imgopt::source::auth::CredentialOrigin::DockerConfig)
    );
    let m2 = rt.block_on(src.manifest()).unwrap();
    assert_eq!(m2.digest, m.digest);
    read_layers(&rt, &src, &m2).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Faults, through our proxy. Assertions are on behaviour (what was requested, what was
// returned), never on durations.

/// What a read through the proxy gave: the result, the source's counters, the blob requests.
type ProxyRun = (
    Result<Vec<LayerStats>, Error>,
    imgopt::source::registry::NetCounts,
    Vec<support::fault_proxy::Logged>,
);

/// Reads static-tiny through a proxy with `faults`; returns the result, the source's counters
/// and the proxy's blob requests.
fn through_proxy(faults: Vec<(Fault, usize)>, opts: SourceOptions) -> Option<ProxyRun> {
    let reg = support::registry()?;
    let proxy = FaultProxy::start(&reg, faults);
    let rt = rt();
    let src = RegistrySource::new(&format!("{}/imgopt/static-tiny:latest", proxy.addr()), &opts).unwrap();
    let res = rt.block_on(src.manifest()).and_then(|m| read_layers(&rt, &src, &m));
    Some((res, src.net_counts(), proxy.blob_requests()))
}

#[test]
fn server_errors_are_retried() {
    let Some((res, counts, log)) = through_proxy(
        vec![(
            Fault::Status {
                code: 503,
                retry_after: None,
            },
            2,
        )],
        quick(),
    ) else {
        return;
    };
    res.unwrap();
    assert_eq!(counts.retries, 2);
    // The first blob was asked for three times: two 503s, then the real one.
    assert_eq!(log[0].path, log[2].path);
    assert!(log[0].fault.is_some() && log[1].fault.is_some() && log[2].fault.is_none());
}

#[test]
fn manifest_requests_are_retried_too() {
    let Some(reg) = support::registry() else { return };
    let proxy = FaultProxy::start_on(
        &reg,
        "/manifests/",
        vec![(
            Fault::Status {
                code: 502,
                retry_after: None,
            },
            2,
        )],
    );
    let rt = rt();
    let src = RegistrySource::new(&format!("{}/imgopt/static-tiny:latest", proxy.addr()), &quick()).unwrap();
    rt.block_on(src.manifest()).unwrap();
    assert_eq!(src.net_counts().retries, 2);
    let manifests: Vec<_> = proxy
        .log()
        .into_iter()
        .filter(|l| l.path.contains("/manifests/"))
        .collect();
    assert_eq!(manifests.len(), 3);
    // A 404 is not retried.
    let src = RegistrySource::new(&format!("{}/imgopt/nope:latest", proxy.addr()), &quick()).unwrap();
    assert!(matches!(rt.block_on(src.manifest()), Err(Error::NotFound { .. })));
    assert_eq!(src.net_counts().retries, 0);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let Some((res, counts, log)) = through_proxy(
        vec![(
            Fault::Status {
                code: 429,
                retry_after: Some(1),
            },
            1,
        )],
        quick(),
    ) else {
        return;
    };
    res.unwrap();
    assert_eq!(counts.retries, 1);
    assert_eq!(log[0].path, log[1].path);
    // A Retry-After beyond the limit is not waited out: a clear error instead.
    let opts = SourceOptions {
        max_retry_after: Duration::from_secs(5),
        ..quick()
    };
    let (res, _, _) = through_proxy(
        vec![(
            Fault::Status {
                code: 429,
                retry_after: Some(3600),
            },
            1,
        )],
        opts,
    )
    .unwrap();
    let err = res.unwrap_err();
    assert!(
        matches!(err, Error::Registry { .. }) && err.to_string().contains("Retry-After"),
        "{err}"
    );
}

#[test]
fn persistent_server_errors_give_up() {
    let opts = SourceOptions { attempts: 3, ..quick() };
    let Some((res, counts, log)) = through_proxy(
        vec![(
            Fault::Status {
                code: 500,
                retry_after: None,
            },
            100,
        )],
        opts,
    ) else {
        return;
    };
    let err = res.unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err:?}");
    assert!(
        err.to_string().contains("gave up after 3 attempts") && err.to_string().contains("HTTP 500"),
        "{err}"
    );
    assert_eq!(counts.retries, 2);
    assert_eq!(log.len(), 3);
}

#[test]
fn forbidden_and_unauthorized_blobs_are_clear_errors() {
    let Some((res, counts, log)) = through_proxy(
        vec![(
            Fault::Status {
                code: 403,
                retry_after: None,
            },
            1,
        )],
        quick(),
    ) else {
        return;
    };
    let err = res.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { status: 403, .. }), "{err:?}");
    assert!(
        err.to_string().contains("403") && err.to_string().contains("imgopt/static-tiny"),
        "{err}"
    );
    assert_eq!((counts.retries, log.len()), (0, 1), "a 403 is not retried");
    // A 401 mid-pull (an expired token) gets one fresh token and one more try.
    let (res, counts, log) = through_proxy(
        vec![(
            Fault::Status {
                code: 401,
                retry_after: None,
            },
            1,
        )],
        quick(),
    )
    .unwrap();
    res.unwrap();
    assert_eq!((counts.retries, log.len() > 1), (1, true));
    let (res, _, _) = through_proxy(
        vec![(
            Fault::Status {
                code: 401,
                retry_after: None,
            },
            2,
        )],
        quick(),
    )
    .unwrap();
    assert!(matches!(res.unwrap_err(), Error::Unauthorized { status: 401, .. }));
}

#[test]
fn connection_cut_mid_blob_resumes_with_range() {
    let Some((res, counts, log)) = through_proxy(vec![(Fault::CutBody, 1)], quick()) else {
        return;
    };
    let stats = res.unwrap();
    assert!(stats.iter().all(|s| s.verified));
    assert_eq!(counts.resumes, 1);
    // Every blob GET the proxy saw is counted (the config's and the resumed one included).
    assert_eq!(counts.blob_requests, log.len() as u64);
    assert!(counts.manifest_requests >= 1);
    // The retry asked for the rest of the same blob from where the cut happened.
    assert_eq!(log[0].path, log[1].path);
    let range = log[1].range.as_deref().expect("a Range request");
    let from: u64 = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from > 0, "{range}");
}

#[test]
fn registry_ignoring_range_is_reread_from_the_start() {
    let Some((res, counts, log)) = through_proxy(vec![(Fault::CutBody, 1), (Fault::IgnoreRange, 1)], quick()) else {
        return;
    };
    res.unwrap();
    assert_eq!((counts.resumes, counts.range_ignored), (1, 1));
    assert!(log[1].range.is_some() && log[1].fault == Some(Fault::IgnoreRange));
}

#[test]
fn stalled_connection_times_out_and_resumes() {
    let opts = SourceOptions {
        timeout: Duration::from_secs(1),
        ..quick()
    };
    let Some((res, counts, log)) = through_proxy(vec![(Fault::Stall, 1)], opts) else {
        return;
    };
    res.unwrap();
    assert!(counts.resumes >= 1, "{counts:?}");
    assert_eq!(log[0].path, log[1].path);
    assert!(log[1].range.is_some());
    // Stalls every time: gives up with a stall message, not a hang.
    let opts = SourceOptions {
        timeout: Duration::from_secs(1),
        attempts: 2,
        ..quick()
    };
    let (res, _, _) = through_proxy(vec![(Fault::Stall, 100)], opts).unwrap();
    let err = res.unwrap_err().to_string();
    // Each resume gets half of what is left: progress, so the attempts start over, and the
    // blob's deadline (or, once no byte comes at all, the attempts) ends it.
    assert!(
        err.contains("gave up after 2 attempts") || err.contains("longer than its deadline"),
        "{err}"
    );
}

#[test]
fn silent_registry_times_out() {
    let opts = SourceOptions {
        timeout: Duration::from_secs(1),
        ..quick()
    };
    let Some((res, counts, log)) = through_proxy(vec![(Fault::Silent, 1)], opts) else {
        return;
    };
    res.unwrap();
    assert_eq!(counts.retries, 1);
    assert_eq!(log[0].path, log[1].path);
    assert!(log[1].range.is_none(), "nothing was received, so nothing to resume");
    let opts = SourceOptions {
        timeout: Duration::from_secs(1),
        attempts: 2,
        ..quick()
    };
    let (res, _, _) = through_proxy(vec![(Fault::Silent, 100)], opts).unwrap();
    let err = res.unwrap_err();
    assert!(err.to_string().contains("gave up after 2 attempts"), "{err}");
}

#[test]
fn unreachable_registry_fails_fast() {
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rt = rt();
    let opts = SourceOptions { attempts: 2, ..quick() };
    let src = RegistrySource::new(&format!("127.0.0.1:{port}/imgopt/x:latest"), &opts).unwrap();
    let err = rt.block_on(src.manifest()).unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err:?}");
    assert!(err.to_string().contains("gave up after 2 attempts"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Non-loopback registries: HTTPS by default, `--plain-http`, `--insecure`.

/// This machine's non-loopback IPv4 address (the interface of the default route), if any.
fn outward_ip() -> Option<String> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // connect() on UDP sends nothing; it only picks the outgoing interface.
    sock.connect("192.0.2.1:9")
        .or_else(|_| sock.connect("10.255.255.1:9"))
        .ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| ip.to_string())
}

/// Says loudly that the machine has no non-loopback address. Not a CI failure even with
/// IMGOPT_REQUIRE_CORPUS=1: it is a property of the machine, not missing setup.
#[allow(clippy::print_stderr)]
fn no_outward_ip() -> Option<String> {
    eprintln!("\n*** SKIPPED: this machine has no non-loopback IPv4 address ***\n");
    None
}

#[test]
fn plain_http_is_needed_for_a_non_loopback_http_registry() {
    let Some(reg) = support::registry() else { return };
    let Some(ip) = outward_ip().or_else(no_outward_ip) else {
        return;
    };
    let proxy = FaultProxy::start_bound(&ip, &reg, "/nothing/", vec![]);
    let r = format!("{}/imgopt/static-tiny:latest", proxy.addr());
    let rt = rt();
    // Without --plain-http imgopt speaks TLS to it, which fails cleanly.
    let opts = SourceOptions { attempts: 1, ..quick() };
    let err = rt
        .block_on(RegistrySource::new(&r, &opts).unwrap().manifest())
        .unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err:?}");
    assert!(err.to_string().contains("--plain-http"), "{err}");
    // With it, the pull works.
    let opts = SourceOptions {
        plain_http: true,
        ..quick()
    };
    let src = RegistrySource::new(&r, &opts).unwrap();
    let m = rt.block_on(src.manifest()).unwrap();
    read_layers(&rt, &src, &m).unwrap();
}

/// A TLS registry (self-signed certificate) on a non-loopback address, stopped on drop.
struct TlsRegistry {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_registry(ip: &str) -> Option<TlsRegistry> {
    let registry = support::tool("docker-registry").or_else(|| support::tool("registry"))?;
    let openssl = support::tool("openssl")?;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = std::process::Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=imgopt-test",
        ])
        .arg("-addext")
        .arg(format!("subjectAltName=IP:{ip}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "openssl could not make a certificate");
    let port = std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("{ip}:{port}");
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n  tls:\n    certificate: {}\n    key: {}\n",
        dir.path().join("storage").display(),
        cert.display(),
        key.display()
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let child = std::process::Command::new(registry)
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let reg = TlsRegistry { child, addr, _dir: dir };
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(&reg.addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "the TLS registry did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(reg)
}

#[test]
fn insecure_accepts_a_self_signed_registry() {
    let Some(ip) = outward_ip().or_else(no_outward_ip) else {
        return;
    };
    let Some(reg) = tls_registry(&ip) else { return };
    let r = format!("{}/imgopt/nothing:latest", reg.addr);
    let rt = rt();
    // The certificate is not trusted: a clear failure, not a hang.
    let opts = SourceOptions { attempts: 1, ..quick() };
    let err = rt
        .block_on(RegistrySource::new(&r, &opts).unwrap().manifest())
        .unwrap_err();
    assert!(matches!(err, Error::Registry { .. }), "{err:?}");
    assert!(err.to_string().contains("--insecure"), "{err}");
    // --insecure: the TLS connection works and the (empty) registry answers 404.
    let opts = SourceOptions {
        insecure: true,
        ..quick()
    };
    let err = rt
        .block_on(RegistrySource::new(&r, &opts).unwrap().manifest())
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// credHelpers: a `docker-credential-*` program on PATH supplies the password. PATH can only be
// changed for a child process, so the test re-runs this test binary with a PATH that holds a
// helper script of ours, and the child does the pull.

const HELPER_CHILD: &str = "IMGOPT_TEST_HELPER_CHILD";

#[test]
fn credential_helper_supplies_the_password() {
    let Some((reg, user, pass)) = support::auth_registry() else {
        return;
    };
    if std::env::var_os(HELPER_CHILD).is_some() {
        return; // the child runs helper_child_pull instead
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // The helper protocol: `get` reads the server address on stdin and prints
    // {"ServerURL", "Username", "Secret"} (docker-credential-helpers' README).
    let log = dir.path().join("asked");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nserver=$(cat)\nprintf '%s' \"$server\" > '{}'\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{pass}\"}}' \"$server\"\n",
        log.display()
    );
    let helper = bin.join("docker-credential-imgopttest");
    std::fs::write(&helper, script).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&helper)
        .status()
        .unwrap();
    let conf = dir.path().join("docker");
    std::fs::create_dir(&conf).unwrap();
    let cfg = serde_json::json!({"credHelpers": {reg.clone(): "imgopttest"}});
    std::fs::write(conf.join("config.json"), cfg.to_string()).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg(
            // This test's own path in its binary (`registry::helper_child_pull` in a group).
            module_path!()
                .split_once("::")
                .map_or("helper_child_pull".to_string(), |(_, m)| {
                    format!("{m}::helper_child_pull")
                }),
        )
        .args(["--exact", "--nocapture", "--test-threads", "1"])
        .env(HELPER_CHILD, &conf)
        .env("PATH", path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    assert!(!text.contains(&pass), "the password must not be printed");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        reg,
        "the helper was asked for this registry"
    );
}

/// Runs only as the child of `credential_helper_supplies_the_password` (it returns at once
/// otherwise): pulls from the htpasswd registry with the Docker config the parent wrote.
#[test]
fn helper_child_pull() {
    let Some(conf) = std::env::var_os(HELPER_CHILD) else {
        return;
    };
    let (reg, _, _) = support::auth_registry().unwrap();
    let rt = rt();
    let opts = SourceOptions {
        auth_files: AuthFiles::docker_config_dir(std::path::Path::new(&conf)),
        ..quick()
    };
    let src = RegistrySource::new(&format!("{reg}/imgopt/static-tiny:latest"), &opts).unwrap();
    assert_eq!(
        src.credential_origin(),
        Some(&imgopt::source::auth::CredentialOrigin::DockerConfig)
    );
    let m = rt.block_on(src.manifest()).unwrap();
    read_layers(&rt, &src, &m).unwrap();
}

/// The layers analysis runs source calls on tokio tasks: every source and its futures must be
/// `Send` (and the source `Sync`), the registry one included. A compile-time check.
#[test]
fn sources_and_their_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Sync>(_: &T) {}
    let src = spec::open(&SourceSpec::parse("127.0.0.1:1/imgopt/x:latest").unwrap(), &quick()).unwrap();
    sync(&src);
    send(&src);
    let m = src.manifest();
    send(&m);
    let ms = src.manifests();
    send(&ms);
    let desc = imgopt::source::Descriptor::new("application/vnd.oci.image.layer.v1.tar", Digest::sha256_of(b""), 0);
    let b = src.blob(&desc);
    send(&b);
    let manifest = imgopt::source::Manifest {
        digest: Digest::sha256_of(b"m"),
        media_type: String::new(),
        config: desc.clone(),
        layers: vec![],
        platform: None,
        index: None,
    };
    let c = src.config(&manifest);
    send(&c);
}

// ---------------------------------------------------------------------------------------------
// `imgopt layers -v` against the registries: what the network did, where the credentials came
// from (never what they are).

fn imgopt_with_stdin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    support::imgopt()
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent")
        .stdin(stdin)
        .output()
}

#[test]
fn verbose_layers_reports_the_network_and_the_credential_source() {
    let Some(reg) = support::registry() else { return };
    let r = format!("{reg}/imgopt/static-tiny-multi:latest");
    let o = imgopt_with_stdin(&["layers", "-v", "--platform", "linux/arm64", &r], b"");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("imgopt: source: registry {r} (registry)\n")),
        "{err}"
    );
    assert!(err.contains("imgopt: credentials: none (anonymous)\n"), "{err}");
    assert!(err.contains("imgopt: resolved: image index sha256:"), "{err}");
    assert!(
        err.contains("lists 2 image manifests; chose linux/arm64/v8 (wanted linux/arm64)"),
        "{err}"
    );
    assert_eq!(err.matches("; from network, verified, ").count(), 2, "{err}");
    // Index and manifest; one token exchange (anonymous here); the config and two layers.
    assert!(
        err.contains("imgopt: network: 6 requests (2 manifest, 1 token, 3 blob), "),
        "{err}"
    );
    assert!(err.contains("0 retries, 0 resumed ranges"), "{err}");
}

#[test]
fn verbose_layers_with_credentials_never_shows_them() {
    let Some((reg, user, pass)) = support::auth_registry() else {
        return;
    };
    let r = format!("{reg}/imgopt/static-tiny:latest");
    let o = imgopt_with_stdin(
        &["layers", "-v", "--username", &user, "--password-stdin", &r],
        pass.as_bytes(),
    );
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("imgopt: credentials: --username and --password-stdin\n"),
        "{err}"
    );
    assert!(err.contains("imgopt: network: "), "{err}");
    assert!(!err.contains(&pass) && !out.contains(&pass), "{err}");
    // Without credentials the run fails, and -v has still said what it tried.
    let o = imgopt_with_stdin(&["layers", "-v", &r], b"");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("imgopt: credentials: none (anonymous)\n"), "{err}");
    assert!(
        err.contains("imgopt: network: 2 requests (1 manifest, 1 token, 0 blob)"),
        "{err}"
    );
    assert!(err.contains("authentication required (401)"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Hostile registries (issue 18): capped bodies, deadlines, errors that say what happened. The
// misbehaving server is the fault proxy answering every request itself (its upstream is never
// contacted) or slowing the real registry down; each read runs under a deadline.

/// A port nobody listens on (bound, then released).
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scripted(faults: Vec<(Fault, usize)>) -> FaultProxy {
    FaultProxy::start_on(&format!("127.0.0.1:{}", dead_port()), "/", faults)
}

fn manifest_error(proxy: &FaultProxy, opts: SourceOptions) -> Error {
    let r = format!("{}/imgopt/x:latest", proxy.addr());
    hostile::within(Duration::from_secs(60), move || {
        let rt = rt();
        let src = RegistrySource::new(&r, &opts).unwrap();
        rt.block_on(src.manifest()).expect_err("a hostile registry must fail")
    })
}

fn challenge(realm: &str) -> Fault {
    Fault::Respond {
        code: 401,
        headers: vec![(
            "WWW-Authenticate".into(),
            format!("Bearer realm=\"{realm}\",service=\"test\""),
        )],
        body: Vec::new(),
    }
}

#[test]
fn endless_manifest_and_token_bodies_end_at_their_caps() {
    // An endless manifest.
    let proxy = scripted(vec![
        (
            Fault::Respond {
                code: 200,
                headers: Vec::new(),
                body: Vec::new(),
            },
            1,
        ),
        (Fault::Endless, 1),
    ]);
    let err = manifest_error(&proxy, quick()).to_string();
    assert!(
        err.contains("manifest is larger than the 4194304 bytes allowed"),
        "{err}"
    );
    // An endless token answer.
    let proxy = scripted(vec![(challenge("http://{self}/token"), 1), (Fault::Endless, 1)]);
    let err = manifest_error(&proxy, quick()).to_string();
    assert!(err.contains("token is larger than the 1048576 bytes allowed"), "{err}");
    // The same through the binary, under an address-space limit: exit 2.
    let proxy = scripted(vec![
        (
            Fault::Respond {
                code: 200,
                headers: Vec::new(),
                body: Vec::new(),
            },
            1,
        ),
        (Fault::Endless, 1),
    ]);
    let r = format!("{}/imgopt/x:latest", proxy.addr());
    let run = hostile::run_limited(&["layers", &r], Duration::from_secs(60));
    assert!(!run.timed_out);
    assert_eq!(run.code, Some(2), "{}", run.err());
}

#[test]
fn token_realms_that_sent_nothing_do_not_blame_the_credentials() {
    let opts = SourceOptions {
        attempts: 2,
        credentials: Some(Credentials::Basic {
            username: "u".into(),
            password: Secret::new("p"),
        }),
        ..quick()
    };
    let proxy = scripted(vec![(challenge("file:///etc/passwd"), 10)]);
    let err = manifest_error(&proxy, opts.clone()).to_string();
    assert!(
        err.contains("not http(s)") && err.contains("no credentials were sent"),
        "{err}"
    );
    assert!(!err.contains("refused the credentials"), "{err}");
    let proxy = scripted(vec![(
        challenge(&format!("http://127.0.0.1:{}/token", dead_port())),
        10,
    )]);
    let err = manifest_error(&proxy, opts).to_string();
    assert!(
        err.contains("token service") && err.contains("could not connect"),
        "{err}"
    );
    assert!(!err.contains("refused the credentials"), "{err}");
}

#[test]
fn redirect_loops_and_bad_ports_say_so() {
    let redirect = Fault::Respond {
        code: 302,
        headers: vec![("Location".into(), "http://{self}/v2/imgopt/x/manifests/latest".into())],
        body: Vec::new(),
    };
    let proxy = scripted(vec![
        (
            Fault::Respond {
                code: 200,
                headers: Vec::new(),
                body: Vec::new(),
            },
            1,
        ),
        (redirect, 100),
    ]);
    let err = manifest_error(&proxy, quick()).to_string();
    assert!(err.contains("redirects in a loop"), "{err}");
    assert!(!err.contains("missing from"), "{err}");
    let err = RegistrySource::new("127.0.0.1:99999/app:1", &quick())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("port `99999` is not a TCP port"), "{err}");
    assert!(!err.contains("Generic error"), "{err}");
}

#[test]
fn a_trickling_blob_ends_at_its_deadline() {
    let Some(reg) = support::registry() else { return };
    let proxy = FaultProxy::start(&reg, vec![(Fault::Trickle { every_ms: 20 }, 100)]);
    let r = format!("{}/imgopt/static-tiny:latest", proxy.addr());
    let opts = SourceOptions {
        timeout: Duration::from_secs(1),
        min_rate: 1 << 20,
        attempts: 1,
        ..quick()
    };
    let err = hostile::within(Duration::from_secs(60), move || {
        let rt = rt();
        let src = RegistrySource::new(&r, &opts).unwrap();
        let m = rt.block_on(src.manifest()).unwrap();
        read_layers(&rt, &src, &m).expect_err("a trickle must end")
    })
    .to_string();
    assert!(err.contains("longer than its deadline"), "{err}");
}
