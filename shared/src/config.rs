//! Configuration from the environment (DESIGN.md "Contract"), read once at cold start.
//! Every missing or malformed variable is named in one error, so an operator fixes them all
//! in one deploy rather than one per failed start.

use crate::error::{ConfigProblem, Error, Result};
use crate::governance::{self, Policy};
use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{
    parse_role_name, parse_stage_name, parse_vpc_link_id, AccountId, ApiId, SsmPrefix,
    TargetGroupArn, VpceId,
};

/// The hub's execute-api interface endpoint.
pub const VPC_ENDPOINT_ID: &str = "FRONTDOOR_VPC_ENDPOINT_ID";
/// The NLB target group.
pub const TARGET_GROUP_ARN: &str = "FRONTDOOR_TARGET_GROUP_ARN";
/// Root of every parameter frontdoor writes.
pub const SSM_PREFIX: &str = "FRONTDOOR_SSM_PREFIX";
/// Default for [`SSM_PREFIX`].
pub const DEFAULT_SSM_PREFIX: &str = "/frontdoor";

/// The public REST API in the hub.
pub const PUBLIC_API_ID: &str = "FRONTDOOR_PUBLIC_API_ID";
/// Its stage.
pub const PUBLIC_STAGE: &str = "FRONTDOOR_PUBLIC_STAGE";
/// Default for [`PUBLIC_STAGE`].
pub const DEFAULT_PUBLIC_STAGE: &str = "prd";
/// The REST VPC link to the NLB.
pub const VPC_LINK_ID: &str = "FRONTDOOR_VPC_LINK_ID";
/// Spoke accounts whose events are accepted.
pub const ALLOWED_ACCOUNTS: &str = "FRONTDOOR_ALLOWED_ACCOUNTS";
/// The read-only role assumed in each spoke.
pub const SPOKE_ROLE_NAME: &str = "FRONTDOOR_SPOKE_ROLE_NAME";
/// Default for [`SPOKE_ROLE_NAME`].
pub const DEFAULT_SPOKE_ROLE_NAME: &str = "frontdoor-spoke-reader";
/// The FIFO queue route-sync consumes; when set, a run from that queue enqueues one
/// deduplicated "deploy" message instead of deploying (DESIGN.md "One writer, on real
/// Lambda").
pub const ROUTE_QUEUE_URL: &str = "FRONTDOOR_ROUTE_QUEUE_URL";
/// The one message group of the route queue: Lambda runs one batch of a group at a time,
/// in order, so there is one writer without reserved concurrency.
pub const ROUTE_MESSAGE_GROUP: &str = "frontdoor-routes";
/// The body of route-sync's own "deploy" message, enqueued (deduplicated per owed
/// deployment) behind the batches that wrote routes, so the last in line deploys once.
pub const DEPLOY_MESSAGE: &str = r#"{"frontdoor":"deploy"}"#;
/// Spoke accounts read at once in a sweep.
pub const SPOKE_CONCURRENCY: &str = "FRONTDOOR_SPOKE_CONCURRENCY";
/// Default for [`SPOKE_CONCURRENCY`].
pub const DEFAULT_SPOKE_CONCURRENCY: &str = "8";
/// Calls in flight at once to one spoke account.
pub const ACCOUNT_CONCURRENCY: &str = "FRONTDOOR_ACCOUNT_CONCURRENCY";
/// Default for [`ACCOUNT_CONCURRENCY`]: two calls in flight keep a sweep of an account of
/// up to ~19 exposed APIs (1 + 2 reads each) inside API Gateway's per-account burst of 40
/// at any latency; past it, the SDK's adaptive retry slows down on throttling.
pub const DEFAULT_ACCOUNT_CONCURRENCY: &str = "2";
/// Resources the public API may hold: API Gateway's per-API quota.
pub const RESOURCE_QUOTA: &str = "FRONTDOOR_RESOURCE_QUOTA";
/// Default for [`RESOURCE_QUOTA`]: API Gateway's default "Resources per API" quota.
pub const DEFAULT_RESOURCE_QUOTA: &str = "300";
/// The most public resources one spoke account's APIs may hold.
pub const ACCOUNT_RESOURCE_QUOTA: &str = "FRONTDOOR_ACCOUNT_RESOURCE_QUOTA";
/// The most exposed APIs of one spoke account frontdoor tracks.
pub const ACCOUNT_API_QUOTA: &str = "FRONTDOOR_ACCOUNT_API_QUOTA";
/// Whether route-sync paces its hub writes to AWS's rates (`aws`) or not (`off`).
pub const WRITE_PACING: &str = "FRONTDOOR_WRITE_PACING";
/// How long a name or path an API released stays its account's.
pub const RELEASE_HOLD: &str = "FRONTDOOR_RELEASE_HOLD";
/// Default for [`RELEASE_HOLD`]: a day, time for consumers to notice a team left.
pub const DEFAULT_RELEASE_HOLD: &str = "24h";
/// Default for [`ACCOUNT_API_QUOTA`].
pub const DEFAULT_ACCOUNT_API_QUOTA: &str = "50";
/// The hub's default route mode, `mirror` or `proxy` (`expose:mode` overrides it per API).
pub const ROUTE_MODE: &str = "FRONTDOOR_ROUTE_MODE";
/// The public custom domain (mapped to the public stage) every published URL is on.
pub const PUBLIC_DOMAIN: &str = "FRONTDOOR_PUBLIC_DOMAIN";
/// The cells: every public REST API behind the domain, `api-id[:authorizer-id]`,
/// comma-separated, the first being [`PUBLIC_API_ID`] (the domain's base path mapping).
pub const CELLS: &str = "FRONTDOOR_CELLS";
/// Routing rules the custom domain takes (AWS's "Routing rules per domain").
pub const ROUTING_RULE_QUOTA: &str = "FRONTDOOR_ROUTING_RULE_QUOTA";
/// Default for [`ROUTING_RULE_QUOTA`]: AWS's default quota.
pub const DEFAULT_ROUTING_RULE_QUOTA: &str = "50";
/// Routing rules one spoke account's first path segments may take in all.
pub const ACCOUNT_RULE_QUOTA: &str = "FRONTDOOR_ACCOUNT_RULE_QUOTA";
/// Default for [`ACCOUNT_RULE_QUOTA`]: a tenth of the default quota, so ten teams with
/// new first segments always find a rule.
pub const DEFAULT_ACCOUNT_RULE_QUOTA: &str = "5";

