//! The YAML plan file (the format in docs/plan.md) and Kubernetes manifests, turned into a
//! [`PlanInput`] with **every** problem reported at once, each pointing at its line.
//!
//! Owns: the file grammar (node_types, daemonsets, runtime_classes, images, services,
//! headroom), reading Deployments, StatefulSets, ReplicaSets, Jobs, CronJobs, Pods and
//! DaemonSets from manifests (requests falling back to limits as API defaulting does,
//! init containers and sidecars, runtimeClassName, pod-level resources, required hostname
//! anti-affinity and hostname topology spread as `max_per_node`), and the diagnostics codes
//! PL001-PL009. Does not: read files itself (the caller passes a loader for manifests) or
//! resolve image references (they are returned in [`Parsed::image_refs`] for the CLI).

mod constraints;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::image::{ImageLayers, Layer};
use super::node::{NodeTypeSpec, ReservedModel};
use super::pod::{InitContainer, PodShape, Request};
use super::quantity::Quantity;
use super::yaml::{self, Node, Yaml};
use super::{DaemonSetSpec, Headroom, PlanInput, ServiceSpec};
use crate::diag::{Diagnostic, FileId, Files};

/// Diagnostic codes of plan files.
pub mod codes {
    /// YAML syntax error.
    pub const SYNTAX: &str = "PL001";
    /// Unknown key.
    pub const UNKNOWN_KEY: &str = "PL002";
    /// Wrong type of value (list where a mapping is expected, ...).
    pub const TYPE: &str = "PL003";
    /// Invalid value (bad quantity, out of range).
    pub const VALUE: &str = "PL004";
    /// Missing required key.
    pub const MISSING: &str = "PL005";
    /// Reference to an undefined image or runtime class.
    pub const REFERENCE: &str = "PL006";
    /// Duplicate name.
    pub const DUPLICATE: &str = "PL007";
    /// A manifest could not be read or used.
    pub const MANIFEST: &str = "PL008";
    /// An image reference that could not be resolved.
    pub const IMAGE_REF: &str = "PL009";
}

/// An image given as `{ref: REGISTRY/REPO:TAG}`, to be resolved by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Key under `images`.
    pub key: String,
    /// The reference text.
    pub reference: String,
    /// Where it was written.
    pub file: FileId,
    /// Span of the reference.
    pub span: Range<usize>,
}

/// A parsed plan file.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The input, minus the images in `image_refs`.
    pub input: PlanInput,
    /// Images to resolve before planning.
    pub image_refs: Vec<ImageRef>,
    /// `runtime_classes`: name to overhead (for manifests read beside the plan).
    pub runtime_classes: BTreeMap<String, Request>,
}

/// Loads a manifest named in the plan: returns its display name and text, or an error message.
pub type Loader<'a> = dyn FnMut(&str) -> Result<(String, String), String> + 'a;

struct Ctx<'f> {
    files: &'f mut Files,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, file: FileId, span: Range<usize>, code: &str, msg: impl Into<String>, label: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(msg).with_code(code).with_primary(file, span, label));
    }

    fn err_help(
        &mut self,
        file: FileId,
        span: Range<usize>,
        code: &str,
        msg: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags.push(
            Diagnostic::error(msg)
                .with_code(code)
                .with_primary(file, span, "")
                .with_help(help),
        );
    }
}

/// A mapping being read: checks keys against the allowed set.
struct MapReader<'y> {
    entries: Vec<(&'y Yaml, &'y Yaml)>,
}

fn map<'y>(cx: &mut Ctx<'_>, f: FileId, y: &'y Yaml, what: &str, allowed: &[&str]) -> Option<MapReader<'y>> {
    let Node::Map(entries) = &y.node else {
        cx.err(
            f,
            y.span.clone(),
            codes::TYPE,
            format!("{what} must be a mapping, found {}", y.kind()),
            "expected a mapping",
        );
        return None;
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (k, v) in entries {
        let Some(key) = k.scalar() else {
            cx.err(f, k.span.clone(), codes::TYPE, "keys must be plain text", "");
            continue;
        };
        if !allowed.contains(&key) {
            let help = format!("allowed keys in {what}: {}", allowed.join(", "));
            cx.err_help(
                f,
                k.span.clone(),
                codes::UNKNOWN_KEY,
                format!("unknown key `{key}` in {what}"),
                help,
            );
            continue;
        }
        if !seen.insert(key) {
            cx.err(
                f,
                k.span.clone(),
                codes::DUPLICATE,
                format!("`{key}` is given twice in {what}"),
                "again here",
            );
            continue;
        }
        out.push((k, v));
    }
    Some(MapReader { entries: out })
}

impl<'y> MapReader<'y> {
    fn get(&self, key: &str) -> Option<&'y Yaml> {
        self.entries
            .iter()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(_, v)| *v)
            .filter(|v| !v.is_null())
    }
}

fn scalar<'y>(cx: &mut Ctx<'_>, f: FileId, y: &'y Yaml, what: &str) -> Option<&'y str> {
    match &y.node {
        Node::Scalar { text, .. } => Some(text),
        _ => {
            cx.err(
                f,
                y.span.clone(),
                codes::TYPE,
                format!("{what} must be a single value, found {}", y.kind()),
                "",
            );
            None
        }
    }
}

fn quantity(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str) -> Option<Quantity> {
    let s = scalar(cx, f, y, what)?;
    match Quantity::parse(s) {
        Ok(q) => Some(q),
        Err(e) => {
            cx.err(
                f,
                y.span.clone(),
                codes::VALUE,
                format!("invalid {what}: {e}"),
                "not a quantity",
            );
            None
        }
    }
}

fn count(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str) -> Option<u64> {
    let s = scalar(cx, f, y, what)?;
    match s.trim().parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            cx.err(
                f,
                y.span.clone(),
                codes::VALUE,
                format!("{what} must be a whole number, found `{s}`"),
                "not a count",
            );
            None
        }
    }
}

