//! Experiment: the variants, their versions, weights and salt, edited and validated here
//! with the edge's own rules, and the readout with 95% intervals.

use leptos::prelude::*;
use marquee_data::experiment::{Experiment, ExperimentMode, Variant};

use crate::api::{self, ApiError, ExperimentReadout, MetricComparison, Readout, Registry, SendMethod};
use crate::components::ErrorNote;
use crate::format;
use crate::session::use_session;

/// The page.
#[component]
pub fn ExperimentPage() -> impl IntoView {
    let session = use_session();
    let reload = RwSignal::new(0u32);
    let loaded = LocalResource::new(move || {
        reload.track();
        let token = session.token().unwrap_or_default();
        async move {
            let experiment = session.check(api::get_json::<Experiment>("/v1/admin/experiment", &token).await)?;
            let registry = session.check(api::get_json::<Registry>("/v1/admin/models", &token).await)?;
            let readout = session.check(api::get_json::<Readout>("/v1/admin/readout", &token).await)?;
            Ok::<_, ApiError>((experiment, registry, readout))
        }
    });
    let saved = RwSignal::new(None::<Result<(), ApiError>>);
    let on_save = Callback::new(move |experiment: Experiment| {
        let token = session.token_untracked();
        leptos::task::spawn_local(async move {
            let result = session
                .check(api::send_json(SendMethod::Put, "/v1/admin/experiment", &token, Some(&experiment)).await)
                .map(drop);
            saved.set(Some(result));
            reload.update(|count| *count += 1);
        });
    });
    view! {
        <section class="page experiment">
            <h2>"Experiment"</h2>
            {move || saved.get().map(|saved| match saved {
                Ok(()) => view! { <p class="ok" role="status">"Saved: the edge assigns users by it within seconds."</p> }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="note">"Loading the experiment…"</p> }>
                {move || loaded.get().map(|result| result.map(|(experiment, registry, readout)| {
                    let versions = registry.versions.iter().map(|row| row.version.clone()).collect();
                    view! {
                        <ExperimentEditor experiment versions on_save />
                        <ReadoutView readout />
                    }
                }))}
            </Transition>
        </section>
    }
}

/// Edits an experiment; "Save" validates it with [`Experiment::validate`] first and only
/// calls `on_save` when it passes.
#[component]
pub fn ExperimentEditor(experiment: Experiment, versions: Vec<String>, on_save: Callback<Experiment>) -> impl IntoView {
    let salt = RwSignal::new(experiment.salt.clone());
    let rows = RwSignal::new(experiment.variants.clone());
    let interleave = RwSignal::new(experiment.mode == ExperimentMode::Interleave);
    let problem = RwSignal::new(None::<String>);
    let versions = StoredValue::new(versions);
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let mode = if interleave.get_untracked() { ExperimentMode::Interleave } else { ExperimentMode::Split };
        let edited = Experiment { salt: salt.get_untracked(), variants: rows.get_untracked(), mode };
        match edited.validate() {
            Ok(()) => {
                problem.set(None);
                on_save.run(edited);
            }
            Err(error) => problem.set(Some(error.to_string())),
        }
    };
    let row_view = move |index: usize, variant: Variant| {
        let update = move |change: &dyn Fn(&mut Variant)| {
            rows.update(|rows| {
                if let Some(row) = rows.get_mut(index) {
                    change(row)
                }
            })
        };
        let chosen = variant.version.clone().unwrap_or_default();
        view! {
            <tr class="variant">
                <td><input aria-label=format!("variant {} name", index + 1) prop:value=variant.name.clone()
                    on:input=move |ev| { let name = event_target_value(&ev); update(&|row| row.name = name.clone()) } /></td>
                <td>
                    <select aria-label=format!("variant {} version", index + 1)
                        on:change=move |ev| { let value = event_target_value(&ev); update(&|row| row.version = (!value.is_empty()).then(|| value.clone())) }>
                        <option value="" selected=chosen.is_empty()>"the active version"</option>
                        {versions.get_value().into_iter().map(|version| {
                            let selected = version == chosen;
                            view! { <option value=version.clone() selected=selected>{version.clone()}</option> }
                        }).collect_view()}
                    </select>
                </td>
                <td><input aria-label=format!("variant {} weight", index + 1) type="number" min="0" prop:value=variant.weight.to_string()
                    on:input=move |ev| { let weight = event_target_value(&ev).parse().unwrap_or(0); update(&|row| row.weight = weight) } /></td>
                <td><button type="button" on:click=move |_| rows.update(|rows| { if index < rows.len() { rows.remove(index); } })>"Remove"</button></td>
            </tr>
        }
    };
    view! {
        <form class="experiment-editor" on:submit=save>
            <table>
                <thead><tr><th>"Variant"</th><th>"Serves"</th><th class="number">"Weight"</th><th></th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().enumerate().map(|(index, variant)| row_view(index, variant)).collect_view()}
                </tbody>
            </table>
            <div class="row">
                <button type="button" on:click=move |_| rows.update(|rows| {
                    let name = format!("variant{}", rows.len() + 1);
                    rows.push(Variant { name, version: None, weight: 1 });
                })>"Add a variant"</button>
                <label for="salt">"Salt"</label>
                <input id="salt" prop:value=salt on:input=move |ev| salt.set(event_target_value(&ev)) />
                <label><input type="checkbox" name="interleave" prop:checked=interleave
                    on:change=move |ev| interleave.set(event_target_checked(&ev)) />" Interleave the two variants"</label>
                <button type="submit" class="primary">"Save"</button>
            </div>
            <p class="note">"Users are assigned by a hash of the salt and their id: changing the salt reshuffles everyone. Interleaving shows every user one list drafted from both variants' lists and credits each click to the variant that contributed the movie; weights are then ignored."</p>
            {move || problem.get().map(|problem| view! { <p class="error" role="alert">{problem}</p> })}
        </form>
    }
}

