//! The metadata API's JSON, read as users and as movies: any bytes give records and a report
//! that counts each one. Every record written back in the API's shape reads back the same
//! (a movie's year excepted: the API shape has no year field, so it is re-derived from the
//! release date or the slug), and the written form is then a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_data::metadata::{movie_to_json, parse_movie, parse_user, read_movies, read_users, sniff_kind};
use marquee_data::Movie;

fuzz_target!(|bytes: &[u8]| {
    let (users, report) = read_users(bytes).expect("reading from memory cannot fail");
    assert_eq!(report.parsed, users.len() as u64);
    assert_eq!(report.lines, report.parsed + report.skipped_total());
    for user in &users {
        let written = marquee_data::metadata::user_to_json(user);
        assert_eq!(sniff_kind(&written), Some(marquee_data::metadata::MetadataKind::Users));
        assert_eq!(parse_user(&written).as_ref(), Ok(user), "{written} reads back as another user");
    }

    let (movies, report) = read_movies(bytes).expect("reading from memory cannot fail");
    assert_eq!(report.parsed, movies.len() as u64);
    assert_eq!(report.lines, report.parsed + report.skipped_total());
    for movie in &movies {
        let written = movie_to_json(movie);
        assert_eq!(sniff_kind(&written), Some(marquee_data::metadata::MetadataKind::Movies));
        let read = parse_movie(&written).unwrap_or_else(|error| panic!("{written} does not read back: {error}"));
        assert_eq!(
            printed(&read),
            printed(&Movie { year: read.year, ..movie.clone() }),
            "{written} reads back as another movie"
        );
        let again = movie_to_json(&read);
        assert_eq!(parse_movie(&again).map(|movie| printed(&movie)), Ok(printed(&read)), "not a fixed point: {again}");
    }
});

/// A movie as printed, so that NaN equals itself.
fn printed(movie: &Movie) -> String {
    format!("{movie:?}")
}
