//! Per-user state, published apart from the model so that the model stays small however
//! many users there are: profiles are grouped into shards by a hash of the user id, and a
//! request decodes only its own user's profile from its shard.

use serde::{Deserialize, Serialize};

use super::segment::{Demographics, GENRE_COUNT};
use super::Catalog;
use crate::blob::{self, BlobKind};
use crate::hash::Fnv64;
use crate::ModelError;

/// What the recommender knows about one user, all computed from training data only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    /// The service's user id.
    pub user_id: u64,
    /// What the metadata API says about the user.
    pub demographics: Demographics,
    /// Distinct movies the user interacted with (watched or rated).
    pub interactions: u32,
    /// Ratings given.
    pub ratings: u32,
    /// The mean of the ratings given (NaN when none).
    pub mean_rating: f32,
    /// The user's genre affinity, one log-lift per genre; empty for a user with no history.
    pub genre_affinity: Vec<f32>,
    /// The explicit model's user bias.
    pub svd_bias: f32,
    /// The explicit model's user factors (empty: unknown to it).
    pub svd_factors: Vec<f32>,
    /// The implicit model's user factors (empty: unknown to it).
    pub implicit_factors: Vec<f32>,
    /// Catalog indices of the movies the user has seen, sorted: never recommended again.
    pub seen: Vec<u32>,
    /// Catalog indices of the user's latest movies, latest first, at most
    /// [`RECENT_HISTORY`]: what the user is into now, as against their whole history.
    pub recent: Vec<u32>,
}

/// How many of a user's latest movies a profile keeps in [`UserProfile::recent`].
pub const RECENT_HISTORY: usize = 5;

impl UserProfile {
    /// A user known only by id and demographics (the cold-start case).
    pub fn cold(user_id: u64, demographics: Demographics) -> UserProfile {
        UserProfile { user_id, demographics, mean_rating: f32::NAN, ..UserProfile::default() }
    }

    /// Whether the user has any history.
    pub fn has_history(&self) -> bool {
        self.interactions > 0
    }

    /// Checks the profile against the catalog it will be served with.
    pub fn validate(&self, catalog: &Catalog) -> Result<(), ModelError> {
        let bad = |what: &str| Err(ModelError::InvalidModel(format!("profile of user {}: {what}", self.user_id)));
        if !self.genre_affinity.is_empty() && self.genre_affinity.len() != GENRE_COUNT {
            return bad("genre affinity has the wrong length");
        }
        if !self.svd_factors.is_empty() && self.svd_factors.len() != catalog.svd.factors {
            return bad("svd factors have the wrong length");
        }
        if !self.implicit_factors.is_empty() && self.implicit_factors.len() != catalog.implicit.factors {
            return bad("implicit factors have the wrong length");
        }
        let finite = |values: &[f32]| values.iter().all(|value| value.is_finite());
        if !finite(&self.genre_affinity) || !finite(&self.svd_factors) || !finite(&self.implicit_factors) {
            return bad("a factor or affinity is not finite");
        }
        if !self.svd_bias.is_finite() || !(self.mean_rating.is_finite() || self.mean_rating.is_nan()) {
            return bad("a bias or mean is infinite");
        }
        if self.seen.windows(2).any(|pair| matches!(pair, [a, b] if a >= b))
            || self.seen.last().is_some_and(|&i| i as usize >= catalog.len())
        {
            return bad("the seen list is unsorted or names a movie outside the catalog");
        }
        if self.recent.len() > RECENT_HISTORY || self.recent.iter().any(|&i| i as usize >= catalog.len()) {
            return bad("the recent list is too long or names a movie outside the catalog");
        }
        if self.demographics.occupation.is_some_and(|code| usize::from(code) >= catalog.occupations.len()) {
            return bad("unknown occupation code");
        }
        Ok(())
    }
}

/// The shard that holds `user_id`'s profile, out of `shard_count` (at least 1).
pub fn shard_of(user_id: u64, shard_count: u32) -> u32 {
    let mut hash = Fnv64::new();
    hash.write(&user_id.to_le_bytes());
    (hash.finish() % u64::from(shard_count.max(1))) as u32
}

/// A shard's body: sorted user ids, and each profile encoded on its own so that a lookup
/// decodes one profile, not the whole shard.
#[derive(Serialize, Deserialize)]
struct ShardBody<'a> {
    shard: u32,
    shard_count: u32,
    user_ids: Vec<u64>,
    /// `offsets[i]..offsets[i + 1]` is user `i`'s profile in `profiles`.
    offsets: Vec<u32>,
    #[serde(borrow)]
    profiles: &'a [u8],
}

/// Encodes one shard of profiles as a blob whose header carries the catalog's fingerprint.
/// Every profile must belong in this shard; duplicates are refused.
pub fn encode_shard(
    catalog: &Catalog,
    shard: u32,
    shard_count: u32,
    profiles: &[&UserProfile],
) -> Result<Vec<u8>, ModelError> {
    let mut sorted: Vec<&UserProfile> = profiles.to_vec();
    sorted.sort_by_key(|profile| profile.user_id);
    let mut user_ids = Vec::with_capacity(sorted.len());
    let mut offsets = vec![0u32];
    let mut payload = Vec::new();
    for profile in sorted {
        if shard_of(profile.user_id, shard_count) != shard {
            return Err(ModelError::InvalidModel(format!("user {} does not belong in shard {shard}", profile.user_id)));
        }
        if user_ids.last() == Some(&profile.user_id) {
            return Err(ModelError::InvalidModel(format!("user {} appears twice", profile.user_id)));
        }
        profile.validate(catalog)?;
        user_ids.push(profile.user_id);
        payload.extend(postcard::to_allocvec(profile).map_err(|error| ModelError::Corrupt(error.to_string()))?);
        offsets.push(
            u32::try_from(payload.len()).map_err(|_| ModelError::InvalidModel("the shard is over 4 GiB".into()))?,
        );
    }
    let body = ShardBody { shard, shard_count, user_ids, offsets, profiles: &payload };
    blob::encode(BlobKind::ProfileShard, catalog.fingerprint(), &body)
}

