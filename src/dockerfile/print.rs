//! The printer: a [`Dockerfile`] back to Dockerfile text, one instruction per line (heredoc
//! bodies after it), such that parsing the output gives the same instructions: the same
//! words, flags, BuildKit values, JSON forms and heredocs. Comments, blank lines,
//! continuations and the original spacing are not kept (edit through spans to keep them).
//! A changed field is printed from the field, so `print` also serves to write an edited AST.
//!
//! Owns: [`print()`]. Does not: format for humans or keep trivia.
//!
//! Not printable at all: bytes that are not UTF-8 (the AST holds them as U+FFFD), and an
//! instruction whose text ends in a bare escape character (possible only at the end of a
//! file, where the continuation runs into the end; on one line it would continue).
//!
//! Where the canonical form cannot express an instruction, `print` falls back to the
//! instruction's `original` text: an instruction longer than 64 KiB once its
//! continuations are joined (BuildKit cannot read such a line); an instruction whose printed
//! line ends in a bare escape character (possible only when the original line ended in
//! Unicode whitespace that BuildKit trimmed, as in `RUN echo \` + U+3000); and whitespace
//! other than spaces and tabs between the words of a non-JSON `COPY`/`ADD`/`VOLUME` whose
//! words, re-joined with spaces, form a JSON array.

use super::{Dockerfile, Instruction, Keyword};

/// Prints `df` as Dockerfile bytes (bytes, because BuildKit reads flags byte by byte and
/// the printer writes them back the same way).
///
/// Each instruction is printed canonically from its fields (one line: the word, the flags,
/// the values; heredoc bodies after it). When that text would not read back as the same
/// instruction (the known limits above), the instruction's `original` is printed instead.
#[must_use]
pub fn print(df: &Dockerfile) -> Vec<u8> {
    let mut out = Vec::new();
    for d in df.directives.iter() {
        out.extend_from_slice(format!("# {}={}\n", d.name, d.value).as_bytes());
    }
    let n = df.instructions.len();
    for (k, ins) in df.instructions.iter().enumerate() {
        if ins.cmd.is_empty() && ins.sub.is_none() && ins.flags.is_empty() {
            // BuildKit's empty instruction: a bare escape character at the end of the file.
            if k + 1 == n {
                out.push(df.escape as u8);
            }
            continue;
        }
        let mut text = Vec::new();
        line(ins, &mut text);
        text.push(b'\n');
        for h in &ins.heredocs {
            text.extend_from_slice(h.content.as_bytes());
            text.extend_from_slice(h.name.as_bytes());
            text.push(b'\n');
        }
        if !reads_back(&text, ins, df.escape) {
            text = ins.original.text().as_bytes().to_vec();
            if ins.heredocs.is_empty() {
                text.push(b'\n');
            }
        }
        if out.is_empty() && text.starts_with(b"\xef\xbb\xbf") {
            // BuildKit drops a BOM from the first line: keep this one off the first line.
            out.push(b'\n');
        }
        out.extend_from_slice(&text);
    }
    out
}

/// Whether `text` parses back into one instruction equal to `ins` in everything the
/// printer promises (word, JSON form, flags, values, heredocs, the ONBUILD instruction).
fn reads_back(text: &[u8], ins: &Instruction, escape: char) -> bool {
    let mut doc = format!("# escape={escape}\n").into_bytes();
    doc.extend_from_slice(text);
    match super::parse(&doc) {
        Ok(df) => df.instructions.len() == 1 && same(&df.instructions[0], ins),
        Err(_) => false,
    }
}

fn same(a: &Instruction, b: &Instruction) -> bool {
    a.cmd == b.cmd
        && a.json == b.json
        && a.flags.iter().map(|f| &f.text).eq(b.flags.iter().map(|f| &f.text))
        && a.args.iter().map(|x| &x.value).eq(b.args.iter().map(|x| &x.value))
        && a.heredocs
            .iter()
            .map(|h| (&h.name, h.file_descriptor, &h.content))
            .eq(b.heredocs.iter().map(|h| (&h.name, h.file_descriptor, &h.content)))
        && match (&a.sub, &b.sub) {
            (None, None) => true,
            (Some(x), Some(y)) => same(x, y),
            _ => false,
        }
}

