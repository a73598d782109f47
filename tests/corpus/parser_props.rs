//! Property tests: the parser never panics (and never hangs) on mutated corpus files, and
//! whatever it returns is self-consistent: spans inside the file, instruction spans that
//! start with the instruction word and cover exactly `start_line..=end_line`, flag spans that
//! start with `--`, errors with a line and column inside the file.
//!
//! Mutations: truncate, splice in a piece of another file, flip bytes, insert continuation
//! characters, heredoc markers and delimiters, NUL, CR and invalid UTF-8.
//!
//! `IMGOPT_PROP_CASES` sets the total number of inputs (default 100000, spread over the
//! tests below); `PROPTEST_CASES` is ignored so that the total stays what CI expects.
#![allow(clippy::print_stderr)]

use crate::support;

use std::sync::OnceLock;

use imgopt::dockerfile::{self, Dockerfile};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Seeds used when the corpus is absent (a user's own clone).
const SEEDS: &[&str] = &[
    "# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine AS a\nRUN echo `\n  hi\n",
    "FROM golang:1.22 AS build\nRUN --mount=type=cache,target=/root/.cache go build -o /app\nFROM scratch\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n",
    "FROM debian\nRUN <<EOF bash\nset -e\napt-get update\nEOF\nCOPY <<-a.txt 3<<'b' /dst/\n\ta\n\ta.txt\nb\nb\n",
    "FROM x\nENV A=1 B=\"two words\" \\\n  C='3'\nLABEL k v w\nARG X=1 Y\nONBUILD RUN echo hi\nHEALTHCHECK --interval=5s CMD [\"true\"]\n",
];

fn inputs() -> &'static Vec<Vec<u8>> {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
        if let Some(root) = support::corpus_dir() {
            let mut todo = vec![root];
            while let Some(d) = todo.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        todo.push(p);
                    } else if p.file_name().is_some_and(|n| n == "Dockerfile")
                        && let Ok(b) = std::fs::read(&p)
                    {
                        out.push(b);
                    }
                }
            }
        }
        out.sort();
        out
    })
}

fn total_cases() -> u32 {
    std::env::var("IMGOPT_PROP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Splice {
        at: usize,
        file: usize,
        from: usize,
        len: usize,
    },
    Flip {
        at: usize,
        mask: u8,
    },
    Insert {
        at: usize,
        text: &'static [u8],
    },
    Delete {
        at: usize,
        len: usize,
    },
}

const SNIPPETS: &[&[u8]] = &[
    b"\\\n",
    b"\\",
    b"`\n",
    b"\\  \t\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xe2\x80",
    b"<<EOF",
    b"<<-EOF",
    b"<<'EOF'",
    b"<<\"E F\"",
    b"3<<EOF",
    b"EOF\n",
    b"\tEOF\n",
    b"\nEOF\n",
    b"<<",
    b"#",
    b"# escape=`\n",
    b"# escape=\\\n",
    b"# syntax=x\n",
    b"[",
    b"]",
    b"[\"a\", 1]",
    b"[\"a\"]",
    b"\"",
    b"'",
    b"${",
    b"${a:-",
    b"}",
    b"$",
    b"--",
    b"--mount=type=cache,from=x",
    b"--from=0 ",
    b" ",
    b"\t",
    b"=",
    b"ONBUILD ",
    b"RUN ",
    b"COPY ",
    b"ENV ",
    b"HEALTHCHECK ",
    b"FROM ",
    b"\xef\xbb\xbf",
    b"\xc2\xa0",
    b"\xe3\x80\x80",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>(), 0usize..400)
            .prop_map(|(at, file, from, len)| Mutation::Splice { at, file, from, len }),
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), proptest::sample::select(SNIPPETS)).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), any::<usize>(), proptest::sample::select(SNIPPETS))
            .prop_map(|(at, _, text)| Mutation::Insert { at, text }),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    let files = inputs();
    for m in muts {
        let n = b.len();
        match *m {
            Mutation::Truncate(at) => b.truncate(if n == 0 { 0 } else { at % (n + 1) }),
            Mutation::Splice { at, file, from, len } => {
                let other = &files[file % files.len()];
                if !other.is_empty() {
                    let s = from % other.len();
                    let e = (s + len).min(other.len());
                    let at = at % (n + 1);
                    b.splice(at..at, other[s..e].iter().copied());
                }
            }
            Mutation::Flip { at, mask } => {
                if n > 0 {
                    b[at % n] ^= mask;
                }
            }
            Mutation::Insert { at, text } => {
                let at = at % (n + 1);
                b.splice(at..at, text.iter().copied());
            }
            Mutation::Delete { at, len } => {
                if n > 0 {
                    let s = at % n;
                    b.drain(s..(s + len).min(n));
                }
            }
        }
    }
    b
}

