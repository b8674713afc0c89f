-- Marquee's edge state in D1. Applied by `wrangler d1 migrations apply DB --local` (and
-- by the tests and `cargo xtask demo` the same way).

-- Small mutable settings: the active model version, the previous one, the experiment.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every model version uploaded (the blobs themselves are in R2).
CREATE TABLE model_versions (
    version          TEXT PRIMARY KEY,
    uploaded_ms      INTEGER NOT NULL,
    recommender_size INTEGER NOT NULL,
    shard_count      INTEGER NOT NULL,
    movies           INTEGER NOT NULL
);

-- The click log: impressions (every list served) and events (watch, rate, click), one
-- sequence so that a puller resumes from one cursor. `id` makes retried writes no-ops.
CREATE TABLE log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('impression', 'watch', 'rate', 'click')),
    time_ms    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    movie_id   TEXT,
    -- impression: the comma-separated list; rate: the stars; watch: the minute.
    value      TEXT,
    -- impression: its variant and model version; click: the recommendation id clicked.
    variant    TEXT,
    version    TEXT,
    ref        TEXT,
    latency_us INTEGER
);
CREATE INDEX log_kind_variant ON log (kind, variant);
CREATE INDEX log_ref ON log (ref) WHERE ref IS NOT NULL;

-- Request counters and the latency histogram, so that /metrics survives isolates.
CREATE TABLE request_counts (
    route  TEXT NOT NULL,
    status INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (route, status)
);
CREATE TABLE latency_buckets (
    route  TEXT NOT NULL,
    le     TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (route, le)
);
CREATE TABLE latency_sums (
    route   TEXT PRIMARY KEY,
    sum_us  INTEGER NOT NULL,
    count   INTEGER NOT NULL
);
