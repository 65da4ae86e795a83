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
