//! Queries: criteria combined with AND/OR/NOT, answered with counts per
//! biobank in explicit units — donors (participants), samples and
//! aliquots. A query is evaluated over sample rows (a participant's
//! criteria apply to each of their samples): "female, 40–60, E11, DNA"
//! means DNA samples collected at 40–60 from women diagnosed with E11, and
//! its donor count is the number of such women.
//!
//! Written as JSON, e.g.
//! `{"and": [{"sex": "female"}, {"age": {"min": 40, "max": 60}},
//!  {"disease": "E11"}, {"sample_type": "dna"}, {"data": "whole_genome"},
//!  {"consent": "commercial"}]}`. Disease and sample-type terms include
//! their descendants (`C50` finds `C50.9`; `blood` finds serum and plasma).

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Sex, NONE16};
use crate::terms::{icd10, DataType, SampleGroup, SampleType, Use};

/// A query as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    /// Every part holds.
    And(Vec<Query>),
    /// Some part holds.
    Or(Vec<Query>),
    /// The part does not hold.
    Not(Box<Query>),
    /// The participant's sex.
    Sex(Sex),
    /// Age at collection, inclusive.
    Age {
        /// Youngest, years.
        #[serde(default)]
        min: u8,
        /// Oldest, years.
        #[serde(default = "oldest")]
        max: u8,
    },
    /// A diagnosis: ICD-10 code or disease name, descendants included.
    Disease(String),
    /// A sample type or group (key, ontology id or label).
    SampleType(String),
    /// Data available for the participant.
    Data(String),
    /// The participant's consent allows this use.
    Consent(Use),
    /// Participants who may be recontacted.
    Recontact,
    /// Samples of this biobank.
    Biobank(String),
    /// Samples of this collection (cohort), by its id.
    Collection(String),
    /// Samples with an aliquot left.
    Available,
}

fn oldest() -> u8 {
    u8::MAX
}

/// A query naming something that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// A query with every term resolved to the catalogue's codes: what is
/// evaluated, and (serialised) the canonical form two equivalent queries
/// share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Plan {
    /// All parts, sorted, no repeats.
    And(Vec<Plan>),
    /// Any part, sorted, no repeats.
    Or(Vec<Plan>),
    /// Not.
    Not(Box<Plan>),
    /// Sex code.
    Sex(u8),
    /// Inclusive age range.
    Age(u8, u8),
    /// ICD-10 ids (the code and its descendants, sorted).
    Disease(Vec<u16>),
    /// Sample type codes, sorted.
    SampleType(Vec<u8>),
    /// Data-type bit.
    Data(u8),
    /// A use, and the ICD-10 ids the query's diseases cover (for
    /// disease-specific consent).
    Consent(UseKey, Vec<u16>),
    /// Recontact allowed.
    Recontact,
    /// Biobank index (none: a biobank this catalogue does not hold, which
    /// matches nothing — in a federation each node holds only its own;
    /// whoever asks all of them says when a name is unknown everywhere).
    Biobank(Option<usize>),
    /// Collection number (none: a collection this catalogue does not hold,
    /// which matches nothing — in a federation each node holds only its
    /// own collections).
    Collection(Option<u16>),
    /// An aliquot left.
    Available,
}

/// [`Use`] with an order, for sorting plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UseKey(u8);

impl UseKey {
    fn of(u: Use) -> UseKey {
        UseKey(match u {
            Use::Commercial => 0,
            Use::HealthMedical => 1,
            Use::NonGenetic => 2,
            Use::Ancestry => 3,
        })
    }

    fn get(self) -> Use {
        [Use::Commercial, Use::HealthMedical, Use::NonGenetic, Use::Ancestry][self.0 as usize]
    }
}

fn diseases_in(q: &Query, out: &mut Vec<u16>) -> Result<(), QueryError> {
    match q {
        Query::And(parts) => parts.iter().try_for_each(|p| diseases_in(p, out)),
        Query::Disease(text) => {
            let icd = icd10();
            out.extend(icd.with_descendants(icd.find(text).map_err(QueryError)?));
            Ok(())
        }
        _ => Ok(()),
    }
}

