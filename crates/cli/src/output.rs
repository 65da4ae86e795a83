//! Printing: human tables or JSON Lines, chosen per command with `--format`.

use clap::ValueEnum;
use serde_json::Value;

/// How a command prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON object per line for programs.
    Json,
}

/// Prints `rows` (all objects with the same keys, in order) as JSON Lines or
/// as a table with those keys as column heads.
pub(crate) fn print_rows(format: OutputFormat, columns: &[&str], rows: &[Value]) {
    match format {
        OutputFormat::Json => {
            for row in rows {
                println!("{row}");
            }
        }
        OutputFormat::Table => {
            let cells: Vec<Vec<String>> =
                rows.iter().map(|r| columns.iter().map(|c| plain(&r[*c])).collect()).collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([c.chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |values: Vec<String>| {
                let padded: Vec<String> = values
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v}{}", " ".repeat(w - v.chars().count())))
                    .collect();
                println!("{}", padded.join("  ").trim_end());
            };
            line(columns.iter().map(|c| c.to_string()).collect());
            for row in cells {
                line(row);
            }
        }
    }
}

/// Rows printed one at a time as they arrive (a table without alignment:
/// the widths are not known in advance).
pub(crate) struct RowStream<'a> {
    format: OutputFormat,
    columns: &'a [&'a str],
    header_done: bool,
}

impl<'a> RowStream<'a> {
    pub(crate) fn new(format: OutputFormat, columns: &'a [&'a str]) -> RowStream<'a> {
        RowStream { format, columns, header_done: false }
    }

    pub(crate) fn push(&mut self, row: &Value) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the output, not the program's work.
        let _ = match self.format {
            OutputFormat::Json => writeln!(out, "{row}"),
            OutputFormat::Table => {
                if !std::mem::replace(&mut self.header_done, true) {
                    let _ = writeln!(out, "{}", self.columns.join("  "));
                }
                let cells: Vec<String> = self.columns.iter().map(|c| plain(&row[*c])).collect();
                writeln!(out, "{}", cells.join("  "))
            }
        };
        let _ = out.flush();
    }
}

/// Prints one record: JSON on one line, or `key  value` lines.
pub(crate) fn print_record(format: OutputFormat, record: &Value) {
    match format {
        OutputFormat::Json => println!("{record}"),
        OutputFormat::Table => {
            if let Value::Object(map) = record {
                let width = map.keys().map(|k| k.chars().count()).max().unwrap_or(0);
                for (k, v) in map {
                    println!("{k}{}  {}", " ".repeat(width - k.chars().count()), plain(v));
                }
            }
        }
    }
}

/// A JSON value as a table cell: strings bare, floats to 3 decimals.
pub(crate) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or(0.0)),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}
