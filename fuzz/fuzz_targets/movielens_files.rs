//! MovieLens datasets (`#file NAME` sections, see `marquee_fuzz::split_files`), read as each
//! of the three layouts and as detected: any files give a dataset and a report, or an error;
//! the report accounts for every line, and the records are as the reader promises (movie
//! ids in canonical decimal, users derived or read, ratings with their movies' ids).
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_data::files::MemoryFiles;
use marquee_data::movielens::{detect_files, read, read_flavor, MovieLensFlavor};

fuzz_target!(|bytes: &[u8]| {
    let named = marquee_fuzz::split_files(bytes);
    let files = MemoryFiles { files: &named };
    let detected = detect_files(&files);
    for flavor in [MovieLensFlavor::Ml100k, MovieLensFlavor::Ml1m, MovieLensFlavor::Latest] {
        let Ok((dataset, report)) = read_flavor(&files, flavor) else { continue };
        assert_eq!(report.lines, report.parsed + report.skipped_total());
        assert!(
            report.parsed >= dataset.ratings.len() as u64,
            "{} ratings from {} parsed lines",
            dataset.ratings.len(),
            report.parsed
        );
        for id in dataset
            .ratings
            .iter()
            .map(|rating| &rating.movie_id)
            .chain(dataset.movies.iter().map(|movie| &movie.movie_id))
        {
            assert_eq!(
                id.parse::<u64>().map(|number| number.to_string()).as_ref(),
                Ok(id),
                "movie id {id:?} is not canonical"
            );
        }
        if detected == Some(flavor) {
            let (again, _) = read(&files).expect("the detected layout reads");
            assert_eq!(again, dataset, "reading the detected layout differs from reading it by name");
        }
    }
});
