//! Cells: several public REST APIs behind one custom domain, so no team shares a resource
//! quota, a deployment or a failure with every other team (issue 23).
//!
//! Requests reach a cell by their first path segment. The first cell is the domain's base
//! path mapping: it serves whatever no routing rule matches, so the root, a variable first
//! segment (`/{tenant}/...`) and `/health` live there, and a one-cell hub needs no rule at
//! all. Every other cell is reached through one routing rule per first segment
//! (`MatchBasePaths [segment]` -> `InvokeApi` that cell's stage, `StripBasePath` false).
//!
//! This module is pure: [`Placer`] puts each API that has no cell yet in one (APIs sharing a
//! first segment together, the first cell with room; the caller keeps a placed API where
//! its record says, so placement is sticky) and [`plan_rules`] turns the segments' homes
//! into the routing rule writes, touching only rules frontdoor recorded.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{Desired, Exposure};
use super::{Observed, PublicResource, Record};
use crate::ids::{AccountId, ApiRef};

/// Priorities frontdoor's rules start at: hand-made rules below it are evaluated first, so
/// an operator's rule always wins over frontdoor's (AWS evaluates the lowest number first).
pub const FIRST_RULE_PRIORITY: u32 = 100_000;

/// AWS's highest rule priority.
pub const LAST_RULE_PRIORITY: u32 = 1_000_000;

/// The first segment of a public path: `None` for the root.
pub fn first_segment(path: &str) -> Option<&str> {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// Whether a routing rule's base path can match `segment`: a literal (not `{id}` or
/// `{proxy+}`) under AWS's 128 characters. frontdoor's path check already keeps a public
/// path to letters, digits and `-._~`, all base path characters but `~`.
pub fn routable(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() < 128
        && !crate::paths::is_variable(segment)
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"$-_.+!*'()".contains(&b))
}

/// What one cell holds before placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellLoad {
    /// Public resources it holds (root included).
    pub resources: usize,
    /// Public resources each account's APIs hold in it.
    pub by_account: BTreeMap<AccountId, usize>,
    /// The paths of its resources: a newcomer pays only for those it adds.
    pub paths: BTreeSet<String>,
}

/// An exposed API that has no cell yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newcomer {
    /// Its account: the account share holds per cell.
    pub account: AccountId,
    /// The public paths it asks for.
    pub paths: BTreeSet<String>,
    /// The resources those paths need (their ancestors included, the root not): it adds
    /// to a cell those the cell does not have yet.
    pub needs: BTreeSet<String>,
}

impl Newcomer {
    /// A newcomer asking for `paths` (its needs worked out from them).
    pub fn new(account: AccountId, paths: BTreeSet<String>) -> Self {
        let mut needs = BTreeSet::new();
        for p in &paths {
            needs.extend(crate::paths::ancestors(p));
            needs.insert(p.clone());
        }
        needs.remove("/");
        Self {
            account,
            paths,
            needs,
        }
    }

    /// The resources it would add to `load`.
    fn cost(&self, load: &CellLoad) -> usize {
        self.needs.difference(&load.paths).count()
    }
}

/// Where a newcomer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Into this cell (an index into the configured cells).
    Cell(usize),
    /// Nowhere: its first segments live in two cells, and an API is served by one.
    Split {
        /// A first segment and its cell.
        first: (String, usize),
        /// Another first segment, living in another cell.
        second: (String, usize),
    },
    /// Nowhere: no cell it may go to has room for it (resources, its account's share, or a
    /// routing rule for a new first segment), or the cell it is tied to is no longer
    /// configured.
    Full {
        /// The cell its first segments tie it to, if any.
        home: Option<(String, usize)>,
    },
    /// Nowhere: with more than one cell, a variable first segment (`/{tenant}`) would sit
    /// in the first cell and take every request whose rule is missing for a moment (over
    /// quota, being replaced, deleted by hand): another team's traffic.
    Variable {
        /// The variable first segment.
        segment: String,
    },
}

/// Places newcomers, one at a time, each seeing where the ones before it went.
#[derive(Debug, Clone)]
pub struct Placer {
    loads: Vec<CellLoad>,
    homes: BTreeMap<String, usize>,
    quota: usize,
    account_quota: usize,
    rules_left: usize,
    account_rules: usize,
    rules_by_account: BTreeMap<AccountId, usize>,
}

impl Placer {
    /// `loads` has one entry per cell (the first is the domain's base path mapping);
    /// `homes` says which cell each first segment already lives in (a placed API's or a
    /// hand-made resource's); `quota` is the resources per cell, `account_quota` an
    /// account's resources per cell, `rules` how many more routing rules the domain takes
    /// and how many of them one account's newcomers may use (the 50 rules of a domain are
    /// everyone's: one team's many first segments must not use them up).
    pub fn new(
        loads: Vec<CellLoad>,
        homes: BTreeMap<String, usize>,
        quota: usize,
        account_quota: usize,
        rules: RuleRoom,
    ) -> Self {
        Self {
            loads,
            homes,
            quota,
            account_quota,
            rules_left: rules.left,
            account_rules: rules.per_account,
            rules_by_account: BTreeMap::new(),
        }
    }

    /// Where each first segment lives, after the placements so far.
    pub fn homes(&self) -> &BTreeMap<String, usize> {
        &self.homes
    }

