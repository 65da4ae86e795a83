//! Screening records on a real registry: a run recorded from its files,
//! who sees it, a hit confirmed into a seed, and the whole chain recomputed.

use std::sync::atomic::AtomicBool;

use accounts::{Accounts, Actor, Role};
use campaigns::{CampaignError, Campaigns, NewRun};
use screening::{Format, RunFiles};
use testdb::Backend;

testdb::on_both_backends!(
    a_run_is_recorded_seen_by_the_right_people_and_recomputed,
    a_hit_becomes_a_seed_once_and_only_with_a_good_curve,
    bad_files_record_nothing,
);

struct Desk {
    campaigns: Campaigns,
    pool: sqlx::AnyPool,
    rita: Actor,
    rob: Actor,
    sam: Actor,
    olga: Actor,
}

async fn desk(b: &Backend) -> Desk {
    let registry = library::Registry::open(&b.fresh_url().await).await.unwrap();
    let file = b.dir().join("three.smi");
    std::fs::write(&file, "CCO ethanol\nc1ccccc1O phenol\nCC(=O)O acetic\n").unwrap();
    let never = AtomicBool::new(false);
    library::import::import_file(&registry, &file, &Default::default(), &|_| {}, &never)
        .await
        .unwrap();
    let accounts = Accounts::attach(registry.pool().clone()).await.unwrap();
    let actors = accounts::testing::actors(
        &accounts,
        &[
            ("rita", Role::Researcher),
            ("rob", Role::Researcher),
            ("sam", Role::SupportStaff),
            ("olga", Role::ProgrammeOfficer),
        ],
    )
    .await;
    let pool = registry.pool().clone();
    let campaigns = Campaigns::attach(registry, accounts).await.unwrap();
    let [rita, rob, sam, olga] = actors.try_into().unwrap();
    Desk { campaigns, pool, rita, rob, sam, olga }
}

/// Column 1 neutral, column 12 positive; compound SY-0000002 in D05 reads
/// like the positive control; replicate noise differs by `seed`.
fn plate(seed: usize) -> String {
    let mut s = String::from(",1,2,3,4,5,6,7,8,9,10,11,12\n");
    for w in Format::W96.all() {
        if w.col == 0 {
            s += &((b'A' + w.row as u8) as char).to_string();
        }
        let noise = ((w.index(Format::W96) + seed) * 7919 % 17) as f64 - 8.0;
        let v = if w.col == 11 || w.to_string() == "D05" { 100.0 } else { 1000.0 };
        s += &format!(",{}", v + noise);
        if w.col == 11 {
            s += "\n";
        }
    }
    s
}

fn files() -> RunFiles {
    let mut map = String::from("well,role,compound,concentration\n");
    for w in Format::W96.all() {
        let (role, compound) = match (w.col, w.to_string().as_str()) {
            (0, _) => ("neutral", ""),
            (11, _) => ("positive", ""),
            (_, "D05") => ("sample", "SY-0000002"),
            _ => ("sample", "SY-0000001"),
        };
        map +=
            &format!("{w},{role},{compound},{}\n", if compound.is_empty() { "" } else { "1e-5" });
    }
    RunFiles {
        protocol: "name = \"primary\"\nscore = \"percent_inhibition\"\nthreshold = 50\n\
                   [qc]\nmin_z_prime = 0.5\n[confirm]\nmax_ic50 = 1e-5\n"
            .into(),
        map,
        plates: vec![("P1-r1.csv".into(), plate(0)), ("P1-r2.csv".into(), plate(5))],
        plate_list: Some("Filename,Plate,Replicate\nP1-r1.csv,P1,1\nP1-r2.csv,P1,2\n".into()),
    }
}

fn new_run() -> NewRun {
    NewRun {
        project: "AMED-BINDS-042".into(),
        title: "kinase primary".into(),
        requester: Some("rita".into()),
        files: files(),
    }
}

fn curve(ic50: f64, efficacy: f64) -> Vec<(f64, f64)> {
    (0..10)
        .map(|i| {
            let x = 1e-9 * 3f64.powi(i);
            let wobble = if i % 2 == 0 { 1.5 } else { -1.5 };
            (x, efficacy / (1.0 + ic50 / x) + wobble)
        })
        .collect()
}

