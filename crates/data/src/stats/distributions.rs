//! The special functions and distribution functions the tests need, written here rather than
//! pulled from a crate so the wasm build stays small: log-gamma (Lanczos), the regularized
//! incomplete beta (Lentz's continued fraction, as in Numerical Recipes) and gamma (series and
//! continued fraction), and from them the normal, Student-t, chi-square and binomial tails;
//! and the Kolmogorov–Smirnov distributions (the two-sample statistic's exact tail and the
//! Kolmogorov limit) that drift detection needs.
//!
//! Every function returns `None` (or NaN-free results) instead of panicking on bad input.

use std::f64::consts::PI;

/// The most continued-fraction or series terms tried before giving up. Convergence takes about
/// √(max(a, b)) terms, so this covers shape parameters up to roughly 10⁹.
const MAX_ITERATIONS: usize = 100_000;
/// The relative size of the last term at which a series or continued fraction stops.
const EPSILON: f64 = 1e-16;
/// Stands in for zero in Lentz's method, where an exact zero would divide by zero.
const TINY: f64 = 1e-300;

/// Whether `x` is a finite number above zero (false for NaN).
pub(crate) fn is_positive_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Whether `p` lies strictly between 0 and 1 (false for NaN).
pub(crate) fn is_open_probability(p: f64) -> bool {
    p > 0.0 && p < 1.0
}

/// The natural logarithm of the gamma function for `x > 0`, by the Lanczos approximation
/// (g = 7, nine coefficients), accurate to about 1e-15 relative. `None` for `x ≤ 0` or a
/// non-finite `x`.
pub fn ln_gamma(x: f64) -> Option<f64> {
    if !is_positive_finite(x) {
        return None;
    }
    Some(ln_gamma_positive(x))
}

fn ln_gamma_positive(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // The approximation is for x ≥ ½; the reflection formula covers (0, ½).
        return (PI / (PI * x).sin()).ln() - ln_gamma_positive(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b) for `a, b > 0` and `x` in [0, 1].
/// `None` for parameters outside that range or when the continued fraction does not converge.
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> Option<f64> {
    incomplete_beta_with_complement(a, b, x, 1.0 - x)
}

/// I_x(a, b) given both `x` and `y = 1 − x`, so a caller who can compute `y` without
/// cancellation (as the t distribution can) keeps full precision near x = 1.
fn incomplete_beta_with_complement(a: f64, b: f64, x: f64, y: f64) -> Option<f64> {
    if !(is_positive_finite(a) && is_positive_finite(b) && (0.0..=1.0).contains(&x)) {
        return None;
    }
    if x == 0.0 {
        return Some(0.0);
    }
    if y <= 0.0 {
        return Some(1.0);
    }
    let ln_front = ln_gamma_positive(a + b) - ln_gamma_positive(a) - ln_gamma_positive(b) + a * x.ln() + b * y.ln();
    let front = ln_front.exp();
    // The continued fraction converges fast only on this side of the mean; use the symmetry
    // I_x(a, b) = 1 − I_{1−x}(b, a) on the other.
    if x < (a + 1.0) / (a + b + 2.0) {
        Some((front * beta_continued_fraction(a, b, x)? / a).clamp(0.0, 1.0))
    } else {
        Some((1.0 - front * beta_continued_fraction(b, a, y)? / b).clamp(0.0, 1.0))
    }
}

/// The continued fraction of the incomplete beta function, by the modified Lentz method.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> Option<f64> {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=MAX_ITERATIONS {
        let m = m as f64;
        let m2 = 2.0 * m;
        // The even step of the recurrence.
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        // The odd step.
        let delta = lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), &mut c, &mut d);
        h *= delta;
        if (delta - 1.0).abs() < EPSILON {
            return h.is_finite().then_some(h);
        }
    }
    None
}

/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a) for `a > 0` and
/// `x ≥ 0`. `None` outside that range or when the expansion does not converge.
pub fn upper_incomplete_gamma(a: f64, x: f64) -> Option<f64> {
    if !is_positive_finite(a) || x.is_nan() || x < 0.0 {
        return None;
    }
    if x == 0.0 {
        return Some(1.0);
    }
    if x.is_infinite() {
        return Some(0.0);
    }
    // The series converges fast below a + 1, the continued fraction above it.
    if x < a + 1.0 {
        Some((1.0 - gamma_series(a, x)?).clamp(0.0, 1.0))
    } else {
        Some(gamma_continued_fraction(a, x)?.clamp(0.0, 1.0))
    }
}

