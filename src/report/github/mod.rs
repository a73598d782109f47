//! GitHub Actions workflow-command renderers
//! (<https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>):
//! `::error file=F,line=L,title=T::message` lines that the runner turns into annotations on the
//! pull request's files, one file per report kind, and the escapes they share.

pub mod check;

/// `s` escaped as a command's message: `%`, CR and LF as `%25`, `%0D`, `%0A` (the runner's
/// own escapes), other control characters as `?`.
pub(crate) fn data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// `s` escaped as a property value: [`data`], and `:` and `,` as `%3A` and `%2C`.
pub(crate) fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_as_the_runner_reads_them() {
        assert_eq!(super::data("50%\nnext"), "50%25%0Anext");
        assert_eq!(super::property("a:b,c"), "a%3Ab%2Cc");
    }
}
