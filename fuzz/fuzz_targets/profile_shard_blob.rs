//! Profile-shard blobs: any byte string is a shard or an error. In one that loads, every
//! profile decodes or is an error; looking a decoded profile's user up through the seed
//! recommender finds that same profile (or refuses it as invalid, or the shard as foreign),
//! and serving it gives a valid list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_fuzz::{assert_valid_list, trained_recommender, with_repaired_headers};
use marquee_model::blob::BlobKind;
use marquee_model::recommend::ProfileShard;

/// Profiles decoded per shard: a seed shard holds about 20.
const MAX_PROFILES: usize = 64;

/// Profiles served per shard: serving costs far more than a lookup.
const MAX_SERVED: usize = 2;

fuzz_target!(|bytes: &[u8]| {
    let recommender = trained_recommender();
    for input in with_repaired_headers(bytes, BlobKind::ProfileShard) {
        let Ok(shard) = ProfileShard::from_blob(&input) else { continue };
        let (index, count) = shard.position();
        assert!(index < count, "shard {index} of {count}");
        let _ = shard.lookup(0, recommender.catalog());
        let _ = shard.profile_at(shard.len());
        let mut served = 0;
        for index in 0..shard.len().min(MAX_PROFILES) {
            let Ok(profile) = shard.profile_at(index) else { continue };
            match recommender.lookup_profile(&shard, profile.user_id) {
                Ok(Some(found)) => {
                    // Compared as printed, so that a NaN equals itself.
                    assert_eq!(format!("{found:?}"), format!("{profile:?}"), "the lookup found another profile");
                    if served < MAX_SERVED {
                        served += 1;
                        let list = recommender.recommend(&found, 20, found.user_id);
                        assert_valid_list(recommender, &list, 20);
                    }
                }
                Ok(None) => panic!("user {} is in the shard's index but the lookup misses it", profile.user_id),
                Err(_) => {}
            }
        }
    }
});
