//! Who should hold a symbol: rendezvous (highest-random-weight) hashing over the live
//! members that list it. Every member computes the same answer from the same member list,
//! with no coordination, and a member joining or leaving moves only the symbols it wins or
//! held (about 1/n of them), not a reshuffle of everything.

/// The weight of `member` for `symbol`: a fixed hash (FNV-1a, then a SplitMix64 finaliser
/// to spread the bits), identical in every process and version.
fn weight(member: &str, symbol: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in member.bytes().chain([0xff]).chain(symbol.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The `replicas` members (of `candidates`) that should hold `symbol`, best first.
pub(crate) fn holders<'m>(symbol: &str, candidates: &[&'m str], replicas: usize) -> Vec<&'m str> {
    let mut ranked: Vec<(u64, &str)> = candidates
        .iter()
        .map(|member| (weight(member, symbol), *member))
        .collect();
    // Highest weight first; equal weights (never in practice) by name, so all agree.
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    ranked
        .into_iter()
        .take(replicas)
        .map(|(_, member)| member)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Vec<String> {
        (0..600).map(|n| format!("SYM{n}USDT")).collect()
    }

    #[test]
    fn every_member_agrees_whatever_order_it_lists_members_in() {
        for symbol in symbols() {
            assert_eq!(
                holders(&symbol, &["a", "b", "c"], 2),
                holders(&symbol, &["c", "a", "b"], 2)
            );
        }
    }

    #[test]
    fn the_load_is_shared_about_evenly() {
        let members = ["m1", "m2", "m3"];
        let mut counts = [0; 3];
        for symbol in symbols() {
            let holder = holders(&symbol, &members, 1)[0];
            counts[members.iter().position(|m| *m == holder).unwrap()] += 1;
        }
        for count in counts {
            assert!((150..=250).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn a_member_leaving_moves_only_its_own_symbols() {
        for symbol in symbols() {
            let before = holders(&symbol, &["m1", "m2", "m3"], 1)[0];
            let after = holders(&symbol, &["m1", "m2"], 1)[0];
            if before != "m3" {
                assert_eq!(before, after, "{symbol} moved although its holder stayed");
            }
        }
    }

    #[test]
    fn replicas_are_distinct_members() {
        for symbol in symbols() {
            let two = holders(&symbol, &["m1", "m2", "m3"], 2);
            assert_eq!(two.len(), 2);
            assert_ne!(two[0], two[1]);
        }
        assert_eq!(holders("X", &["m1"], 2), ["m1"]);
    }
}
