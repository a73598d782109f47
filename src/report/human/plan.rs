//! Human tables for `imgopt plan`: node types, per-service fit (binding resource and what it
//! strands, in words), the fleet per node type beside first-fit-decreasing, and the cheapest
//! fleet with its placement (identical nodes grouped).

use std::collections::BTreeMap;
use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};

use crate::plan::{Mebibytes, Millicores, NodePlacement, PlanReport};

/// Services shown in the per-service table before it is cut (JSON has them all).
const MAX_SERVICES: usize = 40;
/// Distinct node shapes shown per placement.
const MAX_SHAPES: usize = 15;
/// Table width when stdout is not a terminal (on a terminal, its width).
const WIDTH: u16 = 100;

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

/// Keeps every column at least as wide as its longest word, so cells wrap between words only;
/// when every line fits the table's width as it is, nothing wraps at all.
fn words_whole(t: &mut Table) {
    let width = |s: &str| u16::try_from(s.chars().count()).unwrap_or(u16::MAX);
    let (mut word, mut line): (Vec<u16>, Vec<u16>) = (Vec::new(), Vec::new());
    let rows = t.header().into_iter().chain(t.row_iter());
    for row in rows {
        for (k, cell) in row.cell_iter().enumerate() {
            let c = cell.content();
            if word.len() <= k {
                word.resize(k + 1, 0);
                line.resize(k + 1, 0);
            }
            word[k] = word[k].max(c.split_whitespace().map(width).max().unwrap_or(0));
            line[k] = line[k].max(c.lines().map(width).max().unwrap_or(0));
        }
    }
    // Each column adds its padding (one space each side) and a border.
    let natural: u32 = line.iter().map(|&w| u32::from(w) + 3).sum::<u32>() + 1;
    let min = if natural <= u32::from(t.width().unwrap_or(WIDTH)) {
        line
    } else {
        word
    };
    for (k, col) in t.column_iter_mut().enumerate() {
        if let Some(&w) = min.get(k) {
            // The constraint counts the cell's padding.
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(w.saturating_add(2))));
        }
    }
}

