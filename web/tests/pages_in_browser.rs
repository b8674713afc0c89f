//! Every page's view mounted in headless Chromium with fixtures: a real small model (the
//! `tiny-model` folder `marquee train` wrote) and edge answers as the admin API gives them.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use leptos::prelude::*;
use marquee_data::experiment::{Experiment, ExperimentMode, Variant};
use marquee_data::monitor::{DriftColumn, DriftSummary, FairnessRatio, FairnessSummary};
use marquee_model::manifest::{Evaluation, Manifest};
use marquee_model::recommend::{shard_of, ProfileShard, Recommender};
use marquee_web::api::*;
use marquee_web::browser_model::{profile_from_shard, recommend_explained};
use marquee_web::pages::experiment::{ExperimentEditor, ReadoutView};
use marquee_web::pages::lookup::{MovieView, UserView};
use marquee_web::pages::models::{FolderCheckView, RegistryView};
use marquee_web::pages::overview::OverviewView;
use marquee_web::pages::playground::{PlaygroundInput, PlaygroundView};
use marquee_web::publish::{check_folder, PickedFile};
use marquee_web::session::{Session, TokenPrompt};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MANIFEST: &[u8] = include_bytes!("fixtures/tiny-model/manifest.json");
const RECOMMENDER: &[u8] = include_bytes!("fixtures/tiny-model/recommender.blob");
const SHARDS: [&[u8]; 2] = [
    include_bytes!("fixtures/tiny-model/profiles/00000.blob"),
    include_bytes!("fixtures/tiny-model/profiles/00001.blob"),
];

fn fresh_container() -> web_sys::HtmlElement {
    let document = web_sys::window().and_then(|window| window.document()).expect("a browser document");
    let container = document.create_element("div").expect("create a div");
    document.body().expect("a body").append_child(&container).expect("attach the div");
    container.unchecked_into()
}

/// Lets Leptos run its scheduled effects.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(20).await;
}

fn texts(container: &web_sys::HtmlElement, selector: &str) -> Vec<String> {
    let nodes = container.query_selector_all(selector).expect("query");
    (0..nodes.length()).filter_map(|index| nodes.get(index).and_then(|node| node.text_content())).collect()
}

fn element<T: JsCast>(container: &web_sys::HtmlElement, selector: &str) -> T {
    container.query_selector(selector).expect("query").unwrap_or_else(|| panic!("no {selector}")).unchecked_into()
}

fn click(container: &web_sys::HtmlElement, selector: &str) {
    element::<web_sys::HtmlElement>(container, selector).click();
}

fn fixture_files() -> Vec<PickedFile> {
    let file = |path: &str, bytes: &[u8]| PickedFile { path: format!("tiny-model/{path}"), bytes: bytes.to_vec() };
    vec![
        file("manifest.json", MANIFEST),
        file("recommender.blob", RECOMMENDER),
        file("profiles/00000.blob", SHARDS[0]),
        file("profiles/00001.blob", SHARDS[1]),
    ]
}

