//! A screening run from its files to QC and hits: the protocol, the plate
//! map, the reader files and optionally a plate list. The analysis is a
//! pure function of those texts ([`RunFiles`]), so a run kept with its
//! files can be recomputed and checked at any time.
//!
//! Replicates: a plate list (`Filename`, `Plate`, `Replicate` columns, as
//! cellHTS2 writes it, tab or comma separated) says which file holds which
//! plate and replicate; without one, plates read with the same identifier
//! are replicates of each other, in the order the files are given.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::layout::{Format, Well};
use crate::map::{Layout, PlateMap};
use crate::plate::{analyse, combined_scores, PlateResult, Role};
use crate::protocol::Protocol;
use crate::reader::{read_plate_file, RawPlate};

/// Everything a run is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    /// The protocol (TOML).
    pub protocol: String,
    /// The plate map (CSV).
    pub map: String,
    /// Reader files: (file name, text), in the order given.
    pub plates: Vec<(String, String)>,
    /// The plate list, if any.
    pub plate_list: Option<String>,
}

impl RunFiles {
    /// Reads a run from disk: the protocol and map files, and every file of
    /// `plates` (sorted by name, hidden files skipped); a file there named
    /// `platelist.*` or `Platelist.*` is the plate list.
    pub fn read(protocol: &Path, map: &Path, plates: &Path) -> std::io::Result<RunFiles> {
        let text = |p: &Path| std::fs::read(p).map(|b| decode(&b));
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(plates)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        names.sort();
        let mut files = RunFiles {
            protocol: text(protocol)?,
            map: text(map)?,
            plates: Vec::new(),
            plate_list: None,
        };
        for path in names {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            if name.to_ascii_lowercase().starts_with("platelist.") {
                files.plate_list = Some(text(&path)?);
            } else {
                files.plates.push((name, text(&path)?));
            }
        }
        Ok(files)
    }
}

/// Text of a reader file: UTF-16 when it starts with a byte-order mark
/// (SoftMax Pro writes it), else UTF-8, with bytes of other encodings in
/// labels (a Latin-1 `°C`) replaced rather than refused.
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |be: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A run that cannot be analysed; every problem found, each prefixed with
/// its file and line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct RunError(pub Vec<String>);

/// One analysed plate.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateReport {
    /// The file it came from.
    pub file: String,
    /// Its identifier in the file.
    pub identifier: String,
    /// The plate of the map (and plate list) it is a replicate of.
    pub plate: String,
    /// Replicate number, from 1.
    pub replicate: u32,
    /// The reader channel analysed.
    pub channel: String,
    /// The format it was analysed on.
    pub format: Format,
    /// The readings, one per well.
    pub values: Vec<Option<f64>>,
    /// Roles from the map.
    pub roles: Vec<Role>,
    /// QC, scores and pass/fail.
    pub result: PlateResult,
}

/// A sample well whose combined score passes the protocol's threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The map's plate.
    pub plate: String,
    /// The well.
    pub well: Well,
    /// The compound's registry id, as the map gives it.
    pub compound: Option<String>,
    /// Its concentration, mol/L.
    pub concentration: Option<f64>,
    /// The combined score (mean over the replicates that passed QC).
    pub score: f64,
    /// Each replicate's score, in replicate order (`None` where missing or
    /// failed QC).
    pub replicates: Vec<Option<f64>>,
}

/// A whole run's analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The protocol used.
    pub protocol: Protocol,
    /// Every plate, in file order.
    pub plates: Vec<PlateReport>,
    /// The hits, by plate then well.
    pub hits: Vec<Hit>,
    /// Sample wells with a combined score.
    pub scored: usize,
}

