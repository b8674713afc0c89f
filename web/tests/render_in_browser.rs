//! Renders the admin UI's components in headless Chromium (wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use marquee_web::RecommendationList;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_container() -> web_sys::HtmlElement {
    let document = web_sys::window().and_then(|window| window.document()).expect("a browser document");
    let container = document.create_element("div").expect("create a div");
    document.body().expect("a body").append_child(&container).expect("attach the div");
    container.unchecked_into()
}

#[wasm_bindgen_test]
fn recommendation_list_renders_one_item_per_movie_in_order() {
    let container = fresh_container();
    let items = vec!["the+shawshank+redemption+1994".to_owned(), "monsters_+inc.+2001".to_owned()];
    let _mounted =
        leptos::mount::mount_to(container.clone(), move || view! { <RecommendationList items=items.clone() /> });
    let rendered = container.query_selector_all("ol.recommendations li").expect("query");
    assert_eq!(rendered.length(), 2);
    let first = rendered.get(0).and_then(|node| node.text_content());
    assert_eq!(first.as_deref(), Some("the+shawshank+redemption+1994"));
}

#[wasm_bindgen_test]
fn recommendation_list_says_so_when_empty() {
    let container = fresh_container();
    let nothing: Vec<String> = Vec::new();
    let _mounted =
        leptos::mount::mount_to(container.clone(), move || view! { <RecommendationList items=nothing.clone() /> });
    assert!(container.query_selector("ol").expect("query").is_none());
    assert!(container.text_content().unwrap_or_default().contains("No recommendations yet."));
}