#[wasm_bindgen_test]
async fn overview_draws_figures_and_one_chart_per_panel() {
    let container = fresh_container();
    let series = (0..5)
        .map(|step| SeriesPoint {
            start_ms: 1_796_142_480_000.0 + 60_000.0 * f64::from(step),
            requests: 60 * u64::from(step as u32),
            errors: 0,
            fallbacks: u64::from(step as u32),
            p50_ms: (step > 0).then_some(2.0),
            p99_ms: (step > 0).then_some(9.0),
        })
        .collect();
    let summary = Summary {
        now_ms: 1_796_142_780_000.0,
        window_s: 300,
        step_s: 60,
        active_version: Some("m1".into()),
        health: Health { status: "ok".into(), model_loaded: true, storage_reachable: true, ..Health::default() },
        series,
        totals: Totals {
            requests: 600,
            requests_per_second: 2.0,
            p50_ms: Some(2.0),
            p99_ms: Some(9.0),
            fallback_rate: Some(0.0167),
            ..Totals::default()
        },
        variants: vec![VariantSeries {
            variant: Some("control".into()),
            impressions: 600,
            clicked_lists: 300,
            click_rate: Some(0.5),
            points: vec![VariantPoint { start_ms: 1_796_142_480_000.0, impressions: 10, clicked_lists: 5 }],
        }],
        active_since_ms: Some(1_796_142_780_000.0 - 3.0 * 86_400_000.0),
        fallback_reasons: [("model".to_owned(), 7), ("storage".to_owned(), 2)].into_iter().collect(),
        model_load_failures: 1,
        reports: HealthReports {
            drift: Some(DriftSummary {
                generated_ms: 1_796_142_780_000 - 3_600_000,
                share_drifted: 0.5,
                dataset_drifted: true,
                columns: vec![DriftColumn {
                    name: "age".into(),
                    scope: "input".into(),
                    test: "wasserstein".into(),
                    score: 0.25,
                    threshold: 0.1,
                    drifted: true,
                }],
            }),
            fairness: Some(FairnessSummary {
                generated_ms: 1_796_142_780_000 - 7_200_000,
                ratios: vec![FairnessRatio {
                    metric: "ndcg".into(),
                    worst_group: "F 56+".into(),
                    best_group: "M 25-34".into(),
                    ratio: 0.72,
                    flagged: true,
                }],
                exposure_gini: 0.81,
                long_tail_share: 0.05,
            }),
        },
    };
    let _mounted =
        leptos::mount::mount_to(container.clone(), move || view! { <OverviewView summary=summary.clone() /> });
    let figures = texts(&container, ".figure");
    assert!(figures.iter().any(|text| text.contains("Active version") && text.contains("m1")), "{figures:?}");
    assert!(figures.iter().any(|text| text.contains("p99 latency") && text.contains("9.00 ms")), "{figures:?}");
    assert!(figures.iter().any(|text| text.contains("Fallback rate") && text.contains("1.7%")), "{figures:?}");
    let paths = container.query_selector_all("path.line").expect("query");
    assert!(paths.length() >= 6);
    let requests: web_sys::Element = element(&container, "figure[data-chart='Requests per second'] path.line");
    assert_eq!(requests.get_attribute("d").unwrap_or_default().matches('L').count(), 4, "five steps, one line");
    assert!(texts(&container, "table.variants td").contains(&"50.0%".to_owned()));
    // The operator's panels: availability against its objective, model age, fallbacks by
    // reason, and the latest drift and fairness reports.
    assert!(figures.iter().any(|text| text.contains("Availability") && text.contains("100.0%")), "{figures:?}");
    assert!(figures.iter().any(|text| text.contains("Model age") && text.contains("3.0 days")), "{figures:?}");
    assert_eq!(texts(&container, "figure.chart").len(), 7);
    assert_eq!(texts(&container, "table.fallback-reasons td"), ["model", "7", "storage", "2"]);
    let drift = texts(&container, "table.drift caption").join(" ");
    assert!(drift.contains("drifted") && drift.contains("50.0%") && drift.contains("60 minutes"), "{drift}");
    assert_eq!(texts(&container, "table.drift tr.drifted td").first().map(String::as_str), Some("age"));
    let fairness = texts(&container, "table.fairness caption").join(" ");
    assert!(fairness.contains("Gini 0.81") && fairness.contains("5.0%"), "{fairness}");
    assert!(texts(&container, "table.fairness tr.flagged td").contains(&"0.72".to_owned()));
}

