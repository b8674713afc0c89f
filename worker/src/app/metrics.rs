//! `GET /metrics` in Prometheus's text format. Counters live in D1 (written after
//! responses, see [`MetricsBuffer`]), so every isolate reports the same totals.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::error::AppError;
use super::queries;
use super::routes::RECOMMENDATION_LABELS;
use super::storage::{Statement, Storage};
use super::{Response, LATENCY_BUCKETS_MS};
use marquee_data::monitor::{DriftSummary, FairnessSummary};

/// Request counts, latency buckets and sums not yet written to D1, in all and per minute.
/// Each isolate adds up its requests and writes them at most about once a second (and
/// before `/metrics` or the admin summary reads), so a request costs one D1 write (its
/// impression) instead of several. An evicted isolate loses at most that last second.
#[derive(Default)]
pub struct MetricsBuffer {
    counts: BTreeMap<(&'static str, u16), i64>,
    buckets: BTreeMap<(&'static str, &'static str), i64>,
    sums: BTreeMap<&'static str, (i64, i64)>,
    windows: BTreeMap<(i64, &'static str), WindowCounts>,
    latency_windows: BTreeMap<(i64, &'static str, &'static str), i64>,
    fallbacks: BTreeMap<(&'static str, String), i64>,
    load_failures: BTreeMap<&'static str, i64>,
    buffered: u32,
    last_flush_ms: Option<f64>,
    /// The minute old windows were last deleted in.
    pruned_minute: Option<i64>,
}

/// One minute's counts for one route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WindowCounts {
    requests: i64,
    errors: i64,
    fallbacks: i64,
}

/// What one answered request adds to the metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Answered<'a> {
    /// The route's metrics label.
    pub route: &'static str,
    pub status: u16,
    /// The answer's `x-marquee-fallback` reason, if it served a fallback.
    pub fallback: Option<&'a str>,
    /// From the request's arrival to its answer by the runtime's clock. In workerd that
    /// clock advances only across I/O, so this is the time to the request's last storage
    /// answer: waits and the CPU work before them, not the CPU work after the last one.
    pub elapsed_ms: f64,
}

/// Flush when this much time has passed since the last flush...
const FLUSH_INTERVAL_MS: f64 = 1_000.0;
/// ...or this many requests are buffered.
const FLUSH_REQUESTS: u32 = 200;

/// How long per-minute windows are kept: a day more than the admin summary's longest window.
pub const WINDOW_RETENTION_MINUTES: i64 = 8 * 24 * 60;

/// The latency buckets' `le` labels, [`LATENCY_BUCKETS_MS`] then `+Inf`, as stored.
const LE_LABELS: [&str; LATENCY_BUCKETS_MS.len() + 1] =
    ["0.5", "1", "2", "5", "10", "25", "50", "100", "250", "500", "1000", "+Inf"];

/// The minute (since the Unix epoch) a time in milliseconds falls in.
pub fn minute_of(time_ms: f64) -> i64 {
    (time_ms / 60_000.0).floor() as i64
}

/// The `le` label of the bucket a latency falls in.
fn bucket_label(elapsed_ms: f64) -> &'static str {
    let index = LATENCY_BUCKETS_MS.iter().position(|&le| elapsed_ms <= le).unwrap_or(LATENCY_BUCKETS_MS.len());
    LE_LABELS.get(index).copied().unwrap_or("+Inf")
}

