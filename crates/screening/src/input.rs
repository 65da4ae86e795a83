//! Reading concentration–response files: CSV with the header
//! `compound,concentration,response` (concentration in mol/L), any column
//! order, one row per point. Bad rows are reported with their line and
//! reason and skipped; the good ones are kept.

/// The points of one compound, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The compound as named in the file.
    pub compound: String,
    /// Concentrations, mol/L.
    pub concentration: Vec<f64>,
    /// Responses.
    pub response: Vec<f64>,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line in the file.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// A file that cannot be read as a whole.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The header lacks a column.
    #[error("the header has no '{0}' column; it needs compound, concentration and response")]
    MissingColumn(&'static str),
    /// The CSV itself is broken.
    #[error("unreadable CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Reads the series of a concentration–response CSV, compounds in order of
/// first appearance.
pub fn read_dose_response(
    input: impl std::io::Read,
) -> Result<(Vec<Series>, Vec<BadRow>), InputError> {
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(input);
    let headers = reader.headers()?.clone();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or(InputError::MissingColumn(name))
    };
    let (ci, xi, yi) = (column("compound")?, column("concentration")?, column("response")?);
    let mut series: Vec<Series> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        let number = |i: usize, what: &str| {
            field(i).parse::<f64>().map_err(|_| format!("{what} '{}' is not a number", field(i)))
        };
        let parsed = (|| {
            let compound = field(ci);
            if compound.is_empty() {
                return Err("no compound name".to_owned());
            }
            let x = number(xi, "concentration")?;
            if !(x.is_finite() && x > 0.0) {
                return Err(format!("concentration {x} must be positive (mol/L)"));
            }
            Ok((compound.to_owned(), x, number(yi, "response")?))
        })();
        match parsed {
            Ok((compound, x, y)) => {
                let at = *index.entry(compound.clone()).or_insert_with(|| {
                    series.push(Series {
                        compound,
                        concentration: Vec::new(),
                        response: Vec::new(),
                    });
                    series.len() - 1
                });
                series[at].concentration.push(x);
                series[at].response.push(y);
            }
            Err(reason) => bad.push(BadRow { line, reason }),
        }
    }
    Ok((series, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_land_and_bad_ones_are_reported() {
        let text =
            "response,compound,concentration\n10,a,1e-6\nx,a,1e-5\n20,b,1e-6\n30,a,-1\n40,a,1e-4\n";
        let (series, bad) = read_dose_response(text.as_bytes()).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].response, [10.0, 40.0]);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), [3, 5]);
        assert!(bad[0].reason.contains("not a number") && bad[1].reason.contains("positive"));
        assert!(matches!(
            read_dose_response("a,b\n".as_bytes()),
            Err(InputError::MissingColumn("compound"))
        ));
    }
}
