//! The inner loop of biased-SVD training, made fast without changing what it computes.
//!
//! Ratings are stratified the way DSGD does it (Gemulla et al., 2011): users and items each
//! fall in one of `B` blocks, and an epoch runs `B` strata; in stratum `s`, block pair
//! `(b, (b + s) mod B)` for every `b` touches disjoint users and items, so the pairs run on
//! separate threads with no locks and no races. Each block pair visits its ratings in one
//! seeded order ([`interleave_users`]), fixed once, so the result depends on the seed and
//! `B`, never on how many threads ran it. That order takes a user's ratings one after
//! another, as Surprise does, but two users at a time, alternating: each step then finds
//! its user's row where the step before last left it, and the two users' steps are
//! independent of each other.
//!
//! The per-rating step is the same Funk SGD step as Surprise's. It is compiled three times,
//! chosen at run time: portably, with AVX2 and FMA (the factor loops eight lanes wide with
//! fused multiply-adds), and with AVX-512 for rows of up to 128 factors
//! ([`super::sgd_avx512`]: sixteen lanes, the two current users' rows held in registers
//! from one of their steps to the next). Inside the blocks each
//! factor row is padded with zeros to a multiple of eight floats ([`row_width`]), so those
//! loops have no scalar tail (100 factors would leave four floats, a chain of four dependent
//! scalar steps in every dot product); the padding stays zero, since every update of a
//! padded lane multiplies zeros.

use rayon::prelude::*;

use crate::prefetch::prefetch;
use marquee_model::random::{SplitMix64, Ziggurat};

/// How many ratings ahead the factor rows are prefetched.
const PREFETCH_AHEAD: usize = 4;

/// The floats each factor row takes inside a [`Block`]: `k` rounded up to a multiple of eight.
pub(super) fn row_width(k: usize) -> usize {
    k.div_ceil(8) * 8
}

/// One block's users or items: biases and row-major factors in rows of [`row_width`] floats
/// (the factors, then zeros), in local index order.
pub(super) struct Block {
    pub bias: Vec<f32>,
    pub factors: Vec<f32>,
}

/// The starting blocks of an `n × k` factor matrix drawn from N(0, init_std²): row `x`
/// goes to block `x % blocks` at local index `x / blocks`, padded to [`row_width`], and the
/// rows are drawn in order, so that [`from_blocks`] gives what filling the row-major matrix
/// from the same generator gives. Drawn in place: no row-major copy to allocate and deal
/// out. Biases start at 0.
pub(super) fn random_blocks(rng: &mut SplitMix64, n: usize, k: usize, blocks: usize, init_std: f32) -> Vec<Block> {
    let width = row_width(k);
    let mut parts: Vec<Block> = (0..blocks)
        .map(|block| {
            let members = n.saturating_sub(block).div_ceil(blocks);
            Block { bias: vec![0.0; members], factors: vec![0.0f32; members * width] }
        })
        .collect();
    let ziggurat = Ziggurat::new();
    for row in 0..n {
        let local = row / blocks;
        if let Some(factors) = parts[row % blocks].factors.get_mut(local * width..local * width + k) {
            ziggurat.fill(rng, factors, init_std);
        }
    }
    parts
}

/// Undoes [`random_blocks`]: the `n` biases and the row-major `n × k` factors.
pub(super) fn from_blocks(parts: &[Block], n: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let (blocks, width) = (parts.len(), row_width(k));
    let (mut bias, mut factors) = (vec![0.0f32; n], vec![0.0f32; n * k]);
    for (block, part) in parts.iter().enumerate() {
        for (local, row) in (block..n).step_by(blocks).enumerate() {
            bias[row] = part.bias[local];
            factors[row * k..(row + 1) * k].copy_from_slice(&part.factors[local * width..local * width + k]);
        }
    }
    (bias, factors)
}

