//! CSV files of readings, as utilities and building systems export them: decoding, the
//! header, and a report of every line (good, or refused with its line number, column and
//! reason). Nothing is stored here: the upload keeps the file and its report, and imports
//! the good lines only when the uploader confirms (see `energy_uploads`).
//!
//! Format: a header line naming the columns, in any order, in English or Chinese —
//! `meter` (表计编号), `timestamp` (时间; also `at`, `time`), `value` (用量, 读数) — then one
//! reading per line. Times as for the API: RFC 3339, or Shanghai local `YYYY-MM-DD HH:MM`.
//! Other columns are ignored (and named in the report). Encodings: UTF-8 (with or without
//! a byte-order mark) or GB18030/GBK, which Chinese spreadsheet software still writes; the
//! uploader says which, and a file that is not valid in it is refused whole, with the line
//! of the first bad byte, rather than imported with garbled meter codes.
use super::energy_ingest::{check_reading, MeterRef, ReadingRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Largest file accepted (about 150,000 lines; under the upload body limit).
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Lines shown in the preview.
pub const PREVIEW_LINES: usize = 8;
/// Refused lines listed one by one in a report (all are counted).
pub const MAX_LISTED: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Utf8,
    Gb18030,
}

impl Encoding {
    pub fn code(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Gb18030 => "gb18030",
        }
    }
    pub fn from_code(c: &str) -> Option<Encoding> {
        match c {
            "utf8" | "utf-8" => Some(Encoding::Utf8),
            "gb18030" | "gbk" => Some(Encoding::Gb18030),
            _ => None,
        }
    }
}

pub use crate::model::{CsvFileError as FileError, CsvLineError as LineError, CsvReport as Report};

/// A checked file: the report and the good readings with their line numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub report: Report,
    pub good: Vec<(usize, ReadingRow)>,
}

/// Decodes the file's bytes; a byte sequence invalid in `enc` refuses the file.
pub fn decode(bytes: &[u8], enc: Encoding) -> Result<String, FileError> {
    if bytes.len() > MAX_BYTES {
        return Err(file_error("too_large", None, ""));
    }
    let text = match enc {
        Encoding::Utf8 => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(e) => {
                    let line = 1 + b[..e.valid_up_to()].iter().filter(|c| **c == b'\n').count();
                    return Err(file_error("bad_encoding", Some(line), "UTF-8"));
                }
            }
        }
        Encoding::Gb18030 => {
            let (s, had_errors) = encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|s| (s.into_owned(), false))
                .unwrap_or_else(|| (String::new(), true));
            if had_errors {
                // Find the first line that does not decode, for the message.
                let mut line = 1;
                for chunk in bytes.split(|c| *c == b'\n') {
                    if encoding_rs::GB18030
                        .decode_without_bom_handling_and_without_replacement(chunk)
                        .is_none()
                    {
                        break;
                    }
                    line += 1;
                }
                return Err(file_error("bad_encoding", Some(line), "GB18030"));
            }
            s
        }
    };
    if text.trim().is_empty() {
        return Err(file_error("empty_file", None, ""));
    }
    Ok(text)
}

fn file_error(code: &str, line: Option<usize>, detail: &str) -> FileError {
    FileError {
        code: code.into(),
        line,
        detail: detail.into(),
    }
}

/// The column a header cell names, if any.
fn column_of(cell: &str) -> Option<&'static str> {
    let c = cell.trim().trim_start_matches('\u{feff}').to_lowercase();
    match c.as_str() {
        "meter" | "meter_code" | "表计编号" | "表计" | "表号" => Some("meter"),
        "timestamp" | "at" | "time" | "时间" | "时间戳" | "计量时间" => Some("timestamp"),
        "value" | "consumption" | "用量" | "读数" | "数值" => Some("value"),
        _ => None,
    }
}