#[wasm_bindgen_test]
async fn the_registry_lists_versions_with_their_roles_and_asks_before_activating() {
    let container = fresh_container();
    let mut manifest: Manifest = serde_json::from_slice(MANIFEST).expect("the fixture manifest");
    manifest.evaluation = Some(Evaluation {
        split: "time split".into(),
        k: 20,
        users: 250,
        hit_rate: 0.4,
        ndcg: 0.1875,
        mrr: 0.2,
        coverage: 0.5,
        rated: 90,
        rmse: Some(0.95),
        mae: Some(0.75),
        seconds: 0.3,
    });
    let row = |version: &str, uploaded_ms: f64, manifest: Option<Manifest>| VersionRow {
        version: version.into(),
        uploaded_ms,
        recommender_size: 53_551,
        shard_count: 2,
        movies: 200,
        schema_hash: Some("0123456789abcdef".into()),
        catalog_fingerprint: Some("fedcba9876543210".into()),
        format_version: Some(2),
        profiles_uploaded: 2,
        profile_bytes: 31_718,
        manifest,
    };
    let registry = Registry {
        active: Some("m-new".into()),
        previous: Some("m-old".into()),
        versions: vec![row("m-old", 1.0e12, None), row("m-new", 2.0e12, Some(manifest))],
        default_model: None,
    };
    let experiment = Experiment {
        salt: "s".into(),
        variants: vec![
            Variant { name: "control".into(), version: None, weight: 1 },
            Variant { name: "treatment".into(), version: Some("m-old".into()), weight: 1 },
        ],
        mode: ExperimentMode::Split,
    };
    let activated = RwSignal::new(None::<String>);
    let on_activate = Callback::new(move |version: String| activated.set(Some(version)));
    let on_rollback = Callback::new(|()| {});
    let _mounted = leptos::mount::mount_to(container.clone(), move || {
        view! { <RegistryView registry=registry.clone() experiment=experiment.clone() on_activate on_rollback /> }
    });
    let rows = texts(&container, "tr[data-version]");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("m-new") && rows[0].contains("active") && rows[0].contains("variant control"), "{rows:?}");
    assert!(rows[0].contains("300 users") && rows[0].contains("2/2 profile shards"), "{rows:?}");
    assert!(rows[0].contains("NDCG@20 0.188") && rows[0].contains("RMSE 0.950"), "{rows:?}");
    assert!(rows[1].contains("previous") && rows[1].contains("variant treatment"), "{rows:?}");
    click(&container, "tr[data-version='m-old'] button");
    settle().await;
    assert_eq!(activated.get_untracked(), None, "the first click only asks");
    click(&container, "tr[data-version='m-old'] button.danger");
    settle().await;
    assert_eq!(activated.get_untracked().as_deref(), Some("m-old"));
}

#[wasm_bindgen_test]
async fn a_checked_folder_offers_the_upload_and_a_corrupt_one_is_refused() {
    let good = fresh_container();
    let check = check_folder(&fixture_files());
    let on_published = Callback::new(|()| {});
    let _good = leptos::mount::mount_to(good.clone(), move || {
        provide_context(Session::with_token("t"));
        view! { <FolderCheckView check=check.clone() on_published /> }
    });
    assert_eq!(texts(&good, "tr.passed").len(), 4);
    assert!(texts(&good, "button.primary")[0].starts_with("Upload version m"));

    let bad = fresh_container();
    let mut files = fixture_files();
    files[1].bytes[100] ^= 0x55;
    let check = check_folder(&files);
    let _bad = leptos::mount::mount_to(bad.clone(), move || {
        provide_context(Session::with_token("t"));
        view! { <FolderCheckView check=check.clone() on_published /> }
    });
    assert!(bad.query_selector("button.primary").expect("query").is_none(), "nothing to upload");
    assert!(texts(&bad, "p.refused")[0].contains("Nothing was uploaded"));
    let refused = texts(&bad, "tr.refused");
    assert!(refused[0].contains("recommender.blob") && refused[0].contains("checksum"), "{refused:?}");
}

#[wasm_bindgen_test]
async fn the_experiment_editor_validates_before_saving() {
    let container = fresh_container();
    let saved = RwSignal::new(None::<Experiment>);
    let on_save = Callback::new(move |experiment: Experiment| saved.set(Some(experiment)));
    let _mounted = leptos::mount::mount_to(container.clone(), move || {
        view! { <ExperimentEditor experiment=Experiment::default() versions=vec!["m1".into()] on_save /> }
    });
    let weight: web_sys::HtmlInputElement = element(&container, "input[type='number']");
    weight.set_value("0");
    weight.dispatch_event(&web_sys::Event::new("input").expect("event")).expect("dispatch");
    settle().await;
    click(&container, "button[type='submit']");
    settle().await;
    assert!(saved.get_untracked().is_none());
    assert!(texts(&container, "p.error")[0].contains("weights add up to 0"));
    weight.set_value("3");
    weight.dispatch_event(&web_sys::Event::new("input").expect("event")).expect("dispatch");
    settle().await;
    click(&container, "button[type='submit']");
    settle().await;
    assert_eq!(saved.get_untracked().map(|experiment| experiment.variants[0].weight), Some(3));
}