impl MetricsBuffer {
    /// Counts one request answered at `now_ms`; returns the writes to make now, if it is
    /// time to flush.
    pub fn record(&mut self, answered: Answered<'_>, now_ms: f64) -> Vec<Statement> {
        let Answered { route, status, fallback, elapsed_ms } = answered;
        let bucket = bucket_label(elapsed_ms);
        let minute = minute_of(now_ms);
        *self.counts.entry((route, status)).or_default() += 1;
        *self.buckets.entry((route, bucket)).or_default() += 1;
        let sum = self.sums.entry(route).or_default();
        sum.0 += (elapsed_ms * 1000.0) as i64;
        sum.1 += 1;
        let window = self.windows.entry((minute, route)).or_default();
        window.requests += 1;
        window.errors += i64::from(status >= 500);
        window.fallbacks += i64::from(fallback.is_some());
        if let Some(reason) = fallback {
            *self.fallbacks.entry((route, reason.to_owned())).or_default() += 1;
        }
        *self.latency_windows.entry((minute, route, bucket)).or_default() += 1;
        self.buffered += 1;
        let due = self.last_flush_ms.is_none_or(|last| now_ms - last >= FLUSH_INTERVAL_MS || now_ms < last);
        if due || self.buffered >= FLUSH_REQUESTS {
            self.last_flush_ms = Some(now_ms);
            let mut statements = self.drain();
            // Old windows go once a minute per isolate, with a flush that writes anyway.
            if self.pruned_minute != Some(minute) {
                self.pruned_minute = Some(minute);
                statements.extend(queries::prune_windows(minute - WINDOW_RETENTION_MINUTES));
            }
            statements
        } else {
            Vec::new()
        }
    }

    /// Whether nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.load_failures.is_empty()
    }

    /// Counts a model version that failed to load (`missing`, `corrupt` or `storage`); it is
    /// written with the next flush.
    pub fn record_load_failure(&mut self, reason: &'static str) {
        *self.load_failures.entry(reason).or_default() += 1;
    }

    /// Everything buffered, as upserts that add to D1's totals.
    pub fn drain(&mut self) -> Vec<Statement> {
        let mut statements = Vec::new();
        for ((route, status), count) in std::mem::take(&mut self.counts) {
            statements.push(queries::add_request_count(route, status, count));
        }
        for ((route, le), count) in std::mem::take(&mut self.buckets) {
            statements.push(queries::add_latency_bucket(route, le, count));
        }
        for (route, (sum_us, count)) in std::mem::take(&mut self.sums) {
            statements.push(queries::add_latency_sum(route, sum_us, count));
        }
        for ((minute, route), window) in std::mem::take(&mut self.windows) {
            statements.push(queries::add_request_window(
                minute,
                route,
                window.requests,
                window.errors,
                window.fallbacks,
            ));
        }
        for ((minute, route, le), count) in std::mem::take(&mut self.latency_windows) {
            statements.push(queries::add_latency_window(minute, route, le, count));
        }
        for ((route, reason), count) in std::mem::take(&mut self.fallbacks) {
            statements.push(queries::add_fallback_count(route, &reason, count));
        }
        for (reason, count) in std::mem::take(&mut self.load_failures) {
            statements.push(queries::add_load_failures(reason, count));
        }
        self.buffered = 0;
        statements
    }
}

/// The `q`-quantile of a latency histogram, as Prometheus's `histogram_quantile` computes
/// it: linear interpolation within the bucket the rank falls in (the first bucket starting
/// at 0), and the highest finite bound when it falls in `+Inf`. `counts` are per bucket in
/// [`LE_LABELS`] order, not cumulative; `None` when they add up to 0.
pub fn histogram_quantile(q: f64, counts: &[i64; LE_LABELS.len()]) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut below = 0i64;
    let mut lower = 0.0;
    for (&count, &upper) in counts.iter().zip(LATENCY_BUCKETS_MS.iter()) {
        if (below + count) as f64 >= rank && count > 0 {
            return Some(lower + (upper - lower) * (rank - below as f64) / count as f64);
        }
        below += count;
        lower = upper;
    }
    // The rank is in the +Inf bucket.
    LATENCY_BUCKETS_MS.last().copied()
}

/// A stored bucket label's index in [`LE_LABELS`].
pub fn bucket_index(le: &str) -> Option<usize> {
    LE_LABELS.iter().position(|&label| label == le)
}

/// The fallback reasons the recommendation routes answer with (`x-marquee-fallback`),
/// exported at 0 before their first occurrence so that `increase()` sees the first one.
const FALLBACK_REASONS: [&str; 4] = ["model", "popularity", "profile", "storage"];

