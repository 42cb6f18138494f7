//! Pure. Who gets which public path.
//!
//! A `(path, verb)` is frontdoor's only if a registry record claims it; every other method
//! on the public API is hand-made and never touched. A path belongs to the API that puts
//! methods there: APIs not in play keep every path their record claims, owners keep what
//! they still want, then newcomers take free paths in `{account}/{api-id}` order. A newcomer
//! does not get a path that is owned, kept for a refused API, held for another account
//! whose API left or let the path go (until the hold ends), hand-made, beside a variable sibling that stays (API
//! Gateway allows one variable path part per parent), or that overlaps another owner's or a
//! hand-made route (one request path could match both, and API Gateway would send it to
//! the more specific), or that a resource standing for someone else would shadow (another
//! owner's parent, a hand-made resource without methods); it keeps its other paths.

use std::collections::{BTreeMap, BTreeSet};

use super::RouteKey;
use crate::ids::ApiRef;
use crate::paths;
use crate::routes::desired::{Context, Wanted};
use crate::routes::{Holder, Integration, Observed};

/// Path ownership after this reconcile.
#[derive(Debug, Clone, Default)]
pub(super) struct Claims {
    /// Routes each API in play gets.
    pub(super) assigned: BTreeMap<ApiRef, BTreeMap<RouteKey, Integration>>,
    /// Each API's first path it does not get, and what holds it.
    pub(super) conflicts: BTreeMap<ApiRef, (String, Holder)>,
    /// Claims of APIs not in play, exactly as their records say.
    pub(super) kept: BTreeMap<ApiRef, BTreeMap<String, BTreeSet<String>>>,
}

impl Claims {
    /// The public paths each API holds after this reconcile.
    pub(super) fn paths_by_api(&self) -> BTreeMap<&ApiRef, BTreeSet<&String>> {
        let mut out: BTreeMap<&ApiRef, BTreeSet<&String>> = BTreeMap::new();
        for (api, claims) in &self.kept {
            out.entry(api).or_default().extend(claims.keys());
        }
        for (api, routes) in &self.assigned {
            out.entry(api)
                .or_default()
                .extend(routes.keys().map(|(p, _)| p));
        }
        out
    }
}

/// Paths kept for APIs with no routes on them, and until when (`None`: while the API
/// stays refused): a refused API's, and a departed API's until its hold ends.
fn reservations<'a>(
    observed: &'a Observed,
    wanted: &BTreeMap<&ApiRef, &Wanted>,
    refused: &BTreeSet<&ApiRef>,
    in_play: &dyn Fn(&ApiRef) -> bool,
    ctx: &Context,
) -> BTreeMap<&'a String, (&'a ApiRef, Option<u64>)> {
    let mut out = BTreeMap::new();
    for (api, record) in &observed.records {
        // What it let go while exposed, until its hold ends (whether it is here or not).
        for (path, until) in record.dropped_held(ctx.release_hold, ctx.now) {
            out.entry(path).or_insert((api, Some(until)));
        }
        if let Some(w) = wanted.get(api) {
            // What it lets go in this run is held from now, as a departure's is.
            if !ctx.release_hold.is_zero() && in_play(api) && !refused.contains(api) {
                let until = crate::routes::hold_ends(ctx.now, ctx.release_hold);
                let had = record.claims.keys().chain(record.reserved.iter());
                for path in had.filter(|p| !w.asks_for(p)) {
                    out.entry(path).or_insert((api, Some(until)));
                }
            }
            continue;
        }
        let until = match record.held_until(ctx.release_hold) {
            Some(until) => Some(until),
            // Refused now: nothing of it is released.
            None if refused.contains(api) || !in_play(api) => None,
            // Leaving in this run: held from now.
            None => Some(crate::routes::hold_ends(ctx.now, ctx.release_hold)),
        };
        if until.is_some_and(|u| u <= ctx.now) {
            continue;
        }
        let paths = record.reserved.iter();
        // What a leaving or refused API still claims becomes reserved in this run (one not
        // in play keeps its claims as they are).
        let claimed = record.claims.keys().filter(|_| in_play(api));
        for path in paths.chain(claimed) {
            out.entry(path).or_insert((api, until));
        }
    }
    out
}

