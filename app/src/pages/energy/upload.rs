use crate::api::energy_upload::{discard_upload, import_upload, list_uploads, upload_readings};
use crate::components::forms::{FormError, LoadError, Upload};
use crate::components::layout::{Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use crate::machine::message;
use crate::model::{CsvFileError, UploadResult, UploadView};
use leptos::prelude::*;
use leptos_meta::Title;

fn state_label(l: Locale, s: &str) -> &'static str {
    match s {
        "importing" => td_string!(l, upload_state_importing),
        "imported" => td_string!(l, upload_state_imported),
        "discarded" => td_string!(l, upload_state_discarded),
        _ => td_string!(l, upload_state_validated),
    }
}

fn column_label(l: Locale, c: &str) -> &'static str {
    match c {
        "meter" => td_string!(l, upload_col_meter),
        "timestamp" => td_string!(l, upload_col_timestamp),
        "value" => td_string!(l, upload_col_value),
        _ => td_string!(l, upload_col_line),
    }
}

/// Readings from a CSV file: upload, read the preview and the line-by-line report, then
/// import the good lines (a progress bar follows the steps) or discard the file.
#[component]
pub fn UploadPage() -> impl IntoView {
    let i18n = use_i18n();
    let up = Upload::<UploadResult>::new();
    let out = up.outcome();
    // The upload being looked at: the one just sent, updated by each import step.
    let current = RwSignal::new(None::<UploadView>);
    let refused = RwSignal::new(None::<CsvFileError>);
    Effect::new(move || match up.result.get() {
        Some(Ok(UploadResult::Stored(v))) => {
            refused.set(None);
            current.set(Some(v));
        }
        Some(Ok(UploadResult::Refused(e))) => {
            current.set(None);
            refused.set(Some(e));
        }
        _ => {}
    });
    let recent = Resource::new(
        move || current.get().map(|c| (c.id, c.state)),
        |_| list_uploads(),
    );
    view! {
        <Title text=move || t_string!(i18n, energy_upload).to_string() />
        <RequireArea area=Area::Energy>
            <header class="page-head">
                <p class="crumbs"><a href="/energy">{t!(i18n, nav_energy)}</a></p>
                <h1>{t!(i18n, energy_upload)}</h1>
                <p class="muted">{t!(i18n, upload_intro)}</p>
            </header>
            <form method="post" action="/api/energy/upload" enctype="multipart/form-data" class="form medium"
                data-testid="upload-form" on:submit=up.on_submit(upload_readings)>
                <div class="field">
                    <label for="file">{t!(i18n, upload_file)}</label>
                    <input id="file" type="file" name="file" accept=".csv,text/csv" required />
                    <p class="help">{t!(i18n, upload_format_help)}</p>
                </div>
                <div class="field">
                    <label for="encoding">{t!(i18n, upload_encoding)}</label>
                    <select id="encoding" name="encoding">
                        <option value="utf8" selected>"UTF-8"</option>
                        <option value="gb18030">"GBK / GB18030"</option>
                    </select>
                </div>
                <FormError outcome=out />
                <noscript><p class="form-error">{t!(i18n, upload_needs_js)}</p></noscript>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" data-testid="upload-check"
                        disabled=move || up.pending.get()>{t!(i18n, upload_check)}</button>
                </div>
            </form>
            {move || refused.get().map(|e| {
                let l = i18n.get_locale();
                view! {
                    <div class="notice notice-bad" role="alert" data-testid="upload-refused">
                        <p><strong>{t!(i18n, upload_refused)}</strong> " " {message(l, &e.code)}</p>
                        {e.line.map(|n| view! { <p>{t!(i18n, upload_line)} " " {n}</p> })}
                        {(!e.detail.is_empty()).then(|| view! { <p class="mono">{e.detail.clone()}</p> })}
                    </div>
                }
            })}
            {move || current.get().map(|v| view! { <Report v current /> })}
            <section aria-labelledby="recent-h">
                <h2 id="recent-h">{t!(i18n, upload_recent)}</h2>
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        match recent.await {
                            Err(e) => view! { <LoadError error=e /> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="empty">{t!(i18n, upload_none)}</p> }.into_any(),
                            Ok(list) => view! {
                                <div class="table-wrap">
                                    <table class="data">
                                        <thead><tr>
                                            <th scope="col">{t!(i18n, upload_file)}</th>
                                            <th scope="col">{t!(i18n, upload_when)}</th>
                                            <th scope="col">{t!(i18n, upload_by)}</th>
                                            <th scope="col" class="num">{t!(i18n, upload_good)}</th>
                                            <th scope="col" class="num">{t!(i18n, upload_bad)}</th>
                                            <th scope="col">{t!(i18n, upload_state)}</th>
                                        </tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|u| {
                                                let st = u.state.clone();
                                                view! {
                                                    <tr>
                                                        <td class="mono">{u.filename}</td>
                                                        <td>{u.created_at}</td>
                                                        <td>{u.uploader}</td>
                                                        <td class="num">{u.report.good_lines}</td>
                                                        <td class="num">{u.report.bad_lines}</td>
                                                        <td>{move || state_label(i18n.get_locale(), &st)}
                                                            {(u.state == "importing").then(|| view! { " " {u.imported_lines} "/" {u.report.good_lines} })}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireArea>
    }
}

/// The preview, the report and the import controls of one upload.
#[component]
fn Report(v: UploadView, current: RwSignal<Option<UploadView>>) -> impl IntoView {
    let i18n = use_i18n();
    let id = v.id;
    let good = v.report.good_lines as i64;
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<crate::error::AppError>);
    // Imports step by step until done, updating the bar after each step.
    let import = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        failed.set(None);
        leptos::task::spawn_local(async move {
            loop {
                match import_upload(id).await {
                    Ok(u) => {
                        let done = u.state == "imported";
                        current.set(Some(u));
                        if done {
                            break;
                        }
                    }
                    Err(e) => {
                        failed.set(Some(e));
                        break;
                    }
                }
            }
            busy.set(false);
        });
    };
    let discard = move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(true) = discard_upload(id).await {
                current.update(|c| {
                    if let Some(c) = c {
                        c.state = "discarded".into();
                    }
                });
            }
        });
    };
    let progress = move || current.get().map_or(0, |c| c.imported_lines);
    let state = move || current.get().map(|c| c.state).unwrap_or_default();
    let r = v.report.clone();
    let header = r.preview.first().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = r.preview.iter().skip(1).cloned().collect();
    view! {
        <section class="upload-report" aria-labelledby="report-h" data-testid="upload-report">
            <h2 id="report-h">{t!(i18n, upload_report)} " · " <span class="mono">{v.filename.clone()}</span></h2>
            <ul class="figures">
                <li class="figure"><span class="figure-label">{t!(i18n, upload_total)}</span>
                    <span class="figure-value" data-testid="upload-total">{r.total_lines}</span></li>
                <li class="figure"><span class="figure-label">{t!(i18n, upload_good)}</span>
                    <span class="figure-value ok" data-testid="upload-good">{r.good_lines}</span></li>
                <li class="figure"><span class="figure-label">{t!(i18n, upload_bad)}</span>
                    <span class="figure-value bad" data-testid="upload-bad">{r.bad_lines}</span></li>
            </ul>
            <h3>{t!(i18n, upload_preview)}</h3>
            <div class="table-wrap">
                <table class="data compact">
                    <thead><tr>{header.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr></thead>
                    <tbody>{rows.into_iter().map(|row| view! {
                        <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
            {(!r.ignored_columns.is_empty()).then(|| view! {
                <p class="help">{t!(i18n, upload_ignored)} " " <span class="mono">{r.ignored_columns.join(", ")}</span></p>
            })}
            {if r.errors.is_empty() {
                view! { <p class="ok-text">{t!(i18n, upload_all_good)}</p> }.into_any()
            } else {
                let more = r.bad_lines.saturating_sub(r.errors.len());
                view! {
                    <h3>{t!(i18n, upload_problems)}</h3>
                    <div class="table-wrap">
                        <table class="data compact" data-testid="upload-errors">
                            <thead><tr>
                                <th scope="col" class="num">{t!(i18n, upload_line)}</th>
                                <th scope="col">{t!(i18n, upload_column)}</th>
                                <th scope="col">{t!(i18n, upload_reason)}</th>
                            </tr></thead>
                            <tbody>{r.errors.into_iter().map(|e| {
                                let (col, code) = (e.column.clone(), e.code.clone());
                                view! {
                                    <tr>
                                        <td class="num">{e.line}</td>
                                        <td>{move || column_label(i18n.get_locale(), &col)}</td>
                                        <td>{move || message(i18n.get_locale(), &code)}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                    {(more > 0).then(|| view! { <p class="help">{t!(i18n, upload_more_problems)} " " {more}</p> })}
                }.into_any()
            }}
            <div class="import-bar">
                <label for="import-progress">{t!(i18n, upload_progress)} " "
                    <span data-testid="upload-progress-text">{progress} " / " {good}</span></label>
                <progress id="import-progress" max=good.max(1) value=progress data-testid="upload-progress"></progress>
                <p aria-live="polite" class="muted" data-testid="upload-state">{move || state_label(i18n.get_locale(), &state())}</p>
            </div>
            {move || failed.get().map(|e| view! { <LoadError error=e /> })}
            <div class="form-actions">
                <button type="button" class="btn btn-primary" data-testid="upload-import"
                    disabled=move || busy.get() || good == 0 || !matches!(state().as_str(), "validated" | "importing")
                    on:click=import>
                    {t!(i18n, upload_import)} " (" {good} ")"
                </button>
                <button type="button" class="btn" data-testid="upload-discard"
                    disabled=move || busy.get() || state() != "validated"
                    on:click=discard>{t!(i18n, upload_discard)}</button>
                {move || (state() == "imported").then(|| view! {
                    <a class="btn" href="/energy" data-testid="upload-see-charts">{t!(i18n, upload_see_charts)}</a>
                })}
            </div>
        </section>
    }
}
