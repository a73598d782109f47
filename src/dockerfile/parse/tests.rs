//! Unit tests of the parser.

use std::borrow::Cow;

use super::joining::Joined;
use super::words::{is_plain, lex_words, parse_words, plain_pairs};
use super::*;

fn one(src: &str) -> Instruction<'_> {
    let df = parse(src.as_bytes()).unwrap();
    assert_eq!(df.instructions.len(), 1, "{df:#?}");
    df.instructions.into_iter().next().unwrap()
}

#[test]
fn continuation_skips_comments_and_blank_lines() {
    let i = one("RUN a \\\n# note\n\n  b\n");
    assert_eq!(i.values(), ["a   b"]);
    assert_eq!((i.start_line, i.end_line), (1, 4));
    assert_eq!(i.span, Span::new(0, 19));
}

#[test]
fn flags_keep_spans_and_lose_quotes() {
    let src = "COPY --chown=\"a b\" --link src dst\n";
    let i = one(src);
    assert_eq!(i.flags[0].text, "--chown=a b");
    assert_eq!(&src[i.flags[0].span.range()], "--chown=\"a b\"");
    assert_eq!(i.flags[1].name(), "link");
    assert_eq!(i.values(), ["src", "dst"]);
    assert_eq!(&src[i.args[1].span.range()], "dst");
}

#[test]
fn env_forms() {
    assert_eq!(one("ENV a=1 b=\"x y\"").values(), ["a", "1", "b", "\"x y\""]);
    assert_eq!(one("ENV a 1 2").values(), ["a", "1 2"]);
    assert_eq!(parse(b"ENV a").unwrap_err().message, "ENV must have two arguments");
}

#[test]
fn heredoc_body_and_terminator() {
    let src = "RUN <<-EOF cat\n\thello\n\tEOF\nFROM x\n";
    let df = parse(src.as_bytes()).unwrap();
    let h = &df.instructions[0].heredocs[0];
    assert_eq!(h.content, "\thello\n");
    assert_eq!(&src[h.span.range()], "\thello\n\tEOF");
    assert_eq!(df.instructions[1].start_line, 4);
    let err = parse(b"RUN <<EOF\nno end\n").unwrap_err();
    assert!(err.message.starts_with("unterminated heredoc"), "{err}");
}

#[test]
fn escape_directive_switches_continuation() {
    let df = parse(b"# escape=`\nRUN a `\n b\\\n").unwrap();
    assert_eq!(df.escape, '`');
    assert_eq!(df.instructions[0].values(), ["a  b\\"]);
}

#[test]
fn files_too_large_for_spans_are_rejected() {
    // (The zeroed buffer is mapped, not touched: the size is checked first.)
    let huge = vec![0u8; 1 << 32];
    let err = parse(&huge).unwrap_err();
    drop(huge);
    assert_eq!((err.line, err.column), (1, 1));
    assert_eq!(
        err.message,
        "file of 4294967296 bytes is too large (imgopt reads Dockerfiles under 4 GiB)"
    );
    assert!(
        u32::try_from((1usize << 32) - 1).is_ok(),
        "the largest file accepted still fits"
    );
    assert_eq!(
        Span::new(1 << 32, usize::MAX).range(),
        u32::MAX as usize..u32::MAX as usize
    );
}

#[test]
fn directive_block_as_buildkit_reads_it() {
    // Names in any case, values trimmed, kept in name order; the block ends at the first
    // line that is not a known directive, so a later `# syntax=` is a plain comment.
    let src = "#  SYNTAX = docker/dockerfile:1.7  \n# Check=skip=all\n# other=x\n# escape=`\nFROM a\n";
    let df = parse(src.as_bytes()).unwrap();
    let got: Vec<_> = df.directives.iter().map(|d| (d.name, &*d.value, d.line)).collect();
    assert_eq!(got, [("check", "skip=all", 2), ("syntax", "docker/dockerfile:1.7", 1)]);
    assert_eq!(df.escape, '\\');
    assert_eq!(
        &src[df.directives.get("syntax").unwrap().span.range()],
        "#  SYNTAX = docker/dockerfile:1.7  "
    );
    assert!(matches!(df.directives.get("syntax").unwrap().value, Cow::Borrowed(_)));
    assert_eq!(df.directives.len(), 2);
    let json = serde_json::to_value(&df.directives).unwrap();
    assert_eq!(json["check"]["value"], "skip=all");
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["check", "syntax"]
    );
    // Invalid UTF-8 is replaced, as Go's string conversion does.
    let df = parse(b"# syntax=a\xffb\nFROM a\n").unwrap();
    assert_eq!(df.directives.get("syntax").unwrap().value, "a\u{fffd}b");
    assert!(parse(b"FROM a\n").unwrap().directives.is_empty());
    // A name twice, or an escape other than ` and \, is an error at that line.
    let err = parse(b"# syntax=a\n# Syntax=b\nFROM a\n").unwrap_err();
    assert_eq!(
        (err.line, err.message.as_str()),
        (2, "only one syntax parser directive can be used")
    );
    let err = parse(b"# escape=x\nFROM a\n").unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.starts_with("invalid escape token 'x'"), "{err}");
}

