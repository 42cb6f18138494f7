//! How plans, reports and status read to a person (text) or a script (`--json`), and the one
//! line of advice for each error a person meets.

use serde_json::{json, Map, Value};
use shared::governance::method_setting_key;
use shared::routes::{self, Observed as RoutesObserved};
use shared::targets::{self, Observed as TargetsObserved};
use shared::{urls, Error, RouteSyncConfig};

/// Collects sections; text is printed as it comes, JSON at the end.
pub(crate) struct Output {
    json: bool,
    doc: Map<String, Value>,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self {
            json,
            doc: Map::new(),
        }
    }

    pub(crate) fn value(&mut self, key: &str, value: Value) {
        if !self.json {
            println!(
                "{key}: {}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        }
        self.doc.insert(key.into(), value);
    }

    pub(crate) fn finish(self) {
        if self.json {
            println!("{}", Value::Object(self.doc));
        }
    }

    pub(crate) fn target_plan(&mut self, plan: &targets::Plan, as_drift: bool) {
        let key = if as_drift {
            "target_drift"
        } else {
            "target_plan"
        };
        let names = |set: &std::collections::BTreeSet<targets::Target>| {
            set.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        self.doc.insert(
            key.into(),
            json!({
                "register": names(&plan.register), "deregister": names(&plan.deregister),
                "kept": names(&plan.kept), "foreign": names(&plan.foreign),
                "refused": plan.refused, "noop": plan.is_noop(),
            }),
        );
        if self.json {
            return;
        }
        println!(
            "{}",
            if as_drift {
                "target drift:"
            } else {
                "target sync plan:"
            }
        );
        if let Some(reason) = &plan.refused {
            println!("  ! nothing may change: {reason}");
        }
        for t in &plan.register {
            println!("  + register   {t}");
        }
        for t in &plan.deregister {
            println!("  - deregister {t}");
        }
        for t in &plan.kept {
            println!("  = keep       {t}");
        }
        for t in &plan.foreign {
            println!("  . not ours   {t} (left alone)");
        }
        if plan.is_noop() {
            println!("  (no change)");
        }
    }

    pub(crate) fn targets_status(&mut self, observed: &TargetsObserved) {
        let rows: Vec<Value> = observed
            .live
            .iter()
            .map(|t| {
                json!({"target": t.target.to_string(), "health": t.health,
                       "owner": if observed.owned.contains(&t.target) { "frontdoor" } else { "hand-made" }})
            })
            .collect();
        if !self.json {
            println!("targets:");
            for r in &rows {
                println!(
                    "  {:<20} {:<10} {}",
                    r["target"].as_str().unwrap_or(""),
                    r["health"].as_str().unwrap_or(""),
                    r["owner"].as_str().unwrap_or("")
                );
            }
        }
        self.doc.insert("targets".into(), Value::Array(rows));
    }

    /// The hub's route policy as this run reads it: what every frontdoor route carries.
    pub(crate) fn route_policy(&mut self, observed: &RoutesObserved, config: &RouteSyncConfig) {
        let link = match &config.integration_target {
            Some(target) => format!("V2 {} -> {target}", config.vpc_link_id),
            None => format!("V1 (legacy) {}", config.vpc_link_id),
        };
        let g = &config.governance;
        let accounts: Vec<String> = g.public_accounts.iter().map(|a| a.to_string()).collect();
        let policy = json!({
            "routes": observed.hub_auth.to_string(),
            "throttle": g.throttle.map(|t| t.to_string()),
            "max_throttle": g.max.to_string(),
            "public_route_accounts": accounts,
            "vpc_link": link,
            "route_mode": config.route_mode.as_str(),
            "public_domain": config.public_domain,
            "govern_preflight": g.govern_preflight,
            "shares": {
                "resources_per_account": config.account_resource_quota,
                "apis_per_account": config.account_api_quota,
                "release_hold_seconds": config.release_hold.as_secs(),
            },
        });
        if !self.json {
            println!("hub policy:");
            println!("  routes       {}", observed.hub_auth);
            println!(
                "  throttle     {} (tags up to {})",
                g.throttle
                    .map_or_else(|| "stage default".into(), |t| t.to_string()),
                g.max
            );
            if !accounts.is_empty() {
                println!("  open to      {} (expose:auth=none)", accounts.join(", "));
            }
            println!("  vpc link     {link}");
            println!(
                "  routes made  {} unless expose:mode says; OPTIONS {}",
                config.route_mode.as_str(),
                if g.govern_preflight {
                    "governed"
                } else {
                    "open beside governed routes"
                }
            );
            println!(
                "  public URLs  {}",
                config.public_domain.as_ref().map_or_else(
                    || "on the public API's execute-api name (no FRONTDOOR_PUBLIC_DOMAIN)".into(),
                    |d| format!("https://{d}/..."),
                )
            );
            println!(
                "  shares       {} resources and {} APIs per account; a released name or path is held {} s for its account",
                config.account_resource_quota,
                config.account_api_quota,
                config.release_hold.as_secs()
            );
        }
        self.doc.insert("policy".into(), policy);
    }

    /// Each cell's writes, where every API and first segment is placed, and the routing
    /// rule writes (issue 23).
    pub(crate) fn cell_plans(&mut self, plans: &routes::CellPlans) {
        let cells: Vec<Value> = plans
            .cells
            .iter()
            .zip(&plans.ids)
            .map(|(cell, id)| {
                let plan = &cell.plan;
                json!({
                    "cell": id,
                    "apis": plan.apis.keys().map(ToString::to_string).collect::<Vec<_>>(),
                    "resources_to_create": plan.creates().count(),
                    "methods_to_put": plan.put_methods().count(),
                    "methods_to_delete": plan.delete_methods.len(),
                    "resources_to_delete": plan.delete_resources.len(),
                    "deploy": plan.deploy,
                    "public_resources": plan.public_resources,
                    "statuses": plan.statuses().map(|(a, s)| (a.to_string(), s.to_string()))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                })
            })
            .collect();
        let segments: std::collections::BTreeMap<&String, &String> = plans
            .placed
            .homes
            .iter()
            .filter_map(|(s, c)| Some((s, plans.ids.get(*c)?)))
            .collect();
        let rules = plans.rules(None);
        let rules = json!({
            "create": rules.create.iter().map(|(s, r)| (s.clone(), json!({"cell": r.api_id, "priority": r.priority}))).collect::<Map<_, _>>(),
            "replace": rules.replace.iter().map(|(s, r)| (s.clone(), json!({"id": r.id, "cell": r.api_id}))).collect::<Map<_, _>>(),
            "delete": rules.delete,
            "overlapped_by_others": rules.overlapped,
            "over_quota": rules.over_quota,
        });
        self.value("cells", Value::Array(cells));
        self.value("first_segments", json!(segments));
        self.value("routing_rules", rules);
    }

    pub(crate) fn routes_status(&mut self, observed: &RoutesObserved, config: &RouteSyncConfig) {
        let mut apis = Vec::new();
        for (api, record) in &observed.records {
            let name = record.name.clone().unwrap_or_default();
            let [url, private_url, status] = urls::parameter_names(&config.ssm_prefix, &name)
                .map(|n| observed.parameters.get(&n).cloned());
            let routes: Vec<String> = record
                .claims
                .iter()
                .flat_map(|(p, verbs)| verbs.iter().map(move |v| format!("{v} {p}")))
                .collect();
            let cell = record
                .cell
                .clone()
                .unwrap_or_else(|| config.public_api_id.to_string());
            apis.push(json!({"owner": api.to_string(), "name": name, "url": url,
                             "private_url": private_url, "status": status, "routes": routes,
                             "cell": cell}));
        }
        let owners = observed.route_owners();
        let mut tree = Vec::new();
        for r in &observed.public {
            for (verb, m) in &r.methods {
                let owner = owners
                    .get(&(r.path.clone(), verb.clone()))
                    .map_or_else(|| "hand-made".into(), |a| a.to_string());
                let to = m
                    .integration
                    .as_ref()
                    .map(|i| i.uri.clone())
                    .unwrap_or_default();
                let throttle = observed
                    .stage
                    .throttles
                    .get(&method_setting_key(&r.path, verb))
                    .map(|t| t.map_or_else(|| "set by hand".into(), |t| t.to_string()));
                tree.push(
                    json!({"path": r.path, "method": verb, "to": to, "owner": owner,
                                 "auth": m.auth.to_string(), "throttle": throttle}),
                );
            }
        }
        if !self.json {
            println!("exposed APIs:");
            for a in &apis {
                println!(
                    "  {} ({})",
                    a["name"].as_str().unwrap_or(""),
                    a["owner"].as_str().unwrap_or("")
                );
                for k in ["status", "url", "private_url", "cell"] {
                    println!("    {k:<12} {}", a[k].as_str().unwrap_or("-"));
                }
            }
            println!("public routes:");
            for r in &tree {
                let throttle = r["throttle"]
                    .as_str()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default();
                println!(
                    "  {:<7}{:<24} -> {}  [{}; {}{throttle}]",
                    r["method"].as_str().unwrap_or(""),
                    r["path"].as_str().unwrap_or(""),
                    r["to"]
                        .as_str()
                        .filter(|t| !t.is_empty())
                        .unwrap_or("(not an HTTP integration)"),
                    r["owner"].as_str().unwrap_or(""),
                    r["auth"].as_str().unwrap_or("")
                );
            }
        }
        self.doc.insert("apis".into(), Value::Array(apis));
        self.doc.insert("public_routes".into(), Value::Array(tree));
    }

    pub(crate) fn route_plan(&mut self, plan: &routes::Plan, as_drift: bool) {
        let key = if as_drift {
            "route_drift"
        } else {
            "route_plan"
        };
        let keys = |m: &mut dyn Iterator<Item = (&routes::RouteKey, &routes::Integration)>| {
            m.map(|((p, v), i)| format!("{v} {p} -> {}", i.uri))
                .collect::<Vec<_>>()
        };
        let creates: Vec<&String> = plan.creates().collect();
        let put_methods = keys(&mut plan.put_methods());
        let put_integrations = keys(&mut plan.put_integrations());
        let parameters_put: Map<String, Value> = plan
            .parameters_put()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let parameters_delete: Vec<&String> = plan.parameters_delete().collect();
        let governed: Vec<String> = plan
            .apis
            .values()
            .flat_map(|g| {
                g.update_methods
                    .iter()
                    .map(move |((p, v), from)| format!("{v} {p}: {from} -> {}", g.auth))
            })
            .collect();
        let throttles_put: Map<String, Value> = plan
            .throttles_put
            .iter()
            .map(|(k, t)| (k.clone(), Value::String(t.to_string())))
            .collect();
        self.doc.insert(
            key.into(),
            json!({
                "create_resources": creates, "put_methods": put_methods,
                "update_integrations": put_integrations,
                "delete_methods": plan.delete_methods.iter().map(|(p, v)| format!("{v} {p}")).collect::<Vec<_>>(),
                "delete_resources": plan.delete_resources, "deploy": plan.deploy,
                "govern_methods": governed, "throttles_put": throttles_put,
                "throttles_remove": plan.throttles_remove,
                "statuses": plan.statuses().map(|(a, s)| (a.to_string(), Value::String(s.to_string()))).collect::<Map<_, _>>(),
                "parameters_put": parameters_put, "parameters_delete": parameters_delete,
                "apis_over_share": plan.apis_over_share.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "noop": plan.is_noop(),
            }),
        );
        if self.json {
            return;
        }
        println!(
            "{}",
            if as_drift {
                "route drift:"
            } else {
                "route sync plan:"
            }
        );
        for p in &creates {
            println!("  + resource   {p}");
        }
        for line in &put_methods {
            println!("  + method     {line}");
        }
        for line in &put_integrations {
            println!("  ~ integration {line}");
        }
        for line in &governed {
            println!("  ~ method     {line}");
        }
        for (key, t) in &throttles_put {
            println!("  ~ throttle   {key} = {}", t.as_str().unwrap_or(""));
        }
        for key in &plan.throttles_remove {
            println!("  - throttle   {key}");
        }
        for (p, v) in &plan.delete_methods {
            println!("  - method     {v} {p}");
        }
        for p in &plan.delete_resources {
            println!("  - resource   {p}");
        }
        for (api, status) in plan.statuses() {
            println!("  = {api}: {status}");
        }
        for (name, value) in &parameters_put {
            println!("  + parameter  {name} = {value}");
        }
        for name in &parameters_delete {
            println!("  - parameter  {name}");
        }
        for api in &plan.apis_over_share {
            println!("  ! {api}: past its account's API share, not tracked");
        }
        if plan.deploy {
            println!("  + deployment (one)");
        }
        if plan.is_noop() {
            println!("  (no change)");
        }
    }
}

/// The doctor's findings: one line each, or one JSON document.
pub(crate) fn doctor(json: bool, findings: &[crate::doctor::Finding]) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "doctor": findings })).unwrap_or_default()
        );
        return;
    }
    for f in findings {
        let mark = match f.result {
            crate::doctor::Verdict::Ok => "ok  ",
            crate::doctor::Verdict::Fail => "FAIL",
            crate::doctor::Verdict::Skip => "skip",
        };
        println!("{mark} {:<22} {}", f.check, f.detail);
    }
}

/// Progress for the long steps of `apply`, on stderr so `--json` stays parseable.
pub(crate) fn progress(json: bool, what: &str) {
    if !json {
        eprintln!("==> {what}");
    }
}

/// One line saying what went wrong and what to do.
pub(crate) fn advice(error: &Error) -> String {
    match error {
        Error::Config(_) => {
            format!("{error}. Set each as a flag or FRONTDOOR_* variable (see --help).")
        }
        Error::Aws {
            op,
            failure,
            message,
            ..
        } if failure.is_access_denied() => {
            format!("{op} was denied: {message}. Grant that action to the role named above, or use credentials that have it.")
        }
        Error::Aws { op, failure, .. } if failure.is_unreachable() => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL")
                .unwrap_or_else(|_| "the AWS endpoint for AWS_REGION".into());
            format!("{op}: cannot reach {endpoint} ({failure}). Check AWS_ENDPOINT_URL, AWS_REGION and the network.")
        }
        other => other.to_string(),
    }
}
