//! The monitoring checks `cargo xtask test` runs first (they take seconds): promtool
//! validates `monitoring/prometheus.yml` and the rule files and runs the rules' unit tests;
//! then every alert must have a unit test that sees it fire and one that sees it stay
//! quiet, and every Grafana panel must query only what the edge exports or the recording
//! rules define, in PromQL that promtool accepts.
//!
//! The rule and test files are YAML, which this crate does not parse: the checks read the
//! few line shapes they need (`- alert:`, `- record:`, `alertname:`, `exp_alerts:`), and
//! promtool has already checked that the files are the YAML Prometheus expects.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::process::{self, command};

/// Every series name the edge's `/metrics` exports (the metrics contract; the README's
/// Operations section lists them). The histogram's parts are named one by one, since a
/// query names the part it reads.
pub const EDGE_METRICS: &[&str] = &[
    "marquee_requests_total",
    "marquee_request_io_seconds_bucket",
    "marquee_request_io_seconds_sum",
    "marquee_request_io_seconds_count",
    "marquee_fallbacks_total",
    "marquee_model_load_failures_total",
    "marquee_model_info",
    "marquee_model_activated_timestamp_seconds",
    "marquee_impressions_total",
    "marquee_clicks_total",
    "marquee_drift_share_drifted",
    "marquee_drift_dataset_drifted",
    "marquee_drift_column_score",
    "marquee_drift_column_drifted",
    "marquee_drift_report_timestamp_seconds",
    "marquee_fairness_ratio",
    "marquee_fairness_flagged",
    "marquee_exposure_gini",
    "marquee_long_tail_share",
    "marquee_fairness_report_timestamp_seconds",
];

const CONFIG: &str = "monitoring/prometheus.yml";
const RULES_DIR: &str = "monitoring/rules";
const TESTS_DIR: &str = "monitoring/tests";
const DASHBOARD: &str = "monitoring/dashboards/marquee.json";

/// What a panel's `$__rate_interval`, `$__interval` and `$__range` become when its queries
/// are checked: any valid duration does for syntax.
const CHECK_DURATION: &str = "5m";

/// Runs promtool on the configuration, the rules and their unit tests, then checks alert
/// coverage and the dashboard.
pub fn check(root: &Path) -> Result<()> {
    let rule_files = yml_files(&root.join(RULES_DIR))?;
    let test_files = yml_files(&root.join(TESTS_DIR))?;
    process::run("promtool check config", command(root, "promtool").args(["check", "config", CONFIG]))?;
    process::run("promtool check rules", command(root, "promtool").args(["check", "rules"]).args(&rule_files))?;
    process::run(
        "promtool test rules (every alert, firing and quiet)",
        command(root, "promtool").args(["test", "rules"]).args(&test_files),
    )?;

    println!("==> the dashboard's queries and the alerts' unit tests");
    let started = Instant::now();
    let rules = RuleNames::read(root)?;
    check_alert_coverage(&rules.alerts, &test_files)?;
    let queries = dashboard_queries(&read_dashboard(root)?)?;
    check_query_metrics(&queries, &rules.records)?;
    let generated = crate::test::target_dir(root).join("monitoring/dashboard-queries.rules.json");
    write_queries_as_rules(&queries, &generated)?;
    process::run(
        "promtool check rules (every dashboard query parses)",
        command(root, "promtool").arg("check").arg("rules").arg(&generated),
    )?;
    println!(
        "    {} panel queries, {} alerts: ok in {:.1}s",
        queries.len(),
        rules.alerts.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The `.yml` files of a folder, sorted (what the shell's `folder/*.yml` gives).
fn yml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} has no .yml files", dir.display());
    }
    Ok(files)
}

/// The names the rule files define.
struct RuleNames {
    alerts: BTreeSet<String>,
    records: BTreeSet<String>,
}

