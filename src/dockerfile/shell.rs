//! Splits the shell part of an instruction (a shell-form `RUN` and the heredoc bodies a shell
//! runs) into simple commands and words, each word mapped back to its bytes in the file, so a
//! rule can underline `apt-get install` precisely.
//!
//! Owns: a small POSIX-shell lexer (quotes, escapes, `$(..)`, backticks, `${..}`, comments,
//! redirections, heredoc markers) and the operators that separate commands (`&&`, `||`, `;`,
//! `|`, `&`, newlines, subshell parentheses).
//! Does not: expand variables, run anything, or understand control flow beyond skipping the
//! keywords that precede a command (`if`, `then`, `do`, `!`, `{`, ...). A `sh -c "..."`
//! argument stays one word.

use super::ast::{Instruction, Span};

/// One word of a command: its text with quotes removed and escapes resolved (substitutions
/// such as `$(..)` and `${..}` are kept verbatim), and its span in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word as the shell would see it before expansion, quotes removed.
    pub text: String,
    /// Bytes in the file, from the first to the last character of the word.
    pub span: Span,
}

/// What separates a command from the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// The first command.
    Start,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `;` or `;;`
    Semi,
    /// `|` or `|&`
    Pipe,
    /// `&`
    Background,
    /// A line break (script bodies) or a subshell parenthesis.
    Newline,
}

/// A simple command: its words (redirections removed) and the separator before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// All words, including leading assignments and keywords.
    pub words: Vec<Word>,
    /// The operator before this command.
    pub separator: Separator,
    /// Subshells `(` opened just before this command (`(cd dir && make)`).
    pub opens: u16,
    /// Subshells `)` closed just after this command.
    pub closes: u16,
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time", "exec", "nohup",
    "command", "builtin",
];

impl Command {
    /// The words from the command name on: leading `NAME=value` assignments, shell keywords
    /// (`if`, `then`, `do`, `!`, `{`, ...) and wrappers (`sudo`, `env`, `nohup`, `gosu USER`,
    /// `su-exec USER`, `s6-setuidgid USER`, `runuser -u USER --`) are skipped.
    #[must_use]
    pub fn effective(&self) -> &[Word] {
        let mut w = &self.words[..];
        loop {
            let Some(first) = w.first() else { return w };
            let t = first.text.as_str();
            if KEYWORDS.contains(&t) || is_assignment(t) {
                w = &w[1..];
            } else if matches!(t, "gosu" | "su-exec" | "s6-setuidgid" | "setuidgid") {
                // `gosu USER CMD...`: the user, then the command.
                w = w.get(2..).unwrap_or(&[]);
            } else if t == "runuser" && w.get(1).is_some_and(|u| u.text == "-u") {
                // `runuser -u USER [--] CMD...` (`runuser -c` takes a script, one word).
                w = w.get(3..).unwrap_or(&[]);
                if w.first().is_some_and(|x| x.text == "--") {
                    w = &w[1..];
                }
            } else if (t == "pyenv" || t == "rbenv" || t == "nodenv") && w.get(1).is_some_and(|x| x.text == "exec") {
                // `pyenv exec python3.8 -m pip ...`: the version manager runs the command.
                w = w.get(2..).unwrap_or(&[]);
            } else if t == "sudo" || t == "env" {
                w = &w[1..];
                while let Some(f) = w.first() {
                    if f.text.starts_with('-') || is_assignment(&f.text) {
                        let takes_value = t == "sudo" && matches!(f.text.as_str(), "-u" | "-g" | "-U" | "-C");
                        w = &w[1..];
                        if takes_value && !w.is_empty() {
                            w = &w[1..];
                        }
                    } else {
                        break;
                    }
                }
            } else {
                return w;
            }
        }
    }

