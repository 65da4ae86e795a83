//! Plate maps: what each well holds. A CSV with a header naming at least
//! `well` and `role`, and optionally `plate` (the layout applies to that
//! plate only; rows without a plate apply to every plate without its own
//! layout), `compound` (the registry id) and `concentration` (mol/L).
//! Roles: `sample`, `neutral` (also `negative`, `neg`, `dmso`), `positive`
//! (`pos`), `blank` (`empty`). Wells the map does not name are blank.

use std::collections::HashMap;

use crate::layout::{Format, Well};
use crate::plate::Role;
use crate::reader::PlateFileError;

/// What one well holds.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// Its role.
    pub role: Role,
    /// The compound's registry id, for samples.
    pub compound: Option<String>,
    /// Concentration, mol/L.
    pub concentration: Option<f64>,
}

/// Layouts by plate; `""` is the layout of plates without their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlateMap {
    layouts: HashMap<String, HashMap<Well, MapEntry>>,
}

/// One plate's layout on a format.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Role per well, row by row.
    pub roles: Vec<Role>,
    /// Entry per well (`None` for blanks the map does not name).
    pub entries: Vec<Option<MapEntry>>,
}

fn role(text: &str) -> Option<Role> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "sample" | "compound" | "s" => Role::Sample,
        "neutral" | "negative" | "neg" | "dmso" | "n" => Role::Neutral,
        "positive" | "pos" | "p" => Role::Positive,
        "blank" | "empty" | "b" | "" => Role::Blank,
        _ => return None,
    })
}

impl PlateMap {
    /// Reads a plate map; every bad row is reported and none is kept.
    pub fn from_csv(text: &str) -> Result<PlateMap, Vec<PlateFileError>> {
        let whole = |reason: String| vec![PlateFileError { line: 1, reason }];
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| whole(e.to_string()))?.clone();
        let column = |names: &[&str]| {
            headers.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let (Some(wi), Some(ri)) = (column(&["well"]), column(&["role", "type", "content"])) else {
            return Err(whole("a plate map needs 'well' and 'role' columns".into()));
        };
        let pi = column(&["plate", "barcode"]);
        let ci = column(&["compound", "compound id", "registry id"]);
        let xi = column(&["concentration"]);
        let mut map = PlateMap::default();
        let mut errors = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    errors.push(PlateFileError { line, reason: e.to_string() });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let field = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
            let mut bad = |reason: String| errors.push(PlateFileError { line, reason });
            let well = match Format::W1536.well(field(Some(wi))) {
                Ok(w) => w,
                Err(e) => {
                    bad(e.to_string());
                    continue;
                }
            };
            let Some(role) = role(field(Some(ri))) else {
                bad(format!(
                    "role '{}' is not one of sample, neutral, positive, blank",
                    field(Some(ri))
                ));
                continue;
            };
            let concentration = match field(xi) {
                "" => None,
                x => match x.parse::<f64>() {
                    Ok(c) if c.is_finite() && c > 0.0 => Some(c),
                    _ => {
                        bad(format!("concentration '{x}' is not a positive number (mol/L)"));
                        continue;
                    }
                },
            };
            let compound = Some(field(ci).to_owned()).filter(|c| !c.is_empty());
            let layout = map.layouts.entry(field(pi).to_owned()).or_default();
            if layout.insert(well, MapEntry { role, compound, concentration }).is_some() {
                bad(format!("well {well} of plate '{}' is mapped twice", field(pi)));
            }
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    /// The layout of `plate` on `format`: its own, else the default one;
    /// `None` when there is neither, or a mapped well is off the format.
    pub fn layout(&self, plate: &str, format: Format) -> Option<Layout> {
        let wells = self.layouts.get(plate).or_else(|| self.layouts.get(""))?;
        let mut entries = vec![None; format.wells()];
        let (rows, cols) = format.shape();
        for (well, entry) in wells {
            if well.row >= rows || well.col >= cols {
                return None;
            }
            entries[well.index(format)] = Some(entry.clone());
        }
        let roles = entries.iter().map(|e| e.as_ref().map_or(Role::Blank, |e| e.role)).collect();
        Some(Layout { roles, entries })
    }

    /// The smallest format holding every well of `plate`'s layout.
    pub fn format(&self, plate: &str) -> Option<Format> {
        let wells = self.layouts.get(plate).or_else(|| self.layouts.get(""))?;
        let rows = wells.keys().map(|w| w.row + 1).max()?;
        let cols = wells.keys().map(|w| w.col + 1).max()?;
        [Format::W96, Format::W384, Format::W1536].into_iter().find(|f| {
            let (r, c) = f.shape();
            rows <= r && cols <= c
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_and_own_layouts() {
        let text = "plate,well,role,compound,concentration\n\
                    ,A1,neutral,,\n,A2,positive,,\n,A3,sample,SY-1,1e-5\n\
                    P9,A1,sample,SY-2,1e-6\n";
        let map = PlateMap::from_csv(text).unwrap();
        let shared = map.layout("P1", Format::W96).unwrap();
        assert_eq!(shared.roles[..4], [Role::Neutral, Role::Positive, Role::Sample, Role::Blank]);
        assert_eq!(shared.entries[2].as_ref().unwrap().compound.as_deref(), Some("SY-1"));
        let own = map.layout("P9", Format::W96).unwrap();
        assert_eq!(own.roles[0], Role::Sample);
        assert_eq!(map.format("P9"), Some(Format::W96));
    }

    #[test]
    fn bad_rows_are_all_reported() {
        let text = "well,role,concentration\nA1,sample,1e-6\nZZ9,sample,\nA2,control,\nA3,sample,-1\nA1,neutral,\n";
        let errors = PlateMap::from_csv(text).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{errors:?}");
        assert!(errors[1].reason.contains("'control'"));
        assert!(errors[3].reason.contains("mapped twice"));
        assert!(PlateMap::from_csv("a,b\n1,2\n").is_err());
    }
}
