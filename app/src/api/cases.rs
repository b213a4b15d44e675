//! Server functions of the case workflow. Each resolves the caller, checks role and
//! department on the server and calls `db::cases`; the workflow rules live in
//! `domain::workflow` and are asked again inside each step's transaction.
use crate::error::AppError;
use crate::model::{CaseClass, CaseDetail, CaseFilter, CaseRow, GridCell, Page, QueueCounts};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use crate::error::{AppError, FieldError, FieldErrorKind as K};
    use crate::photos::{self, Photo, MAX_PER_STEP};
    use leptos::server_fn::codec::MultipartData;
    use std::collections::HashMap;

    /// A multipart form: its text fields and its photos, checked as they arrive.
    pub struct Form {
        pub fields: HashMap<String, String>,
        pub photos: Vec<Photo>,
    }

    impl Form {
        pub fn text(&self, name: &str) -> String {
            self.fields.get(name).cloned().unwrap_or_default()
        }
        pub fn int(&self, name: &str) -> Result<i64, AppError> {
            self.text(name)
                .trim()
                .parse()
                .map_err(|_| AppError::field(name, K::BadNumber))
        }
        pub fn opt_int(&self, name: &str) -> Result<Option<i64>, AppError> {
            let t = self.text(name);
            if t.trim().is_empty() {
                return Ok(None);
            }
            self.int(name).map(Some)
        }
    }

    /// Reads a multipart body: text fields up to 8 KiB each, and up to [`MAX_PER_STEP`]
    /// photos in the `photos` field, each checked to be a real JPEG or PNG under the cap.
    pub async fn read_form(data: MultipartData) -> Result<Form, AppError> {
        let mut mp = data
            .into_inner()
            .ok_or_else(|| AppError::BadRequest("not a multipart body".into()))?;
        let mut fields = HashMap::new();
        let mut photos = Vec::new();
        let mut photo_err: Option<K> = None;
        while let Some(mut field) = mp
            .next_field()
            .await
            .map_err(|e| AppError::BadRequest(e.to_string()))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.file_name().is_some();
            let cap = if is_file {
                photos::MAX_BYTES + 1
            } else {
                8 * 1024
            };
            let mut buf = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| AppError::BadRequest(e.to_string()))?
            {
                if buf.len() + chunk.len() > cap {
                    if is_file {
                        photo_err.get_or_insert(K::PhotoTooLarge);
                        buf.clear();
                        // Drain the rest of this part without keeping it.
                        while field
                            .chunk()
                            .await
                            .map_err(|e| AppError::BadRequest(e.to_string()))?
                            .is_some()
                        {}
                        break;
                    }
                    return Err(AppError::field(&name, K::TooLong));
                }
                buf.extend_from_slice(&chunk);
            }
            if is_file {
                // A file input with nothing chosen sends an empty part.
                if name != "photos" || buf.is_empty() {
                    continue;
                }
                if photos.len() >= MAX_PER_STEP {
                    photo_err.get_or_insert(K::TooManyPhotos);
                    continue;
                }
                match photos::sniff(buf) {
                    Ok(p) => photos.push(p),
                    Err(k) => {
                        photo_err.get_or_insert(k);
                    }
                }
            } else {
                let text = String::from_utf8(buf)
                    .map_err(|_| AppError::BadRequest(format!("{name} is not UTF-8")))?;
                fields.insert(name, text);
            }
        }
        if let Some(k) = photo_err {
            return Err(AppError::Invalid(vec![FieldError::new("photos", k)]));
        }
        Ok(Form { fields, photos })
    }
}

#[server(endpoint = "cases/list")]
pub async fn list_cases(filter: CaseFilter) -> Result<Page<CaseRow>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Cases, "cases.list").await?;
    let st = state()?;
    crate::db::cases::list(
        &st.store,
        &filter,
        crate::db::cases::scope(&st.store, &u, "case list").await?,
        crate::model::PER_PAGE,
    )
    .await
}

#[server(endpoint = "cases/get")]
pub async fn get_case(id: i64) -> Result<Option<CaseDetail>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Cases, "cases.get").await?;
    let st = state()?;
    crate::db::cases::detail(&st.store, &u, id).await
}

#[server(endpoint = "cases/queue")]
pub async fn my_queue() -> Result<Vec<CaseRow>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Queue, "cases.queue").await?;
    let st = state()?;
    crate::db::cases::queue(&st.store, &u, 200).await
}

/// Counts for the navigation badges; zero for roles without a queue.
#[server(endpoint = "cases/counts")]
pub async fn get_queue_counts() -> Result<QueueCounts, AppError> {
    let u = crate::auth::user()?;
    let st = crate::auth::state()?;
    crate::db::cases::queue_counts(&st.store, &u).await
}

#[server(endpoint = "cases/classes")]
pub async fn case_classes() -> Result<Vec<CaseClass>, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::Cases, "cases.classes").await?;
    let st = state()?;
    Ok(crate::db::catalogue::list(&st.store).await?)
}