/// Writes a flag as BuildKit's byte-wise flag reader will read it back: `--` then the rest
/// in double quotes when it holds anything the reader treats specially.
fn flag(text: &str, out: &mut Vec<u8>) {
    // The flag text holds one char per original byte (Latin-1); write the bytes back.
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    let body = bytes.strip_prefix(b"--").unwrap_or(&bytes);
    let plain = !body.is_empty()
        && body
            .iter()
            .all(|&b| !super::goish::is_space_byte(b) && !matches!(b, b'"' | b'\'' | b'\\'));
    out.extend_from_slice(b"--");
    if plain {
        out.extend_from_slice(body);
    } else {
        out.push(b'"');
        for &b in body {
            if matches!(b, b'"' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
}

fn json_array(values: &[std::borrow::Cow<'_, str>], out: &mut Vec<u8>) {
    out.extend_from_slice(serde_json::to_string(values).unwrap_or_else(|_| "[]".into()).as_bytes());
}

fn line(ins: &Instruction, out: &mut Vec<u8>) {
    out.extend_from_slice(ins.cmd.as_bytes());
    for f in &ins.flags {
        out.push(b' ');
        flag(&f.text, out);
    }
    let values = ins.values();
    if values.is_empty() && ins.sub.is_none() && !ins.json {
        return;
    }
    let mut rest = Vec::new();
    match ins.keyword {
        Keyword::Onbuild => {
            if let Some(sub) = &ins.sub {
                line(sub, &mut rest);
            }
        }
        Keyword::Unknown => {}
        Keyword::Env | Keyword::Label => {
            let legacy =
                values.len() == 2 && !values[0].is_empty() && !values[0].contains('=') && !values[1].is_empty();
            if legacy {
                rest.extend_from_slice(values[0].as_bytes());
                rest.push(b' ');
                rest.extend_from_slice(values[1].as_bytes());
            } else {
                let pairs: Vec<String> = values
                    .chunks(2)
                    .map(|p| format!("{}={}", p[0], p.get(1).map_or("", |v| v)))
                    .collect();
                rest.extend_from_slice(pairs.join(" ").as_bytes());
            }
        }
        Keyword::Healthcheck => {
            if let Some((typ, cmd)) = values.split_first() {
                rest.extend_from_slice(typ.as_bytes());
                if !cmd.is_empty() || ins.json {
                    rest.push(b' ');
                    if ins.json {
                        json_array(cmd, &mut rest);
                    } else {
                        rest.extend_from_slice(cmd.join(" ").as_bytes());
                    }
                }
            }
        }
        _ => {
            if ins.json {
                json_array(&values, &mut rest);
            } else {
                rest.extend_from_slice(values.join(" ").as_bytes());
            }
        }
    }
    if rest.is_empty() {
        return;
    }
    out.push(b' ');
    // Text that starts like a flag would be read as one: a lone `--` ends the flags.
    if rest.starts_with(b"--") {
        out.extend_from_slice(b"-- ");
    }
    out.extend_from_slice(&rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    fn printed(src: &str) -> String {
        String::from_utf8(print(&parse(src.as_bytes()).unwrap())).unwrap()
    }

    #[test]
    fn prints_canonical_lines() {
        let src = "# syntax=docker/dockerfile:1\nfrom  alpine   AS b\n# comment\nENV A=1 \\\n    B=\"x y\"\nCOPY --chown=\"a b\" [\"s\", \"d\"]\nRUN <<EOF\nhi\nEOF\nCMD -- --flaglike\n";
        assert_eq!(
            printed(src),
            "# syntax=docker/dockerfile:1\nfrom alpine AS b\nENV A=1 B=\"x y\"\nCOPY --\"chown=a b\" [\"s\",\"d\"]\nRUN <<EOF\nhi\nEOF\nCMD -- --flaglike\n"
        );
        assert_eq!(printed("ENV a b c\nLABEL k=\n"), "ENV a b c\nLABEL k=\n");
    }

    #[test]
    fn prints_edits_from_the_fields() {
        let mut df = parse(b"FROM a\nRUN apt-get install -y curl\n").unwrap();
        df.instructions[1].args[0].value = "apt-get install -y --no-install-recommends curl".into();
        assert_eq!(
            print(&df),
            b"FROM a\nRUN apt-get install -y --no-install-recommends curl\n"
        );
    }

    #[test]
    fn falls_back_to_the_original_text() {
        // The word ends in U+00A0, which BuildKit would trim from a printed line.
        let src = "FROM a\nX\u{a0} y\n";
        assert_eq!(printed(src), src);
    }
}