/// P(a, x) by its power series.
fn gamma_series(a: f64, x: f64) -> Option<f64> {
    let mut ap = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..MAX_ITERATIONS {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * EPSILON {
            return Some(sum * (-x + a * x.ln() - ln_gamma_positive(a)).exp());
        }
    }
    None
}

/// Q(a, x) by its continued fraction (modified Lentz).
fn gamma_continued_fraction(a: f64, x: f64) -> Option<f64> {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..=MAX_ITERATIONS {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPSILON {
            return Some((-x + a * x.ln() - ln_gamma_positive(a)).exp() * h);
        }
    }
    None
}

/// The standard normal cumulative distribution function Φ(x). NaN maps to `None`; ±∞ map
/// to 0 and 1.
pub fn normal_cdf(x: f64) -> Option<f64> {
    if x.is_nan() {
        return None;
    }
    // Φ(x) = ½·erfc(−x/√2) and erfc(z) = Q(½, z²), which keeps full relative precision in
    // the lower tail where p-values live.
    let tail = 0.5 * upper_incomplete_gamma(0.5, x * x / 2.0)?;
    Some(if x < 0.0 { tail } else { 1.0 - tail })
}

/// The upper tail 1 − Φ(x), without the cancellation of subtracting from 1.
fn normal_survival(x: f64) -> Option<f64> {
    normal_cdf(-x)
}

/// The standard normal quantile Φ⁻¹(p) for `p` in (0, 1): Acklam's rational approximation
/// (relative error about 1e-9) polished by Halley steps on [`normal_cdf`] to full precision.
/// `None` outside (0, 1).
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !is_open_probability(p) {
        return None;
    }
    // 1 − p is exact for p ≥ ½, so the upper half reflects into the lower tail where the
    // CDF used for polishing has full relative precision.
    if p > 0.5 {
        return normal_quantile(1.0 - p).map(|x| -x);
    }
    let mut x = acklam(p);
    for _ in 0..3 {
        let e = normal_cdf(x)? - p;
        let u = e * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
        let step = u / (1.0 + x * u / 2.0);
        if !step.is_finite() {
            break;
        }
        x -= step;
    }
    Some(x)
}

/// Acklam's approximation of the normal quantile for p in (0, ½].
fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.024_25;
    if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The two-sided p-value of a standard normal statistic `z`: 2·(1 − Φ(|z|)). `None` for NaN.
pub fn normal_two_sided_p_value(z: f64) -> Option<f64> {
    Some((2.0 * normal_survival(z.abs())?).min(1.0))
}

/// The Student-t cumulative distribution function at `t` with `df > 0` degrees of freedom
/// (not necessarily whole, as Welch's test needs). An infinite `df` is the normal
/// distribution. `None` for NaN or `df ≤ 0`.
pub fn student_t_cdf(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return None;
    }
    if df.is_infinite() {
        return normal_cdf(t);
    }
    if t.is_infinite() {
        return Some(if t > 0.0 { 1.0 } else { 0.0 });
    }
    // P(|T| > |t|) = I_x(df/2, ½) with x = df/(df + t²); 1 − x is computed directly so
    // small |t| keeps its precision.
    let t2 = t * t;
    let x = df / (df + t2);
    let y = t2 / (df + t2);
    let tail = 0.5 * incomplete_beta_with_complement(df / 2.0, 0.5, x, y)?;
    Some(if t < 0.0 { tail } else { 1.0 - tail })
}

/// The two-sided p-value of a t statistic: P(|T| ≥ |t|) with `df` degrees of freedom,
/// computed from the tail directly so tiny p-values keep their precision. `None` for NaN or
/// `df ≤ 0`.
pub fn student_t_two_sided_p_value(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return None;
    }
    if df.is_infinite() {
        return normal_two_sided_p_value(t);
    }
    if t.is_infinite() {
        return Some(0.0);
    }
    let t2 = t * t;
    incomplete_beta_with_complement(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
}