/// One cell: a public REST API behind the custom domain, with the stage, governance and
/// `/health` of the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Its REST API.
    pub api_id: ApiId,
    /// Its own authorizer, when the hub's policy names one (an authorizer belongs to one
    /// REST API).
    pub authorizer_id: Option<String>,
}

/// A named cell that route-sync leaves alone for now: nothing is placed in it, and what it
/// holds stays as it is (as for a cell removed from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCell {
    /// Its name (its record's, `{prefix}/registry/cells/{name}`).
    pub name: String,
    /// Its REST API, when its record names one.
    pub api_id: Option<ApiId>,
    /// What it waits for.
    pub waits_for: String,
}

/// How an exposed API's routes are made on the public API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RouteMode {
    /// One public resource per private resource, one method per private method: every
    /// route governed and throttled on its own, at a resource each.
    #[default]
    Mirror,
    /// Two public resources per exposed subtree, `/x` and `/x/{proxy+}`, each `ANY` to the
    /// same private path: whatever the private API's size, a stage flip is two writes.
    Proxy,
}

impl RouteMode {
    /// `mirror` or `proxy`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "mirror" => Ok(RouteMode::Mirror),
            "proxy" => Ok(RouteMode::Proxy),
            other => Err(format!(
                "{:?} is not mirror or proxy",
                other.chars().take(40).collect::<String>()
            )),
        }
    }

    /// Its tag and variable value.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteMode::Mirror => "mirror",
            RouteMode::Proxy => "proxy",
        }
    }
}

/// One variable of the contract: its name, its CLI flag, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// The environment variable.
    pub name: &'static str,
    /// The `frontdoor` CLI flag (without `--`): the name, lowercased, without the prefix.
    pub flag: &'static str,
    /// What it is, for `--help`.
    pub help: &'static str,
}

/// Every variable either function reads (the README's contract). The CLI makes a flag of
/// each, so a new variable has one as soon as it is listed; a test checks that the
/// functions read no variable that is not listed and every listed one is read.
#[rustfmt::skip]
pub const VARIABLES: &[Variable] = &[
    Variable { name: VPC_ENDPOINT_ID, flag: "vpc-endpoint-id", help: "The hub's execute-api interface endpoint" },
    Variable { name: TARGET_GROUP_ARN, flag: "target-group-arn", help: "The NLB target group (target sync)" },
    Variable { name: SSM_PREFIX, flag: "ssm-prefix", help: "Root of every parameter frontdoor writes [/frontdoor]" },
    Variable { name: PUBLIC_API_ID, flag: "public-api-id", help: "The public REST API (route sync)" },
    Variable { name: PUBLIC_STAGE, flag: "public-stage", help: "Its stage [prd]" },
    Variable { name: VPC_LINK_ID, flag: "vpc-link-id", help: "The VPC link (V1, or V2 with an integration target)" },
    Variable { name: ALLOWED_ACCOUNTS, flag: "allowed-accounts", help: "Spoke accounts, comma-separated" },
    Variable { name: SPOKE_ROLE_NAME, flag: "spoke-role-name", help: "The read-only role in each spoke [frontdoor-spoke-reader]" },
    Variable { name: RESOURCE_QUOTA, flag: "resource-quota", help: "Resources the public API may hold [300]" },
    Variable { name: ACCOUNT_RESOURCE_QUOTA, flag: "account-resource-quota", help: "Public resources one spoke account's APIs may hold [a quarter of the resource quota]" },
    Variable { name: ACCOUNT_API_QUOTA, flag: "account-api-quota", help: "Exposed APIs of one spoke account frontdoor tracks [50]" },
    Variable { name: RELEASE_HOLD, flag: "release-hold", help: "How long a released name or path stays its account's, e.g. 24h, 30m, 90s; 0s: no hold [24h]" },
    Variable { name: WRITE_PACING, flag: "write-pacing", help: "Pace hub writes to AWS's documented rates (aws) or not (off) [aws]" },
    Variable { name: ROUTE_MODE, flag: "route-mode", help: "How routes are made unless expose:mode says: mirror (a resource per private resource) or proxy (two per subtree) [mirror]" },
    Variable { name: PUBLIC_DOMAIN, flag: "public-domain", help: "The custom domain mapped to the public stage; published URLs are https://{domain}/{mount}" },
    Variable { name: CELLS, flag: "cells", help: "Every public REST API (cell) behind the domain, api-id[:authorizer-id], comma-separated, the public API first [the public API]" },
    Variable { name: ROUTING_RULE_QUOTA, flag: "routing-rule-quota", help: "Routing rules the custom domain takes [50]" },
    Variable { name: ACCOUNT_RULE_QUOTA, flag: "account-rule-quota", help: "Routing rules one spoke account's first segments may take [5]" },
    Variable { name: ROUTE_QUEUE_URL, flag: "route-queue-url", help: "route-sync's FIFO queue" },
    Variable { name: SPOKE_CONCURRENCY, flag: "spoke-concurrency", help: "Spoke accounts read at once [8]" },
    Variable { name: ACCOUNT_CONCURRENCY, flag: "account-concurrency", help: "Calls in flight to one spoke account [2]" },
    Variable { name: governance::AUTHORIZER_ID, flag: "authorizer-id", help: "The public API's authorizer for every frontdoor route" },
    Variable { name: governance::AUTHORIZATION_SCOPES, flag: "authorization-scopes", help: "OAuth scopes for a Cognito authorizer, space-separated" },
    Variable { name: governance::API_KEY_REQUIRED, flag: "api-key-required", help: "Every frontdoor route requires an API key [false]" },
    Variable { name: governance::THROTTLE_RATE, flag: "throttle-rate", help: "Default per-route rate, requests per second" },
    Variable { name: governance::THROTTLE_BURST, flag: "throttle-burst", help: "Default per-route burst" },
    Variable { name: governance::THROTTLE_MAX_RATE, flag: "throttle-max-rate", help: "Most an expose:rate tag may ask [10000]" },
    Variable { name: governance::THROTTLE_MAX_BURST, flag: "throttle-max-burst", help: "Most an expose:burst tag may ask [5000]" },
    Variable { name: governance::GOVERN_PREFLIGHT, flag: "govern-preflight", help: "OPTIONS methods carry the hub's authorizer and API key too (true), or stay open for CORS preflights (false) [false]" },
    Variable { name: governance::PUBLIC_ROUTE_ACCOUNTS, flag: "public-route-accounts", help: "Accounts whose APIs may ask for expose:auth=none" },
    Variable { name: governance::INTEGRATION_TARGET_ARN, flag: "integration-target-arn", help: "The NLB or ALB a VPC link V2 sends to" },
];