/// Buckets (user, item, rating) triples by block pair, as [`run_epochs`] takes them:
/// `pairs[b_user * blocks + b_item]` holds (local user, local item, rating).
pub(super) fn ratings_by_block_pair(ratings: &[(u32, u32, f32)], blocks: usize) -> Vec<Vec<(u32, u32, f32)>> {
    // Counted first, so that each pair's list is allocated once at its size.
    let pair_of = |u: u32, i: u32| (u as usize % blocks) * blocks + i as usize % blocks;
    let mut counts = vec![0usize; blocks * blocks];
    for &(u, i, _) in ratings {
        counts[pair_of(u, i)] += 1;
    }
    let mut pairs: Vec<Vec<(u32, u32, f32)>> = counts.into_iter().map(Vec::with_capacity).collect();
    for &(u, i, rating) in ratings {
        let (u, i) = (u as usize, i as usize);
        pairs[(u % blocks) * blocks + i % blocks].push(((u / blocks) as u32, (i / blocks) as u32, rating));
    }
    pairs
}

/// One block pair's work in a stratum: its users, its items and their ratings.
type BlockPair<'a> = (&'a mut Block, &'a mut Block, &'a [(u32, u32, f32)]);

/// The constants of one fit.
#[derive(Clone, Copy)]
pub(super) struct Step {
    /// The floats of a factor row in the blocks, [`row_width`] of the factor count.
    pub row_width: usize,
    pub global_mean: f32,
    pub learning_rate: f32,
    pub regularization: f32,
}

/// Runs `epochs` epochs. `pairs[b_user * blocks + b_item]` holds that block pair's ratings
/// as (local user, local item, rating).
pub(super) fn run_epochs(
    users: &mut [Block],
    items: &mut [Block],
    pairs: &mut [Vec<(u32, u32, f32)>],
    step: Step,
    epochs: usize,
    rng: &mut SplitMix64,
) {
    let blocks = users.len();
    // One order, from one generator so that threads do not matter; every epoch then visits
    // the ratings in that order, as Surprise visits its trainset in one fixed order.
    for ratings in pairs.iter_mut() {
        *ratings = interleave_users(ratings, rng);
    }
    for _ in 0..epochs {
        for stratum in 0..blocks {
            let mut item_blocks: Vec<&mut Block> = items.iter_mut().collect();
            item_blocks.rotate_left(stratum % blocks.max(1));
            let work: Vec<BlockPair<'_>> = users
                .iter_mut()
                .zip(item_blocks)
                .enumerate()
                .map(|(user_block, (user, item))| {
                    let item_block = (user_block + stratum) % blocks;
                    (user, item, pairs[user_block * blocks + item_block].as_slice())
                })
                .collect();
            work.into_par_iter().for_each(|(user, item, ratings)| run_block(user, item, ratings, step));
        }
    }
}

/// One block pair's ratings in the order the steps visit them: the ratings shuffled, then
/// grouped by user (each user's in that shuffled order) with the users in a shuffled order,
/// and two users' groups interleaved, one rating of each in turn (`a₁ b₁ a₂ b₂ …`); when
/// one group ends, the next user in order takes its place. Runs in linear time.
pub(super) fn interleave_users(ratings: &[(u32, u32, f32)], rng: &mut SplitMix64) -> Vec<(u32, u32, f32)> {
    let mut shuffled = ratings.to_vec();
    for index in (1..shuffled.len()).rev() {
        shuffled.swap(index, rng.below(index + 1));
    }
    let users = shuffled.iter().map(|&(user, _, _)| user as usize + 1).max().unwrap_or(0);
    let mut user_order: Vec<usize> = (0..users).collect();
    for index in (1..user_order.len()).rev() {
        user_order.swap(index, rng.below(index + 1));
    }
    // A counting sort by the user's place in that order keeps each user's shuffled order.
    let mut place = vec![0usize; users];
    for (position, &user) in user_order.iter().enumerate() {
        place[user] = position;
    }
    let mut starts = vec![0usize; users + 1];
    for &(user, _, _) in &shuffled {
        starts[place[user as usize] + 1] += 1;
    }
    for position in 0..users {
        starts[position + 1] += starts[position];
    }
    let mut grouped = vec![(0u32, 0u32, 0.0f32); shuffled.len()];
    let mut next = starts.clone();
    for &rating in &shuffled {
        let position = place[rating.0 as usize];
        grouped[next[position]] = rating;
        next[position] += 1;
    }
    // Two lanes, each working through one user's group; a lane that runs out takes the next
    // group, and a lane with no group left drops out.
    let mut groups = starts.windows(2).map(|bounds| bounds[0]..bounds[1]).filter(|group| !group.is_empty());
    let mut lanes = [groups.next(), groups.next()];
    let mut order = Vec::with_capacity(grouped.len());
    while lanes.iter().any(Option::is_some) {
        for lane in &mut lanes {
            if let Some(group) = lane {
                if let Some(index) = group.next() {
                    order.push(grouped[index]);
                }
                if group.start == group.end {
                    *lane = groups.next();
                }
            }
        }
    }
    order
}

