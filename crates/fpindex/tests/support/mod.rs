//! Shared by the fpindex tests.

/// A deterministic xorshift stream, for test data too large for proptest
/// to shrink usefully.
pub fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
