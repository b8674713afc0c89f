//! The movie service's stream events, borrowed from the line they were parsed from.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user id as the movie service numbers them: a whole number from 0 to [`MAX_USER_ID`].
pub type UserId = u64;

/// The largest user id Marquee accepts anywhere: 2^53 − 1, the largest integer that a
/// JavaScript number (the Worker's D1 binding, the admin UI, JSON clients) holds exactly.
/// It also fits SQLite's signed 64-bit `INTEGER`, so every store and log keeps ids exactly.
pub const MAX_USER_ID: UserId = (1 << 53) - 1;

/// Why a user id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// Not a plain decimal number.
    #[error("{0:?} is not a user id: expected a non-negative integer")]
    Malformed(String),
    /// A number above [`MAX_USER_ID`].
    #[error("user id {0} is out of range: the largest is {MAX_USER_ID}")]
    OutOfRange(String),
}

/// Parses a user id: ASCII digits only (no sign, no spaces), at most [`MAX_USER_ID`].
pub fn parse_user_id(text: &str) -> Result<UserId, UserIdError> {
    let shown = || text.chars().take(40).collect::<String>();
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(UserIdError::Malformed(shown()));
    }
    // Leading zeros are fine; anything longer than u64's digits is out of range anyway.
    let value = text.bytes().try_fold(0u64, |value, digit| value.checked_mul(10)?.checked_add(u64::from(digit - b'0')));
    value.and_then(|id| check_user_id(id).ok()).ok_or_else(|| UserIdError::OutOfRange(shown()))
}

/// Checks that a numeric user id is within [`MAX_USER_ID`].
pub fn check_user_id(id: u64) -> Result<UserId, UserIdError> {
    if id <= MAX_USER_ID {
        Ok(id)
    } else {
        Err(UserIdError::OutOfRange(id.to_string()))
    }
}

/// Wall-clock time in UTC, as nanoseconds since the Unix epoch (fits an `i64` until 2262).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// The years an event's time may fall in: 1900 to 2099. A time outside is an error in the
/// data (a stream line dated 9999 would overflow nanoseconds since 1970, which fit an `i64`
/// only until 2262), so every parser refuses it here, once, and no later arithmetic on a
/// time can overflow.
pub const EVENT_YEARS: std::ops::RangeInclusive<i64> = 1900..=2099;

/// 2100-01-01T00:00:00Z in milliseconds since the Unix epoch: the first instant after
/// [`EVENT_YEARS`], for readers of millisecond times (the edge's JSON events).
pub const EVENT_TIME_END_MS: i64 = 4_102_444_800_000;

