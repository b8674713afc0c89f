//! Marquee's admin UI: Leptos (client-side rendered) with `leptos_router`, served by the
//! edge at `/`. It runs the same `marquee-model` crate as the edge: publishing checks blobs
//! here before uploading them, and the playground computes lists here and compares them
//! with the edge's bit for bit.
//!
//! Layout: [`api`] talks to the edge, [`session`] keeps the admin token, [`pages`] has one
//! module per route, [`components`] the pieces pages share, and [`browser_model`] and
//! [`publish`] the model-crate logic (plain functions, tested natively and in Chromium).

pub mod api;
pub mod browser_model;
pub mod components;
pub mod format;
pub mod pages;
pub mod publish;
pub mod session;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

use pages::{ExperimentPage, LookupPage, ModelsPage, OverviewPage, PlaygroundPage};
use session::{Session, TokenPrompt};

/// The whole admin UI: the token prompt until a token is typed, then the pages.
#[component]
pub fn App() -> impl IntoView {
    let session = Session::restore();
    provide_context(session);
    view! {
        <Router>
            <header class="top">
                <h1>"Marquee admin"</h1>
                <nav>
                    <A href="/">"Overview"</A>
                    <A href="/models">"Models"</A>
                    <A href="/experiment">"Experiment"</A>
                    <A href="/playground">"Playground"</A>
                    <A href="/lookup">"Users and movies"</A>
                </nav>
                <Show when=move || session.token().is_some()>
                    <button type="button" class="sign-out" on:click=move |_| session.sign_out(None)>"Sign out"</button>
                </Show>
            </header>
            <main>
                <Show when=move || session.token().is_some() fallback=|| view! { <TokenPrompt /> }>
                    <ErrorBoundary fallback=|errors| view! {
                        <div class="error" role="alert">
                            {move || errors.get().into_iter().map(|(_, error)| view! { <p>{error.to_string()}</p> }).collect_view()}
                        </div>
                    }>
                        <Routes fallback=|| view! { <p class="error">"No such page."</p> }>
                            <Route path=path!("/") view=OverviewPage />
                            <Route path=path!("/models") view=ModelsPage />
                            <Route path=path!("/experiment") view=ExperimentPage />
                            <Route path=path!("/playground") view=PlaygroundPage />
                            <Route path=path!("/lookup") view=LookupPage />
                        </Routes>
                    </ErrorBoundary>
                </Show>
            </main>
        </Router>
    }
}
