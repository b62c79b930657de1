//! A street from an XLSX workbook (sheets `street`, `communities`, `grids`, `workers`,
//! `households`): every row is read and every bad cell reported with its sheet and row; only a
//! workbook without a bad row goes on, to the API's own import (`admin::org::import`), which
//! takes the whole street in one transaction or nothing. `/import/template.xlsx` is a workbook
//! to start from (a small sample street).

use std::io::Cursor;

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use calamine::{Data, Reader, Xlsx};
use gridpatrol_protocol::config::GridConfig;
use gridpatrol_protocol::domain::{CareTag, WorkerRole};
use maud::{html, Markup};
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};

use super::extract::{csrf_refused, same_token, PageError, PageResult, User};
use super::layout::{self, csrf};
use crate::admin::org;
use crate::error::ApiError;
use crate::http::{AppState, JsonBody};

/// (sheet, its columns) in the order the workbook has them.
const SHEETS: &[(&str, &[&str])] = &[
    ("street", &["code", "name"]),
    ("communities", &["id", "code", "name"]),
    ("grids", &["id", "code", "community_id", "name", "boundary"]),
    ("workers", &["id", "name", "role", "grid_ids"]),
    ("households", &["id", "grid_id", "label", "name", "phone", "care_tags"]),
];
/// The largest workbook accepted (a street is a few thousand rows).
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// A bad row: where, and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub sheet: String,
    /// The spreadsheet's own row number (1 is the heading).
    pub row: usize,
    pub message: String,
}

fn cell(d: Option<&Data>) -> String {
    match d {
        None | Some(Data::Empty) => String::new(),
        // Area codes typed as numbers come back as floats: no ".0" on a whole number.
        Some(Data::Float(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Some(other) => other.to_string().trim().to_string(),
    }
}

fn list(s: &str) -> Vec<String> {
    s.split([',', '，', ';']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// `lng lat; lng lat; …` (or `lng,lat; …`), at least three corners.
fn ring(s: &str) -> Result<Vec<[f64; 2]>, String> {
    let pts: Result<Vec<[f64; 2]>, String> = s
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let n: Vec<f64> = p
                .split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(|x| x.parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("boundary: {p:?} is not \"lng lat\""))?;
            match n[..] {
                [lng, lat] => Ok([lng, lat]),
                _ => Err(format!("boundary: {p:?} is not \"lng lat\"")),
            }
        })
        .collect();
    let pts = pts?;
    if pts.len() < 3 {
        return Err("boundary: needs at least three corners \"lng lat; lng lat; lng lat\"".into());
    }
    Ok(pts)
}

/// The workbook as a `GridConfig` (JSON), or every bad row.
pub fn read_workbook(bytes: &[u8]) -> Result<Value, Vec<RowError>> {
    let err = |sheet: &str, row: usize, message: String| RowError { sheet: sheet.to_string(), row, message };
    let mut book =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| vec![err("-", 0, format!("not an XLSX workbook: {e}"))])?;
    let mut errors = Vec::new();
    let mut out = json!({ "street": null, "communities": [], "grids": [], "workers": [], "households": [] });
    for (sheet, cols) in SHEETS {
        let range = match book.worksheet_range(sheet) {
            Ok(r) => r,
            Err(_) if *sheet == "households" => continue,
            Err(_) => {
                errors.push(err(sheet, 0, format!("the sheet \"{sheet}\" is missing")));
                continue;
            }
        };
        let mut rows = range.rows();
        let heading: Vec<String> = rows.next().map(|r| r.iter().map(|c| cell(Some(c))).collect()).unwrap_or_default();
        let at: Vec<Option<usize>> =
            cols.iter().map(|c| heading.iter().position(|h| h == c || h.starts_with(&format!("{c} ")))).collect();
        for (c, pos) in cols.iter().zip(&at) {
            if pos.is_none() && !matches!(*c, "phone" | "care_tags") {
                errors.push(err(sheet, 1, format!("no column \"{c}\"")));
            }
        }
        for (i, r) in rows.enumerate() {
            let row = i + 2;
            let get = |c: &str| -> String {
                let k = cols.iter().position(|x| *x == c).and_then(|k| at[k]);
                cell(k.and_then(|k| r.get(k)))
            };
            if cols.iter().all(|c| get(c).is_empty()) {
                continue;
            }
            let mut bad = |m: String| errors.push(err(sheet, row, m));
            for c in cols.iter().filter(|c| !matches!(**c, "phone" | "care_tags")) {
                if get(c).is_empty() {
                    bad(format!("{c}: empty"));
                }
            }
            match *sheet {
                "street" => out["street"] = json!({ "code": get("code"), "name": get("name") }),
                "communities" => {
                    push(&mut out, sheet, json!({ "id": get("id"), "code": get("code"), "name": get("name") }))
                }
                "grids" => match ring(&get("boundary")) {
                    Ok(b) => push(
                        &mut out,
                        sheet,
                        json!({ "id": get("id"), "code": get("code"),
                        "community_id": get("community_id"), "name": get("name"), "boundary": b }),
                    ),
                    Err(m) => bad(m),
                },
                "workers" => {
                    let role = get("role");
                    if WorkerRole::from_code(&role).is_none() && !role.is_empty() {
                        bad(format!(
                            "role: {role:?} is not one of {}",
                            WorkerRole::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", ")
                        ));
                    }
                    push(
                        &mut out,
                        sheet,
                        json!({ "id": get("id"), "name": get("name"), "role": role, "grid_ids": list(&get("grid_ids")) }),
                    );
                }
                _ => {
                    let tags = list(&get("care_tags"));
                    if let Some(t) = tags.iter().find(|t| CareTag::from_code(t).is_none()) {
                        bad(format!(
                            "care_tags: {t:?} is not one of {}",
                            CareTag::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", ")
                        ));
                    }
                    let phone = Some(get("phone")).filter(|p| !p.is_empty());
                    push(
                        &mut out,
                        sheet,
                        json!({ "id": get("id"), "grid_id": get("grid_id"), "label": get("label"),
                        "name": get("name"), "phone": phone, "care_tags": tags }),
                    );
                }
            }
        }
    }
    if out["street"].is_null() && errors.iter().all(|e| e.sheet != "street") {
        errors.push(err("street", 2, "the street's code and name go on row 2".into()));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn push(out: &mut Value, sheet: &str, v: Value) {
    if let Some(a) = out[sheet].as_array_mut() {
        a.push(v);
    }
}

/// The API's error about `grids[3].boundary` as the workbook's row (heading + 1-based).
fn row_of(field: &str) -> Option<RowError> {
    let (sheet, rest) = field.split_once('[')?;
    let (i, tail) = rest.split_once(']')?;
    let i: usize = i.parse().ok()?;
    SHEETS.iter().any(|(s, _)| *s == sheet).then(|| RowError {
        sheet: sheet.to_string(),
        row: i + 2,
        message: tail.trim_start_matches('.').to_string(),
    })
}

fn page(user: &User, notice: Option<Markup>) -> Markup {
    let l = user.lang;
    layout::page(
        user,
        l.t("导入街道（XLSX）", "Import the street (XLSX)"),
        html! {
            @if let Some(n) = notice { (n) }
            p { (l.t("工作簿含 street、communities、grids、workers、households 五张表；有任何一行出错则全部不导入。",
                     "A workbook with the sheets street, communities, grids, workers, households; if any row is wrong, nothing is imported.")) " "
                a href="/import/template.xlsx" { (l.t("下载模板（示例街道）", "Download the template (a sample street)")) } }
            form.stack #import method="post" action="/import" enctype="multipart/form-data" {
                (csrf(user))
                label { (l.t("工作簿", "Workbook")) input type="file" name="workbook" accept=".xlsx" required; }
                button type="submit" { (l.t("导入", "Import")) }
            }
        },
    )
}

