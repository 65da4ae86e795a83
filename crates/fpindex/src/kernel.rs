//! The popcount of `a AND b`, the one operation similarity search spends its
//! time in. The widest instructions the CPU has are picked at run time
//! (AVX-512 VPOPCNTDQ, then POPCNT, then portable code); every variant is
//! tested against [`intersection_trivial_but_slow`].

use std::ops::Range;
use std::sync::OnceLock;

/// A kernel: popcount of the intersection of two equally long word slices.
pub type Kernel = fn(&[u64], &[u64]) -> u32;

/// A scan: for each position `p` of `positions`, the pair
/// (`p - positions.start`, common bits) when the fingerprint at `p` of
/// `arena` shares at least `need` bits with the query, appended to `hits`
/// in position order. One call per popcount bucket keeps the popcount
/// inline in the loop.
///
/// Two fingerprints share at most `Σ min(query_b, candidate_b)` bits over
/// their blocks `b`, so a fingerprint whose sum is below `need` is passed
/// over on its block counts without its own words being read.
pub type Scan = fn(
    query: &Query,
    arena: Arena<'_>,
    positions: Range<usize>,
    need: u32,
    hits: &mut Vec<(u32, u32)>,
);

/// What a scan reads: every fingerprint of an index, laid end to end, each
/// as long as the query, and their block counts tiled by [`tile_blocks`].
#[derive(Debug, Clone, Copy)]
pub struct Arena<'a> {
    /// The fingerprints' words.
    pub fingerprints: &'a [u64],
    /// Their block counts.
    pub tiles: &'a [u8],
}

/// Words counted into one block: 64 bits, so that a count fits a byte.
/// Finer blocks bound common bits more tightly; on 2048-bit Morgan
/// fingerprints of drug-like molecules, 32 blocks leave about one
/// fingerprint in a thousand to read at a threshold of 0.64, 16 blocks
/// about one in ten.
const BLOCK_WORDS: usize = 1;

/// Fingerprints per tile: the counts of one block for 64 consecutive
/// positions are 64 consecutive bytes, one AVX-512 register, so a tile's
/// bounds are summed for 64 fingerprints at once.
pub const TILE: usize = 64;

fn block_counts(fingerprint: &[u64]) -> impl Iterator<Item = u8> + '_ {
    fingerprint.chunks(BLOCK_WORDS).map(|b| b.iter().map(|w| w.count_ones()).sum::<u32>() as u8)
}

/// The block counts of the fingerprints of `tiles` (tile numbers), tile by
/// tile, block-major within a tile: count `b` of position `p` is at
/// `((p / TILE) * blocks + b) * TILE + p % TILE`, counted from the first
/// tile. Positions past the end of `fingerprints` count zero.
pub fn tile_blocks(words: usize, fingerprints: &[u64], tiles: Range<usize>) -> Vec<u8> {
    let per = words.div_ceil(BLOCK_WORDS);
    let mut out = vec![0u8; tiles.len() * per * TILE];
    let first = tiles.start * TILE;
    let last = (tiles.end * TILE).min(fingerprints.len() / words);
    for p in first..last {
        let fp = &fingerprints[p * words..(p + 1) * words];
        let base = (p - first) / TILE * per * TILE + p % TILE;
        for (b, count) in block_counts(fp).enumerate() {
            out[base + b * TILE] = count;
        }
    }
    out
}

/// A query fingerprint with its block counts and popcount.
#[derive(Debug, Clone)]
pub struct Query {
    words: Vec<u64>,
    blocks: Vec<u8>,
    popcount: u32,
}

impl Query {
    /// The query `words` and its block counts.
    pub fn new(words: &[u64]) -> Query {
        Query {
            words: words.to_vec(),
            blocks: block_counts(words).collect(),
            popcount: words.iter().map(|w| w.count_ones()).sum(),
        }
    }
}

/// The kernels built for one instruction set.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// The instruction set, e.g. `avx512-vpopcntdq`.
    pub name: &'static str,
    /// Popcount of one intersection.
    pub intersection: Kernel,
    /// A scan over many fingerprints.
    pub scan: Scan,
}

/// The variant for the widest instructions this CPU has, chosen once.
pub fn best() -> Variant {
    static CHOSEN: OnceLock<Variant> = OnceLock::new();
    *CHOSEN.get_or_init(|| *available().last().expect("the portable variant is always there"))
}

/// The fastest intersection kernel this CPU supports.
pub fn intersection() -> Kernel {
    best().intersection
}