/// Checks every line of a decoded file against the meters (`department`: the uploader's,
/// when it may send only its own meters). A reading repeated in the file (same meter and
/// time) is refused at its later line.
pub fn check(
    text: &str,
    meters: &HashMap<String, MeterRef>,
    department: Option<i64>,
    now: i64,
) -> Result<Checked, FileError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = loop {
        match records.next() {
            None => return Err(file_error("empty_file", None, "")),
            Some(Err(_)) => {
                return Err(file_error(
                    "missing_column",
                    Some(1),
                    "meter, timestamp, value",
                ))
            }
            Some(Ok(r)) if r.iter().all(|c| c.is_empty()) => continue,
            Some(Ok(r)) => break r,
        }
    };
    let mut idx: HashMap<&'static str, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, cell) in header.iter().enumerate() {
        match column_of(cell) {
            Some(c) if !idx.contains_key(c) => {
                idx.insert(c, i);
            }
            _ => ignored.push(cell.to_string()),
        }
    }
    let missing: Vec<&str> = ["meter", "timestamp", "value"]
        .into_iter()
        .filter(|c| !idx.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(file_error("missing_column", Some(1), &missing.join(", ")));
    }
    let mut report = Report {
        preview: vec![header.iter().map(str::to_string).collect()],
        ignored_columns: ignored,
        ..Report::default()
    };
    let mut good = Vec::new();
    let mut seen: HashSet<(i64, i64)> = HashSet::new();
    let refuse = |report: &mut Report, line: usize, column: &str, code: &str| {
        report.bad_lines += 1;
        if report.errors.len() < MAX_LISTED {
            report.errors.push(LineError {
                line,
                column: column.into(),
                code: code.into(),
            });
        }
    };
    // Line numbers from byte offsets: the csv reader's own count skips blank lines, and the
    // uploader looks lines up in an editor that counts them.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let bytes = text.as_bytes();
    let line_at = |pos: Option<&csv::Position>| {
        pos.map_or(0, |p| {
            // A record's position may be where the blank lines before it begin.
            let mut b = p.byte() as usize;
            while matches!(bytes.get(b), Some(b'\n' | b'\r')) {
                b += 1;
            }
            1 + newlines.partition_point(|&n| n < b)
        })
    };
    for rec in records {
        let (line, rec) = match rec {
            Ok(r) => (line_at(r.position()), r),
            Err(e) => {
                let line = line_at(e.position());
                report.total_lines += 1;
                refuse(&mut report, line, "", "bad_line");
                continue;
            }
        };
        if rec.iter().all(|c| c.is_empty()) {
            continue;
        }
        report.total_lines += 1;
        if report.preview.len() <= PREVIEW_LINES {
            report
                .preview
                .push(rec.iter().map(str::to_string).collect());
        }
        let cell = |c: &str| rec.get(idx[c]);
        let value = cell("value").map(|v| Value::String(v.to_string()));
        match check_reading(
            cell("meter"),
            cell("timestamp"),
            value.as_ref(),
            meters,
            department,
            now,
        ) {
            Ok((row, _)) => {
                if seen.insert((row.meter_id, row.ts)) {
                    report.good_lines += 1;
                    good.push((line, row));
                } else {
                    refuse(&mut report, line, "timestamp", "duplicate_in_file");
                }
            }
            Err(errs) => {
                let first = errs.first();
                let column = match first.map(|e| e.field) {
                    Some("at") => "timestamp",
                    Some(f) => f,
                    None => "",
                };
                refuse(
                    &mut report,
                    line,
                    column,
                    first.map_or("bad_line", |e| e.code),
                );
            }
        }
    }
    if report.total_lines == 0 {
        return Err(file_error("no_lines", None, ""));
    }
    Ok(Checked { report, good })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::energy::{EnergyType, MeterInfo};

    fn meters() -> HashMap<String, MeterRef> {
        let m = |id: i64, code: &str, dept: i64, interval: i64| {
            (
                code.to_string(),
                MeterRef {
                    info: MeterInfo {
                        id,
                        entity_id: 1,
                        district_code: "xiaodian".into(),
                        energy_type: EnergyType::Electricity,
                        is_sub_meter: false,
                    },
                    code: code.into(),
                    department_id: dept,
                    interval_minutes: interval,
                },
            )
        };
        [
            m(1, "E-001", 10, 60),
            m(2, "E-002", 10, 15),
            m(3, "W-009", 20, 60),
        ]
        .into_iter()
        .collect()
    }

    /// 2026-11-24 12:00 Shanghai.
    const NOW: i64 = 1_763_956_800_000 + 365 * 86_400_000;

    #[test]
    fn a_good_file_reads_in_any_column_order_and_both_languages() {
        let text = "\u{feff}读数,表计编号,时间,备注\n12.5,E-001,2026-11-01 08:00,ok\n\n3,E-002,2026-11-01T08:15:00+08:00,\n";
        let c = check(text, &meters(), None, NOW).unwrap();
        assert_eq!(
            (
                c.report.total_lines,
                c.report.good_lines,
                c.report.bad_lines
            ),
            (2, 2, 0)
        );
        assert_eq!(c.report.ignored_columns, vec!["备注".to_string()]);
        assert_eq!(c.good[0].0, 2);
        assert_eq!(c.good[1].0, 4, "blank line 3 skipped, numbering kept");
        assert_eq!(c.good[0].1.value, 12.5);
        assert_eq!(c.good[1].1.meter_id, 2);
        // 2026-11-01 08:15 +08:00 = 00:15 UTC.
        assert_eq!(c.good[1].1.ts % 3_600_000, 15 * 60_000);
        assert_eq!(c.report.preview.len(), 3);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number_and_reason() {
        let text = "meter,timestamp,value\n\
                    E-001,2026-11-01 08:00,1\n\
                    NOPE,2026-11-01 08:00,1\n\
                    E-001,yesterday,1\n\
                    E-001,2026-11-01 09:00,1,2\n\
                    E-001,2026-11-01 10:00,abc\n\
                    E-001,2026-11-01 11:00,-3\n\
                    E-001,2026-11-01 08:30,1\n\
                    E-001,2026-11-01 08:00,1\n\
                    W-009,2026-11-01 08:00,1\n\
                    E-001,2026-11-01 12:00,\n";
        let c = check(text, &meters(), Some(10), NOW).unwrap();
        let got: Vec<(usize, &str, &str)> = c
            .report
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "meter", "unknown_meter"),
                (4, "timestamp", "bad_reading_time"),
                (6, "value", "bad_number"),
                (7, "value", "negative_value"),
                (8, "timestamp", "not_interval_start"),
                (9, "timestamp", "duplicate_in_file"),
                (10, "meter", "meter_not_yours"),
                (11, "value", "bad_number"),
            ]
        );
        // Line 5 has an extra cell: the named columns are still read, so it is good.
        assert_eq!(c.report.good_lines, 2);
        assert_eq!(c.good.iter().map(|g| g.0).collect::<Vec<_>>(), vec![2, 5]);
        assert_eq!((c.report.total_lines, c.report.bad_lines), (10, 8));
    }

    #[test]
    fn files_without_the_columns_or_lines_are_refused_whole() {
        let e = check("meter,value\nE-001,1\n", &meters(), None, NOW).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.detail.as_str()),
            ("missing_column", "timestamp")
        );
        let e = check("a;b;c\n1;2;3\n", &meters(), None, NOW).unwrap_err();
        assert_eq!(e.detail, "meter, timestamp, value");
        assert_eq!(
            check("meter,timestamp,value\n\n", &meters(), None, NOW)
                .unwrap_err()
                .code,
            "no_lines"
        );
        assert_eq!(
            decode(b"  \n", Encoding::Utf8).unwrap_err().code,
            "empty_file"
        );
    }

    #[test]
    fn encodings_are_checked_not_guessed() {
        // "表计编号" in GBK.
        let (gbk, _, _) = encoding_rs::GBK.encode("表计编号,时间,用量\nE-001,2026-11-01 08:00,1\n");
        let text = decode(&gbk, Encoding::Gb18030).unwrap();
        assert!(text.starts_with("表计编号"));
        assert_eq!(
            check(&text, &meters(), None, NOW)
                .unwrap()
                .report
                .good_lines,
            1
        );
        // The same bytes are not UTF-8: refused at line 1, not imported as mojibake.
        let e = decode(&gbk, Encoding::Utf8).unwrap_err();
        assert_eq!((e.code.as_str(), e.line), ("bad_encoding", Some(1)));
        // An invalid byte on line 3 of a UTF-8 file.
        let mut b =
            b"meter,timestamp,value\nE-001,2026-11-01 08:00,1\nE-001,2026-11-01 09:00,".to_vec();
        b.push(0xff);
        assert_eq!(decode(&b, Encoding::Utf8).unwrap_err().line, Some(3));
        // A UTF-8 byte-order mark is dropped.
        assert!(decode(b"\xEF\xBB\xBFmeter", Encoding::Utf8)
            .unwrap()
            .starts_with("meter"));
        // GB18030 refuses a truncated two-byte sequence (line 2).
        let mut g = b"meter,timestamp,value\nE-001,".to_vec();
        g.push(0x81);
        assert_eq!(decode(&g, Encoding::Gb18030).unwrap_err().line, Some(2));
        assert_eq!(Encoding::from_code("gbk"), Some(Encoding::Gb18030));
    }

    #[test]
    fn only_the_first_refusals_are_listed_but_all_are_counted() {
        let mut text = String::from("meter,timestamp,value\n");
        for i in 0..(MAX_LISTED + 20) {
            text.push_str(&format!("X-{i},2026-11-01 08:00,1\n"));
        }
        let c = check(&text, &meters(), None, NOW).unwrap();
        assert_eq!(c.report.errors.len(), MAX_LISTED);
        assert_eq!(c.report.bad_lines, MAX_LISTED + 20);
        assert_eq!(c.report.errors[0].line, 2);
    }
}

