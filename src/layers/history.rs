//! Aligning the config's history with the layers.
//!
//! Owns: which history step made which layer. Steps marked `empty_layer` (ENV, CMD, WORKDIR,
//! ...) made no layer and are skipped; the rest pair with the layers bottom first, as dive and
//! `docker history` do. Does not: parse Dockerfiles.

use crate::source::History;

/// The history step that made a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Index in the config's `history` array.
    pub index: usize,
    /// `created_by` as written.
    pub created_by: String,
}

/// Pairs `layers` layers with the non-empty history steps. Returns one entry per layer
/// (`None` when the history has too few steps) and a warning when the counts differ.
#[must_use]
pub fn align(history: &[History], layers: usize) -> (Vec<Option<Step>>, Option<String>) {
    let steps: Vec<Step> = history
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.empty_layer)
        .map(|(index, h)| Step { index, created_by: h.created_by.clone() })
        .collect();
    let warning = (!history.is_empty() && steps.len() != layers).then(|| {
        format!(
            "the config's history has {} steps that made layers, but the image has {layers} layers; steps were paired bottom first",
            steps.len()
        )
    });
    let mut out: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    out.resize(layers, None);
    out.truncate(layers);
    (out, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(by: &str, empty: bool) -> History {
        History { created_by: by.into(), empty_layer: empty, created: None, comment: None }
    }

    #[test]
    fn skips_empty_layer_steps() {
        let hist = [h("ADD rootfs", false), h("CMD bash", true), h("RUN apt", false), h("ENV A=1", true), h("COPY app", false), h("USER app", true)];
        let (steps, warn) = align(&hist, 3);
        assert!(warn.is_none());
        let got: Vec<(usize, &str)> = steps.iter().map(|s| s.as_ref().map(|s| (s.index, s.created_by.as_str())).unwrap()).collect();
        assert_eq!(got, [(0, "ADD rootfs"), (2, "RUN apt"), (4, "COPY app")]);
    }

    #[test]
    fn warns_when_counts_differ() {
        let (steps, warn) = align(&[h("ADD rootfs", false)], 2);
        assert!(warn.unwrap().contains("1 steps"));
        assert_eq!(steps[1], None);
        let (steps, _) = align(&[], 2);
        assert_eq!(steps, [None, None]);
    }
}
