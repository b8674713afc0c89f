//! `--data PATH` for the model commands: an event store, or anything `marquee ingest` reads
//! (loaded into a store in memory, so the original files are never touched).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use marquee_data::store::Store;
use marquee_data::RatingScale;
use marquee_train::recommend::Interactions;

/// Loads `path` as interactions; `quiet` hides progress (for `--json`).
pub fn load_interactions(path: &Path, quiet: bool) -> Result<Interactions> {
    let store = open_or_ingest(path, quiet)?;
    let data = Interactions::from_store(&store)?;
    anyhow::ensure!(!data.events.is_empty(), "{} holds no ratings or watch sessions to learn from", path.display());
    tracing::info!(
        "loaded {} users, {} movies, {} interactions from {}",
        data.users.len(),
        data.movies.len(),
        data.events.len(),
        path.display()
    );
    Ok(data)
}

fn open_or_ingest(path: &Path, quiet: bool) -> Result<Store> {
    if path.is_file() && is_sqlite(path)? {
        return Store::open(path).with_context(|| format!("opening the event store {}", path.display()));
    }
    let sources = marquee_data::source::detect(path)?;
    let mut store = Store::open_in_memory()?;
    let scale = RatingScale::new(5).context("the five-star scale")?;
    for source in &sources {
        let bar = crate::progress::counter(&source.to_string(), quiet);
        store.ingest_source(source, scale, |line| bar.set_position(line))?;
        bar.finish_and_clear();
    }
    Ok(store)
}

fn is_sqlite(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 16];
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let read = file.read(&mut magic)?;
    Ok(read == 16 && &magic == b"SQLite format 3\0")
}
