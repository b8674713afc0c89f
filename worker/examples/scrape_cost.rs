//! What one `/metrics` scrape costs as the log grows, against what the old scrape (counting
//! impressions and self-joining clicks over the whole log) cost on the same data.
//!
//! `cargo run --release -p marquee-worker --example scrape_cost -- [ROWS]` (default
//! 10,000,000). The log is filled in an in-memory SQLite with the Worker's migrations (D1 is
//! SQLite; this times the same statements natively, without D1's network round trips). One
//! thread. "Scrape" times `App::handle` for `GET /metrics` (every query it runs and the
//! rendering) plus running its deferred writes; "old queries" times the two log queries the
//! scrape used to run, alone. Each is the median of several runs.

#[path = "../tests/support/memory_storage.rs"]
#[allow(dead_code)] // The tests' helpers this program does not need.
mod memory_storage;

use std::time::Instant;

use marquee_worker::app::storage::Storage;
use marquee_worker::{App, AppConfig, Request};
use memory_storage::{block_on, MemoryStorage};

/// The log queries `/metrics` ran before the counters were kept by triggers.
const OLD_QUERIES: [&str; 2] = [
    "SELECT variant, count(*) AS count FROM log WHERE kind = 'impression' GROUP BY variant",
    "SELECT i.variant AS variant, count(*) AS count FROM log c JOIN log i ON i.id = c.ref \
     WHERE c.kind = 'click' AND i.kind = 'impression' GROUP BY i.variant",
];

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let rows: u64 = std::env::args().nth(1).map_or(10_000_000, |text| text.parse().expect("ROWS is a number"));
    let storage = MemoryStorage::new();
    let started = Instant::now();
    // Nine impressions to one click, as an 11% click rate would log; the triggers keep the
    // counters as the rows go in, as they do at the edge.
    storage
        .raw()
        .execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             INSERT INTO log (id, kind, time_ms, user_id, movie_id, value, variant, ref) \
             SELECT 'r' || i, CASE WHEN i % 10 = 0 THEN 'click' ELSE 'impression' END, 1700000000000 + i, i % 50000, \
                    CASE WHEN i % 10 = 0 THEN 'm1' END, CASE WHEN i % 10 = 0 THEN NULL ELSE 'm1,m2,m3' END, \
                    CASE WHEN i % 10 = 0 THEN NULL WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END, \
                    CASE WHEN i % 10 = 0 THEN 'r' || (i - 1) END \
             FROM n"
        ))
        .expect("the log fills");
    println!("filled {rows} log rows in {:.1} s (one thread, triggers on)", started.elapsed().as_secs_f64());

    let app = App::new(AppConfig::default(), 1);
    let clock = || std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0);
    let mut scrape = Vec::new();
    let mut text = String::new();
    for _ in 0..21 {
        let started = Instant::now();
        let outcome = block_on(app.handle(&Request::get("/metrics"), &storage, &clock));
        block_on(storage.execute(&outcome.deferred)).expect("the scrape's writes land");
        scrape.push(started.elapsed().as_secs_f64() * 1000.0);
        text = outcome.response.body_text();
    }
    let mut old = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        for sql in OLD_QUERIES {
            let mut statement = storage.raw().prepare(sql).expect("the old query compiles");
            let counted: i64 = statement
                .query_map([], |row| row.get::<_, i64>(1))
                .expect("the old query runs")
                .map(|count| count.unwrap_or(0))
                .sum();
            assert!(counted > 0);
        }
        old.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let impressions = text.lines().find(|line| line.starts_with("marquee_impressions_total{variant=\"control\"}"));
    println!(
        "scrape (App::handle GET /metrics, its queries and writes): median {:.3} ms of 21",
        median_ms(scrape.clone())
    );
    println!(
        "old queries (impressions count + click self-join over the log): median {:.1} ms of 3",
        median_ms(old.clone())
    );
    println!("ratio old / scrape: {:.0}x, one thread each, same database", median_ms(old) / median_ms(scrape));
    println!("the scrape's own count: {}", impressions.unwrap_or("missing"));
}
