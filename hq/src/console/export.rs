//! `GET /export/{list}.csv|.xlsx`: every list of `admin::records` (patrols, visits, reports,
//! cases, tasks, flagged check-ins, with coordinates), authorised, scoped and audited by the
//! API's own code; XLSX written natively by rust_xlsxwriter.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use rust_xlsxwriter::Workbook;
use serde_json::Value as J;

use super::extract::{PageError, PageResult, User};
use crate::admin::records::{self, Kind, PeriodQuery};
use crate::error::ApiError;
use crate::http::AppState;

#[derive(serde::Deserialize)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

pub fn to_xlsx(kind: Kind, rows: &[Vec<J>]) -> Result<Vec<u8>, ApiError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(kind.name()).map_err(ApiError::internal)?;
    for (c, (_, heading)) in kind.columns().iter().enumerate() {
        sheet.write_string(0, c as u16, *heading).map_err(ApiError::internal)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            // Numbers stay numbers (coordinates, counts); text is written as text, never as a
            // formula, so a worker's "=…" cannot run in the reader's spreadsheet.
            let written = match cell {
                J::Null => continue,
                J::Number(n) => sheet.write_number(r, c, n.as_f64().unwrap_or_default()).map(|_| ()),
                J::Bool(b) => sheet.write_boolean(r, c, *b).map(|_| ()),
                J::String(s) => sheet.write_string(r, c, s).map(|_| ()),
                other => sheet.write_string(r, c, other.to_string()).map(|_| ()),
            };
            written.map_err(ApiError::internal)?;
        }
    }
    book.save_to_buffer().map_err(ApiError::internal)
}

pub async fn export(
    State(s): State<AppState>,
    user: User,
    Path(file): Path<String>,
    Query(q): Query<ExportQuery>,
) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let (name, ext) = file.rsplit_once('.').ok_or_else(|| err(ApiError::not_found("export")))?;
    let kind = Kind::from_name(name).ok_or_else(|| err(ApiError::not_found("export")))?;
    if ext != "csv" && ext != "xlsx" {
        return Err(err(ApiError::not_found("export format (csv or xlsx)")));
    }
    let ne = |v: Option<String>| v.filter(|s| !s.is_empty());
    let rows = records::export_table(&s, user.bearer(), kind, PeriodQuery { from: ne(q.from), to: ne(q.to) })
        .await
        .map_err(err)?;
    let disposition = format!("attachment; filename=\"gridpatrol-{}.{ext}\"", kind.name());
    Ok(if ext == "csv" {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
            records::to_csv(kind, &rows),
        )
            .into_response()
    } else {
        let body = to_xlsx(kind, &rows).map_err(err)?;
        (
            [
                (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response()
    })
}
