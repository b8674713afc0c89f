//! Biased-SVD blobs: any byte string is a factorisation or an error. One that loads scores
//! every item for known and unknown users, each score equal bit for bit to the one-pair
//! prediction, and re-encodes to a blob that decodes to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_fuzz::with_repaired_headers;
use marquee_model::blob::BlobKind;
use marquee_model::mf::BiasedSvd;

/// Items scored per user: enough to cover a seed's catalog, bounded for speed.
const MAX_ITEMS: usize = 4096;

fuzz_target!(|bytes: &[u8]| {
    for input in with_repaired_headers(bytes, BlobKind::BiasedSvd) {
        let Ok(factorisation) = BiasedSvd::from_blob(&input) else { continue };
        let blob = factorisation.to_blob().expect("a loaded factorisation encodes");
        let again = BiasedSvd::from_blob(&blob).expect("a re-encoded factorisation loads");
        assert_eq!(again.to_blob().expect("it encodes again"), blob, "re-encoding is not stable");

        let items = factorisation.items().min(MAX_ITEMS);
        let mut scores = vec![0.0f32; items];
        let users = factorisation.users();
        for user in [Some(0), Some(users / 2), Some(users.saturating_sub(1)), Some(users + 3), None] {
            factorisation.score_items(user, &mut scores);
            for (item, score) in scores.iter().enumerate() {
                let one = factorisation.predict(user, Some(item));
                assert_eq!(one.to_bits(), score.to_bits(), "user {user:?} item {item}: {one} and {score}");
            }
            let _ = factorisation.predict(user, None);
            let _ = factorisation.predict(user, Some(factorisation.items() + 1));
        }
    }
});
