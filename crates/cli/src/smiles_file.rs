//! `SMILES [name]` files, one molecule per line, as `search similar
//! --queries`, `predict admet --input`, `models predict --input` and `dock
//! screen --input` read them.
//! Blank lines and lines starting with `#` are skipped; each entry keeps its
//! line number so a molecule that fails can be found in the file.

use std::path::Path;

use anyhow::Result;

/// One line of a SMILES file.
pub(crate) struct Entry {
    /// 1-based line number.
    pub line: usize,
    pub smiles: String,
    /// The second field, when there is one.
    pub name: Option<String>,
}

impl Entry {
    /// The name, or `line N` for an unnamed molecule.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("line {}", self.line))
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<Entry>> {
    Ok(parse(&fs_err::read_to_string(path)?))
}

fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let mut fields = line.split_whitespace();
            let smiles = fields.next().filter(|s| !s.starts_with('#'))?;
            Some(Entry {
                line: n + 1,
                smiles: smiles.to_owned(),
                name: fields.next().map(str::to_owned),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_skipped_and_line_numbers_kept() {
        let entries = parse("# header\nCCO ethanol\n\n  c1ccccc1  \n#CC commented\n");
        let got: Vec<_> = entries.iter().map(|e| (e.line, e.smiles.as_str(), e.label())).collect();
        assert_eq!(got, [(2, "CCO", "ethanol".to_owned()), (4, "c1ccccc1", "line 4".to_owned())]);
    }
}
