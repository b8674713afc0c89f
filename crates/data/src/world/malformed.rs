//! The malformed lines a real stream carries, injected on purpose so that parsers and
//! their reports have real work.

use std::fmt::Write as _;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::World;
use crate::events::Timestamp;
use crate::stream::parse_line;

/// Injection attempts that look like ids.
const INJECTIONS: &[&str] = &[
    "GET /rate/1' OR '1'='1=5",
    "GET /data/m/';DROP+TABLE+ratings;--/0.mpg",
    "GET /rate/<script>alert(1)</script>=5",
    "GET /data/m/\"><img+src=x+onerror=alert(1)>/3.mpg",
    "GET /rate/1;DELETE+FROM+users=1",
];

/// Paths the service does not serve.
const UNKNOWN_PATHS: &[&str] = &[
    "GET /favicon.ico",
    "GET /admin/login.php",
    "POST /rate/x+2001=3",
    "GET /data/tv/x+2001/3.mpg",
    "GET /../../etc/passwd",
    "HEAD /",
];

/// Writes one malformed line about `user` at `time` into `line`, guaranteed not to parse.
pub(super) fn line(rng: &mut ChaCha8Rng, world: &World, time: i64, user: u32, line: &mut String) {
    let time = Timestamp(time);
    let user_id = world.users.get(user as usize).map_or(1, |u| u.user_id);
    let movie = &world.movies[rng.gen_range(0..world.movies.len())].movie_id;
    let max = world.config.rating_scale.max();
    line.clear();
    // Writing to a String cannot fail.
    let _ = match rng.gen_range(0..9) {
        0 => {
            // Truncated: a good line cut short.
            let whole = format!("{time},{user_id},GET /data/m/{movie}/{}.mpg", rng.gen_range(0..120));
            let cut = rng.gen_range(1..whole.len());
            write!(line, "{}", whole.get(..cut).unwrap_or(""))
        }
        1 => {
            // Garbage: random printable bytes.
            let length = rng.gen_range(1..60);
            for _ in 0..length {
                line.push(char::from(rng.gen_range(b'!'..=b'~')));
            }
            Ok(())
        }
        2 => {
            let bad = ["2024-13-45T25:61:00", "1704067200", "Mon Jan  1 10:00:00 2024", "2024/01/05 10:00:00", ""];
            write!(line, "{},{user_id},GET /create_account", bad[rng.gen_range(0..bad.len())])
        }
        3 => {
            let rating = match rng.gen_range(0..3) {
                0 => 0,
                1 => i32::from(max) + rng.gen_range(1..=5),
                _ => -1,
            };
            write!(line, "{time},{user_id},GET /rate/{movie}={rating}")
        }
        4 => write!(line, "{time},{user_id},{}", UNKNOWN_PATHS[rng.gen_range(0..UNKNOWN_PATHS.len())]),
        5 => {
            let bad = ["user42", "-17", "", "4 2", "NaN", "99999999999999999999999"];
            write!(line, "{time},{},GET /data/m/{movie}/0.mpg", bad[rng.gen_range(0..bad.len())])
        }
        6 => write!(line, "{time},{user_id},{}", INJECTIONS[rng.gen_range(0..INJECTIONS.len())]),
        7 => write!(line, "{time},{user_id},GET /data/m/{movie}/-{}.mpg", rng.gen_range(1..10)),
        _ => write!(line, "{time},{user_id},GET /rate/{movie}={}.5", rng.gen_range(1..max)),
    };
    if parse_line(line, world.config.rating_scale).is_ok() {
        // A cut that happened to leave a valid line: replace it with plain garbage.
        line.clear();
        line.push_str("#@!garbage!@#");
    }
}
