//! Plate-reader files in: grids (one block of rows × columns per plate,
//! CSV or TSV), long tables (one row per well, headed by our names or the
//! Allotrope Simple Model's: `well plate identifier`, `location identifier`,
//! `detection type`, `absorbance`/`fluorescence`/`luminescence`), the
//! text exports of PerkinElmer EnVision, BMG MARS and Molecular Devices
//! SoftMax Pro, cellHTS2's headerless `plate, well, value` files, and ASM
//! JSON itself.
//!
//! A file is read whole or not at all: every problem is reported with its
//! line, and no plate of a file with a problem is returned, because a plate
//! analysed with some wells silently missing gives wrong QC and wrong hits.

use crate::layout::{Format, Well};

/// The kinds of file [`read_plate_file`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Rows × columns blocks with a header of column numbers.
    Grid,
    /// One row per well: plate, well, channel, value.
    Long,
    /// PerkinElmer EnVision CSV export.
    EnVision,
    /// BMG LABTECH MARS CSV export.
    BmgMars,
    /// Molecular Devices SoftMax Pro text export.
    SoftMaxPro,
    /// Allotrope Simple Model JSON (plate reader).
    Allotrope,
}

impl Vendor {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Grid => "grid",
            Vendor::Long => "long",
            Vendor::EnVision => "envision",
            Vendor::BmgMars => "bmg-mars",
            Vendor::SoftMaxPro => "softmax-pro",
            Vendor::Allotrope => "allotrope-json",
        }
    }
}

/// One plate's readings as they stand in a file, before a plate map gives
/// its wells a meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPlate {
    /// The plate's barcode or name (ASM `well plate identifier`).
    pub identifier: String,
    /// What was measured, as the reader labels it (ASM `detection type`);
    /// empty when the file does not say.
    pub channel: String,
    /// The smallest format holding every well read.
    pub format: Format,
    /// One value per well of `format`, row by row; `None` where the well was
    /// not read or the reader flagged it (overflow and the like).
    pub values: Vec<Option<f64>>,
    /// 1-based line where the plate starts.
    pub line: u64,
}

impl RawPlate {
    /// The values laid out on a larger (or equal) format, e.g. a 96-well
    /// read onto a 384-well map; `None` if a read well is off that format.
    pub fn values_on(&self, format: Format) -> Option<Vec<Option<f64>>> {
        let (rows, cols) = format.shape();
        let mut out = vec![None; format.wells()];
        for (well, value) in self.format.all().zip(&self.values) {
            if value.is_some() {
                if well.row >= rows || well.col >= cols {
                    return None;
                }
                out[well.index(format)] = *value;
            }
        }
        Some(out)
    }
}

/// A problem at a line of a plate file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateFileError {
    /// 1-based line (0 when the whole file is at fault).
    pub line: u64,
    /// What is wrong and what to do.
    pub reason: String,
}

impl std::fmt::Display for PlateFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

fn error(line: usize, reason: impl Into<String>) -> PlateFileError {
    PlateFileError { line: line as u64 + 1, reason: reason.into() }
}

