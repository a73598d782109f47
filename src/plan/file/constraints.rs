//! Extended resources and node affinity in plan files and manifests.
//!
//! Owns: the plan-file keys `labels` and `extended_resources` of node types, and
//! `extended_resources`, `node_selector` and `node_affinity` of services and DaemonSets; in
//! manifests (services and DaemonSets alike),
//! extended resources in container `resources.requests` (falling back to `limits`, as API
//! defaulting does; the Kubernetes docs, *Managing Resources for Containers*, "Extended
//! resources": any resource name outside the `kubernetes.io` domain, whole numbers only),
//! `spec.nodeSelector` and `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
//! Does not: match anything (see `selector`).

use std::collections::BTreeMap;

use super::super::quantity::Quantity;
use super::super::selector::{NodeAffinity, Operator, Requirement};
use super::{Ctx, MapReader, codes, list, map, scalar};
use crate::diag::FileId;
use crate::plan::yaml::{Node, Yaml};

/// Whether a resource name is an extended resource: a domain-prefixed name outside
/// `kubernetes.io` (`nvidia.com/gpu`, `amd.com/gpu`, `example.com/foo`), not `hugepages-*`.
#[must_use]
pub(crate) fn is_extended(name: &str) -> bool {
    match name.split_once('/') {
        Some((domain, rest)) => {
            !rest.is_empty()
                && domain != "kubernetes.io"
                && !domain.ends_with(".kubernetes.io")
                && domain != "requests.k8s.io"
        }
        None => false,
    }
}

/// A whole, non-negative count of an extended resource.
fn whole(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str) -> Option<u64> {
    let s = scalar(cx, f, y, what)?;
    let q = Quantity::parse(s).ok();
    let n = q.and_then(|q| {
        let m = q.millicores_floor().0;
        (m % 1000 == 0 && q.millicores_ceil().0 == m).then_some(m / 1000)
    });
    if n.is_none() {
        cx.err(
            f,
            y.span.clone(),
            codes::VALUE,
            format!("{what} must be a whole number (extended resources cannot be fractional), found `{s}`"),
            "not a whole number",
        );
    }
    n
}

/// `{nvidia.com/gpu: 2, ...}` in a plan file: names must be extended resources.
pub(crate) fn extended_map(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Node::Map(entries) = &y.node else {
        cx.err(
            f,
            y.span.clone(),
            codes::TYPE,
            format!("{what} must be a mapping of resource name to count, such as {{nvidia.com/gpu: 1}}"),
            "expected a mapping",
        );
        return out;
    };
    for (k, v) in entries {
        let Some(name) = k.scalar() else {
            cx.err(f, k.span.clone(), codes::TYPE, "keys must be plain text", "");
            continue;
        };
        if !is_extended(name) {
            cx.err_help(
                f,
                k.span.clone(),
                codes::VALUE,
                format!("`{name}` is not an extended resource"),
                "extended resources have a domain outside kubernetes.io, such as nvidia.com/gpu; cpu and memory have their own keys",
            );
            continue;
        }
        if let Some(n) = whole(cx, f, v, name) {
            out.insert(name.to_string(), n);
        }
    }
    out
}

