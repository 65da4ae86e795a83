//! The popcount of `a AND b`, the one operation similarity search spends its
//! time in. The widest instructions the CPU has are picked at run time
//! (AVX-512 VPOPCNTDQ, then POPCNT, then portable code); every variant is
//! tested against [`intersection_trivial_but_slow`].

use std::sync::OnceLock;

/// A kernel: popcount of the intersection of two equally long word slices.
pub type Kernel = fn(&[u64], &[u64]) -> u32;

/// The fastest kernel this CPU supports, chosen once.
pub fn intersection() -> Kernel {
    static CHOSEN: OnceLock<Kernel> = OnceLock::new();
    *CHOSEN.get_or_init(|| available().last().map(|(_, k)| *k).unwrap_or(portable))
}

/// Every kernel this CPU can run, slowest first, with its name.
pub fn available() -> Vec<(&'static str, Kernel)> {
    #[allow(unused_mut)]
    let mut kernels: Vec<(&'static str, Kernel)> = vec![("portable", portable)];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            kernels.push(("popcnt", x86::popcnt));
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
        {
            kernels.push(("avx512-vpopcntdq", x86::avx512));
        }
    }
    kernels
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
    unsafe fn popcnt_impl(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
    }

    pub(super) fn avx512(a: &[u64], b: &[u64]) -> u32 {
        // SAFETY: chosen only after detecting avx512f and avx512vpopcntdq.
        unsafe { avx512_impl(a, b) }
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
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
            for (name, kernel) in available() {
                prop_assert_eq!(kernel(&a, &b), expected, "kernel {}", name);
            }
        }
    }
}
