//! Building one instruction from its joined text.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::super::goish::{self, RE_WS, is_re_whitespace, is_space_byte, run_within, run_without};
use super::super::json_args::{self, JsonArgs};
use super::super::{Arg, Args, Flag, Flags, Instruction, Keyword, Text};
use super::joining::Joined;
use super::words::{extract_flags, parse_words, plain_pairs};

/// How deeply `ONBUILD ONBUILD ...` may nest before we give up (BuildKit itself rejects any
/// nesting later, when it turns the AST into instructions).
const MAX_ONBUILD_DEPTH: usize = 64;
/// How many bytes nested ONBUILD levels (beyond the first) may copy in total.
const MAX_NESTED_COPY: usize = 16 << 20;

/// An error message with the joined-text position it concerns.
pub(super) struct BuildError {
    pub(super) message: String,
    pub(super) pos: usize,
}

/// Builds the instruction in text range `a..b`, without what the caller finishes: heredocs,
/// `original` and lines. Its `cmd_span` starts at the instruction word.
#[inline]
pub(super) fn build<'a>(
    j: &Joined<'a>,
    a: usize,
    b: usize,
    escape: u8,
    depth: usize,
) -> Result<Instruction<'a>, BuildError> {
    let t = j.bytes();
    let (ts, te) = goish::trim_space_range(t, a, b);
    let ce = ts + run_without(&t[ts..te], RE_WS);
    let cmd = j.text(ts, ce);
    let mut flags = Flags::new();
    let (mut rs, mut re) = (te, te);
    if ce < te {
        let mut args_start = ce;
        while args_start < te && is_re_whitespace(t[args_start]) {
            args_start += 1;
        }
        // Most instructions have no flags: nothing to split when the rest cannot start with one.
        let rest_start = match t.get(args_start) {
            Some(&c) if c != b'-' && !is_space_byte(c) => args_start,
            _ => {
                let rest_start;
                (flags, rest_start) = flags_at(j, args_start, te);
                rest_start
            }
        };
        (rs, re) = goish::trim_space_range(t, rest_start, te);
    }
    // (A word with non-ASCII bytes is lower-cased Go's way first, which can make a keyword.)
    let keyword = if cmd.is_ascii() {
        Keyword::from_bytes(&t[ts..ce])
    } else {
        Keyword::from_word(&goish::to_lower(&cmd))
    };
    let rest = &t[rs..re];
    let mut json = false;
    let mut sub = None;
    let err = |message: String| BuildError { message, pos: ts };
    let args: Args<'a> = match keyword {
        Keyword::Add | Keyword::Copy | Keyword::Volume => match json_args::parse(rest) {
            JsonArgs::Strings(v) => {
                json = true;
                json_strings(j, v, rs)
            }
            JsonArgs::NotStringArray => return Err(err(NOT_STRING_ARRAY.into())),
            JsonArgs::NotJson => whitespace_delimited(j, rs, re),
        },
        Keyword::Cmd | Keyword::Entrypoint | Keyword::Run | Keyword::Shell => {
            let (v, is_json) = maybe_json(j, rs, re).map_err(|m| err(m.into()))?;
            json = is_json;
            v
        }
        Keyword::Env | Keyword::Label => {
            let key = if keyword == Keyword::Env { "ENV" } else { "LABEL" };
            name_val(j, rs, re, escape, key).map_err(err)?
        }
        Keyword::Arg => Args::map_from(&parse_words(t, rs, re, escape), |(x, y)| j.text_arg(x, y)),
        Keyword::Expose | Keyword::From => whitespace_delimited(j, rs, re),
        Keyword::Maintainer | Keyword::Stopsignal | Keyword::User | Keyword::Workdir => {
            if rs == re {
                Args::new()
            } else {
                Args::one(j.text_arg(rs, re))
            }
        }
        Keyword::Healthcheck => {
            let args;
            (args, json) = healthcheck(j, rs, re).map_err(|m| err(m.into()))?;
            args
        }
        Keyword::Onbuild => {
            if rs == re {
                Args::new()
            } else {
                let inner = onbuild(j, rs, re, escape, depth, ts)?;
                json = inner.json;
                let args = inner.args.clone();
                sub = Some(inner);
                args
            }
        }
        // BuildKit's parser keeps unknown instructions with one empty value.
        Keyword::Unknown => Args::one(j.arg(Cow::Borrowed(""), rs, rs)),
    };
    Ok(Instruction {
        cmd,
        keyword,
        sub,
        json,
        original: Text::new(Cow::Borrowed("")),
        start_line: 0,
        end_line: 0,
        flags,
        args,
        heredocs: Vec::new(),
        span: j.span(ts, te),
        cmd_span: j.span(ts, ce),
        args_span: j.span(rs, re),
    })
}

/// The flags at text range `a..b` (which starts with one) and where the rest begins.
pub(super) fn flags_at<'a>(j: &Joined<'a>, a: usize, b: usize) -> (Flags<'a>, usize) {
    let (fl, rest_start) = extract_flags(j.bytes(), a, b);
    let flags = fl
        .into_iter()
        .map(|(text, fs, fe)| Flag {
            text: text.map_or_else(|| j.text(fs, fe), Cow::Owned),
            span: j.span(fs, fe),
        })
        .collect();
    (flags, rest_start)
}

/// The decoded strings of a JSON array that starts at text position `at`.
pub(super) fn json_strings<'a>(j: &Joined<'a>, items: json_args::Items, at: usize) -> Args<'a> {
    items
        .into_iter()
        .map(|(s, x, y)| json_arg(j, s, at + x, at + y))
        .collect()
}

