//! Charts drawn as SVG by Leptos (no JavaScript chart library): a line chart for time
//! series and a horizontal bar chart for feature contributions. Both are pure functions of
//! their data, so tests mount them with fixed numbers.

use leptos::prelude::*;

use crate::format;

/// One line of a [`LineChart`]: `None` values leave a gap.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 20.0;
const TOP: f64 = 8.0;

/// The SVG path of one series: `M` starts each run of defined values, `L` continues it.
pub fn series_path(values: &[Option<f64>], y_max: f64) -> String {
    let points = series_points(values, y_max);
    let mut path = String::new();
    let mut previous_index = None;
    let mut points = points.into_iter();
    for (index, value) in values.iter().enumerate() {
        if !value.is_some_and(f64::is_finite) {
            continue;
        }
        let Some((x, y)) = points.next() else { break };
        let pen_down = previous_index.is_some_and(|previous| previous + 1 == index);
        path.push_str(&format!("{}{x:.1},{y:.1} ", if pen_down { 'L' } else { 'M' }));
        previous_index = Some(index);
    }
    path.trim_end().to_owned()
}

/// The points of one series that have a value, as SVG coordinates: drawn as dots, so a
/// value with no neighbour (one request in an hour) still shows.
pub fn series_points(values: &[Option<f64>], y_max: f64) -> Vec<(f64, f64)> {
    let steps = values.len().saturating_sub(1).max(1) as f64;
    let plot_width = WIDTH - LEFT - 8.0;
    let plot_height = HEIGHT - TOP - BOTTOM;
    values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let value = value.filter(|value| value.is_finite())?;
            let x = LEFT + plot_width * index as f64 / steps;
            Some((x, TOP + plot_height * (1.0 - (value / y_max).clamp(0.0, 1.0))))
        })
        .collect()
}

/// A line chart over evenly spaced time steps starting at `start_ms`, `step_ms` apart.
#[component]
pub fn LineChart(
    /// The chart's heading.
    #[prop(into)]
    title: String,
    /// How a value on the y axis reads (ms, req/s, %).
    #[prop(into)]
    unit: String,
    /// The lines, all over the same steps.
    series: Vec<ChartSeries>,
    /// The first step's time (ms since the epoch).
    start_ms: f64,
    /// The time between steps.
    step_ms: f64,
) -> impl IntoView {
    let steps = series.iter().map(|series| series.values.len()).max().unwrap_or(0);
    let peak = series
        .iter()
        .flat_map(|series| series.values.iter().flatten())
        .copied()
        .filter(|value| value.is_finite())
        .fold(0.0f64, f64::max);
    let y_max = if peak > 0.0 { peak * 1.1 } else { 1.0 };
    let end_ms = start_ms + step_ms * steps.saturating_sub(1) as f64;
    let empty = series.iter().all(|series| series.values.iter().all(Option::is_none));
    let lines = series
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let dots = series_points(&line.values, y_max)
                .into_iter()
                .map(|(x, y)| view! { <circle class=format!("dot series-{}", index % 6) cx=format!("{x:.1}") cy=format!("{y:.1}") r="2.5" /> })
                .collect_view();
            view! { <path class=format!("line series-{}", index % 6) d=series_path(&line.values, y_max) /> {dots} }
        })
        .collect_view();
    let legend = series
        .iter()
        .enumerate()
        .map(|(index, line)| view! { <li class=format!("series-{}", index % 6)>{line.label.clone()}</li> })
        .collect_view();
    let unit_label = unit.clone();
    let (caption, aria_label) = (title.clone(), title.clone());
    view! {
        <figure class="chart" data-chart=title>
            <figcaption>{caption}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=aria_label preserveAspectRatio="none">
                <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=HEIGHT - BOTTOM />
                <line class="axis" x1=LEFT y1=HEIGHT - BOTTOM x2=WIDTH - 8.0 y2=HEIGHT - BOTTOM />
                <text class="tick" x=LEFT - 4.0 y=TOP + 8.0 text-anchor="end">{format!("{:.3}", y_max).trim_end_matches('0').trim_end_matches('.').to_owned()}</text>
                <text class="tick" x=LEFT - 4.0 y=HEIGHT - BOTTOM text-anchor="end">"0"</text>
                <text class="tick" x=LEFT y=HEIGHT - 4.0>{format::clock(start_ms)}</text>
                <text class="tick" x=WIDTH - 8.0 y=HEIGHT - 4.0 text-anchor="end">{format::clock(end_ms)}</text>
                {lines}
            </svg>
            <ul class="legend">{legend}<li class="unit">{unit_label}</li></ul>
            {empty.then(|| view! { <p class="note">"No data in this window yet."</p> })}
        </figure>
    }
}

/// Horizontal bars for signed values (feature contributions): right of the axis pushes the
/// score up, left pulls it down.
#[component]
pub fn BarChart(
    /// `(label, value)` pairs, drawn top to bottom.
    bars: Vec<(String, f32)>,
) -> impl IntoView {
    const BAR_WIDTH: f64 = 300.0;
    const ROW: f64 = 18.0;
    let largest = bars.iter().map(|(_, value)| f64::from(value.abs())).fold(0.0, f64::max).max(1e-9);
    let height = ROW * bars.len() as f64;
    let middle = 150.0 + BAR_WIDTH / 2.0;
    let rows = bars
        .into_iter()
        .enumerate()
        .map(|(index, (label, value))| {
            let length = f64::from(value.abs()) / largest * (BAR_WIDTH / 2.0);
            let x = if value >= 0.0 { middle } else { middle - length };
            let y = ROW * index as f64;
            let class = if value >= 0.0 { "bar up" } else { "bar down" };
            let feature = label.clone();
            view! {
                <g class="contribution" data-feature=feature>
                    <text class="tick" x="146" y=y + 13.0 text-anchor="end">{label}</text>
                    <rect class=class x=x y=y + 3.0 width=length.max(0.5) height=ROW - 6.0 />
                    <text class="tick" x=middle + BAR_WIDTH / 2.0 + 4.0 y=y + 13.0>{format!("{value:+.3}")}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="bars" viewBox=format!("0 0 {} {height}", 150.0 + BAR_WIDTH + 60.0) role="img" aria-label="feature contributions">
            <line class="axis" x1=middle y1="0" x2=middle y2=height />
            {rows}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_lift_the_pen() {
        let path = series_path(&[Some(1.0), Some(2.0), None, Some(2.0)], 2.0);
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(path.matches('L').count(), 1, "{path}");
        assert!(series_path(&[None, None], 1.0).is_empty());
    }
}
