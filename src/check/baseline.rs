//! What `--baseline` compares against: the compressed bytes of an earlier image, read from an
//! image (`cli::check` reads it) or from a JSON report of `imgopt layers` or `imgopt check`.
//!
//! Owns: reading those JSON reports. Does not: read files or images.

use serde_json::Value;

/// The baseline's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    /// The baseline as given (`--baseline`).
    pub name: String,
    /// Its compressed bytes (sum of the layer blobs as stored).
    pub compressed_bytes: u64,
}

/// Why a JSON baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON.
    #[error("{name}: not a JSON report: {source}")]
    Json {
        /// The file.
        name: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// JSON, but not a report this can read.
    #[error("{name}: {reason}")]
    Shape {
        /// The file.
        name: String,
        /// What is missing.
        reason: String,
    },
}

/// Reads the compressed bytes from a JSON report: `imgopt layers --format json` (one platform,
/// `totals.compressed_bytes`) or `imgopt check --format json` (the `actual` of an image
/// target's `image.max_compressed_bytes` check; with several image targets, the one named
/// `target`).
pub fn from_json(name: &str, bytes: &[u8], target: &str) -> Result<Baseline, Error> {
    let v: Value = serde_json::from_slice(bytes).map_err(|source| Error::Json {
        name: name.to_string(),
        source,
    })?;
    let shape = |reason: &str| Error::Shape {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if v.get("schema_version").and_then(Value::as_u64) != Some(1) {
        return Err(shape("not an imgopt JSON report (schema_version 1)"));
    }
    let found = |n: u64| {
        Ok(Baseline {
            name: name.to_string(),
            compressed_bytes: n,
        })
    };
    if let Some(n) = v.pointer("/totals/compressed_bytes").and_then(Value::as_u64) {
        return found(n);
    }
    if let Some(platforms) = v.get("platforms").and_then(Value::as_array) {
        return match platforms.as_slice() {
            [one] => one
                .pointer("/totals/compressed_bytes")
                .and_then(Value::as_u64)
                .map_or_else(|| Err(shape("the layers report has no totals.compressed_bytes")), found),
            _ => Err(shape(
                "a report of several platforms; give the baseline of one (`imgopt layers --platform`)",
            )),
        };
    }
    if let Some(targets) = v.get("targets").and_then(Value::as_array) {
        let sizes: Vec<(&str, u64)> = targets
            .iter()
            .filter(|t| t.get("kind").and_then(Value::as_str) == Some("image"))
            .filter_map(|t| {
                let checks = t.get("checks")?.as_array()?;
                let c = checks
                    .iter()
                    .find(|c| c.get("id").and_then(Value::as_str) == Some("image.max_compressed_bytes"))?;
                Some((
                    t.get("target").and_then(Value::as_str).unwrap_or(""),
                    c.get("actual")?.as_u64()?,
                ))
            })
            .collect();
        return match sizes.as_slice() {
            [] => Err(shape(
                "the check report has no image target with an `image.max_compressed_bytes` check to read the size from \
                 (set that key in the policy, or give a report of `imgopt layers --format json`)",
            )),
            [(_, n)] => found(*n),
            many => many.iter().find(|(t, _)| *t == target).map_or_else(
                || {
                    Err(shape(&format!(
                        "the check report has several image targets and none is `{target}`"
                    )))
                },
                |(_, n)| found(*n),
            ),
        };
    }
    Err(shape(
        "neither a report of `imgopt layers --format json` nor of `imgopt check --format json`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_layers_and_check_reports() {
        let layers = br#"{"schema_version":1,"totals":{"compressed_bytes":1234}}"#;
        assert_eq!(from_json("b.json", layers, "x").unwrap().compressed_bytes, 1234);
        let check = br#"{"schema_version":1,"passed":true,"policy":"p","targets":[
            {"target":"a","kind":"image","passed":true,"checks":[{"id":"image.max_compressed_bytes","actual":77}]},
            {"target":"b","kind":"image","passed":true,"checks":[{"id":"image.max_compressed_bytes","actual":88}]}]}"#;
        assert_eq!(from_json("c.json", check, "b").unwrap().compressed_bytes, 88);
        assert!(from_json("c.json", check, "z").is_err());
        assert!(from_json("x.json", b"{\"schema_version\":1}", "x").is_err());
        assert!(from_json("x.json", b"not json", "x").is_err());
    }
}