    /// The command name (basename of the program, e.g. `apt-get` for `/usr/bin/apt-get`).
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.effective()
            .first()
            .map(|w| w.text.rsplit('/').next().unwrap_or(&w.text))
    }

    /// The arguments after the command name.
    #[must_use]
    pub fn args(&self) -> &[Word] {
        let e = self.effective();
        if e.is_empty() { e } else { &e[1..] }
    }

    /// The first argument that is not an option (`install` in `apt-get -y install x`).
    #[must_use]
    pub fn subcommand(&self) -> Option<&Word> {
        self.args().iter().find(|w| !w.text.starts_with('-'))
    }

    /// Whether any argument equals `flag` or starts with `flag=`.
    #[must_use]
    pub fn has_flag(&self, flag: &str) -> bool {
        self.args().iter().any(|w| {
            w.text == flag
                || (w.text.len() > flag.len() && w.text.starts_with(flag) && w.text.as_bytes()[flag.len()] == b'=')
        })
    }

    /// Whether a short-option cluster (`-lm`, `-Nl`) contains `c`, or a word equals one of
    /// `long` exactly.
    #[must_use]
    pub fn has_short_or_long(&self, c: char, long: &[&str]) -> bool {
        self.args().iter().any(|w| {
            let t = w.text.as_str();
            long.contains(&t)
                || (t.len() > 1
                    && t.starts_with('-')
                    && !t.starts_with("--")
                    && t[1..].chars().all(char::is_alphanumeric)
                    && t[1..].contains(c))
        })
    }

    /// The span from the first effective word through `last` words later (clamped).
    #[must_use]
    pub fn span_through(&self, extra_words: usize) -> Option<Span> {
        let e = self.effective();
        let first = e.first()?;
        let last = e.get(extra_words).or_else(|| e.last())?;
        Some(Span::new(first.span.start(), last.span.end()))
    }

    /// The span of the whole command (all words).
    #[must_use]
    pub fn span(&self) -> Option<Span> {
        Some(Span::new(
            self.words.first()?.span.start(),
            self.words.last()?.span.end(),
        ))
    }
}