/// What `route-sync` needs.
#[derive(Debug, Clone)]
pub struct RouteSyncConfig {
    /// The hub endpoint every exposed API's policy must be bound to.
    pub vpc_endpoint_id: VpceId,
    /// The public REST API.
    pub public_api_id: ApiId,
    /// Its stage.
    pub public_stage: String,
    /// The REST VPC link every integration goes through.
    pub vpc_link_id: String,
    /// Spoke accounts; events from any other are refused.
    pub allowed_accounts: BTreeSet<AccountId>,
    /// The role assumed in each spoke.
    pub spoke_role_name: String,
    /// Root of the registry and published parameters.
    pub ssm_prefix: SsmPrefix,
    /// Resources the public API may hold; an API that would take it past is refused.
    pub resource_quota: usize,
    /// The most public resources one spoke account's APIs may hold: its share of the quota.
    pub account_resource_quota: usize,
    /// The most exposed APIs of one spoke account frontdoor tracks (records, parameters).
    pub account_api_quota: usize,
    /// How long a name or path an API released stays its account's.
    pub release_hold: std::time::Duration,
    /// Hub writes paced to AWS's documented rates ([`crate::pacing`]).
    pub write_pacing: bool,
    /// The FIFO route queue, when route-sync runs from one.
    pub route_queue_url: Option<String>,
    /// Spoke accounts read at once.
    pub spoke_concurrency: usize,
    /// Calls in flight at once to one spoke account.
    pub account_concurrency: usize,
    /// What every route frontdoor makes carries, and the bounds of the tags.
    pub governance: Policy,
    /// The load balancer a VPC link V2 sends to; `None`: the VPC link is V1 (legacy).
    pub integration_target: Option<String>,
    /// How routes are made unless an API's `expose:mode` says otherwise.
    pub route_mode: RouteMode,
    /// The custom domain mapped to the public stage, when there is one.
    pub public_domain: Option<String>,
    /// Every cell, the first being the public API; one cell is a hub without cells.
    pub cells: Vec<Cell>,
    /// Named cells (the hub stack's records) not in [`RouteSyncConfig::cells`] for now: a
    /// cell's authorizer is made on its API after the stack makes the API, so a new cell
    /// waits for it ([`RouteSyncConfig::with_named_cells`]).
    pub waiting_cells: Vec<WaitingCell>,
    /// How many of [`RouteSyncConfig::cells`] the variables name (the rest are named cells).
    pub configured_cells: usize,
    /// Which of [`RouteSyncConfig::cells`] this configuration writes to (`public_api_id`
    /// and the policy's authorizer are that cell's).
    pub cell: usize,
    /// Routing rules the domain takes.
    pub routing_rule_quota: usize,
    /// Routing rules one account's first segments may take.
    pub account_rule_quota: usize,
}

