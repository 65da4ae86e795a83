//! Single-precision matrix products `c = a · w` for Chemprop's layers, with
//! the weights packed once at load.
//!
//! Nearly all of an ADMET prediction is these products, so they are ours:
//! a register-blocked kernel (12 × 32 with AVX-512, 6 × 16 with AVX2 and
//! FMA) streams each 32-column panel of the weights while a block of rows
//! of `a` sits in L1; the rows are produced on demand by the caller (so
//! Chemprop's messages are never written out whole) and the epilogue
//! (accumulate, or add-and-ReLU) is applied while the results are still in
//! registers. Without AVX2 the packed panels go through `matrixmultiply`.

/// Columns per packed panel: two 16-lane registers.
const NR: usize = 32;
/// Rows of `a` per kernel call.
const MR: usize = 12;

/// A `[k, n]` matrix (the transpose of a row-major weight `[n, k]`) cut into
/// panels of [`NR`] columns, each `k` rows of `NR` contiguous floats, the
/// last panel zero-padded.
pub(crate) struct Packed {
    k: usize,
    n: usize,
    panels: Vec<f32>,
}

impl Packed {
    /// Packs the transpose of `n` weight rows of length `k` that start
    /// `stride` floats apart in `w` (a column block of a wider matrix when
    /// `stride > k`).
    pub(crate) fn transposed(w: &[f32], k: usize, n: usize, stride: usize) -> Packed {
        assert!(n == 0 || w.len() >= (n - 1) * stride + k, "weights shorter than their shape");
        let mut panels = vec![0f32; n.div_ceil(NR) * k * NR];
        for (p, panel) in panels.chunks_exact_mut(k * NR).enumerate() {
            for (i, row) in panel.chunks_exact_mut(NR).enumerate() {
                for (c, v) in row.iter_mut().enumerate().take(n.saturating_sub(p * NR)) {
                    *v = w[(p * NR + c) * stride + i];
                }
            }
        }
        Packed { k, n, panels }
    }

    pub(crate) fn inputs(&self) -> usize {
        self.k
    }

    pub(crate) fn outputs(&self) -> usize {
        self.n
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.panels[p * self.k * NR..][..self.k * NR]
    }
}

/// What happens to `a · w` on its way into `c`.
#[derive(Clone, Copy)]
pub(crate) enum Epilogue<'a> {
    /// `c += a · w`.
    Accumulate,
    /// `c = ReLU(a · w + d)`, `d` shaped like `c`.
    AddRelu(&'a [f32]),
}

/// `c (+)= a · w` for `m` rows of `a`, where `row(i, out)` writes row `i` of
/// `a` (`w.inputs()` floats) into `out`. `c` is `[m, w.outputs()]`
/// row-major.
pub(crate) fn gemm(
    m: usize,
    row: impl Fn(usize, &mut [f32]),
    w: &Packed,
    c: &mut [f32],
    epilogue: Epilogue,
) {
    assert!(c.len() >= m * w.n, "output shorter than m × n");
    if let Epilogue::AddRelu(d) = epilogue {
        assert!(d.len() >= m * w.n, "addend shorter than m × n");
    }
    let mut block = vec![0f32; MR * w.k];
    for first in (0..m).step_by(MR) {
        let rows = MR.min(m - first);
        for (r, out) in block.chunks_exact_mut(w.k).take(rows).enumerate() {
            row(first + r, out);
        }
        block_product(&block[..rows * w.k], rows, w, first, c, epilogue);
    }
}

/// `gemm` of a row-major `[m, w.inputs()]` matrix.
pub(crate) fn gemm_matrix(a: &[f32], m: usize, w: &Packed, c: &mut [f32], epilogue: Epilogue) {
    let k = w.k;
    assert!(a.len() >= m * k, "input shorter than m × k");
    gemm(m, |i, out| out.copy_from_slice(&a[i * k..][..k]), w, c, epilogue);
}