    /// Places one newcomer and counts it in: its resources in the cell, its first segments
    /// living there from now on. A split reports the first two cells found.
    pub fn place(&mut self, newcomer: &Newcomer) -> Placement {
        let n = newcomer;
        let segments: BTreeSet<Option<&str>> = n.paths.iter().map(|p| first_segment(p)).collect();
        if self.loads.len() > 1 {
            if let Some(variable) = segments
                .iter()
                .flatten()
                .find(|s| crate::paths::is_variable(s))
            {
                return Placement::Variable {
                    segment: format!("/{variable}"),
                };
            }
        }
        // The root and variable segments are the first cell's: no rule can match them.
        let pinned_first = segments.iter().any(|s| s.is_none_or(|s| !routable(s)));
        let mut tied: Option<(String, usize)> = pinned_first.then(|| {
            let s = segments
                .iter()
                .find(|s| s.is_none_or(|s| !routable(s)))
                .and_then(|s| *s)
                .unwrap_or("");
            (format!("/{s}"), 0)
        });
        for s in segments.iter().flatten() {
            if let Some(&cell) = self.homes.get(*s) {
                match &tied {
                    Some((other, at)) if *at != cell => {
                        return Placement::Split {
                            first: (other.clone(), *at),
                            second: (format!("/{s}"), cell),
                        };
                    }
                    Some(_) => {}
                    None => tied = Some((format!("/{s}"), cell)),
                }
            }
        }
        let new_segments: Vec<&str> = segments
            .iter()
            .flatten()
            .filter(|s| !self.homes.contains_key(**s))
            .copied()
            .collect();
        let candidates: Vec<usize> = match &tied {
            Some((_, cell)) => vec![*cell],
            None => (0..self.loads.len()).collect(),
        };
        let account_rules = self.rules_by_account.get(&n.account).copied().unwrap_or(0);
        let chosen = candidates.into_iter().find(|&cell| {
            // A home past the configured cells (a cell removed) has no room at all.
            let Some(load) = self.loads.get(cell) else {
                return false;
            };
            let account = load.by_account.get(&n.account).copied().unwrap_or(0);
            // A first segment new to a cell other than the first needs a rule of its own.
            let rules = if cell == 0 { 0 } else { new_segments.len() };
            let cost = n.cost(load);
            load.resources + cost <= self.quota
                && account + cost <= self.account_quota
                && rules <= self.rules_left
                && account_rules + rules <= self.account_rules
        });
        let Some(load) = chosen.and_then(|cell| self.loads.get_mut(cell).map(|l| (cell, l))) else {
            return Placement::Full { home: tied };
        };
        let (cell, load) = load;
        let cost = n.cost(load);
        load.resources += cost;
        *load.by_account.entry(n.account.clone()).or_default() += cost;
        load.paths.extend(n.needs.iter().cloned());
        if cell != 0 {
            self.rules_left -= new_segments.len();
            *self.rules_by_account.entry(n.account.clone()).or_default() += new_segments.len();
        }
        for s in new_segments {
            self.homes.insert(s.to_string(), cell);
        }
        Placement::Cell(cell)
    }
}

impl Placer {
    /// Lets a live API in `cell` ask for first segments it did not have: each new one
    /// lives in its cell from now on, and outside the first cell takes a routing rule,
    /// charged to its account as a newcomer's would be. A segment that lives elsewhere is
    /// left to the claims (a conflict there). `Err` says why it cannot grow.
    pub fn grow(
        &mut self,
        cell: usize,
        account: &AccountId,
        paths: &BTreeSet<String>,
    ) -> Result<(), String> {
        let segments: BTreeSet<&str> = paths.iter().filter_map(|p| first_segment(p)).collect();
        if self.loads.len() > 1 {
            if let Some(variable) = segments.iter().find(|s| crate::paths::is_variable(s)) {
                return Err(variable_reason(&format!("/{variable}")));
            }
        }
        let new: Vec<&str> = segments
            .into_iter()
            .filter(|s| !self.homes.contains_key(*s))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if cell != 0 {
            let used = self.rules_by_account.get(account).copied().unwrap_or(0);
            if new.len() > self.rules_left || used + new.len() > self.account_rules {
                return Err(format!(
                    "no routing rule left for its new first segments /{} (the domain's quota, or its account's {} rules)",
                    new.join(" /"),
                    self.account_rules
                ));
            }
            self.rules_left -= new.len();
            *self.rules_by_account.entry(account.clone()).or_default() += new.len();
        }
        for s in new {
            self.homes.insert(s.to_string(), cell);
        }
        Ok(())
    }
}

/// Why a variable first segment is refused when there is more than one cell.
fn variable_reason(segment: &str) -> String {
    format!(
        "{segment} is a variable first segment: with several cells it would take the requests of every segment whose routing rule is missing; expose it under expose:prefix"
    )
}

/// How many routing rules placement may still use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRoom {
    /// Rules the domain takes before its quota.
    pub left: usize,
    /// Rules one account's APIs may use in all.
    pub per_account: usize,
}

/// A routing rule of the domain, as observed (ListRoutingRules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRule {
    /// Its id.
    pub id: String,
    /// Its priority.
    pub priority: u32,
    /// The base path it matches, if it has a base path condition.
    pub base_path: Option<String>,
    /// Header conditions it has: a rule with any matches only some requests.
    pub header_conditions: usize,
    /// The REST API it invokes.
    pub api_id: String,
    /// The stage it invokes.
    pub stage: String,
    /// Whether it strips the base path.
    pub strip_base_path: bool,
}

