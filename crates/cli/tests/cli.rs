//! The `soyaku` command's contract: JSON Lines with `--format json`, the
//! documented keys, `--data DIR`, error reports and exit codes.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn soyaku(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soyaku"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("soyaku runs")
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "soyaku failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn describe_gives_rdkit_values_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = soyaku(
        dir.path(),
        &["chem", "describe", "CC(=O)Oc1ccccc1C(=O)O.[Na+]", "--format", "json"],
    );
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["smiles"], "CC(=O)Oc1ccccc1C(=O)O.[Na+]");
    assert_eq!(r["parent_smiles"], "CC(=O)Oc1ccccc1C(=O)O");
    assert_eq!(r["hbd"], 1);
    assert_eq!(r["lipinski"], true);
    assert_eq!(r["inchikey"].as_str().unwrap().len(), 27);

    let bad = soyaku(dir.path(), &["chem", "describe", "C1CC"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a structure Soyaku can read"));
}

#[test]
fn import_show_stats_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("lib.csv");
    std::fs::write(
        &file,
        "id,smiles,plate,well\nA,CN1CCC[C@H]1c1cccnc1,P1,A01\nB,CN1CCC[C@H]1c1cccnc1.Cl,P1,A02\nC,c1ccccc1O,P1,A03\nD,not-smiles,P1,A04\n",
    )
    .unwrap();
    let report = dir.path().join("errors.csv");
    let args = ["library", "import", file.to_str().unwrap(), "--output", "json", "--errors"];
    let out = soyaku(&data, &[&args[..], &[report.to_str().unwrap()]].concat());
    let summary = &json_lines(&out)[0];
    assert_eq!(summary["records"], 4);
    assert_eq!(summary["parents_new"], 2);
    assert_eq!(summary["errors"], 1);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains(",5,D,"), "{text}");

    let again = soyaku(&data, &["library", "import", file.to_str().unwrap(), "--output", "json"]);
    assert!(json_lines(&again)[0]["status"].as_str().unwrap().starts_with("already imported"));

    let stats = &json_lines(&soyaku(&data, &["library", "stats", "--format", "json"]))[0];
    assert_eq!(
        (stats["parents"].as_i64(), stats["batches"].as_i64(), stats["samples"].as_i64()),
        (Some(2), Some(3), Some(3))
    );

    let svg = dir.path().join("m.svg");
    let shown = soyaku(
        &data,
        &["library", "show", "SY-0000001", "--format", "json", "--svg", svg.to_str().unwrap()],
    );
    let c = &json_lines(&shown)[0];
    assert_eq!(c["id"], "SY-0000001");
    assert_eq!(c["batches"].as_array().unwrap().len(), 2);
    assert_eq!(c["samples"].as_array().unwrap().len(), 2);
    assert!(std::fs::read_to_string(svg).unwrap().contains("<svg"));

    let missing = soyaku(&data, &["library", "show", "SY-0000042"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no compound SY-0000042"));

    let hits = json_lines(&soyaku(
        &data,
        &["search", "similar", "--smiles", "Oc1ccccc1", "--top", "1", "--format", "json"],
    ));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["score"], 1.0);
    assert_eq!(hits[0]["id"], "SY-0000002");

    let above = json_lines(&soyaku(
        &data,
        &["search", "similar", "--smiles", "Oc1ccccc1", "--threshold", "0.99", "--format", "json"],
    ));
    assert_eq!(above.len(), 1);
    // Tversky with α = 1, β = 0 asks how much of the query each compound covers.
    let covering = json_lines(&soyaku(
        &data,
        &[
            "search",
            "similar",
            "--smiles",
            "Oc1ccccc1",
            "--metric",
            "tversky",
            "--alpha",
            "1",
            "--beta",
            "0",
            "--top",
            "3",
            "--format",
            "json",
        ],
    ));
    assert_eq!(covering[0]["score"], 1.0);
    let both =
        soyaku(&data, &["search", "similar", "--smiles", "C", "--top", "1", "--threshold", "0.5"]);
    assert!(!both.status.success());

    let rings = json_lines(&soyaku(
        &data,
        &["search", "substructure", "--query", "c1ccncc1", "--format", "json"],
    ));
    let ring_ids: Vec<&str> = rings.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ring_ids, vec!["SY-0000001"]);
    let bad = soyaku(&data, &["search", "substructure", "--query", "[C;"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid query"));

    // The similarity index follows imports, and a damaged one is rebuilt.
    let index = data.join("index/morgan-r2-2048.sfp");
    assert!(index.exists());
    let more = dir.path().join("more.smi");
    std::fs::write(&more, "Cc1ccccc1O cresol\n").unwrap();
    json_lines(&soyaku(&data, &["library", "import", more.to_str().unwrap(), "--output", "json"]));
    std::fs::write(&index, b"garbage").unwrap();
    let search = ["search", "similar", "--smiles", "Cc1ccccc1O", "--top", "1", "--format", "json"];
    let hits = json_lines(&soyaku(&data, &search));
    assert_eq!(
        (hits[0]["id"].as_str(), hits[0]["score"].as_f64()),
        (Some("SY-0000003"), Some(1.0))
    );
}

#[test]
fn library_tools_nearest_neighbours_and_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("lib.smi");
    // Two families (phenols, pyridines) and an outlier.
    std::fs::write(
        &file,
        "Oc1ccccc1 p1\nCc1ccccc1O p2\nCCc1ccccc1O p3\nc1ccncc1 y1\nCc1ccncc1 y2\nClCCCCCCCCBr x\n",
    )
    .unwrap();
    json_lines(&soyaku(&data, &["library", "import", file.to_str().unwrap(), "--output", "json"]));

    let picks = json_lines(&soyaku(&data, &["library", "pick", "--n", "3", "--format", "json"]));
    let picked: Vec<&str> = picks.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(picked.len(), 3);
    assert_eq!(picked[0], "SY-0000001", "an unseeded pick starts at the first compound");
    assert!(picks[0]["score"].is_null() && picks[1]["score"].as_f64().unwrap() < 0.2);
    let seeded = json_lines(&soyaku(
        &data,
        &["library", "pick", "--n", "1", "--seed", "SY-0000001", "--format", "json"],
    ));
    assert_ne!(seeded[0]["id"], "SY-0000001");
    let unknown = soyaku(&data, &["library", "pick", "--n", "1", "--seed", "SY-0000099"]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no compound SY-0000099 in the registry")
    );

    let clusters = json_lines(&soyaku(
        &data,
        &["library", "cluster", "--threshold", "0.3", "--format", "json"],
    ));
    assert_eq!(clusters.len(), 6, "every compound in one cluster");
    let cluster_of = |id: &str| clusters.iter().find(|r| r["id"] == id).unwrap()["cluster"].clone();
    assert_eq!(cluster_of("SY-0000001"), cluster_of("SY-0000002"));
    assert_ne!(cluster_of("SY-0000001"), cluster_of("SY-0000004"));
    assert_eq!(clusters.iter().filter(|r| r["centroid"] == true).count(), {
        let mut c: Vec<String> = clusters.iter().map(|r| r["cluster"].to_string()).collect();
        c.dedup();
        c.len()
    });

    let queries = dir.path().join("q.smi");
    std::fs::write(&queries, "Oc1ccccc1 phenol\nnot-a-smiles\nc1ccncc1\n").unwrap();
    let out = soyaku(
        &data,
        &[
            "search",
            "similar",
            "--queries",
            queries.to_str().unwrap(),
            "--top",
            "1",
            "--format",
            "json",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("q.smi:2: skipped"));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["query"].as_str(), rows[0]["id"].as_str()),
        (Some("phenol"), Some("SY-0000001"))
    );
    assert_eq!(
        (rows[1]["query"].as_str(), rows[1]["id"].as_str()),
        (Some("line 3"), Some("SY-0000004"))
    );

    let matrix = dir.path().join("m.csv");
    let out = soyaku(
        &data,
        &["search", "matrix", "--threshold", "0.3", "--out", matrix.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&matrix).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("a,a_smiles,b,b_smiles,similarity"));
    let pairs: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(pairs.iter().any(|p| p[0] == "SY-0000001" && p[2] == "SY-0000002"));
    assert!(pairs.iter().all(|p| p[0] < p[2] && p[4].parse::<f64>().unwrap() >= 0.3));
    assert!(!pairs.iter().any(|p| p[0] == "SY-0000001" && p[2] == "SY-0000004"));

    let reindex = soyaku(&data, &["library", "reindex"]);
    assert!(String::from_utf8_lossy(&reindex.stderr).contains("morgan-r2-2048.sfp: 6 entries"));
}