/// The kernels, widest first.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Kernel {
    /// Those this CPU runs.
    fn available() -> Vec<Kernel> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                kernels.push(Kernel::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                kernels.push(Kernel::Avx2);
            }
        }
        kernels.push(Kernel::Portable);
        kernels
    }

    fn best() -> Kernel {
        static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| Kernel::available()[0])
    }
}

/// Rows `first..first + rows` of `c` from the `rows × k` block `a`.
fn block_product(
    a: &[f32],
    rows: usize,
    w: &Packed,
    first: usize,
    c: &mut [f32],
    epilogue: Epilogue,
) {
    block_product_with(Kernel::best(), a, rows, w, first, c, epilogue);
}

fn block_product_with(
    kernel: Kernel,
    a: &[f32],
    rows: usize,
    w: &Packed,
    first: usize,
    c: &mut [f32],
    epilogue: Epilogue,
) {
    match kernel {
        // SAFETY (both x86 kernels): the CPU has their features
        // (`Kernel::available`); `gemm` checked that `c` and the addend
        // hold every row and column written.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => {
            for p in 0..w.n.div_ceil(NR) {
                unsafe { x86::panel_avx512(a, rows, w, p, first, c, epilogue) };
            }
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            for p in 0..w.n.div_ceil(NR) {
                unsafe { x86::panel_avx2(a, rows, w, p, first, c, epilogue) };
            }
        }
        Kernel::Portable => portable(a, rows, w, first, c, epilogue),
    }
}

fn portable(a: &[f32], rows: usize, w: &Packed, first: usize, c: &mut [f32], epilogue: Epilogue) {
    let (k, n) = (w.k, w.n);
    let c = &mut c[first * n..(first + rows) * n];
    for p in 0..n.div_ceil(NR) {
        let cols = NR.min(n - p * NR);
        let beta = match epilogue {
            Epilogue::Accumulate => 1.0,
            Epilogue::AddRelu(_) => 0.0,
        };
        // SAFETY: a is rows × k (row stride k), the panel k × NR (row
        // stride NR) of which `cols` columns are read, and c's block at
        // column p·NR is rows × cols with row stride n; all within the
        // slices' lengths.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                k,
                cols,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                w.panel(p).as_ptr(),
                NR as isize,
                1,
                beta,
                c.as_mut_ptr().add(p * NR),
                n as isize,
                1,
            );
        }
    }
    if let Epilogue::AddRelu(d) = epilogue {
        for (c, &d) in c.iter_mut().zip(&d[first * n..]) {
            *c = (*c + d).max(0.0);
        }
    }
}

