//! A pod's effective request, as the scheduler computes it.
//!
//! Owns: KEP-753 (sidecar containers) aggregation, the same as
//! `k8s.io/component-helpers/resource` `PodRequests` (density.md section 1.2 and 6):
//! `max(Σ containers + Σ sidecars, max_i(init_i + Σ sidecars declared before i))` per
//! resource, where a sidecar is an init container with `restartPolicy: Always`; pod-level
//! resources replace the container aggregate; then the RuntimeClass `overhead.podFixed` is
//! added (Kubernetes docs, *Pod Overhead*). A missing request is 0: the scheduler's "non-zero"
//! defaults only affect scoring. Does not: parse files.

use std::collections::BTreeMap;

use serde::Serialize;

use super::selector::NodeAffinity;

/// One container's requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Request {
    /// CPU in millicores (rounded up from the quantity).
    pub cpu_m: u64,
    /// Memory in bytes (rounded up from the quantity).
    pub memory_bytes: u64,
}

impl Request {
    fn add(self, o: Self) -> Self {
        Self {
            cpu_m: self.cpu_m.saturating_add(o.cpu_m),
            memory_bytes: self.memory_bytes.saturating_add(o.memory_bytes),
        }
    }
    fn max(self, o: Self) -> Self {
        Self {
            cpu_m: self.cpu_m.max(o.cpu_m),
            memory_bytes: self.memory_bytes.max(o.memory_bytes),
        }
    }
}

/// An init container: a sidecar when `restart_policy: Always`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitContainer {
    /// Name.
    pub name: String,
    /// Requests.
    pub request: Request,
    /// `restartPolicy: Always` (a KEP-753 sidecar).
    pub sidecar: bool,
}

/// The parts of a pod spec that decide its size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodShape {
    /// Regular containers' requests.
    pub containers: Vec<Request>,
    /// Init containers in declaration order.
    pub init_containers: Vec<InitContainer>,
    /// Pod-level `spec.resources.requests`, when set (replaces the container aggregate).
    pub pod_level: Option<Request>,
    /// RuntimeClass `overhead.podFixed`.
    pub overhead: Request,
    /// Extended resources (`nvidia.com/gpu`, ...) of the whole pod, already aggregated by
    /// [`extended_request`]; a node type without one of them cannot run the pod.
    pub extended: BTreeMap<String, u64>,
    /// `nodeSelector` and required node affinity: which node types may run the pod.
    pub node_affinity: NodeAffinity,
}

/// The pod's extended-resource request from its containers' (KEP-753, as for CPU and memory):
/// per resource `max(Σ containers + Σ sidecars, max_i(init_i + Σ sidecars declared before i))`.
/// `init` is in declaration order, `true` marking a sidecar.
#[must_use]
pub fn extended_request(
    containers: &[BTreeMap<String, u64>],
    init: &[(BTreeMap<String, u64>, bool)],
) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut sidecars: BTreeMap<String, u64> = BTreeMap::new();
    let mut init_max: BTreeMap<String, u64> = BTreeMap::new();
    let raise = |m: &mut BTreeMap<String, u64>, k: &str, v: u64| {
        let e = m.entry(k.to_string()).or_default();
        *e = (*e).max(v);
    };
    for (req, sidecar) in init {
        if *sidecar {
            for (k, v) in req {
                let e = sidecars.entry(k.clone()).or_default();
                *e = e.saturating_add(*v);
            }
            for (k, v) in &sidecars {
                raise(&mut init_max, k, *v);
            }
        } else {
            let mut keys: Vec<&String> = req.keys().chain(sidecars.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let v = req
                    .get(k)
                    .copied()
                    .unwrap_or(0)
                    .saturating_add(sidecars.get(k).copied().unwrap_or(0));
                raise(&mut init_max, k, v);
            }
        }
    }
    for c in containers {
        for (k, v) in c {
            let e = out.entry(k.clone()).or_default();
            *e = e.saturating_add(*v);
        }
    }
    for (k, v) in &sidecars {
        let e = out.entry(k.clone()).or_default();
        *e = e.saturating_add(*v);
    }
    for (k, v) in init_max {
        raise(&mut out, &k, v);
    }
    out.retain(|_, v| *v > 0);
    out
}

/// Effective request in the planner's units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// CPU in millicores.
    pub cpu_m: u64,
    /// Memory in MiB, rounded up.
    pub memory_mib: u64,
}

