//! `frontdoor`: the operator's view of the same reconcilers the Lambdas run.
//!
//! `plan` prints what target sync and route sync would change (the very plans the Lambdas
//! apply; nothing is written), `apply` applies them, `status` shows every exposed API, the
//! public routes, the targets and their health, and any drift. Configuration comes from
//! flags or the same `FRONTDOOR_*` variables as the functions; AWS from the standard chain
//! (`AWS_ENDPOINT_URL` points it at an emulator).
#![allow(clippy::print_stdout)] // a terminal program: stdout is its interface

mod doctor;
mod export;
mod render;

use std::process::ExitCode;

use aws_config::BehaviorVersion;
use std::collections::BTreeMap;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use shared::config::VARIABLES;
use shared::routes::{self, desired::Context, Scope};
use shared::{targets, App, Error, RouteSyncConfig, TargetSyncConfig};

#[derive(Parser)]
#[command(name = "frontdoor", version, about)]
struct Cli {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// What target sync and route sync would change. Writes nothing.
    Plan,
    /// Apply both plans now, as a sweep would.
    Apply,
    /// Exposed APIs, public routes, targets and their health, and drift.
    Status,
    /// One exposed API's OpenAPI 3 contract: the public stage's export cut to its routes,
    /// on its public URL, with the hub's security schemes. Prints it, or with --all writes
    /// one `{name}.json` per exposed API into a folder.
    Export {
        /// The API's published name (`frontdoor status` lists them).
        name: Option<String>,
        /// Write every exposed API's contract into this folder instead.
        #[arg(long, value_name = "DIR", conflicts_with = "name")]
        all: Option<std::path::PathBuf>,
    },
    /// Checks a live deployment, one line each: ok, or what to fix. Non-zero exit when
    /// anything fails. Needs both functions' variables.
    Doctor {
        /// The hub event bus the spokes forward to (the stack's HubEventBus).
        #[arg(long, env = "FRONTDOOR_HUB_BUS")]
        hub_bus: Option<String>,
    },
}

/// The contract (`shared::config::VARIABLES`): a flag for each variable, falling back to
/// the variable itself. Made from the table, so a new variable has its flag.
struct Contract {
    values: BTreeMap<&'static str, String>,
}

impl Contract {
    /// Adds one global flag per variable to the command line.
    fn flags(command: clap::Command) -> clap::Command {
        VARIABLES.iter().fold(command, |command, v| {
            command.arg(
                clap::Arg::new(v.name)
                    .long(v.flag)
                    .env(v.name)
                    .help(v.help)
                    .global(true),
            )
        })
    }