impl RouteSyncConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut vars = Vars::new(lookup);
        let vpc_endpoint_id = vars.required(VPC_ENDPOINT_ID, VpceId::parse);
        let public_api_id = vars.required(PUBLIC_API_ID, ApiId::parse);
        let public_stage = vars.with_default(PUBLIC_STAGE, DEFAULT_PUBLIC_STAGE, parse_stage_name);
        let vpc_link_id = vars.required(VPC_LINK_ID, parse_vpc_link_id);
        let allowed_accounts = vars.required(ALLOWED_ACCOUNTS, parse_accounts);
        let spoke_role_name =
            vars.with_default(SPOKE_ROLE_NAME, DEFAULT_SPOKE_ROLE_NAME, parse_role_name);
        let ssm_prefix = vars.with_default(SSM_PREFIX, DEFAULT_SSM_PREFIX, SsmPrefix::parse);
        let resource_quota = vars.with_default(RESOURCE_QUOTA, DEFAULT_RESOURCE_QUOTA, parse_quota);
        let account_resource_quota = vars.optional(ACCOUNT_RESOURCE_QUOTA, parse_quota);
        let account_api_quota =
            vars.with_default(ACCOUNT_API_QUOTA, DEFAULT_ACCOUNT_API_QUOTA, |s| {
                parse_bound(s, 10_000)
            });
        let release_hold = vars.with_default(RELEASE_HOLD, DEFAULT_RELEASE_HOLD, parse_hold);
        let write_pacing = vars.with_default(WRITE_PACING, "aws", |s| match s {
            "aws" => Ok(true),
            "off" => Ok(false),
            _ => Err(format!("{s:?} is not aws or off")),
        });
        let route_queue_url = vars.optional(ROUTE_QUEUE_URL, parse_fifo_queue_url);
        let spoke_concurrency =
            vars.with_default(SPOKE_CONCURRENCY, DEFAULT_SPOKE_CONCURRENCY, |s| {
                parse_bound(s, 64)
            });
        let account_concurrency =
            vars.with_default(ACCOUNT_CONCURRENCY, DEFAULT_ACCOUNT_CONCURRENCY, |s| {
                parse_bound(s, 10)
            });
        let governance = policy(&mut vars);
        let integration_target =
            vars.optional(governance::INTEGRATION_TARGET_ARN, parse_load_balancer_arn);
        let route_mode = vars.with_default(ROUTE_MODE, "mirror", RouteMode::parse);
        let public_domain = vars.optional(PUBLIC_DOMAIN, parse_domain_name);
        let cells = vars.optional(CELLS, parse_cells);
        let routing_rule_quota =
            vars.with_default(ROUTING_RULE_QUOTA, DEFAULT_ROUTING_RULE_QUOTA, |s| {
                parse_bound(s, 1_000_000)
            });
        let account_rule_quota =
            vars.with_default(ACCOUNT_RULE_QUOTA, DEFAULT_ACCOUNT_RULE_QUOTA, |s| {
                parse_bound(s, 1_000_000)
            });
        let cells = match (&public_api_id, &governance) {
            (Some(first), Some(policy)) => {
                let cells = cells.unwrap_or_else(|| {
                    vec![Cell {
                        api_id: first.clone(),
                        authorizer_id: None,
                    }]
                });
                let domain = public_domain.is_some();
                match check_cells(cells, first, policy, domain, ssm_prefix.as_ref()) {
                    Ok(cells) => Some(cells),
                    Err(why) => vars.problem(CELLS, why),
                }
            }
            _ => None,
        };
        let configured_cells = cells.as_ref().map_or(0, Vec::len);
        let config = (|| {
            Some(Self {
                vpc_endpoint_id: vpc_endpoint_id?,
                public_api_id: public_api_id?,
                public_stage: public_stage?,
                vpc_link_id: vpc_link_id?,
                allowed_accounts: allowed_accounts?,
                spoke_role_name: spoke_role_name?,
                ssm_prefix: ssm_prefix?,
                resource_quota: resource_quota?,
                // A quarter of the quota: four large tenants fill the front door, never one.
                account_resource_quota: account_resource_quota
                    .unwrap_or_else(|| resource_quota.map_or(1, |q| (q / 4).max(1))),
                account_api_quota: account_api_quota?,
                release_hold: release_hold?,
                write_pacing: write_pacing?,
                route_queue_url,
                spoke_concurrency: spoke_concurrency?,
                account_concurrency: account_concurrency?,
                governance: governance?,
                integration_target,
                route_mode: route_mode?,
                public_domain,
                cells: cells?,
                waiting_cells: Vec::new(),
                configured_cells,
                cell: 0,
                routing_rule_quota: routing_rule_quota?,
                account_rule_quota: account_rule_quota?,
            })
        })();
        vars.finish(config)
    }
}

impl RouteSyncConfig {
    /// This configuration with the cells the hub stack names (`name -> api-id:authorizer-id`,
    /// its records), after the configured ones in name order. A named cell that cannot be
    /// used yet waits instead of failing the run: its authorizer is not made yet (routes
    /// carry one), it names one while routes carry none, there is no domain, its record is
    /// malformed, or it is a cell already. A waiting cell, like a removed one, keeps what it
    /// holds as it is.
    pub fn with_named_cells(&self, records: &BTreeMap<String, String>) -> Self {
        // From the configured cells each time: merging twice gives the same.
        let mut out = self.clone();
        out.cells.truncate(self.configured_cells);
        out.waiting_cells.clear();
        for (name, value) in records {
            let (cell, why) = match parse_named_cell(value) {
                Err(why) => {
                    out.waiting_cells.push(WaitingCell {
                        name: name.clone(),
                        api_id: None,
                        waits_for: format!("a record that reads api-id:authorizer-id ({why})"),
                    });
                    continue;
                }
                Ok(cell) => {
                    let why = match (&self.governance.authorizer_id, &cell.authorizer_id) {
                        (Some(_), None) => Some(format!(
                            "its authorizer: make it on REST API {}, then give {name}=authorizer-id in the hub stack's CellAuthorizers",
                            cell.api_id
                        )),
                        (None, Some(other)) => Some(format!(
                            "{} (its record names authorizer {other} while routes carry none)",
                            governance::AUTHORIZER_ID
                        )),
                        _ if self.public_domain.is_none() => Some(format!(
                            "{PUBLIC_DOMAIN}: cells are reached through the domain's routing rules"
                        )),
                        _ if out.cells.iter().any(|c| c.api_id == cell.api_id)
                            || out
                                .waiting_cells
                                .iter()
                                .any(|w| w.api_id.as_ref() == Some(&cell.api_id)) =>
                        {
                            Some(format!(
                                "a REST API of its own: {} is a cell already",
                                cell.api_id
                            ))
                        }
                        _ if SsmPrefix::parse(&format!(
                            "{}/cells/{}",
                            self.ssm_prefix, cell.api_id
                        ))
                        .is_err() =>
                        {
                            Some(format!(
                                "a shorter {SSM_PREFIX}: its state under it would be no parameter name"
                            ))
                        }
                        _ => None,
                    };
                    (cell, why)
                }
            };
            match why {
                Some(waits_for) => out.waiting_cells.push(WaitingCell {
                    name: name.clone(),
                    api_id: Some(cell.api_id),
                    waits_for,
                }),
                None => out.cells.push(cell),
            }
        }
        out
    }

    /// This configuration for writing to cell `index`: its REST API, its authorizer.
    pub fn for_cell(&self, index: usize) -> Option<Self> {
        let cell = self.cells.get(index)?;
        let mut out = self.clone();
        out.public_api_id = cell.api_id.clone();
        out.governance.authorizer_id = cell.authorizer_id.clone();
        out.cell = index;
        Some(out)
    }

    /// The cell this configuration writes to, as registry records name it: `None` for the
    /// first (every API of a one-cell hub), else the cell's REST API id.
    pub fn cell_name(&self) -> Option<String> {
        (self.cell > 0).then(|| self.public_api_id.to_string())
    }

