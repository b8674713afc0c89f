//! Overview: the edge's health and traffic, refreshed on a timer.

use gloo_timers::callback::Interval;
use leptos::prelude::*;

use marquee_data::monitor::{DriftSummary, FairnessSummary};

use crate::api::{self, HealthReports, Summary, VariantPoint};
use crate::components::{ChartSeries, Figure, LineChart};
use crate::format;
use crate::session::use_session;

/// The availability objective the alert rules burn against (monitoring/rules): 99.9% of
/// recommendation answers not 5xx.
const AVAILABILITY_OBJECTIVE: f64 = 0.999;

/// How often the overview refreshes.
const REFRESH_MS: u32 = 10_000;

/// The windows the overview offers: (label, window seconds, step seconds).
const WINDOWS: [(&str, u64, u64); 4] =
    [("15 minutes", 900, 60), ("1 hour", 3_600, 60), ("6 hours", 21_600, 600), ("24 hours", 86_400, 1_800)];

/// The page: fetches the summary for the chosen window every [`REFRESH_MS`].
#[component]
pub fn OverviewPage() -> impl IntoView {
    let session = use_session();
    let window = RwSignal::new(1usize);
    let tick = RwSignal::new(0u32);
    // Dropping the interval cancels it: it lives exactly as long as the page.
    let interval = Interval::new(REFRESH_MS, move || tick.update(|tick| *tick += 1));
    StoredValue::new_local(interval);
    let summary = LocalResource::new(move || {
        tick.track();
        let (_, window_s, step_s) = WINDOWS[window.get() % WINDOWS.len()];
        let token = session.token().unwrap_or_default();
        async move {
            session.check(
                api::get_json::<Summary>(&format!("/v1/admin/summary?window_s={window_s}&step_s={step_s}"), &token)
                    .await,
            )
        }
    });
    view! {
        <section class="page overview">
            <div class="toolbar">
                <h2>"Overview"</h2>
                <label for="window">"Window"</label>
                <select id="window" on:change=move |ev| window.set(event_target_value(&ev).parse().unwrap_or(1))>
                    {WINDOWS.iter().enumerate().map(|(index, (label, _, _))| view! {
                        <option value=index.to_string() selected=index == 1>{*label}</option>
                    }).collect_view()}
                </select>
                <button type="button" on:click=move |_| tick.update(|tick| *tick += 1)>"Refresh"</button>
            </div>
            <Transition fallback=|| view! { <p class="note">"Loading the edge's summary…"</p> }>
                {move || summary.get().map(|result| result.map(|summary| view! { <OverviewView summary /> }))}
            </Transition>
        </section>
    }
}

