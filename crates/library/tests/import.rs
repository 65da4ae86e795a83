//! Bulk import end to end: idempotence, bad records, resume after
//! cancellation, SD files with samples, salt forms and stereo relatives. Every
//! scenario runs twice, on SQLite and on a PostgreSQL server the test starts
//! for itself, and must give the same results on both.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use library::import::{import_errors, import_file, ImportOptions, ImportSummary, Progress};
use library::{CompoundId, Registry};
use support::{demo_slice, Ctx, Registries as _};
use testdb::on_both_backends;

on_both_backends!(
    importing_twice_registers_once,
    bad_records_are_reported_and_good_ones_land,
    missing_smiles_column_is_a_clear_error,
    cancelled_import_resumes_without_duplicates,
    salts_stereo_and_samples_in_an_sd_file
);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

async fn import(registry: &Registry, path: &Path, options: &ImportOptions) -> ImportSummary {
    import_file(registry, path, options, &|_| {}, &AtomicBool::new(false))
        .await
        .expect("import runs")
}

async fn importing_twice_registers_once(ctx: &Ctx) {
    let dir = ctx.dir();
    let reg = ctx.registry().await;
    let file = write(dir, "lib.smi", &demo_slice(300));
    let first = import(&reg, &file, &ImportOptions::default()).await;
    assert_eq!(first.tally.records, 300);
    assert_eq!(first.tally.errors, 0);
    let counts = reg.counts().await.unwrap();
    assert_eq!((counts.batches, counts.parents), (300, first.tally.parents_new as i64));

    let second = import(&reg, &file, &ImportOptions::default()).await;
    assert!(second.already_complete);
    let recheck =
        import(&reg, &file, &ImportOptions { recheck: true, ..ImportOptions::default() }).await;
    assert_eq!(recheck.tally.records, 300);
    assert_eq!((recheck.tally.parents_new, recheck.tally.batches_new), (0, 0));
    assert_eq!(recheck.tally.unchanged, 300);
    assert_eq!(reg.counts().await.unwrap(), counts);

    // The same records in another file of the same source add nothing either.
    let copy = write(dir, "copy.smi", &format!("# a comment\n{}", demo_slice(300)));
    let again = import(
        &reg,
        &copy,
        &ImportOptions { source: Some("lib".into()), ..ImportOptions::default() },
    )
    .await;
    assert_eq!(
        (again.tally.parents_new, again.tally.batches_new, again.tally.unchanged),
        (0, 0, 300)
    );
}

async fn bad_records_are_reported_and_good_ones_land(ctx: &Ctx) {
    let dir = ctx.dir();
    let reg = ctx.registry().await;
    let file = write(
        dir,
        "mixed.smi",
        "SMILES ID\nCCO ok-1\nC1CC bad-ring\nc1ccccc1O ok-2\nC(C)(C)(C)(C)C bad-valence\n\nCC(=O)O ok-3\nxyz bad-syntax\n",
    );
    let s = import(&reg, &file, &ImportOptions::default()).await;
    assert_eq!(s.tally.records, 6);
    assert_eq!(s.tally.batches_new, 3, "{s:?}");
    let errors = import_errors(&reg, s.import_id).await.unwrap();
    let got: Vec<(u64, Option<&str>)> = errors.iter().map(|e| (e.line, e.id.as_deref())).collect();
    assert_eq!(got, vec![(3, Some("bad-ring")), (5, Some("bad-valence")), (8, Some("bad-syntax"))]);
    assert!(errors[1].reason.contains("valence"), "{}", errors[1].reason);
    assert!(errors[0].reason.contains("SMILES"), "{}", errors[0].reason);

    let csv = write(
        dir,
        "mixed.csv",
        "compound_id,smiles,purity,plate,well\nA,CCN,99.5,P1,A1\nB,CCC,high,P1,A2\nC,CCCl,98\nD,CCBr,97,P1,A99\nE,c1ccncc1,96,P1,B03\n",
    );
    let s = import(&reg, &csv, &ImportOptions::default()).await;
    let errors = import_errors(&reg, s.import_id).await.unwrap();
    let reasons: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.reason.as_str())).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, 3);
    assert!(reasons[0].1.contains("purity 'high' is not a number"));
    assert!(reasons[1].1.contains("fields where the header has 5"));
    assert!(reasons[2].1.contains("'A99' is not a well position"));
    assert_eq!(s.tally.batches_new, 2);
    assert_eq!(s.tally.samples_new, 2);

    let report = dir.join("report.csv");
    library::import::write_error_report(&report, &errors).unwrap();
    let text = std::fs::read_to_string(report).unwrap();
    assert!(text.starts_with("record,line,id,reason,input\n"));
    assert_eq!(text.lines().count(), 4);
    // A report that cannot be written says so, and where.
    let blocked = dir.join("report.csv").join("inside.csv");
    let err = library::import::write_error_report(&blocked, &errors).unwrap_err().to_string();
    assert!(err.starts_with("cannot write") && err.contains("report.csv"), "{err}");
}

