//! The list of last resort: what `/recommend/<user>` answers when no model at all can be
//! used (the embedded default included) and no `POPULAR_MOVIES` is configured. It is the
//! embedded default model's 20 most popular movies, written out so that it exists even when
//! that model cannot be read; a test keeps it equal to the model's own list.

/// The embedded default model's most popular movies, most popular first.
pub const LAST_RESORT_MOVIES: [&str; 20] = [
    "eternal+song+memory+2021",
    "bridge+of+dragon+2021",
    "bright+mountain+2023",
    "house+of+voyage+2019",
    "wicked+angel+2023",
    "the+desert+and+the+doctor+2022",
    "night+of+morning+2016",
    "the+deep+truth+2017",
    "the+crimson+teacher+2017",
    "silent+angel+2022",
    "the+ocean+and+the+return+2022",
    "golden+mirror+2021",
    "hidden+house+2022",
    "the+city+and+the+harbor+2023",
    "electric+ghost+2023",
    "black+city+2017",
    "king+of+captain+2020",
    "the+sister+2020",
    "stolen+mother+winter+2022",
    "the+lucky+thief+2023",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::models::ModelCache;

    #[test]
    fn the_list_is_the_default_models_own_most_popular_movies() {
        let cache = ModelCache::new();
        let served = cache.default_model().expect("the embedded default model loads");
        let catalog = served.recommender.catalog();
        let popular: Vec<&str> = catalog
            .popular
            .iter()
            .take(LAST_RESORT_MOVIES.len())
            .filter_map(|&item| catalog.movies.get(item as usize).map(|movie| movie.movie_id.as_str()))
            .collect();
        assert_eq!(popular, LAST_RESORT_MOVIES, "regenerate LAST_RESORT_MOVIES from the default model");
    }

    #[test]
    fn an_empty_popular_list_falls_back_to_the_built_in_one() {
        use crate::app::AppConfig;
        assert_eq!(AppConfig::default().fallback_movies(), LAST_RESORT_MOVIES);
        assert_eq!(AppConfig::default().with_popular_list(" , ").fallback_movies(), LAST_RESORT_MOVIES);
        assert_eq!(AppConfig::default().with_popular_list("p1, p2").fallback_movies(), ["p1", "p2"]);
    }
}
