//! The vocabularies a catalogue is coded in: ICD-10 with its hierarchy and
//! Japanese names (`data/icd10.tsv`), sample types mapped to an ontology
//! (with groups such as "blood derivative"), available data types, and
//! consent as GA4GH DUO codes. Queries on a term include its descendants,
//! as Beacon v2 specifies.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

/// One ICD-10 code (chapter, block, category or subcategory).
#[derive(Debug, Clone, Serialize)]
pub struct Disease {
    /// `C50.9`, `C50`, `C50-C50` (block) or `II` (chapter).
    pub code: &'static str,
    /// The code above it, if any.
    pub parent: Option<&'static str>,
    /// English title.
    pub english: &'static str,
    /// Japanese name.
    pub japanese: &'static str,
}

/// The ICD-10 table: codes in file order, with their position as the
/// compact id the index stores.
pub struct Icd10 {
    /// Every code.
    pub codes: Vec<Disease>,
    by_code: HashMap<&'static str, u16>,
    children: Vec<Vec<u16>>,
}

/// The ICD-10 table bundled with Soyaku.
pub fn icd10() -> &'static Icd10 {
    static TABLE: OnceLock<Icd10> = OnceLock::new();
    TABLE.get_or_init(|| {
        let codes: Vec<Disease> = include_str!("../data/icd10.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&'static str> = l.split('\t').collect();
                Disease {
                    code: f[0],
                    parent: Some(f[1]).filter(|p| *p != "-"),
                    english: f[2],
                    japanese: f[3],
                }
            })
            .collect();
        let by_code: HashMap<&'static str, u16> =
            codes.iter().enumerate().map(|(i, d)| (d.code, i as u16)).collect();
        let mut children = vec![Vec::new(); codes.len()];
        for (i, d) in codes.iter().enumerate() {
            if let Some(p) = d.parent {
                children[by_code[p] as usize].push(i as u16);
            }
        }
        Icd10 { codes, by_code, children }
    })
}

impl Icd10 {
    /// The id of a code as written (`c50.9`, ` E11 ` and `E119` work).
    pub fn id(&self, code: &str) -> Option<u16> {
        let c = code.trim().to_ascii_uppercase();
        if let Some(id) = self.by_code.get(c.as_str()) {
            return Some(*id);
        }
        // `E119` is how some exports write `E11.9`.
        if c.len() == 4 && !c.contains('.') && !c.contains('-') {
            return self.by_code.get(format!("{}.{}", &c[..3], &c[3..]).as_str()).copied();
        }
        None
    }

    /// A code, or a disease name in Japanese or English (exact, then the
    /// only name containing the text); `Err` says what matched.
    pub fn find(&self, text: &str) -> Result<u16, String> {
        if let Some(id) = self.id(text) {
            return Ok(id);
        }
        // Colloquial がん/ガン is written 癌 in the disease-name master.
        let normal = text.trim().replace("がん", "癌").replace("ガン", "癌");
        let t = normal.as_str();
        let lower = t.to_lowercase();
        let exact: Vec<u16> = (0..self.codes.len() as u16)
            .filter(|&i| {
                let d = &self.codes[i as usize];
                d.japanese == t || d.english.to_lowercase() == lower
            })
            .collect();
        if let [one] = exact[..] {
            return Ok(one);
        }
        let partial: Vec<u16> = (0..self.codes.len() as u16)
            .filter(|&i| {
                let d = &self.codes[i as usize];
                d.japanese.contains(t) || d.english.to_lowercase().contains(&lower)
            })
            .collect();
        match partial[..] {
            [one] => Ok(one),
            [] => Err(format!("no ICD-10 code or disease name matches '{t}'")),
            _ => Err(format!(
                "'{t}' matches several diseases: {}; give the code",
                partial
                    .iter()
                    .take(8)
                    .map(|&i| format!(
                        "{} {}",
                        self.codes[i as usize].code, self.codes[i as usize].japanese
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// `id` and every code below it.
    pub fn with_descendants(&self, id: u16) -> Vec<u16> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            out.extend(&self.children[out[i] as usize]);
            i += 1;
        }
        out
    }

    /// The code of an id.
    pub fn code(&self, id: u16) -> &'static str {
        self.codes[id as usize].code
    }
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = ($key:literal, $id:literal, $label:literal, $ja:literal)),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[repr(u8)]
        pub enum $name { $(#[doc = $label] $variant),* }

        impl $name {
            /// Every term, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The key used in files and queries.
            pub fn key(self) -> &'static str { match self { $($name::$variant => $key),* } }

            /// The ontology id.
            pub fn ontology_id(self) -> &'static str { match self { $($name::$variant => $id),* } }

            /// The English label.
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),* } }

            /// The Japanese label.
            pub fn japanese(self) -> &'static str { match self { $($name::$variant => $ja),* } }

            /// The term with this key, ontology id or label.
            pub fn parse(text: &str) -> Option<$name> {
                let t = text.trim();
                $name::ALL.iter().copied().find(|v| {
                    v.key().eq_ignore_ascii_case(t) || v.ontology_id().eq_ignore_ascii_case(t)
                        || v.label().eq_ignore_ascii_case(t) || v.japanese() == t
                })
            }
        }
    };
}

