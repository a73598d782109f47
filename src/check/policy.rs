//! The policy file: TOML with `[image]`, `[baseline]` and `[dockerfile]` tables, read in two
//! phases in the way cargo-deny reads `deny.toml` (<https://github.com/EmbarkStudios/cargo-deny>):
//! first the TOML syntax (every syntax error the parser recovers from), then every key against
//! [`KEYS`], so one run reports every problem at its line: an unknown table or key with a "did
//! you mean", a wrong type, a negative size, a value out of range, an unknown rule code.
//!
//! Owns: the key table (names, types, units) and [`Policy`]. Does not: read files or measure.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{Diagnostic, FileId, Files, Severity};

use super::size;

/// The name of the built-in policy in reports.
pub const BUILTIN_NAME: &str = "built-in:default";

/// The built-in policy: the text of `policies/default.toml`.
pub const BUILTIN_TEXT: &str = include_str!("../../policies/default.toml");

/// The policy tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// `[image]`: checks of image targets.
    Image,
    /// `[baseline]`: growth against `--baseline`.
    Baseline,
    /// `[dockerfile]`: checks of Dockerfile targets.
    Dockerfile,
}

impl Table {
    /// The table's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Image => "image",
            Table::Baseline => "baseline",
            Table::Dockerfile => "dockerfile",
        }
    }
}

/// What a key's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Bytes: an integer, or a string with a unit.
    Size,
    /// A count (non-negative integer).
    Count,
    /// A number from 0 to 1.
    Fraction,
    /// A percentage, 0 or more.
    Percent,
    /// `true` or `false`.
    Bool,
    /// `error`, `warning`, `info` or `never`.
    Severity,
    /// A list of rule codes, names or code prefixes.
    Rules,
    /// A list of glob patterns.
    Globs,
}

impl Ty {
    fn expected(self) -> &'static str {
        match self {
            Ty::Size => "a size: an integer number of bytes or a string such as \"150 MB\"",
            Ty::Count => "a non-negative integer",
            Ty::Fraction => "a number from 0 to 1",
            Ty::Percent => "a percentage (a number, 0 or more)",
            Ty::Bool => "true or false",
            Ty::Severity => "\"error\", \"warning\", \"info\" or \"never\"",
            Ty::Rules => "a list of rule codes, names or code prefixes",
            Ty::Globs => "a list of glob patterns",
        }
    }
}

/// One key of the policy format.
#[derive(Debug, PartialEq, Eq)]
pub struct Key {
    /// Its table.
    pub table: Table,
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// What it limits, for docs and messages.
    pub what: &'static str,
}

macro_rules! key {
    ($t:ident, $n:literal, $ty:ident, $w:literal) => {
        Key {
            table: Table::$t,
            name: $n,
            ty: Ty::$ty,
            what: $w,
        }
    };
}

/// Every key, in the order checks are reported.
pub static KEYS: &[Key] = &[
    key!(Image, "max_compressed_bytes", Size, "sum of the layer blobs as stored"),
    key!(Image, "max_bytes", Size, "sum of the layer tars (uncompressed)"),
    key!(Image, "max_layers", Count, "number of layers"),
    key!(Image, "max_layer_bytes", Size, "the largest single layer tar"),
    key!(Image, "min_efficiency", Fraction, "dive's efficiency score"),
    key!(Image, "max_wasted_bytes", Size, "dive's wasted bytes"),
    key!(
        Image,
        "max_user_wasted_percent",
        Percent,
        "dive's wasted bytes over the bytes above layer 0"
    ),
    key!(
        Image,
        "max_reclaimable_bytes",
        Size,
        "bytes squashing the image would save"
    ),
    key!(
        Image,
        "max_reclaimable_percent",
        Percent,
        "reclaimable bytes over the layers' content bytes"
    ),
    key!(
        Image,
        "max_package_cache_bytes",
        Size,
        "package-manager caches left in the image"
    ),
    key!(Image, "non_root", Bool, "the config's User is set and is not root or 0"),
    key!(
        Baseline,
        "max_growth_bytes",
        Size,
        "compressed growth against the baseline"
    ),
    key!(
        Baseline,
        "max_growth_percent",
        Percent,
        "compressed growth as a percentage of the baseline"
    ),
    key!(
        Dockerfile,
        "fail_on",
        Severity,
        "findings at or above this severity fail"
    ),
    key!(Dockerfile, "deny", Rules, "findings of these rules always fail"),
    key!(Dockerfile, "allow", Rules, "findings of these rules never fail"),
    key!(
        Dockerfile,
        "max_estimated_saving_bytes",
        Size,
        "the low end of the summed estimated savings"
    ),
    key!(
        Dockerfile,
        "allowed_bases",
        Globs,
        "the final stage's base must match one of these"
    ),
    key!(
        Dockerfile,
        "denied_bases",
        Globs,
        "the final stage's base must match none of these"
    ),
];

