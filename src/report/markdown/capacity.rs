//! The capacity-planning report as GitHub-flavoured Markdown (a pull-request comment or wiki
//! page): the same sections and figures as the HTML page, as tables, with text bars (`█░`)
//! where the page has charts.

use std::io::{self, Write};

use super::{cell, code};
use crate::capacity::{CapacityReport, section};
use crate::report::html::{json_num, mib, pct, thousands};

/// `███░░░░░░░` for a share (0..=1) in ten steps.
fn bar(share: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let full = (share.clamp(0.0, 1.0) * 10.0).round() as usize;
    "█".repeat(full) + &"░".repeat(10 - full)
}

#[allow(clippy::cast_precision_loss)]
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn gap(g: f64) -> String {
    format!("{}%", json_num((g * 1e4).round() / 1e2))
}

/// Writes the report as Markdown.
#[allow(clippy::too_many_lines)]
pub fn render(r: &CapacityReport, out: &mut dyn Write) -> io::Result<()> {
    let p = &r.plan;
    writeln!(out, "## Capacity plan: {}\n", cell(&r.title))?;
    let replicas: u64 = p.services.iter().map(|s| s.planned_replicas).sum();
    write!(
        out,
        "{} service{}, {} replica{}, {} node type{}",
        p.services.len(),
        plural(p.services.len() as u64),
        thousands(replicas),
        plural(replicas),
        p.node_types.len(),
        plural(p.node_types.len() as u64),
    )?;
    if let Some(c) = &p.cheapest {
        let nodes: u64 = c.node_counts.values().sum();
        write!(
            out,
            ". **Cheapest fleet: ${}/h for {}**{}",
            json_num(c.cost_per_hour),
            crate::report::text::plural(nodes, "node", "nodes"),
            if c.optimal { " (proven optimal)" } else { "" }
        )?;
    }
    writeln!(out, ".\n")?;
    for m in &r.missing {
        writeln!(
            out,
            "> **Incomplete:** image `{}` (`{}`) could not be read: {}. Missing because of it: {}.\n",
            code(&m.name),
            code(&m.reference),
            cell(&m.error),
            m.sections.join(", ")
        )?;
    }
    for u in &p.unschedulable {
        let why: Vec<String> = u.reasons.iter().map(|(t, w)| format!("{t}: {w}")).collect();
        writeln!(
            out,
            "> **{}** fits no node type: {}.\n",
            cell(&u.service),
            cell(&why.join("; "))
        )?;
    }

    for k in &r.key_points {
        writeln!(out, "- {}", cell(k))?;
    }
    if !r.key_points.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "### {}\n", section::NODE_TYPES)?;
    // One column per extended resource any type has (none: the table is as it always was).
    let ext = p.extended_resource_names();
    let mut ext_head = String::new();
    for e in &ext {
        ext_head.push(' ');
        ext_head.push_str(&cell(e));
        ext_head.push_str(" |");
    }
    writeln!(
        out,
        "| node type | capacity | reserved | DaemonSets | free for services | image budget | $/h |{ext_head}"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|{}", "--:|".repeat(ext.len()))?;
    for n in &p.node_types {
        let c = &n.capacity;
        let a = &n.allocatable;
        let f = &n.free_after_daemonsets;
        let ext_cells: String = ext
            .iter()
            .map(|e| match n.extended_split(e) {
                (0, _, _) => " - |".to_string(),
                (cap, ds, free) => format!(
                    " {cap} capacity<br>0 reserved<br>{ds} DaemonSets<br>{free} free `{}` |",
                    bar(share(free, cap))
                ),
            })
            .collect();
        writeln!(
            out,
            "| {} | {}m<br>{} MiB<br>{} pods | {}m<br>{} MiB<br>{} pods | {}m<br>{} MiB<br>{} pods | {}m `{}`<br>{} MiB `{}`<br>{} pods `{}` | {} | {} |{ext_cells}",
            cell(&n.name),
            thousands(c.cpu_m),
            thousands(c.memory_mib),
            c.pods,
            thousands(c.cpu_m.saturating_sub(a.cpu_m)),
            thousands(c.memory_mib.saturating_sub(a.memory_mib)),
            c.pods.saturating_sub(a.pods),
            thousands(a.cpu_m.saturating_sub(f.cpu_m)),
            thousands(a.memory_mib.saturating_sub(f.memory_mib)),
            a.pods.saturating_sub(f.pods),
            thousands(f.cpu_m),
            bar(share(f.cpu_m, c.cpu_m)),
            thousands(f.memory_mib),
            bar(share(f.memory_mib, c.memory_mib)),
            f.pods,
            bar(share(f.pods, c.pods)),
            n.image_budget_mib.map_or("-".to_string(), |b| format!("{b} MiB")),
            n.price_per_hour
                .map_or("-".to_string(), |x| format!("${}", json_num(x))),
        )?;
    }
    super::plan::daemonsets_not_everywhere(p, out)?;

    writeln!(out, "\n### {}\n", section::SERVICES)?;
    writeln!(
        out,
        "Instances of each service on one empty node, the resource that binds (**bold**), and the share of the node a full node uses.\n"
    )?;
    for n in &p.node_types {
        writeln!(out, "**On {}**\n", cell(&n.name))?;
        writeln!(
            out,
            "| service | per node | binds | cpu | memory | pods | disk | pull MiB |"
        )?;
        writeln!(out, "|---|--:|---|---|---|---|---|--:|")?;
        for s in &p.services {
            let Some(fit) = s.per_node.get(&n.name) else { continue };
            let i = fit.instances;
            let f = &n.free_after_daemonsets;
            let disk = match (fit.image_cache_mib, n.image_budget_mib) {
                (Some(c), Some(b)) if b > 0 && i > 0 => Some(share(c, b.unsigned_abs())),
                _ => None,
            };
            let show = |word: &str, u: Option<f64>| match u {
                None => "-".to_string(),
                Some(u) => {
                    let binds = fit.binding.iter().any(|b| b.word() == word);
                    if binds {
                        format!("`{}` **{} binds**", bar(u), pct(u))
                    } else {
                        format!("`{}` {}", bar(u), pct(u))
                    }
                }
            };
            let binds: Vec<&str> = fit.binding.iter().map(crate::plan::fit::Binding::word).collect();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&s.name),
                i,
                binds.join(" + "),
                show("cpu", Some(share(i * s.effective_request.cpu_m, f.cpu_m))),
                show("memory", Some(share(i * s.effective_request.memory_mib, f.memory_mib))),
                show("pods", Some(share(i, f.pods))),
                show("disk", disk),
                s.pull_mib
                    .get(&n.name)
                    .filter(|_| s.image.is_some())
                    .map_or("-".to_string(), |m| json_num(*m)),
            )?;
        }
        writeln!(out)?;
    }

    writeln!(out, "### {}\n", section::NODES_AND_COST)?;
    writeln!(
        out,
        "| node type | nodes | lower bound | gap | FFD cluster-autoscaler | FFD Karpenter | $/h |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|")?;
    for (name, t) in &p.by_node_type {
        let marks = crate::capacity::type_marks(p, name, t);
        writeln!(
            out,
            "| {}{} | {} | {} | {}{} | {} | {} | {} |",
            cell(name),
            if marks.is_empty() {
                String::new()
            } else {
                format!(" ⚠ {}", cell(&marks.join("; ")))
            },
            t.nodes,
            t.lower_bound,
            gap(t.gap),
            if t.optimal { " (optimal)" } else { "" },
            t.ffd.cluster_autoscaler,
            t.ffd.karpenter,
            t.cost_per_hour.map_or("-".to_string(), |c| format!("${}", json_num(c))),
        )?;
    }
    if let Some(c) = &p.cheapest {
        let nodes: u64 = c.node_counts.values().sum();
        let mix: Vec<String> = c
            .node_counts
            .iter()
            .map(|(t, n)| format!("{n} × {}", cell(t)))
            .collect();
        writeln!(
            out,
            "\n**Cheapest mixed fleet:** ${}/h for {} ({}); lower bound ${}/h, gap {}{}{}.\n",
            json_num(c.cost_per_hour),
            crate::report::text::plural(nodes, "node", "nodes"),
            mix.join(", "),
            json_num(c.lower_bound_cost),
            gap(c.gap),
            if c.optimal { ", proven optimal" } else { "" },
            c.ffd_cost_per_hour.map_or(String::new(), |f| format!(
                "; the cheapest single type with autoscaler-style FFD costs ${}/h",
                json_num(f)
            )),
        )?;
        writeln!(
            out,
            "<details><summary>Placement ({})</summary>\n\n| nodes | type | pods on each node |\n|--:|---|---|",
            crate::report::text::plural(c.placement.len() as u64, "node", "nodes")
        )?;
        for g in crate::capacity::group_placement(&c.placement) {
            let pods: Vec<String> = g.pods.iter().map(|(s, k)| format!("{k} × {s}")).collect();
            writeln!(
                out,
                "| {} | {} | {} |",
                g.count,
                cell(g.node_type),
                cell(&pods.join(", "))
            )?;
        }
        writeln!(out, "\n</details>")?;
    }

    if !r.images.is_empty() {
        writeln!(out, "\n### {}\n", section::IMAGES)?;
        writeln!(out, "| image | used by | layers | pulled | on disk | shared layers |")?;
        writeln!(out, "|---|---|--:|--:|--:|--:|")?;
        for i in &r.images {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&i.name),
                cell(&i.used_by.join(", ")),
                i.layers.len(),
                mib(i.compressed_size),
                mib(i.size),
                i.layers.iter().filter(|l| !l.shared_with.is_empty()).count(),
            )?;
        }
        writeln!(
            out,
            "\n<details><summary>Every layer</summary>\n\n| image | layer | pulled | on disk | shared with |\n|---|---|--:|--:|---|"
        )?;
        for i in &r.images {
            for l in &i.layers {
                writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {} |",
                    cell(&i.name),
                    code(&l.digest),
                    mib(l.compressed_size),
                    mib(l.size),
                    cell(&l.shared_with.join(", "))
                )?;
            }
        }
        writeln!(out, "\n</details>")?;
    }

    if let Some(a) = &r.dockerfiles {
        writeln!(out, "\n### {}\n", section::FINDINGS)?;
        if let Some(t) = &a.summary.estimated_saving {
            writeln!(
                out,
                "Predicted saving: **{} to {}** on disk over {} findings (findings may overlap).\n",
                mib(t.low_bytes.0),
                mib(t.high_bytes.0),
                t.count
            )?;
        }
        if a.findings.is_empty() {
            writeln!(out, "No findings.")?;
        } else {
            writeln!(out, "| where | rule | finding | saves |\n|---|---|---|--:|")?;
            for f in &a.findings {
                writeln!(
                    out,
                    "| `{}:{}` | {} {} | {} | {} |",
                    code(&f.file),
                    f.start_line,
                    f.code,
                    f.name,
                    cell(&f.message),
                    f.estimate.as_ref().map_or("-".to_string(), |e| format!(
                        "{} to {}",
                        mib(e.low_bytes.0),
                        mib(e.high_bytes.0)
                    )),
                )?;
            }
        }
    }
    what_if(r, out)?;
    budgets(r, out)?;
    Ok(())
}