async fn missing_smiles_column_is_a_clear_error(ctx: &Ctx) {
    let dir = ctx.dir();
    let reg = ctx.registry().await;
    let csv = write(dir, "nosmiles.csv", "id,structure_text\n1,CCO\n");
    let err = import_file(&reg, &csv, &ImportOptions::default(), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--smiles-column"), "{err}");
}

async fn cancelled_import_resumes_without_duplicates(ctx: &Ctx) {
    let dir = ctx.dir();
    let file = write(dir, "lib.smi", &format!("{}not_a_smiles bad-1\n", demo_slice(400)));
    let options = ImportOptions { chunk_size: 50, ..ImportOptions::default() };

    let reference = ctx.registry().await;
    let full = import(&reference, &file, &options).await;

    let reg = ctx.registry().await;
    let cancel = AtomicBool::new(false);
    let stop_early = |p: Progress| {
        if p.records_done >= 100 {
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let first = import_file(&reg, &file, &options, &stop_early, &cancel).await.unwrap();
    assert!(first.cancelled);
    assert!(first.tally.records < 401, "{first:?}");
    let resumed = import(&reg, &file, &options).await;
    assert!(!resumed.cancelled);
    assert_eq!(resumed.resumed_after, first.tally.records);
    assert_eq!(resumed.tally, full.tally);
    assert_eq!(reg.counts().await.unwrap(), reference.counts().await.unwrap());
    assert_eq!(import_errors(&reg, resumed.import_id).await.unwrap().len(), 1);
}

async fn salts_stereo_and_samples_in_an_sd_file(ctx: &Ctx) {
    let dir = ctx.dir();
    let reg = ctx.registry().await;
    let block = |smiles: &str| {
        chem::Molecule::from_smiles(smiles).unwrap().molblock(chem::MolBlockVersion::V3000).unwrap()
    };
    let record = |smiles: &str, id: &str, plate: &str, well: &str| {
        format!("{}> <ID>\n{id}\n\n> <plate>\n{plate}\n\n> <well>\n{well}\n\n> <supplier>\nAcme\n\n$$$$\n", block(smiles))
    };
    let sdf = [
        record("CN1CCC[C@H]1c1cccnc1", "nic-free", "PL-1", "A01"),
        record("CN1CCC[C@H]1c1cccnc1.Cl.Cl", "nic-hcl", "PL-1", "a2"),
        record("CN1CCC[C@@H]1c1cccnc1", "nic-r", "PL-1", "A03"),
    ]
    .concat();
    let file = write(dir, "nicotine.sdf", &sdf);
    let s = import(
        &reg,
        &file,
        &ImportOptions { id_column: Some("ID".into()), ..ImportOptions::default() },
    )
    .await;
    assert_eq!((s.tally.parents_new, s.tally.batches_new, s.tally.samples_new), (2, 3, 3), "{s:?}");

    let compound = reg.compound(CompoundId(1)).await.unwrap();
    assert_eq!(compound.parent.identity.smiles, "CN1CCC[C@H]1c1cccnc1");
    let forms: Vec<&str> = compound.batches.iter().map(|b| b.salt_form.as_str()).collect();
    assert_eq!(forms, vec!["", "parent×1 · Cl×2"]);
    assert_eq!(compound.batches[0].supplier.as_deref(), Some("Acme"));
    let wells: Vec<&str> = compound.samples.iter().map(|s| s.container.well.as_str()).collect();
    assert_eq!(wells, vec!["A01", "A02"]);
    assert_eq!(compound.related.len(), 1);
    assert_eq!(compound.related[0].id, CompoundId(2));
    assert_eq!(compound.related[0].relation, "stereo/isotope variant");
    assert!(reg.compound(CompoundId(99)).await.is_err());
}
