//! `imgopt plan FILE` and the one-service form
//! `imgopt plan --node cpu=4,memory=16Gi,pods=110,reserved=gke --cpu 500m --memory 1Gi`.
//!
//! Reads the plan file (and the manifests it names), resolves image references, runs
//! [`crate::plan::plan`] and hands the report to a renderer. Exit 1 when a service fits no
//! node type; exit 2 for an unusable file (every problem shown, each at its line).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;

use super::image::ImageReader;
use super::source_args::SourceArgs;
use super::{ExitStatus, Rendered, fs, printer::Printer, verbose};
use crate::diag::{Diagnostic, FileId, Files};
use crate::plan::file::{self, codes};
use crate::plan::image::ImageLayers;
use crate::plan::{self as planner, NodeTypeSpec, PlanInput, PodShape, Quantity, Request, ReservedModel, ServiceSpec};
use crate::report::{Format, Kind, Report};
use crate::units::ByteSize;

/// Arguments of `imgopt plan`.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// The plan file (YAML; see docs/plan.md); `-` reads it from stdin. Omit it to plan one
    /// service from flags.
    pub file: Option<PathBuf>,
    /// One-service form: a node type, `cpu=4,memory=16Gi,pods=110,reserved=gke` (also
    /// `name=`, `price=`, `disk=`, `vm_overhead=`, `max_nodes=`). Repeat for several types.
    #[arg(long = "node", value_name = "SPEC")]
    pub nodes: Vec<String>,
    /// One-service form: CPU request of the service (`500m`).
    #[arg(long)]
    pub cpu: Option<String>,
    /// One-service form: memory request of the service (`1Gi`).
    #[arg(long)]
    pub memory: Option<String>,
    /// One-service form: the service's image (its layers count against the node disk).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// One-service form: replicas to place.
    #[arg(long, default_value_t = 1)]
    pub replicas: u64,
    /// One-service form: at most this many per node (required anti-affinity = 1).
    #[arg(long)]
    pub max_per_node: Option<u64>,
    /// One-service form: the service's name in reports.
    #[arg(long, default_value = "service")]
    pub name: String,
    /// Plan against this fraction of each node's free CPU and memory (`0.8` or `80%`).
    #[arg(long, value_name = "FRACTION")]
    pub target_utilization: Option<String>,
    /// Room for this share of extra pods per service during a rollout (`25%`), rounded up.
    #[arg(long, value_name = "SHARE")]
    pub surge: Option<String>,
    /// N+k: the fleet must still hold every replica with any k nodes gone.
    #[arg(long, value_name = "K")]
    pub spare_nodes: Option<u64>,
    /// Kubernetes manifests to plan: a folder (read recursively: *.yaml, *.yml, *.json), one
    /// file, or `-` for multi-document YAML on stdin (`helm template ... | imgopt plan
    /// nodes.yaml --manifests -`). Deployments, StatefulSets, ReplicaSets and Pods become
    /// services, DaemonSets per-node overhead; the node types come from the plan FILE (which
    /// then needs no `services`) or from --node.
    #[arg(long, value_name = "DIR|FILE|-")]
    pub manifests: Option<PathBuf>,
    /// Let the plan file name files outside its own folder (`manifest:` paths and file
    /// references such as `oci:DIR` or `docker-archive:FILE` under `images`). Off by default:
    /// a plan written by someone else must not read other files on this machine.
    #[arg(long)]
    pub allow_paths_outside_plan: bool,
    /// Branch-and-bound nodes the exact search may explore before giving up on a proof.
    #[arg(long, default_value_t = 200_000, value_name = "N")]
    pub exact_node_limit: u64,
    /// Where and how to read image references (`--image REF`, `{ref: ...}` in the file).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = super::args::format_parser(Kind::Plan))]
    pub format: Format,
}

/// Resolves an image reference (any IMAGE form `imgopt layers` takes) to its layers: chain
/// ID, unpacked (tar) size and pulled size, see [`ImageLayers::from_layers_report`].
pub fn resolve_image_ref(reference: &str, reader: &ImageReader) -> anyhow::Result<ImageLayers> {
    resolve_image_ref_traced(reference, reader).map(|(l, _)| l)
}