/// The Student-t quantile: the `t` with `student_t_cdf(t, df) = p`, for `p` in (0, 1) and
/// `df > 0`. Found by Newton steps from the normal quantile, safeguarded by bisection on a
/// bracket, so it converges for any `df`. `None` outside those ranges or if no bracket is found.
pub fn student_t_quantile(p: f64, df: f64) -> Option<f64> {
    if !is_open_probability(p) || df.is_nan() || df <= 0.0 {
        return None;
    }
    if df.is_infinite() {
        return normal_quantile(p);
    }
    if p > 0.5 {
        // Symmetry; 1 − p is exact here.
        return student_t_quantile(1.0 - p, df).map(|t| -t);
    }
    if p == 0.5 {
        return Some(0.0);
    }
    // The t quantile lies below the normal one in the lower tail; widen until bracketed.
    let mut high = 0.0;
    let mut low = normal_quantile(p)?.min(-1.0);
    let mut tries = 0;
    while student_t_cdf(low, df)? > p {
        high = low;
        low *= 2.0;
        tries += 1;
        if tries > 2_000 || !low.is_finite() {
            return None;
        }
    }
    let ln_density_constant = ln_gamma_positive((df + 1.0) / 2.0) - ln_gamma_positive(df / 2.0) - 0.5 * (df * PI).ln();
    let mut t = normal_quantile(p)?.clamp(low, high);
    for _ in 0..200 {
        let f = student_t_cdf(t, df)? - p;
        if f == 0.0 {
            return Some(t);
        }
        if f > 0.0 {
            high = t;
        } else {
            low = t;
        }
        let density = (ln_density_constant - (df + 1.0) / 2.0 * (t * t / df).ln_1p()).exp();
        let newton = t - f / density;
        // A Newton step that leaves the bracket is replaced by bisection.
        let next = if newton > low && newton < high { newton } else { 0.5 * (low + high) };
        if (next - t).abs() <= 1e-15 * t.abs().max(1e-300) || high - low <= 1e-15 * high.abs().max(low.abs()) {
            return Some(next);
        }
        t = next;
    }
    Some(t)
}

/// The chi-square survival function P(X ≥ x) with `df > 0` degrees of freedom, the p-value
/// of a chi-square statistic. `None` for NaN, negative `x` or `df ≤ 0`.
pub fn chi_square_survival(x: f64, df: f64) -> Option<f64> {
    if df.is_nan() || df <= 0.0 || x.is_nan() || x < 0.0 {
        return None;
    }
    upper_incomplete_gamma(df / 2.0, x / 2.0)
}

/// The exact two-sided binomial p-value of `successes` out of `trials` against a fair coin
/// (p = ½), as `scipy.stats.binomtest` computes it: the probability of an outcome at least as
/// far from `trials/2` on either side. `None` when `successes > trials` or `trials` is 0, or
/// when `trials` is too large for the continued fraction (beyond about 10⁹).
pub fn binomial_two_sided_p_value(successes: u64, trials: u64) -> Option<f64> {
    if trials == 0 || successes > trials {
        return None;
    }
    let k = successes.min(trials - successes);
    if 2 * u128::from(k) == u128::from(trials) {
        return Some(1.0);
    }
    // The fair binomial is symmetric, so the two tails are equal: 2·P(X ≤ k) with
    // P(X ≤ k) = I_½(n − k, k + 1).
    let lower = incomplete_beta_with_complement((trials - k) as f64, k as f64 + 1.0, 0.5, 0.5)?;
    Some((2.0 * lower).min(1.0))
}

/// The survival function of the Kolmogorov distribution, P(K > x), the limit of √n·Dₙ
/// (`scipy.stats.kstwobign.sf`). Below x = 1 it is 1 minus the theta-function form of the
/// CDF, √(2π)/x · Σ exp(−(2k−1)²π²/(8x²)); from 1 on the alternating series
/// 2 · Σ (−1)^(k−1) exp(−2k²x²), each of which converges in a few terms there. `None` for NaN.
pub fn kolmogorov_survival(x: f64) -> Option<f64> {
    if x.is_nan() {
        return None;
    }
    if x <= 0.0 {
        return Some(1.0);
    }
    if x < 1.0 {
        let mut cdf = 0.0;
        for k in 1..=100 {
            let odd = f64::from(2 * k - 1);
            let term = (-(odd * odd) * PI * PI / (8.0 * x * x)).exp();
            cdf += term;
            if term <= cdf * EPSILON {
                break;
            }
        }
        return Some((1.0 - (2.0 * PI).sqrt() / x * cdf).clamp(0.0, 1.0));
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * x * x).exp();
        sum += if k % 2.0 == 1.0 { term } else { -term };
        if term <= sum.abs() * EPSILON {
            break;
        }
    }
    Some((2.0 * sum).clamp(0.0, 1.0))
}