/// Reads every plate of a file. `stem` names plates the file leaves
/// unnamed (the file name without extension, suffixed `#2`, `#3`… when a
/// file holds several).
pub fn read_plate_file(
    text: &str,
    stem: &str,
) -> Result<(Vendor, Vec<RawPlate>), Vec<PlateFileError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let Some(first) = first else {
        return Err(vec![PlateFileError { line: 0, reason: "the file is empty".into() }]);
    };
    let head = lines[first].trim_start();
    let (vendor, plates) = if head.starts_with('{') {
        (Vendor::Allotrope, read_allotrope(text))
    } else if head.starts_with("##BLOCKS") {
        (Vendor::SoftMaxPro, read_softmax(&lines))
    } else if lines.iter().any(|l| l.trim_start().starts_with("Plate information")) {
        (Vendor::EnVision, read_envision(&lines))
    } else if head.starts_with("User:") || head.starts_with("Test name:") {
        (Vendor::BmgMars, read_bmg(&lines))
    } else if let Some(columns) = long_header(&cells(lines[first])) {
        (Vendor::Long, read_long(&lines, first + 1, Some(columns)))
    } else if is_headerless_long(&cells(lines[first])) {
        (Vendor::Long, read_long(&lines, first, None))
    } else {
        (Vendor::Grid, read_grid_file(&lines))
    };
    let mut plates = plates?;
    if plates.is_empty() {
        return Err(vec![PlateFileError {
            line: 0,
            reason: format!(
                "no plate found in this {} file; a grid needs a header row of column numbers \
                 (1 2 … 24) followed by rows A, B, …",
                vendor.as_str()
            ),
        }]);
    }
    let unnamed = plates.iter().filter(|p| p.identifier.is_empty()).count();
    let mut k = 0;
    for p in plates.iter_mut().filter(|p| p.identifier.is_empty()) {
        k += 1;
        p.identifier = if unnamed == 1 { stem.to_owned() } else { format!("{stem}#{k}") };
    }
    Ok((vendor, plates))
}

/// Splits a line on its delimiter: tab if it has one, else `;` for
/// semicolon-separated exports, else comma. Quotes and EnVision's
/// `="…"` wrappers are removed.
fn cells(line: &str) -> Vec<String> {
    let delimiter = if line.contains('\t') {
        b'\t'
    } else if line.contains(';') && !line.contains(',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    if reader.read_record(&mut record).unwrap_or(false) {
        record
            .iter()
            .map(|c| {
                let c = c.trim();
                let c = c.strip_prefix("=\"").and_then(|c| c.strip_suffix('"')).unwrap_or(c);
                c.to_owned()
            })
            .collect()
    } else {
        Vec::new()
    }
}

/// A reading: a number, or a flag readers write for a well they could not
/// measure, which is a missing value rather than an error.
fn reading(cell: &str) -> Result<Option<f64>, String> {
    const FLAGS: [&str; 9] = ["", "-", "--", "----", "n/a", "na", "nan", "ovrflw", "invalid"];
    let c = cell.trim();
    if FLAGS.contains(&c.to_ascii_lowercase().as_str())
        || c.eq_ignore_ascii_case("over")
        || c.eq_ignore_ascii_case("overflow")
        || c.eq_ignore_ascii_case("saturated")
    {
        return Ok(None);
    }
    match c.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("'{c}' is not a reading (a number, or empty for a well not read)")),
    }
}

/// Column numbers 1‥N of a grid header (first cell is the row-label
/// column), N being 12, 24 or 48.
fn grid_columns(cells: &[String]) -> Option<usize> {
    let numbers: Vec<&String> =
        cells.iter().skip(1).take_while(|c| !c.is_empty()).collect::<Vec<_>>();
    let n = numbers.len();
    if ![12, 24, 48].contains(&n) {
        return None;
    }
    numbers.iter().enumerate().all(|(i, c)| c.parse::<usize>().ok() == Some(i + 1)).then_some(n)
}

fn format_for(rows: usize, cols: usize) -> Option<Format> {
    [Format::W96, Format::W384, Format::W1536].into_iter().find(|f| {
        let (r, c) = f.shape();
        rows <= r && cols <= c
    })
}

/// A grid's format, its values, and the line after it.
type Grid = (Format, Vec<Option<f64>>, usize);