/// Like [`count`], with an upper limit (keeps the planner's work and arithmetic bounded).
fn count_max(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str, max: u64) -> Option<u64> {
    let n = count(cx, f, y, what)?;
    if n > max {
        cx.err(
            f,
            y.span.clone(),
            codes::VALUE,
            format!("{what} must be at most {max}, found {n}"),
            "too large",
        );
        return None;
    }
    Some(n)
}

fn fraction(cx: &mut Ctx<'_>, f: FileId, y: &Yaml, what: &str, allow_percent: bool) -> Option<Quantity> {
    let s = scalar(cx, f, y, what)?.trim();
    let q = if allow_percent {
        Quantity::parse_fraction(s).ok()
    } else {
        Quantity::parse(s).ok()
    };
    if q.is_none() {
        cx.err(
            f,
            y.span.clone(),
            codes::VALUE,
            format!(
                "{what} must be a fraction such as 0.25{}",
                if allow_percent { " or 25%" } else { "" }
            ),
            "",
        );
    }
    q
}

fn list<'y>(cx: &mut Ctx<'_>, f: FileId, y: &'y Yaml, what: &str) -> &'y [Yaml] {
    match &y.node {
        Node::Seq(items) => items,
        _ => {
            cx.err(
                f,
                y.span.clone(),
                codes::TYPE,
                format!("{what} must be a list, found {}", y.kind()),
                "expected a list",
            );
            &[]
        }
    }
}

fn name(cx: &mut Ctx<'_>, f: FileId, m: &MapReader<'_>, y: &Yaml, what: &str) -> Option<String> {
    match m.get("name") {
        Some(n) => scalar(cx, f, n, "name").map(str::to_string),
        None => {
            cx.err(
                f,
                y.span.clone(),
                codes::MISSING,
                format!("{what} needs a `name`"),
                "no name",
            );
            None
        }
    }
}

fn request(cx: &mut Ctx<'_>, f: FileId, m: &MapReader<'_>) -> Request {
    let cpu = m
        .get("cpu")
        .and_then(|y| quantity(cx, f, y, "cpu"))
        .map_or(0, |q| q.millicores_ceil().0);
    let mem = m
        .get("memory")
        .and_then(|y| quantity(cx, f, y, "memory"))
        .map_or(0, Quantity::bytes_ceil);
    Request {
        cpu_m: cpu,
        memory_bytes: mem,
    }
}

type RuntimeClasses = BTreeMap<String, Request>;

/// Reads the pod-shape keys shared by services and DaemonSets.
fn shape(cx: &mut Ctx<'_>, f: FileId, m: &MapReader<'_>, y: &Yaml, rcs: &RuntimeClasses) -> PodShape {
    let mut shape = PodShape::default();
    if let Some(cs) = m.get("containers") {
        if m.get("cpu").is_some() || m.get("memory").is_some() {
            cx.err(
                f,
                cs.span.clone(),
                codes::VALUE,
                "give either `cpu`/`memory` or `containers`, not both",
                "",
            );
        }
        for c in list(cx, f, cs, "containers") {
            if let Some(cm) = map(cx, f, c, "a container", &["name", "cpu", "memory"]) {
                shape.containers.push(request(cx, f, &cm));
            }
        }
    } else {
        shape.containers.push(request(cx, f, m));
    }
    if let Some(ics) = m.get("init_containers") {
        for c in list(cx, f, ics, "init_containers") {
            if let Some(cm) = map(
                cx,
                f,
                c,
                "an init container",
                &["name", "cpu", "memory", "restart_policy"],
            ) {
                let sidecar = match cm.get("restart_policy") {
                    None => false,
                    Some(v) => match scalar(cx, f, v, "restart_policy") {
                        Some("Always") => true,
                        Some(other) => {
                            cx.err(
                                f,
                                v.span.clone(),
                                codes::VALUE,
                                format!("restart_policy `{other}` is not allowed on an init container"),
                                "only `Always` (a sidecar) is",
                            );
                            false
                        }
                        None => false,
                    },
                };
                let n = cm.get("name").and_then(|n| n.scalar()).unwrap_or("").to_string();
                shape.init_containers.push(InitContainer {
                    name: n,
                    request: request(cx, f, &cm),
                    sidecar,
                });
            }
        }
    }
    if let Some(rc) = m.get("runtime_class")
        && let Some(s) = scalar(cx, f, rc, "runtime_class")
    {
        match rcs.get(s) {
            Some(o) => shape.overhead = *o,
            None => cx.err_help(
                f,
                rc.span.clone(),
                codes::REFERENCE,
                format!("runtime class `{s}` is not defined under `runtime_classes`"),
                format!("defined: {}", rcs.keys().cloned().collect::<Vec<_>>().join(", ")),
            ),
        }
    }
    let _ = y;
    shape
}

fn image_key(cx: &mut Ctx<'_>, f: FileId, m: &MapReader<'_>, images: &BTreeSet<String>) -> Option<String> {
    let v = m.get("image")?;
    let s = scalar(cx, f, v, "image")?;
    if !images.contains(s) {
        cx.err_help(
            f,
            v.span.clone(),
            codes::REFERENCE,
            format!("image `{s}` is not defined under `images`"),
            "add it under `images:` with its layers, or {ref: REGISTRY/REPO:TAG}",
        );
        return None;
    }
    Some(s.to_string())
}

