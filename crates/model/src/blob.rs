//! The model file format every Marquee model kind shares: a fixed 32-byte header, then a
//! postcard body.
//!
//! | bytes  | field          | encoding                                         |
//! |--------|----------------|--------------------------------------------------|
//! | 0..8   | magic          | `b"MARQUEE\0"`                                   |
//! | 8..10  | format version | u16 little-endian ([`FORMAT_VERSION`] when written) |
//! | 10..12 | kind           | u16 little-endian ([`BlobKind`])                 |
//! | 12..20 | schema hash    | u64 little-endian ([`crate::gbdt::FeatureSchema::hash64`]) |
//! | 20..24 | body length    | u32 little-endian, bytes after the header        |
//! | 24..32 | checksum       | u64 little-endian, FNV-1a 64 of the body         |
//!
//! The header is fixed-width so that a reader can tell what a file is (and refuse a newer
//! version or a foreign schema) before it decodes anything. The body layout is chosen per
//! version by each model kind; a newer reader keeps decoding every older version.
//!
//! Versions so far (the header is the same in all of them):
//!
//! * **1**: the first layout. A GBDT body stores every node with all its fields.
//! * **2**: compact GBDT trees: nodes in pre-order with the left child implicit, leaves
//!   storing only value and cover, the two split booleans in one flags byte (about 28%
//!   smaller). Written by default since it was introduced. Biased-SVD blobs (kind 2), the
//!   hybrid recommender (kind 3, whose header carries the feature schema's hash) and
//!   profile shards (kind 4, whose header carries the catalog's fingerprint) exist only
//!   in this version.

use serde::{Deserialize, Serialize};

use crate::hash::fnv64;
use crate::ModelError;

/// The first eight bytes of every Marquee model blob.
pub const MAGIC: [u8; 8] = *b"MARQUEE\0";

/// The format version this build writes by default, and the newest it reads (it reads every
/// version from 1 up to this one).
pub const FORMAT_VERSION: u16 = 2;

/// The header's length in bytes; the body starts right after it.
pub const HEADER_LEN: usize = 32;

/// What kind of model a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum BlobKind {
    /// A gradient-boosted tree ensemble ([`crate::gbdt::Ensemble`]).
    GbdtEnsemble = 1,
    /// A biased matrix factorisation ([`crate::mf::BiasedSvd`]); first written in format 2.
    BiasedSvd = 2,
    /// The hybrid recommender's shared part ([`crate::recommend::Recommender`]); format 2.
    Recommender = 3,
    /// One shard of per-user profiles ([`crate::recommend::ProfileShard`]); format 2.
    ProfileShard = 4,
    /// An SVD++ factorisation ([`crate::mf::SvdPlusPlus`]); format 2.
    SvdPlusPlus = 10,
    /// An item-kNN-with-baselines model ([`crate::mf::ItemKnn`]); format 2.
    ItemKnn = 11,
    /// A rating blend of SVD, SVD++, item kNN and a GBDT combiner
    /// ([`crate::blend::RatingBlend`]); format 2.
    RatingBlend = 12,
}

impl BlobKind {
    /// The kind's number as stored in the header.
    pub fn code(self) -> u16 {
        self as u16
    }
}

impl TryFrom<u16> for BlobKind {
    type Error = ModelError;

    /// The kind with this header number; an unknown number is a [`ModelError::Corrupt`].
    fn try_from(code: u16) -> Result<Self, ModelError> {
        match code {
            1 => Ok(BlobKind::GbdtEnsemble),
            2 => Ok(BlobKind::BiasedSvd),
            3 => Ok(BlobKind::Recommender),
            4 => Ok(BlobKind::ProfileShard),
            10 => Ok(BlobKind::SvdPlusPlus),
            11 => Ok(BlobKind::ItemKnn),
            12 => Ok(BlobKind::RatingBlend),
            other => Err(ModelError::Corrupt(format!("unknown model kind {other}"))),
        }
    }
}

/// The checksum a header carries for `body` (FNV-1a 64): tools that patch a body, such as
/// the fuzz target, recompute it with this.
pub fn checksum(body: &[u8]) -> u64 {
    fnv64(body)
}

/// A blob's decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlobHeader {
    /// The format version the body was written in (1 to [`FORMAT_VERSION`]).
    pub version: u16,
    /// The model kind's number; kept raw so that a header of a kind this build does not
    /// know can still be shown.
    pub kind: u16,
    /// The hash of the feature schema the model reads.
    pub schema_hash: u64,
    /// The body's length in bytes.
    pub body_len: u32,
    /// The FNV-1a 64 hash of the body.
    pub checksum: u64,
}