/// The fastest scan this CPU supports.
pub fn scan() -> Scan {
    best().scan
}

/// Every variant this CPU can run, slowest first.
pub fn available() -> Vec<Variant> {
    #[allow(unused_mut)]
    let mut variants =
        vec![Variant { name: "portable", intersection: portable, scan: scan_portable }];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            variants.push(Variant {
                name: "popcnt",
                intersection: x86::popcnt,
                scan: x86::scan_popcnt,
            });
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
        {
            variants.push(Variant {
                name: "avx512-vpopcntdq",
                intersection: x86::avx512,
                scan: x86::scan_avx512,
            });
        }
    }
    variants
}

/// The loop every scan shares, one position at a time; inlined into each
/// CPU-specific variant so that `intersection` is compiled with that
/// variant's instructions.
#[inline(always)]
fn scan_with(
    query: &Query,
    arena: Arena<'_>,
    positions: Range<usize>,
    need: u32,
    hits: &mut Vec<(u32, u32)>,
    intersection: impl Fn(&[u64], &[u64]) -> u32,
) {
    let words = query.words.len();
    let per = query.blocks.len();
    for p in positions.clone() {
        let base = p / TILE * per * TILE + p % TILE;
        let bound: u32 = (query.blocks.iter().enumerate())
            .map(|(b, &qb)| u32::from(qb.min(arena.tiles[base + b * TILE])))
            .sum();
        if bound < need {
            continue;
        }
        let common = intersection(&query.words, &arena.fingerprints[p * words..(p + 1) * words]);
        if common >= need {
            hits.push(((p - positions.start) as u32, common));
        }
    }
}

fn scan_portable(
    q: &Query,
    arena: Arena<'_>,
    positions: Range<usize>,
    need: u32,
    hits: &mut Vec<(u32, u32)>,
) {
    scan_with(q, arena, positions, need, hits, portable);
}

/// Bit by bit; the reference every kernel must equal.
pub fn intersection_trivial_but_slow(a: &[u64], b: &[u64]) -> u32 {
    let mut n = 0;
    for (x, y) in a.iter().zip(b) {
        for bit in 0..64 {
            n += u32::from((x >> bit) & (y >> bit) & 1 == 1);
        }
    }
    n
}