impl Query {
    /// The biobanks the query names (`{"biobank": id}` anywhere in it).
    pub fn biobanks(&self) -> Vec<&str> {
        match self {
            Query::And(parts) | Query::Or(parts) => {
                parts.iter().flat_map(Query::biobanks).collect()
            }
            Query::Not(inner) => inner.biobanks(),
            Query::Biobank(id) => vec![id.as_str()],
            _ => Vec::new(),
        }
    }

    /// Resolves terms against the catalogue and puts the query in
    /// canonical form.
    pub fn plan(&self, catalogue: &Catalogue) -> Result<Plan, QueryError> {
        let mut scope = Vec::new();
        diseases_in(self, &mut scope)?;
        scope.sort_unstable();
        scope.dedup();
        self.plan_in(catalogue, &scope)
    }

    fn plan_in(&self, catalogue: &Catalogue, scope: &[u16]) -> Result<Plan, QueryError> {
        let bad = |m: String| Err(QueryError(m));
        Ok(match self {
            Query::And(parts) | Query::Or(parts) => {
                if parts.is_empty() {
                    return bad("an 'and' or 'or' needs at least one part".into());
                }
                let is_and = matches!(self, Query::And(_));
                let mut flat = Vec::new();
                for p in parts {
                    match (p.plan_in(catalogue, scope)?, is_and) {
                        (Plan::And(inner), true) | (Plan::Or(inner), false) => flat.extend(inner),
                        (other, _) => flat.push(other),
                    }
                }
                flat.sort();
                flat.dedup();
                match (flat.len(), is_and) {
                    (1, _) => flat.pop().expect("one part"),
                    (_, true) => Plan::And(flat),
                    (_, false) => Plan::Or(flat),
                }
            }
            Query::Not(inner) => match inner.plan_in(catalogue, scope)? {
                Plan::Not(twice) => *twice,
                other => Plan::Not(Box::new(other)),
            },
            Query::Sex(s) => Plan::Sex(*s as u8),
            Query::Age { min, max } => {
                if min > max {
                    return bad(format!("age from {min} to {max} is empty"));
                }
                Plan::Age(*min, *max)
            }
            Query::Disease(text) => {
                let icd = icd10();
                let mut ids = icd.with_descendants(icd.find(text).map_err(QueryError)?);
                ids.sort_unstable();
                Plan::Disease(ids)
            }
            Query::SampleType(text) => {
                let mut types: Vec<u8> = match (SampleType::parse(text), SampleGroup::parse(text)) {
                    (Some(t), _) => vec![t as u8],
                    (None, Some(g)) => SampleType::ALL
                        .iter()
                        .filter(|t| t.group() == Some(g))
                        .map(|t| *t as u8)
                        .collect(),
                    (None, None) => return bad(format!("'{text}' is not a sample type or group")),
                };
                types.sort_unstable();
                Plan::SampleType(types)
            }
            Query::Data(text) => match DataType::parse(text) {
                Some(d) => Plan::Data(d as u8),
                None => return bad(format!("'{text}' is not a data type")),
            },
            Query::Consent(u) => Plan::Consent(UseKey::of(*u), scope.to_vec()),
            Query::Recontact => Plan::Recontact,
            Query::Biobank(id) => {
                Plan::Biobank(catalogue.biobanks.iter().position(|b| b.id == *id))
            }
            Query::Collection(id) => Plan::Collection(
                catalogue.collections.iter().position(|c| c == id).map(|k| k as u16),
            ),
            Query::Available => Plan::Available,
        })
    }
}

