//! `marquee simulate --edge URL --world DIR [--users N --requests R --days D --seed S
//! --rate RPS] [--policy served|oracle] [--json]`: the world's users visit a local edge after
//! the world's window, read the lists it serves under a position-based click model, and
//! send back what they watched and rated. The behaviour lives in
//! [`marquee_data::world::online`]; this command only does the HTTP and the reporting.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use marquee_data::world::online::Outcome;
use marquee_data::world::{ClickModel, OnlineConfig, OnlineSimulator, OnlineSummary, Served, World, LIST_LENGTH};
use serde::{Deserialize, Serialize};

use super::publish::agent;

/// Event lines per POST, under the edge's 5,000.
const BATCH_LINES: usize = 2_000;
/// Bytes per POST, under the edge's 1 MiB.
const BATCH_BYTES: usize = 512 * 1024;

/// Whose lists the users read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The edge's lists; events go back to the edge.
    Served,
    /// The best possible lists, ranked by true utility; nothing is sent (the ceiling).
    Oracle,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The edge's base URL; only loopback hosts (localhost, 127.0.0.0/8, ::1) are accepted,
    /// because the simulation floods the service with fake traffic.
    #[arg(long)]
    edge: String,
    /// A folder written by `marquee world` (its truth.json, truth_users.jsonl and
    /// truth_movies.jsonl give the users' tastes).
    #[arg(long)]
    world: PathBuf,
    /// How many of the world's users take part.
    #[arg(long, default_value_t = OnlineConfig::default().users)]
    users: u32,
    /// How many visits (list requests) to make.
    #[arg(long, default_value_t = OnlineConfig::default().requests)]
    requests: u32,
    /// Over how many days after the world's window the events' times spread.
    #[arg(long, default_value_t = OnlineConfig::default().days)]
    days: u32,
    /// The seed: the same seed and the same edge answers give the same requests and events.
    #[arg(long, default_value_t = OnlineConfig::default().seed)]
    seed: u64,
    /// The most requests per second (default: unlimited).
    #[arg(long)]
    rate: Option<f64>,
    /// Whose lists the users read.
    #[arg(long, value_enum, default_value_t = Policy::Served)]
    policy: Policy,
    /// How fast attention falls with rank: rank r is examined with probability 1/r^eta.
    #[arg(long, default_value_t = ClickModel::default().eta)]
    eta: f64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// The summary printed at the end.
#[derive(Serialize)]
struct Report {
    edge: String,
    policy: Policy,
    seed: u64,
    click_model: ClickModel,
    #[serde(flatten)]
    summary: OnlineSummary,
    /// Visits whose list request failed.
    failed_requests: u64,
    /// Event lines posted, and what the edge said of them.
    events_sent: u64,
    /// Lines the edge stored, and lines it already had (a resent visit).
    events_stored: u64,
    events_duplicate: u64,
    events_rejected: u64,
    seconds: f64,
}

#[derive(Deserialize)]
struct ListItem {
    movie_id: String,
}

#[derive(Deserialize)]
struct List {
    items: Vec<ListItem>,
    recommendation_id: String,
    /// When the edge served the list, by its clock: the visit's events are dated after it.
    served_ms: i64,
}

