#![recursion_limit = "512"]
//! CityLink: the linked city-operations platform. This crate holds the Leptos app (rendered on
//! the server and hydrated in the browser), its server functions and, behind the `ssr`
//! feature, the storage layer and identity code that never reach the wasm bundle.
// Typed translations from `app/locales/*.json` (configured in Cargo.toml): a key missing from
// one language fails the build. The build.rs generator that replaces this macro pulls ICU
// data tooling into every build; the macro generates the same module.
#[allow(deprecated)]
mod i18n_gen {
    leptos_i18n::load_locales!();
}
pub use i18n_gen::i18n;

pub mod api;
pub mod components;
pub mod domain;
pub mod error;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod charts;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod live;
/// Messages by error code: the machine APIs, and the upload report in the browser.
pub mod machine;
#[cfg(feature = "ssr")]
pub mod photos;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod state;

use crate::i18n::*;
use components::layout::AppFrame;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <I18nContextProvider>
            <Stylesheet id="leptos" href="/pkg/citylink.css" />
            <AppTitle />
            <Router>
                <AppFrame>
                    <Routes fallback=pages::not_found::NotFound>
                        <Route path=path!("/") ssr=SsrMode::Async view=pages::home::Home />
                        <Route path=path!("/login") ssr=SsrMode::Async view=pages::login::Login />
                        <Route path=path!("/account") ssr=SsrMode::Async view=pages::account::Account />
                        <Route path=path!("/admin/users") ssr=SsrMode::Async view=pages::admin::users::UserList />
                        <Route path=path!("/admin/users/new") ssr=SsrMode::Async view=pages::admin::users::UserNew />
                        <Route path=path!("/admin/users/:id") ssr=SsrMode::Async view=pages::admin::users::UserEdit />
                        <Route path=path!("/admin/departments") ssr=SsrMode::Async view=pages::admin::departments::DepartmentList />
                        <Route path=path!("/admin/departments/:id") ssr=SsrMode::Async view=pages::admin::departments::DepartmentEdit />
                        <Route path=path!("/admin/audit") ssr=SsrMode::Async view=pages::admin::audit::AuditLog />
                        <Route path=path!("/admin/catalogue") ssr=SsrMode::Async view=pages::cases::catalogue::CatalogueList />
                        <Route path=path!("/admin/catalogue/:id") ssr=SsrMode::Async view=pages::cases::catalogue::ClassEdit />
                        <Route path=path!("/admin/calendar") ssr=SsrMode::Async view=pages::cases::catalogue::CalendarPage />
                        <Route path=path!("/overview") ssr=SsrMode::Async view=pages::overview::OverviewPage />
                        <Route path=path!("/wall") ssr=SsrMode::Async view=pages::overview::WallPage />
                        <Route path=path!("/queue") ssr=SsrMode::Async view=pages::cases::queue::Queue />
                        <Route path=path!("/cases") ssr=SsrMode::Async view=pages::cases::list::CaseList />
                        <Route path=path!("/cases/new") ssr=SsrMode::Async view=pages::cases::report::ReportNew />
                        <Route path=path!("/cases/map") ssr=SsrMode::Async view=pages::cases::map::MapPage />
                        <Route path=path!("/cases/:id") ssr=SsrMode::Async view=pages::cases::detail::CaseDetailPage />
                        <Route path=path!("/evaluation") ssr=SsrMode::Async view=pages::cases::evaluation::EvaluationPage />
                        <Route path=path!("/scorecard") ssr=SsrMode::Async view=pages::cases::scorecard::ScorecardPage />
                        <Route path=path!("/evaluation/monthly") ssr=SsrMode::Async view=pages::cases::assessment::AssessmentPage />
                        <Route path=path!("/appeals") ssr=SsrMode::Async view=pages::cases::appeals::AppealsPage />
                        <Route path=path!("/alerts") ssr=SsrMode::Async view=pages::skyeye::alerts::AlertList />
                        <Route path=path!("/alerts/:id") ssr=SsrMode::Async view=pages::skyeye::incident::IncidentPage />
                        <Route path=path!("/cameras") ssr=SsrMode::Async view=pages::skyeye::cameras::CamerasPage />
                        <Route path=path!("/admin/keys") ssr=SsrMode::Async view=pages::skyeye::keys::ApiKeysPage />
                        <Route path=path!("/energy") ssr=SsrMode::Async view=pages::energy::overview::EnergyPage />
                        <Route path=path!("/data") ssr=SsrMode::Async view=pages::data::DataPage />
                        <Route path=path!("/catalogue") ssr=SsrMode::Async view=pages::catalogue::CataloguePage />
                        <Route path=path!("/energy/districts/:code") ssr=SsrMode::Async view=pages::energy::overview::EnergyPage />
                        <Route path=path!("/energy/entities/:id") ssr=SsrMode::Async view=pages::energy::entity::EntityPage />
                        <Route path=path!("/energy/meters/:id") ssr=SsrMode::Async view=pages::energy::entity::MeterPage />
                        <Route path=path!("/energy/targets") ssr=SsrMode::Async view=pages::energy::targets::TargetsPage />
                        <Route path=path!("/energy/factors") ssr=SsrMode::Async view=pages::energy::factors::FactorsPage />
                        <Route path=path!("/energy/upload") ssr=SsrMode::Async view=pages::energy::upload::UploadPage />
                        <Route path=path!("/energy/anomalies") ssr=SsrMode::Async view=pages::energy::anomalies::AnomaliesPage />
                        <Route path=path!("/energy/anomalies/:id") ssr=SsrMode::Async view=pages::energy::anomalies::AnomalyPage />
                        <Route path=path!("/report") ssr=SsrMode::Async view=pages::public::ReportPage />
                        <Route path=path!("/track") ssr=SsrMode::Async view=pages::public::TrackForm />
                        <Route path=path!("/track/:code") ssr=SsrMode::Async view=pages::public::TrackPage />
                    </Routes>
                </AppFrame>
            </Router>
        </I18nContextProvider>
    }
}

/// Page titles read "页面 · 城市联动" / "Page · CityLink" in the current language.
#[component]
fn AppTitle() -> impl IntoView {
    let i18n = use_i18n();
    let formatter = move |t: String| {
        let app = t_string!(i18n, app_name);
        if t.is_empty() {
            app.to_string()
        } else {
            format!("{t} · {app}")
        }
    };
    view! { <Title formatter /> }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Lets tests and scripts know the page is interactive.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
