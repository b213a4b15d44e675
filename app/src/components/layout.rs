//! The frame of every page: header with user and language, navigation by role, the
//! signed-in user as shared state, and the access guard for pages.
use crate::api::auth::{me, Logout};
use crate::domain::{Area, Role};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::CurrentUser;
use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

/// Who is signed in, and the sign-out action. Provided by [`AppFrame`].
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
    pub logout: ServerAction<Logout>,
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

pub fn role_label(locale: Locale, role: Role) -> &'static str {
    match role {
        Role::Admin => td_string!(locale, role_admin),
        Role::Dispatcher => td_string!(locale, role_dispatcher),
        Role::Inspector => td_string!(locale, role_inspector),
        Role::Handler => td_string!(locale, role_handler),
        Role::DeptHead => td_string!(locale, role_dept_head),
        Role::Leader => td_string!(locale, role_leader),
        Role::VideoOfficer => td_string!(locale, role_video_officer),
        Role::EnergyAnalyst => td_string!(locale, role_energy_analyst),
    }
}

/// Picks the Chinese or English form of a bilingual record.
pub fn pick(locale: Locale, zh: &str, en: &str) -> String {
    match locale {
        Locale::zh => zh.to_string(),
        Locale::en => en.to_string(),
    }
}

#[component]
pub fn AppFrame(children: Children) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    // Asked again on every navigation: sign-in and sign-out end in one, and an expired
    // session shows at the next click rather than at the next failed save.
    let location = use_location();
    let user = Resource::new(
        move || (location.pathname.get(), logout.version().get()),
        |_| me(),
    );
    // Badges: what waits for me, fetched by the browser after each navigation. A plain
    // signal set by an effect (effects run only in the browser): the server render neither
    // waits for the counts nor holds the navigation back for them.
    let counts = RwSignal::new(crate::model::QueueCounts::default());
    Effect::new(move |_| {
        location.pathname.track();
        logout.version().track();
        leptos::task::spawn_local(async move {
            // Nobody signed in (the public pages): nothing waits, and nothing to ask.
            if !matches!(user.await, Ok(Some(_))) {
                return;
            }
            if let Ok(c) = crate::api::cases::get_queue_counts().await {
                counts.set(c);
            }
        });
    });
    provide_context(Auth { user, logout });
    let i18n = use_i18n();
    view! {
        <a class="skip-link" href="#main">{t!(i18n, skip_to_content)}</a>
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true"></span>
                <span class="brand-name">{t!(i18n, app_name)}</span>
                <span class="brand-sub">{t!(i18n, app_tagline)}</span>
            </a>
            <div class="top-actions">
                <LangSwitch />
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(u)) => view! { <UserBox user=u /> }.into_any(),
                            _ => ().into_any(),
                        }
                    })}
                </Transition>
            </div>
        </header>
        <div class="frame">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => view! { <Nav role=u.role counts /> }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Transition>
            <main id="main" tabindex="-1">
                {children()}
            </main>
        </div>
        <footer class="footer">{t!(i18n, footer_text)}</footer>
    }
}

#[component]
fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let toggle = move |_| {
        let next = match i18n.get_locale() {
            Locale::zh => Locale::en,
            Locale::en => Locale::zh,
        };
        i18n.set_locale(next);
    };
    view! {
        <button
            type="button"
            class="lang-switch"
            data-testid="lang-switch"
            on:click=toggle
            aria-label=move || t_string!(i18n, lang_switch_label)
            title=move || t_string!(i18n, lang_switch_label)
        >
            {move || match i18n.get_locale() {
                Locale::zh => "English",
                Locale::en => "中文",
            }}
        </button>
    }
}

#[component]
fn UserBox(user: CurrentUser) -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let role = user.role;
    let (zh, en) = (user.department_zh.clone(), user.department_en.clone());
    view! {
        <div class="userbox" data-testid="userbox">
            <div class="who">
                <span class="who-name" data-testid="user-name">{user.display_name.clone()}</span>
                <span class="who-meta">
                    <span data-testid="user-dept">{move || pick(i18n.get_locale(), &zh, &en)}</span>
                    " · "
                    <span data-testid="user-role">{move || role_label(i18n.get_locale(), role)}</span>
                </span>
            </div>
            <ActionForm action=auth.logout>
                <button type="submit" class="btn btn-quiet" data-testid="logout">
                    {t!(i18n, sign_out)}
                </button>
            </ActionForm>
        </div>
    }
}