/// Reads the grid whose header is at `at`; returns the values and the line
/// after the grid. Rows run A, B, … in order; a row may be absent at the
/// end (partial plates), never in the middle.
fn read_grid(lines: &[&str], at: usize) -> Result<Grid, Vec<PlateFileError>> {
    let cols = grid_columns(&cells(lines[at])).expect("caller checked the header");
    let mut rows: Vec<Vec<Option<f64>>> = Vec::new();
    let mut errors = Vec::new();
    let mut i = at + 1;
    while i < lines.len() {
        let row = cells(lines[i]);
        let label = row.first().map(String::as_str).unwrap_or("");
        if label.is_empty() || !label.eq_ignore_ascii_case(&Well::row_name(rows.len())) {
            break;
        }
        if row.iter().skip(1 + cols).any(|c| !c.is_empty()) {
            errors.push(error(
                i,
                format!(
                    "row {label} has more readings than the header has columns ({cols}); \
                     a thousands separator or a stray delimiter?"
                ),
            ));
        }
        let mut values = Vec::with_capacity(cols);
        for c in 0..cols {
            let cell = row.get(1 + c).map(String::as_str).unwrap_or("");
            match reading(cell) {
                Ok(v) => values.push(v),
                Err(e) => errors.push(error(i, format!("well {label}{}: {e}", c + 1))),
            }
        }
        rows.push(values);
        i += 1;
    }
    let Some(format) = format_for(rows.len(), cols).filter(|f| f.shape().1 == cols) else {
        return Err(vec![error(
            at,
            format!(
                "a grid of {} rows × {cols} columns is not a 96, 384 or 1536-well plate",
                rows.len()
            ),
        )]);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut values = vec![None; format.wells()];
    for (r, row) in rows.into_iter().enumerate() {
        for (c, v) in row.into_iter().enumerate() {
            values[Well { row: r, col: c }.index(format)] = v;
        }
    }
    Ok((format, values, i))
}

/// Every grid of the file, each with the cells of the nearest non-blank
/// line above it (its title, if the file gives one).
fn titled_grids(lines: &[&str]) -> Result<Vec<(Vec<String>, RawPlate)>, Vec<PlateFileError>> {
    let mut grids = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if grid_columns(&cells(lines[i])).is_none() {
            i += 1;
            continue;
        }
        let (format, values, next) = read_grid(lines, i)?;
        let title = lines[..i]
            .iter()
            .rev()
            .map(|l| cells(l))
            .find(|c| c.iter().any(|x| !x.is_empty()))
            .filter(|c| grid_columns(c).is_none())
            .unwrap_or_default();
        let plate = RawPlate {
            identifier: String::new(),
            channel: String::new(),
            format,
            values,
            line: i as u64 + 1,
        };
        grids.push((title, plate));
        i = next;
    }
    Ok(grids)
}

/// Every grid of the file, named by the line above it: `Plate: P001`,
/// `Barcode,P001` or a lone `P001`.
fn read_grid_file(lines: &[&str]) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let grids = titled_grids(lines)?;
    Ok(grids
        .into_iter()
        .map(|(title, mut plate)| {
            let named: Vec<&String> = title.iter().filter(|x| !x.is_empty()).collect();
            if let Some(first) = named.first().filter(|f| f.len() > 1) {
                plate.identifier = match first.split_once(':') {
                    Some((_, v)) if !v.trim().is_empty() => v.trim().to_owned(),
                    _ if named.len() > 1 => named[1].clone(),
                    _ => first.to_string(),
                };
            }
            plate
        })
        .collect())
}

/// EnVision: each plate's `Plate information` table gives its barcode (or
/// number), and each `Results for <label>` / `Calculated results: …` title
/// is followed by a grid. Protocol sections at the end also hold grids
/// (plate maps) and are not readings.
fn read_envision(lines: &[&str]) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let mut plates = Vec::new();
    let mut identifier = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("Plate information") && i + 2 < lines.len() {
            let header = cells(lines[i + 1]);
            let row = cells(lines[i + 2]);
            let field = |name: &str| {
                header.iter().position(|h| h == name).and_then(|k| row.get(k)).cloned()
            };
            identifier = field("Barcode")
                .filter(|b| !b.is_empty())
                .or_else(|| field("Plate").map(|p| format!("plate {p}")))
                .unwrap_or_default();
            i += 3;
            continue;
        }
        if line.starts_with("Basic assay information") || line.starts_with("Protocol information") {
            break;
        }
        let title = line.trim_end_matches(',').trim();
        if (title.starts_with("Results for") || title.starts_with("Calculated results"))
            && i + 1 < lines.len()
            && grid_columns(&cells(lines[i + 1])).is_some()
        {
            let (format, values, next) = read_grid(lines, i + 1)?;
            plates.push(RawPlate {
                identifier: identifier.clone(),
                channel: title.to_owned(),
                format,
                values,
                line: i as u64 + 1,
            });
            i = next;
            continue;
        }
        i += 1;
    }
    Ok(plates)
}

