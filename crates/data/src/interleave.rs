//! Team-draft interleaving (Radlinski, Kurup and Joachims, 2008): one list made from two
//! rankers' lists, each item credited to the ranker (team) that contributed it. A user's
//! clicks then say which ranker they prefer, within one list, so far fewer users are needed
//! than for an A/B split, where each user sees one ranker and the comparison is between
//! groups of users.
//!
//! The draft: while the merged list is short, the team with fewer picks so far picks next
//! (a coin flip when they are even); it adds its highest-ranked item not already in the
//! list. A team whose list is used up stops picking. The coin flips come from the request's
//! seed, so the same seed merges the same way.
//!
//! Crediting: a list's team for a user is the one with more clicked (watched) items; equal
//! counts are a tie. The experiment's preference is per user (the majority of their lists'
//! credits), compared by a sign test with ties left out.
//!
//! Wasm-safe: the edge merges with it, the CLI and the benchmark credit with it.

use std::collections::BTreeMap;

use marquee_model::random::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::stats::{sign_test, SignTest};

/// Which ranker contributed an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Team {
    /// The experiment's first variant (the control).
    A,
    /// Its second variant (the challenger).
    B,
}

impl Team {
    /// The team's letter in a logged teams string (`"ABBA…"`).
    pub fn letter(self) -> char {
        match self {
            Team::A => 'A',
            Team::B => 'B',
        }
    }
}

/// Merges `a` and `b` into at most `count` distinct items by team draft, with coin flips
/// from `seed`. Each item comes with the team that picked it.
pub fn team_draft<'l>(a: &'l [String], b: &'l [String], count: usize, seed: u64) -> Vec<(&'l str, Team)> {
    let mut random = SplitMix64::new(seed);
    let mut merged: Vec<(&str, Team)> = Vec::with_capacity(count);
    let (mut next_a, mut next_b) = (0, 0);
    let (mut picks_a, mut picks_b) = (0usize, 0usize);
    let taken = |merged: &[(&str, Team)], id: &str| merged.iter().any(|(other, _)| *other == id);
    while merged.len() < count {
        // The first item each team could still add.
        while next_a < a.len() && taken(&merged, &a[next_a]) {
            next_a += 1;
        }
        while next_b < b.len() && taken(&merged, &b[next_b]) {
            next_b += 1;
        }
        let (a_left, b_left) = (next_a < a.len(), next_b < b.len());
        let team = match (a_left, b_left) {
            (false, false) => break,
            (true, false) => Team::A,
            (false, true) => Team::B,
            (true, true) if picks_a < picks_b => Team::A,
            (true, true) if picks_b < picks_a => Team::B,
            (true, true) => {
                if random.next_u64() & 1 == 0 {
                    Team::A
                } else {
                    Team::B
                }
            }
        };
        match team {
            Team::A => {
                merged.push((&a[next_a], Team::A));
                picks_a += 1;
            }
            Team::B => {
                merged.push((&b[next_b], Team::B));
                picks_b += 1;
            }
        }
    }
    merged
}

/// The teams of a merged list as logged: one letter per position.
pub fn teams_string(merged: &[(&str, Team)]) -> String {
    merged.iter().map(|(_, team)| team.letter()).collect()
}

/// Which team one list credits, from its logged teams string and the 1-based ranks the user
/// clicked or watched: the team with more of them (`None` for a tie, or no click).
pub fn credit(teams: &str, clicked_ranks: &[usize]) -> Option<Team> {
    let (mut a, mut b) = (0, 0);
    for &rank in clicked_ranks {
        match teams.as_bytes().get(rank.wrapping_sub(1)) {
            Some(b'A') => a += 1,
            Some(b'B') => b += 1,
            _ => {}
        }
    }
    match a.cmp(&b) {
        std::cmp::Ordering::Greater => Some(Team::A),
        std::cmp::Ordering::Less => Some(Team::B),
        std::cmp::Ordering::Equal => None,
    }
}

/// The interleaving experiment's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InterleavingReadout {
    /// Users with at least one credited list.
    pub users: u64,
    /// Users whose credited lists favour A (more lists credited A than B), B, or neither.
    pub users_preferring_a: u64,
    pub users_preferring_b: u64,
    pub users_tied: u64,
    /// The sign test over the users who prefer one team (`None` when none does).
    pub sign_test: Option<SignTest>,
}

