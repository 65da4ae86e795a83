//! A node's catalogue in the platform database, and its import from CSV or
//! JSON. Every row is validated — the terms must be ICD-10 codes (or
//! disease names), DUO codes, sample and data types this crate knows, and
//! a sample's participant must exist — and each bad row is reported with
//! its line and reason while the good ones land. Rows are keyed by
//! (biobank, id): importing a file again updates, so an interrupted import
//! is finished by running it again.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyPool, Row};

use crate::catalogue::{Biobank, Catalogue, CatalogueError, Individual, Sample, Sex};
use crate::terms::{icd10, DataType, Duo, SampleType};

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The file.
    pub file: String,
    /// 1-based line (CSV) or record number (JSON).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Biobanks written.
    pub biobanks: usize,
    /// Participants written.
    pub individuals: usize,
    /// Samples written.
    pub samples: usize,
    /// Rows refused.
    pub errors: Vec<RowError>,
}

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file that cannot be read as a whole.
    #[error("{file}: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The stored rows do not make a catalogue.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The database could not be queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// One file to import: its name (for messages and to tell JSON from CSV)
/// and text.
pub struct Input<'a> {
    /// File name.
    pub name: &'a str,
    /// Its text.
    pub text: &'a str,
}

type Record = (u64, HashMap<String, String>);

/// The records of a CSV (header row) or JSON (array of objects) file.
fn records(input: &Input) -> Result<Vec<Record>, StoreError> {
    let unreadable =
        |reason: String| StoreError::Unreadable { file: input.name.to_owned(), reason };
    if input.name.ends_with(".json") {
        let value: serde_json::Value =
            serde_json::from_str(input.text).map_err(|e| unreadable(format!("not JSON: {e}")))?;
        let items =
            value.as_array().ok_or_else(|| unreadable("expected an array of objects".into()))?;
        return Ok(items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let fields = item
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                let text = match v {
                                    serde_json::Value::String(s) => s.clone(),
                                    serde_json::Value::Array(a) => a
                                        .iter()
                                        .map(|x| x.as_str().map_or(x.to_string(), str::to_owned))
                                        .collect::<Vec<_>>()
                                        .join(";"),
                                    serde_json::Value::Null => String::new(),
                                    other => other.to_string(),
                                };
                                (k.to_ascii_lowercase(), text)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (i as u64 + 1, fields)
            })
            .collect());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input.text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(e.to_string()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        out.push((line, headers.iter().cloned().zip(record.iter().map(str::to_owned)).collect()));
    }
    Ok(out)
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '|']).map(str::trim).filter(|t| !t.is_empty())
}

fn flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "はい" => Some(true),
        "0" | "false" | "no" | "n" | "" | "いいえ" => Some(false),
        _ => None,
    }
}

