//! Previous / next links over server-side pages, keeping the current query.
use crate::i18n::*;
use leptos::prelude::*;

/// `base` is the path; `query` the other parameters already encoded (`a=1&b=2`).
#[component]
pub fn Pager(
    base: &'static str,
    query: String,
    page: u32,
    pages: u32,
    total: i64,
    /// The total is a lower bound (counting stopped at a cap).
    #[prop(optional)]
    more: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let link = move |p: u32| {
        if query.is_empty() {
            format!("{base}?page={p}")
        } else {
            format!("{base}?{query}&page={p}")
        }
    };
    let prev = (page > 1).then(|| link(page - 1));
    let next = (page < pages).then(|| link(page + 1));
    view! {
        <nav class="pager" aria-label=move || t_string!(i18n, pager_label)>
            <span class="pager-info" data-testid="pager-info">
                {t!(i18n, pager_total_before)} {total} {more.then_some("+")} {t!(i18n, pager_total_after)} " · "
                {t!(i18n, pager_page_before)} {page} " / " {pages} {t!(i18n, pager_page_after)}
            </span>
            {match prev {
                Some(h) => view! { <a class="btn btn-quiet" href=h rel="prev">{t!(i18n, pager_prev)}</a> }.into_any(),
                None => view! { <span class="btn btn-quiet disabled" aria-disabled="true">{t!(i18n, pager_prev)}</span> }.into_any(),
            }}
            {match next {
                Some(h) => view! { <a class="btn btn-quiet" href=h rel="next">{t!(i18n, pager_next)}</a> }.into_any(),
                None => view! { <span class="btn btn-quiet disabled" aria-disabled="true">{t!(i18n, pager_next)}</span> }.into_any(),
            }}
        </nav>
    }
}