/// (code, Chinese name, English name) of the districts covered by unit grids.
#[server(endpoint = "cases/districts")]
pub async fn districts() -> Result<Vec<(String, String, String)>, AppError> {
    crate::auth::user()?;
    Ok(crate::db::grids::DISTRICTS
        .iter()
        .map(|d| (d.0.to_string(), d.1.to_string(), d.2.to_string()))
        .collect())
}

/// The grid with open and overdue counts; departments see their own cases only.
#[server(endpoint = "cases/map")]
pub async fn map_cells() -> Result<Vec<GridCell>, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Cases, "cases.map").await?;
    let st = state()?;
    Ok(crate::db::grids::map_cells(
        &st.store,
        crate::db::now_ms(),
        crate::db::cases::scope(&st.store, &u, "case map").await?,
    )
    .await?)
}

/// A new report from an inspector: class, coordinates (placed in a grid), address,
/// description and at least one photo. Answers with the new case's id.
#[server(endpoint = "cases/report", input = MultipartFormData)]
pub async fn report_case(data: MultipartData) -> Result<i64, AppError> {
    use crate::auth::{actor, require, state};
    use crate::domain::validate;
    use crate::error::{FieldError, FieldErrorKind as K};
    let u = require(crate::domain::Area::Report, "case.report").await?;
    let st = state()?;
    let form = server::read_form(data).await?;
    let mut errs: Vec<FieldError> = Vec::new();
    let class_id = form.int("class_id").map_err(|_| ()).ok();
    if class_id.is_none() {
        errs.push(FieldError::new("class_id", K::UnknownClass));
    }
    let coord = |name: &str, lo: f64, hi: f64| {
        form.text(name)
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (lo..=hi).contains(v))
    };
    let (lon, lat) = (coord("lon", -180.0, 180.0), coord("lat", -90.0, 90.0));
    if lon.is_none() {
        errs.push(FieldError::new("lon", K::BadNumber));
    }
    if lat.is_none() {
        errs.push(FieldError::new("lat", K::BadNumber));
    }
    let address = form.text("address").trim().to_string();
    let description = form.text("description").trim().to_string();
    errs.extend(validate::text("address", &address, 200).err());
    errs.extend(validate::text("description", &description, 1000).err());
    if form.photos.is_empty() {
        errs.push(FieldError::new("photos", K::PhotoRequired));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let r = crate::db::cases::NewReport {
        class_id: class_id.unwrap_or_default(),
        lon: lon.unwrap_or_default(),
        lat: lat.unwrap_or_default(),
        address,
        description,
        source: "inspector",
        route_department_id: None,
    };
    let (id, _code) = crate::db::cases::report(&st.store, &u, &actor(&u), &r, form.photos).await?;
    st.live.publish(&st.store, "cases").await;
    leptos_axum::redirect(&format!("/cases/{id}?done=report"));
    Ok(id)
}

/// One workflow step on a case: `case_id`, `action` (a workflow action code), `version`
/// (as loaded), `note`, `department_id` (dispatch) and `photos` (report back, verify).
#[server(endpoint = "cases/step", input = MultipartFormData)]
pub async fn case_step(data: MultipartData) -> Result<String, AppError> {
    use crate::auth::{actor, require, state};
    use crate::domain::workflow::Action;
    use crate::error::FieldErrorKind as K;
    let u = require(crate::domain::Area::Cases, "case.step").await?;
    let st = state()?;
    let form = server::read_form(data).await?;
    let case_id = form.int("case_id")?;
    // A case the caller may not see does not exist for them (no hint through a refusal).
    if !crate::db::cases::visible(&st.store, &u, case_id).await? {
        return Err(AppError::NotFound);
    }
    let action = Action::from_code(form.text("action").trim())
        .ok_or_else(|| AppError::field("action", K::Required))?;
    let input = crate::db::cases::StepInput {
        case_id,
        action,
        version: form.int("version")?,
        note: form.text("note"),
        public_note: form.text("public_note"),
        department_id: form.opt_int("department_id")?,
        photos: form.photos,
    };
    let next = crate::db::cases::step(&st.store, &u, &actor(&u), input).await?;
    if matches!(
        next,
        crate::domain::workflow::State::Closed | crate::domain::workflow::State::Rejected
    ) {
        st.live.publish(&st.store, "incidents").await;
    }
    st.live.publish(&st.store, "cases").await;
    leptos_axum::redirect(&format!("/cases/{case_id}?done={}", action.code()));
    Ok(next.code().to_string())
}

/// Active departments, for filters and the dispatch form.
#[server(endpoint = "cases/departments")]
pub async fn department_options() -> Result<Vec<crate::model::DeptOption>, AppError> {
    use crate::auth::{require, state};
    require(crate::domain::Area::Cases, "cases.departments").await?;
    let st = state()?;
    Ok(crate::db::departments::list(&st.store)
        .await?
        .into_iter()
        .filter(|d| d.active)
        .map(|d| crate::model::DeptOption {
            id: d.id,
            name_zh: d.name_zh,
            name_en: d.name_en,
        })
        .collect())
}
