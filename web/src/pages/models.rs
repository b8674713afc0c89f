//! Models: the registry (every uploaded version, which serves where), activate and roll
//! back, and publishing a models folder from disk after checking it in the browser.

use leptos::prelude::*;
use marquee_data::experiment::Experiment;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError, Registry, SendMethod, VersionRow};
use crate::components::{ConfirmButton, ErrorNote};
use crate::format;
use crate::publish::{check_folder, FolderCheck, PickedFile, PublishPlan};
use crate::session::use_session;

/// The page: the registry and the publish panel.
#[component]
pub fn ModelsPage() -> impl IntoView {
    let session = use_session();
    let reload = RwSignal::new(0u32);
    let registry = LocalResource::new(move || {
        reload.track();
        let token = session.token().unwrap_or_default();
        async move {
            let registry = session.check(api::get_json::<Registry>("/v1/admin/models", &token).await)?;
            let experiment = session.check(api::get_json::<Experiment>("/v1/admin/experiment", &token).await)?;
            Ok::<_, ApiError>((registry, experiment))
        }
    });
    let outcome = RwSignal::new(None::<Result<String, ApiError>>);
    let run = move |method: SendMethod, path: String, done: String| {
        let token = session.token_untracked();
        leptos::task::spawn_local(async move {
            let result = session.check(api::send_json::<()>(method, &path, &token, None).await).map(|_| done);
            outcome.set(Some(result));
            reload.update(|count| *count += 1);
        });
    };
    let on_activate = Callback::new(move |version: String| {
        run(
            SendMethod::Post,
            format!("/v1/admin/models/{}/activate", api::segment(&version)),
            format!("Version {version} is active."),
        )
    });
    let on_rollback = Callback::new(move |()| {
        run(SendMethod::Post, "/v1/admin/rollback".into(), "Rolled back to the previous version.".into())
    });
    let on_published = Callback::new(move |()| reload.update(|count| *count += 1));
    view! {
        <section class="page models">
            <h2>"Models"</h2>
            {move || outcome.get().map(|outcome| match outcome {
                Ok(message) => view! { <p class="ok" role="status">{message}</p> }.into_any(),
                Err(error) => view! { <ErrorNote error /> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="note">"Loading the registry…"</p> }>
                {move || registry.get().map(|result| result.map(|(registry, experiment)| view! {
                    <RegistryView registry experiment on_activate on_rollback />
                }))}
            </Transition>
        </section>
        <PublishPanel on_published />
    }
}

/// Which variants serve `version` (by name), and whether it is active or previous.
pub fn serving(version: &str, registry: &Registry, experiment: &Experiment) -> Vec<String> {
    let active = registry.active.as_deref() == Some(version);
    let mut roles = Vec::new();
    if active {
        roles.push("active".to_owned());
    }
    if registry.previous.as_deref() == Some(version) {
        roles.push("previous".to_owned());
    }
    for variant in &experiment.variants {
        let serves = match &variant.version {
            Some(named) => named == version,
            None => active,
        };
        if serves {
            roles.push(format!("variant {}", variant.name));
        }
    }
    roles
}

/// The registry table.
#[component]
pub fn RegistryView(
    registry: Registry,
    experiment: Experiment,
    on_activate: Callback<String>,
    on_rollback: Callback<()>,
) -> impl IntoView {
    let mut versions = registry.versions.clone();
    versions.sort_by(|a, b| b.uploaded_ms.total_cmp(&a.uploaded_ms));
    let rows = versions
        .into_iter()
        .map(|row| {
            let roles = serving(&row.version, &registry, &experiment);
            let active = registry.active.as_deref() == Some(row.version.as_str());
            view! { <VersionRowView row roles active on_activate /> }
        })
        .collect_view();
    let default_row = registry.default_model.clone().map(|model| {
        view! {
            <p class="note">
                "Embedded in the Worker (served when nothing else can be): " {model.movies} " movies, "
                {format::bytes(model.recommender_size)} ", schema " {model.schema_hash.unwrap_or_default()}
                {if registry.active.is_none() { " — serving now" } else { "" }}
            </p>
        }
    });
    let previous = registry.previous.clone();
    view! {
        <div class="registry">
            <table class="versions">
                <thead>
                    <tr>
                        <th>"Version"</th><th>"Uploaded (UTC)"</th><th>"Blobs"</th><th>"Schema / catalog"</th>
                        <th>"Training"</th><th>"Serves"</th><th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {default_row}
            {previous.map(|previous| view! {
                <div class="actions">
                    <ConfirmButton label=format!("Roll back to {previous}") on_confirm=on_rollback />
                </div>
            })}
        </div>
    }
}

/// One version's row.
#[component]
fn VersionRowView(row: VersionRow, roles: Vec<String>, active: bool, on_activate: Callback<String>) -> impl IntoView {
    let training = row.manifest.as_ref().map_or_else(
        || "no manifest uploaded".to_owned(),
        |manifest| {
            format!(
                "{} users, {} movies, {} interactions, fitted in {:.1} s",
                manifest.users, manifest.movies, manifest.interactions, manifest.train_seconds
            )
        },
    );
    let evaluation = row.manifest.as_ref().and_then(|manifest| manifest.evaluation.clone()).map(|evaluation| {
        let k = evaluation.k;
        let rmse =
            evaluation.rmse.map_or(String::new(), |rmse| format!(", RMSE {rmse:.3} on {} ratings", evaluation.rated));
        view! {
            <div class="evaluation" title=evaluation.split.clone()>
                {format!(
                    "held out: NDCG@{k} {:.3}, HR@{k} {:.3}, MRR {:.3}, coverage {:.1}% ({} users){rmse}",
                    evaluation.ndcg,
                    evaluation.hit_rate,
                    evaluation.mrr,
                    evaluation.coverage * 100.0,
                    evaluation.users
                )}
            </div>
        }
    });
    let version = row.version.clone();
    view! {
        <tr data-version=row.version.clone() class:active=active>
            <td class="mono">{row.version.clone()}</td>
            <td>{format::date_time(row.uploaded_ms)}</td>
            <td>
                "recommender " {format::bytes(row.recommender_size)} " (format " {row.format_version.map_or("?".into(), |v| v.to_string())} ", " {row.movies} " movies); "
                {row.profiles_uploaded} "/" {row.shard_count} " profile shards, " {format::bytes(row.profile_bytes)}
            </td>
            <td class="mono">{row.schema_hash.clone().unwrap_or_default()} " / " {row.catalog_fingerprint.clone().unwrap_or_default()}</td>
            <td>{training} {evaluation}</td>
            <td>{if roles.is_empty() { "–".to_owned() } else { roles.join(", ") }}</td>
            <td>
                {(!active).then(|| view! {
                    <ConfirmButton label=format!("Activate {version}") on_confirm=Callback::new(move |()| on_activate.run(version.clone())) />
                })}
            </td>
        </tr>
    }
}

/// Reads the picked files (with their folder-relative paths when a folder was picked).
async fn read_picked(files: web_sys::FileList) -> Result<Vec<PickedFile>, String> {
    let mut picked = Vec::new();
    for index in 0..files.length() {
        let Some(file) = files.get(index) else { continue };
        let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
            .ok()
            .and_then(|path| path.as_string())
            .filter(|path| !path.is_empty());
        let path = relative.unwrap_or_else(|| file.name());
        let bytes = gloo_file::futures::read_as_bytes(&gloo_file::File::from(file))
            .await
            .map_err(|error| format!("could not read {path}: {error}"))?;
        picked.push(PickedFile { path, bytes });
    }
    Ok(picked)
}

/// Picks a models folder (or its files), checks it in the browser, and uploads it only if
/// every file passed.
#[component]
pub fn PublishPanel(on_published: Callback<()>) -> impl IntoView {
    let check = RwSignal::new(None::<Result<FolderCheck, String>>);
    let on_pick = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(files) = input.files() else { return };
        check.set(None);
        leptos::task::spawn_local(async move {
            check.set(Some(read_picked(files).await.map(|files| check_folder(&files))));
        });
    };
    view! {
        <section class="page publish">
            <h2>"Publish a version"</h2>
            <p class="note">"Pick the folder " <code>"marquee train --out"</code> " wrote, or its files. Each blob is loaded here with the model crate first; nothing is sent unless every file passes."</p>
            <div class="pickers">
                <label for="pick-folder">"Models folder"</label>
                <input id="pick-folder" type="file" prop:webkitdirectory=true multiple on:change=on_pick />
                <label for="pick-files">"or files"</label>
                <input id="pick-files" type="file" multiple accept=".blob,.json" on:change=on_pick />
            </div>
            {move || check.get().map(|result| match result {
                Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Ok(check) => view! { <FolderCheckView check on_published /> }.into_any(),
            })}
        </section>
    }
}

/// The check's report, and the upload button when it passed.
#[component]
pub fn FolderCheckView(check: FolderCheck, on_published: Callback<()>) -> impl IntoView {
    let rows = check
        .reports
        .iter()
        .map(|report| {
            let (class, verdict) = match &report.verdict {
                Ok(()) if report.kind == "ignored" => ("ignored", "ignored".to_owned()),
                Ok(()) => ("passed", "ok".to_owned()),
                Err(why) => ("refused", why.clone()),
            };
            view! {
                <tr class=class data-path=report.path.clone()>
                    <td class="mono">{report.path.clone()}</td>
                    <td>{report.kind.clone()}</td>
                    <td class="number">{format::bytes(report.bytes as u64)}</td>
                    <td class="mono">{report.hash.clone().unwrap_or_default()}</td>
                    <td>{report.detail.clone()}</td>
                    <td class="verdict">{verdict}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="folder-check">
            <thead><tr><th>"File"</th><th>"Kind"</th><th>"Size"</th><th>"Header hash"</th><th>"Holds"</th><th>"Check"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {match check.plan {
            Err(why) => view! { <p class="error refused" role="alert">"Refused: " {why} ". Nothing was uploaded."</p> }.into_any(),
            Ok(plan) => view! { <UploadButton plan on_published /> }.into_any(),
        }}
    }
}

/// Uploads a checked plan: the recommender, each shard, then the manifest.
#[component]
fn UploadButton(plan: PublishPlan, on_published: Callback<()>) -> impl IntoView {
    let session = use_session();
    let progress = RwSignal::new(None::<Result<String, ApiError>>);
    let busy = RwSignal::new(false);
    let plan = StoredValue::new(plan);
    let upload = move |_| {
        let plan = plan.get_value();
        let token = session.token_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = upload_plan(&plan, &token, |step| progress.set(Some(Ok(step)))).await;
            busy.set(false);
            match session.check(result) {
                Ok(()) => {
                    progress.set(Some(Ok(format!("Version {} uploaded and listed.", plan.version))));
                    on_published.run(());
                }
                Err(error) => progress.set(Some(Err(error))),
            }
        });
    };
    let version = plan.with_value(|plan| plan.version.clone());
    let shards = plan.with_value(|plan| plan.shards.len());
    view! {
        <p class="ok">"Every file passed: version " <code>{version.clone()}</code> ", " {shards} " profile shards."</p>
        <button type="button" class="primary" disabled=move || busy.get() on:click=upload>{format!("Upload version {version}")}</button>
        {move || progress.get().map(|progress| match progress {
            Ok(step) => view! { <p class="note upload-progress" role="status">{step}</p> }.into_any(),
            Err(error) => view! { <ErrorNote error /> }.into_any(),
        })}
    }
}

async fn upload_plan(plan: &PublishPlan, token: &str, report: impl Fn(String)) -> Result<(), ApiError> {
    let version = api::segment(&plan.version);
    report("Uploading the recommender…".into());
    api::put_bytes(&format!("/v1/admin/models/{version}/recommender"), token, &plan.recommender).await?;
    for (number, shard) in plan.shards.iter().enumerate() {
        report(format!("Uploading profile shard {} of {}…", number + 1, plan.shards.len()));
        api::put_bytes(&format!("/v1/admin/models/{version}/profiles/{number}"), token, shard).await?;
    }
    report("Uploading the manifest…".into());
    api::send_json(SendMethod::Put, &format!("/v1/admin/models/{version}/manifest"), token, Some(&plan.manifest))
        .await?;
    Ok(())
}
