//! The movie service's stream lines: any bytes read as a stream give events and a report
//! that accounts for every line. Each event written back in the stream's format parses to
//! the same event, and that text is a fixed point (writing it again gives the same line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_data::stream::{parse_line, read_stream};
use marquee_data::RatingScale;

fuzz_target!(|bytes: &[u8]| {
    for scale in [RatingScale::FIVE, RatingScale::new(10).unwrap_or_default()] {
        let mut events = 0u64;
        let report = read_stream(bytes, scale, |_, event| {
            events += 1;
            let written = event.to_string();
            let reparsed = parse_line(&written, scale)
                .unwrap_or_else(|error| panic!("{event:?} was written as {written:?}, which does not parse: {error}"));
            assert_eq!(reparsed, event, "{written:?} parses to another event");
            assert_eq!(reparsed.to_string(), written, "writing is not a fixed point");
        })
        .expect("reading from memory cannot fail");
        assert_eq!(report.parsed, events, "every good line is one event");
        assert_eq!(report.lines, report.parsed + report.skipped_total(), "every line is parsed or skipped");
        let lines = bytes.split(|&b| b == b'\n').count() as u64 - u64::from(bytes.ends_with(b"\n") || bytes.is_empty());
        assert_eq!(report.lines, lines, "lines counted");
    }
});