async fn a_run_is_recorded_seen_by_the_right_people_and_recomputed(b: &Backend) {
    let d = desk(b).await;
    assert!(matches!(
        d.campaigns.record_run(&d.rita, new_run()).await,
        Err(CampaignError::Account(_))
    ));
    let run = d.campaigns.record_run(&d.sam, new_run()).await.unwrap();
    assert_eq!(run.summary["plates"], 2);
    assert_eq!(run.summary["passed"], 2);
    assert_eq!(run.summary["hits"], 1);
    assert_eq!(run.files_sha256.len(), 64);
    let hits = d.campaigns.hits(&d.rita, run.id).await.unwrap();
    assert_eq!((hits[0].well.as_str(), hits[0].compound.as_deref()), ("D05", Some("SY-0000002")));
    // The requester and those who see all screens see it; another
    // researcher does not learn it exists.
    assert_eq!(d.campaigns.runs(&d.rita).await.unwrap().len(), 1);
    assert_eq!(d.campaigns.runs(&d.olga).await.unwrap().len(), 1);
    assert!(d.campaigns.runs(&d.rob).await.unwrap().is_empty());
    assert!(matches!(d.campaigns.get(&d.rob, run.id).await, Err(CampaignError::NotFound(_))));
    let (_, report) = d.campaigns.report(&d.rita, run.id).await.unwrap();
    assert_eq!(report.plates.len(), 2);
    let check = d.campaigns.verify(&d.olga, run.id).await.unwrap();
    assert!(check.files_intact && check.results_match, "{:?}", check.differences);
    // Records cannot be changed behind the trail's back.
    for sql in ["UPDATE screen_hits SET score = 0", "DELETE FROM screen_runs"] {
        assert!(sqlx::query(sql).execute(&d.pool).await.is_err(), "{sql} went through");
    }
}

async fn a_hit_becomes_a_seed_once_and_only_with_a_good_curve(b: &Backend) {
    let d = desk(b).await;
    let run = d.campaigns.record_run(&d.sam, new_run()).await.unwrap();
    let good = curve(2e-7, 95.0);
    assert!(matches!(
        d.campaigns.confirm(&d.rita, run.id, "SY-0000002", &good).await,
        Err(CampaignError::Account(_))
    ));
    let not_hit = d.campaigns.confirm(&d.sam, run.id, "SY-0000001", &good).await;
    assert!(matches!(not_hit, Err(CampaignError::Invalid(ref m)) if m.contains("not a hit")));
    // Too few points to fit: kept, with no IC50, and no seed.
    let (c, seed) = d.campaigns.confirm(&d.sam, run.id, "SY-0000002", &good[..3]).await.unwrap();
    assert_eq!((c.class.as_str(), c.decision.as_str(), seed.is_none()), ("error", "no fit", true));
    let flat: Vec<(f64, f64)> = curve(2e-7, 0.0);
    let (c, seed) = d.campaigns.confirm(&d.sam, run.id, "SY-0000002", &flat).await.unwrap();
    assert_eq!((c.class.as_str(), seed.is_none()), ("4", true));
    assert!(c.decision.contains("class 4"), "{}", c.decision);
    let weak = curve(3e-5, 95.0);
    let (c, seed) = d.campaigns.confirm(&d.sam, run.id, "SY-0000002", &weak).await.unwrap();
    assert!(seed.is_none() && c.decision.contains("above the limit"), "{} {}", c.class, c.decision);
    let (c, seed) = d.campaigns.confirm(&d.sam, run.id, "SY-0000002", &good).await.unwrap();
    assert_eq!((c.class.as_str(), c.decision.as_str()), ("1.1", "seed"));
    let seed = seed.unwrap();
    assert_eq!(
        (seed.compound.to_string().as_str(), seed.project.as_str()),
        ("SY-0000002", "AMED-BINDS-042")
    );
    // A second good curve is evidence, not a second seed.
    let (_, again) = d.campaigns.confirm(&d.sam, run.id, "SY-0000002", &good).await.unwrap();
    assert!(again.is_none());
    assert_eq!(d.campaigns.seeds_found(0, i64::MAX).await.unwrap(), 1);
    assert_eq!(d.campaigns.seeds(&d.rita).await.unwrap().len(), 1);
    assert!(d.campaigns.seeds(&d.rob).await.unwrap().is_empty());
    assert_eq!(d.campaigns.curves(&d.olga, None, Some("SY-0000002")).await.unwrap().len(), 5);
    let check = d.campaigns.verify(&d.sam, run.id).await.unwrap();
    assert!(check.results_match, "{:?}", check.differences);
}

async fn bad_files_record_nothing(b: &Backend) {
    let d = desk(b).await;
    let mut bad = new_run();
    bad.files.plates[1].1 = bad.files.plates[1].1.replace("1000", "x1000");
    let Err(CampaignError::Run(e)) = d.campaigns.record_run(&d.sam, bad).await else {
        panic!("a bad plate file was accepted")
    };
    assert!(e.0.iter().all(|m| m.starts_with("P1-r2.csv: line")), "{e}");
    let mut nobody = new_run();
    nobody.requester = Some("nobody".into());
    assert!(matches!(d.campaigns.record_run(&d.sam, nobody).await, Err(CampaignError::Invalid(_))));
    assert!(d.campaigns.runs(&d.olga).await.unwrap().is_empty());
}