/// A decoded shard: its index and the profiles' bytes, owned so that a server can keep it
/// and look users up without checking the blob again.
pub struct ProfileShard {
    shard: u32,
    shard_count: u32,
    catalog_fingerprint: u64,
    user_ids: Vec<u64>,
    offsets: Vec<u32>,
    profiles: Vec<u8>,
}

impl ProfileShard {
    /// Checks the blob and its index; the profiles themselves are checked when looked up.
    pub fn from_blob(bytes: &[u8]) -> Result<ProfileShard, ModelError> {
        let (header, body): (_, ShardBody<'_>) = blob::decode_body(bytes, BlobKind::ProfileShard)?;
        if body.shard_count == 0 || body.shard >= body.shard_count {
            return Err(ModelError::Corrupt(format!("shard {} of {}", body.shard, body.shard_count)));
        }
        if body.offsets.len() != body.user_ids.len() + 1 {
            return Err(ModelError::Corrupt("the shard's offsets do not match its users".into()));
        }
        if body.user_ids.windows(2).any(|pair| matches!(pair, [a, b] if a >= b)) {
            return Err(ModelError::Corrupt("the shard's user ids are not sorted".into()));
        }
        if body.offsets.first() != Some(&0)
            || body.offsets.windows(2).any(|pair| matches!(pair, [a, b] if a > b))
            || body.offsets.last().map(|&end| end as usize) != Some(body.profiles.len())
        {
            return Err(ModelError::Corrupt("the shard's offsets are out of order".into()));
        }
        Ok(ProfileShard {
            shard: body.shard,
            shard_count: body.shard_count,
            catalog_fingerprint: header.schema_hash,
            user_ids: body.user_ids,
            offsets: body.offsets,
            profiles: body.profiles.to_vec(),
        })
    }

    /// Roughly the memory the decoded shard holds, for caches that bound their size.
    pub fn size_bytes(&self) -> usize {
        self.profiles.len() + self.user_ids.len() * 8 + self.offsets.len() * 4
    }

    /// Which shard this is, out of how many.
    pub fn position(&self) -> (u32, u32) {
        (self.shard, self.shard_count)
    }

    /// The fingerprint of the catalog the profiles were built for.
    pub fn catalog_fingerprint(&self) -> u64 {
        self.catalog_fingerprint
    }

    /// The number of profiles in the shard.
    pub fn len(&self) -> usize {
        self.user_ids.len()
    }

    /// Whether the shard holds no profiles.
    pub fn is_empty(&self) -> bool {
        self.user_ids.is_empty()
    }

    /// The profile of `user_id`, validated against `catalog`; `Ok(None)` when the shard does
    /// not hold it. A shard built for another catalog is an error.
    ///
    /// It hashes the whole catalog to check the fingerprint; serving uses
    /// [`crate::recommend::Recommender::lookup_profile`], which hashes it once.
    pub fn lookup(&self, user_id: u64, catalog: &Catalog) -> Result<Option<UserProfile>, ModelError> {
        self.lookup_with_fingerprint(user_id, catalog, catalog.fingerprint())
    }

    /// [`ProfileShard::lookup`] with the catalog's fingerprint already computed.
    pub fn lookup_with_fingerprint(
        &self,
        user_id: u64,
        catalog: &Catalog,
        fingerprint: u64,
    ) -> Result<Option<UserProfile>, ModelError> {
        if self.catalog_fingerprint != fingerprint {
            return Err(ModelError::SchemaMismatch { header: self.catalog_fingerprint, body: fingerprint });
        }
        let Ok(index) = self.user_ids.binary_search(&user_id) else { return Ok(None) };
        let profile = self.profile_at(index)?;
        profile.validate(catalog)?;
        Ok(Some(profile))
    }

    /// Decodes the `index`-th profile (in user-id order) without checking it against a
    /// catalog; [`ProfileShard::lookup`] is what serving uses.
    pub fn profile_at(&self, index: usize) -> Result<UserProfile, ModelError> {
        let (Some(&start), Some(&end)) = (self.offsets.get(index), self.offsets.get(index.wrapping_add(1))) else {
            return Err(ModelError::Corrupt(format!("the shard has no profile {index}")));
        };
        let bytes = self
            .profiles
            .get(start as usize..end as usize)
            .ok_or_else(|| ModelError::Corrupt("profile out of bounds".into()))?;
        let profile: UserProfile = blob::decode_exact(bytes)?;
        if Some(&profile.user_id) != self.user_ids.get(index) {
            return Err(ModelError::Corrupt(format!("the index and profile {index} disagree on the user id")));
        }
        Ok(profile)
    }
}
