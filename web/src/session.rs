//! The admin token: typed once, kept in `sessionStorage` (gone when the tab closes), sent as
//! a bearer header by [`crate::api`], never put in a URL. A 401 anywhere clears it and brings
//! the prompt back with the reason.

use gloo_storage::{SessionStorage, Storage};
use leptos::prelude::*;

use crate::api::ApiError;

/// The `sessionStorage` key of the token.
const TOKEN_KEY: &str = "marquee-admin-token";

/// The signed-in state every page reads from context.
#[derive(Clone, Copy)]
pub struct Session {
    token: RwSignal<Option<String>>,
    notice: RwSignal<Option<String>>,
}

impl Session {
    /// The session as `sessionStorage` holds it.
    pub fn restore() -> Session {
        let token = SessionStorage::get::<String>(TOKEN_KEY).ok().filter(|token| !token.is_empty());
        Session { token: RwSignal::new(token), notice: RwSignal::new(None) }
    }

    /// A session with this token, stored nowhere (component tests).
    pub fn with_token(token: &str) -> Session {
        Session { token: RwSignal::new(Some(token.to_owned())), notice: RwSignal::new(None) }
    }

    /// The token, tracked (a page re-runs when it changes).
    pub fn token(&self) -> Option<String> {
        self.token.get()
    }

    /// The token, untracked (inside actions).
    pub fn token_untracked(&self) -> String {
        self.token.get_untracked().unwrap_or_default()
    }

    /// Why the prompt is showing, if something sent the user back to it.
    pub fn notice(&self) -> Option<String> {
        self.notice.get()
    }

    /// Keeps a typed token for this tab.
    pub fn sign_in(&self, token: String) {
        // A storage failure (private mode quota) still signs in for this page's life.
        let _ = SessionStorage::set(TOKEN_KEY, &token);
        self.notice.set(None);
        self.token.set(Some(token));
    }

    /// Forgets the token and shows the prompt with `reason`.
    pub fn sign_out(&self, reason: Option<String>) {
        SessionStorage::delete(TOKEN_KEY);
        self.notice.set(reason);
        self.token.set(None);
    }

    /// Passes an API result through, signing out on a 401 so the prompt explains it.
    pub fn check<T>(&self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Err(ApiError::Unauthorized) = &result {
            self.sign_out(Some(ApiError::Unauthorized.to_string()));
        }
        result
    }
}

/// The session from context (the [`crate::App`] provides it; tests provide their own).
pub fn use_session() -> Session {
    use_context::<Session>().unwrap_or_else(Session::restore)
}

/// Asks for the admin token. Submitting an empty field says so instead of signing in.
#[component]
pub fn TokenPrompt() -> impl IntoView {
    let session = use_session();
    let (typed, set_typed) = signal(String::new());
    let (problem, set_problem) = signal(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let token = typed.get_untracked().trim().to_owned();
        if token.is_empty() {
            set_problem.set(Some("Type the admin token (the ADMIN_TOKEN secret of the edge).".into()));
        } else {
            session.sign_in(token);
        }
    };
    view! {
        <section class="token-prompt">
            <h2>"Sign in"</h2>
            {move || session.notice().map(|notice| view! { <p class="error" role="alert">{notice}</p> })}
            <form on:submit=submit>
                <label for="admin-token">"Admin token"</label>
                <input id="admin-token" type="password" autocomplete="current-password"
                    prop:value=typed on:input=move |ev| set_typed.set(event_target_value(&ev)) />
                <button type="submit">"Sign in"</button>
            </form>
            {move || problem.get().map(|problem| view! { <p class="error">{problem}</p> })}
            <p class="note">"Kept in this tab's session storage only, and sent as a bearer header."</p>
        </section>
    }
}