/// `a → **b**`, or `a (same)`.
fn before_after(a: &str, b: &str) -> String {
    if a == b {
        format!("{a} (same)")
    } else {
        format!("{a} → **{b}**")
    }
}

fn what_if(r: &CapacityReport, out: &mut dyn Write) -> io::Result<()> {
    if r.what_if.is_none() && r.no_saving.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n### {}\n", section::WHAT_IF)?;
    writeln!(
        out,
        "The plan again with each linked image as its Dockerfile would make it after `imgopt rewrite` (or the findings' fixes), at the high end of the predicted saving (the best case).\n"
    )?;
    if !r.no_saving.is_empty() {
        writeln!(
            out,
            "No saving predicted (no what-if) for: {}.\n",
            cell(&r.no_saving.join(", "))
        )?;
    }
    let Some(w) = &r.what_if else { return Ok(()) };
    for v in &w.verdicts {
        writeln!(out, "- {}", cell(v))?;
    }
    writeln!(
        out,
        "\n| image | change | predicted saving | on disk | pulled |\n|---|---|--:|--:|--:|"
    )?;
    for i in &w.images {
        let p = &i.proposal;
        writeln!(
            out,
            "| {} (`{}`) | {} | {} to {} ({}) | {} | {} |",
            cell(&p.image),
            code(&p.dockerfile),
            cell(&p.what),
            mib(p.saving_low),
            mib(p.saving_high),
            p.basis.join(", "),
            before_after(&mib(i.size_before), &mib(i.size_after)),
            before_after(&mib(i.compressed_before), &mib(i.compressed_after)),
        )?;
    }
    writeln!(
        out,
        "\n| service | node type | per node | binds | image cache per node | pull MiB, fresh node |\n|---|---|--:|---|--:|--:|"
    )?;
    for c in &w.services {
        let cache = |x: Option<u64>| x.map_or("-".to_string(), |m| format!("{m} MiB"));
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&c.service),
            cell(&c.node_type),
            before_after(&c.before.instances.to_string(), &c.after.instances.to_string()),
            before_after(
                &crate::plan::Binding::joined(&c.before.binding, "-"),
                &crate::plan::Binding::joined(&c.after.binding, "-")
            ),
            before_after(&cache(c.before.image_cache_mib), &cache(c.after.image_cache_mib)),
            before_after(&json_num(c.before.pull_mib), &json_num(c.after.pull_mib)),
        )?;
    }
    writeln!(out, "\n| node type | nodes for every replica |\n|---|--:|")?;
    for t in &w.node_types {
        writeln!(
            out,
            "| {} | {} |",
            cell(&t.node_type),
            before_after(
                &crate::capacity::whatif::TypeChange::shown(t.nodes_before, t.partial_before),
                &crate::capacity::whatif::TypeChange::shown(t.nodes_after, t.partial_after)
            )
        )?;
    }
    if let Some(f) = &w.cheapest {
        writeln!(
            out,
            "| cheapest mixed fleet | {} nodes, {} |",
            before_after(&f.nodes_before.to_string(), &f.nodes_after.to_string()),
            before_after(
                &format!("${}/h", json_num(f.cost_before)),
                &format!("${}/h", json_num(f.cost_after))
            ),
        )?;
    }
    Ok(())
}

