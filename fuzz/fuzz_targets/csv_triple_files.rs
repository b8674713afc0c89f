//! Marquee's CSV triple (`#file NAME` sections, see `marquee_fuzz::split_files`): any files
//! give a dataset and a report, or an error; the report accounts for every row, and what was
//! read, written out as a triple again, reads back exactly (the triple round-trips).
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_data::csv_triple::{read, write_movies, write_users, RatingsWriter};
use marquee_data::files::MemoryFiles;

fuzz_target!(|bytes: &[u8]| {
    let named = marquee_fuzz::split_files(bytes);
    let Ok((dataset, report)) = read(&MemoryFiles { files: &named }) else { return };
    assert_eq!(report.lines, report.parsed + report.skipped_total());

    let mut ratings = RatingsWriter::new(Vec::new()).expect("writing to memory cannot fail");
    for rating in &dataset.ratings {
        ratings.write(rating).expect("writing to memory cannot fail");
    }
    let ratings = ratings.finish().expect("writing to memory cannot fail");
    let mut users = Vec::new();
    write_users(&mut users, &dataset.users).expect("writing to memory cannot fail");
    let mut movies = Vec::new();
    write_movies(&mut movies, &dataset.movies).expect("writing to memory cannot fail");
    let written = [("ratings.csv", &ratings[..]), ("users.csv", &users[..]), ("movies.csv", &movies[..])];
    let (again, again_report) = read(&MemoryFiles { files: &written }).expect("a written triple reads");
    assert_eq!(again_report.skipped_total(), 0, "a written triple has bad rows: {again_report}");
    assert_eq!(format!("{again:?}"), format!("{dataset:?}"), "the triple does not round-trip");
});
