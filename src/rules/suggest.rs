//! "Did you mean": the closest known word to a misspelt one, for DF001 and DF002.

/// Edit distance (insertions, deletions, substitutions and swaps of neighbours) between two
/// ASCII-case-folded words.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Three rows of the optimal-string-alignment table.
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, when it is close enough to be a typo: at most one edit for
/// words up to 4 characters, two for longer ones (ties go to the first candidate).
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    if word.len() > 64 {
        return None;
    }
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_not_strangers() {
        let kw = ["FROM", "RUN", "COPY", "WORKDIR", "ENTRYPOINT"];
        assert_eq!(closest("FROOM", &kw), Some("FROM"));
        assert_eq!(closest("runn", &kw), Some("RUN"));
        assert_eq!(closest("CPOY", &kw), Some("COPY"));
        assert_eq!(closest("WORKDR", &kw), Some("WORKDIR"));
        assert_eq!(closest("ENTRYPONT", &kw), Some("ENTRYPOINT"));
        assert_eq!(closest("BANANA", &kw), None);
        assert_eq!(closest("form", &["from", "chown"]), Some("from"));
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "abc"), 3);
    }
}