/// 1-based line of byte `off`, given the offsets of every `\n` in the file.
fn line_of(newlines: &[usize], off: usize) -> usize {
    newlines.partition_point(|&n| n < off) + 1
}

/// Checks what a parse promises about spans and lines.
fn check(src: &[u8], df: &Dockerfile) -> Result<(), TestCaseError> {
    let newlines: Vec<usize> = src
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'\n')
        .map(|(i, _)| i)
        .collect();
    for (n, i) in df.instructions.iter().enumerate() {
        prop_assert!(
            i.span.start() <= i.span.end() && i.span.end() <= src.len(),
            "instruction {n} span {:?}",
            i.span
        );
        prop_assert!(i.start_line >= 1 && i.start_line <= i.end_line);
        // The word itself may be split by a continuation (`RU\` + newline + `N`); when it
        // is not, its span holds exactly the word.
        // The span starts at the word, or earlier when the instruction's first line holds no
        // part of it (a bare escape character, or bytes that only become whitespace once the
        // continuation joins them, like E3 + `\` + newline + 80 80 = U+3000).
        prop_assert!(
            i.span.start() <= i.cmd_span.start(),
            "instruction {n} span starts after its word"
        );
        let word = &src[i.cmd_span.range()];
        if !word.contains(&b'\n') && !i.cmd.contains('\u{fffd}') {
            prop_assert_eq!(word, i.cmd.as_bytes(), "instruction {} word span", n);
        }
        prop_assert_eq!(
            line_of(&newlines, i.span.start()),
            i.start_line,
            "instruction {} start line",
            n
        );
        prop_assert_eq!(
            line_of(&newlines, i.span.end()),
            i.end_line,
            "instruction {} end line",
            n
        );
        for f in &i.flags {
            // `--` itself may be split by a continuation.
            prop_assert!(
                f.span.end() <= src.len() && src[f.span.range()].starts_with(b"-"),
                "flag span {:?}",
                f.span
            );
            prop_assert!(
                f.span.start() >= i.span.start() && f.span.end() <= i.span.end(),
                "flag span {:?}",
                f.span
            );
        }
        for a in &i.args {
            prop_assert!(
                a.span.start() <= a.span.end() && a.span.start() >= i.span.start() && a.span.end() <= i.span.end()
            );
        }
        for h in &i.heredocs {
            prop_assert!(h.span.start() <= h.span.end() && h.span.end() <= i.span.end());
        }
    }
    Ok(())
}

/// What the printer promises to keep: words, flags, values, JSON form, heredocs.
fn essence(df: &Dockerfile) -> Vec<String> {
    fn one(i: &imgopt::dockerfile::Instruction) -> String {
        let flags: Vec<&str> = i.flags.iter().map(|f| &*f.text).collect();
        let heredocs: Vec<(&str, u32, &str)> = i
            .heredocs
            .iter()
            .map(|h| (&*h.name, h.file_descriptor, &*h.content))
            .collect();
        let sub = i.sub.as_deref().map(one).unwrap_or_default();
        format!("{:?} {} {flags:?} {:?} {heredocs:?} [{sub}]", i.cmd, i.json, i.values())
    }
    df.instructions.iter().map(one).collect()
}

