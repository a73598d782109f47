//! `--smoke 'ARGS'` split into words the way a POSIX shell splits a simple command line:
//! blanks separate words, single quotes keep everything, double quotes keep all but `\"` and
//! `\\`, a backslash outside quotes escapes the next character. No expansion of any kind.

/// The words of `s`, or why it cannot be split (an unclosed quote).
pub fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("trailing backslash".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_like_a_shell_without_expansion() {
        assert_eq!(split("--version").unwrap(), ["--version"]);
        assert_eq!(split("  -c 'print(1 + 1)'  ").unwrap(), ["-c", "print(1 + 1)"]);
        assert_eq!(
            split(r#"a "b \"c\" $HOME" d\ e ''"#).unwrap(),
            ["a", r#"b "c" $HOME"#, "d e", ""]
        );
        assert!(split("'open").is_err());
        assert!(split("\"open").is_err());
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }
}