impl RuleNames {
    fn read(root: &Path) -> Result<Self> {
        let mut names = RuleNames { alerts: BTreeSet::new(), records: BTreeSet::new() };
        for file in yml_files(&root.join(RULES_DIR))? {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            for line in text.lines().map(str::trim) {
                if let Some(name) = line.strip_prefix("- alert:") {
                    names.alerts.insert(name.trim().to_owned());
                } else if let Some(name) = line.strip_prefix("- record:") {
                    names.records.insert(name.trim().to_owned());
                }
            }
        }
        Ok(names)
    }
}

/// Per alert name, whether some unit test expects it to fire and some expects it quiet.
fn unit_test_cases(test_texts: &[(String, String)]) -> Result<BTreeMap<String, (bool, bool)>> {
    let mut cases: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for (file, text) in test_texts {
        let mut current: Option<String> = None;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix("alertname:") {
                current = Some(name.trim().to_owned());
            } else if let Some(expected) = line.strip_prefix("exp_alerts:") {
                let Some(name) = current.take() else {
                    bail!("{file}:{}: exp_alerts without an alertname before it", number + 1);
                };
                let entry = cases.entry(name).or_default();
                if expected.trim() == "[]" {
                    entry.1 = true;
                } else {
                    entry.0 = true;
                }
            }
        }
    }
    Ok(cases)
}