/// Whether the printer can reproduce `df` (see `dockerfile::print`): the input is UTF-8
/// (the AST keeps invalid bytes as U+FFFD, so they cannot be printed back), no joined line
/// is over 64 KiB (BuildKit cannot read it), and no instruction's text ends in a bare escape
/// character (only possible at the end of the file; on one line it would continue).
fn printable(input: &[u8], df: &Dockerfile) -> bool {
    let e = df.escape;
    let bare_escape_at_end = |s: &str| {
        let s = s.trim_end_matches([' ', '\t', '\r']);
        s.ends_with(e) && !s.ends_with(&format!("{e}{e}"))
    };
    std::str::from_utf8(input).is_ok()
        && df
            .instructions
            .iter()
            .all(|i| i.original.text().len() < 60_000 && !bare_escape_at_end(&i.original.text()))
}

fn round_trip(input: &[u8], df: &Dockerfile) -> Result<(), TestCaseError> {
    if !printable(input, df) {
        return Ok(());
    }
    let printed = dockerfile::print(df);
    match dockerfile::parse(&printed) {
        Ok(again) => prop_assert_eq!(
            essence(df),
            essence(&again),
            "printed:\n{}",
            String::from_utf8_lossy(&printed)
        ),
        Err(e) => prop_assert!(
            false,
            "printed text does not parse ({e}):\n{}",
            String::from_utf8_lossy(&printed)
        ),
    }
    Ok(())
}

fn run(cases: u32, strategy: impl Strategy<Value = Vec<u8>>) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |input| {
        match dockerfile::parse(&input) {
            Ok(df) => {
                check(&input, &df)?;
                round_trip(&input, &df)?;
            }
            Err(e) => {
                prop_assert!(e.line >= 1 && e.column >= 1, "error without a location: {e}");
                prop_assert!(
                    e.span.start() <= e.span.end() && e.span.end() <= input.len(),
                    "error span {:?}",
                    e.span
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn file_strategy() -> impl Strategy<Value = Vec<u8>> {
    let n = inputs().len();
    (0..n, proptest::collection::vec(mutation(), 1..6)).prop_map(|(f, muts)| apply(inputs()[f].clone(), &muts))
}

#[test]
fn corpus_files_round_trip_through_the_printer() {
    for input in inputs() {
        if let Ok(df) = dockerfile::parse(input) {
            let r = round_trip(input, &df);
            assert!(r.is_ok(), "{r:?}");
        }
    }
}

#[test]
fn mutated_corpus_files_never_panic() {
    run(total_cases() * 9 / 10, file_strategy());
}

#[test]
fn arbitrary_snippet_soup_never_panics() {
    let soup = proptest::collection::vec(proptest::sample::select(SNIPPETS), 0..60).prop_map(|parts| parts.concat());
    run(total_cases() / 10, soup);
}

#[test]
fn pathological_inputs_finish() {
    // Shapes that make naive parsers quadratic or overflow the stack. Keep in step with
    // `pathological()` in benches/parse.rs.
    let cases: Vec<Vec<u8>> = vec![
        [b"FROM a\nRUN ".as_slice(), &b"\\\n".repeat(200_000), b"x\n"].concat(),
        [b"FROM a\nCMD ".as_slice(), &b"[".repeat(100_000)].concat(),
        [b"FROM a\n".as_slice(), &b"ONBUILD ".repeat(5_000), b"RUN x\n"].concat(),
        [b"FROM a\nRUN <<EOF ".as_slice(), &b"${a:-".repeat(20_000), b"\nEOF\n"].concat(),
        [
            b"FROM a\nRUN ".as_slice(),
            &b"<<EOF ".repeat(10_000),
            b"\n",
            &b"EOF\n".repeat(10_000),
        ]
        .concat(),
        [b"FROM a\nENV ".as_slice(), &b"a=b \\\n".repeat(100_000), b"\n"].concat(),
        [b"FROM a\nRUN x".as_slice(), &b"y".repeat(70_000), b"\n"].concat(),
        vec![0u8; 100_000],
        b"\xff\xfe\xfd\n".repeat(10_000),
    ];
    // No wall-clock assertion (house rule: speed is measured in benches/parse.rs, whose
    // `pathological` group parses these same shapes; a hang is caught by the CI timeout).
    for c in cases {
        match dockerfile::parse(&c) {
            Ok(df) => {
                let r = check(&c, &df);
                assert!(r.is_ok(), "{r:?}");
            }
            Err(e) => assert!(e.line >= 1, "{e}"),
        }
    }
}
