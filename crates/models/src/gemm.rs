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
//!
//! Chemprop's messages are sums of ReLU outputs, about three quarters
//! zeros, so for inputs the caller marks [`Density::Sparse`] the x86
//! kernels skip the zeros: each row becomes a list of its non-zero entries,
//! and each non-zero adds its multiple of one row of a panel, which stays
//! in L1 while every row's list streams past it. A row's result depends on
//! that row alone, summed in a fixed order, so a molecule's prediction does
//! not depend on the batch it came in.

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
    /// The panels start at `panels[start]`, on a cache-line boundary, so no
    /// vector load of a panel row straddles two lines (the sparse kernel
    /// loads rows in random order, where a split load costs double).
    panels: Vec<f32>,
    start: usize,
}

/// Floats per cache line.
const LINE: usize = 16;

impl Packed {
    /// Packs the transpose of `n` weight rows of length `k` that start
    /// `stride` floats apart in `w` (a column block of a wider matrix when
    /// `stride > k`).
    pub(crate) fn transposed(w: &[f32], k: usize, n: usize, stride: usize) -> Packed {
        assert!(n == 0 || w.len() >= (n - 1) * stride + k, "weights shorter than their shape");
        let mut panels = vec![0f32; n.div_ceil(NR) * k * NR + LINE];
        // `align_offset` may decline (usize::MAX); then any start will do.
        let start = panels.as_ptr().align_offset(LINE * size_of::<f32>()).min(LINE);
        for (p, panel) in panels[start..].chunks_exact_mut(k * NR).enumerate() {
            for (i, row) in panel.chunks_exact_mut(NR).enumerate() {
                for (c, v) in row.iter_mut().enumerate().take(n.saturating_sub(p * NR)) {
                    *v = w[(p * NR + c) * stride + i];
                }
            }
        }
        Packed { k, n, panels, start }
    }

    pub(crate) fn inputs(&self) -> usize {
        self.k
    }

