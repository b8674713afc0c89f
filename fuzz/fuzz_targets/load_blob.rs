//! Any byte string given to the blob loaders (tree ensembles, factorisations, recommenders,
//! profile shards) is a model or
//! an error; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use marquee_model::blob::{checksum, BlobHeader, BlobKind, FORMAT_VERSION, HEADER_LEN};
use marquee_model::gbdt::{Ensemble, Predictor};
use marquee_model::mf::BiasedSvd;
use marquee_model::recommend::{ProfileShard, Recommender, UserProfile};

fuzz_target!(|bytes: &[u8]| {
    load_and_use(bytes);
    // Random mutations almost never keep the checksum right, which would leave the decoder
    // and the validator unfuzzed: try the same body again under a correct header, in every
    // format version (each has its own body decoder).
    if let Some(body) = bytes.get(HEADER_LEN..) {
        let schema_hash = bytes.get(12..20).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
        for version in 1..=FORMAT_VERSION {
            for kind in [BlobKind::GbdtEnsemble, BlobKind::BiasedSvd, BlobKind::Recommender, BlobKind::ProfileShard] {
                let header = BlobHeader {
                    version,
                    kind: kind.code(),
                    schema_hash,
                    body_len: body.len() as u32,
                    checksum: checksum(body),
                };
                let mut patched = header.to_bytes().to_vec();
                patched.extend_from_slice(body);
                load_and_use(&patched);
            }
        }
    }
});

fn load_and_use(bytes: &[u8]) {
    if let Ok(recommender) = Recommender::from_blob(bytes) {
        // A loaded recommender must serve any user, known or not, and explain its picks.
        let profile = UserProfile::cold(u64::from(bytes.len() as u32), Default::default());
        let list = recommender.recommend(&profile, 20, 0);
        if let Some(first) = list.first() {
            let _ = recommender.explain(&profile, first.item, 3);
            let _ = recommender.predict_rating(&profile, first.item);
        }
    }
    if let Ok(shard) = ProfileShard::from_blob(bytes) {
        // Every profile decodes or is an error; a foreign catalog is an error too.
        for index in 0..shard.len().min(64) + 1 {
            let _ = shard.profile_at(index);
        }
        let _ = shard.lookup(0, &Default::default());
    }
    if let Ok(factorisation) = BiasedSvd::from_blob(bytes) {
        // A loaded factorisation must score every item for known and unknown users.
        let mut scores = vec![0.0; factorisation.items().min(4096)];
        factorisation.score_items(Some(0), &mut scores);
        factorisation.score_items(None, &mut scores);
    }
    if let Ok(ensemble) = Ensemble::from_blob(bytes) {
        // What loads must also predict and explain without panicking.
        let width = ensemble.schema.len();
        if let Ok(predictor) = Predictor::new(ensemble) {
            let row: Vec<f32> = (0..width).map(|i| bytes.get(i).map_or(f32::NAN, |&b| f32::from(b) - 128.0)).collect();
            let _ = predictor.predict(&row);
            let mut out = vec![0.0; width.max(1)];
            let _ = predictor.predict_batch(&row, &mut out[..1]);
            let mut contributions = vec![0.0; width + 1];
            let _ = predictor.contributions(&row, &mut contributions);
        }
    }
}
