#![allow(missing_docs, clippy::print_stdout)]
use std::time::Instant;
fn t(name: &str, f: impl Fn(usize) -> Vec<u8>) {
    for n in [10_000usize, 20_000, 40_000] {
        let input = f(n);
        let s = Instant::now();
        let r = imgopt::dockerfile::parse(&input);
        println!("{name} n={n} {:?} ok={}", s.elapsed(), r.is_ok());
    }
}
fn main() {
    t("invalid", |n| b"\xff\xfe\xfd\n".repeat(n));
    t("env", |n| [b"FROM a\nENV ".as_slice(), &b"a=b \\\n".repeat(n*10), b"\n"].concat());
    t("heredocs", |n| [b"FROM a\nRUN ".as_slice(), &b"<<EOF ".repeat(n), b"\n", &b"EOF\n".repeat(n)].concat());
    t("cont", |n| [b"FROM a\nRUN ".as_slice(), &b"\\\n".repeat(n*20), b"x\n"].concat());
    t("invalid-err", |n| [b"\xff\xfe\xfd\n".repeat(n), b"ENV x\n".to_vec()].concat());
    t("noinstr", |n| b"# c\n\n".repeat(n));
}