/// Each user's preference from their lists' credits, and the sign test over users.
pub fn interleaving_readout(credits: &[(u64, Option<Team>)]) -> InterleavingReadout {
    let mut per_user: BTreeMap<u64, i64> = BTreeMap::new();
    for &(user, team) in credits {
        let score = per_user.entry(user).or_default();
        match team {
            Some(Team::A) => *score += 1,
            Some(Team::B) => *score -= 1,
            None => {}
        }
    }
    let users_preferring_a = per_user.values().filter(|&&score| score > 0).count() as u64;
    let users_preferring_b = per_user.values().filter(|&&score| score < 0).count() as u64;
    InterleavingReadout {
        users: per_user.len() as u64,
        users_preferring_a,
        users_preferring_b,
        users_tied: per_user.len() as u64 - users_preferring_a - users_preferring_b,
        sign_test: sign_test(users_preferring_a, users_preferring_b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        text.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn the_draft_alternates_fairly_and_never_repeats_an_item() {
        let a = ids("a,b,c,d,e");
        let b = ids("b,x,a,y,z");
        for seed in 0..50 {
            let merged = team_draft(&a, &b, 6, seed);
            assert_eq!(merged.len(), 6);
            let mut seen: Vec<&str> = merged.iter().map(|(id, _)| *id).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 6, "{merged:?}");
            // After every pair of picks the teams are even.
            for pair in merged.chunks(2) {
                if let [(_, first), (_, second)] = pair {
                    assert_ne!(first, second, "seed {seed}: {merged:?}");
                }
            }
            // Each team's items keep its ranker's order.
            for (team, list) in [(Team::A, &a), (Team::B, &b)] {
                let positions: Vec<usize> = merged
                    .iter()
                    .filter(|(_, t)| *t == team)
                    .map(|(id, _)| list.iter().position(|x| x == id).unwrap())
                    .collect();
                assert!(positions.windows(2).all(|w| w[0] < w[1]), "{merged:?}");
            }
        }
        // Deterministic for a seed; the first pick is A about half the time.
        assert_eq!(team_draft(&a, &b, 6, 7), team_draft(&a, &b, 6, 7));
        let first_a = (0..1000).filter(|&seed| team_draft(&a, &b, 2, seed)[0].1 == Team::A).count();
        assert!((430..570).contains(&first_a), "{first_a}");
    }

    #[test]
    fn a_worked_draft() {
        // Seed chosen so that the first coin says A: A takes a; B takes b; coin; ...
        let a = ids("a,b,c");
        let b = ids("b,c,d");
        let seed = (0..100).find(|&seed| team_draft(&a, &b, 1, seed)[0].1 == Team::A).unwrap();
        let merged = team_draft(&a, &b, 4, seed);
        assert_eq!(&merged[..2], &[("a", Team::A), ("b", Team::B)]);
        // Then c goes to whichever team the coin picks, and d to B: if A took c, B is behind;
        // if B took c, A's list is used up.
        let rest: Vec<(&str, Team)> = merged[2..].to_vec();
        assert!(rest == [("c", Team::A), ("d", Team::B)] || rest == [("c", Team::B), ("d", Team::B)], "{merged:?}");
        // Lists that run out: only the other team picks.
        assert_eq!(team_draft(&ids("a"), &ids("a,b,c"), 3, 1).len(), 3);
        assert!(team_draft(&[], &[], 5, 1).is_empty());
    }

    #[test]
    fn credit_goes_to_the_team_with_more_clicks() {
        assert_eq!(credit("ABAB", &[1]), Some(Team::A));
        assert_eq!(credit("ABAB", &[2, 3, 4]), Some(Team::B));
        assert_eq!(credit("ABAB", &[1, 2]), None);
        assert_eq!(credit("ABAB", &[]), None);
        assert_eq!(credit("AB", &[0, 9]), None, "ranks outside the list count for nobody");
    }

    #[test]
    fn the_readout_counts_users_not_lists() {
        // User 1: two lists for B, one for A: prefers B. User 2: A. User 3: one tie.
        let credits = [(1, Some(Team::B)), (1, Some(Team::B)), (1, Some(Team::A)), (2, Some(Team::A)), (3, None)];
        let readout = interleaving_readout(&credits);
        assert_eq!(
            (readout.users, readout.users_preferring_a, readout.users_preferring_b, readout.users_tied),
            (3, 1, 1, 1)
        );
        assert!((readout.sign_test.unwrap().p_value - 1.0).abs() < 1e-12);
    }
}
