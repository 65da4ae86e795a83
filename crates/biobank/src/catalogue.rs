//! A catalogue of biobanks, their sample collections, participants
//! (donors) and their samples, following MIABIS (biobank → collection →
//! sample) and the Beacon v2 default model (individuals, biosamples; a
//! collection is a cohort), held in columns for the query engine: one row per sample,
//! rows grouped by biobank and then by participant, so a biobank's rows
//! and a participant's samples are each one contiguous range.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::terms::{icd10, DataType, Duo, SampleType};

/// Sex as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Not known or not recorded.
    Unknown,
}

impl Sex {
    /// Reads `female`/`F`/`女`, `male`/`M`/`男`, anything empty as unknown.
    pub fn parse(text: &str) -> Option<Sex> {
        match text.trim().to_ascii_lowercase().as_str() {
            "female" | "f" | "女" | "女性" => Some(Sex::Female),
            "male" | "m" | "男" | "男性" => Some(Sex::Male),
            "" | "unknown" | "u" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// A biobank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Biobank {
    /// Short id (`tmm`, `bbj`).
    pub id: String,
    /// Name in English.
    pub name: String,
    /// Name in Japanese.
    pub name_ja: String,
}

/// A participant as imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Individual {
    /// The biobank's id for the participant.
    pub id: String,
    /// The biobank (its id).
    pub biobank: String,
    /// Sex.
    pub sex: Sex,
    /// ICD-10 ids of their diagnoses.
    pub diseases: Vec<u16>,
    /// Consent as a DUO bit set.
    pub consent: u32,
    /// For disease-specific consent, the disease (ICD-10 id) it covers.
    pub consent_disease: Option<u16>,
    /// May be recontacted.
    pub recontact: bool,
    /// Data available, a bit per [`DataType`].
    pub data: u8,
    /// Mother and father, by participant id in the same biobank.
    pub parents: [Option<String>; 2],
}

/// A sample as imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The biobank's sample id.
    pub id: String,
    /// Whose it is (participant id).
    pub individual: String,
    /// Material.
    pub sample_type: SampleType,
    /// Age of the participant at collection, years.
    pub age: u8,
    /// Aliquots left.
    pub aliquots: u16,
    /// Storage temperature, °C (−196 for liquid nitrogen).
    pub storage_c: i16,
    /// The collection (cohort) it belongs to, by the biobank's id for it;
    /// empty for none.
    pub collection: String,
}

/// A participant's row range.
type Range = std::ops::Range<u32>;

/// The columns. Sample rows are ordered by biobank, then participant.
#[derive(Debug, Default)]
pub struct Catalogue {
    /// The biobanks, in row order.
    pub biobanks: Vec<Biobank>,
    /// Per biobank, its participants' and samples' row ranges.
    pub(crate) biobank_individuals: Vec<Range>,
    pub(crate) biobank_samples: Vec<Range>,
    // Participant columns.
    pub(crate) individual_ids: Vec<String>,
    pub(crate) sex: Vec<u8>,
    pub(crate) consent: Vec<u32>,
    pub(crate) consent_disease: Vec<u16>,
    pub(crate) recontact: Vec<bool>,
    pub(crate) data: Vec<u8>,
    pub(crate) parents: Vec<[u32; 2]>,
    pub(crate) disease_offsets: Vec<u32>,
    pub(crate) disease_codes: Vec<u16>,
    /// Per ICD-10 id, the participants diagnosed with it (sorted).
    pub(crate) by_disease: Vec<Vec<u32>>,
    /// Per participant, their samples' rows.
    pub(crate) samples_of: Vec<Range>,
    // Sample columns.
    pub(crate) sample_ids: Vec<String>,
    pub(crate) owner: Vec<u32>,
    pub(crate) sample_type: Vec<u8>,
    pub(crate) age: Vec<u8>,
    pub(crate) aliquots: Vec<u16>,
    pub(crate) storage_c: Vec<i16>,
    pub(crate) collection: Vec<u16>,
    /// The collections' ids, as numbered in `collection`.
    pub collections: Vec<String>,
}

/// No value in a `u16`/`u32` column.
pub(crate) const NONE16: u16 = u16::MAX;
pub(crate) const NONE32: u32 = u32::MAX;

/// A catalogue that cannot be built from these records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A record names something that does not exist or is given twice.
    #[error("{0}")]
    Inconsistent(String),
}

