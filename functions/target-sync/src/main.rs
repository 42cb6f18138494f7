//! `target-sync`: keeps the NLB target group equal to the execute-api endpoint's private
//! IPs. Wiring only; the work is in `shared::targets`.

use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let app = shared::App::<shared::TargetSyncConfig>::from_env().await?;
    run(service_fn(|event| shared::entry::target_sync(&app, event))).await
}