#[wasm_bindgen_test]
fn the_readout_shows_rates_with_intervals() {
    let container = fresh_container();
    let readout = Readout {
        variants: vec![ReadoutVariant {
            variant: Some("control".into()),
            version: None,
            weight: Some(1),
            impressions: 200,
            clicked_lists: 120,
            click_rate: Some(0.6),
            click_rate_ci: Some((0.531, 0.665)),
            mrr: Some(0.35),
            mrr_ci: Some((0.3, 0.4)),
        }],
        method: "Wilson".into(),
        experiment: Some(ExperimentReadout {
            control: "control".into(),
            sample_ratio: Some(SampleRatio { chi_square: 0.5, p_value: 0.48, mismatch: false }),
            challengers: vec![ChallengerReadout {
                variant: "challenger".into(),
                click_rate: MetricComparison {
                    delta_method: Some(DeltaMethod {
                        difference: -0.12,
                        difference_interval: (-0.2, -0.04),
                        p_value: 0.003,
                        relative: Some(RelativeDifference { value: -0.2, interval: (-0.33, -0.07) }),
                    }),
                },
                mrr: MetricComparison::default(),
                sequential_interval: Some((-0.25, -0.01)),
                decision: DecisionView { decision: "roll_back".into(), reason: None },
            }],
        }),
    };
    let _mounted =
        leptos::mount::mount_to(container.clone(), move || view! { <ReadoutView readout=readout.clone() /> });
    let row = texts(&container, "tr[data-variant='control']");
    assert!(row[0].contains("60.0% (53.1–66.5%)") && row[0].contains("0.350 (0.300–0.400)"), "{row:?}");
    let decision = texts(&container, "section[data-challenger='challenger']");
    assert!(decision[0].contains("Roll back"), "{decision:?}");
    assert!(
        decision[0].contains("Click rate: -12.0 pts (-20.0 to -4.0 pts; p = 0.003), relative -20.0%"),
        "{decision:?}"
    );
    assert!(decision[0].contains("Always-valid 95% interval of the click-rate difference: -25.0 to -1.0 pts"));
    assert!(texts(&container, "p.srm")[0].contains("users match the weights"));
}

fn playground_input(with_edge: bool) -> PlaygroundInput {
    let recommender = Rc::new(Recommender::from_blob(RECOMMENDER).expect("the fixture loads"));
    let (user, profile) = (1..300u64)
        .find_map(|user| {
            let shard = ProfileShard::from_blob(SHARDS[shard_of(user, 2) as usize]).ok()?;
            match profile_from_shard(&recommender, &shard, user).ok()? {
                (profile, true) if profile.has_history() => Some((user, profile)),
                _ => None,
            }
        })
        .expect("a user with history");
    let edge = with_edge.then(|| {
        let items = recommend_explained(&recommender, &profile, recommender.rerank_params(), 20, 5);
        Ok(EdgeList {
            user_id: user,
            items: items
                .iter()
                .map(|item| EdgeItem {
                    movie_id: item.movie_id.clone(),
                    score: f64::from(item.score),
                    source: None,
                    explanation: vec![],
                })
                .collect(),
            model_version: "m1".into(),
            variant: "control".into(),
            seed: "5".into(),
            profile_found: true,
            fallback: None,
        })
    });
    PlaygroundInput {
        version: "m1".into(),
        variant: "control".into(),
        recommender,
        profile,
        found: true,
        typed_demographics: false,
        seed: 5,
        edge,
    }
}

#[wasm_bindgen_test]
async fn the_playground_explains_twenty_items_and_the_sliders_recompute_them() {
    let container = fresh_container();
    let input = playground_input(true);
    let _mounted = leptos::mount::mount_to(container.clone(), move || view! { <PlaygroundView input=input.clone() /> });
    let before = texts(&container, "ol.explained li.item .movie");
    assert_eq!(before.len(), 20);
    assert!(container.query_selector_all("li.item svg.bars g.contribution").expect("query").length() >= 20);
    assert_eq!(texts(&container, ".source").len(), 20);
    let badge = element::<web_sys::Element>(&container, ".badge");
    assert!(badge.class_name().contains("parity-equal"), "{}", badge.text_content().unwrap_or_default());
    assert!(!texts(&container, "ul.seen li").is_empty(), "the history is shown");
    let timing: web_sys::Element = element(&container, ".timing");
    assert!(timing.get_attribute("data-compute-ms").is_some());

    let slider: web_sys::HtmlInputElement = element(&container, "#knob-popularity");
    slider.set_value("1");
    slider.dispatch_event(&web_sys::Event::new("input").expect("event")).expect("dispatch");
    settle().await;
    let moved = texts(&container, "ol.explained li.item .movie");
    assert_eq!(moved.len(), 20);
    assert_ne!(moved, before, "a strong popularity penalty reorders the list");
    click(&container, "fieldset.knobs button");
    settle().await;
    assert_eq!(texts(&container, "ol.explained li.item .movie"), before, "the model's knobs restore it");
    assert!(element::<web_sys::Element>(&container, ".badge").class_name().contains("parity-equal"));
}

