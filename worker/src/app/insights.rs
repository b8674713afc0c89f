//! The admin dashboard's numbers: `GET /v1/admin/summary` (traffic, errors, fallbacks and
//! latency quantiles of the recommendation routes over time, and impressions and clicked
//! lists per A/B variant) and `GET /v1/admin/readout` (each variant's click rate and MRR
//! with confidence intervals).

use std::collections::BTreeMap;

use marquee_data::online::{experiment_readout, UserOutcome};
use marquee_data::stats::{mean_interval, wilson_interval, ValidDecisionRules, Z_95};
use serde_json::{json, Value};

use super::error::AppError;
use super::experiment::Experiment;
use super::metrics::{bucket_index, histogram_quantile};
use super::models::DEFAULT_VERSION;
use super::queries;
use super::routes::RECOMMENDATION_LABELS;
use super::storage::Storage;
use super::{App, Call, Request, Response};

/// The summary's window and step when not given, in seconds.
const DEFAULT_WINDOW_S: i64 = 3_600;
const DEFAULT_STEP_S: i64 = 60;
/// The longest step (a day) and window (a week), and the most steps one answer holds.
const MAX_STEP_S: i64 = 86_400;
const MAX_WINDOW_S: i64 = 7 * 86_400;
const MAX_POINTS: i64 = 1_000;

/// How the readout's numbers are computed, for whoever reads them.
const READOUT_METHOD: &str = "Wilson 95% interval for the click rate (clicked lists over impressions); normal 95% \
     interval for MRR (clipped to [0, 1]) over all lists, counting 0 for a list without a click and 1/rank of the \
     first clicked or watched movie otherwise (0 if it is not in the list); clicks and watches are attributed to \
     lists by recommendation id.";

/// The summary's time steps: `points` steps of `step_ms`, aligned to multiples of the step
/// since the Unix epoch, the last one holding now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Steps {
    start_ms: i64,
    step_ms: i64,
    points: i64,
}

impl Steps {
    /// Reads `?window_s=&step_s=`: a step that is a whole number of minutes from 1 minute to
    /// a day, a window from one step to a week, at most [`MAX_POINTS`] steps.
    fn from_query(request: &Request, now_ms: f64) -> Result<Steps, AppError> {
        let number = |name: &str, default: i64| -> Result<i64, AppError> {
            match request.query_param(name) {
                None => Ok(default),
                Some(text) => text.parse().map_err(|_| AppError::BadRequest(format!("{name} must be whole seconds"))),
            }
        };
        let step_s = number("step_s", DEFAULT_STEP_S)?;
        let window_s = number("window_s", DEFAULT_WINDOW_S)?;
        if !(60..=MAX_STEP_S).contains(&step_s) || step_s % 60 != 0 {
            return Err(AppError::BadRequest(format!("step_s must be a multiple of 60 from 60 to {MAX_STEP_S}")));
        }
        if !(step_s..=MAX_WINDOW_S).contains(&window_s) {
            return Err(AppError::BadRequest(format!("window_s must be from step_s to {MAX_WINDOW_S}")));
        }
        let points = (window_s + step_s - 1) / step_s;
        if points > MAX_POINTS {
            return Err(AppError::BadRequest(format!(
                "window_s / step_s is {points} steps; at most {MAX_POINTS} are answered"
            )));
        }
        let step_ms = step_s * 1000;
        let last_start = (now_ms as i64).div_euclid(step_ms) * step_ms;
        Ok(Steps { start_ms: last_start - (points - 1) * step_ms, step_ms, points })
    }

    fn end_ms(self) -> i64 {
        self.start_ms + self.points * self.step_ms
    }

    /// Each step's start, oldest first.
    fn starts(self) -> impl Iterator<Item = i64> {
        (0..self.points).map(move |index| self.start_ms + index * self.step_ms)
    }