/// Every alert is tested firing and quiet, and every tested alert exists.
fn check_alert_coverage(alerts: &BTreeSet<String>, test_files: &[PathBuf]) -> Result<()> {
    let texts = test_files
        .iter()
        .map(|file| Ok((file.display().to_string(), std::fs::read_to_string(file)?)))
        .collect::<Result<Vec<_>>>()?;
    let cases = unit_test_cases(&texts)?;
    let mut problems = Vec::new();
    for alert in alerts {
        match cases.get(alert) {
            None => problems.push(format!("{alert} has no unit test")),
            Some((false, _)) => problems.push(format!("{alert} has no unit test where it fires")),
            Some((_, false)) => problems.push(format!("{alert} has no unit test where it stays quiet")),
            Some((true, true)) => {}
        }
    }
    for tested in cases.keys().filter(|name| !alerts.contains(*name)) {
        problems.push(format!("the unit tests name {tested}, which no rule file defines"));
    }
    if !problems.is_empty() {
        bail!("alert unit tests in {TESTS_DIR}:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

fn read_dashboard(root: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(root.join(DASHBOARD)).with_context(|| format!("reading {DASHBOARD}"))?;
    serde_json::from_str(&text).with_context(|| format!("{DASHBOARD} is not JSON"))
}

/// One panel query, with the dashboard's variables replaced so that it is plain PromQL.
#[derive(Debug, PartialEq)]
pub struct PanelQuery {
    /// The panel's title and the query's refId, to name it in errors.
    pub name: String,
    pub expr: String,
}

/// Every panel's queries (rows' nested panels too), after checking that the dashboard is
/// importable with a `${DS_PROMETHEUS}` datasource input.
fn dashboard_queries(dashboard: &Value) -> Result<Vec<PanelQuery>> {
    let inputs = dashboard["__inputs"].as_array().map(Vec::as_slice).unwrap_or_default();
    if !inputs.iter().any(|input| input["name"] == "DS_PROMETHEUS" && input["pluginId"] == "prometheus") {
        bail!("{DASHBOARD} needs a DS_PROMETHEUS datasource input (`__inputs`) to be importable");
    }
    if dashboard["schemaVersion"].as_u64().is_none() {
        bail!("{DASHBOARD} has no schemaVersion");
    }
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .map(|list| list.iter().filter_map(|variable| variable["name"].as_str()).collect())
        .unwrap_or_default();
    let mut panels = Vec::new();
    collect_panels(&dashboard["panels"], &mut panels);
    let mut ids = BTreeSet::new();
    let mut queries = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        if !ids.insert(panel["id"].as_u64()) {
            bail!("{DASHBOARD}: panel {title:?} has a missing or repeated id");
        }
        if panel["type"] == "row" {
            continue;
        }
        if panel["datasource"]["uid"] != "${DS_PROMETHEUS}" {
            bail!("{DASHBOARD}: panel {title:?} must use the ${{DS_PROMETHEUS}} datasource");
        }
        let targets = panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
        if targets.is_empty() {
            bail!("{DASHBOARD}: panel {title:?} has no query");
        }
        for target in targets {
            let reference = target["refId"].as_str().unwrap_or("?");
            let name = format!("{title} ({reference})");
            let Some(expr) = target["expr"].as_str().filter(|expr| !expr.trim().is_empty()) else {
                bail!("{DASHBOARD}: {name} has no expr");
            };
            let expr = substitute_variables(expr, &variables).with_context(|| format!("{DASHBOARD}: {name}"))?;
            queries.push(PanelQuery { name, expr });
        }
    }
    Ok(queries)
}

fn collect_panels<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
    for panel in panels.as_array().map(Vec::as_slice).unwrap_or_default() {
        out.push(panel);
        collect_panels(&panel["panels"], out);
    }
}

/// Replaces Grafana's interval variables by a duration and the dashboard's own variables
/// by `.*` (what "All" selects); any other `$name` is an error.
pub fn substitute_variables(expr: &str, variables: &[&str]) -> Result<String> {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, used) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}').context("an unclosed ${")?;
                (&braced[..end], end + 2)
            }
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match name {
            "__rate_interval" | "__interval" | "__range" => out.push_str(CHECK_DURATION),
            _ if variables.contains(&name) => out.push_str(".*"),
            _ => bail!("the query uses ${name}, which is not a dashboard variable"),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every query reads only series the edge exports or the recording rules define.
fn check_query_metrics(queries: &[PanelQuery], records: &BTreeSet<String>) -> Result<()> {
    let mut problems = Vec::new();
    for query in queries {
        let metrics = metric_names(&query.expr);
        if metrics.is_empty() {
            problems.push(format!("{} reads no metric", query.name));
        }
        for metric in metrics {
            if !EDGE_METRICS.contains(&metric.as_str()) && !records.contains(&metric) {
                problems.push(format!(
                    "{} reads {metric}, which neither the edge nor a recording rule provides",
                    query.name
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{DASHBOARD}:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

/// PromQL words that are neither metrics nor functions: operators, modifiers, and the
/// aggregations, which may be followed by `by (...)` rather than their parenthesis.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "atan2",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST_KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names a PromQL expression reads: the bare identifiers that are not
/// functions, keywords, label names (inside `{...}` or a `by (...)`-style list), numbers,
/// durations or strings.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut in_matchers = false;
    let mut in_range = false;
    // Set after a label-list keyword: the next parenthesis holds label names.
    let mut label_list_next = false;
    let mut label_list_depth: Option<usize> = None;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' && c != '`' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            '{' => in_matchers = true,
            '}' => in_matchers = false,
            '[' => in_range = true,
            ']' => in_range = false,
            '(' => {
                depth += 1;
                if label_list_next {
                    label_list_depth = Some(depth);
                    label_list_next = false;
                }
            }
            ')' => {
                if label_list_depth == Some(depth) {
                    label_list_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            // A number or a duration (`0.99`, `1e3`, `5m`, `1h30m`).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let is_label = in_matchers || in_range || label_list_depth.is_some();
            if LABEL_LIST_KEYWORDS.contains(&word.as_str()) && !is_label {
                label_list_next = next == Some(&'(');
            } else if !is_label && next != Some(&'(') && !KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
                names.insert(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

/// Writes the queries as recording rules (JSON, which is YAML too), so that promtool's
/// rule check parses each one.
fn write_queries_as_rules(queries: &[PanelQuery], path: &Path) -> Result<()> {
    let rules: Vec<Value> = queries
        .iter()
        .enumerate()
        .map(|(index, query)| serde_json::json!({ "record": format!("dashboard:query_{index}"), "expr": query.expr }))
        .collect();
    let file = serde_json::json!({ "groups": [{ "name": "dashboard-queries", "rules": rules }] });
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&file)?).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    #[test]
    fn metric_names_skip_functions_labels_keywords_numbers_and_strings() {
        assert_eq!(
            names(r#"sum by (route) (rate(marquee_requests_total{route=~"a|b", status!~"5.."}[5m]))"#),
            ["marquee_requests_total"]
        );
        assert_eq!(
            names(
                "sum by (reason) (rate(marquee_fallbacks_total[1m])) / ignoring (reason) group_left () \
                 sum(rate(marquee_requests_total[1m] offset 1h))"
            ),
            ["marquee_fallbacks_total", "marquee_requests_total"]
        );
        assert_eq!(
            names("histogram_quantile(0.99, sum by (le, route) (rate(marquee_request_io_seconds_bucket[5m])))"),
            ["marquee_request_io_seconds_bucket"]
        );
        assert_eq!(names("1 - marquee:sli_error_ratio:rate5m"), ["marquee:sli_error_ratio:rate5m"]);
        assert_eq!(
            names("marquee_fairness_ratio and on (metric) (marquee_fairness_flagged == bool 1) or vector(0)"),
            ["marquee_fairness_flagged", "marquee_fairness_ratio"]
        );
        // A label value that looks like a metric, braces inside strings, and a bare
        // aggregation modifier after its argument.
        assert_eq!(names(r#"sum(x{a="not_a_metric}", b='y'}) without (instance)"#), ["x"]);
        assert_eq!(names("time() - 1e3 * 2.5"), Vec::<String>::new());
        assert_eq!(names("topk by (variant) (3, a) / count without (le) (b)"), ["a", "b"]);
    }

    #[test]
    fn variables_become_durations_or_match_all() {
        let substituted = substitute_variables(
            r#"rate(x{route=~"$route", v=~"${variant}"}[$__rate_interval])"#,
            &["route", "variant"],
        );
        assert_eq!(substituted.unwrap(), r#"rate(x{route=~".*", v=~".*"}[5m])"#);
        let unknown = substitute_variables("rate(x[$window])", &["route"]).unwrap_err();
        assert!(unknown.to_string().contains("$window"), "{unknown}");
        assert!(substitute_variables("x{a=~\"${route\"}", &["route"]).is_err());
    }

    #[test]
    fn unit_test_cases_tell_firing_from_quiet_per_alert() {
        let text = "    alert_rule_test:\n      - eval_time: 5m\n        alertname: A\n        exp_alerts: []\n      \
                    - eval_time: 9m\n        alertname: A\n        exp_alerts:\n          - exp_labels: {}\n      \
                    - eval_time: 9m\n        alertname: B\n        exp_alerts: []\n";
        let cases = unit_test_cases(&[("t.yml".into(), text.into())]).unwrap();
        assert_eq!(cases.get("A"), Some(&(true, true)));
        assert_eq!(cases.get("B"), Some(&(false, true)));
        let orphan = unit_test_cases(&[("t.yml".into(), "exp_alerts: []\n".into())]);
        assert!(orphan.is_err());
    }

    /// The committed dashboard queries only the edge's metrics and the recording rules.
    #[test]
    fn every_dashboard_query_reads_known_metrics() {
        let root = root();
        let rules = RuleNames::read(&root).unwrap();
        let queries = dashboard_queries(&read_dashboard(&root).unwrap()).unwrap();
        assert!(queries.len() >= 20, "{} queries", queries.len());
        check_query_metrics(&queries, &rules.records).unwrap();
        // And the check can fail: a panel reading a series nobody exports.
        let stray = [PanelQuery { name: "stray".into(), expr: "rate(marquee_nonexistent_total[5m])".into() }];
        assert!(check_query_metrics(&stray, &rules.records).is_err());
    }

    /// Every committed alert has unit tests that see it fire and stay quiet.
    #[test]
    fn every_alert_is_unit_tested_both_ways() {
        let root = root();
        let rules = RuleNames::read(&root).unwrap();
        assert!(rules.alerts.len() >= 10, "{:?}", rules.alerts);
        check_alert_coverage(&rules.alerts, &yml_files(&root.join(TESTS_DIR)).unwrap()).unwrap();
        let mut extra = rules.alerts.clone();
        extra.insert("MarqueeUntested".into());
        assert!(check_alert_coverage(&extra, &yml_files(&root.join(TESTS_DIR)).unwrap()).is_err());
    }
}
