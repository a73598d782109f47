//! `.dockerignore` with BuildKit's semantics (moby/patternmatcher): one pattern per line,
//! `#` comments, whitespace trimmed, `filepath.Clean`ed, a leading `/` dropped; `*` and `?`
//! never match `/`, `**` matches any number of directories, `[...]` classes and `\` escapes;
//! `!` re-includes; the last matching pattern wins; a pattern that matches a parent directory
//! matches everything below it.
//!
//! Owns: parsing and matching. Does not: walk directories (see [`super`]).

/// One pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The cleaned pattern text (without `!`).
    pub text: String,
    /// `!pattern`: re-include.
    pub exclusion: bool,
    segments: Vec<String>,
}

/// A parsed ignore file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    /// Patterns in file order.
    pub patterns: Vec<Pattern>,
}

/// Go's `filepath.Clean` for slash paths.
#[must_use]
pub fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

impl IgnoreFile {
    /// Parses the text of a `.dockerignore`.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.lines() {
            let mut p = line.trim();
            if p.starts_with('#') || p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            if p.is_empty() {
                continue;
            }
            let mut c = clean(p);
            if c.len() > 1 && c.starts_with('/') {
                c.remove(0);
            }
            let segments = c.split('/').map(str::to_string).collect();
            patterns.push(Pattern {
                text: c,
                exclusion,
                segments,
            });
        }
        Self { patterns }
    }

    /// Whether `path` (relative, `/`-separated) is excluded from the context.
    #[must_use]
    pub fn is_excluded(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            // The pattern matches the path or one of its parent directories.
            let hit = match_prefixes(&p.segments, &parts).iter().skip(1).any(|&m| m);
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Whether any `!` pattern could re-include something below `dir` (then the walk must
    /// descend into an excluded directory, as BuildKit does).
    #[must_use]
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        let parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
        self.patterns.iter().filter(|p| p.exclusion).any(|p| {
            // A prefix of the pattern could match the directory.
            if p.segments.iter().any(|s| s == "**") {
                return true;
            }
            p.segments.len() > parts.len() && match_segments(&p.segments[..parts.len()], &parts)
        })
    }
}

/// Matches pattern segments against path segments; `**` spans any number of segments.
fn match_segments(pat: &[String], path: &[&str]) -> bool {
    match_prefixes(pat, path).last().copied().unwrap_or(false)
}

/// For each `j` in `0..=path.len()`, whether the whole pattern matches `path[..j]`.
///
/// One pass of dynamic programming over the pattern's segments, so a pattern with many `**`
/// costs (segments × path depth) segment matches, never the exponential number of ways the
/// `**`s could split the path (`**/**/**/…/*.c` on a deep tree). BuildKit's matcher compiles
/// patterns to regular expressions, which are matched without backtracking either
/// (<https://github.com/moby/patternmatcher>).
fn match_prefixes(pat: &[String], path: &[&str]) -> Vec<bool> {
    // reach[j]: the segments seen so far match path[..j].
    let mut reach = vec![false; path.len() + 1];
    reach[0] = true;
    let mut next = vec![false; path.len() + 1];
    for seg in pat {
        if seg == "**" {
            let mut any = false;
            for (n, r) in next.iter_mut().zip(&reach) {
                any |= *r;
                *n = any;
            }
        } else {
            next[0] = false;
            for j in 1..=path.len() {
                next[j] = reach[j - 1] && glob(seg.as_bytes(), path[j - 1].as_bytes());
            }
        }
        std::mem::swap(&mut reach, &mut next);
    }
    reach
}

