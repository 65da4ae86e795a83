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
/// A fingerprint whose bound (see [`tile_blocks`]) is below `need` is
/// passed over on its byte masks without its own words being read.
pub type Scan = fn(
    query: &Query,
    arena: Arena<'_>,
    positions: Range<usize>,
    need: u32,
    hits: &mut Vec<(u32, u32)>,
);

/// What a scan reads: every fingerprint of an index, laid end to end, each
/// as long as the query, and their byte masks tiled by [`tile_blocks`].
#[derive(Debug, Clone, Copy)]
pub struct Arena<'a> {
    /// The fingerprints' words.
    pub fingerprints: &'a [u64],
    /// Their byte masks.
    pub tiles: &'a [u8],
}

/// Fingerprints per tile: the masks of one word for 64 consecutive
/// positions are 64 consecutive bytes, one AVX-512 register, so a tile's
/// bounds are summed for 64 fingerprints at once.
pub const TILE: usize = 64;

/// The mask of a word's bytes that hold any bit.
fn byte_mask(word: u64) -> u8 {
    (0..8).filter(|b| word >> (8 * b) & 0xff != 0).fold(0, |mask, b| mask | 1 << b)
}

/// The byte masks of the fingerprints of `tiles` (tile numbers), tile by
/// tile, word-major within a tile: the mask of word `w` of position `p` is
/// at `((p / TILE) * words + w) * TILE + p % TILE`, counted from the first
/// tile. Positions past the end of `fingerprints` are zero.
///
/// The masks are the scan's bound, an eighth of the fingerprints' size: a
/// candidate shares at most the query's bits in the bytes it has set, and
/// holds every query bit only if it has every byte the query has. Blocks
/// this small bound common bits tightly. On 2048-bit Morgan fingerprints
/// at the 1000th-best score of a drug-like query (Tanimoto ≈ 0.38), the
/// bound leaves about 0.4 % of the candidates to read; bit counts of 16-bit
/// blocks (same size) leave 1 %, of 32-bit blocks 17 %, of 64-bit blocks
/// (a byte each, twice the size) 82 %. On the denser pattern fingerprints
/// the superset screen also runs faster than on 32-bit counts.
pub fn tile_blocks(words: usize, fingerprints: &[u64], tiles: Range<usize>) -> Vec<u8> {
    let mut out = vec![0u8; tiles.len() * words * TILE];
    let first = tiles.start * TILE;
    let last = (tiles.end * TILE).min(fingerprints.len() / words);
    for p in first..last {
        let fp = &fingerprints[p * words..(p + 1) * words];
        let base = (p - first) / TILE * words * TILE + p % TILE;
        for (w, &word) in fp.iter().enumerate() {
            out[base + w * TILE] = byte_mask(word);
        }
    }
    out
}

/// For a query half word (four bytes) and each 4-bit mask of a candidate's
/// bytes there: the most bits they share (`bound`), and how many of the
/// query's bytes the candidate lacks (`short`; zero for every mask a
/// superset of the query can have).
fn half_tables(half: u32) -> ([u8; 16], [u8; 16]) {
    let (mut bound, mut short) = ([0u8; 16], [0u8; 16]);
    for mask in 0..16 {
        for b in 0..4 {
            let bits = (half >> (8 * b) & 0xff).count_ones() as u8;
            if mask >> b & 1 == 1 {
                bound[mask] += bits;
            } else {
                short[mask] += u8::from(bits > 0);
            }
        }
    }
    (bound, short)
}

/// A query fingerprint with its popcount and, per half word, the tables
/// that turn a candidate's byte mask into its bound.
#[derive(Debug, Clone)]
pub struct Query {
    words: Vec<u64>,
    popcount: u32,
    /// The halves holding query bits, in order: every other half's tables
    /// are all zero, so a scan skips them.
    live: Vec<usize>,
    /// Of `live`, how many lie in the first half of the words.
    live_front: usize,
    /// Query bits in the second half of the words.
    back_popcount: u32,
    /// Per half word (low half first), by mask: bits it can share.
    bound: Vec<[u8; 16]>,
    /// Per half word, by mask: query bytes it lacks.
    short: Vec<[u8; 16]>,
}

impl Query {
    /// The query `words` and its tables.
    pub fn new(words: &[u64]) -> Query {
        let halves: Vec<u32> = words.iter().flat_map(|&w| [w as u32, (w >> 32) as u32]).collect();
        let (bound, short) = halves.iter().map(|&h| half_tables(h)).unzip();
        let live: Vec<usize> = (0..halves.len()).filter(|&h| halves[h] != 0).collect();
        let front = words.len() / 2;
        Query {
            words: words.to_vec(),
            popcount: words.iter().map(|w| w.count_ones()).sum(),
            live_front: live.iter().filter(|&&h| h < 2 * front).count(),
            live,
            back_popcount: words[front..].iter().map(|w| w.count_ones()).sum(),
            bound,
            short,
        }
    }

