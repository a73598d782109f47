//! Human tables for `imgopt plan`: node types, per-service fit (binding resource and what it
//! strands, in words), the fleet per node type beside first-fit-decreasing, and the cheapest
//! fleet with its placement (identical nodes grouped).

use std::collections::BTreeMap;
use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use crate::plan::{Mebibytes, Millicores, NodePlacement, PlanReport};

/// Services shown in the per-service table before it is cut (JSON has them all).
const MAX_SERVICES: usize = 40;
/// Distinct node shapes shown per placement.
const MAX_SHAPES: usize = 15;
/// Table width when stdout is not a terminal.
const WIDTH: u16 = 150;

fn table<T: Into<comfy_table::Row>>(header: T) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_header(header)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if t.width().is_none() {
        t.set_width(WIDTH);
    }
    t
}

fn res(cpu_m: u64, mem: u64, pods: u64) -> String {
    format!("{} / {} / {pods} pods", Millicores(cpu_m), Mebibytes(mem))
}

/// Groups identical nodes: `(count, type, pods)`, most frequent first.
#[must_use]
pub fn group_nodes(placement: &[NodePlacement]) -> Vec<(usize, String, BTreeMap<String, u64>)> {
    let mut groups: BTreeMap<(String, Vec<(String, u64)>), usize> = BTreeMap::new();
    for n in placement {
        let key = (
            n.node_type.clone(),
            n.pods.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        );
        *groups.entry(key).or_default() += 1;
    }
    let mut out: Vec<_> = groups
        .into_iter()
        .map(|((t, pods), c)| (c, t, pods.into_iter().collect()))
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out
}

