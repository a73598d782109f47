//! The glob patterns of `allowed_bases` and `denied_bases`: `*` matches any run of characters
//! (`/` and `:` included), `?` one character, everything else itself. A base written without a
//! tag or digest is matched as `NAME:latest`, the tag the builder pulls.

/// Whether `pattern` matches all of `text`.
#[must_use]
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point for the last `*` (linear in practice).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The base as it is matched: `NAME:latest` when it names no tag or digest (`scratch` stays).
#[must_use]
pub fn normalize_base(base: &str) -> String {
    let last = base.rsplit('/').next().unwrap_or(base);
    if base == "scratch" || last.contains(':') || base.contains('@') {
        base.to_string()
    } else {
        format!("{base}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_references() {
        assert!(matches(
            "gcr.io/distroless/*",
            "gcr.io/distroless/static-debian12:nonroot"
        ));
        assert!(matches("*-slim*", "python:3.12-slim-bookworm"));
        assert!(!matches("*-slim*", "python:3.12"));
        assert!(matches("*:latest", &normalize_base("alpine")));
        assert!(!matches("*:latest", &normalize_base("alpine:3.20")));
        assert!(matches("alpine:3.?0", "alpine:3.20"));
        assert!(!matches("alpine", "alpine:3.20"));
        assert!(matches("*", ""));
        assert_eq!(normalize_base("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(normalize_base("scratch"), "scratch");
    }
}