struct NavItem {
    href: &'static str,
    area: Area,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        area: Area::Home,
    },
    NavItem {
        href: "/overview",
        area: Area::Overview,
    },
    NavItem {
        href: "/wall",
        area: Area::Overview,
    },
    NavItem {
        href: "/queue",
        area: Area::Queue,
    },
    NavItem {
        href: "/cases/new",
        area: Area::Report,
    },
    NavItem {
        href: "/cases",
        area: Area::Cases,
    },
    NavItem {
        href: "/cases/map",
        area: Area::Cases,
    },
    NavItem {
        href: "/evaluation",
        area: Area::Evaluation,
    },
    NavItem {
        href: "/evaluation/monthly",
        area: Area::Evaluation,
    },
    NavItem {
        href: "/scorecard",
        area: Area::Scorecard,
    },
    NavItem {
        href: "/appeals",
        area: Area::Appeals,
    },
    NavItem {
        href: "/alerts",
        area: Area::Alerts,
    },
    NavItem {
        href: "/cameras",
        area: Area::Cameras,
    },
    NavItem {
        href: "/energy",
        area: Area::Energy,
    },
    NavItem {
        href: "/catalogue",
        area: Area::DataCatalogue,
    },
    NavItem {
        href: "/data",
        area: Area::DataCatalogue,
    },
    NavItem {
        href: "/admin/users",
        area: Area::AdminUsers,
    },
    NavItem {
        href: "/admin/departments",
        area: Area::AdminDepartments,
    },
    NavItem {
        href: "/admin/catalogue",
        area: Area::AdminCatalogue,
    },
    NavItem {
        href: "/admin/calendar",
        area: Area::AdminCatalogue,
    },
    NavItem {
        href: "/admin/keys",
        area: Area::AdminKeys,
    },
    NavItem {
        href: "/admin/audit",
        area: Area::AdminAudit,
    },
    NavItem {
        href: "/account",
        area: Area::Account,
    },
];

fn nav_label(locale: Locale, href: &str) -> &'static str {
    match href {
        "/" => td_string!(locale, nav_home),
        "/overview" => td_string!(locale, nav_overview),
        "/wall" => td_string!(locale, nav_wall),
        "/queue" => td_string!(locale, nav_queue),
        "/cases/new" => td_string!(locale, nav_report),
        "/cases" => td_string!(locale, nav_cases),
        "/cases/map" => td_string!(locale, nav_map),
        "/evaluation" => td_string!(locale, nav_evaluation),
        "/evaluation/monthly" => td_string!(locale, nav_assessment),
        "/scorecard" => td_string!(locale, nav_scorecard),
        "/appeals" => td_string!(locale, nav_appeals),
        "/admin/users" => td_string!(locale, nav_users),
        "/admin/departments" => td_string!(locale, nav_departments),
        "/admin/catalogue" => td_string!(locale, nav_catalogue),
        "/admin/calendar" => td_string!(locale, nav_calendar),
        "/admin/audit" => td_string!(locale, nav_audit),
        "/alerts" => td_string!(locale, nav_alerts),
        "/cameras" => td_string!(locale, nav_cameras),
        "/admin/keys" => td_string!(locale, nav_keys),
        "/energy" => td_string!(locale, nav_energy),
        "/catalogue" => td_string!(locale, nav_data_catalogue),
        "/data" => td_string!(locale, nav_data),
        _ => td_string!(locale, nav_account),
    }
}

#[component]
fn Nav(role: Role, counts: RwSignal<crate::model::QueueCounts>) -> impl IntoView {
    let i18n = use_i18n();
    let items = NAV
        .iter()
        .filter(|i| role.may_open(i.area))
        .map(|i| {
            let href = i.href;
            // No Transition here: boundaries made after an await on the server take ids in
            // whatever order tasks run, and the page's own boundaries would shift.
            let badge = move || {
                let c = counts.get();
                let n = match href {
                    "/queue" => c.cases,
                    "/appeals" if role == Role::Dispatcher => c.appeals,
                    _ => 0,
                };
                (n > 0).then(|| {
                    view! { <span class="nav-badge" data-testid=format!("badge-{}", href.trim_start_matches('/'))>{n}</span> }
                })
            };
            view! {
                <li>
                    <A href=href exact=true>
                        <span>{move || nav_label(i18n.get_locale(), href)}</span>
                        {badge}
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="sidenav" aria-label=move || t_string!(i18n, nav_label)>
            <ul>{items}</ul>
        </nav>
    }
}

/// Shows `children` only to a signed-in user whose role may open `area`. Anyone else is sent
/// to sign in (and back afterwards) or told plainly that the page is not theirs.
#[component]
pub fn RequireArea(area: Area, children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    view! {
        <Transition fallback=Loading>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(u)) if u.role.may_open(area) => children().into_any(),
                        Ok(Some(_)) => view! { <Forbidden /> }.into_any(),
                        _ => {
                            let path = location.pathname.get_untracked();
                            let search = location.search.get_untracked();
                            let here = if search.is_empty() { path } else { format!("{path}?{search}") };
                            let to = format!("/login?next={}", urlencode(&here));
                            view! { <Redirect path=to /> }.into_any()
                        }
                    }
                })
            }}
        </Transition>
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="loading" role="status" aria-live="polite">
            {t!(i18n, loading)}
        </p>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        r.set_status(http::StatusCode::FORBIDDEN);
    }
    let i18n = use_i18n();
    view! {
        <section class="notice notice-error" data-testid="forbidden">
            <h1>{t!(i18n, forbidden_title)}</h1>
            <p>{t!(i18n, forbidden_text)}</p>
            <p>
                <a href="/">{t!(i18n, back_home)}</a>
            </p>
        </section>
    }
}
