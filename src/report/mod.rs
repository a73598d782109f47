//! Output formats and the one render seam. Core modules produce report models (plain data,
//! `Serialize`); [`render`] turns a [`Report`] into bytes in one [`Format`]. One folder per
//! format, one file per report kind: `human/`, `json.rs`, `markdown/`, `sarif/`, `junit/`,
//! `github/`.
//!
//! Adding a format is one new renderer file per report kind plus one arm in each kind's
//! `match format` below: the matches have no wildcard arms, so the compiler lists every pair
//! that is still missing. A pair that does not exist is an explicit [`RenderError::Unsupported`]
//! arm, and [`Kind::formats`] (what `--format` offers for a command) is checked against
//! [`render`] by a test.
//!
//! Owns: every byte imgopt prints as a result. Does not: compute anything.

pub mod explain;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::fmt;
use std::io::{self, Write};

use crate::analyze::AnalyzeReport;
use crate::capacity::CapacityReport;
use crate::check::CheckReport;
use crate::diag::{ColorChoice, Files, Printable};
use crate::diff::DiffReport;
use crate::dockerfile::report::ParseReport;
use crate::layers::{LayersReport, MultiPlatformReport};
use crate::plan::PlanReport;
use crate::rewrite::RewriteReport;

/// An output format, chosen with `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Format {
    /// Tables and rustc-style diagnostics for people (colour on a terminal).
    Human,
    /// Versioned JSON (`schema_version`), documented in docs/.
    Json,
    /// SARIF 2.1.0 for code-scanning (commands with findings).
    Sarif,
    /// GitHub-flavoured Markdown for pull-request comments.
    Markdown,
    /// JUnit XML for CI test-report views (`imgopt check`).
    Junit,
    /// GitHub Actions workflow commands: annotations on the lines that failed (`imgopt check`).
    Github,
    /// One self-contained HTML page (inline CSS and SVG, no scripts, no network).
    Html,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 7] = [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Markdown,
        Format::Junit,
        Format::Github,
        Format::Html,
    ];

    /// The name `--format` takes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Markdown => "markdown",
            Self::Junit => "junit",
            Self::Github => "github",
            Self::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of report imgopt renders, one per command output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `imgopt analyze`.
    Analyze,
    /// `imgopt parse`.
    Parse,
    /// `imgopt layers` (one platform or several).
    Layers,
    /// `imgopt plan`.
    Plan,
    /// `imgopt explain` (one rule or the list).
    Explain,
    /// `imgopt completions` (a shell script).
    Completions,
    /// `imgopt diff`.
    Diff,
    /// `imgopt analyze --diff`: the fixes as a unified diff.
    Patch,
    /// `imgopt check`.
    Check,
    /// `imgopt rewrite`.
    Rewrite,
    /// `imgopt report` (the capacity-planning report).
    Report,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 11] = [
        Kind::Patch,
        Kind::Analyze,
        Kind::Parse,
        Kind::Layers,
        Kind::Plan,
        Kind::Explain,
        Kind::Completions,
        Kind::Diff,
        Kind::Check,
        Kind::Rewrite,
        Kind::Report,
    ];

    /// The formats this kind of report has, for `--format` and its `--help`.
    #[must_use]
    pub fn formats(self) -> &'static [Format] {
        match self {
            Kind::Analyze => &[Format::Human, Format::Json, Format::Sarif, Format::Markdown],
            Kind::Layers | Kind::Plan | Kind::Explain | Kind::Diff => &[Format::Human, Format::Json, Format::Markdown],
            Kind::Parse | Kind::Rewrite => &[Format::Human, Format::Json],
            Kind::Completions | Kind::Patch => &[Format::Human],
            Kind::Check => &[
                Format::Human,
                Format::Json,
                Format::Sarif,
                Format::Junit,
                Format::Markdown,
                Format::Github,
            ],
            Kind::Report => &[Format::Html, Format::Markdown, Format::Json],
        }
    }

    /// The command that prints this kind of report.
    #[must_use]
    pub fn command(self) -> &'static str {
        match self {
            Kind::Analyze => "analyze",
            Kind::Parse => "parse",
            Kind::Layers => "layers",
            Kind::Plan => "plan",
            Kind::Explain => "explain",
            Kind::Completions => "completions",
            Kind::Diff => "diff",
            Kind::Patch => "analyze --diff",
            Kind::Check => "check",
            Kind::Rewrite => "rewrite",
            Kind::Report => "report",
        }
    }
}