/// The threshold of `fail_on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Findings at or above this severity fail.
    At(Severity),
    /// No finding fails by severity.
    Never,
}

impl FailOn {
    /// The name as written in policies.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::At(s) => s.as_str(),
            FailOn::Never => "never",
        }
    }
}

/// A percentage limit, with the fraction it is compared as (a `.dive-ci` fraction is kept as
/// given, so the comparison is the one dive makes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percent {
    /// The limit as a percentage.
    pub percent: f64,
    /// The limit as a fraction.
    pub fraction: f64,
}

/// A typed value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Bytes.
    Bytes(u64),
    /// A count.
    Count(u64),
    /// A fraction from 0 to 1.
    Fraction(f64),
    /// A percentage.
    Percent(Percent),
    /// A boolean.
    Bool(bool),
    /// A severity threshold.
    FailOn(FailOn),
    /// Rule selectors, with the rule codes each resolves to.
    Rules(Vec<(String, Vec<&'static str>)>),
    /// Glob patterns.
    Globs(Vec<String>),
}

/// Where a setting was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file as named in reports (a path, or [`BUILTIN_NAME`]).
    pub file: String,
    /// Whether `file` is a path on disk (annotations point only at real files).
    pub on_disk: bool,
    /// 1-based line of the key.
    pub line: usize,
}

/// One key the policy sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The key.
    pub key: &'static Key,
    /// Its value.
    pub value: Value,
    /// Where it was set.
    pub origin: Origin,
}

impl Setting {
    /// `<table>.<key>`.
    #[must_use]
    pub fn id(&self) -> String {
        format!("{}.{}", self.key.table.as_str(), self.key.name)
    }
}

/// A validated policy.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Policy {
    /// The policy file (a path, or [`BUILTIN_NAME`]).
    pub name: String,
    /// Settings in [`KEYS`] order.
    pub settings: Vec<Setting>,
}

impl Policy {
    /// The settings of one table, in [`KEYS`] order.
    pub fn table(&self, table: Table) -> impl Iterator<Item = &Setting> {
        self.settings.iter().filter(move |s| s.key.table == table)
    }

    /// The setting of `table.name`, if set.
    #[must_use]
    pub fn get(&self, table: Table, name: &str) -> Option<&Setting> {
        self.settings
            .iter()
            .find(|s| s.key.table == table && s.key.name == name)
    }

    /// Sets (or replaces) one setting, keeping [`KEYS`] order.
    pub fn set(&mut self, setting: Setting) {
        self.settings.retain(|s| !std::ptr::eq(s.key, setting.key));
        self.settings.push(setting);
        let pos = |k: &Key| KEYS.iter().position(|x| std::ptr::eq(x, k)).unwrap_or(usize::MAX);
        self.settings.sort_by_key(|s| pos(s.key));
    }
}

