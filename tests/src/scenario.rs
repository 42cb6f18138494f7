//! One route-sync scenario on the emulator: the seed (hub, spokes B and C), route-sync's
//! app for the hub, and the few helpers every route suite uses.

use std::collections::BTreeMap;

use serde_json::Value;
use shared::entry::{route_sync_payload, Outcome};
use shared::routes::Report;
use shared::{App, RouteSyncConfig};

use crate::pets::{seed, Pets};
use crate::{event, Emulator};

/// The emulator (stopped on drop), the seed, and route-sync's app.
pub struct Scenario {
    /// The emulator, for its settings.
    pub emulator: Emulator,
    /// What the seed made.
    pub pets: Pets,
    /// route-sync for the hub.
    pub app: App<RouteSyncConfig>,
}

impl Scenario {
    /// A fresh emulator with the seed.
    pub async fn start() -> Scenario {
        let emulator = Emulator::start();
        let pets = seed(&emulator).await;
        let app = pets.app();
        Scenario {
            emulator,
            pets,
            app,
        }
    }

    /// Hands `payload` to route-sync; panics unless it reconciled.
    pub async fn run(&self, payload: &Value) -> Report {
        match route_sync_payload(&self.app, payload).await {
            Ok(Outcome::Reconciled(report)) => report,
            other => panic!("expected a reconcile, got {other:?}"),
        }
    }

    /// The hub's scheduled sweep.
    pub async fn sweep(&self) -> Report {
        self.run(&event("schedule.json", "")).await
    }

    /// Every write route-sync made so far, in order.
    pub fn writes(&self) -> Vec<String> {
        self.app.clients.calls.snapshot().write_ops()
    }

    /// The status published for `name`, if any.
    pub async fn status(&self, name: &str) -> Option<String> {
        status_in(&self.pets.published().await, name)
    }
}

/// `{prefix}/apis/{name}/status` in a set of published parameters.
pub fn status_in(published: &BTreeMap<String, String>, name: &str) -> Option<String> {
    published
        .get(&format!("/frontdoor/apis/{name}/status"))
        .cloned()
}
