//! `GET /metrics` in Prometheus's text format. Counters live in D1 (written after
//! responses, see [`MetricsBuffer`]), so every isolate reports the same totals.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::error::AppError;
use super::queries;
use super::storage::{Statement, Storage};
use super::{Response, LATENCY_BUCKETS_MS};

/// Request counts, latency buckets and sums not yet written to D1. Each isolate adds up its
/// requests and writes them at most about once a second (and before `/metrics` reads), so
/// a request costs one D1 write (its impression) instead of four. An evicted isolate loses
/// at most that last second of counts.
#[derive(Default)]
pub struct MetricsBuffer {
    counts: BTreeMap<(&'static str, u16), i64>,
    buckets: BTreeMap<(&'static str, String), i64>,
    sums: BTreeMap<&'static str, (i64, i64)>,
    buffered: u32,
    last_flush_ms: Option<f64>,
}

/// Flush when this much time has passed since the last flush...
const FLUSH_INTERVAL_MS: f64 = 1_000.0;
/// ...or this many requests are buffered.
const FLUSH_REQUESTS: u32 = 200;

impl MetricsBuffer {
    /// Counts one request; returns the writes to make now, if it is time to flush.
    pub fn record(&mut self, route: &'static str, status: u16, elapsed_ms: f64, now_ms: f64) -> Vec<Statement> {
        let bucket =
            LATENCY_BUCKETS_MS.iter().find(|&&le| elapsed_ms <= le).map_or("+Inf".to_owned(), |le| le.to_string());
        *self.counts.entry((route, status)).or_default() += 1;
        *self.buckets.entry((route, bucket)).or_default() += 1;
        let sum = self.sums.entry(route).or_default();
        sum.0 += (elapsed_ms * 1000.0) as i64;
        sum.1 += 1;
        self.buffered += 1;
        let due = self.last_flush_ms.is_none_or(|last| now_ms - last >= FLUSH_INTERVAL_MS || now_ms < last);
        if due || self.buffered >= FLUSH_REQUESTS {
            self.last_flush_ms = Some(now_ms);
            self.drain()
        } else {
            Vec::new()
        }
    }

    /// Everything buffered, as upserts that add to D1's totals.
    pub fn drain(&mut self) -> Vec<Statement> {
        let mut statements = Vec::new();
        for ((route, status), count) in std::mem::take(&mut self.counts) {
            statements.push(queries::add_request_count(route, status, count));
        }
        for ((route, le), count) in std::mem::take(&mut self.buckets) {
            statements.push(queries::add_latency_bucket(route, &le, count));
        }
        for (route, (sum_us, count)) in std::mem::take(&mut self.sums) {
            statements.push(queries::add_latency_sum(route, sum_us, count));
        }
        self.buffered = 0;
        statements
    }
}

/// The Prometheus text of every counter in storage.
pub async fn render<S: Storage>(storage: &S, model_version: Option<&str>) -> Result<Response, AppError> {
    let counts = queries::request_counts(storage).await?;
    let buckets = queries::latency_buckets(storage).await?;
    let sums = queries::latency_sums(storage).await?;
    let impressions = queries::impressions_by_variant(storage).await?;
    let clicks = queries::clicks_by_variant(storage).await?;

    let mut out = String::new();
    let _ = writeln!(out, "# HELP marquee_requests_total Requests answered, by route and status.");
    let _ = writeln!(out, "# TYPE marquee_requests_total counter");
    for row in &counts {
        let _ =
            writeln!(out, "marquee_requests_total{{route=\"{}\",status=\"{}\"}} {}", row.route, row.status, row.count);
    }
    let _ = writeln!(out, "# HELP marquee_request_duration_seconds Time to answer, in the Worker.");
    let _ = writeln!(out, "# TYPE marquee_request_duration_seconds histogram");
    for sum in &sums {
        let route = &sum.route;
        let mut cumulative = 0;
        for le in LATENCY_BUCKETS_MS.iter().map(|le| le.to_string()).chain(std::iter::once("+Inf".to_owned())) {
            cumulative += buckets
                .iter()
                .filter(|bucket| bucket.route == *route && bucket.le == le)
                .map(|bucket| bucket.count)
                .sum::<i64>();
            let le_seconds =
                if le == "+Inf" { le.clone() } else { (le.parse::<f64>().unwrap_or(0.0) / 1000.0).to_string() };
            let _ = writeln!(
                out,
                "marquee_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le_seconds}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "marquee_request_duration_seconds_sum{{route=\"{route}\"}} {}", sum.sum_us as f64 / 1e6);
        let _ = writeln!(out, "marquee_request_duration_seconds_count{{route=\"{route}\"}} {}", sum.count);
    }
    let _ = writeln!(out, "# HELP marquee_model_info The model version the active pointer names.");
    let _ = writeln!(out, "# TYPE marquee_model_info gauge");
    let _ = writeln!(out, "marquee_model_info{{version=\"{}\"}} 1", model_version.unwrap_or("default"));
    for (name, help, rows) in [
        ("marquee_impressions_total", "Recommendation lists served, by A/B variant.", &impressions),
        ("marquee_clicks_total", "Clicks on served lists, by the list's A/B variant.", &clicks),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for row in rows.iter() {
            let _ = writeln!(out, "{name}{{variant=\"{}\"}} {}", row.variant.as_deref().unwrap_or(""), row.count);
        }
    }
    let mut response = Response::text(200, out);
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    Ok(response)
}