fn run_block(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            if unsafe { super::sgd_avx512::run_block(users, items, ratings, step) } {
                return;
            }
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { run_block_avx2(users, items, ratings, step) };
            return;
        }
    }
    run_block_generic::<false>(users, items, ratings, step);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_block_avx2(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    run_block_generic::<true>(users, items, ratings, step);
}

/// `a·b + c`, fused where the caller's code is compiled with FMA (a plain multiply-add
/// otherwise, because an unfused `mul_add` is a slow library call).
#[inline(always)]
fn multiply_add<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// What one SGD step reads and writes: the rating, the user's and the item's factor rows
/// ([`row_width`] floats each) and their biases.
pub(super) struct Rows<'a> {
    pub rating: f32,
    pub user: &'a mut [f32],
    pub item: &'a mut [f32],
    pub user_bias: &'a mut f32,
    pub item_bias: &'a mut f32,
}

/// Hands the block's ratings to `step_rows` in order, each with its rows. Two consecutive
/// ratings that share neither their user nor their item come in one call: neither step
/// reads what the other writes, so computing both errors before either update gives bit for
/// bit the result of stepping them one after the other, but the two dot products (each a
/// chain of dependent multiply-adds, then a horizontal sum) overlap in the CPU instead of
/// waiting on each other. Ratings naming rows outside the block are skipped.
#[inline(always)]
pub(super) fn for_each_step(
    users: &mut Block,
    items: &mut Block,
    ratings: &[(u32, u32, f32)],
    step: Step,
    mut step_rows: impl FnMut(Rows<'_>, Option<Rows<'_>>),
) {
    let k = step.row_width;
    let mut prefetched = 0;
    let mut index = 0;
    while let Some(&(u, i, rating)) = ratings.get(index) {
        prefetch_ahead(ratings, index, &mut prefetched, |next_u, next_i| {
            prefetch_row(&users.factors, next_u as usize, k);
            prefetch_row(&items.factors, next_i as usize, k);
        });
        let (u, i) = (u as usize, i as usize);
        // Decided on indices alone, before any row is borrowed, so that `step_rows` has one
        // call site and is inlined into this loop.
        let partner = independent_partner(ratings, index, users.bias.len(), items.bias.len());
        index += if partner.is_some() { 2 } else { 1 };
        let rows = match partner {
            Some((u2, i2, rating2)) => match (
                two_rows(&mut users.factors, u, u2, k),
                two_rows(&mut items.factors, i, i2, k),
                two_rows(&mut users.bias, u, u2, 1),
                two_rows(&mut items.bias, i, i2, 1),
            ) {
                (Some((pu, pu2)), Some((qi, qi2)), Some(([bu], [bu2])), Some(([bi], [bi2]))) => Some((
                    Rows { rating, user: pu, item: qi, user_bias: bu, item_bias: bi },
                    Some(Rows { rating: rating2, user: pu2, item: qi2, user_bias: bu2, item_bias: bi2 }),
                )),
                _ => None,
            },
            None => match (
                users.factors.get_mut(u * k..(u + 1) * k),
                items.factors.get_mut(i * k..(i + 1) * k),
                users.bias.get_mut(u),
                items.bias.get_mut(i),
            ) {
                (Some(user), Some(item), Some(user_bias), Some(item_bias)) => {
                    Some((Rows { rating, user, item, user_bias, item_bias }, None))
                }
                _ => None,
            },
        };
        if let Some((first, second)) = rows {
            step_rows(first, second);
        }
    }
}

