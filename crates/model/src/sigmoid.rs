//! A logistic sigmoid that gives bit-identical results on every target.
//!
//! `f32::exp` is not portable bit for bit: natively it calls the platform's libm (glibc,
//! macOS, musl differ in their last bits), on wasm32 the compiler-builtins port of musl.
//! A model must score a user identically in the trainer, the Worker and the browser, so the
//! sigmoid uses its own `exp` built only from IEEE-754 basic operations (`+ - * /`, exact
//! rounding, `round`), which every conforming target computes identically. Rust never fuses
//! a multiply and an add on its own, so the order written here is the order executed.
//!
//! The work is done in f64 (about 1e-16 relative error) and rounded once to f32, so the
//! result is also within one f32 ulp of the true sigmoid.

/// `ln 2` split so that `k * LN2_HI` is exact for every `|k| < 2^20` (fdlibm's constants, given
/// by their bits so that no decimal parsing is involved).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// Beyond ±120 the f32 sigmoid is exactly 0 or 1 (`e^-120` is far below f32's smallest
/// subnormal), and `e^±120` stays well inside f64's normal range.
const CLAMP: f64 = 120.0;

/// `e^x` for `|x| <= 120`, deterministic on every target.
fn exp_deterministic(x: f64) -> f64 {
    // Range reduction: x = k ln2 + r with |r| <= ln2 / 2.
    let k = (x * core::f64::consts::LOG2_E).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r to r^13 / 13!: the first omitted term is below 2e-16 for |r| <= 0.35.
    let mut p = 1.0;
    let mut n = 13.0;
    while n > 0.5 {
        p = 1.0 + p * r / n;
        n -= 1.0;
    }
    // 2^k built from its bits; |k| <= 174, so the exponent is always normal.
    let exponent = (k as i64 + 1023) as u64;
    p * f64::from_bits(exponent << 52)
}

/// The logistic function `1 / (1 + e^-x)`, bit-identical on every target.
///
/// NaN in gives NaN out; ±∞ give 1 and 0.
pub fn sigmoid(x: f32) -> f32 {
    if x.is_nan() {
        return f32::NAN;
    }
    let x = f64::from(x).clamp(-CLAMP, CLAMP);
    (1.0 / (1.0 + exp_deterministic(-x))) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits pinned from a native run (they agree with Python's correctly rounded
    /// `1 / (1 + math.exp(-x))` packed to f32); the browser test checks the same numbers.
    pub(crate) const PINNED: [(f32, u32); 6] = [
        (0.0, 0x3f00_0000),
        (1.0, 0x3f3b_26a8),
        (-2.5, 0x3d9b_5b89),
        (10.0, 0x3f7f_fd06),
        (-30.0, 0x29d2_b706),
        (-100.0, 0x0000_001b),
    ];

    #[test]
    fn is_within_an_ulp_of_the_true_sigmoid() {
        let mut x = -110.0f32;
        while x < 110.0 {
            let ours = sigmoid(x);
            let reference = (1.0 / (1.0 + (-f64::from(x)).exp())) as f32;
            let ulps = (ours.to_bits() as i64 - reference.to_bits() as i64).abs();
            assert!(ulps <= 1, "sigmoid({x}) = {ours}, reference {reference}");
            x += 0.01;
        }
    }

    #[test]
    fn handles_the_edges() {
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(sigmoid(-200.0), 0.0);
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn pinned_values_do_not_drift() {
        for (x, bits) in PINNED {
            assert_eq!(sigmoid(x).to_bits(), bits, "sigmoid({x}) = {}", sigmoid(x));
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn sigmoid_is_bit_identical_in_the_browser() {
        for (x, bits) in super::tests::PINNED {
            assert_eq!(super::sigmoid(x).to_bits(), bits);
        }
    }
}
