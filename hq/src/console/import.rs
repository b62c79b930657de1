//! Imports from spreadsheets. A workbook with a `street` sheet is a whole street (sheets
//! `street`, `communities`, `grids`, `workers` and, if present, `buildings`, `teams`,
//! `households`) and goes to the API's own import (`admin::org::import`), which takes it in one
//! transaction or nothing. A workbook without one, a CSV file of one kind, or a GeoJSON
//! FeatureCollection of grids is rows of people and places (communities, grids, buildings,
//! workers, units, teams, households) created or updated by id with the API's own rules
//! (`admin::org_rows`), again all or nothing. Either way every bad cell is reported with its
//! sheet and row first. `/import/template.xlsx` is a workbook to start from (a small sample
//! street); the console's exports of people and places read back here unchanged.

use std::io::Cursor;

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use calamine::{Data, Reader, Xlsx};
use gridpatrol_protocol::config::GridConfig;
use gridpatrol_protocol::domain::{CareTag, UnitKind, WorkerRole};
use maud::{html, Markup};
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};

use super::extract::{csrf_refused, same_token, Lang, PageError, PageResult, User};
use super::layout::{self, csrf};
use crate::admin::org::{self, GeoJsonPolygon, GridInput};
use crate::admin::org_rows::{self, ImportError, Located, OrgRow};
use crate::auth::Role;
use crate::error::ApiError;
use crate::http::{AppState, JsonBody};

/// (sheet, its columns) in the order the workbook has them, and the order rows are saved in
/// (a grid after its community, a team after its members).
const SHEETS: &[(&str, &[&str])] = &[
    ("street", &["code", "name"]),
    ("communities", &["id", "code", "name"]),
    ("grids", &["id", "code", "community_id", "name", "boundary"]),
    ("buildings", &["id", "grid_id", "name"]),
    ("workers", &["id", "name", "role", "grid_ids"]),
    ("units", &["id", "kind", "name", "contact", "community_ids"]),
    ("teams", &["id", "community_id", "name", "member_ids"]),
    ("households", &["id", "grid_id", "label", "name", "phone", "care_tags"]),
];
/// Sheets a whole street's workbook may leave out.
const OPTIONAL_SHEETS: &[&str] = &["buildings", "teams", "households"];
/// The kinds of rows a workbook without a street, or a CSV file, may hold.
pub const ROW_KINDS: &[&str] = &["communities", "grids", "buildings", "workers", "units", "teams", "households"];
/// The largest file accepted (a street is a few thousand rows).
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Columns that may be left empty.
fn optional(col: &str) -> bool {
    matches!(col, "phone" | "care_tags" | "contact" | "member_ids")
}

fn columns(sheet: &str) -> &'static [&'static str] {
    SHEETS.iter().find(|(s, _)| *s == sheet).map_or(&[], |(_, c)| c)
}

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

/// `lng lat; lng lat; …` (or `lng,lat; …`), at least three corners; or a GeoJSON Polygon (a
/// geometry or a Feature holding one, as GIS tools write them).
fn ring(s: &str) -> Result<Vec<[f64; 2]>, String> {
    if s.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(s).map_err(|e| format!("boundary: not GeoJSON: {e}"))?;
        return geojson_ring(&v);
    }
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
    let mut pts = pts?;
    // A closed ring (as exported GeoJSON has it) is stored open.
    if pts.len() > 3 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return Err("boundary: needs at least three corners \"lng lat; lng lat; lng lat\"".into());
    }
    Ok(pts)
}

/// A boundary as typed in a form or a cell (`lng lat; …` or GeoJSON): the grid form's reader.
pub(super) fn ring_of(s: &str) -> Result<Vec<[f64; 2]>, String> {
    ring(s)
}

/// The outer ring of a GeoJSON Polygon geometry, or of a Feature's (WGS-84 `[lng, lat]`).
fn geojson_ring(v: &Value) -> Result<Vec<[f64; 2]>, String> {
    let geometry = if v["type"] == "Feature" { &v["geometry"] } else { v };
    if geometry["type"] != "Polygon" {
        return Err("boundary: the GeoJSON geometry must be a Polygon".into());
    }
    let outer: Vec<[f64; 2]> = serde_json::from_value(geometry["coordinates"][0].clone())
        .map_err(|_| "boundary: a Polygon's outer ring is a list of [lng, lat]".to_string())?;
    let text: Vec<String> = outer.iter().map(|[a, b]| format!("{a} {b}")).collect();
    ring(&text.join("; "))
}