/// An upload as stored: its report, state and import progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: i64,
    pub state: String,
    pub report: Report,
    pub imported_lines: i64,
}

/// Stores a file with its report (state `validated`); nothing is imported yet. A file
/// refused whole is not stored: its error comes back.
#[allow(clippy::too_many_arguments)]
pub async fn create_upload(
    store: &super::Store,
    user_id: i64,
    department_id: i64,
    may_send_any: bool,
    filename: &str,
    enc: Encoding,
    bytes: &[u8],
    now: i64,
) -> sqlx::Result<Result<Upload, FileError>> {
    let text = match decode(bytes, enc) {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    let meters = super::energy_ingest::load_meters(store, None).await?;
    let checked = match check(
        &text,
        &meters,
        (!may_send_any).then_some(department_id),
        now,
    ) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let report = serde_json::to_string(&checked.report).unwrap_or_default();
    let mut tx = store.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO energy_uploads (user_id, department_id, filename, encoding, bytes, total_lines, good_lines, \
         bad_lines, report, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'validated', $10, $10) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(department_id)
    .bind(filename.chars().take(200).collect::<String>())
    .bind(enc.code())
    .bind(bytes.to_vec())
    .bind(checked.report.total_lines as i64)
    .bind(checked.report.good_lines as i64)
    .bind(checked.report.bad_lines as i64)
    .bind(report)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(Upload {
        id,
        state: "validated".into(),
        report: checked.report,
        imported_lines: 0,
    }))
}

