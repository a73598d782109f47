//! The Dockerfile syntax tree. Every node keeps the byte span it came from (offsets into the
//! file exactly as read, end exclusive), so diagnostics can underline it and fixes can edit
//! the original text through it.
//!
//! Field meanings follow BuildKit's parser (`frontend/dockerfile/parser`, v0.12.5): `value`
//! is BuildKit's flattened argument list (ENV/LABEL as key, value pairs with quotes kept, ARG
//! as written, JSON form already decoded), `original` is BuildKit's `Original`.
//!
//! The tree borrows from the file it was parsed from (`Dockerfile<'src>`): a string field is a
//! [`Cow`] that points into the file's bytes wherever BuildKit's value is a piece of the file
//! as written (almost always), and owns its text only where the value is not (continuation
//! lines joined, quotes or escapes removed, invalid UTF-8 replaced). Parsing a typical file
//! thus allocates little more than the instruction list. [`Dockerfile::into_owned`] detaches
//! a tree from its file.

use std::borrow::Cow;
use std::ops::Range;

use serde::Serialize;

/// A byte range into the file as read; `end` is exclusive.
///
/// Offsets are kept as `u32` (a span is 8 bytes, so three arguments fit in an instruction
/// record without an allocation); [`crate::dockerfile::parse()`] rejects files of 4 GiB or more,
/// and [`Span::new`] saturates beyond that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    start: u32,
    end: u32,
}

/// `x` as a span offset (saturating: no file the parser accepts comes near).
#[inline]
#[allow(clippy::cast_possible_truncation)]
const fn offset(x: usize) -> u32 {
    // (A compare and a cast: `u32::try_from` is not `const`.)
    if x > u32::MAX as usize { u32::MAX } else { x as u32 }
}

impl Span {
    /// A span from `start` to `end`.
    #[must_use]
    #[inline]
    pub const fn new(start: usize, end: usize) -> Self {
        Self {
            start: offset(start),
            end: offset(end),
        }
    }

    /// First byte.
    #[must_use]
    #[inline]
    pub const fn start(self) -> usize {
        self.start as usize
    }

    /// One past the last byte.
    #[must_use]
    #[inline]
    pub const fn end(self) -> usize {
        self.end as usize
    }

    /// The span as a `Range`.
    #[must_use]
    pub fn range(self) -> Range<usize> {
        self.start()..self.end()
    }
}

impl From<Span> for Range<usize> {
    fn from(s: Span) -> Self {
        s.range()
    }
}

/// The instruction keywords BuildKit knows. Anything else parses (BuildKit's parser accepts
/// it) as [`Keyword::Unknown`]; the build would later reject it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    /// A word BuildKit's parser does not know.
    Unknown,
}

impl Keyword {
    /// The keyword for a (case-insensitive) instruction word. Non-ASCII words are compared
    /// after Go-style lower-casing by the parser (so `WOR\u{212a}DIR`, with a Kelvin sign, is
    /// `WORKDIR`, as in BuildKit); this function itself compares ASCII case-insensitively.
    #[must_use]
    pub fn from_word(word: &str) -> Self {
        Self::from_bytes(word.as_bytes())
    }

    /// [`Keyword::from_word`] of the word's bytes.
    pub(crate) fn from_bytes(word: &[u8]) -> Self {
        let mut upper = [0u8; 11];
        let Some(buf) = upper.get_mut(..word.len()) else {
            return Self::Unknown;
        };
        for (d, c) in buf.iter_mut().zip(word) {
            *d = c.to_ascii_uppercase();
        }
        match &*buf {
            b"ADD" => Self::Add,
            b"ARG" => Self::Arg,
            b"CMD" => Self::Cmd,
            b"COPY" => Self::Copy,
            b"ENTRYPOINT" => Self::Entrypoint,
            b"ENV" => Self::Env,
            b"EXPOSE" => Self::Expose,
            b"FROM" => Self::From,
            b"HEALTHCHECK" => Self::Healthcheck,
            b"LABEL" => Self::Label,
            b"MAINTAINER" => Self::Maintainer,
            b"ONBUILD" => Self::Onbuild,
            b"RUN" => Self::Run,
            b"SHELL" => Self::Shell,
            b"STOPSIGNAL" => Self::Stopsignal,
            b"USER" => Self::User,
            b"VOLUME" => Self::Volume,
            b"WORKDIR" => Self::Workdir,
            _ => Self::Unknown,
        }
    }
}

