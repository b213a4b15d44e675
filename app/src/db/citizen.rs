//! Citizen intake: a report from someone without an account (the public report page or the
//! Open311 API) becomes an ordinary case in the dispatcher's queue, plus a row that holds
//! its tracking code, its category, the channel, the answers to the category's questions and
//! the optional contact details (never shown publicly).
//!
//! The public status by tracking code and the Open311 request list read only what may be
//! published: the category, the state, the grid (not the exact place or the typed address),
//! the description, the departments and the notes staff wrote for the public. Staff names
//! and staff notes never leave.
use super::{audit, cases, fmt_local, now_ms, Store};
use crate::domain::citizen::{self, Service, CODE_ALPHABET};
use crate::error::{AppError, FieldError, FieldErrorKind as K};
use crate::model::{PublicEvent, PublicState, PublicStatus};
use crate::photos::Photo;

/// Where a report came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Open311,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Open311 => "open311",
        }
    }
}

/// A report as submitted. Texts are trimmed and checked by [`submit`].
#[derive(Debug, Clone, Default)]
pub struct NewCitizenReport {
    pub service_code: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub description: String,
    /// Answers to the category's questions: (attribute code, value).
    pub answers: Vec<(String, String)>,
    pub email: String,
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub device_id: String,
    pub account_id: String,
    pub api_key_id: Option<i64>,
    pub photos: Vec<Photo>,
}

/// The form field an attribute's answer travels in (the Open311 parameter name).
pub fn attribute_field(code: &str) -> String {
    format!("attribute[{code}]")
}

/// The answers among a form's fields: each `attribute[code]` with its value. (A
/// multivaluelist answer would come as `attribute[code][]`: no category takes one.)
pub fn answers_from<'a>(
    fields: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<(String, String)> {
    fields
        .into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("attribute[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|code| (code.to_string(), v.clone()))
        })
        .collect()
}

/// The catalogue class a category files under, when it exists and is active.
pub async fn class_of(store: &Store, s: &Service) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM case_classes WHERE kind = $1 AND code = $2 AND active = TRUE",
    )
    .bind(s.class_kind)
    .bind(s.class_code)
    .fetch_optional(store.pool())
    .await
}

/// The categories whose catalogue class is active (a class switched off hides its category).
pub async fn services(store: &Store) -> sqlx::Result<Vec<&'static Service>> {
    let active: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, code FROM case_classes WHERE active = TRUE")
            .fetch_all(store.pool())
            .await?;
    Ok(citizen::SERVICES
        .iter()
        .filter(|s| {
            active
                .iter()
                .any(|(k, c)| k == s.class_kind && c == s.class_code)
        })
        .collect())
}

/// A keyed hash of the client's address: the rate limit counts by it, and the address itself
/// is not stored. The key is made once per database (setting `citizen.address_key`).
async fn address_hash(store: &Store, address: &str) -> sqlx::Result<String> {
    use sha2::{Digest, Sha256};
    const KEY: &str = "citizen.address_key";
    let existing: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(KEY)
        .fetch_optional(store.pool())
        .await?;
    let key = match existing {
        Some(k) => k,
        None => {
            let fresh = format!("{:032x}", rand::random::<u128>());
            // Another app server may have written one meanwhile: keep whichever came first.
            let mut tx = store.begin().await?;
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(KEY)
            .bind(&fresh)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(KEY)
                .fetch_one(store.pool())
                .await?
        }
    };
    Ok(format!(
        "{:x}",
        Sha256::digest(format!("{key}:{address}").as_bytes())
    ))
}

/// What the per-address limit counts by: an IPv4 address, or the /64 network of an IPv6
/// address (one household or phone typically holds a whole /64 and may rotate within it).
pub fn rate_key(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.parse::<std::net::IpAddr>().ok()) {
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => "unknown".into(),
    }
}

fn new_code() -> String {
    let mut body = String::with_capacity(8);
    for _ in 0..8 {
        let i = rand::random_range(0..CODE_ALPHABET.len());
        body.push(CODE_ALPHABET[i] as char);
    }
    format!("TY-{}-{}", &body[..4], &body[4..])
}