pub async fn form(user: User) -> PageResult {
    user.op.require_admin().map_err(|e| PageError::new(e, user.lang))?;
    Ok(page(&user, None).into_response())
}

pub async fn upload(State(s): State<AppState>, user: User, mut parts: Multipart) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let (mut token, mut bytes) = (None, None);
    while let Some(field) = parts.next_field().await.map_err(|_| err(ApiError::bad_request("malformed upload")))? {
        match field.name() {
            Some("_csrf") => token = field.text().await.ok(),
            Some("workbook") => {
                let b = field.bytes().await.map_err(|_| err(ApiError::bad_request("the upload broke off")))?;
                if b.len() > MAX_BYTES {
                    return Err(err(crate::http::payload_too_large()));
                }
                bytes = Some(b);
            }
            _ => {}
        }
    }
    if !token.as_deref().is_some_and(|t| same_token(t, &user.csrf())) {
        return Err(csrf_refused(l));
    }
    user.op.require_admin().map_err(err)?;
    let bytes = bytes.ok_or_else(|| err(ApiError::invalid("workbook", "choose a file")))?;
    let bad_rows = |rows: Vec<RowError>| {
        let notice = html! {
            div.error role="alert" #import-errors {
                p { (l.t("工作簿有错误，未导入任何内容：", "The workbook has errors; nothing was imported:")) }
                ul { @for e in &rows { li { (e.sheet) " " (l.t("第", "row ")) (e.row) (l.t("行", "")) ": " (e.message) } } }
            }
        };
        Ok((StatusCode::BAD_REQUEST, page(&user, Some(notice))).into_response())
    };
    let config = match read_workbook(&bytes) {
        Ok(c) => c,
        Err(rows) => return bad_rows(rows),
    };
    let config: GridConfig = match serde_json::from_value(config) {
        Ok(c) => c,
        Err(e) => return bad_rows(vec![RowError { sheet: "-".into(), row: 0, message: e.to_string() }]),
    };
    match org::import(State(s), user.bearer(), JsonBody(config)).await {
        Ok(summary) => {
            let n = summary.0;
            let notice = html! { p.notice role="status" #import-done {
            (l.t("已导入：", "Imported: ")) (n.communities) " " (l.t("个社区", "communities")) ", " (n.grids) " "
            (l.t("个网格", "grids")) ", " (n.workers) " " (l.t("名网格员", "workers")) ", " (n.households) " " (l.t("户", "households")) } };
            Ok(page(&user, Some(notice)).into_response())
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let row = e.field.as_deref().and_then(row_of);
            bad_rows(vec![row.map(|r| RowError { message: e.message.clone(), ..r }).unwrap_or(RowError {
                sheet: "-".into(),
                row: 0,
                message: e.message,
            })])
        }
        Err(e) => Err(err(e)),
    }
}