#[test]
fn json_form_as_go_decides_it() {
    // Go's decoder reads one value and ignores the rest.
    let i = one("CMD [\"a\"] trailing");
    assert!(i.json);
    assert_eq!(i.values(), ["a"]);
    // Single quotes are not JSON: shell form, text kept.
    let i = one("CMD ['a']");
    assert!(!i.json);
    assert_eq!(i.values(), ["['a']"]);
    // COPY falls back to splitting at whitespace.
    assert_eq!(one("COPY [\"a\" b").values(), ["[\"a\"", "b"]);
}

#[test]
fn flags_are_read_byte_by_byte() {
    // BuildKit's flag splitter treats each byte as a character: é (C3 A9) becomes "Ã©".
    let i = one("RUN --x=\u{e9} true");
    assert_eq!(i.flags[0].text, "--x=\u{c3}\u{a9}");
    // A lone `--` ends the flags.
    let i = one("RUN --a -- --b c");
    assert_eq!(i.flags.len(), 1);
    assert_eq!(i.values(), ["--b c"]);
}

#[test]
fn keywords_lowercase_like_go() {
    // U+212A KELVIN SIGN lower-cases to `k`.
    let df = parse("FROM a\nWOR\u{212a}DIR /x\n".as_bytes()).unwrap();
    assert_eq!(df.instructions[1].keyword, Keyword::Workdir);
    assert_eq!(df.instructions[1].values(), ["/x"]);
}

#[test]
fn unknown_words_and_bare_escape_lines() {
    let i = one("BOGUS whatever here");
    assert_eq!(i.keyword, Keyword::Unknown);
    assert_eq!(i.values(), [""]);
    // An instruction whose first line is a bare escape character starts on that line.
    let df = parse(b"\\\nRUN x\n").unwrap();
    assert_eq!(df.instructions[0].cmd, "RUN");
    assert_eq!((df.instructions[0].start_line, df.instructions[0].span.start()), (1, 0));
}

#[test]
fn continued_commands_read_as_buildkit_joins_them() {
    // Continued RUN/CMD lines, some for the path that keeps the file's lines and some that
    // must leave it (in debug builds every parse also compares the two paths).
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("RUN a \\\n  b \\\n  c\n", &[], &["a   b   c"]),
        ("RUN -\\\n-mount=x cmd\n", &["--mount=x"], &["cmd"]),
        ("RUN\\\n x \\\n y\n", &[], &["x  y"]),
        ("RUN --a=1\\\n--b=2 c \\\n d\n", &["--a=1--b=2"], &["c  d"]),
        (
            "RUN --a=1 \\\n  --b=2 \\\n  c \\\n  d\n",
            &["--a=1", "--b=2"],
            &["c   d"],
        ),
        ("RUN a \\\n b \\ \\\n", &[], &["a  b \\"]),
        ("RUN --mount=\"x y\" \\\n cmd\n", &["--mount=x y"], &["cmd"]),
        ("CMD echo \\\n hi\n", &[], &["echo  hi"]),
        ("RUN a \\\n # comment\n\n b\n", &[], &["a  b"]),
        ("RUN a \\\n b <<EOF\nbody\nEOF\n", &[], &["a  b <<EOF"]),
        ("RUN [\"a\", \\\n \"b\"]\n", &[], &["a", "b"]),
    ];
    for (body, flags, values) in cases {
        let src = format!("FROM x\n{body}");
        let df = parse(src.as_bytes()).unwrap_or_else(|e| panic!("{body:?}: {e:?}"));
        let ins = &df.instructions[1];
        let got: Vec<&str> = ins.flags.iter().map(|f| &*f.text).collect();
        assert_eq!(
            (&got[..], ins.values()),
            (*flags, values.iter().map(|v| Cow::Borrowed(*v)).collect()),
            "{body:?}"
        );
        // The command's span runs from its first byte to its last in the file.
        let last = ins.args.last().map(|a| &src[a.span.range()]).unwrap_or_default();
        let want = if ins.json {
            "\""
        } else {
            values.last().map_or("", |v| &v[v.len() - 1..])
        };
        assert!(last.ends_with(want), "{body:?}");
    }
}

