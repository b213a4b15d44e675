//! Open data and the data catalogue. The public datasets page needs no account; the
//! catalogue is for staff, and granting or revoking is checked on the server against the
//! caller's role and department whatever the page showed.
use crate::error::AppError;
use crate::model::{CatalogueView, PublicData};
use leptos::server;

/// The public datasets with their columns. Anyone, signed in or not.
#[server(endpoint = "data/public")]
pub async fn get_public_data() -> Result<PublicData, AppError> {
    use crate::db::opendata;
    use crate::model::DataField;
    let st = crate::auth::state()?;
    let now = crate::db::now_ms();
    let list = crate::db::datasets::list(&st.store, true).await?;
    let datasets = list
        .into_iter()
        .map(|d| {
            let fields = opendata::fields(&d.code)
                .unwrap_or(&[])
                .iter()
                .map(|f| DataField {
                    name: f.name.into(),
                    zh: f.zh.into(),
                    en: f.en.into(),
                    kind: f.kind.into(),
                })
                .collect();
            (d, fields)
        })
        .collect();
    let m = crate::db::assessments::month_of(now);
    Ok(PublicData {
        datasets,
        current_month: m.code(),
    })
}

/// Every dataset, public or not, with owner, freshness and grants. Staff.
#[server(endpoint = "data/catalogue")]
pub async fn get_data_catalogue() -> Result<CatalogueView, AppError> {
    use crate::auth::{require, state};
    let u = require(crate::domain::Area::DataCatalogue, "data.catalogue").await?;
    Ok(crate::db::datasets::catalogue(&state()?.store, &u).await?)
}

/// Grants `department_id` read access to restricted dataset `dataset`: the owning
/// department's head or an administrator.
#[server(endpoint = "data/grant")]
pub async fn grant_dataset(
    #[server(default)] dataset: String,
    #[server(default)] department_id: String,
) -> Result<i64, AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::DataCatalogue, "dataset.grant").await?;
    crate::db::datasets::grant(&state()?.store, &u, &actor(&u), &dataset, &department_id).await
}

/// Revokes grant `id`: the owning department's head or an administrator.
#[server(endpoint = "data/revoke")]
pub async fn revoke_dataset_grant(id: i64) -> Result<(), AppError> {
    use crate::auth::{actor, require, state};
    let u = require(crate::domain::Area::DataCatalogue, "dataset.revoke").await?;
    crate::db::datasets::revoke(&state()?.store, &u, &actor(&u), id).await
}
