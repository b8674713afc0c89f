//! The SGD step of [`super::sgd_blocks`] in 16-float AVX-512 registers, for rows of up to
//! 128 factors. A single step loads its user and item rows into registers once and keeps
//! them there from the dot product through the update, where the eight-float path loads
//! every value twice; a row of 100 factors is seven registers, so both rows and the sums fit
//! in the 32 registers. A pair of independent steps (see `for_each_step`) would need twice
//! that, so each of its updates loads its rows again. The arithmetic per lane is the
//! portable step's (the same fused multiply-adds in the update); only the dot product's
//! order of additions differs. Built for x86_64 only.

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_mul_ps,
    _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setzero_ps,
};

use super::sgd_blocks::{for_each_step, Block, Rows, Step};

/// The widest row held in registers, in 16-float registers (128 factors).
const MAX_REGISTERS: usize = 8;

/// Runs the block's ratings as [`super::sgd_blocks`] does, with AVX-512, when its rows fit
/// in [`MAX_REGISTERS`] registers and are a whole number of eight-float halves (as
/// `row_width` pads them); returns false, having run nothing, when they are not.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn run_block(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) -> bool {
    // The masks of `load` and `update` cover whole halves: a row of another width would be
    // read and written past its end.
    if !step.row_width.is_multiple_of(8) {
        return false;
    }
    // SAFETY: every arm runs `run`, which needs AVX-512F; the caller guarantees it.
    unsafe {
        match step.row_width.div_ceil(16) {
            1 => run::<1>(users, items, ratings, step),
            2 => run::<2>(users, items, ratings, step),
            3 => run::<3>(users, items, ratings, step),
            4 => run::<4>(users, items, ratings, step),
            5 => run::<5>(users, items, ratings, step),
            6 => run::<6>(users, items, ratings, step),
            7 => run::<7>(users, items, ratings, step),
            8 => run::<8>(users, items, ratings, step),
            _ => return false,
        }
    }
    const _: () = assert!(MAX_REGISTERS == 8, "one arm per register count");
    true
}

#[target_feature(enable = "avx512f")]
unsafe fn run<const R: usize>(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    // Rows are a whole number of eight-float halves: the last register is full or half full.
    let last: __mmask16 = if step.row_width.is_multiple_of(16) { 0xFFFF } else { 0x00FF };
    for_each_step(users, items, ratings, step, |first: Rows<'_>, second: Option<Rows<'_>>| {
        // SAFETY: `run` is entered only with AVX-512F (its caller's contract), and every
        // row is `step.row_width` floats, which the masks of `load` and `store` respect.
        unsafe {
            match second {
                None => {
                    let loaded = load::<R>(first.user, first.item, last);
                    let err = error::<R>(&first, &loaded, step);
                    update::<R>(first, loaded, err, step, last);
                }
                // Both errors before either update, as `step_in_order` orders them, but each
                // update loads its rows again (from L1): two pairs of rows of up to 128
                // factors held from the dot products through the updates need more than the
                // 32 registers, and the spills cost more than the loads (a tenth of a fit's time).
                Some(second) => {
                    let first_err = error::<R>(&first, &load::<R>(first.user, first.item, last), step);
                    let second_err = error::<R>(&second, &load::<R>(second.user, second.item, last), step);
                    let loaded = load::<R>(first.user, first.item, last);
                    update::<R>(first, loaded, first_err, step, last);
                    let loaded = load::<R>(second.user, second.item, last);
                    update::<R>(second, loaded, second_err, step, last);
                }
            }
        }
    });
}

/// A user row and an item row, `R` registers each.
type Loaded<const R: usize> = ([__m512; R], [__m512; R]);

/// The mask of register `index` of a row of `R` registers whose last one is `last`.
#[inline(always)]
fn mask<const R: usize>(index: usize, last: __mmask16) -> __mmask16 {
    if index + 1 == R {
        last
    } else {
        0xFFFF
    }
}

/// # Safety
/// AVX-512F, and both rows at least `16 * (R - 1)` floats plus what `last` names.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load<const R: usize>(user: &[f32], item: &[f32], last: __mmask16) -> Loaded<R> {
    let (mut p, mut q) = ([_mm512_setzero_ps(); R], [_mm512_setzero_ps(); R]);
    for index in 0..R {
        // SAFETY: the caller's bounds; masked-off lanes are not read.
        unsafe {
            p[index] = _mm512_maskz_loadu_ps(mask::<R>(index, last), user.as_ptr().add(16 * index));
            q[index] = _mm512_maskz_loadu_ps(mask::<R>(index, last), item.as_ptr().add(16 * index));
        }
    }
    (p, q)
}