impl BlobHeader {
    /// The header's 32 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        bytes[0..8].copy_from_slice(&MAGIC);
        bytes[8..10].copy_from_slice(&self.version.to_le_bytes());
        bytes[10..12].copy_from_slice(&self.kind.to_le_bytes());
        bytes[12..20].copy_from_slice(&self.schema_hash.to_le_bytes());
        bytes[20..24].copy_from_slice(&self.body_len.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.checksum.to_le_bytes());
        bytes
    }
}

/// Reads and checks a blob's header: its length, magic and version.
///
/// It does not look at the body, so it is cheap enough to identify a file; use
/// [`decode_body`] to check the body's length and checksum too.
pub fn read_header(bytes: &[u8]) -> Result<BlobHeader, ModelError> {
    let header = bytes.get(..HEADER_LEN).ok_or(ModelError::Truncated { needed: HEADER_LEN, got: bytes.len() })?;
    if field::<8>(header, 0) != MAGIC {
        return Err(ModelError::BadMagic);
    }
    let version = u16::from_le_bytes(field(header, 8));
    if version == 0 || version > FORMAT_VERSION {
        return Err(ModelError::UnsupportedVersion { found: version, newest: FORMAT_VERSION });
    }
    Ok(BlobHeader {
        version,
        kind: u16::from_le_bytes(field(header, 10)),
        schema_hash: u64::from_le_bytes(field(header, 12)),
        body_len: u32::from_le_bytes(field(header, 20)),
        checksum: u64::from_le_bytes(field(header, 24)),
    })
}

/// The `N` bytes of `header` at `at`; zeros past its end (callers pass a full header).
fn field<const N: usize>(header: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(source) = header.get(at..at.saturating_add(N)) {
        out.copy_from_slice(source);
    }
    out
}

/// Writes a blob of this kind and schema hash around `body`, in the current format version.
///
/// The caller chooses the body type; it must be the type that version
/// [`FORMAT_VERSION`]'s reader of this kind decodes.
pub fn encode<T: Serialize>(kind: BlobKind, schema_hash: u64, body: &T) -> Result<Vec<u8>, ModelError> {
    encode_version(FORMAT_VERSION, kind, schema_hash, body)
}

