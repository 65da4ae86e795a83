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
                unsafe { avx512::panel(a, rows, w, p, first, c, epilogue) };
            }
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            for p in 0..w.n.div_ceil(NR) {
                unsafe { avx2::panel(a, rows, w, p, first, c, epilogue) };
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

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Epilogue, Packed, MR, NR};
    use std::arch::x86_64::*;

    /// One panel `p` of columns for `rows` (≤ MR) rows.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn panel(
        a: &[f32],
        rows: usize,
        w: &Packed,
        p: usize,
        first: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        // A const row count lets the accumulators live in registers.
        macro_rules! rows {
            ($($r:literal)*) => {
                match rows {
                    // SAFETY: as for this function.
                    $($r => unsafe { kernel::<$r>(a, w, p, first, c, epilogue) },)*
                    _ => unreachable!("a block has 1 to {MR} rows"),
                }
            };
        }
        rows!(1 2 3 4 5 6 7 8 9 10 11 12)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn kernel<const R: usize>(
        a: &[f32],
        w: &Packed,
        p: usize,
        first: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        const { assert!(R <= MR) };
        let (k, n) = (w.k, w.n);
        let b = w.panel(p).as_ptr();
        let a = a.as_ptr();
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for i in 0..k {
            // SAFETY: the panel is k × NR and a is R × k.
            let (b0, b1) =
                unsafe { (_mm512_loadu_ps(b.add(i * NR)), _mm512_loadu_ps(b.add(i * NR + 16))) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(unsafe { *a.add(r * k + i) });
                acc[0] = _mm512_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm512_fmadd_ps(x, b1, acc[1]);
            }
        }
        let cols = NR.min(n - p * NR);
        let masks = [lanes(cols.min(16)), lanes(cols.saturating_sub(16))];
        for (r, acc) in acc.iter().enumerate() {
            let at = (first + r) * n + p * NR;
            for (h, (&v, &mask)) in acc.iter().zip(&masks).enumerate() {
                // SAFETY: `mask` covers only columns < n of row first + r,
                // which `gemm` checked `c` and the addend hold.
                unsafe {
                    let out = c.as_mut_ptr().add(at + 16 * h);
                    let v = match epilogue {
                        Epilogue::Accumulate => _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out)),
                        Epilogue::AddRelu(d) => _mm512_max_ps(
                            _mm512_add_ps(
                                v,
                                _mm512_maskz_loadu_ps(mask, d.as_ptr().add(at + 16 * h)),
                            ),
                            _mm512_setzero_ps(),
                        ),
                    };
                    _mm512_mask_storeu_ps(out, mask, v);
                }
            }
        }
    }

    /// A mask of the first `n` (≤ 16) lanes.
    fn lanes(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Epilogue, Packed, NR};
    use std::arch::x86_64::*;

    /// Rows per kernel call. A call covers half a panel, 16 columns: 6 rows
    /// × 2 registers of accumulators, two of the panel and a broadcast
    /// fit the 16 registers without spilling.
    const ROWS: usize = 6;

    /// One panel `p` of columns for `rows` rows, in half-panels of six rows.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn panel(
        a: &[f32],
        rows: usize,
        w: &Packed,
        p: usize,
        first: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        let k = w.k;
        for half in 0..2 {
            if p * NR + 16 * half >= w.n {
                break;
            }
            for r in (0..rows).step_by(ROWS) {
                let a = &a[r * k..];
                macro_rules! rows {
                    ($($r:literal)*) => {
                        match (rows - r).min(ROWS) {
                            // SAFETY: as for this function.
                            $($r => unsafe { kernel::<$r>(a, w, p, half, first + r, c, epilogue) },)*
                            _ => unreachable!("1 to {ROWS} rows"),
                        }
                    };
                }
                rows!(1 2 3 4 5 6)
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel<const R: usize>(
        a: &[f32],
        w: &Packed,
        p: usize,
        half: usize,
        first: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        let (k, n) = (w.k, w.n);
        let b = w.panel(p)[16 * half..].as_ptr();
        let a = a.as_ptr();
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for i in 0..k {
            // SAFETY: the panel is k × NR and a has R rows of k.
            let (b0, b1) =
                unsafe { (_mm256_loadu_ps(b.add(i * NR)), _mm256_loadu_ps(b.add(i * NR + 8))) };
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(unsafe { *a.add(r * k + i) });
                acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
            }
        }
        let column = p * NR + 16 * half;
        let cols = 16.min(n - column);
        let masks = [lanes(cols.min(8)), lanes(cols.saturating_sub(8))];
        for (r, acc) in acc.iter().enumerate() {
            let at = (first + r) * n + column;
            for (h, (&v, &mask)) in acc.iter().zip(&masks).enumerate() {
                // SAFETY: `mask` covers only columns < n of row first + r,
                // which `gemm` checked `c` and the addend hold.
                unsafe {
                    let out = c.as_mut_ptr().add(at + 8 * h);
                    let v = match epilogue {
                        Epilogue::Accumulate => _mm256_add_ps(v, _mm256_maskload_ps(out, mask)),
                        Epilogue::AddRelu(d) => _mm256_max_ps(
                            _mm256_add_ps(v, _mm256_maskload_ps(d.as_ptr().add(at + 8 * h), mask)),
                            _mm256_setzero_ps(),
                        ),
                    };
                    _mm256_maskstore_ps(out, mask, v);
                }
            }
        }
    }

    /// A mask of the first `n` (≤ 8) lanes: each lane's sign bit set.
    #[target_feature(enable = "avx2")]
    fn lanes(n: usize) -> __m256i {
        let index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), index)
    }
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
