//! The diff's scenarios and properties, on plain values.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::model::applied;
use super::*;
use crate::ids::{AccountId, ApiId};
use crate::paths;
use crate::routes::desired::Context;
use crate::routes::fixtures::{cats, ctx, deployed};
use crate::routes::{plan, Holder, LiveMethod, PrivateApi, PublicResource};

fn public(paths: &[(&str, &str)]) -> Vec<PublicResource> {
    let mut out = vec![PublicResource {
        id: "root".into(),
        path: "/".into(),
        methods: BTreeMap::new(),
    }];
    for (path, verbs) in paths {
        out.push(PublicResource {
            id: format!("id{path}"),
            path: path.to_string(),
            methods: verbs
                .split_whitespace()
                .map(|v| {
                    (
                        v.to_string(),
                        LiveMethod {
                            integration: None,
                            auth: MethodAuth::open(),
                        },
                    )
                })
                .collect(),
        });
    }
    out
}

fn observed_with(apis: Vec<PrivateApi>, public_paths: &[(&str, &str)]) -> Observed {
    Observed {
        public: public(public_paths),
        apis: apis.into_iter().map(|a| (a.api.clone(), Some(a))).collect(),
        ..Observed::default()
    }
}

/// A second API like cats in another account, serving `paths` (each `GET`).
fn api(account: &str, id: &str, paths: &[&str]) -> PrivateApi {
    let mut a = cats(&[("expose", "true")]);
    a.api = ApiRef {
        account: AccountId::parse(account).unwrap(),
        api: ApiId::parse(id).unwrap(),
    };
    a.name = format!("api-{id}");
    let with_verbs: Vec<(&str, &str)> = paths.iter().map(|p| (*p, "GET")).collect();
    a.deployed = Some(deployed(&with_verbs));
    a
}

fn status_of(plan: &Plan, api: &PrivateApi) -> Option<Status> {
    plan.apis.get(&api.api).and_then(|g| g.status.clone())
}

mod given_the_seed_cats_api_and_a_hand_made_health {
    use super::*;

    #[test]
    fn when_first_reconciled_then_writes_are_the_floor_parents_first() {
        // GIVEN
        let observed = observed_with(
            vec![cats(&[("expose", "true"), ("expose:paths", "/cats")])],
            &[("/health", "GET")],
        );
        // WHEN
        let plan = plan(&observed, &ctx());
        // THEN 2 resources, 2 methods (each with its integration), 1 deployment
        assert_eq!(
            plan.creates().collect::<Vec<_>>(),
            vec!["/cats", "/cats/{id}"]
        );
        assert_eq!(plan.put_methods().count(), 2);
        assert!(plan.deploy && plan.owe_deployment);
        assert!(plan.delete_methods.is_empty() && plan.delete_resources.is_empty());
        let group = plan.apis.values().next().unwrap();
        assert_eq!(group.status, Some(Status::exposed()));
        // AND the registry is widened before, with nothing left to narrow after
        assert!(group.record_before.is_some());
        assert!(group.record_after.is_none(), "{:?}", group.record_after);
        // AND a second diff of the result is a no-op
        let again = crate::routes::plan(&applied(&observed, &plan), &ctx());
        assert!(again.is_noop(), "{again:?}");
    }

    #[test]
    fn when_un_exposed_then_only_its_routes_go_and_health_stays() {
        let observed = observed_with(
            vec![cats(&[("expose", "true"), ("expose:paths", "/cats")])],
            &[("/health", "GET")],
        );
        let exposed = applied(&observed, &plan(&observed, &ctx()));
        let mut gone = exposed.clone();
        for api in gone.apis.values_mut().flatten() {
            api.tags.remove("expose");
        }
        let plan = plan(&gone, &ctx());
        assert_eq!(plan.delete_resources, vec!["/cats/{id}", "/cats"]);
        assert!(
            plan.delete_methods.is_empty(),
            "deleting the resource deletes its methods"
        );
        assert!(plan.deploy);
        let after = applied(&gone, &plan);
        let paths: Vec<&str> = after.public.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, vec!["/", "/health"]);
        // Its name and paths stay its account's for the hold, then the record goes.
        let record = after.records.values().next().unwrap();
        assert_eq!(record.released, Some(ctx().now));
        assert!(record.claims.is_empty() && record.created.is_empty());
        assert!(record.reserved.contains("/cats"), "{record:?}");
        assert!(crate::routes::plan(&after, &ctx()).is_noop());
        let later = Context {
            now: ctx().now + 24 * 3600,
            ..ctx()
        };
        assert!(applied(&after, &crate::routes::plan(&after, &later))
            .records
            .is_empty());
    }
}

#[test]
fn a_frontdoor_parent_with_a_hand_made_child_is_kept() {
    // GIVEN cats exposed, then someone hand-adds /cats/special
    let observed = observed_with(
        vec![cats(&[("expose", "true"), ("expose:paths", "/cats")])],
        &[],
    );
    let mut exposed = applied(&observed, &plan(&observed, &ctx()));
    exposed
        .public
        .extend(public(&[("/cats/special", "POST")]).into_iter().skip(1));
    // WHEN cats is un-exposed
    for api in exposed.apis.values_mut().flatten() {
        api.tags.remove("expose");
    }
    let plan = plan(&exposed, &ctx());
    // THEN /cats loses its method but stays (a hand-made child), /cats/{id} goes
    assert_eq!(plan.delete_resources, vec!["/cats/{id}"]);
    assert!(plan
        .delete_methods
        .contains(&("/cats".to_string(), "GET".to_string())));
    let after = applied(&exposed, &plan);
    assert!(after.public.iter().any(|r| r.path == "/cats/special"));
    // AND the parent stays recorded as frontdoor's, so it can go once the child does
    assert!(crate::routes::plan(&after, &ctx()).is_noop());
}