/// A set of rows (participants or samples) as bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    fn empty(len: usize) -> Bits {
        Bits { words: vec![0; len.div_ceil(64)], len }
    }

    fn from_fn(len: usize, f: impl Fn(usize) -> bool) -> Bits {
        let mut words = vec![0u64; len.div_ceil(64)];
        for (w, word) in words.iter_mut().enumerate() {
            let base = w * 64;
            let end = (base + 64).min(len);
            let mut bits = 0u64;
            for i in base..end {
                bits |= (f(i) as u64) << (i - base);
            }
            *word = bits;
        }
        Bits { words, len }
    }

    fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    #[cfg(test)]
    pub(crate) fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
    }

    /// How many rows are in one set and not the other.
    pub fn difference_count(&self, other: &Bits) -> u64 {
        self.words.iter().zip(&other.words).map(|(a, b)| (a ^ b).count_ones() as u64).sum()
    }

    fn set_range(&mut self, r: std::ops::Range<usize>) {
        for i in r {
            self.set(i);
        }
    }

    /// Whether row `i` is in.
    pub fn get(&self, i: usize) -> bool {
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    fn and(mut self, o: &Bits) -> Bits {
        self.words.iter_mut().zip(&o.words).for_each(|(a, b)| *a &= b);
        self
    }

    fn or(mut self, o: &Bits) -> Bits {
        self.words.iter_mut().zip(&o.words).for_each(|(a, b)| *a |= b);
        self
    }

    fn not(mut self) -> Bits {
        self.words.iter_mut().for_each(|a| *a = !*a);
        if !self.len.is_multiple_of(64) {
            if let Some(last) = self.words.last_mut() {
                *last &= (1u64 << (self.len % 64)) - 1;
            }
        }
        self
    }

    /// The rows in, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut x = word;
            std::iter::from_fn(move || {
                (x != 0).then(|| {
                    let b = x.trailing_zeros() as usize;
                    x &= x - 1;
                    w * 64 + b
                })
            })
        })
    }

    /// How many rows are set.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| w.count_ones() as u64).sum()
    }

    /// The words in `range` of rows, the partial words at its ends masked.
    fn count_in(&self, range: std::ops::Range<usize>) -> u64 {
        if range.is_empty() {
            return 0;
        }
        let (first, last) = (range.start / 64, (range.end - 1) / 64);
        let mut n = 0u64;
        for w in first..=last {
            let mut word = self.words[w];
            if w == first {
                word &= u64::MAX << (range.start % 64);
            }
            if w == last && !range.end.is_multiple_of(64) {
                word &= (1u64 << (range.end % 64)) - 1;
            }
            n += word.count_ones() as u64;
        }
        n
    }
}

/// A plan's value: participant-level parts stay per participant until a
/// sample-level part needs them per sample (fewer rows to combine).
enum Level {
    Individuals(Bits),
    Samples(Bits),
}

/// Counts in each unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct participants with a matching sample.
    pub donors: u64,
    /// Matching samples.
    pub samples: u64,
    /// Aliquots of the matching samples.
    pub aliquots: u64,
}

/// What a query matched, per biobank (in catalogue order).
#[derive(Debug, Clone)]
pub struct Matched {
    /// Counts per biobank.
    pub per_biobank: Vec<Counts>,
    /// The matching sample rows.
    pub samples: Bits,
}

impl Catalogue {
    fn expand(&self, ind: &Bits) -> Bits {
        let mut s = Bits::empty(self.samples());
        for i in ind.ones() {
            let r = &self.samples_of[i];
            s.set_range(r.start as usize..r.end as usize);
        }
        s
    }