    /// Where this cell's own state (owed deployment, learned quota) is kept: the prefix
    /// itself for the first cell, as before cells; `{prefix}/cells/{api-id}` for the others.
    pub fn cell_state_prefix(&self) -> SsmPrefix {
        match self.cell_name() {
            None => self.ssm_prefix.clone(),
            Some(api) => SsmPrefix::parse(&format!("{}/cells/{api}", self.ssm_prefix))
                .unwrap_or_else(|_| self.ssm_prefix.clone()),
        }
    }
}

/// `FRONTDOOR_CELLS`: `api-id[:authorizer-id]`, comma-separated.
fn parse_cells(s: &str) -> Result<Vec<Cell>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let (api, authorizer) = match c.split_once(':') {
                Some((a, z)) => (a, Some(parse_authorizer_id(z)?)),
                None => (c, None),
            };
            Ok(Cell {
                api_id: ApiId::parse(api)?,
                authorizer_id: authorizer,
            })
        })
        .collect()
}

/// A cell's record: `api-id:authorizer-id`, the authorizer empty until it is made.
fn parse_named_cell(s: &str) -> Result<Cell, String> {
    let (api, authorizer) = s.split_once(':').unwrap_or((s, ""));
    Ok(Cell {
        api_id: ApiId::parse(api.trim())?,
        authorizer_id: match authorizer.trim() {
            "" => None,
            id => Some(parse_authorizer_id(id)?),
        },
    })
}

/// The cells as configured, checked against the rest: the first is the public API, none
/// twice, each with its own authorizer when the policy names one, and a domain to route
/// them when there is more than one.
fn check_cells(
    mut cells: Vec<Cell>,
    first: &ApiId,
    policy: &Policy,
    domain: bool,
    prefix: Option<&SsmPrefix>,
) -> Result<Vec<Cell>, String> {
    if cells.first().map(|c| &c.api_id) != Some(first) {
        return Err(format!(
            "the first cell must be {PUBLIC_API_ID} ({first}): it is the API the domain's base path mapping serves"
        ));
    }
    let ids: BTreeSet<&ApiId> = cells.iter().map(|c| &c.api_id).collect();
    if ids.len() != cells.len() {
        let twice = cells
            .iter()
            .map(|c| &c.api_id)
            .find(|a| cells.iter().filter(|c| &c.api_id == *a).count() > 1)
            .map_or_else(String::new, ToString::to_string);
        return Err(format!("names cell {twice} twice"));
    }
    if cells.len() > 1 && !domain {
        return Err(format!(
            "names {} cells but {PUBLIC_DOMAIN} is not set: cells are reached through the domain's routing rules",
            cells.len()
        ));
    }
    // Each other cell keeps its own state under the prefix: it must make a valid name, or
    // the cells would share one owed marker.
    if let Some(prefix) = prefix {
        for c in cells.iter().skip(1) {
            SsmPrefix::parse(&format!("{prefix}/cells/{}", c.api_id)).map_err(|e| {
                format!(
                    "cell {}'s state under {SSM_PREFIX} is no parameter name: {e}",
                    c.api_id
                )
            })?;
        }
    }
    // The first cell's authorizer is the policy's own.
    if cells[0].authorizer_id.is_none() {
        cells[0].authorizer_id = policy.authorizer_id.clone();
    }
    if policy.authorizer_id.is_none() {
        if let Some(c) = cells.iter().find(|c| c.authorizer_id.is_some()) {
            return Err(format!(
                "cell {} names an authorizer while {} is not set: the hub's routes carry one in every cell or in none",
                c.api_id,
                governance::AUTHORIZER_ID
            ));
        }
    }
    if policy.authorizer_id.is_some() {
        if let Some(c) = cells.iter().find(|c| c.authorizer_id.is_none()) {
            return Err(format!(
                "cell {} names no authorizer ({}:AUTHORIZER_ID) while {} is set: an authorizer belongs to one REST API",
                c.api_id,
                c.api_id,
                governance::AUTHORIZER_ID
            ));
        }
    }
    Ok(cells)
}

/// The hub's route policy (`governance` module); `None` when a variable is bad (named).
fn policy<F: Fn(&str) -> Option<String>>(vars: &mut Vars<F>) -> Option<Policy> {
    use crate::governance::*;
    let authorizer_id = vars.optional(AUTHORIZER_ID, parse_authorizer_id);
    let scopes = vars
        .optional(AUTHORIZATION_SCOPES, |s| {
            let scopes: BTreeSet<String> = s.split_whitespace().map(str::to_string).collect();
            match scopes.iter().find(|s| s.len() > 256 || s.contains(',')) {
                Some(bad) => Err(format!("{bad:?} is not an OAuth scope")),
                None => Ok(scopes),
            }
        })
        .unwrap_or_default();
    let api_key_required = vars.with_default(API_KEY_REQUIRED, "false", |s| match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{s:?} is not true or false")),
    });
    let govern_preflight = vars.with_default(GOVERN_PREFLIGHT, "false", |s| match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{s:?} is not true or false")),
    });
    let rate = vars.optional(THROTTLE_RATE, parse_requests);
    let burst = vars.optional(THROTTLE_BURST, parse_requests);
    let max_rate = vars.with_default(THROTTLE_MAX_RATE, &ACCOUNT_RATE.to_string(), parse_requests);
    let max_burst = vars.with_default(
        THROTTLE_MAX_BURST,
        &ACCOUNT_BURST.to_string(),
        parse_requests,
    );
    let public_accounts = vars
        .optional(PUBLIC_ROUTE_ACCOUNTS, parse_accounts)
        .unwrap_or_default();
    let throttle = match (rate, burst) {
        (Some(rate), Some(burst)) => Some(Throttle { rate, burst }),
        (Some(_), None) => {
            return vars.problem(THROTTLE_BURST, format!("is needed with {THROTTLE_RATE}"))
        }
        (None, Some(_)) => {
            return vars.problem(THROTTLE_RATE, format!("is needed with {THROTTLE_BURST}"))
        }
        (None, None) => None,
    };
    let max = Throttle {
        rate: max_rate?,
        burst: max_burst?,
    };
    if let Some(t) = throttle.filter(|t| t.rate > max.rate || t.burst > max.burst) {
        return vars.problem(
            THROTTLE_RATE,
            format!("the default throttle ({t}) is above the maximum ({max})"),
        );
    }
    Some(Policy {
        authorizer_id,
        scopes,
        api_key_required: api_key_required?,
        throttle,
        max,
        public_accounts,
        govern_preflight: govern_preflight?,
    })
}