/// The rating after `index`, as (user, item, rating), when it steps together with the one at
/// `index`: both inside the block (`n_users` × `n_items`) and sharing neither user nor
/// item, so that neither step reads what the other writes.
#[inline(always)]
pub(super) fn independent_partner(
    ratings: &[(u32, u32, f32)],
    index: usize,
    n_users: usize,
    n_items: usize,
) -> Option<(usize, usize, f32)> {
    let (&(u, i, _), &(u2, i2, rating2)) = (ratings.get(index)?, ratings.get(index + 1)?);
    let in_block = |user: u32, item: u32| (user as usize) < n_users && (item as usize) < n_items;
    (in_block(u, i) && in_block(u2, i2) && u2 != u && i2 != i).then_some((u2 as usize, i2 as usize, rating2))
}

/// Starts loading the rows of the ratings up to [`PREFETCH_AHEAD`] past `index` that were
/// not asked for yet (`prefetched` counts them), handing each one's user and item to
/// `rows`: they are scattered, so the hardware prefetcher cannot guess them.
#[inline(always)]
pub(super) fn prefetch_ahead(
    ratings: &[(u32, u32, f32)],
    index: usize,
    prefetched: &mut usize,
    mut rows: impl FnMut(u32, u32),
) {
    while *prefetched <= index + PREFETCH_AHEAD + 1 {
        if let Some(&(user, item, _)) = ratings.get(*prefetched) {
            rows(user, item);
        }
        *prefetched += 1;
    }
}

/// Prefetches row `row` of a matrix with rows of `k` floats, one cache line at a time.
#[inline(always)]
pub(super) fn prefetch_row(matrix: &[f32], row: usize, k: usize) {
    for line in (0..k).step_by(16) {
        prefetch(matrix.as_ptr().wrapping_add(row * k + line).cast());
    }
}

/// Steps one rating, or a pair from [`for_each_step`], in the order that keeps a pair bit
/// for bit equal to two single steps: both errors first, then both updates. `S` is what a
/// kernel keeps of a rating between its error and its update.
#[inline(always)]
pub(super) fn step_in_order<S>(
    first: S,
    second: Option<S>,
    mut error: impl FnMut(&S) -> f32,
    mut update: impl FnMut(S, f32),
) {
    let first_err = error(&first);
    match second {
        None => update(first, first_err),
        Some(second) => {
            let second_err = error(&second);
            update(first, first_err);
            update(second, second_err);
        }
    }
}

/// Runs the block's ratings with the portable step (fused where `FMA`).
#[inline(always)]
fn run_block_generic<const FMA: bool>(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    for_each_step(users, items, ratings, step, |first, second| {
        step_in_order(first, second, |rows| error::<FMA>(rows, step), |rows, err| update::<FMA>(rows, err, step));
    });
}

/// Rows `a` and `b` of a row-major matrix with rows of `k` values, both mutable; `None` when
/// they are the same row or either is out of bounds.
fn two_rows(matrix: &mut [f32], a: usize, b: usize, k: usize) -> Option<(&mut [f32], &mut [f32])> {
    let (low, high) = (a.min(b), a.max(b));
    if low == high {
        return None;
    }
    let (head, tail) = matrix.split_at_mut_checked(high.checked_mul(k)?)?;
    let (low_row, high_row) = (head.get_mut(low * k..(low + 1) * k)?, tail.get_mut(..k)?);
    Some(if a < b { (low_row, high_row) } else { (high_row, low_row) })
}

/// The rating's error under the current factors and biases: `r − (μ + b_u + b_i + q_i·p_u)`.
#[inline(always)]
fn error<const FMA: bool>(rows: &Rows<'_>, step: Step) -> f32 {
    rows.rating - (step.global_mean + *rows.user_bias + *rows.item_bias + dot::<FMA>(rows.user, rows.item))
}