    fn eval(&self, plan: &Plan) -> Level {
        let (ni, ns) = (self.individuals(), self.samples());
        match plan {
            Plan::And(parts) | Plan::Or(parts) => {
                let is_and = matches!(plan, Plan::And(_));
                let mut ind: Option<Bits> = None;
                let mut smp: Option<Bits> = None;
                for p in parts {
                    match self.eval(p) {
                        Level::Individuals(b) => {
                            ind = Some(match ind {
                                None => b,
                                Some(a) if is_and => a.and(&b),
                                Some(a) => a.or(&b),
                            })
                        }
                        Level::Samples(b) => {
                            smp = Some(match smp {
                                None => b,
                                Some(a) if is_and => a.and(&b),
                                Some(a) => a.or(&b),
                            })
                        }
                    }
                }
                match (ind, smp) {
                    (Some(i), None) => Level::Individuals(i),
                    (None, Some(s)) => Level::Samples(s),
                    (Some(i), Some(s)) => {
                        let e = self.expand(&i);
                        Level::Samples(if is_and { s.and(&e) } else { s.or(&e) })
                    }
                    (None, None) => unreachable!("plans have parts"),
                }
            }
            Plan::Not(inner) => match self.eval(inner) {
                Level::Individuals(b) => Level::Individuals(b.not()),
                Level::Samples(b) => Level::Samples(b.not()),
            },
            Plan::Sex(s) => Level::Individuals(Bits::from_fn(ni, |i| self.sex[i] == *s)),
            Plan::Data(d) => Level::Individuals(Bits::from_fn(ni, |i| self.data[i] >> d & 1 == 1)),
            Plan::Recontact => Level::Individuals(Bits::from_fn(ni, |i| self.recontact[i])),
            Plan::Disease(ids) => {
                let mut b = Bits::empty(ni);
                for &d in ids {
                    for &i in &self.by_disease[d as usize] {
                        b.set(i as usize);
                    }
                }
                Level::Individuals(b)
            }
            Plan::Consent(u, scope) => {
                let u = u.get();
                // Disease-specific consent covers the query when a disease
                // it asks about lies under the consented one.
                let icd = icd10();
                let covers: Vec<bool> = (0..icd.codes.len() as u16)
                    .map(|k| {
                        !scope.is_empty()
                            && icd
                                .with_descendants(k)
                                .iter()
                                .any(|d| scope.binary_search(d).is_ok())
                    })
                    .collect();
                Level::Individuals(Bits::from_fn(ni, |i| {
                    let ds = self.consent_disease[i];
                    u.allowed(self.consent[i], ds != NONE16 && covers[ds as usize])
                }))
            }
            Plan::Biobank(b) => {
                let mut bits = Bits::empty(ni);
                if let Some(b) = b {
                    let r = &self.biobank_individuals[*b];
                    bits.set_range(r.start as usize..r.end as usize);
                }
                Level::Individuals(bits)
            }
            Plan::Age(lo, hi) => {
                Level::Samples(Bits::from_fn(ns, |i| (*lo..=*hi).contains(&self.age[i])))
            }
            Plan::SampleType(types) => {
                let mut wanted = [false; 256];
                types.iter().for_each(|t| wanted[*t as usize] = true);
                Level::Samples(Bits::from_fn(ns, |i| wanted[self.sample_type[i] as usize]))
            }
            Plan::Available => Level::Samples(Bits::from_fn(ns, |i| self.aliquots[i] > 0)),
            Plan::Collection(k) => Level::Samples(match k {
                Some(k) => Bits::from_fn(ns, |i| self.collection[i] == *k),
                None => Bits::empty(ns),
            }),
        }
    }

    /// Answers a planned query.
    pub fn evaluate(&self, plan: &Plan) -> Matched {
        let samples = match self.eval(plan) {
            Level::Individuals(b) => self.expand(&b),
            Level::Samples(b) => b,
        };
        let per_biobank = self
            .biobank_samples
            .iter()
            .map(|r| {
                let range = r.start as usize..r.end as usize;
                let mut c =
                    Counts { samples: samples.count_in(range.clone()), ..Counts::default() };
                if c.samples > 0 {
                    let mut last = u32::MAX;
                    for s in samples
                        .ones()
                        .skip_while(|s| *s < range.start)
                        .take_while(|s| *s < range.end)
                    {
                        c.aliquots += self.aliquots[s] as u64;
                        if self.owner[s] != last {
                            last = self.owner[s];
                            c.donors += 1;
                        }
                    }
                }
                c
            })
            .collect();
        Matched { per_biobank, samples }
    }

    /// The participants with a matching sample, as bits over participants.
    pub fn donor_bits(&self, matched: &Matched) -> Bits {
        let mut b = Bits::empty(self.individuals());
        for s in matched.samples.ones() {
            b.set(self.owner[s] as usize);
        }
        b
    }

    /// The participants (rows) with a matching sample.
    pub fn donors(&self, matched: &Matched) -> Vec<u32> {
        let mut out: Vec<u32> = matched.samples.ones().map(|s| self.owner[s]).collect();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Biobank, Individual, Sample};
    use crate::terms::Duo;

