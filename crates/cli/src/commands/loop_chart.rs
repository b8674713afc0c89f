//! The loop's chart: one SVG of four panels over the rounds (click rate against the oracle's,
//! MRR, the exposure–popularity correlation against the original system's 0.945 and the
//! 0.6 target, catalog coverage), one line per exploration setting. Plain SVG text, so the
//! README and a browser show it with no plotting library.

use std::fmt::Write as _;

use super::online_loop::Round;

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 220.0;
const MARGIN: f64 = 46.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

struct Panel<'a> {
    title: &'a str,
    value: fn(&Round) -> Option<f64>,
    /// A dashed companion line per setting (the oracle's click rate).
    companion: Option<fn(&Round) -> Option<f64>>,
    /// Horizontal reference lines: (value, label).
    references: &'a [(f64, &'a str)],
}

/// The chart of `rounds` as SVG text.
pub fn draw(rounds: &[Round]) -> String {
    let panels = [
        Panel {
            title: "click rate (dashed: oracle)",
            value: |r| Some(r.click_rate),
            companion: Some(|r| Some(r.oracle_click_rate)),
            references: &[],
        },
        Panel { title: "MRR", value: |r| Some(r.mrr), companion: None, references: &[] },
        Panel {
            title: "exposure-popularity correlation",
            value: |r| r.exposure_popularity_correlation,
            companion: None,
            references: &[(0.945, "original 0.945"), (0.6, "target 0.6")],
        },
        Panel { title: "catalog coverage", value: |r| Some(r.coverage), companion: None, references: &[] },
    ];
    let mut settings: Vec<usize> = rounds.iter().map(|r| r.explore).collect();
    settings.dedup();
    let last_round = rounds.iter().map(|r| r.round).max().unwrap_or(1).max(2);
    let width = 2.0 * (PANEL_W + MARGIN) + MARGIN;
    let height = 2.0 * (PANEL_H + MARGIN) + MARGIN + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>"#
    );
    for (index, panel) in panels.iter().enumerate() {
        let left = MARGIN + (index % 2) as f64 * (PANEL_W + MARGIN);
        let top = MARGIN + (index / 2) as f64 * (PANEL_H + MARGIN);
        let mut values: Vec<f64> = rounds.iter().filter_map(panel.value).collect();
        if let Some(companion) = panel.companion {
            values.extend(rounds.iter().filter_map(companion));
        }
        values.extend(panel.references.iter().map(|(value, _)| *value));
        let high = values.iter().copied().fold(0.0f64, f64::max).max(1e-9) * 1.05;
        let low = values.iter().copied().fold(0.0f64, f64::min).min(0.0);
        let x = |round: u32| left + (f64::from(round) - 1.0) / (f64::from(last_round) - 1.0) * PANEL_W;
        let y = |value: f64| top + PANEL_H - (value - low) / (high - low) * PANEL_H;
        let _ = write!(
            svg,
            r##"<rect x="{left}" y="{top}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/><text x="{left}" y="{}" font-weight="bold">{}</text>"##,
            top - 8.0,
            panel.title
        );
        for tick in 0..=4 {
            let value = low + (high - low) * f64::from(tick) / 4.0;
            let _ =
                write!(svg, r#"<text x="{}" y="{}" text-anchor="end">{value:.2}</text>"#, left - 4.0, y(value) + 4.0);
        }
        for round in 1..=last_round {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{round}</text>"#,
                x(round),
                top + PANEL_H + 14.0
            );
        }
        for (value, label) in panel.references {
            let _ = write!(
                svg,
                r##"<line x1="{left}" x2="{right}" y1="{level}" y2="{level}" stroke="#888" stroke-dasharray="2,3"/><text x="{label_x}" y="{label_y}" fill="#555" text-anchor="end">{label}</text>"##,
                right = left + PANEL_W,
                level = y(*value),
                label_x = left + PANEL_W - 4.0,
                label_y = y(*value) - 3.0
            );
        }
        for (setting_index, setting) in settings.iter().enumerate() {
            let colour = COLOURS[setting_index % COLOURS.len()];
            let of_setting: Vec<&Round> = rounds.iter().filter(|r| r.explore == *setting).collect();
            let mut line = |value: fn(&Round) -> Option<f64>, dash: &str| {
                let points: Vec<String> = of_setting
                    .iter()
                    .filter_map(|r| value(r).map(|v| format!("{:.1},{:.1}", x(r.round), y(v))))
                    .collect();
                let _ = write!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
                    points.join(" ")
                );
                for point in &points {
                    let (cx, cy) = point.split_once(',').unwrap_or(("0", "0"));
                    let _ = write!(svg, r#"<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>"#);
                }
            };
            line(panel.value, "none");
            if let Some(companion) = panel.companion {
                line(companion, "5,4");
            }
        }
    }
    let legend_y = height - 14.0;
    let _ = write!(svg, r#"<text x="{MARGIN}" y="{legend_y}">round (one simulated day each) →</text>"#);
    for (index, setting) in settings.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let lx = 300.0 + index as f64 * 170.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="14" height="4" fill="{colour}"/><text x="{}" y="{legend_y}">{setting} exploration slots</text>"#,
            legend_y - 5.0,
            lx + 20.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}
