//! An organisation on the emulator: the seed (hub, spokes B and C) and many more spoke
//! accounts, each with exposed APIs of one route, and route-sync's configuration for all of
//! them (as the app, or as the environment of the built function).

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::EndpointType;
use shared::{App, RouteSyncConfig};

use crate::pets::{hub_account, private_api, seed, seed_policy, Pets, ACCOUNT_B, ACCOUNT_C};
use crate::Emulator;

/// The emulator (stopped on drop), the seed and the accounts.
pub struct Org {
    /// The emulator.
    pub emulator: Emulator,
    /// The seed.
    pub pets: Pets,
    /// Every spoke account, the seed's first.
    pub accounts: Vec<String>,
}

impl Org {
    /// The seed and `accounts` more spokes (`5555555{n:05}`), each with `per_account`
    /// exposed APIs `team-{n:03}-{i:02}` serving `/t{n:03}-{i:02}`.
    pub async fn start(accounts: usize, per_account: usize) -> Org {
        let emulator = Emulator::start();
        let pets = seed(&emulator).await;
        let policy = seed_policy(&pets.hub.vpce_id);
        let mut ids = vec![ACCOUNT_B.to_string(), ACCOUNT_C.to_string()];
        for a in 0..accounts {
            let account = format!("5555555{a:05}");
            let sdk = emulator.account_sdk_config(&account).await;
            for i in 0..per_account {
                let path = format!("/t{a:03}-{i:02}");
                private_api(
                    &sdk,
                    &Self::name(a, i),
                    EndpointType::Private,
                    Some(&policy),
                    &[("expose", "true")],
                    &[&path],
                )
                .await;
            }
            ids.push(account);
        }
        Org {
            emulator,
            pets,
            accounts: ids,
        }
    }

    /// The name of account `a`'s API `i`.
    pub fn name(a: usize, i: usize) -> String {
        format!("team-{a:03}-{i:02}")
    }

    /// route-sync's variables for the organisation, plus `more` (which win).
    pub fn variables(&self, more: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars: BTreeMap<String, String> = [
            ("FRONTDOOR_VPC_ENDPOINT_ID", self.pets.hub.vpce_id.clone()),
            ("FRONTDOOR_PUBLIC_API_ID", self.pets.public_api_id.clone()),
            ("FRONTDOOR_VPC_LINK_ID", self.pets.vpc_link_id.clone()),
            ("FRONTDOOR_ALLOWED_ACCOUNTS", self.accounts.join(",")),
            // Room for the organisation: these suites are about time and size, not quota.
            ("FRONTDOOR_RESOURCE_QUOTA", "2000".into()),
            ("FRONTDOOR_ACCOUNT_RESOURCE_QUOTA", "500".into()),
            // Unpaced unless a suite asks: these suites are about the budget and the size.
            ("FRONTDOOR_WRITE_PACING", "off".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in more {
            vars.insert(k.to_string(), v.to_string());
        }
        vars.into_iter().collect()
    }

    /// route-sync's app for the organisation.
    pub fn app(&self, more: &[(&str, &str)]) -> App<RouteSyncConfig> {
        let vars = self.variables(more);
        let config = RouteSyncConfig::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .expect("route-sync config");
        App::new(config, &self.pets.hub_sdk).in_account(hub_account())
    }

    /// Every registry parameter: name -> value length.
    pub async fn registry_sizes(&self) -> BTreeMap<String, usize> {
        let ssm = aws_sdk_ssm::Client::new(&self.pets.hub_sdk);
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        // Bounded: 10 parameters a page, far more pages than any test makes.
        for _ in 0..1000 {
            let page = ssm
                .get_parameters_by_path()
                .path("/frontdoor/registry")
                .recursive(true)
                .set_next_token(token.clone())
                .send()
                .await
                .expect("GetParametersByPath");
            for p in page.parameters() {
                out.insert(
                    p.name().unwrap_or_default().to_string(),
                    p.value().unwrap_or_default().len(),
                );
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out
    }
}