#[test]
fn screen_fit_gives_one_object_per_compound_and_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    // A clean falling curve (IC50 1 µM, Hill 1, 100 -> 0), a flat compound,
    // one with too few points, and a bad row.
    let mut csv = String::from("compound,concentration,response\n");
    for i in 0..10 {
        let c = 1e-9 * 3f64.powi(i);
        csv += &format!("inhibitor,{c:e},{}\n", 100.0 / (1.0 + c / 1e-6));
        csv += &format!("flat,{c:e},{}\n", if i % 2 == 0 { 50.5 } else { 49.5 });
    }
    csv += "sparse,1e-6,10\nsparse,1e-5,20\nbroken,abc,1\n";
    let file = dir.path().join("dr.csv");
    std::fs::write(&file, csv).unwrap();
    let out = soyaku(dir.path(), &["screen", "fit", file.to_str().unwrap(), "--format", "json"]);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 3);
    let inhibitor = &rows[0];
    assert_eq!(inhibitor["compound"], "inhibitor");
    assert!((inhibitor["ic50"].as_f64().unwrap() / 1e-6 - 1.0).abs() < 1e-6, "{inhibitor}");
    assert!((inhibitor["hill"].as_f64().unwrap() - 1.0).abs() < 1e-6);
    assert!((inhibitor["top"].as_f64().unwrap() - 100.0).abs() < 1e-4);
    assert!(inhibitor["bottom"].as_f64().unwrap().abs() < 1e-4);
    for key in ["ic50_ci", "hill_ci", "top_ci", "bottom_ci"] {
        assert!(
            inhibitor[key]["low"].is_f64() && inhibitor[key]["high"].is_f64(),
            "{key}: {inhibitor}"
        );
    }
    assert_eq!(rows[1]["class"], "4", "NCGC class 4: inactive");
    assert!(rows[2]["error"].as_str().unwrap().contains("too few"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dr.csv:24: skipped: concentration 'abc' is not a number"), "{stderr}");
}

#[test]
fn screen_run_reads_a_directory_and_reports_plates_hits_and_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let kc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../screening/tests/data/KcViab");
    let plates = dir.path().join("plates");
    std::fs::create_dir(&plates).unwrap();
    let mut list = String::from("Filename\tPlate\tReplicate\n");
    for (file, plate, replicate) in [("FT01-G01.txt", 1, 1), ("FT01-G02.txt", 1, 2)] {
        std::fs::copy(kc.join(file), plates.join(file)).unwrap();
        list += &format!("{file}\t{plate}\t{replicate}\n");
    }
    std::fs::write(plates.join("Platelist.txt"), list).unwrap();
    let mut map = String::from("well,role\nB01,neutral\nB02,positive\n");
    for row in 'C'..='P' {
        for col in 1..=24 {
            map += &format!("{row}{col:02},sample\n");
        }
    }
    std::fs::write(dir.path().join("map.csv"), map).unwrap();
    std::fs::write(dir.path().join("p.toml"), "score = \"robust_z\"\nthreshold = 3\n").unwrap();
    let arg = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (p, m, d) = (arg("p.toml"), arg("map.csv"), arg("plates"));
    let run = ["screen", "run", "--protocol", &p, "--map", &m, "--plates", &d, "--format", "json"];
    let rows = json_lines(&soyaku(dir.path(), &run));
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[..2], ["plate", "plate"]);
    assert_eq!(kinds.last(), Some(&"run"));
    assert_eq!(rows[1]["replicate"], 2);
    let hits = kinds.iter().filter(|k| **k == "hit").count();
    assert!(hits > 0 && rows.last().unwrap()["hits"] == hits, "{:?}", rows.last());
    assert!(rows
        .iter()
        .filter(|r| r["kind"] == "hit")
        .all(|h| h["score"].as_f64().unwrap().abs() >= 3.0));
    // A broken file: the error names it and its line; nothing is printed.
    std::fs::write(plates.join("FT01-G02.txt"), "FT01-G02\tA01\t12x\n").unwrap();
    let out = soyaku(dir.path(), &run);
    assert!(!out.status.success() && out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FT01-G02.txt: line 1: well A01: '12x' is not a reading"), "{stderr}");
}

