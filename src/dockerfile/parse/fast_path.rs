//! Continued shell-form commands built straight from the file's lines.

use std::borrow::Cow;

use super::super::goish::{self, RE_WS, is_space_byte, run_within, run_without};
use super::super::{Arg, Args, Flag, Flags, Instruction, Keyword, Span, Text};
use super::words::extract_flags;

/// The instruction continued over `pieces` (two or more; file ranges of `src`, its text
/// joined) when it needs no joined text to be parsed: a shell-form RUN, CMD or ENTRYPOINT
/// whose word is on its first line, whose flags are plain words each within a line, and
/// (RUN) without a `<` that could start a heredoc. Its command (BuildKit's `value`) is kept
/// as the file's lines, joined when read ([`Text::lines`]). Most of a Dockerfile's bytes are
/// in such instructions (long `RUN a \ && b` chains), and joining them copied every byte
/// twice. Anything else (`None`) goes through [`build`], which gives the same instruction for
/// these.
pub(super) fn continued_shell<'a>(src: &'a str, pieces: &[(usize, usize)], escape: u8) -> Option<Instruction<'a>> {
    let b = src.as_bytes();
    let &[(ts, pe0), .., (_, last_end)] = pieces else {
        return None;
    };
    let ce = ts + run_without(&b[ts..pe0], RE_WS);
    let keyword = Keyword::from_bytes(&b[ts..ce]);
    // (The word must end within the first line: `RUN\` + `x` joins into one word.)
    if ce == pe0 || !matches!(keyword, Keyword::Run | Keyword::Cmd | Keyword::Entrypoint) {
        return None;
    }
    if keyword == Keyword::Run && memchr::memchr(b'<', &b[ts..last_end]).is_some() {
        return None;
    }
    // The blanks after the word, across lines.
    let (mut k, mut p) = (0, ce);
    loop {
        p += run_within(&b[p..pieces[k].1], RE_WS);
        if p < pieces[k].1 {
            break;
        }
        k += 1;
        p = pieces.get(k)?.0;
    }
    let mut flags = Flags::new();
    let rs = if b[p] == b'-' || is_space_byte(b[p]) {
        // Flags, line by line (BuildKit splits them out of the joined text: the same when each
        // flag is a plain word within one line and every line of flags ends with a blank).
        loop {
            let end = pieces[k].1;
            let (words, r) = extract_flags(b, p, end);
            for (text, fs, fe) in words {
                if text.is_some() {
                    return None;
                }
                flags.push(Flag {
                    text: Cow::Borrowed(src.get(fs..fe)?),
                    span: Span::new(fs, fe),
                });
            }
            if r < end {
                // (A `-` that ends the line may start a flag on the next: `-\` + `-x`.)
                if b[r] == b'-' && r + 1 == end {
                    return None;
                }
                break r;
            }
            if end > pieces[k].0 && !is_space_byte(b[end - 1]) {
                return None;
            }
            k += 1;
            p = pieces.get(k)?.0;
        }
    } else {
        p
    };
    // The command starts with a plain byte: not a JSON array.
    let c = b[rs];
    if c >= 0x80 || c == b'[' || is_space_byte(c) {
        return None;
    }
    // The end of the command: the end of the last piece with more than spaces in it.
    let (m, fe) = pieces.iter().enumerate().rev().find_map(|(i, &(s, e))| {
        let (s, e) = goish::trim_space_range(b, s, e);
        (s < e).then_some((i, e))
    })?;
    // A value ending in an escape character would read as continued when joined.
    if fe <= rs || b[fe - 1] == escape {
        return None;
    }
    let raw = src.get(rs..fe)?;
    let value = if m == k {
        Text::new(Cow::Borrowed(raw))
    } else {
        Text::lines(raw)
    };
    let span = Span::new(rs, fe);
    Some(Instruction {
        cmd: Cow::Borrowed(src.get(ts..ce)?),
        keyword,
        sub: None,
        json: false,
        original: Text::new(Cow::Borrowed("")),
        start_line: 0,
        end_line: 0,
        flags,
        args: Args::one(Arg { value, span }),
        heredocs: Vec::new(),
        span: Span::new(ts, fe),
        cmd_span: Span::new(ts, ce),
        args_span: span,
    })
}