/// Writes a blob like [`encode`], but with `version` in its header (1 to [`FORMAT_VERSION`]),
/// for writers that can still produce an older layout.
///
/// The caller chooses the body type; it must be the type that `version`'s reader of this
/// kind decodes.
pub fn encode_version<T: Serialize>(
    version: u16,
    kind: BlobKind,
    schema_hash: u64,
    body: &T,
) -> Result<Vec<u8>, ModelError> {
    if version == 0 || version > FORMAT_VERSION {
        return Err(ModelError::UnsupportedVersion { found: version, newest: FORMAT_VERSION });
    }
    let body = postcard::to_allocvec(body).map_err(|error| ModelError::Corrupt(format!("cannot encode: {error}")))?;
    let body_len = u32::try_from(body.len())
        .map_err(|_| ModelError::Corrupt(format!("the body is {} bytes, more than a blob can hold", body.len())))?;
    let header = BlobHeader { version, kind: kind.code(), schema_hash, body_len, checksum: fnv64(&body) };
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(&header.to_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Checks a blob's header, kind, exact length and checksum, and returns the header and the
/// body's bytes.
///
/// Model kinds with several body layouts use this, then pick the layout by
/// [`BlobHeader::version`].
pub fn checked_body(bytes: &[u8], kind: BlobKind) -> Result<(BlobHeader, &[u8]), ModelError> {
    let header = read_header(bytes)?;
    if header.kind != kind.code() {
        return Err(ModelError::WrongKind { expected: kind.code(), found: header.kind });
    }
    // u32 always fits in usize on the 32- and 64-bit targets Marquee builds for; saturate
    // rather than panic anywhere else.
    let needed = HEADER_LEN.saturating_add(usize::try_from(header.body_len).unwrap_or(usize::MAX));
    if bytes.len() < needed {
        return Err(ModelError::Truncated { needed, got: bytes.len() });
    }
    if bytes.len() > needed {
        return Err(ModelError::Corrupt(format!("{} unexpected bytes after the body", bytes.len() - needed)));
    }
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    if fnv64(body) != header.checksum {
        return Err(ModelError::ChecksumMismatch);
    }
    Ok((header, body))
}

/// Checks a blob like [`checked_body`] and decodes its body as a `T`.
///
/// The body must decode exactly: bytes left over after `T` are corruption, not padding.
pub fn decode_body<'a, T: Deserialize<'a>>(bytes: &'a [u8], kind: BlobKind) -> Result<(BlobHeader, T), ModelError> {
    let (header, body) = checked_body(bytes, kind)?;
    let value = decode_exact(body)?;
    Ok((header, value))
}

/// Decodes a postcard value that must use every byte.
pub(crate) fn decode_exact<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ModelError> {
    let (value, rest) = postcard::take_from_bytes(body).map_err(|error| ModelError::Corrupt(error.to_string()))?;
    if !rest.is_empty() {
        return Err(ModelError::Corrupt(format!("{} unexpected bytes at the end of the body", rest.len())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode(BlobKind::GbdtEnsemble, 0x0123_4567_89ab_cdef, &(7u32, String::from("seven"))).unwrap()
    }

    #[test]
    fn header_layout_is_pinned() {
        let bytes = sample();
        assert_eq!(&bytes[0..8], b"MARQUEE\0");
        assert_eq!(&bytes[8..10], &[2, 0]);
        assert_eq!(&bytes[10..12], &[1, 0]);
        assert_eq!(&bytes[12..20], &0x0123_4567_89ab_cdef_u64.to_le_bytes());
        assert_eq!(&bytes[20..24], &((bytes.len() - 32) as u32).to_le_bytes());
        assert_eq!(&bytes[24..32], &fnv64(&bytes[32..]).to_le_bytes());
        let header = read_header(&bytes).unwrap();
        assert_eq!(header.to_bytes(), bytes[..32]);
    }

    #[test]
    fn round_trips() {
        let (header, body): (_, (u32, String)) = decode_body(&sample(), BlobKind::GbdtEnsemble).unwrap();
        assert_eq!(body, (7, "seven".to_string()));
        assert_eq!(header.schema_hash, 0x0123_4567_89ab_cdef);
        assert_eq!(BlobKind::try_from(1).unwrap(), BlobKind::GbdtEnsemble);
        assert_eq!(BlobKind::try_from(2).unwrap(), BlobKind::BiasedSvd);
        assert_eq!(BlobKind::try_from(3).unwrap(), BlobKind::Recommender);
        assert_eq!(BlobKind::try_from(4).unwrap(), BlobKind::ProfileShard);
        for kind in [BlobKind::SvdPlusPlus, BlobKind::ItemKnn, BlobKind::RatingBlend] {
            assert_eq!(BlobKind::try_from(kind.code()).unwrap(), kind);
        }
        assert!(BlobKind::try_from(5).is_err());
    }

    #[test]
    fn refuses_every_kind_of_damage() {
        let good = sample();
        let decode = |bytes: &[u8]| decode_body::<(u32, String)>(bytes, BlobKind::GbdtEnsemble).map(|_| ());
        assert_eq!(decode(&good[..10]), Err(ModelError::Truncated { needed: 32, got: 10 }));
        assert_eq!(
            decode(&good[..good.len() - 1]),
            Err(ModelError::Truncated { needed: good.len(), got: good.len() - 1 })
        );
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(decode(&longer), Err(ModelError::Corrupt(_))));
        let mut magic = good.clone();
        magic[0] = b'm';
        assert_eq!(decode(&magic), Err(ModelError::BadMagic));
        let mut version = good.clone();
        version[8] = 3;
        assert_eq!(decode(&version), Err(ModelError::UnsupportedVersion { found: 3, newest: 2 }));
        version[8] = 0;
        assert_eq!(decode(&version), Err(ModelError::UnsupportedVersion { found: 0, newest: 2 }));
        let mut kind = good.clone();
        kind[10] = 9;
        assert_eq!(decode(&kind), Err(ModelError::WrongKind { expected: 1, found: 9 }));
        let mut body = good.clone();
        *body.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&body), Err(ModelError::ChecksumMismatch));
    }

    #[test]
    fn older_versions_are_written_on_request_and_read() {
        let v1 = encode_version(1, BlobKind::GbdtEnsemble, 5, &7u32).unwrap();
        assert_eq!(&v1[8..10], &[1, 0]);
        assert_eq!(read_header(&v1).unwrap().version, 1);
        assert_eq!(decode_body::<u32>(&v1, BlobKind::GbdtEnsemble).unwrap().1, 7);
        for version in [0, FORMAT_VERSION + 1] {
            assert_eq!(
                encode_version(version, BlobKind::GbdtEnsemble, 5, &7u32),
                Err(ModelError::UnsupportedVersion { found: version, newest: FORMAT_VERSION })
            );
        }
    }

    #[test]
    fn refuses_a_body_with_bytes_left_over() {
        // A well-formed header around a body that decodes as a u8 with a byte to spare.
        let blob = encode(BlobKind::GbdtEnsemble, 0, &(1u8, 2u8)).unwrap();
        assert!(matches!(decode_body::<u8>(&blob, BlobKind::GbdtEnsemble), Err(ModelError::Corrupt(_))));
    }
}
