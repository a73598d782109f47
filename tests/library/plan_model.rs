//! The planner against numbers worked out by hand from the provider docs (density.md sections
//! 2.4 and 6), with every placement validated by a checker written here, independently of
//! `imgopt::plan::pack`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use imgopt::plan::{
    self, DaemonSetSpec, Headroom, ImageLayers, Layer, NodeTypeSpec, PlanInput, PlanReport, PodShape, Quantity,
    Request, ReservedModel, ServiceSpec,
};

const MI: u64 = 1 << 20;

fn svc(name: &str, replicas: u64, cpu_m: u64, mib: u64) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        replicas,
        shape: PodShape {
            containers: vec![Request {
                cpu_m,
                memory_bytes: mib * MI,
            }],
            ..PodShape::default()
        },
        image: None,
        max_per_node: None,
    }
}

fn ds(name: &str, cpu_m: u64, mib: u64) -> DaemonSetSpec {
    DaemonSetSpec {
        name: name.into(),
        shape: PodShape {
            containers: vec![Request {
                cpu_m,
                memory_bytes: mib * MI,
            }],
            ..PodShape::default()
        },
        image: None,
    }
}

/// What the test knows about a node type, written by hand (not read from the planner).
struct Truth {
    cpu: u64,
    mem: u64,
    pods: u64,
    disk_budget: Option<u64>,
}

/// The independent checker: every node within the hand-computed free resources, max_per_node
/// respected, image layers (union, DaemonSet layers included) within the budget, every replica
/// placed exactly once.
fn check_placement(
    placement: &[plan::NodePlacement],
    truth: &BTreeMap<&str, Truth>,
    input: &PlanInput,
    replicas: &BTreeMap<String, u64>,
) {
    let svc: BTreeMap<&str, &ServiceSpec> = input.services.iter().map(|s| (s.name.as_str(), s)).collect();
    let ds_layers: BTreeSet<(String, u64)> = input
        .daemonsets
        .iter()
        .filter_map(|d| d.image.as_ref())
        .flat_map(|i| input.images[i].layers.iter().map(|l| (l.digest.clone(), l.size)))
        .collect();
    let mut placed: BTreeMap<String, u64> = BTreeMap::new();
    for (k, node) in placement.iter().enumerate() {
        let t = &truth[node.node_type.as_str()];
        let (mut cpu, mut mem, mut pods) = (0, 0, 0);
        let mut layers = ds_layers.clone();
        for (name, &c) in &node.pods {
            let s = svc[name.as_str()];
            // Effective request by hand: one container (+ nothing else in these inputs).
            let r = s.shape.containers[0];
            cpu += r.cpu_m * c;
            mem += r.memory_bytes.div_ceil(MI) * c;
            pods += c;
            assert!(
                c <= s.max_per_node.unwrap_or(u64::MAX),
                "node {k}: {name} x{c} over max_per_node"
            );
            if let Some(img) = &s.image {
                layers.extend(input.images[img].layers.iter().map(|l| (l.digest.clone(), l.size)));
            }
            *placed.entry(name.clone()).or_default() += c;
        }
        assert!(
            cpu <= t.cpu && mem <= t.mem && pods <= t.pods,
            "node {k} over capacity: {cpu}m {mem}Mi {pods}"
        );
        if let Some(b) = t.disk_budget {
            let used: u64 = layers.iter().map(|(_, s)| s).sum();
            assert!(used <= b, "node {k}: image cache {used} over {b}");
        }
    }
    assert_eq!(&placed, replicas, "every replica placed once");
}

fn all_replicas(r: &PlanReport) -> BTreeMap<String, u64> {
    r.services
        .iter()
        .map(|s| (s.name.clone(), s.planned_replicas))
        .collect()
}