/// How human output looks: colour, width and detail.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Colour codes in the output (human format only).
    pub color: ColorChoice,
    /// Columns human output should fit in (the terminal's width, or 100 when piped).
    pub width: usize,
    /// `-v`: more detail where a report has it (`parse` lists every instruction).
    pub verbose: bool,
}

impl Style {
    /// [`Style::width`] for renderers that count columns in `u16` (comfy-table's unit).
    #[must_use]
    pub fn width_u16(&self) -> u16 {
        u16::try_from(self.width).unwrap_or(u16::MAX)
    }
}

impl Default for Style {
    fn default() -> Self {
        Self {
            color: ColorChoice::Never,
            width: 100,
            verbose: false,
        }
    }
}

/// A report ready to render: the model, and what its renderers need beside it.
#[derive(Clone, Copy)]
pub enum Report<'a> {
    /// Findings of `imgopt analyze`, with the files they point into.
    Analyze(&'a AnalyzeReport, &'a Files),
    /// `imgopt parse`.
    Parse(&'a ParseReport),
    /// `imgopt layers` for one platform, with the number of rows per list.
    Layers(&'a LayersReport, usize),
    /// `imgopt layers --all-platforms`, with the number of rows per list.
    LayersMulti(&'a MultiPlatformReport, usize),
    /// `imgopt plan`.
    Plan(&'a PlanReport),
    /// `imgopt explain CODE` or `--list`.
    Explain(&'a explain::ExplainReport),
    /// `imgopt completions SHELL`: the script, as generated.
    Completions(&'a [u8]),
    /// `imgopt diff OLD NEW`.
    Diff(&'a DiffReport),
    /// `imgopt analyze --diff`: a unified diff, as generated.
    Patch(&'a str),
    /// `imgopt check`.
    Check(&'a CheckReport),
    /// `imgopt rewrite`.
    Rewrite(&'a RewriteReport),
    /// `imgopt report PLAN_FILE`.
    CapacityReport(&'a CapacityReport),
}

impl Report<'_> {
    /// The kind of report.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Report::Analyze(..) => Kind::Analyze,
            Report::Parse(_) => Kind::Parse,
            Report::Layers(..) | Report::LayersMulti(..) => Kind::Layers,
            Report::Plan(_) => Kind::Plan,
            Report::Explain(_) => Kind::Explain,
            Report::Completions(_) => Kind::Completions,
            Report::Diff(_) => Kind::Diff,
            Report::Patch(_) => Kind::Patch,
            Report::Check(_) => Kind::Check,
            Report::Rewrite(_) => Kind::Rewrite,
            Report::CapacityReport(_) => Kind::Report,
        }
    }
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The command has no such format.
    #[error("`imgopt {}` has no {format} output; use --format {}", kind.command(), list(kind.formats()))]
    Unsupported {
        /// The report.
        kind: Kind,
        /// The format asked for.
        format: Format,
    },
    /// Writing failed (a broken pipe keeps its kind).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// `human, json or markdown`.
fn list(formats: &[Format]) -> String {
    let names: Vec<&str> = formats.iter().map(|f| f.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    }
}

/// Writes `report` in `format` to `out`. Human text that quotes the user's input and writes
/// no colour of its own goes through [`Printable`], so control characters show as `?`.
pub fn render(report: &Report<'_>, format: Format, style: &Style, out: &mut dyn Write) -> Result<(), RenderError> {
    let unsupported = Err(RenderError::Unsupported {
        kind: report.kind(),
        format,
    });
    match *report {
        Report::Analyze(r, files) => match format {
            Format::Human => human::analyze::render_width(r, files, style.color, style.width, out)?,
            Format::Json => json::write(r, out)?,
            Format::Sarif => sarif::analyze::render(r, out)?,
            Format::Markdown => markdown::analyze::render(r, out)?,
            Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::Parse(r) => match format {
            Format::Human => human::parse::render(r, style.verbose, &mut Printable(out))?,
            Format::Json => json::write(r, out)?,
            Format::Sarif | Format::Markdown | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::Layers(r, top) => match format {
            Format::Human => human::layers::render_width(r, top, style.width_u16(), &mut Printable(out))?,
            Format::Json => json::write(r, out)?,
            Format::Markdown => markdown::layers::render(r, top, out)?,
            Format::Sarif | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::LayersMulti(m, top) => match format {
            Format::Human => human::layers::render_multi_width(m, top, style.width_u16(), &mut Printable(out))?,
            Format::Json => json::write(m, out)?,
            Format::Markdown => markdown::layers::render_multi(m, top, out)?,
            Format::Sarif | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::Plan(r) => match format {
            Format::Human => human::plan::render(r, &mut Printable(out))?,
            Format::Json => json::write(r, out)?,
            Format::Markdown => markdown::plan::render(r, out)?,
            Format::Sarif | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::Explain(r) => match format {
            Format::Human => human::explain::render(r, style.width, &mut Printable(out))?,
            Format::Json => json::write(&r.json(), out)?,
            Format::Markdown => markdown::explain::render(r, out)?,
            Format::Sarif | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::Diff(r) => match format {
            Format::Human => human::diff::render(r, style.width, &mut Printable(out))?,
            Format::Json => json::write(r, out)?,
            Format::Markdown => markdown::diff::render(r, out)?,
            Format::Sarif | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::Check(r) => match format {
            Format::Human => human::check::render(r, &mut Printable(out))?,
            Format::Json => json::write(r, out)?,
            Format::Sarif => sarif::check::render(r, out)?,
            Format::Junit => junit::check::render(r, out)?,
            Format::Markdown => markdown::check::render(r, out)?,
            Format::Github => github::check::render(r, out)?,
            Format::Html => return unsupported,
        },
        Report::Rewrite(r) => match format {
            Format::Human => human::rewrite::render(r, style.width, &mut Printable(out))?,
            Format::Json => json::write(r, out)?,
            Format::Sarif | Format::Markdown | Format::Junit | Format::Github | Format::Html => return unsupported,
        },
        Report::CapacityReport(r) => match format {
            Format::Html => html::capacity::render(r, out)?,
            Format::Markdown => markdown::capacity::render(r, out)?,
            Format::Json => json::write(r, out)?,
            Format::Human | Format::Sarif | Format::Junit | Format::Github => return unsupported,
        },
        Report::Patch(text) => match format {
            Format::Human => Printable(out).write_all(text.as_bytes())?,
            Format::Json | Format::Sarif | Format::Markdown | Format::Junit | Format::Github | Format::Html => {
                return unsupported;
            }
        },
        Report::Completions(script) => match format {
            Format::Human => out.write_all(script)?,
            Format::Json | Format::Sarif | Format::Markdown | Format::Junit | Format::Github | Format::Html => {
                return unsupported;
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Kind::formats` and `render` agree: every listed format renders, every other one is
    /// refused as unsupported (for the kinds whose sample report is cheap to make here).
    #[test]
    fn formats_table_matches_the_renderers() {
        let explain = explain::ExplainReport::list();
        let df = crate::dockerfile::parse(b"FROM alpine:3.20\nRUN true\n").expect("parses");
        let stages = crate::dockerfile::Stages::build(&df, &crate::dockerfile::StageOptions::default()).ok();
        let parse = ParseReport::new("Dockerfile", &df, stages.as_ref());
        let check = crate::check::CheckReport::new("built-in:default", Vec::new());
        let rewrite = crate::rewrite::rewrite_str(
            "Dockerfile",
            "FROM alpine:3.20\nRUN true\n",
            &crate::rewrite::Options::default(),
        )
        .expect("rewrites");
        let mut input = crate::plan::PlanInput::default();
        input.node_types.push(crate::plan::NodeTypeSpec::new(
            "n",
            4000,
            16384,
            110,
            crate::plan::ReservedModel::preset("gke").expect("preset"),
        ));
        let plan = crate::plan::plan(&input).expect("plans");
        let capacity = CapacityReport::new("t", &input, plan, None, Vec::new());
        let samples = [
            Report::CapacityReport(&capacity),
            Report::Explain(&explain),
            Report::Parse(&parse),
            Report::Completions(b"complete\n"),
            Report::Check(&check),
            Report::Rewrite(&rewrite),
        ];
        for sample in samples {
            for format in Format::ALL {
                let mut out = Vec::new();
                let result = render(&sample, format, &Style::default(), &mut out);
                let listed = sample.kind().formats().contains(&format);
                assert_eq!(result.is_ok(), listed, "{:?} in {format}: {result:?}", sample.kind());
                if !listed {
                    assert!(out.is_empty());
                }
            }
        }
    }

    #[test]
    fn unsupported_is_worded_once() {
        let e = RenderError::Unsupported {
            kind: Kind::Layers,
            format: Format::Sarif,
        };
        assert_eq!(
            e.to_string(),
            "`imgopt layers` has no sarif output; use --format human, json or markdown"
        );
        let e = RenderError::Unsupported {
            kind: Kind::Completions,
            format: Format::Json,
        };
        assert_eq!(
            e.to_string(),
            "`imgopt completions` has no json output; use --format human"
        );
    }
}