#[cfg(test)]
const KEYWORDS: [(&str, Keyword); 18] = [
    ("ADD", Keyword::Add),
    ("ARG", Keyword::Arg),
    ("CMD", Keyword::Cmd),
    ("COPY", Keyword::Copy),
    ("ENTRYPOINT", Keyword::Entrypoint),
    ("ENV", Keyword::Env),
    ("EXPOSE", Keyword::Expose),
    ("FROM", Keyword::From),
    ("HEALTHCHECK", Keyword::Healthcheck),
    ("LABEL", Keyword::Label),
    ("MAINTAINER", Keyword::Maintainer),
    ("ONBUILD", Keyword::Onbuild),
    ("RUN", Keyword::Run),
    ("SHELL", Keyword::Shell),
    ("STOPSIGNAL", Keyword::Stopsignal),
    ("USER", Keyword::User),
    ("VOLUME", Keyword::Volume),
    ("WORKDIR", Keyword::Workdir),
];

/// A parser directive: `# syntax=`, `# escape=` or `# check=` in the directive block at the
/// top of the file (BuildKit ends the block at the first line that is not one of these).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Directive<'src> {
    /// Lower-cased name: one of [`Directives::NAMES`].
    pub name: &'static str,
    /// Value, trimmed (borrowed from the file unless invalid UTF-8 had to be replaced).
    pub value: Cow<'src, str>,
    /// 1-based line.
    pub line: usize,
    /// Span of the whole comment line (without the line break).
    pub span: Span,
}

/// The parser directives of a file, at most one of each name, in name order.
///
/// A fixed slot per name rather than a map: BuildKit knows three names, so finding and
/// keeping them costs no allocation. Serializes as an object keyed by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directives<'src>([Option<Directive<'src>>; 3]);

impl<'src> Directives<'src> {
    /// The names BuildKit accepts as directives, sorted (`check` arrived after v0.12.5; see
    /// docs/parse-json.md for the one consequence).
    pub const NAMES: [&'static str; 3] = ["check", "escape", "syntax"];

    /// The slot of a lower-cased `name`, if it is a directive name.
    fn slot(name: &str) -> Option<usize> {
        Self::NAMES.iter().position(|n| *n == name)
    }

    /// The directive called `name` (lower-cased), if the file has it.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Directive<'src>> {
        Self::slot(name).and_then(|i| self.0[i].as_ref())
    }

    /// Keeps `d` in the slot of its name (the parser rejects a name given twice before this).
    pub(crate) fn set(&mut self, d: Directive<'src>) {
        if let Some(i) = Self::slot(d.name) {
            self.0[i] = Some(d);
        }
    }

    /// The directives in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Directive<'src>> {
        self.0.iter().flatten()
    }

    /// How many directives the file has.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the file has none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The directives with owned values.
    #[must_use]
    pub fn into_owned(self) -> Directives<'static> {
        Directives(self.0.map(|d| {
            d.map(|d| Directive {
                name: d.name,
                value: owned(d.value),
                line: d.line,
                span: d.span,
            })
        }))
    }
}

impl Serialize for Directives<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|d| (d.name, d)))
    }
}

/// A `--name=value` (or bare `--name`) flag, with its original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag<'src> {
    /// The flag as BuildKit passes it on, e.g. `--mount=type=cache,target=/root/.cache`:
    /// the text as written with quotes and backslash escapes removed (BuildKit's flag
    /// splitter also reads non-ASCII bytes one by one, as Latin-1). For ordinary flags this
    /// is the text as written; the exact original is always the file's bytes at `span`.
    pub text: Cow<'src, str>,
    /// Span of the flag in the file.
    pub span: Span,
}

impl Flag<'_> {
    /// The name and the value: the text without its leading dashes, split at the first `=`.
    fn parts(&self) -> (&str, Option<&str>) {
        let body = self.text.strip_prefix("--").unwrap_or(&self.text);
        // (A plain search: flags are short, too short for `memchr` to pay for its set-up. `=`
        // is ASCII, so both sides are at character boundaries.)
        match body.bytes().position(|c| c == b'=') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        }
    }

    /// The name without dashes, e.g. `mount`: the text up to the first `=`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.parts().0
    }

    /// The value after the first `=`, if any.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.parts().1
    }
}