impl LiveRule {
    /// Whether it can take requests under `segment`: the same base path, one below it
    /// (`orders/v2`), or none at all; a header condition narrows it to the requests a
    /// client chooses to send with that header, which is still someone else's route.
    pub fn meets(&self, segment: &str) -> bool {
        self.base_path.as_deref().is_none_or(|b| {
            b == segment
                || b.strip_prefix(segment)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// A routing rule to make: the cell's API and the priority it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// The cell's REST API id.
    pub api_id: String,
    /// A priority no other rule of the domain has.
    pub priority: u32,
}

/// A rule of frontdoor's to put back (PutRoutingRule keeps its id and priority).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFix {
    /// The rule's id.
    pub id: String,
    /// The cell's REST API id it should invoke.
    pub api_id: String,
    /// Its live priority, kept.
    pub priority: u32,
}

/// The routing rule writes that make the domain route each segment to its home cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulePlan {
    /// New rules by segment. Applied after the deletes, whose priorities they may reuse.
    pub create: BTreeMap<String, NewRule>,
    /// Rules of frontdoor's that differ from what they should be, by segment.
    pub replace: BTreeMap<String, RuleFix>,
    /// Rules frontdoor recorded for segments no cell needs any more: segment -> rule id. A
    /// rule AWS no longer lists is still deleted (NotFound is done), so a listing that
    /// missed it never turns frontdoor's rule into a stranger's.
    pub delete: BTreeMap<String, String>,
    /// Segments a rule frontdoor did not make also meets (same base path, one below it,
    /// or none), at any priority: segment -> that rule's id. Neither is touched; whichever
    /// has the lower number takes the requests, so route-sync logs it.
    pub overlapped: BTreeMap<String, String>,
    /// Segments that get no rule: the domain's quota is reached, or no priority is free.
    pub over_quota: BTreeSet<String>,
}

/// The rule writes for `wanted` (each routed segment -> its cell's API id), given the rules
/// frontdoor recorded (segment -> rule id) and the domain's live rules. A rule is
/// frontdoor's only if recorded: any other rule, and every base path mapping, is left
/// alone.
pub fn plan_rules(
    wanted: &BTreeMap<String, String>,
    recorded: &BTreeMap<String, String>,
    live: &[LiveRule],
    stage: &str,
    rule_quota: usize,
) -> RulePlan {
    let by_id: BTreeMap<&str, &LiveRule> = live.iter().map(|r| (r.id.as_str(), r)).collect();
    let ours: BTreeSet<&str> = recorded.values().map(String::as_str).collect();
    let mut taken: BTreeSet<u32> = live.iter().map(|r| r.priority).collect();
    let mut plan = RulePlan::default();
    let mut freed = BTreeSet::new();
    for (segment, id) in recorded {
        if wanted.contains_key(segment) {
            continue;
        }
        plan.delete.insert(segment.clone(), id.clone());
        // The live priority: an operator may have moved the rule.
        if let Some(l) = by_id.get(id.as_str()) {
            if freed.insert(id.as_str()) {
                taken.remove(&l.priority);
            }
        }
    }
    let mut count = live.len() - freed.len();
    let mut next = FIRST_RULE_PRIORITY;
    for (segment, cell) in wanted {
        let kept = recorded
            .get(segment)
            .and_then(|id| by_id.get(id.as_str()).copied());
        match kept {
            Some(l) => {
                let right = l.base_path.as_deref() == Some(segment.as_str())
                    && l.header_conditions == 0
                    && l.api_id == *cell
                    && l.stage == stage
                    && !l.strip_base_path;
                if !right {
                    plan.replace.insert(
                        segment.clone(),
                        RuleFix {
                            id: l.id.clone(),
                            api_id: cell.clone(),
                            priority: l.priority,
                        },
                    );
                }
            }
            None => {
                while taken.contains(&next) && next <= LAST_RULE_PRIORITY {
                    next += 1;
                }
                if count >= rule_quota || next > LAST_RULE_PRIORITY {
                    plan.over_quota.insert(segment.clone());
                    continue;
                }
                taken.insert(next);
                count += 1;
                plan.create.insert(
                    segment.clone(),
                    NewRule {
                        api_id: cell.clone(),
                        priority: next,
                    },
                );
            }
        }
        if let Some(first) = live
            .iter()
            .filter(|r| !ours.contains(r.id.as_str()) && r.meets(segment))
            .min_by_key(|r| r.priority)
        {
            plan.overlapped.insert(segment.clone(), first.id.clone());
        }
    }
    plan
}

/// The cells as placement sees them.
#[derive(Debug, Clone, Copy)]
pub struct CellsView<'a> {
    /// Each cell's REST API id, the first being the domain's base path mapping.
    pub ids: &'a [String],
    /// Each cell's resources, in the same order.
    pub trees: &'a [&'a [PublicResource]],
    /// Resources per cell.
    pub quota: usize,
    /// An account's resources per cell.
    pub account_quota: usize,
    /// Routing rules the domain takes.
    pub rule_quota: usize,
    /// Rules one account's first segments may take.
    pub account_rules: usize,
    /// Rules the domain has now (frontdoor's and everyone else's).
    pub live_rules: usize,
}

/// Every API's cell after placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    /// The cell of every API frontdoor knows of or that asks for routes. An API whose
    /// record names a cell no longer configured has none: it is left exactly as it is.
    pub cell_of: BTreeMap<ApiRef, usize>,
    /// Newcomers no cell takes, with why: refused (their routes wait for room).
    pub refused: BTreeMap<ApiRef, String>,
    /// Where each first segment lives.
    pub homes: BTreeMap<String, usize>,
    /// APIs whose record names a cell that is no longer configured, with that cell.
    pub orphaned: BTreeMap<ApiRef, String>,
    /// First segments of those APIs, with the cell they name: foreign to every cell.
    pub orphan_homes: BTreeMap<String, String>,
    /// First segments whose routing rules stay as they are whatever this run wants: those
    /// of APIs in a cell no longer configured, and of frozen (unreadable) records.
    pub kept_segments: BTreeSet<String>,
}

impl Placed {
    /// First segments living in other cells than `cell`, each with its cell's REST API id.
    pub fn foreign_to(&self, cell: usize, ids: &[String]) -> BTreeMap<String, String> {
        self.homes
            .iter()
            .filter(|(_, c)| **c != cell)
            .filter_map(|(s, c)| {
                let id = ids.get(*c).or_else(|| self.orphan_homes.get(s))?;
                Some((s.clone(), id.clone()))
            })
            .collect()
    }

    /// The segments each cell other than the first needs a routing rule for: those of the
    /// routes its APIs hold after this run, each with its cell's REST API id.
    pub fn routed(
        &self,
        ids: &[String],
        held: impl IntoIterator<Item = (usize, String)>,
    ) -> BTreeMap<String, String> {
        held.into_iter()
            .filter(|(cell, _)| *cell != 0)
            .filter_map(|(cell, path)| {
                let segment = first_segment(&path)?;
                // Only where the segment lives: a stray path elsewhere gets no rule.
                (self.homes.get(segment) == Some(&cell) && routable(segment))
                    .then(|| Some((segment.to_string(), ids.get(cell)?.clone())))?
            })
            .collect()
    }
}

/// Every path a record keeps in its cell (routes, resources, reservations, holds, mount).
fn held_paths(record: &Record) -> impl Iterator<Item = &String> {
    record
        .claims
        .keys()
        .chain(&record.created)
        .chain(&record.reserved)
        .chain(record.dropped.keys())
        .chain(&record.mount)
}

