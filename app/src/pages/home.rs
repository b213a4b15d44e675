use crate::components::layout::use_auth;
use crate::components::layout::{pick, role_label, RequireArea};
use crate::domain::{Area, Role};
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

/// The start page: who you are, where you work, and what you can open.
#[component]
pub fn Home() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    view! {
        <Title text=move || t_string!(i18n, nav_home).to_string() />
        <RequireArea area=Area::Home>
            {move || Suspend::new(async move {
                let Ok(Some(u)) = auth.user.await else { return ().into_any() };
                let role = u.role;
                let (zh, en) = (u.department_zh.clone(), u.department_en.clone());
                view! {
                    <section class="page-head">
                        <h1 data-testid="welcome">{t!(i18n, home_welcome)} {u.display_name.clone()}</h1>
                        <p class="muted">
                            {move || pick(i18n.get_locale(), &zh, &en)} " · "
                            {move || role_label(i18n.get_locale(), role)}
                        </p>
                    </section>
                    <section class="cards">
                        <article class="card">
                            <h2>{t!(i18n, home_role_title)}</h2>
                            <p>{move || role_duty(i18n.get_locale(), role)}</p>
                        </article>
                        {(role == Role::Admin).then(|| view! {
                            <article class="card">
                                <h2>{t!(i18n, home_admin_title)}</h2>
                                <ul class="links">
                                    <li><a href="/admin/users">{t!(i18n, nav_users)}</a></li>
                                    <li><a href="/admin/departments">{t!(i18n, nav_departments)}</a></li>
                                    <li><a href="/admin/audit">{t!(i18n, nav_audit)}</a></li>
                                </ul>
                            </article>
                        })}
                        <article class="card">
                            <h2>{t!(i18n, nav_account)}</h2>
                            <p><a href="/account">{t!(i18n, account_change_password)}</a></p>
                        </article>
                    </section>
                }
                .into_any()
            })}
        </RequireArea>
    }
}

fn role_duty(locale: Locale, role: Role) -> &'static str {
    match role {
        Role::Admin => td_string!(locale, duty_admin),
        Role::Dispatcher => td_string!(locale, duty_dispatcher),
        Role::Inspector => td_string!(locale, duty_inspector),
        Role::Handler => td_string!(locale, duty_handler),
        Role::DeptHead => td_string!(locale, duty_dept_head),
        Role::Leader => td_string!(locale, duty_leader),
        Role::VideoOfficer => td_string!(locale, duty_video_officer),
        Role::EnergyAnalyst => td_string!(locale, duty_energy_analyst),
    }
}