vocabulary! {
    /// A sample's material, with its ontology term (UBERON for body
    /// fluids and tissues, OBI for extracts), as MIABIS lists them.
    SampleType {
        WholeBlood = ("whole_blood", "UBERON:0000178", "whole blood", "全血"),
        Serum = ("serum", "UBERON:0001977", "serum", "血清"),
        Plasma = ("plasma", "UBERON:0001969", "plasma", "血漿"),
        BuffyCoat = ("buffy_coat", "OBI:0000427", "buffy coat", "バフィーコート"),
        Pbmc = ("pbmc", "CL:2000001", "peripheral blood mononuclear cells", "末梢血単核球"),
        Dna = ("dna", "OBI:0001051", "DNA extract", "DNA"),
        Rna = ("rna", "OBI:0000880", "RNA extract", "RNA"),
        TissueFrozen = ("tissue_frozen", "OBI:0000922", "frozen tissue", "凍結組織"),
        TissueFfpe = ("tissue_ffpe", "OBI:1200000", "FFPE tissue", "FFPE組織"),
        Urine = ("urine", "UBERON:0001088", "urine", "尿"),
        Saliva = ("saliva", "UBERON:0001836", "saliva", "唾液"),
        CellLine = ("cell_line", "CLO:0000031", "cell line", "細胞株"),
    }
}

vocabulary! {
    /// Groups of sample types a query may name instead of each type.
    SampleGroup {
        Blood = ("blood", "UBERON:0000178", "blood and blood derivatives", "血液・血液由来"),
        NucleicAcid = ("nucleic_acid", "OBI:0001868", "nucleic acid extracts", "核酸"),
        Tissue = ("tissue", "UBERON:0000479", "tissue", "組織"),
    }
}

impl SampleType {
    /// The group it belongs to, if any.
    pub fn group(self) -> Option<SampleGroup> {
        use SampleType::*;
        match self {
            WholeBlood | Serum | Plasma | BuffyCoat | Pbmc => Some(SampleGroup::Blood),
            Dna | Rna => Some(SampleGroup::NucleicAcid),
            TissueFrozen | TissueFfpe => Some(SampleGroup::Tissue),
            Urine | Saliva | CellLine => None,
        }
    }
}

vocabulary! {
    /// Data available for a participant (EFO/OBI assay terms).
    DataType {
        GenotypeArray = ("genotype_array", "EFO:0002767", "genotyping array", "SNPアレイ"),
        WholeGenome = ("whole_genome", "OBI:0002117", "whole genome sequencing", "全ゲノム配列"),
        WholeExome = ("whole_exome", "OBI:0002118", "whole exome sequencing", "全エクソーム配列"),
        Metabolome = ("metabolome", "OBI:0000366", "metabolomics", "メタボローム"),
        Proteome = ("proteome", "OBI:0000615", "proteomics", "プロテオーム"),
        Imaging = ("imaging", "OBI:0000185", "imaging", "画像"),
        ClinicalFollowUp = ("clinical_follow_up", "NCIT:C16032", "clinical follow-up", "追跡調査情報"),
    }
}