#[test]
fn a_made_parent_that_must_stay_stays_recorded_until_it_can_go() {
    // GIVEN cats exposed, then a hand-made child under its /cats
    let observed = observed_with(vec![cats(&[("expose", "true")])], &[]);
    let mut world = applied(&observed, &plan(&observed, &ctx()));
    world
        .public
        .extend(public(&[("/cats/special", "POST")]).into_iter().skip(1));
    // WHEN cats is un-exposed
    for api in world.apis.values_mut().flatten() {
        api.tags.remove("expose");
    }
    let after = applied(&world, &plan(&world, &ctx()));
    // THEN /cats stays, and some record still says frontdoor made it
    assert!(after.public.iter().any(|r| r.path == "/cats"));
    assert!(after.created_resources().contains(&"/cats".to_string()));
    // AND once the hand-made child is gone, /cats goes and the record with it
    let mut cleared = after.clone();
    cleared.public.retain(|r| r.path != "/cats/special");
    let last = plan(&cleared, &ctx());
    assert_eq!(last.delete_resources, vec!["/cats"]);
    let end = applied(&cleared, &last);
    assert!(end.created_resources().is_empty(), "{:?}", end.records);
    // (its record, a hold on its name and paths, goes when the hold ends)
    let later = Context {
        now: ctx().now + 24 * 3600,
        ..ctx()
    };
    let gone = applied(&end, &plan(&end, &later));
    assert!(gone.records.is_empty(), "{:?}", gone.records);
}

#[test]
fn nothing_is_created_for_an_api_not_in_play() {
    // GIVEN cats exposed, then its /cats/{id} deleted by hand and cats out of scope
    let observed = observed_with(vec![cats(&[("expose", "true")])], &[]);
    let mut world = applied(&observed, &plan(&observed, &ctx()));
    world.public.retain(|r| r.path != "/cats/{id}");
    world.apis.clear();
    // THEN a run that does not look at cats creates nothing for it
    let plan = plan(&world, &ctx());
    assert_eq!(plan.creates().count(), 0, "{plan:?}");
}

#[test]
fn a_deployment_owed_is_paid_even_with_nothing_else_to_do() {
    let mut observed = observed_with(vec![], &[]);
    observed.deployment_owed = true;
    let plan = plan(&observed, &ctx());
    assert!(plan.deploy && !plan.owe_deployment);
    assert!(!plan.touches_public_api());
}

mod sibling_variables {
    use super::*;

