//! Playground: the served model running in this page. It downloads the user's version and
//! profile shard from the edge (once; they are cached for the page's life), computes the
//! list here with `marquee-model`, explains every item, lets the reranker's knobs be moved,
//! and checks the list against the edge's own answer bit for bit.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::prelude::*;
use marquee_data::parse_user_id;
use marquee_model::recommend::{
    shard_of, Demographics, GenderCode, ProfileShard, Recommender, RerankParams, UserProfile,
};

use crate::api::{self, ApiError, EdgeList, UserLookup};
use crate::browser_model::{compare_with_edge, profile_from_shard, recommend_explained, source_label, Parity};
use crate::components::{BarChart, ErrorNote};
use crate::session::use_session;

/// How many movies the playground lists (the edge's `/recommend` contract).
const LIST_LENGTH: usize = 20;

/// A downloaded profile shard (`None`: the version has no such shard), by version and number.
type ShardCache = HashMap<(String, u32), Option<Rc<ProfileShard>>>;

thread_local! {
    /// Decoded recommenders by version, and profile shards by (version, shard): downloaded
    /// once per page load.
    static RECOMMENDERS: RefCell<HashMap<String, Rc<Recommender>>> = RefCell::new(HashMap::new());
    static SHARDS: RefCell<ShardCache> = RefCell::new(HashMap::new());
}

/// Milliseconds from `performance.now()` (what the budgets are measured with).
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|window| window.performance()).map_or(0.0, |performance| performance.now())
}

/// A version's recommender, from the page's cache or the edge.
async fn recommender(version: &str, token: &str) -> Result<Rc<Recommender>, ApiError> {
    if let Some(cached) = RECOMMENDERS.with(|cache| cache.borrow().get(version).cloned()) {
        return Ok(cached);
    }
    let path = format!("/v1/admin/models/{}/recommender", api::segment(version));
    let bytes = api::get_bytes(&path, token).await?;
    let decoded = Recommender::from_blob(&bytes)
        .map_err(|error| ApiError::Decode(format!("version {version}'s recommender does not load: {error}")))?;
    let decoded = Rc::new(decoded);
    RECOMMENDERS.with(|cache| cache.borrow_mut().insert(version.to_owned(), decoded.clone()));
    Ok(decoded)
}

/// A profile shard from the page's cache or the edge; `None` when the version has none.
async fn shard(version: &str, number: u32, token: &str) -> Result<Option<Rc<ProfileShard>>, ApiError> {
    let key = (version.to_owned(), number);
    if let Some(cached) = SHARDS.with(|cache| cache.borrow().get(&key).cloned()) {
        return Ok(cached);
    }
    let path = format!("/v1/admin/models/{}/profiles/{number}", api::segment(version));
    let decoded = match api::get_bytes(&path, token).await {
        Ok(bytes) => Some(Rc::new(
            ProfileShard::from_blob(&bytes)
                .map_err(|error| ApiError::Decode(format!("profile shard {number} does not load: {error}")))?,
        )),
        Err(ApiError::Status { status: 404, .. }) => None,
        Err(error) => return Err(error),
    };
    SHARDS.with(|cache| cache.borrow_mut().insert(key, decoded.clone()));
    Ok(decoded)
}

/// Everything one playground run needs, downloaded.
#[derive(Clone)]
pub struct PlaygroundInput {
    pub version: String,
    pub variant: String,
    pub recommender: Rc<Recommender>,
    pub profile: UserProfile,
    /// Whether the profile came from the published shard (false: cold).
    pub found: bool,
    /// Whether the demographics were typed here (the edge cannot know them: no parity).
    pub typed_demographics: bool,
    pub seed: u64,
    /// The edge's answer for the same version, user and seed.
    pub edge: Option<Result<EdgeList, ApiError>>,
}

/// What the form asks for.
#[derive(Clone, Debug, Default, PartialEq)]
struct Request {
    user: String,
    seed: String,
    demographics: Option<Demographics>,
}

async fn load(request: Request, token: String) -> Result<PlaygroundInput, ApiError> {
    let bad = |message: String| ApiError::Status { status: 400, message };
    let user_id = parse_user_id(request.user.trim()).map_err(|error| bad(error.to_string()))?;
    let seed: u64 = request.seed.trim().parse().map_err(|_| bad("the seed is a whole number".into()))?;
    let lookup: UserLookup = api::get_json(&format!("/v1/admin/users/{user_id}"), &token).await?;
    let recommender = recommender(&lookup.version, &token).await?;
    let typed_demographics = request.demographics.is_some();
    let (profile, found) = match request.demographics {
        Some(demographics) => (UserProfile::cold(user_id, demographics), false),
        None => {
            let number = shard_of(user_id, recommender.shard_count());
            match shard(&lookup.version, number, &token).await? {
                Some(shard) => profile_from_shard(&recommender, &shard, user_id)
                    .map_err(|error| ApiError::Decode(error.to_string()))?,
                None => (UserProfile::cold(user_id, Demographics::default()), false),
            }
        }
    };
    let edge = if typed_demographics {
        None
    } else {
        let path = format!(
            "/v1/admin/recommend/{user_id}?version={}&seed={seed}&n={LIST_LENGTH}",
            api::segment(&lookup.version)
        );
        Some(api::get_json::<EdgeList>(&path, &token).await)
    };
    Ok(PlaygroundInput {
        version: lookup.version,
        variant: lookup.variant,
        recommender,
        profile,
        found,
        typed_demographics,
        seed,
        edge,
    })
}