/// Imports the next `max_lines` good lines of upload `id` (its uploader's department must
/// be `department_id`); the upload with its progress, or None when there is no such upload
/// of that department. The file is checked again at each step (a meter may have changed
/// hands since): lines refused now are skipped, never half-stored. Steps are idempotent:
/// one repeated after a lost answer stores nothing twice.
pub async fn import_step(
    store: &super::Store,
    id: i64,
    department_id: i64,
    may_send_any: bool,
    max_lines: usize,
    now: i64,
) -> sqlx::Result<Option<Upload>> {
    let row: Option<(Vec<u8>, String, String, String, i64)> = sqlx::query_as(
        "SELECT bytes, encoding, report, state, imported_lines FROM energy_uploads WHERE id = $1 AND department_id = $2",
    )
    .bind(id)
    .bind(department_id)
    .fetch_optional(store.pool())
    .await?;
    let Some((bytes, enc, report, state, imported)) = row else {
        return Ok(None);
    };
    let report: Report = serde_json::from_str(&report).unwrap_or_default();
    if state == "imported" || state == "discarded" {
        return Ok(Some(Upload {
            id,
            state,
            report,
            imported_lines: imported,
        }));
    }
    let enc = Encoding::from_code(&enc).unwrap_or(Encoding::Utf8);
    let meters = super::energy_ingest::load_meters(store, None).await?;
    let good = match decode(&bytes, enc)
        .and_then(|t| check(&t, &meters, (!may_send_any).then_some(department_id), now))
    {
        Ok(c) => c.good,
        Err(_) => Vec::new(),
    };
    let start = (imported.max(0) as usize).min(good.len());
    let end = (start + max_lines).min(good.len());
    let rows: Vec<ReadingRow> = good[start..end].iter().map(|(_, r)| *r).collect();
    let infos: HashMap<i64, crate::domain::energy::MeterInfo> = meters
        .values()
        .map(|m| (m.info.id, m.info.clone()))
        .collect();
    let (factors, region) = super::energy_ingest::factors(store).await?;
    let mut tx = store.begin().await?;
    super::energy_ingest::store_in(
        &mut tx,
        store.kind,
        &rows,
        &infos,
        &factors,
        &region,
        &format!("csv:{id}"),
        now,
    )
    .await?;
    let state = if end >= good.len() {
        "imported"
    } else {
        "importing"
    };
    // Progress moves only forward, and only from where this step began.
    sqlx::query(
        "UPDATE energy_uploads SET imported_lines = $1, state = $2, updated_at = $3 \
         WHERE id = $4 AND imported_lines = $5",
    )
    .bind(end as i64)
    .bind(state)
    .bind(now)
    .bind(id)
    .bind(start as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Upload {
        id,
        state: state.into(),
        report,
        imported_lines: end as i64,
    }))
}

