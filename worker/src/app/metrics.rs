//! `GET /metrics` in Prometheus's text format. Counters live in D1 (written after
//! responses, see [`MetricsBuffer`]), so every isolate reports the same totals.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::error::AppError;
use super::storage::{SqlValue, Statement, Storage};
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
            statements.push(Statement::new(
                "INSERT INTO request_counts (route, status, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (route, status) DO UPDATE SET count = count + excluded.count",
                vec![SqlValue::from(route), SqlValue::Integer(i64::from(status)), SqlValue::Integer(count)],
            ));
        }
        for ((route, le), count) in std::mem::take(&mut self.buckets) {
            statements.push(Statement::new(
                "INSERT INTO latency_buckets (route, le, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (route, le) DO UPDATE SET count = count + excluded.count",
                vec![SqlValue::from(route), SqlValue::from(le), SqlValue::Integer(count)],
            ));
        }
        for (route, (sum_us, count)) in std::mem::take(&mut self.sums) {
            statements.push(Statement::new(
                "INSERT INTO latency_sums (route, sum_us, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (route) DO UPDATE SET sum_us = sum_us + excluded.sum_us, count = count + excluded.count",
                vec![SqlValue::from(route), SqlValue::Integer(sum_us), SqlValue::Integer(count)],
            ));
        }
        self.buffered = 0;
        statements
    }
}

pub async fn render<S: Storage>(storage: &S, model_version: Option<&str>) -> Result<Response, AppError> {
    let query = |sql: &'static str| Statement::new(sql, Vec::new());
    let counts =
        storage.query(&query("SELECT route, status, count FROM request_counts ORDER BY route, status")).await?;
    let buckets = storage.query(&query("SELECT route, le, count FROM latency_buckets")).await?;
    let sums = storage.query(&query("SELECT route, sum_us, count FROM latency_sums ORDER BY route")).await?;
    let impressions = storage
        .query(&query("SELECT variant, count(*) AS n FROM log WHERE kind = 'impression' GROUP BY variant"))
        .await?;
    let clicks = storage
        .query(&query(
            "SELECT i.variant AS variant, count(*) AS n FROM log c JOIN log i ON i.id = c.ref \
             WHERE c.kind = 'click' AND i.kind = 'impression' GROUP BY i.variant",
        ))
        .await?;
    let text = |row: &super::storage::Row, key: &str| row.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let number = |row: &super::storage::Row, key: &str| row.get(key).and_then(|v| v.as_f64()).unwrap_or(0.0);

    let mut out = String::new();
    let _ = writeln!(out, "# HELP marquee_requests_total Requests answered, by route and status.");
    let _ = writeln!(out, "# TYPE marquee_requests_total counter");
    for row in &counts {
        let _ = writeln!(
            out,
            "marquee_requests_total{{route=\"{}\",status=\"{}\"}} {}",
            text(row, "route"),
            number(row, "status"),
            number(row, "count")
        );
    }
    let _ = writeln!(out, "# HELP marquee_request_duration_seconds Time to answer, in the Worker.");
    let _ = writeln!(out, "# TYPE marquee_request_duration_seconds histogram");
    for sum_row in &sums {
        let route = text(sum_row, "route");
        let mut cumulative = 0.0;
        for le in LATENCY_BUCKETS_MS.iter().map(|le| le.to_string()).chain(std::iter::once("+Inf".to_owned())) {
            cumulative += buckets
                .iter()
                .filter(|row| text(row, "route") == route && text(row, "le") == le)
                .map(|row| number(row, "count"))
                .sum::<f64>();
            let le_seconds =
                if le == "+Inf" { le.clone() } else { (le.parse::<f64>().unwrap_or(0.0) / 1000.0).to_string() };
            let _ = writeln!(
                out,
                "marquee_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le_seconds}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "marquee_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            number(sum_row, "sum_us") / 1e6
        );
        let _ =
            writeln!(out, "marquee_request_duration_seconds_count{{route=\"{route}\"}} {}", number(sum_row, "count"));
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
            let _ = writeln!(out, "{name}{{variant=\"{}\"}} {}", text(row, "variant"), number(row, "n"));
        }
    }
    let mut response = Response::text(200, out);
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    Ok(response)
}