impl PodShape {
    /// The aggregate request in exact units (before rounding memory to MiB).
    #[must_use]
    pub fn request(&self) -> Request {
        let base = if let Some(p) = self.pod_level {
            p
        } else {
            let mut sidecars = Request::default();
            let mut init_max = Request::default();
            for ic in &self.init_containers {
                if ic.sidecar {
                    sidecars = sidecars.add(ic.request);
                    init_max = init_max.max(sidecars);
                } else {
                    init_max = init_max.max(ic.request.add(sidecars));
                }
            }
            let regular = self
                .containers
                .iter()
                .fold(Request::default(), |a, c| a.add(*c))
                .add(sidecars);
            regular.max(init_max)
        };
        base.add(self.overhead)
    }

    /// The effective request: CPU in millicores, memory rounded up to whole MiB.
    #[must_use]
    pub fn effective(&self) -> Effective {
        let r = self.request();
        Effective {
            cpu_m: r.cpu_m,
            memory_mib: r.memory_bytes.div_ceil(1 << 20),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;

    fn req(cpu_m: u64, mib: u64) -> Request {
        Request {
            cpu_m,
            memory_bytes: mib * MI,
        }
    }

    #[test]
    fn issue_mesh_app() {
        // The issue's mesh-app: app 400m/700Mi, sidecar envoy 100m/128Mi, then init migrate 2/256Mi.
        // Regular phase: 400+100 = 500m, 700+128 = 828Mi. Init phase for migrate: 2000+100 = 2100m,
        // 256+128 = 384Mi. Effective = max per resource = 2100m, 828Mi.
        let pod = PodShape {
            containers: vec![req(400, 700)],
            init_containers: vec![
                InitContainer {
                    name: "envoy".into(),
                    request: req(100, 128),
                    sidecar: true,
                },
                InitContainer {
                    name: "migrate".into(),
                    request: req(2000, 256),
                    sidecar: false,
                },
            ],
            ..PodShape::default()
        };
        assert_eq!(
            pod.effective(),
            Effective {
                cpu_m: 2100,
                memory_mib: 828
            }
        );
    }

    #[test]
    fn sidecar_after_init_does_not_count_for_it() {
        // init (1000m) declared before the sidecar: 1000 alone; regular 200+300 = 500. max = 1000.
        let pod = PodShape {
            containers: vec![req(200, 10)],
            init_containers: vec![
                InitContainer {
                    name: "init".into(),
                    request: req(1000, 5),
                    sidecar: false,
                },
                InitContainer {
                    name: "side".into(),
                    request: req(300, 20),
                    sidecar: true,
                },
            ],
            ..PodShape::default()
        };
        assert_eq!(
            pod.effective(),
            Effective {
                cpu_m: 1000,
                memory_mib: 30
            }
        );
    }

    #[test]
    fn extended_resources_aggregate_like_cpu() {
        let m = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
        };
        // Two containers with one GPU each: 2. An init container with 3 GPUs: max(2, 3) = 3.
        let c = [m(&[("nvidia.com/gpu", 1)]), m(&[("nvidia.com/gpu", 1)])];
        assert_eq!(extended_request(&c, &[]), m(&[("nvidia.com/gpu", 2)]));
        let init = [(m(&[("nvidia.com/gpu", 3)]), false)];
        assert_eq!(extended_request(&c, &init), m(&[("nvidia.com/gpu", 3)]));
        // A sidecar with 1 GPU adds to the regular containers (1 + 2 = 3) and to an init
        // container declared after it (1 + 1 = 2): 3. Zero requests are dropped.
        let init = [
            (m(&[("nvidia.com/gpu", 1)]), true),
            (m(&[("nvidia.com/gpu", 1), ("example.com/fpga", 0)]), false),
        ];
        assert_eq!(extended_request(&c, &init), m(&[("nvidia.com/gpu", 3)]));
    }

    #[test]
    fn overhead_and_pod_level() {
        // api in the issue: 250m/512Mi plus kata 250m/160Mi = 500m/672Mi.
        let mut pod = PodShape {
            containers: vec![req(250, 512)],
            overhead: req(250, 160),
            ..PodShape::default()
        };
        assert_eq!(
            pod.effective(),
            Effective {
                cpu_m: 500,
                memory_mib: 672
            }
        );
        pod.pod_level = Some(req(1000, 1024));
        assert_eq!(
            pod.effective(),
            Effective {
                cpu_m: 1250,
                memory_mib: 1184
            }
        );
        // Memory rounds up once, after summing: 2 x 100M = 200 000 000 B = 190.73 MiB -> 191.
        let p = PodShape {
            containers: vec![
                Request {
                    cpu_m: 0,
                    memory_bytes: 100_000_000
                };
                2
            ],
            ..PodShape::default()
        };
        assert_eq!(p.effective().memory_mib, 191);
    }
}
