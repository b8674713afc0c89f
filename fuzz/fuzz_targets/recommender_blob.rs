//! Recommender blobs: any byte string is a recommender or an error. One that loads serves a
//! cold user and every profile of the seed shards its catalog accepts: each list holds at
//! most the movies asked for, none twice, all in the catalog; it explains and predicts a
//! rating for what it picks, and re-encodes to a blob that decodes to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_fuzz::{assert_valid_list, trained_shards, with_repaired_headers};
use marquee_model::blob::BlobKind;
use marquee_model::recommend::{Recommender, UserProfile};

/// Profiles of the seed shards served per loaded recommender.
const PROFILES_PER_SHARD: usize = 1;

fuzz_target!(|bytes: &[u8]| {
    for input in with_repaired_headers(bytes, BlobKind::Recommender) {
        let Ok(recommender) = Recommender::from_blob(&input) else { continue };
        let blob = recommender.to_blob().expect("a loaded recommender encodes");
        let again = Recommender::from_blob(&blob).expect("a re-encoded recommender loads");
        assert_eq!(again.to_blob().expect("it encodes again"), blob, "re-encoding is not stable");

        serve(&recommender, &UserProfile::cold(u64::from(bytes.len() as u32), Default::default()));
        for shard in trained_shards() {
            for index in 0..shard.len().min(PROFILES_PER_SHARD) {
                let Ok(profile) = shard.profile_at(index) else { continue };
                if let Ok(Some(profile)) = recommender.lookup_profile(shard, profile.user_id) {
                    serve(&recommender, &profile);
                }
            }
        }
    }
});

fn serve(recommender: &Recommender, profile: &UserProfile) {
    for count in [1, 20] {
        let list = recommender.recommend(profile, count, profile.user_id);
        assert_valid_list(recommender, &list, count);
        if let Some(first) = list.first() {
            let _ = recommender.explain(profile, first.item, 3);
            let _ = recommender.predict_rating(profile, first.item);
        }
    }
}
