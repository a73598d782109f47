//! The model of `imgopt explain`: one rule's documentation, or the list of every rule. A view
//! over the rules' static metadata ([`crate::rules::RuleMeta`]), rendered by
//! `human/explain.rs`, `markdown/explain.rs` and as JSON.

use serde::Serialize;

use crate::diag::Severity;
use crate::rules::{self, RULES, RuleMeta};

/// What `imgopt explain` prints.
#[derive(Debug)]
pub enum ExplainReport {
    /// `imgopt explain CODE|NAME`.
    One(&'static RuleMeta),
    /// `imgopt explain --list`: every rule in code order.
    List(Vec<&'static RuleMeta>),
}

impl ExplainReport {
    /// The rule with this code or name, or `None`.
    #[must_use]
    pub fn one(code_or_name: &str) -> Option<Self> {
        rules::find(code_or_name).map(|r| Self::One(r.meta()))
    }

    /// Every rule.
    #[must_use]
    pub fn list() -> Self {
        Self::List(RULES.iter().map(|r| r.meta()).collect())
    }

    /// The JSON document (schema_version 1): a rule, or `{"schema_version": 1, "rules": [...]}`.
    #[must_use]
    pub fn json(&self) -> ExplainJson {
        match self {
            Self::One(m) => ExplainJson::One(RuleJson {
                schema_version: Some(1),
                ..RuleJson::from(*m)
            }),
            Self::List(all) => ExplainJson::List {
                schema_version: 1,
                rules: all.iter().map(|m| RuleJson::from(*m)).collect(),
            },
        }
    }
}

/// The JSON form of [`ExplainReport`] (documented in docs/analyze-json.md).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ExplainJson {
    /// One rule, with `schema_version`.
    One(RuleJson),
    /// Every rule.
    List {
        /// Always 1.
        schema_version: u32,
        /// The rules in code order.
        rules: Vec<RuleJson>,
    },
}

/// One rule as JSON.
#[derive(Debug, Serialize)]
pub struct RuleJson {
    /// Present on a single rule's document (`explain CODE`); the list carries it once at the top.
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<u32>,
    code: &'static str,
    name: &'static str,
    severity: Severity,
    default_enabled: bool,
    summary: String,
    doc: String,
}

impl From<&'static RuleMeta> for RuleJson {
    fn from(m: &'static RuleMeta) -> Self {
        Self {
            schema_version: None,
            code: m.code,
            name: m.name,
            severity: m.severity,
            default_enabled: m.default_enabled,
            summary: m.summary(),
            doc: m.doc(),
        }
    }
}
