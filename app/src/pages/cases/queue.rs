use super::CaseTable;
use crate::api::cases::my_queue;
use crate::components::forms::LoadError;
use crate::components::layout::{Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

/// What waits for me: the cases my role (and department) acts on next, most urgent first.
#[component]
pub fn Queue() -> impl IntoView {
    let i18n = use_i18n();
    let rows = Resource::new(|| (), |_| my_queue());
    view! {
        <Title text=move || t_string!(i18n, nav_queue).to_string() />
        <RequireArea area=Area::Queue>
            <header class="page-head">
                <h1>{t!(i18n, nav_queue)}</h1>
                <p class="muted">{t!(i18n, queue_intro)}</p>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match rows.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(v) if v.is_empty() => view! {
                            <p class="empty" data-testid="queue-empty">{t!(i18n, queue_empty)}</p>
                        }.into_any(),
                        Ok(v) => {
                            let overdue = v.iter().filter(|r| r.minutes_left.is_some_and(|m| m < 0)).count();
                            let n = v.len();
                            let overdue_class = if overdue > 0 { "overdue" } else { "" };
                            view! {
                                <p class="summary" data-testid="queue-summary">
                                    {t!(i18n, queue_total)} " " <strong>{n}</strong>
                                    " · " {t!(i18n, queue_overdue)} " " <strong class=overdue_class>{overdue}</strong>
                                </p>
                                <CaseTable rows=v testid="queue-table" />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </RequireArea>
    }
}