/// [`resolve_image_ref`], and what reading the image did (for `-v`).
pub(crate) fn resolve_image_ref_traced(
    reference: &str,
    reader: &ImageReader,
) -> anyhow::Result<(ImageLayers, crate::layers::Trace)> {
    if reference.trim().is_empty() {
        bail!("empty image reference");
    }
    let (report, trace) = reader.analyze_traced(reference)?;
    Ok((ImageLayers::from_layers_report(&report), trace))
}

fn fraction(text: &str, what: &str) -> anyhow::Result<Quantity> {
    Quantity::parse_fraction(text).map_err(|e| anyhow::anyhow!("invalid --{what} `{text}`: {e}"))
}

fn node_from_flag(spec: &str, index: usize) -> anyhow::Result<NodeTypeSpec> {
    let mut t = NodeTypeSpec::new(
        &format!(
            "node{}",
            if index == 0 {
                String::new()
            } else {
                (index + 1).to_string()
            }
        ),
        0,
        0,
        110,
        ReservedModel::Explicit {
            kube_cpu_m: 0,
            kube_memory_mib: 0,
            system_cpu_m: 0,
            system_memory_mib: 0,
            eviction_memory_mib: 100,
        },
    );
    let (mut cpu, mut mem) = (false, false);
    let q = |k: &str, v: &str| Quantity::parse(v).with_context(|| format!("--node {spec}: `{k}`"));
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .with_context(|| format!("--node {spec}: `{part}` is not key=value"))?;
        match k.trim() {
            "name" => t.name = v.to_string(),
            "cpu" => {
                t.cpu_m = q(k, v)?.millicores_floor().0;
                cpu = true;
            }
            "memory" => {
                t.memory_mib = q(k, v)?.mib_floor().0;
                mem = true;
            }
            "pods" | "max_pods" => {
                t.max_pods = v.trim().parse().with_context(|| format!("--node {spec}: pods `{v}`"))?;
            }
            "reserved" => {
                t.reserved = ReservedModel::preset(v.trim())
                    .with_context(|| format!("--node {spec}: reserved `{v}` (use eks, gke, aks or aks-legacy)"))?;
            }
            "price" | "price_per_hour" => {
                t.price_per_hour = Some(
                    v.trim()
                        .parse()
                        .with_context(|| format!("--node {spec}: price `{v}`"))?,
                );
            }
            "disk" => t.disk_mib = Some(q(k, v)?.mib_floor().0),
            "vm_overhead" | "vm_memory_overhead" => t.vm_memory_overhead = Some(fraction(v, "node vm_overhead")?),
            "max_nodes" => {
                t.max_nodes = Some(
                    v.trim()
                        .parse()
                        .with_context(|| format!("--node {spec}: max_nodes `{v}`"))?,
                );
            }
            other => bail!(
                "--node {spec}: unknown key `{other}` (cpu, memory, pods, reserved, name, price, disk, vm_overhead, max_nodes)"
            ),
        }
    }
    if !cpu || !mem {
        bail!("--node {spec}: needs at least cpu= and memory=");
    }
    Ok(t)
}

/// Largest plan file, manifest or stdin text read (a `/dev/zero` must not fill the memory).
pub const MAX_TEXT_BYTES: u64 = 32 << 20;

/// Reads `path` as text: a regular file (a FIFO would block, a device never ends) of at most
/// [`MAX_TEXT_BYTES`], in UTF-8. Errors name the file and never quote its bytes.
pub(super) fn read_text_file(path: &Path, what: &str, or_stdin: bool) -> anyhow::Result<String> {
    fs::utf8(
        fs::read_file(path, what, MAX_TEXT_BYTES, or_stdin)?,
        &path.display().to_string(),
    )
}

/// Where a path the plan names may point: anywhere (`--allow-paths-outside-plan`), or only
/// under the plan file's folder (the working directory for a plan on stdin).
#[derive(Clone, Debug)]
pub struct PathPolicy {
    base: PathBuf,
    allow_outside: bool,
}

