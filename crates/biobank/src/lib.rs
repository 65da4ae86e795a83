//! Biobank cross-search (B-cure's バイオバンク横断検索システム): one search
//! over the specimens and data of several biobanks, with participants
//! protected.
//!
//! - [`terms`]: ICD-10 (hierarchy, Japanese names), sample types, data
//!   types and GA4GH DUO consent codes.
//! - [`catalogue`]: biobanks, participants and samples in columns.
//! - [`query`]: AND/OR/NOT criteria, answered per biobank in donors,
//!   samples and aliquots.
//! - [`protect`]: what a caller may learn — granularity by role, small
//!   counts suppressed, noise that repeating or rephrasing a query cannot
//!   average away, a query budget and refusal of differencing queries.
//! - [`beacon`]: the GA4GH Beacon v2 request and response documents.
//! - [`node`]: one site's catalogue and guard answering Beacon requests.
//! - [`store`]: a node's catalogue in the platform database, imported from
//!   CSV or JSON with every bad row reported.
//! - [`synth`]: the synthetic demo catalogue (no real participant data).

#![warn(missing_docs)]

pub mod beacon;
pub mod catalogue;
pub mod node;
pub mod protect;
pub mod query;
pub mod store;
pub mod synth;
pub mod terms;

pub use catalogue::{Biobank, Catalogue, CatalogueError, Individual, Sample, Sex};
pub use protect::{Answer, Granularity, Guard, Policy, Refusal};
pub use query::{Counts, Matched, Plan, Query, QueryError};