#[test]
fn plain_pairs_and_words_agree_with_the_lexer() {
    let texts = [
        "A=1",
        "PATH=/usr/local/bin:$PATH",
        "a=b c=d  e=",
        "=x",
        "k=a=b",
        " \tA=1\x0b B=2 ",
        "A=1 B",
        "A 1",
        "A=\"x y\"",
        "A='x'",
        "A=x\\ y",
        "A=\u{e9}",
        "V=1.0",
        "x",
        "",
        "  ",
    ];
    for text in texts {
        let mut j = Joined::new(text.as_bytes(), Some(text));
        j.push(0, text.len());
        let words = lex_words(text.as_bytes(), 0, text.len(), b'\\');
        // ARG: the lexer's words, where the fast path takes the text.
        if is_plain(text.as_bytes(), 0, text.len(), b'\\') {
            assert_eq!(parse_words(text.as_bytes(), 0, text.len(), b'\\'), words, "{text:?}");
        }
        // ENV: each word split at its first `=`.
        if let Some(args) = plain_pairs(&j, 0, text.len()) {
            let mut want = Vec::new();
            for &(x, y) in &words {
                let eq = x + text[x..y].find('=').expect("every word has `=` on the fast path");
                want.extend([j.text_arg(x, eq), j.text_arg(eq + 1, y)]);
            }
            assert_eq!(&args[..], &want[..], "{text:?}");
        }
    }
    // Both take the plain texts; neither takes quotes, escapes or non-ASCII bytes.
    let takes = |t: &str| {
        let mut j = Joined::new(t.as_bytes(), Some(t));
        j.push(0, t.len());
        (
            is_plain(t.as_bytes(), 0, t.len(), b'\\'),
            plain_pairs(&j, 0, t.len()).is_some(),
        )
    };
    assert_eq!(takes("a=b c=d"), (true, true));
    assert_eq!(takes("a=b c"), (true, false));
    for t in ["A=\"x y\"", "A='x'", "A=x\\ y", "A=\u{e9}"] {
        assert_eq!(takes(t), (false, false), "{t:?}");
    }
}

#[test]
fn the_tree_serializes_joined_text_and_flag_parts() {
    let df = parse(b"FROM a\nRUN --mount=type=cache,target=/c a \\\n  b\n").unwrap();
    let v = serde_json::to_value(&df.instructions[1]).unwrap();
    assert_eq!(v["original"], "RUN --mount=type=cache,target=/c a   b");
    assert_eq!(v["args"][0]["value"], "a   b");
    assert_eq!(
        (&v["flags"][0]["name"], &v["flags"][0]["value"]),
        (&"mount".into(), &"type=cache,target=/c".into())
    );
    // Detached from the file, it serializes the same.
    assert_eq!(
        serde_json::to_value(df.clone().into_owned().instructions[1].clone()).unwrap(),
        v
    );
}

#[test]
fn plain_words_split_as_the_lexer_splits_them() {
    let plain = [
        "",
        " ",
        "a",
        "VERSION=1.0",
        "  a=b \tc=d\x0b e\x0c\r f  ",
        "PATH=/usr/bin:$PATH",
        "x=`y`",
        "a=b=c  d",
    ];
    for text in plain {
        for escape in [b'\\', b'`'] {
            if text.contains('`') && escape == b'`' {
                continue;
            }
            let t = text.as_bytes();
            assert_eq!(
                parse_words(t, 0, t.len(), escape),
                lex_words(t, 0, t.len(), escape),
                "{text:?}"
            );
        }
    }
    // Texts the fast path must leave to the lexer.
    for text in ["a=\"b c\"", "a='b c'", "a=b\\ c", "a=\u{a0}b", "k=v`"] {
        let t = text.as_bytes();
        assert_eq!(
            parse_words(t, 0, t.len(), b'`'),
            lex_words(t, 0, t.len(), b'`'),
            "{text:?}"
        );
        assert_eq!(
            parse_words(t, 0, t.len(), b'\\'),
            lex_words(t, 0, t.len(), b'\\'),
            "{text:?}"
        );
    }
}

