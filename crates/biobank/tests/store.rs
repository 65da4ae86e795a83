//! A catalogue imported from files, with bad rows reported and good rows
//! kept, stored and loaded back on both backends.

use biobank::store::{Input, Store};
use biobank::{Granularity, Guard, Policy, Query};
use testdb::Backend;

testdb::on_both_backends!(import_validates_rows_and_loads_back);

async fn import_validates_rows_and_loads_back(b: &Backend) {
    let registry = library::Registry::open(&b.fresh_url().await).await.unwrap();
    let store = Store::attach(registry.pool().clone()).await.unwrap();
    assert!(store.load().await.unwrap().is_none(), "nothing stored yet");
    let banks = "id,name,name_ja\nkyoto,Kyoto demo,京都デモ\n";
    let people = "biobank,id,sex,diseases,consent,consent_disease,recontact,data,mother,father\n\
        kyoto,K1,female,C50.9;I10,GRU;NCU,,yes,genotype_array;whole_genome,,\n\
        kyoto,K2,男,2型糖尿病,DUO:0000007,E11,no,genotype_array,,\n\
        kyoto,K3,female,X99,GRU,,no,,,\n\
        kyoto,K4,female,,GRU,E11,no,,,\n\
        osaka,O1,male,,GRU,,no,,,\n";
    let samples = r#"[
        {"biobank": "kyoto", "id": "S1", "individual": "K1", "sample_type": "serum", "age": 52},
        {"biobank": "kyoto", "id": "S2", "individual": "K1", "sample_type": "DNA", "age": 52, "aliquots": 3, "collection": "kyoto-cancer"},
        {"biobank": "kyoto", "id": "S3", "individual": "K2", "sample_type": "血漿", "age": 61},
        {"biobank": "kyoto", "id": "S4", "individual": "K9", "sample_type": "dna", "age": 40},
        {"biobank": "kyoto", "id": "S5", "individual": "K2", "sample_type": "marrow", "age": 40},
        {"biobank": "kyoto", "id": "S6", "individual": "K2", "sample_type": "dna", "age": 400}
    ]"#;
    let summary = store
        .import(
            Some(Input { name: "banks.csv", text: banks }),
            Some(Input { name: "people.csv", text: people }),
            Some(Input { name: "samples.json", text: samples }),
        )
        .await
        .unwrap();
    assert_eq!((summary.biobanks, summary.individuals, summary.samples), (1, 2, 3), "{summary:?}");
    let said: Vec<(String, u64, &str)> =
        summary.errors.iter().map(|e| (e.file.clone(), e.line, e.reason.as_str())).collect();
    assert_eq!(said.len(), 6, "{said:?}");
    assert!(said[0].1 == 4 && said[0].2.contains("X99"), "{said:?}");
    assert!(said[1].1 == 5 && said[1].2.contains("DS"), "{said:?}");
    assert!(said[2].1 == 6 && said[2].2.contains("osaka"), "{said:?}");
    assert!(said[3].0 == "samples.json" && said[3].1 == 4 && said[3].2.contains("K9"), "{said:?}");
    assert!(said[4].2.contains("marrow") && said[5].2.contains("age"), "{said:?}");
    // Importing again updates rather than duplicates.
    let again =
        store.import(None, Some(Input { name: "people.csv", text: people }), None).await.unwrap();
    assert_eq!(again.individuals, 2);
    let catalogue = store.load().await.unwrap().unwrap();
    assert_eq!((catalogue.individuals(), catalogue.samples()), (2, 3));
    let q: Query =
        serde_json::from_str(r#"{"and": [{"disease": "C50"}, {"consent": "commercial"}]}"#)
            .unwrap();
    let m = catalogue.evaluate(&q.plan(&catalogue).unwrap());
    assert_eq!(m.per_biobank[0].donors, 0, "K1 consented to non-commercial use only");
    let q: Query =
        serde_json::from_str(r#"{"and": [{"disease": "E11.9"}, {"consent": "health_medical"}]}"#)
            .unwrap();
    let m = catalogue.evaluate(&q.plan(&catalogue).unwrap());
    assert_eq!(m.per_biobank[0].donors, 0, "K2 has E11 itself, not E11.9");
    let q: Query =
        serde_json::from_str(r#"{"and": [{"disease": "E11"}, {"consent": "health_medical"}]}"#)
            .unwrap();
    let plan = q.plan(&catalogue).unwrap();
    let m = catalogue.evaluate(&plan);
    assert_eq!(m.per_biobank[0].donors, 1, "disease-specific consent for E11 covers an E11 study");
    let q: Query = serde_json::from_str(r#"{"collection": "kyoto-cancer"}"#).unwrap();
    let m2 = catalogue.evaluate(&q.plan(&catalogue).unwrap());
    assert_eq!((m2.per_biobank[0].donors, m2.per_biobank[0].samples), (1, 1), "S2 alone");
    let guard = Guard::new(Policy::default(), [0; 32]);
    let a = guard.answer(&catalogue, "x", Granularity::Count, &[], &plan, &m, 0).unwrap();
    assert_eq!(a.biobanks[0].donors, Some(biobank::protect::Reported::FewerThan(10)));
}