impl PathPolicy {
    /// `rel` resolved against the plan's folder, refused when it leaves it (`..`, an absolute
    /// path elsewhere, a symlink pointing out).
    fn resolve(&self, rel: &str) -> Result<PathBuf, String> {
        let joined = self.base.join(rel);
        if self.allow_outside {
            return Ok(joined);
        }
        let outside = || {
            format!("`{rel}` is outside the plan file's folder; pass --allow-paths-outside-plan to read files anywhere")
        };
        let root = if self.base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            self.base.as_path()
        };
        let root = std::fs::canonicalize(root).map_err(|e| format!("the plan file's folder: {e}"))?;
        match std::fs::canonicalize(&joined) {
            Ok(real) if real.starts_with(&root) => Ok(joined),
            Ok(_) => Err(outside()),
            // Not there (yet): judge the words. Reading it will fail with "not found".
            Err(_) => {
                let lexical_ok = !joined
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
                    && (Path::new(rel).is_relative() || joined.starts_with(&root));
                if lexical_ok { Ok(joined) } else { Err(outside()) }
            }
        }
    }

    /// An image reference as written in the plan, with a file path in it resolved against the
    /// plan's folder (and refused outside it); registry references unchanged.
    fn image_ref(&self, reference: &str) -> Result<String, String> {
        let (prefix, rest) = ["oci:", "oci-archive:", "docker-archive:"]
            .iter()
            .find_map(|p| reference.strip_prefix(p).map(|r| (*p, r)))
            .unwrap_or(("", reference));
        let is_path = !prefix.is_empty()
            || rest.starts_with('/')
            || rest.starts_with("./")
            || rest.starts_with("../")
            || rest.ends_with(".tar")
            || (!rest.is_empty() && self.base.join(rest).exists());
        if !is_path || reference.starts_with("docker://") {
            return Ok(reference.to_string());
        }
        // `DIR:TAG` and `FILE:REPO:TAG`: every prefix before a colon that exists is checked too.
        let joined = self.resolve(rest)?;
        for (i, _) in rest.match_indices(':') {
            if self.base.join(&rest[..i]).exists() {
                self.resolve(&rest[..i])?;
            }
        }
        Ok(format!("{prefix}{}", joined.display()))
    }
}

/// Diagnostics with every label that points into a file the user did not write themselves (a
/// manifest the plan names) turned into a `file:line:col` note: its bytes are never quoted.
fn redact(diags: &[Diagnostic], files: &Files, quotable: &dyn Fn(FileId) -> bool) -> Vec<Diagnostic> {
    diags
        .iter()
        .map(|d| {
            let mut d = d.clone();
            let (keep, moved): (Vec<_>, Vec<_>) = d.labels.drain(..).partition(|l| quotable(l.file));
            d.labels = keep;
            for l in moved {
                let (line, col) = files.line_col(l.file, l.span.start);
                let at = format!("in {}:{line}:{col}", files.name(l.file));
                d.notes.push(if l.message.is_empty() {
                    at
                } else {
                    format!("{at}: {}", l.message)
                });
            }
            d
        })
        .collect()
}

/// Renders the plan's diagnostics; only the plan file itself (`plan`) is quoted.
fn render_diags(diags: &[Diagnostic], files: &Files, plan: FileId, printer: &Printer) -> anyhow::Error {
    let diags = redact(diags, files, &|f| f == plan);
    let mut buf = Vec::new();
    let _ = crate::diag::render_human(&diags, files, printer.err_color, &mut buf);
    let n = diags.len();
    let summary = format!("error: the plan has {n} problem{}\n", if n == 1 { "" } else { "s" });
    anyhow::Error::new(Rendered(String::from_utf8_lossy(&buf).into_owned() + &summary))
}