#[test]
fn m5_large_and_xlarge_on_eks() {
    // density.md 2.4: m5.large 1930m / 7518 MiB / 29 pods; after aws-node (25m) and
    // kube-proxy (100m): 1805m, 7518 MiB, 27 pods. m5.xlarge: 3920m / 15391 MiB / 58 pods,
    // free 3795m, 15391 MiB, 56 pods.
    let mut large = NodeTypeSpec::new("m5.large", 2000, 8192, 29, ReservedModel::Eks);
    large.price_per_hour = Some(0.096);
    let mut xlarge = NodeTypeSpec::new("m5.xlarge", 4000, 16384, 58, ReservedModel::Eks);
    xlarge.price_per_hour = Some(0.192);
    let input = PlanInput {
        node_types: vec![large, xlarge],
        daemonsets: vec![ds("aws-node", 25, 0), ds("kube-proxy", 100, 0)],
        // 1 GiB pods at 250m: m5.large memory 7518/1024 = 7, cpu 1805/250 = 7 -> tie cpu+memory, 7.
        // m5.xlarge: memory 15391/1024 = 15, cpu 3795/250 = 15 -> tie, 15.
        services: vec![svc("api", 30, 250, 1024), svc("tiny", 100, 10, 16)],
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    let nt = &r.node_types;
    assert_eq!((nt[0].allocatable.cpu_m, nt[0].allocatable.memory_mib), (1930, 7518));
    assert_eq!(
        (nt[0].free_after_daemonsets.cpu_m, nt[0].free_after_daemonsets.pods),
        (1805, 27)
    );
    assert_eq!((nt[1].allocatable.cpu_m, nt[1].allocatable.memory_mib), (3920, 15391));
    let api = &r.services[0];
    assert_eq!(api.per_node["m5.large"].instances, 7);
    assert_eq!(
        api.per_node["m5.large"].binding,
        vec![plan::Binding::Cpu, plan::Binding::Memory]
    );
    assert_eq!(api.per_node["m5.xlarge"].instances, 15);
    // tiny: 10m / 16Mi -> m5.large cpu 180, memory 469, pods 27 -> pod-bound 27.
    let tiny = &r.services[1];
    assert_eq!(
        (
            tiny.per_node["m5.large"].instances,
            tiny.per_node["m5.large"].binding.clone()
        ),
        (27, vec![plan::Binding::Pods])
    );
    // Lower bound by hand for m5.xlarge: cpu 30*250 + 100*10 = 8500m / 3795 -> 3; memory
    // 30*1024 + 1600 = 32320 / 15391 -> 3; pods 130 / 56 -> 3. So 3 nodes can be enough.
    let x = &r.by_node_type["m5.xlarge"];
    assert!(x.lower_bound >= 3 && x.nodes >= x.lower_bound);
    let truth = BTreeMap::from([
        (
            "m5.large",
            Truth {
                cpu: 1805,
                mem: 7518,
                pods: 27,
                disk_budget: None,
            },
        ),
        (
            "m5.xlarge",
            Truth {
                cpu: 3795,
                mem: 15391,
                pods: 56,
                disk_budget: None,
            },
        ),
    ]);
    for p in r.by_node_type.values() {
        assert!(p.nodes <= p.ffd.cluster_autoscaler.min(p.ffd.karpenter));
        check_placement(&p.placement, &truth, &input, &all_replicas(&r));
    }
    let c = r.cheapest.as_ref().unwrap();
    check_placement(&c.placement, &truth, &input, &all_replicas(&r));
    assert!(c.cost_per_hour >= c.lower_bound_cost - 1e-9);
}

#[test]
fn gke_and_aks_numbers() {
    // e2-standard-4 on GKE: 3920m / 13622 MiB; n2-standard-8: 7910m / 29023 MiB;
    // D4s_v5 on AKS: 3860m with 15634 MiB at 30 pods and 12188 MiB at 250 pods.
    let input = PlanInput {
        node_types: vec![
            NodeTypeSpec::new("e2-standard-4", 4000, 16384, 110, ReservedModel::Gke),
            NodeTypeSpec::new("n2-standard-8", 8000, 32768, 110, ReservedModel::Gke),
            NodeTypeSpec::new("D4s_v5-30", 4000, 16384, 30, ReservedModel::Aks),
            NodeTypeSpec::new("D4s_v5-250", 4000, 16384, 250, ReservedModel::Aks),
        ],
        // 2 GiB, 100m: e2-standard-4 -> 13622/2048 = 6 (memory); n2-standard-8 -> 14;
        // D4s_v5-30 -> 15634/2048 = 7; D4s_v5-250 -> 12188/2048 = 5.
        services: vec![svc("java", 20, 100, 2048)],
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    let got: Vec<(u64, u64)> = r
        .node_types
        .iter()
        .map(|n| (n.allocatable.cpu_m, n.allocatable.memory_mib))
        .collect();
    assert_eq!(got, vec![(3920, 13622), (7910, 29023), (3860, 15634), (3860, 12188)]);
    let per: Vec<u64> = ["e2-standard-4", "n2-standard-8", "D4s_v5-30", "D4s_v5-250"]
        .iter()
        .map(|t| r.services[0].per_node[*t].instances)
        .collect();
    assert_eq!(per, vec![6, 14, 7, 5]);
    // 20 replicas: ceil(20/6) = 4, ceil(20/14) = 2, ceil(20/7) = 3, ceil(20/5) = 4, all proven.
    let nodes: Vec<(u64, bool)> = ["e2-standard-4", "n2-standard-8", "D4s_v5-30", "D4s_v5-250"]
        .iter()
        .map(|t| (r.by_node_type[*t].nodes, r.by_node_type[*t].optimal))
        .collect();
    assert_eq!(nodes, vec![(4, true), (2, true), (3, true), (4, true)]);
}

#[test]
fn ffd_example_from_density_md() {
    // density.md section 3: on m5.xlarge, CPU-heavy 1800m/1.5Gi x14, memory-heavy 500m/6.2Gi
    // x14, balanced 1.1c/3.5Gi x10. FFD opens 18 nodes, the optimum is 13.
    let input = PlanInput {
        node_types: vec![NodeTypeSpec::new("m5.xlarge", 4000, 16384, 58, ReservedModel::Eks)],
        services: vec![
            svc("cpu-heavy", 14, 1800, 1536),
            ServiceSpec {
                shape: PodShape {
                    containers: vec![Request {
                        cpu_m: 500,
                        memory_bytes: Quantity::parse("6.2Gi").unwrap().bytes_ceil(),
                    }],
                    ..PodShape::default()
                },
                ..svc("memory-heavy", 14, 0, 0)
            },
            svc("balanced", 10, 1100, 3584),
        ],
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    let p = &r.by_node_type["m5.xlarge"];
    assert_eq!(p.ffd.cluster_autoscaler, 18);
    assert_eq!(p.nodes, 13);
    assert!(p.optimal);
    let truth = BTreeMap::from([(
        "m5.xlarge",
        Truth {
            cpu: 3920,
            mem: 15391,
            pods: 58,
            disk_budget: None,
        },
    )]);
    check_placement(&p.placement, &truth, &input, &all_replicas(&r));
}

#[test]
fn ffd_example_at_ten_times_the_replicas() {
    // The same mix x10. FFD by hand as in density.md: 140 CPU-heavy pods two per node (70),
    // 140 memory-heavy two per node (70), 100 balanced three per node (34): 174 nodes.
    // Ten copies of the 13-node optimum hold everything, so 130 nodes are enough.
    let input = PlanInput {
        node_types: vec![NodeTypeSpec::new("m5.xlarge", 4000, 16384, 58, ReservedModel::Eks)],
        services: vec![
            svc("cpu-heavy", 140, 1800, 1536),
            svc("memory-heavy", 140, 500, 6349),
            svc("balanced", 100, 1100, 3584),
        ],
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    let p = &r.by_node_type["m5.xlarge"];
    assert_eq!(p.ffd.cluster_autoscaler, 174);
    assert!(p.nodes <= 130, "{}", p.nodes);
    assert!(p.lower_bound <= p.nodes);
    let truth = BTreeMap::from([(
        "m5.xlarge",
        Truth {
            cpu: 3920,
            mem: 15391,
            pods: 58,
            disk_budget: None,
        },
    )]);
    check_placement(&p.placement, &truth, &input, &all_replicas(&r));
}

#[test]
fn shared_layers_and_disk() {
    // Budget: floor(20480 * 85 / 100) - 4096 = 13312 MiB. Base 6 GiB shared by a and b;
    // c has its own 8 GiB. a + b = 6144 + 500 + 500 = 7144 MiB fits; c with either does not.
    let base = Layer {
        digest: "base".into(),
        size: 6144 * MI,
        compressed_size: 3000 * MI,
    };
    let img = |name: &str, extra: u64, with_base: bool| {
        let mut layers = Vec::new();
        if with_base {
            layers.push(base.clone());
        }
        layers.push(Layer {
            digest: name.into(),
            size: extra * MI,
            compressed_size: extra * MI / 2,
        });
        ImageLayers { layers }
    };
    let mut t = NodeTypeSpec::new("g", 16000, 65536, 110, ReservedModel::Gke);
    t.disk_mib = Some(20480);
    t.disk_reserved_mib = 4096;
    let with_image = |mut s: ServiceSpec, i: &str| {
        s.image = Some(i.into());
        s.max_per_node = Some(1);
        s
    };
    let input = PlanInput {
        node_types: vec![t],
        images: BTreeMap::from([
            ("a".to_string(), img("a", 500, true)),
            ("b".to_string(), img("b", 500, true)),
            ("c".to_string(), img("c", 8192, false)),
        ]),
        services: vec![
            with_image(svc("a", 3, 100, 100), "a"),
            with_image(svc("b", 3, 100, 100), "b"),
            with_image(svc("c", 2, 100, 100), "c"),
        ],
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    assert_eq!(r.node_types[0].image_budget_mib, Some(13312));
    // GKE 16 vCPU / 64 GiB: 16000 - 110 = 15890m; 65536 - floor(1024 + 819.2 + 819.2 + 2949.12) - 100 = 59825 MiB.
    // a and b pair up on 3 nodes, c needs 2 nodes of its own: 5.
    let p = &r.by_node_type["g"];
    assert_eq!(p.nodes, 5);
    let truth = BTreeMap::from([(
        "g",
        Truth {
            cpu: 15890,
            mem: 59825,
            pods: 110,
            disk_budget: Some(13312 * MI),
        },
    )]);
    check_placement(&p.placement, &truth, &input, &all_replicas(&r));
    // A fresh node pulls the compressed layers: a = 3000 + 250 MiB.
    assert!((r.services[0].pull_mib["g"] - 3250.0).abs() < 1e-9);
}

#[test]
fn headroom_options() {
    // m5.large free 1805m / 7518 MiB; 80% -> 1444m / 6014 MiB. 500m / 1Gi pods: 2 per node
    // (cpu 1444/500 = 2). 10 replicas + 25% surge = 13 -> 7 nodes; + 1 spare = 8.
    let input = PlanInput {
        node_types: vec![NodeTypeSpec::new("m5.large", 2000, 8192, 29, ReservedModel::Eks)],
        daemonsets: vec![ds("aws-node", 25, 0), ds("kube-proxy", 100, 0)],
        services: vec![svc("api", 10, 500, 1024)],
        headroom: Headroom {
            target_utilization: Some(Quantity::parse("0.8").unwrap()),
            surge: Some(Quantity::parse("0.25").unwrap()),
            spare_nodes: 1,
        },
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    assert_eq!(r.services[0].planned_replicas, 13);
    assert_eq!(r.services[0].per_node["m5.large"].instances, 2);
    let p = &r.by_node_type["m5.large"];
    assert_eq!((p.nodes, p.lower_bound, p.optimal), (8, 8, true));
    assert_eq!(p.placement.iter().filter(|n| n.pods.is_empty()).count(), 1);
}

#[test]
fn unschedulable_is_named() {
    let input = PlanInput {
        node_types: vec![NodeTypeSpec::new("m5.large", 2000, 8192, 29, ReservedModel::Eks)],
        services: vec![svc("huge", 1, 4000, 1024), svc("ok", 2, 100, 100)],
        ..PlanInput::default()
    };
    let r = plan::plan(&input).unwrap();
    assert_eq!(r.unschedulable.len(), 1);
    assert_eq!(r.unschedulable[0].service, "huge");
    assert_eq!(r.unschedulable[0].reasons["m5.large"], "needs 4000m CPU, 1930m free");
    assert_eq!(r.by_node_type["m5.large"].nodes, 1);
}