/// HEALTHCHECK's `NONE`, or `CMD` and its command (shell or JSON form).
pub(super) fn healthcheck<'a>(j: &Joined<'a>, a: usize, b: usize) -> Result<(Args<'a>, bool), &'static str> {
    let t = j.bytes();
    let mut sep = a;
    while sep < b && !is_space_byte(t[sep]) {
        sep += 1;
    }
    let mut next = sep;
    while next < b && is_space_byte(t[next]) {
        next += 1;
    }
    if sep == a {
        return Ok((Args::new(), false));
    }
    let mut v = Args::one(j.text_arg(a, sep));
    let (more, is_json) = maybe_json(j, next, b)?;
    v.extend(more.into_vec());
    Ok((v, is_json))
}

/// The instruction ONBUILD wraps (text range `a..b`, not empty); the ONBUILD word is at text
/// position `at`.
pub(super) fn onbuild<'a>(
    j: &Joined<'a>,
    a: usize,
    b: usize,
    escape: u8,
    depth: usize,
    at: usize,
) -> Result<Box<Instruction<'a>>, BuildError> {
    // Each nesting level copies the rest of the line (its `original` and `args`): bound the
    // total so that a huge nested line cannot cost depth x size.
    if depth >= MAX_ONBUILD_DEPTH || (b - a).saturating_mul(depth) > MAX_NESTED_COPY {
        return Err(BuildError {
            message: "ONBUILD nested too deeply".into(),
            pos: at,
        });
    }
    let mut inner = build(j, a, b, escape, depth + 1)?;
    inner.original = Text::new(j.text(a, b));
    Ok(Box::new(inner))
}

pub(super) const NOT_STRING_ARRAY: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// `parseMaybeJSON`: a JSON array of strings, or the whole text as one value.
pub(super) fn maybe_json<'a>(j: &Joined<'a>, a: usize, b: usize) -> Result<(Args<'a>, bool), &'static str> {
    if a == b {
        return Ok((Args::new(), false));
    }
    let t = j.bytes();
    let js = a + goish::leading_space_len(&t[a..b]);
    match json_args::parse(&t[js..b]) {
        JsonArgs::Strings(v) => Ok((json_strings(j, v, js), true)),
        JsonArgs::NotStringArray => Err(NOT_STRING_ARRAY),
        JsonArgs::NotJson => Ok((Args::one(j.text_arg(a, b)), false)),
    }
}

/// A JSON string element at text range `a..b` (quotes included): its decoded value, or the
/// text between the quotes when it has no escapes.
pub(super) fn json_arg<'a>(j: &Joined<'a>, decoded: Option<String>, a: usize, b: usize) -> Arg<'a> {
    let value = decoded.map_or_else(|| j.text(a + 1, b - 1), Cow::Owned);
    j.arg(value, a, b)
}

/// `parseStringsWhitespaceDelimited`: split at runs of `[\t\v\f\r ]`.
pub(super) fn whitespace_delimited<'a>(j: &Joined<'a>, a: usize, b: usize) -> Args<'a> {
    let t = j.bytes();
    if a == b {
        return Args::new();
    }
    let mut words = SmallVec::<[(usize, usize); 8]>::new();
    let mut s = a;
    loop {
        let e = s + run_without(&t[s..b], RE_WS);
        words.push((s, e));
        if e == b {
            return Args::map_from(&words, |(x, y)| j.text_arg(x, y));
        }
        s = e + run_within(&t[e..b], RE_WS);
    }
}

/// `parseNameVal` for ENV and LABEL: `key=value ...`, or the legacy `key value`.
pub(super) fn name_val<'a>(j: &Joined<'a>, a: usize, b: usize, escape: u8, key: &str) -> Result<Args<'a>, String> {
    let t = j.bytes();
    if escape == b'\\'
        && let Some(pairs) = plain_pairs(j, a, b)
    {
        return Ok(pairs);
    }
    let words = parse_words(t, a, b, escape);
    let Some(&(fs, fe)) = words.first() else {
        return Ok(Args::new());
    };
    if !t[fs..fe].contains(&b'=') {
        let Some(ws) = t[a..b].iter().position(|&c| is_re_whitespace(c)).map(|i| a + i) else {
            return Err(format!("{key} must have two arguments"));
        };
        let mut vs = ws;
        while vs < b && is_re_whitespace(t[vs]) {
            vs += 1;
        }
        return Ok(Args::two(j.text_arg(a, ws), j.text_arg(vs, b)));
    }
    let eq_of = |ws: usize, we: usize| {
        t[ws..we]
            .iter()
            .position(|&c| c == b'=')
            .map(|i| ws + i)
            .ok_or_else(|| {
                let w = j.text(ws, we);
                format!("Syntax error - can't find = in {w:?}. Must be of the form: name=value")
            })
    };
    if let [(ws, we)] = words[..] {
        // One pair (most ENV and LABEL lines): stored inline.
        let eq = eq_of(ws, we)?;
        return Ok(Args::two(j.text_arg(ws, eq), j.text_arg(eq + 1, we)));
    }
    let mut out = Args::with_capacity(words.len() * 2);
    for (ws, we) in words {
        let eq = eq_of(ws, we)?;
        out.push(j.text_arg(ws, eq));
        out.push(j.text_arg(eq + 1, we));
    }
    Ok(out)
}
