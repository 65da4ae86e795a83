//! The demo catalogue: **synthetic participants**, no real person's data.
//! Three biobanks whose marginal figures follow what they publish —
//! Tohoku Medical Megabank (about 150,000 general-population participants,
//! a three-generation birth cohort with family links, broad consent, SNP
//! arrays for nearly all and whole genomes for about a tenth), BioBank
//! Japan (about 270,000 patients with 440,000 cases of 51 diseases, DNA
//! and serum, arrays for all) and the National Center Biobank Network
//! (disease-specific collections with tissue). Every value is drawn from a
//! fixed-seed generator, so a scale and a seed give the same catalogue.

use crate::catalogue::{Biobank, Individual, Sample, Sex};
use crate::terms::{icd10, DataType, Duo, SampleType};

/// SplitMix64: small, fast and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn between(&mut self, lo: u8, hi: u8) -> u8 {
        lo + (self.next() % (hi - lo + 1) as u64) as u8
    }
}

/// BioBank Japan's diseases (ICD-10) with relative case counts.
const BBJ_DISEASES: &[(&str, f64)] = &[
    ("C34", 4.0),
    ("C16", 6.0),
    ("C18", 5.0),
    ("C20", 2.0),
    ("C22.0", 3.0),
    ("C25", 1.5),
    ("C23", 0.5),
    ("C24", 0.8),
    ("C50", 5.0),
    ("C53", 1.0),
    ("C54", 1.0),
    ("C56", 0.8),
    ("C61", 4.0),
    ("C15", 1.2),
    ("C83", 0.8),
    ("C90", 0.4),
    ("C92", 0.4),
    ("E11", 16.0),
    ("E78", 12.0),
    ("E05.0", 1.0),
    ("I21", 4.0),
    ("I20.0", 1.5),
    ("I20.8", 3.0),
    ("I48", 3.0),
    ("I49", 2.0),
    ("I50", 3.0),
    ("I63", 6.0),
    ("I61", 1.2),
    ("I67.1", 0.8),
    ("I73.9", 1.5),
    ("J45", 3.0),
    ("J30.1", 1.5),
    ("J44", 2.0),
    ("J84", 1.0),
    ("A15", 0.8),
    ("B18.1", 1.0),
    ("B18.2", 2.0),
    ("K74", 1.0),
    ("N04", 0.6),
    ("N20", 1.5),
    ("M81", 2.5),
    ("M06", 2.0),
    ("K05", 1.0),
    ("H26", 2.5),
    ("H40", 2.0),
    ("G40", 1.0),
    ("R56.0", 0.3),
    ("G12.2", 0.3),
    ("L27", 0.4),
    ("N80", 0.8),
    ("D25", 1.0),
    ("L91.0", 0.5),
    ("L20", 1.2),
];

/// Diseases of the general population, with prevalence.
const POPULATION: &[(&str, f64)] = &[
    ("I10", 0.30),
    ("E78", 0.20),
    ("E11", 0.09),
    ("J30.1", 0.15),
    ("J45", 0.05),
    ("L20", 0.03),
    ("M81", 0.05),
    ("H26", 0.06),
    ("I48", 0.01),
    ("C50", 0.01),
    ("C16", 0.01),
    ("N18", 0.03),
    ("K05", 0.05),
    ("G30", 0.005),
];

/// The national centre (and so the collection) that holds a disease's
/// samples.
fn ncbn_centre(code: &str) -> &'static str {
    match code.as_bytes()[0] {
        b'C' => "ncbn-ncc",
        b'I' => "ncbn-ncvc",
        b'G' if code == "G30" => "ncbn-ncgg",
        b'G' => "ncbn-ncnp",
        b'R' => "ncbn-ncchd",
        _ => "ncbn-ncgm",
    }
}

/// National centres' disease collections.
const NCBN: &[(&str, f64)] = &[
    ("C16", 4.0),
    ("C34", 4.0),
    ("C50", 3.0),
    ("C18", 3.0),
    ("C22.0", 2.0),
    ("C25", 2.0),
    ("I21", 2.0),
    ("I63", 2.0),
    ("I50", 1.5),
    ("G30", 1.5),
    ("G40", 1.0),
    ("G12.2", 0.5),
    ("B18.2", 1.0),
    ("E10", 0.5),
    ("R56.0", 0.5),
];