fn node_type(cx: &mut Ctx<'_>, f: FileId, y: &Yaml) -> Option<NodeTypeSpec> {
    let m = map(
        cx,
        f,
        y,
        "a node type",
        &[
            "name",
            "cpu",
            "memory",
            "max_pods",
            "price_per_hour",
            "reserved",
            "vm_memory_overhead",
            "disk",
            "image_gc_high_threshold_percent",
            "disk_reserved",
            "max_nodes",
            "labels",
            "extended_resources",
        ],
    )?;
    let name = name(cx, f, &m, y, "a node type");
    let missing = |key: &str, cx: &mut Ctx<'_>| {
        cx.err(
            f,
            y.span.clone(),
            codes::MISSING,
            format!("node type needs `{key}`"),
            format!("no `{key}` here"),
        );
    };
    let cpu = match m.get("cpu") {
        Some(v) => quantity(cx, f, v, "cpu").map(|q| q.millicores_floor().0),
        None => {
            missing("cpu", cx);
            None
        }
    };
    let memory = match m.get("memory") {
        Some(v) => quantity(cx, f, v, "memory").map(|q| q.mib_floor().0),
        None => {
            missing("memory", cx);
            None
        }
    };
    let max_pods = m
        .get("max_pods")
        .map_or(Some(110), |v| count_max(cx, f, v, "max_pods", super::MAX_PODS));
    let reserved = match m.get("reserved") {
        None => {
            cx.err_help(f, y.span.clone(), codes::MISSING, "node type needs `reserved`", "reserved: eks | gke | aks | aks-legacy | {kube: {cpu, memory}, system: {cpu, memory}, eviction_memory}");
            None
        }
        Some(v) if matches!(v.node, Node::Scalar { .. }) => {
            let s = v.scalar().unwrap_or("");
            let r = ReservedModel::preset(s);
            if r.is_none() {
                cx.err_help(
                    f,
                    v.span.clone(),
                    codes::VALUE,
                    format!("unknown reservation preset `{s}`"),
                    "use eks, gke, aks, aks-legacy, or {kube: {cpu, memory}, system: {cpu, memory}, eviction_memory}",
                );
            }
            r
        }
        Some(v) => {
            let rm = map(cx, f, v, "reserved", &["kube", "system", "eviction_memory"])?;
            let part = |key: &str, cx: &mut Ctx<'_>| -> (u64, u64) {
                let Some(p) = rm.get(key) else { return (0, 0) };
                let Some(pm) = map(cx, f, p, key, &["cpu", "memory"]) else {
                    return (0, 0);
                };
                let c = pm
                    .get("cpu")
                    .and_then(|q| quantity(cx, f, q, "cpu"))
                    .map_or(0, |q| q.millicores_ceil().0);
                let mm = pm
                    .get("memory")
                    .and_then(|q| quantity(cx, f, q, "memory"))
                    .map_or(0, |q| q.mib_ceil().0);
                (c, mm)
            };
            let (kc, km) = part("kube", cx);
            let (sc, sm) = part("system", cx);
            let ev = rm
                .get("eviction_memory")
                .and_then(|q| quantity(cx, f, q, "eviction_memory"))
                .map_or(100, |q| q.mib_ceil().0);
            Some(ReservedModel::Explicit {
                kube_cpu_m: kc,
                kube_memory_mib: km,
                system_cpu_m: sc,
                system_memory_mib: sm,
                eviction_memory_mib: ev,
            })
        }
    };
    let price = m.get("price_per_hour").and_then(|v| {
        let s = scalar(cx, f, v, "price_per_hour")?;
        match s.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p > 0.0 => Some(p),
            _ => {
                cx.err(
                    f,
                    v.span.clone(),
                    codes::VALUE,
                    format!("price_per_hour must be a positive number, found `{s}`"),
                    "",
                );
                None
            }
        }
    });
    let vm = m.get("vm_memory_overhead").and_then(|v| {
        let q = fraction(cx, f, v, "vm_memory_overhead", true)?;
        if q.at_most_one() && q.as_f64() < 1.0 {
            Some(q)
        } else {
            cx.err(
                f,
                v.span.clone(),
                codes::VALUE,
                "vm_memory_overhead must be a fraction below 1 (Karpenter uses 0.075)",
                "",
            );
            None
        }
    });
    let disk = m
        .get("disk")
        .and_then(|v| quantity(cx, f, v, "disk"))
        .map(|q| q.mib_floor().0);
    let gc = m.get("image_gc_high_threshold_percent").map_or(Some(85), |v| {
        let n = count(cx, f, v, "image_gc_high_threshold_percent")?;
        if (1..=100).contains(&n) {
            Some(n)
        } else {
            cx.err(
                f,
                v.span.clone(),
                codes::VALUE,
                "image_gc_high_threshold_percent must be between 1 and 100",
                "",
            );
            None
        }
    });
    let disk_reserved = m
        .get("disk_reserved")
        .and_then(|v| quantity(cx, f, v, "disk_reserved"))
        .map_or(0, |q| q.mib_ceil().0);
    let max_nodes = m.get("max_nodes").and_then(|v| count(cx, f, v, "max_nodes"));
    let labels = m
        .get("labels")
        .map(|v| constraints::string_map(cx, f, v, "labels"))
        .unwrap_or_default();
    let extended = m
        .get("extended_resources")
        .map(|v| constraints::extended_map(cx, f, v, "extended_resources"))
        .unwrap_or_default();
    Some(NodeTypeSpec {
        name: name?,
        cpu_m: cpu?,
        memory_mib: memory?,
        max_pods: max_pods?,
        price_per_hour: price,
        reserved: reserved?,
        vm_memory_overhead: vm,
        disk_mib: disk,
        image_gc_high_threshold_percent: gc?,
        disk_reserved_mib: disk_reserved,
        max_nodes,
        labels,
        extended,
    })
}