/// The policy had problems; each diagnostic points at one.
#[derive(Debug, thiserror::Error)]
#[error("{} problem{} in the policy", .0.len(), if .0.len() == 1 { "" } else { "s" })]
pub struct Invalid(pub Vec<Diagnostic>);

/// The known key of `table` nearest to `name`, when it is near enough to be a typo.
#[must_use]
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let (n, lc) = (name.to_ascii_lowercase(), c.to_ascii_lowercase());
        // A prefix of three letters or more (`warn` for `warning`) counts as one edit.
        let d = if n.len() >= 3 && lc.starts_with(&n) {
            1
        } else {
            edit_distance(&n, &lc)
        };
        if d <= (c.len() / 3).max(2) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reads and validates the policy text of `file` (already in `files`), named `name` in
/// reports; `on_disk` says whether `name` is a real path.
pub fn parse(files: &Files, file: FileId, name: &str, on_disk: bool) -> Result<Policy, Invalid> {
    let text = files.text(file);
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut diags: Vec<Diagnostic> = errors
        .iter()
        .map(|e| {
            let span = e.span().unwrap_or(0..0);
            Diagnostic::error(format!("{name}: invalid TOML: {}", e.message().trim_end()))
                .with_code("policy")
                .with_primary(file, span, "")
        })
        .collect();
    if !diags.is_empty() {
        return Err(Invalid(diags));
    }
    let mut policy = Policy {
        name: name.to_string(),
        settings: Vec::new(),
    };
    let tables = ["image", "baseline", "dockerfile"];
    let line = |span: &Range<usize>| files.line_index(file, span.start) + 1;
    let err = |span: Range<usize>, msg: String, label: &str| {
        Diagnostic::error(format!("{name}:{}: {msg}", line(&span)))
            .with_code("policy")
            .with_primary(file, span, label.to_string())
    };
    let mut entries: Vec<_> = root.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (tkey, tval) in entries {
        let tname: &str = tkey.get_ref();
        let Some(table) = [Table::Image, Table::Baseline, Table::Dockerfile]
            .into_iter()
            .find(|t| t.as_str() == tname)
        else {
            let mut d = err(tkey.span(), format!("unknown table `{tname}`"), "not a policy table");
            d = match did_you_mean(tname, tables) {
                Some(s) => d.with_help(format!("did you mean `[{s}]`?")),
                None => d.with_help("the tables are [image], [baseline] and [dockerfile]"),
            };
            diags.push(d);
            continue;
        };
        let DeValue::Table(t) = tval.get_ref() else {
            diags.push(err(
                tval.span(),
                format!("`{tname}` must be a table ([{tname}])"),
                "expected a table",
            ));
            continue;
        };
        let mut keys: Vec<_> = t.iter().collect();
        keys.sort_by_key(|(k, _)| k.span().start);
        for (k, v) in keys {
            let kname: &str = k.get_ref();
            let Some(key) = KEYS.iter().find(|x| x.table == table && x.name == kname) else {
                let names = KEYS.iter().filter(|x| x.table == table).map(|x| x.name);
                let mut d = err(k.span(), format!("unknown key `{kname}` in [{tname}]"), "unknown key");
                d = match did_you_mean(kname, names) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => {
                        let all: Vec<&str> = KEYS.iter().filter(|x| x.table == table).map(|x| x.name).collect();
                        d.with_note(format!("[{tname}] takes: {}", all.join(", ")))
                    }
                };
                diags.push(d);
                continue;
            };
            match value(key, v) {
                Ok(value) => policy.settings.push(Setting {
                    key,
                    value,
                    origin: Origin {
                        file: name.to_string(),
                        on_disk,
                        line: line(&k.span()),
                    },
                }),
                Err(problems) => {
                    for (span, msg) in problems {
                        let label = if msg.starts_with("expected") {
                            "wrong type"
                        } else {
                            "invalid value"
                        };
                        diags.push(err(span, format!("`{tname}.{kname}`: {msg}"), label));
                    }
                }
            }
        }
    }
    if !diags.is_empty() {
        return Err(Invalid(diags));
    }
    let settings = std::mem::take(&mut policy.settings);
    for s in settings {
        policy.set(s);
    }
    Ok(policy)
}

