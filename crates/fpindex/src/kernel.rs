//! The popcount of `a AND b`, the one operation similarity search spends its
//! time in. The widest instructions the CPU has are picked at run time
//! (AVX-512 VPOPCNTDQ, then POPCNT, then portable code); every variant is
//! tested against [`intersection_trivial_but_slow`].

use std::sync::OnceLock;

/// A kernel: popcount of the intersection of two equally long word slices.
pub type Kernel = fn(&[u64], &[u64]) -> u32;

/// A scan: for each fingerprint of `fingerprints` (laid end to end, each as
/// long as `query`), the pair (its index, common bits) when the fingerprint
/// shares at least `need` bits with the query, appended to `hits`. One call
/// per popcount bucket keeps the popcount inline in the loop.
pub type Scan = fn(query: &[u64], fingerprints: &[u64], need: u32, hits: &mut Vec<(u32, u32)>);

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

/// The loop every scan shares; inlined into each CPU-specific variant so
/// that `intersection` is compiled with that variant's instructions.
#[inline(always)]
fn scan_with(
    query: &[u64],
    fingerprints: &[u64],
    need: u32,
    hits: &mut Vec<(u32, u32)>,
    intersection: impl Fn(&[u64], &[u64]) -> u32,
) {
    for (i, fp) in fingerprints.chunks_exact(query.len()).enumerate() {
        let common = intersection(query, fp);
        if common >= need {
            hits.push((i as u32, common));
        }
    }
}

fn scan_portable(query: &[u64], fingerprints: &[u64], need: u32, hits: &mut Vec<(u32, u32)>) {
    scan_with(query, fingerprints, need, hits, portable);
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
    use std::arch::x86_64::*;

    pub(super) fn popcnt(a: &[u64], b: &[u64]) -> u32 {
        // SAFETY: chosen only after `is_x86_feature_detected!("popcnt")`.
        unsafe { popcnt_impl(a, b) }
    }

    #[target_feature(enable = "popcnt")]
    #[inline]
    unsafe fn popcnt_impl(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
    }

    pub(super) fn scan_popcnt(q: &[u64], fps: &[u64], need: u32, hits: &mut Vec<(u32, u32)>) {
        // SAFETY: chosen only after `is_x86_feature_detected!("popcnt")`.
        unsafe { scan_popcnt_impl(q, fps, need, hits) }
    }

    #[target_feature(enable = "popcnt")]
    unsafe fn scan_popcnt_impl(q: &[u64], fps: &[u64], need: u32, hits: &mut Vec<(u32, u32)>) {
        // SAFETY: this function runs only where popcnt is available.
        super::scan_with(q, fps, need, hits, |a, b| unsafe { popcnt_impl(a, b) });
    }

    pub(super) fn scan_avx512(q: &[u64], fps: &[u64], need: u32, hits: &mut Vec<(u32, u32)>) {
        // SAFETY: chosen only after detecting avx512f and avx512vpopcntdq.
        unsafe { scan_avx512_impl(q, fps, need, hits) }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    unsafe fn scan_avx512_impl(q: &[u64], fps: &[u64], need: u32, hits: &mut Vec<(u32, u32)>) {
        if q.len() == 32 {
            // 2048-bit fingerprints, the common case: the query stays in
            // four registers and each candidate is four loads.
            // SAFETY: as above.
            unsafe { scan_avx512_2048(q, fps, need, hits) };
            return;
        }
        // SAFETY: this function runs only where the AVX-512 features are.
        super::scan_with(q, fps, need, hits, |a, b| unsafe { avx512_impl(a, b) });
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    #[inline]
    unsafe fn scan_avx512_2048(q: &[u64], fps: &[u64], need: u32, hits: &mut Vec<(u32, u32)>) {
        // SAFETY: q holds 32 words, so the four 64-byte loads stay inside it.
        let query: [__m512i; 4] =
            std::array::from_fn(|k| unsafe { _mm512_loadu_si512(q.as_ptr().add(8 * k).cast()) });
        for (i, fp) in fps.chunks_exact(32).enumerate() {
            let mut acc = _mm512_setzero_si512();
            for (k, qv) in query.iter().enumerate() {
                // SAFETY: each chunk holds 32 words; 8 * k + 8 <= 32.
                let x = unsafe { _mm512_loadu_si512(fp.as_ptr().add(8 * k).cast()) };
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(*qv, x)));
            }
            let common = _mm512_reduce_add_epi64(acc) as u32;
            if common >= need {
                hits.push((i as u32, common));
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
            need in 0u32..60,
        ) {
            let query: Vec<u64> = seed.iter().cycle().take(words).copied().collect();
            let fps: Vec<u64> = seed.iter().rev().cycle().take(words * 9).map(|w| w.rotate_left(7)).collect();
            let expected: Vec<(u32, u32)> = fps
                .chunks_exact(words)
                .enumerate()
                .map(|(i, fp)| (i as u32, intersection_trivial_but_slow(&query, fp)))
                .filter(|&(_, common)| common >= need)
                .collect();
            for v in available() {
                let mut hits = Vec::new();
                (v.scan)(&query, &fps, need, &mut hits);
                prop_assert_eq!(&hits, &expected, "scan {}", v.name);
            }
        }
    }
}
