//! Test model: the state after a plan is applied in full, so property tests can check a
//! second diff of it is a no-op without an emulator.

use std::collections::BTreeMap;

use super::Plan;
use crate::routes::{LiveMethod, Observed, PublicResource};

/// `observed` after every write of `plan` succeeded.
pub(crate) fn applied(observed: &Observed, plan: &Plan) -> Observed {
    let mut next = observed.clone();
    for path in plan.creates() {
        next.public.push(PublicResource {
            id: format!("new{path}"),
            path: path.clone(),
            methods: BTreeMap::new(),
        });
    }
    let mut by_path: BTreeMap<String, PublicResource> =
        next.public.drain(..).map(|r| (r.path.clone(), r)).collect();
    for (path, verb) in &plan.delete_methods {
        if let Some(r) = by_path.get_mut(path) {
            r.methods.remove(verb);
        }
    }
    for path in &plan.delete_resources {
        by_path.remove(path);
    }
    for group in plan.apis.values() {
        for ((path, verb), integration) in &group.put_methods {
            if let Some(r) = by_path.get_mut(path) {
                let method = LiveMethod {
                    integration: Some(integration.clone()),
                    auth: group.auth_for(verb).clone(),
                };
                r.methods.insert(verb.clone(), method);
            }
        }
        for ((path, verb), integration) in &group.put_integrations {
            if let Some(m) = by_path.get_mut(path).and_then(|r| r.methods.get_mut(verb)) {
                m.integration = Some(integration.clone());
            }
        }
        for (path, verb) in group.update_methods.keys() {
            if let Some(m) = by_path.get_mut(path).and_then(|r| r.methods.get_mut(verb)) {
                m.auth = group.auth_for(verb).clone();
            }
        }
    }
    for key in &plan.throttles_remove {
        next.stage.throttles.remove(key);
    }
    for (key, throttle) in &plan.throttles_put {
        next.stage.throttles.insert(key.clone(), Some(*throttle));
    }
    next.public = by_path.into_values().collect();
    for (api, group) in &plan.apis {
        if let Some(record) = &group.record_before {
            next.records.insert(api.clone(), record.clone());
        }
    }
    for (api, group) in &plan.apis {
        match &group.record_after {
            Some(Some(r)) => {
                next.records.insert(api.clone(), r.clone());
            }
            Some(None) => {
                next.records.remove(api);
            }
            None => {}
        }
    }
    for (name, value) in plan.parameters_put() {
        next.parameters.insert(name.clone(), value.clone());
    }
    for name in plan.parameters_delete() {
        next.parameters.remove(name);
    }
    if plan.deploy {
        next.deployment_owed = false;
    }
    next
}