/// One SGD step from the rating's error.
#[inline(always)]
fn update<const FMA: bool>(rows: Rows<'_>, err: f32, step: Step) {
    let (lr, reg) = (step.learning_rate, step.regularization);
    *rows.user_bias += lr * (err - reg * *rows.user_bias);
    *rows.item_bias += lr * (err - reg * *rows.item_bias);
    // p += lr(err·q − reg·p) is p·(1 − lr·reg) + (lr·err)·q: three operations a lane.
    let (decay, lr_err) = (1.0 - lr * reg, lr * err);
    for (puf, qif) in rows.user.iter_mut().zip(rows.item.iter_mut()) {
        let (old_p, old_q) = (*puf, *qif);
        *puf = multiply_add::<FMA>(old_p, decay, lr_err * old_q);
        *qif = multiply_add::<FMA>(old_q, decay, lr_err * old_p);
    }
}

/// A dot product with 16 running sums (two vectors of eight), so that it vectorises and
/// the additions do not wait on each other.
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: `FMA` is true only inside `run_block_avx2`, which runs after AVX2 and FMA
        // were detected.
        return unsafe { dot_avx2(a, b) };
    }
    let mut lanes = [0.0f32; 16];
    let (chunks_a, chunks_b) = (a.chunks_exact(16), b.chunks_exact(16));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for lane in 0..16 {
            lanes[lane] = multiply_add::<FMA>(x[lane], y[lane], lanes[lane]);
        }
    }
    // Halving the lanes (16 → 8 → 4 → 2 → 1) takes four dependent adds, where summing them
    // in order takes sixteen: this sum is on the critical path of every SGD step.
    let mut width = lanes.len();
    while width > 1 {
        width /= 2;
        let (low, high) = lanes.split_at_mut(width);
        for (sum, add) in low.iter_mut().zip(&high[..width]) {
            *sum += *add;
        }
    }
    let mut sum = lanes[0];
    for (x, y) in rest_a.iter().zip(rest_b) {
        sum = multiply_add::<FMA>(*x, *y, sum);
    }
    sum
}

