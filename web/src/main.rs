//! The admin UI's entry point, built by trunk.

fn main() {
    leptos::mount::mount_to_body(marquee_web::App);
}
