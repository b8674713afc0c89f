-- Operations: counts /metrics reads in a few rows whatever the log's size, and the latest
-- health reports (drift, fairness) the trainer publishes for alerting.

-- Lists served and clicks on them per A/B variant ('' for none), kept by triggers as log
-- rows are stored: a trigger fires only for a row actually inserted, so an ignored retry
-- (INSERT OR IGNORE on a known id) counts nothing, and the counts equal the log's.
CREATE TABLE variant_counts (
    variant     TEXT PRIMARY KEY,
    impressions INTEGER NOT NULL DEFAULT 0,
    clicks      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO variant_counts (variant, impressions)
    SELECT coalesce(variant, ''), count(*) FROM log WHERE kind = 'impression' GROUP BY 1;
UPDATE variant_counts SET clicks = (
    SELECT count(*) FROM log c JOIN log i ON i.id = c.ref
    WHERE c.kind = 'click' AND i.kind = 'impression' AND coalesce(i.variant, '') = variant_counts.variant
);
CREATE TRIGGER count_impression AFTER INSERT ON log WHEN NEW.kind = 'impression'
BEGIN
    INSERT INTO variant_counts (variant, impressions) VALUES (coalesce(NEW.variant, ''), 1)
        ON CONFLICT (variant) DO UPDATE SET impressions = impressions + 1;
END;
CREATE TRIGGER count_click AFTER INSERT ON log WHEN NEW.kind = 'click' AND NEW.ref IS NOT NULL
BEGIN
    INSERT INTO variant_counts (variant, clicks)
        SELECT coalesce(variant, ''), 1 FROM log WHERE id = NEW.ref AND kind = 'impression'
        ON CONFLICT (variant) DO UPDATE SET clicks = clicks + 1;
END;

-- Recommendation answers that served a fallback, by route and reason (the
-- x-marquee-fallback header's value).
CREATE TABLE fallback_counts (
    route  TEXT NOT NULL,
    reason TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (route, reason)
);

-- Model versions that failed to load, by reason (missing, corrupt, storage).
CREATE TABLE model_load_failures (
    reason TEXT PRIMARY KEY,
    count  INTEGER NOT NULL
);

-- The latest report of each kind ('drift', 'fairness') as the CLI published it (JSON).
CREATE TABLE monitor_reports (
    kind      TEXT PRIMARY KEY,
    body      TEXT NOT NULL,
    stored_ms INTEGER NOT NULL
);
