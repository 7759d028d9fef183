//! Video links between sessions: a local session follows the remote slot it links to.

use std::collections::HashSet;

/// The longest chain of links followed before giving up; real chains have one or two hops.
pub const MAX_CHAIN: usize = 64;

/// Whether linking `session` to `target` would close a loop, given each session's current
/// link (`next`). A session may not link to itself, nor to anything that already leads back
/// to it. A chain longer than [`MAX_CHAIN`] counts as a loop.
pub fn would_cycle(session: i64, target: i64, mut next: impl FnMut(i64) -> Option<i64>) -> bool {
    let mut seen = HashSet::new();
    let mut at = Some(target);
    while let Some(current) = at {
        if current == session || !seen.insert(current) || seen.len() > MAX_CHAIN {
            return true;
        }
        at = next(current);
    }
    false
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn links(pairs: &[(i64, i64)]) -> HashMap<i64, i64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn a_session_cannot_link_to_itself() {
        assert!(would_cycle(1, 1, |_| None));
    }

    #[test]
    fn linking_back_along_a_chain_is_a_cycle() {
        // 3 → 2 → 1; linking 1 to 3 would close the loop.
        let chain = links(&[(3, 2), (2, 1)]);
        assert!(would_cycle(1, 3, |s| chain.get(&s).copied()));
    }

    #[test]
    fn linking_to_an_independent_slot_is_fine() {
        let chain = links(&[(3, 2)]);
        assert!(!would_cycle(1, 3, |s| chain.get(&s).copied()));
    }

    #[test]
    fn an_existing_loop_elsewhere_stops_the_walk() {
        let chain = links(&[(2, 3), (3, 2)]);
        assert!(would_cycle(1, 2, |s| chain.get(&s).copied()));
    }
}