/// A workbook to fill in: the headings, and a small sample street as its rows.
pub fn template_workbook() -> Result<Vec<u8>, ApiError> {
    let rows: &[(&str, &[&[&str]])] = &[
        ("street", &[&["310101002", "示范街道 (Sample Street)"]]),
        (
            "communities",
            &[&["c-01", "310101002001", "东湖社区 (Donghu)"], &["c-02", "310101002002", "西湖社区 (Xihu)"]],
        ),
        (
            "grids",
            &[
                &[
                    "g-0101",
                    "310101002001001",
                    "c-01",
                    "东湖一网格",
                    "121.0 31.0; 121.01 31.0; 121.01 31.01; 121.0 31.01",
                ],
                &[
                    "g-0201",
                    "310101002002001",
                    "c-02",
                    "西湖一网格",
                    "121.2 31.0; 121.21 31.0; 121.21 31.01; 121.2 31.01",
                ],
            ],
        ),
        ("workers", &[&["w-001", "李网格", "full_time", "g-0101"], &["w-201", "赵网格", "full_time", "g-0201"]]),
        ("households", &[&["h-0001", "g-0101", "3栋2单元301", "陈阿姨", "13812345678", "elderly, lives_alone"]]),
    ];
    let mut book = Workbook::new();
    for ((sheet, cols), (_, data)) in SHEETS.iter().zip(rows) {
        let ws = book.add_worksheet();
        ws.set_name(*sheet).map_err(ApiError::internal)?;
        for (c, h) in cols.iter().enumerate() {
            ws.write_string(0, c as u16, *h).map_err(ApiError::internal)?;
        }
        for (r, row) in data.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                // Text, codes included: a spreadsheet would round a 15-digit code as a number.
                ws.write_string(r as u32 + 1, c as u16, *v).map_err(ApiError::internal)?;
            }
        }
    }
    book.save_to_buffer().map_err(ApiError::internal)
}

pub async fn template(user: User) -> PageResult {
    let body = template_workbook().map_err(|e| PageError::new(e, user.lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"gridpatrol-street-template.xlsx\""),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_reads_back_as_a_street() {
        let v = read_workbook(&template_workbook().unwrap()).unwrap();
        let c: GridConfig = serde_json::from_value(v).unwrap();
        c.validate().unwrap();
        assert_eq!((c.communities.len(), c.grids.len(), c.workers.len(), c.households.len()), (2, 2, 2, 1));
        assert_eq!(c.grids[0].boundary.len(), 4);
        assert_eq!(c.households[0].care_tags.len(), 2);
    }

    #[test]
    fn every_bad_row_is_named() {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name("street").unwrap();
        ws.write_string(0, 0, "code").unwrap();
        ws.write_string(0, 1, "name").unwrap();
        ws.write_string(1, 0, "310101002").unwrap();
        ws.write_string(1, 1, "街道").unwrap();
        for (sheet, cols) in &SHEETS[1..] {
            let ws = book.add_worksheet();
            ws.set_name(*sheet).unwrap();
            for (c, h) in cols.iter().enumerate() {
                ws.write_string(0, c as u16, *h).unwrap();
            }
        }
        let ws = book.worksheet_from_name("grids").unwrap();
        for (c, v) in ["g-1", "310101002001001", "c-01", "一网格", "121 31; 121.01"].iter().enumerate() {
            ws.write_string(1, c as u16, *v).unwrap();
        }
        let ws = book.worksheet_from_name("workers").unwrap();
        for (c, v) in ["w-1", "", "boss", "g-1"].iter().enumerate() {
            ws.write_string(3, c as u16, *v).unwrap();
        }
        let errors = read_workbook(&book.save_to_buffer().unwrap()).unwrap_err();
        let at: Vec<(&str, usize)> = errors.iter().map(|e| (e.sheet.as_str(), e.row)).collect();
        assert_eq!(at, [("grids", 2), ("workers", 4), ("workers", 4)], "{errors:?}");
        assert!(errors[1].message.contains("name") && errors[2].message.contains("boss"));
        assert!(read_workbook(b"not a zip").is_err());
        assert_eq!(row_of("grids[3].boundary").map(|r| r.row), Some(5));
        assert_eq!(row_of("street.code"), None);
    }
}