#[test]
fn values_borrow_from_the_file_unless_they_cannot() {
    let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
    let src = "FROM --platform=$P a AS b\nENV k=v \\\n  x=\"y z\"\nRUN a \\\n b\nCOPY [\"s\", \"d\\u0041\"] --chown=\"u\" x\nRUN --network=\"none\" c \\\n d\n";
    let df = parse(src.as_bytes()).unwrap();
    let [from, env, run, copy, run_flag] = &df.instructions[..] else {
        panic!("{df:#?}")
    };
    // One line: everything is a slice of the file.
    assert!(borrowed(&from.cmd) && from.original.borrows_file());
    assert!(from.args.iter().all(|a| a.value.borrows_file()));
    let f = &from.flags[0];
    assert!(borrowed(&f.text) && (f.name(), f.value()) == ("platform", Some("$P")));
    // Values within one line of a continued instruction are still borrowed. `original`,
    // and the command of a continued shell-form RUN (unless a flag has quotes), keep the
    // file's lines, joined when asked; other values that cross a continuation are copied.
    assert!(env.args.iter().all(|a| a.value.borrows_file()), "{env:#?}");
    assert_eq!(env.values(), ["k", "v", "x", "\"y z\""]);
    assert!(env.original.borrows_file() && run.args[0].value.borrows_file());
    assert_eq!(env.original, "ENV k=v   x=\"y z\"");
    assert_eq!(run.values(), ["a  b"]);
    assert_eq!(
        (run.args[0].span, run.span),
        (
            Span::new(src.find("a \\").unwrap(), src.find("b\nCOPY").unwrap() + 1),
            run.span
        )
    );
    assert!(!run_flag.args[0].value.borrows_file());
    assert_eq!(run_flag.values(), ["c  d"]);
    // A JSON string with an escape is decoded; one without is borrowed.
    assert_eq!(copy.values(), ["s", "dA"]);
    assert!(copy.args[0].value.borrows_file() && !copy.args[1].value.borrows_file());
    // Detached from the file, the tree is the same.
    let owned = df.clone().into_owned();
    assert_eq!(owned, df);
    // A heredoc delimiter as written is borrowed; one with quotes removed is not.
    let df = parse(b"FROM a\nRUN 3<<-EOF <<X cat\n\tx\n\tEOF\nX\nRUN <<'Q'\ny\nQ\n").unwrap();
    let h = df.instructions[1..].iter().flat_map(|i| &i.heredocs);
    let h = h.map(|h| (&*h.name, borrowed(&h.name), h.file_descriptor, h.chomp));
    assert_eq!(
        h.collect::<Vec<_>>(),
        [("EOF", true, 3, true), ("X", true, 0, false), ("Q", false, 0, false)]
    );
}

#[test]
fn text_and_bytes_entries_agree() {
    for src in [
        "FROM a\nRUN x \\\n  y\n",
        "\u{feff}FROM a\nRUN <<EOF\nbody\nEOF\n",
        "FROM é\n",
    ] {
        assert_eq!(parse(src.as_bytes()), parse_str(src));
    }
}

#[test]
fn lines_longer_than_a_word() {
    // A line end at every offset within a machine word, and at the end of the file.
    for pad in 1..20 {
        let src = format!("FROM a\nRUN {}\nUSER u", "x".repeat(pad));
        let df = parse_str(&src).expect("valid");
        assert_eq!(df.instructions[1].args[0].value, "x".repeat(pad).as_str(), "pad {pad}");
        assert_eq!(
            (df.instructions[2].start_line, &*df.instructions[2].original.text()),
            (3, "USER u")
        );
    }
}

#[test]
fn bufio_line_limit() {
    let ok = [b"RUN ".as_slice(), &vec![b'x'; 65_531], b"\n"].concat();
    assert_eq!(ok.len(), 65_536);
    assert!(parse(&ok).is_ok());
    let long = [b"RUN ".as_slice(), &vec![b'x'; 65_532], b"\n"].concat();
    let err = parse(&long).unwrap_err();
    assert_eq!(err.message, "dockerfile line greater than max allowed size of 65535");
    // The same error, at its line, wherever the line is: continuing an instruction, in a
    // heredoc body, or after the last instruction.
    let x = vec![b'x'; 65_536];
    for (src, line) in [
        ([b"FROM a\nRUN a \\\n".as_slice(), &x, b"\n"].concat(), 3),
        ([b"FROM a\nRUN <<EOF\nbody\n".as_slice(), &x, b"\nEOF\n"].concat(), 4),
        ([b"FROM a\n# comment\n".as_slice(), &x].concat(), 3),
    ] {
        let err = parse(&src).unwrap_err();
        assert_eq!(
            (err.message.as_str(), err.line),
            ("dockerfile line greater than max allowed size of 65535", line)
        );
    }
}

#[test]
fn heredoc_markers_only_on_run_copy_add_in_shell_form() {
    let df = parse(b"FROM a\nCMD <<EOF\nRUN [\"<<EOF\"]\nONBUILD RUN <<X\nbody\nX\n").unwrap();
    assert_eq!(df.instructions.len(), 4);
    assert!(df.instructions[1].heredocs.is_empty() && df.instructions[2].heredocs.is_empty());
    assert_eq!(df.instructions[3].heredocs[0].content, "body\n");
    let sub = df.instructions[3].sub.as_deref().unwrap();
    assert_eq!((sub.keyword, sub.start_line, sub.end_line), (Keyword::Run, 4, 6));
    assert_eq!(sub.original, "RUN <<X");
}

#[test]
fn errors_have_line_and_column() {
    let err = parse(b"FROM a\n  CMD [\"a\", 1]\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 3));
    assert_eq!(parse(b"\n# only\n").unwrap_err().message, "file with no instructions");
}