    /// The step's index as a `usize`, if it is one of these steps.
    fn index(self, step: i64) -> Option<usize> {
        (0..self.points).contains(&step).then_some(step as usize)
    }
}

/// A latency histogram in the stored buckets, not cumulative.
type Histogram = [i64; 12];

/// The `q`-quantile of a histogram in milliseconds, `null` when it is empty.
fn quantile(q: f64, histogram: &Histogram) -> Value {
    histogram_quantile(q, histogram).map_or(Value::Null, Value::from)
}

/// `numerator / denominator`, `null` when the denominator is 0.
fn ratio(numerator: i64, denominator: i64) -> Value {
    if denominator > 0 {
        Value::from(numerator as f64 / denominator as f64)
    } else {
        Value::Null
    }
}

/// A `(low, high)` interval as a two-element array, `null` when there is none.
fn interval(bounds: Option<(f64, f64)>) -> Value {
    bounds.map_or(Value::Null, |(low, high)| json!([low, high]))
}

/// The experiment's variant names in its order, then any other names, sorted.
fn variant_names<'a>(experiment: &'a Experiment, others: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut names: Vec<&str> = experiment.variants.iter().map(|variant| variant.name.as_str()).collect();
    let mut extra: Vec<&str> = others.map(String::as_str).filter(|name| !names.contains(name)).collect();
    extra.sort_unstable();
    extra.dedup();
    names.extend(extra);
    names
}

impl App {
    /// `GET /v1/admin/summary?window_s=3600&step_s=60`: the recommendation routes' requests,
    /// errors, fallbacks and latency quantiles per step and in all, each variant's
    /// impressions and clicked lists per step, the active version and the health check.
    pub(super) async fn summary<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let now_ms = call.now();
        let steps = Steps::from_query(call.request, now_ms)?;
        // This isolate's buffered counts first, so that the summary sees its own requests.
        self.flush_metrics(call.storage).await?;
        let (first_minute, step_minutes, end_minute) =
            (steps.start_ms / 60_000, steps.step_ms / 60_000, steps.end_ms() / 60_000);
        let storage = call.storage;
        let window = queries::MinuteSteps { routes: RECOMMENDATION_LABELS, first_minute, step_minutes, end_minute };
        let counts = queries::request_steps(storage, window).await?;
        let buckets = queries::latency_steps(storage, window).await?;
        let variant_steps = queries::variant_steps(storage, steps.start_ms, steps.step_ms, steps.end_ms()).await?;
        let settings = queries::read_settings(storage).await?;
        let experiment = Experiment::from_stored(settings.experiment.as_deref());
        let health = self.health(storage, now_ms).await;
        let fallback_reasons: BTreeMap<String, i64> =
            queries::fallback_counts(storage).await?.into_iter().fold(BTreeMap::new(), |mut reasons, row| {
                *reasons.entry(row.reason).or_default() += row.count;
                reasons
            });
        let load_failures: i64 = queries::load_failure_counts(storage).await?.iter().map(|row| row.count).sum();
        // The latest health reports, as published (each validated when it was stored).
        let mut reports = serde_json::Map::new();
        for report in queries::reports(storage).await? {
            if let Ok(body) = serde_json::from_str::<Value>(&report.body) {
                reports.insert(report.kind, body);
            }
        }

        let points = steps.points as usize;
        let mut per_step = vec![[0i64; 3]; points];
        for row in &counts {
            if let Some(slot) = steps.index(row.step).and_then(|index| per_step.get_mut(index)) {
                *slot = [row.requests, row.errors, row.fallbacks];
            }
        }
        let mut histograms = vec![Histogram::default(); points];
        for row in &buckets {
            let slot = steps.index(row.step).and_then(|index| histograms.get_mut(index));
            if let (Some(histogram), Some(bucket)) = (slot, bucket_index(&row.le)) {
                if let Some(count) = histogram.get_mut(bucket) {
                    *count += row.count;
                }
            }
        }
        let series: Vec<Value> = steps
            .starts()
            .zip(per_step.iter().zip(&histograms))
            .map(|(start_ms, ([requests, errors, fallbacks], histogram))| {
                json!({
                    "start_ms": start_ms,
                    "requests": requests,
                    "errors": errors,
                    "fallbacks": fallbacks,
                    "p50_ms": quantile(0.5, histogram),
                    "p99_ms": quantile(0.99, histogram),
                })
            })
            .collect();

