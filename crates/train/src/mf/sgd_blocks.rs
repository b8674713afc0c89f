//! The inner loop of biased-SVD training, made fast without changing what it computes.
//!
//! Ratings are stratified the way DSGD does it (Gemulla et al., 2011): users and items each
//! fall in one of `B` blocks, and an epoch runs `B` strata; in stratum `s`, block pair
//! `(b, (b + s) mod B)` for every `b` touches disjoint users and items, so the pairs run on
//! separate threads with no locks and no races. Each block pair visits its ratings in a
//! seeded shuffled order (shuffled once), so the result depends on the seed and `B`, never on how many
//! threads ran it.
//!
//! The per-rating step is the same Funk SGD step as Surprise's. It is compiled twice: once
//! portably and once with AVX2 and FMA enabled, chosen at run time, so the factor loops run
//! eight lanes wide with fused multiply-adds where the CPU allows.

use rayon::prelude::*;

use crate::prefetch::prefetch;
use marquee_model::random::SplitMix64;

/// How many ratings ahead the factor rows are prefetched.
const PREFETCH_AHEAD: usize = 4;

/// One block's users or items: biases and row-major factors, in local index order.
pub(super) struct Block {
    pub bias: Vec<f32>,
    pub factors: Vec<f32>,
}

/// Deals the rows of a row-major `n × k` matrix into `blocks` blocks: row `x` goes to block
/// `x % blocks` at local index `x / blocks`. Biases start at 0.
pub(super) fn into_blocks(matrix: &[f32], n: usize, k: usize, blocks: usize) -> Vec<Block> {
    (0..blocks)
        .map(|block| {
            let members: Vec<usize> = (block..n).step_by(blocks).collect();
            Block {
                bias: vec![0.0; members.len()],
                factors: members.iter().flat_map(|&row| matrix[row * k..(row + 1) * k].iter().copied()).collect(),
            }
        })
        .collect()
}

/// Undoes [`into_blocks`]: the `n` biases and the row-major `n × k` factors.
pub(super) fn from_blocks(parts: &[Block], n: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let blocks = parts.len();
    let (mut bias, mut factors) = (vec![0.0f32; n], vec![0.0f32; n * k]);
    for (block, part) in parts.iter().enumerate() {
        for (local, row) in (block..n).step_by(blocks).enumerate() {
            bias[row] = part.bias[local];
            factors[row * k..(row + 1) * k].copy_from_slice(&part.factors[local * k..(local + 1) * k]);
        }
    }
    (bias, factors)
}

/// Buckets (user, item, rating) triples by block pair, as [`run_epochs`] takes them:
/// `pairs[b_user * blocks + b_item]` holds (local user, local item, rating).
pub(super) fn ratings_by_block_pair(ratings: &[(u32, u32, f32)], blocks: usize) -> Vec<Vec<(u32, u32, f32)>> {
    let mut pairs: Vec<Vec<(u32, u32, f32)>> = vec![Vec::new(); blocks * blocks];
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
    pub factors: usize,
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
    // One shuffle, from one generator so that threads do not matter; every epoch then visits
    // the ratings in that order, as Surprise visits its trainset in one fixed order.
    for ratings in pairs.iter_mut() {
        for index in (1..ratings.len()).rev() {
            ratings.swap(index, rng.below(index + 1));
        }
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

fn run_block(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    #[cfg(target_arch = "x86_64")]
    {
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

#[inline(always)]
fn run_block_generic<const FMA: bool>(users: &mut Block, items: &mut Block, ratings: &[(u32, u32, f32)], step: Step) {
    let k = step.factors;
    let (lr, reg) = (step.learning_rate, step.regularization);
    for (index, &(u, i, rating)) in ratings.iter().enumerate() {
        // Start loading the rows a few ratings ahead: they are scattered, so the hardware
        // prefetcher cannot guess them.
        if let Some(&(next_u, next_i, _)) = ratings.get(index + PREFETCH_AHEAD) {
            for line in (0..k).step_by(16) {
                prefetch(users.factors.as_ptr().wrapping_add(next_u as usize * k + line).cast());
                prefetch(items.factors.as_ptr().wrapping_add(next_i as usize * k + line).cast());
            }
        }
        let (u, i) = (u as usize, i as usize);
        let (Some(pu), Some(qi)) =
            (users.factors.get_mut(u * k..(u + 1) * k), items.factors.get_mut(i * k..(i + 1) * k))
        else {
            continue;
        };
        let (Some(bu), Some(bi)) = (users.bias.get_mut(u), items.bias.get_mut(i)) else { continue };
        let err = rating - (step.global_mean + *bu + *bi + dot::<FMA>(pu, qi));
        *bu += lr * (err - reg * *bu);
        *bi += lr * (err - reg * *bi);
        // p += lr(err·q − reg·p) is p·(1 − lr·reg) + (lr·err)·q: three operations a lane.
        let (decay, lr_err) = (1.0 - lr * reg, lr * err);
        for (puf, qif) in pu.iter_mut().zip(qi.iter_mut()) {
            let (old_p, old_q) = (*puf, *qif);
            *puf = multiply_add::<FMA>(old_p, decay, lr_err * old_q);
            *qif = multiply_add::<FMA>(old_q, decay, lr_err * old_p);
        }
    }
}

/// A dot product with 32 running sums (four vectors of eight), so that it vectorises and
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
/// version two floats wide, and this product is on the critical path of every step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_setzero_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
    };
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (mut even, mut odd) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (mut pairs_a, mut pairs_b) = (a.chunks_exact(16), b.chunks_exact(16));
    for (x, y) in pairs_a.by_ref().zip(pairs_b.by_ref()) {
        // SAFETY: each chunk holds 16 floats, so both 8-float loads are in bounds.
        unsafe {
            even = _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr()), even);
            odd = _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr().add(8)), _mm256_loadu_ps(y.as_ptr().add(8)), odd);
        }
    }
    let (mut rest_a, mut rest_b) = (pairs_a.remainder(), pairs_b.remainder());
    if rest_a.len() >= 8 {
        // SAFETY: at least 8 floats remain in both.
        even = unsafe { _mm256_fmadd_ps(_mm256_loadu_ps(rest_a.as_ptr()), _mm256_loadu_ps(rest_b.as_ptr()), even) };
        (rest_a, rest_b) = (&rest_a[8..], &rest_b[8..]);
    }
    let eight = _mm256_add_ps(even, odd);
    let four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps::<1>(eight));
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    let one = _mm_add_ss(two, _mm_shuffle_ps::<1>(two, two));
    let mut sum = _mm_cvtss_f32(one);
    for (x, y) in rest_a.iter().zip(rest_b) {
        sum = x.mul_add(*y, sum);
    }
    sum
}
