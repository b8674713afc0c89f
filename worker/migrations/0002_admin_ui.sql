-- What the admin UI reads: each version's identity and manifest, the shards uploaded, and
-- per-minute request windows for the dashboard's time series.

-- Identity from the recommender's header and catalog (16 lowercase hex digits each), its
-- blob format version, and the train manifest as uploaded (NULL until it is).
ALTER TABLE model_versions ADD COLUMN schema_hash TEXT;
ALTER TABLE model_versions ADD COLUMN catalog_fingerprint TEXT;
ALTER TABLE model_versions ADD COLUMN format_version INTEGER;
ALTER TABLE model_versions ADD COLUMN manifest TEXT;

-- Every profile shard stored, so that a listing counts uploads without listing R2.
CREATE TABLE model_shards (
    version  TEXT NOT NULL,
    shard    INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    profiles INTEGER NOT NULL,
    PRIMARY KEY (version, shard)
);

-- Requests per minute (floor(time_ms / 60000)) and route: errors are 5xx answers,
-- fallbacks are answers that carried x-marquee-fallback.
CREATE TABLE request_windows (
    minute    INTEGER NOT NULL,
    route     TEXT NOT NULL,
    requests  INTEGER NOT NULL,
    errors    INTEGER NOT NULL,
    fallbacks INTEGER NOT NULL,
    PRIMARY KEY (minute, route)
);

-- The latency histogram per minute and route, in the buckets of /metrics (not cumulative).
CREATE TABLE latency_windows (
    minute INTEGER NOT NULL,
    route  TEXT NOT NULL,
    le     TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (minute, route, le)
);

-- The dashboard's time ranges, a user's recent rows, and a movie's events.
CREATE INDEX log_kind_time ON log (kind, time_ms);
CREATE INDEX log_user_seq ON log (user_id, seq);
CREATE INDEX log_movie ON log (movie_id) WHERE movie_id IS NOT NULL;