fn image(cx: &mut Ctx<'_>, f: FileId, key: &str, y: &Yaml, refs: &mut Vec<ImageRef>) -> Option<ImageLayers> {
    let m = map(cx, f, y, "an image", &["layers", "ref"])?;
    match (m.get("layers"), m.get("ref")) {
        (Some(_), Some(r)) => {
            cx.err(
                f,
                r.span.clone(),
                codes::VALUE,
                "give either `layers` or `ref`, not both",
                "",
            );
            None
        }
        (None, Some(r)) => {
            let s = scalar(cx, f, r, "ref")?;
            refs.push(ImageRef {
                key: key.to_string(),
                reference: s.to_string(),
                file: f,
                span: r.span.clone(),
            });
            None
        }
        (None, None) => {
            cx.err(
                f,
                y.span.clone(),
                codes::MISSING,
                format!("image `{key}` needs `layers` or `ref`"),
                "",
            );
            None
        }
        (Some(ls), None) => {
            let mut out = ImageLayers::default();
            let mut ok = true;
            for l in list(cx, f, ls, "layers") {
                let Some(lm) = map(cx, f, l, "a layer", &["digest", "size", "compressed_size"]) else {
                    ok = false;
                    continue;
                };
                let digest = match lm.get("digest") {
                    Some(d) => scalar(cx, f, d, "digest").map(str::to_string),
                    None => {
                        cx.err(f, l.span.clone(), codes::MISSING, "a layer needs a `digest`", "");
                        None
                    }
                };
                let size = match lm.get("size") {
                    Some(v) => quantity(cx, f, v, "size").map(Quantity::bytes_ceil),
                    None => {
                        cx.err(
                            f,
                            l.span.clone(),
                            codes::MISSING,
                            "a layer needs a `size` (bytes once unpacked)",
                            "",
                        );
                        None
                    }
                };
                let comp = lm
                    .get("compressed_size")
                    .map(|v| quantity(cx, f, v, "compressed_size").map(Quantity::bytes_ceil));
                match (digest, size, comp) {
                    (Some(digest), Some(size), None) => out.layers.push(Layer {
                        digest,
                        size,
                        compressed_size: size,
                    }),
                    (Some(digest), Some(size), Some(Some(c))) => out.layers.push(Layer {
                        digest,
                        size,
                        compressed_size: c,
                    }),
                    _ => ok = false,
                }
            }
            ok.then_some(out)
        }
    }
}

fn headroom(cx: &mut Ctx<'_>, f: FileId, y: &Yaml) -> Headroom {
    let mut h = Headroom::default();
    let Some(m) = map(cx, f, y, "headroom", &["target_utilization", "surge", "spare_nodes"]) else {
        return h;
    };
    if let Some(v) = m.get("target_utilization") {
        h.target_utilization = fraction(cx, f, v, "target_utilization", true);
        if h.target_utilization.is_some_and(|q| q.is_zero() || !q.at_most_one()) {
            cx.err(
                f,
                v.span.clone(),
                codes::VALUE,
                "target_utilization must be above 0 and at most 1",
                "",
            );
            h.target_utilization = None;
        }
    }
    if let Some(v) = m.get("surge") {
        h.surge = fraction(cx, f, v, "surge", true);
    }
    if let Some(v) = m.get("spare_nodes") {
        h.spare_nodes = count_max(cx, f, v, "spare_nodes", super::MAX_REPLICAS).unwrap_or(0);
    }
    h
}

/// Parses a plan file already added to `files`. Manifests named in it are loaded through
/// `load` and added to `files` too, so diagnostics can point into them.
pub fn parse_plan(files: &mut Files, id: FileId, load: &mut Loader<'_>) -> Result<Parsed, Vec<Diagnostic>> {
    parse_plan_opts(files, id, load, false)
}