/// `{key: value, ...}` of strings (node labels, `node_selector`).
pub(crate) fn string_map(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Node::Map(entries) = &y.node else {
        cx.err(
            f,
            y.span.clone(),
            codes::TYPE,
            format!("{what} must be a mapping of label to value"),
            "expected a mapping",
        );
        return out;
    };
    for (k, v) in entries {
        match (k.scalar(), v.scalar()) {
            (Some(k), Some(v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => cx.err(
                f,
                v.span.clone(),
                codes::TYPE,
                format!("{what}: labels and values must be plain text"),
                "",
            ),
        }
    }
    out
}

/// One requirement, `{key, operator, values}`; `manifest` names the keys as Kubernetes does.
fn requirement(cx: &mut Ctx<'_>, f: FileId, y: &Yaml) -> Option<Requirement> {
    let m: MapReader<'_> = map(cx, f, y, "a match expression", &["key", "operator", "values"])?;
    let key = match m.get("key") {
        Some(k) => scalar(cx, f, k, "key")?.to_string(),
        None => {
            cx.err(
                f,
                y.span.clone(),
                codes::MISSING,
                "a match expression needs a `key`",
                "",
            );
            return None;
        }
    };
    let Some(op_y) = m.get("operator") else {
        cx.err(
            f,
            y.span.clone(),
            codes::MISSING,
            "a match expression needs an `operator`",
            "",
        );
        return None;
    };
    let op_s = scalar(cx, f, op_y, "operator")?;
    let Some(operator) = Operator::parse(op_s) else {
        cx.err_help(
            f,
            op_y.span.clone(),
            codes::VALUE,
            format!("unknown operator `{op_s}`"),
            "use In, NotIn, Exists, DoesNotExist, Gt or Lt",
        );
        return None;
    };
    let mut values = Vec::new();
    if let Some(vs) = m.get("values") {
        for v in list(cx, f, vs, "values") {
            if let Some(s) = scalar(cx, f, v, "a value") {
                values.push(s.to_string());
            }
        }
    }
    let ok = match operator {
        Operator::In | Operator::NotIn => !values.is_empty(),
        Operator::Exists | Operator::DoesNotExist => values.is_empty(),
        Operator::Gt | Operator::Lt => values.len() == 1 && values[0].trim().parse::<i64>().is_ok(),
    };
    if !ok {
        cx.err(
            f,
            y.span.clone(),
            codes::VALUE,
            format!(
                "operator {op_s} needs {}",
                match operator {
                    Operator::In | Operator::NotIn => "at least one value",
                    Operator::Exists | Operator::DoesNotExist => "no values",
                    Operator::Gt | Operator::Lt => "exactly one whole-number value",
                }
            ),
            "",
        );
        return None;
    }
    Some(Requirement { key, operator, values })
}

/// Plan-file `node_affinity`: a list of terms, each `{match_expressions: [...]}`; any term
/// must hold, and all of a term's expressions.
pub(crate) fn plan_terms(cx: &mut Ctx<'_>, f: FileId, y: &Yaml) -> Vec<Vec<Requirement>> {
    let mut terms = Vec::new();
    for t in list(cx, f, y, "node_affinity") {
        let Some(m) = map(cx, f, t, "a node affinity term", &["match_expressions"]) else {
            continue;
        };
        let mut term = Vec::new();
        match m.get("match_expressions") {
            Some(es) => {
                for e in list(cx, f, es, "match_expressions") {
                    term.extend(requirement(cx, f, e));
                }
            }
            None => cx.err(
                f,
                t.span.clone(),
                codes::MISSING,
                "a node affinity term needs `match_expressions`",
                "",
            ),
        }
        terms.push(term);
    }
    terms
}

/// The `extended_resources`, `node_selector` and `node_affinity` keys of a service or a
/// DaemonSet.
pub(crate) fn pod_keys(cx: &mut Ctx<'_>, f: FileId, m: &MapReader<'_>) -> (BTreeMap<String, u64>, NodeAffinity) {
    let extended = m
        .get("extended_resources")
        .map(|y| extended_map(cx, f, y, "extended_resources"))
        .unwrap_or_default();
    let mut affinity = NodeAffinity::default();
    if let Some(y) = m.get("node_selector") {
        affinity.node_selector = string_map(cx, f, y, "node_selector");
    }
    if let Some(y) = m.get("node_affinity") {
        affinity.required_terms = Some(plan_terms(cx, f, y));
    }
    (extended, affinity)
}

/// The extended resources a manifest container asks for: `resources.requests`, each falling
/// back to `resources.limits` (API defaulting copies limits to missing requests).
pub(crate) fn manifest_extended(cx: &mut Ctx<'_>, f: FileId, c: &Yaml) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for part in ["limits", "requests"] {
        if let Some(Node::Map(entries)) = c.path(&["resources", part]).map(|y| &y.node) {
            for (k, v) in entries {
                if let Some(name) = k.scalar().filter(|n| is_extended(n))
                    && let Some(n) = whole(cx, f, v, name)
                {
                    // Requests (read second) win over limits.
                    out.insert(name.to_string(), n);
                }
            }
        }
    }
    out.retain(|_, n| *n > 0);
    out
}

/// `spec.nodeSelector` and the required node affinity of a manifest's pod spec. `matchFields`
/// (which name single nodes) are not node-type properties and are ignored.
pub(crate) fn manifest_affinity(cx: &mut Ctx<'_>, f: FileId, spec: &Yaml) -> NodeAffinity {
    let mut a = NodeAffinity::default();
    if let Some(Node::Map(entries)) = spec.get("nodeSelector").map(|y| &y.node) {
        for (k, v) in entries {
            if let (Some(k), Some(v)) = (k.scalar(), v.scalar()) {
                a.node_selector.insert(k.to_string(), v.to_string());
            }
        }
    }
    if let Some(terms) = spec.path(&[
        "affinity",
        "nodeAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "nodeSelectorTerms",
    ]) {
        let mut out = Vec::new();
        for t in list(cx, f, terms, "nodeSelectorTerms") {
            let mut term = Vec::new();
            if let Some(es) = t.get("matchExpressions") {
                for e in list(cx, f, es, "matchExpressions") {
                    // Kubernetes spells the keys as in the plan file: key, operator, values.
                    term.extend(requirement(cx, f, e));
                }
            }
            let only_fields = term.is_empty() && t.get("matchFields").is_some();
            if only_fields {
                // A term of matchFields only picks nodes by name: any node type may hold one.
                out.push(vec![Requirement {
                    key: String::new(),
                    operator: Operator::DoesNotExist,
                    values: Vec::new(),
                }]);
            } else {
                out.push(term);
            }
        }
        a.required_terms = Some(out);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::is_extended;

    #[test]
    fn extended_resource_names() {
        assert!(is_extended("nvidia.com/gpu"));
        assert!(is_extended("amd.com/gpu"));
        assert!(!is_extended("cpu"));
        assert!(!is_extended("memory"));
        assert!(!is_extended("hugepages-2Mi"));
        assert!(!is_extended("kubernetes.io/something"));
        assert!(!is_extended("node.kubernetes.io/x"));
        assert!(!is_extended("nvidia.com/"));
    }
}