/// Go's `filepath.Match` within one segment: `*`, `?`, `[...]` (with `^`/`!` negation and
/// ranges), `\` escapes.
#[must_use]
pub fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let (mut star_p, mut star_i) = (usize::MAX, 0);
    while i < s.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star_p = p;
                    star_i = i;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, len)) = class(&pat[p..], s[i])
                        && ok
                    {
                        p += len;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && pat[p + 1] == s[i] => {
                    p += 2;
                    i += 1;
                    continue;
                }
                c if c == s[i] => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        if star_p != usize::MAX {
            p = star_p + 1;
            star_i += 1;
            i = star_i;
            continue;
        }
        return false;
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

/// A `[...]` class at the start of `pat`: (matches `c`, length of the class).
fn class(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut j = 1;
    let negate = pat.get(1).is_some_and(|b| *b == b'^' || *b == b'!');
    if negate {
        j += 1;
    }
    let mut ok = false;
    let mut first = true;
    while j < pat.len() && (pat[j] != b']' || first) {
        first = false;
        let lo = if pat[j] == b'\\' && j + 1 < pat.len() {
            j += 1;
            pat[j]
        } else {
            pat[j]
        };
        let hi = if j + 2 < pat.len() && pat[j + 1] == b'-' && pat[j + 2] != b']' {
            j += 2;
            if pat[j] == b'\\' && j + 1 < pat.len() {
                j += 1;
            }
            pat[j]
        } else {
            lo
        };
        if lo <= c && c <= hi {
            ok = true;
        }
        j += 1;
    }
    if j >= pat.len() {
        return None;
    }
    Some((ok != negate, j + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_semantics() {
        let f = IgnoreFile::parse("# comment\n/node_modules\n*.log\n**/__pycache__\n!keep.log\n.git\n  target/  \n");
        assert!(f.is_excluded("node_modules/a/b.js"), "a parent match excludes children");
        assert!(f.is_excluded("app.log"));
        assert!(
            !f.is_excluded("sub/app.log"),
            "`*` does not cross `/` (unlike .gitignore)"
        );
        assert!(!f.is_excluded("keep.log"), "`!` re-includes");
        assert!(f.is_excluded("a/b/__pycache__/x.pyc"), "`**` spans directories");
        assert!(f.is_excluded("__pycache__/x.pyc"), "`**` matches zero directories");
        assert!(f.is_excluded(".git/HEAD"));
        assert!(f.is_excluded("target/debug/x"), "trailing slash is cleaned away");
        assert!(!f.is_excluded("src/main.rs"));
    }

    #[test]
    fn last_match_wins_and_reinclude_below() {
        let f = IgnoreFile::parse("*\n!src\n!README.md\nsrc/secret\n");
        assert!(f.is_excluded("Dockerfile"));
        assert!(!f.is_excluded("src/main.rs"));
        assert!(f.is_excluded("src/secret/key"));
        assert!(!f.is_excluded("README.md"));
        let g = IgnoreFile::parse("docs\n!docs/keep.md\n");
        assert!(g.may_reinclude_below("docs"));
        assert!(!g.may_reinclude_below("other"));
    }

    #[test]
    fn globs_like_go_filepath_match() {
        assert!(glob(b"*.t[a-z]t", b"file.txt"));
        assert!(!glob(b"*.t[!a-z]t", b"file.txt"));
        assert!(glob(b"a?c", b"abc"));
        assert!(glob(b"\\*", b"*"));
        assert!(!glob(b"\\*", b"x"));
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/"), "/");
    }

    #[test]
    fn many_double_stars_on_a_deep_path_are_not_exponential() {
        let pat = format!("{}c", "**/".repeat(40));
        let f = IgnoreFile::parse(&pat);
        let deep = vec!["d"; 200].join("/") + "/x";
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send((f.is_excluded(&deep), f.is_excluded(&format!("{deep}/c"))));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("matching finished within 20 s");
        assert_eq!(got, (false, true));
        let g = IgnoreFile::parse("a/**/b/**/c");
        assert!(g.is_excluded("a/b/c"));
        assert!(g.is_excluded("a/x/y/b/z/c/file"));
        assert!(!g.is_excluded("a/c/b"));
    }
}