/// [`parse_plan`]; with `services_optional` (the services come from `--manifests`) a plan
/// without `services` is accepted.
pub fn parse_plan_opts(
    files: &mut Files,
    id: FileId,
    load: &mut Loader<'_>,
    services_optional: bool,
) -> Result<Parsed, Vec<Diagnostic>> {
    let text = files.text(id).to_string();
    let docs = match yaml::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            return Err(vec![
                Diagnostic::error(format!("invalid YAML: {}", e.message))
                    .with_code(codes::SYNTAX)
                    .with_primary(id, e.offset..e.offset, "here"),
            ]);
        }
    };
    let mut cx = Ctx {
        files,
        diags: Vec::new(),
    };
    let mut input = PlanInput::default();
    let mut refs = Vec::new();
    let root = match docs.as_slice() {
        [one] => one,
        [] => {
            cx.err(id, 0..0, codes::MISSING, "the plan file is empty", "");
            return Err(cx.diags);
        }
        [_, second, ..] => {
            cx.err(
                id,
                second.span.clone(),
                codes::SYNTAX,
                "a plan file holds one YAML document",
                "second document",
            );
            return Err(cx.diags);
        }
    };
    let f = id;
    let Some(top) = map(
        &mut cx,
        f,
        root,
        "the plan file",
        &[
            "node_types",
            "daemonsets",
            "runtime_classes",
            "images",
            "services",
            "headroom",
        ],
    ) else {
        return Err(cx.diags);
    };
    // runtime classes and images first: the rest refers to them.
    let mut rcs = RuntimeClasses::new();
    if let Some(r) = top.get("runtime_classes") {
        if let Node::Map(entries) = &r.node {
            for (k, v) in entries {
                let Some(key) = k.scalar() else { continue };
                if let Some(m) = map(&mut cx, f, v, "a runtime class", &["cpu", "memory"]) {
                    rcs.insert(key.to_string(), request(&mut cx, f, &m));
                }
            }
        } else {
            cx.err(
                f,
                r.span.clone(),
                codes::TYPE,
                "runtime_classes must be a mapping of name to {cpu, memory}",
                "",
            );
        }
    }
    let mut image_keys = BTreeSet::new();
    if let Some(im) = top.get("images") {
        if let Node::Map(entries) = &im.node {
            for (k, v) in entries {
                let Some(key) = k.scalar() else { continue };
                image_keys.insert(key.to_string());
                if let Some(img) = image(&mut cx, f, key, v, &mut refs) {
                    input.images.insert(key.to_string(), img);
                }
            }
        } else {
            cx.err(
                f,
                im.span.clone(),
                codes::TYPE,
                "images must be a mapping of name to {layers: [...]} or {ref: ...}",
                "",
            );
        }
    }
    // Node types.
    let mut type_names: BTreeMap<String, Range<usize>> = BTreeMap::new();
    match top.get("node_types") {
        None => cx.err(
            f,
            root.span.start..root.span.start,
            codes::MISSING,
            "the plan needs `node_types`",
            "",
        ),
        Some(nt) => {
            for y in list(&mut cx, f, nt, "node_types") {
                // Duplicates are checked on the raw name, so they show even when other fields are bad.
                if let Some(n) = y.get("name").filter(|n| n.scalar().is_some()) {
                    let name = n.scalar().unwrap_or_default().to_string();
                    if let Some(prev) = type_names.insert(name.clone(), n.span.clone()) {
                        cx.diags.push(
                            Diagnostic::error(format!("node type `{name}` is defined twice"))
                                .with_code(codes::DUPLICATE)
                                .with_primary(f, n.span.clone(), "again here")
                                .with_secondary(f, prev, "first here"),
                        );
                    }
                }
                if let Some(t) = node_type(&mut cx, f, y) {
                    input.node_types.push(t);
                }
            }
        }
    }
    if let Some(h) = top.get("headroom") {
        input.headroom = headroom(&mut cx, f, h);
    }
    // DaemonSets.
    if let Some(ds) = top.get("daemonsets") {
        for y in list(&mut cx, f, ds, "daemonsets") {
            if y.get("manifest").is_some() {
                if let Some(m) = map(&mut cx, f, y, "a DaemonSet manifest entry", &["manifest", "image"]) {
                    let img = image_key(&mut cx, f, &m, &image_keys);
                    for w in manifest_entry(&mut cx, f, &m, load, &rcs) {
                        if w.daemonset {
                            input.daemonsets.push(DaemonSetSpec {
                                name: w.name,
                                shape: w.shape,
                                image: img.clone(),
                            });
                        } else {
                            cx.err(
                                f,
                                y.span.clone(),
                                codes::MANIFEST,
                                format!("`{}` is a {}, not a DaemonSet; list it under services", w.name, w.kind),
                                "",
                            );
                        }
                    }
                }
                continue;
            }
            let Some(m) = map(
                &mut cx,
                f,
                y,
                "a DaemonSet",
                &[
                    "name",
                    "cpu",
                    "memory",
                    "containers",
                    "init_containers",
                    "runtime_class",
                    "image",
                    "extended_resources",
                    "node_selector",
                    "node_affinity",
                ],
            ) else {
                continue;
            };
            let n = name(&mut cx, f, &m, y, "a DaemonSet");
            let mut s = shape(&mut cx, f, &m, y, &rcs);
            (s.extended, s.node_affinity) = constraints::pod_keys(&mut cx, f, &m);
            let img = image_key(&mut cx, f, &m, &image_keys);
            if let Some(n) = n {
                input.daemonsets.push(DaemonSetSpec {
                    name: n,
                    shape: s,
                    image: img,
                });
            }
        }
    }
    // Services.
    let mut service_names: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let mut add_service = |cx: &mut Ctx<'_>, s: ServiceSpec, span: Range<usize>, input: &mut PlanInput| {
        if let Some(prev) = service_names.insert(s.name.clone(), span.clone()) {
            cx.diags.push(
                Diagnostic::error(format!("service `{}` is defined twice", s.name))
                    .with_code(codes::DUPLICATE)
                    .with_primary(f, span, "again here")
                    .with_secondary(f, prev, "first here"),
            );
        }
        input.services.push(s);
    };
    match top.get("services") {
        None if services_optional => {}
        None => cx.err(
            f,
            root.span.start..root.span.start,
            codes::MISSING,
            "the plan needs `services`",
            "",
        ),
        Some(sv) => {
            for y in list(&mut cx, f, sv, "services") {
                if y.get("manifest").is_some() {
                    let Some(m) = map(
                        &mut cx,
                        f,
                        y,
                        "a manifest entry",
                        &["manifest", "replicas", "image", "max_per_node"],
                    ) else {
                        continue;
                    };
                    let img = image_key(&mut cx, f, &m, &image_keys);
                    let replicas = m
                        .get("replicas")
                        .and_then(|v| count_max(&mut cx, f, v, "replicas", super::MAX_REPLICAS));
                    let mpn = m.get("max_per_node").and_then(|v| count(&mut cx, f, v, "max_per_node"));
                    for w in manifest_entry(&mut cx, f, &m, load, &rcs) {
                        if w.daemonset {
                            input.daemonsets.push(DaemonSetSpec {
                                name: w.name,
                                shape: w.shape,
                                image: img.clone(),
                            });
                        } else {
                            let s = ServiceSpec {
                                name: w.name,
                                replicas: replicas.unwrap_or(w.replicas),
                                shape: w.shape,
                                image: img.clone(),
                                max_per_node: mpn.or(w.max_per_node),
                            };
                            add_service(&mut cx, s, y.span.clone(), &mut input);
                        }
                    }
                    continue;
                }
                let Some(m) = map(
                    &mut cx,
                    f,
                    y,
                    "a service",
                    &[
                        "name",
                        "replicas",
                        "cpu",
                        "memory",
                        "containers",
                        "init_containers",
                        "runtime_class",
                        "image",
                        "max_per_node",
                        "extended_resources",
                        "node_selector",
                        "node_affinity",
                    ],
                ) else {
                    continue;
                };
                let n = name(&mut cx, f, &m, y, "a service");
                let replicas = m
                    .get("replicas")
                    .map_or(Some(1), |v| count_max(&mut cx, f, v, "replicas", super::MAX_REPLICAS));
                let mut s = shape(&mut cx, f, &m, y, &rcs);
                (s.extended, s.node_affinity) = constraints::pod_keys(&mut cx, f, &m);
                let img = image_key(&mut cx, f, &m, &image_keys);
                let mpn = m.get("max_per_node").and_then(|v| count(&mut cx, f, v, "max_per_node"));
                if let (Some(n), Some(r)) = (n, replicas) {
                    add_service(
                        &mut cx,
                        ServiceSpec {
                            name: n,
                            replicas: r,
                            shape: s,
                            image: img,
                            max_per_node: mpn,
                        },
                        y.span.clone(),
                        &mut input,
                    );
                }
            }
        }
    }
    if cx.diags.is_empty() {
        Ok(Parsed {
            input,
            image_refs: refs,
            runtime_classes: rcs,
        })
    } else {
        // In file order, as a reader goes through the file.
        cx.diags
            .sort_by_key(|d| d.labels.first().map(|l| (l.file, l.span.start)));
        Err(cx.diags)
    }
}