fn plate_list(text: &str) -> Result<HashMap<String, (String, u32)>, Vec<String>> {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else { return Ok(out) };
    let split = |l: &str| -> Vec<String> {
        let sep = if l.contains('\t') { '\t' } else { ',' };
        l.split(sep).map(|c| c.trim().to_owned()).collect()
    };
    let header = split(header);
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(fi), Some(pi)) = (find("filename"), find("plate")) else {
        return Err(vec!["plate list: the header needs Filename and Plate columns".into()]);
    };
    let ri = find("replicate");
    for (i, line) in lines {
        let f = split(line);
        let get = |k: usize| f.get(k).cloned().unwrap_or_default();
        let replicate = match ri.map(get) {
            None => Ok(1),
            Some(r) => r.parse::<u32>().ok().filter(|r| *r > 0).ok_or(r),
        };
        match replicate {
            Ok(r) if !get(fi).is_empty() => {
                out.insert(get(fi), (get(pi), r));
            }
            Ok(_) => errors.push(format!("plate list:{}: no file name", i + 1)),
            Err(r) => errors.push(format!("plate list:{}: replicate '{r}' is not 1, 2, …", i + 1)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The plates of one file that the protocol analyses: one channel per
/// plate identifier.
fn chosen(file: &str, plates: Vec<RawPlate>, protocol: &Protocol) -> Result<Vec<RawPlate>, String> {
    let wanted: Vec<RawPlate> = match &protocol.channel {
        Some(c) => {
            let c = c.to_lowercase();
            plates.into_iter().filter(|p| p.channel.to_lowercase().contains(&c)).collect()
        }
        None => plates,
    };
    if wanted.is_empty() {
        return Err(format!(
            "{file}: no channel contains '{}'",
            protocol.channel.as_deref().unwrap_or_default()
        ));
    }
    let mut channels: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in &wanted {
        channels.entry(&p.identifier).or_default().push(&p.channel);
    }
    if let Some((id, list)) = channels.iter().find(|(_, l)| l.len() > 1) {
        return Err(format!(
            "{file}: plate '{id}' has several channels ({}); set `channel` in the protocol to choose one",
            list.join("; ")
        ));
    }
    Ok(wanted)
}

/// Analyses a run.
pub fn analyse_run(files: &RunFiles) -> Result<RunReport, RunError> {
    let protocol =
        Protocol::from_toml(&files.protocol).map_err(|e| RunError(vec![e.to_string()]))?;
    let map = PlateMap::from_csv(&files.map)
        .map_err(|errors| RunError(errors.iter().map(|e| format!("plate map: {e}")).collect()))?;
    let list = match &files.plate_list {
        Some(text) => Some(plate_list(text).map_err(RunError)?),
        None => None,
    };
    let mut errors = Vec::new();
    let mut read: Vec<(String, RawPlate)> = Vec::new();
    let parsed = parallel::map(&files.plates, parallel::cores(), |(name, text)| {
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        read_plate_file(text, stem)
    });
    for ((name, _), parsed) in files.plates.iter().zip(parsed) {
        match parsed {
            Ok((_, plates)) => match chosen(name, plates, &protocol) {
                Ok(plates) => read.extend(plates.into_iter().map(|p| (name.clone(), p))),
                Err(e) => errors.push(e),
            },
            Err(problems) => errors.extend(problems.iter().map(|e| format!("{name}: {e}"))),
        }
    }
    let mut replicates_seen: HashMap<String, u32> = HashMap::new();
    let mut laid_out = Vec::new();
    for (file, raw) in read {
        let (plate, replicate) = match list.as_ref().map(|l| l.get(&file)) {
            Some(Some((plate, replicate))) => (plate.clone(), *replicate),
            Some(None) => {
                errors.push(format!("{file}: not in the plate list"));
                continue;
            }
            None => {
                let n = replicates_seen.entry(raw.identifier.clone()).or_default();
                *n += 1;
                (raw.identifier.clone(), *n)
            }
        };
        let format = match map.format(&plate) {
            Some(f) if f.wells() > raw.format.wells() => f,
            Some(_) => raw.format,
            None => {
                errors.push(format!("{file}: plate '{plate}' has no layout in the plate map"));
                continue;
            }
        };
        let (Some(values), Some(layout)) = (raw.values_on(format), map.layout(&plate, format))
        else {
            errors.push(format!(
                "{file}: plate '{plate}' does not fit a {}-well layout",
                format.wells()
            ));
            continue;
        };
        laid_out.push((file, raw, plate, replicate, format, values, layout));
    }
    if !errors.is_empty() {
        return Err(RunError(errors));
    }
    let results =
        parallel::map(&laid_out, parallel::cores(), |(_, _, _, _, format, values, layout)| {
            analyse(*format, values, &layout.roles, &protocol)
        });
    let mut plates = Vec::new();
    let mut layouts: Vec<(String, Layout, Format)> = Vec::new();
    for ((file, raw, plate, replicate, format, values, layout), result) in
        laid_out.into_iter().zip(results)
    {
        if !layouts.iter().any(|(p, ..)| *p == plate) {
            layouts.push((plate.clone(), layout.clone(), format));
        }
        plates.push(PlateReport {
            file,
            identifier: raw.identifier,
            plate,
            replicate,
            channel: raw.channel,
            format,
            values,
            roles: layout.roles,
            result,
        });
    }
    let mut hits = Vec::new();
    let mut scored = 0;
    for (plate, layout, format) in &layouts {
        let mut group: Vec<&PlateReport> = plates.iter().filter(|p| p.plate == *plate).collect();
        group.sort_by_key(|p| p.replicate);
        let results: Vec<PlateResult> = group.iter().map(|p| p.result.clone()).collect();
        let combined = combined_scores(&results, &layout.roles, protocol.score);
        scored += combined.iter().flatten().count();
        for (well, score) in format.all().zip(combined) {
            let Some(score) = score.filter(|s| protocol.is_hit(*s)) else { continue };
            let k = well.index(*format);
            let entry = layout.entries[k].as_ref();
            hits.push(Hit {
                plate: plate.clone(),
                well,
                compound: entry.and_then(|e| e.compound.clone()),
                concentration: entry.and_then(|e| e.concentration),
                score,
                replicates: group
                    .iter()
                    .map(|p| p.result.score(protocol.score)[k].filter(|_| p.result.passed))
                    .collect(),
            });
        }
    }
    Ok(RunReport { protocol, plates, hits, scored })
}

fn number(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!(v))
}

impl RunReport {
    /// One JSON object per plate: QC figures and the verdict.
    pub fn plate_rows(&self) -> Vec<Value> {
        self.plates
            .iter()
            .map(|p| {
                let (qc, sp) = (&p.result.qc, &p.result.spatial);
                json!({
                    "kind": "plate", "file": p.file, "identifier": p.identifier,
                    "plate": p.plate, "replicate": p.replicate, "channel": p.channel,
                    "wells": p.format.wells(),
                    "z_prime": number(qc.z_prime), "robust_z_prime": number(qc.robust_z_prime),
                    "signal_to_background": number(qc.signal_to_background),
                    "cv_neutral": number(qc.cv_neutral), "cv_positive": number(qc.cv_positive),
                    "edge_effect": number(sp.edge_effect), "row_col_effect": number(sp.row_col_effect),
                    "passed": p.result.passed, "failures": p.result.failures,
                })
            })
            .collect()
    }

    /// One JSON object per hit.
    pub fn hit_rows(&self) -> Vec<Value> {
        self.hits
            .iter()
            .map(|h| {
                json!({
                    "kind": "hit", "plate": h.plate, "well": h.well.to_string(),
                    "compound": h.compound, "concentration": h.concentration,
                    "score_kind": self.protocol.score.as_str(), "score": h.score,
                    "replicates": h.replicates,
                })
            })
            .collect()
    }

    /// The run in one object.
    pub fn summary(&self) -> Value {
        let passed = self.plates.iter().filter(|p| p.result.passed).count();
        let z: Vec<f64> = self.plates.iter().filter_map(|p| p.result.qc.z_prime).collect();
        json!({
            "kind": "run", "protocol": self.protocol.name, "plates": self.plates.len(),
            "passed": passed, "scored": self.scored, "hits": self.hits.len(),
            "hit_rate": if self.scored == 0 { Value::Null } else { json!(self.hits.len() as f64 / self.scored as f64) },
            "mean_z_prime": number(crate::stats::mean(&z)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 96-well grid: column 1 neutral (1000), column 12 positive (100),
    /// samples at 1000 except `hit` at 300; a little deterministic noise.
    fn grid(name: &str, hit: &str) -> String {
        let hit = Format::W96.well(hit).unwrap();
        let mut s = format!("Plate: {name}\n,1,2,3,4,5,6,7,8,9,10,11,12\n");
        for r in 0..8 {
            s += &((b'A' + r as u8) as char).to_string();
            for c in 0..12 {
                let noise = ((r * 12 + c) * 7919 % 17) as f64 - 8.0;
                let v = if c == 11 {
                    100.0
                } else if (Well { row: r, col: c }) == hit {
                    300.0
                } else {
                    1000.0
                };
                s += &format!(",{}", v + noise);
            }
            s += "\n";
        }
        s
    }

    fn map() -> String {
        let mut m = String::from("well,role,compound,concentration\n");
        for w in Format::W96.all() {
            let (role, compound) = match w.col {
                0 => ("neutral", String::new()),
                11 => ("positive", String::new()),
                _ => ("sample", format!("SY-{}", w.index(Format::W96))),
            };
            m += &format!(
                "{w},{role},{compound},{}\n",
                if compound.is_empty() { "" } else { "1e-5" }
            );
        }
        m
    }

    fn files(plates: Vec<(String, String)>) -> RunFiles {
        RunFiles {
            protocol: "score = \"percent_inhibition\"\nthreshold = 50\n[qc]\nmin_z_prime = 0.5\n"
                .into(),
            map: map(),
            plates,
            plate_list: None,
        }
    }

    #[test]
    fn utf16_exports_are_read() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend("Plate:\t°C".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&bytes), "Plate:\t°C");
        assert_eq!(decode(b"A1,\xb0C"), "A1,\u{fffd}C");
    }

    #[test]
    fn replicates_by_identifier_give_one_hit() {
        let run = analyse_run(&files(vec![
            ("r1.csv".into(), grid("P1", "D05")),
            ("r2.csv".into(), grid("P1", "D05")),
        ]))
        .unwrap();
        assert_eq!(run.plates.len(), 2);
        assert_eq!(run.plates[1].replicate, 2);
        assert!(run.plates.iter().all(|p| p.result.passed));
        assert_eq!(run.hits.len(), 1);
        let hit = &run.hits[0];
        assert_eq!((hit.well.to_string().as_str(), hit.replicates.len()), ("D05", 2));
        assert_eq!(hit.compound.as_deref(), Some("SY-40"));
        assert!((hit.score - 77.0).abs() < 3.0, "{}", hit.score);
        assert_eq!(run.summary()["hits"], 1);
        assert_eq!(run.scored, 80);
    }

    #[test]
    fn a_plate_list_names_plates_and_replicates() {
        let mut f =
            files(vec![("a.csv".into(), grid("x", "A02")), ("b.csv".into(), grid("y", "A02"))]);
        f.plate_list = Some("Filename\tPlate\tReplicate\na.csv\t1\t1\nb.csv\t1\t2\n".into());
        let run = analyse_run(&f).unwrap();
        assert_eq!(
            run.plates.iter().map(|p| (p.plate.as_str(), p.replicate)).collect::<Vec<_>>(),
            [("1", 1), ("1", 2)]
        );
        assert_eq!(run.hits.len(), 1);
    }

    #[test]
    fn every_problem_is_reported_and_nothing_is_analysed() {
        let mut f = files(vec![
            ("good.csv".into(), grid("P1", "D05")),
            ("bad.csv".into(), grid("P2", "D05").replace("1000", "1,000")),
        ]);
        f.map = f.map.replace("A05,sample", "A05,control");
        let e = analyse_run(&f).unwrap_err();
        assert!(e.0.iter().any(|m| m.starts_with("plate map: line")), "{e}");
        f.map = map();
        let e = analyse_run(&f).unwrap_err();
        assert!(e.0.iter().all(|m| m.starts_with("bad.csv: line")), "{e}");
    }
}
