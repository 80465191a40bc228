//! The export's CSV files, written as RFC 4180 says, by a small writer of our own (the
//! engine has no CSV crate among its dependencies, and writing is the easy half of CSV).
//!
//! The files are meant to be opened by people, mostly in Excel or WPS, as well as read by
//! programs:
//! - UTF-8 with a byte-order mark. Without it Excel reads a CSV in the system's ANSI code
//!   page and Chinese turns to mojibake; with it both Excel and RFC 4180 readers that
//!   accept a BOM (pandas, Python's `csv` with `utf-8-sig`, LibreOffice) read the text
//!   intact.
//! - Records end with CRLF; a field is quoted when it holds a comma, a double quote, CR or
//!   LF, and a quote inside it is doubled. Every record has the header's number of fields
//!   (the table's width is a type parameter, so this holds by construction).
//! - Free text from callers and customers (what was said, notes, summaries) that starts
//!   with `=`, `+`, `-`, `@`, a tab or CR gets a leading `'`, so a spreadsheet shows it as
//!   text instead of running it as a formula (CSV injection, CWE-1236). `call.json` keeps
//!   every text exactly as it was.
//!
//! What deliberately does not live here: what the tables contain (`document.rs` decides,
//! `mod.rs` lays the rows out) and reading CSV.

/// Excel's cue that a CSV file is UTF-8.
pub(crate) const BOM: char = '\u{feff}';

/// A CSV table of `N` columns, built in memory.
#[derive(Debug)]
pub(crate) struct Table<const N: usize> {
    out: String,
}

impl<const N: usize> Table<N> {
    /// A table with its BOM and header row.
    pub(crate) fn new(header: [&str; N]) -> Table<N> {
        let mut table = Table { out: String::from(BOM) };
        table.record(header.iter().copied());
        table
    }

    /// Appends one record.
    pub(crate) fn row(&mut self, fields: [String; N]) {
        self.record(fields.iter().map(String::as_str));
    }

    fn record<'a>(&mut self, fields: impl Iterator<Item = &'a str>) {
        for (i, field) in fields.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_field(&mut self.out, field);
        }
        self.out.push_str("\r\n");
    }

    /// The file's bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

/// Appends `field`, quoted when RFC 4180 needs it to be.
pub(crate) fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Free text as a cell a spreadsheet will not evaluate (see the module's header).
pub(crate) fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// Optional free text; empty when absent.
pub(crate) fn opt_text(value: Option<&str>) -> String {
    value.map(text).unwrap_or_default()
}

/// Any displayable value, or empty when absent.
pub(crate) fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn field(value: &str) -> String {
        let mut out = String::new();
        push_field(&mut out, value);
        out
    }

    #[test]
    fn fields_are_quoted_only_when_rfc_4180_needs_it() {
        let cases = [
            ("plain", "plain"),
            ("", ""),
            ("您好，请问", "您好，请问"),
            (" spaces kept ", " spaces kept "),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("\"", "\"\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("cr\ronly", "\"cr\ronly\""),
            ("crlf\r\nend", "\"crlf\r\nend\""),
            ("all, \"of\"\nthem", "\"all, \"\"of\"\"\nthem\""),
        ];
        for (value, expected) in cases {
            assert_eq!(field(value), expected, "{value:?}");
        }
    }

    #[test]
    fn a_table_starts_with_a_bom_and_ends_every_record_with_crlf() {
        let mut table = Table::new(["a", "b"]);
        table.row(["1".into(), "x,y".into()]);
        table.row([String::new(), "中文".into()]);
        let text = String::from_utf8(table.into_bytes()).unwrap_or_default();
        assert_eq!(text, "\u{feff}a,b\r\n1,\"x,y\"\r\n,中文\r\n");
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_prefixed() {
        for risky in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(text(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["好的", "a=b", "1-2", "", "'quoted"] {
            assert_eq!(text(safe), safe, "{safe:?}");
        }
        assert_eq!(opt_text(None), "");
        assert_eq!(opt(Some(700.5)), "700.5");
        assert_eq!(opt(None::<u64>), "");
    }
}
