//! Screening statistics for high-throughput screens, in pure Rust: plate
//! layouts and wells, plate QC, and the normalisations hits are called on.
//!
//! Validated against real data: `tests/kcviab.rs` recomputes the published
//! per-well scores of the cellHTS2 KcViab screen (Boutros et al. 2004).
//!
//! Missing values (`None`: empty, flagged or failed wells) are skipped by
//! every statistic, never read as zero.

#![warn(missing_docs)]

mod dose;
mod input;
mod layout;
mod normalize;
mod plate;
mod qc;
mod stats;

pub use dose::{fit_ll4, CurveClass, Fit, FitError, FitOptions, Interval};
pub use input::{read_dose_response, BadRow, InputError, Series};
pub use layout::{Format, Well, WellError};
pub use normalize::{b_score, percent_inhibition, percent_of_control, robust_z_scores, z_scores};
pub use plate::{analyse, call_hits, PlateResult, Protocol, Role, Score};
pub use qc::{Controls, PlateQc};
pub use stats::{mad, mean, median, sd};