impl Serialize for Flag<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Flag", 4)?;
        st.serialize_field("text", &self.text)?;
        st.serialize_field("name", self.name())?;
        st.serialize_field("value", &self.value())?;
        st.serialize_field("span", &self.span)?;
        st.end()
    }
}

/// An instruction's flags, used as a slice (`Deref<Target = [Flag]>`). One is stored inline
/// (`COPY --from=build`, `RUN --mount=...` are most flagged instructions), so most
/// instructions need no allocation for them.
#[derive(Clone)]
pub struct Flags<'src>(FlagsRepr<'src>);

#[derive(Clone)]
enum FlagsRepr<'src> {
    One(Flag<'src>),
    /// None, or more than one.
    Heap(Vec<Flag<'src>>),
}

impl<'src> Flags<'src> {
    /// No flags.
    #[must_use]
    pub const fn new() -> Self {
        Self(FlagsRepr::Heap(Vec::new()))
    }

    /// Appends a flag.
    pub fn push(&mut self, flag: Flag<'src>) {
        self.0 = match std::mem::replace(&mut self.0, FlagsRepr::Heap(Vec::new())) {
            FlagsRepr::Heap(v) if v.is_empty() => FlagsRepr::One(flag),
            FlagsRepr::One(a) => FlagsRepr::Heap(vec![a, flag]),
            FlagsRepr::Heap(mut v) => {
                v.push(flag);
                FlagsRepr::Heap(v)
            }
        };
    }
}

impl<'src> std::ops::Deref for Flags<'src> {
    type Target = [Flag<'src>];

    fn deref(&self) -> &[Flag<'src>] {
        match &self.0 {
            FlagsRepr::One(f) => std::slice::from_ref(f),
            FlagsRepr::Heap(v) => v,
        }
    }
}

impl<'src> std::ops::DerefMut for Flags<'src> {
    fn deref_mut(&mut self) -> &mut [Flag<'src>] {
        match &mut self.0 {
            FlagsRepr::One(f) => std::slice::from_mut(f),
            FlagsRepr::Heap(v) => v,
        }
    }
}

/// The traits of a list type used as a slice of `$item` (`Args`, `Flags`): empty by default,
/// built and extended through its `push`, iterated, compared, printed and serialized as the slice.
macro_rules! slice_like {
    ($list:ident, $item:ident) => {
        impl Default for $list<'_> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<'src> FromIterator<$item<'src>> for $list<'src> {
            fn from_iter<I: IntoIterator<Item = $item<'src>>>(iter: I) -> Self {
                let mut list = Self::new();
                list.extend(iter);
                list
            }
        }

        impl<'src> Extend<$item<'src>> for $list<'src> {
            fn extend<I: IntoIterator<Item = $item<'src>>>(&mut self, iter: I) {
                for x in iter {
                    self.push(x);
                }
            }
        }

        impl<'a, 'src> IntoIterator for &'a $list<'src> {
            type Item = &'a $item<'src>;
            type IntoIter = std::slice::Iter<'a, $item<'src>>;

            fn into_iter(self) -> Self::IntoIter {
                self.iter()
            }
        }

        impl PartialEq for $list<'_> {
            fn eq(&self, other: &Self) -> bool {
                **self == **other
            }
        }

        impl Eq for $list<'_> {}

        impl std::fmt::Debug for $list<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }

        impl Serialize for $list<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.iter())
            }
        }
    };
}

slice_like!(Flags, Flag);

/// One argument of an instruction with its span. For shell form, RUN/CMD/ENTRYPOINT have a
/// single argument: the command line with continuations removed (BuildKit's value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arg<'src> {
    /// The value as BuildKit reports it ([`Text::text`]).
    pub value: Text<'src>,
    /// Span in the file. For values that cross continuation lines this covers from the first
    /// to the last byte of the value in the file.
    pub span: Span,
}

/// An instruction's arguments (BuildKit's `value` list), used as a slice (`Deref<Target =
/// [Arg]>`). Up to three are stored inline (`RUN cmd`, `FROM image AS name`, `COPY src dst`,
/// `ENV k v` are most instructions), so most instructions need no allocation for them.
#[derive(Clone)]
pub struct Args<'src>(ArgsRepr<'src>);