#[test]
fn biobank_import_reports_bad_rows_and_query_answers_protected_counts() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let banks = write("banks.csv", "id,name,name_ja\nsendai,Sendai demo,仙台デモ\n");
    let mut people = String::from("biobank,id,sex,diseases,consent,recontact,data\n");
    let mut samples = String::from("biobank,id,individual,sample_type,age\n");
    for k in 0..30 {
        let sex = if k % 2 == 0 { "female" } else { "male" };
        people += &format!("sendai,P{k},{sex},E11,GRU,yes,genotype_array\n");
        samples += &format!("sendai,S{k},P{k},dna,{}\n", 40 + k);
    }
    people += "sendai,BAD,female,E11,NOTACODE,yes,\n";
    let (people, samples) = (write("people.csv", &people), write("samples.csv", &samples));
    let out = soyaku(
        dir.path(),
        &[
            "biobank",
            "import",
            "--biobanks",
            &banks,
            "--individuals",
            &people,
            "--samples",
            &samples,
        ],
    );
    let summary = &json_lines(&out)[0];
    assert_eq!(
        (summary["individuals"].as_u64(), summary["samples"].as_u64()),
        (Some(30), Some(30))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("people.csv:32: skipped: 'NOTACODE' is not a DUO code"), "{stderr}");
    let query = r#"{"and": [{"disease": "2型糖尿病"}, {"sex": "female"}]}"#;
    let rows = json_lines(&soyaku(dir.path(), &["biobank", "query", query, "--format", "json"]));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["biobank"], "sendai");
    let donors = rows[0]["donors"].as_u64().unwrap();
    assert!((10..=25).contains(&donors), "15 women, reported with noise: {donors}");
    let few = r#"{"and": [{"disease": "E11"}, {"age": {"min": 40, "max": 44}}]}"#;
    let rows = json_lines(&soyaku(dir.path(), &["biobank", "query", few, "--format", "json"]));
    assert_eq!(rows[0]["donors"], "<10", "five people are not counted out loud");
    let boolean = json_lines(&soyaku(
        dir.path(),
        &["biobank", "query", few, "--granularity", "boolean", "--format", "json"],
    ));
    assert_eq!(
        (boolean[0]["exists"].as_bool(), boolean[0]["donors"].is_null()),
        (Some(false), true)
    );
}

