//! Where a pod may run: its `nodeSelector` and its required node affinity, matched against a
//! node type's labels.
//!
//! Owns: the matching rules of the Kubernetes scheduler's NodeAffinity filter
//! (`kubernetes/kubernetes` pkg/scheduler/framework/plugins/nodeaffinity, and the API reference
//! of `NodeSelectorRequirement`): every `nodeSelector` pair must equal a label; of the
//! `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, at least one term must
//! match, and a term matches when all its `matchExpressions` do. Operators: `In` (the label is
//! one of the values), `NotIn` (absent, or none of the values), `Exists`, `DoesNotExist`, `Gt`
//! and `Lt` (the label and the single value are integers). A term with no expressions matches
//! nothing, as in the scheduler. Does not: parse files, or model preferred affinity (a
//! preference, not a limit).

use std::collections::BTreeMap;

use serde::Serialize;

/// A `NodeSelectorRequirement` operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Operator {
    /// The label's value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label is an integer greater than the single value.
    Gt,
    /// The label is an integer less than the single value.
    Lt,
}

impl Operator {
    /// Parses the operator as written in Kubernetes manifests.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => Self::In,
            "NotIn" => Self::NotIn,
            "Exists" => Self::Exists,
            "DoesNotExist" => Self::DoesNotExist,
            "Gt" => Self::Gt,
            "Lt" => Self::Lt,
            _ => return None,
        })
    }
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub operator: Operator,
    /// Values (empty for `Exists` and `DoesNotExist`, one integer for `Gt` and `Lt`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether `labels` satisfy this requirement.
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.operator {
            Operator::In => v.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => v.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => v.is_some(),
            Operator::DoesNotExist => v.is_none(),
            Operator::Gt | Operator::Lt => {
                let (Some(label), Some(bound)) = (
                    v.and_then(|v| v.trim().parse::<i64>().ok()),
                    self.values.first().and_then(|b| b.trim().parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::Gt {
                    label > bound
                } else {
                    label < bound
                }
            }
        }
    }
}

/// Where a pod may run: `nodeSelector` and required node affinity. The default allows every
/// node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeAffinity {
    /// `nodeSelector`: every pair must be a label of the node.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, each its
    /// `matchExpressions`; `None` when the pod has no required node affinity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_terms: Option<Vec<Vec<Requirement>>>,
}

impl NodeAffinity {
    /// Whether the pod may run on a node with `labels`.
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let selector = self.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v));
        let terms = self.required_terms.as_ref().is_none_or(|terms| {
            terms
                .iter()
                .any(|term| !term.is_empty() && term.iter().all(|r| r.matches(labels)))
        });
        selector && terms
    }

    /// Whether it limits the pod at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_empty() && self.required_terms.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            operator,
            values: values.iter().map(|v| (*v).to_string()).collect(),
        }
    }

    #[test]
    fn operators() {
        let gpu = labels(&[("accelerator", "nvidia-l4"), ("gpus", "2")]);
        let cpu = labels(&[("pool", "general")]);
        let r = req("accelerator", Operator::In, &["nvidia-l4", "nvidia-a100"]);
        assert!(r.matches(&gpu) && !r.matches(&cpu));
        let r = req("accelerator", Operator::NotIn, &["nvidia-l4"]);
        assert!(
            !r.matches(&gpu) && r.matches(&cpu),
            "NotIn holds where the label is absent"
        );
        let r = req("accelerator", Operator::Exists, &[]);
        assert!(r.matches(&gpu) && !r.matches(&cpu));
        let r = req("accelerator", Operator::DoesNotExist, &[]);
        assert!(!r.matches(&gpu) && r.matches(&cpu));
        assert!(req("gpus", Operator::Gt, &["1"]).matches(&gpu));
        assert!(!req("gpus", Operator::Gt, &["2"]).matches(&gpu));
        assert!(req("gpus", Operator::Lt, &["3"]).matches(&gpu));
        assert!(!req("gpus", Operator::Lt, &["3"]).matches(&cpu), "Gt/Lt need the label");
    }

    #[test]
    fn selector_and_terms() {
        let gpu = labels(&[("pool", "gpu"), ("zone", "a")]);
        let mut a = NodeAffinity::default();
        assert!(a.is_empty() && a.matches(&gpu) && a.matches(&BTreeMap::new()));
        a.node_selector.insert("pool".into(), "gpu".into());
        assert!(a.matches(&gpu) && !a.matches(&labels(&[("pool", "cpu")])));
        // Terms are ORed, expressions within a term ANDed.
        a.required_terms = Some(vec![
            vec![req("zone", Operator::In, &["b"])],
            vec![req("zone", Operator::In, &["a"]), req("pool", Operator::Exists, &[])],
        ]);
        assert!(a.matches(&gpu));
        a.required_terms = Some(vec![vec![req("zone", Operator::In, &["b"])]]);
        assert!(!a.matches(&gpu));
        // An empty term matches nothing; no terms at all match nothing either.
        a.required_terms = Some(vec![vec![]]);
        assert!(!a.matches(&gpu));
        a.required_terms = Some(vec![]);
        assert!(!a.matches(&gpu));
    }
}
