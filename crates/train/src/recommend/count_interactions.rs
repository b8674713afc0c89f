//! The catalog's first step: one pass over the training interactions, counting what the
//! movie aggregates and candidate lists are built from.

use std::collections::HashMap;

use marquee_model::recommend::{GENRE_COUNT, SEGMENT_COUNT};

use super::build_catalog::add_genres;
use super::interactions::{Interaction, Interactions};
use super::user_demographics;

/// Per-movie and per-segment counts over the training interactions.
pub(super) struct InteractionCounts {
    /// Interactions per movie.
    pub(super) watchers: Vec<u32>,
    /// Interactions per movie inside the recent window.
    pub(super) recent: Vec<u32>,
    /// The sum of each movie's ratings.
    pub(super) rating_sum: Vec<f64>,
    /// The number of each movie's ratings.
    pub(super) rating_count: Vec<u32>,
    /// Per demographic segment, interactions per movie.
    pub(super) segment_counts: Vec<HashMap<u32, u32>>,
    /// Per demographic segment, interactions spread over genres.
    pub(super) segment_genres: Vec<[f64; GENRE_COUNT]>,
    /// Everyone's interactions spread over genres.
    pub(super) all_genres: [f64; GENRE_COUNT],
}

/// Counts `train`. `genre_masks` is indexed like `data.movies`, `occupations` is the
/// catalog's sorted occupation list, and interactions from `recent_from` (Unix seconds) on
/// are recent.
pub(super) fn count_interactions(
    data: &Interactions,
    train: &[Interaction],
    genre_masks: &[u32],
    occupations: &[String],
    recent_from: i64,
) -> InteractionCounts {
    let items = data.movies.len();
    let mut counts = InteractionCounts {
        watchers: vec![0; items],
        recent: vec![0; items],
        rating_sum: vec![0.0; items],
        rating_count: vec![0; items],
        segment_counts: vec![HashMap::new(); SEGMENT_COUNT],
        segment_genres: vec![[0.0; GENRE_COUNT]; SEGMENT_COUNT],
        all_genres: [0.0; GENRE_COUNT],
    };
    let segments: Vec<usize> = data.users.iter().map(|user| user_demographics(user, occupations).segment()).collect();
    for event in train {
        let item = event.item as usize;
        counts.watchers[item] += 1;
        if event.time >= recent_from {
            counts.recent[item] += 1;
        }
        if let Some(rating) = event.rating {
            counts.rating_sum[item] += f64::from(rating);
            counts.rating_count[item] += 1;
        }
        let segment = segments[event.user as usize];
        *counts.segment_counts[segment].entry(event.item).or_default() += 1;
        add_genres(genre_masks[item], &mut counts.segment_genres[segment]);
        add_genres(genre_masks[item], &mut counts.all_genres);
    }
    counts
}
