//! `soyaku demo`: the main job until the web portal exists. Loads the bundled
//! demo library into the registry (once; later runs find it imported) and
//! runs similarity searches for a few well-known drugs.

use anyhow::Result;
use clap::Args;

use crate::library_cmd::{import_with_progress, ImportInput};
use crate::output::{print_record, print_rows, OutputFormat};
use crate::search_cmd::to_rows;
use crate::Context;
use library::Wanted;

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
    let summary = import_with_progress(ctx, registry, ImportInput::Demo, None).await?;
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