/// Why a model version failed to load, exported at 0 likewise.
pub const LOAD_FAILURE_REASONS: [&str; 3] = ["corrupt", "missing", "storage"];

/// Writes one `# HELP` and `# TYPE` header.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The Prometheus text of every counter in storage. Each query reads a small table kept
/// incrementally (a row per route and status, bucket, reason, variant or report), never
/// the log, so a scrape costs the same whatever the log's size.
pub async fn render<S: Storage>(storage: &S, model_version: Option<&str>) -> Result<Response, AppError> {
    let counts = queries::request_counts(storage).await?;
    let buckets = queries::latency_buckets(storage).await?;
    let sums = queries::latency_sums(storage).await?;
    let fallbacks = queries::fallback_counts(storage).await?;
    let load_failures = queries::load_failure_counts(storage).await?;
    let variants = queries::variant_counts(storage).await?;
    let settings = queries::read_settings(storage).await?;
    let reports = queries::reports(storage).await?;

    let mut out = String::new();
    header(&mut out, "marquee_requests_total", "counter", "Requests answered, by route and status.");
    for row in &counts {
        let _ =
            writeln!(out, "marquee_requests_total{{route=\"{}\",status=\"{}\"}} {}", row.route, row.status, row.count);
    }
    render_latency(&mut out, &buckets, &sums);

    header(
        &mut out,
        "marquee_fallbacks_total",
        "counter",
        "Recommendation answers that served a fallback list, by route and reason.",
    );
    for route in RECOMMENDATION_LABELS {
        for reason in FALLBACK_REASONS {
            let count =
                fallbacks.iter().find(|row| row.route == route && row.reason == reason).map_or(0, |row| row.count);
            let _ = writeln!(out, "marquee_fallbacks_total{{route=\"{route}\",reason=\"{reason}\"}} {count}");
        }
    }
    for row in fallbacks.iter().filter(|row| !FALLBACK_REASONS.contains(&row.reason.as_str())) {
        let _ =
            writeln!(out, "marquee_fallbacks_total{{route=\"{}\",reason=\"{}\"}} {}", row.route, row.reason, row.count);
    }

    header(&mut out, "marquee_model_load_failures_total", "counter", "Model versions that failed to load, by reason.");
    for reason in LOAD_FAILURE_REASONS {
        let count = load_failures.iter().find(|row| row.reason == reason).map_or(0, |row| row.count);
        let _ = writeln!(out, "marquee_model_load_failures_total{{reason=\"{reason}\"}} {count}");
    }

    header(&mut out, "marquee_model_info", "gauge", "The model version the active pointer names.");
    let _ = writeln!(out, "marquee_model_info{{version=\"{}\"}} 1", model_version.unwrap_or("default"));
    if let Some(since_ms) = settings.active_since_ms.as_deref().and_then(|text| text.parse::<i64>().ok()) {
        header(
            &mut out,
            "marquee_model_activated_timestamp_seconds",
            "gauge",
            "When the active version was activated.",
        );
        let _ = writeln!(out, "marquee_model_activated_timestamp_seconds {}", since_ms as f64 / 1000.0);
    }

    for (name, help, pick) in [
        ("marquee_impressions_total", "Recommendation lists served, by A/B variant.", 0),
        ("marquee_clicks_total", "Clicks on served lists, by the list's A/B variant.", 1),
    ] {
        header(&mut out, name, "counter", help);
        for row in &variants {
            let count = if pick == 0 { row.impressions } else { row.clicks };
            let _ = writeln!(out, "{name}{{variant=\"{}\"}} {count}", row.variant);
        }
    }
    for report in &reports {
        render_report(&mut out, report);
    }
    let mut response = Response::text(200, out);
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    Ok(response)
}

