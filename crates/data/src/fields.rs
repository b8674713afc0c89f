//! The text field parsers every tabular format shares (user ids, ratings, Unix times, ages,
//! `Title (Year)` titles, dates, Latin-1 or UTF-8 lines, fixed field counts) and [`Skip`], the
//! reason one record was skipped. A leaf: the format modules use it, it uses none of them.

use crate::events::{parse_user_id, Timestamp, UserId, UserIdError};
use crate::records::Rating;

/// Why one record was skipped: a stable snake_case kind and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skip {
    /// The kind of fault, counted per kind in a [`ParseReport`](crate::ParseReport).
    pub(crate) kind: &'static str,
    /// What was wrong with this record, in words.
    pub(crate) reason: String,
}

impl Skip {
    /// A skip of the given kind, for the given reason.
    pub(crate) fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        Skip { kind, reason: reason.into() }
    }
}

/// Unix seconds beyond which a [`Timestamp`] (nanoseconds in an `i64`) would overflow.
const MAX_UNIX_SECONDS: i64 = i64::MAX / 1_000_000_000;

/// Builds a rating from its four text fields, checking each.
pub(crate) fn rating_from_fields(user: &str, movie: &str, rating: &str, time: &str) -> Result<Rating, Skip> {
    let user_id = user_id(user)?;
    let movie = movie.trim();
    if movie.is_empty() {
        return Err(Skip::new("missing_movie_id", "the movie id is empty"));
    }
    Ok(Rating { user_id, movie_id: movie.to_owned(), rating: rating_value(rating)?, time: unix_time(time)? })
}

/// A user id: a non-negative integer.
pub(crate) fn user_id(text: &str) -> Result<UserId, Skip> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Skip::new("missing_user_id", "the user id is empty"));
    }
    parse_user_id(text).map_err(|error| match error {
        UserIdError::Malformed(_) => {
            Skip::new("bad_user_id", format!("user id {text:?} is not a non-negative integer"))
        }
        out_of_range => Skip::new("bad_user_id", out_of_range.to_string()),
    })
}

/// A rating on the five-star scale: a number from 0.5 to 5.
pub(crate) fn rating_value(text: &str) -> Result<f32, Skip> {
    let text = text.trim();
    match text.parse::<f32>() {
        Ok(value) if (0.5..=5.0).contains(&value) => Ok(value),
        Ok(_) => Err(Skip::new("bad_rating", format!("rating {text} is outside 0.5 to 5"))),
        Err(_) => Err(Skip::new("bad_rating", format!("rating {text:?} is not a number"))),
    }
}

/// A time in whole Unix seconds; ratings predate neither 1970 nor the year 2262.
pub(crate) fn unix_time(text: &str) -> Result<Timestamp, Skip> {
    let text = text.trim();
    match text.parse::<i64>() {
        Ok(seconds) if (0..=MAX_UNIX_SECONDS).contains(&seconds) => Ok(Timestamp::from_unix_seconds(seconds)),
        Ok(_) => Err(Skip::new("bad_timestamp", format!("timestamp {text} is out of range"))),
        Err(_) => Err(Skip::new("bad_timestamp", format!("timestamp {text:?} is not whole Unix seconds"))),
    }
}

/// An optional age: empty is unknown, anything but a small integer is an error.
pub(crate) fn age_field(text: &str) -> Result<Option<u8>, Skip> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| Skip::new("bad_age", format!("age {text:?} is not an integer from 0 to 255")))
}

/// Optional text: empty is unknown.
pub(crate) fn text_field(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Splits `Title (1995)` into the title and the year; titles without a year are kept whole.
pub(crate) fn split_title_year(title: &str) -> (String, Option<u16>) {
    let title = title.trim();
    let parsed = title.strip_suffix(')').and_then(|rest| rest.rsplit_once('(')).and_then(|(name, year)| {
        let name = name.trim_end();
        let year_ok = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
        (year_ok && !name.is_empty()).then(|| (name, year.parse::<u16>().ok()))
    });
    match parsed {
        Some((name, year)) => (name.to_owned(), year),
        None => (title.to_owned(), None),
    }
}

/// The year of a `YYYY-MM-DD` date (or anything starting with four digits).
pub(crate) fn year_of_date(date: &str) -> Option<u16> {
    let year = date.trim().get(..4)?;
    if year.bytes().all(|b| b.is_ascii_digit()) {
        year.parse().ok().filter(|&year| year > 0)
    } else {
        None
    }
}

/// Decodes one line: UTF-8 when it is valid UTF-8, else Latin-1 (every byte is the code point
/// of the same number), so the Latin-1 files of 100K and 1M read as well as UTF-8 copies.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Exactly `N` fields, or a `wrong_field_count` skip.
pub(crate) fn split_fields<'a, const N: usize>(fields: impl Iterator<Item = &'a str>) -> Result<[&'a str; N], Skip> {
    let mut out = [""; N];
    let mut count = 0;
    let mut slots = out.iter_mut();
    for field in fields {
        if let Some(slot) = slots.next() {
            *slot = field;
        }
        count += 1;
    }
    if count == N {
        Ok(out)
    } else {
        Err(wrong_count(N, count))
    }
}

/// The skip of a line or row with `found` fields where `expected` were wanted.
pub(crate) fn wrong_count(expected: usize, found: usize) -> Skip {
    Skip::new("wrong_field_count", format!("expected {expected} fields, found {found}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_whole_numbers_up_to_the_shared_maximum() {
        assert_eq!(user_id(" 42 "), Ok(42));
        assert_eq!(user_id("9007199254740991"), Ok(crate::MAX_USER_ID));
        for (text, kind) in [
            ("", "missing_user_id"),
            ("-1", "bad_user_id"),
            ("4.5", "bad_user_id"),
            ("9007199254740992", "bad_user_id"),
        ] {
            assert_eq!(user_id(text).map_err(|skip| skip.kind), Err(kind), "{text:?}");
        }
    }
}
