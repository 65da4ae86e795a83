//! Screening statistics for high-throughput screens, in pure Rust: plate
//! reader files and plate maps in, plate QC (controls and position
//! effects), the normalisations hits are called on, whole runs from their
//! files to hits, and dose–response fits with NCGC curve classes.
//!
//! Validated against real data: `tests/kcviab.rs` recomputes the published
//! per-well scores of the cellHTS2 KcViab screen (Boutros et al. 2004).
//!
//! Missing values (`None`: empty, flagged or failed wells) are skipped by
//! every statistic, never read as zero.

#![warn(missing_docs)]

/// The engine's version, kept with every recorded run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

mod dose;
mod input;
mod layout;
mod map;
mod normalize;
mod plate;
mod protocol;
mod qc;
mod reader;
mod run;
mod stats;

pub use dose::{fit_ll4, CurveClass, Fit, FitError, FitOptions, Interval};
pub use input::{read_dose_response, BadRow, InputError, Series};
pub use layout::{Format, Well, WellError};
pub use map::{Layout, MapEntry, PlateMap};
pub use normalize::{b_score, percent_inhibition, percent_of_control, robust_z_scores, z_scores};
pub use plate::{analyse, call_hits, combined_scores, PlateResult, Role};
pub use protocol::{Confirmation, Protocol, ProtocolError, QcLimits, Score};
pub use qc::{Controls, PlateQc, Spatial};
pub use reader::{read_plate_file, PlateFileError, RawPlate, Vendor};
pub use run::{analyse_run, decode, Hit, PlateReport, RunError, RunFiles, RunReport};
pub use stats::{mad, mean, median, sd};
