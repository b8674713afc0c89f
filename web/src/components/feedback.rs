//! Small pieces of feedback: a labelled figure, an error note, a button that asks first.

use leptos::prelude::*;

use crate::api::ApiError;

/// A labelled figure (a stat card).
#[component]
pub fn Figure(
    /// What the figure is.
    #[prop(into)]
    label: String,
    /// Its value, already formatted.
    #[prop(into)]
    value: Signal<String>,
) -> impl IntoView {
    let name = label.clone();
    view! {
        <div class="figure" data-figure=name>
            <span class="label">{label}</span>
            <span class="value">{value}</span>
        </div>
    }
}

/// An error as the page shows it.
#[component]
pub fn ErrorNote(error: ApiError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }
}

/// A button that asks "Are you sure?" in place before running `on_confirm`.
#[component]
pub fn ConfirmButton(
    /// The button's label, and the action named in the question.
    #[prop(into)]
    label: String,
    /// What confirming does.
    on_confirm: Callback<()>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let question = format!("{label}?");
    view! {
        <Show
            when=move || asking.get()
            fallback={
                let label = label.clone();
                move || view! { <button type="button" on:click=move |_| asking.set(true)>{label.clone()}</button> }
            }
        >
            <span class="confirm" role="group">
                <span>{question.clone()}</span>
                <button type="button" class="danger" on:click=move |_| { asking.set(false); on_confirm.run(()); }>"Yes"</button>
                <button type="button" on:click=move |_| asking.set(false)>"Cancel"</button>
            </span>
        </Show>
    }
}
