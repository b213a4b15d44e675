//! CSV uploads of readings: upload (checked, stored with its report, nothing imported),
//! import in steps (the page shows the progress), discard, list. Energy analysts of the
//! department owning the energy data only; the server checks every call.
use crate::error::AppError;
use crate::model::{UploadResult, UploadView};
use leptos::server;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

/// Lines imported per step: a step is one transaction, and the progress bar moves between.
pub const STEP_LINES: usize = 5000;

#[cfg(feature = "ssr")]
async fn editor() -> Result<crate::model::CurrentUser, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::Energy, "energy.upload").await?;
    if !crate::db::energy::may_edit(&state()?.store, &u).await? {
        return Err(AppError::Forbidden);
    }
    Ok(u)
}

/// Multipart form: `file` (the CSV) and `encoding` (`utf8` or `gb18030`).
#[server(endpoint = "energy/upload", input = MultipartFormData)]
pub async fn upload_readings(data: MultipartData) -> Result<UploadResult, AppError> {
    use crate::auth::{actor, state};
    use crate::db::energy_csv::{self as csv, Encoding, MAX_BYTES};
    let u = editor().await?;
    let st = state()?;
    let mut mp = data
        .into_inner()
        .ok_or_else(|| AppError::BadRequest("not a multipart body".into()))?;
    let (mut bytes, mut filename, mut enc) = (Vec::new(), String::new(), Encoding::Utf8);
    let mut too_large = false;
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(e.to_string()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            filename = field.file_name().unwrap_or("readings.csv").to_string();
        }
        let mut buf = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| AppError::BadRequest(e.to_string()))?
        {
            if buf.len() + chunk.len() > MAX_BYTES {
                too_large = true;
                continue;
            }
            buf.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => bytes = buf,
            "encoding" => {
                enc = Encoding::from_code(String::from_utf8_lossy(&buf).trim())
                    .unwrap_or(Encoding::Utf8)
            }
            _ => {}
        }
    }
    if too_large {
        return Ok(UploadResult::Refused(crate::model::CsvFileError {
            code: "too_large".into(),
            line: None,
            detail: String::new(),
        }));
    }
    let now = crate::db::now_ms();
    // The energy office may send readings for any meter.
    let up = match csv::create_upload(
        &st.store,
        u.id,
        u.department_id,
        true,
        &filename,
        enc,
        &bytes,
        now,
    )
    .await?
    {
        Ok(up) => up,
        Err(e) => return Ok(UploadResult::Refused(e)),
    };
    crate::db::audit::record_alone(
        &st.store,
        &actor(&u),
        crate::db::audit::Event {
            action: "energy_upload.create",
            target_type: "energy_upload",
            target_id: Some(up.id.to_string()),
            outcome: crate::db::audit::OK,
            detail: format!(
                "{filename}: {} good, {} refused",
                up.report.good_lines, up.report.bad_lines
            ),
        },
    )
    .await?;
    Ok(UploadResult::Stored(UploadView {
        id: up.id,
        filename,
        state: up.state,
        report: up.report,
        imported_lines: 0,
        created_at: crate::db::fmt_local(now),
        uploader: u.display_name,
    }))
}

/// Imports the next step of an upload's good lines; the upload with its progress.
#[server(endpoint = "energy/upload/import")]
pub async fn import_upload(id: i64) -> Result<UploadView, AppError> {
    use crate::auth::{actor, state};
    let u = editor().await?;
    let st = state()?;
    let now = crate::db::now_ms();
    let step =
        crate::db::energy_csv::import_step(&st.store, id, u.department_id, true, STEP_LINES, now)
            .await?
            .ok_or(AppError::NotFound)?;
    if step.state == "imported" {
        crate::db::audit::record_alone(
            &st.store,
            &actor(&u),
            crate::db::audit::Event {
                action: "energy_upload.import",
                target_type: "energy_upload",
                target_id: Some(id.to_string()),
                outcome: crate::db::audit::OK,
                detail: format!("{} lines", step.imported_lines),
            },
        )
        .await?;
        st.live.publish(&st.store, "energy").await;
    }
    crate::db::energy_csv::get_upload(&st.store, Some(u.department_id), id)
        .await?
        .ok_or(AppError::NotFound)
}

#[server(endpoint = "energy/upload/discard")]
pub async fn discard_upload(id: i64) -> Result<bool, AppError> {
    use crate::auth::{actor, state};
    let u = editor().await?;
    let st = state()?;
    Ok(crate::db::energy_csv::discard(
        &st.store,
        &actor(&u),
        id,
        u.department_id,
        crate::db::now_ms(),
    )
    .await?)
}

#[server(endpoint = "energy/uploads")]
pub async fn list_uploads() -> Result<Vec<UploadView>, AppError> {
    use crate::auth::state;
    let u = editor().await?;
    Ok(crate::db::energy_csv::list_uploads(&state()?.store, Some(u.department_id), 20).await?)
}