/// Uploads of a department (all when `department` is None), newest first.
pub async fn list_uploads(
    store: &super::Store,
    department: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<crate::model::UploadView>> {
    uploads(store, department, None, limit).await
}

/// One upload of a department (any department's when `department` is None).
pub async fn get_upload(
    store: &super::Store,
    department: Option<i64>,
    id: i64,
) -> sqlx::Result<Option<crate::model::UploadView>> {
    Ok(uploads(store, department, Some(id), 1).await?.pop())
}

async fn uploads(
    store: &super::Store,
    department: Option<i64>,
    id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<crate::model::UploadView>> {
    let rows: Vec<(i64, String, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT u.id, u.filename, u.state, u.report, u.imported_lines, u.created_at, s.display_name \
         FROM energy_uploads u JOIN users s ON s.id = u.user_id \
         WHERE ($1 = 0 OR u.department_id = $1) AND ($2 = 0 OR u.id = $2) ORDER BY u.id DESC LIMIT $3",
    )
    .bind(department.unwrap_or(0))
    .bind(id.unwrap_or(0))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, filename, state, report, imported, at, who)| crate::model::UploadView {
                id,
                filename,
                state,
                report: serde_json::from_str(&report).unwrap_or_default(),
                imported_lines: imported,
                created_at: super::fmt_local(at),
                uploader: who,
            },
        )
        .collect())
}

/// Marks a validated upload discarded (nothing of it was imported); false when it was not
/// `validated` any more or not the department's.
pub async fn discard(
    store: &super::Store,
    actor: &super::audit::Actor,
    id: i64,
    department_id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE energy_uploads SET state = 'discarded', updated_at = $1 WHERE id = $2 AND department_id = $3 AND state = 'validated'",
    )
    .bind(now)
    .bind(id)
    .bind(department_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 1 {
        super::audit::record(
            &mut tx,
            actor,
            super::audit::Event {
                action: "energy_upload.discard",
                target_type: "energy_upload",
                target_id: Some(id.to_string()),
                outcome: super::audit::OK,
                detail: String::new(),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}
