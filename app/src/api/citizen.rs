//! Server functions of the public pages: no account. A citizen reports a problem and looks
//! up its status by tracking code. What they may read is decided in `db::citizen`.
use crate::error::AppError;
use crate::model::{GridCell, PublicStatus, Submitted};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};

/// The unit grid for the place picker (cells only: no case counts).
#[server(endpoint = "public/cells")]
pub async fn public_cells() -> Result<Vec<GridCell>, AppError> {
    let st = crate::auth::state()?;
    Ok(crate::db::grids::cells(&st.store).await?)
}

/// The categories a citizen may choose now (a class switched off hides its category).
#[server(endpoint = "public/services")]
pub async fn public_services() -> Result<Vec<String>, AppError> {
    let st = crate::auth::state()?;
    Ok(crate::db::citizen::services(&st.store)
        .await?
        .into_iter()
        .map(|s| s.code.to_string())
        .collect())
}

/// The trap field of the report form: hidden from people (and named so that no browser
/// autofills it), filled by form-filling robots.
pub const TRAP_FIELD: &str = "cl_leave_empty";

/// A report from the public page: `service_code`, `lat`, `lon`, `address`, `description`,
/// `attribute[code]` answers, optional `email` and `phone`, up to four `photos`, and the
/// empty [`TRAP_FIELD`]. Answers with the tracking code (and, without
/// JavaScript, a redirect to the status page).
#[server(endpoint = "public/report", input = MultipartFormData)]
pub async fn citizen_report(data: MultipartData) -> Result<Submitted, AppError> {
    use crate::db::{audit, citizen};
    let st = crate::auth::state()?;
    let meta = crate::auth::meta();
    // The citizen's address is not written to the audit log (only its keyed hash, by
    // `submit`).
    let actor = audit::Actor {
        user_id: None,
        username: None,
        ip: None,
        request_id: meta.request_id.clone(),
    };
    let form = super::cases::server::read_form(data).await?;
    if !form.text(TRAP_FIELD).trim().is_empty() {
        audit::record_alone(
            &st.store,
            &actor,
            audit::Event {
                action: "citizen.report",
                target_type: "case",
                target_id: None,
                outcome: audit::DENIED,
                detail: "spam trap filled".into(),
            },
        )
        .await?;
        return Err(AppError::BadRequest("not accepted".into()));
    }
    let num = |name: &str| form.text(name).trim().parse::<f64>().ok();
    let answers = citizen::answers_from(&form.fields);
    let r = citizen::NewCitizenReport {
        service_code: form.text("service_code"),
        lon: num("lon"),
        lat: num("lat"),
        address: form.text("address"),
        description: form.text("description"),
        answers,
        email: form.text("email"),
        phone: form.text("phone"),
        photos: form.photos,
        ..Default::default()
    };
    let client = crate::db::citizen::rate_key(meta.ip.as_deref());
    let (_, _, code) = citizen::submit(
        &st.store,
        &actor,
        citizen::Channel::Web,
        &client,
        st.config.citizen_per_hour,
        r,
    )
    .await?;
    st.live.publish(&st.store, "cases").await;
    leptos_axum::redirect(&format!("/track/{code}?new=1"));
    Ok(Submitted { code })
}

/// A report's public status by tracking code; `None` for a code that matches no report.
#[server(endpoint = "public/status")]
pub async fn citizen_status(code: String) -> Result<Option<PublicStatus>, AppError> {
    let st = crate::auth::state()?;
    Ok(crate::db::citizen::status(&st.store, &code).await?)
}
