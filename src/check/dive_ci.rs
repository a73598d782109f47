//! dive's `.dive-ci` file mapped onto policy keys, so `imgopt check --dive-ci .dive-ci` gives,
//! rule by rule, the verdict `dive --ci --ci-config .dive-ci` gives on the same image.
//!
//! dive reads three rules under `rules:` (`cmd/dive/cli/internal/command/ci/rules.go` and
//! `options/ci_rules.go` in <https://github.com/wagoodman/dive>), each a string that may be
//! `disabled`, with these defaults when absent. dive 0.13.1, the release this is tested
//! against, disables a rule only for the exact word `disabled` and calls any other value it
//! cannot parse (`off`, an empty string) a misconfiguration, so imgopt rejects those too:
//!
//! | dive rule | default | fails when | policy key |
//! | --- | --- | --- | --- |
//! | `lowestEfficiency` | 0.9 | efficiency < value | `image.min_efficiency` |
//! | `highestWastedBytes` | disabled | wasted bytes > value (go-humanize units) | `image.max_wasted_bytes` |
//! | `highestUserWastedPercent` | 0.1 | wasted / user bytes > value (a fraction) | `image.max_user_wasted_percent` (×100) |
//!
//! Owns: that mapping. Does not: compute dive's numbers (see `layers::dive`).

use crate::diag::{Diagnostic, FileId, Files};
use crate::plan::yaml::{self, Node, Yaml};

use super::policy::{Invalid, KEYS, Origin, Percent, Setting, Table, Value, did_you_mean};
use super::size;

/// dive's rule names, its default for each, and the policy key it maps to.
const RULES: [(&str, &str, &str); 3] = [
    ("lowestEfficiency", "0.9", "min_efficiency"),
    ("highestWastedBytes", "disabled", "max_wasted_bytes"),
    ("highestUserWastedPercent", "0.1", "max_user_wasted_percent"),
];

fn disabled(v: &str) -> bool {
    v == "disabled"
}

/// Reads a `.dive-ci` file (already in `files`, shown as `name`) into the settings it stands for;
/// absent rules take dive's defaults and point at the `rules:` line.
pub fn parse(files: &Files, file: FileId, name: &str) -> Result<Vec<Setting>, Invalid> {
    let text = files.text(file);
    let line = |offset: usize| files.line_index(file, offset) + 1;
    let err = |span: std::ops::Range<usize>, msg: String| {
        Diagnostic::error(format!("{name}:{}: {msg}", line(span.start)))
            .with_code("dive-ci")
            .with_primary(file, span, "")
    };
    let docs = yaml::parse(text)
        .map_err(|e| Invalid(vec![err(e.offset..e.offset, format!("invalid YAML: {}", e.message))]))?;
    let root = docs.into_iter().next();
    let rules: Option<&Yaml> = root.as_ref().and_then(|r| r.get("rules"));
    let mut diags = Vec::new();
    let default_line = root
        .as_ref()
        .and_then(|r| match &r.node {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar() == Some("rules"))
                .map(|(k, _)| line(k.span.start)),
            _ => None,
        })
        .unwrap_or(1);
    let mut given: Vec<(&str, String, usize, std::ops::Range<usize>)> = Vec::new();
    if let Some(rules) = rules.filter(|r| !r.is_null()) {
        match &rules.node {
            Node::Map(entries) => {
                for (k, v) in entries {
                    let kname = k.scalar().unwrap_or("");
                    let Some((rule, _, _)) = RULES.iter().find(|(r, _, _)| *r == kname) else {
                        let mut d = err(k.span.clone(), format!("unknown dive CI rule `{kname}`"));
                        d = match did_you_mean(kname, RULES.iter().map(|r| r.0)) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")),
                            None => d.with_note(
                                "dive's rules are lowestEfficiency, highestWastedBytes and highestUserWastedPercent",
                            ),
                        };
                        diags.push(d);
                        continue;
                    };
                    match v.scalar() {
                        Some(s) => given.push((rule, s.to_string(), line(k.span.start), v.span.clone())),
                        None => diags.push(err(
                            v.span.clone(),
                            format!("`{kname}` must be a value, found {}", v.kind()),
                        )),
                    }
                }
            }
            _ => diags.push(err(
                rules.span.clone(),
                format!("`rules` must be a mapping, found {}", rules.kind()),
            )),
        }
    }
    let mut out = Vec::new();
    for (rule, default, key_name) in RULES {
        let (raw, at, span) = match given.iter().find(|g| g.0 == rule) {
            Some((_, raw, at, span)) => (raw.clone(), *at, Some(span.clone())),
            None => (default.to_string(), default_line, None),
        };
        if disabled(&raw) {
            continue;
        }
        let problem = |msg: String| match &span {
            Some(s) => err(s.clone(), format!("`{rule}`: {msg}")),
            None => Diagnostic::error(format!("{name}: `{rule}`: {msg}")).with_code("dive-ci"),
        };
        let value = match rule {
            "highestWastedBytes" => match size::parse_dive(&raw) {
                Ok(b) => Value::Bytes(b),
                Err(e) => {
                    diags.push(problem(e.to_string()));
                    continue;
                }
            },
            _ => match raw.trim().parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => {
                    if rule == "lowestEfficiency" {
                        Value::Fraction(x)
                    } else {
                        Value::Percent(Percent {
                            percent: x * 100.0,
                            fraction: x,
                        })
                    }
                }
                Ok(x) => {
                    diags.push(problem(format!("{x} is outside 0 to 1 (dive reads a fraction)")));
                    continue;
                }
                Err(_) => {
                    diags.push(problem(format!("`{raw}` is not a number")));
                    continue;
                }
            },
        };
        let Some(key) = KEYS.iter().find(|k| k.table == Table::Image && k.name == key_name) else {
            continue;
        };
        out.push(Setting {
            key,
            value,
            origin: Origin {
                file: name.to_string(),
                on_disk: true,
                line: at,
            },
        });
    }
    if diags.is_empty() { Ok(out) } else { Err(Invalid(diags)) }
}