        let [requests, errors, fallbacks] = per_step.iter().fold([0i64; 3], |mut total, step| {
            for (sum, value) in total.iter_mut().zip(step) {
                *sum += value;
            }
            total
        });
        let mut histogram = Histogram::default();
        for step in &histograms {
            for (sum, value) in histogram.iter_mut().zip(step) {
                *sum += value;
            }
        }
        // The rate over the time the window has actually covered (its last step is running).
        let covered_s = ((now_ms as i64 - steps.start_ms) as f64).max(1_000.0) / 1_000.0;
        let totals = json!({
            "requests": requests,
            "errors": errors,
            "fallbacks": fallbacks,
            "fallback_rate": ratio(fallbacks, requests),
            "requests_per_second": requests as f64 / covered_s,
            "p50_ms": quantile(0.5, &histogram),
            "p99_ms": quantile(0.99, &histogram),
        });

        let mut by_variant: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for row in variant_steps {
            if let Some(index) = steps.index(row.step) {
                let points = by_variant.entry(row.variant).or_insert_with(|| vec![(0, 0); points]);
                if let Some(slot) = points.get_mut(index) {
                    *slot = (slot.0 + row.impressions, slot.1 + row.clicked_lists);
                }
            }
        }
        let empty = vec![(0, 0); points];
        let variants: Vec<Value> = variant_names(&experiment, by_variant.keys())
            .into_iter()
            .map(|name| {
                let counts = by_variant.get(name).unwrap_or(&empty);
                let impressions: i64 = counts.iter().map(|(shown, _)| shown).sum();
                let clicked: i64 = counts.iter().map(|(_, clicked)| clicked).sum();
                let points: Vec<Value> = steps
                    .starts()
                    .zip(counts)
                    .map(|(start_ms, (shown, clicked))| {
                        json!({ "start_ms": start_ms, "impressions": shown, "clicked_lists": clicked })
                    })
                    .collect();
                json!({
                    "variant": name,
                    "impressions": impressions,
                    "clicked_lists": clicked,
                    "click_rate": ratio(clicked, impressions),
                    "points": points,
                })
            })
            .collect();