type Problems = Vec<(Range<usize>, String)>;

fn one(span: Range<usize>, msg: impl Into<String>) -> Problems {
    vec![(span, msg.into())]
}

fn number(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Checks one value against its key's type and range.
fn value(key: &Key, v: &Spanned<DeValue<'_>>) -> Result<Value, Problems> {
    let span = v.span();
    let wrong = || {
        one(
            span.clone(),
            format!("expected {}, found {}", key.ty.expected(), type_name(v.get_ref())),
        )
    };
    match key.ty {
        Ty::Size => match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) if n < 0 => Err(one(span, "a size cannot be negative")),
                Ok(n) => Ok(Value::Bytes(n.unsigned_abs())),
                Err(_) => Err(one(span, "the size does not fit in 64 bits")),
            },
            DeValue::String(s) => size::parse_policy(s)
                .map(Value::Bytes)
                .map_err(|e| one(span, e.to_string())),
            DeValue::Float(f) if f.as_str().starts_with('-') => Err(one(span, "a size cannot be negative")),
            _ => Err(wrong()),
        },
        Ty::Count => match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) if n < 0 => Err(one(span, "a count cannot be negative")),
                Ok(n) => Ok(Value::Count(n.unsigned_abs())),
                Err(_) => Err(one(span, "the count does not fit in 64 bits")),
            },
            _ => Err(wrong()),
        },
        Ty::Fraction => match number(v.get_ref()) {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(Value::Fraction(x)),
            Some(x) => Err(one(span, format!("{x} is outside 0 to 1 (0.95 means 95 %)"))),
            None => Err(wrong()),
        },
        Ty::Percent => match number(v.get_ref()) {
            Some(x) if x >= 0.0 => Ok(Value::Percent(Percent {
                percent: x,
                fraction: x / 100.0,
            })),
            Some(x) => Err(one(span, format!("a percentage cannot be negative (got {x})"))),
            None => Err(wrong()),
        },
        Ty::Bool => match v.get_ref() {
            DeValue::Boolean(b) => Ok(Value::Bool(*b)),
            _ => Err(wrong()),
        },
        Ty::Severity => match v.get_ref() {
            DeValue::String(s) => match s.as_ref() {
                "error" => Ok(Value::FailOn(FailOn::At(Severity::Error))),
                "warning" => Ok(Value::FailOn(FailOn::At(Severity::Warning))),
                "info" | "note" => Ok(Value::FailOn(FailOn::At(Severity::Info))),
                "never" => Ok(Value::FailOn(FailOn::Never)),
                other => {
                    let mut msg = format!("unknown severity `{other}`; expected {}", key.ty.expected());
                    if let Some(s) = did_you_mean(other, ["error", "warning", "info", "never"]) {
                        msg.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    Err(one(span, msg))
                }
            },
            _ => Err(wrong()),
        },
        Ty::Rules | Ty::Globs => {
            let DeValue::Array(items) = v.get_ref() else {
                return Err(wrong());
            };
            let mut problems = Vec::new();
            let mut rules = Vec::new();
            let mut globs = Vec::new();
            for item in items {
                let DeValue::String(s) = item.get_ref() else {
                    problems.push((
                        item.span(),
                        format!("expected a string, found {}", type_name(item.get_ref())),
                    ));
                    continue;
                };
                if s.trim().is_empty() {
                    problems.push((item.span(), "an empty entry matches nothing".to_string()));
                    continue;
                }
                if key.ty == Ty::Globs {
                    globs.push(s.to_string());
                    continue;
                }
                match crate::rules::resolve(s) {
                    Ok(codes) if !s.contains(',') && !s.eq_ignore_ascii_case("all") => {
                        rules.push((s.to_string(), codes));
                    }
                    Ok(_) => problems.push((item.span(), format!("`{s}`: give one code, name or prefix per entry"))),
                    Err(_) => {
                        let names = crate::rules::RULES.iter().flat_map(|r| [r.meta().code, r.meta().name]);
                        let mut msg = format!("unknown rule `{s}` (see `imgopt explain --list`)");
                        if let Some(n) = did_you_mean(s, names) {
                            msg.push_str(&format!("; did you mean `{n}`?"));
                        }
                        problems.push((item.span(), msg));
                    }
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            Ok(if key.ty == Ty::Globs {
                Value::Globs(globs)
            } else {
                Value::Rules(rules)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Policy, Invalid> {
        let mut files = Files::new();
        let id = files.add("p.toml", text);
        parse(&files, id, "p.toml", true)
    }

    #[test]
    fn the_issue_example_reads_with_its_units() {
        let p = load(
            "[image]\nmax_compressed_bytes = \"150 MB\"\nmax_bytes = \"400 MiB\"\nmax_layers = 30\nmin_efficiency = 0.95\n\
             max_user_wasted_percent = 10.0\nnon_root = true\n[baseline]\nmax_growth_bytes = \"5 MB\"\n\
             [dockerfile]\nfail_on = \"warning\"\ndeny = [\"DF104\"]\nallowed_bases = [\"*-slim*\"]\n",
        )
        .expect("valid");
        let c = p.get(Table::Image, "max_compressed_bytes").expect("set");
        assert_eq!(c.value, Value::Bytes(150_000_000));
        assert_eq!(c.origin.line, 2);
        assert_eq!(
            p.get(Table::Image, "max_bytes").map(|s| &s.value),
            Some(&Value::Bytes(400 << 20))
        );
        assert_eq!(
            p.get(Table::Baseline, "max_growth_bytes").map(|s| s.origin.line),
            Some(9)
        );
        assert_eq!(p.settings.len(), 10);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = load("[image]\nmax_compresed_bytes = 1\nmax_layers = \"many\"\nmax_bytes = -5\n[imgae]\n")
            .expect_err("invalid");
        let msgs: Vec<&str> = e.0.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(
            msgs[0].contains("p.toml:2: unknown key `max_compresed_bytes`"),
            "{msgs:?}"
        );
        assert_eq!(e.0[0].help.as_deref(), Some("did you mean `max_compressed_bytes`?"));
        assert!(
            msgs[1].contains(":3:") && msgs[1].contains("expected a non-negative integer"),
            "{msgs:?}"
        );
        assert!(msgs[2].contains(":4:") && msgs[2].contains("negative"), "{msgs:?}");
        assert!(msgs[3].contains(":5: unknown table `imgae`"), "{msgs:?}");
    }

    #[test]
    fn rule_lists_resolve_and_typos_are_caught() {
        let e = load("[dockerfile]\ndeny = [\"DF9999\", 3]\nfail_on = \"warn\"\n").expect_err("invalid");
        assert_eq!(e.0.len(), 3);
        assert!(
            e.0[2].message.contains("did you mean `warning`"),
            "{:?}",
            e.0[2].message
        );
        let p = load("[dockerfile]\ndeny = [\"DF2\"]\n").expect("valid");
        let Some(Setting {
            value: Value::Rules(r), ..
        }) = p.get(Table::Dockerfile, "deny")
        else {
            panic!()
        };
        assert!(r[0].1.len() > 1 && r[0].1.iter().all(|c| c.starts_with("DF2")));
    }

    #[test]
    fn the_builtin_policy_is_valid() {
        let mut files = Files::new();
        let id = files.add(BUILTIN_NAME, BUILTIN_TEXT);
        let p = parse(&files, id, BUILTIN_NAME, false).expect("valid");
        assert!(!p.settings.is_empty());
    }
}
