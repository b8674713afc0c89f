//! Event identity: when two events sent to the edge are the same event.
//!
//! The edge's log stores each id once, so an event's id decides what a retry does. Ids live
//! in three namespaces that cannot meet:
//! - impressions are the edge's recommendation ids (`r…`, never containing `:`);
//! - an event that carries a client id is `c:<user>:<client id>`: a client names its own
//!   events, per user, and can never name (and so suppress) an impression or another
//!   user's event;
//! - any other event is `e:<user>:<hash>`, the hash taken over the canonical event — its
//!   kind, user, movie, time, payload and the list it names — not over the text it came
//!   in. So a retry re-serialised with other key order, or sent as a stream line instead
//!   of JSON, is the same event, while the same kind of watch sent again at another time
//!   is a new one.
//!
//! The user id is spelt out in both event forms, so a 64-bit hash only has to tell apart
//! one user's events (a few thousand), not the whole log's.

use marquee_model::hash::Fnv64;

use crate::edge_log::EdgeRow;
use crate::events::UserId;

/// What every client-named event id starts with.
pub const CLIENT_ID_PREFIX: &str = "c:";
/// What every derived event id starts with.
pub const DERIVED_ID_PREFIX: &str = "e:";
/// The longest client id accepted, in bytes.
pub const MAX_CLIENT_ID_BYTES: usize = 100;

/// The log id of an event its client named `client_id`; `None` when the id is empty or
/// longer than [`MAX_CLIENT_ID_BYTES`].
pub fn client_event_id(user_id: UserId, client_id: &str) -> Option<String> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_BYTES {
        return None;
    }
    Some(format!("{CLIENT_ID_PREFIX}{user_id}:{client_id}"))
}

/// The log id of an event its client did not name, from the canonical event in `row`
/// (its `id`, `seq` and the impression-only columns are not part of it).
pub fn derived_event_id(row: &EdgeRow) -> String {
    let mut hash = Fnv64::new();
    hash.write(row.kind.as_str().as_bytes());
    hash.write_u64(row.user_id);
    hash.write_u64(row.time_ms as u64);
    // Each text field is written with its length (or a marker for none), so that no two
    // different events run together into the same bytes ("ab","c" against "a","bc").
    for field in [&row.movie_id, &row.value, &row.reference] {
        match field {
            Some(text) => {
                hash.write_u64(text.len() as u64);
                hash.write(text.as_bytes());
            }
            None => hash.write_u64(u64::MAX),
        }
    }
    format!("{DERIVED_ID_PREFIX}{}:{:016x}", row.user_id, hash.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge_log::EdgeKind;

    fn watch(time_ms: i64, movie: &str, minute: &str) -> EdgeRow {
        EdgeRow {
            seq: 0,
            id: String::new(),
            kind: EdgeKind::Watch,
            time_ms,
            user_id: 7,
            movie_id: Some(movie.into()),
            value: Some(minute.into()),
            variant: None,
            version: None,
            reference: None,
            latency_us: None,
            teams: None,
        }
    }

    #[test]
    fn the_same_event_has_one_id_and_any_difference_gives_another() {
        let event = watch(1_000, "heat+1995", "3");
        let id = derived_event_id(&event);
        assert!(id.starts_with("e:7:"), "{id}");
        // Its log id and sequence number are not part of what the event is.
        assert_eq!(derived_event_id(&EdgeRow { seq: 9, id: "x".into(), ..event.clone() }), id);
        let others = [
            watch(1_001, "heat+1995", "3"),
            watch(1_000, "heat+1995", "4"),
            watch(1_000, "heat+1996", "3"),
            // Field boundaries count: the same bytes split differently are another event.
            watch(1_000, "heat+19953", ""),
            EdgeRow { user_id: 8, ..event.clone() },
            EdgeRow { kind: EdgeKind::Rate, ..event.clone() },
            EdgeRow { reference: Some("r1".into()), ..event.clone() },
            EdgeRow { value: None, ..event.clone() },
        ];
        for other in others {
            assert_ne!(derived_event_id(&other), id, "{other:?}");
        }
    }

    #[test]
    fn client_ids_are_per_user_and_bounded() {
        assert_eq!(client_event_id(7, "a-1").as_deref(), Some("c:7:a-1"));
        assert_ne!(client_event_id(7, "a-1"), client_event_id(8, "a-1"));
        assert_eq!(client_event_id(7, ""), None);
        assert_eq!(client_event_id(7, &"x".repeat(MAX_CLIENT_ID_BYTES + 1)), None);
        assert!(client_event_id(7, &"x".repeat(MAX_CLIENT_ID_BYTES)).is_some());
    }
}
