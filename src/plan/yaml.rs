//! A small YAML document tree with byte spans on every node, built from `saphyr-parser`
//! events, so plan-file and manifest errors can point at the exact value.
//!
//! Owns: turning YAML text into [`Yaml`] nodes (maps keep key order and key spans; aliases
//! are expanded; multi-document streams give several roots). Does not: interpret any keys.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A YAML node with its byte span.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Yaml {
    pub node: Node,
    pub span: Range<usize>,
}

/// The node kinds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// A scalar: its text and whether it was quoted (quoted scalars are always strings).
    Scalar { text: String, quoted: bool },
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping, in document order.
    Map(Vec<(Yaml, Yaml)>),
}

impl Yaml {
    /// The kind of node, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match &self.node {
            Node::Scalar { text, quoted } if !quoted && is_null(text) => "null",
            Node::Scalar { .. } => "a scalar",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// Whether the node is a YAML null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        matches!(&self.node, Node::Scalar { text, quoted: false } if is_null(text))
    }

    /// The scalar text, if a scalar (null included as `""`).
    pub fn scalar(&self) -> Option<&str> {
        match &self.node {
            Node::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Looks a key up in a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match &self.node {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.scalar() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a path of keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Yaml> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A syntax error at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub offset: usize,
}

/// Nodes that alias expansion may create before the document is rejected ("billion laughs").
pub(crate) const MAX_EXPANDED: usize = 1_000_000;

fn size(y: &Yaml) -> usize {
    match &y.node {
        Node::Scalar { .. } => 1,
        Node::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map(entries) => 1 + entries.iter().map(|(k, v)| size(k) + size(v)).sum::<usize>(),
    }
}

struct Builder<'a> {
    /// Byte offset of every character index (only when the text is not ASCII).
    char_to_byte: Option<Vec<usize>>,
    text: &'a str,
    anchors: HashMap<usize, Yaml>,
}

impl Builder<'_> {
    fn byte(&self, char_index: usize) -> usize {
        match &self.char_to_byte {
            None => char_index.min(self.text.len()),
            Some(v) => v.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn range(&self, span: Span) -> Range<usize> {
        self.byte(span.start.index())..self.byte(span.end.index())
    }
}

/// Parses every document of a YAML stream.
pub(crate) fn parse(text: &str) -> Result<Vec<Yaml>, SyntaxError> {
    let char_to_byte = (!text.is_ascii()).then(|| {
        text.char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(text.len()))
            .collect()
    });
    let mut b = Builder {
        char_to_byte,
        text,
        anchors: HashMap::new(),
    };
    let mut parser = Parser::new_from_str(text);
    // Stack of open containers: (start, kind, items).
    enum Open {
        Seq(usize, usize, Vec<Yaml>),
        Map(usize, usize, Vec<Yaml>),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut docs = Vec::new();
    let mut current: Option<Yaml> = None;
    let mut expanded = 0usize;
    while let Some(ev) = parser.next_event() {
        let (event, span) = ev.map_err(|e| SyntaxError {
            message: e.info().to_string(),
            offset: b.byte(e.marker().index()),
        })?;
        let mut done: Option<(Yaml, usize)> = None;
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => {}
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if let Some(d) = current.take() {
                    docs.push(d);
                }
            }
            Event::Alias(id) => {
                let r = b.range(span);
                let mut y = b.anchors.get(&id).cloned().ok_or(SyntaxError {
                    message: "unknown alias".to_string(),
                    offset: r.start,
                })?;
                expanded += size(&y);
                if expanded > MAX_EXPANDED {
                    return Err(SyntaxError {
                        message: "aliases expand to too many nodes".to_string(),
                        offset: r.start,
                    });
                }
                y.span = r;
                done = Some((y, 0));
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                done = Some((
                    Yaml {
                        node: Node::Scalar {
                            text: text.into_owned(),
                            quoted,
                        },
                        span: b.range(span),
                    },
                    anchor,
                ));
            }
            Event::SequenceStart(anchor, _) => stack.push(Open::Seq(b.byte(span.start.index()), anchor, Vec::new())),
            Event::MappingStart(anchor, _) => stack.push(Open::Map(b.byte(span.start.index()), anchor, Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => {
                let end = b.byte(span.end.index());
                match stack.pop() {
                    Some(Open::Seq(start, anchor, items)) => {
                        let end = items.last().map_or(end, |l| l.span.end.max(end));
                        done = Some((
                            Yaml {
                                node: Node::Seq(items),
                                span: start..end.max(start),
                            },
                            anchor,
                        ));
                    }
                    Some(Open::Map(start, anchor, items)) => {
                        let end = items.last().map_or(end, |l| l.span.end.max(end));
                        let mut pairs = Vec::new();
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        done = Some((
                            Yaml {
                                node: Node::Map(pairs),
                                span: start..end.max(start),
                            },
                            anchor,
                        ));
                    }
                    None => {}
                }
            }
        }
        if let Some((y, anchor)) = done {
            if anchor != 0 {
                b.anchors.insert(anchor, y.clone());
            }
            match stack.last_mut() {
                Some(Open::Seq(_, _, items) | Open::Map(_, _, items)) => items.push(y),
                None => current = Some(y),
            }
        }
    }
    if let Some(d) = current.take() {
        docs.push(d);
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let text = "a: 1\nb:\n  - x\n  - {c: \"500m\"}\n";
        let docs = parse(text).unwrap();
        let root = &docs[0];
        let c = root.path(&["b"]).unwrap();
        let Node::Seq(items) = &c.node else { panic!() };
        let v = items[1].get("c").unwrap();
        assert_eq!(v.scalar(), Some("500m"));
        assert_eq!(&text[v.span.clone()], "\"500m\"");
        assert_eq!(&text[root.get("a").unwrap().span.clone()], "1");
    }

    #[test]
    fn multi_documents_aliases_and_errors() {
        let docs = parse("a: &x 5\nb: *x\n---\nc: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("b").unwrap().scalar(), Some("5"));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(parse(bomb).is_err());
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.offset > 0, "{err:?}");
        // Non-ASCII text keeps byte offsets right.
        let text = "é: \"ü\"\nk: v\n";
        let d = parse(text).unwrap();
        assert_eq!(&text[d[0].get("k").unwrap().span.clone()], "v");
    }
}