fn portable(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Arena, Query, BLOCK_WORDS, TILE};
    use std::arch::x86_64::*;
    use std::ops::Range;

    pub(super) fn popcnt(a: &[u64], b: &[u64]) -> u32 {
        // SAFETY: chosen only after `is_x86_feature_detected!("popcnt")`.
        unsafe { popcnt_impl(a, b) }
    }

    #[target_feature(enable = "popcnt")]
    #[inline]
    unsafe fn popcnt_impl(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
    }

    type Hits = Vec<(u32, u32)>;

    pub(super) fn scan_popcnt(
        q: &Query,
        arena: Arena<'_>,
        positions: Range<usize>,
        need: u32,
        hits: &mut Hits,
    ) {
        // SAFETY: chosen only after `is_x86_feature_detected!("popcnt")`.
        unsafe { scan_popcnt_impl(q, arena, positions, need, hits) }
    }

    #[target_feature(enable = "popcnt")]
    unsafe fn scan_popcnt_impl(
        q: &Query,
        arena: Arena<'_>,
        positions: Range<usize>,
        need: u32,
        hits: &mut Hits,
    ) {
        // SAFETY: this function runs only where popcnt is available.
        super::scan_with(q, arena, positions, need, hits, |a, b| unsafe { popcnt_impl(a, b) });
    }

    pub(super) fn scan_avx512(
        q: &Query,
        arena: Arena<'_>,
        positions: Range<usize>,
        need: u32,
        hits: &mut Hits,
    ) {
        // SAFETY: chosen only after detecting avx512f, avx512bw and
        // avx512vpopcntdq.
        unsafe { scan_avx512_impl(q, arena, positions, need, hits) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
    unsafe fn scan_avx512_impl(
        q: &Query,
        arena: Arena<'_>,
        positions: Range<usize>,
        need: u32,
        hits: &mut Hits,
    ) {
        // SAFETY: this function runs only where the AVX-512 features are.
        unsafe {
            let half = q.blocks.len() / 2 * BLOCK_WORDS;
            if q.words.len() == 32 {
                // 2048-bit fingerprints, the common case: the query stays in
                // four registers and each candidate half is two loads.
                let query: [__m512i; 4] =
                    std::array::from_fn(|k| _mm512_loadu_si512(q.words.as_ptr().add(8 * k).cast()));
                let common = |fp: &[u64], k: usize| {
                    // SAFETY: each candidate holds 32 words; 8 * k + 8 <= 32.
                    let x = _mm512_loadu_si512(fp.as_ptr().add(8 * k).cast());
                    _mm512_popcnt_epi64(_mm512_and_si512(query[k], x))
                };
                let pair = |fp: &[u64], k: usize| {
                    _mm512_reduce_add_epi64(_mm512_add_epi64(common(fp, k), common(fp, k + 1)))
                        as u32
                };
                debug_assert_eq!(half, 16);
                scan_tiles(q, arena, positions, need, hits, |fp| pair(fp, 0), |fp| pair(fp, 2));
            } else {
                let (front, back) = q.words.split_at(half);
                let first = |fp: &[u64]| avx512_impl(front, &fp[..half]);
                let second = |fp: &[u64]| avx512_impl(back, &fp[half..]);
                scan_tiles(q, arena, positions, need, hits, first, second);
            }
        }
    }

    /// Bounds 64 positions at a time: per block, one load of 64 counts, a
    /// minimum with the query's count and a saturating add; then one
    /// compare gives the mask of positions worth reading. A sum that
    /// saturates at 255 is passed on whatever `need` is, so saturation
    /// never loses a hit. When `need` is the query's whole popcount (the
    /// superset screen), the test is exact instead: every block must hold
    /// at least the query's count.
    ///
    /// A candidate that passes is read in two halves: the common bits of
    /// its first half (`first`) plus the block bound of its second half
    /// must still reach `need` before the second half (`second`) is read,
    /// which spares half the reads of most candidates at low thresholds.
    #[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,popcnt")]
    #[inline]
    unsafe fn scan_tiles(
        q: &Query,
        arena: Arena<'_>,
        positions: Range<usize>,
        need: u32,
        hits: &mut Hits,
        first: impl Fn(&[u64]) -> u32,
        second: impl Fn(&[u64]) -> u32,
    ) {
        if positions.is_empty() {
            return;
        }
        let words = q.words.len();
        let per = q.blocks.len();
        let superset = need >= q.popcount;
        let needv = _mm512_set1_epi8(need.min(255) as u8 as i8);
        // The second half's bound per lane; 255 is saturated, so unknown.
        let mut rest = [u8::MAX; TILE];
        for tile in positions.start / TILE..=(positions.end - 1) / TILE {
            let counts = &arena.tiles[tile * per * TILE..(tile + 1) * per * TILE];
            let load = |b: usize| {
                // SAFETY: `counts` holds `per` rows of TILE = 64 bytes.
                unsafe { _mm512_loadu_si512(counts.as_ptr().add(b * TILE).cast()) }
            };
            let mut mask = if superset {
                let mut all = !0u64;
                for (b, &qb) in q.blocks.iter().enumerate() {
                    all &= _mm512_cmpge_epu8_mask(load(b), _mm512_set1_epi8(qb as i8));
                }
                all
            } else {
                let bound = |blocks: Range<usize>| {
                    let mut sum = _mm512_setzero_si512();
                    for b in blocks {
                        let qb = _mm512_set1_epi8(q.blocks[b] as i8);
                        sum = _mm512_adds_epu8(sum, _mm512_min_epu8(load(b), qb));
                    }
                    sum
                };
                let back = bound(per / 2..per);
                // SAFETY: `rest` is 64 bytes, one register.
                unsafe { _mm512_storeu_si512(rest.as_mut_ptr().cast(), back) };
                _mm512_cmpge_epu8_mask(_mm512_adds_epu8(bound(0..per / 2), back), needv)
            };
            let first_position = tile * TILE;
            if first_position < positions.start {
                mask &= !0u64 << (positions.start - first_position);
            }
            if first_position + TILE > positions.end {
                mask &= !0u64 >> (first_position + TILE - positions.end);
            }
            // The candidates' first lines are requested together, so that
            // their reads overlap instead of waiting one after another.
            let mut ahead = mask;
            while ahead != 0 {
                let p = first_position + ahead.trailing_zeros() as usize;
                ahead &= ahead - 1;
                _mm_prefetch::<_MM_HINT_T0>(arena.fingerprints[p * words..].as_ptr().cast());
            }
            while mask != 0 {
                let lane = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let p = first_position + lane;
                let fp = &arena.fingerprints[p * words..(p + 1) * words];
                let front = first(fp);
                if !superset && rest[lane] < u8::MAX && front + u32::from(rest[lane]) < need {
                    continue;
                }
                let common = front + second(fp);
                if common >= need {
                    hits.push(((p - positions.start) as u32, common));
                }
            }
        }
    }

    pub(super) fn avx512(a: &[u64], b: &[u64]) -> u32 {
        // SAFETY: chosen only after detecting avx512f and avx512vpopcntdq.
        unsafe { avx512_impl(a, b) }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    #[inline]
    unsafe fn avx512_impl(a: &[u64], b: &[u64]) -> u32 {
        let n = a.len().min(b.len());
        let mut acc = _mm512_setzero_si512();
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n keeps both 64-byte loads inside the slices.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_si512(a.as_ptr().add(i).cast()),
                    _mm512_loadu_si512(b.as_ptr().add(i).cast()),
                )
            };
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
            i += 8;
        }
        let mut total = _mm512_reduce_add_epi64(acc) as u32;
        for j in i..n {
            total += (a[j] & b[j]).count_ones();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_kernel_equals_the_slow_twin(
            pairs in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..70)
        ) {
            let (a, b): (Vec<u64>, Vec<u64>) = pairs.into_iter().unzip();
            let expected = intersection_trivial_but_slow(&a, &b);
            for v in available() {
                prop_assert_eq!((v.intersection)(&a, &b), expected, "kernel {}", v.name);
            }
        }

        #[test]
        fn every_scan_finds_what_the_slow_kernel_finds(
            words in prop_oneof![1usize..40, Just(32)],
            seed in proptest::collection::vec(any::<u64>(), 1..400),
            count in 1usize..700,
            share in 0.0f64..1.2,
            cut in (0.0f64..1.0, 0.0f64..1.0),
        ) {
            // Sparse words (about one bit in eight), as chemical fingerprints
            // are, so that the block bound passes over some candidates; up
            // to 40 words, so that some bounds pass 255 and saturate.
            let sparse = |w: u64| w & w.rotate_left(13) & w.rotate_left(29);
            let query: Vec<u64> = seed.iter().cycle().take(words).map(|&w| sparse(w)).collect();
            let fps: Vec<u64> = seed
                .iter()
                .rev()
                .cycle()
                .enumerate()
                .map(|(i, w)| sparse(w.rotate_left(7 + i as u32 % 5)))
                .take(words * count)
                .collect();
            let tiles = tile_blocks(words, &fps, 0..count.div_ceil(TILE));
            let q: u32 = query.iter().map(|w| w.count_ones()).sum();
            // Up to and past the query's popcount: the superset test.
            let need = (share * f64::from(q)) as u32;
            let (a, b) = ((cut.0 * count as f64) as usize, (cut.1 * count as f64) as usize);
            let positions = a.min(b)..a.max(b);
            let expected: Vec<(u32, u32)> = positions
                .clone()
                .map(|p| (p, intersection_trivial_but_slow(&query, &fps[p * words..(p + 1) * words])))
                .filter(|&(_, common)| common >= need)
                .map(|(p, common)| ((p - positions.start) as u32, common))
                .collect();
            let query = Query::new(&query);
            for v in available() {
                let mut hits = Vec::new();
                let arena = Arena { fingerprints: &fps, tiles: &tiles };
                (v.scan)(&query, arena, positions.clone(), need, &mut hits);
                prop_assert_eq!(&hits, &expected, "scan {}", v.name);
            }
        }
    }

    /// A candidate whose bits all lie in the query shares exactly its own
    /// popcount with it, and its block bound equals that too: the bound
    /// must let it through at a `need` of exactly that many bits.
    #[test]
    fn a_bound_equal_to_need_is_read() {
        let mut next = {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            }
        };
        for words in [5, 32] {
            let query: Vec<u64> = (0..words).map(|_| next() & next()).collect();
            let count = 150;
            let fps: Vec<u64> = (0..words * count).map(|i| query[i % words] & next()).collect();
            let tiles = tile_blocks(words, &fps, 0..count.div_ceil(TILE));
            let q = Query::new(&query);
            for v in available() {
                for p in 0..count {
                    let fp = &fps[p * words..(p + 1) * words];
                    let own: u32 = fp.iter().map(|w| w.count_ones()).sum();
                    let mut hits = Vec::new();
                    (v.scan)(
                        &q,
                        Arena { fingerprints: &fps, tiles: &tiles },
                        p..p + 1,
                        own,
                        &mut hits,
                    );
                    assert_eq!(hits, [(0, own)], "scan {}, {words} words, position {p}", v.name);
                }
            }
        }
    }
}