/// Decides path ownership.
pub(super) fn claims(
    observed: &Observed,
    wanted: &BTreeMap<&ApiRef, &Wanted>,
    refused: &BTreeSet<&ApiRef>,
    in_play: &dyn Fn(&ApiRef) -> bool,
    ctx: &Context,
) -> Claims {
    let reserved = reservations(observed, wanted, refused, in_play, ctx);
    let claimed = observed.claimed_methods();
    let live = observed.public_by_path();
    let hand_made = observed.hand_made_routes();
    // Resources frontdoor did not make stay whatever happens; so do their parents.
    let made = observed.created_resources();
    let mut standing_by_hand: BTreeSet<String> = BTreeSet::new();
    for r in observed.public.iter().filter(|r| !made.contains(&r.path)) {
        standing_by_hand.extend(paths::ancestors(&r.path));
        standing_by_hand.insert(r.path.clone());
    }

    // Subtrees mounted by an API (as it asks now, or as its record says when it is not in
    // play): wholly its own. From what does not change when the plan is applied, so the
    // next run decides the same.
    let mounts: Vec<(&String, &ApiRef)> = wanted
        .iter()
        .filter_map(|(api, w)| w.mount.as_ref().map(|m| (m, *api)))
        .chain(
            observed
                .records
                .iter()
                .filter(|(api, _)| !in_play(api))
                .filter_map(|(api, r)| r.mount.as_ref().map(|m| (m, api))),
        )
        .collect();
    let live_paths: BTreeSet<&str> = live.keys().copied().collect();
    let mut out = Claims::default();
    let mut owner: BTreeMap<String, ApiRef> = BTreeMap::new();
    for (api, record) in &observed.records {
        if !in_play(api) {
            out.kept.insert(api.clone(), record.claims.clone());
            for path in record.claims.keys() {
                owner.insert(path.clone(), api.clone());
            }
        }
    }
    for (api, w) in wanted {
        if let Some(record) = observed.records.get(*api) {
            for (path, _) in w.routes.keys() {
                // What it claims, and what was kept for it while it was refused or away.
                if record.claims.contains_key(path) || record.reserved.contains(path) {
                    owner.insert(path.clone(), (*api).clone());
                }
            }
        }
    }
    // A path it let go and asks for again within the hold: its own back, unless an API of
    // its account took it meanwhile.
    for (api, w) in wanted {
        if let Some(record) = observed.records.get(*api) {
            for (path, _) in record.dropped_held(ctx.release_hold, ctx.now) {
                if w.asks_for(path) {
                    owner.entry(path.clone()).or_insert_with(|| (*api).clone());
                }
            }
        }
    }
    for (api, w) in wanted {
        let api: &ApiRef = api;
        // Paths kept for someone else (a refused API, or another account during its hold):
        // as good as owned for every overlap and sibling check, not only for equal paths.
        let kept_away: Vec<(&String, &ApiRef)> = reserved
            .iter()
            .filter(|(_, (r, until))| *r != api && held(r, *until, api).is_some())
            .map(|(p, (r, _))| (*p, *r))
            .collect();
        let mine = out.assigned.entry(api.clone()).or_default();
        for ((path, verb), integration) in &w.routes {
            let key = (path.clone(), verb.clone());
            // A hand-made method on this verb stays theirs, even on a path this API owns.
            let hand_made_verb = live
                .get(path.as_str())
                .is_some_and(|r| r.methods.contains_key(verb))
                && !claimed.contains(&key);
            // Its own claims win: only a path it does not hold yet can be another cell's.
            let foreign = crate::routes::cells::first_segment(path)
                .filter(|_| owner.get(path) != Some(api))
                .and_then(|s| Some((s, ctx.foreign_segments.get(s)?)));
            let holder = match owner.get(path) {
                _ if foreign.is_some() => foreign.map(|(segment, cell)| Holder::Cell {
                    segment: format!("/{segment}"),
                    cell: cell.clone(),
                }),
                Some(o) if o != api => Some(Holder::Api(o.clone())),
                Some(_) if hand_made_verb => Some(Holder::HandMade),
                Some(_) => None,
                None => match reserved.get(path) {
                    Some((r, until)) if *r != api => held(r, *until, api),
                    _ => None,
                }
                .or_else(|| {
                    // A resource frontdoor did not make is never written, methods or not.
                    if hand_made.contains(path.as_str())
                        || (live_paths.contains(path.as_str()) && !made.contains(path))
                    {
                        return Some(Holder::HandMade);
                    }
                    let others = Others {
                        api,
                        owner: &owner,
                        kept_away: &kept_away,
                        hand_made: &hand_made,
                        standing_by_hand: &standing_by_hand,
                    };
                    // Of two APIs in one mount, the one already routed inside it keeps it,
                    // else the first in order: the same answer in every run, and nobody
                    // waits on anybody forever.
                    let precedence = |x: &ApiRef, mount: &String| {
                        let routed = !in_play(x)
                            || observed.records.get(x).is_some_and(|r| {
                                r.claims.keys().any(|p| paths::is_within(p, mount))
                            });
                        (!routed, x.clone())
                    };
                    let holds_against = |mount: &String, o: &ApiRef| {
                        o != api && precedence(o, mount) < precedence(api, mount)
                    };
                    if let Some((_, mounter)) = mounts
                        .iter()
                        .find(|(m, o)| paths::is_within(path, m) && holds_against(m, o))
                    {
                        return Some(Holder::Api((*mounter).clone()));
                    }
                    // A mount is a whole subtree: it takes only a free one.
                    if let Some(held) = w
                        .mount
                        .as_ref()
                        .filter(|m| paths::is_within(path, m))
                        .and_then(|m| others.meeting_mount(m))
                    {
                        return Some(held);
                    }
                    others
                        .sibling(path)
                        .map(Holder::Sibling)
                        .or_else(|| others.overlapping(path))
                        .or_else(|| others.shadowing(path))
                        .or_else(|| others.shadowing_parent(path, &live_paths))
                }),
            };
            match holder {
                Some(holder) => {
                    out.conflicts
                        .entry(api.clone())
                        .or_insert((path.clone(), holder));
                }
                // Free, or released in this same reconcile by an owner that left: taken.
                None => {
                    owner.insert(path.clone(), api.clone());
                    mine.insert(key, integration.clone());
                }
            }
        }
    }
    out
}