fn is_assignment(t: &str) -> bool {
    match t.find('=') {
        Some(i) if i > 0 => {
            let name = &t[..i];
            name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

/// How line breaks in the region are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Dockerfile text of a shell-form instruction: `escape` + newline is a continuation, and
    /// comment or blank lines inside a continuation are dropped (as BuildKit does).
    Dockerfile {
        /// The Dockerfile escape character.
        escape: char,
    },
    /// A script body (heredoc): newlines separate commands; `\` + newline joins lines.
    Script,
}

/// Regions longer than this are not split.
pub const MAX_REGION: usize = 1 << 20;

/// Splits `src[span]` into commands (nothing for a region over [`MAX_REGION`]). Spans in
/// the result are offsets into `src`.
#[must_use]
pub fn split(src: &str, span: Span, mode: Mode) -> Vec<Command> {
    let end = span.end().min(src.len());
    let start = span.start().min(end);
    // A command of more than 1 MiB is not shell worth linting: it is skipped rather than
    // costing memory in proportion to it.
    if end - start > MAX_REGION {
        return Vec::new();
    }
    let Some(region) = src.get(start..end) else {
        return Vec::new();
    };
    let chars = decontinue(region, start, mode);
    Lexer {
        chars: &chars,
        pos: 0,
        out: Vec::new(),
        words: Vec::new(),
        sep: Separator::Start,
        opens: 0,
    }
    .run()
}

/// The commands a `RUN` executes in a shell: its shell-form command and, when a shell runs
/// them, its heredoc bodies (`RUN <<EOF`, `RUN bash <<EOF`; not `RUN python3 <<EOF`).
#[must_use]
pub fn run_commands(src: &str, instr: &Instruction, escape: char) -> Vec<Command> {
    if instr.json {
        return Vec::new();
    }
    let mut out = Vec::new();
    for arg in &instr.args {
        out.extend(split(src, arg.span, Mode::Dockerfile { escape }));
    }
    if instr.heredocs.is_empty() {
        return out;
    }
    // Which heredocs feed a shell: the command is only heredoc markers, or a shell reading
    // its script from stdin.
    let shell_reads = out.iter().all(|c| match c.name() {
        None => true,
        Some(n) => {
            matches!(n, "sh" | "bash" | "ash" | "dash")
                && c.args().iter().all(|w| w.text.starts_with('-') && w.text != "-c")
        }
    });
    if shell_reads {
        for h in &instr.heredocs {
            if h.content.starts_with("#!") {
                let first = h.content.lines().next().unwrap_or("");
                if !["sh", "bash", "ash", "dash"].iter().any(|s| {
                    first.ends_with(&format!("/{s}"))
                        || first.ends_with(&format!(" {s}"))
                        || first.contains(&format!("/{s} "))
                }) {
                    continue;
                }
            }
            // The body, without the terminating delimiter line.
            let body_end = body_end(src, h.span, &h.name);
            let mut cmds = split(src, Span::new(h.span.start(), body_end), Mode::Script);
            if let Some(c) = cmds.first_mut() {
                c.separator = Separator::Newline;
            }
            out.extend(cmds);
        }
    }
    out
}

/// End of a heredoc body: the start of the last line of `span` when it is the delimiter.
fn body_end(src: &str, span: Span, name: &str) -> usize {
    let end = span.end().min(src.len());
    let start = span.start().min(end);
    let Some(text) = src.get(start..end) else {
        return end;
    };
    let trimmed = text.trim_end_matches(['\n', '\r']);
    match trimmed.rfind('\n') {
        Some(i) if trimmed[i + 1..].trim() == name => start + i + 1,
        None if trimmed.trim() == name => start,
        _ => end,
    }
}

/// Chars of the region with their byte offsets, continuations removed.
fn decontinue(region: &str, base: usize, mode: Mode) -> Vec<(char, usize)> {
    let cont = match mode {
        Mode::Dockerfile { escape } => escape,
        Mode::Script => '\\',
    };
    let b: Vec<(usize, char)> = region.char_indices().collect();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let (off, c) = b[i];
        if c == cont {
            // escape, optional spaces, optional \r, \n => continuation
            let mut j = i + 1;
            while j < b.len() && (b[j].1 == ' ' || b[j].1 == '\t') {
                j += 1;
            }
            if j < b.len() && b[j].1 == '\r' {
                j += 1;
            }
            if j < b.len() && b[j].1 == '\n' {
                j += 1;
                if matches!(mode, Mode::Dockerfile { .. }) {
                    // Drop comment lines and blank lines inside the continuation.
                    loop {
                        let mut k = j;
                        while k < b.len() && (b[k].1 == ' ' || b[k].1 == '\t') {
                            k += 1;
                        }
                        let line_end = b[k..].iter().position(|x| x.1 == '\n').map(|p| k + p);
                        let is_comment = k < b.len() && b[k].1 == '#';
                        let is_blank = k >= b.len() || b[k].1 == '\n' || b[k].1 == '\r';
                        if (is_comment || is_blank) && k < b.len() {
                            match line_end {
                                Some(e) => j = e + 1,
                                None => {
                                    j = b.len();
                                }
                            }
                        } else {
                            break;
                        }
                    }
                }
                i = j;
                continue;
            }
            if cont == '\\' || matches!(mode, Mode::Script) {
                // A shell escape: keep both characters for the lexer.
                out.push((c, base + off));
                if i + 1 < b.len() {
                    out.push((b[i + 1].1, base + b[i + 1].0));
                }
                i += 2;
                continue;
            }
        }
        if c == '\r' && b.get(i + 1).is_some_and(|x| x.1 == '\n') {
            i += 1;
            continue;
        }
        out.push((c, base + off));
        i += 1;
    }
    out
}

struct Lexer<'a> {
    chars: &'a [(char, usize)],
    pos: usize,
    out: Vec<Command>,
    words: Vec<Word>,
    sep: Separator,
    /// `(` seen since the last command.
    opens: u16,
}

struct WordBuf {
    text: String,
    start: Option<usize>,
    end: usize,
}