/// Requests (per second, or a burst): a whole number up to 1,000,000.
fn parse_requests(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n <= 1_000_000 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number from 0 to 1000000")),
    }
}

/// An API Gateway authorizer id: lowercase letters and digits.
fn parse_authorizer_id(s: &str) -> Result<String, String> {
    parse_vpc_link_id(s).map_err(|_| format!("{s:?} is not an authorizer id"))
}

/// A Network or Application Load Balancer's ARN, the `integrationTarget` of a VPC link V2.
/// A DNS name API Gateway takes as a custom domain: labels of letters, digits and `-`, at
/// least two, at most 253 characters, lowercase (a wildcard domain maps no single stage).
fn parse_domain_name(s: &str) -> Result<String, String> {
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if s.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{:?} is not a domain name (lowercase labels of letters, digits and -, e.g. api.example.com)",
            s.chars().take(80).collect::<String>()
        ))
    }
}

fn parse_load_balancer_arn(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = matches!(parts.as_slice(), ["arn", partition, "elasticloadbalancing", region, account, resource]
        if !partition.is_empty()
            && !region.is_empty()
            && AccountId::parse(account).is_ok()
            && (resource.starts_with("loadbalancer/net/") || resource.starts_with("loadbalancer/app/"))
            && resource.split('/').count() == 4
            && s.len() <= 2048
            && !s.contains(char::is_whitespace));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{:?} is not a load balancer ARN (arn:aws:elasticloadbalancing:{{region}}:{{account}}:loadbalancer/net/{{name}}/{{id}})",
            s.chars().take(80).collect::<String>()
        ))
    }
}

/// API Gateway raises the quota on request (up to a few thousand); below 2 the public API
/// could not hold its root and one route.
fn parse_quota(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (2..=10_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "{s:?} is not a number of resources from 2 to 10000"
        )),
    }
}

/// An SQS FIFO queue URL (`https://sqs.{region}.amazonaws.com/{account}/{name}.fifo`, or an
/// emulator's).
fn parse_fifo_queue_url(s: &str) -> Result<String, String> {
    let fifo = s.ends_with(".fifo");
    let http = s.starts_with("https://") || s.starts_with("http://");
    if fifo && http && s.len() <= 512 && !s.contains(char::is_whitespace) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{:?} is not an SQS FIFO queue URL (https://sqs.{{region}}.amazonaws.com/{{account}}/{{name}}.fifo)",
            s.chars().take(80).collect::<String>()
        ))
    }
}

/// A bound on concurrent work: 1 (sequential) to `max`.
/// `{n}h`, `{n}m` or `{n}s`, at most 30 days (`0s`: no hold).
fn parse_hold(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{s:?} is not a duration such as 24h, 30m or 90s (at most 30 days)");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "h" => n.checked_mul(3600),
        "m" => n.checked_mul(60),
        "s" => Some(n),
        _ => None,
    }
    .filter(|secs| *secs <= 30 * 24 * 3600)
    .ok_or_else(bad)?;
    Ok(std::time::Duration::from_secs(secs))
}

fn parse_bound(s: &str, max: usize) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number from 1 to {max}")),
    }
}

fn parse_accounts(s: &str) -> Result<BTreeSet<AccountId>, String> {
    let accounts: BTreeSet<AccountId> = s
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(AccountId::parse)
        .collect::<Result<_, _>>()?;
    if accounts.is_empty() {
        return Err("lists no account".into());
    }
    Ok(accounts)
}

/// What `target-sync` needs.
#[derive(Debug, Clone)]
pub struct TargetSyncConfig {
    /// The endpoint whose ENI IPs become targets.
    pub vpc_endpoint_id: VpceId,
    /// The target group that holds them.
    pub target_group_arn: TargetGroupArn,
    /// Root of the registry and published parameters.
    pub ssm_prefix: SsmPrefix,
}

impl TargetSyncConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut vars = Vars::new(lookup);
        let vpc_endpoint_id = vars.required(VPC_ENDPOINT_ID, VpceId::parse);
        let target_group_arn = vars.required(TARGET_GROUP_ARN, TargetGroupArn::parse);
        let ssm_prefix = vars.with_default(SSM_PREFIX, DEFAULT_SSM_PREFIX, SsmPrefix::parse);
        let config = (|| {
            Some(Self {
                vpc_endpoint_id: vpc_endpoint_id?,
                target_group_arn: target_group_arn?,
                ssm_prefix: ssm_prefix?,
            })
        })();
        vars.finish(config)
    }
}

/// Collects problems instead of stopping at the first.
struct Vars<F> {
    lookup: F,
    problems: Vec<ConfigProblem>,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn new(lookup: F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    fn required<T>(
        &mut self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match (self.lookup)(name).map(|v| v.trim().to_string()) {
            None => self.problem(name, "is not set".into()),
            Some(v) if v.is_empty() => self.problem(name, "is empty".into()),
            Some(v) => self.parsed(name, parse(&v)),
        }
    }

    fn with_default<T>(
        &mut self,
        name: &'static str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string());
        self.parsed(name, parse(&value))
    }

    /// A variable that may be absent (or empty): `None` then.
    fn optional<T>(
        &mut self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())?;
        self.parsed(name, parse(&value))
    }

    fn parsed<T>(&mut self, name: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_or_else(|problem| self.problem(name, problem), Some)
    }

    fn problem<T>(&mut self, name: &'static str, problem: String) -> Option<T> {
        self.problems.push(ConfigProblem { name, problem });
        None
    }

