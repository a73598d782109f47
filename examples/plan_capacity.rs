//! A pure planner call with literal numbers: how many 500m / 1 GiB pods fit an EKS m5.xlarge
//! after aws-node and kube-proxy, and how many nodes 40 replicas need.
//!
//! `cargo run --example plan_capacity`
#![allow(clippy::print_stdout)]

use imgopt::plan::{self, DaemonSetSpec, NodeTypeSpec, PlanInput, PodShape, Request, ReservedModel, ServiceSpec};

fn main() -> Result<(), imgopt::plan::Error> {
    let pod = |cpu_m: u64, mib: u64| PodShape {
        containers: vec![Request {
            cpu_m,
            memory_bytes: mib << 20,
        }],
        ..PodShape::default()
    };
    let mut m5 = NodeTypeSpec::new("m5.xlarge", 4000, 16 * 1024, 58, ReservedModel::Eks);
    m5.price_per_hour = Some(0.192);
    let input = PlanInput {
        node_types: vec![m5],
        daemonsets: vec![
            DaemonSetSpec {
                name: "aws-node".into(),
                shape: pod(25, 0),
                image: None,
            },
            DaemonSetSpec {
                name: "kube-proxy".into(),
                shape: pod(100, 0),
                image: None,
            },
        ],
        services: vec![ServiceSpec {
            name: "api".into(),
            replicas: 40,
            shape: pod(500, 1024),
            image: None,
            max_per_node: None,
        }],
        ..PlanInput::default()
    };
    let report = plan::plan(&input)?;
    let node = &report.node_types[0];
    println!(
        "{}: allocatable {}m / {} MiB / {} pods; free after DaemonSets {}m / {} MiB / {} pods",
        node.name,
        node.allocatable.cpu_m,
        node.allocatable.memory_mib,
        node.allocatable.pods,
        node.free_after_daemonsets.cpu_m,
        node.free_after_daemonsets.memory_mib,
        node.free_after_daemonsets.pods
    );
    let fit = &report.services[0].per_node["m5.xlarge"];
    println!("api per node: {}", fit.summary());
    let p = &report.by_node_type["m5.xlarge"];
    println!(
        "40 replicas: {} nodes (lower bound {}, {}), FFD {} / {}",
        p.nodes,
        p.lower_bound,
        if p.optimal { "proven optimal" } else { "not proven" },
        p.ffd.cluster_autoscaler,
        p.ffd.karpenter
    );
    Ok(())
}