/// `dot` in eight-float registers. Written out because the compiler vectorised the portable
/// version two floats wide, and this product is on the critical path of every step: four
/// running sums keep each chain of dependent multiply-adds at most four long for 128 factors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_setzero_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
    };
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sums = [_mm256_setzero_ps(); 4];
    let (mut quads_a, mut quads_b) = (a.chunks_exact(32), b.chunks_exact(32));
    for (x, y) in quads_a.by_ref().zip(quads_b.by_ref()) {
        for (lane, sum) in sums.iter_mut().enumerate() {
            // SAFETY: each chunk holds 32 floats, so the four 8-float loads are in bounds.
            *sum = unsafe {
                _mm256_fmadd_ps(
                    _mm256_loadu_ps(x.as_ptr().add(8 * lane)),
                    _mm256_loadu_ps(y.as_ptr().add(8 * lane)),
                    *sum,
                )
            };
        }
    }
    let (mut eights_a, mut eights_b) = (quads_a.remainder().chunks_exact(8), quads_b.remainder().chunks_exact(8));
    for ((x, y), sum) in eights_a.by_ref().zip(eights_b.by_ref()).zip(sums.iter_mut()) {
        // SAFETY: each chunk holds 8 floats.
        *sum = unsafe { _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr()), *sum) };
    }
    let eight = _mm256_add_ps(_mm256_add_ps(sums[0], sums[1]), _mm256_add_ps(sums[2], sums[3]));
    let four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps::<1>(eight));
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    let one = _mm_add_ss(two, _mm_shuffle_ps::<1>(two, two));
    let mut sum = _mm_cvtss_f32(one);
    // Rows in the blocks are padded to whole registers; this tail serves other callers.
    for (x, y) in eights_a.remainder().iter().zip(eights_b.remainder()) {
        sum = x.mul_add(*y, sum);
    }
    sum
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn plain_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
    }

    #[test]
    fn both_dot_products_match_a_plain_sum_at_every_length() {
        let mut rng = SplitMix64::new(3);
        for n in 0..=80 {
            let (mut a, mut b) = (vec![0.0f32; n], vec![0.0f32; n]);
            rng.fill_normal(&mut a, 1.0);
            rng.fill_normal(&mut b, 1.0);
            let expected = plain_dot(&a, &b);
            let portable = f64::from(dot::<false>(&a, &b));
            assert!((portable - expected).abs() < 1e-4, "n {n}: portable {portable} vs {expected}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: AVX2 and FMA were detected just above.
                let wide = f64::from(unsafe { dot_avx2(&a, &b) });
                assert!((wide - expected).abs() < 1e-4, "n {n}: avx2 {wide} vs {expected}");
            }
        }
    }

    /// A block kernel: runs the ratings of one block pair.
    pub(in crate::mf) type Kernel = fn(&mut Block, &mut Block, &[(u32, u32, f32)], Step);

    /// The portable kernel, unfused, as every CPU can run it.
    pub(in crate::mf) const PORTABLE: Kernel = run_block_generic::<false>;

    fn copy(block: &Block) -> Block {
        Block { bias: block.bias.clone(), factors: block.factors.clone() }
    }

    /// Runs `kernel` over 801 ratings of 7 users and 5 items with rows of `width` floats
    /// (random factors in the first `k`, zeros after), once as one block and once a rating
    /// at a time (a block of one rating has no pair and holds no row from one step to the
    /// next); panics unless every bit agrees.
    /// Returns the users and items before and after.
    pub(in crate::mf) fn assert_pairs_change_no_bit(k: usize, kernel: Kernel) -> [(Block, Block); 2] {
        let (n_users, n_items, width) = (7, 5, row_width(k));
        let mut rng = SplitMix64::new(5);
        let mut start = |n: usize| {
            let mut factors = vec![0.0f32; n * width];
            for row in factors.chunks_exact_mut(width) {
                rng.fill_normal(&mut row[..k], 0.1);
            }
            Block { bias: vec![0.0; n], factors }
        };
        let (users, items) = (start(n_users), start(n_items));
        let mut rng = SplitMix64::new(6);
        // Repeated users and items next to each other, so both paths run; then the order the
        // fits use (two users alternating), so that rows held between steps are reused; and
        // one rating outside the block, which every kernel skips.
        let mut random_ratings = || -> Vec<(u32, u32, f32)> {
            (0..400u32).map(|n| (rng.below(n_users) as u32, rng.below(n_items) as u32, 1.0 + (n % 5) as f32)).collect()
        };
        let mut ratings = random_ratings();
        assert!(ratings.windows(2).any(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1));
        assert!(ratings.windows(2).any(|w| w[0].0 != w[1].0 && w[0].1 != w[1].1));
        ratings.push((n_users as u32, 0, 5.0));
        let more = random_ratings();
        ratings.extend(interleave_users(&more, &mut SplitMix64::new(7)));
        let step = Step { row_width: width, global_mean: 3.0, learning_rate: 0.01, regularization: 0.02 };
        let (mut paired_users, mut paired_items) = (copy(&users), copy(&items));
        kernel(&mut paired_users, &mut paired_items, &ratings, step);
        let (mut plain_users, mut plain_items) = (copy(&users), copy(&items));
        for rating in ratings.chunks(1) {
            kernel(&mut plain_users, &mut plain_items, rating, step);
        }
        for (paired, plain) in [(&paired_users, &plain_users), (&paired_items, &plain_items)] {
            assert_eq!(paired.bias, plain.bias, "k {k}");
            assert_eq!(paired.factors, plain.factors, "k {k}");
        }
        assert_ne!(paired_users.factors, users.factors, "k {k}: the steps moved the factors");
        for row in paired_users.factors.chunks_exact(width).chain(paired_items.factors.chunks_exact(width)) {
            assert!(row[k..].iter().all(|&x| x == 0.0), "k {k}: the padding stays zero");
        }
        [(users, items), (paired_users, paired_items)]
    }

    #[test]
    fn stepping_independent_ratings_in_pairs_changes_no_bit() {
        for k in [5, 16, 100] {
            assert_pairs_change_no_bit(k, PORTABLE);
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: AVX2 and FMA were detected just above.
                assert_pairs_change_no_bit(k, |users, items, ratings, step| unsafe {
                    run_block_avx2(users, items, ratings, step)
                });
            }
        }
    }

    #[test]
    fn the_order_alternates_two_users_at_a_time_and_keeps_every_rating() {
        let mut rng = SplitMix64::new(21);
        let ratings: Vec<(u32, u32, f32)> =
            (0..2_000u32).map(|n| (rng.below(60) as u32, rng.below(90) as u32, (n % 5) as f32)).collect();
        let order = interleave_users(&ratings, &mut SplitMix64::new(3));
        let sorted = |list: &[(u32, u32, f32)]| {
            let mut list = list.to_vec();
            list.sort_by(|a, b| (a.0, a.1, a.2).partial_cmp(&(b.0, b.1, b.2)).unwrap());
            list
        };
        assert_eq!(sorted(&order), sorted(&ratings), "a permutation");
        // Each user's ratings come one after another with at most one other rating between
        // two of them (the other lane's), and while both lanes go, every step changes user.
        let users: Vec<u32> = order.iter().map(|rating| rating.0).collect();
        for user in 0..60u32 {
            let places: Vec<usize> = (0..users.len()).filter(|&at| users[at] == user).collect();
            assert!(places.windows(2).all(|pair| pair[1] - pair[0] <= 2), "user {user} at {places:?}");
        }
        let alternations = users.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(alternations > order.len() * 9 / 10, "{alternations} of {} steps change user", order.len());
        // A different generator, a different order; the same one, the same.
        assert_eq!(order, interleave_users(&ratings, &mut SplitMix64::new(3)));
        assert_ne!(order, interleave_users(&ratings, &mut SplitMix64::new(4)));
    }

    #[test]
    fn two_rows_are_the_named_rows_in_either_order_and_never_the_same_one() {
        let mut matrix: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let (a, b) = two_rows(&mut matrix, 2, 0, 4).unwrap();
        assert_eq!((&a[..], &b[..]), (&[8.0, 9.0, 10.0, 11.0][..], &[0.0, 1.0, 2.0, 3.0][..]));
        assert!(two_rows(&mut matrix, 1, 1, 4).is_none());
        assert!(two_rows(&mut matrix, 1, 3, 4).is_none());
    }

    #[test]
    fn rows_are_padded_in_the_blocks_the_padding_stays_zero_and_the_round_trip_is_exact() {
        let (n, k, blocks) = (11, 5, 3);
        let mut matrix = vec![0.0f32; n * k];
        SplitMix64::new(9).fill_normal(&mut matrix, 0.1);
        let mut rng = SplitMix64::new(9);
        let mut users = random_blocks(&mut rng, n, k, blocks, 0.1);
        let mut items = random_blocks(&mut SplitMix64::new(9), n, k, blocks, 0.1);
        assert_eq!(row_width(k), 8);
        assert_eq!(users.iter().map(|block| block.bias.len()).collect::<Vec<_>>(), [4, 4, 3]);
        assert!(users.iter().all(|block| block.factors.len() == block.bias.len() * 8));
        let (bias, round_trip) = from_blocks(&users, n, k);
        assert_eq!(round_trip, matrix, "the rows are drawn in row order");
        assert_eq!(bias, vec![0.0; n]);

        let ratings: Vec<(u32, u32, f32)> =
            (0..n as u32).flat_map(|u| (0..n as u32).map(move |i| (u, i, 1.0 + ((u * 7 + i) % 5) as f32))).collect();
        let mut pairs = ratings_by_block_pair(&ratings, blocks);
        let step = Step { row_width: row_width(k), global_mean: 3.0, learning_rate: 0.01, regularization: 0.02 };
        run_epochs(&mut users, &mut items, &mut pairs, step, 3, &mut rng);
        for block in users.iter().chain(&items) {
            for row in block.factors.chunks_exact(8) {
                assert_eq!(&row[k..], &[0.0; 3], "the padding stays zero");
            }
        }
        let (_, trained) = from_blocks(&users, n, k);
        assert_ne!(trained, matrix, "the epochs moved the factors");
    }
}