fn pods_text(pods: &BTreeMap<String, u64>) -> String {
    if pods.is_empty() {
        return "(spare, empty)".to_string();
    }
    pods.iter()
        .map(|(s, c)| format!("{s} ×{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_placement(out: &mut dyn Write, placement: &[NodePlacement]) -> io::Result<()> {
    let groups = group_nodes(placement);
    for (c, t, pods) in groups.iter().take(MAX_SHAPES) {
        writeln!(out, "  {c:>4} × {t}: {}", pods_text(pods))?;
    }
    if groups.len() > MAX_SHAPES {
        writeln!(
            out,
            "  … {} more node shapes (--format json lists every node)",
            groups.len() - MAX_SHAPES
        )?;
    }
    Ok(())
}

fn proof(optimal: bool, gap: f64) -> String {
    if optimal {
        "proven optimal".to_string()
    } else {
        format!("within {:.1}% of the bound", gap * 100.0)
    }
}

/// Writes the plan report as tables.
pub fn render(r: &PlanReport, out: &mut dyn Write) -> io::Result<()> {
    let h = &r.headroom;
    let mut notes = Vec::new();
    if let Some(u) = h.target_utilization {
        notes.push(format!("target utilization {:.0}%", u * 100.0));
    }
    if let Some(s) = h.surge {
        notes.push(format!("surge {:.0}%", s * 100.0));
    }
    if h.spare_nodes > 0 {
        notes.push(format!("N+{} spare nodes", h.spare_nodes));
    }
    if !notes.is_empty() {
        writeln!(out, "Headroom: {}\n", notes.join(", "))?;
    }

    writeln!(out, "Node types (cpu / memory / pods)")?;
    let mut t = table(vec![
        "type",
        "capacity",
        "reserved (+eviction)",
        "allocatable",
        "free after DaemonSets",
        "image budget",
        "$/h",
    ]);
    for n in &r.node_types {
        let budget = n.image_budget_mib.map_or("-".to_string(), |b| format!("{b} MiB"));
        t.add_row(vec![
            n.name.clone(),
            res(n.capacity.cpu_m, n.capacity.memory_mib, n.capacity.pods),
            format!(
                "{} / {} (+{} MiB)",
                Millicores(n.reserved.cpu_m),
                Mebibytes(n.reserved.memory_mib),
                n.reserved.eviction_memory_mib
            ),
            res(n.allocatable.cpu_m, n.allocatable.memory_mib, n.allocatable.pods),
            res(
                n.free_after_daemonsets.cpu_m,
                n.free_after_daemonsets.memory_mib,
                n.free_after_daemonsets.pods,
            ),
            budget,
            n.price_per_hour.map_or("-".to_string(), |p| format!("{p}")),
        ]);
    }
    writeln!(out, "{t}")?;
    for n in r.node_types.iter().filter(|n| n.unusable.is_some()) {
        writeln!(
            out,
            "warning: {} holds no pods: {}",
            n.name,
            n.unusable.as_deref().unwrap_or("")
        )?;
    }

    writeln!(out, "\nInstances per empty node")?;
    let mut t = table(vec![
        "service",
        "replicas",
        "request",
        "node type",
        "fit",
        "pull (fresh node)\nimage cache",
    ]);
    for s in r.services.iter().take(MAX_SERVICES) {
        let reps = if s.planned_replicas == s.replicas {
            s.replicas.to_string()
        } else {
            format!("{} (+{} surge)", s.replicas, s.planned_replicas - s.replicas)
        };
        for (k, n) in r.node_types.iter().enumerate() {
            let f = &s.per_node[&n.name];
            let fit = if f.instances == 0 {
                format!(
                    "does not fit ({} bound)",
                    f.binding.iter().map(|b| b.word()).collect::<Vec<_>>().join("+")
                )
            } else {
                f.summary()
            };
            let mut pull = s
                .pull_mib
                .get(&n.name)
                .filter(|p| **p > 0.0)
                .map_or("-".to_string(), |p| format!("{p:.1} MiB"));
            if let (Some(c), Some(b)) = (f.image_cache_mib, n.image_budget_bytes) {
                // The union of layers on the node (DaemonSet images included) against the whole budget.
                pull.push_str(&format!("\ncache {c} of {} MiB", b >> 20));
            }
            let first = k == 0;
            t.add_row(vec![
                if first { s.name.clone() } else { String::new() },
                if first { reps.clone() } else { String::new() },
                if first {
                    format!(
                        "{} / {}",
                        Millicores(s.effective_request.cpu_m),
                        Mebibytes(s.effective_request.memory_mib)
                    )
                } else {
                    String::new()
                },
                n.name.clone(),
                fit,
                pull,
            ]);
        }
    }
    writeln!(out, "{t}")?;
    if r.services.len() > MAX_SERVICES {
        writeln!(
            out,
            "… {} more services (--format json lists them all)",
            r.services.len() - MAX_SERVICES
        )?;
    }

    writeln!(out, "\nNodes for every replica, one node type at a time")?;
    let mut t = table(vec![
        "type",
        "nodes",
        "lower bound",
        "gap",
        "proof",
        "FFD (cluster-autoscaler)",
        "FFD (Karpenter)",
        "$/h",
        "not placed",
    ]);
    for (name, p) in &r.by_node_type {
        let row = vec![
            name.clone(),
            p.nodes.to_string(),
            p.lower_bound.to_string(),
            format!("{:.1}%", p.gap * 100.0),
            if p.optimal {
                "optimal".to_string()
            } else {
                "bound".to_string()
            },
            p.ffd.cluster_autoscaler.to_string(),
            p.ffd.karpenter.to_string(),
            p.cost_per_hour.map_or("-".to_string(), |c| format!("{c:.3}")),
            if p.not_placed.is_empty() {
                "-".to_string()
            } else {
                p.not_placed.join(", ")
            },
        ];
        t.add_row(row);
    }
    for i in 1..=6 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "{t}")?;

    if let Some(c) = &r.cheapest {
        writeln!(
            out,
            "\nCheapest fleet: ${:.3}/h ({})",
            c.cost_per_hour,
            proof(c.optimal, c.gap)
        )?;
        let counts: Vec<String> = c.node_counts.iter().map(|(t, n)| format!("{n} × {t}")).collect();
        writeln!(out, "  nodes: {}", counts.join(" + "))?;
        writeln!(
            out,
            "  lower bound ${:.3}/h, gap {:.1}%",
            c.lower_bound_cost,
            c.gap * 100.0
        )?;
        if let Some(f) = c.ffd_cost_per_hour {
            writeln!(out, "  cheapest single-type FFD fleet: ${f:.3}/h")?;
        }
        if !c.not_placed.is_empty() {
            writeln!(
                out,
                "  not placed (no priced type holds them): {}",
                c.not_placed.join(", ")
            )?;
        }
        writeln!(out, "  placement:")?;
        write_placement(out, &c.placement)?;
    } else if let Some((name, p)) = r
        .by_node_type
        .iter()
        .filter(|(_, p)| p.not_placed.is_empty())
        .min_by_key(|(_, p)| p.nodes)
    {
        writeln!(
            out,
            "\nPlacement on {name} ({} nodes, {}):",
            p.nodes,
            proof(p.optimal, p.gap)
        )?;
        write_placement(out, &p.placement)?;
    }

    for u in &r.unschedulable {
        writeln!(out, "\nerror: service `{}` fits no node type", u.service)?;
        for (t, why) in &u.reasons {
            writeln!(out, "  {t}: {why}")?;
        }
    }
    Ok(())
}