fn pick(rng: &mut Rng, table: &[(&str, f64)]) -> u16 {
    let total: f64 = table.iter().map(|t| t.1).sum();
    let mut x = rng.unit() * total;
    for (code, w) in table {
        if x < *w {
            return icd10().id(code).expect("demo codes are in the table");
        }
        x -= w;
    }
    icd10().id(table[0].0).expect("demo codes are in the table")
}

fn data_bits(types: &[DataType]) -> u8 {
    types.iter().fold(0, |b, d| b | 1 << (*d as u8))
}

/// The three demo biobanks.
pub fn biobanks() -> Vec<Biobank> {
    let bank = |id: &str, name: &str, ja: &str| Biobank {
        id: id.into(),
        name: name.into(),
        name_ja: ja.into(),
    };
    vec![
        bank(
            "tmm",
            "Tohoku Medical Megabank (synthetic demo)",
            "東北メディカル・メガバンク（合成デモ）",
        ),
        bank("bbj", "BioBank Japan (synthetic demo)", "バイオバンク・ジャパン（合成デモ）"),
        bank(
            "ncbn",
            "National Center Biobank Network (synthetic demo)",
            "ナショナルセンター・バイオバンクネットワーク（合成デモ）",
        ),
    ]
}

/// [`generate`] split by biobank (each node's own catalogue), in
/// [`biobanks`] order: each biobank's record, participants and samples.
pub fn generate_shares(scale: f64, seed: u64) -> Vec<(Vec<Biobank>, Vec<Individual>, Vec<Sample>)> {
    let (banks, people, samples) = generate(scale, seed);
    let bank_of: std::collections::HashMap<String, String> =
        people.iter().map(|p| (p.id.clone(), p.biobank.clone())).collect();
    let mut shares: Vec<_> = banks.into_iter().map(|b| (vec![b], Vec::new(), Vec::new())).collect();
    let index = |bank: &str, shares: &[(Vec<Biobank>, _, _)]| {
        shares.iter().position(|s| s.0[0].id == bank).expect("demo participants name demo biobanks")
    };
    for p in people {
        let i = index(&p.biobank, &shares);
        shares[i].1.push(p);
    }
    for s in samples {
        let i = index(&bank_of[&s.individual], &shares);
        shares[i].2.push(s);
    }
    shares
}

/// One demo biobank's share of [`generate`] (a node's own catalogue).
pub fn generate_for(
    scale: f64,
    seed: u64,
    biobank: &str,
) -> (Vec<Biobank>, Vec<Individual>, Vec<Sample>) {
    generate_shares(scale, seed).into_iter().find(|s| s.0[0].id == biobank).unwrap_or_default()
}