/// A plan file read and parsed, its images not yet resolved.
pub struct PlanFile {
    /// The parsed file: the input (minus referenced images) and the references to resolve.
    pub parsed: file::Parsed,
    /// The plan file and the manifests it named, for diagnostics.
    pub files: Files,
    /// The plan file's id in `files` (the one file whose text errors may quote).
    pub plan: FileId,
    /// Where paths the plan names may point.
    pub policy: PathPolicy,
    /// Services and DaemonSets from `--manifests` whose pods use several plan images: apply
    /// [`crate::plan::manifests::attach_images`] once the images are read.
    pub manifest_images: Vec<(String, Vec<String>)>,
}

/// Reads and parses the plan file at `path` (`-`: stdin) and the manifests it names, keeping
/// every path it names under its folder unless `allow_outside`. A file that cannot be used is
/// an error with every problem rendered at its line (exit 2).
pub fn read_plan_file(path: &Path, allow_outside: bool, printer: &Printer) -> anyhow::Result<PlanFile> {
    read_plan_file_with(path, allow_outside, None, printer)
}

/// [`read_plan_file`], plus the workloads of `--manifests` (then the plan file needs no
/// `services`).
pub fn read_plan_file_with(
    path: &Path,
    allow_outside: bool,
    manifests: Option<&Path>,
    printer: &Printer,
) -> anyhow::Result<PlanFile> {
    let stdin = path.as_os_str() == "-";
    let (name, text, base) = if stdin {
        let bytes = fs::read_capped(std::io::stdin().lock(), "<stdin>", "the plan file", MAX_TEXT_BYTES)?;
        let text = fs::utf8(bytes, "the plan file on stdin")?;
        // Files the plan names (Kubernetes manifests) are relative to the working directory.
        ("<stdin>".to_string(), text, PathBuf::new())
    } else {
        let text = read_text_file(path, "the plan file", true)?;
        (
            path.display().to_string(),
            text,
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        )
    };
    printer.verbose(&format!(
        "{}read plan file {name} ({})",
        verbose::PREFIX,
        ByteSize(text.len() as u64)
    ));
    let mut files = Files::new();
    let id = files.add(name, text);
    let mut read = Vec::new();
    let policy = PathPolicy {
        base: base.clone(),
        allow_outside,
    };
    let mut load = |rel: &str| -> Result<(String, String), String> {
        let p = policy.resolve(rel)?;
        let loaded = read_text_file(&p, "the manifest", false)
            .map(|t| (p.display().to_string(), t))
            .map_err(|e| format!("{e:#}"));
        if let Ok((name, text)) = &loaded {
            read.push(format!("read manifest {name} ({})", ByteSize(text.len() as u64)));
        }
        loaded
    };
    let parsed = file::parse_plan_opts(&mut files, id, &mut load, manifests.is_some());
    verbose::print(printer, &read);
    let mut parsed = match parsed {
        Ok(parsed) => parsed,
        Err(diags) => return Err(render_diags(&diags, &files, id, printer)),
    };
    let mut manifest_images = Vec::new();
    if let Some(src) = manifests {
        let refs: std::collections::BTreeMap<String, String> = parsed
            .image_refs
            .iter()
            .map(|r| (r.key.clone(), r.reference.clone()))
            .collect();
        manifest_images = add_manifests(
            src,
            &mut files,
            Some(id),
            &mut parsed.input,
            &refs,
            &parsed.runtime_classes,
            printer,
        )?;
    }
    Ok(PlanFile {
        parsed,
        files,
        plan: id,
        policy,
        manifest_images,
    })
}

