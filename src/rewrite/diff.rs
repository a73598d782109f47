//! Unified diffs (`--diff`) of two texts, line by line, with three lines of context, in the
//! format `diff -u` and `git diff` print (https://www.gnu.org/software/diffutils/manual/html_node/Unified-Format.html).
//!
//! Owns: a longest-common-subsequence line diff sized for Dockerfiles. Files with more than
//! [`MAX_LINES`] lines on either side are shown as one hunk that replaces everything.

use std::fmt::Write as _;

/// Above this many lines a side, the diff is one whole-file hunk (the table is quadratic).
pub const MAX_LINES: usize = 4000;

const CONTEXT: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Same(usize, usize),
    Del(usize),
    Add(usize),
}

fn ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    if n > MAX_LINES || m > MAX_LINES {
        return (0..n).map(Op::Del).chain((0..m).map(Op::Add)).collect();
    }
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(Op::Same(i, j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            out.push(Op::Del(i));
            i += 1;
        } else {
            out.push(Op::Add(j));
            j += 1;
        }
    }
    out
}

fn split(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// The unified diff from `old` to `new`, labelled `a/<name>` and `b/<name>`; empty when the
/// texts are equal.
#[must_use]
pub fn unified(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (split(old), split(new));
    let ops = ops(&a, &b);
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Op::Same(..)))
        .map(|(k, _)| k)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        // Line numbers: where each side starts (1-based), and how many lines.
        let (mut a0, mut b0) = (None, None);
        let (mut an, mut bn) = (0, 0);
        for o in hunk {
            match *o {
                Op::Same(i, j) => {
                    a0.get_or_insert(i);
                    b0.get_or_insert(j);
                    an += 1;
                    bn += 1;
                }
                Op::Del(i) => {
                    a0.get_or_insert(i);
                    an += 1;
                }
                Op::Add(j) => {
                    b0.get_or_insert(j);
                    bn += 1;
                }
            }
        }
        let before = |side_a: bool| {
            ops[..start]
                .iter()
                .filter(|o| match o {
                    Op::Same(..) => true,
                    Op::Del(_) => side_a,
                    Op::Add(_) => !side_a,
                })
                .count()
        };
        let a_start = a0.map_or(before(true), |x| x + 1);
        let b_start = b0.map_or(before(false), |x| x + 1);
        let _ = writeln!(out, "@@ -{a_start},{an} +{b_start},{bn} @@");
        for o in hunk {
            let (mark, line) = match *o {
                Op::Same(i, _) => (' ', a[i]),
                Op::Del(i) => ('-', a[i]),
                Op::Add(j) => ('+', b[j]),
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_like_diff_u() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\n";
        let d = unified("Dockerfile", old, new);
        assert_eq!(
            d,
            "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,9 +1,10 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n i\n+j\n"
        );
        assert_eq!(unified("x", old, old), "");
        let d = unified("x", "", "a\n");
        assert_eq!(d, "--- a/x\n+++ b/x\n@@ -0,0 +1,1 @@\n+a\n");
    }
}
