//! Open data (`/data`): the public datasets with owner, frequency, licence, freshness and
//! their columns, and CSV and JSON downloads. No account needed; laid out for phones first.
//! Self-contained: it renders inside the app frame, which shows no navigation to visitors.
use crate::api::datasets::get_public_data;
use crate::components::forms::LoadError;
use crate::components::layout::{pick, Loading};
use crate::i18n::*;
use crate::model::{DataField, DatasetInfo};
use leptos::prelude::*;
use leptos_meta::Title;

pub fn frequency_label(locale: Locale, f: &str) -> &'static str {
    match f {
        "monthly" => td_string!(locale, data_freq_monthly),
        "daily" => td_string!(locale, data_freq_daily),
        _ => td_string!(locale, data_freq_live),
    }
}

#[component]
pub fn DataPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| get_public_data());
    view! {
        <Title text=move || t_string!(i18n, data_title).to_string() />
        <div class="opendata" data-testid="opendata">
            <header class="page-head">
                <h1>{t!(i18n, data_title)}</h1>
                <p class="muted">{t!(i18n, data_intro)}</p>
            </header>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e /> }.into_any(),
                        Ok(d) if d.datasets.is_empty() => view! { <p class="empty">{t!(i18n, data_empty)}</p> }.into_any(),
                        Ok(d) => {
                            let month = d.current_month.clone();
                            view! {
                                <p class="data-note" data-testid="months-note">
                                    {t!(i18n, data_months_note)} " " <span class="mono">{month}</span>
                                </p>
                                <div class="dataset-list">
                                    {d.datasets.into_iter().map(|(info, fields)| view! { <DatasetCard info fields /> }).collect_view()}
                                </div>
                                <p class="help data-api">{t!(i18n, data_api_note)}</p>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn DatasetCard(info: DatasetInfo, fields: Vec<DataField>) -> impl IntoView {
    let i18n = use_i18n();
    let code = info.code.clone();
    let (tzh, ten) = (info.title_zh.clone(), info.title_en.clone());
    let (dzh, den) = (info.description_zh.clone(), info.description_en.clone());
    let (ozh, oen) = (info.owner_zh.clone(), info.owner_en.clone());
    let freq = info.frequency.clone();
    let none = move || t_string!(i18n, data_none).to_string();
    let last = info.last_update.clone();
    let latest = info.latest_month.clone();
    let links = info
        .formats
        .iter()
        .map(|f| {
            let f = f.clone();
            let code = code.clone();
            let label = f.to_uppercase();
            let href = move || {
                if f == "csv" {
                    let lang = match i18n.get_locale() {
                        Locale::zh => "zh",
                        Locale::en => "en",
                    };
                    format!("/data/{code}.csv?lang={lang}")
                } else {
                    format!("/data/{code}.{f}")
                }
            };
            view! {
                <a class="btn btn-primary download" href=href download rel="external"
                    data-testid=format!("download-{}-{}", info.code, label.to_lowercase())>
                    {t!(i18n, data_download)} " " {label.clone()}
                </a>
            }
        })
        .collect_view();
    let formats = info.formats.join(", ").to_uppercase();
    let columns = fields
        .into_iter()
        .map(|f| {
            view! {
                <tr>
                    <td class="mono">{f.name}</td>
                    <td>{f.zh}</td>
                    <td>{f.en}</td>
                    <td class="mono">{f.kind}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <article class="dataset-card" data-testid=format!("dataset-{}", info.code) id=info.code.clone()>
            <h2>{move || pick(i18n.get_locale(), &tzh, &ten)}</h2>
            <p>{move || pick(i18n.get_locale(), &dzh, &den)}</p>
            <dl class="dataset-facts">
                <div><dt>{t!(i18n, data_owner)}</dt><dd>{move || pick(i18n.get_locale(), &ozh, &oen)}</dd></div>
                <div><dt>{t!(i18n, data_frequency)}</dt><dd>{move || frequency_label(i18n.get_locale(), &freq)}</dd></div>
                <div><dt>{t!(i18n, data_licence)}</dt><dd>{info.licence.clone()}</dd></div>
                <div><dt>{t!(i18n, data_last_update)}</dt><dd>{move || last.clone().unwrap_or_else(none)}</dd></div>
                <div><dt>{t!(i18n, data_latest_month)}</dt><dd data-testid="latest-month">{move || latest.clone().unwrap_or_else(none)}</dd></div>
                <div><dt>{t!(i18n, data_formats)}</dt><dd>{formats}</dd></div>
            </dl>
            <div class="form-actions downloads">{links}</div>
            <details class="dataset-columns">
                <summary>{t!(i18n, data_columns)}</summary>
                <div class="table-wrap">
                    <table class="table">
                        <thead>
                            <tr>
                                <th scope="col">{t!(i18n, data_col_name)}</th>
                                <th scope="col">{t!(i18n, data_col_zh)}</th>
                                <th scope="col">{t!(i18n, data_col_en)}</th>
                                <th scope="col">{t!(i18n, data_col_type)}</th>
                            </tr>
                        </thead>
                        <tbody>{columns}</tbody>
                    </table>
                </div>
            </details>
        </article>
    }
}