/// A synthetic catalogue at `scale` (1.0: about 520,000 participants and
/// 1.5 million samples).
pub fn generate(scale: f64, seed: u64) -> (Vec<Biobank>, Vec<Individual>, Vec<Sample>) {
    let mut rng = Rng(seed);
    let mut people = Vec::new();
    let mut samples = Vec::new();
    let n = |x: f64| (x * scale).round().max(1.0) as usize;
    let mut add_samples =
        |rng: &mut Rng, who: &str, collection: &str, types: &[(SampleType, f64)], age: u8| {
            for (t, p) in types {
                if rng.chance(*p) {
                    samples.push(Sample {
                        collection: collection.to_owned(),
                        id: format!("{who}-{}", t.key()),
                        individual: who.to_owned(),
                        sample_type: *t,
                        age,
                        aliquots: rng.between(0, 6) as u16,
                        storage_c: if matches!(t, SampleType::TissueFfpe) { 20 } else { -80 },
                    });
                }
            }
        };
    // Tohoku Medical Megabank: community cohort and three-generation families.
    let community = n(84_000.0);
    let families = n(18_000.0);
    let tmm_types = [
        (SampleType::Serum, 0.95),
        (SampleType::Plasma, 0.95),
        (SampleType::Dna, 0.97),
        (SampleType::Urine, 0.8),
        (SampleType::Rna, 0.1),
    ];
    let tmm_person =
        |rng: &mut Rng, id: String, sex: Sex, age: u8, parents: [Option<String>; 2]| {
            let mut diseases: Vec<u16> = POPULATION
                .iter()
                .filter(|(_, p)| rng.chance(*p * (age as f64 / 60.0).min(1.5)))
                .map(|(c, _)| icd10().id(c).expect("demo codes are in the table"))
                .collect();
            diseases.dedup();
            let mut data = vec![DataType::GenotypeArray, DataType::ClinicalFollowUp];
            if rng.chance(0.10) {
                data.push(DataType::WholeGenome);
            }
            if rng.chance(0.05) {
                data.push(DataType::Metabolome);
            }
            if rng.chance(0.02) {
                data.push(DataType::Proteome);
            }
            if rng.chance(0.08) {
                data.push(DataType::Imaging);
            }
            let consent = Duo::GeneralResearch.bit()
                | if rng.chance(0.15) { Duo::NonCommercial.bit() } else { 0 }
                | Duo::EthicsApproval.bit();
            Individual {
                id,
                biobank: "tmm".into(),
                sex,
                diseases,
                consent,
                consent_disease: None,
                recontact: rng.chance(0.9),
                data: data_bits(&data),
                parents,
            }
        };
    for k in 0..community {
        let sex = if rng.chance(0.62) { Sex::Female } else { Sex::Male };
        let age = rng.between(20, 90);
        let id = format!("TMM-C{k:07}");
        people.push(tmm_person(&mut rng, id.clone(), sex, age, [None, None]));
        add_samples(&mut rng, &id, "tmm-community", &tmm_types, age);
    }
    for f in 0..families {
        // Grandparents, parents, a child: three generations linked.
        let gm = format!("TMM-F{f:06}-GM");
        let gf = format!("TMM-F{f:06}-GF");
        let mo = format!("TMM-F{f:06}-M");
        let fa = format!("TMM-F{f:06}-F");
        let ch = format!("TMM-F{f:06}-C");
        let mother_age = rng.between(22, 42);
        let members = [
            (gm.clone(), Sex::Female, mother_age + rng.between(22, 32), [None, None]),
            (gf.clone(), Sex::Male, mother_age + rng.between(24, 36), [None, None]),
            (mo.clone(), Sex::Female, mother_age, [Some(gm.clone()), Some(gf.clone())]),
            (fa.clone(), Sex::Male, mother_age + rng.between(0, 6), [None, None]),
            (
                ch,
                if rng.chance(0.5) { Sex::Female } else { Sex::Male },
                0,
                [Some(mo.clone()), Some(fa.clone())],
            ),
        ];
        for (id, sex, age, parents) in members {
            if id.ends_with("-GF") && !rng.chance(0.6) {
                continue;
            }
            people.push(tmm_person(&mut rng, id.clone(), sex, age, parents));
            add_samples(&mut rng, &id, "tmm-birth-three-generation", &tmm_types, age);
        }
    }
    // BioBank Japan: patients with 1–3 of 51 diseases (440k cases / 270k people).
    for k in 0..n(270_000.0) {
        let id = format!("BBJ-{k:07}");
        let cases = 1 + rng.chance(0.45) as usize + rng.chance(0.18) as usize;
        let mut diseases: Vec<u16> = (0..cases).map(|_| pick(&mut rng, BBJ_DISEASES)).collect();
        diseases.sort_unstable();
        diseases.dedup();
        let female_only = diseases
            .iter()
            .any(|d| ["C53", "C54", "C56", "N80", "D25"].contains(&icd10().code(*d)));
        let male_only = diseases.iter().any(|d| icd10().code(*d) == "C61");
        let sex = if female_only {
            Sex::Female
        } else if male_only {
            Sex::Male
        } else if rng.chance(0.46) {
            Sex::Female
        } else {
            Sex::Male
        };
        let age = rng.between(30, 85);
        let mut data = vec![DataType::GenotypeArray, DataType::ClinicalFollowUp];
        if rng.chance(0.04) {
            data.push(DataType::WholeGenome);
        }
        if rng.chance(0.02) {
            data.push(DataType::WholeExome);
        }
        let consent = Duo::HealthMedical.bit()
            | if rng.chance(0.3) { Duo::NonCommercial.bit() } else { 0 }
            | Duo::EthicsApproval.bit();
        people.push(Individual {
            id: id.clone(),
            biobank: "bbj".into(),
            sex,
            diseases,
            consent,
            consent_disease: None,
            recontact: rng.chance(0.3),
            data: data_bits(&data),
            parents: [None, None],
        });
        let types = [(SampleType::Dna, 1.0), (SampleType::Serum, 0.9)];
        add_samples(&mut rng, &id, "bbj-patients", &types, age);
    }
    // National centres: disease-specific consent, tissue for cancers.
    for k in 0..n(100_000.0) {
        let id = format!("NCBN-{k:07}");
        let disease = pick(&mut rng, NCBN);
        let cancer = icd10().code(disease).starts_with('C');
        let sex = if rng.chance(0.5) { Sex::Female } else { Sex::Male };
        let age =
            if icd10().code(disease) == "R56.0" { rng.between(0, 6) } else { rng.between(18, 90) };
        let mut data = vec![DataType::ClinicalFollowUp];
        if rng.chance(0.6) {
            data.push(DataType::GenotypeArray);
        }
        if rng.chance(0.08) {
            data.push(DataType::WholeGenome);
        }
        if cancer && rng.chance(0.3) {
            data.push(DataType::WholeExome);
        }
        if rng.chance(0.2) {
            data.push(DataType::Imaging);
        }
        let specific = rng.chance(0.4);
        let consent = if specific { Duo::DiseaseSpecific.bit() } else { Duo::HealthMedical.bit() }
            | if rng.chance(0.5) { Duo::NonCommercial.bit() } else { 0 }
            | Duo::EthicsApproval.bit();
        people.push(Individual {
            id: id.clone(),
            biobank: "ncbn".into(),
            sex,
            diseases: vec![disease],
            consent,
            consent_disease: specific.then_some(disease),
            recontact: rng.chance(0.5),
            data: data_bits(&data),
            parents: [None, None],
        });
        let tissue = if cancer { 0.7 } else { 0.0 };
        add_samples(
            &mut rng,
            &id,
            ncbn_centre(icd10().code(disease)),
            &[
                (SampleType::Dna, 0.9),
                (SampleType::Plasma, 0.8),
                (SampleType::TissueFrozen, tissue),
                (SampleType::TissueFfpe, tissue),
            ],
            age,
        );
    }
    (biobanks(), people, samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use crate::query::Query;

    #[test]
    fn the_demo_follows_the_published_figures() {
        let (banks, people, samples) = generate(0.05, 7);
        let again = generate(0.05, 7);
        assert_eq!(people.len(), again.1.len(), "a seed gives the same catalogue");
        let c = Catalogue::build(banks, people, samples).unwrap();
        let total = |json: &str| -> Vec<u64> {
            let q: Query = serde_json::from_str(json).unwrap();
            c.evaluate(&q.plan(&c).unwrap()).per_biobank.iter().map(|x| x.donors).collect()
        };
        let all = total(r#"{"age": {"min": 0, "max": 255}}"#);
        // TMM ≈ 150k, BBJ 270k, NCBN 100k at scale 1.
        assert!((6_000..9_000).contains(&all[0]), "{all:?}");
        assert!((13_000..14_000).contains(&all[1]), "{all:?}");
        // BBJ: about 440k cases for 270k people.
        let bbj_rows = &c.biobank_individuals[1];
        let cases: usize = (bbj_rows.start..bbj_rows.end).map(|r| c.diseases_of(r).len()).sum();
        let per_person = cases as f64 / all[1] as f64;
        assert!((1.5..1.75).contains(&per_person), "{per_person}");
        // Families link three generations.
        assert!(c.parents.iter().any(|p| p[0] != crate::catalogue::NONE32));
        // Collections: TMM's two cohorts, the national centres' own; a
        // collection another node holds matches nothing here, without error.
        let families = total(r#"{"collection": "tmm-birth-three-generation"}"#);
        assert!(families[0] > 0 && families[1] == 0 && families[2] == 0, "{families:?}");
        let cancer = total(r#"{"and": [{"collection": "ncbn-ncc"}, {"not": {"disease": "II"}}]}"#);
        assert_eq!(cancer, [0, 0, 0], "the cancer centre holds cancers only");
        assert_eq!(total(r#"{"collection": "elsewhere"}"#), [0, 0, 0]);
        assert_eq!(c.collections.len(), 2 + 1 + 6, "{:?}", c.collections);
    }
}
