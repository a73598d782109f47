//! GitHub-flavoured Markdown for `imgopt plan` (a capacity section for a pull-request comment):
//! node types, instances per node with the binding resource, fleet per type beside FFD, and
//! the cheapest fleet.

use std::io::{self, Write};

use crate::plan::{Mebibytes, Millicores, PlanReport};

/// A cell whose text may run over several lines (a fit summary): each line escaped, joined
/// by `<br>`.
fn cell(s: &str) -> String {
    s.lines().map(super::cell).collect::<Vec<_>>().join("<br>")
}

/// The DaemonSets some node types' labels rule out, one list item each, after a blank line
/// (nothing when every DaemonSet runs everywhere). Shared with the capacity report.
pub(super) fn daemonsets_not_everywhere(r: &PlanReport, out: &mut dyn Write) -> io::Result<()> {
    let limited = r.daemonsets_not_everywhere();
    if !limited.is_empty() {
        writeln!(out)?;
    }
    for (d, types) in limited {
        let types: Vec<String> = types.iter().map(|t| cell(t)).collect();
        writeln!(
            out,
            "- DaemonSet {} does not run on {} (its nodeSelector / node affinity): it takes nothing there.",
            cell(d),
            types.join(", ")
        )?;
    }
    Ok(())
}

/// Writes the plan report as Markdown.
pub fn render(r: &PlanReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### Density plan\n")?;
    // One column per extended resource any type has (none: the table is as it always was).
    let ext = r.extended_resource_names();
    let mut ext_head = String::new();
    for e in &ext {
        ext_head.push(' ');
        ext_head.push_str(&cell(e));
        ext_head.push_str(" |");
    }
    writeln!(
        out,
        "| node type | allocatable | free after DaemonSets | image cache (DaemonSets) | $/h |{ext_head}"
    )?;
    writeln!(out, "|---|---|---|---|---|{}", "---|".repeat(ext.len()))?;
    for n in &r.node_types {
        let ext_cells: String = ext
            .iter()
            .map(|e| match n.extended_split(e) {
                (0, _, _) => " - |".to_string(),
                (cap, ds, free) => format!(" {cap}: 0 reserved, {ds} DaemonSets, {free} free |"),
            })
            .collect();
        writeln!(
            out,
            "| {} | {} / {} / {} pods | {} / {} / {} pods | {} | {} |{ext_cells}",
            cell(&n.name),
            Millicores(n.allocatable.cpu_m),
            Mebibytes(n.allocatable.memory_mib),
            n.allocatable.pods,
            Millicores(n.free_after_daemonsets.cpu_m),
            Mebibytes(n.free_after_daemonsets.memory_mib),
            n.free_after_daemonsets.pods,
            match (n.image_cache_budget_mib, n.image_budget_mib) {
                (Some(whole), Some(after)) => format!("{whole} MiB ({} MiB)", i128::from(whole) - i128::from(after)),
                _ => "-".to_string(),
            },
            n.price_per_hour.map_or("-".to_string(), |p| p.to_string()),
        )?;
    }
    daemonsets_not_everywhere(r, out)?;
    writeln!(
        out,
        "\n| service | replicas | request | {} |",
        r.node_types
            .iter()
            .map(|n| cell(&n.name))
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    writeln!(out, "|---|---|---|{}", "---|".repeat(r.node_types.len()))?;
    for s in &r.services {
        let fits: Vec<String> = r
            .node_types
            .iter()
            .map(|n| {
                let f = &s.per_node[&n.name];
                if f.instances == 0 {
                    "does not fit".to_string()
                } else {
                    cell(&f.summary())
                }
            })
            .collect();
        writeln!(
            out,
            "| {} | {} | {} / {} | {} |",
            cell(&s.name),
            s.planned_replicas,
            Millicores(s.effective_request.cpu_m),
            Mebibytes(s.effective_request.memory_mib),
            fits.join(" | ")
        )?;
    }
    writeln!(
        out,
        "\n| node type | nodes | lower bound | gap | optimal | FFD (CA) | FFD (Karpenter) | $/h | not placed |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---|---:|---:|---:|---|")?;
    // File order, as every other table.
    for (name, p) in r
        .node_types
        .iter()
        .filter_map(|n| r.by_node_type.get(&n.name).map(|p| (&n.name, p)))
    {
        let mut missing: Vec<String> = p.not_placed.iter().map(|s| cell(s)).collect();
        if p.max_nodes_exceeded {
            missing.push("over max_nodes".to_string());
        }
        writeln!(
            out,
            "| {} | {} | {} | {:.1}% | {} | {} | {} | {} | {} |",
            cell(name),
            p.nodes,
            p.lower_bound,
            p.gap * 100.0,
            if p.optimal { "yes" } else { "no (bound)" },
            p.ffd.cluster_autoscaler,
            p.ffd.karpenter,
            match p.cost_per_hour {
                None => "-".to_string(),
                Some(c) if p.complete => format!("{c:.3}"),
                Some(c) => format!("({c:.3}) partial"),
            },
            if missing.is_empty() {
                "-".to_string()
            } else {
                missing.join(", ")
            }
        )?;
    }
    if let Some(c) = &r.cheapest {
        let counts: Vec<String> = c
            .node_counts
            .iter()
            .map(|(t, n)| format!("{n} × {}", cell(t)))
            .collect();
        writeln!(
            out,
            "\n**Cheapest fleet:** ${:.3}/h ({}), lower bound ${:.3}/h, gap {:.1}%, {}",
            c.cost_per_hour,
            counts.join(" + "),
            c.lower_bound_cost,
            c.gap * 100.0,
            if c.optimal {
                "proven optimal"
            } else {
                "not proven optimal"
            }
        )?;
        if let Some(f) = c.ffd_cost_per_hour {
            writeln!(out, "Cheapest single-type FFD fleet: ${f:.3}/h.")?;
        }
    }
    for u in &r.unschedulable {
        let why: Vec<String> = u
            .reasons
            .iter()
            .map(|(t, w)| format!("{}: {}", cell(t), cell(w)))
            .collect();
        writeln!(
            out,
            "\n:x: **{}** fits no node type ({})",
            cell(&u.service),
            why.join("; ")
        )?;
    }
    Ok(())
}
