//! The tabular view of ratings the original team's XGBoost model used: who rated (age,
//! gender, occupation) and what (year, popularity, votes, runtime, language, genres).

use std::collections::HashMap;

use marquee_data::{Gender, Movie, Rating, User};
use marquee_model::gbdt::{Feature, FeatureKind, FeatureSchema};

/// TMDB's genres, one indicator feature each.
pub use marquee_data::records::TMDB_GENRES as GENRES;

/// Ratings as rows of demographic and metadata features, with the stars as labels.
#[derive(Clone, Debug)]
pub struct RatingTable {
    pub schema: FeatureSchema,
    /// Row-major, `labels.len() × schema.len()`.
    pub features: Vec<f32>,
    pub labels: Vec<f32>,
}

/// How gender, occupation and language enter the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CategoryEncoding {
    /// As categorical features: trees split them into sets of codes.
    Categorical,
    /// As plain numeric codes, the way engines without categorical support see them
    /// (the benchmark uses this so every engine gets the same inputs).
    Codes,
}

/// Turns (user, movie) pairs into rows of the original team's features. Built once per data
/// set; occupations and languages are coded in sorted order of their distinct values, so the
/// coding is deterministic.
#[derive(Clone, Debug)]
pub struct RatingFeaturizer {
    pub schema: FeatureSchema,
    occupation_code: HashMap<String, usize>,
    language_code: HashMap<String, usize>,
}

impl RatingFeaturizer {
    pub fn new(users: &[User], movies: &[Movie], encoding: CategoryEncoding) -> Self {
        let mut occupations: Vec<&str> = users.iter().filter_map(|user| user.occupation.as_deref()).collect();
        occupations.sort_unstable();
        occupations.dedup();
        let mut languages: Vec<&str> = movies.iter().filter_map(|movie| movie.original_language.as_deref()).collect();
        languages.sort_unstable();
        languages.dedup();

        let numeric = |name: &str| Feature { name: name.to_owned(), kind: FeatureKind::Numeric };
        let categorical = |name: &str, count: usize| Feature {
            name: name.to_owned(),
            kind: match encoding {
                CategoryEncoding::Categorical if count <= 255 => {
                    FeatureKind::Categorical { categories: count.max(1) as u32 }
                }
                _ => FeatureKind::Numeric,
            },
        };
        let mut features = vec![
            numeric("user_age"),
            categorical("user_gender", 3),
            categorical("user_occupation", occupations.len()),
            numeric("movie_year"),
            numeric("movie_popularity"),
            numeric("movie_vote_average"),
            numeric("movie_log_vote_count"),
            numeric("movie_runtime"),
            categorical("movie_language", languages.len()),
        ];
        features.extend(
            GENRES.iter().map(|genre| numeric(&format!("genre_{}", genre.to_ascii_lowercase().replace(' ', "_")))),
        );
        RatingFeaturizer {
            schema: FeatureSchema { features },
            occupation_code: occupations.iter().enumerate().map(|(code, &name)| (name.to_owned(), code)).collect(),
            language_code: languages.iter().enumerate().map(|(code, &name)| (name.to_owned(), code)).collect(),
        }
    }

    /// Appends the row for `user` and `movie` to `rows`; unknown ones give missing values.
    pub fn push_row(&self, user: Option<&User>, movie: Option<&Movie>, rows: &mut Vec<f32>) {
        let option = |value: Option<f64>| value.map_or(f32::NAN, |value| value as f32);
        rows.push(option(user.and_then(|user| user.age).map(f64::from)));
        rows.push(option(user.and_then(|user| user.gender).map(|gender| match gender {
            Gender::Male => 0.0,
            Gender::Female => 1.0,
            Gender::Other => 2.0,
        })));
        rows.push(option(
            user.and_then(|user| user.occupation.as_deref())
                .and_then(|name| self.occupation_code.get(name))
                .map(|&code| code as f64),
        ));
        rows.push(option(movie.and_then(|movie| movie.year).map(f64::from)));
        rows.push(option(movie.and_then(|movie| movie.popularity)));
        rows.push(option(movie.and_then(|movie| movie.vote_average)));
        rows.push(option(movie.and_then(|movie| movie.vote_count).map(|count| (count as f64).ln_1p())));
        rows.push(option(movie.and_then(|movie| movie.runtime).map(f64::from)));
        rows.push(option(
            movie
                .and_then(|movie| movie.original_language.as_deref())
                .and_then(|name| self.language_code.get(name))
                .map(|&code| code as f64),
        ));
        for genre in GENRES {
            rows.push(match movie {
                Some(movie) => f32::from(u8::from(movie.genres.iter().any(|name| name == genre))),
                None => f32::NAN,
            });
        }
    }
}

/// Builds one row per rating. Unknown users or movies give missing (NaN) features, not errors:
/// the model learns what to do with them.
pub fn rating_table(users: &[User], movies: &[Movie], ratings: &[Rating], encoding: CategoryEncoding) -> RatingTable {
    let featurizer = RatingFeaturizer::new(users, movies, encoding);
    let user_index: HashMap<u64, &User> = users.iter().map(|user| (user.user_id, user)).collect();
    let movie_index: HashMap<&str, &Movie> = movies.iter().map(|movie| (movie.movie_id.as_str(), movie)).collect();
    let mut rows = Vec::with_capacity(ratings.len() * featurizer.schema.len());
    for rating in ratings {
        featurizer.push_row(
            user_index.get(&rating.user_id).copied(),
            movie_index.get(rating.movie_id.as_str()).copied(),
            &mut rows,
        );
    }
    RatingTable {
        schema: featurizer.schema,
        features: rows,
        labels: ratings.iter().map(|rating| rating.rating).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marquee_data::Timestamp;

    #[test]
    fn one_row_per_rating_with_missing_for_the_unknown() {
        let users =
            vec![User { user_id: 1, age: Some(30), gender: Some(Gender::Female), occupation: Some("writer".into()) }];
        let movies = vec![Movie {
            movie_id: "m".into(),
            title: "M".into(),
            genres: vec!["Drama".into()],
            year: Some(2001),
            vote_count: Some(99),
            ..Movie::default()
        }];
        let rating =
            |user_id, movie_id: &str| Rating { user_id, movie_id: movie_id.into(), rating: 4.0, time: Timestamp(0) };
        let table =
            rating_table(&users, &movies, &[rating(1, "m"), rating(2, "unknown")], CategoryEncoding::Categorical);
        let width = table.schema.len();
        assert_eq!(table.features.len(), 2 * width);
        assert_eq!(&table.features[..4], &[30.0, 1.0, 0.0, 2001.0]);
        assert!((table.features[6] - 100f32.ln()).abs() < 1e-6);
        let drama = table.schema.features.iter().position(|feature| feature.name == "genre_drama").unwrap();
        assert_eq!(table.features[drama], 1.0);
        assert!(table.features[width].is_nan(), "an unknown user has no age");
        assert!(table.features[width + drama].is_nan(), "an unknown movie has no genres");
        assert_eq!(table.labels, vec![4.0, 4.0]);
    }
}