/// The request-time histogram. It is named for what workerd's clock can measure: the time
/// from a request's arrival to its last storage answer (see [`Answered::elapsed_ms`]).
fn render_latency(out: &mut String, buckets: &[queries::LatencyBucket], sums: &[queries::LatencySum]) {
    header(
        out,
        "marquee_request_io_seconds",
        "histogram",
        "Wall time from a request's arrival to its last storage answer, by the runtime's clock \
         (in workerd it advances only across I/O: CPU work after the last read is not counted).",
    );
    for sum in sums {
        let route = &sum.route;
        let mut cumulative = 0;
        for le in LE_LABELS {
            cumulative += buckets
                .iter()
                .filter(|bucket| bucket.route == *route && bucket.le == le)
                .map(|bucket| bucket.count)
                .sum::<i64>();
            // ("+Inf" would parse as a float: Rust reads it as infinity.)
            let le_seconds = match le.parse::<f64>() {
                Ok(ms) if ms.is_finite() => (ms / 1000.0).to_string(),
                _ => le.to_owned(),
            };
            let _ = writeln!(
                out,
                "marquee_request_io_seconds_bucket{{route=\"{route}\",le=\"{le_seconds}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "marquee_request_io_seconds_sum{{route=\"{route}\"}} {}", sum.sum_us as f64 / 1e6);
        let _ = writeln!(out, "marquee_request_io_seconds_count{{route=\"{route}\"}} {}", sum.count);
    }
}

/// A gauge's header and its one unlabelled value.
fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A gauge's header and one value per label set (`labels` already formatted, `a="x",b="y"`).
fn labelled_gauge(out: &mut String, name: &str, help: &str, values: impl Iterator<Item = (String, String)>) {
    header(out, name, "gauge", help);
    for (labels, value) in values {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// One stored health report's gauges. A body that no longer parses (written by another
/// version) is skipped rather than failing the scrape.
fn render_report(out: &mut String, report: &queries::StoredReport) {
    let flag = |value: bool| u8::from(value).to_string();
    match report.kind.as_str() {
        "drift" => {
            let Ok(drift) = serde_json::from_str::<DriftSummary>(&report.body) else { return };
            let help = "The share of columns the latest drift report found drifted.";
            gauge(out, "marquee_drift_share_drifted", help, drift.share_drifted);
            let help = "1 when the latest drift report found the dataset drifted.";
            gauge(out, "marquee_drift_dataset_drifted", help, flag(drift.dataset_drifted));
            let scores = drift.columns.iter().map(|column| {
                let labels = format!("column=\"{}\",scope=\"{}\",test=\"{}\"", column.name, column.scope, column.test);
                (labels, column.score.to_string())
            });
            let help = "Each column's drift statistic (p-value or distance).";
            labelled_gauge(out, "marquee_drift_column_score", help, scores);
            let drifted = drift
                .columns
                .iter()
                .map(|column| (format!("column=\"{}\",scope=\"{}\"", column.name, column.scope), flag(column.drifted)));
            let help = "1 for each column the latest drift report found drifted.";
            labelled_gauge(out, "marquee_drift_column_drifted", help, drifted);
            let help = "When the latest drift report was computed.";
            gauge(out, "marquee_drift_report_timestamp_seconds", help, drift.generated_ms as f64 / 1000.0);
        }
        "fairness" => {
            let Ok(fairness) = serde_json::from_str::<FairnessSummary>(&report.body) else { return };
            let ratios = fairness.ratios.iter().map(|ratio| {
                let labels = format!(
                    "metric=\"{}\",worst_group=\"{}\",best_group=\"{}\"",
                    ratio.metric, ratio.worst_group, ratio.best_group
                );
                (labels, ratio.ratio.to_string())
            });
            let help = "Each metric's worst group's value over the best group's.";
            labelled_gauge(out, "marquee_fairness_ratio", help, ratios);
            let flagged =
                fairness.ratios.iter().map(|ratio| (format!("metric=\"{}\"", ratio.metric), flag(ratio.flagged)));
            let help = "1 for each metric whose ratio is below the four-fifths rule.";
            labelled_gauge(out, "marquee_fairness_flagged", help, flagged);
            gauge(
                out,
                "marquee_exposure_gini",
                "The Gini coefficient of exposure over the catalog.",
                fairness.exposure_gini,
            );
            let help = "The share of recommended slots that went to long-tail items.";
            gauge(out, "marquee_long_tail_share", help, fairness.long_tail_share);
            let help = "When the latest fairness report was computed.";
            gauge(out, "marquee_fairness_report_timestamp_seconds", help, fairness.generated_ms as f64 / 1000.0);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::storage::SqlValue;

    #[test]
    fn the_stored_labels_are_the_buckets_bounds() {
        let formatted: Vec<String> = LATENCY_BUCKETS_MS.iter().map(|le| le.to_string()).collect();
        assert_eq!(LE_LABELS[..LATENCY_BUCKETS_MS.len()], formatted);
        assert_eq!(bucket_label(0.5), "0.5");
        assert_eq!(bucket_label(0.51), "1");
        assert_eq!(bucket_label(1000.0), "1000");
        assert_eq!(bucket_label(1000.1), "+Inf");
        assert_eq!(bucket_index("+Inf"), Some(11));
        assert_eq!(bucket_index("7"), None);
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket_as_prometheus_does() {
        let mut counts = [0i64; 12];
        assert_eq!(histogram_quantile(0.5, &counts), None);
        // Ten requests in (2, 5] and ten in (25, 50].
        counts[3] = 10;
        counts[6] = 10;
        assert_eq!(histogram_quantile(0.5, &counts), Some(5.0));
        assert!((histogram_quantile(0.99, &counts).unwrap() - 49.5).abs() < 1e-9);
        assert!((histogram_quantile(0.25, &counts).unwrap() - 3.5).abs() < 1e-9);
        // The first bucket starts at 0.
        let mut first = [0i64; 12];
        first[0] = 4;
        assert_eq!(histogram_quantile(0.5, &first), Some(0.25));
        // A rank in +Inf answers the highest finite bound.
        let mut slow = [0i64; 12];
        slow[11] = 3;
        slow[0] = 1;
        assert_eq!(histogram_quantile(0.99, &slow), Some(1000.0));
    }

    #[test]
    fn windows_count_errors_and_fallbacks_per_minute_and_route() {
        let mut buffer = MetricsBuffer::default();
        let minute_ms = 60_000.0 * 28_333_334.0;
        let answered = |status, fallback, elapsed_ms| Answered { route: "recommend", status, fallback, elapsed_ms };
        // The first record flushes at once; the rest stay buffered until drained.
        let first = buffer.record(answered(200, None, 3.0), minute_ms);
        assert!(!first.is_empty());
        assert!(buffer.record(answered(503, None, 30.0), minute_ms + 10.0).is_empty());
        assert!(buffer.record(answered(200, Some("storage"), 30.0), minute_ms + 20.0).is_empty());
        assert!(buffer.record(answered(200, None, 3.0), minute_ms + 900.0).is_empty());
        let statements = buffer.drain();
        let windows: Vec<&Vec<SqlValue>> = statements
            .iter()
            .filter(|statement| statement.sql.starts_with("INSERT INTO request_windows"))
            .map(|statement| &statement.params)
            .collect();
        let minute = 28_333_334;
        assert_eq!(
            windows,
            [&vec![
                SqlValue::Integer(minute),
                SqlValue::from("recommend"),
                SqlValue::Integer(3),
                SqlValue::Integer(1),
                SqlValue::Integer(1)
            ]]
        );
        let latency: Vec<(SqlValue, SqlValue)> = statements
            .iter()
            .filter(|statement| statement.sql.starts_with("INSERT INTO latency_windows"))
            .map(|statement| (statement.params[2].clone(), statement.params[3].clone()))
            .collect();
        assert_eq!(
            latency,
            [(SqlValue::from("5"), SqlValue::Integer(1)), (SqlValue::from("50"), SqlValue::Integer(2))]
        );
        assert_eq!(minute_of(minute_ms - 0.5), minute - 1);
    }
}