/// A workload read from a manifest.
struct Workload {
    name: String,
    kind: String,
    replicas: u64,
    shape: PodShape,
    max_per_node: Option<u64>,
    daemonset: bool,
}

fn manifest_entry(
    cx: &mut Ctx<'_>,
    f: FileId,
    m: &MapReader<'_>,
    load: &mut Loader<'_>,
    rcs: &RuntimeClasses,
) -> Vec<Workload> {
    let Some(pv) = m.get("manifest") else { return Vec::new() };
    let Some(path) = scalar(cx, f, pv, "manifest") else {
        return Vec::new();
    };
    let (display, text) = match load(path) {
        Ok(x) => x,
        Err(e) => {
            cx.err(
                f,
                pv.span.clone(),
                codes::MANIFEST,
                format!("cannot read manifest `{path}`: {e}"),
                "named here",
            );
            return Vec::new();
        }
    };
    let mid = cx.files.add(display, text.clone());
    let first_diag = cx.diags.len();
    let out = manifest_workloads(cx, mid, &text, rcs);
    // Every problem inside the manifest also points at the line of the plan that named it.
    for d in &mut cx.diags[first_diag..] {
        if d.labels.iter().any(|l| l.file == mid) {
            d.labels.push(crate::diag::Label {
                file: f,
                span: pv.span.clone(),
                message: "in the manifest named here".into(),
                primary: false,
            });
        }
    }
    if out.is_empty() && cx.diags.len() == first_diag {
        cx.err(
            f,
            pv.span.clone(),
            codes::MANIFEST,
            format!("manifest `{path}` holds no Deployment, StatefulSet, ReplicaSet, Job, CronJob, Pod or DaemonSet"),
            "",
        );
    }
    out
}

/// The YAML documents of manifest `mid`, or `None` after a syntax error at its offset.
fn manifest_docs(cx: &mut Ctx<'_>, mid: FileId, text: &str) -> Option<Vec<Yaml>> {
    match yaml::parse(text) {
        Ok(d) => Some(d),
        Err(e) => {
            cx.err(
                mid,
                e.offset..e.offset,
                codes::SYNTAX,
                format!("invalid YAML: {}", e.message),
                "here",
            );
            None
        }
    }
}