/// The page: the form, then the list computed here.
#[component]
pub fn PlaygroundPage() -> impl IntoView {
    let session = use_session();
    let user = RwSignal::new(String::from("1"));
    let seed = RwSignal::new(String::from("1"));
    let cold = RwSignal::new(false);
    let age = RwSignal::new(String::new());
    let gender = RwSignal::new(String::new());
    let occupation = RwSignal::new(String::new());
    let result = RwSignal::new_local(None::<Result<PlaygroundInput, ApiError>>);
    let busy = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let demographics = cold.get_untracked().then(|| Demographics {
            age: age.get_untracked().trim().parse().ok(),
            gender: match gender.get_untracked().as_str() {
                "M" => Some(GenderCode::Male),
                "F" => Some(GenderCode::Female),
                "O" => Some(GenderCode::Other),
                _ => None,
            },
            occupation: occupation.get_untracked().trim().parse().ok(),
        });
        let request = Request { user: user.get_untracked(), seed: seed.get_untracked(), demographics };
        let token = session.token_untracked();
        busy.set(true);
        // The previous user's list goes at once: it must never be read as this request's.
        result.set(None);
        leptos::task::spawn_local(async move {
            let loaded = session.check(load(request, token).await);
            busy.set(false);
            result.set(Some(loaded));
        });
    };
    view! {
        <section class="page playground">
            <h2>"Playground"</h2>
            <p class="note">"The list below is computed in this page by the same model crate the edge runs, then compared with the edge's answer."</p>
            <form class="playground-form" on:submit=submit>
                <label for="pg-user">"User id"</label>
                <input id="pg-user" inputmode="numeric" prop:value=user on:input=move |ev| user.set(event_target_value(&ev)) />
                <label for="pg-seed">"Request seed"</label>
                <input id="pg-seed" inputmode="numeric" prop:value=seed on:input=move |ev| seed.set(event_target_value(&ev)) />
                <label class="check"><input id="pg-cold" type="checkbox" prop:checked=cold on:change=move |ev| cold.set(event_target_checked(&ev)) />" Cold user: use these demographics"</label>
                <Show when=move || cold.get()>
                    <label for="pg-age">"Age"</label>
                    <input id="pg-age" type="number" min="1" max="120" prop:value=age on:input=move |ev| age.set(event_target_value(&ev)) />
                    <label for="pg-gender">"Gender"</label>
                    <select id="pg-gender" on:change=move |ev| gender.set(event_target_value(&ev))>
                        <option value="">"unknown"</option><option value="M">"M"</option><option value="F">"F"</option><option value="O">"other"</option>
                    </select>
                    <label for="pg-occupation">"Occupation (index)"</label>
                    <input id="pg-occupation" type="number" min="0" prop:value=occupation on:input=move |ev| occupation.set(event_target_value(&ev)) />
                </Show>
                <button type="submit" class="primary" disabled=move || busy.get()>"Recommend in the browser"</button>
            </form>
            {move || busy.get().then(|| view! { <p class="note">"Downloading the model and the profile…"</p> })}
            {move || result.get().map(|result| match result {
                Ok(input) => view! { <PlaygroundView input /> }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
        </section>
    }
}

/// One loaded user: the knobs, the list computed here, its parity with the edge, and the
/// user's history.
#[component]
pub fn PlaygroundView(input: PlaygroundInput) -> impl IntoView {
    let model_knobs = *input.recommender.rerank_params();
    let knobs = RwSignal::new(model_knobs);
    // Decoded models are not `Send`: the page keeps them in local storage.
    let stored = StoredValue::new_local(input.clone());

    // Parity is checked on the model's own knobs, whatever the sliders say.
    let parity = match &input.edge {
        None => Parity::NotApplicable("demographics typed here: the edge has no such profile".into()),
        Some(Err(error)) => Parity::NotApplicable(format!("the edge's list could not be fetched: {error}")),
        Some(Ok(edge)) => {
            let ours = recommend_explained(&input.recommender, &input.profile, &model_knobs, LIST_LENGTH, input.seed);
            compare_with_edge(&ours, edge, &input.version)
        }
    };
    let (badge_class, badge_text) = match &parity {
        Parity::Equal { items } => {
            ("badge parity-equal", format!("Parity: {items} items, ids and score bits equal to the edge's"))
        }
        Parity::Different(reason) => ("badge parity-different", format!("Parity broken: {reason}")),
        Parity::NotApplicable(reason) => ("badge parity-na", format!("Parity not checked: {reason}")),
    };

    let list = move || {
        let knobs = knobs.get();
        if let Err(error) = knobs.validate() {
            return view! { <p class="error">{error.to_string()}</p> }.into_any();
        }
        let started = now_ms();
        let items = stored.with_value(|input| {
            recommend_explained(&input.recommender, &input.profile, &knobs, LIST_LENGTH, input.seed)
        });
        let elapsed = now_ms() - started;
        let rows = items
            .into_iter()
            .enumerate()
            .map(|(rank, item)| {
                view! {
                    <li class="item" data-movie=item.movie_id.clone()>
                        <div class="item-head">
                            <span class="rank">{rank + 1}</span>
                            <span class="mono movie">{item.movie_id.clone()}</span>
                            <span class="score">{format!("{:.4}", item.score)}</span>
                            <span class=format!("source source-{}", item.source.name())>{source_label(item.source)}</span>
                        </div>
                        <BarChart bars=item.contributions.clone() />
                    </li>
                }
            })
            .collect_view();
        view! {
            <p class="note timing" data-compute-ms=format!("{elapsed:.3}")>{format!("Computed in this page in {elapsed:.1} ms.")}</p>
            <ol class="explained">{rows}</ol>
        }
        .into_any()
    };

    let slider = move |id: &'static str,
                       label: &'static str,
                       max: f32,
                       step: f32,
                       get: fn(&RerankParams) -> f32,
                       set: fn(&mut RerankParams, f32)| {
        view! {
            <label for=id>{label} " " <output>{move || format!("{:.2}", get(&knobs.get()))}</output></label>
            <input id=id type="range" min="0" max=max.to_string() step=step.to_string()
                prop:value=move || get(&knobs.get()).to_string()
                on:input=move |ev| { let value: f32 = event_target_value(&ev).parse().unwrap_or(0.0); knobs.update(|knobs| set(knobs, value)) } />
        }
    };
    let history = history_view(&input);
    view! {
        <div class="playground-result" data-version=input.version.clone()>
            <p>
                "Version " <code>{input.version.clone()}</code> " (variant " {input.variant.clone()} "), user " {input.profile.user_id}
                ", seed " {input.seed} ", " {input.recommender.catalog().len()} " movies."
            </p>
            <p class=badge_class role="status">{badge_text}</p>
            <fieldset class="knobs">
                <legend>"Reranker"</legend>
                {slider("knob-diversity", "Diversity (MMR λ)", 1.0, 0.05, |k| k.diversity, |k, v| k.diversity = v)}
                {slider("knob-popularity", "Popularity penalty", 1.0, 0.05, |k| k.popularity_penalty, |k, v| k.popularity_penalty = v)}
                {slider("knob-exploration", "Exploration slots", 5.0, 1.0, |k| k.exploration_slots as f32, |k, v| k.exploration_slots = v.max(0.0) as usize)}
                <button type="button" on:click=move |_| knobs.set(model_knobs)>"The model's knobs"</button>
            </fieldset>
            {list}
            {history}
        </div>
    }
}

fn history_view(input: &PlaygroundInput) -> impl IntoView + use<> {
    let profile = &input.profile;
    let catalog = input.recommender.catalog();
    let occupation = profile
        .demographics
        .occupation
        .and_then(|code| catalog.occupations.get(usize::from(code)).cloned())
        .unwrap_or_else(|| "unknown".into());
    let seen: Vec<String> =
        profile.seen.iter().filter_map(|&item| input.recommender.movie_id(item).map(str::to_owned)).collect();
    let origin = match (input.found, input.typed_demographics) {
        (true, _) => "published profile",
        (false, true) => "cold, demographics typed here",
        (false, false) => "cold: the user has no published profile",
    };
    view! {
        <section class="history">
            <h3>"The user"</h3>
            <p>
                {origin} ": age " {profile.demographics.age.map_or("unknown".into(), |age| age.to_string())}
                ", gender " {profile.demographics.gender_label()} ", occupation " {occupation}
                ", " {profile.interactions} " interactions, " {profile.ratings} " ratings (mean " {format!("{:.2}", profile.mean_rating)} ")."
            </p>
            {if seen.is_empty() {
                view! { <p class="note">"No history."</p> }.into_any()
            } else {
                view! { <ul class="seen">{seen.into_iter().map(|id| view! { <li class="mono">{id}</li> }).collect_view()}</ul> }.into_any()
            }}
        </section>
    }
}
