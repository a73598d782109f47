//! Plan files parsed in memory, with the manifests they name served from a list.

use imgopt::diag::{Diagnostic, Files};
use imgopt::plan::file::{Parsed, parse_plan};

/// Parses `text` as `plan.yaml`; a `manifest:` path is looked up in `manifests` (name, text).
pub fn parse_with(text: &str, manifests: &[(&str, &str)]) -> Result<Parsed, Vec<Diagnostic>> {
    let mut files = Files::new();
    let id = files.add("plan.yaml", text);
    let ms: Vec<(String, String)> = manifests
        .iter()
        .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
        .collect();
    parse_plan(&mut files, id, &mut |p: &str| {
        ms.iter()
            .find(|(n, _)| n == p)
            .map(|(n, t)| (n.clone(), t.clone()))
            .ok_or_else(|| format!("no file {p}"))
    })
}
