//! Profiles grouped into the shards the edge looks users up in.

use marquee_model::recommend::{encode_shard, shard_of, Recommender, UserProfile};
use rayon::prelude::*;

use crate::TrainError;

/// Encodes `profiles` into the recommender's [`Recommender::shard_count`] shards, in shard
/// order (shard `n` holds the users whose id hashes to `n`; a shard may be empty).
pub fn profile_shards(recommender: &Recommender, profiles: &[UserProfile]) -> Result<Vec<Vec<u8>>, TrainError> {
    let count = recommender.shard_count();
    let mut members: Vec<Vec<&UserProfile>> = vec![Vec::new(); count as usize];
    for profile in profiles {
        members[shard_of(profile.user_id, count) as usize].push(profile);
    }
    members
        .par_iter()
        .enumerate()
        .map(|(shard, profiles)| {
            encode_shard(recommender.catalog(), shard as u32, count, profiles).map_err(TrainError::from)
        })
        .collect()
}