#[test]
fn models_predict_runs_any_model_and_a_file_reports_its_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = soyaku(
        dir.path(),
        &["models", "predict", "admet-ai", "--smiles", "CC(=O)Oc1ccccc1C(=O)O", "--format", "json"],
    );
    let one = &json_lines(&out)[0];
    assert_eq!(one["model"], "admet-ai@2.0.1");
    let predictions = one["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 41);
    let ames = predictions.iter().find(|p| p["endpoint"] == "AMES").unwrap();
    assert!(ames["uncertainty"].as_f64().unwrap() >= 0.0 && ames["in_domain"] == true, "{ames}");

    // The generic interface and the ADMET command agree, value for value.
    let admet = soyaku(
        dir.path(),
        &["predict", "admet", "--smiles", "CC(=O)Oc1ccccc1C(=O)O", "--format", "json"],
    );
    let admet = &json_lines(&admet)[0];
    for p in predictions {
        let key = p["endpoint"].as_str().unwrap();
        assert_eq!(p["value"], admet[key], "{key}");
        assert_eq!(p["uncertainty"], admet[format!("{key}_spread")], "{key}");
    }

    let file = dir.path().join("in.smi");
    std::fs::write(&file, "# two drugs and a broken ring\nCCO ethanol\nC1CC broken\nc1ccccc1O\n")
        .unwrap();
    let out = soyaku(
        dir.path(),
        &["models", "predict", "chembl-multitask", "--input", file.to_str().unwrap()],
    );
    let lines = json_lines(&out);
    let named: Vec<_> = lines.iter().map(|l| (l["smiles"].clone(), l["name"].clone())).collect();
    assert_eq!(
        named,
        [(Value::from("CCO"), Value::from("ethanol")), (Value::from("c1ccccc1O"), Value::Null)]
    );
    assert!(lines.iter().all(|l| l["predictions"].as_array().unwrap().len() == 798));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in.smi:3: skipped"), "{stderr}");
    assert!(stderr.contains("2 molecules in"), "{stderr}");

    // `predict admet --input` reads files through the same loop.
    let out = soyaku(dir.path(), &["predict", "admet", "--input", file.to_str().unwrap()]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["AMES"].is_number() && l["in_domain"] == true));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in.smi:3: skipped"));

    let unknown = soyaku(dir.path(), &["models", "predict", "nope", "--smiles", "CCO"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("soyaku models list"));
}