        Ok(Response::json(
            200,
            &json!({
                "now_ms": now_ms as i64,
                "window_s": steps.points * steps.step_ms / 1000,
                "step_s": steps.step_ms / 1000,
                "active_version": settings.active_version,
                "active_since_ms": settings.active_since_ms.and_then(|text| text.parse::<i64>().ok()),
                "health": health,
                "series": series,
                "totals": totals,
                "variants": variants,
                // Since counting began (the counters /metrics exports), not per window.
                "fallback_reasons": fallback_reasons,
                "model_load_failures": load_failures,
                "reports": reports,
            }),
        ))
    }

    /// `GET /v1/admin/readout`: each variant's impressions, clicked lists, click rate and MRR
    /// with 95% intervals, over the whole log.
    pub(super) async fn readout<S: Storage>(&self, call: &Call<'_, S>) -> Result<Response, AppError> {
        let storage = call.storage;
        let settings = queries::read_settings(storage).await?;
        let experiment = Experiment::from_stored(settings.experiment.as_deref());
        let impressions: BTreeMap<String, i64> =
            queries::variant_counts(storage).await?.into_iter().map(|row| (row.variant, row.impressions)).collect();
        let ranks: BTreeMap<String, queries::VariantRanks> =
            queries::reciprocal_ranks(storage).await?.into_iter().map(|row| (row.variant.clone(), row)).collect();
        let active = settings.active_version.as_deref().unwrap_or(DEFAULT_VERSION);
        let variants: Vec<Value> = variant_names(&experiment, impressions.keys().chain(ranks.keys()))
            .into_iter()
            .map(|name| {
                let configured = experiment.variants.iter().find(|variant| variant.name == name);
                let shown = impressions.get(name).copied().unwrap_or(0);
                let (clicked, sum, sum_sq) = ranks.get(name).map_or((0, 0.0, 0.0), |row| {
                    (row.clicked_lists, row.reciprocal_rank_sum, row.reciprocal_rank_sum_sq)
                });
                let n = shown.max(0) as u64;
                let mrr_ci = mean_interval(sum, sum_sq, n, Z_95).map(|(low, high)| (low.max(0.0), high.min(1.0)));
                json!({
                    "variant": name,
                    // What the variant serves now; a name only the log knows serves nothing.
                    "version": configured.map(|variant| variant.version.as_deref().unwrap_or(active)),
                    "weight": configured.map(|variant| variant.weight),
                    "impressions": shown,
                    "clicked_lists": clicked,
                    "click_rate": ratio(clicked, shown),
                    "click_rate_ci": interval(wilson_interval(clicked.max(0) as u64, n, Z_95)),
                    "mrr": if shown > 0 { Value::from(sum / shown as f64) } else { Value::Null },
                    "mrr_ci": interval(mrr_ci),
                })
            })
            .collect();
        // The experiment's readout, from its start: the user as the unit, lists attributed by
        // recommendation id (the CLI's `experiment report` also attributes id-less stream lines).
        let since_ms = settings.experiment_started_ms.as_deref().and_then(|text| text.parse().ok()).unwrap_or(0);
        let mut outcomes: BTreeMap<String, Vec<UserOutcome>> = BTreeMap::new();
        for row in queries::user_ranks(storage, since_ms).await? {
            outcomes.entry(row.variant).or_default().push(UserOutcome {
                user_id: row.user_id,
                lists: row.lists,
                clicked_lists: row.clicked_lists,
                reciprocal_rank_sum: row.reciprocal_rank_sum,
            });
        }
        let experiment_readout = experiment_readout(&outcomes, &experiment, &ValidDecisionRules::default());
        Ok(Response::json(
            200,
            &json!({
                "variants": variants,
                "method": READOUT_METHOD,
                "experiment_started_ms": since_ms,
                "experiment": experiment_readout,
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(query: &str, now_ms: f64) -> Result<Steps, AppError> {
        Steps::from_query(&Request::get(&format!("/v1/admin/summary?{query}")), now_ms)
    }

    #[test]
    fn steps_are_aligned_and_the_last_holds_now() {
        let now = 1_700_000_123_456.0;
        let default = steps("", now).unwrap();
        assert_eq!((default.points, default.step_ms), (60, 60_000));
        assert_eq!(default.start_ms % 60_000, 0);
        let last = default.starts().last().unwrap();
        assert!(last as f64 <= now && now < (last + 60_000) as f64);
        let hourly = steps("window_s=86400&step_s=3600", now).unwrap();
        assert_eq!(hourly.points, 24);
        assert_eq!(hourly.start_ms % 3_600_000, 0);
        // A window that is not a whole number of steps is rounded up to one.
        assert_eq!(steps("window_s=150&step_s=60", now).unwrap().points, 3);
        assert_eq!(steps("window_s=604800&step_s=660", now).unwrap().points, 917);
    }

    #[test]
    fn bad_windows_are_refused() {
        for query in [
            "step_s=30",
            "step_s=90",
            "step_s=86460",
            "step_s=x",
            "window_s=30",
            "window_s=604860",
            "window_s=604800&step_s=60",
            "window_s=-60",
            "window_s=3600&step_s=7200",
        ] {
            assert!(matches!(steps(query, 0.0), Err(AppError::BadRequest(_))), "{query}");
        }
    }
}
