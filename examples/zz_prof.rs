#![allow(missing_docs, clippy::print_stdout)]
use std::hint::black_box;
use std::path::PathBuf;
fn corpus() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dockerfiles");
    let mut files = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { todo.push(p); } else if p.file_name().is_some_and(|n| n == "Dockerfile") { files.push(p); }
        }
    }
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).filter_map(|b| String::from_utf8(b).ok())
        .filter(|t| imgopt::dockerfile::parse(t.as_bytes()).is_ok() && parse_dockerfile::parse(t).is_ok()).collect()
}
#[inline(never)]
fn ours(texts: &[String]) -> usize {
    texts.iter().map(|t| imgopt::dockerfile::parse(black_box(t.as_bytes())).map_or(0, |d| d.instructions.len())).sum()
}
#[inline(never)]
fn theirs(texts: &[String]) -> usize {
    texts.iter().map(|t| parse_dockerfile::parse(black_box(t)).map_or(0, |d| d.instructions.len())).sum()
}
fn main() {
    let texts = corpus();
    let which = std::env::args().nth(1).unwrap_or_default();
    let n: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut s = 0;
    let t = std::time::Instant::now();
    for _ in 0..n { s += if which == "theirs" { theirs(&texts) } else { ours(&texts) }; }
    println!("{which} {s} {:?}/iter", t.elapsed() / n as u32);
}