/// What keeps a path reserved for `holder` from `api`: a refused API keeps it from anyone;
/// a departed API's account keeps it from other accounts until the hold ends.
fn held(holder: &ApiRef, until: Option<u64>, api: &ApiRef) -> Option<Holder> {
    match until {
        None => Some(Holder::Api(holder.clone())),
        Some(_) if holder.account == api.account => None,
        Some(until) => Some(Holder::Held {
            account: holder.account.clone(),
            until: crate::routes::status::rfc3339(until),
        }),
    }
}

/// What a newcomer's resources are judged against: everybody else's routes and the
/// resources that stay for them.
struct Others<'a> {
    api: &'a ApiRef,
    owner: &'a BTreeMap<String, ApiRef>,
    kept_away: &'a [(&'a String, &'a ApiRef)],
    hand_made: &'a BTreeSet<&'a str>,
    standing_by_hand: &'a BTreeSet<String>,
}

impl Others<'_> {
    /// Other owners' paths and paths kept for someone else.
    fn theirs(&self) -> impl Iterator<Item = (&String, &ApiRef)> {
        self.owner
            .iter()
            .filter(|(_, o)| *o != self.api)
            .chain(self.kept_away.iter().copied())
    }

    /// Another owner's route (or a path kept for someone else) that a newcomer's mount would
    /// take in or start under: a mount is a whole subtree, so it may claim only a free one,
    /// and a team's later paths under its own route are not another team's to block.
    fn meeting_mount(&self, mount: &str) -> Option<Holder> {
        self.theirs()
            .find(|(p, _)| {
                // A route on the root does not make the whole tree its owner's.
                paths::is_within(p, mount) || (p.as_str() != "/" && paths::is_within(mount, p))
            })
            .map(|(p, o)| Holder::Mount {
                mount: mount.to_string(),
                api: o.clone(),
                path: p.clone(),
            })
    }

    /// Another owner's route, a path kept for someone else, or a hand-made route, that a
    /// request for `path` could also match.
    fn overlapping(&self, path: &str) -> Option<Holder> {
        let theirs = self
            .theirs()
            .filter(|(p, _)| paths::overlap(path, p))
            .map(|(p, o)| Holder::Overlaps {
                api: Some(o.clone()),
                path: p.clone(),
            });
        let by_hand = self
            .hand_made
            .iter()
            .filter(|p| paths::overlap(path, p))
            .map(|p| Holder::Overlaps {
                api: None,
                path: p.to_string(),
            });
        theirs.chain(by_hand).next()
    }

    /// A resource that stays for someone else (the parent of another owner's route, or a
    /// resource frontdoor did not make) that a request for `path` could also match: B's
    /// `/users/me`, the parent of its `/users/me/x`, takes `GET /users/me` from a newcomer's
    /// `/users/{id}` and has no GET, so the newcomer's route would not answer for `me`.
    fn shadowing(&self, path: &str) -> Option<Holder> {
        let parents = self.theirs().flat_map(|(p, o)| {
            paths::ancestors(p)
                .into_iter()
                .map(move |a| (a, Some(o.clone())))
        });
        let by_hand = self.standing_by_hand.iter().map(|a| (a.clone(), None));
        parents
            .chain(by_hand)
            .find(|(a, _)| a != path && paths::overlap(path, a))
            .map(|(path, api)| Holder::Overlaps { api, path })
    }

    /// A parent `path` needs that does not exist yet and would take requests from another
    /// owner's (or a hand-made) route, or lose them to a resource that stays for someone
    /// else: `/users/me` made as the parent of `/users/me/x` is more specific than
    /// `/users/{id}` for `GET /users/me`, and has no GET.
    fn shadowing_parent(&self, path: &str, live: &BTreeSet<&str>) -> Option<Holder> {
        // A parent that exists, or that an owner's route is or needs, is shared structure: it
        // takes no request that is not already its owner's.
        let standing = |a: &str| {
            live.contains(a) || self.owner.keys().any(|p| p == a || paths::is_within(p, a))
        };
        paths::ancestors(path)
            .iter()
            .filter(|a| a.as_str() != "/" && !standing(a))
            .find_map(|a| self.overlapping(a).or_else(|| self.shadowing(a)))
    }
    /// A variable path part beside one of `path`'s variable parts, on a resource that stays
    /// (someone else's path or its parent, or a resource frontdoor did not make).
    fn sibling(&self, path: &str) -> Option<String> {
        let variables: Vec<String> = paths::ancestors(path)
            .into_iter()
            .chain([path.to_string()])
            .filter(|p| paths::is_variable(paths::split_last(p).1))
            .collect();
        if variables.is_empty() {
            return None;
        }
        let others = self
            .theirs()
            .flat_map(|(p, _)| paths::ancestors(p).into_iter().chain([p.clone()]));
        let standing: BTreeSet<String> = others
            .chain(self.standing_by_hand.iter().cloned())
            .collect();
        for mine in &variables {
            let (parent, part) = paths::split_last(mine);
            let beside = standing.iter().find(|other| {
                let (other_parent, other_part) = paths::split_last(other);
                other_parent == parent && other_part != part && paths::is_variable(other_part)
            });
            if let Some(other) = beside {
                return Some(other.clone());
            }
        }
        None
    }
}