/// Reads `--manifests` into `input` (node types, images and runtime classes come from the plan
/// file, `plan`, if any); returns the owners of several images for
/// [`crate::plan::manifests::attach_images`]. Problems are rendered with their file and line
/// (never showing a manifest's lines: rendered Helm output can hold secrets), exit 2.
fn add_manifests(
    src: &Path,
    files: &mut Files,
    plan: Option<FileId>,
    input: &mut PlanInput,
    refs: &std::collections::BTreeMap<String, String>,
    rcs: &std::collections::BTreeMap<String, Request>,
    printer: &Printer,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let texts = super::manifests::load(src, printer)?;
    let ids: Vec<FileId> = texts.into_iter().map(|(n, t)| files.add(n, t)).collect();
    let taken = input.services.iter().map(|s| s.name.clone()).collect();
    let keys = input.images.keys().chain(refs.keys()).cloned().collect();
    let w = crate::plan::manifests::read(files, &ids, &taken, &keys, refs, rcs).map_err(|diags| {
        let diags = redact(&diags, files, &|f| Some(f) == plan);
        let mut buf = Vec::new();
        let _ = crate::diag::render_human(&diags, files, printer.err_color, &mut buf);
        let n = diags.len();
        let summary = format!(
            "error: the manifests have {n} problem{}\n",
            if n == 1 { "" } else { "s" }
        );
        anyhow::Error::new(Rendered(String::from_utf8_lossy(&buf).into_owned() + &summary))
    })?;
    let mut notes: Vec<String> = w.skipped.iter().map(|s| format!("not planned: {s}")).collect();
    notes.push(format!(
        "manifests: {} service{}, {} DaemonSet{} from {} file{}",
        w.services.len(),
        if w.services.len() == 1 { "" } else { "s" },
        w.daemonsets.len(),
        if w.daemonsets.len() == 1 { "" } else { "s" },
        ids.len(),
        if ids.len() == 1 { "" } else { "s" }
    ));
    verbose::print(printer, &notes);
    if !w.unmatched_images.is_empty() {
        let list: Vec<&str> = w.unmatched_images.iter().map(String::as_str).take(5).collect();
        let more = w.unmatched_images.len().saturating_sub(5);
        printer.note(&format!(
            "note: {} image{} the manifests name {} not under the plan's `images` ({}{}): planned without {} layers (no disk check, no pull figure); list {} as `NAME: {{ref: IMAGE}}` to read {}",
            w.unmatched_images.len(),
            if w.unmatched_images.len() == 1 { "" } else { "s" },
            if w.unmatched_images.len() == 1 { "is" } else { "are" },
            list.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() },
            if w.unmatched_images.len() == 1 { "its" } else { "their" },
            if w.unmatched_images.len() == 1 { "it" } else { "them" },
            if w.unmatched_images.len() == 1 { "it" } else { "them" },
        ));
    }
    input.services.extend(w.services);
    input.daemonsets.extend(w.daemonsets);
    Ok(w.images)
}

/// Resolves one image reference of a plan file (a path in it must pass `policy`), saying
/// what it did with `-v`. The error is the label text for the reference's diagnostic.
pub(crate) fn resolve_plan_image(
    r: &file::ImageRef,
    policy: &PathPolicy,
    reader: &ImageReader,
    printer: &Printer,
    limits: &mut verbose::Limits,
) -> Result<ImageLayers, String> {
    resolve_plan_image_read(r, policy, reader, printer, limits).map(|x| x.layers)
}

/// An image of a plan file as read: the planner's layers, the whole layers analysis, and the
/// reference actually opened (a file path resolved against the plan's folder).
pub struct ReadImage {
    /// The planner's view.
    pub layers: ImageLayers,
    /// `imgopt layers`' report of it.
    pub report: crate::layers::LayersReport,
    /// The reference opened.
    pub reference: String,
}

/// [`resolve_plan_image`], keeping the layers analysis (for budgets).
pub(crate) fn resolve_plan_image_read(
    r: &file::ImageRef,
    policy: &PathPolicy,
    reader: &ImageReader,
    printer: &Printer,
    limits: &mut verbose::Limits,
) -> Result<ReadImage, String> {
    let reference = policy.image_ref(&r.reference)?;
    let (report, trace) = read_image_report(&reference, reader).map_err(|e| format!("{e:#}"))?;
    if printer.is_verbose() {
        verbose::print(printer, &verbose::image_brief(&format!("image {}", r.key), &trace));
    }
    limits.image(&trace);
    Ok(ReadImage {
        layers: ImageLayers::from_layers_report(&report),
        report,
        reference,
    })
}

/// Reads `reference` (any IMAGE form) with the layers analysis.
pub fn read_image_report(
    reference: &str,
    reader: &ImageReader,
) -> anyhow::Result<(crate::layers::LayersReport, crate::layers::Trace)> {
    if reference.trim().is_empty() {
        bail!("empty image reference");
    }
    reader.analyze_traced(reference)
}