fn budgets(r: &CapacityReport, out: &mut dyn Write) -> io::Result<()> {
    let Some(b) = &r.budgets else { return Ok(()) };
    let all: Vec<&crate::check::CheckResult> = b.targets.iter().flat_map(|t| &t.checks).collect();
    let failed = all.iter().filter(|c| !c.passed).count();
    writeln!(out, "\n### {}\n", section::BUDGETS)?;
    writeln!(
        out,
        "Policy `{}` (the format of `imgopt check`): **{failed} of {} checks failed**.\n",
        code(&b.policy),
        all.len()
    )?;
    writeln!(
        out,
        "| image or Dockerfile | budget | limit | actual | result | why |\n|---|---|--:|--:|---|---|"
    )?;
    for t in &b.targets {
        for c in &t.checks {
            let word = if !crate::capacity::budgets::was_checked(c) {
                "not checked"
            } else if c.passed {
                "✓ pass"
            } else {
                "**✗ FAIL**"
            };
            writeln!(
                out,
                "| {} ({}) | `{}` | {} | {} | {} | {} |",
                cell(&t.target),
                t.kind.as_str(),
                code(&c.id),
                cell(&c.shown_limit()),
                cell(&c.shown_actual()),
                word,
                cell(&c.message),
            )?;
        }
    }
    Ok(())
}
