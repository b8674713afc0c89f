//! The model crate's one error type.

/// Everything the model crate can refuse.
///
/// Every malformed input (a corrupt or foreign blob, an invalid tree, a row of the wrong
/// length) comes back as one of these instead of a panic, so that a bad model file can never
/// take down the Worker or the browser tab that loaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Two inputs that must line up do not (e.g. a batch of rows and its output buffer).
    #[error("{what} has {got} entries, expected {expected}")]
    LengthMismatch {
        /// Which input has the wrong length.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// The blob ends before its header or body does.
    #[error("the blob is truncated: it needs {needed} bytes but has {got}")]
    Truncated {
        /// The bytes the blob must have: the header's, or once the header is read, the
        /// header's and the body's.
        needed: usize,
        /// The bytes the blob has.
        got: usize,
    },
    /// The blob does not start with Marquee's magic bytes, so it is not a Marquee model.
    #[error("not a Marquee model blob (bad magic bytes)")]
    BadMagic,
    /// The blob was written by a newer (or unknown) format version than this reader knows.
    #[error("the blob has format version {found}, but this build reads versions 1 to {newest}")]
    UnsupportedVersion {
        /// The version the header names.
        found: u16,
        /// The newest version this build reads.
        newest: u16,
    },
    /// The blob holds another kind of model than the one asked for.
    #[error("the blob holds model kind {found}, expected kind {expected}")]
    WrongKind {
        /// The kind the caller asked for ([`crate::BlobKind::code`]).
        expected: u16,
        /// The kind the header names.
        found: u16,
    },
    /// The body's checksum does not match the header's, so the bytes were damaged.
    #[error("the blob's checksum does not match its body (the file is damaged)")]
    ChecksumMismatch,
    /// The header's schema hash disagrees with the schema stored in the body.
    #[error("the blob header's schema hash {header:#018x} differs from its body's {body:#018x}")]
    SchemaMismatch {
        /// The hash the blob's header carries.
        header: u64,
        /// The hash the reader expected: of the decoded body's schema or shape, of this
        /// build's ranker features, or of the catalog a profile shard is read with.
        body: u64,
    },
    /// The body does not decode.
    #[error("the blob's body is corrupt: {0}")]
    Corrupt(String),
    /// The model decodes but breaks an invariant; the message names the tree and node.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A row does not have one value per schema column.
    #[error("the row has {got} values, but the model's schema has {expected} features")]
    RowLength {
        /// The number of features in the model's schema.
        expected: usize,
        /// The number of values in the row.
        got: usize,
    },
    /// A tree is deeper than an algorithm supports (its scratch space grows with the square
    /// of the depth and its recursion with the depth).
    #[error("tree {tree} is {depth} levels deep, but this operation supports at most {limit}")]
    TooDeep {
        /// The index of the first tree that is too deep.
        tree: usize,
        /// That tree's depth (edges on its longest root-to-leaf path).
        depth: usize,
        /// The deepest tree the operation supports.
        limit: usize,
    },
}
