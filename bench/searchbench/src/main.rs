//! Soyaku's side of `bench/search.sh`: rebuilds both search indexes of a
//! registry (timed), runs the committed similarity queries (threshold 0.7
//! and top-10) and SMARTS queries one at a time, measures the machine's
//! memory read bandwidth, and writes per-query hits (for the hit-set checks
//! against RDKit and the other peers) and a JSON summary to OUT.
//!
//! Usage: `searchbench DATA_DIR SIMILARITY.smi SUBSTRUCTURE.smarts OUT_DIR`

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use chem::{Molecule, MorganParams};
use fpindex::{Metric, Segments};
use library::substructure::{self, QueryLanguage, SearchLimits};
use library::{FingerprintKind, Registry, Structures};
use serde_json::json;
use sha2::Digest as _;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const THRESHOLD: f64 = 0.7;
const TOP_K: usize = 10;

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [data, similarity, smarts, out] = args.as_slice() else {
        anyhow::bail!("usage: searchbench DATA_DIR SIMILARITY.smi SUBSTRUCTURE.smarts OUT_DIR");
    };
    std::fs::create_dir_all(out)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(data, similarity, smarts, out))
}

async fn run(data: &Path, similarity: &Path, smarts: &Path, out: &Path) -> Result<()> {
    let registry = Registry::open_dir(data).await?;
    let index_dir = data.join("index");
    let started = Instant::now();
    let morgan = registry.rebuild_index(FingerprintKind::Morgan, &index_dir).await?;
    let morgan_build = started.elapsed();
    let started = Instant::now();
    let pattern = registry.rebuild_index(FingerprintKind::Pattern, &index_dir).await?;
    let pattern_build = started.elapsed();
    let started = Instant::now();
    let store = index_dir.join(library::structures::FILE_NAME);
    if store.exists() {
        std::fs::remove_file(&store)?;
    }
    let structures = registry.structures_in(&index_dir).await?;
    let structures_build = started.elapsed();
    let n = morgan.len();
    let words = morgan.parts()[0].words();
    eprintln!("indexes of {n} parents built");

    let queries = read_queries(similarity)?;
    let fps: Vec<Vec<u64>> = queries
        .iter()
        .map(|s| {
            let m = Molecule::from_smiles(s).with_context(|| format!("query {s}"))?;
            Ok(m.morgan(MorganParams::default()).words().to_vec())
        })
        .collect::<Result<_>>()?;
    // One untimed pass brings the mapped index into the page cache.
    for fp in &fps {
        std::hint::black_box(morgan.top_k(fp, Metric::Tanimoto, TOP_K));
    }

    let mut file = std::io::BufWriter::new(std::fs::File::create(out.join("ours-threshold.tsv"))?);
    let (mut times, mut scanned) = (Vec::new(), 0usize);
    for (i, fp) in fps.iter().enumerate() {
        let t = Instant::now();
        let hits = morgan.threshold(fp, Metric::Tanimoto, THRESHOLD);
        times.push(t.elapsed());
        scanned += morgan.candidates(fp, Metric::Tanimoto, THRESHOLD);
        let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
        writeln!(file, "{i}\t{}", ids.join(" "))?;
    }
    file.flush()?;
    let threshold_times = times;
    let scan_bytes = (scanned * words * 8) as f64;
    let scan_seconds: f64 = threshold_times.iter().map(Duration::as_secs_f64).sum();

    let mut file = std::io::BufWriter::new(std::fs::File::create(out.join("ours-top10.tsv"))?);
    let mut top_times = Vec::new();
    for (i, fp) in fps.iter().enumerate() {
        let t = Instant::now();
        let hits = morgan.top_k(fp, Metric::Tanimoto, TOP_K);
        top_times.push(t.elapsed());
        let cells: Vec<String> = hits.iter().map(|h| format!("{}:{:.9}", h.id, h.score)).collect();
        writeln!(file, "{i}\t{}", cells.join(" "))?;
    }
    file.flush()?;

    // chemfp publishes k = 1000 figures; the same search here, for the quote.
    let top_1000_times: Vec<Duration> = fps
        .iter()
        .map(|fp| {
            let t = Instant::now();
            std::hint::black_box(morgan.top_k(fp, Metric::Tanimoto, 1000));
            t.elapsed()
        })
        .collect();

    let bandwidth = read_bandwidth();
    let (sub_times, sub_candidates) = substructure_queries(&pattern, &structures, smarts, out)?;

    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let summary = json!({
        "parents": n,
        "morgan_build_s": morgan_build.as_secs_f64(),
        "pattern_build_s": pattern_build.as_secs_f64(),
        "structures_build_s": structures_build.as_secs_f64(),
        "index_bytes": morgan.memory_bytes(),
        "raw_bytes": n * (words * 8 + 8),
        "kernel": kernel_name(),
        "threshold_ms": threshold_times.iter().map(ms).collect::<Vec<_>>(),
        "top10_ms": top_times.iter().map(ms).collect::<Vec<_>>(),
        "top1000_ms": top_1000_times.iter().map(ms).collect::<Vec<_>>(),
        "substructure_ms": sub_times.iter().map(ms).collect::<Vec<_>>(),
        "substructure_candidates": sub_candidates,
        "scan_gb_s": scan_bytes / scan_seconds / 1e9,
        "bandwidth_gb_s": bandwidth,
    });
    std::fs::write(out.join("ours.json"), summary.to_string())?;
    Ok(())
}

/// Lines `TEXT [name]`, skipping comments.
fn read_queries(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

fn substructure_queries(
    pattern: &Segments,
    structures: &Structures,
    smarts: &Path,
    out: &Path,
) -> Result<(Vec<Duration>, Vec<usize>)> {
    let limits = SearchLimits { limit: usize::MAX, timeout: Duration::from_secs(600) };
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(out.join("ours-substructure.tsv"))?);
    let (mut times, mut candidates) = (Vec::new(), Vec::new());
    for (i, q) in read_queries(smarts)?.iter().enumerate() {
        let t = Instant::now();
        let found =
            substructure::search(pattern, structures, q, QueryLanguage::Smarts, limits, |_| {})?;
        times.push(t.elapsed());
        candidates.push(found.candidates);
        anyhow::ensure!(!found.partial, "substructure query {q} ran out of time");
        // Hit sets of broad queries run to millions of ids: compared by
        // count and digest of the sorted ids joined by spaces.
        let mut ids: Vec<i64> = found.hits.iter().map(|id| id.0).collect();
        ids.sort_unstable();
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let digest = sha2::Sha256::digest(ids.join(" ").as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(file, "{i}\t{}\t{hex}", ids.len())?;
        eprintln!("  {q}: {} hits, {:.0} ms", found.hits.len(), times[i].as_secs_f64() * 1e3);
    }
    file.flush()?;
    Ok((times, candidates))
}

/// The machine's memory read bandwidth in GB/s: the best of five passes of
/// all threads summing their share of a 1 GiB array, far larger than any
/// cache.
fn read_bandwidth() -> f64 {
    let words = (1usize << 30) / 8;
    let data: Vec<u64> = (0..words as u64).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        std::thread::scope(|s| {
            for part in data.chunks(words.div_ceil(threads)) {
                s.spawn(move || {
                    std::hint::black_box(part.iter().fold(0u64, |a, &x| a.wrapping_add(x)))
                });
            }
        });
        best = best.min(t.elapsed().as_secs_f64());
    }
    (words * 8) as f64 / best / 1e9
}

fn kernel_name() -> &'static str {
    fpindex::kernel::best().name
}
