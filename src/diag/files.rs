//! The source-file database: path, text and line starts, so spans become `file:line:col`.

use std::ops::Range;

/// Index of a file in [`Files`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

#[derive(Debug)]
struct File {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

/// Files that diagnostics point into. Text is kept as read (lossily decoded only for display).
#[derive(Debug, Default)]
pub struct Files {
    files: Vec<File>,
}

impl Files {
    /// An empty database.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        self.files.push(File {
            name: name.into(),
            text,
            line_starts,
        });
        FileId(self.files.len() - 1)
    }

    /// The file's display name.
    #[must_use]
    pub fn name(&self, id: FileId) -> &str {
        &self.files[id.0].name
    }

    /// The file's text.
    #[must_use]
    pub fn text(&self, id: FileId) -> &str {
        &self.files[id.0].text
    }

    /// All line start offsets of the file.
    #[must_use]
    pub fn line_starts(&self, id: FileId) -> &[usize] {
        &self.files[id.0].line_starts
    }

    /// 0-based line index containing byte `offset`.
    #[must_use]
    pub fn line_index(&self, id: FileId, offset: usize) -> usize {
        let starts = &self.files[id.0].line_starts;
        match starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    #[must_use]
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let f = &self.files[id.0];
        let offset = offset.min(f.text.len());
        let line = self.line_index(id, offset);
        let start = f.line_starts[line];
        let col = f.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line + 1, col)
    }

    /// Byte range of the 0-based line `line` (without its line break).
    #[must_use]
    pub fn line_range(&self, id: FileId, line: usize) -> Option<Range<usize>> {
        let f = &self.files[id.0];
        let start = *f.line_starts.get(line)?;
        let end = f.line_starts.get(line + 1).map_or(f.text.len(), |e| e - 1);
        Some(start..end.max(start))
    }

    /// Number of files.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the database is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let mut files = Files::new();
        let id = files.add("Dockerfile", "FROM a\nRUN b\n");
        assert_eq!(files.line_col(id, 0), (1, 1));
        assert_eq!(files.line_col(id, 7), (2, 1));
        assert_eq!(files.line_col(id, 11), (2, 5));
        assert_eq!(files.line_range(id, 1), Some(7..12));
    }
}
