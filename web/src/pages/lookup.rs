//! Users and movies: look one up, with what the edge knows and how it has been served.

use leptos::prelude::*;

use crate::api::{self, ApiError, MovieLookup, UserLookup};
use crate::components::ErrorNote;
use crate::format;
use crate::session::use_session;

/// The page: a user form and a movie form.
#[component]
pub fn LookupPage() -> impl IntoView {
    let session = use_session();
    let user_text = RwSignal::new(String::new());
    let movie_text = RwSignal::new(String::new());
    let user = RwSignal::new(None::<Result<UserLookup, ApiError>>);
    let movie = RwSignal::new(None::<Result<MovieLookup, ApiError>>);
    let find_user = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let token = session.token_untracked();
        let typed = user_text.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match marquee_data::parse_user_id(typed.trim()) {
                Ok(id) => session.check(api::get_json(&format!("/v1/admin/users/{id}"), &token).await),
                Err(error) => Err(ApiError::Status { status: 400, message: error.to_string() }),
            };
            user.set(Some(result));
        });
    };
    let find_movie = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let token = session.token_untracked();
        let typed = movie_text.get_untracked().trim().to_owned();
        leptos::task::spawn_local(async move {
            let path = format!("/v1/admin/movies/{}", api::segment(&typed));
            movie.set(Some(session.check(api::get_json(&path, &token).await)));
        });
    };
    view! {
        <section class="page lookup">
            <h2>"Users and movies"</h2>
            <form on:submit=find_user>
                <label for="lookup-user">"User id"</label>
                <input id="lookup-user" inputmode="numeric" prop:value=user_text on:input=move |ev| user_text.set(event_target_value(&ev)) />
                <button type="submit">"Look up"</button>
            </form>
            {move || user.get().map(|result| match result {
                Ok(lookup) => view! { <UserView lookup /> }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
            <form on:submit=find_movie>
                <label for="lookup-movie">"Movie id"</label>
                <input id="lookup-movie" prop:value=movie_text on:input=move |ev| movie_text.set(event_target_value(&ev)) />
                <button type="submit">"Look up"</button>
            </form>
            {move || movie.get().map(|result| match result {
                Ok(lookup) => view! { <MovieView lookup /> }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
        </section>
    }
}

/// One user.
#[component]
pub fn UserView(lookup: UserLookup) -> impl IntoView {
    let profile = lookup.profile.clone().map(|profile| {
        let demographics = profile.demographics;
        view! {
            <dl class="facts">
                <dt>"Age"</dt><dd>{demographics.age.map_or("unknown".into(), |age| age.to_string())}</dd>
                <dt>"Gender"</dt><dd>{demographics.gender.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Occupation"</dt><dd>{demographics.occupation.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Segment"</dt><dd>{profile.segment}</dd>
                <dt>"History"</dt><dd>{profile.interactions} " interactions, " {profile.ratings} " ratings, mean " {profile.mean_rating.map_or("–".into(), |mean| format!("{mean:.2}"))}</dd>
                <dt>"Latest"</dt><dd class="mono latest">{if profile.latest.is_empty() { "–".to_owned() } else { profile.latest.join(", ") }}</dd>
            </dl>
            <details><summary>{format!("{} movies seen", profile.seen.len())}</summary>
                <ul class="seen">{profile.seen.into_iter().map(|id| view! { <li class="mono">{id}</li> }).collect_view()}</ul>
            </details>
        }
        .into_any()
    });
    let recent = lookup
        .recent
        .iter()
        .map(|row| {
            view! {
                <tr>
                    <td>{format::date_time(row.time_ms as f64)}</td>
                    <td>{row.kind.as_str()}</td>
                    <td class="mono">{row.movie_id.clone().unwrap_or_default()}</td>
                    <td class="mono">{row.value.clone().unwrap_or_default().chars().take(80).collect::<String>()}</td>
                    <td>{row.variant.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <article class="user" data-user=lookup.user_id.to_string()>
            <h3>"User " {lookup.user_id}</h3>
            <p>"Variant " <strong>{lookup.variant.clone()}</strong> ", served version " <code>{lookup.version.clone()}</code> ", profile shard " {lookup.shard.map_or("none (embedded model)".into(), |shard| shard.to_string())} "."</p>
            {profile.unwrap_or_else(|| view! { <p class="note">"No published profile: the user is served as a cold start."</p> }.into_any())}
            <table class="recent">
                <caption>"Latest log rows"</caption>
                <thead><tr><th>"Time (UTC)"</th><th>"Kind"</th><th>"Movie"</th><th>"Value"</th><th>"Variant"</th></tr></thead>
                <tbody>{recent}</tbody>
            </table>
        </article>
    }
}

/// One movie.
#[component]
pub fn MovieView(lookup: MovieLookup) -> impl IntoView {
    let metadata = lookup.metadata.clone().map(|metadata| {
        view! {
            <dl class="facts">
                <dt>"Year"</dt><dd>{metadata.year}</dd>
                <dt>"Genres"</dt><dd>{metadata.genres.join(", ")}</dd>
                <dt>"Language"</dt><dd>{metadata.language.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Runtime"</dt><dd>{format!("{:.0} min", metadata.runtime)}</dd>
                <dt>"Popularity"</dt><dd>{format!("{:.2}", metadata.popularity)}</dd>
                <dt>"Vote average"</dt><dd>{format!("{:.1}", metadata.vote_average)}</dd>
                <dt>"Mean rating"</dt><dd>{format!("{:.2}", metadata.mean_rating)}</dd>
                <dt>"Days since release"</dt><dd>{format!("{:.0}", metadata.days_since_release)}</dd>
            </dl>
        }
    });
    view! {
        <article class="movie" data-movie=lookup.movie_id.clone()>
            <h3 class="mono">{lookup.movie_id.clone()}</h3>
            {if lookup.in_catalog {
                view! { <p>"In version " <code>{lookup.version.clone()}</code> "'s catalog."</p> }.into_any()
            } else {
                view! { <p class="error">"Not in version " {lookup.version.clone()} "'s catalog."</p> }.into_any()
            }}
            {metadata}
            <dl class="facts">
                <dt>"Recommended in"</dt><dd>{lookup.lists_containing} " of " {lookup.impressions} " lists"</dd>
                <dt>"Exposure share"</dt><dd>{format::percent(lookup.exposure_share)}</dd>
                <dt>"Clicked or watched from a list"</dt><dd>{lookup.clicked}</dd>
            </dl>
        </article>
    }
}
