use crate::api::cases::{case_classes, map_cells, report_case};
use crate::components::forms::{invalid, FieldErr, FormError, LoadError, Upload};
use crate::components::layout::{Loading, RequireArea};
use crate::domain::Area;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

/// An inspector reports a problem: class, place, description and photos. The place is put
/// in its unit grid on the server.
#[component]
pub fn ReportNew() -> impl IntoView {
    let i18n = use_i18n();
    let up = Upload::<i64>::new();
    let out = up.outcome();
    let classes = Resource::new(|| (), |_| case_classes());
    let cells = Resource::new(|| (), |_| map_cells());
    let lon = RwSignal::new(String::new());
    let lat = RwSignal::new(String::new());
    let locate = move |_| locate_me(lon, lat);
    view! {
        <Title text=move || t_string!(i18n, nav_report).to_string() />
        <RequireArea area=Area::Report>
            <header class="page-head">
                <h1>{t!(i18n, nav_report)}</h1>
                <p class="muted">{t!(i18n, report_intro)}</p>
            </header>
            <form method="post" action="/api/cases/report" enctype="multipart/form-data" class="form medium"
                data-testid="report-form" on:submit=up.on_submit(report_case)>
                <div class="field">
                    <label for="class_id">{t!(i18n, case_class)}</label>
                    <Transition fallback=Loading>
                        {move || Suspend::new(async move {
                            match classes.await {
                                Err(e) => view! { <LoadError error=e /> }.into_any(),
                                Ok(list) => view! {
                                    <select id="class_id" name="class_id" required aria-invalid=invalid(out, "class_id") aria-describedby="class_id-error">
                                        <super::ClassOptions classes=list chosen=None />
                                    </select>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                    <FieldErr outcome=out field="class_id" />
                </div>
                <fieldset class="field">
                    <legend>{t!(i18n, report_place)}</legend>
                    <div class="row-fields">
                        <label>{t!(i18n, field_lat)}
                            <input name="lat" inputmode="decimal" required prop:value=lat on:input=move |e| lat.set(event_target_value(&e))
                                placeholder="37.8570" aria-invalid=invalid(out, "lat") /></label>
                        <label>{t!(i18n, field_lon)}
                            <input name="lon" inputmode="decimal" required prop:value=lon on:input=move |e| lon.set(event_target_value(&e))
                                placeholder="112.5600" aria-invalid=invalid(out, "lon") /></label>
                        <button type="button" class="btn btn-quiet" on:click=locate>{t!(i18n, use_my_location)}</button>
                    </div>
                    <p class="help">{t!(i18n, report_place_help)}</p>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = cells.await.unwrap_or_default();
                            view! { <GridPicker list lon lat /> }
                        })}
                    </Transition>
                    <FieldErr outcome=out field="lat" />
                    <FieldErr outcome=out field="lon" />
                </fieldset>
                <div class="field">
                    <label for="address">{t!(i18n, field_address)}</label>
                    <input id="address" name="address" required maxlength="200" aria-invalid=invalid(out, "address") />
                    <FieldErr outcome=out field="address" />
                </div>
                <div class="field">
                    <label for="description">{t!(i18n, case_description)}</label>
                    <textarea id="description" name="description" rows="4" required maxlength="1000" aria-invalid=invalid(out, "description")></textarea>
                    <FieldErr outcome=out field="description" />
                </div>
                <div class="field">
                    <label for="photos">{t!(i18n, step_photos)}</label>
                    <input id="photos" type="file" name="photos" accept="image/jpeg,image/png" multiple required />
                    <p class="help">{t!(i18n, photos_help)}</p>
                    <FieldErr outcome=out field="photos" />
                </div>
                <FormError outcome=out />
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" disabled=move || up.pending.get()>{t!(i18n, report_submit)}</button>
                </div>
            </form>
        </RequireArea>
    }
}

/// Asks the browser for its location and puts it into the two fields (nothing happens when
/// the browser has none or the person declines).
pub fn locate_me(lon: RwSignal<String>, lat: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Ok(geo) = leptos::prelude::window().navigator().geolocation() else {
            return;
        };
        let ok = Closure::once_into_js(move |p: web_sys::Position| {
            let c = p.coords();
            lon.set(format!("{:.6}", c.longitude()));
            lat.set(format!("{:.6}", c.latitude()));
        });
        let _ = geo.get_current_position(ok.unchecked_ref());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (lon, lat);
}

/// A small grid map: a click puts the place at the centre of that cell (typing or the
/// browser's location work as well).
#[component]
pub fn GridPicker(
    list: Vec<crate::model::GridCell>,
    lon: RwSignal<String>,
    lat: RwSignal<String>,
) -> impl IntoView {
    use crate::domain::grid::{centre, ROWS};
    let i18n = use_i18n();
    const S: i64 = 10;
    let chosen = move || {
        let (x, y) = (
            lon.get().trim().parse::<f64>().ok()?,
            lat.get().trim().parse::<f64>().ok()?,
        );
        let col = ((x - crate::domain::grid::ORIGIN_LON) / crate::domain::grid::STEP + 1e-9).floor()
            as i64;
        let row = ((y - crate::domain::grid::ORIGIN_LAT) / crate::domain::grid::STEP + 1e-9).floor()
            as i64;
        Some((col, row))
    };
    let cells = list
        .into_iter()
        .map(|c| {
            let (col, row) = (c.col, c.row);
            let code = c.code.clone();
            let pick = move |_| {
                let (x, y) = centre(col, row);
                lon.set(format!("{x:.4}"));
                lat.set(format!("{y:.4}"));
            };
            let title = move || {
                let l = i18n.get_locale();
                format!(
                    "{} · {} · {}",
                    c.code,
                    crate::components::layout::pick(l, &c.district_zh, &c.district_en),
                    crate::components::layout::pick(l, &c.street_zh, &c.street_en)
                )
            };
            view! {
                <rect x=col * S y=(ROWS - 1 - row) * S width=S height=S class=format!("pick-cell d{}", c.district_code)
                    class:picked=move || chosen() == Some((col, row))
                    data-grid=code on:click=pick><title>{title}</title></rect>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {} {}", crate::domain::grid::COLS * S, ROWS * S) class="grid-picker"
            data-testid="grid-picker" role="img" aria-label=move || t_string!(i18n, report_pick_on_map)>
            {cells}
        </svg>
        <p class="help">{t!(i18n, report_pick_on_map)}</p>
    }
}
