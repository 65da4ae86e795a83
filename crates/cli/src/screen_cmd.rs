//! `soyaku screen …`: screening analysis. `fit` fits a four-parameter
//! log-logistic curve to each compound of a concentration–response file.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use screening::{fit_ll4, FitOptions, Interval};
use serde_json::{json, Value};

use crate::output::{OutputFormat, RowStream};

#[derive(Subcommand)]
pub(crate) enum ScreenCommand {
    /// Fits LL.4 (IC50/EC50, Hill slope, top, bottom, 95 % intervals) to
    /// each compound of a CSV with the header
    /// `compound,concentration,response` (concentration in mol/L).
    Fit {
        /// The CSV file.
        file: PathBuf,
        /// Hold the bottom asymptote at this value.
        #[arg(long)]
        bottom: Option<f64>,
        /// Hold the top asymptote at this value.
        #[arg(long)]
        top: Option<f64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

fn interval(ci: Option<Interval>) -> Value {
    ci.map_or(Value::Null, |c| json!({"low": c.low, "high": c.high}))
}

/// Concentrations in a table: molar values need scientific notation.
fn for_people(mut row: Value) -> Value {
    if let Some(x) = row["ic50"].as_f64() {
        row["ic50"] = json!(format!("{x:.3e}"));
    }
    if let (Some(lo), Some(hi)) = (row["ic50_ci"]["low"].as_f64(), row["ic50_ci"]["high"].as_f64())
    {
        row["ic50_ci"] = json!(format!("{lo:.2e}–{hi:.2e}"));
    }
    row
}

pub(crate) fn run(command: ScreenCommand) -> Result<()> {
    match command {
        ScreenCommand::Fit { file, bottom, top, format } => {
            let input = fs_err::File::open(&file)?;
            let (series, bad) = screening::read_dose_response(input)
                .with_context(|| format!("reading {}", file.display()))?;
            for b in &bad {
                eprintln!("{}:{}: skipped: {}", file.display(), b.line, b.reason);
            }
            let options = FitOptions { fixed_bottom: bottom, fixed_top: top };
            let columns = [
                "compound",
                "n",
                "ic50",
                "hill",
                "top",
                "bottom",
                "r_squared",
                "class",
                "ic50_ci",
                "error",
            ];
            let mut rows = RowStream::new(format, &columns);
            for s in &series {
                let row = match fit_ll4(&s.concentration, &s.response, options) {
                    Ok(f) => json!({
                        "compound": s.compound, "n": f.n, "ic50": f.ec50, "hill": f.hill,
                        "top": f.top, "bottom": f.bottom, "r_squared": f.r_squared,
                        "class": f.class.as_str(), "ic50_ci": interval(f.ec50_ci),
                        "hill_ci": interval(f.hill_ci), "top_ci": interval(f.top_ci),
                        "bottom_ci": interval(f.bottom_ci), "error": Value::Null,
                    }),
                    // A compound that cannot be fitted is reported, not dropped.
                    Err(e) => {
                        json!({"compound": s.compound, "n": s.response.len(), "error": e.to_string()})
                    }
                };
                rows.push(&if format == OutputFormat::Table { for_people(row) } else { row });
            }
            eprintln!("{} compounds fitted, {} bad rows skipped", series.len(), bad.len());
            Ok(())
        }
    }
}