/// The canonical stored form of a participant row, or why not.
fn individual_row(f: &HashMap<String, String>) -> Result<[String; 10], String> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (biobank, id) = (get("biobank"), get("id"));
    if biobank.is_empty() || id.is_empty() {
        return Err("a participant needs 'biobank' and 'id'".into());
    }
    let sex = Sex::parse(&get("sex"))
        .ok_or_else(|| format!("sex '{}' is not female, male or unknown", get("sex")))?;
    let icd = icd10();
    let diseases = list(&get("diseases"))
        .map(|d| icd.find(d).map(|i| icd.code(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let consent = list(&get("consent"))
        .map(|c| {
            Duo::parse(c).map(|d| d.ontology_id()).ok_or_else(|| format!("'{c}' is not a DUO code"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let consent_disease = match get("consent_disease").as_str() {
        "" => String::new(),
        d => icd.code(icd.find(d)?).to_owned(),
    };
    if !consent_disease.is_empty() && !consent.contains(&Duo::DiseaseSpecific.ontology_id()) {
        return Err("consent_disease needs the DS (DUO:0000007) consent code".into());
    }
    let recontact = flag(&get("recontact"))
        .ok_or_else(|| format!("recontact '{}' is not yes or no", get("recontact")))?;
    let data = list(&get("data"))
        .map(|d| {
            DataType::parse(d).map(|t| t.key()).ok_or_else(|| format!("'{d}' is not a data type"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sex = match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Unknown => "unknown",
    };
    Ok([
        biobank,
        id,
        sex.to_owned(),
        diseases.join(";"),
        consent.join(";"),
        consent_disease,
        (recontact as u8).to_string(),
        data.join(";"),
        get("mother"),
        get("father"),
    ])
}

/// A sample row as stored: biobank, id, participant, type key, then age,
/// aliquots and storage temperature.
type SampleRow = (String, String, String, String, i64, i64, i64, String);

fn sample_row(f: &HashMap<String, String>) -> Result<SampleRow, String> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (biobank, id, individual) = (get("biobank"), get("id"), get("individual"));
    if biobank.is_empty() || id.is_empty() || individual.is_empty() {
        return Err("a sample needs 'biobank', 'id' and 'individual'".into());
    }
    let t = SampleType::parse(&get("sample_type"))
        .ok_or_else(|| format!("'{}' is not a sample type", get("sample_type")))?;
    let number = |k: &str, lo: i64, hi: i64, default: Option<i64>| -> Result<i64, String> {
        match (get(k).as_str(), default) {
            ("", Some(d)) => Ok(d),
            (v, _) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| format!("{k} '{v}' must be a whole number from {lo} to {hi}")),
        }
    };
    Ok((
        biobank,
        id,
        individual,
        t.key().to_owned(),
        number("age", 0, 130, None)?,
        number("aliquots", 0, 100_000, Some(1))?,
        number("storage_c", -273, 60, Some(-80))?,
        get("collection").trim().to_owned(),
    ))
}

/// The catalogue tables of the platform database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Uses the platform database, applying the biobank migrations.
    pub async fn attach(pool: AnyPool) -> Result<Store, StoreError> {
        library::migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        Ok(Store { pool })
    }

    /// Imports biobanks, participants and samples (each optional), in that
    /// order, so one call can load a whole catalogue.
    pub async fn import(
        &self,
        biobanks: Option<Input<'_>>,
        individuals: Option<Input<'_>>,
        samples: Option<Input<'_>>,
    ) -> Result<ImportSummary, StoreError> {
        let mut summary = ImportSummary::default();
        let mut tx = self.pool.begin().await?;
        if let Some(input) = &biobanks {
            for (line, f) in records(input)? {
                let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
                if get("id").is_empty() || get("name").is_empty() {
                    summary.errors.push(RowError {
                        file: input.name.into(),
                        line,
                        reason: "a biobank needs 'id' and 'name'".into(),
                    });
                    continue;
                }
                sqlx::query(
                    "INSERT INTO biobank_banks (id, name, name_ja) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_ja = excluded.name_ja",
                )
                .bind(get("id"))
                .bind(get("name"))
                .bind(get("name_ja"))
                .execute(&mut *tx)
                .await?;
                summary.biobanks += 1;
            }
        }
        let banks: HashSet<String> = sqlx::query_scalar("SELECT id FROM biobank_banks")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        if let Some(input) = &individuals {
            for (line, f) in records(input)? {
                let row = individual_row(&f).and_then(|r| {
                    if banks.contains(&r[0]) {
                        Ok(r)
                    } else {
                        Err(format!("no biobank '{}'; import it first", r[0]))
                    }
                });
                match row {
                    Ok(r) => {
                        sqlx::query(
                            "INSERT INTO biobank_individuals (biobank, id, sex, diseases, consent, \
                             consent_disease, recontact, data, mother, father) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                             ON CONFLICT (biobank, id) DO UPDATE SET sex = excluded.sex, \
                             diseases = excluded.diseases, consent = excluded.consent, \
                             consent_disease = excluded.consent_disease, recontact = excluded.recontact, \
                             data = excluded.data, mother = excluded.mother, father = excluded.father",
                        )
                        .bind(&r[0]).bind(&r[1]).bind(&r[2]).bind(&r[3]).bind(&r[4]).bind(&r[5])
                        .bind(r[6].parse::<i64>().unwrap_or(0)).bind(&r[7]).bind(&r[8]).bind(&r[9])
                        .execute(&mut *tx)
                        .await?;
                        summary.individuals += 1;
                    }
                    Err(reason) => {
                        summary.errors.push(RowError { file: input.name.into(), line, reason })
                    }
                }
            }
        }
        if let Some(input) = &samples {
            let people: HashSet<(String, String)> =
                sqlx::query("SELECT biobank, id FROM biobank_individuals")
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, sqlx::Error>>()?;
            for (line, f) in records(input)? {
                let row = sample_row(&f).and_then(|r| {
                    if people.contains(&(r.0.clone(), r.2.clone())) {
                        Ok(r)
                    } else {
                        Err(format!("no participant '{}' in biobank '{}'", r.2, r.0))
                    }
                });
                match row {
                    Ok((biobank, id, individual, t, age, aliquots, storage, collection)) => {
                        sqlx::query(
                            "INSERT INTO biobank_samples (biobank, id, individual, sample_type, age, \
                             aliquots, storage_c, collection) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                             ON CONFLICT (biobank, id) DO UPDATE SET individual = excluded.individual, \
                             sample_type = excluded.sample_type, age = excluded.age, \
                             aliquots = excluded.aliquots, storage_c = excluded.storage_c, \
                             collection = excluded.collection",
                        )
                        .bind(biobank).bind(id).bind(individual).bind(t).bind(age).bind(aliquots).bind(storage)
                        .bind(collection)
                        .execute(&mut *tx)
                        .await?;
                        summary.samples += 1;
                    }
                    Err(reason) => {
                        summary.errors.push(RowError { file: input.name.into(), line, reason })
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// The stored catalogue, or `None` when nothing is stored.
    pub async fn load(&self) -> Result<Option<Catalogue>, StoreError> {
        let banks: Vec<Biobank> =
            sqlx::query("SELECT id, name, name_ja FROM biobank_banks ORDER BY id")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(Biobank { id: r.try_get(0)?, name: r.try_get(1)?, name_ja: r.try_get(2)? })
                })
                .collect::<Result<_, sqlx::Error>>()?;
        if banks.is_empty() {
            return Ok(None);
        }
        let icd = icd10();
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        let individuals = sqlx::query(
            "SELECT biobank, id, sex, diseases, consent, consent_disease, recontact, data, mother, father \
             FROM biobank_individuals",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let text = |i: usize| r.try_get::<String, _>(i);
            Ok(Individual {
                biobank: text(0)?,
                id: text(1)?,
                sex: Sex::parse(&text(2)?).unwrap_or(Sex::Unknown),
                diseases: list(&text(3)?).filter_map(|c| icd.id(c)).collect(),
                consent: list(&text(4)?).filter_map(Duo::parse).fold(0, |b, d| b | d.bit()),
                consent_disease: some(text(5)?).and_then(|c| icd.id(&c)),
                recontact: r.try_get::<i64, _>(6)? != 0,
                data: list(&text(7)?).filter_map(DataType::parse).fold(0, |b, d| b | 1 << (d as u8)),
                parents: [some(text(8)?), some(text(9)?)],
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let samples = sqlx::query(
            "SELECT id, individual, sample_type, age, aliquots, storage_c, collection \
             FROM biobank_samples",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Sample {
                id: r.try_get(0)?,
                individual: r.try_get(1)?,
                sample_type: SampleType::parse(&r.try_get::<String, _>(2)?)
                    .unwrap_or(SampleType::Dna),
                age: r.try_get::<i64, _>(3)?.clamp(0, 255) as u8,
                aliquots: r.try_get::<i64, _>(4)?.clamp(0, u16::MAX as i64) as u16,
                storage_c: r.try_get::<i64, _>(5)?.clamp(i16::MIN as i64, i16::MAX as i64) as i16,
                collection: r.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(Catalogue::build(banks, individuals, samples)?))
    }
}