    pub(crate) fn outputs(&self) -> usize {
        self.n
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.panels[self.start + p * self.k * NR..][..self.k * NR]
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

/// What the caller knows of the rows of `a`.
pub(crate) enum Density<'a> {
    Dense,
    /// Mostly zeros (more than about half): worth listing the non-zeros,
    /// in lists the caller keeps between products.
    Sparse(&'a mut Nonzeros),
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
    density: Density,
) {
    gemm_with(Kernel::best(), m, row, w, c, epilogue, density);
}

/// `gemm` of a row-major `[m, w.inputs()]` matrix.
pub(crate) fn gemm_matrix(
    a: &[f32],
    m: usize,
    w: &Packed,
    c: &mut [f32],
    epilogue: Epilogue,
    density: Density,
) {
    let k = w.k;
    assert!(a.len() >= m * k, "input shorter than m × k");
    gemm(m, |i, out| out.copy_from_slice(&a[i * k..][..k]), w, c, epilogue, density);
}

fn gemm_with(
    kernel: Kernel,
    m: usize,
    row: impl Fn(usize, &mut [f32]),
    w: &Packed,
    c: &mut [f32],
    epilogue: Epilogue,
    density: Density,
) {
    assert!(c.len() >= m * w.n, "output shorter than m × n");
    if let Epilogue::AddRelu(d) = epilogue {
        assert!(d.len() >= m * w.n, "addend shorter than m × n");
    }
    let k = w.k;
    if let (Density::Sparse(nonzeros), false) = (density, kernel == Kernel::Portable) {
        nonzeros.clear(m * k);
        let mut buffer = vec![0f32; k];
        for i in 0..m {
            row(i, &mut buffer);
            nonzeros.push(kernel, &buffer);
        }
        sparse_product(kernel, nonzeros, w, c, epilogue);
        return;
    }
    let mut block = vec![0f32; MR * k];
    for first in (0..m).step_by(MR) {
        let rows = MR.min(m - first);
        for (r, out) in block.chunks_exact_mut(k).take(rows).enumerate() {
            row(first + r, out);
        }
        block_product(kernel, &block[..rows * k], rows, w, first, c, epilogue);
    }
}

/// Non-zeros the sparse kernel takes per step, one into each of its sets
/// of accumulators.
const STEP: usize = 4;

/// The non-zero entries of each row of `a`: for each, its offset in a
/// panel (`index × NR`, so the kernel adds it to the panel's start) and its
/// value; each row's list padded with zeros to a multiple of [`STEP`].
#[derive(Default)]
pub(crate) struct Nonzeros {
    offsets: Vec<u32>,
    values: Vec<f32>,
    /// Row r's entries are `ends[r - 1]..ends[r]`.
    ends: Vec<usize>,
}

impl Nonzeros {
    /// Empties the lists, with room for `entries` (grown once, not row by
    /// row, so a large product does not reallocate and copy as it goes).
    fn clear(&mut self, entries: usize) {
        self.ends.clear();
        // The AVX-512 lister stores whole vectors: room for one more.
        let room = entries + 16;
        if self.offsets.len() < room {
            self.offsets = vec![0; room];
            self.values = vec![0.0; room];
        }
    }

    /// Appends the list of `row`'s non-zeros.
    fn push(&mut self, kernel: Kernel, row: &[f32]) {
        assert!(row.len() * NR <= u32::MAX as usize, "panel offsets beyond u32");
        let start = self.ends.last().copied().unwrap_or(0);
        let room = start + row.len() + 16;
        let (offsets, values) = (&mut self.offsets[start..room], &mut self.values[start..room]);
        let count = match kernel {
            // SAFETY: the CPU has AVX-512F; both lists hold row.len() + 16.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::nonzeros_avx512(row, offsets, values) },
            _ => {
                // Every entry is written and the count advanced only past
                // the non-zeros: no branch to mispredict on random zeros.
                let mut count = 0;
                for (i, &v) in row.iter().enumerate() {
                    offsets[count] = (i * NR) as u32;
                    values[count] = v;
                    count += usize::from(v != 0.0);
                }
                count
            }
        };
        // Padded with zeros (adding nothing) to a whole number of the
        // kernel's steps of four, so it has no remainder loop to mispredict.
        let padded = count.next_multiple_of(STEP);
        offsets[count..padded].fill(0);
        values[count..padded].fill(0.0);
        self.ends.push(start + padded);
    }

    fn rows(&self) -> usize {
        self.ends.len()
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let start = if r == 0 { 0 } else { self.ends[r - 1] };
        let end = self.ends[r];
        (&self.offsets[start..end], &self.values[start..end])
    }
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

/// Rows `first..first + rows` (≤ MR) of `c` from the `rows × k` block `a`.
fn block_product(
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
        Kernel::Avx512 => unsafe { x86::dense_avx512(a, rows, w, first, c, epilogue) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::dense_avx2(a, rows, w, first, c, epilogue) },
        Kernel::Portable => portable(a, rows, w, first, c, epilogue),
    }
}

/// `c` from the non-zeros of every row of `a`.
fn sparse_product(
    kernel: Kernel,
    nonzeros: &Nonzeros,
    w: &Packed,
    c: &mut [f32],
    epilogue: Epilogue,
) {
    match kernel {
        // SAFETY (both): as in `block_product`; the offsets were made for
        // this k, so every panel row they name exists.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::sparse_avx512(nonzeros, w, c, epilogue) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::sparse_avx2(nonzeros, w, c, epilogue) },
        Kernel::Portable => unreachable!("the portable kernel multiplies dense rows only"),
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
    use super::{Epilogue, Nonzeros, Packed, MR, NR, STEP};
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

    /// `R` rows × `C` vectors of columns starting at `column` (within panel
    /// `p`): the accumulators stay in registers over all of k, and the
    /// epilogue is applied before the one store.
    ///
    /// # Safety
    /// The CPU has `V`'s features; `a` holds R rows of k; `c` (and the
    /// addend) hold rows `first..first + R` of n columns.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<V: Vector, const R: usize, const C: usize>(
        a: &[f32],
        w: &Packed,
        p: usize,
        column: usize,
        first: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        let (k, n, l) = (w.k, w.n, V::LANES);
        debug_assert!(a.len() >= R * k && column + C * l <= (p + 1) * NR);
        let b = w.panel(p)[column - p * NR..].as_ptr();
        let a = a.as_ptr();
        // SAFETY (all below): within the bounds the caller guarantees; the
        // masks cover only columns < n.
        unsafe {
            let mut acc = [[V::zero(); C]; R];
            for i in 0..k {
                let b: [V; C] = std::array::from_fn(|h| V::load(b.add(i * NR + h * l)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = V::splat(a.add(r * k + i));
                    for (acc, &b) in acc.iter_mut().zip(&b) {
                        *acc = V::fma(x, b, *acc);
                    }
                }
            }
            let masks = masks::<V, C>(n - column);
            for (r, acc) in acc.iter().enumerate() {
                store(acc, &masks, (first + r) * n + column, c, epilogue);
            }
        }
    }

    /// One row of a strip of `C` vectors from the row's non-zeros
    /// (`offsets` into panel `p`, `values`), which it walks four at a time
    /// into four sets of accumulators, so consecutive FMAs do not wait on
    /// each other.
    ///
    /// # Safety
    /// As for [`tile`], with every offset naming a row of the panel.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn sparse_tile<V: Vector, const C: usize>(
        offsets: &[u32],
        values: &[f32],
        w: &Packed,
        p: usize,
        column: usize,
        row: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        let l = V::LANES;
        debug_assert!(column + C * l <= (p + 1) * NR);
        let b = w.panel(p)[column - p * NR..].as_ptr();
        // SAFETY (all below): offsets name panel rows (the caller), the
        // masks cover only columns < n.
        unsafe {
            let mut acc = [[V::zero(); C]; STEP];
            let add = |acc: &mut [V; C], j: usize| {
                let o = *offsets.get_unchecked(j) as usize;
                let x = V::splat(values.as_ptr().add(j));
                for (h, acc) in acc.iter_mut().enumerate() {
                    *acc = V::fma(x, V::load(b.add(o + h * l)), *acc);
                }
            };
            debug_assert!(offsets.len().is_multiple_of(STEP));
            for j in (0..offsets.len()).step_by(STEP) {
                for (u, acc) in acc.iter_mut().enumerate() {
                    add(acc, j + u);
                }
            }
            const { assert!(STEP == 4, "the sets are summed in pairs") };
            let sum: [V; C] = std::array::from_fn(|h| {
                V::add(V::add(acc[0][h], acc[1][h]), V::add(acc[2][h], acc[3][h]))
            });
            store(&sum, &masks::<V, C>(w.n - column), row * w.n + column, c, epilogue);
        }
    }

    /// Masks for a strip of `C` vectors with `cols` columns left in the row.
    ///
    /// # Safety
    /// The CPU has `V`'s features.
    #[inline(always)]
    unsafe fn masks<V: Vector, const C: usize>(cols: usize) -> [V::Mask; C] {
        let l = V::LANES;
        let cols = cols.min(C * l);
        // SAFETY: the caller's features.
        std::array::from_fn(|h| unsafe { V::first(cols.saturating_sub(h * l).min(l)) })
    }

    /// Applies the epilogue to one row's accumulators and stores them at
    /// `c[at..]`.
    ///
    /// # Safety
    /// `V`'s features; `c` and the addend hold the masked lanes from `at`.
    #[inline(always)]
    unsafe fn store<V: Vector, const C: usize>(
        acc: &[V; C],
        masks: &[V::Mask; C],
        at: usize,
        c: &mut [f32],
        epilogue: Epilogue,
    ) {
        let l = V::LANES;
        for (h, (&v, &mask)) in acc.iter().zip(masks).enumerate() {
            // SAFETY: as for this function.
            unsafe {
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

    /// Tiles of `V` covering `rows` (≤ MR) rows and every column: `height`
    /// rows by one two-vector strip of columns at a time.
    macro_rules! dense {
        ($name:ident, $features:literal, $vector:ty, $height:literal, [$($r:literal)*]) => {
            /// # Safety
            /// The CPU has the features; `c` and the addend hold rows
            /// `first..first + rows` of n columns.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name(
                a: &[f32],
                rows: usize,
                w: &Packed,
                first: usize,
                c: &mut [f32],
                epilogue: Epilogue,
            ) {
                const { assert!($height <= MR) };
                let k = w.k;
                let lanes = <$vector as Vector>::LANES;
                // Strips of two vectors, which divide a panel.
                for column in (0..w.n).step_by(2 * lanes) {
                    let p = column / NR;
                    // A strip one vector wide or less (the end of a ragged
                    // last panel) takes one vector of accumulators.
                    let one = w.n - column <= lanes;
                    for r in (0..rows).step_by($height) {
                        let a = &a[r * k..];
                        // SAFETY: as for this function.
                        unsafe {
                            match ((rows - r).min($height), one) {
                                $(
                                    ($r, true) => tile::<$vector, $r, 1>(a, w, p, column, first + r, c, epilogue),
                                    ($r, false) => tile::<$vector, $r, 2>(a, w, p, column, first + r, c, epilogue),
                                )*
                                _ => unreachable!("1 to {} rows", $height),
                            }
                        }
                    }
                }
            }
        };
    }

    // AVX-512: 12 rows × 32 columns, 24 accumulators of the 32 registers.
    dense!(dense_avx512, "avx512f", __m512, 12, [1 2 3 4 5 6 7 8 9 10 11 12]);
    // AVX2: 6 rows × 16 columns, 12 accumulators, two panel vectors and a
    // broadcast in the 16 registers without spilling.
    dense!(dense_avx2, "avx2,fma", __m256, 6, [1 2 3 4 5 6]);

    /// Every row's non-zero list against a strip of two vectors of columns
    /// at a time, so the strip's panel stays in L1 while the lists stream
    /// past.
    macro_rules! sparse {
        ($name:ident, $features:literal, $vector:ty) => {
            /// # Safety
            /// The CPU has the features; `c` and the addend hold
            /// `nonzeros.rows()` rows of n columns; the offsets were listed
            /// for `w`'s k.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name(
                nonzeros: &Nonzeros,
                w: &Packed,
                c: &mut [f32],
                epilogue: Epilogue,
            ) {
                let lanes = <$vector as Vector>::LANES;
                for column in (0..w.n).step_by(2 * lanes) {
                    let p = column / NR;
                    let one = w.n - column <= lanes;
                    for row in 0..nonzeros.rows() {
                        prefetch_strip(row + AHEAD, column, w.n, 2 * lanes, c, epilogue);
                        let (offsets, values) = nonzeros.row(row);
                        // SAFETY: as for this function.
                        unsafe {
                            if one {
                                sparse_tile::<$vector, 1>(
                                    offsets, values, w, p, column, row, c, epilogue,
                                )
                            } else {
                                sparse_tile::<$vector, 2>(
                                    offsets, values, w, p, column, row, c, epilogue,
                                )
                            }
                        }
                    }
                }
            }
        };
    }

    /// Rows ahead of the current one whose output (and addend) the sparse
    /// kernel asks the cache for: rows lie a whole row of `c` apart, a
    /// stride the hardware prefetchers miss, and without this the epilogue
    /// waits on them.
    const AHEAD: usize = 4;

    /// Prefetches `width` floats from `column` of row `row` of `c` and of
    /// the addend.
    #[inline(always)]
    fn prefetch_strip(
        row: usize,
        column: usize,
        n: usize,
        width: usize,
        c: &[f32],
        epilogue: Epilogue,
    ) {
        let at = row * n + column;
        let prefetch = |matrix: &[f32]| {
            // The strip's first, middle and last floats: every line it
            // touches, however it is aligned.
            for offset in [0, width / 2, width - 1] {
                // Only prefetched, never read, and a prefetch does not
                // fault, even past the end (hence `wrapping_add`).
                let line = matrix.as_ptr().wrapping_add(at + offset);
                // SAFETY: SSE, which every x86-64 has.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line.cast()) };
            }
        };
        prefetch(c);
        if let Epilogue::AddRelu(d) = epilogue {
            prefetch(d);
        }
    }

    sparse!(sparse_avx512, "avx512f", __m512);
    sparse!(sparse_avx2, "avx2,fma", __m256);

    /// Writes `row`'s non-zeros (panel offsets and values) to the front of
    /// `offsets` and `values` and returns their count, sixteen entries at a
    /// time with AVX-512's compress.
    ///
    /// # Safety
    /// The CPU has AVX-512F; both lists hold `row.len() + 16` entries.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn nonzeros_avx512(
        row: &[f32],
        offsets: &mut [u32],
        values: &mut [f32],
    ) -> usize {
        let k = row.len();
        assert!(offsets.len() >= k + 16 && values.len() >= k + 16, "lists too short");
        let nr = NR as i32;
        let mut offset = _mm512_setr_epi32(
            0,
            nr,
            2 * nr,
            3 * nr,
            4 * nr,
            5 * nr,
            6 * nr,
            7 * nr,
            8 * nr,
            9 * nr,
            10 * nr,
            11 * nr,
            12 * nr,
            13 * nr,
            14 * nr,
            15 * nr,
        );
        let step = _mm512_set1_epi32(16 * nr);
        let mut count = 0;
        for start in (0..k).step_by(16) {
            // SAFETY: loads only the lanes inside the row; stores 16 lanes
            // at `count` ≤ start, within the k + 16 entries.
            unsafe {
                let inside = <__m512 as Vector>::first((k - start).min(16));
                let v = _mm512_maskz_loadu_ps(inside, row.as_ptr().add(start));
                let keep = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(v, _mm512_setzero_ps()) & inside;
                _mm512_storeu_ps(values.as_mut_ptr().add(count), _mm512_maskz_compress_ps(keep, v));
                _mm512_storeu_si512(
                    offsets.as_mut_ptr().add(count).cast(),
                    _mm512_maskz_compress_epi32(keep, offset),
                );
                count += keep.count_ones() as usize;
            }
            offset = _mm512_add_epi32(offset, step);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row count, several blocks, a ragged last panel and rows from
    /// all zeros to dense, against the plain triple loop, through every
    /// kernel this CPU runs, dense and sparse.
    #[test]
    fn products_equal_the_definition() {
        let (k, n, stride) = (37, 45, 50);
        let w: Vec<f32> = (0..n * stride).map(|i| ((i * 7919) % 23) as f32 / 11.0 - 1.0).collect();
        let packed = Packed::transposed(&w, k, n, stride);
        for m in [1, 5, 12, 13, 30, 100] {
            // Row i keeps about i % 4 entries in four.
            let a: Vec<f32> = (0..m * k)
                .map(|i| match (i * 7) % 4 < (i / k) % 4 {
                    true => ((i * 104729) % 19) as f32 / 7.0 - 1.3,
                    false => 0.0,
                })
                .collect();
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
                let mut results = Vec::new();
                for kernel in Kernel::available() {
                    for sparse in [false, true] {
                        let mut lists = Nonzeros::default();
                        let density =
                            if sparse { Density::Sparse(&mut lists) } else { Density::Dense };
                        let mut c = vec![1.5f32; m * n];
                        let row = |i: usize, out: &mut [f32]| out.copy_from_slice(&a[i * k..][..k]);
                        gemm_with(kernel, m, row, &packed, &mut c, epilogue, density);
                        results.push((kernel, sparse, c));
                    }
                }
                for (kernel, sparse, got) in &results {
                    for (x, (g, e)) in got.iter().zip(&expected).enumerate() {
                        let close = (g - e).abs() <= 1e-4 * e.abs().max(1.0);
                        assert!(close, "{kernel:?} (sparse {sparse}), m {m} at {x}: {g} vs {e}");
                    }
                }
            }
        }
    }
}