#[derive(Clone)]
enum ArgsRepr<'src> {
    One(Arg<'src>),
    Two([Arg<'src>; 2]),
    /// (`FROM image AS name`.)
    Three([Arg<'src>; 3]),
    /// None, or more than three.
    Heap(Vec<Arg<'src>>),
}

impl<'src> Args<'src> {
    /// No arguments.
    #[must_use]
    pub const fn new() -> Self {
        Self(ArgsRepr::Heap(Vec::new()))
    }

    /// One argument.
    #[must_use]
    pub const fn one(arg: Arg<'src>) -> Self {
        Self(ArgsRepr::One(arg))
    }

    /// Two arguments.
    #[must_use]
    pub const fn two(a: Arg<'src>, b: Arg<'src>) -> Self {
        Self(ArgsRepr::Two([a, b]))
    }

    /// The arguments made by `f` from each of `items`, stored inline when there are up to
    /// two (no growing through `push`).
    #[inline]
    pub(crate) fn map_from<T: Copy>(items: &[T], mut f: impl FnMut(T) -> Arg<'src>) -> Self {
        match *items {
            [] => Self::new(),
            [a] => Self::one(f(a)),
            [a, b] => {
                let a = f(a);
                Self::two(a, f(b))
            }
            [a, b, c] => {
                let a = f(a);
                let b = f(b);
                Self(ArgsRepr::Three([a, b, f(c)]))
            }
            _ => Self(ArgsRepr::Heap(items.iter().map(|&x| f(x)).collect())),
        }
    }

    /// Room for `n` arguments: inline for up to three, else one allocation of the right size.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        if n <= 3 {
            Self::new()
        } else {
            Self(ArgsRepr::Heap(Vec::with_capacity(n)))
        }
    }

    /// Appends an argument.
    #[inline]
    pub fn push(&mut self, arg: Arg<'src>) {
        match &mut self.0 {
            // (A heap list with room reserved stays on the heap.)
            ArgsRepr::Heap(v) if v.capacity() > 0 => v.push(arg),
            ArgsRepr::Heap(_) => self.0 = ArgsRepr::One(arg),
            ArgsRepr::One(_) | ArgsRepr::Two(_) | ArgsRepr::Three(_) => self.spill(arg),
        }
    }

    /// `push` onto inline arguments.
    fn spill(&mut self, arg: Arg<'src>) {
        self.0 = match std::mem::replace(&mut self.0, ArgsRepr::Heap(Vec::new())) {
            ArgsRepr::One(a) => ArgsRepr::Two([a, arg]),
            ArgsRepr::Two([a, b]) => ArgsRepr::Three([a, b, arg]),
            ArgsRepr::Three([a, b, c]) => {
                let mut v = Vec::with_capacity(6);
                v.extend([a, b, c, arg]);
                ArgsRepr::Heap(v)
            }
            ArgsRepr::Heap(mut v) => {
                v.push(arg);
                ArgsRepr::Heap(v)
            }
        };
    }

    /// The arguments as a vector.
    #[must_use]
    pub fn into_vec(self) -> Vec<Arg<'src>> {
        match self.0 {
            ArgsRepr::One(a) => vec![a],
            ArgsRepr::Two(two) => two.into(),
            ArgsRepr::Three(three) => three.into(),
            ArgsRepr::Heap(v) => v,
        }
    }
}

impl<'src> std::ops::Deref for Args<'src> {
    type Target = [Arg<'src>];

    fn deref(&self) -> &[Arg<'src>] {
        match &self.0 {
            ArgsRepr::One(a) => std::slice::from_ref(a),
            ArgsRepr::Two(two) => two,
            ArgsRepr::Three(three) => three,
            ArgsRepr::Heap(v) => v,
        }
    }
}

impl<'src> std::ops::DerefMut for Args<'src> {
    fn deref_mut(&mut self) -> &mut [Arg<'src>] {
        match &mut self.0 {
            ArgsRepr::One(a) => std::slice::from_mut(a),
            ArgsRepr::Two(two) => two,
            ArgsRepr::Three(three) => three,
            ArgsRepr::Heap(v) => v,
        }
    }
}

impl<'src> From<Vec<Arg<'src>>> for Args<'src> {
    fn from(v: Vec<Arg<'src>>) -> Self {
        if v.len() > 3 {
            return Self(ArgsRepr::Heap(v));
        }
        let mut it = v.into_iter();
        match (it.next(), it.next(), it.next()) {
            (None, _, _) => Self::new(),
            (Some(a), None, _) => Self(ArgsRepr::One(a)),
            (Some(a), Some(b), None) => Self(ArgsRepr::Two([a, b])),
            (Some(a), Some(b), Some(c)) => Self(ArgsRepr::Three([a, b, c])),
        }
    }
}

slice_like!(Args, Arg);

/// A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Heredoc<'src> {
    /// Delimiter word (without quotes or dash).
    pub name: Cow<'src, str>,
    /// File descriptor (0 unless written as `N<<`; saturates at `u32::MAX`).
    pub file_descriptor: u32,
    /// The body exactly as BuildKit's parser gives it: the lines between the instruction and
    /// the delimiter line, line breaks included. For `<<-` the leading tabs are still there
    /// (BuildKit strips them later, when it runs the instruction).
    pub content: Cow<'src, str>,
    /// `<<-`: leading tabs are stripped.
    pub chomp: bool,
    /// Unquoted delimiter: the body is subject to expansion.
    pub expand: bool,
    /// Span of the body lines plus the terminating delimiter line.
    pub span: Span,
}

/// Text as BuildKit reports it, for values that may span continuation lines: an argument's
/// value, an instruction's `original`. BuildKit joins continued lines (each line's escape
/// character and line break removed, comment and blank lines inside the continuation skipped).
///
/// Joining copies the text, and few readers of a parse want every joined value, so where the
/// text spans several lines of a UTF-8 file the tree keeps the file's lines as they are and
/// [`Text::text`] joins them when asked: most of a Dockerfile's bytes are in long continued
/// `RUN` commands, which would otherwise be copied once more for every parse. Compares, prints
/// and serializes as the joined text.
#[derive(Clone)]
pub struct Text<'src>(TextRepr<'src>);

