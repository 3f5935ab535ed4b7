//! SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): the small deterministic draws the explorers
//! make on top of shuttle's own generators (the walk's keep-or-draw coin, PCT's depth, the
//! thread a repeated schedule is steered to), each from a state seeded by the explorer's seed.

/// Advance `state` and return the next 64-bit draw.
pub fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