/// `2: 0 reserved, 1 DaemonSets, 1 free` for an extended resource of a node type, `-` when
/// the type has none.
fn extended_cell(n: &crate::plan::NodeModel, name: &str) -> String {
    match n.extended_split(name) {
        (0, _, _) => "-".to_string(),
        (cap, ds, free) => format!("{cap}: 0 reserved, {ds} DaemonSets, {free} free"),
    }
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
        "image cache",
        "$/h",
    ]);
    for n in &r.node_types {
        // One budget: the whole cache, and what the DaemonSets' images already take of it.
        let budget = match (n.image_cache_budget_mib, n.image_budget_mib) {
            (Some(whole), Some(after)) => {
                let ds = i128::from(whole) - i128::from(after);
                format!("{whole} MiB ({ds} MiB DaemonSets)")
            }
            _ => "-".to_string(),
        };
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
    words_whole(&mut t);
    writeln!(out, "{t}")?;
    // Extended resources (GPUs) in a table of their own, one column per name any type has, so
    // the table above keeps its width; none: nothing is printed.
    let ext = r.extended_resource_names();
    if !ext.is_empty() {
        writeln!(
            out,
            "\nExtended resources per node (capacity: reserved, DaemonSets, free)"
        )?;
        let mut header = vec!["type"];
        header.extend(ext.iter().copied());
        let mut t = table(header);
        for n in &r.node_types {
            let mut row = vec![n.name.clone()];
            row.extend(ext.iter().map(|e| extended_cell(n, e)));
            t.add_row(row);
        }
        words_whole(&mut t);
        writeln!(out, "{t}")?;
    }
    for (d, types) in r.daemonsets_not_everywhere() {
        writeln!(
            out,
            "DaemonSet {d} does not run on {} (its nodeSelector / node affinity): it takes nothing there.",
            types.join(", ")
        )?;
    }
    for n in r.node_types.iter().filter(|n| n.unusable.is_some()) {
        writeln!(
            out,
            "warning: {} holds no pods: {}",
            n.name,
            n.unusable.as_deref().unwrap_or("")
        )?;
    }

    writeln!(out, "\nInstances per empty node")?;
    // Four columns, so the fit phrase keeps its line in 100 columns.
    let mut t = table(vec!["service", "node type", "fit", "image (pull, cache)"]);
    for s in r.services.iter().take(MAX_SERVICES) {
        let reps = if s.planned_replicas == s.replicas {
            format!("× {}", s.replicas)
        } else {
            format!("× {} (+{} surge)", s.replicas, s.planned_replicas - s.replicas)
        };
        let head = format!(
            "{}\n{reps}\n{} / {}",
            s.name,
            Millicores(s.effective_request.cpu_m),
            Mebibytes(s.effective_request.memory_mib)
        );
        for (k, n) in r.node_types.iter().enumerate() {
            let f = &s.per_node[&n.name];
            let fit = if f.instances == 0 {
                format!(
                    "does not fit ({} bound)",
                    f.binding
                        .iter()
                        .map(crate::plan::fit::Binding::word)
                        .collect::<Vec<_>>()
                        .join("+")
                )
            } else {
                f.summary()
            };
            let mut image = s
                .pull_mib
                .get(&n.name)
                .filter(|p| **p > 0.0)
                .map_or("-".to_string(), |p| format!("pull {p:.1} MiB"));
            if let (Some(c), Some(b)) = (f.image_cache_mib, n.image_cache_budget_mib) {
                // The union of layers on the node (DaemonSet images included) against the whole
                // budget, as in the node-type table.
                image.push_str(&format!("\ncache {c} MiB\nof {b} MiB"));
            }
            t.add_row(vec![
                if k == 0 { head.clone() } else { String::new() },
                n.name.clone(),
                fit,
                image,
            ]);
        }
    }
    words_whole(&mut t);
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
        "FFD cluster- autoscaler",
        "FFD Karpenter",
        "$/h",
        "not placed",
    ]);
    // File order, as every other table.
    for (name, p) in r
        .node_types
        .iter()
        .filter_map(|n| r.by_node_type.get(&n.name).map(|p| (&n.name, p)))
    {
        let mut missing: Vec<String> = p
            .not_placed
            .iter()
            .map(|svc| {
                let why = r
                    .services
                    .iter()
                    .find(|s| &s.name == svc)
                    .and_then(|s| s.per_node.get(name))
                    .map(|f| {
                        f.binding
                            .iter()
                            .map(crate::plan::fit::Binding::word)
                            .collect::<Vec<_>>()
                            .join("+")
                    })
                    .filter(|w| !w.is_empty());
                match why {
                    Some(w) => format!("{svc} ({w} bound)"),
                    None => svc.clone(),
                }
            })
            .collect();
        if p.max_nodes_exceeded {
            let q = r.node_types.iter().find(|n| &n.name == name).and_then(|n| n.max_nodes);
            missing.push(format!("over max_nodes {}", q.unwrap_or(0)));
        }
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
            match p.cost_per_hour {
                None => "-".to_string(),
                Some(c) if p.complete => format!("{c:.3}"),
                // Not comparable: the fleet leaves pods out or breaks its quota.
                Some(c) => format!("({c:.3}) partial"),
            },
            if missing.is_empty() {
                "-".to_string()
            } else {
                missing.join(", ")
            },
        ];
        t.add_row(row);
    }
    for i in 1..=6 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    words_whole(&mut t);
    writeln!(out, "{t}")?;

    if let Some(c) = &r.cheapest {
        writeln!(
            out,
            "\nCheapest fleet{}: ${:.3}/h ({})",
            if c.not_placed.is_empty() {
                ""
            } else {
                " for the services that fit (partial)"
            },
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
        .node_types
        .iter()
        .filter_map(|n| r.by_node_type.get(&n.name).map(|p| (&n.name, p)))
        .filter(|(_, p)| p.complete)
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