    #[test]
    fn a_newcomer_beside_another_apis_variable_is_a_conflict_and_keeps_its_other_paths() {
        // GIVEN B owns /items/{id}; C wants /items/{itemId} and /things
        let b = api("222222222222", "bbbbbbbbbb", &["/items/{id}"]);
        let c = api(
            "333333333333",
            "cccccccccc",
            &["/items/{itemId}", "/things"],
        );
        let first = observed_with(vec![b.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        world.apis.insert(c.api.clone(), Some(c.clone()));
        // WHEN
        let plan = plan(&world, &ctx());
        // THEN C gets a sibling conflict before any write, and /things
        assert_eq!(
            status_of(&plan, &c),
            Some(Status::Conflict {
                path: "/items/{itemId}".into(),
                with: Holder::Sibling("/items/{id}".into()),
            })
        );
        let creates: Vec<&String> = plan.creates().collect();
        assert_eq!(creates, vec!["/things"]);
        assert_eq!(status_of(&plan, &b), Some(Status::exposed()));
    }

    #[test]
    fn a_variable_renamed_inside_one_api_is_deleted_before_its_sibling_is_made() {
        let before = api("222222222222", "bbbbbbbbbb", &["/items/{id}"]);
        let first = observed_with(vec![before.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        let renamed = api("222222222222", "bbbbbbbbbb", &["/items/{itemId}"]);
        world
            .apis
            .insert(renamed.api.clone(), Some(renamed.clone()));
        let plan = plan(&world, &ctx());
        assert_eq!(status_of(&plan, &renamed), Some(Status::exposed()));
        assert_eq!(plan.delete_resources, vec!["/items/{id}"]);
        assert_eq!(plan.creates().collect::<Vec<_>>(), vec!["/items/{itemId}"]);
    }

    #[test]
    fn a_hand_made_variable_blocks_a_different_one() {
        let c = api("333333333333", "cccccccccc", &["/items/{itemId}"]);
        let world = observed_with(vec![c.clone()], &[("/items", ""), ("/items/{sku}", "GET")]);
        let plan = plan(&world, &ctx());
        assert_eq!(
            status_of(&plan, &c),
            Some(Status::Conflict {
                path: "/items/{itemId}".into(),
                with: Holder::Sibling("/items/{sku}".into()),
            })
        );
        assert!(plan.creates().next().is_none());
    }
}

mod quota {
    use super::*;

    fn small(quota: usize) -> Context {
        Context {
            resource_quota: quota,
            ..ctx()
        }
    }

    #[test]
    fn an_api_that_would_pass_the_quota_is_refused_whole_and_the_others_converge() {
        // GIVEN a quota of 5 (root + 4), B needs 2 resources and C needs 3
        let b = api("222222222222", "bbbbbbbbbb", &["/b/{id}"]);
        let c = api("333333333333", "cccccccccc", &["/c/x/y"]);
        let world = observed_with(vec![b.clone(), c.clone()], &[]);
        // WHEN
        let plan = plan(&world, &small(5));
        // THEN B fits, C is refused before any write, naming the quota
        assert_eq!(status_of(&plan, &b), Some(Status::exposed()));
        match status_of(&plan, &c) {
            Some(Status::Refused(why)) => assert!(why.contains("quota"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(plan.creates().count(), 2);
        assert!(plan.apis[&c.api].creates.is_empty());
        // (its record keeps only its name, so its status can be removed once it leaves)
        let record = plan.apis[&c.api].record_before.clone().unwrap_or_default();
        assert!(
            record.claims.is_empty() && record.created.is_empty(),
            "{record:?}"
        );
        // AND a second plan writes nothing
        let again = crate::routes::plan(&applied(&world, &plan), &small(5));
        assert!(again.is_noop(), "{again:?}");
    }

    #[test]
    fn an_exposed_api_that_grows_past_the_quota_keeps_what_it_had() {
        let b = api("222222222222", "bbbbbbbbbb", &["/b"]);
        let first = observed_with(vec![b.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &small(3)));
        let grown = api("222222222222", "bbbbbbbbbb", &["/b", "/b/x", "/b/y"]);
        world.apis.insert(grown.api.clone(), Some(grown.clone()));
        let plan = plan(&world, &small(3));
        assert!(matches!(status_of(&plan, &grown), Some(Status::Refused(_))));
        assert!(!plan.touches_public_api(), "{plan:?}");
        let group = &plan.apis[&grown.api];
        assert!(group.record_before.is_none() && group.record_after.is_none());
        assert!(group.parameters_delete.is_empty());
    }
}

mod holds {
    use super::*;

    /// C's API asking for cats' path and name.
    fn impostor() -> PrivateApi {
        let mut c = api("333333333333", "cccccccccc", &["/cats"]);
        c.tags.insert("expose:name".into(), "private-cats".into());
        c
    }

    fn exposed_cats() -> Observed {
        let first = observed_with(vec![cats(&[("expose", "true")])], &[]);
        applied(&first, &plan(&first, &ctx()))
    }

    #[test]
    fn a_path_and_name_released_by_one_account_wait_out_the_hold_for_another() {
        // GIVEN B's cats exposed, then un-exposed for a minute
        let mut world = exposed_cats();
        for a in world.apis.values_mut().flatten() {
            a.tags.remove("expose");
        }
        let world = applied(&world, &plan(&world, &ctx()));
        // WHEN C's API asks for /cats and the name private-cats
        let c = impostor();
        let mut attacked = world.clone();
        attacked.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&attacked, &ctx());
        // THEN C gets neither while the hold lasts, and its status says until when
        let status = status_of(&p, &c).unwrap().to_string();
        assert!(
            status.starts_with(
                "conflict: name private-cats held for 222222222222 until 2026-12-02T00:00:00Z"
            ) || status
                .starts_with("conflict: /cats held for 222222222222 until 2026-12-02T00:00:00Z"),
            "{status}"
        );
        assert!(p.put_methods().next().is_none(), "{p:?}");
        assert!(p
            .parameters_put()
            .all(|(n, _)| !n.contains("private-cats/url")));
        // AND once the hold is over, C gets both
        let later = Context {
            now: ctx().now + 24 * 3600,
            ..ctx()
        };
        let after = applied(&attacked, &plan(&attacked, &later));
        let p = plan(&after, &later);
        assert_eq!(status_of(&p, &c), Some(Status::exposed()), "{p:?}");
    }

    #[test]
    fn a_held_path_is_held_for_overlaps_and_siblings_too() {
        // GIVEN B's /items/{id} and /files/{proxy+}, then B leaves
        let b = api(
            "222222222222",
            "bbbbbbbbbb",
            &["/items/{id}", "/files/{proxy+}"],
        );
        let first = observed_with(vec![b.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        world.apis.insert(b.api.clone(), None);
        let world = applied(&world, &plan(&world, &ctx()));
        // WHEN C asks for /items/{itemId} and /files/secret during the hold
        let c = api(
            "333333333333",
            "cccccccccc",
            &["/items/{itemId}", "/files/secret"],
        );
        let mut attacked = world.clone();
        attacked.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&attacked, &ctx());
        // THEN C gets neither: /items/123 and /files/secret stay B's account's until the end
        assert!(p.put_methods().next().is_none(), "{p:?}");
        assert!(matches!(status_of(&p, &c), Some(Status::Conflict { .. })));
    }

    #[test]
    fn a_team_replacing_its_api_takes_its_own_path_and_name_at_once() {
        // GIVEN B's cats exposed, then deleted; B's new API asks for the same
        let mut world = exposed_cats();
        let old = world.apis.keys().next().unwrap().clone();
        world.apis.insert(old.clone(), None);
        let mut new = cats(&[("expose", "true")]);
        new.api.api = ApiId::parse("cats000001").unwrap();
        world.apis.insert(new.api.clone(), Some(new.clone()));
        // WHEN planned (the old one leaves in this run) and once more
        let after = applied(&world, &plan(&world, &ctx()));
        let mut next = after.clone();
        next.apis.remove(&old);
        let p = plan(&next, &ctx());
        let after = applied(&next, &p);
        // THEN the new API of the same account has the path and the name, with no hold
        assert_eq!(
            status_of(&plan(&after, &ctx()), &new),
            Some(Status::exposed())
        );
        assert!(after.records[&new.api].claims.contains_key("/cats"));
        assert_eq!(
            after.records[&new.api].name.as_deref(),
            Some("private-cats")
        );
    }

    #[test]
    fn a_path_an_exposed_api_drops_waits_out_the_hold_for_another_account() {
        // GIVEN B's cats exposed (/cats, /cats/{id}, /owners); then B deploys without
        // /cats/{id}, a slip, while staying exposed
        let mut world = exposed_cats();
        for a in world.apis.values_mut().flatten() {
            a.deployed = Some(deployed(&[("/cats", "GET"), ("/owners", "GET")]));
        }
        let world = applied(&world, &plan(&world, &ctx()));
        let cats_ref = world.apis.keys().next().unwrap().clone();
        assert_eq!(
            world.records[&cats_ref].dropped.get("/cats/{id}"),
            Some(&ctx().now)
        );
        // WHEN C asks for /cats/{id} during the hold (and in the very run B drops it)
        let c = api("333333333333", "cccccccccc", &["/cats/{id}"]);
        let mut same_run = exposed_cats();
        for a in same_run.apis.values_mut().flatten() {
            a.deployed = Some(deployed(&[("/cats", "GET"), ("/owners", "GET")]));
        }
        same_run.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&same_run, &ctx());
        assert!(p.put_methods().next().is_none(), "{p:?}");
        let mut attacked = world.clone();
        attacked.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&attacked, &ctx());
        // THEN C waits, told whose and until when, and nothing is written for it
        let status = status_of(&p, &c).unwrap().to_string();
        assert_eq!(
            status,
            "conflict: /cats/{id} held for 222222222222 until 2026-12-02T00:00:00Z"
        );
        assert!(p.put_methods().next().is_none(), "{p:?}");
        // AND when B puts it back within the hold, it is B's again
        let mut back = applied(&attacked, &p);
        for a in back.apis.values_mut().flatten() {
            if a.api == cats_ref {
                a.deployed = cats(&[]).deployed;
            }
        }
        let p = plan(&back, &ctx());
        assert!(
            p.put_methods()
                .any(|((path, _), i)| path == "/cats/{id}" && i.uri.contains("cats000000")),
            "{p:?}"
        );
        let back = applied(&back, &p);
        // (its hold runs from the first release, so dropping it again does not renew it)
        assert_eq!(
            back.records[&cats_ref].dropped.get("/cats/{id}"),
            Some(&ctx().now)
        );
        // AND had B not come back, C gets it once the hold is over
        let later = Context {
            now: ctx().now + 24 * 3600,
            ..ctx()
        };
        let after = applied(&attacked, &plan(&attacked, &later));
        let p = plan(&after, &later);
        assert_eq!(status_of(&p, &c), Some(Status::exposed()), "{p:?}");
        assert!(after.records[&cats_ref].dropped.is_empty());
    }

    #[test]
    fn a_name_an_exposed_api_renames_away_from_waits_out_the_hold_for_another_account() {
        // GIVEN B's cats exposed as private-cats, then renamed to house-cats
        let mut world = exposed_cats();
        for a in world.apis.values_mut().flatten() {
            a.tags.insert("expose:name".into(), "house-cats".into());
        }
        let world = applied(&world, &plan(&world, &ctx()));
        let world = applied(&world, &plan(&world, &ctx()));
        // WHEN C asks for the name private-cats during the hold
        let mut c = api("333333333333", "cccccccccc", &["/c"]);
        c.tags.insert("expose:name".into(), "private-cats".into());
        let mut attacked = world.clone();
        attacked.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&attacked, &ctx());
        // THEN C waits and publishes nothing under it
        let status = status_of(&p, &c).unwrap().to_string();
        assert!(
            status.starts_with(
                "conflict: name private-cats held for 222222222222 until 2026-12-02T00:00:00Z"
            ),
            "{status}"
        );
        assert!(p
            .parameters_put()
            .all(|(n, _)| !n.starts_with("/frontdoor/apis/private-cats/")));
        // AND another API of B's own account takes it at once
        let mut mine = api("222222222222", "bbbbbbbbbb", &["/b"]);
        mine.tags
            .insert("expose:name".into(), "private-cats".into());
        let mut own = world.clone();
        own.apis.insert(mine.api.clone(), Some(mine.clone()));
        let p = plan(&own, &ctx());
        assert_eq!(status_of(&p, &mine), Some(Status::exposed()), "{p:?}");
    }

    #[test]
    fn a_refused_api_keeps_its_paths_from_everyone_else() {
        // GIVEN B's cats exposed, then its policy opened up (refused)
        let mut world = exposed_cats();
        for a in world.apis.values_mut().flatten() {
            a.policy = None;
        }
        let c = impostor();
        world.apis.insert(c.api.clone(), Some(c.clone()));
        // WHEN planned
        let p = plan(&world, &ctx());
        // THEN cats' routes go but /cats stays its: C gets a conflict naming cats, and cats'
        // status says its paths stay reserved
        let cats_ref = world.apis.keys().next().unwrap().clone();
        match &p.apis[&cats_ref].status {
            Some(Status::Refused(why)) => {
                assert!(why.ends_with("its paths stay reserved for it"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let status = status_of(&p, &c).unwrap().to_string();
        assert!(
            status.starts_with("conflict:") && status.contains("222222222222/cats000000"),
            "{status}"
        );
        let after = applied(&world, &p);
        assert!(after.records[&cats_ref].reserved.contains("/cats"));
        assert!(crate::routes::plan(&after, &ctx()).is_noop());
    }
}

mod shadowing {
    use super::*;

    #[test]
    fn a_parent_that_would_shadow_another_owners_variable_route_is_a_conflict() {
        // GIVEN B owns GET /users/{id}
        let b = api("222222222222", "bbbbbbbbbb", &["/users/{id}"]);
        let first = observed_with(vec![b.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        // WHEN C exposes /users/me/x (whose parent /users/me would take GET /users/me)
        // and /c
        let c = api("333333333333", "cccccccccc", &["/users/me/x", "/c"]);
        world.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&world, &ctx());
        // THEN C gets a conflict naming B's route, /users/me is never made, /c is routed
        let status = status_of(&p, &c).unwrap().to_string();
        assert!(
            status.starts_with(
                "conflict: /users/me/x overlaps 222222222222/bbbbbbbbbb's /users/{id}"
            ),
            "{status}"
        );
        assert!(!p.creates().any(|c| c.starts_with("/users/me")), "{p:?}");
        assert!(p.creates().any(|c| c == "/c"));
    }

    #[test]
    fn a_newcomers_variable_route_that_another_owners_parent_would_shadow_is_a_conflict() {
        // GIVEN B owns GET /users/me/x (so /users/me stands as its parent, with no GET)
        let b = api("222222222222", "bbbbbbbbbb", &["/users/me/x"]);
        let first = observed_with(vec![b.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        // WHEN C exposes /users/{id} (API Gateway would send GET /users/me to B's parent,
        // which has no GET) and /c
        let c = api("333333333333", "cccccccccc", &["/users/{id}", "/c"]);
        world.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&world, &ctx());
        // THEN C is told which resource would shadow it, and keeps /c
        let status = status_of(&p, &c).unwrap().to_string();
        assert!(
            status
                .starts_with("conflict: /users/{id} overlaps 222222222222/bbbbbbbbbb's /users/me"),
            "{status}"
        );
        assert!(!p.creates().any(|c| c == "/users/{id}"), "{p:?}");
        assert!(p.creates().any(|c| c == "/c"));
        // AND the same holds when both come in one run, whichever is first in order
        let both = observed_with(vec![c.clone(), b.clone()], &[]);
        let p = plan(&both, &ctx());
        let routed_b = p.put_methods().any(|((path, _), _)| path == "/users/me/x");
        let routed_c = p.put_methods().any(|((path, _), _)| path == "/users/{id}");
        assert!(routed_b != routed_c, "{p:?}");
    }

    #[test]
    fn a_newcomer_under_a_hand_made_resource_without_methods_is_a_conflict() {
        // GIVEN a hand-made /admin (no methods) above a hand-made /admin/{proxy+}
        let mut world = observed_with(vec![], &[("/admin", ""), ("/admin/{proxy+}", "ANY")]);
        // WHEN C asks for /{section}, which GET /admin would miss for /admin
        let c = api("333333333333", "cccccccccc", &["/{section}", "/c"]);
        world.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&world, &ctx());
        let status = status_of(&p, &c).unwrap().to_string();
        assert!(
            status.starts_with("conflict: /{section} overlaps"),
            "{status}"
        );
        assert!(!p.creates().any(|c| c == "/{section}"), "{p:?}");
    }

    #[test]
    fn a_resource_frontdoor_did_not_make_is_never_written_even_without_methods() {
        // GIVEN a hand-made /admin (no methods) above a hand-made /admin/{proxy+}
        let mut world = observed_with(vec![], &[("/admin", ""), ("/admin/{proxy+}", "ANY")]);
        let c = api("333333333333", "cccccccccc", &["/admin", "/c"]);
        world.apis.insert(c.api.clone(), Some(c.clone()));
        // WHEN C asks for /admin
        let p = plan(&world, &ctx());
        // THEN it is refused that path (hand-made), and keeps /c
        let status = status_of(&p, &c).unwrap().to_string();
        assert_eq!(status, "conflict: /admin owned by a hand-made route");
        assert!(
            !p.put_methods().any(|((path, _), _)| path == "/admin"),
            "{p:?}"
        );
    }

    #[test]
    fn a_mount_may_claim_only_a_free_subtree() {
        // GIVEN B owns /cats and /cats/{id} (and /owners)
        let first = observed_with(vec![cats(&[("expose", "true")])], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        // WHEN C mounts its API under B's route (/cats/c), and D mounts over it (/cats)
        let mut c = api("333333333333", "cccccccccc", &["/x"]);
        c.tags.insert("expose:prefix".into(), "/cats/c".into());
        let mut d = api("444444444444", "dddddddddd", &["/y"]);
        d.tags.insert("expose:prefix".into(), "/cats".into());
        world.apis.insert(c.api.clone(), Some(c.clone()));
        world.apis.insert(d.api.clone(), Some(d.clone()));
        let p = plan(&world, &ctx());
        // THEN neither gets a path there, and each is told whose route its mount meets
        assert_eq!(
            status_of(&p, &c).unwrap().to_string(),
            "conflict: /cats/c/x is under mount /cats/c, which meets 222222222222/cats000000's /cats"
        );
        assert!(status_of(&p, &d).unwrap().to_string().starts_with(
            "conflict: /cats/y is under mount /cats, which meets 222222222222/cats000000's /cats"
        ));
        assert!(p.put_methods().next().is_none(), "{p:?}");
        // AND B still grows under its own route
        let mut world = applied(&world, &p);
        for a in world.apis.values_mut().flatten() {
            if a.api.account.as_str() == "222222222222" {
                a.deployed = Some(deployed(&[("/cats", "GET"), ("/cats/c/x", "GET")]));
            }
        }
        let p = plan(&world, &ctx());
        assert!(
            p.put_methods().any(|((path, _), _)| path == "/cats/c/x"),
            "{p:?}"
        );
    }

    #[test]
    fn a_prefix_mount_claims_its_whole_subtree() {
        // GIVEN B mounted at /teamb
        let mut b = api("222222222222", "bbbbbbbbbb", &["/cats"]);
        b.tags.insert("expose:prefix".into(), "/teamb".into());
        let first = observed_with(vec![b.clone()], &[]);
        let mut world = applied(&first, &plan(&first, &ctx()));
        // WHEN C mirrors /teamb/admin into it
        let c = api("333333333333", "cccccccccc", &["/teamb/admin"]);
        world.apis.insert(c.api.clone(), Some(c.clone()));
        let p = plan(&world, &ctx());
        // THEN it is B's
        let status = status_of(&p, &c).unwrap().to_string();
        assert_eq!(
            status,
            "conflict: /teamb/admin owned by 222222222222/bbbbbbbbbb"
        );
        assert!(p.put_methods().next().is_none(), "{p:?}");
    }
}

mod shares {
    use super::*;

    fn with(account_resources: usize, account_apis: usize) -> Context {
        Context {
            account_resource_quota: account_resources,
            account_api_quota: account_apis,
            ..ctx()
        }
    }

    #[test]
    fn a_greedy_account_is_held_to_its_share_and_the_others_converge() {
        // GIVEN a hostile account B whose two APIs need 3 + 3 resources, beside C's one, and
        // a share of 4 resources per account (the public API's quota is far away)
        let b1 = api("222222222222", "bbbbbbbbb1", &["/b1/x/y"]);
        let b2 = api("222222222222", "bbbbbbbbb2", &["/b2/x/y"]);
        let c = api("333333333333", "cccccccccc", &["/c"]);
        let world = observed_with(vec![b1.clone(), b2.clone(), c.clone()], &[]);
        // WHEN
        let plan = plan(&world, &with(4, 50));
        // THEN B's first fits, its second is held naming the share, C is exposed
        assert_eq!(status_of(&plan, &b1), Some(Status::exposed()));
        match status_of(&plan, &b2) {
            Some(Status::Refused(why)) => {
                assert!(
                    why.contains("share of the public API (4 resources"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(plan.apis[&b2.api].creates.is_empty());
        assert_eq!(status_of(&plan, &c), Some(Status::exposed()));
        // AND a second plan writes nothing (the decision is stable)
        let again = crate::routes::plan(&applied(&world, &plan), &with(4, 50));
        assert!(again.is_noop(), "{again:?}");
    }

    #[test]
    fn apis_past_the_api_share_cost_no_record_and_no_parameter() {
        // GIVEN account B with five opted-in APIs (two of them with refused-looking tags)
        // and a share of 3 tracked APIs per account; C has one
        let ids = [
            "bbbbbbbbb1",
            "bbbbbbbbb2",
            "bbbbbbbbb3",
            "bbbbbbbbb4",
            "bbbbbbbbb5",
        ];
        let mut apis: Vec<PrivateApi> = ids
            .iter()
            .map(|id| api("222222222222", id, &[&format!("/{id}")]))
            .collect();
        apis[3]
            .tags
            .insert("expose:paths".into(), "../../etc".into());
        let c = api("333333333333", "cccccccccc", &["/c"]);
        apis.push(c.clone());
        let world = observed_with(apis, &[]);
        // WHEN
        let plan = plan(&world, &with(75, 3));
        // THEN the first three (in id order) are tracked and C is untouched by B's share
        let over: Vec<String> = plan
            .apis_over_share
            .iter()
            .map(|a| a.api.to_string())
            .collect();
        assert_eq!(over, ["bbbbbbbbb4", "bbbbbbbbb5"]);
        for id in &over {
            assert!(
                !plan.apis.keys().any(|a| a.api.to_string() == *id),
                "{id} has a group: {plan:?}"
            );
        }
        assert_eq!(status_of(&plan, &c), Some(Status::exposed()));
        // AND once tracked, an API keeps its place when a newcomer sorts before it
        let mut later = applied(&world, &plan);
        let early = api("222222222222", "bbbbbbbbb0", &["/early"]);
        later.apis.insert(early.api.clone(), Some(early.clone()));
        let next = crate::routes::plan(&later, &with(75, 3));
        assert_eq!(next.apis_over_share.len(), 3, "{:?}", next.apis_over_share);
        assert!(next.apis_over_share.contains(&early.api));
    }
}

#[test]
fn an_unreachable_accounts_apis_are_left_exactly_as_they_are() {
    // GIVEN cats exposed
    let first = observed_with(vec![cats(&[("expose", "true")])], &[]);
    let mut world = applied(&first, &plan(&first, &ctx()));
    // WHEN its account cannot be read (observe leaves its APIs out of scope)
    world.apis.clear();
    world.unreachable.insert(
        AccountId::parse("222222222222").unwrap(),
        "AccessDenied".into(),
    );
    // THEN nothing of it is written
    let plan = plan(&world, &ctx());
    assert!(plan.is_noop(), "{plan:?}");
    assert_eq!(plan.accounts_skipped, 1);
}

// --- properties ---------------------------------------------------------------------

const UNIVERSE: [&str; 7] = [
    "/a",
    "/a/{id}",
    "/a/{id}/x",
    "/a/{key}",
    "/b",
    "/b/{proxy+}",
    "/c",
];

fn private_api(n: u8) -> impl Strategy<Value = PrivateApi> {
    (
        proptest::sample::subsequence(UNIVERSE.to_vec(), 0..=4),
        any::<bool>(),
        proptest::option::of(proptest::sample::select(vec!["/a", "/b", "/c"])),
        proptest::option::of(proptest::sample::select(vec!["/v1", "/v2"])),
    )
        .prop_map(move |(mut paths, exposed, selected, prefix)| {
            // One private API cannot hold two variables under one parent either.
            if paths.iter().any(|p| p.starts_with("/a/{id}")) {
                paths.retain(|p| !p.starts_with("/a/{key}"));
            }
            let account = if n.is_multiple_of(2) {
                "222222222222"
            } else {
                "333333333333"
            };
            let mut api = api(account, &format!("api{n:07}"), &paths);
            api.tags.clear();
            if exposed {
                api.tags.insert("expose".into(), "true".into());
            }
            if let Some(s) = selected.filter(|s| paths.iter().any(|p| paths::is_within(p, s))) {
                api.tags.insert("expose:paths".into(), s.into());
            }
            if let Some(p) = prefix {
                api.tags.insert("expose:prefix".into(), p.into());
            }
            api
        })
}

fn world() -> impl Strategy<Value = (Observed, Vec<Option<PrivateApi>>, bool, usize)> {
    (
        private_api(1),
        private_api(2),
        private_api(3),
        proptest::sample::subsequence(
            vec!["/a", "/health", "/v1/hand", "/a/{id}/special", "/b"],
            0..=3,
        ),
        proptest::collection::vec(proptest::option::weighted(0.8, private_api(9)), 3),
        any::<bool>(),
        6usize..40,
    )
        .prop_map(|(a, b, c, hand, later, drift, quota)| {
            // Hand-made routes, with their parents as bare resources.
            let mut bare: Vec<String> = hand.iter().flat_map(|p| paths::ancestors(p)).collect();
            bare.retain(|p| !hand.contains(&p.as_str()));
            bare.sort();
            bare.dedup();
            let mut routes: Vec<(&str, &str)> = hand.iter().map(|p| (*p, "GET")).collect();
            routes.extend(bare.iter().map(|p| (p.as_str(), "")));
            (observed_with(vec![a, b, c], &routes), later, drift, quota)
        })
}

fn check_plan(observed: &Observed, plan: &Plan, ctx: &Context) -> Result<Observed, TestCaseError> {
    let claimed = observed.claimed_methods();
    let made = observed.created_resources();
    let live: BTreeSet<&str> = observed.public.iter().map(|r| r.path.as_str()).collect();
    // Never touches what it does not own: deletes and rewrites only claimed methods.
    for key in plan
        .delete_methods
        .iter()
        .chain(plan.put_integrations().map(|(k, _)| k))
    {
        prop_assert!(claimed.contains(key), "touches unowned {key:?}");
    }
    for r in &observed.public {
        for verb in r.methods.keys() {
            let key = (r.path.clone(), verb.clone());
            if !claimed.contains(&key) {
                prop_assert!(
                    !plan.delete_resources.contains(&r.path),
                    "deletes hand-made {}",
                    r.path
                );
            }
        }
    }
    for path in &plan.delete_resources {
        prop_assert!(
            made.contains(path),
            "deletes a resource it did not make: {path}"
        );
    }
    // Parents before children; children before parents on delete.
    let creates: Vec<&String> = plan.creates().collect();
    for (i, path) in creates.iter().enumerate() {
        let (parent, _) = paths::split_last(path);
        prop_assert!(live.contains(parent) || creates[..i].iter().any(|p| *p == parent));
    }
    // Never two variables under one parent, never past the quota.
    let after = applied(observed, plan);
    let remaining: BTreeSet<&str> = after.public.iter().map(|r| r.path.as_str()).collect();
    for r in &after.public {
        if r.path != "/" {
            let (parent, part) = paths::split_last(&r.path);
            prop_assert!(remaining.contains(parent), "orphan {}", r.path);
            if paths::is_variable(part) {
                let siblings = remaining
                    .iter()
                    .filter(|p| {
                        let (pp, pt) = paths::split_last(p);
                        pp == parent && paths::is_variable(pt)
                    })
                    .count();
                prop_assert_eq!(siblings, 1, "variable siblings under {}", parent);
            }
        }
    }
    prop_assert!(
        after.public.len() <= ctx.resource_quota.max(observed.public.len()),
        "{} resources past the quota {}",
        after.public.len(),
        ctx.resource_quota
    );
    // Every route the plan wants is live with its integration.
    for group in plan.apis.values() {
        for ((path, verb), want) in &group.routes {
            let got = after
                .public
                .iter()
                .find(|r| &r.path == path)
                .and_then(|r| r.methods.get(verb))
                .and_then(|m| m.integration.as_ref());
            prop_assert_eq!(got, Some(want), "{} {}", verb, path);
        }
    }
    // A path newly claimed overlaps no other owner's path and no hand-made route: no
    // request meant for someone else is taken (API Gateway's most specific match).
    let hand_made = observed.hand_made_routes();
    for (api, record) in &after.records {
        let before = observed.records.get(api);
        for path in record.claims.keys() {
            if before.is_some_and(|b| b.claims.contains_key(path)) {
                continue;
            }
            for (other, theirs) in after.records.iter().filter(|(o, _)| *o != api) {
                for their in theirs.claims.keys() {
                    prop_assert!(
                        !paths::overlap(path, their),
                        "{api} took {path}, which overlaps {other}'s {their}"
                    );
                }
            }
            for hand in &hand_made {
                prop_assert!(
                    path == hand || !paths::overlap(path, hand),
                    "{api} took {path}, which overlaps hand-made {hand}"
                );
            }
        }
    }
    // Deploys exactly when the public API changed or a deployment was owed.
    prop_assert_eq!(
        plan.deploy,
        plan.touches_public_api() || observed.deployment_owed
    );
    // Converges in one apply.
    let again = crate::routes::plan(&after, ctx);
    prop_assert!(again.is_noop(), "second plan {:?}", again);
    Ok(after)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        rng_seed: RngSeed::Fixed(11),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_plan_over_two_reconciles_is_safe_and_converges(
        (observed, later, drift, quota) in world()
    ) {
        let ctx = Context { resource_quota: quota, ..ctx() };
        // First reconcile from a fresh front door.
        let first = plan(&observed, &ctx);
        let mut state = check_plan(&observed, &first, &ctx)?;
        // Someone edits one of frontdoor's integrations by hand.
        if drift {
            let owned = state.records.values().flat_map(|r| r.claims.iter()).next();
            if let Some((path, verbs)) = owned.map(|(p, v)| (p.clone(), v.clone())) {
                let r = state.public.iter_mut().find(|r| r.path == path);
                if let Some(m) =
                    r.and_then(|r| verbs.iter().next().and_then(|v| r.methods.get_mut(v)))
                {
                    m.integration = None;
                }
            }
        }
        // Then the APIs change (some deleted, some re-shaped), and it reconciles again.
        let ids: Vec<_> = state.apis.keys().cloned().collect();
        for (id, next) in ids.iter().zip(later) {
            let next = next.map(|mut a| {
                a.api = id.clone();
                a.name = format!("api-{}", id.api);
                a
            });
            state.apis.insert(id.clone(), next);
        }
        let second = plan(&state, &ctx);
        check_plan(&state, &second, &ctx)?;
    }
}

#[test]
fn a_throttle_on_an_any_route_is_written_for_every_verb_and_goes_with_it() {
    // GIVEN the hub's default throttle and an API routed with ANY beside a hand-made GET
    let t = crate::governance::Throttle {
        rate: 10,
        burst: 20,
    };
    let throttled = Context {
        policy: crate::governance::Policy {
            throttle: Some(t),
            ..crate::governance::Policy::default()
        },
        ..ctx()
    };
    let mut b = api("222222222222", "bbbbbbbbbb", &[]);
    b.deployed = Some(deployed(&[("/files/{proxy+}", "ANY"), ("/x", "ANY")]));
    let first = observed_with(vec![b.clone()], &[]);
    let mut world = applied(&first, &plan(&first, &ctx()));
    // (someone adds GET by hand on frontdoor's /x)
    let x = world.public.iter_mut().find(|r| r.path == "/x").unwrap();
    x.methods.insert(
        "GET".into(),
        LiveMethod {
            integration: None,
            auth: MethodAuth::open(),
        },
    );
    // WHEN planned with the throttle
    let p = plan(&world, &throttled);
    // THEN the ANY route's throttle is under ANY and each verb, except the hand-made GET's
    let key = crate::governance::method_setting_key;
    for v in [
        "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
    ] {
        assert_eq!(
            p.throttles_put.get(&key("/files/{proxy+}", v)),
            Some(&t),
            "{v}"
        );
    }
    assert_eq!(p.throttles_put.get(&key("/x", "POST")), Some(&t));
    assert!(!p.throttles_put.contains_key(&key("/x", "GET")), "{p:?}");
    let world = applied(&world, &p);
    assert!(plan(&world, &throttled).is_noop());
    // AND when the route goes, all of its keys go with it
    let mut gone = world.clone();
    gone.apis.insert(b.api.clone(), None);
    let p = plan(&gone, &throttled);
    for v in ["ANY", "GET", "PUT"] {
        assert!(
            p.throttles_remove.contains(&key("/files/{proxy+}", v)),
            "{v}: {p:?}"
        );
    }
    assert!(!p.throttles_remove.contains(&key("/x", "GET")), "{p:?}");
}

#[test]
fn a_team_that_keeps_renaming_and_dropping_holds_a_bounded_record() {
    // GIVEN cats exposed, then renamed ten times (64-character names) and redeployed with
    // ever new paths, each run
    let mut world = {
        let first = observed_with(vec![cats(&[("expose", "true")])], &[]);
        applied(&first, &plan(&first, &ctx()))
    };
    let cats_ref = world.apis.keys().next().unwrap().clone();
    for i in 0..10 {
        for a in world.apis.values_mut().flatten() {
            a.tags.insert("expose:name".into(), format!("{i:0>64}"));
            a.deployed = Some(deployed(&[(&format!("/p{i}"), "GET")]));
        }
        world = applied(&world, &plan(&world, &ctx()));
    }
    // THEN it holds at most its last 3 names and a bounded number of paths, every part of
    // its record fits a standard parameter, and a held path counts against its share
    let record = &world.records[&cats_ref];
    assert!(record.former_names.len() <= 3, "{record:?}");
    assert!(record.dropped.len() <= 50, "{record:?}");
    let parts = record.encode_parts("/frontdoor/registry/apis/x").unwrap();
    assert!(parts.iter().all(|p| p.len() <= 4096), "{parts:?}");
    let tight = Context {
        account_resource_quota: 3,
        ..ctx()
    };
    for a in world.apis.values_mut().flatten() {
        a.deployed = Some(deployed(&[("/fresh/a/b", "GET")]));
    }
    let p = plan(&world, &tight);
    assert!(
        matches!(p.apis[&cats_ref].status, Some(Status::Refused(_))),
        "{:?}",
        p.apis[&cats_ref].status
    );
}
