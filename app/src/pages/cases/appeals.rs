use super::evaluation::AppealState;
use crate::api::evaluation::{list_appeals, DecideAppeal};
use crate::components::forms::{outcome, FieldErr, FormError, LoadError};
use crate::components::layout::{pick, use_auth, Loading, RequireArea};
use crate::domain::{Area, Role};
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

/// Appeals against deductions: department heads follow theirs; the command centre decides.
#[component]
pub fn AppealsPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let decide = ServerAction::<DecideAppeal>::new();
    let out = outcome(decide);
    let list = Resource::new(move || decide.version().get(), |_| list_appeals());
    view! {
        <Title text=move || t_string!(i18n, nav_appeals).to_string() />
        <RequireArea area=Area::Appeals>
            <header class="page-head">
                <h1>{t!(i18n, nav_appeals)}</h1>
                <p class="muted">{t!(i18n, appeals_intro)}</p>
            </header>
            <FormError outcome=out />
            <FieldErr outcome=out field="note" />
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    let deciding = matches!(auth.user.await, Ok(Some(u)) if u.role == Role::Dispatcher);
                    match list.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! { <p class="empty" data-testid="appeals-empty">{t!(i18n, appeals_empty)}</p> }.into_any(),
                        Ok(v) => view! {
                            <div class="table-wrap"><table class="table" data-testid="appeals-table">
                                <thead><tr>
                                    <th scope="col">{t!(i18n, case_code)}</th>
                                    <th scope="col">{t!(i18n, case_department)}</th>
                                    <th scope="col">{t!(i18n, appeal_reason)}</th>
                                    <th scope="col">{t!(i18n, appeals_filed)}</th>
                                    <th scope="col">{t!(i18n, case_state)}</th>
                                    <th scope="col">{t!(i18n, appeals_decision)}</th>
                                </tr></thead>
                                <tbody>
                                    {v.into_iter().map(|a| {
                                        let (zh, en) = (a.department_zh.clone(), a.department_en.clone());
                                        let pending = a.state == "pending";
                                        view! {
                                            <tr data-appeal-id=a.id>
                                                <td><a class="mono" href=format!("/cases/{}", a.case_id)>{a.case_code.clone()}</a></td>
                                                <td>{move || pick(i18n.get_locale(), &zh, &en)}</td>
                                                <td class="prewrap">{a.reason.clone()}</td>
                                                <td class="nowrap">{a.filed_by.clone()}<div class="sub">{a.filed_at.clone()}</div></td>
                                                <td><AppealState state=a.state.clone() /></td>
                                                <td>
                                                    {if pending && deciding {
                                                        view! {
                                                            <ActionForm action=decide attr:class="inline-decide">
                                                                <input type="hidden" name="id" value=a.id />
                                                                <input name="note" aria-label=move || t_string!(i18n, appeals_note) placeholder=move || t_string!(i18n, appeals_note) />
                                                                <button type="submit" name="accept" value="true" class="btn btn-primary">{t!(i18n, appeals_accept)}</button>
                                                                <button type="submit" name="accept" value="false" class="btn">{t!(i18n, appeals_reject)}</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    } else {
                                                        view! {
                                                            <span>{a.decided_by.clone().unwrap_or_default()}</span>
                                                            <div class="sub">{a.decided_at.clone().unwrap_or_default()}</div>
                                                            <div>{a.decision_note.clone()}</div>
                                                        }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </RequireArea>
    }
}
