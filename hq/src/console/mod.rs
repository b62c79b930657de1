//! The street office's console: HQ in a browser, served at `/` on HQ's own port. Pages are
//! rendered on the server (maud) and call the very handlers the JSON API routes to, with the
//! browser's session id as their credential, so authorisation, scope, validation and the audit
//! trail are the API's own. Every POST form carries a CSRF token; every page is zh-CN first
//! with an English switch (`?lang=en`, remembered in a cookie).

mod assets;
mod desk;
mod devices;
mod export;
mod extract;
mod import;
mod layout;
mod login;
pub(crate) mod map;
mod meetings;
mod pages;
mod people;
mod people_edit;
pub mod session;
mod templates;
mod trend;
mod units;
mod users;
mod work;

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::http::AppState;

pub use extract::Lang;

/// Error code of a form posted without (or with a wrong) CSRF token.
pub const CSRF_FAILED: &str = "csrf_failed";
/// Error code of a sign-in refused because the account is locked.
pub const ACCOUNT_LOCKED: &str = "account_locked";

/// The console's routes; none of them is in the API's route table or `/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/lang", get(extract::switch_lang))
        .route("/assets/{file}", get(assets::asset))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/password", get(login::password_form).post(login::password_change))
        .route("/board", get(pages::board))
        .route("/board/trend", get(trend::trend))
        .route("/cases", get(work::inbox))
        .route("/cases/{id}", get(work::case_page))
        .route("/cases/{id}/act", post(work::case_act))
        .route("/photos/{sha256}", get(work::photo))
        .route("/desk", get(desk::queue).post(desk::create))
        .route("/units", get(units::list).post(units::create))
        .route("/people", get(people::people))
        .route("/people/{kind}", post(people_edit::create))
        .route("/people/{kind}/new", get(people_edit::new_form))
        .route("/people/{kind}/{id}", get(people_edit::edit_form).post(people_edit::update))
        .route("/desk/{id}/step", post(desk::step))
        .route("/import", get(import::form).post(import::upload))
        .route("/import/template.xlsx", get(import::template))
        .route("/map", get(map::map))
        .route("/meetings", get(meetings::list).post(meetings::create))
        .route("/templates", get(templates::templates).post(templates::publish))
        .route("/enrol", get(users::enrol_form).post(users::enrol_sheet))
        .route("/devices", get(devices::devices))
        .route("/devices/{id}/revoke", post(devices::revoke_device))
        .route("/devices/{id}/wipe", get(devices::wipe_confirm).post(devices::wipe))
        .route("/devices/{id}/discard", get(devices::discard_confirm).post(devices::discard))
        .route("/audit", get(users::audit))
        .route("/users", get(users::users).post(users::create_user))
        .route("/users/{id}/reset", post(users::reset_user))
        .route("/export/{file}", get(export::export))
        .layer(middleware::from_fn(extract::security_headers))
}

/// Paths the console serves (they take a session cookie, not a bearer token).
pub fn is_console_route(route: &str) -> bool {
    !route.starts_with("/v1/") && !matches!(route, "/healthz" | "/readyz" | "/metrics" | "/openapi.json")
}
