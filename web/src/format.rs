//! How numbers read on the pages.

use marquee_data::Timestamp;

/// Bytes as B, KB or MB (decimal, as file browsers show them).
pub fn bytes(count: u64) -> String {
    match count {
        0..=999 => format!("{count} B"),
        1_000..=999_999 => format!("{:.1} KB", count as f64 / 1e3),
        _ => format!("{:.2} MB", count as f64 / 1e6),
    }
}

/// A share as a percentage with one decimal, or "–" when undefined.
pub fn percent(share: Option<f64>) -> String {
    share.filter(|share| share.is_finite()).map_or("–".into(), |share| format!("{:.1}%", share * 100.0))
}

/// Milliseconds with sensible precision, or "–".
pub fn millis(value: Option<f64>) -> String {
    match value.filter(|value| value.is_finite()) {
        None => "–".into(),
        Some(value) if value < 10.0 => format!("{value:.2} ms"),
        Some(value) => format!("{value:.0} ms"),
    }
}

/// A rate with three significant digits, so a quiet edge does not read as zero.
pub fn rate(value: f64) -> String {
    match value {
        value if !value.is_finite() || value == 0.0 => "0".into(),
        value if value >= 100.0 => format!("{value:.0}"),
        value if value >= 1.0 => format!("{value:.2}"),
        value => {
            let decimals = (2 - value.log10().floor() as i32).clamp(2, 6) as usize;
            format!("{value:.decimals$}")
        }
    }
}

/// A 95% interval as "lo–hi" in percent.
pub fn percent_interval(interval: Option<(f64, f64)>) -> String {
    interval.map_or("–".into(), |(lo, hi)| format!("{:.1}–{:.1}%", lo * 100.0, hi * 100.0))
}

/// A plain interval with three decimals.
pub fn interval(interval: Option<(f64, f64)>) -> String {
    interval.map_or("–".into(), |(lo, hi)| format!("{lo:.3}–{hi:.3}"))
}

/// Milliseconds since the epoch as UTC `YYYY-MM-DD HH:MM`.
pub fn date_time(ms: f64) -> String {
    let iso = utc(ms);
    format!("{} {}", iso.get(..10).unwrap_or_default(), iso.get(11..16).unwrap_or_default())
}

/// Milliseconds since the epoch as UTC `HH:MM` (chart axes).
pub fn clock(ms: f64) -> String {
    utc(ms).get(11..16).unwrap_or_default().to_owned()
}

/// The instant as the data crate writes it (`YYYY-MM-DDTHH:MM:SS`), to the second.
fn utc(ms: f64) -> String {
    Timestamp::from_unix_seconds((ms / 1000.0).floor() as i64).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_expect() {
        assert_eq!(bytes(532), "532 B");
        assert_eq!(bytes(53_551), "53.6 KB");
        assert_eq!(bytes(876_112), "876.1 KB");
        assert_eq!(percent(Some(0.6123)), "61.2%");
        assert_eq!(percent(None), "–");
        assert_eq!(rate(0.003_333), "0.00333");
        assert_eq!(rate(2.5), "2.50");
        assert_eq!(rate(0.0), "0");
        assert_eq!(millis(Some(4.256)), "4.26 ms");
        assert_eq!(percent_interval(Some((0.5, 0.75))), "50.0–75.0%");
        assert_eq!(date_time(0.0), "1970-01-01 00:00");
        assert_eq!(date_time(1_796_142_480_000.0), "2026-12-01 16:28");
        assert_eq!(clock(1_796_142_480_000.0), "16:28");
    }
}
