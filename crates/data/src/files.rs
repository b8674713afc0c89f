//! The files of a dataset folder, looked up by name: a folder on disk ([`Path`]) or files
//! held in memory ([`MemoryFiles`]). The MovieLens and CSV-triple readers take either, so
//! that tests and the fuzz targets read the same code the path loaders run, without
//! writing files.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// A set of named files a dataset reader can open.
pub trait DatasetFiles {
    /// What an opened file reads as.
    type File: Read;

    /// Opens the file called `name`; `Ok(None)` when there is no such file.
    fn open(&self, name: &str) -> Result<Option<Self::File>, DataError>;

    /// Whether a file called `name` exists.
    fn has(&self, name: &str) -> bool {
        matches!(self.open(name), Ok(Some(_)))
    }

    /// The path that names the file `name` in errors (`""` names the folder itself).
    fn path(&self, name: &str) -> PathBuf;
}

impl DatasetFiles for Path {
    type File = File;

    fn open(&self, name: &str) -> Result<Option<File>, DataError> {
        let path = self.join(name);
        match File::open(&path) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DataError::io(path, e)),
        }
    }

    /// A regular file only: a folder of the same name is not the file.
    fn has(&self, name: &str) -> bool {
        self.join(name).is_file()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.join(name)
    }
}

/// Files held in memory, by name (a later file of the same name wins).
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryFiles<'a> {
    /// Each file's name and bytes.
    pub files: &'a [(&'a str, &'a [u8])],
}

impl<'a> DatasetFiles for MemoryFiles<'a> {
    type File = &'a [u8];

    fn open(&self, name: &str) -> Result<Option<&'a [u8]>, DataError> {
        Ok(self.files.iter().rev().find(|(file, _)| *file == name).map(|&(_, bytes)| bytes))
    }

    fn path(&self, name: &str) -> PathBuf {
        Path::new("<memory>").join(name)
    }
}

/// Opens a file that must exist: its absence is an I/O error naming it.
pub(crate) fn open_required<F: DatasetFiles + ?Sized>(files: &F, name: &str) -> Result<F::File, DataError> {
    files.open(name)?.ok_or_else(|| DataError::io(files.path(name), std::io::Error::from(ErrorKind::NotFound)))
}

/// The header of a CSV file, its fields trimmed, unquoted and lowercased (underscores kept, so
/// that the triple's `user_id` and ml-latest's `userId` differ), or `None` when it cannot be read.
pub(crate) fn header_fields<F: DatasetFiles + ?Sized>(files: &F, name: &str) -> Option<Vec<String>> {
    let file = files.open(name).ok()??;
    let mut line = Vec::new();
    // A header is short; reading a bounded prefix keeps a binary file from being slurped.
    BufReader::new(file.take(64 * 1024)).read_until(b'\n', &mut line).ok()?;
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line);
    let text = std::str::from_utf8(line).ok()?;
    Some(
        text.trim_end_matches(['\r', '\n'])
            .split(',')
            .map(|name| name.trim().trim_matches('"').to_lowercase())
            .collect(),
    )
}