vocabulary! {
    /// Consent as GA4GH Data Use Ontology codes: one permission and any
    /// modifiers, kept as a bit set per participant.
    Duo {
        NoRestriction = ("NRES", "DUO:0000004", "no restriction", "制限なし"),
        GeneralResearch = ("GRU", "DUO:0000042", "general research use", "研究一般"),
        HealthMedical = ("HMB", "DUO:0000006", "health or medical or biomedical research", "保健医療・生物医学研究"),
        DiseaseSpecific = ("DS", "DUO:0000007", "disease specific research", "特定疾患研究"),
        PopulationAncestry = ("POA", "DUO:0000011", "population origins or ancestry research only", "集団起源・祖先研究のみ"),
        NonCommercial = ("NCU", "DUO:0000046", "non-commercial use only", "非営利利用のみ"),
        NotForProfitNonCommercial = ("NPUNCU", "DUO:0000018", "not-for-profit, non-commercial use only", "非営利組織・非営利利用のみ"),
        GeneticStudiesOnly = ("GSO", "DUO:0000016", "genetic studies only", "遺伝学研究のみ"),
        EthicsApproval = ("IRB", "DUO:0000021", "ethics approval required", "倫理審査承認が必要"),
        Collaboration = ("COL", "DUO:0000020", "collaboration required", "共同研究が必要"),
        Publication = ("PUB", "DUO:0000019", "publication required", "成果公表が必要"),
        ReturnToResource = ("RTN", "DUO:0000029", "return to database or resource", "データ還元が必要"),
    }
}

impl Duo {
    /// The term's bit in a consent set.
    pub fn bit(self) -> u32 {
        1 << (self as u8)
    }
}

/// A use a researcher has in mind, checked against participants' consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Research by a company.
    Commercial,
    /// Health, medical or biomedical research (any disease).
    HealthMedical,
    /// Research other than genetics (excluded by "genetic studies only").
    NonGenetic,
    /// Research on population origins or ancestry.
    Ancestry,
}

impl Use {
    /// Whether a participant with consent `bits` (and, for disease-specific
    /// consent, the disease `ds`) allows this use; `disease` is the query's
    /// disease subtree, which a disease-specific consent must cover.
    pub fn allowed(self, bits: u32, in_ds_scope: bool) -> bool {
        let has = |d: Duo| bits & d.bit() != 0;
        let open = has(Duo::NoRestriction) || has(Duo::GeneralResearch);
        match self {
            Use::Commercial => !has(Duo::NonCommercial) && !has(Duo::NotForProfitNonCommercial),
            Use::HealthMedical => {
                open || has(Duo::HealthMedical) || (has(Duo::DiseaseSpecific) && in_ds_scope)
            }
            Use::NonGenetic => !has(Duo::GeneticStudiesOnly),
            Use::Ancestry => open || has(Duo::PopulationAncestry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_hierarchy_and_names() {
        let t = icd10();
        let c50 = t.find("C50").unwrap();
        let below: Vec<&str> = t.with_descendants(c50).iter().map(|&i| t.code(i)).collect();
        assert!(below.contains(&"C50.9") && below.contains(&"C50.4"), "{below:?}");
        assert!(!below.contains(&"C53"));
        assert_eq!(t.code(t.find("2型糖尿病").unwrap()), "E11");
        assert_eq!(t.code(t.find("e119").unwrap()), "E11.9");
        assert_eq!(t.code(t.find("Type 2 diabetes mellitus").unwrap()), "E11");
        assert_eq!(t.code(t.find("乳癌").unwrap()), "C50");
        assert_eq!(t.code(t.find("乳がん").unwrap()), "C50");
        assert!(t.find("糖尿病性").unwrap_err().contains("several"), "two E11 subcodes match");
        assert!(t.find("no such disease").is_err());
        // Every parent named exists, so the tree is whole.
        assert!(t.codes.iter().all(|d| d.parent.is_none_or(|p| t.id(p).is_some())));
        let neoplasms = t.with_descendants(t.find("II").unwrap());
        assert!(neoplasms.iter().any(|&i| t.code(i) == "C50.9"));
    }

    #[test]
    fn vocabularies_parse_by_key_id_or_label() {
        assert_eq!(SampleType::parse("UBERON:0001977"), Some(SampleType::Serum));
        assert_eq!(SampleType::parse("血漿"), Some(SampleType::Plasma));
        assert_eq!(DataType::parse("whole_genome"), Some(DataType::WholeGenome));
        assert_eq!(Duo::parse("DUO:0000046"), Some(Duo::NonCommercial));
        assert_eq!(SampleType::Serum.group(), Some(SampleGroup::Blood));
    }

    #[test]
    fn consent_decides_uses() {
        let ncu = Duo::GeneralResearch.bit() | Duo::NonCommercial.bit();
        assert!(!Use::Commercial.allowed(ncu, false));
        assert!(Use::HealthMedical.allowed(ncu, false));
        let ds = Duo::DiseaseSpecific.bit();
        assert!(!Use::HealthMedical.allowed(ds, false));
        assert!(Use::HealthMedical.allowed(ds, true));
        assert!(Use::Commercial.allowed(ds, false));
    }
}
