//! `route-sync`: keeps the public API's routes equal to what the exposed private APIs in the
//! spoke accounts offer, and publishes their URLs. Wiring only; the work is in
//! `shared::routes`.

use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let app = shared::App::<shared::RouteSyncConfig>::from_env().await?;
    run(service_fn(|event| shared::entry::route_sync(&app, event))).await
}