/// The register tiles, one generic kernel over the two x86 vector widths.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Epilogue, Packed, MR, NR};
    use std::arch::x86_64::*;

    /// What a tile needs of a vector of `LANES` floats. Every method is
    /// `inline(always)`, so it compiles with the target features of the
    /// `#[target_feature]` function it ends up in.
    ///
    /// # Safety
    /// Every method needs the CPU features of its type (AVX-512F for
    /// `__m512`, AVX2 and FMA for `__m256`), and the pointers valid for
    /// `LANES` floats (the masked lanes only, for the masked forms).
    trait Vector: Copy {
        const LANES: usize;
        type Mask: Copy;
        unsafe fn zero() -> Self;
        unsafe fn splat(p: *const f32) -> Self;
        unsafe fn load(p: *const f32) -> Self;
        /// `a × b + c`.
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
        unsafe fn add(a: Self, b: Self) -> Self;
        unsafe fn relu(a: Self) -> Self;
        /// The first `n` (≤ LANES) lanes.
        unsafe fn first(n: usize) -> Self::Mask;
        unsafe fn load_masked(p: *const f32, mask: Self::Mask) -> Self;
        unsafe fn store_masked(p: *mut f32, mask: Self::Mask, v: Self);
    }

    /// The methods that differ only in their intrinsics' names.
    macro_rules! arithmetic {
        ($zero:ident, $set1:ident, $load:ident, $fmadd:ident, $add:ident, $max:ident) => {
            #[inline(always)]
            unsafe fn zero() -> Self {
                unsafe { $zero() }
            }
            #[inline(always)]
            unsafe fn splat(p: *const f32) -> Self {
                unsafe { $set1(*p) }
            }
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                unsafe { $load(p) }
            }
            #[inline(always)]
            unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
                unsafe { $fmadd(a, b, c) }
            }
            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                unsafe { $add(a, b) }
            }
            #[inline(always)]
            unsafe fn relu(a: Self) -> Self {
                unsafe { $max(a, $zero()) }
            }
        };
    }

    impl Vector for __m512 {
        const LANES: usize = 16;
        type Mask = __mmask16;
        arithmetic!(
            _mm512_setzero_ps,
            _mm512_set1_ps,
            _mm512_loadu_ps,
            _mm512_fmadd_ps,
            _mm512_add_ps,
            _mm512_max_ps
        );
        #[inline(always)]
        unsafe fn first(n: usize) -> Self::Mask {
            ((1u32 << n) - 1) as __mmask16
        }
        #[inline(always)]
        unsafe fn load_masked(p: *const f32, mask: Self::Mask) -> Self {
            unsafe { _mm512_maskz_loadu_ps(mask, p) }
        }
        #[inline(always)]
        unsafe fn store_masked(p: *mut f32, mask: Self::Mask, v: Self) {
            unsafe { _mm512_mask_storeu_ps(p, mask, v) }
        }
    }

    impl Vector for __m256 {
        const LANES: usize = 8;
        /// Each lane's sign bit set or clear.
        type Mask = __m256i;
        arithmetic!(
            _mm256_setzero_ps,
            _mm256_set1_ps,
            _mm256_loadu_ps,
            _mm256_fmadd_ps,
            _mm256_add_ps,
            _mm256_max_ps
        );
        #[inline(always)]
        unsafe fn first(n: usize) -> Self::Mask {
            unsafe {
                let index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), index)
            }
        }
        #[inline(always)]
        unsafe fn load_masked(p: *const f32, mask: Self::Mask) -> Self {
            unsafe { _mm256_maskload_ps(p, mask) }
        }
        #[inline(always)]
        unsafe fn store_masked(p: *mut f32, mask: Self::Mask, v: Self) {
            unsafe { _mm256_maskstore_ps(p, mask, v) }
        }
    }

    /// `R` rows × two vectors of columns starting at `column` (within panel
    /// `p`): the accumulators stay in registers over all of k, and the
    /// epilogue is applied before the one store.
    ///
    /// # Safety
    /// The CPU has `V`'s features; `a` holds R rows of k; `c` (and the
    /// addend) hold rows `first..first + R` of n columns.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<V: Vector, const R: usize>(
        a: &[f32],
        w: &Packed,
        p: usize,
        column: usize,
        first: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        let (k, n, l) = (w.k, w.n, V::LANES);
        debug_assert!(a.len() >= R * k && column + 2 * l <= (p + 1) * NR);
        let b = w.panel(p)[column - p * NR..].as_ptr();
        let a = a.as_ptr();
        // SAFETY (all below): within the bounds the caller guarantees; the
        // masks cover only columns < n.
        unsafe {
            let mut acc = [[V::zero(); 2]; R];
            for i in 0..k {
                let (b0, b1) = (V::load(b.add(i * NR)), V::load(b.add(i * NR + l)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = V::splat(a.add(r * k + i));
                    acc[0] = V::fma(x, b0, acc[0]);
                    acc[1] = V::fma(x, b1, acc[1]);
                }
            }
            let cols = (n - column).min(2 * l);
            let masks = [V::first(cols.min(l)), V::first(cols.saturating_sub(l))];
            for (r, acc) in acc.iter().enumerate() {
                let at = (first + r) * n + column;
                for (h, (&v, &mask)) in acc.iter().zip(&masks).enumerate() {
                    let out = c.as_mut_ptr().add(at + l * h);
                    let v = match epilogue {
                        Epilogue::Accumulate => V::add(v, V::load_masked(out, mask)),
                        Epilogue::AddRelu(d) => {
                            V::relu(V::add(v, V::load_masked(d.as_ptr().add(at + l * h), mask)))
                        }
                    };
                    V::store_masked(out, mask, v);
                }
            }
        }
    }

    /// Tiles of `V` covering `rows` (≤ MR) rows of panel `p`: `height` rows
    /// at a time, as many two-vector column strips as the panel has.
    macro_rules! panel {
        ($name:ident, $features:literal, $vector:ty, $height:literal, [$($r:literal)*]) => {
            /// # Safety
            /// The CPU has the features; `c` and the addend hold rows
            /// `first..first + rows` of n columns.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name(
                a: &[f32],
                rows: usize,
                w: &Packed,
                p: usize,
                first: usize,
                c: &mut [f32],
                epilogue: Epilogue,
            ) {
                const { assert!($height <= MR) };
                let k = w.k;
                let strip = 2 * <$vector as Vector>::LANES;
                for column in (p * NR..(p * NR + NR).min(w.n)).step_by(strip) {
                    for r in (0..rows).step_by($height) {
                        let a = &a[r * k..];
                        // SAFETY: as for this function.
                        unsafe {
                            match (rows - r).min($height) {
                                $($r => tile::<$vector, $r>(a, w, p, column, first + r, c, epilogue),)*
                                _ => unreachable!("1 to {} rows", $height),
                            }
                        }
                    }
                }
            }
        };
    }

    // AVX-512: 12 rows × 32 columns, 24 accumulators of the 32 registers.
    panel!(panel_avx512, "avx512f", __m512, 12, [1 2 3 4 5 6 7 8 9 10 11 12]);
    // AVX2: 6 rows × 16 columns, 12 accumulators, two panel vectors and a
    // broadcast in the 16 registers without spilling.
    panel!(panel_avx2, "avx2,fma", __m256, 6, [1 2 3 4 5 6]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row count and a ragged last panel, against the plain triple
    /// loop, through whichever kernel this CPU takes and the portable one.
    #[test]
    fn products_equal_the_definition() {
        let (k, n, stride) = (37, 45, 50);
        let w: Vec<f32> = (0..n * stride).map(|i| ((i * 7919) % 23) as f32 / 11.0 - 1.0).collect();
        let packed = Packed::transposed(&w, k, n, stride);
        for m in [1, 5, 12, 13, 30] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 104729) % 19) as f32 / 7.0 - 1.3).collect();
            let d: Vec<f32> = (0..m * n).map(|i| (i % 5) as f32 - 2.0).collect();
            let exact =
                |i: usize, j: usize| (0..k).map(|t| a[i * k + t] * w[j * stride + t]).sum::<f32>();
            for epilogue in [Epilogue::Accumulate, Epilogue::AddRelu(&d)] {
                let expected: Vec<f32> = (0..m * n)
                    .map(|x| match epilogue {
                        Epilogue::Accumulate => 1.5 + exact(x / n, x % n),
                        Epilogue::AddRelu(d) => (exact(x / n, x % n) + d[x]).max(0.0),
                    })
                    .collect();
                let mut fast = vec![1.5f32; m * n];
                gemm_matrix(&a, m, &packed, &mut fast, epilogue);
                let mut results = vec![(None, fast)];
                for kernel in Kernel::available() {
                    let mut c = vec![1.5f32; m * n];
                    for first in (0..m).step_by(MR) {
                        let rows = MR.min(m - first);
                        let block = &a[first * k..(first + rows) * k];
                        block_product_with(kernel, block, rows, &packed, first, &mut c, epilogue);
                    }
                    results.push((Some(kernel), c));
                }
                for (kernel, got) in &results {
                    for (x, (g, e)) in got.iter().zip(&expected).enumerate() {
                        let close = (g - e).abs() <= 1e-4 * e.abs().max(1.0);
                        assert!(close, "{kernel:?}, m {m} at {x}: {g} vs {e}");
                    }
                }
            }
        }
    }
}