impl Catalogue {
    /// Builds the columns. Participants of unknown biobanks, samples of
    /// unknown participants and repeated ids are errors.
    pub fn build(
        biobanks: Vec<Biobank>,
        mut individuals: Vec<Individual>,
        mut samples: Vec<Sample>,
    ) -> Result<Catalogue, CatalogueError> {
        let bad = |m: String| Err(CatalogueError::Inconsistent(m));
        let bank_index: HashMap<String, usize> =
            biobanks.iter().enumerate().map(|(i, b)| (b.id.clone(), i)).collect();
        if bank_index.len() != biobanks.len() {
            return bad("a biobank id is given twice".into());
        }
        for ind in &individuals {
            if !bank_index.contains_key(ind.biobank.as_str()) {
                return bad(format!(
                    "participant {} names unknown biobank '{}'",
                    ind.id, ind.biobank
                ));
            }
        }
        individuals.sort_by_key(|i| bank_index[i.biobank.as_str()]);
        let mut row_of: HashMap<(usize, &str), u32> = HashMap::with_capacity(individuals.len());
        for (row, ind) in individuals.iter().enumerate() {
            let key = (bank_index[ind.biobank.as_str()], ind.id.as_str());
            if row_of.insert(key, row as u32).is_some() {
                return bad(format!("participant {} of {} is given twice", ind.id, ind.biobank));
            }
        }
        // A sample's participant is found by id; ids are unique per biobank
        // and a sample file names participants, so look across biobanks and
        // refuse ambiguity.
        let mut by_id: HashMap<&str, Option<u32>> = HashMap::with_capacity(individuals.len());
        for (row, ind) in individuals.iter().enumerate() {
            by_id.entry(ind.id.as_str()).and_modify(|e| *e = None).or_insert(Some(row as u32));
        }
        let mut keyed = Vec::with_capacity(samples.len());
        for s in samples.drain(..) {
            match by_id.get(s.individual.as_str()) {
                Some(Some(row)) => keyed.push((*row, s)),
                Some(None) => {
                    return bad(format!(
                        "sample {}: participant id {} is used by several biobanks",
                        s.id, s.individual
                    ))
                }
                None => {
                    return bad(format!(
                        "sample {} names unknown participant '{}'",
                        s.id, s.individual
                    ))
                }
            }
        }
        keyed.sort_by_key(|(row, _)| *row);
        let mut c = Catalogue { biobanks, ..Catalogue::default() };
        let icd = icd10();
        c.by_disease = vec![Vec::new(); icd.codes.len()];
        for (row, ind) in individuals.iter().enumerate() {
            c.individual_ids.push(ind.id.clone());
            c.sex.push(ind.sex as u8);
            c.consent.push(ind.consent);
            c.consent_disease.push(ind.consent_disease.unwrap_or(NONE16));
            c.recontact.push(ind.recontact);
            c.data.push(ind.data);
            c.disease_offsets.push(c.disease_codes.len() as u32);
            for &d in &ind.diseases {
                c.disease_codes.push(d);
                c.by_disease[d as usize].push(row as u32);
            }
            let bank = bank_index[ind.biobank.as_str()];
            let parent = |p: &Option<String>| {
                p.as_deref().and_then(|p| row_of.get(&(bank, p))).copied().unwrap_or(NONE32)
            };
            c.parents.push([parent(&ind.parents[0]), parent(&ind.parents[1])]);
        }
        c.disease_offsets.push(c.disease_codes.len() as u32);
        c.samples_of = vec![0..0; individuals.len()];
        for (row, s) in keyed {
            let at = c.sample_ids.len() as u32;
            let r = &mut c.samples_of[row as usize];
            if r.start == r.end {
                *r = at..at;
            }
            r.end = at + 1;
            c.sample_ids.push(s.id);
            c.owner.push(row);
            c.sample_type.push(s.sample_type as u8);
            c.age.push(s.age);
            c.aliquots.push(s.aliquots);
            c.storage_c.push(s.storage_c);
            let k = if s.collection.is_empty() {
                NONE16
            } else if let Some(k) = c.collections.iter().position(|x| *x == s.collection) {
                k as u16
            } else {
                c.collections.push(s.collection);
                (c.collections.len() - 1) as u16
            };
            c.collection.push(k);
        }
        for bank in 0..c.biobanks.len() {
            let rows: Vec<u32> = (0..individuals.len() as u32)
                .filter(|&r| bank_index[individuals[r as usize].biobank.as_str()] == bank)
                .collect();
            let ind_range = rows.first().map_or(0..0, |&f| f..rows.last().map_or(f, |l| l + 1));
            let first =
                rows.iter().map(|&r| c.samples_of[r as usize].clone()).find(|r| !r.is_empty());
            let last = rows
                .iter()
                .rev()
                .map(|&r| c.samples_of[r as usize].clone())
                .find(|r| !r.is_empty());
            let sample_range = match (first, last) {
                (Some(f), Some(l)) => f.start..l.end,
                _ => 0..0,
            };
            c.biobank_individuals.push(ind_range);
            c.biobank_samples.push(sample_range);
        }
        Ok(c)
    }

    /// Participants.
    pub fn individuals(&self) -> usize {
        self.individual_ids.len()
    }

    /// Samples.
    pub fn samples(&self) -> usize {
        self.sample_ids.len()
    }

    /// A participant's diagnoses (ICD-10 ids).
    pub(crate) fn diseases_of(&self, row: u32) -> &[u16] {
        let (a, b) = (self.disease_offsets[row as usize], self.disease_offsets[row as usize + 1]);
        &self.disease_codes[a as usize..b as usize]
    }

    /// One sample as a record (for record-level answers).
    pub fn sample_record(&self, row: u32) -> serde_json::Value {
        let r = row as usize;
        let ind = self.owner[r] as usize;
        let icd = icd10();
        let bank = self
            .biobank_samples
            .iter()
            .position(|b| b.contains(&row))
            .map_or("", |b| self.biobanks[b].id.as_str());
        let data: Vec<&str> = DataType::ALL
            .iter()
            .filter(|d| self.data[ind] & (1 << (**d as u8)) != 0)
            .map(|d| d.key())
            .collect();
        let consent: Vec<&str> = Duo::ALL
            .iter()
            .filter(|d| self.consent[ind] & d.bit() != 0)
            .map(|d| d.ontology_id())
            .collect();
        let sex = [Sex::Female, Sex::Male, Sex::Unknown][self.sex[ind] as usize];
        serde_json::json!({
            "id": self.sample_ids[r], "biobank": bank, "individual": self.individual_ids[ind],
            "sample_type": SampleType::ALL[self.sample_type[r] as usize].key(),
            "age_at_collection": self.age[r], "aliquots": self.aliquots[r], "storage_c": self.storage_c[r],
            "collection": self.collections.get(self.collection[r] as usize),
            "sex": sex,
            "diseases": self.diseases_of(ind as u32).iter().map(|&d| icd.code(d)).collect::<Vec<_>>(),
            "data": data, "consent": consent,
        })
    }
}