fn check_contact(errs: &mut Vec<FieldError>, r: &NewCitizenReport) {
    let email = r.email.trim();
    if !email.is_empty() {
        let ok = email.chars().count() <= 200
            && email
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'))
            && !email.chars().any(char::is_whitespace);
        if !ok {
            errs.push(FieldError::new("email", K::BadEmail));
        }
    }
    let phone = r.phone.trim();
    if !phone.is_empty() {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let ok = phone.chars().count() <= 30
            && (5..=20).contains(&digits)
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c));
        if !ok {
            errs.push(FieldError::new("phone", K::BadPhone));
        }
    }
    for (name, v) in [
        ("first_name", &r.first_name),
        ("last_name", &r.last_name),
        ("device_id", &r.device_id),
        ("account_id", &r.account_id),
    ] {
        if v.trim().chars().count() > 100 {
            errs.push(FieldError::new(name, K::TooLong));
        }
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Checks and stores a citizen report: a new case (source `citizen`) in the dispatcher's
/// queue and its citizen row, in one transaction. `client` is the caller's network address;
/// more than `per_hour` reports from one address in an hour are refused (429) with the
/// minutes to wait. Returns the case id, the case code (the public request id) and the
/// tracking code (for the reporter only).
pub async fn submit(
    store: &Store,
    actor: &audit::Actor,
    channel: Channel,
    client: &str,
    per_hour: i64,
    r: NewCitizenReport,
) -> Result<(i64, String, String), AppError> {
    let mut errs = Vec::new();
    let service = citizen::service(r.service_code.trim());
    let class_id = match service {
        Some(s) => class_of(store, s).await?,
        None => None,
    };
    if class_id.is_none() {
        errs.push(FieldError::new("service_code", K::UnknownService));
    }
    let answers = match service {
        Some(s) => match citizen::check_answers(s, &r.answers) {
            Ok(a) => a,
            Err((code, kind)) => {
                errs.push(FieldError::new(&attribute_field(code), kind));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let coord =
        |v: Option<f64>, lo: f64, hi: f64| v.filter(|v| v.is_finite() && (lo..=hi).contains(v));
    let (lon, lat) = (coord(r.lon, -180.0, 180.0), coord(r.lat, -90.0, 90.0));
    if lon.is_none() {
        errs.push(FieldError::new("lon", K::BadNumber));
    }
    if lat.is_none() {
        errs.push(FieldError::new("lat", K::BadNumber));
    }
    let description = r.description.trim().to_string();
    errs.extend(crate::domain::validate::text("description", &description, 1000).err());
    let address = r.address.trim().to_string();
    if address.chars().count() > 200 {
        errs.push(FieldError::new("address", K::TooLong));
    }
    check_contact(&mut errs, &r);
    if r.photos.len() > crate::photos::MAX_PER_STEP {
        errs.push(FieldError::new("photos", K::TooManyPhotos));
    }
    if !errs.is_empty() {
        return Err(AppError::Invalid(errs));
    }
    let (Some(service), Some(class_id), Some(lon), Some(lat)) = (service, class_id, lon, lat)
    else {
        return Err(AppError::Internal);
    };

    // The citizen's address is kept only as a keyed hash, in the audit log as well.
    let now = now_ms();
    let hash = address_hash(store, client).await?;
    let actor = &audit::Actor {
        ip: None,
        ..actor.clone()
    };
    let hour_ago = now - 3_600_000;
    let mut tx = store.begin().await?;
    // The address's row first: concurrent reports from one address wait for each other
    // here (a row lock on PostgreSQL, the single writer on SQLite), so the count below
    // sees every report committed before this one.
    sqlx::query(
        "INSERT INTO citizen_rate (bucket, touched) VALUES ($1, $2) \
         ON CONFLICT (bucket) DO UPDATE SET touched = excluded.touched",
    )
    .bind(&hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM citizen_reports WHERE address_hash = $1 AND created_at > $2",
    )
    .bind(&hash)
    .bind(hour_ago)
    .fetch_one(&mut *tx)
    .await?;
    if count >= per_hour {
        tx.rollback().await?;
        let wait_ms = oldest.unwrap_or(now) + 3_600_000 - now;
        // One audit record per address and hour; further refusals only go to the log.
        let mut tx = store.begin().await?;
        let first = sqlx::query(
            "UPDATE citizen_rate SET denied_at = $1 WHERE bucket = $2 AND (denied_at IS NULL OR denied_at <= $3)",
        )
        .bind(now)
        .bind(&hash)
        .bind(hour_ago)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if first {
            audit::record(
                &mut tx,
                actor,
                audit::Event {
                    action: "citizen.report",
                    target_type: "case",
                    target_id: None,
                    outcome: audit::DENIED,
                    detail: format!(
                        "rate limit: {count} reports in the last hour from address {}",
                        &hash[..12]
                    ),
                },
            )
            .await?;
        } else {
            tracing::warn!(address = &hash[..12], "citizen report refused: rate limit");
        }
        tx.commit().await?;
        return Err(AppError::TooManyRequests {
            minutes: (wait_ms + 59_999).max(60_000) / 60_000,
        });
    }

    // What the dispatcher reads: the citizen's words, then the answers to the questions.
    let mut text = description;
    for (code, value) in &answers {
        if let Some(a) = service.attributes.iter().find(|a| a.code == code) {
            let shown = a
                .values
                .iter()
                .find(|(k, _, _)| k == value)
                .map(|(_, zh, _)| *zh)
                .unwrap_or(value);
            text.push_str(&format!("\n{} {}", a.zh, shown));
        }
    }
    // An empty address: the grid's street stands in (the dispatcher sees the exact point).
    let address = if address.is_empty() {
        match super::grids::locate(&mut tx, lon, lat).await? {
            Some(g) => format!("{}{}", g.district_zh, g.street_zh),
            None => String::new(),
        }
    } else {
        address
    };
    let report = cases::NewReport {
        class_id,
        lon,
        lat,
        address,
        description: text,
        source: "citizen",
        route_department_id: None,
    };
    let (case_id, case_code) = cases::report_in(
        &mut tx,
        cases::Reporter::CITIZEN,
        actor,
        &report,
        r.photos,
        None,
    )
    .await?;
    // A fresh code: 31^8 codes, so a clash is rare; check rather than let the insert fail
    // (a failed statement would abort the PostgreSQL transaction).
    let mut code = new_code();
    while sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM citizen_reports WHERE code = $1")
        .bind(&code)
        .fetch_one(&mut *tx)
        .await?
        > 0
    {
        code = new_code();
    }
    let answers_json = serde_json::Value::Object(
        answers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
    .to_string();
    sqlx::query(
        "INSERT INTO citizen_reports (case_id, code, service_code, channel, api_key_id, attributes, email, phone, \
         first_name, last_name, device_id, account_id, address_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(case_id)
    .bind(&code)
    .bind(service.code)
    .bind(channel.code())
    .bind(r.api_key_id)
    .bind(&answers_json)
    .bind(opt(&r.email))
    .bind(opt(&r.phone))
    .bind(opt(&r.first_name))
    .bind(opt(&r.last_name))
    .bind(opt(&r.device_id))
    .bind(opt(&r.account_id))
    .bind(&hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            action: "citizen.report",
            target_type: "case",
            target_id: Some(case_id.to_string()),
            outcome: audit::OK,
            detail: format!(
                "tracking={code} case={case_code} service={} channel={} address={}",
                service.code,
                channel.code(),
                &hash[..12]
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((case_id, case_code, code))
}

/// The photos a closed report shows publicly: the report's own, and those of the last
/// report-back (after a failed verification and rework, the earlier fix is not the fix).
/// Verification photos stay internal. `p` is `case_photos`.
const PUBLIC_PHOTOS: &str = "(p.stage = 'report' OR (p.stage = 'handle' AND p.event_id = \
     (SELECT MAX(e.id) FROM case_events e WHERE e.case_id = p.case_id AND e.action = 'report_back')))";

/// Most request ids one list may name.
pub const MAX_IDS: usize = 100;

/// Which citizen reports a list asks for (Open311 `GET requests`).
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Public request ids, i.e. case codes (Open311 `service_request_id`); empty: any. The
    /// tracking codes are not accepted here: they stay with whoever reported.
    pub ids: Vec<String>,
    pub service_codes: Vec<String>,
    /// Reported at or after / before (ms).
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// `Some(true)`: open only; `Some(false)`: closed only.
    pub open: Option<bool>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    case_id: i64,
    code: String,
    case_code: String,
    service_code: String,
    state: String,
    on_hold: i64,
    reported_at: i64,
    updated_at: i64,
    filing_deadline: i64,
    deadline_at: Option<i64>,
    description: String,
    district_zh: String,
    district_en: String,
    street_zh: String,
    street_en: String,
    grid_code: String,
    col: i64,
    row: i64,
    department_zh: Option<String>,
    department_en: Option<String>,
    status_note: Option<String>,
}

const STATUS_SELECT: &str = "SELECT r.case_id, r.code, c.code AS case_code, r.service_code, c.state, \
     CASE WHEN c.on_hold THEN 1 ELSE 0 END AS on_hold, c.reported_at, c.updated_at, c.filing_deadline, \
     c.deadline_at, c.description, g.district_zh, g.district_en, g.street_zh, g.street_en, g.code AS grid_code, \
     g.col, g.row, d.name_zh AS department_zh, d.name_en AS department_en, \
     (SELECT e.public_note FROM case_events e WHERE e.case_id = c.id AND e.public_note <> '' \
        ORDER BY e.at DESC, e.id DESC LIMIT 1) AS status_note \
     FROM citizen_reports r JOIN cases c ON c.id = r.case_id JOIN grids g ON g.id = c.grid_id \
     LEFT JOIN departments d ON d.id = c.department_id";

/// `listed`: for a public list rather than for the holder of the tracking code. A listed
/// report shows its description only once the command centre has filed it: reports still
/// waiting to be checked, and those not taken up, may hold anything (spam, someone's
/// personal details).
fn to_status(r: StatusRow, listed: bool) -> PublicStatus {
    let state = PublicState::from_case(&r.state, r.on_hold != 0);
    let description = if listed && matches!(r.state.as_str(), "reported" | "rejected") {
        String::new()
    } else {
        r.description
    };
    let expected_at = match r.state.as_str() {
        "reported" | "filed" => Some(r.filing_deadline),
        "closed" | "rejected" => None,
        _ if r.on_hold != 0 => None,
        _ => r.deadline_at,
    };
    let (lon, lat) = crate::domain::grid::centre(r.col, r.row);
    PublicStatus {
        code: r.code,
        request_id: r.case_code,
        service_code: r.service_code,
        state,
        reported_at: r.reported_at,
        reported_text: fmt_local(r.reported_at),
        updated_at: r.updated_at,
        expected_at,
        expected_text: expected_at.map(fmt_local),
        district_zh: r.district_zh,
        district_en: r.district_en,
        street_zh: r.street_zh,
        street_en: r.street_en,
        grid_code: r.grid_code,
        lon,
        lat,
        description,
        department_zh: r.department_zh,
        department_en: r.department_en,
        status_note: r.status_note,
        timeline: Vec::new(),
        photos_before: Vec::new(),
        photos_after: Vec::new(),
    }
}

/// Citizen reports for a public list, newest first, without timelines or photos.
pub async fn requests(store: &Store, f: &RequestFilter) -> sqlx::Result<Vec<PublicStatus>> {
    let mut w = super::Where::default();
    if !f.ids.is_empty() {
        let ids = &f.ids[..f.ids.len().min(MAX_IDS)];
        let marks = vec!["?"; ids.len()].join(", ");
        w.and(
            &format!("c.code IN ({marks})"),
            ids.iter().map(|c| super::Arg::S(c.clone())),
        );
    }
    if !f.service_codes.is_empty() {
        let marks = vec!["?"; f.service_codes.len()].join(", ");
        w.and(
            &format!("r.service_code IN ({marks})"),
            f.service_codes.iter().map(|c| super::Arg::S(c.clone())),
        );
    }
    if let Some(s) = f.start {
        w.and("c.reported_at >= ?", [super::Arg::I(s)]);
    }
    if let Some(e) = f.end {
        w.and("c.reported_at < ?", [super::Arg::I(e)]);
    }
    match f.open {
        Some(true) => w.and("c.state NOT IN ('closed', 'rejected')", []),
        Some(false) => w.and("c.state IN ('closed', 'rejected')", []),
        None => {}
    }
    let sql = format!(
        "{STATUS_SELECT}{} ORDER BY c.reported_at DESC, c.id DESC LIMIT {}",
        w.sql(),
        f.limit.clamp(1, 1000)
    );
    let rows: Vec<StatusRow> = super::bind_args(sqlx::query_as(&sql), &w.args)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(|r| to_status(r, true)).collect())
}

/// One report by its tracking code, with its public timeline and, once closed, the photos
/// of the report and of the fix. None for an unknown code.
pub async fn status(store: &Store, code: &str) -> sqlx::Result<Option<PublicStatus>> {
    let Some(code) = citizen::normalise_code(code) else {
        return Ok(None);
    };
    let row: Option<StatusRow> = sqlx::query_as(&format!("{STATUS_SELECT} WHERE r.code = $1"))
        .bind(&code)
        .fetch_optional(store.pool())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let case_id = row.case_id;
    let mut s = to_status(row, false);
    #[derive(sqlx::FromRow)]
    struct Ev {
        at: i64,
        action: String,
        department_zh: Option<String>,
        department_en: Option<String>,
        public_note: String,
    }
    // Only the department an event sent the case to; never who acted.
    let events: Vec<Ev> = sqlx::query_as(
        "SELECT e.at, e.action, d.name_zh AS department_zh, d.name_en AS department_en, e.public_note \
         FROM case_events e LEFT JOIN departments d ON d.id = e.department_id AND e.action = 'dispatch' \
         WHERE e.case_id = $1 ORDER BY e.at, e.id",
    )
    .bind(case_id)
    .fetch_all(store.pool())
    .await?;
    s.timeline = events
        .into_iter()
        .map(|e| PublicEvent {
            at: e.at,
            at_text: fmt_local(e.at),
            action: e.action,
            department_zh: e.department_zh,
            department_en: e.department_en,
            note: e.public_note,
        })
        .collect();
    if s.state == PublicState::Closed {
        let photos: Vec<(i64, String)> = sqlx::query_as(
            &format!("SELECT p.id, p.stage FROM case_photos p WHERE p.case_id = $1 AND {PUBLIC_PHOTOS} ORDER BY p.id"),
        )
        .bind(case_id)
        .fetch_all(store.pool())
        .await?;
        for (id, stage) in photos {
            if stage == "report" {
                s.photos_before.push(id);
            } else {
                s.photos_after.push(id);
            }
        }
    }
    Ok(Some(s))
}

/// A photo shown on a closed report's status page: its type and bytes, when `photo_id`
/// belongs to the report with this code and the report is closed.
pub async fn public_photo(
    store: &Store,
    code: &str,
    photo_id: i64,
) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    let Some(code) = citizen::normalise_code(code) else {
        return Ok(None);
    };
    sqlx::query_as(&format!(
        "SELECT p.mime, p.bytes FROM case_photos p JOIN citizen_reports r ON r.case_id = p.case_id \
         JOIN cases c ON c.id = p.case_id \
         WHERE r.code = $1 AND p.id = $2 AND c.state = 'closed' AND {PUBLIC_PHOTOS}"
    ))
    .bind(&code)
    .bind(photo_id)
    .fetch_optional(store.pool())
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_keys() {
        assert_eq!(rate_key(Some("203.0.113.9")), "203.0.113.9");
        assert_eq!(
            rate_key(Some("2001:db8:1:2:aaaa::1")),
            rate_key(Some("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(rate_key(Some("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_ne!(rate_key(Some("2001:db8:1:3::1")), "2001:db8:1:2::/64");
        assert_eq!(rate_key(None), "unknown");
        assert_eq!(rate_key(Some("garbage")), "unknown");
    }

    #[test]
    fn codes_have_the_public_form() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(citizen::normalise_code(&c).as_deref(), Some(c.as_str()));
        }
    }

    #[test]
    fn contact_details_are_checked() {
        let mut errs = Vec::new();
        let r = NewCitizenReport {
            email: "a@b.cn".into(),
            phone: "+86 138-0000-0000".into(),
            ..Default::default()
        };
        check_contact(&mut errs, &r);
        assert!(errs.is_empty(), "{errs:?}");
        let r = NewCitizenReport {
            email: "not an email".into(),
            phone: "12".into(),
            first_name: "x".repeat(101),
            ..Default::default()
        };
        check_contact(&mut errs, &r);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "phone", "first_name"]);
    }

    #[test]
    fn public_states() {
        assert_eq!(
            PublicState::from_case("reported", false),
            PublicState::Received
        );
        assert_eq!(
            PublicState::from_case("handling", true),
            PublicState::OnHold
        );
        assert_eq!(
            PublicState::from_case("verified", false),
            PublicState::InProgress
        );
        assert_eq!(
            PublicState::from_case("rejected", false).open311(),
            "closed"
        );
        assert_eq!(
            PublicState::from_case("dispatched", false).open311(),
            "open"
        );
    }
}