/// A sheet's rows (the heading first) as JSON objects by column, each with its row number; bad
/// cells go to `errors`. Headings match a column's key, or end with it in brackets, as the
/// console's bilingual exports write them ("名称 (name)").
fn sheet_rows(sheet: &str, rows: &[Vec<String>], errors: &mut Vec<RowError>) -> Vec<(usize, Value)> {
    let cols = columns(sheet);
    let err = |row: usize, message: String| RowError { sheet: sheet.to_string(), row, message };
    let heading = rows.first().cloned().unwrap_or_default();
    let at: Vec<Option<usize>> = cols
        .iter()
        .map(|c| {
            heading.iter().position(|h| {
                let h = h.trim_start_matches('\u{feff}').trim();
                h == *c || h.starts_with(&format!("{c} ")) || h.ends_with(&format!("({c})"))
            })
        })
        .collect();
    for (c, pos) in cols.iter().zip(&at) {
        if pos.is_none() && !optional(c) {
            errors.push(err(1, format!("no column \"{c}\"")));
        }
    }
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate().skip(1) {
        let row = i + 1;
        let get = |c: &str| -> String {
            let k = cols.iter().position(|x| *x == c).and_then(|k| at[k]);
            k.and_then(|k| r.get(k)).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        if cols.iter().all(|c| get(c).is_empty()) {
            continue;
        }
        let before = errors.len();
        let mut bad = |m: String| errors.push(err(row, m));
        for c in cols.iter().filter(|c| !optional(c)) {
            if get(c).is_empty() {
                bad(format!("{c}: empty"));
            }
        }
        let v = match sheet {
            "street" => json!({ "code": get("code"), "name": get("name") }),
            "communities" => json!({ "id": get("id"), "code": get("code"), "name": get("name") }),
            "grids" => match ring(&get("boundary")) {
                Ok(b) => json!({ "id": get("id"), "code": get("code"),
                        "community_id": get("community_id"), "name": get("name"), "boundary": b }),
                Err(m) => {
                    bad(m);
                    Value::Null
                }
            },
            "buildings" => json!({ "id": get("id"), "grid_id": get("grid_id"), "name": get("name") }),
            "workers" => {
                let role = get("role");
                if WorkerRole::from_code(&role).is_none() && !role.is_empty() {
                    bad(format!(
                        "role: {role:?} is not one of {}",
                        WorkerRole::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", ")
                    ));
                }
                json!({ "id": get("id"), "name": get("name"), "role": role, "grid_ids": list(&get("grid_ids")) })
            }
            "units" => {
                let kind = get("kind");
                if UnitKind::from_code(&kind).is_none() && !kind.is_empty() {
                    bad(format!(
                        "kind: {kind:?} is not one of {}",
                        UnitKind::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", ")
                    ));
                }
                let contact = Some(get("contact")).filter(|p| !p.is_empty());
                json!({ "id": get("id"), "kind": kind, "name": get("name"), "contact": contact,
                        "community_ids": list(&get("community_ids")) })
            }
            "teams" => json!({ "id": get("id"), "community_id": get("community_id"), "name": get("name"),
                               "member_ids": list(&get("member_ids")) }),
            _ => {
                let tags = list(&get("care_tags"));
                if let Some(t) = tags.iter().find(|t| CareTag::from_code(t).is_none()) {
                    bad(format!(
                        "care_tags: {t:?} is not one of {}",
                        CareTag::ALL.iter().map(|r| r.code()).collect::<Vec<_>>().join(", ")
                    ));
                }
                let phone = Some(get("phone")).filter(|p| !p.is_empty());
                json!({ "id": get("id"), "grid_id": get("grid_id"), "label": get("label"),
                        "name": get("name"), "phone": phone, "care_tags": tags })
            }
        };
        if errors.len() == before {
            out.push((row, v));
        }
    }
    out
}

/// Sheets by name, each its rows of cells (the heading first).
type Sheets = Vec<(String, Vec<Vec<String>>)>;

fn xlsx_sheets(bytes: &[u8]) -> Result<Sheets, Vec<RowError>> {
    let mut book = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| vec![RowError { sheet: "-".into(), row: 0, message: format!("not an XLSX workbook: {e}") }])?;
    let mut out = Vec::new();
    for (sheet, _) in SHEETS {
        if let Ok(range) = book.worksheet_range(sheet) {
            let rows = range.rows().map(|r| r.iter().map(|c| cell(Some(c))).collect()).collect();
            out.push((sheet.to_string(), rows));
        }
    }
    Ok(out)
}

