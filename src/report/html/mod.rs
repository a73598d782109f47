//! HTML renderers: one self-contained page per report kind (inline CSS and SVG, no scripts,
//! nothing loaded from the network), and the escapes and chart pieces they share.
//!
//! Every string a renderer takes from its input (service, node-type and image names, digests,
//! file names, messages that quote them) goes through [`esc`]: it can hold anything a plan file
//! or an image holds. Attribute values are always double-quoted and escaped the same way.

pub mod capacity;

use std::fmt::Write as _;

/// A character shown as `?`: control characters other than line breaks and tabs, and the
/// Unicode controls that reorder the text around them (so a name cannot display as something
/// it is not).
fn hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t')) || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` escaped for HTML text and double-quoted attribute values: `&`, `<`, `>`, `"` and `'`
/// as character references, hidden characters as `?`.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if hidden(c) => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// A number exactly as the JSON report writes it (shortest text that reads back the same).
#[must_use]
pub fn json_num(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| x.to_string())
}

/// `1234567` as `1,234,567`.
#[must_use]
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as MiB with one decimal (`12.5 MiB`).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// A share (0..=1) as a whole percentage.
#[must_use]
pub fn pct(share: f64) -> String {
    format!("{:.0}%", (share * 100.0).round())
}

/// Fill patterns so that no chart tells segments apart by colour alone: `solid`, `hatch`
/// (diagonal lines), `dots`. Put once in the page; segments use `fill="url(#hatch)"`.
pub const PATTERNS: &str = r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4c7a1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b4561b" stroke-width="2.5"/></pattern><pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" fill="#cfe0f3"/><circle cx="2.5" cy="2.5" r="1.3" fill="#2f5f98"/></pattern><pattern id="grid" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#e7e2f4"/><path d="M0 0H6M0 0V6" stroke="#6a51a3" stroke-width="1.2"/></pattern></defs></svg>"##;

/// One horizontal bar segment of a stacked bar, with its hover title.
pub struct Segment<'a> {
    /// Share of the full bar (0..=1).
    pub share: f64,
    /// SVG fill (`#2e7d5b`, `url(#hatch)`).
    pub fill: &'a str,
    /// Hover text (escaped here).
    pub title: String,
}

/// Writes a stacked horizontal bar at (`x`, `y`) of full width `w` and height `h`.
pub fn stacked_bar(out: &mut String, x: f64, y: f64, w: f64, h: f64, segments: &[Segment<'_>]) {
    let _ = write!(
        out,
        r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#f3f4f6" stroke="#9aa3ad" stroke-width="0.5"/>"##
    );
    let mut at = x;
    for s in segments {
        let sw = (s.share.clamp(0.0, 1.0) * w).max(0.0);
        if sw <= 0.0 {
            continue;
        }
        let _ = write!(
            out,
            r##"<rect x="{at:.1}" y="{y:.1}" width="{sw:.1}" height="{h:.1}" fill="{}" stroke="#ffffff" stroke-width="0.5"><title>{}</title></rect>"##,
            s.fill,
            esc(&s.title)
        );
        at += sw;
    }
}

/// Writes SVG text (escaped) at (`x`, `y`); `anchor` is `start`, `middle` or `end`.
pub fn text(out: &mut String, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
        esc(s)
    );
}

/// A legend swatch and its label (for the text beside a chart).
#[must_use]
pub fn swatch(fill: &str, label: &str) -> String {
    format!(
        r##"<span class="key"><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" fill="{fill}" stroke="#555" stroke-width="0.6"/></svg> {}</span>"##,
        esc(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>\u{1b}[31m\u{202e}"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;?[31m?"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(json_num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(json_num(3.0), "3.0");
    }
}
