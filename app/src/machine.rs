//! Messages of the machine APIs, in the caller's language (Accept-Language; Chinese unless
//! English is asked for). Programs read the stable `code`; people read the `message`.
use crate::i18n::*;

/// The language an `Accept-Language` header asks for.
pub fn locale(accept_language: Option<&str>) -> Locale {
    match accept_language {
        Some(v) if v.trim_start().to_ascii_lowercase().starts_with("en") => Locale::en,
        _ => Locale::zh,
    }
}

/// The message for an error code of the machine APIs.
pub fn message(l: Locale, code: &str) -> &'static str {
    match code {
        "not_an_object" => td_string!(l, api_err_not_an_object),
        "required" => td_string!(l, api_err_required),
        "too_long" => td_string!(l, api_err_too_long),
        "unknown_camera" => td_string!(l, api_err_unknown_camera),
        "camera_not_yours" => td_string!(l, api_err_camera_not_yours),
        "unknown_type" => td_string!(l, api_err_unknown_type),
        "bad_time" => td_string!(l, api_err_bad_time),
        "in_future" => td_string!(l, api_err_in_future),
        "too_old" => td_string!(l, api_err_too_old),
        "bad_confidence" => td_string!(l, api_err_bad_confidence),
        "unknown_meter" => td_string!(l, api_err_unknown_meter),
        "meter_not_yours" => td_string!(l, api_err_meter_not_yours),
        "bad_reading_time" => td_string!(l, api_err_bad_reading_time),
        "not_interval_start" => td_string!(l, api_err_not_interval_start),
        "reading_in_future" => td_string!(l, api_err_reading_in_future),
        "reading_too_old" => td_string!(l, api_err_reading_too_old),
        "bad_number" => td_string!(l, api_err_bad_number),
        "negative_value" => td_string!(l, api_err_negative_value),
        "value_too_large" => td_string!(l, api_err_value_too_large),
        "readings_batch_too_large" => td_string!(l, api_err_readings_batch_too_large),
        "duplicate_in_file" => td_string!(l, api_err_duplicate_in_file),
        "bad_line" => td_string!(l, api_err_bad_line),
        "bad_encoding" => td_string!(l, api_err_bad_encoding),
        "missing_column" => td_string!(l, api_err_missing_column),
        "empty_file" => td_string!(l, api_err_empty_file),
        "no_lines" => td_string!(l, api_err_no_lines),
        "too_large" => td_string!(l, api_err_file_too_large),
        "snapshot_too_large" => td_string!(l, api_err_snapshot_too_large),
        "bad_base64" => td_string!(l, api_err_bad_base64),
        "bad_image" => td_string!(l, api_err_bad_image),
        "duplicate_in_batch" => td_string!(l, api_err_duplicate_in_batch),
        "bad_status" => td_string!(l, api_err_bad_status),
        "outside_grids" => td_string!(l, api_err_outside_grids),
        "malformed_json" => td_string!(l, api_err_malformed_json),
        "missing_items" => td_string!(l, api_err_missing_items),
        "empty_batch" => td_string!(l, api_err_empty_batch),
        "batch_too_large" => td_string!(l, api_err_batch_too_large),
        "body_too_large" => td_string!(l, api_err_body_too_large),
        "missing_key" => td_string!(l, api_err_missing_key),
        "unknown_key" => td_string!(l, api_err_unknown_key),
        "revoked_key" => td_string!(l, api_err_revoked_key),
        "scope_missing" => td_string!(l, api_err_scope_missing),
        "rate_limited" => td_string!(l, api_err_rate_limited),
        "none_accepted" => td_string!(l, api_err_none_accepted),
        _ => td_string!(l, api_err_internal),
    }
}