    /// The tables of a scan for `need` common bits: with all the query's
    /// bits needed (a superset screen) a candidate must be short nowhere,
    /// otherwise its bound must reach `need`.
    fn tables(&self, need: u32) -> (&[[u8; 16]], bool) {
        let superset = need >= self.popcount;
        (if superset { &self.short } else { &self.bound }, superset)
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
    let (tables, superset) = query.tables(need);
    for p in positions.clone() {
        let base = p / TILE * words * TILE + p % TILE;
        let sum: u32 = (query.live.iter())
            .map(|&h| {
                let mask = arena.tiles[base + h / 2 * TILE] >> (4 * (h % 2)) & 15;
                u32::from(tables[h][usize::from(mask)])
            })
            .sum();
        if (superset && sum > 0) || (!superset && sum < need) {
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
    use super::{Arena, Query, TILE};
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
            let half = q.words.len() / 2;
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

    /// Bounds 64 positions at a time: per half word holding query bits, one
    /// load of 64 masks, a byte shuffle looking up the nibble of each in the
    /// half's table and a saturating add; then one compare gives the mask
    /// of positions worth reading. A sum that saturates at 255 is passed on
    /// whatever `need` is, so saturation never loses a hit. For a superset
    /// screen the sum counts lacking bytes and must stay zero, which
    /// saturation cannot fake.
    ///
    /// A candidate that passes is read in two halves: the common bits of
    /// its first half (`first`) plus the bound of its second half must
    /// still reach `need` before the second half (`second`) is read, which
    /// spares half the reads of most candidates at low thresholds.
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
        let (tables, superset) = q.tables(need);
        let nibble = _mm512_set1_epi8(0x0f);
        // Each live half's table, broadcast to the four lanes that the byte
        // shuffle looks up within.
        let lookups: Vec<(usize, __m512i)> = (q.live.iter())
            .map(|&h| {
                // SAFETY: a table is 16 bytes.
                let table = unsafe { _mm_loadu_si128(tables[h].as_ptr().cast()) };
                (h, _mm512_broadcast_i32x4(table))
            })
            .collect();
        let (front_lookups, back_lookups) = lookups.split_at(q.live_front);
        let needv = _mm512_set1_epi8(need.min(255) as u8 as i8);
        // What the second half can add at most: the query's bits there.
        let back_most = _mm512_set1_epi8(q.back_popcount.min(255) as u8 as i8);
        // The second half's bound per lane; 255 is saturated, so unknown.
        let mut rest = [u8::MAX; TILE];
        for tile in positions.start / TILE..=(positions.end - 1) / TILE {
            let masks = &arena.tiles[tile * words * TILE..(tile + 1) * words * TILE];
            let sum = |lookups: &[(usize, __m512i)]| {
                let mut sum = _mm512_setzero_si512();
                for &(h, table) in lookups {
                    // SAFETY: `masks` holds `words` rows of TILE = 64 bytes
                    // and half h lies in row h / 2.
                    let row =
                        unsafe { _mm512_loadu_si512(masks.as_ptr().add(h / 2 * TILE).cast()) };
                    let row = if h % 2 == 1 { _mm512_srli_epi16::<4>(row) } else { row };
                    let nibbles = _mm512_and_si512(row, nibble);
                    sum = _mm512_adds_epu8(sum, _mm512_shuffle_epi8(table, nibbles));
                }
                sum
            };
            let front = sum(front_lookups);
            // Most tiles fail on their first half at high thresholds; their
            // second half is not looked at.
            let hopeless = if superset {
                _mm512_cmpeq_epu8_mask(front, _mm512_setzero_si512()) == 0
            } else {
                _mm512_cmpge_epu8_mask(_mm512_adds_epu8(front, back_most), needv) == 0
            };
            if hopeless {
                continue;
            }
            let back = sum(back_lookups);
            let mut mask = if superset {
                _mm512_cmpeq_epu8_mask(_mm512_adds_epu8(front, back), _mm512_setzero_si512())
            } else {
                // SAFETY: `rest` is 64 bytes, one register.
                unsafe { _mm512_storeu_si512(rest.as_mut_ptr().cast(), back) };
                _mm512_cmpge_epu8_mask(_mm512_adds_epu8(front, back), needv)
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

    /// The tables give the bound of the byte masks exactly: a looser one
    /// would still find every hit, only read more.
    #[test]
    fn tables_bound_by_bytes_present() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Sparse halves, some bytes empty: the cases the masks tell apart.
            let (query, candidate) = ((x & x.rotate_left(11)) as u32, (x >> 32 & x >> 9) as u32);
            let bytes = |w: u32| (0..4).map(move |b| w >> (8 * b) & 0xff);
            let shared: u32 = bytes(query)
                .zip(bytes(candidate))
                .map(|(q, c)| if c != 0 { q.count_ones() } else { 0 })
                .sum();
            let lacks = bytes(query).zip(bytes(candidate)).filter(|&(q, c)| q != 0 && c == 0);
            let (bound, short) = half_tables(query);
            let mask = usize::from(byte_mask(u64::from(candidate)));
            assert_eq!(u32::from(bound[mask]), shared, "{query:#x} {candidate:#x}");
            assert!(shared >= (query & candidate).count_ones());
            assert_eq!(usize::from(short[mask]), lacks.count(), "{query:#x} {candidate:#x}");
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
