//! snag: finds the backend anti-patterns that make web services stall, leak connections or fail
//! silently, in JavaScript/TypeScript, Python and C#.
//!
//! ```text
//! paths ─ walk ─▶ files ─ parse ─▶ tree ─ lower (lang/) ─▶ model ─ link (project) ─▶ rules ─▶ report
//! ```

pub mod baseline;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod engine;
pub mod fingerprint;
pub mod lang;
pub mod model;
pub mod project;
pub mod report;
pub mod review;
pub mod rules;
pub mod suppress;
pub mod walk;
