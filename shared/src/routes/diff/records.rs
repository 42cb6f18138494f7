//! Pure. Each API's registry record after this reconcile, and the two writes that get it
//! there crash-safely: widened (old ∪ new) before the public API is written, narrowed to
//! the new record after. A crash in between leaves the registry claiming a little too much
//! (the next run cleans it up), never too little.
//!
//! A record also keeps what an API may not lose to another by accident: the paths of a
//! refused API (reserved while it stays refused), and the name and paths of one that left
//! (`released`, held for its account until `FRONTDOOR_RELEASE_HOLD` has passed; then the
//! record goes), and the paths and former names of one that let them go while it stayed
//! exposed (`dropped`, `former_names`, held the same way).

use std::collections::{BTreeMap, BTreeSet};

use super::claims::Claims;
use super::names::Names;
use super::tree::Tree;
use crate::ids::ApiRef;
use crate::routes::desired::{Context, Desired, Exposure};
use crate::routes::{Observed, Record};

/// Record writes by API: `(before, after)`, `after = Some(None)` deletes the record.
pub(super) struct Records {
    pub(super) changes: BTreeMap<ApiRef, (Option<Record>, Option<Option<Record>>)>,
}

/// Plans the record writes.
pub(super) fn records(
    observed: &Observed,
    desired: &Desired,
    claims: &Claims,
    tree: &Tree,
    names: &Names,
    held: &BTreeMap<ApiRef, String>,
    ctx: &Context,
) -> Records {
    let mut involved: BTreeSet<&ApiRef> = observed.records.keys().collect();
    involved.extend(observed.apis.keys());
    let mut changes = BTreeMap::new();
    for api in involved {
        let old = observed.records.get(api);
        let in_scope = observed.apis.contains_key(api);
        let intent = desired.get(api);
        let claimed = match claims.assigned.get(api) {
            Some(routes) => {
                let mut c: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                for (path, verb) in routes.keys() {
                    c.entry(path.clone()).or_default().insert(verb.clone());
                }
                c
            }
            None => claims.kept.get(api).cloned().unwrap_or_default(),
        };
        let mut created: BTreeSet<String> = tree
            .needed_by
            .get(api)
            .map(|n| tree.made_after.intersection(n).cloned().collect())
            .unwrap_or_default();
        // A resource it made that must stay (something hand-made under it) stays its record's.
        if let Some(old) = old {
            created.extend(old.created.intersection(&tree.orphans).cloned());
        }
        // An API in scope that asked for something publishes a status (and keeps a name, so
        // its parameters can be found once it is gone); one held back by the quota too.
        let publishes = in_scope
            && (held.contains_key(api)
                || intent.is_some_and(|i| !matches!(i.exposure, Exposure::NotExposed)));
        // A deleted API has no intent: its record still knows where its parameters are. A
        // record holds only a name the API owns.
        let name = match intent {
            Some(i) if in_scope => names.owned(api, i.name.as_ref()).cloned(),
            _ => old.and_then(|r| r.name.clone()),
        };
        let refused =
            in_scope && intent.is_some_and(|i| matches!(i.exposure, Exposure::Refused(_)));
        let leaving = in_scope && intent.is_none_or(|i| matches!(i.exposure, Exposure::NotExposed));
        // A mount is kept while the API is routed there (or not in play, as it was).
        let mount = match (claims.assigned.get(api), intent.map(|i| &i.exposure)) {
            (Some(routes), Some(Exposure::Wanted(w))) if !routes.is_empty() => w.mount.clone(),
            (None, _) if claims.kept.contains_key(api) => old.and_then(|r| r.mount.clone()),
            _ => None,
        };
        let mut new = Record {
            name: if publishes || !in_scope { name } else { None },
            claims: claimed,
            created,
            mount,
            // Only this cell's APIs are planned here (a cell's plan keeps no other record).
            cell: ctx.cell.clone(),
            ..Record::default()
        };
        // Claims change hands only on purpose: a refused API keeps its paths reserved, and
        // one that leaves keeps its name and paths for its account until the hold ends.
        let had: BTreeSet<String> = old
            .map(|r| r.claims.keys().chain(r.reserved.iter()).cloned().collect())
            .unwrap_or_default();
        if refused {
            new.reserved = had;
        } else if held.contains_key(api) {
            // Held back (the quota, its share): what was kept for it stays kept.
            if let Some(old) = old {
                new.reserved = old.reserved.clone();
                new.released = old.released;
            }
        } else if let Some(old) = old.filter(|_| leaving || !in_scope) {
            let released = match old.released {
                Some(at) => Some(at),
                None if leaving && !ctx.release_hold.is_zero() => Some(ctx.now),
                None => None,
            };
            let until = released.map(|at| crate::routes::hold_ends(at, ctx.release_hold));
            match until {
                // Not released (out of scope, still here): as it was.
                None if !in_scope => new.reserved = old.reserved.clone(),
                None => {}
                // The hold is over: nothing of it is kept.
                Some(until) if until <= ctx.now => new.name = None,
                Some(_) => {
                    new.released = released;
                    new.reserved = had;
                    new.name = old.name.clone().filter(|n| names.owns(api, n));
                }
            }
        }
        if let Some(old) = old {
            let freed = in_scope && !leaving && !refused && !held.contains_key(api);
            let_go_while_exposed(old, &mut new, freed, ctx);
        }
        let keep = !new.is_empty()
            && (publishes
                || !in_scope
                || new.released.is_some()
                || !new.dropped.is_empty()
                || !new.former_names.is_empty()
                || !new.claims.is_empty()
                || !new.created.is_empty());
        let old_or_empty = old.cloned().unwrap_or_default();
        let widened = old_or_empty.union(&new);
        let before = if widened == old_or_empty {
            None
        } else if keep {
            Some(widened)
        } else {
            // Going away: widening only matters for what is about to be created.
            let grow = Record {
                name: old_or_empty.name.clone(),
                ..widened
            };
            (grow != old_or_empty).then_some(grow)
        };
        let stored = before.as_ref().or(old);
        let after = if keep {
            (stored != Some(&new)).then_some(Some(new))
        } else {
            stored.is_some().then_some(None)
        };
        if before.is_some() || after.is_some() {
            changes.insert(api.clone(), (before, after));
        }
    }
    Records { changes }
}