/// The plan reader's own limits: the text size, and where a plan's paths may point.
pub(crate) fn plan_file_limits(limits: &mut verbose::Limits, allow_outside: bool) {
    limits.value(crate::limits::Limit::PlanFile, crate::limits::bytes(MAX_TEXT_BYTES));
    limits.value(
        crate::limits::Limit::PlanPaths,
        if allow_outside {
            "anywhere (given)"
        } else {
            "under the plan file's folder"
        },
    );
}

fn from_file(
    path: &Path,
    allow_outside: bool,
    manifests: Option<&Path>,
    printer: &Printer,
    reader: &dyn Fn() -> anyhow::Result<ImageReader>,
    limits: &mut verbose::Limits,
) -> anyhow::Result<PlanInput> {
    plan_file_limits(limits, allow_outside);
    let PlanFile {
        parsed,
        files,
        plan,
        policy,
        manifest_images,
    } = read_plan_file_with(path, allow_outside, manifests, printer)?;
    let mut input = parsed.input;
    let mut diags = Vec::new();
    let reader = if parsed.image_refs.is_empty() {
        None
    } else {
        Some(reader()?)
    };
    for r in &parsed.image_refs {
        let Some(reader) = &reader else { break };
        match resolve_plan_image(r, &policy, reader, printer, limits) {
            Ok(layers) => {
                input.images.insert(r.key.clone(), layers);
            }
            Err(e) => diags.push(
                Diagnostic::error(format!("cannot resolve image `{}`", r.reference))
                    .with_code(codes::IMAGE_REF)
                    .with_primary(r.file, r.span.clone(), e),
            ),
        }
    }
    if !diags.is_empty() {
        return Err(render_diags(&diags, &files, plan, printer));
    }
    crate::plan::manifests::attach_images(&mut input, &manifest_images);
    Ok(input)
}

/// `--manifests` with node types from `--node` and no plan file.
fn from_manifests(args: &PlanArgs, src: &Path, printer: &Printer) -> anyhow::Result<PlanInput> {
    if args.nodes.is_empty() {
        bail!("--manifests needs node types: give a plan FILE with `node_types`, or --node SPEC");
    }
    if args.cpu.is_some() || args.memory.is_some() || args.image.is_some() {
        bail!("--manifests gives the services: --cpu, --memory and --image are for the one-service form");
    }
    let mut input = PlanInput::default();
    for (i, n) in args.nodes.iter().enumerate() {
        input.node_types.push(node_from_flag(n, i)?);
    }
    let mut files = Files::new();
    let (refs, rcs) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    add_manifests(src, &mut files, None, &mut input, &refs, &rcs, printer)?;
    Ok(input)
}

fn from_flags(
    args: &PlanArgs,
    printer: &Printer,
    reader: &dyn Fn() -> anyhow::Result<ImageReader>,
    limits: &mut verbose::Limits,
) -> anyhow::Result<PlanInput> {
    if args.nodes.is_empty() {
        bail!("give a plan FILE, or --node SPEC with --cpu/--memory for one service (see `imgopt plan --help`)");
    }
    let mut input = PlanInput::default();
    for (i, n) in args.nodes.iter().enumerate() {
        input.node_types.push(node_from_flag(n, i)?);
    }
    let cpu = args.cpu.as_deref().map(Quantity::parse).transpose().context("--cpu")?;
    let mem = args
        .memory
        .as_deref()
        .map(Quantity::parse)
        .transpose()
        .context("--memory")?;
    if cpu.is_none() && mem.is_none() {
        bail!("the one-service form needs --cpu and/or --memory");
    }
    let request = Request {
        cpu_m: cpu.map_or(0, |q| q.millicores_ceil().0),
        memory_bytes: mem.map_or(0, Quantity::bytes_ceil),
    };
    let mut image = None;
    if let Some(r) = &args.image {
        let (layers, trace) = resolve_image_ref_traced(r, &reader()?)?;
        if printer.is_verbose() {
            verbose::print(printer, &verbose::image_brief("--image", &trace));
        }
        limits.image(&trace);
        input.images.insert(r.clone(), layers);
        image = Some(r.clone());
    }
    input.services.push(ServiceSpec {
        name: args.name.clone(),
        replicas: args.replicas,
        shape: PodShape {
            containers: vec![request],
            ..PodShape::default()
        },
        image,
        max_per_node: args.max_per_node,
    });
    Ok(input)
}

