//! `soyaku demo`: the main job until the web portal exists. Loads the bundled
//! demo library into the registry (once; later runs find it imported) and
//! runs similarity searches for a few well-known drugs.

use anyhow::{Context as _, Result};
use clap::Args;
use library::import::ImportOptions;

use crate::library_cmd::import_with_progress;
use crate::output::{print_record, print_rows, OutputFormat};
use crate::search_cmd::to_rows;
use crate::Context;
use library::Wanted;

/// The bundled demo library: 99,042 compounds of the MOSES benchmark set
/// (ZINC Clean Leads), MIT licence; see data/demo/README.md.
const DEMO_LIBRARY: &[u8] = include_bytes!("../../../data/demo/moses-demo.smi.gz");

/// Queries shown after loading: name and SMILES.
const QUERIES: &[(&str, &str)] = &[
    ("imatinib", "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"),
    ("celecoxib", "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"),
    ("diazepam", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21"),
];

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Hits per query.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub(crate) async fn run(ctx: &Context, args: DemoArgs) -> Result<()> {
    let catalog = ctx.catalog().await?;
    let registry = catalog.registry();
    let file = ctx.data.join("demo").join("moses-demo.smi.gz");
    if !file.exists() {
        std::fs::create_dir_all(file.parent().expect("demo file has a parent"))?;
        std::fs::write(&file, DEMO_LIBRARY)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    let options = ImportOptions { source: Some("moses-demo".into()), ..ImportOptions::default() };
    let summary = import_with_progress(ctx, registry, &file, &options, None).await?;
    eprintln!("demo library:");
    print_record(OutputFormat::Table, &summary);
    for (name, smiles) in QUERIES {
        if args.format == OutputFormat::Table {
            println!("\nmost similar to {name} ({smiles}):");
        }
        let hits =
            catalog.similar(smiles, fpindex::Metric::Tanimoto, Wanted::Top(args.top)).await?;
        print_rows(args.format, &["id", "smiles", "score"], &to_rows(&hits));
    }
    Ok(())
}