/// The workbook as a `GridConfig` (JSON), or every bad row.
pub fn read_workbook(bytes: &[u8]) -> Result<Value, Vec<RowError>> {
    let sheets = xlsx_sheets(bytes)?;
    let mut errors = Vec::new();
    let mut out = json!({ "street": null, "communities": [], "grids": [], "workers": [], "households": [],
                          "teams": [], "buildings": [] });
    for (sheet, _) in SHEETS {
        let Some((_, rows)) = sheets.iter().find(|(s, _)| s == sheet) else {
            if !OPTIONAL_SHEETS.contains(sheet) && *sheet != "units" {
                errors.push(RowError {
                    sheet: sheet.to_string(),
                    row: 0,
                    message: format!("the sheet \"{sheet}\" is missing"),
                });
            }
            continue;
        };
        if *sheet == "units" {
            errors.push(RowError {
                sheet: "units".into(),
                row: 0,
                message: "units are imported in a workbook without a street sheet".into(),
            });
            continue;
        }
        for (_, v) in sheet_rows(sheet, rows, &mut errors) {
            if *sheet == "street" {
                out["street"] = v;
            } else {
                push(&mut out, sheet, v);
            }
        }
    }
    if out["street"].is_null() && errors.iter().all(|e| e.sheet != "street") {
        errors.push(RowError {
            sheet: "street".into(),
            row: 2,
            message: "the street's code and name go on row 2".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One CSV file (RFC 4180: commas, double quotes doubled, CRLF or LF; a UTF-8 byte-order mark
/// ignored) as rows of cells.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text (save the CSV as UTF-8)".to_string())?;
    let text = text.trim_start_matches('\u{feff}');
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err("a quoted cell is not closed".into());
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    // The exports defuse a leading = + - @ with an apostrophe; take it off again.
    for c in rows.iter_mut().flatten() {
        if c.starts_with('\'') && c[1..].starts_with(['=', '+', '-', '@']) {
            c.remove(0);
        }
    }
    Ok(rows)
}

/// A GeoJSON FeatureCollection of grids: each feature's `properties` give `id`, `code`,
/// `community_id` and `name`, its Polygon the boundary. As a sheet of rows (feature n is row n + 1).
pub fn geojson_grids(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not GeoJSON: {e}"))?;
    let features = match v["type"].as_str() {
        Some("FeatureCollection") => v["features"].as_array().cloned().unwrap_or_default(),
        Some("Feature") => vec![v.clone()],
        _ => return Err("a GeoJSON FeatureCollection of grid Polygons is expected".into()),
    };
    let cols = columns("grids");
    let mut rows = vec![cols.iter().map(|c| c.to_string()).collect::<Vec<_>>()];
    for f in features {
        let prop = |k: &str| match &f["properties"][k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        rows.push(vec![prop("id"), prop("code"), prop("community_id"), prop("name"), f["geometry"].to_string()]);
    }
    Ok(rows)
}

/// Sheets of rows as the API's rows, in the order they are saved, or every bad row.
#[cfg(test)]
fn org_rows(sheets: &[(String, Vec<Vec<String>>)]) -> Result<Vec<Located>, Vec<RowError>> {
    match read_org_rows(sheets) {
        (rows, errors) if errors.is_empty() => Ok(rows),
        (_, errors) => Err(errors),
    }
}

/// Sheets of rows as the API's rows, in the order they are saved, and the rows that could not be
/// read (the others still go through the API's rules, so that every bad row is named at once).
fn read_org_rows(sheets: &[(String, Vec<Vec<String>>)]) -> (Vec<Located>, Vec<RowError>) {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for kind in ROW_KINDS {
        let Some((_, rows)) = sheets.iter().find(|(s, _)| s == kind) else { continue };
        for (row, v) in sheet_rows(kind, rows, &mut errors) {
            let item = match *kind {
                "communities" => serde_json::from_value(v).map(OrgRow::Community),
                "grids" => serde_json::from_value::<Vec<[f64; 2]>>(v["boundary"].clone()).map(|ring| {
                    OrgRow::Grid(GridInput {
                        id: v["id"].as_str().unwrap_or_default().into(),
                        code: v["code"].as_str().unwrap_or_default().into(),
                        community_id: v["community_id"].as_str().unwrap_or_default().into(),
                        name: v["name"].as_str().unwrap_or_default().into(),
                        boundary: GeoJsonPolygon::from_ring(&ring),
                    })
                }),
                "buildings" => serde_json::from_value(v).map(OrgRow::Building),
                "workers" => serde_json::from_value(v).map(OrgRow::Worker),
                "units" => serde_json::from_value(v).map(OrgRow::Unit),
                "teams" => serde_json::from_value(v).map(OrgRow::Team),
                _ => {
                    // A masked number (as the console exports households) keeps the stored one.
                    let masked = v["phone"].as_str().is_some_and(|p| p.contains('*'));
                    let mut v = v;
                    if masked {
                        v["phone"] = Value::Null;
                    }
                    serde_json::from_value(v).map(|household| OrgRow::Household { household, keep_phone: masked })
                }
            };
            match item {
                Ok(item) => out.push(Located { sheet: kind.to_string(), row, item }),
                Err(e) => errors.push(RowError { sheet: kind.to_string(), row, message: e.to_string() }),
            }
        }
    }
    if sheets.iter().all(|(s, _)| !ROW_KINDS.contains(&s.as_str())) {
        errors.push(RowError {
            sheet: "-".into(),
            row: 0,
            message: format!("no sheet of people or places ({})", ROW_KINDS.join(", ")),
        });
    }
    (out, errors)
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

fn kind_label(l: Lang, kind: &str) -> &'static str {
    match kind {
        "communities" => l.t("社区", "communities"),
        "grids" => l.t("网格", "grids"),
        "buildings" => l.t("楼栋", "buildings"),
        "workers" => l.t("网格员", "workers"),
        "units" => l.t("处置单位", "units"),
        "teams" => l.t("志愿服务队", "volunteer teams"),
        _ => l.t("住户", "households"),
    }
}

fn page(user: &User, notice: Option<Markup>) -> Markup {
    let l = user.lang;
    layout::page(
        user,
        l.t("导入（XLSX / CSV / GeoJSON）", "Import (XLSX / CSV / GeoJSON)"),
        html! {
            @if let Some(n) = notice { (n) }
            p { (l.t("含 street 表的工作簿是整个街道（street、communities、grids、workers 表，可另加 buildings、teams、households），仅街道管理员可导入。",
                     "A workbook with a street sheet is the whole street (sheets street, communities, grids, workers; buildings, teams, households if you have them); the street admin imports it.")) " "
                a href="/import/template.xlsx" { (l.t("下载模板（示例街道）", "Download the template (a sample street)")) } }
            p { (l.t("不含 street 表的工作簿、一类数据的 CSV 文件（如人员页导出的文件）或网格边界的 GeoJSON 按编号新增或更新：",
                     "A workbook without a street sheet, a CSV file of one kind (such as the People page exports) or a GeoJSON of grid boundaries adds or updates by id: "))
                (ROW_KINDS.iter().map(|k| kind_label(l, k)).collect::<Vec<_>>().join(l.t("、", ", "))) "." }
            p { (l.t("有任何一行出错则全部不导入，并逐行列出错误。", "If any row is wrong, nothing is imported and every bad row is listed.")) }
            form.stack #import method="post" action="/import" enctype="multipart/form-data" {
                (csrf(user))
                label { (l.t("文件（XLSX、CSV 或 GeoJSON）", "File (XLSX, CSV or GeoJSON)"))
                    input type="file" name="workbook" accept=".xlsx,.csv,.geojson,.json" required; }
                label { (l.t("CSV 文件的类别", "What a CSV file holds"))
                    select name="kind" {
                        @for k in ROW_KINDS { option value=(k) { (kind_label(l, k)) " (" (k) ")" } }
                    }
                }
                button type="submit" { (l.t("导入", "Import")) }
            }
        },
    )
}

pub async fn form(user: User) -> PageResult {
    if user.op.role == Role::Unit {
        return Err(PageError::new(ApiError::forbidden("a unit's account imports nothing"), user.lang));
    }
    Ok(page(&user, None).into_response())
}

/// What a file is, from its first bytes: a workbook (a zip), GeoJSON, or CSV text.
enum Format {
    Xlsx,
    GeoJson,
    Csv,
}

fn format_of(bytes: &[u8]) -> Format {
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    if bytes.starts_with(b"PK") {
        Format::Xlsx
    } else if text.trim_ascii_start().starts_with(b"{") {
        Format::GeoJson
    } else {
        Format::Csv
    }
}

pub async fn upload(State(s): State<AppState>, user: User, mut parts: Multipart) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let (mut token, mut bytes, mut kind) = (None, None, None);
    while let Some(field) = parts.next_field().await.map_err(|_| err(ApiError::bad_request("malformed upload")))? {
        match field.name() {
            Some("_csrf") => token = field.text().await.ok(),
            Some("kind") => kind = field.text().await.ok(),
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
    if user.op.role == Role::Unit {
        return Err(err(ApiError::forbidden("a unit's account imports nothing")));
    }
    let bytes = bytes.filter(|b| !b.is_empty()).ok_or_else(|| err(ApiError::invalid("workbook", "choose a file")))?;
    let bad_rows = |rows: Vec<RowError>| {
        let notice = html! {
            div.error role="alert" #import-errors {
                p { (l.t("文件有错误，未导入任何内容：", "The file has errors; nothing was imported:")) }
                ul { @for e in &rows { li { (e.sheet) " " (l.t("第", "row ")) (e.row) (l.t("行", "")) ": " (e.message) } } }
            }
        };
        Ok((StatusCode::BAD_REQUEST, page(&user, Some(notice))).into_response())
    };
    let one_kind = |rows: Vec<Vec<String>>, default: &str| {
        let k = kind.clone().filter(|k| ROW_KINDS.contains(&k.as_str())).unwrap_or_else(|| default.to_string());
        vec![(k, rows)]
    };
    let sheets = match format_of(&bytes) {
        Format::Xlsx => match xlsx_sheets(&bytes) {
            Ok(sheets) if sheets.iter().any(|(s, _)| s == "street") => return street(s, &user, &bytes, bad_rows).await,
            Ok(sheets) => sheets,
            Err(rows) => return bad_rows(rows),
        },
        Format::GeoJson => match geojson_grids(&bytes) {
            Ok(rows) => vec![("grids".to_string(), rows)],
            Err(m) => return bad_rows(vec![RowError { sheet: "grids".into(), row: 0, message: m }]),
        },
        Format::Csv => match read_csv(&bytes) {
            Ok(rows) => one_kind(rows, "households"),
            Err(m) => return bad_rows(vec![RowError { sheet: "csv".into(), row: 0, message: m }]),
        },
    };
    let (rows, mut unread) = read_org_rows(&sheets);
    let check_only = !unread.is_empty();
    let order = |e: &RowError| (ROW_KINDS.iter().position(|k| *k == e.sheet), e.row);
    let mut named = |failures: Vec<org_rows::RowFailure>| {
        let mut all: Vec<RowError> = failures
            .into_iter()
            .map(|f| RowError {
                sheet: f.sheet,
                row: f.row,
                message: format!("{} ({})", f.error.message, f.error.code),
            })
            .chain(std::mem::take(&mut unread))
            .collect();
        all.sort_by_key(order);
        all
    };
    match org_rows::save_rows(&s, user.bearer(), rows, check_only).await {
        Ok(_) if check_only => bad_rows(named(Vec::new())),
        Ok(n) => {
            let notice = html! { p.notice role="status" #import-done {
            (l.t("已导入（新增或更新）", "Imported (added or updated): ")) (n) (l.t(" 行", " rows")) } };
            Ok(page(&user, Some(notice)).into_response())
        }
        Err(ImportError::Rows(failures)) => bad_rows(named(failures)),
        Err(ImportError::Refused(e)) => Err(err(e)),
    }
}

/// A whole street's workbook, through the API's import.
async fn street(s: AppState, user: &User, bytes: &[u8], bad_rows: impl Fn(Vec<RowError>) -> PageResult) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    user.op.require_admin().map_err(err)?;
    let config = match read_workbook(bytes) {
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
            (l.t("个网格", "grids")) ", " (n.workers) " " (l.t("名网格员", "workers")) ", " (n.households) " " (l.t("户", "households"))
            ", " (n.buildings) " " (l.t("栋楼", "buildings")) ", " (n.teams) " " (l.t("支服务队", "teams")) } };
            Ok(page(user, Some(notice)).into_response())
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
        ("buildings", &[&["b-0101-3", "g-0101", "3栋"]]),
        ("workers", &[&["w-001", "李网格", "full_time", "g-0101"], &["w-201", "赵网格", "full_time", "g-0201"]]),
        ("teams", &[&["t-01", "c-01", "东湖志愿服务队", "w-001"]]),
        ("households", &[&["h-0001", "g-0101", "3栋2单元301", "陈阿姨", "13812345678", "elderly, lives_alone"]]),
    ];
    let mut book = Workbook::new();
    for (sheet, data) in rows {
        let cols = columns(sheet);
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
        assert_eq!((c.buildings.len(), c.teams.len()), (1, 1));
        assert_eq!(c.teams[0].member_ids, ["w-001"]);
    }

    #[test]
    fn csv_cells_quotes_bom_and_defused_formulas() {
        let rows = read_csv(
            "\u{feff}编号 (id),名称 (name)\r\n\"a,1\",\"say \"\"hi\"\"\"\r\nb,'=1+1\nc,\"two\nlines\"".as_bytes(),
        )
        .unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1], ["a,1", "say \"hi\""]);
        assert_eq!(rows[2], ["b", "=1+1"], "the export's defusing apostrophe comes off");
        assert_eq!(rows[3], ["c", "two\nlines"]);
        assert!(read_csv(b"a,\"open").is_err());
        assert!(read_csv(&[0xff, 0xfe]).is_err(), "not UTF-8");
    }

    #[test]
    fn rows_of_one_kind_with_bilingual_headings_and_every_bad_row() {
        let csv = "编号 (id),网格 (grid_id),门牌 (label),姓名 (name),电话（脱敏） (phone),关爱标签 (care_tags)\n\
                   h-1,g-0101,1栋101,王,138****5678,elderly\n\
                   h-2,g-0101,,李,,\n\
                   h-3,g-0101,1栋103,赵,,pets\n";
        let sheets = vec![("households".to_string(), read_csv(csv.as_bytes()).unwrap())];
        let errors = org_rows(&sheets).unwrap_err();
        let at: Vec<(&str, usize)> = errors.iter().map(|e| (e.sheet.as_str(), e.row)).collect();
        assert_eq!(at, [("households", 3), ("households", 4)], "{errors:?}");
        assert!(errors[0].message.contains("label") && errors[1].message.contains("pets"));
        let good = "id,grid_id,label,name,phone,care_tags\nh-1,g-0101,1栋101,王,138****5678,elderly\nh-2,g-0101,1栋102,李,13900001111,\n";
        let rows = org_rows(&[("households".to_string(), read_csv(good.as_bytes()).unwrap())]).unwrap();
        match &rows[0].item {
            OrgRow::Household { household, keep_phone } => {
                assert!(household.phone.is_none() && *keep_phone, "masked keeps")
            }
            other => panic!("{other:?}"),
        }
        match &rows[1].item {
            OrgRow::Household { household, keep_phone } => {
                assert_eq!((household.phone.as_deref(), *keep_phone), (Some("13900001111"), false))
            }
            other => panic!("{other:?}"),
        }
        assert!(org_rows(&[("street".to_string(), vec![])]).is_err(), "no sheet of people or places");
    }

    #[test]
    fn grids_from_a_geojson_feature_collection() {
        let fc = json!({ "type": "FeatureCollection", "features": [
            { "type": "Feature", "properties": { "id": "g-9", "code": "310101002001009", "community_id": "c-01", "name": "九网格" },
              "geometry": { "type": "Polygon", "coordinates": [[[121.0, 31.0], [121.01, 31.0], [121.01, 31.01], [121.0, 31.0]]] } },
            { "type": "Feature", "properties": { "id": "g-10", "code": "310101002001010", "community_id": "c-01", "name": "十" },
              "geometry": { "type": "Point", "coordinates": [121.0, 31.0] } }
        ]});
        let sheet = geojson_grids(fc.to_string().as_bytes()).unwrap();
        let errors = org_rows(&[("grids".to_string(), sheet.clone())]).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].row, errors[0].message.contains("Polygon")), (3, true), "{errors:?}");
        let one = vec![sheet[0].clone(), sheet[1].clone()];
        match &org_rows(&[("grids".to_string(), one)]).unwrap()[0].item {
            OrgRow::Grid(g) => {
                assert_eq!(g.id, "g-9");
                assert_eq!(g.boundary.to_ring().unwrap().len(), 3, "the closing corner is dropped");
            }
            other => panic!("{other:?}"),
        }
        assert!(geojson_grids(b"{\"type\": \"Point\"}").is_err());
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
        for (sheet, cols) in SHEETS[1..].iter().filter(|(s, _)| *s != "units") {
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
