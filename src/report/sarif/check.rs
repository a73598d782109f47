//! SARIF 2.1.0 output of `imgopt check` (<https://docs.oasis-open.org/sarif/sarif/v2.1.0/>), for
//! code scanning: one run, one rule per policy key the report checked, one `error` result per
//! failed check at the policy line (or the Dockerfile line) it points at, with the target,
//! the measured value and the limit in `properties`.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde_json::json;

use crate::check::CheckReport;
use crate::check::policy::KEYS;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the SARIF log.
pub fn render(r: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let ids: BTreeSet<&str> = r
        .targets
        .iter()
        .flat_map(|t| t.checks.iter().map(|c| c.id.as_str()))
        .collect();
    let rules: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            let what = KEYS
                .iter()
                .find(|k| {
                    id.split_once('.')
                        .is_some_and(|(t, n)| k.table.as_str() == t && k.name == n)
                })
                .map_or("", |k| k.what);
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": format!("{id}: {what}")},
                "defaultConfiguration": {"level": "error"},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = r
        .targets
        .iter()
        .flat_map(|t| t.checks.iter().filter(|c| !c.passed).map(move |c| (t, c)))
        .map(|(t, c)| {
            let mut res = json!({
                "ruleId": c.id,
                "level": "error",
                "message": {"text": format!("{}: {}", t.target, c.message)},
                "properties": {"target": t.target, "kind": t.kind.as_str(), "actual": c.actual, "limit": c.limit},
            });
            if c.location.on_disk {
                res["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": c.location.file},
                        "region": {"startLine": c.location.line},
                    }
                }]);
            }
            res
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "imgopt", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results,
        }],
    });
    crate::report::json::write(&log, out)
}