#[derive(Deserialize)]
struct Ingested {
    stored: u64,
    duplicates: u64,
    #[serde(default)]
    rejected: Vec<serde_json::Value>,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let base = args.edge.trim_end_matches('/').to_owned();
    check_loopback(&base)?;
    if let Some(rate) = args.rate {
        anyhow::ensure!(rate.is_finite() && rate > 0.0, "--rate must be a positive number of requests per second");
    }
    let config = OnlineConfig {
        users: args.users,
        requests: args.requests,
        days: args.days,
        seed: args.seed,
        click: ClickModel { eta: args.eta, ..ClickModel::default() },
    };
    config.validate().map_err(anyhow::Error::msg)?;
    let world = World::load_truth(&args.world)
        .with_context(|| format!("reading the ground truth of the world in {}", args.world.display()))?;
    let mut sim = OnlineSimulator::new(&world, config.clone())?;
    let agent = agent();
    let started = Instant::now();
    let mut report = Report {
        edge: base.clone(),
        policy: args.policy,
        seed: args.seed,
        click_model: config.click,
        summary: OnlineSummary::default(),
        failed_requests: 0,
        events_sent: 0,
        events_stored: 0,
        events_duplicate: 0,
        events_rejected: 0,
        seconds: 0.0,
    };
    let mut batch = Batch::default();
    let bar = crate::progress::bar(u64::from(args.requests), "visits", args.json);
    for visit in sim.visits().to_vec() {
        if let Some(rate) = args.rate {
            // Visit i starts no sooner than i / rate seconds in.
            let due = Duration::from_secs_f64(f64::from(visit.index) / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let outcome = match args.policy {
            Policy::Oracle => Some(sim.respond(&visit, &sim.oracle_list(&visit, LIST_LENGTH), None)),
            Policy::Served => fetch_list(&agent, &base, visit.user_id)?.map(|list| {
                let ids: Vec<String> = list.items.into_iter().map(|item| item.movie_id).collect();
                let served = Served { recommendation_id: &list.recommendation_id, served_ms: list.served_ms };
                sim.respond(&visit, &ids, Some(served))
            }),
        };
        let listed = outcome.is_some();
        let mut outcome = outcome.unwrap_or_default();
        if args.policy == Policy::Oracle {
            // The ceiling is only counted: its events would be fake feedback on lists nobody served.
            outcome.lines.clear();
        }
        report.failed_requests += u64::from(!listed);
        report.summary.record(listed, &outcome);
        if args.policy == Policy::Served {
            batch.add(&agent, &base, &outcome, &mut report)?;
        }
        bar.inc(1);
    }
    batch.flush(&agent, &base, &mut report)?;
    bar.finish_and_clear();
    report.seconds = started.elapsed().as_secs_f64();
    if args.json {
        return super::print_json(&report);
    }
    print_text(&report);
    Ok(())
}

/// Asks the edge for a visit's list; `None` when the edge answers an error status (counted as
/// a failed request), an error when it cannot be reached at all.
fn fetch_list(agent: &ureq::Agent, base: &str, user: u64) -> Result<Option<List>> {
    let url = format!("{base}/v1/recommend/{user}?n={LIST_LENGTH}");
    match agent.get(&url).call() {
        Ok(response) => {
            let text = response.into_string().with_context(|| format!("reading the edge's answer to {url}"))?;
            let list =
                serde_json::from_str(&text).with_context(|| format!("the edge's answer to {url} is not a list"))?;
            Ok(Some(list))
        }
        Err(ureq::Error::Status(..)) => Ok(None),
        Err(error) => Err(anyhow::anyhow!("cannot reach the edge at {base}: {error}")),
    }
}

/// Event lines waiting to be posted.
#[derive(Default)]
struct Batch {
    body: String,
    lines: usize,
}

impl Batch {
    fn add(&mut self, agent: &ureq::Agent, base: &str, outcome: &Outcome, report: &mut Report) -> Result<()> {
        for line in &outcome.lines {
            if self.lines + 1 > BATCH_LINES || self.body.len() + line.len() + 1 > BATCH_BYTES {
                self.flush(agent, base, report)?;
            }
            self.body.push_str(line);
            self.body.push('\n');
            self.lines += 1;
        }
        Ok(())
    }

    /// Posts the waiting lines and counts what the edge stored. The edge logs a list just
    /// after answering it, so events that name a list it has not logged yet are posted once
    /// more after a short wait before they count as rejected.
    fn flush(&mut self, agent: &ureq::Agent, base: &str, report: &mut Report) -> Result<()> {
        if self.lines == 0 {
            return Ok(());
        }
        report.events_sent += self.lines as u64;
        let mut body = std::mem::take(&mut self.body);
        self.lines = 0;
        for attempt in 0..2 {
            let ingested = post_events(agent, base, &body)?;
            report.events_stored += ingested.stored;
            report.events_duplicate += ingested.duplicates;
            let lines: Vec<&str> = body.lines().collect();
            let (early, refused): (Vec<_>, Vec<_>) = ingested.rejected.iter().partition(|entry| {
                entry["error"].as_str().is_some_and(|error| error.contains("names no list the edge has logged"))
            });
            let mut refused = refused;
            if attempt == 1 || early.is_empty() {
                refused.extend(early);
                report.events_rejected += refused.len() as u64;
                if let Some(first) = refused.first() {
                    eprintln!("warning: the edge refused {} event lines, e.g. {first}", refused.len());
                }
                break;
            }
            report.events_rejected += refused.len() as u64;
            let again: Vec<&str> = early
                .iter()
                .filter_map(|entry| entry["line"].as_u64().and_then(|line| lines.get(line as usize - 1)).copied())
                .collect();
            body = again.join("\n");
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(())
    }
}

/// Posts event lines; the edge's answer says what it stored and which lines it refused.
fn post_events(agent: &ureq::Agent, base: &str, body: &str) -> Result<Ingested> {
    let url = format!("{base}/v1/events");
    let answer = match agent.post(&url).set("content-type", "text/plain").send_string(body) {
        Ok(response) => response,
        // A 400 still says which lines were refused, when none was accepted.
        Err(ureq::Error::Status(400, response)) => response,
        Err(ureq::Error::Status(status, response)) => {
            let message = response.into_string().unwrap_or_default();
            anyhow::bail!("the edge answered {status} to POST /v1/events: {message}")
        }
        Err(error) => return Err(anyhow::anyhow!("cannot post events to {base}: {error}")),
    };
    let text = answer.into_string().context("reading the edge's answer to POST /v1/events")?;
    serde_json::from_str(&text).context("the edge's answer to POST /v1/events")
}

/// Refuses any edge that is not on this machine: the simulation is fake traffic.
fn check_loopback(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .with_context(|| format!("--edge must be an http:// or https:// URL, not {url:?}"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback());
    anyhow::ensure!(
        loopback,
        "--edge must be a loopback address (localhost, 127.0.0.1 or [::1]), not {host:?}: marquee simulate \
         floods the service with fake traffic, so it only runs against a local edge"
    );
    Ok(())
}

fn print_text(report: &Report) {
    let s = &report.summary;
    println!(
        "simulated {} visits against {} ({} policy, seed {}) in {:.1}s",
        s.visits,
        report.edge,
        match report.policy {
            Policy::Served => "served",
            Policy::Oracle => "oracle",
        },
        report.seed,
        report.seconds
    );
    println!("  lists served      {} ({} failed requests)", s.lists, report.failed_requests);
    println!("  clicked lists     {}", s.clicked_lists);
    println!("  click rate        {:.4}", s.click_rate);
    println!("  MRR               {:.4}", s.mrr);
    println!("  watch minutes     {}", s.watch_minutes);
    println!("  ratings           {}", s.ratings);
    println!(
        "  events            {} sent, {} stored, {} duplicates, {} rejected ({} clicked visits with the id, {} without)",
        report.events_sent,
        report.events_stored,
        report.events_duplicate,
        report.events_rejected,
        s.reported_with_id,
        s.reported_without_id
    );
    let m = &report.click_model;
    println!(
        "  click model       P(examine rank r) = 1/r^{}, P(click | examined) = sigmoid({} * (utility - {}))",
        m.eta, m.scale, m.threshold
    );
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn only_loopback_edges_are_accepted() {
        for good in [
            "http://127.0.0.1:8787",
            "http://localhost:8787/",
            "http://LOCALHOST",
            "https://127.0.0.2/x",
            "http://[::1]:8787",
            "http://user@127.0.0.1:1",
        ] {
            assert!(check_loopback(good).is_ok(), "{good}");
        }
        for bad in [
            "http://example.com",
            "https://marquee.workers.dev",
            "http://10.0.0.1:8787",
            "http://127.0.0.1.example.com",
            "http://localhost.evil.com",
            "http://example.com@evil.com",
            "127.0.0.1:8787",
            "ftp://127.0.0.1",
            "http://[::2]:1",
        ] {
            let error = check_loopback(bad).expect_err(bad).to_string();
            assert!(error.contains("loopback") || error.contains("http://"), "{error}");
        }
    }
}
