//! What the fuzz targets share: the checksum repair that lets mutated blob bodies reach the
//! decoders, the real model the seeds hold, the multi-file input format of the dataset
//! readers, and the Worker's in-memory storage for the edge target.
//!
//! Seeds live in `fuzz/seeds/<target>/` (see `fuzz/README.md`); `cargo xtask fuzz` runs
//! the targets.

pub mod edge;

use marquee_model::blob::{checksum, BlobHeader, BlobKind, FORMAT_VERSION, HEADER_LEN};
use marquee_model::recommend::{ProfileShard, Recommendation, Recommender};

/// The seeds' recommender (a hybrid trained on a tiny built-in world).
pub const TRAINED_RECOMMENDER: &[u8] = include_bytes!("../seeds/recommender_blob/recommender.blob");

/// The seeds' profile shards, which belong to [`TRAINED_RECOMMENDER`].
pub const TRAINED_SHARDS: [&[u8]; 2] = [
    include_bytes!("../seeds/profile_shard_blob/00000.blob"),
    include_bytes!("../seeds/profile_shard_blob/00001.blob"),
];

/// The seeds' recommender, decoded once per process.
pub fn trained_recommender() -> &'static Recommender {
    static DECODED: std::sync::OnceLock<Recommender> = std::sync::OnceLock::new();
    DECODED.get_or_init(|| Recommender::from_blob(TRAINED_RECOMMENDER).expect("the committed seed recommender loads"))
}

/// The seeds' profile shards, decoded once per process.
pub fn trained_shards() -> &'static [ProfileShard] {
    static DECODED: std::sync::OnceLock<Vec<ProfileShard>> = std::sync::OnceLock::new();
    DECODED.get_or_init(|| {
        TRAINED_SHARDS
            .iter()
            .map(|bytes| ProfileShard::from_blob(bytes).expect("the committed seed shards load"))
            .collect()
    })
}

/// `bytes` as they are, then (when they are long enough to hold a header) their body under
/// a correct header of `kind` in every format version. Random mutations almost never keep
/// the checksum right, which would leave the decoder and the validator unfuzzed; the
/// header's schema hash is kept from the input, so a fingerprint can still match.
pub fn with_repaired_headers(bytes: &[u8], kind: BlobKind) -> Vec<std::borrow::Cow<'_, [u8]>> {
    let mut inputs = vec![std::borrow::Cow::Borrowed(bytes)];
    let Some(body) = bytes.get(HEADER_LEN..) else { return inputs };
    let schema_hash = bytes.get(12..20).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
    for version in 1..=FORMAT_VERSION {
        let header = BlobHeader {
            version,
            kind: kind.code(),
            schema_hash,
            body_len: u32::try_from(body.len()).unwrap_or(u32::MAX),
            checksum: checksum(body),
        };
        let mut patched = header.to_bytes().to_vec();
        patched.extend_from_slice(body);
        // A header that was already right would only repeat the first input's work.
        if patched != bytes {
            inputs.push(std::borrow::Cow::Owned(patched));
        }
    }
    inputs
}

/// What every served list must be, whatever model served it: at most `count` movies, no
/// movie twice, each one in the catalog.
pub fn assert_valid_list(recommender: &Recommender, list: &[Recommendation], count: usize) {
    assert!(list.len() <= count, "{} recommendations for {count} asked", list.len());
    let mut items: Vec<u32> = list.iter().map(|recommendation| recommendation.item).collect();
    items.sort_unstable();
    assert!(items.windows(2).all(|pair| pair[0] != pair[1]), "a movie is recommended twice: {items:?}");
    for item in items {
        assert!(recommender.movie_id(item).is_some(), "item {item} is not in the catalog");
    }
}

/// Splits a multi-file input into named files. Each file starts with a line `#file NAME`;
/// bytes before the first such line are ignored. A name may repeat (the last one wins, as
/// in [`marquee_data::files::MemoryFiles`]).
pub fn split_files(bytes: &[u8]) -> Vec<(&str, &[u8])> {
    const MARKER: &[u8] = b"#file ";
    let mut files = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    if bytes.starts_with(MARKER) {
        starts.push(0);
    }
    for (index, window) in bytes.windows(MARKER.len() + 1).enumerate() {
        if window[0] == b'\n' && &window[1..] == MARKER {
            starts.push(index + 1);
        }
    }
    for (position, &start) in starts.iter().enumerate() {
        let end = starts.get(position + 1).map_or(bytes.len(), |&next| next - 1);
        let file = &bytes[start + MARKER.len()..end.max(start + MARKER.len())];
        let (name, contents) = match file.iter().position(|&b| b == b'\n') {
            Some(newline) => (&file[..newline], &file[newline + 1..]),
            None => (file, &file[file.len()..]),
        };
        if let Ok(name) = std::str::from_utf8(name) {
            files.push((name.trim_end_matches('\r'), contents));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_named_files() {
        let files = split_files(b"junk\n#file a.csv\nx,y\n1,2\n#file b\r\n\n#file c");
        assert_eq!(files, [("a.csv", &b"x,y\n1,2"[..]), ("b", &b""[..]), ("c", &b""[..])]);
        assert!(split_files(b"no files").is_empty());
    }
}
