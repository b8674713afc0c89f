//! The SGD step of [`super::sgd_blocks`] in 16-float AVX-512 registers, for rows of up to
//! 128 factors (a row of 100 factors is seven registers). The rows of the two users the
//! latest steps touched stay in registers, with their biases, and are written back only
//! when another user needs their place: in the order `sgd_blocks` visits ratings (two
//! users' ratings alternating) nearly every step finds its user there, so a step reads and
//! writes only its item's row. Two consecutive independent ratings (different users and
//! items) have both errors computed before either update, as `for_each_step` pairs them.
//! Holding rows in registers changes no value: each step computes exactly what stepping the
//! ratings one by one from memory computes. The arithmetic per lane is the portable step's
//! (the same fused multiply-adds in the update); only the dot product's order of additions
//! differs. Built for x86_64 only.

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_mul_ps,
    _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setzero_ps,
};

use super::sgd_blocks::{independent_partner, prefetch_ahead, prefetch_row, Block, Step};

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
    // The masks of `mask` cover whole halves: a row of another width would be read and
    // written past its end.
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

/// A user's row and bias, held in registers between that user's steps.
#[derive(Clone, Copy)]
struct HeldUser<const R: usize> {
    /// The user's local index in the block; `usize::MAX` when nothing is held.
    user: usize,
    row: [__m512; R],
    bias: f32,
}

/// The two users' rows the kernel holds; `first` is the current step's.
struct Held<const R: usize> {
    first: HeldUser<R>,
    second: HeldUser<R>,
}

#[target_feature(enable = "avx512f")]
unsafe fn run<const R: usize>(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    // Rows are a whole number of eight-float halves: the last register is full or half full.
    let last: __mmask16 = if step.row_width.is_multiple_of(16) { 0xFFFF } else { 0x00FF };
    let (k, n_users, n_items) = (step.row_width, users.bias.len(), items.bias.len());
    // The blocks' invariant, checked once: every pointer below is to a whole row.
    if users.factors.len() != n_users * k || items.factors.len() != n_items * k {
        return;
    }
    let empty = HeldUser { user: usize::MAX, row: [_mm512_setzero_ps(); R], bias: 0.0 };
    let mut held = Held { first: empty, second: empty };
    let mut prefetched = 0;
    let mut index = 0;
    while let Some(&(u, i, rating)) = ratings.get(index) {
        // Item rows only: user rows are mostly held.
        prefetch_ahead(ratings, index, &mut prefetched, |_, next_i| prefetch_row(&items.factors, next_i as usize, k));
        let (u, i) = (u as usize, i as usize);
        if u >= n_users || i >= n_items {
            // Outside the block: skipped, as `for_each_step` skips it.
            index += 1;
            continue;
        }
        let partner = independent_partner(ratings, index, n_users, n_items);
        // SAFETY: AVX-512F is the caller's contract; every user and item index is below its
        // block's size, and the factors hold exactly that many rows of `k` floats.
        unsafe {
            let item = items.factors.as_mut_ptr().add(i * k);
            match partner {
                None => {
                    hold(&mut held, u, None, users, k, last);
                    let err = error(&held.first, item, items.bias[i], rating, step, last);
                    update(&mut held.first, item, &mut items.bias[i], err, step, last);
                    index += 1;
                }
                Some((u2, i2, rating2)) => {
                    hold(&mut held, u, Some(u2), users, k, last);
                    let item2 = items.factors.as_mut_ptr().add(i2 * k);
                    let err = error(&held.first, item, items.bias[i], rating, step, last);
                    let err2 = error(&held.second, item2, items.bias[i2], rating2, step, last);
                    update(&mut held.first, item, &mut items.bias[i], err, step, last);
                    update(&mut held.second, item2, &mut items.bias[i2], err2, step, last);
                    index += 2;
                }
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        write_back(&held.first, users, k, last);
        write_back(&held.second, users, k, last);
    }
}

/// Makes `held.first` user `user` and, when `partner` is given, `held.second` that user,
/// swapping the two when that saves a reload and writing back what must leave.
///
/// # Safety
/// AVX-512F; `user` and `partner` below the block's users, whose factors are rows of
/// `width` floats (see [`read`]).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn hold<const R: usize>(
    held: &mut Held<R>,
    user: usize,
    partner: Option<usize>,
    users: &mut Block,
    width: usize,
    last: __mmask16,
) {
    if held.second.user == user || partner.is_some_and(|partner| held.first.user == partner) {
        std::mem::swap(&mut held.first, &mut held.second);
    }
    // SAFETY: the caller's contract.
    unsafe {
        if held.first.user != user {
            write_back(&held.first, users, width, last);
            held.first = read(users, user, width, last);
        }
        if let Some(partner) = partner {
            if held.second.user != partner {
                write_back(&held.second, users, width, last);
                held.second = read(users, partner, width, last);
            }
        }
    }
}

/// Loads user `user`'s row and bias.
///
/// # Safety
/// AVX-512F; `user` below the block's users, whose factors are rows of `width` floats:
/// `16 * R`, or `16 * R - 8` when `last` is half.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn read<const R: usize>(users: &Block, user: usize, width: usize, last: __mmask16) -> HeldUser<R> {
    let mut row = [_mm512_setzero_ps(); R];
    for (index, register) in row.iter_mut().enumerate() {
        // SAFETY: the caller's bounds; masked-off lanes are not read.
        *register = unsafe {
            _mm512_maskz_loadu_ps(mask::<R>(index, last), users.factors.as_ptr().add(user * width + 16 * index))
        };
    }
    HeldUser { user, row, bias: users.bias[user] }
}