/// BMG MARS: `ID1: …` names the plate; the line above each grid that is
/// not blank (`Raw Data (485/520)`, `Blank corrected …`) names its channel.
fn read_bmg(lines: &[&str]) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let identifier = lines
        .iter()
        .flat_map(|l| cells(l))
        .find_map(|c| c.strip_prefix("ID1:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    let grids = titled_grids(lines)?;
    Ok(grids
        .into_iter()
        .map(|(title, plate)| RawPlate {
            identifier: identifier.clone(),
            channel: title.into_iter().next().unwrap_or_default(),
            ..plate
        })
        .collect())
}

/// SoftMax Pro: `Plate:` blocks, tab-separated. Only endpoint readings in
/// plate format are plates; each wavelength is a channel. The header line
/// after `Plate:` numbers the columns of the first wavelength; data rows
/// carry the temperature in their second cell.
fn read_softmax(lines: &[&str]) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let mut plates = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let f: Vec<&str> = lines[i].split('\t').map(str::trim).collect();
        if f.first() != Some(&"Plate:") {
            i += 1;
            continue;
        }
        let get = |k: usize| f.get(k).copied().unwrap_or("");
        if get(3) != "PlateFormat" || get(4) != "Endpoint" {
            return Err(vec![error(
                i,
                format!(
                    "plate '{}' is a {} {} read; export endpoint readings in plate format",
                    get(1),
                    get(4),
                    get(3)
                ),
            )]);
        }
        let number = |k: usize, what: &str| {
            get(k)
                .parse::<usize>()
                .map_err(|_| vec![error(i, format!("no {what} in the Plate: line"))])
        };
        let wavelengths: Vec<&str> = get(15).split_whitespace().collect();
        let reads = number(14, "number of wavelengths")?.max(1);
        let first_col = number(16, "first column")?;
        let ncols = number(17, "number of columns")?;
        let first_row = number(19, "first row")?;
        let nrows = number(20, "number of rows")?;
        let Some(format) = Format::from_wells(number(18, "plate size")?) else {
            return Err(vec![error(i, format!("a {}-well plate is not supported", get(18)))]);
        };
        let mut errors = Vec::new();
        let mut per_read = vec![vec![None; format.wells()]; reads];
        for r in 0..nrows {
            let at = i + 2 + r;
            let Some(row) = lines.get(at) else {
                errors.push(error(at, "the plate ends early"));
                break;
            };
            let cells: Vec<&str> = row.split('\t').collect();
            for (read, values) in per_read.iter_mut().enumerate() {
                for c in 0..ncols {
                    let cell = cells.get(2 + read * (ncols + 1) + c).copied().unwrap_or("");
                    let well = Well { row: first_row - 1 + r, col: first_col - 1 + c };
                    if well.row >= format.shape().0 || well.col >= format.shape().1 {
                        errors.push(error(at, format!("well {well} is off the plate")));
                        continue;
                    }
                    match reading(cell) {
                        Ok(v) => values[well.index(format)] = v,
                        Err(e) => errors.push(error(at, format!("well {well}: {e}"))),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for (read, values) in per_read.into_iter().enumerate() {
            let channel = match wavelengths.get(read) {
                Some(w) => format!("{} {w}", get(5)),
                None => get(5).to_owned(),
            };
            plates.push(RawPlate {
                identifier: get(1).to_owned(),
                channel,
                format,
                values,
                line: i as u64 + 1,
            });
        }
        i += 2 + nrows;
    }
    Ok(plates)
}

/// Where a long table keeps its fields.
#[derive(Debug, Clone, Copy)]
struct LongColumns {
    plate: Option<usize>,
    well: usize,
    channel: Option<usize>,
    value: usize,
}

fn long_header(header: &[String]) -> Option<LongColumns> {
    let find = |names: &[&str]| {
        header.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    Some(LongColumns {
        plate: find(&["plate", "barcode", "plate barcode", "well plate identifier"]),
        well: find(&["well", "well location identifier", "location identifier", "well position"])?,
        channel: find(&["channel", "detection type", "label"]),
        value: find(&[
            "value",
            "signal",
            "measurement",
            "absorbance",
            "fluorescence",
            "luminescence",
        ])?,
    })
}

/// cellHTS2 writes `plate<TAB>well<TAB>value` with no header.
fn is_headerless_long(first: &[String]) -> bool {
    first.len() >= 3 && Format::W1536.well(&first[1]).is_ok()
}

fn read_long(
    lines: &[&str],
    start: usize,
    columns: Option<LongColumns>,
) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let columns =
        columns.unwrap_or(LongColumns { plate: Some(0), well: 1, channel: None, value: 2 });
    let mut readings = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        if line.trim().is_empty() {
            continue;
        }
        let c = cells(line);
        let get = |k: Option<usize>| k.and_then(|k| c.get(k)).cloned().unwrap_or_default();
        let well = match Format::W1536.well(&get(Some(columns.well))) {
            Ok(w) => w,
            Err(e) => {
                errors.push(error(i, e.to_string()));
                continue;
            }
        };
        match reading(&get(Some(columns.value))) {
            Ok(value) => readings.push(Reading {
                plate: get(columns.plate),
                channel: get(columns.channel),
                well,
                value,
                line: i,
            }),
            Err(e) => errors.push(error(i, format!("well {well}: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    collect_readings(readings)
}

/// One well's reading in a long table or ASM document.
struct Reading {
    plate: String,
    channel: String,
    well: Well,
    value: Option<f64>,
    /// 0-based line.
    line: usize,
}

/// Groups readings into plates, each on
/// the smallest format that holds its wells. A well read twice is an error.
fn collect_readings(readings: Vec<Reading>) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: std::collections::HashMap<(String, String), Vec<Reading>> =
        std::collections::HashMap::new();
    for reading in readings {
        let key = (reading.plate.clone(), reading.channel.clone());
        let group = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        group.push(reading);
    }
    let mut plates = Vec::new();
    let mut errors = Vec::new();
    for key in order {
        let group = &groups[&key];
        let rows = group.iter().map(|r| r.well.row + 1).max().unwrap_or(0);
        let cols = group.iter().map(|r| r.well.col + 1).max().unwrap_or(0);
        let format = format_for(rows, cols).expect("wells were read on a 1536-well plate");
        let mut values = vec![None; format.wells()];
        let mut seen = vec![None::<usize>; format.wells()];
        for &Reading { well, value, line, .. } in group {
            let k = well.index(format);
            if let Some(before) = seen[k] {
                let twice = format!("well {well} of plate '{}' is read twice", key.0);
                // ASM documents have no lines to point at (0).
                errors.push(if line == 0 {
                    PlateFileError { line: 0, reason: twice }
                } else {
                    error(line, format!("{twice}, first at line {}", before + 1))
                });
            }
            seen[k] = Some(line);
            values[k] = value;
        }
        let line = group.iter().map(|r| r.line).min().unwrap_or(0) as u64 + 1;
        plates.push(RawPlate { identifier: key.0, channel: key.1, format, values, line });
    }
    if errors.is_empty() {
        Ok(plates)
    } else {
        Err(errors)
    }
}

/// ASM plate-reader JSON: every `measurement document` with a
/// `sample document` (`location identifier`, `well plate identifier`) and
/// one of the measured quantities.
fn read_allotrope(text: &str) -> Result<Vec<RawPlate>, Vec<PlateFileError>> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        vec![PlateFileError { line: e.line() as u64, reason: format!("not valid JSON: {e}") }]
    })?;
    let mut readings = Vec::new();
    let mut errors = Vec::new();
    walk_allotrope(&json, &mut readings, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    collect_readings(readings)
}

const QUANTITIES: [&str; 3] = ["absorbance", "fluorescence", "luminescence"];

fn walk_allotrope(
    node: &serde_json::Value,
    readings: &mut Vec<Reading>,
    errors: &mut Vec<PlateFileError>,
) {
    match node {
        serde_json::Value::Array(items) => {
            items.iter().for_each(|n| walk_allotrope(n, readings, errors))
        }
        serde_json::Value::Object(map) => {
            if let (Some(sample), Some(quantity)) =
                (map.get("sample document"), QUANTITIES.iter().find(|q| map.contains_key(**q)))
            {
                let text = |v: Option<&serde_json::Value>| {
                    v.and_then(|v| v.as_str()).unwrap_or_default().to_owned()
                };
                let well_text = text(
                    sample.get("location identifier").or(sample.get("well location identifier")),
                );
                let plate = text(sample.get("well plate identifier"));
                let measured = &map[*quantity];
                let value = measured.get("value").unwrap_or(measured);
                let mut push = |well, value| {
                    let channel = (*quantity).to_owned();
                    readings.push(Reading { plate: plate.clone(), channel, well, value, line: 0 })
                };
                match (Format::W1536.well(&well_text), value) {
                    (Ok(well), serde_json::Value::Number(n)) => push(well, n.as_f64()),
                    (Ok(well), serde_json::Value::Null) => push(well, None),
                    (Ok(well), other) => errors.push(PlateFileError {
                        line: 0,
                        reason: format!(
                            "well {well} of plate '{plate}': {quantity} {other} is not a number"
                        ),
                    }),
                    (Err(e), _) => errors.push(PlateFileError { line: 0, reason: e.to_string() }),
                }
                return;
            }
            map.values().for_each(|n| walk_allotrope(n, readings, errors))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A plate written as a grid (comma or tab) or a long table and
        /// read back is the same plate, missing wells included.
        #[test]
        fn plates_round_trip_through_grid_and_long_files(
            format in prop::sample::select(vec![Format::W96, Format::W384, Format::W1536]),
            seed in any::<u64>(),
            tab in any::<bool>(),
        ) {
            let values: Vec<Option<f64>> = (0..format.wells() as u64)
                .map(|i| {
                    let x = (i + 1).wrapping_mul(seed | 1).rotate_left(17) % 100_000;
                    (x % 13 != 0).then(|| x as f64 / 8.0 - 3000.0)
                })
                .collect();
            let sep = if tab { "\t" } else { "," };
            let (rows, cols) = format.shape();
            let mut grid = format!("Plate: P-{seed}\n");
            grid += &(1..=cols).fold(String::new(), |t, c| format!("{t}{sep}{c}"));
            grid += "\n";
            let mut long = String::from("plate,well,value\n");
            for r in 0..rows {
                grid += &Well::row_name(r);
                for c in 0..cols {
                    let v = values[r * cols + c];
                    let text = v.map_or(String::new(), |v| v.to_string());
                    grid += &format!("{sep}{text}");
                    long += &format!("P,{},{text}\n", Well { row: r, col: c });
                }
                grid += "\n";
            }
            let (_, from_grid) = read_plate_file(&grid, "x").unwrap();
            prop_assert_eq!(&from_grid[0].identifier, &format!("P-{seed}"));
            prop_assert_eq!(from_grid[0].format, format);
            prop_assert_eq!(&from_grid[0].values, &values);
            let (_, from_long) = read_plate_file(&long, "x").unwrap();
            prop_assert_eq!(from_long[0].values_on(format).unwrap(), values);
        }
    }

    fn grid96(title: &str, value: impl Fn(usize, usize) -> String, sep: &str) -> String {
        let mut s = format!("{title}\n");
        s += &(std::iter::once(String::new()).chain((1..=12).map(|c| c.to_string())))
            .collect::<Vec<_>>()
            .join(sep);
        s += "\n";
        for r in 0..8 {
            let row: Vec<String> = std::iter::once(((b'A' + r as u8) as char).to_string())
                .chain((0..12).map(|c| value(r, c)))
                .collect();
            s += &row.join(sep);
            s += "\n";
        }
        s
    }

    #[test]
    fn grids_in_csv_and_tsv_with_titles() {
        let text = format!(
            "{}\n{}",
            grid96("Plate: P001", |r, c| (r * 12 + c).to_string(), ","),
            grid96("P002", |_, c| if c == 3 { "OVRFLW".into() } else { "1.5".into() }, "\t")
        );
        let (vendor, plates) = read_plate_file(&text, "run").unwrap();
        assert_eq!(vendor, Vendor::Grid);
        assert_eq!(plates.len(), 2);
        assert_eq!(plates[0].identifier, "P001");
        assert_eq!(plates[0].format, Format::W96);
        assert_eq!(plates[0].values[95], Some(95.0));
        assert_eq!(plates[1].identifier, "P002");
        assert_eq!(plates[1].values[3], None);
        assert_eq!(plates[1].values[4], Some(1.5));
    }

    #[test]
    fn a_bad_cell_names_its_line_and_well_and_nothing_is_returned() {
        let text =
            grid96("", |r, c| if (r, c) == (2, 4) { "12,3x".into() } else { "1".into() }, "\t");
        let errors = read_plate_file(&text, "x").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 5, "{}", errors[0]);
        assert!(errors[0].reason.contains("well C5"), "{}", errors[0]);
    }

    #[test]
    fn an_unnamed_plate_takes_the_file_name() {
        let (_, plates) = read_plate_file(&grid96("", |_, _| "1".into(), ","), "plate-7").unwrap();
        assert_eq!(plates[0].identifier, "plate-7");
    }

    #[test]
    fn long_tables_with_our_names_or_allotropes() {
        let ours = "plate,well,value\nP1,A01,1\nP1,B2,2\nP2,A1,3\n";
        let (vendor, plates) = read_plate_file(ours, "f").unwrap();
        assert_eq!(vendor, Vendor::Long);
        assert_eq!(plates.len(), 2);
        assert_eq!(plates[0].values[Well { row: 1, col: 1 }.index(Format::W96)], Some(2.0));
        let asm = "well plate identifier\tlocation identifier\tdetection type\tfluorescence\n\
                   B1\tP24\tFI 485/520\t7\n";
        let (_, plates) = read_plate_file(asm, "f").unwrap();
        assert_eq!(plates[0].format, Format::W384, "P24 needs 384 wells");
        assert_eq!(plates[0].channel, "FI 485/520");
        let twice = "plate,well,value\nP1,A1,1\nP1,A01,2\n";
        let errors = read_plate_file(twice, "f").unwrap_err();
        assert!(errors[0].reason.contains("read twice, first at line 2"), "{}", errors[0]);
    }

    #[test]
    fn cellhts2_headerless_files() {
        let (_, plates) = read_plate_file("FT01-G01\tA01\t3297\nFT01-G01\tA02\tNA\n", "f").unwrap();
        assert_eq!(plates[0].identifier, "FT01-G01");
        assert_eq!(plates[0].values[..2], [Some(3297.0), None]);
    }

    #[test]
    fn envision_export() {
        let mut text = String::from(
            "Plate information \nPlate,Repeat,Barcode,Measured height,\n1,1,\"=\"\"BC0042\"\"\",14.6,\n\n\
             Background information\nPlate,Label,Result,\n1,LUM,0,\n\nResults for LUM 384(1) - channel 0 (CPS)\n",
        );
        text += ",01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,\n";
        for r in 0..16u8 {
            text += &format!("{},{}\n", (b'A' + r) as char, vec!["40"; 24].join(","));
        }
        text += "\n\nBasic assay information \nProtocol information\nPlatemap:\n";
        text += ",01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,\n";
        text += "A,- ,- \n";
        let (vendor, plates) = read_plate_file(&text, "f").unwrap();
        assert_eq!(vendor, Vendor::EnVision);
        assert_eq!(plates.len(), 1, "the protocol's plate map is not a reading");
        assert_eq!(plates[0].identifier, "BC0042");
        assert_eq!(plates[0].format, Format::W384);
        assert!(plates[0].channel.starts_with("Results for LUM"));
        assert!(plates[0].values.iter().all(|v| *v == Some(40.0)));
    }

    #[test]
    fn bmg_mars_export_with_a_partly_read_plate() {
        let mut text = String::from(
            "User: USER,Path: C:\\Data,Test run no.: 1\nTest name: QC,Date: 03/03/2016\n\n\
             ID1: 472-0016,,,\nFluorescence (FI),,\n\nRaw Data (485/520),,\n\n",
        );
        text += ",1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24\n";
        for r in 0..16u8 {
            text += &format!("{},{}\n", (b'A' + r) as char, if r == 0 { "1,2,3" } else { "" });
        }
        let (vendor, plates) = read_plate_file(&text, "f").unwrap();
        assert_eq!(vendor, Vendor::BmgMars);
        assert_eq!(plates[0].identifier, "472-0016");
        assert_eq!(plates[0].channel, "Raw Data (485/520)");
        assert_eq!(plates[0].values[..4], [Some(1.0), Some(2.0), Some(3.0), None]);
    }

    #[test]
    fn softmax_pro_endpoint_with_two_wavelengths() {
        let mut text = String::from("##BLOCKS= 1\nPlate:\tPlate1\t1.3\tPlateFormat\tEndpoint\tAbsorbance\tRaw\tFALSE\t1\t\t\t\t\t\t2\t450 600 \t1\t12\t96\t1\t8\t\n");
        text += "\tTemperature(¡C)\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t\n";
        for r in 0..8 {
            let a: Vec<String> = (0..12).map(|c| format!("{}", r * 12 + c)).collect();
            let b: Vec<String> = (0..12).map(|_| "0.5".to_owned()).collect();
            text += &format!(
                "\t{}\t{}\t\t{}\t\n",
                if r == 0 { "25.1" } else { "" },
                a.join("\t"),
                b.join("\t")
            );
        }
        text += "~End\n";
        let (vendor, plates) = read_plate_file(&text, "f").unwrap();
        assert_eq!(vendor, Vendor::SoftMaxPro);
        assert_eq!(plates.len(), 2);
        assert_eq!(plates[0].channel, "Absorbance 450");
        assert_eq!(plates[0].values[95], Some(95.0));
        assert_eq!(plates[1].channel, "Absorbance 600");
        assert_eq!(plates[1].values[0], Some(0.5));
        let kinetic = text.replace("\tEndpoint\t", "\tKinetic\t");
        let errors = read_plate_file(&kinetic, "f").unwrap_err();
        assert!(errors[0].reason.contains("endpoint"), "{}", errors[0]);
    }

    #[test]
    fn allotrope_json() {
        let doc = |well: &str, v: f64| {
            format!(
                r#"{{"measurement document":[{{"sample document":{{"location identifier":"{well}","well plate identifier":"BC1"}},"luminescence":{{"value":{v},"unit":"RLU"}}}}]}}"#
            )
        };
        let text = format!(
            r#"{{"plate reader aggregate document":{{"plate reader document":[{{"measurement aggregate document":{}}},{{"measurement aggregate document":{}}}]}}}}"#,
            doc("A1", 10.0),
            doc("H12", 20.0)
        );
        let (vendor, plates) = read_plate_file(&text, "f").unwrap();
        assert_eq!(vendor, Vendor::Allotrope);
        assert_eq!(plates[0].identifier, "BC1");
        assert_eq!(plates[0].format, Format::W96);
        assert_eq!((plates[0].values[0], plates[0].values[95]), (Some(10.0), Some(20.0)));
    }

    #[test]
    fn a_96_well_read_lays_onto_a_384_well_map() {
        let (_, plates) = read_plate_file("plate,well,value\nP,H12,4\n", "f").unwrap();
        let on = plates[0].values_on(Format::W384).unwrap();
        assert_eq!(on[Format::W384.well("H12").unwrap().index(Format::W384)], Some(4.0));
    }
}