#[derive(Clone)]
enum TextRepr<'src> {
    /// The text itself.
    Text(Cow<'src, str>),
    /// The file's text from the first byte of the value through its last, still to be joined;
    /// its first line is continued.
    Lines(&'src str),
}

impl<'src> Text<'src> {
    /// The text itself.
    #[must_use]
    pub const fn new(text: Cow<'src, str>) -> Self {
        Self(TextRepr::Text(text))
    }

    /// The file's text of a value continued over several lines (from its first byte through
    /// its last; the first line ends with the escape character), joined when asked for.
    pub(crate) const fn lines(raw: &'src str) -> Self {
        Self(TextRepr::Lines(raw))
    }

    /// The joined text.
    #[must_use]
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            TextRepr::Text(t) => Cow::Borrowed(t),
            TextRepr::Lines(raw) => Cow::Owned(super::parse::join_lines(raw)),
        }
    }

    /// Whether the text is the file's (no copy was made).
    #[cfg(test)]
    pub(crate) fn borrows_file(&self) -> bool {
        matches!(self.0, TextRepr::Text(Cow::Borrowed(_)) | TextRepr::Lines(_))
    }

    /// The text, owned (detached from the file).
    #[must_use]
    pub fn into_owned(self) -> Text<'static> {
        Text(TextRepr::Text(Cow::Owned(self.text().into_owned())))
    }
}

impl<'src> From<&'src str> for Text<'src> {
    fn from(text: &'src str) -> Self {
        Self::new(Cow::Borrowed(text))
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.text(), f)
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Text<'_> {}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.text() == other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.text() == *other
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// One instruction: keyword, flags, arguments and heredocs, with spans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instruction<'src> {
    /// The instruction word as written (BuildKit compares it case-insensitively).
    pub cmd: Cow<'src, str>,
    /// The keyword.
    pub keyword: Keyword,
    /// For ONBUILD: the wrapped instruction (its `cmd`, flags, args). Heredocs stay on the
    /// ONBUILD instruction itself, as in BuildKit; `args` and `json` of the ONBUILD
    /// instruction repeat the wrapped one's (BuildKit's flattened `value`).
    pub sub: Option<Box<Instruction<'src>>>,
    /// Exec (JSON array) form.
    pub json: bool,
    /// BuildKit's `Original`: the instruction with continuations joined, followed, when it has
    /// heredocs, by each body and its delimiter line (see [`Text`]).
    pub original: Text<'src>,
    /// 1-based first line.
    pub start_line: usize,
    /// 1-based last line (including heredoc bodies).
    pub end_line: usize,
    /// Flags, in order.
    pub flags: Flags<'src>,
    /// Arguments (BuildKit's `value` list).
    pub args: Args<'src>,
    /// Heredocs, in order.
    pub heredocs: Vec<Heredoc<'src>>,
    /// Span of the whole instruction through continuation lines and heredoc bodies.
    pub span: Span,
    /// Span of the instruction word.
    pub cmd_span: Span,
    /// Span of the text after the instruction word and its flags (BuildKit's `rest`), empty
    /// when there is none.
    pub args_span: Span,
}