/// Stores a held row and bias back into the block (nothing when nothing is held).
///
/// # Safety
/// As for [`read`].
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn write_back<const R: usize>(held: &HeldUser<R>, users: &mut Block, width: usize, last: __mmask16) {
    let Some(bias) = users.bias.get_mut(held.user) else { return };
    *bias = held.bias;
    for (index, register) in held.row.iter().enumerate() {
        // SAFETY: the caller's bounds; masked-off lanes are not written.
        unsafe {
            _mm512_mask_storeu_ps(
                users.factors.as_mut_ptr().add(held.user * width + 16 * index),
                mask::<R>(index, last),
                *register,
            );
        }
    }
}

/// The mask of register `index` of a row of `R` registers whose last one is `last`.
#[inline(always)]
fn mask<const R: usize>(index: usize, last: __mmask16) -> __mmask16 {
    if index + 1 == R {
        last
    } else {
        0xFFFF
    }
}

/// The rating's error, `r − (μ + b_u + b_i + q_i·p_u)`, with the item's row read from memory.
///
/// # Safety
/// AVX-512F; `item` points to a whole row (as for [`read`]).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn error<const R: usize>(
    user: &HeldUser<R>,
    item: *const f32,
    item_bias: f32,
    rating: f32,
    step: Step,
    last: __mmask16,
) -> f32 {
    // Four running sums: the chain of dependent multiply-adds is at most two long.
    let mut sums = [_mm512_setzero_ps(); 4];
    for index in 0..R {
        // SAFETY: the caller's bounds; masked-off lanes are not read.
        let q = unsafe { _mm512_maskz_loadu_ps(mask::<R>(index, last), item.add(16 * index)) };
        sums[index % 4] = _mm512_fmadd_ps(user.row[index], q, sums[index % 4]);
    }
    let dot = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(sums[0], sums[1]), _mm512_add_ps(sums[2], sums[3])));
    rating - (step.global_mean + user.bias + item_bias + dot)
}

/// The SGD step from the rating's error: the same per-lane arithmetic as the portable step,
/// `p·(1 − lr·reg) + (lr·err)·q` fused; the user's row stays in registers, the item's is
/// written back under the row's masks.
///
/// # Safety
/// As for [`error`].
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn update<const R: usize>(
    user: &mut HeldUser<R>,
    item: *mut f32,
    item_bias: &mut f32,
    err: f32,
    step: Step,
    last: __mmask16,
) {
    let (lr, reg) = (step.learning_rate, step.regularization);
    user.bias += lr * (err - reg * user.bias);
    *item_bias += lr * (err - reg * *item_bias);
    let (decay, lr_err) = (_mm512_set1_ps(1.0 - lr * reg), _mm512_set1_ps(lr * err));
    for index in 0..R {
        // SAFETY: the caller's bounds; masked-off lanes are neither read nor written.
        unsafe {
            let q = _mm512_maskz_loadu_ps(mask::<R>(index, last), item.add(16 * index));
            let p = user.row[index];
            user.row[index] = _mm512_fmadd_ps(p, decay, _mm512_mul_ps(lr_err, q));
            let new_q = _mm512_fmadd_ps(q, decay, _mm512_mul_ps(lr_err, p));
            _mm512_mask_storeu_ps(item.add(16 * index), mask::<R>(index, last), new_q);
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