impl WordBuf {
    fn push(&mut self, c: char, off: usize) {
        if self.start.is_none() {
            self.start = Some(off);
        }
        self.text.push(c);
        self.end = off + c.len_utf8();
    }
    fn touch(&mut self, off: usize, len: usize) {
        if self.start.is_none() {
            self.start = Some(off);
        }
        self.end = off + len;
    }
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).map(|x| x.0)
    }

    fn end_command(&mut self, next: Separator) {
        if !self.words.is_empty() {
            self.out.push(Command {
                words: std::mem::take(&mut self.words),
                separator: self.sep,
                opens: std::mem::take(&mut self.opens),
                closes: 0,
            });
            self.sep = next;
        } else if self.out.is_empty() {
            self.sep = Separator::Start;
        } else {
            self.sep = next;
        }
    }

    fn run(mut self) -> Vec<Command> {
        while self.pos < self.chars.len() {
            let c = self.chars[self.pos].0;
            match c {
                ' ' | '\t' | '\r' => self.pos += 1,
                '\n' => {
                    self.pos += 1;
                    self.end_command(Separator::Newline);
                }
                '#' => {
                    while self.pos < self.chars.len() && self.chars[self.pos].0 != '\n' {
                        self.pos += 1;
                    }
                }
                '&' if self.peek(1) == Some('&') => {
                    self.pos += 2;
                    self.end_command(Separator::And);
                }
                '&' if self.peek(1) == Some('>') => {
                    self.pos += 2;
                    if self.peek(0) == Some('>') {
                        self.pos += 1;
                    }
                    self.skip_redirect_target();
                }
                '&' => {
                    self.pos += 1;
                    self.end_command(Separator::Background);
                }
                '|' if self.peek(1) == Some('|') => {
                    self.pos += 2;
                    self.end_command(Separator::Or);
                }
                '|' => {
                    self.pos += if self.peek(1) == Some('&') { 2 } else { 1 };
                    self.end_command(Separator::Pipe);
                }
                ';' => {
                    self.pos += if self.peek(1) == Some(';') { 2 } else { 1 };
                    self.end_command(Separator::Semi);
                }
                '(' => {
                    self.pos += 1;
                    self.end_command(Separator::Newline);
                    self.opens = self.opens.saturating_add(1);
                }
                ')' => {
                    self.pos += 1;
                    self.end_command(Separator::Newline);
                    if self.opens > 0 {
                        // `()`: an empty subshell (or a function's parentheses).
                        self.opens -= 1;
                    } else if let Some(last) = self.out.last_mut() {
                        last.closes = last.closes.saturating_add(1);
                    }
                }
                '<' | '>' => self.redirect(),
                _ => {
                    let w = self.word();
                    // `2>file`, `3<<EOF`: a number glued to a redirection is its descriptor.
                    if matches!(self.peek(0), Some('<' | '>'))
                        && !w.text.is_empty()
                        && w.text.chars().all(|c| c.is_ascii_digit())
                    {
                        self.redirect();
                    } else if let Some(start) = w.start {
                        self.words.push(Word {
                            text: w.text,
                            span: Span::new(start, w.end),
                        });
                    }
                }
            }
        }
        self.end_command(Separator::Semi);
        self.out
    }

    fn redirect(&mut self) {
        while matches!(self.peek(0), Some('<' | '>' | '&' | '-' | '|')) {
            self.pos += 1;
        }
        self.skip_redirect_target();
    }

    fn skip_redirect_target(&mut self) {
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.pos += 1;
        }
        if self.pos < self.chars.len() && !matches!(self.peek(0), Some('\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'))
        {
            let _ = self.word();
        }
    }

    /// Reads one word (stops at whitespace or an operator outside quotes).
    fn word(&mut self) -> WordBuf {
        let mut w = WordBuf {
            text: String::new(),
            start: None,
            end: 0,
        };
        while self.pos < self.chars.len() {
            let (c, off) = self.chars[self.pos];
            match c {
                ' ' | '\t' | '\n' | '\r' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\\' => {
                    self.pos += 1;
                    if let Some(&(n, o)) = self.chars.get(self.pos) {
                        w.touch(off, 1);
                        w.push(n, o);
                        self.pos += 1;
                    } else {
                        w.push(c, off);
                    }
                }
                '\'' => {
                    w.touch(off, 1);
                    self.pos += 1;
                    while let Some(&(n, o)) = self.chars.get(self.pos) {
                        self.pos += 1;
                        if n == '\'' {
                            w.touch(o, 1);
                            break;
                        }
                        w.push(n, o);
                    }
                }
                '"' => {
                    w.touch(off, 1);
                    self.pos += 1;
                    while let Some(&(n, o)) = self.chars.get(self.pos) {
                        if n == '"' {
                            self.pos += 1;
                            w.touch(o, 1);
                            break;
                        }
                        if n == '\\'
                            && let Some(&(m, mo)) = self.chars.get(self.pos + 1)
                        {
                            if matches!(m, '"' | '\\' | '$' | '`') {
                                w.touch(o, 1);
                                w.push(m, mo);
                            } else {
                                w.push(n, o);
                                w.push(m, mo);
                            }
                            self.pos += 2;
                            continue;
                        }
                        if n == '$' && matches!(self.peek(1), Some('(' | '{')) {
                            self.substitution(&mut w);
                            continue;
                        }
                        if n == '`' {
                            self.backtick(&mut w);
                            continue;
                        }
                        w.push(n, o);
                        self.pos += 1;
                    }
                }
                '$' if matches!(self.peek(1), Some('(' | '{')) => self.substitution(&mut w),
                '`' => self.backtick(&mut w),
                _ => {
                    w.push(c, off);
                    self.pos += 1;
                }
            }
        }
        w
    }

    /// Copies `$(..)`, `$((..))` or `${..}` verbatim, honouring nesting and quotes.
    fn substitution(&mut self, w: &mut WordBuf) {
        let (c, o) = self.chars[self.pos];
        w.push(c, o);
        self.pos += 1;
        let (open, o2) = self.chars[self.pos];
        w.push(open, o2);
        self.pos += 1;
        let close = if open == '(' { ')' } else { '}' };
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        while let Some(&(n, no)) = self.chars.get(self.pos) {
            w.push(n, no);
            self.pos += 1;
            match quote {
                Some(q) if n == q => quote = None,
                Some('"') if n == '\\' => {
                    if let Some(&(m, mo)) = self.chars.get(self.pos) {
                        w.push(m, mo);
                        self.pos += 1;
                    }
                }
                Some(_) => {}
                None if n == '\'' || n == '"' => quote = Some(n),
                None if n == open => depth += 1,
                None if n == close => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                None => {}
            }
        }
    }

    fn backtick(&mut self, w: &mut WordBuf) {
        let (c, o) = self.chars[self.pos];
        w.push(c, o);
        self.pos += 1;
        while let Some(&(n, no)) = self.chars.get(self.pos) {
            w.push(n, no);
            self.pos += 1;
            if n == '`' {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Vec<Vec<String>> {
        split(src, Span::new(0, src.len()), Mode::Dockerfile { escape: '\\' })
            .iter()
            .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    #[test]
    fn splits_on_operators() {
        assert_eq!(
            words("apt-get update && apt-get install -y curl || true; echo a | tee b & wait"),
            vec![
                vec!["apt-get", "update"],
                vec!["apt-get", "install", "-y", "curl"],
                vec!["true"],
                vec!["echo", "a"],
                vec!["tee", "b"],
                vec!["wait"],
            ]
        );
    }

    #[test]
    fn quotes_escapes_and_substitutions_stay_in_one_word() {
        assert_eq!(
            words(r#"echo "a && b" 'c;d' e\ f $(cat x | wc -l) ${A:-x y} `date`"#),
            vec![vec![
                "echo",
                "a && b",
                "c;d",
                "e f",
                "$(cat x | wc -l)",
                "${A:-x y}",
                "`date`"
            ]]
        );
    }

    #[test]
    fn redirections_are_not_words() {
        assert_eq!(
            words("make 2>&1 >/dev/null install < in"),
            vec![vec!["make", "install"]]
        );
        assert_eq!(words("cat <<EOF > /x"), vec![vec!["cat"]]);
    }

    #[test]
    fn continuations_and_comment_lines_are_dropped_with_spans_kept() {
        let src = "apt-get install \\\n  # a comment\n\n  -y \\\n  curl";
        let cmds = split(src, Span::new(0, src.len()), Mode::Dockerfile { escape: '\\' });
        assert_eq!(cmds.len(), 1);
        let w = &cmds[0].words;
        assert_eq!(
            w.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["apt-get", "install", "-y", "curl"]
        );
        // Every span points at the word's own bytes.
        for word in w {
            assert_eq!(&src[word.span.range()], word.text);
        }
    }

    #[test]
    fn backtick_escape_continuation() {
        let src = "dir `\n  c:\\";
        let cmds = split(src, Span::new(0, src.len()), Mode::Dockerfile { escape: '`' });
        assert_eq!(
            cmds[0].words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["dir", "c:\\"]
        );
    }

    #[test]
    fn script_mode_splits_lines_and_skips_comments() {
        let src = "set -e\n# install\napk add --no-cache a \\\n  b\nif true; then rm -rf /x; fi\n";
        let cmds = split(src, Span::new(0, src.len()), Mode::Script);
        let names: Vec<_> = cmds.iter().map(|c| c.name().unwrap_or("").to_string()).collect();
        assert_eq!(names, ["set", "apk", "true", "rm", ""]);
        assert_eq!(cmds[1].args().len(), 4);
        assert_eq!(cmds[1].separator, Separator::Newline);
    }

    #[test]
    fn effective_skips_user_switching_wrappers() {
        for (text, name) in [
            ("gosu app yarn install", "yarn"),
            ("su-exec node:node npm ci", "npm"),
            ("runuser -u app -- bundle install", "bundle"),
            ("s6-setuidgid app pip install x", "pip"),
            ("sudo -u discourse yarn install --frozen-lockfile", "yarn"),
        ] {
            let c = split(text, Span::new(0, text.len()), Mode::Script);
            assert_eq!(c[0].name(), Some(name), "{text}");
        }
    }

    #[test]
    fn effective_skips_assignments_keywords_and_sudo() {
        let cmds = split(
            "DEBIAN_FRONTEND=noninteractive sudo -E apt-get -y install x",
            Span::new(0, 58),
            Mode::Script,
        );
        assert_eq!(cmds[0].name(), Some("apt-get"));
        assert_eq!(cmds[0].subcommand().map(|w| w.text.as_str()), Some("install"));
        let cmds = split("/usr/bin/pip3 install -r r.txt", Span::new(0, 30), Mode::Script);
        assert_eq!(cmds[0].name(), Some("pip3"));
    }

    #[test]
    fn flag_helpers() {
        let src = "useradd -lmu 100000 app --no-install-recommends=1";
        let c = &split(src, Span::new(0, src.len()), Mode::Script)[0];
        assert!(c.has_short_or_long('l', &["--no-log-init"]));
        assert!(!c.has_short_or_long('r', &[]));
        assert!(c.has_flag("--no-install-recommends"));
        assert!(!c.has_flag("--no-install"));
    }

    #[test]
    fn oversized_regions_are_skipped() {
        let big = "echo a && ".repeat(MAX_REGION / 10 + 1);
        assert!(split(&big, Span::new(0, big.len()), Mode::Script).is_empty());
    }

    #[test]
    fn never_panics_on_unbalanced_input() {
        for s in [
            "\"abc", "'x", "$(a", "${", "`", "\\", "a &&", "|| b", "2>", "<<", "(((", "a \\\n",
        ] {
            let _ = split(s, Span::new(0, s.len()), Mode::Dockerfile { escape: '\\' });
            let _ = split(s, Span::new(0, s.len()), Mode::Script);
        }
    }
}