/// The readout table.
#[component]
pub fn ReadoutView(readout: Readout) -> impl IntoView {
    let rows = readout
        .variants
        .into_iter()
        .map(|variant| {
            view! {
                <tr data-variant=variant.variant.clone().unwrap_or_default()>
                    <td>{variant.variant.clone().unwrap_or_else(|| "(none)".into())}</td>
                    <td class="mono">{variant.version.clone().unwrap_or_else(|| "active".into())}</td>
                    <td class="number">{variant.weight.map_or("–".into(), |weight| weight.to_string())}</td>
                    <td class="number">{variant.impressions}</td>
                    <td class="number">{variant.clicked_lists}</td>
                    <td class="number">{format::percent(variant.click_rate)} " (" {format::percent_interval(variant.click_rate_ci)} ")"</td>
                    <td class="number">{variant.mrr.map_or("–".into(), |mrr| format!("{mrr:.3}"))} " (" {format::interval(variant.mrr_ci)} ")"</td>
                </tr>
            }
        })
        .collect_view();
    let decisions = readout.experiment.map(|experiment| view! { <ExperimentDecision experiment /> });
    view! {
        <table class="readout">
            <caption>"Readout (95% intervals)"</caption>
            <thead><tr><th>"Variant"</th><th>"Version"</th><th class="number">"Weight"</th><th class="number">"Impressions"</th><th class="number">"Clicked lists"</th><th class="number">"Click rate"</th><th class="number">"MRR"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="note">{readout.method}</p>
        {decisions}
    }
}

/// Each challenger's comparison with the control, per user, and the decision.
#[component]
fn ExperimentDecision(experiment: ExperimentReadout) -> impl IntoView {
    let signed = |value: f64| format!("{:+.1} pts", value * 100.0);
    let points = move |(low, high): (f64, f64)| format!("{:+.1} to {:+.1} pts", low * 100.0, high * 100.0);
    let srm = experiment.sample_ratio.map(|check| {
        let verdict =
            if check.mismatch { "MISMATCH: the split is broken, no decision" } else { "users match the weights" };
        view! {
            <p class="srm" class:bad=check.mismatch>
                {format!("Sample ratio check: chi-square {:.2}, p = {:.4}: {verdict}", check.chi_square, check.p_value)}
            </p>
        }
    });
    let control = experiment.control.clone();
    let challengers = experiment
        .challengers
        .into_iter()
        .map(|challenger| {
            let label = match challenger.decision.decision.as_str() {
                "promote" => "Promote",
                "roll_back" => "Roll back",
                "keep_running" => "Keep running",
                "blocked" => "Blocked",
                _ => "Unknown",
            };
            let metric = |name: &'static str, comparison: &MetricComparison| {
                comparison.delta_method.as_ref().map(|delta| {
                    let relative = delta.relative.as_ref().map_or(String::new(), |relative| {
                        format!(
                            ", relative {:+.1}% ({:+.1}% to {:+.1}%)",
                            relative.value * 100.0,
                            relative.interval.0 * 100.0,
                            relative.interval.1 * 100.0
                        )
                    });
                    view! {
                        <li>{format!("{name}: {} ({}; p = {:.3}){relative}", signed(delta.difference), points(delta.difference_interval), delta.p_value)}</li>
                    }
                })
            };
            let sequential = challenger.sequential_interval.map(|interval| {
                view! { <li>{format!("Always-valid 95% interval of the click-rate difference: {}", points(interval))}</li> }
            });
            view! {
                <section class="decision" data-challenger=challenger.variant.clone()>
                    <h3>{format!("{} against {}: ", challenger.variant, control)}<span class="badge" data-decision=challenger.decision.decision.clone()>{label}</span></h3>
                    {challenger.decision.reason.clone().map(|reason| view! { <p class="note">{reason}</p> })}
                    <ul>
                        {metric("Click rate", &challenger.click_rate)}
                        {metric("MRR", &challenger.mrr)}
                        {sequential}
                    </ul>
                </section>
            }
        })
        .collect_view();
    view! {
        <div class="experiment-readout">
            <h2>"Decision (per user, since the experiment was set)"</h2>
            {srm}
            {challengers}
            <p class="note">"Differences are per user by the delta method, with 95% intervals. The decision uses the always-valid interval, so it may be read at any time: promote when it lies above 0, roll back when below, keep running while it contains 0 or an arm has fewer than 100 users. Lists are credited by recommendation id here; `marquee experiment report` also credits id-less stream lines."</p>
        </div>
    }
}