/// Runs `imgopt plan`.
pub fn run(args: &PlanArgs, printer: &mut Printer) -> anyhow::Result<ExitStatus> {
    if args.source.all_platforms {
        bail!("`imgopt plan` reads one platform of an image: use --platform OS/ARCH instead of --all-platforms");
    }
    let start = std::time::Instant::now();
    let reader = || ImageReader::new(args.source.to_options(std::io::stdin().lock())?);
    let mut limits = verbose::Limits::default();
    let mut input = match &args.file {
        Some(path) => {
            if !args.nodes.is_empty() || args.cpu.is_some() || args.memory.is_some() || args.image.is_some() {
                bail!("give either a plan FILE or the one-service flags (--node, --cpu, --memory, --image), not both");
            }
            let stdin_users = [
                path.as_os_str() == "-",
                args.source.password_stdin,
                args.manifests.as_ref().is_some_and(|m| m.as_os_str() == "-"),
            ];
            if stdin_users.iter().filter(|x| **x).count() > 1 {
                bail!("only one of the plan file (`-`), --manifests - and --password-stdin can read stdin");
            }
            from_file(
                path,
                args.allow_paths_outside_plan,
                args.manifests.as_deref(),
                printer,
                &reader,
                &mut limits,
            )?
        }
        None => match &args.manifests {
            Some(src) => from_manifests(args, src, printer)?,
            None => from_flags(args, printer, &reader, &mut limits)?,
        },
    };
    let read_time = start.elapsed();
    if let Some(u) = &args.target_utilization {
        let q = fraction(u, "target-utilization")?;
        if q.is_zero() || !q.at_most_one() {
            bail!("--target-utilization must be above 0 and at most 1, got `{u}`");
        }
        input.headroom.target_utilization = Some(q);
    }
    if let Some(s) = &args.surge {
        input.headroom.surge = Some(fraction(s, "surge")?);
    }
    if let Some(k) = args.spare_nodes {
        input.headroom.spare_nodes = k;
    }
    input.limits.exact_nodes = args.exact_node_limit;
    let (report, trace) = planner::plan_traced(&input).context("planning")?;
    if printer.is_verbose() {
        verbose::print(printer, &verbose::plan(&trace, &report));
        verbose::print(printer, &limits.values(&trace.limits).lines());
        printer.verbose(&format!(
            "{}time: input and images {}, total {}",
            verbose::PREFIX,
            verbose::duration(read_time),
            verbose::duration(start.elapsed())
        ));
    }
    printer.render(&Report::Plan(&report), args.format)?;
    if report.unschedulable.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        for u in &report.unschedulable {
            let why: Vec<String> = u.reasons.iter().map(|(t, r)| format!("{t}: {r}")).collect();
            printer.note(&format!(
                "error: service `{}` fits no node type ({})",
                u.service,
                why.join("; ")
            ));
        }
        Ok(ExitStatus::Failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_flag() {
        let t = node_from_flag("cpu=4,memory=16Gi,pods=110,reserved=gke,price=0.134", 0).unwrap();
        assert_eq!(
            (t.cpu_m, t.memory_mib, t.max_pods, t.reserved.name()),
            (4000, 16384, 110, "gke")
        );
        assert!(node_from_flag("cpu=4", 0).is_err());
        assert!(node_from_flag("cpu=4,memory=1Gi,reserved=nope", 0).is_err());
        assert!(node_from_flag("cpu=4,memory=1Gi,colour=red", 0).is_err());
        assert!((fraction("25%", "surge").unwrap().as_f64() - 0.25).abs() < 1e-12);
    }
}