    fn tiny() -> Catalogue {
        let icd = icd10();
        let bank = |id: &str| Biobank { id: id.into(), name: id.into(), name_ja: id.into() };
        let person = |id: &str, bank: &str, sex, diseases: &[&str], consent: u32| Individual {
            id: id.into(),
            biobank: bank.into(),
            sex,
            diseases: diseases.iter().map(|d| icd.id(d).unwrap()).collect(),
            consent,
            consent_disease: None,
            recontact: false,
            data: 1 << DataType::WholeGenome as u8,
            parents: [None, None],
        };
        let sample = |id: &str, who: &str, t, age| Sample {
            id: id.into(),
            individual: who.into(),
            sample_type: t,
            age,
            aliquots: 2,
            storage_c: -80,
            collection: String::new(),
        };
        let gru = Duo::GeneralResearch.bit();
        Catalogue::build(
            vec![bank("a"), bank("b")],
            vec![
                person("p1", "a", Sex::Female, &["C50.9"], gru),
                person("p2", "b", Sex::Female, &["E11"], gru | Duo::NonCommercial.bit()),
                person("p3", "a", Sex::Male, &["E11.9", "I10"], gru),
            ],
            vec![
                sample("s1", "p1", SampleType::Dna, 45),
                sample("s2", "p1", SampleType::Serum, 45),
                sample("s3", "p2", SampleType::Dna, 52),
                sample("s4", "p3", SampleType::Plasma, 70),
            ],
        )
        .unwrap()
    }

    fn run(c: &Catalogue, json: &str) -> Vec<Counts> {
        let q: Query = serde_json::from_str(json).unwrap();
        c.evaluate(&q.plan(c).unwrap()).per_biobank
    }

    #[test]
    fn criteria_combine_and_count_in_each_unit() {
        let c = tiny();
        let breast = run(&c, r#"{"disease": "C50"}"#);
        assert_eq!(breast[0], Counts { donors: 1, samples: 2, aliquots: 4 });
        assert_eq!(breast[1], Counts::default());
        let e11 = run(&c, r#"{"and": [{"disease": "2型糖尿病"}, {"sample_type": "dna"}]}"#);
        assert_eq!((e11[0].samples, e11[1].samples), (0, 1), "E11 DNA: only p2's");
        let blood = run(&c, r#"{"sample_type": "blood"}"#);
        assert_eq!(blood[0].samples, 2, "serum and plasma are blood");
        let commercial = run(&c, r#"{"and": [{"sex": "female"}, {"consent": "commercial"}]}"#);
        assert_eq!((commercial[0].donors, commercial[1].donors), (1, 0));
        let not = run(&c, r#"{"not": {"age": {"min": 40, "max": 60}}}"#);
        assert_eq!(not[0].samples + not[1].samples, 1);
        let or = run(&c, r#"{"or": [{"biobank": "b"}, {"sex": "male"}]}"#);
        assert_eq!((or[0].samples, or[1].samples), (1, 1));
    }

    #[test]
    fn equivalent_queries_share_one_plan() {
        let c = tiny();
        let plan = |j: &str| serde_json::from_str::<Query>(j).unwrap().plan(&c).unwrap();
        assert_eq!(
            plan(r#"{"and": [{"sex": "female"}, {"disease": "C50"}]}"#),
            plan(
                r#"{"and": [{"disease": "乳癌"}, {"and": [{"sex": "female"}]}, {"sex": "female"}]}"#
            )
        );
        assert_eq!(plan(r#"{"not": {"not": {"sex": "male"}}}"#), plan(r#"{"sex": "male"}"#));
    }

    #[test]
    fn bad_terms_are_named() {
        let c = tiny();
        let err = |j: &str| serde_json::from_str::<Query>(j).unwrap().plan(&c).unwrap_err().0;
        assert!(err(r#"{"disease": "X99"}"#).contains("X99"));
        assert!(err(r#"{"sample_type": "marrow"}"#).contains("marrow"));
        assert!(err(r#"{"age": {"min": 60, "max": 40}}"#).contains("empty"));
        // A biobank held elsewhere matches nothing here (the cross-search,
        // which asks every node, names one held nowhere).
        let q: Query =
            serde_json::from_str(r#"{"or": [{"biobank": "zz"}, {"not": {"biobank": "a"}}]}"#)
                .unwrap();
        assert_eq!(q.biobanks(), ["zz", "a"]);
        let m = c.evaluate(&q.plan(&c).unwrap());
        assert_eq!(m.per_biobank[0].donors, 0);
        assert!(serde_json::from_str::<Query>(r#"{"colour": "red"}"#).is_err());
    }
}