impl<'src> Instruction<'src> {
    /// The first flag named `name` (without dashes).
    #[must_use]
    pub fn flag(&self, name: &str) -> Option<&Flag<'src>> {
        self.flags.iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// All flags named `name`.
    pub fn flags_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Flag<'src>> + 'a {
        self.flags.iter().filter(move |f| f.name().eq_ignore_ascii_case(name))
    }

    /// BuildKit's `value` strings.
    #[must_use]
    pub fn values(&self) -> Vec<Cow<'_, str>> {
        self.args.iter().map(|a| a.value.text()).collect()
    }

    /// The instruction with every string owned (detached from the file).
    #[must_use]
    pub fn into_owned(self) -> Instruction<'static> {
        Instruction {
            cmd: owned(self.cmd),
            keyword: self.keyword,
            sub: self.sub.map(|s| Box::new(s.into_owned())),
            json: self.json,
            original: self.original.into_owned(),
            start_line: self.start_line,
            end_line: self.end_line,
            flags: self
                .flags
                .iter()
                .map(|f| Flag {
                    text: owned(f.text.clone()),
                    span: f.span,
                })
                .collect(),
            args: self
                .args
                .into_vec()
                .into_iter()
                .map(|a| Arg {
                    value: a.value.into_owned(),
                    span: a.span,
                })
                .collect(),
            heredocs: self
                .heredocs
                .into_iter()
                .map(|h| Heredoc {
                    name: owned(h.name),
                    file_descriptor: h.file_descriptor,
                    content: owned(h.content),
                    chomp: h.chomp,
                    expand: h.expand,
                    span: h.span,
                })
                .collect(),
            span: self.span,
            cmd_span: self.cmd_span,
            args_span: self.args_span,
        }
    }
}

fn owned(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

/// A parsed Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dockerfile<'src> {
    /// Parser directives, in name order.
    pub directives: Directives<'src>,
    /// The escape character in force (`\` or `` ` ``).
    pub escape: char,
    /// Instructions in file order.
    pub instructions: Vec<Instruction<'src>>,
    /// Non-fatal remarks BuildKit also prints (e.g. empty continuation lines).
    pub warnings: Vec<ParseWarning>,
}

impl Dockerfile<'_> {
    /// The tree with every string owned, for keeping it after the file's bytes are gone.
    #[must_use]
    pub fn into_owned(self) -> Dockerfile<'static> {
        Dockerfile {
            directives: self.directives.into_owned(),
            escape: self.escape,
            instructions: self.instructions.into_iter().map(Instruction::into_owned).collect(),
            warnings: self.warnings,
        }
    }
}

/// A non-fatal remark from the parser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParseWarning {
    /// What BuildKit would say.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// Span.
    pub span: Span,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_in_any_case_and_nothing_else() {
        for (word, kw) in KEYWORDS {
            let lower = word.to_ascii_lowercase();
            let mixed: String = word
                .chars()
                .enumerate()
                .map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c })
                .collect();
            for w in [word.to_owned(), lower, mixed] {
                assert_eq!(Keyword::from_word(&w), kw, "{w}");
                // Nor does one byte more, less, or changed.
                assert_eq!(Keyword::from_word(&format!("{w}S")), Keyword::Unknown, "{w}S");
                assert_eq!(Keyword::from_word(&w[..w.len() - 1]), Keyword::Unknown, "{w} cut");
                let mut changed = w.clone().into_bytes();
                let last = changed.len() - 1;
                changed[last] ^= 0x01;
                assert_eq!(
                    Keyword::from_word(std::str::from_utf8(&changed).expect("ASCII")),
                    Keyword::Unknown,
                    "{w} changed"
                );
            }
        }
        // Control bytes in place of letters, and words too short or too long for any keyword.
        for w in [
            "RUN\0",
            "R\u{15}N",
            "RU\u{e}",
            "",
            "R",
            "ENTRYPOINTS",
            "HEALTHCHECKS",
            "\u{0}\u{0}\u{0}",
        ] {
            assert_eq!(Keyword::from_word(w), Keyword::Unknown, "{w:?}");
        }
    }
}