/// The workloads of one manifest file (already added to `files` as `mid`).
fn manifest_workloads(cx: &mut Ctx<'_>, mid: FileId, text: &str, rcs: &RuntimeClasses) -> Vec<Workload> {
    let Some(docs) = manifest_docs(cx, mid, text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in &docs {
        read_workloads(cx, mid, d, rcs, &mut out);
    }
    out
}

fn read_workloads(cx: &mut Ctx<'_>, f: FileId, d: &Yaml, rcs: &RuntimeClasses, out: &mut Vec<Workload>) {
    if d.is_null() {
        return;
    }
    let kind = d.get("kind").and_then(Yaml::scalar).unwrap_or("");
    if kind == "List" {
        if let Some(items) = d.get("items")
            && let Node::Seq(items) = &items.node
        {
            for i in items {
                read_workloads(cx, f, i, rcs, out);
            }
        }
        return;
    }
    let (template, replicas_key): (&[&str], &[&str]) = match kind {
        "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet" => (&["spec", "template"], &["spec", "replicas"]),
        "Job" => (&["spec", "template"], &["spec", "parallelism"]),
        "CronJob" => (
            &["spec", "jobTemplate", "spec", "template"],
            &["spec", "jobTemplate", "spec", "parallelism"],
        ),
        "Pod" => (&[], &[]),
        _ => return,
    };
    let Some(name) = d.path(&["metadata", "name"]).and_then(Yaml::scalar) else {
        cx.err(
            f,
            d.span.clone(),
            codes::MANIFEST,
            format!("{kind} without metadata.name"),
            "",
        );
        return;
    };
    let tpl = if template.is_empty() { Some(d) } else { d.path(template) };
    let Some(tpl) = tpl else {
        cx.err(
            f,
            d.span.clone(),
            codes::MANIFEST,
            format!("{kind} `{name}` has no pod template"),
            "",
        );
        return;
    };
    let Some(spec) = tpl.get("spec") else {
        cx.err(
            f,
            tpl.span.clone(),
            codes::MANIFEST,
            format!("{kind} `{name}` has no pod spec"),
            "",
        );
        return;
    };
    let replicas = if replicas_key.is_empty() || kind == "DaemonSet" {
        1
    } else {
        d.path(replicas_key)
            .map_or(Some(1), |v| count_max(cx, f, v, "replicas", super::MAX_REPLICAS))
            .unwrap_or(1)
    };
    let labels: BTreeMap<&str, &str> = match tpl.path(&["metadata", "labels"]).map(|l| &l.node) {
        Some(Node::Map(e)) => e.iter().filter_map(|(k, v)| Some((k.scalar()?, v.scalar()?))).collect(),
        _ => BTreeMap::new(),
    };
    let mut shape = PodShape::default();
    let req = |cx: &mut Ctx<'_>, c: &Yaml| -> Request {
        let pick = |key: &str| {
            c.path(&["resources", "requests", key])
                .or_else(|| c.path(&["resources", "limits", key]))
        };
        let cpu = pick("cpu")
            .and_then(|v| quantity(cx, f, v, "cpu"))
            .map_or(0, |q| q.millicores_ceil().0);
        let mem = pick("memory")
            .and_then(|v| quantity(cx, f, v, "memory"))
            .map_or(0, Quantity::bytes_ceil);
        Request {
            cpu_m: cpu,
            memory_bytes: mem,
        }
    };
    let mut ext_containers = Vec::new();
    let mut ext_init = Vec::new();
    if let Some(Node::Seq(cs)) = spec.get("containers").map(|c| &c.node) {
        for c in cs {
            shape.containers.push(req(cx, c));
            ext_containers.push(constraints::manifest_extended(cx, f, c));
        }
    } else {
        cx.err(
            f,
            spec.span.clone(),
            codes::MANIFEST,
            format!("{kind} `{name}` has no containers"),
            "",
        );
    }
    if let Some(Node::Seq(cs)) = spec.get("initContainers").map(|c| &c.node) {
        for c in cs {
            let sidecar = c.get("restartPolicy").and_then(Yaml::scalar) == Some("Always");
            let n = c.get("name").and_then(Yaml::scalar).unwrap_or("").to_string();
            shape.init_containers.push(InitContainer {
                name: n,
                request: req(cx, c),
                sidecar,
            });
            ext_init.push((constraints::manifest_extended(cx, f, c), sidecar));
        }
    }
    shape.extended = super::pod::extended_request(&ext_containers, &ext_init);
    shape.node_affinity = constraints::manifest_affinity(cx, f, spec);
    if spec.path(&["resources", "requests"]).is_some() || spec.path(&["resources", "limits"]).is_some() {
        shape.pod_level = Some(req(cx, spec));
    }
    if let Some(rc) = spec.get("runtimeClassName") {
        let s = rc.scalar().unwrap_or("");
        match rcs.get(s) {
            Some(o) => shape.overhead = *o,
            None => cx.err_help(
                f,
                rc.span.clone(),
                codes::REFERENCE,
                format!("runtimeClassName `{s}` is not defined under `runtime_classes` in the plan"),
                "add it under runtime_classes: with its overhead.podFixed {cpu, memory}",
            ),
        }
    } else if let Some(ov) = spec.get("overhead") {
        // Set by RuntimeClass admission in dumped pods: {cpu, memory} directly.
        let cpu = ov
            .get("cpu")
            .and_then(|v| quantity(cx, f, v, "cpu"))
            .map_or(0, |q| q.millicores_ceil().0);
        let mem = ov
            .get("memory")
            .and_then(|v| quantity(cx, f, v, "memory"))
            .map_or(0, Quantity::bytes_ceil);
        shape.overhead = Request {
            cpu_m: cpu,
            memory_bytes: mem,
        };
    }
    let matches_self = |sel: Option<&Yaml>| -> bool {
        let Some(Node::Map(ml)) = sel.and_then(|s| s.get("matchLabels")).map(|m| &m.node) else {
            return false;
        };
        !ml.is_empty()
            && ml.iter().all(|(k, v)| match (k.scalar(), v.scalar()) {
                (Some(k), Some(v)) => labels.get(k) == Some(&v),
                _ => false,
            })
    };
    let mut max_per_node: Option<u64> = None;
    if let Some(Node::Seq(terms)) = spec
        .path(&[
            "affinity",
            "podAntiAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
        ])
        .map(|t| &t.node)
    {
        for t in terms {
            if t.get("topologyKey").and_then(Yaml::scalar) == Some("kubernetes.io/hostname")
                && matches_self(t.get("labelSelector"))
            {
                max_per_node = Some(1);
            }
        }
    }
    if let Some(Node::Seq(tscs)) = spec.get("topologySpreadConstraints").map(|t| &t.node) {
        for t in tscs {
            let host = t.get("topologyKey").and_then(Yaml::scalar) == Some("kubernetes.io/hostname");
            let hard = t
                .get("whenUnsatisfiable")
                .and_then(Yaml::scalar)
                .is_none_or(|w| w == "DoNotSchedule");
            if host && hard && matches_self(t.get("labelSelector")) {
                let skew = t
                    .get("maxSkew")
                    .and_then(|v| count(cx, f, v, "maxSkew"))
                    .unwrap_or(1)
                    .max(1);
                max_per_node = Some(max_per_node.map_or(skew, |m| m.min(skew)));
            }
        }
    }
    out.push(Workload {
        name: name.to_string(),
        kind: kind.to_string(),
        replicas,
        shape,
        max_per_node,
        daemonset: kind == "DaemonSet",
    });
}

/// A workload of a manifest read for `--manifests` ([`super::manifests`]).
#[derive(Clone, Debug)]
pub(crate) struct ManifestWorkload {
    /// `metadata.name`.
    pub name: String,
    /// `kind`.
    pub kind: String,
    /// `spec.replicas` (1 for a DaemonSet or Pod).
    pub replicas: u64,
    /// The pod's shape.
    pub shape: PodShape,
    /// From required anti-affinity or hostname spread.
    pub max_per_node: Option<u64>,
    /// A DaemonSet (one pod on every node it selects).
    pub daemonset: bool,
    /// The images of its containers, then of its init containers, without repeats.
    pub images: Vec<String>,
    /// Where the document starts.
    pub span: Range<usize>,
}

/// A document of a manifest that `--manifests` leaves out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SkippedDoc {
    /// `Kind name`.
    pub what: String,
    /// Why.
    pub why: &'static str,
    /// Where the document starts.
    pub offset: usize,
}