#[wasm_bindgen_test]
fn a_broken_edge_answer_turns_the_badge_red_and_a_missing_one_grey() {
    let container = fresh_container();
    let mut input = playground_input(true);
    if let Some(Ok(edge)) = &mut input.edge {
        edge.items[0].score += 1e-3;
    }
    let _mounted = leptos::mount::mount_to(container.clone(), move || view! { <PlaygroundView input=input.clone() /> });
    assert!(element::<web_sys::Element>(&container, ".badge").class_name().contains("parity-different"));
    let grey = fresh_container();
    let input = playground_input(false);
    let _grey = leptos::mount::mount_to(grey.clone(), move || view! { <PlaygroundView input=input.clone() /> });
    assert!(element::<web_sys::Element>(&grey, ".badge").class_name().contains("parity-na"));
}

#[wasm_bindgen_test]
fn user_and_movie_lookups_render_what_the_edge_knows() {
    let container = fresh_container();
    let user = UserLookup {
        user_id: 42,
        variant: "control".into(),
        version: "m1".into(),
        shard: Some(1),
        profile: Some(ProfileView {
            demographics: DemographicsView {
                age: Some(31),
                gender: Some("F".into()),
                occupation: Some("writer".into()),
            },
            segment: "F/25-34".into(),
            interactions: 12,
            ratings: 3,
            mean_rating: Some(4.0),
            seen: vec!["alien+1979".into(), "heat+1995".into()],
            latest: vec!["heat+1995".into(), "alien+1979".into()],
        }),
        recent: Vec::new(),
    };
    let movie = MovieLookup {
        movie_id: "alien+1979".into(),
        version: "m1".into(),
        in_catalog: true,
        metadata: Some(MovieMetadata {
            year: 1979.0,
            genres: vec!["Horror".into(), "Science Fiction".into()],
            ..MovieMetadata::default()
        }),
        lists_containing: 5,
        impressions: 50,
        exposure_share: Some(0.1),
        clicked: 2,
    };
    let _mounted = leptos::mount::mount_to(container.clone(), move || {
        view! { <UserView lookup=user.clone() /> <MovieView lookup=movie.clone() /> }
    });
    let text = container.text_content().unwrap_or_default();
    for wanted in ["User 42", "writer", "F/25-34", "alien+1979", "Horror, Science Fiction", "5 of 50 lists", "10.0%"] {
        assert!(text.contains(wanted), "{wanted:?} missing from {text}");
    }
    assert_eq!(texts(&container, "dd.latest"), vec!["heat+1995, alien+1979".to_owned()], "latest first");
}

#[wasm_bindgen_test]
async fn the_token_prompt_refuses_an_empty_token() {
    let container = fresh_container();
    let session = Session::with_token("x");
    session.sign_out(Some("the edge refused the admin token (401): type it again".into()));
    let _mounted = leptos::mount::mount_to(container.clone(), move || {
        provide_context(session);
        view! { <TokenPrompt /> }
    });
    assert!(texts(&container, "p.error")[0].contains("401"));
    click(&container, "button[type='submit']");
    settle().await;
    assert!(container.text_content().unwrap_or_default().contains("Type the admin token"));
    let input: web_sys::HtmlInputElement = element(&container, "#admin-token");
    input.set_value("s3cret");
    input.dispatch_event(&web_sys::Event::new("input").expect("event")).expect("dispatch");
    click(&container, "button[type='submit']");
    settle().await;
    assert_eq!(session.token_untracked(), "s3cret");
}
