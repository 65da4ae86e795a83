//! A streaming SD-file splitter. It only cuts the text into records (mol block
//! plus data items) and remembers where each began; the mol block itself is
//! parsed by RDKit, so V2000 and V3000 are both understood.

use std::io::BufRead;

/// One record of an SD file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdfRecord {
    /// 1-based record number in the file.
    pub number: u64,
    /// 1-based line number of the record's first line.
    pub line: u64,
    /// The mol block, up to and including `M  END`.
    pub molblock: String,
    /// The data items (`> <NAME>` followed by value lines), in file order.
    pub data: Vec<(String, String)>,
}

impl SdfRecord {
    /// The first line of the mol block, which SD files use as the record name.
    pub fn title(&self) -> &str {
        self.molblock.lines().next().unwrap_or("").trim()
    }

    /// The value of the data item `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The largest SD record read: a mol block of the largest structure
/// accepted (see [`crate::limits`]) is well under a megabyte; data items
/// make up the rest.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Iterates over the records of an SD file.
pub struct SdfReader<R> {
    input: R,
    line: u64,
    number: u64,
    buf: String,
}

/// Appends one SD record to `out`: the mol block under `title` (its first
/// line replaced), then each data item, then `$$$$`.
pub fn write_record(out: &mut String, title: &str, molblock: &str, data: &[(&str, String)]) {
    let body = molblock.split_once('\n').map_or("", |(_, rest)| rest);
    out.push_str(title);
    out.push('\n');
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    for (name, value) in data {
        out.push_str(&format!(">  <{name}>\n{value}\n\n"));
    }
    out.push_str("$$$$\n");
}

impl<R: BufRead> SdfReader<R> {
    /// Reads records from `input`.
    pub fn new(input: R) -> SdfReader<R> {
        SdfReader { input, line: 0, number: 0, buf: String::new() }
    }

    /// Records read so far, good or not.
    pub fn records_read(&self) -> u64 {
        self.number
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// Drops the rest of the record being read (to its `$$$$`, past lines
    /// that cannot be read) and counts it.
    fn skip_record(&mut self) -> std::io::Result<()> {
        self.number += 1;
        loop {
            match self.next_line() {
                Ok(Some(line)) if line.starts_with("$$$$") => return Ok(()),
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                // Another unreadable line of the same record.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Drops the rest of a record past [`MAX_RECORD_BYTES`] and reports it.
    fn skip_oversized(&mut self) -> std::io::Result<SdfRecord> {
        self.skip_record()?;
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "SD record {} ends at line {} and is over {MAX_RECORD_BYTES} bytes; it was skipped",
                self.number, self.line
            ),
        ))
    }

    fn next_line(&mut self) -> std::io::Result<Option<&str>> {
        self.buf.clear();
        if self.input.read_line(&mut self.buf)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        Ok(Some(self.buf.trim_end_matches(['\n', '\r'])))
    }
}

impl<R: BufRead> Iterator for SdfReader<R> {
    type Item = std::io::Result<SdfRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut molblock = String::new();
        let mut data = Vec::new();
        let mut in_block = true;
        let mut pending: Option<(String, String)> = None;
        let mut start = None;
        let mut size = 0usize;
        loop {
            let line = match self.next_line() {
                Ok(Some(l)) => l.to_owned(),
                Ok(None) => break,
                // The record is unreadable: report it once, go on after it.
                Err(e) => return Some(self.skip_record().and(Err(e))),
            };
            size += line.len() + 1;
            if size > MAX_RECORD_BYTES {
                return Some(self.skip_oversized());
            }
            if start.is_none() {
                if line.trim().is_empty() && molblock.is_empty() && self.peek_is_blank_tail() {
                    continue;
                }
                start = Some(self.line);
            }
            if line.starts_with("$$$$") {
                if let Some(item) = pending.take() {
                    data.push(item);
                }
                self.number += 1;
                return Some(Ok(SdfRecord {
                    number: self.number,
                    line: start.unwrap_or(self.line),
                    molblock,
                    data,
                }));
            }
            if in_block {
                molblock.push_str(&line);
                molblock.push('\n');
                if line.starts_with("M  END") {
                    in_block = false;
                }
            } else if let Some(name) = data_header(&line) {
                if let Some(item) = pending.take() {
                    data.push(item);
                }
                pending = Some((name, String::new()));
            } else if let Some((_, value)) = pending.as_mut() {
                if line.is_empty() {
                    data.push(pending.take().expect("pending item"));
                } else {
                    if !value.is_empty() {
                        value.push('\n');
                    }
                    value.push_str(&line);
                }
            }
        }
        // End of input: a final record without `$$$$` still counts.
        if molblock.trim().is_empty() {
            return None;
        }
        if let Some(item) = pending.take() {
            data.push(item);
        }
        self.number += 1;
        Some(Ok(SdfRecord {
            number: self.number,
            line: start.unwrap_or(self.line),
            molblock,
            data,
        }))
    }
}

impl<R: BufRead> SdfReader<R> {
    /// Whether only blank lines remain; lets trailing blank lines after the
    /// last `$$$$` end the file instead of starting an empty record.
    fn peek_is_blank_tail(&mut self) -> bool {
        match self.input.fill_buf() {
            Ok(rest) => rest.iter().all(|b| b.is_ascii_whitespace()),
            Err(_) => false,
        }
    }
}

fn data_header(line: &str) -> Option<String> {
    let rest = line.strip_prefix('>')?;
    let open = rest.find('<')?;
    let close = rest[open + 1..].find('>')?;
    Some(rest[open + 1..open + 1 + close].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "ethanol\n  RDKit\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0\n    0.0000    0.0000    0.0000 C   0  0\n    0.0000    0.0000    0.0000 O   0  0\n  1  2  1  0\n  2  3  1  0\nM  END\n> <ID>\nE-1\n\n> <NOTE>\nline one\nline two\n\n$$$$\nbroken\n\n\nnot a counts line\nM  END\n$$$$\n";

    #[test]
    fn splits_records_with_numbers_and_data() {
        let recs: Vec<_> = SdfReader::new(TWO.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].title(), "ethanol");
        assert_eq!(recs[0].get("ID"), Some("E-1"));
        assert_eq!(recs[0].get("NOTE"), Some("line one\nline two"));
        assert_eq!((recs[1].number, recs[1].line), (2, 19));
        assert_eq!(recs[1].title(), "broken");
        let m = crate::Molecule::from_molblock(&recs[0].molblock).unwrap();
        assert_eq!(m.canonical_smiles(), "CCO");
        assert!(crate::Molecule::from_molblock(&recs[1].molblock).is_err());
    }

    #[test]
    fn last_record_without_terminator_counts() {
        let text = TWO.trim_end_matches("$$$$\n");
        assert_eq!(SdfReader::new(text.as_bytes()).count(), 2);
        assert_eq!(SdfReader::new("\n\n".as_bytes()).count(), 0);
    }
}