    fn from_matches(matches: &clap::ArgMatches) -> Self {
        let values = VARIABLES
            .iter()
            .filter_map(|v| Some((v.name, matches.get_one::<String>(v.name)?.clone())))
            .collect();
        Contract { values }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// Target sync runs when its variables are set, route sync when its are; at least one.
    fn configs(&self) -> Result<(Option<TargetSyncConfig>, Option<RouteSyncConfig>), Error> {
        let wants_targets = self.values.contains_key(shared::config::TARGET_GROUP_ARN);
        let wants_routes = self.values.contains_key(shared::config::PUBLIC_API_ID);
        let targets = wants_targets
            .then(|| TargetSyncConfig::from_lookup(|n| self.lookup(n)))
            .transpose()?;
        let routes = wants_routes
            .then(|| RouteSyncConfig::from_lookup(|n| self.lookup(n)))
            .transpose()?;
        if targets.is_none() && routes.is_none() {
            // Name what is missing for both, so the operator sees the whole contract.
            TargetSyncConfig::from_lookup(|n| self.lookup(n))?;
            RouteSyncConfig::from_lookup(|n| self.lookup(n))?;
        }
        Ok((targets, routes))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Contract::flags(Cli::command()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let contract = Contract::from_matches(&matches);
    match run(&cli, &contract).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("frontdoor: {}", render::advice(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli, contract: &Contract) -> Result<ExitCode, Error> {
    let (target_config, route_config) = contract.configs()?;
    let sdk = shared::clients::tuned(aws_config::defaults(BehaviorVersion::latest()))
        .load()
        .await;
    let target_app = target_config.map(|c| App::new(c, &sdk));
    // With the cells the hub stack recorded, as route-sync reads them each run. doctor
    // reports records it cannot read as a finding; every other command stops on it.
    let mut records_unread = None;
    let route_app = match route_config {
        Some(c) => {
            let app = App::new(c, &sdk);
            match routes::named_cells(&app).await {
                Ok(Some(config)) => Some(app.with_config(config)),
                Ok(None) => Some(app),
                Err(e) if matches!(cli.command, Command::Doctor { .. }) => {
                    records_unread = Some(e.to_string());
                    Some(app)
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let sweep = Scope {
        sweep: true,
        apis: Default::default(),
        owed: false,
    };
    match &cli.command {
        Command::Plan | Command::Status => {
            let mut out = render::Output::new(cli.json);
            if let Some(app) = &target_app {
                let observed = targets::observe(app).await?;
                let plan = targets::diff(&observed);
                if matches!(cli.command, Command::Status) {
                    out.targets_status(&observed);
                }
                out.target_plan(&plan, matches!(cli.command, Command::Status));
            }
            if let Some(app) = &route_app {
                let status = matches!(cli.command, Command::Status);
                // With cells, one read of the spokes serves the policy, the status and the
                // cells' plans.
                // A one-cell hub whose records name a cell not in use plans as route-sync
                // runs it: through the cells' plan, from the one read.
                let plans = if routes::needs_cells(&app.config, None) {
                    Some(routes::plan_cells(app, &sweep, &routes::Budget::unlimited()).await?)
                } else {
                    let observed = routes::observe(app, &sweep).await?;
                    if routes::needs_cells(&app.config, Some(&observed)) {
                        Some(routes::plan_cells_from(app, observed).await?)
                    } else {
                        out.route_policy(&observed, &app.config);
                        if status {
                            out.routes_status(&observed, &app.config);
                        }
                        let plan = routes::plan(&observed, &Context::from_app(app));
                        out.route_plan(&plan, status);
                        None
                    }
                };
                if let Some(plans) = plans {
                    out.route_policy(&plans.observed, &app.config);
                    if status {
                        out.routes_status(&plans.observed, &app.config);
                    }
                    out.cell_plans(&plans);
                }
            }
            out.finish();
        }
        Command::Doctor { hub_bus } => {
            let (Some(targets_app), Some(routes_app)) = (&target_app, &route_app) else {
                // Name every missing variable of both functions.
                TargetSyncConfig::from_lookup(|n| contract.lookup(n))?;
                RouteSyncConfig::from_lookup(|n| contract.lookup(n))?;
                return Ok(ExitCode::FAILURE);
            };
            let extra = doctor::Extra {
                hub_bus: hub_bus.as_deref(),
                records_unread: records_unread.as_deref(),
            };
            let findings = doctor::examine(targets_app, routes_app, &sdk, &extra).await;
            let failed = findings.iter().any(|f| f.result == doctor::Verdict::Fail);
            render::doctor(cli.json, &findings);
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        Command::Export { name, all } => {
            let Some(app) = &route_app else {
                RouteSyncConfig::from_lookup(|n| contract.lookup(n))?;
                return Ok(ExitCode::FAILURE);
            };
            let observed = routes::observe(app, &sweep).await?;
            let ctx = Context::from_app(app);
            let stage = match export::stage_export(app).await {
                Ok(doc) => doc,
                Err(why) => {
                    eprintln!("frontdoor: {why}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let names: Vec<String> = match (name, all) {
                (Some(name), _) => vec![name.clone()],
                (None, Some(_)) => export::exposed(&observed, &app.config)
                    .into_keys()
                    .collect(),
                (None, None) => {
                    eprintln!("frontdoor: give an API's name, or --all DIR");
                    return Ok(ExitCode::FAILURE);
                }
            };
            for name in names {
                let doc = match export::contract(&name, &observed, &app.config, &ctx, &stage) {
                    Ok(doc) => doc,
                    Err(why) => {
                        eprintln!("frontdoor: {why}");
                        return Ok(ExitCode::FAILURE);
                    }
                };
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                match all {
                    Some(dir) => {
                        let file = dir.join(format!("{name}.json"));
                        if let Err(e) = std::fs::create_dir_all(dir)
                            .and_then(|()| std::fs::write(&file, format!("{text}\n")))
                        {
                            eprintln!("frontdoor: cannot write {}: {e}", file.display());
                            return Ok(ExitCode::FAILURE);
                        }
                        println!("{}", file.display());
                    }
                    None => println!("{text}"),
                }
            }
        }
        Command::Apply => {
            let mut out = render::Output::new(cli.json);
            if let Some(app) = &target_app {
                render::progress(cli.json, "target sync: observing, applying, verifying");
                let report = targets::reconcile(app, &targets::Trigger::Sweep).await?;
                out.value("targets", serde_json::to_value(&report).unwrap_or_default());
            }
            if let Some(app) = &route_app {
                render::progress(cli.json, "route sync: observing, applying, verifying");
                let report = routes::reconcile(app, &sweep).await?;
                out.value("routes", serde_json::to_value(&report).unwrap_or_default());
            }
            out.finish();
        }
    }
    Ok(ExitCode::SUCCESS)
}
