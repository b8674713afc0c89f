//! A models folder written by `marquee train`, loaded to serve and score in process as the
//! edge would.

use std::path::Path;

use anyhow::{Context, Result};
use marquee_model::manifest::{Manifest, MANIFEST_FILE};
use marquee_model::recommend::{shard_of, Demographics, ProfileShard, Recommender, UserProfile};

/// The recommender and its profile shards.
pub struct ServedModel {
    pub recommender: Recommender,
    shards: Vec<ProfileShard>,
}

impl ServedModel {
    /// Loads the folder's manifest, recommender and every profile shard, validating each.
    pub fn load(dir: &Path) -> Result<ServedModel> {
        let read =
            |file: &str| std::fs::read(dir.join(file)).with_context(|| format!("reading {}/{file}", dir.display()));
        let manifest: Manifest = serde_json::from_slice(&read(MANIFEST_FILE)?)
            .with_context(|| format!("{}/{MANIFEST_FILE} is not a manifest", dir.display()))?;
        let recommender = Recommender::from_blob(&read(&manifest.recommender.path)?)?;
        let shards = manifest
            .profile_shards
            .iter()
            .map(|file| Ok(ProfileShard::from_blob(&read(&file.path)?)?))
            .collect::<Result<Vec<_>>>()?;
        Ok(ServedModel { recommender, shards })
    }

    /// The user's profile as the edge would find it, or a cold profile with `demographics`
    /// when the model has none for them.
    pub fn profile(&self, user: u64, demographics: Demographics) -> UserProfile {
        let shard = self.shards.get(shard_of(user, self.recommender.shard_count()) as usize);
        shard
            .and_then(|shard| self.recommender.lookup_profile(shard, user).ok().flatten())
            .unwrap_or_else(|| UserProfile::cold(user, demographics))
    }

    /// The list of `count` movie ids the edge would serve `user` with `seed` (cold users get
    /// the cold-start list for unknown demographics).
    pub fn list(&self, user: u64, count: usize, seed: u64) -> Vec<String> {
        let profile = self.profile(user, Demographics::default());
        self.recommender
            .recommend(&profile, count, seed)
            .iter()
            .filter_map(|r| self.recommender.movie_id(r.item).map(str::to_owned))
            .collect()
    }
}