/// What an API let go while it stayed exposed (a path it no longer asks for, the name it had
/// before a rename) stays its account's until the hold ends, as a departure's does: a
/// team's slip in one deployment must not hand its consumers to another account.
/// `freed`: the API is exposed and routed in this run, so what it no longer has it let go.
fn let_go_while_exposed(old: &Record, new: &mut Record, freed: bool, ctx: &Context) {
    let (hold, now) = (ctx.release_hold, ctx.now);
    // Kept while the hold lasts even when asked for again, so a path dropped, taken back
    // and dropped again is held from its first release, not for ever.
    new.dropped = old
        .dropped_held(hold, now)
        .filter(|(path, _)| !new.reserved.contains(*path))
        .map(|(path, _)| (path.clone(), old.dropped[path]))
        .collect();
    new.former_names = old
        .former_names_held(hold, now)
        .filter(|(name, _)| new.name.as_ref() != Some(*name))
        .map(|(name, _)| (name.clone(), old.former_names[name]))
        .collect();
    if !freed || hold.is_zero() {
        return;
    }
    // Paths kept for it after it left and came back count from when it left.
    let since = old.released.unwrap_or(now);
    for path in old.claims.keys().chain(old.reserved.iter()) {
        if !new.claims.contains_key(path) && !new.reserved.contains(path) {
            let at = if old.claims.contains_key(path) {
                now
            } else {
                since
            };
            if crate::routes::hold_ends(at, hold) > now {
                new.dropped.entry(path.clone()).or_insert(at);
            }
        }
    }
    if let Some(name) = old.name.as_ref().filter(|n| new.name.as_ref() != Some(*n)) {
        new.former_names.entry(name.clone()).or_insert(now);
    }
    keep_latest(&mut new.dropped, MAX_DROPPED_PATHS);
    keep_latest(&mut new.former_names, MAX_FORMER_NAMES);
}

/// The most paths one API holds after letting them go: beyond it the oldest holds end
/// early, so a record stays a few parameters however often its team redeploys.
const MAX_DROPPED_PATHS: usize = 50;
/// The most former names one API holds: a renaming team keeps its last few.
const MAX_FORMER_NAMES: usize = 3;

/// Keeps the `max` latest entries of a "let go at" map (ties by key).
fn keep_latest(at: &mut BTreeMap<String, u64>, max: usize) {
    if at.len() <= max {
        return;
    }
    let mut by_age: Vec<(u64, String)> = at.iter().map(|(k, t)| (*t, k.clone())).collect();
    by_age.sort();
    for (_, key) in by_age.iter().take(at.len() - max) {
        at.remove(key);
    }
}