/// The overview of one summary: figures, then charts.
#[component]
pub fn OverviewView(summary: Summary) -> impl IntoView {
    let step_ms = summary.step_s as f64 * 1000.0;
    let start_ms = summary.series.first().map_or(summary.now_ms, |point| point.start_ms);
    let per_second = |count: u64| Some(count as f64 / summary.step_s.max(1) as f64);
    let requests = vec![ChartSeries {
        label: "requests/s".into(),
        values: summary.series.iter().map(|point| per_second(point.requests)).collect(),
    }];
    let latency = vec![
        ChartSeries { label: "p50".into(), values: summary.series.iter().map(|point| point.p50_ms).collect() },
        ChartSeries { label: "p99".into(), values: summary.series.iter().map(|point| point.p99_ms).collect() },
    ];
    let fallback = vec![ChartSeries {
        label: "fallback rate".into(),
        values: summary
            .series
            .iter()
            .map(|point| (point.requests > 0).then(|| point.fallbacks as f64 / point.requests as f64 * 100.0))
            .collect(),
    }];
    // The SLI of the alert rules: answers that are not 5xx (a fallback list is available).
    let availability = vec![ChartSeries {
        label: "available".into(),
        values: summary
            .series
            .iter()
            .map(|point| (point.requests > 0).then(|| (1.0 - point.errors as f64 / point.requests as f64) * 100.0))
            .collect(),
    }];
    let totals_availability =
        (summary.totals.requests > 0).then(|| 1.0 - summary.totals.errors as f64 / summary.totals.requests as f64);
    let burn_rate = totals_availability.map(|available| (1.0 - available) / (1.0 - AVAILABILITY_OBJECTIVE));
    let model_age = summary.active_since_ms.map(|since| age(summary.now_ms - since));
    let reasons = summary.fallback_reasons.clone();
    let load_failures = summary.model_load_failures;
    let name = |variant: &Option<String>| variant.clone().unwrap_or_else(|| "(none)".into());
    // One line per variant of one per-step figure.
    let per_variant = |figure: fn(&VariantPoint) -> Option<f64>| -> Vec<ChartSeries> {
        summary
            .variants
            .iter()
            .map(|variant| ChartSeries {
                label: name(&variant.variant),
                values: variant.points.iter().map(figure).collect(),
            })
            .collect()
    };
    let impressions = per_variant(|point| Some(point.impressions as f64));
    let clicks = per_variant(|point| Some(point.clicked_lists as f64));
    let click_rate = per_variant(|point| {
        (point.impressions > 0).then(|| point.clicked_lists as f64 / point.impressions as f64 * 100.0)
    });
    let health = summary.health.clone();
    let totals = summary.totals.clone();
    let variant_rows = summary
        .variants
        .iter()
        .map(|variant| {
            view! {
                <tr>
                    <td>{name(&variant.variant)}</td>
                    <td class="number">{variant.impressions}</td>
                    <td class="number">{variant.clicked_lists}</td>
                    <td class="number">{format::percent(variant.click_rate)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="figures">
            <Figure label="Health" value=format!("{}{}", health.status, if health.storage_reachable { "" } else { " (storage unreachable)" }) />
            <Figure label="Active version" value=summary.active_version.clone().unwrap_or_else(|| format!("{} (embedded)", health.model_version)) />
            <Figure label="Requests/s" value=format::rate(totals.requests_per_second) />
            <Figure label="p50 latency" value=format::millis(totals.p50_ms) />
            <Figure label="p99 latency" value=format::millis(totals.p99_ms) />
            <Figure label="Fallback rate" value=format::percent(totals.fallback_rate) />
            <Figure label="Errors (5xx)" value=totals.errors.to_string() />
            <Figure label="Availability" value=format!("{} (objective {:.1}%)", format::percent(totals_availability), AVAILABILITY_OBJECTIVE * 100.0) />
            <Figure label="Error-budget burn" value=burn_rate.map_or("–".into(), |burn| format!("{burn:.2}×")) />
            <Figure label="Model age" value=model_age.unwrap_or_else(|| "never activated".into()) />
            <Figure label="Model load failures" value=load_failures.to_string() />
        </div>
        <p class="note">"Latency is the time from a request's arrival to its last storage answer inside the Worker (workerd's clock advances only across I/O, so CPU work after the last read is not counted). Updated " {format::date_time(summary.now_ms)} " UTC."</p>
        <div class="charts">
            <LineChart title="Requests per second" unit="req/s" series=requests start_ms step_ms />
            <LineChart title="Availability" unit="%" series=availability start_ms step_ms />
            <LineChart title="Latency" unit="ms" series=latency start_ms step_ms />
            <LineChart title="Fallback rate" unit="%" series=fallback start_ms step_ms />
            <LineChart title="Impressions per variant" unit="lists" series=impressions start_ms step_ms />
            <LineChart title="Clicked lists per variant" unit="lists" series=clicks start_ms step_ms />
            <LineChart title="Click rate per variant" unit="%" series=click_rate start_ms step_ms />
        </div>
        <table class="variants">
            <caption>"Per variant, over the window"</caption>
            <thead><tr><th>"Variant"</th><th class="number">"Impressions"</th><th class="number">"Clicked lists"</th><th class="number">"Click rate"</th></tr></thead>
            <tbody>{variant_rows}</tbody>
        </table>
        <table class="fallback-reasons">
            <caption>"Fallback answers by reason, since counting began"</caption>
            <thead><tr><th>"Reason"</th><th class="number">"Answers"</th></tr></thead>
            <tbody>
                {reasons.into_iter().map(|(reason, count)| view! {
                    <tr><td>{reason}</td><td class="number">{count}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <HealthReportsView reports=summary.reports.clone() now_ms=summary.now_ms />
    }
}

/// A duration in milliseconds as days, hours or minutes.
fn age(ms: f64) -> String {
    let minutes = (ms / 60_000.0).max(0.0);
    if minutes >= 2.0 * 24.0 * 60.0 {
        format!("{:.1} days", minutes / (24.0 * 60.0))
    } else if minutes >= 120.0 {
        format!("{:.1} hours", minutes / 60.0)
    } else {
        format!("{minutes:.0} minutes")
    }
}

/// The latest drift and fairness reports, as the alert rules read them.
#[component]
pub fn HealthReportsView(reports: HealthReports, now_ms: f64) -> impl IntoView {
    view! {
        <div class="health-reports">
            {match reports.drift {
                Some(drift) => view! { <DriftView drift now_ms /> }.into_any(),
                None => view! { <p class="note drift">"No drift report yet: run " <code>"marquee drift --publish URL"</code> "."</p> }.into_any(),
            }}
            {match reports.fairness {
                Some(fairness) => view! { <FairnessView fairness now_ms /> }.into_any(),
                None => view! { <p class="note fairness">"No fairness report yet: run " <code>"marquee fairness --publish URL"</code> "."</p> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn DriftView(drift: DriftSummary, now_ms: f64) -> impl IntoView {
    let verdict = if drift.dataset_drifted { "drifted" } else { "no drift" };
    let rows = drift
        .columns
        .into_iter()
        .map(|column| {
            view! {
                <tr class=if column.drifted { "drifted" } else { "" }>
                    <td>{column.name}</td>
                    <td>{column.scope}</td>
                    <td>{column.test}</td>
                    <td class="number">{format!("{:.4}", column.score)}</td>
                    <td class="number">{format!("{:.2}", column.threshold)}</td>
                    <td>{if column.drifted { "yes" } else { "no" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="drift">
            <caption>
                "Drift: " <span class=format!("badge {}", if drift.dataset_drifted { "bad" } else { "good" })>{verdict}</span>
                {format!(", {} of columns drifted, reported {} ago", format::percent(Some(drift.share_drifted)), age(now_ms - drift.generated_ms as f64))}
            </caption>
            <thead><tr><th>"Column"</th><th>"Scope"</th><th>"Test"</th><th class="number">"Score"</th><th class="number">"Threshold"</th><th>"Drifted"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn FairnessView(fairness: FairnessSummary, now_ms: f64) -> impl IntoView {
    let rows = fairness
        .ratios
        .into_iter()
        .map(|ratio| {
            view! {
                <tr class=if ratio.flagged { "flagged" } else { "" }>
                    <td>{ratio.metric}</td>
                    <td>{ratio.worst_group}</td>
                    <td>{ratio.best_group}</td>
                    <td class="number">{format!("{:.2}", ratio.ratio)}</td>
                    <td>{if ratio.flagged { "below 0.8" } else { "ok" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="fairness">
            <caption>
                {format!(
                    "Fairness: exposure Gini {:.2}, long-tail share {}, reported {} ago",
                    fairness.exposure_gini,
                    format::percent(Some(fairness.long_tail_share)),
                    age(now_ms - fairness.generated_ms as f64)
                )}
            </caption>
            <thead><tr><th>"Metric"</th><th>"Worst group"</th><th>"Best group"</th><th class="number">"Worst / best"</th><th>"Four-fifths rule"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
