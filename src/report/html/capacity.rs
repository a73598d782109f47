//! The capacity-planning report as one HTML page: node types, services, nodes and cost,
//! images and Dockerfile findings. Every chart is an inline SVG drawn from the table beside it;
//! segments differ by pattern and label as well as colour; a print stylesheet lays the page
//! out for paper. Figures a test checks against `imgopt plan --format json` carry `data-`
//! attributes (`data-type`, `data-service`, `data-nodes`, `data-cost`, `data-instances`).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{PATTERNS, Segment, esc, json_num, mib, pct, stacked_bar, swatch, text, thousands};
use crate::capacity::{CapacityReport, section};
use crate::plan::{Binding, NodeModel, NodePlacement, PlanReport, ServiceReport};

const CSS: &str = r#"
:root{--ink:#1f2933;--muted:#52606d;--line:#d9dee3;--bg:#ffffff;--soft:#f5f7fa;--accent:#1f6f5c;--warn:#9b2c2c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
header h1{margin:0 0 4px;font-size:28px}
.sub{color:var(--muted);margin:0 0 16px;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin:16px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:var(--soft)}
.card b{display:block;font-size:24px;line-height:1.2}
.card span{color:var(--muted);font-size:13px}
nav{margin:8px 0 20px;font-size:14px}
nav a{color:var(--accent);margin-right:14px}
section{margin:32px 0;border-top:2px solid var(--line);padding-top:8px}
h2{font-size:21px;margin:8px 0}
h3{font-size:16px;margin:18px 0 6px}
p.lead{color:var(--muted);margin:4px 0 12px;max-width:80ch}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:20px;align-items:start}
@media (max-width:820px){.pair{grid-template-columns:1fr}}
figure{margin:0;overflow-x:auto}
figcaption{font-size:13px;color:var(--muted);margin-top:4px}
svg.chart{width:100%;min-width:500px;height:auto;display:block}
svg text{font-family:inherit;fill:var(--ink)}
.t{font-size:12px}.tb{font-size:12px;font-weight:700}.tm{font-size:11px;fill:#52606d}
.points li{margin:2px 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.n,th.n{text-align:right}
.key{display:inline-flex;align-items:center;gap:4px;margin-right:12px;font-size:13px}
.banner{border:2px solid var(--warn);background:#fdf2f2;padding:10px 14px;border-radius:8px;margin:16px 0}
.banner h2{color:var(--warn);margin-top:0}
.mark{font-weight:600;color:var(--warn)}
details{margin:8px 0}
summary{cursor:pointer;color:var(--accent)}
code{font-size:12px;word-break:break-all}
footer{margin-top:40px;color:var(--muted);font-size:12px}
@media print{
 body{font-size:11px}
 main{max-width:none;padding:0}
 nav,summary{display:none}
 details>*{display:block}
 section{break-inside:auto;border-top:1px solid #999}
 figure,table,.card{break-inside:avoid}
 .pair{grid-template-columns:1fr 1fr}
 svg.chart{min-width:0}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 a{color:inherit;text-decoration:none}
}
"#;

/// Fills: capacity segments (reserved, DaemonSets, free) and used shares.
const RESERVED: &str = "url(#hatch)";
const DAEMONSETS: &str = "url(#dots)";
const FREE: &str = "#8fd1b5";
const USED: &str = "#1f6f5c";
const FFD_CA: &str = "url(#dots)";
const FFD_K: &str = "url(#grid)";

/// Writes the report as one HTML page.
pub fn render(r: &CapacityReport, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    let p = &r.plan;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"generator\" content=\"imgopt report\">\
<title>Capacity plan: {}</title><style>{CSS}</style></head><body>{PATTERNS}<main>",
        esc(&r.title)
    );
    header(&mut h, r);
    missing(&mut h, r);
    if !r.key_points.is_empty() {
        h.push_str(r#"<section id="key-points"><h2>In short</h2><ul class="points">"#);
        for k in &r.key_points {
            let _ = write!(h, "<li>{}</li>", esc(k));
        }
        h.push_str("</ul></section>");
    }
    node_types(&mut h, p);
    services(&mut h, p);
    nodes_and_cost(&mut h, p);
    images(&mut h, r);
    findings(&mut h, r);
    what_if(&mut h, r);
    budgets(&mut h, r);
    let _ = writeln!(
        h,
        "<footer>Made by <code>imgopt report</code> from {}. Node counts, costs and instances per node are those of \
<code>imgopt plan --format json</code> for the same file. The page loads nothing from the network.</footer></main></body></html>",
        esc(&r.title)
    );
    out.write_all(h.as_bytes())
}

fn header(h: &mut String, r: &CapacityReport) {
    let p = &r.plan;
    let replicas: u64 = p.services.iter().map(|s| s.planned_replicas).sum();
    let _ = write!(
        h,
        r#"<header><h1>Capacity plan</h1><p class="sub">{}</p><div class="cards">"#,
        esc(&r.title)
    );
    let card = |h: &mut String, value: &str, label: &str, attrs: &str| {
        let _ = write!(
            h,
            r#"<div class="card"{attrs}><b>{value}</b><span>{label}</span></div>"#
        );
    };
    card(h, &p.services.len().to_string(), "services", "");
    card(h, &thousands(replicas), "replicas to place", "");
    card(h, &p.node_types.len().to_string(), "node types", "");
    if let Some(c) = &p.cheapest {
        let nodes: u64 = c.node_counts.values().sum();
        card(
            h,
            &format!("${}/h", json_num(c.cost_per_hour)),
            &format!(
                "cheapest fleet: {}{}",
                crate::report::text::plural(nodes, "node", "nodes"),
                if c.optimal { ", proven optimal" } else { "" }
            ),
            &format!(r#" id="cheapest-cost" data-cost="{}""#, json_num(c.cost_per_hour)),
        );
        if let Some(f) = c.ffd_cost_per_hour {
            card(
                h,
                &format!("${}/h", json_num(f)),
                "autoscaler-style FFD, cheapest type",
                "",
            );
        }
    }
    if !p.unschedulable.is_empty() {
        card(
            h,
            &p.unschedulable.len().to_string(),
            "services fit no node type",
            r#" style="border-color:#9b2c2c""#,
        );
    }
    h.push_str("</div>");
    h.push_str(r##"<nav aria-label="Sections"><a href="#node-types">Node types</a><a href="#services">Services</a><a href="#nodes-and-cost">Nodes and cost</a>"##);
    if !r.images.is_empty() {
        h.push_str(r##"<a href="#images">Images</a>"##);
    }
    if r.dockerfiles.is_some() {
        h.push_str(r##"<a href="#findings">Findings</a>"##);
    }
    if r.what_if.is_some() || !r.no_saving.is_empty() {
        h.push_str(r##"<a href="#what-if">What if</a>"##);
    }
    if r.budgets.is_some() {
        h.push_str(r##"<a href="#budgets">Budgets</a>"##);
    }
    h.push_str("</nav></header>");
}

fn missing(h: &mut String, r: &CapacityReport) {
    if r.missing.is_empty() && r.plan.unschedulable.is_empty() {
        return;
    }
    h.push_str(r#"<div class="banner" id="incomplete" role="alert">"#);
    if !r.missing.is_empty() {
        h.push_str("<h2>Incomplete: images could not be read</h2><ul>");
        for m in &r.missing {
            let _ = write!(
                h,
                r#"<li data-missing-image="{}">Image <b>{}</b> (<code>{}</code>): {}. Missing because of it: {}{}.</li>"#,
                esc(&m.name),
                esc(&m.name),
                esc(&m.reference),
                esc(&m.error),
                esc(&m.sections.join(", ")),
                if m.services.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (planned without an image, so no disk check and no pull figure: {})",
                        esc(&m.services.join(", "))
                    )
                }
            );
        }
        h.push_str("</ul>");
    }
    if !r.plan.unschedulable.is_empty() {
        h.push_str("<h2>Services that fit no node type</h2><ul>");
        for u in &r.plan.unschedulable {
            let why: Vec<String> = u.reasons.iter().map(|(t, w)| format!("{t}: {w}")).collect();
            let _ = write!(h, "<li><b>{}</b>: {}</li>", esc(&u.service), esc(&why.join("; ")));
        }
        h.push_str("</ul>");
    }
    h.push_str("</div>");
}

#[allow(clippy::cast_precision_loss)]
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn node_types(h: &mut String, p: &PlanReport) {
    // One column (and a bar per type that has it) per extended resource any type has. The wider
    // table then goes below the chart, with the page's whole width, instead of beside it.
    let ext = p.extended_resource_names();
    let layout = if ext.is_empty() {
        r#"<div class="pair"><figure>"#
    } else {
        r#"<div><figure style="max-width:760px">"#
    };
    let _ = write!(
        h,
        r#"<section id="node-types"><h2>{}</h2><p class="lead">What one node of each type offers: its capacity, what the kubelet and the system reserve (eviction threshold included), what the DaemonSets take, and what is left for your services.</p>{layout}"#,
        section::NODE_TYPES
    );
    let row_h = 16.0;
    let bars = |n: &NodeModel| 3 + ext.iter().filter(|e| n.extended_split(e).0 > 0).count();
    let height = p
        .node_types
        .iter()
        .map(|n| bars(n) as f64 * (row_h + 4.0) + 22.0)
        .sum::<f64>()
        + 8.0;
    let _ = write!(
        h,
        r#"<svg class="chart" viewBox="0 0 600 {height:.0}" role="img" aria-label="Capacity, reservations, DaemonSets and free resources per node type">"#
    );
    let mut y = 14.0;
    for n in &p.node_types {
        text(h, 0.0, y, "start", "tb", &n.name);
        y += 6.0;
        let mut rows = vec![
            (
                "CPU".to_string(),
                n.capacity.cpu_m,
                n.allocatable.cpu_m,
                n.free_after_daemonsets.cpu_m,
                "m".to_string(),
            ),
            (
                "memory".to_string(),
                n.capacity.memory_mib,
                n.allocatable.memory_mib,
                n.free_after_daemonsets.memory_mib,
                " MiB".to_string(),
            ),
            (
                "pods".to_string(),
                n.capacity.pods,
                n.allocatable.pods,
                n.free_after_daemonsets.pods,
                String::new(),
            ),
        ];
        for e in &ext {
            // Nothing of an extended resource is reserved: capacity is allocatable.
            let (cap, _, free) = n.extended_split(e);
            if cap > 0 {
                // The name after the domain, short enough for the label column; the text
                // right of the bar and the table give the whole name.
                let label = truncate(e.rsplit('/').next().unwrap_or(e), 9);
                rows.push((label, cap, cap, free, format!(" {e}")));
            }
        }
        for (label, cap, alloc, free, unit) in rows {
            let (label, unit) = (label.as_str(), unit.as_str());
            let reserved = cap.saturating_sub(alloc);
            let ds = alloc.saturating_sub(free);
            text(h, 60.0, y + 12.0, "end", "t", label);
            stacked_bar(
                h,
                66.0,
                y,
                // Leaves the text right of the bar room for `184,878 free of 196,608 MiB`.
                340.0,
                row_h,
                &[
                    Segment {
                        share: share(reserved, cap),
                        fill: RESERVED,
                        title: format!("{}: reserved {reserved}{unit}", n.name),
                    },
                    Segment {
                        share: share(ds, cap),
                        fill: DAEMONSETS,
                        title: format!("{}: DaemonSets {ds}{unit}", n.name),
                    },
                    Segment {
                        share: share(free, cap),
                        fill: FREE,
                        title: format!("{}: free {free}{unit}", n.name),
                    },
                ],
            );
            text(
                h,
                412.0,
                y + 12.0,
                "start",
                "tm",
                &format!("{} free of {}{unit}", thousands(free), thousands(cap)),
            );
            y += row_h + 4.0;
        }
        y += 10.0;
    }
    h.push_str("</svg><figcaption>");
    h.push_str(&swatch(RESERVED, "reserved (hatched)"));
    h.push_str(&swatch(DAEMONSETS, "DaemonSets (dotted)"));
    h.push_str(&swatch(FREE, "free for services (plain)"));
    h.push_str("</figcaption></figure><div class=\"scroll\"><table><thead><tr><th>node type</th><th class=\"n\">capacity</th><th class=\"n\">reserved</th><th class=\"n\">allocatable</th><th class=\"n\">free after DaemonSets</th><th class=\"n\">image budget</th><th class=\"n\">$/h</th>");
    for e in &ext {
        let _ = write!(h, r#"<th class="n">{}</th>"#, esc(e));
    }
    h.push_str("</tr></thead><tbody>");
    for n in &p.node_types {
        let ext_cells: String = ext
            .iter()
            .map(|e| match n.extended_split(e) {
                (0, _, _) => r#"<td class="n">-</td>"#.to_string(),
                (cap, ds, free) => {
                    format!(r#"<td class="n">{cap} capacity<br>0 reserved<br>{ds} DaemonSets<br>{free} free</td>"#)
                }
            })
            .collect();
        let _ = write!(
            h,
            r#"<tr data-type="{}"><td>{}{}</td><td class="n">{}m<br>{} MiB<br>{} pods</td><td class="n">{}m<br>{} MiB<br>evict {} MiB</td><td class="n">{}m<br>{} MiB<br>{} pods</td><td class="n">{}m<br>{} MiB<br>{} pods</td><td class="n">{}</td><td class="n">{}</td>{ext_cells}</tr>"#,
            esc(&n.name),
            esc(&n.name),
            n.unusable.as_ref().map_or(String::new(), |u| format!(
                r#"<br><span class="mark">unusable: {}</span>"#,
                esc(u)
            )),
            thousands(n.capacity.cpu_m),
            thousands(n.capacity.memory_mib),
            n.capacity.pods,
            thousands(n.reserved.cpu_m),
            thousands(n.reserved.memory_mib),
            thousands(n.reserved.eviction_memory_mib),
            thousands(n.allocatable.cpu_m),
            thousands(n.allocatable.memory_mib),
            n.allocatable.pods,
            thousands(n.free_after_daemonsets.cpu_m),
            thousands(n.free_after_daemonsets.memory_mib),
            n.free_after_daemonsets.pods,
            n.image_budget_mib.map_or("-".to_string(), |b| format!("{b} MiB")),
            n.price_per_hour
                .map_or("-".to_string(), |c| format!("${}", json_num(c))),
        );
    }
    h.push_str("</tbody></table></div></div>");
    let limited = p.daemonsets_not_everywhere();
    if !limited.is_empty() {
        h.push_str("<ul class=\"points\">");
        for (d, types) in limited {
            let types: Vec<String> = types.iter().map(|t| esc(t)).collect();
            let _ = write!(
                h,
                "<li>DaemonSet {} does not run on {} (its nodeSelector / node affinity): it takes nothing there.</li>",
                esc(d),
                types.join(", ")
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</section>");
}

/// The shares of one node a full node of `s` uses: cpu, memory, pods, disk (when known).
fn used_shares(s: &ServiceReport, n: &NodeModel) -> [(&'static str, Option<f64>, Binding); 4] {
    let fit = &s.per_node[&n.name];
    let i = fit.instances;
    let free = &n.free_after_daemonsets;
    let disk = match (fit.image_cache_mib, n.image_budget_mib) {
        (Some(c), Some(b)) if b > 0 && i > 0 => Some(share(c, b.unsigned_abs())),
        _ => None,
    };
    [
        (
            "cpu",
            Some(share(i * s.effective_request.cpu_m, free.cpu_m)),
            Binding::Cpu,
        ),
        (
            "mem",
            Some(share(i * s.effective_request.memory_mib, free.memory_mib)),
            Binding::Memory,
        ),
        ("pods", Some(share(i, free.pods)), Binding::Pods),
        ("disk", disk, Binding::Disk),
    ]
}

fn services(h: &mut String, p: &PlanReport) {
    let _ = write!(
        h,
        r#"<section id="services"><h2>{}</h2><p class="lead">How many instances of each service fit on one empty node of each type, which resource runs out first (it <b>binds</b>), and how much of each resource a node full of that service uses. What the binding resource leaves of the others is stranded: paid for, never used. An image is stored once per node however many instances use it, so a smaller image changes the disk and the pull, not the count, unless disk binds.</p>"#,
        section::SERVICES
    );
    for n in &p.node_types {
        if p.services.iter().all(|s| !s.per_node.contains_key(&n.name)) {
            continue;
        }
        let _ = write!(h, "<h3>On {}</h3><div class=\"pair\"><figure>", esc(&n.name));
        let row = 30.0;
        let height = row * p.services.len() as f64 + 24.0;
        let _ = write!(
            h,
            r#"<svg class="chart" viewBox="0 0 600 {height:.0}" role="img" aria-label="Share of one {} node used by a node full of each service">"#,
            esc(&n.name)
        );
        for (k, label) in ["cpu", "memory", "pods", "disk"].iter().enumerate() {
            text(h, 190.0 + 100.0 * k as f64 + 45.0, 12.0, "middle", "tb", label);
        }
        let mut y = 20.0;
        for s in &p.services {
            let Some(fit) = s.per_node.get(&n.name) else { continue };
            text(h, 0.0, y + 13.0, "start", "t", &truncate(&s.name, 22));
            text(h, 180.0, y + 13.0, "end", "tb", &format!("×{}", fit.instances));
            for (k, (res, used, binding)) in used_shares(s, n).into_iter().enumerate() {
                let x = 190.0 + 100.0 * k as f64;
                match used {
                    Some(u) => {
                        stacked_bar(
                            h,
                            x,
                            y + 2.0,
                            90.0,
                            12.0,
                            &[Segment {
                                share: u,
                                fill: if fit.binding.contains(&binding) { RESERVED } else { USED },
                                title: format!("{} on {}: {res} {}", s.name, n.name, pct(u)),
                            }],
                        );
                        let mark = if fit.binding.contains(&binding) { " binds" } else { "" };
                        text(h, x + 45.0, y + 21.0, "middle", "tm", &format!("{}{mark}", pct(u)));
                    }
                    None => text(h, x + 45.0, y + 12.0, "middle", "tm", "disk: n/a"),
                }
            }
            y += row;
        }
        h.push_str("</svg><figcaption>");
        h.push_str(&swatch(RESERVED, "the binding resource (hatched, marked “binds”)"));
        h.push_str(&swatch(USED, "used by a full node (plain)"));
        h.push_str("</figcaption></figure><div class=\"scroll\"><table><thead><tr><th>service</th><th class=\"n\">request</th><th class=\"n\">per node</th><th>binds</th><th class=\"n\">stranded</th><th class=\"n\">pull MiB</th></tr></thead><tbody>");
        for s in &p.services {
            let Some(fit) = s.per_node.get(&n.name) else { continue };
            let binds: Vec<&str> = fit.binding.iter().map(crate::plan::fit::Binding::word).collect();
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="n">{}m / {} MiB</td><td class="n" data-service="{}" data-type="{}" data-instances="{}">{}</td><td>{}</td><td class="n">{}m<br>{} MiB<br>{} pods</td><td class="n">{}</td></tr>"#,
                esc(&s.name),
                thousands(s.effective_request.cpu_m),
                thousands(s.effective_request.memory_mib),
                esc(&s.name),
                esc(&n.name),
                fit.instances,
                fit.instances,
                esc(&binds.join(" + ")),
                thousands(fit.stranded.cpu_m),
                thousands(fit.stranded.memory_mib),
                fit.stranded.pods,
                s.pull_mib
                    .get(&n.name)
                    .filter(|_| s.image.is_some())
                    .map_or("-".to_string(), |m| json_num(*m)),
            );
        }
        h.push_str("</tbody></table></div></div>");
    }
    h.push_str("</section>");
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[allow(clippy::cast_precision_loss)]
fn nodes_and_cost(h: &mut String, p: &PlanReport) {
    let _ = write!(
        h,
        r#"<section id="nodes-and-cost"><h2>{}</h2><p class="lead">Nodes needed for every replica on one node type at a time, beside first-fit-decreasing in the orders cluster-autoscaler and Karpenter use, with the proven lower bound and the gap to it.</p><div class="pair"><figure>"#,
        section::NODES_AND_COST
    );
    let max = p
        .by_node_type
        .values()
        .map(|t| t.nodes.max(t.ffd.cluster_autoscaler).max(t.ffd.karpenter))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let group = 3.0 * 14.0 + 24.0;
    let height = group * p.by_node_type.len() as f64 + 8.0;
    let _ = write!(
        h,
        r#"<svg class="chart" viewBox="0 0 600 {height:.0}" role="img" aria-label="Nodes per node type: imgopt, FFD in two orders, and the lower bound">"#
    );
    let mut y = 14.0;
    for (name, t) in &p.by_node_type {
        text(h, 0.0, y, "start", "tb", name);
        y += 5.0;
        for (label, v, fill) in [
            ("imgopt", t.nodes, USED),
            ("FFD CA", t.ffd.cluster_autoscaler, FFD_CA),
            ("FFD Karp.", t.ffd.karpenter, FFD_K),
        ] {
            text(h, 70.0, y + 10.0, "end", "t", label);
            let w = 440.0 * v as f64 / max;
            stacked_bar(
                h,
                76.0,
                y,
                w.max(0.5),
                11.0,
                &[Segment {
                    share: 1.0,
                    fill,
                    title: format!("{name}: {label} {v} nodes"),
                }],
            );
            text(h, 80.0 + w, y + 10.0, "start", "tm", &v.to_string());
            y += 14.0;
        }
        let lb = 76.0 + 440.0 * t.lower_bound as f64 / max;
        let _ = write!(
            h,
            r##"<line x1="{lb:.1}" y1="{:.1}" x2="{lb:.1}" y2="{:.1}" stroke="#9b2c2c" stroke-width="1.5" stroke-dasharray="3 2"/>"##,
            y - 44.0,
            y
        );
        text(
            h,
            lb,
            y + 9.0,
            "middle",
            "tm",
            &format!("lower bound {}", t.lower_bound),
        );
        y += 19.0;
    }
    h.push_str("</svg><figcaption>");
    h.push_str(&swatch(USED, "imgopt (plain)"));
    h.push_str(&swatch(FFD_CA, "FFD, cluster-autoscaler order (dotted)"));
    h.push_str(&swatch(FFD_K, "FFD, Karpenter order (grid)"));
    h.push_str("; dashed line: lower bound</figcaption></figure><div class=\"scroll\"><table><thead><tr><th>node type</th><th class=\"n\">nodes</th><th class=\"n\">lower bound</th><th class=\"n\">gap</th><th class=\"n\">FFD CA</th><th class=\"n\">FFD Karpenter</th><th class=\"n\">$/h</th></tr></thead><tbody>");
    for (name, t) in &p.by_node_type {
        let marks = crate::capacity::type_marks(p, name, t);
        let _ = write!(
            h,
            r#"<tr data-type="{}"><td>{}{}</td><td class="n" data-type="{}" data-nodes="{}">{}</td><td class="n">{}</td><td class="n">{}{}</td><td class="n">{}</td><td class="n">{}</td><td class="n"{}>{}</td></tr>"#,
            esc(name),
            esc(name),
            if marks.is_empty() {
                String::new()
            } else {
                format!(r#"<br><span class="mark">{}</span>"#, esc(&marks.join("; ")))
            },
            esc(name),
            t.nodes,
            t.nodes,
            t.lower_bound,
            pct_gap(t.gap),
            if t.optimal { " (optimal)" } else { "" },
            t.ffd.cluster_autoscaler,
            t.ffd.karpenter,
            t.cost_per_hour.map_or(String::new(), |c| format!(
                r#" data-type="{}" data-cost="{}""#,
                esc(name),
                json_num(c)
            )),
            t.cost_per_hour.map_or("-".to_string(), |c| format!("${}", json_num(c))),
        );
    }
    h.push_str("</tbody></table></div></div>");
    cheapest(h, p);
    h.push_str("</section>");
}

fn pct_gap(g: f64) -> String {
    format!("{}%", json_num((g * 1e4).round() / 1e2))
}

#[allow(clippy::cast_precision_loss)]
fn cheapest(h: &mut String, p: &PlanReport) {
    let Some(c) = &p.cheapest else {
        h.push_str("<h3>Cheapest mixed fleet</h3><p class=\"lead\">Give node types a <code>price_per_hour</code> to plan the cheapest mix of them.</p>");
        return;
    };
    let nodes: u64 = c.node_counts.values().sum();
    let _ = write!(
        h,
        r#"<h3>Cheapest mixed fleet</h3><p class="lead" id="cheapest" data-cost="{}" data-nodes="{nodes}"><b>${}/h</b> for {} ({}), lower bound ${}/h, gap {}{}{}.</p>"#,
        json_num(c.cost_per_hour),
        json_num(c.cost_per_hour),
        crate::report::text::plural(nodes, "node", "nodes"),
        esc(&c
            .node_counts
            .iter()
            .map(|(t, n)| format!("{n} × {t}"))
            .collect::<Vec<_>>()
            .join(", ")),
        json_num(c.lower_bound_cost),
        pct_gap(c.gap),
        if c.optimal { ", proven optimal" } else { "" },
        c.ffd_cost_per_hour.map_or(String::new(), |f| format!(
            "; the cheapest single type with autoscaler-style FFD costs ${}/h",
            json_num(f)
        )),
    );
    let max = [Some(c.cost_per_hour), Some(c.lower_bound_cost), c.ffd_cost_per_hour]
        .into_iter()
        .flatten()
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    h.push_str(r#"<div class="pair"><figure><svg class="chart" viewBox="0 0 600 70" role="img" aria-label="Cost per hour of the cheapest mix, its lower bound and FFD">"#);
    let mut y = 4.0;
    for (label, v, fill) in [
        ("cheapest mix", Some(c.cost_per_hour), USED),
        ("lower bound", Some(c.lower_bound_cost), FREE),
        ("FFD (1 type)", c.ffd_cost_per_hour, FFD_CA),
    ] {
        let Some(v) = v else { continue };
        text(h, 90.0, y + 11.0, "end", "t", label);
        let w = 400.0 * v / max;
        stacked_bar(
            h,
            96.0,
            y,
            w.max(0.5),
            13.0,
            &[Segment {
                share: 1.0,
                fill,
                title: format!("{label}: ${}/h", json_num(v)),
            }],
        );
        text(h, 100.0 + w, y + 11.0, "start", "tm", &format!("${}/h", json_num(v)));
        y += 20.0;
    }
    h.push_str("</svg></figure><div class=\"scroll\"><table><thead><tr><th>node type</th><th class=\"n\">nodes</th></tr></thead><tbody>");
    for (t, n) in &c.node_counts {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="n" data-mix-type="{}" data-nodes="{n}">{n}</td></tr>"#,
            esc(t),
            esc(t)
        );
    }
    h.push_str("</tbody></table></div></div>");
    if !c.not_placed.is_empty() {
        let _ = write!(
            h,
            r#"<p class="mark">Not placed (no priced type holds them): {}</p>"#,
            esc(&c.not_placed.join(", "))
        );
    }
    placement(h, &c.placement);
}

/// Identical nodes (same type, same pods) grouped, most frequent first.
fn placement(h: &mut String, nodes: &[NodePlacement]) {
    let _ = write!(
        h,
        r#"<details open><summary>Placement: {}, identical nodes grouped</summary><div class="scroll"><table><thead><tr><th class="n">nodes</th><th>type</th><th>pods on each node</th></tr></thead><tbody>"#,
        crate::report::text::plural(nodes.len() as u64, "node", "nodes")
    );
    for g in crate::capacity::group_placement(nodes) {
        let pods: Vec<String> = g.pods.iter().map(|(s, c)| format!("{c} × {s}")).collect();
        let _ = write!(
            h,
            r#"<tr><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
            g.count,
            esc(g.node_type),
            esc(&pods.join(", "))
        );
    }
    h.push_str("</tbody></table></div></details>");
}

#[allow(clippy::cast_precision_loss)]
fn images(h: &mut String, r: &CapacityReport) {
    if r.images.is_empty() && r.missing.is_empty() {
        return;
    }
    let _ = write!(
        h,
        r#"<section id="images"><h2>{}</h2><p class="lead">Size of each image pulled (compressed) and on the node's disk (uncompressed). A layer two images share is stored and pulled once per node.</p>"#,
        section::IMAGES
    );
    if r.images.is_empty() {
        h.push_str("<p class=\"mark\">No image could be read: see the note at the top.</p></section>");
        return;
    }
    let max = r
        .images
        .iter()
        .map(|i| i.size.max(i.compressed_size))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let height = 44.0 * r.images.len() as f64 + 6.0;
    let _ = write!(
        h,
        r#"<div class="pair"><figure><svg class="chart" viewBox="0 0 600 {height:.0}" role="img" aria-label="Compressed and uncompressed size per image">"#
    );
    let mut y = 12.0;
    for i in &r.images {
        text(h, 0.0, y, "start", "tb", &truncate(&i.name, 40));
        y += 4.0;
        for (label, total, pick) in [("pulled", i.compressed_size, true), ("on disk", i.size, false)] {
            text(h, 60.0, y + 10.0, "end", "t", label);
            let w = 420.0 * total as f64 / max;
            let segs: Vec<Segment<'_>> = i
                .layers
                .iter()
                .map(|l| {
                    let b = if pick { l.compressed_size } else { l.size };
                    Segment {
                        share: share(b, total),
                        fill: if l.shared_with.is_empty() { USED } else { RESERVED },
                        title: format!("{}: {} ({label})", short(&l.digest), mib(b)),
                    }
                })
                .collect();
            stacked_bar(h, 66.0, y, w.max(0.5), 11.0, &segs);
            text(h, 70.0 + w, y + 10.0, "start", "tm", &mib(total));
            y += 14.0;
        }
        y += 12.0;
    }
    h.push_str("</svg><figcaption>");
    h.push_str(&swatch(USED, "layer of this image only (plain)"));
    h.push_str(&swatch(RESERVED, "layer shared with another image (hatched)"));
    h.push_str("</figcaption></figure><div class=\"scroll\"><table><thead><tr><th>image</th><th>used by</th><th class=\"n\">layers</th><th class=\"n\">pulled</th><th class=\"n\">on disk</th></tr></thead><tbody>");
    for i in &r.images {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&i.name),
            esc(&i.used_by.join(", ")),
            i.layers.len(),
            mib(i.compressed_size),
            mib(i.size)
        );
    }
    h.push_str("</tbody></table></div></div>");
    h.push_str(r#"<details><summary>Every layer</summary><div class="scroll"><table><thead><tr><th>image</th><th>layer</th><th class="n">pulled</th><th class="n">on disk</th><th>shared with</th></tr></thead><tbody>"#);
    for i in &r.images {
        for l in &i.layers {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
                esc(&i.name),
                esc(&short(&l.digest)),
                mib(l.compressed_size),
                mib(l.size),
                esc(&l.shared_with.join(", "))
            );
        }
    }
    h.push_str("</tbody></table></div></details>");
    // What a fresh node pulls, per service and node type (the planner's figure).
    let types: Vec<&str> = r.plan.node_types.iter().map(|n| n.name.as_str()).collect();
    h.push_str("<h3>MiB a fresh node pulls</h3><p class=\"lead\">For the first instance of each service on a new node, DaemonSet layers excluded (they are already there).</p><div class=\"scroll\"><table><thead><tr><th>service</th>");
    for t in &types {
        let _ = write!(h, r#"<th class="n">{}</th>"#, esc(t));
    }
    h.push_str("</tr></thead><tbody>");
    for s in r.plan.services.iter().filter(|s| s.image.is_some()) {
        let _ = write!(h, "<tr><td>{}</td>", esc(&s.name));
        for t in &types {
            let _ = write!(
                h,
                r#"<td class="n">{}</td>"#,
                s.pull_mib.get(*t).map_or("-".to_string(), |m| json_num(*m))
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div></section>");
}

/// `sha256:0123456789ab…` (12 hex digits).
fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}…", &hex[..12]),
        _ => digest.to_string(),
    }
}

fn findings(h: &mut String, r: &CapacityReport) {
    let Some(a) = &r.dockerfiles else { return };
    let _ = write!(
        h,
        r#"<section id="findings"><h2>{}</h2><p class="lead">What <code>imgopt analyze</code> found in the Dockerfiles given, with the size each fix is predicted to save.</p>"#,
        section::FINDINGS
    );
    if let Some(t) = &a.summary.estimated_saving {
        let _ = write!(
            h,
            r"<p><b>Predicted saving:</b> {} to {} on disk{} over {} finding{} (findings may overlap: treat the high end as an upper bound).</p>",
            mib(t.low_bytes.0),
            mib(t.high_bytes.0),
            match (t.compressed_low_bytes, t.compressed_high_bytes) {
                (Some(l), Some(hi)) => format!(", {} to {} pulled", mib(l.0), mib(hi.0)),
                _ => String::new(),
            },
            t.count,
            if t.count == 1 { "" } else { "s" }
        );
    }
    if a.findings.is_empty() {
        h.push_str("<p>No findings.</p></section>");
        return;
    }
    h.push_str(r#"<div class="scroll"><table><thead><tr><th>where</th><th>rule</th><th>severity</th><th>finding</th><th class="n">saves</th></tr></thead><tbody>"#);
    for f in &a.findings {
        let _ = write!(
            h,
            r#"<tr><td><code>{}:{}</code></td><td>{} {}</td><td>{}</td><td>{}<br><small>{}</small></td><td class="n">{}</td></tr>"#,
            esc(&f.file),
            f.start_line,
            esc(f.code),
            esc(f.name),
            esc(&format!("{:?}", f.severity).to_lowercase()),
            esc(&f.message),
            esc(&f.help),
            f.estimate.as_ref().map_or("-".to_string(), |e| format!(
                "{} to {}",
                mib(e.low_bytes.0),
                mib(e.high_bytes.0)
            )),
        );
    }
    h.push_str("</tbody></table></div></section>");
}

/// `a → b`, or `a (same)` when nothing changes.
fn before_after(a: &str, b: &str) -> String {
    if a == b {
        format!("{} (same)", esc(a))
    } else {
        format!("{} → <b>{}</b>", esc(a), esc(b))
    }
}

#[allow(clippy::cast_precision_loss, clippy::too_many_lines)]
fn what_if(h: &mut String, r: &CapacityReport) {
    if r.what_if.is_none() && r.no_saving.is_empty() {
        return;
    }
    let _ = write!(
        h,
        r#"<section id="what-if"><h2>{}</h2><p class="lead">The plan again, with each image the Dockerfiles linked to it would make after <code>imgopt rewrite</code>'s rewrite (or, when the rewrite changes nothing, after fixing <code>imgopt analyze</code>'s findings), at the high end of the predicted saving: the best case. The saving is taken from the image's top layers down; a layer it changes is no longer shared. Which resource binds decides whether a smaller image buys more instances per node, or only disk and pull time.</p>"#,
        section::WHAT_IF
    );
    if !r.no_saving.is_empty() {
        let _ = write!(
            h,
            "<p>No saving predicted (no what-if) for: {}.</p>",
            esc(&r.no_saving.join(", "))
        );
    }
    let Some(w) = &r.what_if else {
        h.push_str("</section>");
        return;
    };
    h.push_str(r#"<ul class="points" id="what-if-verdicts">"#);
    for v in &w.verdicts {
        let _ = write!(h, "<li>{}</li>", esc(v));
    }
    h.push_str("</ul>");
    // Disk and pull per image, before and after.
    let max = w
        .images
        .iter()
        .map(|i| i.size_before.max(i.compressed_before))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let height = 74.0 * w.images.len() as f64 + 6.0;
    let _ = write!(
        h,
        r#"<div class="pair"><figure><svg class="chart" viewBox="0 0 600 {height:.0}" role="img" aria-label="Image size on disk and pulled, now and after the proposed changes">"#
    );
    let mut y = 12.0;
    for i in &w.images {
        text(h, 0.0, y, "start", "tb", &truncate(&i.proposal.image, 40));
        y += 4.0;
        for (label, v, fill) in [
            ("disk now", i.size_before, USED),
            ("disk after", i.size_after, FREE),
            ("pull now", i.compressed_before, FFD_CA),
            ("pull after", i.compressed_after, FFD_K),
        ] {
            text(h, 70.0, y + 10.0, "end", "t", label);
            let wd = 420.0 * v as f64 / max;
            stacked_bar(
                h,
                76.0,
                y,
                wd.max(0.5),
                11.0,
                &[Segment {
                    share: 1.0,
                    fill,
                    title: format!("{}: {label} {}", i.proposal.image, mib(v)),
                }],
            );
            text(h, 80.0 + wd, y + 10.0, "start", "tm", &mib(v));
            y += 14.0;
        }
        y += 14.0;
    }
    h.push_str("</svg><figcaption>");
    h.push_str(&swatch(USED, "on disk now (plain dark)"));
    h.push_str(&swatch(FREE, "on disk after (plain light)"));
    h.push_str(&swatch(FFD_CA, "pulled now (dotted)"));
    h.push_str(&swatch(FFD_K, "pulled after (grid)"));
    h.push_str("</figcaption></figure><div class=\"scroll\"><table><thead><tr><th>image</th><th>change</th><th class=\"n\">predicted saving</th><th class=\"n\">on disk</th><th class=\"n\">pulled</th></tr></thead><tbody>");
    for i in &w.images {
        let p = &i.proposal;
        let _ = write!(
            h,
            r#"<tr data-what-if-image="{}"><td>{}<br><code>{}</code></td><td>{}</td><td class="n">{} to {}<br><small>{}</small></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&p.image),
            esc(&p.image),
            esc(&p.dockerfile),
            esc(&p.what),
            mib(p.saving_low),
            mib(p.saving_high),
            esc(&p.basis.join(", ")),
            before_after(&mib(i.size_before), &mib(i.size_after)),
            before_after(&mib(i.compressed_before), &mib(i.compressed_after)),
        );
        if i.saving_exceeds_image {
            let _ = write!(
                h,
                r#"<tr><td colspan="5" class="mark">The predicted saving is larger than {} as the plan has it: the estimate assumed a larger image, so the what-if takes the whole image away.</td></tr>"#,
                esc(&p.image)
            );
        }
    }
    h.push_str("</tbody></table></div></div>");
    h.push_str(r#"<h3>Per service and node type</h3><div class="scroll"><table><thead><tr><th>service</th><th>node type</th><th class="n">per node</th><th>binds</th><th class="n">image cache per node</th><th class="n">pull MiB, fresh node</th></tr></thead><tbody>"#);
    for c in &w.services {
        let cache = |x: Option<u64>| x.map_or("-".to_string(), |m| format!("{m} MiB"));
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="n" data-what-if-service="{}" data-type="{}" data-before="{}" data-after="{}">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&c.service),
            esc(&c.node_type),
            esc(&c.service),
            esc(&c.node_type),
            c.before.instances,
            c.after.instances,
            before_after(&c.before.instances.to_string(), &c.after.instances.to_string()),
            before_after(
                &Binding::joined(&c.before.binding, "-"),
                &Binding::joined(&c.after.binding, "-")
            ),
            before_after(&cache(c.before.image_cache_mib), &cache(c.after.image_cache_mib)),
            before_after(&json_num(c.before.pull_mib), &json_num(c.after.pull_mib)),
        );
    }
    h.push_str("</tbody></table></div>");
    h.push_str(r#"<h3>Nodes and cost</h3><div class="scroll"><table><thead><tr><th>node type</th><th class="n">nodes for every replica</th></tr></thead><tbody>"#);
    for t in &w.node_types {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
            esc(&t.node_type),
            before_after(
                &crate::capacity::whatif::TypeChange::shown(t.nodes_before, t.partial_before),
                &crate::capacity::whatif::TypeChange::shown(t.nodes_after, t.partial_after)
            )
        );
    }
    if let Some(f) = &w.cheapest {
        let _ = write!(
            h,
            r#"<tr><td>cheapest mixed fleet</td><td class="n">{} nodes, {}</td></tr>"#,
            before_after(&f.nodes_before.to_string(), &f.nodes_after.to_string()),
            before_after(
                &format!("${}/h", json_num(f.cost_before)),
                &format!("${}/h", json_num(f.cost_after))
            ),
        );
    }
    h.push_str("</tbody></table></div></section>");
}

fn budgets(h: &mut String, r: &CapacityReport) {
    let Some(b) = &r.budgets else { return };
    let all: Vec<&crate::check::CheckResult> = b.targets.iter().flat_map(|t| &t.checks).collect();
    let failed = all.iter().filter(|c| !c.passed).count();
    let unchecked = all.iter().filter(|c| !crate::capacity::budgets::was_checked(c)).count();
    let _ = write!(
        h,
        r#"<section id="budgets"><h2>{}</h2><p class="lead">The budgets of <code>{}</code> (the policy format of <code>imgopt check</code>), checked on each image of the plan and each Dockerfile, with the same verdicts <code>imgopt check</code> gives. <b>{} of {} checks failed</b>{}.</p>"#,
        section::BUDGETS,
        esc(&b.policy),
        failed,
        all.len(),
        if unchecked > 0 {
            format!(
                "; {unchecked} could not be checked (the plan gives only layer sizes for some images, or no baseline)"
            )
        } else {
            String::new()
        }
    );
    h.push_str(r#"<div class="scroll"><table><thead><tr><th>image or Dockerfile</th><th>budget</th><th class="n">limit</th><th class="n">actual</th><th>result</th><th>why</th></tr></thead><tbody>"#);
    for t in &b.targets {
        for c in &t.checks {
            let (word, class) = if !crate::capacity::budgets::was_checked(c) {
                ("not checked", "")
            } else if c.passed {
                ("✓ pass", "")
            } else {
                ("✗ FAIL", r#" class="mark""#)
            };
            let _ = write!(
                h,
                r#"<tr data-budget-target="{}" data-budget="{}" data-passed="{}"><td>{} <small>({})</small></td><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td><td{class}>{}</td><td>{}</td></tr>"#,
                esc(&t.target),
                esc(&c.id),
                c.passed,
                esc(&t.target),
                t.kind.as_str(),
                esc(&c.id),
                esc(&c.shown_limit()),
                esc(&c.shown_actual()),
                word,
                esc(&c.message),
            );
        }
    }
    h.push_str("</tbody></table></div></section>");
}
