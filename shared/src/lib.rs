//! frontdoor's library: everything the Lambdas, the tests and (later) the CLI share.
//!
//! A function's `main.rs` builds an [`App`] once at cold start and hands each event to
//! [`entry`]. Everything below `entry` is free of Lambda types: `targets` (and later
//! `routes`) follow one shape, observe -> desired -> diff (pure) -> apply -> verify.
//!
//! ```no_run
//! # async fn cold_start() -> Result<(), shared::Error> {
//! let app = shared::App::<shared::TargetSyncConfig>::from_env().await?;
//! let report = shared::targets::reconcile(&app, &shared::targets::Trigger::Sweep).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs, unreachable_pub)]

pub mod bounded;
pub mod calls;
pub mod clients;
pub mod config;
pub mod entry;
pub mod error;
pub mod events;
pub mod governance;
pub mod ids;
pub mod logging;
pub mod metrics;
pub mod pacing;
pub mod paths;
pub mod policy;
pub mod registry;
pub mod routes;
pub mod scope;
pub mod targets;
pub mod urls;

pub use clients::{App, Function, RouteClients, TargetClients};
pub use config::{RouteSyncConfig, TargetSyncConfig};
pub use error::{Error, Result};
