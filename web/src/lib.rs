//! Marquee's admin UI: Leptos components rendered in the browser.
//!
//! The components are plain functions of their inputs so that browser tests can mount them
//! directly; [`App`] wires them to the edge's HTTP API.

use leptos::prelude::*;

/// Splits the edge's `text/plain` answer (`id,id,id`) into movie ids.
pub fn parse_recommendations(body: &str) -> Vec<String> {
    body.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect()
}

/// A numbered list of recommended movie ids, or a note when there are none.
#[component]
pub fn RecommendationList(
    /// The movie ids, best first.
    #[prop(into)]
    items: Signal<Vec<String>>,
) -> impl IntoView {
    view! {
        <Show when=move || !items.get().is_empty() fallback=|| view! { <p class="note">"No recommendations yet."</p> }>
            <ol class="recommendations">
                <For each=move || items.get() key=|id| id.clone() let:id>
                    <li>{id}</li>
                </For>
            </ol>
        </Show>
    }
}

/// The whole admin page: ask the edge for a user's list and show it.
#[component]
pub fn App() -> impl IntoView {
    let (user, set_user) = signal(String::from("1"));
    let (items, set_items) = signal(Vec::<String>::new());
    let (status, set_status) = signal(String::new());
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let user = user.get_untracked();
        set_status.set(format!("Asking the edge for user {user}…"));
        leptos::task::spawn_local(async move {
            match edge::fetch_text(&format!("/recommend/{user}")).await {
                Ok((200, body)) => {
                    let list = parse_recommendations(&body);
                    set_status.set(format!("{} movies for user {user}.", list.len()));
                    set_items.set(list);
                }
                Ok((code, body)) => {
                    set_status.set(format!("The edge answered {code}: {body}"));
                    set_items.set(Vec::new());
                }
                Err(error) => set_status.set(format!("Could not reach the edge: {error}")),
            }
        });
    };
    view! {
        <header>
            <h1>"Marquee admin"</h1>
            <p>"The edge's recommendations, as users receive them."</p>
        </header>
        <section>
            <form on:submit=on_submit>
                <label for="user">"User id"</label>
                <input id="user" inputmode="numeric" prop:value=user on:input=move |ev| set_user.set(event_target_value(&ev)) />
                <button type="submit">"Recommend"</button>
            </form>
            <p class="note">{status}</p>
            <RecommendationList items=items />
        </section>
    }
}

/// The browser's `fetch`, reduced to what the admin page needs.
mod edge {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    /// GETs `path` from the page's origin and returns the status and body text.
    pub async fn fetch_text(path: &str) -> Result<(u16, String), String> {
        let window = web_sys::window().ok_or("no window")?;
        let response = JsFuture::from(window.fetch_with_str(path)).await.map_err(describe)?;
        let response: web_sys::Response = response.dyn_into().map_err(describe)?;
        let text = JsFuture::from(response.text().map_err(describe)?).await.map_err(describe)?;
        Ok((response.status(), text.as_string().unwrap_or_default()))
    }

    fn describe(value: wasm_bindgen::JsValue) -> String {
        value.as_string().unwrap_or_else(|| format!("{value:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_edge_text_contract() {
        assert_eq!(parse_recommendations("a+1999,b+2000"), vec!["a+1999", "b+2000"]);
        assert!(parse_recommendations("").is_empty());
    }
}