    /// The config, or every problem found. A field is `None` only when its problem was
    /// recorded, so `config` is `Some` exactly when there is no problem.
    fn finish<T>(self, config: Option<T>) -> Result<T> {
        match config {
            Some(config) if self.problems.is_empty() => Ok(config),
            _ => Err(Error::Config(self.problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn cells_start_with_the_public_api_and_need_a_domain_and_their_own_authorizers() {
        let base = [
            (VPC_ENDPOINT_ID, "vpce-0a1b2c3d4e5f60718"),
            (PUBLIC_API_ID, "public0000"),
            (VPC_LINK_ID, "link00"),
            (ALLOWED_ACCOUNTS, "222222222222"),
        ];
        let with = |more: &[(&'static str, &'static str)]| {
            let all: Vec<(&str, &str)> = base.iter().chain(more).copied().collect();
            RouteSyncConfig::from_lookup(env(&all))
        };
        let one = with(&[]).unwrap();
        assert_eq!(one.cells.len(), 1);
        assert_eq!(one.cell_name(), None);
        assert_eq!(one.cell_state_prefix(), one.ssm_prefix);
        let two = with(&[
            (CELLS, "public0000,second0000"),
            (PUBLIC_DOMAIN, "api.example.com"),
        ])
        .unwrap();
        let second = two.for_cell(1).unwrap();
        assert_eq!(second.public_api_id.as_str(), "second0000");
        assert_eq!(second.cell_name().as_deref(), Some("second0000"));
        assert_eq!(
            second.cell_state_prefix().to_string(),
            "/frontdoor/cells/second0000"
        );
        assert!(two.for_cell(2).is_none());
        for (more, says) in [
            (
                vec![
                    (CELLS, "second0000,public0000"),
                    (PUBLIC_DOMAIN, "api.example.com"),
                ],
                "the first cell must be FRONTDOOR_PUBLIC_API_ID",
            ),
            (
                vec![
                    (CELLS, "public0000,public0000"),
                    (PUBLIC_DOMAIN, "api.example.com"),
                ],
                "names cell public0000 twice",
            ),
            (
                vec![(CELLS, "public0000,second0000")],
                "FRONTDOOR_PUBLIC_DOMAIN is not set",
            ),
            (
                vec![
                    (CELLS, "public0000,second0000"),
                    (PUBLIC_DOMAIN, "api.example.com"),
                    (governance::AUTHORIZER_ID, "auth00"),
                ],
                "cell second0000 names no authorizer",
            ),
        ] {
            let err = with(&more).unwrap_err().to_string();
            assert!(
                err.contains("FRONTDOOR_CELLS") && err.contains(says),
                "{err}"
            );
        }
        let governed = with(&[
            (CELLS, "public0000,second0000:auth22"),
            (PUBLIC_DOMAIN, "api.example.com"),
            (governance::AUTHORIZER_ID, "auth00"),
        ])
        .unwrap();
        assert_eq!(
            governed
                .for_cell(1)
                .unwrap()
                .governance
                .authorizer_id
                .as_deref(),
            Some("auth22")
        );
        assert_eq!(
            governed
                .for_cell(0)
                .unwrap()
                .governance
                .authorizer_id
                .as_deref(),
            Some("auth00")
        );
    }

    #[test]
    fn named_cells_follow_the_listed_ones_and_wait_rather_than_fail_the_run() {
        // The hub stack's records for Cells=b,c: the first cell in FRONTDOOR_CELLS, b's
        // authorizer not given yet (CellAuthorizers), c's given.
        let base = [
            (VPC_ENDPOINT_ID, "vpce-0a1b2c3d4e5f60718"),
            (PUBLIC_API_ID, "public0000"),
            (VPC_LINK_ID, "link00"),
            (ALLOWED_ACCOUNTS, "222222222222"),
            (PUBLIC_DOMAIN, "api.example.com"),
        ];
        let config = |more: &[(&'static str, &'static str)]| {
            let all: Vec<(&str, &str)> = base.iter().chain(more).copied().collect();
            RouteSyncConfig::from_lookup(env(&all)).unwrap()
        };
        let records = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ids = |c: &RouteSyncConfig| -> Vec<String> {
            c.cells.iter().map(|c| c.api_id.to_string()).collect()
        };
        let waiting = |c: &RouteSyncConfig| -> Vec<(String, String)> {
            c.waiting_cells
                .iter()
                .map(|w| (w.name.clone(), w.waits_for.clone()))
                .collect()
        };
        let governed = config(&[(governance::AUTHORIZER_ID, "auth00")]);
        // With an authorizer on every route, b waits for its own; c is a cell.
        let two = governed.with_named_cells(&records(&[
            ("b", "bbbbbbbbbb:"),
            ("c", "cccccccccc:authcc"),
        ]));
        assert_eq!(ids(&two), ["public0000", "cccccccccc"]);
        let w = waiting(&two);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, "b");
        assert!(w[0].1.contains("CellAuthorizers"), "{w:?}");
        assert_eq!(
            two.for_cell(1).unwrap().governance.authorizer_id.as_deref(),
            Some("authcc")
        );
        // Two records naming one API: the second waits whether the first is in use or waits.
        let twice = governed.with_named_cells(&records(&[
            ("a", "bbbbbbbbbb:"),
            ("b", "bbbbbbbbbb:authbb"),
        ]));
        assert_eq!(ids(&twice), ["public0000"]);
        let w = waiting(&twice);
        assert_eq!(w.len(), 2);
        assert!(w[1].1.contains("is a cell already"), "{w:?}");
        // Given b's, b takes its place in name order.
        let three = governed.with_named_cells(&records(&[
            ("c", "cccccccccc:authcc"),
            ("b", "bbbbbbbbbb:authbb"),
        ]));
        assert_eq!(ids(&three), ["public0000", "bbbbbbbbbb", "cccccccccc"]);
        assert!(three.waiting_cells.is_empty());
        // Nothing a record says fails the run: each odd one waits, naming what it needs.
        let open = config(&[]);
        let odd = open.with_named_cells(&records(&[
            ("a", "aaaaaaaaaa:authaa"),
            ("b", "not an id"),
            ("c", "public0000:"),
            ("d", "dddddddddd:"),
        ]));
        assert_eq!(ids(&odd), ["public0000", "dddddddddd"]);
        let w = waiting(&odd);
        assert!(w[0].1.contains("FRONTDOOR_AUTHORIZER_ID"), "{w:?}");
        assert!(w[1].1.contains("api-id:authorizer-id"), "{w:?}");
        assert!(w[2].1.contains("is a cell already"), "{w:?}");
        let no_domain = RouteSyncConfig::from_lookup(env(&base[..4])).unwrap();
        let none = no_domain.with_named_cells(&records(&[("d", "dddddddddd:")]));
        assert_eq!(ids(&none), ["public0000"]);
        assert!(waiting(&none)[0].1.contains("FRONTDOOR_PUBLIC_DOMAIN"));
        // And no record: the configuration as it was; merging again changes nothing.
        assert_eq!(
            ids(&open.with_named_cells(&BTreeMap::new())),
            ["public0000"]
        );
        let again = odd.with_named_cells(&records(&[
            ("a", "aaaaaaaaaa:authaa"),
            ("b", "not an id"),
            ("c", "public0000:"),
            ("d", "dddddddddd:"),
        ]));
        assert_eq!(ids(&again), ids(&odd));
        assert_eq!(waiting(&again), waiting(&odd));
    }

    #[test]
    fn the_variable_table_is_the_contract() {
        // Every name the configs read is listed, every listed name is read, and each flag
        // is the name without its prefix.
        let asked = std::cell::RefCell::new(BTreeSet::new());
        let record = |name: &str| {
            asked.borrow_mut().insert(name.to_string());
            None
        };
        let _ = TargetSyncConfig::from_lookup(record);
        let _ = RouteSyncConfig::from_lookup(record);
        let listed: BTreeSet<String> = VARIABLES.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(asked.into_inner(), listed);
        for v in VARIABLES {
            let flag = v
                .name
                .trim_start_matches("FRONTDOOR_")
                .to_lowercase()
                .replace('_', "-");
            assert_eq!(v.flag, flag, "{}", v.name);
        }
    }

    #[test]
    fn a_route_mode_and_a_domain_are_checked_and_name_themselves() {
        assert_eq!(RouteMode::parse("proxy"), Ok(RouteMode::Proxy));
        assert_eq!(RouteMode::parse(" mirror "), Ok(RouteMode::Mirror));
        assert!(RouteMode::parse("PROXY").is_err());
        assert_eq!(
            parse_domain_name("api.example.com").as_deref(),
            Ok("api.example.com")
        );
        for bad in [
            "Api.example.com",
            "example",
            "*.example.com",
            "api.example.com/x",
            "-a.example.com",
            "a..example.com",
        ] {
            assert!(parse_domain_name(bad).is_err(), "{bad}");
        }
        let err = RouteSyncConfig::from_lookup(env(&[
            (ROUTE_MODE, "fast"),
            (PUBLIC_DOMAIN, "https://api.example.com"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("FRONTDOOR_ROUTE_MODE: \"fast\" is not mirror or proxy"),
            "{err}"
        );
        assert!(err.contains("FRONTDOOR_PUBLIC_DOMAIN: "), "{err}");
    }

    const TG: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fd/0123456789abcdef";

    #[test]
    fn given_all_variables_then_config_parses_with_default_prefix() {
        let config = TargetSyncConfig::from_lookup(env(&[
            (VPC_ENDPOINT_ID, "vpce-0123456789abcdef0"),
            (TARGET_GROUP_ARN, TG),
        ]))
        .unwrap();
        assert_eq!(config.ssm_prefix.as_str(), "/frontdoor");
        assert_eq!(config.vpc_endpoint_id.as_str(), "vpce-0123456789abcdef0");
    }

    #[test]
    fn given_nothing_set_then_every_required_variable_is_named() {
        let err = TargetSyncConfig::from_lookup(env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("FRONTDOOR_VPC_ENDPOINT_ID: is not set"),
            "{err}"
        );
        assert!(
            err.contains("FRONTDOOR_TARGET_GROUP_ARN: is not set"),
            "{err}"
        );
    }

    #[test]
    fn given_route_sync_variables_then_accounts_are_parsed_and_defaults_applied() {
        let config = RouteSyncConfig::from_lookup(env(&[
            (VPC_ENDPOINT_ID, "vpce-0123456789abcdef0"),
            (PUBLIC_API_ID, "abcdef0123"),
            (VPC_LINK_ID, "vl1234"),
            (ALLOWED_ACCOUNTS, " 222222222222, 333333333333 "),
        ]))
        .unwrap();
        assert_eq!(config.allowed_accounts.len(), 2);
        assert_eq!(config.public_stage, "prd");
        assert_eq!(config.spoke_role_name, "frontdoor-spoke-reader");
    }

    #[test]
    fn given_a_bad_account_list_then_it_is_named() {
        let err = RouteSyncConfig::from_lookup(env(&[
            (VPC_ENDPOINT_ID, "vpce-0123456789abcdef0"),
            (PUBLIC_API_ID, "abcdef0123"),
            (VPC_LINK_ID, "vl1234"),
            (ALLOWED_ACCOUNTS, "222222222222,12345"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("FRONTDOOR_ALLOWED_ACCOUNTS: \"12345\" is not a 12-digit"),
            "{err}"
        );
    }

    #[test]
    fn given_malformed_values_then_each_is_named_with_its_problem() {
        let err = TargetSyncConfig::from_lookup(env(&[
            (VPC_ENDPOINT_ID, "vpc-123"),
            (TARGET_GROUP_ARN, TG),
            (SSM_PREFIX, "frontdoor/"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("FRONTDOOR_VPC_ENDPOINT_ID: \"vpc-123\""),
            "{err}"
        );
        assert!(
            err.contains("FRONTDOOR_SSM_PREFIX: \"frontdoor/\""),
            "{err}"
        );
        assert!(!err.contains("FRONTDOOR_TARGET_GROUP_ARN"), "{err}");
    }
}
