//! The edge's click log: one row per list the edge served (an impression) and per event it
//! received (a watch, a rating, a click). The Worker writes these rows to D1's `log` table
//! and pages them out at `GET /v1/admin/log`; `marquee pull-events` reads the pages into the
//! store's `edge_log` table. [`EdgeRow`] is the one definition of a row: a test checks both
//! tables against it column for column.
//!
//! This module does no I/O and builds for wasm32, so the Worker uses it as is.

use serde::{Deserialize, Serialize};

use crate::events::UserId;

/// What a log row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A list of movies served to a user (`value` holds the comma-separated ids).
    Impression,
    /// A minute of a movie watched (`value` holds the minute).
    Watch,
    /// A rating (`value` holds the stars).
    Rate,
    /// A click on a served list (`ref` holds the list's recommendation id).
    Click,
}

impl EdgeKind {
    /// Every kind, in the order the log's `CHECK` constraint lists them.
    pub const ALL: [EdgeKind; 4] = [EdgeKind::Impression, EdgeKind::Watch, EdgeKind::Rate, EdgeKind::Click];

    /// The kind's name in the log's `kind` column and in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Impression => "impression",
            EdgeKind::Watch => "watch",
            EdgeKind::Rate => "rate",
            EdgeKind::Click => "click",
        }
    }
}

/// One row of the edge's log. Field names are the tables' column names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeRow {
    /// The log's sequence number, the cursor `pull-events` resumes from. The log assigns it
    /// when the row is stored; a row not yet stored carries 0.
    pub seq: i64,
    /// Unique per row: the recommendation id of an impression, the event's id otherwise.
    /// Storing a row whose id the log already has changes nothing, so retries are safe.
    pub id: String,
    /// What the row records.
    pub kind: EdgeKind,
    /// When it happened, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The user it concerns (at most [`crate::MAX_USER_ID`], so every table holds it exactly).
    pub user_id: UserId,
    /// The movie of a watch, rating or click.
    pub movie_id: Option<String>,
    /// The kind's payload: an impression's ids, a watch's minute, a rating's stars.
    pub value: Option<String>,
    /// The A/B variant an impression was served under.
    pub variant: Option<String>,
    /// The model version that served an impression.
    pub version: Option<String>,
    /// The recommendation id a click refers to.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// How long the edge took to serve an impression, in microseconds.
    pub latency_us: Option<i64>,
    /// An interleaved impression's teams, one letter (`A` or `B`) per position: which of the
    /// experiment's two variants contributed each movie ([`crate::interleave`]).
    #[serde(default)]
    pub teams: Option<String>,
}

/// The log's columns, as [`EdgeRow`] names them.
pub const EDGE_LOG_COLUMNS: [&str; 12] = [
    "seq",
    "id",
    "kind",
    "time_ms",
    "user_id",
    "movie_id",
    "value",
    "variant",
    "version",
    "ref",
    "latency_us",
    "teams",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_json_with_the_column_names() {
        let row = EdgeRow {
            seq: 7,
            id: "r1".into(),
            kind: EdgeKind::Click,
            time_ms: 1_700_000_000_000,
            user_id: crate::MAX_USER_ID,
            movie_id: Some("heat+1995".into()),
            value: None,
            variant: None,
            version: None,
            reference: Some("r0".into()),
            latency_us: None,
            teams: None,
        };
        let json = serde_json::to_value(&row).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut columns = EDGE_LOG_COLUMNS.to_vec();
        keys.sort_unstable();
        columns.sort_unstable();
        assert_eq!(keys, columns);
        assert_eq!(json["kind"], "click");
        assert_eq!(serde_json::from_value::<EdgeRow>(json).unwrap(), row);
        for kind in EdgeKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
