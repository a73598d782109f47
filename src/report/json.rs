//! The JSON renderer: every report model serialises itself; this writes it pretty-printed with
//! a trailing newline. Each model carries `schema_version` (see docs/json.md).

use std::io::{self, Write};

use serde::Serialize;

/// Writes `value` as pretty JSON followed by a newline.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    // `io::Error::from` keeps an I/O failure's kind (a broken pipe stays `BrokenPipe`, which the
    // CLI turns into exit 0); serialisation errors become `InvalidData`.
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
