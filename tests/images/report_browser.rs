//! `imgopt report` pages checked in a real browser (Debian's `chromium-headless-shell`): the
//! page loads nothing from the network and logs no console error, the DOM's node counts, costs
//! and instances per node equal `imgopt plan --format json`, and screenshots at 1280 and 390
//! pixels wide are not blank. Skips loudly without the browser (fails with
//! `IMGOPT_REQUIRE_CORPUS=1`).
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn imgopt(args: &[&str]) -> Output {
    support::imgopt().args(args).current_dir(root()).output()
}

fn browser() -> Option<PathBuf> {
    support::tool("chromium-headless-shell")
}

/// Runs the browser on `page` with `extra` flags; every request is sent to a proxy that is a
/// local listener the test watches (loopback included), so any network access is seen.
fn chromium(bin: &Path, page: &Path, extra: &[String]) -> (Output, usize) {
    let profile = tempfile::tempdir().unwrap();
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let port = trap.local_addr().unwrap().port();
    let logs = tempfile::tempdir().unwrap();
    let (so, se) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--proxy-bypass-list=<-loopback>",
        ])
        .arg(format!("--proxy-server=http://127.0.0.1:{port}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&so).unwrap())
        .stderr(std::fs::File::create(&se).unwrap())
        .spawn()
        .unwrap();
    // Each connection to the trap is counted and closed at once (the request then fails fast
    // instead of waiting for a proxy that never answers).
    let mut hits = 0;
    let start = std::time::Instant::now();
    let status = loop {
        while let Ok((mut s, _)) = trap.accept() {
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            hits += 1;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the browser did not finish loading {} in 120 s", page.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    while trap.accept().is_ok() {
        hits += 1;
    }
    let out = Output {
        status,
        stdout: std::fs::read(&so).unwrap(),
        stderr: std::fs::read(&se).unwrap(),
    };
    (out, hits)
}

/// Every `<tag ...>` start tag's attributes in `dom`, as maps, for tags that have `key`.
fn tags_with(dom: &str, key: &str) -> Vec<BTreeMap<String, String>> {
    let mut found = Vec::new();
    let needle = format!(" {key}=\"");
    let mut rest = dom;
    while let Some(i) = rest.find(&needle) {
        let start = rest[..i].rfind('<').unwrap();
        let end = i + rest[i..].find('>').unwrap();
        let tag = &rest[start..end];
        let mut attrs = BTreeMap::new();
        let mut t = tag;
        while let Some(eq) = t.find("=\"") {
            let name = t[..eq].rsplit(' ').next().unwrap().to_string();
            let after = &t[eq + 2..];
            let close = after.find('"').unwrap();
            attrs.insert(name, after[..close].to_string());
            t = &after[close + 1..];
        }
        found.push(attrs);
        rest = &rest[end..];
    }
    found
}

fn json_num(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// The DOM the browser builds has the planner's numbers, and loading it touches no network and
/// logs no console message.
#[test]
fn dom_numbers_equal_the_plan_json() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    for name in ["ubuntu-vs-alpine", "eks-web-api-worker", "gke-gpu-inference"] {
        let plan_file = format!("examples/plans/{name}.yaml");
        let page = dir.path().join(format!("{name}.html"));
        let out = imgopt(&["report", &plan_file, "-o", page.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let html = std::fs::read_to_string(&page).unwrap();
        for bad in [
            "<script",
            "@import",
            "url(http",
            "src=\"http",
            "href=\"http",
            "<link",
            "<img",
            "<iframe",
        ] {
            assert!(!html.contains(bad), "{name}: `{bad}` in the page");
        }
        let plan: serde_json::Value =
            serde_json::from_slice(&imgopt(&["plan", &plan_file, "--format", "json"]).stdout).unwrap();

        let (out, hits) = chromium(&bin, &page, &["--dump-dom".to_string()]);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        assert_eq!(hits, 0, "{name}: the page made {hits} network connections");
        assert!(!log.contains("CONSOLE"), "{name}: console output: {log}");
        assert!(!log.contains("net::ERR"), "{name}: {log}");
        let dom = String::from_utf8(out.stdout).unwrap();
        assert!(dom.contains("<h1>Capacity plan</h1>"));

        // Nodes and cost per type.
        let nodes = tags_with(&dom, "data-nodes");
        let by_type = plan["by_node_type"].as_object().unwrap();
        for (t, tp) in by_type {
            let cell = nodes
                .iter()
                .find(|a| a.get("data-type") == Some(t))
                .unwrap_or_else(|| panic!("{name}: no node count for {t}"));
            assert_eq!(cell["data-nodes"], tp["nodes"].to_string(), "{name} {t}");
            if let Some(c) = tp.get("cost_per_hour") {
                let costs = tags_with(&dom, "data-cost");
                let cost = costs.iter().find(|a| a.get("data-type") == Some(t)).unwrap();
                assert_eq!(cost["data-cost"], json_num(c), "{name} {t}");
            }
        }
        // The cheapest mix.
        if let Some(c) = plan["cheapest"].as_object() {
            let total: u64 = c["node_counts"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            let p = tags_with(&dom, "id")
                .into_iter()
                .find(|a| a["id"] == "cheapest")
                .unwrap();
            assert_eq!(p["data-cost"], json_num(&c["cost_per_hour"]), "{name}");
            assert_eq!(p["data-nodes"], total.to_string(), "{name}");
            for (t, n) in c["node_counts"].as_object().unwrap() {
                let cell = nodes.iter().find(|a| a.get("data-mix-type") == Some(t)).unwrap();
                assert_eq!(cell["data-nodes"], n.to_string());
            }
        }
        // Instances per node, every service on every type.
        let inst = tags_with(&dom, "data-instances");
        let mut checked = 0;
        for s in plan["services"].as_array().unwrap() {
            for (t, fit) in s["per_node"].as_object().unwrap() {
                let cell = inst
                    .iter()
                    .find(|a| {
                        a.get("data-service").map(String::as_str) == s["name"].as_str() && a.get("data-type") == Some(t)
                    })
                    .unwrap_or_else(|| panic!("{name}: no instances for {} on {t}", s["name"]));
                assert_eq!(cell["data-instances"], fit["instances"].to_string());
                checked += 1;
            }
        }
        assert_eq!(checked, inst.len(), "{name}: every instances cell is a plan figure");
        assert!(checked > 0);
    }
}

/// PNG screenshots at 1280 and 390 pixels wide are far larger than the same browser's
/// screenshot of an empty page of that size (a blank or failed render compresses to almost
/// nothing), and use many distinct byte values.
#[test]
fn screenshots_are_not_blank() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("r.html");
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let out = imgopt(&[
        "report",
        "examples/plans/eks-web-api-worker.yaml",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    for width in [1280, 390] {
        let shot = |src: &Path, png: &Path| {
            let (out, hits) = chromium(
                &bin,
                src,
                &[
                    format!("--screenshot={}", png.display()),
                    format!("--window-size={width},2000"),
                ],
            );
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(hits, 0);
            std::fs::read(png).unwrap()
        };
        let png = shot(&page, &dir.path().join(format!("r-{width}.png")));
        let empty = shot(&blank, &dir.path().join(format!("blank-{width}.png")));
        assert_eq!(&png[1..4], b"PNG");
        // Width and height from the IHDR chunk.
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((w, h), (width, 2000));
        assert!(
            png.len() > 10 * empty.len(),
            "{width}: {} bytes vs {} blank",
            png.len(),
            empty.len()
        );
        let distinct = png.iter().collect::<std::collections::BTreeSet<_>>().len();
        assert!(distinct > 200, "{width}: {distinct} distinct bytes");
    }
}

/// The checks above can fail: a page that loads an image from the network and logs a console
/// error is caught by the proxy trap and the console check.
#[test]
fn the_network_trap_sees_requests() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("net.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><body><img src="http://example.invalid/x.png"><script>console.error("boom")</script></body></html>"#,
    )
    .unwrap();
    let (out, hits) = chromium(&bin, &page, &["--dump-dom".to_string()]);
    assert!(hits > 0, "no connection seen");
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONSOLE"));
}

/// Loads `page` in the browser and returns its DOM, asserting no network access and no
/// console message.
fn dom_of(bin: &Path, page: &Path) -> String {
    let (out, hits) = chromium(bin, page, &["--dump-dom".to_string()]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert_eq!(hits, 0, "{}: the page made {hits} network connections", page.display());
    assert!(!log.contains("CONSOLE"), "console output: {log}");
    String::from_utf8(out.stdout).unwrap()
}

/// The what-if, the budgets and a plan read from manifests, as the browser builds them: every
/// before/after instance count and every budget verdict in the DOM equals `--format json`.
#[test]
fn what_if_budgets_and_manifests_in_the_dom() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "report",
        "examples/plans/ubuntu-vs-alpine.yaml",
        "--dockerfile",
        "app-on-ubuntu=examples/dockerfiles/app-on-ubuntu/Dockerfile",
        "--policy",
        "policies/strict.toml",
    ];
    let page = dir.path().join("what-if.html");
    let mut html_args = args.to_vec();
    html_args.extend(["-o", page.to_str().unwrap()]);
    assert_eq!(imgopt(&html_args).status.code(), Some(0));
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&imgopt(&json_args).stdout).unwrap();
    let dom = dom_of(&bin, &page);
    assert!(dom.contains(r#"<section id="what-if">"#) && dom.contains(r#"<section id="budgets">"#));
    let cells = tags_with(&dom, "data-what-if-service");
    let rows = v["what_if"]["services"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert_eq!(cells.len(), rows.len());
    for r in rows {
        let c = cells
            .iter()
            .find(|a| {
                a.get("data-what-if-service").map(String::as_str) == r["service"].as_str()
                    && a.get("data-type").map(String::as_str) == r["node_type"].as_str()
            })
            .unwrap_or_else(|| panic!("no what-if cell for {r}"));
        assert_eq!(c["data-before"], r["before"]["instances"].to_string());
        assert_eq!(c["data-after"], r["after"]["instances"].to_string());
    }
    let verdicts = tags_with(&dom, "id")
        .into_iter()
        .filter(|a| a["id"] == "what-if-verdicts")
        .count();
    assert_eq!(verdicts, 1);
    let budget_rows = tags_with(&dom, "data-budget");
    let mut n = 0;
    for t in v["budgets"]["targets"].as_array().unwrap() {
        for c in t["checks"].as_array().unwrap() {
            let row = budget_rows
                .iter()
                .find(|a| {
                    a.get("data-budget-target").map(String::as_str) == t["target"].as_str()
                        && a.get("data-budget").map(String::as_str) == c["id"].as_str()
                })
                .unwrap_or_else(|| panic!("no budget row for {} {}", t["target"], c["id"]));
            assert_eq!(row["data-passed"], c["passed"].to_string());
            n += 1;
        }
    }
    assert_eq!(n, budget_rows.len());
    assert!(
        budget_rows.iter().any(|a| a["data-passed"] == "false"),
        "the strict policy fails one"
    );

    // A plan whose services come from manifests.
    let page = dir.path().join("manifests.html");
    let base = [
        "report",
        "examples/manifests/nodes.yaml",
        "--manifests",
        "examples/manifests/shop.yaml",
    ];
    let mut a = base.to_vec();
    a.extend(["-o", page.to_str().unwrap()]);
    assert_eq!(imgopt(&a).status.code(), Some(0));
    let mut a = base.to_vec();
    a.extend(["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&imgopt(&a).stdout).unwrap();
    let dom = dom_of(&bin, &page);
    let inst = tags_with(&dom, "data-instances");
    for s in v["plan"]["services"].as_array().unwrap() {
        for (t, fit) in s["per_node"].as_object().unwrap() {
            let cell = inst
                .iter()
                .find(|a| {
                    a.get("data-service").map(String::as_str) == s["name"].as_str() && a.get("data-type") == Some(t)
                })
                .unwrap();
            assert_eq!(cell["data-instances"], fit["instances"].to_string());
        }
    }
    assert_eq!(inst.len(), 6, "3 services from the manifests on 2 node types");
}
