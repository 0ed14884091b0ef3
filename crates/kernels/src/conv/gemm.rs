//! The GEMM wrapper: gemm's single-threaded product over row-major or transposed views, and
//! the layout moves around it.

/// A row-major matrix of `cols` columns, read as stored or transposed.
#[derive(Clone, Copy)]
pub(crate) struct Matrix<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) row_stride: isize,
    pub(crate) col_stride: isize,
}

impl<'a> Matrix<'a> {
    pub(crate) fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    pub(crate) fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: cols as isize,
        }
    }

    /// The largest element offset a `rows × cols` read of this view touches, plus one.
    pub(crate) fn extent(&self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            return 0;
        }
        (rows - 1) * self.row_stride as usize + (cols - 1) * self.col_stride as usize + 1
    }
}

/// `lhs[m, k] · rhs[k, n]` as a new row-major `[m, n]` matrix. Single-threaded: the caller
/// already runs one group per thread.
pub(crate) fn gemm(m: usize, n: usize, k: usize, lhs: Matrix, rhs: Matrix) -> Vec<f32> {
    let mut dst = crate::output_buffer(m * n);
    gemm_into(&mut dst.spare_capacity_mut()[..m * n], m, n, k, lhs, rhs);
    // SAFETY: `gemm_into` initialised all `m * n` elements.
    unsafe { dst.set_len(m * n) };
    dst
}

/// `lhs[m, k] · rhs[k, n]` written over `dst` (row-major `[m, n]`, whatever it held); returns
/// `dst`, now initialised.
pub(crate) fn gemm_into<'d>(
    dst: &'d mut [std::mem::MaybeUninit<f32>],
    m: usize,
    n: usize,
    k: usize,
    lhs: Matrix,
    rhs: Matrix,
) -> &'d mut [f32] {
    assert_eq!(dst.len(), m * n, "gemm: destination size");
    assert!(
        lhs.data.len() >= lhs.extent(m, k),
        "gemm: left matrix too small"
    );
    assert!(
        rhs.data.len() >= rhs.extent(k, n),
        "gemm: right matrix too small"
    );
    if k == 0 {
        dst.iter_mut().for_each(|d| {
            d.write(0.0);
        });
    } else if m > 0 && n > 0 {
        // SAFETY: the asserts keep every read of the m×n×k product inside `lhs` and `rhs`
        // and every write inside `dst`; with `read_dst` false gemm writes each of the m·n
        // destination elements (row stride n, column stride 1) without reading them.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr().cast::<f32>(),
                1,
                n as isize,
                false,
                lhs.data.as_ptr(),
                lhs.col_stride,
                lhs.row_stride,
                rhs.data.as_ptr(),
                rhs.col_stride,
                rhs.row_stride,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    // SAFETY: every element was written above (MaybeUninit<f32> has f32's layout).
    unsafe { &mut *(dst as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) }
}

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
pub(crate) fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for (r, row) in a.chunks_exact(cols).enumerate() {
        for (c, v) in row.iter().enumerate() {
            t[c * rows + r] = *v;
        }
    }
    t
}

/// `[images, channels, p]` → `[channels, images·p]`: one GEMM row per channel.
pub(crate) fn channel_major(x: &[f32], images: usize, channels: usize, p: usize) -> Vec<f32> {
    let mut rows = Vec::with_capacity(channels * images * p);
    for c in 0..channels {
        for b in 0..images {
            rows.extend_from_slice(&x[(b * channels + c) * p..(b * channels + c + 1) * p]);
        }
    }
    rows
}