/// Places every API: those with a record that holds anything stay in its cell (a live API
/// never moves), newcomers go where [`Placer`] puts them, in `{account}/{api-id}` order.
pub fn place_all(observed: &Observed, desired: &Desired, cells: CellsView<'_>) -> Placed {
    let mut placed = Placed::default();
    let index = |cell: &Option<String>| match cell {
        None => Some(0),
        Some(id) => cells.ids.iter().position(|c| c == id),
    };
    let mut loads = vec![CellLoad::default(); cells.ids.len()];
    for (load, tree) in loads.iter_mut().zip(cells.trees) {
        load.resources = tree.len();
        load.paths = tree.iter().map(|r| r.path.clone()).collect();
    }
    let mut homes: BTreeMap<String, usize> = BTreeMap::new();
    let mut sticky: BTreeSet<&ApiRef> = BTreeSet::new();
    let mut rules_used: BTreeMap<AccountId, BTreeSet<String>> = BTreeMap::new();
    // A cell no longer configured: what it holds stays its own (nobody takes its segments,
    // its rules stay), at an index past the configured cells, where nothing has room.
    let gone = cells.ids.len();
    for (api, record) in &observed.records {
        let Some(cell) = index(&record.cell) else {
            // Holding nothing (refused, or only its name), it is placed as a newcomer is:
            // there is nothing to leave as it is, and it would otherwise never be placed.
            if held_paths(record).next().is_none() {
                continue;
            }
            let id = record.cell.clone().unwrap_or_default();
            for segment in held_paths(record).filter_map(|p| first_segment(p)) {
                homes.entry(segment.to_string()).or_insert(gone);
                placed.kept_segments.insert(segment.to_string());
                placed.orphan_homes.insert(segment.to_string(), id.clone());
            }
            placed.orphaned.insert(api.clone(), id);
            continue;
        };
        if observed.corrupt.contains_key(api) {
            // Frozen: its rules stay whatever its unreadable part holds.
            placed.kept_segments.extend(
                held_paths(record)
                    .filter_map(|p| first_segment(p))
                    .map(String::from),
            );
        }
        placed.cell_of.insert(api.clone(), cell);
        if held_paths(record).next().is_none() {
            continue;
        }
        sticky.insert(api);
        if let Some(load) = loads.get_mut(cell) {
            *load.by_account.entry(api.account.clone()).or_default() += record.created.len();
        }
        for segment in held_paths(record).filter_map(|p| first_segment(p)) {
            homes.entry(segment.to_string()).or_insert(cell);
            if cell != 0 {
                rules_used
                    .entry(api.account.clone())
                    .or_default()
                    .insert(segment.to_string());
            }
        }
    }
    // What stands in a cell that no record holds (hand-made, `/health`) lives there too.
    for (cell, tree) in cells.trees.iter().enumerate() {
        for r in tree.iter() {
            if let Some(segment) = first_segment(&r.path) {
                homes.entry(segment.to_string()).or_insert(cell);
            }
        }
    }
    let routed = homes.values().filter(|c| **c != 0).count();
    let mut placer = Placer::new(
        loads,
        homes,
        cells.quota,
        cells.account_quota,
        RuleRoom {
            left: cells
                .rule_quota
                .saturating_sub(cells.live_rules.max(routed)),
            per_account: cells.account_rules,
        },
    );
    placer.rules_by_account = rules_used
        .into_iter()
        .map(|(account, segments)| (account, segments.len()))
        .collect();
    for (api, intent) in desired {
        if placed.orphaned.contains_key(api) {
            continue;
        }
        let Exposure::Wanted(w) = &intent.exposure else {
            placed.cell_of.entry(api.clone()).or_insert(0);
            continue;
        };
        let paths: BTreeSet<String> = w.routes.keys().map(|(p, _)| p.clone()).collect();
        if sticky.contains(api) {
            let cell = placed.cell_of.get(api).copied().unwrap_or(0);
            if let Err(why) = placer.grow(cell, &api.account, &paths) {
                placed.refused.insert(api.clone(), why);
            }
            continue;
        }
        let newcomer = Newcomer::new(api.account.clone(), paths);
        let (cell, refusal) = match placer.place(&newcomer) {
            Placement::Cell(cell) => (cell, None),
            // Placed with its first home: the claims there refuse what lives elsewhere.
            Placement::Split { first, .. } => (first.1, None),
            Placement::Full { home } => {
                let why = match &home {
                    Some((segment, cell)) => format!(
                        "no room: cell {} (where {segment} lives) cannot take its {} resources (the cell's quota, its account's share of it, or a routing rule)",
                        cells.ids.get(*cell).map_or("?", String::as_str),
                        newcomer.needs.len()
                    ),
                    None => format!(
                        "no room: none of the {} cells can take its {} resources (each cell's quota, its account's share of it, or a routing rule)",
                        cells.ids.len(),
                        newcomer.needs.len()
                    ),
                };
                let cell = home
                    .map_or(0, |(_, c)| c)
                    .min(cells.ids.len().saturating_sub(1));
                (cell, Some(why))
            }
            Placement::Variable { segment } => (0, Some(variable_reason(&segment))),
        };
        placed.cell_of.insert(api.clone(), cell);
        if let Some(why) = refusal {
            placed.refused.insert(api.clone(), why);
        }
    }
    // APIs in scope with no intent (deleted) and no record stay nowhere in particular.
    for api in observed.apis.keys() {
        if !placed.orphaned.contains_key(api) {
            placed.cell_of.entry(api.clone()).or_insert(0);
        }
    }
    placed.homes = placer.homes().clone();
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn account(n: u8) -> AccountId {
        AccountId::parse(&format!("{n:012}")).unwrap()
    }

    fn newcomer(n: u8, paths: &[&str]) -> Newcomer {
        Newcomer::new(account(n), paths.iter().map(|p| p.to_string()).collect())
    }

    const ROOM: RuleRoom = RuleRoom {
        left: 50,
        per_account: 50,
    };

    fn placer(cells: usize, quota: usize) -> Placer {
        Placer::new(
            vec![CellLoad::default(); cells],
            BTreeMap::new(),
            quota,
            quota,
            ROOM,
        )
    }

    fn homes(of: &[(&str, usize)]) -> BTreeMap<String, usize> {
        of.iter().map(|(s, c)| (s.to_string(), *c)).collect()
    }

    #[test]
    fn first_segments_and_what_a_rule_can_match() {
        assert_eq!(first_segment("/"), None);
        assert_eq!(first_segment("/orders/{id}"), Some("orders"));
        assert_eq!(first_segment("/{tenant}/x"), Some("{tenant}"));
        assert!(routable("orders"));
        assert!(routable("v1.2_x-y"));
        assert!(!routable("{tenant}"));
        assert!(!routable("{proxy+}"));
        assert!(!routable(&"a".repeat(128)));
    }

    #[test]
    fn a_newcomer_goes_to_the_first_cell_with_room() {
        let mut p = placer(3, 5);
        assert_eq!(
            p.place(&newcomer(1, &["/a", "/a/x", "/a/y"])),
            Placement::Cell(0)
        );
        // Cell 0 holds 3 of 5: four more do not fit, the second cell takes them.
        assert_eq!(
            p.place(&newcomer(2, &["/b", "/b/1", "/b/2", "/b/3"])),
            Placement::Cell(1)
        );
        assert_eq!(p.place(&newcomer(3, &["/c", "/c/1"])), Placement::Cell(0));
        assert_eq!(p.homes().get("b"), Some(&1));
    }

    #[test]
    fn apis_sharing_a_first_segment_share_a_cell() {
        let mut p = placer(2, 10);
        p.loads[0].resources = 9;
        assert_eq!(p.place(&newcomer(1, &["/shop"])), Placement::Cell(0));
        // Cell 0 is now full, but /shop lives there: the next /shop API is tied to it.
        assert_eq!(
            p.place(&newcomer(2, &["/shop/cart"])),
            Placement::Full {
                home: Some(("/shop".into(), 0))
            }
        );
        assert_eq!(p.place(&newcomer(3, &["/other"])), Placement::Cell(1));
        assert_eq!(p.place(&newcomer(4, &["/other/x"])), Placement::Cell(1));
    }

    #[test]
    fn a_hostile_api_spanning_two_cells_is_split_and_placed_nowhere() {
        let homes = homes(&[("users", 0), ("orders", 1)]);
        let mut p = Placer::new(vec![CellLoad::default(); 2], homes, 100, 100, ROOM);
        assert_eq!(
            p.place(&newcomer(9, &["/users/evil", "/orders/evil"])),
            Placement::Split {
                first: ("/orders".into(), 1),
                second: ("/users".into(), 0)
            }
        );
        // Nothing of it was counted in.
        assert_eq!(p.loads[0].resources + p.loads[1].resources, 0);
    }

    #[test]
    fn the_root_lives_in_the_first_cell_and_a_variable_segment_only_with_one_cell() {
        let mut p = Placer::new(
            vec![CellLoad::default(); 2],
            homes(&[("orders", 1)]),
            100,
            100,
            ROOM,
        );
        assert!(matches!(
            p.place(&newcomer(2, &["/", "/orders/x"])),
            Placement::Split { .. }
        ));
        assert_eq!(p.place(&newcomer(2, &["/", "/a"])), Placement::Cell(0));
        // It would take the requests of any routed segment whose rule is missing.
        assert_eq!(
            p.place(&newcomer(1, &["/{tenant}/x"])),
            Placement::Variable {
                segment: "/{tenant}".into()
            }
        );
        assert_eq!(
            placer(1, 100).place(&newcomer(1, &["/{tenant}/x"])),
            Placement::Cell(0)
        );
    }

    #[test]
    fn a_home_in_a_cell_no_longer_configured_has_no_room_and_no_panic() {
        let mut p = Placer::new(
            vec![CellLoad::default(); 2],
            homes(&[("gone", 5)]),
            100,
            100,
            ROOM,
        );
        assert_eq!(
            p.place(&newcomer(1, &["/gone/x"])),
            Placement::Full {
                home: Some(("/gone".into(), 5))
            }
        );
        let mut none = Placer::new(Vec::new(), BTreeMap::new(), 100, 100, ROOM);
        assert_eq!(
            none.place(&newcomer(1, &["/"])),
            Placement::Full {
                home: Some(("/".into(), 0))
            }
        );
    }

    #[test]
    fn the_account_share_holds_per_cell() {
        let mut p = Placer::new(vec![CellLoad::default(); 2], BTreeMap::new(), 100, 3, ROOM);
        assert_eq!(
            p.place(&newcomer(1, &["/a", "/a/1", "/a/2"])),
            Placement::Cell(0)
        );
        assert_eq!(p.place(&newcomer(1, &["/b", "/b/1"])), Placement::Cell(1));
        assert_eq!(
            p.place(&newcomer(1, &["/c", "/c/1"])),
            Placement::Full { home: None }
        );
        // Another account still fits in the first cell.
        assert_eq!(p.place(&newcomer(2, &["/d"])), Placement::Cell(0));
    }

    #[test]
    fn a_new_segment_outside_the_first_cell_needs_a_rule_left() {
        let room = RuleRoom {
            left: 1,
            per_account: 50,
        };
        let mut p = Placer::new(vec![CellLoad::default(); 2], BTreeMap::new(), 2, 100, room);
        assert_eq!(p.place(&newcomer(1, &["/a", "/a/1"])), Placement::Cell(0));
        assert_eq!(p.place(&newcomer(1, &["/b"])), Placement::Cell(1));
        // The one rule is used: /c cannot be routed to cell 1, and cell 0 is full.
        assert_eq!(
            p.place(&newcomer(1, &["/c"])),
            Placement::Full { home: None }
        );
        // /b is routed already: more of it needs no new rule.
        assert_eq!(p.place(&newcomer(1, &["/b/x"])), Placement::Cell(1));
    }

    #[test]
    fn one_account_cannot_use_up_the_domains_rules() {
        let room = RuleRoom {
            left: 50,
            per_account: 2,
        };
        let mut p = Placer::new(vec![CellLoad::default(); 2], BTreeMap::new(), 1, 100, room);
        p.loads[0].resources = 1; // the first cell is full: every newcomer needs a rule
        assert_eq!(p.place(&newcomer(6, &["/Orders"])), Placement::Cell(1));
        assert_eq!(
            p.place(&newcomer(6, &["/ORDERS"])),
            Placement::Full { home: None }
        );
        let mut p = Placer::new(
            vec![CellLoad::default(); 2],
            BTreeMap::new(),
            100,
            100,
            room,
        );
        p.loads[0].resources = 100;
        assert_eq!(p.place(&newcomer(6, &["/a", "/b"])), Placement::Cell(1));
        assert_eq!(
            p.place(&newcomer(6, &["/c"])),
            Placement::Full { home: None }
        );
        // Another account's newcomer still gets a rule.
        assert_eq!(p.place(&newcomer(7, &["/d"])), Placement::Cell(1));
    }

    #[test]
    fn a_live_api_growing_a_first_segment_pays_a_rule_as_a_newcomer_would() {
        let room = RuleRoom {
            left: 50,
            per_account: 2,
        };
        let homes = homes(&[("shop", 1)]);
        let mut p = Placer::new(vec![CellLoad::default(); 2], homes, 100, 100, room);
        let paths = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<BTreeSet<_>>();
        // In the second cell: each new segment takes a rule, charged to its account.
        assert_eq!(
            p.grow(1, &account(6), &paths(&["/shop/x", "/market"])),
            Ok(())
        );
        assert_eq!(p.homes().get("market"), Some(&1));
        assert_eq!(p.grow(1, &account(6), &paths(&["/a"])), Ok(()));
        let refused = p.grow(1, &account(6), &paths(&["/b"])).unwrap_err();
        assert!(
            refused.starts_with("no routing rule left for its new first segments /b"),
            "{refused}"
        );
        assert_eq!(p.homes().get("b"), None);
        // In the first cell a new segment needs no rule; a variable one is refused.
        assert_eq!(p.grow(0, &account(6), &paths(&["/c"])), Ok(()));
        assert!(p
            .grow(0, &account(6), &paths(&["/{x}/v2"]))
            .unwrap_err()
            .contains("variable first segment"));
    }

    /// The first cell alone, empty, with room for everything.
    fn one_empty_cell<'a>(ids: &'a [String], trees: &'a [&'a [PublicResource]]) -> CellsView<'a> {
        CellsView {
            ids,
            trees,
            quota: 300,
            account_quota: 300,
            rule_quota: 50,
            account_rules: 5,
            live_rules: 0,
        }
    }

    /// A record of the removed cell `gone000000` claiming `claims` (GET each).
    fn record_in_gone_cell(claims: &[&str]) -> crate::routes::Record {
        crate::routes::Record {
            claims: claims
                .iter()
                .map(|p| (p.to_string(), ["GET".to_string()].into()))
                .collect(),
            cell: Some("gone000000".into()),
            ..crate::routes::Record::default()
        }
    }

    #[test]
    fn a_cell_no_longer_configured_keeps_its_segments_and_rules() {
        use crate::routes::Observed;
        let ids = vec!["first00000".to_string()];
        let orphan = ApiRef::parse("333333333333/orphan0000").unwrap();
        let mut observed = Observed::default();
        observed
            .records
            .insert(orphan.clone(), record_in_gone_cell(&["/birds"]));
        let trees: [&[PublicResource]; 1] = [&[]];
        let view = one_empty_cell(&ids, &trees);
        let placed = place_all(&observed, &Desired::new(), view);
        assert!(placed.kept_segments.contains("birds"));
        assert_eq!(
            placed.foreign_to(0, &ids).get("birds").map(String::as_str),
            Some("gone000000")
        );
        // A newcomer on its segment has nowhere to go.
        let mut p = Placer::new(
            vec![CellLoad::default()],
            placed.homes.clone(),
            300,
            300,
            ROOM,
        );
        assert!(matches!(
            p.place(&newcomer(2, &["/birds/x"])),
            Placement::Full { home: Some(_) }
        ));
        assert!(placed.orphaned.contains_key(&orphan));
    }

    #[test]
    fn a_record_of_a_cell_no_longer_configured_that_holds_nothing_is_placed_again() {
        // Refused, or holding only its name, in a cell since removed or waiting again: left
        // as it is, it would never be placed or given a status again.
        use crate::routes::desired::{Exposure, Intent};
        use crate::routes::Observed;
        let ids = vec!["first00000".to_string()];
        let api = ApiRef::parse("333333333333/refused000").unwrap();
        let mut observed = Observed::default();
        observed
            .records
            .insert(api.clone(), record_in_gone_cell(&[]));
        let mut desired = Desired::new();
        desired.insert(
            api.clone(),
            Intent {
                name: Some("refused".into()),
                exposure: Exposure::NotExposed,
            },
        );
        let trees: [&[PublicResource]; 1] = [&[]];
        let view = one_empty_cell(&ids, &trees);
        let placed = place_all(&observed, &desired, view);
        assert!(!placed.orphaned.contains_key(&api));
        assert_eq!(placed.cell_of.get(&api), Some(&0));
        assert!(placed.refused.is_empty());
    }

    fn live(id: &str, priority: u32, base: Option<&str>, api: &str) -> LiveRule {
        LiveRule {
            id: id.into(),
            priority,
            base_path: base.map(Into::into),
            header_conditions: 0,
            api_id: api.into(),
            stage: "prd".into(),
            strip_base_path: false,
        }
    }

    fn recorded(of: &[(&str, &str)]) -> BTreeMap<String, String> {
        of.iter()
            .map(|(s, id)| (s.to_string(), id.to_string()))
            .collect()
    }

    #[test]
    fn rules_are_made_kept_replaced_and_deleted_only_when_recorded() {
        let wanted = BTreeMap::from([
            ("a".to_string(), "cell1".to_string()),
            ("b".to_string(), "cell2".to_string()),
            ("c".to_string(), "cell1".to_string()),
        ]);
        let rec = recorded(&[
            ("a", "r-a"),
            ("b", "r-b"),
            ("gone", "r-gone"),
            ("lost", "r-lost"),
        ]);
        let rules = vec![
            live("r-a", FIRST_RULE_PRIORITY, Some("a"), "cell1"),
            // Someone pointed frontdoor's rule elsewhere: put back, same id and priority.
            live("r-b", FIRST_RULE_PRIORITY + 1, Some("b"), "elsewhere"),
            // An operator moved frontdoor's rule: its live priority is the one freed.
            live("r-gone", FIRST_RULE_PRIORITY + 7, Some("gone"), "cell1"),
            // A hand-made rule on a priority frontdoor would otherwise take.
            live("hand", FIRST_RULE_PRIORITY + 2, Some("x"), "cell9"),
        ];
        let plan = plan_rules(&wanted, &rec, &rules, "prd", 4);
        assert_eq!(
            plan.replace,
            BTreeMap::from([(
                "b".to_string(),
                RuleFix {
                    id: "r-b".into(),
                    api_id: "cell2".into(),
                    priority: FIRST_RULE_PRIORITY + 1
                }
            )])
        );
        // The rule AWS did not list is deleted too (NotFound is done).
        assert_eq!(
            plan.delete,
            recorded(&[("gone", "r-gone"), ("lost", "r-lost")])
        );
        // The quota of 4 holds once r-gone is gone; the hand-made priority is not taken.
        assert_eq!(
            plan.create,
            BTreeMap::from([(
                "c".to_string(),
                NewRule {
                    api_id: "cell1".into(),
                    priority: FIRST_RULE_PRIORITY + 3
                }
            )])
        );
        assert!(plan.overlapped.is_empty() && plan.over_quota.is_empty());
    }

    #[test]
    fn a_hand_made_rule_that_meets_a_segment_is_reported_not_touched() {
        let wanted = BTreeMap::from([("a".to_string(), "cell1".to_string())]);
        for rule in [
            live("catch-all", 5, None, "other"),
            live("same", 7, Some("a"), "other"),
            live("below", 7, Some("a/v2"), "other"),
            live("after", FIRST_RULE_PRIORITY + 9, Some("a"), "other"),
        ] {
            let plan = plan_rules(
                &wanted,
                &BTreeMap::new(),
                std::slice::from_ref(&rule),
                "prd",
                50,
            );
            assert_eq!(plan.overlapped.get("a"), Some(&rule.id), "{rule:?}");
            assert_eq!(plan.create.len(), 1);
            assert!(plan.delete.is_empty() && plan.replace.is_empty());
        }
        // A header-conditioned rule takes the requests a client sends with its header.
        let mut headed = live("headed", 5, Some("a"), "other");
        headed.header_conditions = 1;
        let plan = plan_rules(&wanted, &BTreeMap::new(), &[headed], "prd", 50);
        assert_eq!(plan.overlapped.get("a"), Some(&"headed".to_string()));
        // A base path that merely starts with the same letters is another segment.
        let plan = plan_rules(
            &wanted,
            &BTreeMap::new(),
            &[live("ab", 5, Some("ab"), "other")],
            "prd",
            50,
        );
        assert!(plan.overlapped.is_empty());
    }

    #[test]
    fn the_domain_quota_is_known_before_aws_says_it() {
        let wanted: BTreeMap<String, String> = (0..5)
            .map(|i| (format!("s{i}"), "cell1".to_string()))
            .collect();
        let rules = vec![live("hand", 1, Some("x"), "other")];
        let plan = plan_rules(&wanted, &BTreeMap::new(), &rules, "prd", 3);
        assert_eq!(plan.create.len(), 2);
        assert_eq!(plan.over_quota.len(), 3);
    }

    #[test]
    fn place_all_keeps_live_apis_leaves_orphans_and_places_newcomers() {
        use crate::routes::fixtures::{cats, ctx};
        use crate::routes::{desired, Observed, PublicResource, Record};
        let ids = vec!["first00000".to_string(), "second0000".to_string()];
        let cats = cats(&[("expose", "true"), ("expose:paths", "/cats")]);
        let dogs = ApiRef::parse("333333333333/dogs000000").unwrap();
        let orphan = ApiRef::parse("333333333333/orphan0000").unwrap();
        let mut observed = Observed::default();
        observed.apis.insert(cats.api.clone(), Some(cats.clone()));
        observed.apis.insert(orphan.clone(), None);
        // dogs lives in the second cell; the orphan's cell is no longer configured.
        observed.records.insert(
            dogs.clone(),
            Record {
                claims: [("/dogs".to_string(), ["GET".to_string()].into())].into(),
                cell: Some(ids[1].clone()),
                ..Record::default()
            },
        );
        observed
            .records
            .insert(orphan.clone(), record_in_gone_cell(&["/birds"]));
        let tree = |paths: &[&str]| -> Vec<PublicResource> {
            paths
                .iter()
                .map(|p| PublicResource {
                    id: p.to_string(),
                    path: p.to_string(),
                    methods: BTreeMap::new(),
                })
                .collect()
        };
        let (first, second) = (tree(&["/", "/health"]), tree(&["/", "/dogs"]));
        let trees = [first.as_slice(), second.as_slice()];
        let view = CellsView {
            ids: &ids,
            trees: &trees,
            quota: 300,
            account_quota: 300,
            rule_quota: 50,
            account_rules: 5,
            live_rules: 0,
        };
        let placed = place_all(&observed, &desired::desired(&observed, &ctx()), view);
        assert_eq!(placed.cell_of.get(&dogs), Some(&1));
        assert_eq!(placed.cell_of.get(&cats.api), Some(&0));
        assert!(
            !placed.cell_of.contains_key(&orphan),
            "left exactly as it is"
        );
        assert_eq!(
            placed.orphaned.get(&orphan).map(String::as_str),
            Some("gone000000")
        );
        assert_eq!(placed.homes.get("dogs"), Some(&1));
        assert_eq!(placed.homes.get("cats"), Some(&0));
        assert_eq!(placed.homes.get("health"), Some(&0));
        assert!(placed.refused.is_empty());
        // The orphan's segment is foreign to every cell, named for the cell it recorded.
        assert_eq!(
            placed.foreign_to(0, &ids),
            BTreeMap::from([
                ("birds".to_string(), "gone000000".to_string()),
                ("dogs".to_string(), ids[1].clone())
            ])
        );
        // Only a segment that lives in a cell other than the first, with a route, is routed.
        let held = [
            (1, "/dogs/{id}".to_string()),
            (0, "/cats".to_string()),
            (1, "/cats".to_string()),
        ];
        assert_eq!(
            placed.routed(&ids, held),
            BTreeMap::from([("dogs".to_string(), ids[1].clone())])
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(23), ..ProptestConfig::default() })]

        /// However newcomers arrive, a first segment lives in one cell, every placed API's
        /// segments live in its cell, no cell or account passes its quota, and a newcomer
        /// is refused only when no cell it may go to has room.
        #[test]
        fn placement_keeps_segments_whole_and_refuses_only_when_full(
            asks in proptest::collection::vec(
                (0u8..4, proptest::collection::btree_set(0u8..9, 1..4), 1usize..6),
                1..40,
            ),
            cells in 1usize..5,
            preload in proptest::collection::vec(0usize..12, 4),
        ) {
            let (quota, share, rules) = (12, 8, 6);
            let loads: Vec<CellLoad> = (0..cells)
                .map(|c| CellLoad { resources: preload[c], ..CellLoad::default() })
                .collect();
            let room = RuleRoom { left: rules, per_account: 4 };
            let mut p = Placer::new(loads, BTreeMap::new(), quota, share, room);
            let mut placed: Vec<(BTreeSet<String>, usize)> = Vec::new();
            for (acct, segs, size) in asks {
                // Segment 0 is the root: it ties an API to the first cell.
                let paths: BTreeSet<String> = segs
                    .iter()
                    .map(|s| if *s == 0 { "/".to_string() } else { format!("/s{s}") })
                    .collect();
                let mut n = Newcomer::new(account(acct), paths.clone());
                // Stand-in resources of its own, so sizes vary apart from the paths.
                n.needs.extend((0..size).map(|k| format!("/own/{acct}/{k}/{}", segs.len())));
                let before = p.clone();
                match p.place(&n) {
                    Placement::Cell(c) => placed.push((paths, c)),
                    Placement::Full { home } => {
                        prop_assert_eq!(before.loads, p.loads.clone());
                        let fits = |c: usize| {
                            let l = &p.loads[c];
                            let size = n.cost(l);
                            let new = paths
                                .iter()
                                .filter_map(|x| first_segment(x))
                                .filter(|s| !p.homes().contains_key(*s))
                                .count();
                            let used = p.rules_by_account.get(&n.account).copied().unwrap_or(0);
                            l.resources + size <= quota
                                && l.by_account.get(&n.account).copied().unwrap_or(0) + size <= share
                                && (c == 0 || (new <= p.rules_left && used + new <= 4))
                        };
                        match home {
                            Some((_, c)) => prop_assert!(!fits(c)),
                            None => prop_assert!((0..cells).all(|c| !fits(c))),
                        }
                    }
                    Placement::Split { .. } | Placement::Variable { .. } => {}
                }
            }
            for (paths, cell) in &placed {
                for seg in paths.iter().filter_map(|x| first_segment(x)) {
                    prop_assert_eq!(p.homes().get(seg), Some(cell));
                }
                if paths.contains("/") {
                    prop_assert_eq!(*cell, 0);
                }
            }
            for (c, load) in p.loads.iter().enumerate() {
                prop_assert!(load.resources <= quota.max(preload[c]));
                prop_assert!(load.by_account.values().all(|r| *r <= share));
            }
            prop_assert!(p.homes().values().filter(|c| **c != 0).count() <= rules);
        }

        /// Applying a rule plan and planning again asks for nothing, whatever rules an
        /// operator made or moved: the plan converges, never touches a rule it did not
        /// record, never passes the quota and never gives two rules one priority.
        #[test]
        fn rule_plans_converge(
            wanted in proptest::collection::btree_map("[a-e]", "cell[12]", 0..5),
            before in proptest::collection::btree_map("[a-g]", ("cell[123]", 0u32..4, proptest::bool::ANY), 0..6),
            hand in proptest::collection::vec(("[a-g]", 0u32..8), 0..3),
            quota in 3usize..9,
        ) {
            let mut rec = BTreeMap::new();
            let mut rules = Vec::new();
            for (i, (seg, (cell, shift, listed))) in before.iter().enumerate() {
                let id = format!("r{i}");
                rec.insert(seg.clone(), id.clone());
                if *listed {
                    rules.push(live(&id, FIRST_RULE_PRIORITY + i as u32 * 4 + shift, Some(seg), cell));
                }
            }
            for (i, (seg, at)) in hand.iter().enumerate() {
                let priority = FIRST_RULE_PRIORITY + at;
                if rules.iter().all(|r| r.priority != priority) {
                    rules.push(live(&format!("hand{i}"), priority, Some(seg), "other"));
                }
            }
            let hand_made: Vec<LiveRule> = rules.iter().filter(|r| r.id.starts_with("hand")).cloned().collect();
            let plan = plan_rules(&wanted, &rec, &rules, "prd", quota);
            for id in plan.delete.values().chain(plan.replace.values().map(|f| &f.id)) {
                prop_assert!(!id.starts_with("hand"));
            }
            // Apply it.
            rules.retain(|r| !plan.delete.values().any(|d| *d == r.id));
            rec.retain(|seg, _| !plan.delete.contains_key(seg));
            for (seg, fix) in &plan.replace {
                let r = rules.iter_mut().find(|r| r.id == fix.id).unwrap();
                r.api_id = fix.api_id.clone();
                r.base_path = Some(seg.clone());
            }
            for (seg, new) in &plan.create {
                let id = format!("new-{seg}");
                rec.insert(seg.clone(), id.clone());
                rules.push(live(&id, new.priority, Some(seg), &new.api_id));
            }
            let priorities: BTreeSet<u32> = rules.iter().map(|r| r.priority).collect();
            prop_assert_eq!(priorities.len(), rules.len());
            prop_assert!(rules.len() <= quota.max(rules.len() - plan.create.len()));
            prop_assert!(hand_made.iter().all(|h| rules.contains(h)));
            let again = plan_rules(&wanted, &rec, &rules, "prd", quota);
            prop_assert!(again.create.is_empty() || again.create.keys().all(|s| plan.over_quota.contains(s)));
            prop_assert!(again.replace.is_empty() && again.delete.is_empty());
        }
    }
}
