-- Marquee's event store. Every table is keyed so that ingesting the same data twice
-- changes nothing (INSERT OR IGNORE / upserts that keep the newest value).
PRAGMA foreign_keys = OFF;

CREATE TABLE IF NOT EXISTS store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS users (
    user_id    INTEGER PRIMARY KEY,
    age        INTEGER,
    gender     TEXT,
    occupation TEXT,
    -- When the stream saw GET /create_account (nanoseconds since the epoch), if it did.
    created_at INTEGER
);

CREATE TABLE IF NOT EXISTS movies (
    movie_id          TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    genres            TEXT NOT NULL, -- names joined by '|'
    year              INTEGER,
    tmdb_id           INTEGER,
    imdb_id           TEXT,
    popularity        REAL,
    vote_average      REAL,
    vote_count        INTEGER,
    runtime           INTEGER,
    release_date      TEXT,
    original_language TEXT,
    budget            INTEGER,
    revenue           INTEGER
) WITHOUT ROWID;

-- One row per user and movie, derived from the one-line-per-minute stream. The bitmap of
-- minutes seen makes re-ingesting a minute a no-op.
CREATE TABLE IF NOT EXISTS watch_sessions (
    user_id         INTEGER NOT NULL,
    movie_id        TEXT NOT NULL,
    minutes_watched INTEGER NOT NULL,
    first_time      INTEGER NOT NULL,
    last_time       INTEGER NOT NULL,
    minute_bitmap   BLOB NOT NULL,
    PRIMARY KEY (user_id, movie_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS watch_sessions_by_movie ON watch_sessions (movie_id);
CREATE INDEX IF NOT EXISTS watch_sessions_by_time ON watch_sessions (first_time);

-- Every rating ever given; `ratings` keeps the latest per user and movie.
CREATE TABLE IF NOT EXISTS rating_history (
    user_id  INTEGER NOT NULL,
    movie_id TEXT NOT NULL,
    time     INTEGER NOT NULL,
    rating   REAL NOT NULL,
    PRIMARY KEY (user_id, movie_id, time)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ratings (
    user_id  INTEGER NOT NULL,
    movie_id TEXT NOT NULL,
    rating   REAL NOT NULL,
    time     INTEGER NOT NULL,
    PRIMARY KEY (user_id, movie_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ratings_by_movie ON ratings (movie_id);
CREATE INDEX IF NOT EXISTS ratings_by_time ON ratings (time);

CREATE TABLE IF NOT EXISTS recommendations (
    user_id    INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    server     TEXT NOT NULL,
    status     INTEGER NOT NULL,
    result     TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, time, server)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recommendations_by_time ON recommendations (time);

-- What the edge logged (impressions, watch/rate/click events), pulled by
-- `marquee pull-events`: keyed by the edge's id, so pulling a page twice changes nothing.
CREATE TABLE IF NOT EXISTS edge_log (
    id         TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    movie_id   TEXT,
    value      TEXT,
    variant    TEXT,
    version    TEXT,
    ref        TEXT,
    latency_us INTEGER,
    -- An interleaved impression's teams, one letter per position.
    teams      TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edge_log_ref ON edge_log (ref);