/// Reads the workloads of the manifest already added to `files` as `mid`, for `--manifests`:
/// Deployments, StatefulSets, ReplicaSets, Pods and DaemonSets (and `List`s of them). Left out,
/// each with a reason: Jobs and CronJobs (they run to completion, not steady capacity), Helm
/// hooks (`helm.sh/hook`: tests and migrations that run and leave), and ReplicaSets and Pods
/// that another object owns (`ownerReferences`: their Deployment or StatefulSet is counted).
pub(crate) fn read_manifest_workloads(
    files: &mut Files,
    mid: FileId,
    rcs: &BTreeMap<String, Request>,
) -> (Vec<ManifestWorkload>, Vec<SkippedDoc>, Vec<Diagnostic>) {
    let text = files.text(mid).to_string();
    let mut cx = Ctx {
        files,
        diags: Vec::new(),
    };
    let Some(docs) = manifest_docs(&mut cx, mid, &text) else {
        return (Vec::new(), Vec::new(), cx.diags);
    };
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut stack: Vec<&Yaml> = docs.iter().rev().collect();
    while let Some(d) = stack.pop() {
        if d.is_null() {
            continue;
        }
        let kind = d.get("kind").and_then(Yaml::scalar).unwrap_or("");
        if kind == "List" {
            if let Some(Node::Seq(items)) = d.get("items").map(|i| &i.node) {
                stack.extend(items.iter().rev());
            }
            continue;
        }
        let name = d.path(&["metadata", "name"]).and_then(Yaml::scalar).unwrap_or("?");
        let skip = |why| SkippedDoc {
            what: format!("{kind} {name}"),
            why,
            offset: d.span.start,
        };
        let template: &[&str] = match kind {
            "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet" => &["spec", "template", "spec"],
            "Pod" => &["spec"],
            "Job" | "CronJob" => {
                skipped.push(skip("runs to completion, so it is not steady capacity"));
                continue;
            }
            _ => continue,
        };
        if d.path(&["metadata", "annotations", "helm.sh/hook"]).is_some() {
            skipped.push(skip("a Helm hook (helm.sh/hook): it runs and leaves"));
            continue;
        }
        if matches!(kind, "ReplicaSet" | "Pod")
            && matches!(d.path(&["metadata", "ownerReferences"]).map(|o| &o.node), Some(Node::Seq(o)) if !o.is_empty())
        {
            skipped.push(skip(
                "owned by another object (ownerReferences), which is counted instead",
            ));
            continue;
        }
        let mut images: Vec<String> = Vec::new();
        if let Some(spec) = d.path(template) {
            for key in ["containers", "initContainers"] {
                if let Some(Node::Seq(cs)) = spec.get(key).map(|c| &c.node) {
                    for c in cs {
                        if let Some(i) = c.get("image").and_then(Yaml::scalar).filter(|i| !i.trim().is_empty())
                            && !images.iter().any(|x| x == i)
                        {
                            images.push(i.trim().to_string());
                        }
                    }
                }
            }
        }
        let mut one = Vec::new();
        read_workloads(&mut cx, mid, d, rcs, &mut one);
        for w in one {
            out.push(ManifestWorkload {
                name: w.name,
                kind: w.kind,
                replicas: w.replicas,
                shape: w.shape,
                max_per_node: w.max_per_node,
                daemonset: w.daemonset,
                images: images.clone(),
                span: d.span.clone(),
            });
        }
    }
    (out, skipped, cx.diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Parsed, Vec<Diagnostic>> {
        let mut files = Files::new();
        let id = files.add("plan.yaml", text);
        parse_plan(&mut files, id, &mut |p: &str| Err(format!("no file {p}")))
    }

    #[test]
    fn issue_example_parses() {
        let text = r#"
node_types:
  - name: m5.xlarge
    cpu: "4"
    memory: 16Gi
    max_pods: 58
    price_per_hour: 0.192
    reserved: eks
    vm_memory_overhead: 0.075
    disk: 80Gi
    image_gc_high_threshold_percent: 85
    disk_reserved: 4Gi
    max_nodes: 10
daemonsets:
  - {name: aws-node, cpu: 25m, memory: 0, image: vpc-cni}
runtime_classes:
  kata: {cpu: 250m, memory: 160Mi}
images:
  vpc-cni: {layers: [{digest: "sha256:aa", size: 40Mi}]}
  api-img: {layers: [{digest: "sha256:bb", size: 80Mi, compressed_size: 30Mi}]}
services:
  - {name: api, replicas: 12, cpu: 250m, memory: 512Mi, image: api-img, max_per_node: 1, runtime_class: kata}
  - name: mesh-app
    replicas: 20
    containers: [{name: app, cpu: 400m, memory: 700Mi}]
    init_containers:
      - {name: envoy, restart_policy: Always, cpu: 100m, memory: 128Mi}
      - {name: migrate, cpu: "2", memory: 256Mi}
"#;
        let p = parse(text).unwrap();
        assert_eq!(p.input.node_types[0].max_nodes, Some(10));
        assert_eq!(p.input.services[0].shape.effective().cpu_m, 500);
        assert_eq!(p.input.services[1].shape.effective().cpu_m, 2100);
        assert_eq!(p.input.images["api-img"].layers[0].compressed_size, 30 << 20);
    }

    #[test]
    fn every_problem_at_once() {
        let text = "node_types:\n  - name: a\n    cpu: 4x\n    memory: 16Gi\n    reserved: ekz\nservices:\n  - {name: s, cpu: 1, memroy: 1Gi}\n  - {name: t, image: nope}\n";
        let diags = parse(text).unwrap_err();
        let codes: Vec<_> = diags.iter().map(|d| d.code.clone().unwrap()).collect();
        assert_eq!(codes, ["PL004", "PL004", "PL002", "PL006"], "{diags:#?}");
        let starts: Vec<usize> = diags.iter().map(|d| d.labels[0].span.start).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "in file order");
    }
}