/// The exact two-sided tail of the two-sample Kolmogorov–Smirnov statistic: the probability,
/// under the null, that D ≥ h / lcm(n1, n2) for samples of sizes `n1` and `n2` (the statistic
/// in units of 1/lcm is always a whole number). This is the p-value `scipy.stats.ks_2samp`
/// gives with `method='exact'`, which its default uses while both samples have at most
/// 10,000 values.
///
/// Under the null every ordering of the pooled sample is equally likely, so D is the largest
/// gap of a uniformly random lattice path from (0, 0) to (n1, n2) from the diagonal. For
/// equal sizes the reflection principle gives an alternating sum of binomial ratios, summed
/// innermost-first so nothing cancels. Otherwise the probability that a random path to (i, j)
/// has left the band |i·n2/g − j·n1/g| < h is carried column by column: it is 1 outside the
/// band and, inside, (i·Q(i−1, j) + j·Q(i, j−1)) / (i + j), because the path's last step came
/// from the left with probability i/(i + j). Working with the probability of leaving rather
/// than of staying keeps tiny p-values exact (Viehmann, "Numerically more stable computation
/// of the p-values for the two-sample Kolmogorov–Smirnov test", arXiv:2102.08037).
///
/// `None` for an empty sample or an `h` beyond lcm(n1, n2). The work grows with
/// n1 · min(n1, n2); callers bound the sizes.
pub fn ks_two_sample_exact_survival(n1: u64, n2: u64, h: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (m, n) = if n1 >= n2 { (n1, n2) } else { (n2, n1) };
    let g = gcd(m, n);
    let (mg, ng) = (m / g, n / g);
    let lcm = u128::from(mg) * u128::from(n);
    if u128::from(h) > lcm {
        return None;
    }
    if h == 0 {
        return Some(1.0);
    }
    if m == n {
        return Some(ks_equal_sizes_survival(n, h));
    }
    let (m, n, h, mg, ng) = (m as u128, n as u128, u128::from(h), u128::from(mg), u128::from(ng));
    let size = usize::try_from(n + 1).ok()?;
    // Column 0: (0, j) is inside while mg·j < h.
    let first_outside = h.div_ceil(mg).min(n + 1) as usize;
    let mut leave: Vec<f64> = (0..size).map(|j| if j < first_outside { 0.0 } else { 1.0 }).collect();
    let mut previous_end = first_outside;
    for i in 1..=m {
        // Inside the band: (ng·i − h)/mg < j < (ng·i + h)/mg.
        let low = ng * i;
        let start = if low >= h { ((low - h) / mg + 1).min(n) } else { 0 } as usize;
        let end = (ng * i + h).div_ceil(mg).min(n + 1) as usize;
        if end <= start {
            return Some(1.0);
        }
        let i_f = i as f64;
        let mut below = if start == 0 { 0.0 } else { 1.0 };
        for (j, cell) in leave.iter_mut().enumerate().take(end).skip(start) {
            let j_f = j as f64;
            below = (*cell * i_f + below * j_f) / (i_f + j_f);
            *cell = below;
        }
        // Cells the band has left behind are outside it from now on.
        for cell in leave.iter_mut().take(previous_end).skip(end) {
            *cell = 1.0;
        }
        previous_end = end;
    }
    leave.get(n as usize).map(|p| p.clamp(0.0, 1.0))
}

/// P(D ≥ h/n) for two samples of `n` values each: 2·(A₀ − A₀A₁ + A₀A₁A₂ − …), where A₀ =
/// C(2n, n−h)/C(2n, n) and each A_k the ratio of consecutive reflected binomials, evaluated
/// as 2·A₀(1 − A₁(1 − A₂(…))) from the inside out.
fn ks_equal_sizes_survival(n: u64, h: u64) -> f64 {
    let (n, h) = (n as f64, h as f64);
    let mut nested = 0.0;
    let mut k = (n / h).floor();
    while k >= 0.0 {
        let mut ratio = 1.0;
        let mut j = 0.0;
        while j < h {
            ratio = (n - k * h - j) * ratio / (n + k * h + j + 1.0);
            j += 1.0;
        }
        nested = ratio * (1.0 - nested);
        k -= 1.0;
    }
    (2.0 * nested).clamp(0.0, 1.0)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One step of the modified Lentz method for a continued fraction with partial numerator
/// `aa`: updates `c` and `d` (kept away from zero) and returns the factor the fraction's
/// value is multiplied by.
fn lentz_step(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 + aa * *d;
    if d.abs() < TINY {
        *d = TINY;
    }
    *c = 1.0 + aa / *c;
    if c.abs() < TINY {
        *c = TINY;
    }
    *d = 1.0 / *d;
    *d * *c
}
