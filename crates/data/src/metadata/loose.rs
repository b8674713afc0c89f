//! `deserialize_with` helpers for the metadata API's loose JSON: numbers written as strings,
//! `142.0` for `142`, titles that are numbers, and `null`, `""` or `"null"` for unknown.
//!
//! None of them fails: a value that cannot be read is `None`, because a bad optional field
//! should not cost the record. Use them on fields of a `#[serde(default)]` struct, so that an
//! absent field is `None` too.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::records::Gender;

/// Any value but the API's ways of writing "unknown": `null`, blank text or the text `"null"`.
/// A required field (an id) uses it to tell absent from present-but-unreadable.
pub(super) fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(is_known(&value).then_some(value))
}

/// Text, trimmed, or a number's text (a title may be `1917`); anything else is `None`.
pub(super) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(present(deserializer)?.as_ref().and_then(text_of))
}

/// A gender written as text (`M`, `female`, ...), read by [`Gender::parse`]; anything that is
/// not text is `None`.
pub(super) fn gender<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Gender>, D::Error> {
    Ok(present(deserializer)?.as_ref().and_then(Value::as_str).and_then(Gender::parse))
}

/// A non-negative integer that fits `T`, written as a number or as text, `142.0` counting as
/// `142` (see [`whole_number_of`]); anything else is `None`.
pub(super) fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    Ok(present(deserializer)?.as_ref().and_then(whole_number_of).and_then(|number| T::try_from(number).ok()))
}

/// A finite number, written as a number or as text; anything else is `None`.
pub(super) fn finite_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(present(deserializer)?.as_ref().and_then(finite_number_of))
}

/// Genre names from `[{"id": 18, "name": "Drama"}]`, a list of names, or `"Drama|Crime"`
/// (or `"Drama,Crime"`); blank names are dropped and anything else is no genres.
pub(super) fn genre_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let mut names: Vec<String> = match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(genre) => genre.get("name").filter(|name| is_known(name)).and_then(text_of),
                Value::String(name) => Some(name.trim().to_owned()),
                _ => None,
            })
            .collect(),
        Value::String(joined) => joined.split(['|', ',']).map(|name| name.trim().to_owned()).collect(),
        _ => Vec::new(),
    };
    names.retain(|name| !name.is_empty());
    Ok(names)
}

/// A non-negative integer, written as a number or as text; `142.0` counts as `142`.
pub(super) fn whole_number_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| number.as_f64().and_then(whole)),
        Value::String(text) => {
            let text = text.trim();
            text.parse().ok().or_else(|| text.parse().ok().and_then(whole))
        }
        _ => None,
    }
}

/// False for `null`, blank text and the text `"null"`, which the API writes for "unknown".
fn is_known(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !(text.trim().is_empty() || text.trim().eq_ignore_ascii_case("null")),
        _ => true,
    }
}

/// Text, trimmed, or a number's text.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A float that is a whole, non-negative number within `u64`'s exact range.
fn whole(value: f64) -> Option<u64> {
    // 2^53: beyond it floats skip integers, so the conversion would not be exact.
    let exact = (0.0..=9_007_199_254_740_992.0).contains(&value) && value.fract() == 0.0;
    exact.then_some(value as u64)
}

/// A finite number, written as a number or as text.
fn finite_number_of(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    number.filter(|number| number.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// One field of each kind, read with the helpers as the metadata structs use them.
    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Fields {
        #[serde(deserialize_with = "present")]
        id: Option<Value>,
        #[serde(deserialize_with = "text")]
        title: Option<String>,
        #[serde(deserialize_with = "gender")]
        gender: Option<Gender>,
        #[serde(deserialize_with = "whole_number")]
        count: Option<u64>,
        #[serde(deserialize_with = "whole_number")]
        small: Option<u8>,
        #[serde(deserialize_with = "finite_number")]
        score: Option<f64>,
        #[serde(deserialize_with = "genre_names")]
        genres: Vec<String>,
    }

    fn fields(value: Value) -> Fields {
        Fields::deserialize(&value).unwrap()
    }

    #[test]
    fn unknown_values_and_absent_fields_are_none() {
        assert_eq!(fields(json!({})), Fields::default());
        for unknown in [json!(null), json!(""), json!("  "), json!("null"), json!("NULL")] {
            let read = fields(json!({"id": unknown, "title": unknown, "count": unknown, "score": unknown}));
            assert_eq!(read, Fields::default(), "{unknown}");
        }
    }

    #[test]
    fn numbers_may_be_text_and_whole_floats_count() {
        let read = fields(json!({"count": "142", "small": 142.0, "score": " 7.5 "}));
        assert_eq!((read.count, read.small, read.score), (Some(142), Some(142), Some(7.5)));
        assert_eq!(fields(json!({"count": "12.0"})).count, Some(12));
        assert_eq!(fields(json!({"count": 9_007_199_254_740_992.0_f64})).count, Some(1 << 53));
        assert_eq!(fields(json!({"count": 18_014_398_509_481_984.0_f64})).count, None, "beyond 2^53 is inexact");
        assert_eq!(fields(json!({"count": u64::MAX})).count, Some(u64::MAX), "an integer is exact at any size");
    }

    #[test]
    fn unreadable_values_are_none_not_errors() {
        let read = fields(json!({
            "title": ["x"], "gender": 1, "count": -4, "small": 300, "score": "abc", "genres": 5
        }));
        assert_eq!(read, Fields::default());
        assert_eq!(fields(json!({"count": 1.5})).count, None);
        assert_eq!(fields(json!({"score": "inf"})).score, None);
    }

    #[test]
    fn text_is_trimmed_and_may_be_a_number() {
        assert_eq!(fields(json!({"title": " Heat "})).title.as_deref(), Some("Heat"));
        assert_eq!(fields(json!({"title": 1917})).title.as_deref(), Some("1917"));
        assert_eq!(fields(json!({"gender": " f "})).gender, Some(Gender::Female));
        assert_eq!(fields(json!({"id": ["x"]})).id, Some(json!(["x"])), "an id is kept as written");
    }

    #[test]
    fn genres_come_as_objects_names_or_joined_text() {
        let objects = json!({"genres": [{"id": 18, "name": "Drama"}, {"id": 80, "name": " Crime "}, {"id": 1}]});
        assert_eq!(fields(objects).genres, ["Drama", "Crime"]);
        assert_eq!(fields(json!({"genres": ["Drama", " ", 7, "Crime"]})).genres, ["Drama", "Crime"]);
        assert_eq!(fields(json!({"genres": "Drama| Crime,,War"})).genres, ["Drama", "Crime", "War"]);
        assert_eq!(fields(json!({"genres": null})).genres, Vec::<String>::new());
    }
}