/// The rating's error, `r − (μ + b_u + b_i + q_i·p_u)`, from the loaded rows.
#[target_feature(enable = "avx512f")]
#[inline]
fn error<const R: usize>(rows: &Rows<'_>, (p, q): &Loaded<R>, step: Step) -> f32 {
    // Four running sums: the chain of dependent multiply-adds is at most two long.
    let mut sums = [_mm512_setzero_ps(); 4];
    for index in 0..R {
        sums[index % 4] = _mm512_fmadd_ps(p[index], q[index], sums[index % 4]);
    }
    let dot = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(sums[0], sums[1]), _mm512_add_ps(sums[2], sums[3])));
    rows.rating - (step.global_mean + *rows.user_bias + *rows.item_bias + dot)
}

/// The SGD step from the rating's error: the same per-lane arithmetic as the portable step,
/// `p·(1 − lr·reg) + (lr·err)·q` fused, written back under the row's masks.
///
/// # Safety
/// As for [`load`].
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn update<const R: usize>(rows: Rows<'_>, (p, q): Loaded<R>, err: f32, step: Step, last: __mmask16) {
    let (lr, reg) = (step.learning_rate, step.regularization);
    *rows.user_bias += lr * (err - reg * *rows.user_bias);
    *rows.item_bias += lr * (err - reg * *rows.item_bias);
    let (decay, lr_err) = (_mm512_set1_ps(1.0 - lr * reg), _mm512_set1_ps(lr * err));
    for index in 0..R {
        let new_p = _mm512_fmadd_ps(p[index], decay, _mm512_mul_ps(lr_err, q[index]));
        let new_q = _mm512_fmadd_ps(q[index], decay, _mm512_mul_ps(lr_err, p[index]));
        // SAFETY: the caller's bounds; masked-off lanes are not written.
        unsafe {
            _mm512_mask_storeu_ps(rows.user.as_mut_ptr().add(16 * index), mask::<R>(index, last), new_p);
            _mm512_mask_storeu_ps(rows.item.as_mut_ptr().add(16 * index), mask::<R>(index, last), new_q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sgd_blocks::tests::{assert_pairs_change_no_bit, Kernel, PORTABLE};
    use super::*;

    fn avx512() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    const AVX512: Kernel = |users, items, ratings, step| {
        // SAFETY: only called after `avx512()`.
        assert!(unsafe { run_block(users, items, ratings, step) }, "rows of {} floats fit", step.row_width);
    };

    #[test]
    fn stepping_independent_ratings_in_pairs_changes_no_bit_at_every_register_count() {
        if !avx512() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        for k in [1, 8, 15, 16, 17, 24, 100, 113, 128] {
            assert_pairs_change_no_bit(k, AVX512);
        }
    }

    #[test]
    fn the_sixteen_lane_step_agrees_with_the_portable_one_up_to_the_order_of_the_dot_products_sums() {
        if !avx512() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        for k in [3, 16, 40, 100, 128] {
            let [start, wide] = assert_pairs_change_no_bit(k, AVX512);
            let [again, portable] = assert_pairs_change_no_bit(k, PORTABLE);
            assert_eq!(start.0.factors, again.0.factors, "both start from the same rows");
            for (a, b) in
                wide.0.factors.iter().chain(&wide.1.factors).zip(portable.0.factors.iter().chain(&portable.1.factors))
            {
                assert!((a - b).abs() < 1e-5, "k {k}: {a} vs {b}");
            }
            for (a, b) in wide.0.bias.iter().chain(&wide.1.bias).zip(portable.0.bias.iter().chain(&portable.1.bias)) {
                assert!((a - b).abs() < 1e-5, "k {k}: bias {a} vs {b}");
            }
        }
    }

    #[test]
    fn rows_too_wide_or_not_whole_halves_are_left_to_the_other_kernels() {
        if !avx512() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        for width in [16 * MAX_REGISTERS + 8, 5, 100] {
            let mut users = Block { bias: vec![0.0], factors: vec![0.5; width] };
            let mut items = Block { bias: vec![0.0], factors: vec![0.5; width] };
            let step = Step { row_width: width, global_mean: 3.0, learning_rate: 0.01, regularization: 0.02 };
            // SAFETY: AVX-512F was detected above.
            assert!(!unsafe { run_block(&mut users, &mut items, &[(0, 0, 5.0)], step) }, "width {width}");
            assert_eq!(users.factors, vec![0.5; width], "width {width}: nothing ran");
        }
    }
}