impl Timestamp {
    /// The instant `seconds` after the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds.saturating_mul(NANOS_PER_SECOND))
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SECOND)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS` with an optional fraction of 1 to 9 digits, as the stream
    /// writes it (`2019-09-05T19:27:01`, `2023-03-20T08:12:38.176557`,
    /// `2025-10-17T01:33:45.122692921`). A trailing `Z` is accepted. Returns `None` for
    /// anything else, including impossible dates such as February 30th and years outside
    /// [`EVENT_YEARS`].
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let b = b.strip_suffix(b"Z").unwrap_or(b);
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let year = digits(&b[0..4])? as i64;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        let hour = digits(&b[11..13])? as i64;
        let minute = digits(&b[14..16])? as i64;
        let second = digits(&b[17..19])? as i64;
        if !EVENT_YEARS.contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let nanos = match &b[19..] {
            [] => 0,
            [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
                digits(fraction)? as i64 * 10i64.pow(9 - fraction.len() as u32)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
        Some(Timestamp(seconds * NANOS_PER_SECOND + nanos))
    }
}

/// Writes the stream's format: no fraction when there is none, microseconds when the
/// nanoseconds are a whole number of them, nanoseconds otherwise; so parse(format(t)) == t.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.div_euclid(NANOS_PER_SECOND);
        let nanos = self.0.rem_euclid(NANOS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let in_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", in_day / 3600, in_day % 3600 / 60, in_day % 60)?;
        if nanos == 0 {
            Ok(())
        } else if nanos % 1000 == 0 {
            write!(f, ".{:06}", nanos / 1000)
        } else {
            write!(f, ".{nanos:09}")
        }
    }
}

/// Parses a run of ASCII digits (at most 9, so it cannot overflow).
fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The star scale of `GET /rate/<movie>=<rating>` lines: 1 to `max` stars.
/// The original service used 5; newer streams use 10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingScale {
    max: u8,
}

impl RatingScale {
    /// One to five stars, the original service's scale.
    pub const FIVE: RatingScale = RatingScale { max: 5 };
    /// One to ten stars, the newer streams' scale.
    pub const TEN: RatingScale = RatingScale { max: 10 };

    /// A scale from 1 to `max` stars; `max` must be at least 2.
    pub fn new(max: u8) -> Option<Self> {
        (max >= 2).then_some(RatingScale { max })
    }

    /// The highest rating on this scale.
    pub fn max(self) -> u8 {
        self.max
    }

    /// Converts a rating on this scale to Marquee's common five-star scale.
    pub fn to_five_stars(self, rating: u8) -> f32 {
        f32::from(rating) * 5.0 / f32::from(self.max)
    }
}

impl Default for RatingScale {
    fn default() -> Self {
        RatingScale::FIVE
    }
}

/// One line of the movie service's stream, borrowing its text from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// `<time>,<user>,recommendation request <server>, status <code>, result: <ids>, <n> ms`
    Recommendation {
        time: Timestamp,
        user: UserId,
        /// The host (and port) that served the request.
        server: &'a str,
        /// The HTTP status the service answered with.
        status: u16,
        /// The result as written: comma-separated movie ids when the status is 200,
        /// otherwise whatever error text the service logged.
        result: &'a str,
        /// The response time in milliseconds.
        latency_ms: u32,
    },
    /// `<time>,<user>,GET /data/m/<movie>/<minute>.mpg`: one minute of a movie watched.
    Watch { time: Timestamp, user: UserId, movie: &'a str, minute: u32 },
    /// `<time>,<user>,GET /rate/<movie>=<rating>`, the rating on the stream's scale.
    Rate { time: Timestamp, user: UserId, movie: &'a str, rating: u8 },
    /// `<time>,<user>,GET /create_account`
    CreateAccount { time: Timestamp, user: UserId },
}

impl<'a> StreamEvent<'a> {
    /// When the event happened.
    pub fn time(&self) -> Timestamp {
        match *self {
            StreamEvent::Recommendation { time, .. }
            | StreamEvent::Watch { time, .. }
            | StreamEvent::Rate { time, .. }
            | StreamEvent::CreateAccount { time, .. } => time,
        }
    }

    /// Whose event it is.
    pub fn user(&self) -> UserId {
        match *self {
            StreamEvent::Recommendation { user, .. }
            | StreamEvent::Watch { user, .. }
            | StreamEvent::Rate { user, .. }
            | StreamEvent::CreateAccount { user, .. } => user,
        }
    }

    /// The recommended movie ids of a successful recommendation; empty for anything else.
    pub fn result_ids(&self) -> impl Iterator<Item = &'a str> {
        let result = match *self {
            StreamEvent::Recommendation { status: 200, result, .. } => result,
            _ => "",
        };
        result.split(',').map(str::trim).filter(|id| !id.is_empty())
    }
}

/// Writes the exact line format the stream uses (without the newline).
impl fmt::Display for StreamEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamEvent::Recommendation { time, user, server, status, result, latency_ms } => write!(
                f,
                "{time},{user},recommendation request {server}, status {status}, result: {result}, {latency_ms} ms"
            ),
            StreamEvent::Watch { time, user, movie, minute } => {
                write!(f, "{time},{user},GET /data/m/{movie}/{minute}.mpg")
            }
            StreamEvent::Rate { time, user, movie, rating } => write!(f, "{time},{user},GET /rate/{movie}={rating}"),
            StreamEvent::CreateAccount { time, user } => write!(f, "{time},{user},GET /create_account"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_timestamp_precision_the_stream_uses() {
        let plain = Timestamp::parse("2019-09-05T19:27:01").unwrap();
        assert_eq!(plain.unix_seconds(), 1_567_711_621);
        let micros = Timestamp::parse("2023-03-20T08:12:38.176557").unwrap();
        assert_eq!(micros.0 % NANOS_PER_SECOND, 176_557_000);
        let nanos = Timestamp::parse("2025-10-17T01:33:45.122692921").unwrap();
        assert_eq!(nanos.0 % NANOS_PER_SECOND, 122_692_921);
        assert_eq!(Timestamp::parse("2019-09-05T19:27:01Z"), Some(plain));
    }

    #[test]
    fn rejects_malformed_and_impossible_timestamps() {
        for bad in [
            "",
            "2019-09-05",
            "2019-09-05 19:27:01",
            "2019-02-30T00:00:00",
            "2019-13-01T00:00:00",
            "2019-09-05T24:00:00",
            "2019-09-05T19:27:01.",
            "2019-09-05T19:27:01.1234567890",
            "2019-09-05T19:27:0x",
            "２019-09-05T19:27:01",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad:?}");
        }
        assert!(Timestamp::parse("2020-02-29T00:00:00").is_some());
        assert!(Timestamp::parse("2019-02-29T00:00:00").is_none());
    }

    #[test]
    fn times_outside_the_event_years_are_refused_not_wrapped() {
        // 9999 would overflow nanoseconds since 1970 (a wrapped negative time in release, a
        // panic in debug); it is refused, as is anything before 1900 or from 2100 on.
        for far in ["9999-12-31T23:59:59", "2262-04-12T00:00:00", "2100-01-01T00:00:00", "1899-12-31T23:59:59"] {
            assert_eq!(Timestamp::parse(far), None, "{far}");
        }
        let first = Timestamp::parse("1900-01-01T00:00:00").unwrap();
        let last = Timestamp::parse("2099-12-31T23:59:59.999999999").unwrap();
        assert!(first.0 < 0 && first < last);
        assert_eq!(last.0 / 1_000_000 + 1, EVENT_TIME_END_MS);
        let line = "9999-01-01T00:00:00,1,GET /data/m/heat+1995/7.mpg";
        assert!(crate::stream::parse_line(line, RatingScale::FIVE).is_err(), "a malformed line, not a panic");
    }

    #[test]
    fn formatting_round_trips_every_precision() {
        for text in [
            "2019-09-05T19:27:01",
            "2023-03-20T08:12:38.176557",
            "2025-10-17T01:33:45.122692921",
            "1969-12-31T23:59:59",
        ] {
            assert_eq!(Timestamp::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rating_scales_convert_to_five_stars() {
        assert_eq!(RatingScale::TEN.to_five_stars(7), 3.5);
        assert_eq!(RatingScale::FIVE.to_five_stars(4), 4.0);
        assert_eq!(RatingScale::new(1), None);
    }
}
