//! `GET /export/{list}.csv|.xlsx`: every list of `admin::records` (patrols, visits, reports,
//! cases, tasks, flagged check-ins, with coordinates and photo links) and every list of people
//! and places (communities, grids with their boundaries, buildings, workers, units, volunteer
//! teams, households with phones masked), authorised and scoped by the API's own handlers and
//! audited (`export`, the list's name). XLSX written natively by rust_xlsxwriter; CSV with a
//! UTF-8 byte-order mark so Excel reads Chinese.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use rust_xlsxwriter::{Url, Workbook};
use serde_json::{json, Value as J};

use super::extract::{PageError, PageResult, User};
use crate::admin::org::{self, HouseholdQuery};
use crate::admin::records::{self, Kind, PeriodQuery};
use crate::admin::teams::{self, BuildingQuery};
use crate::admin::{audit, units};
use crate::error::ApiError;
use crate::http::{ApiQuery, AppState};

#[derive(serde::Deserialize)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

type Columns = &'static [(&'static str, &'static str)];

/// The lists of people and places, in the columns the console's import reads back.
const ORG_LISTS: &[(&str, Columns)] = &[
    ("communities", &[("id", "编号 (id)"), ("code", "区划代码 (code)"), ("name", "名称 (name)")]),
    (
        "grids",
        &[
            ("id", "编号 (id)"),
            ("code", "区划代码 (code)"),
            ("community_id", "社区 (community_id)"),
            ("name", "名称 (name)"),
            ("boundary", "边界 经度 纬度; …（WGS-84） (boundary)"),
        ],
    ),
    ("buildings", &[("id", "编号 (id)"), ("grid_id", "网格 (grid_id)"), ("name", "名称 (name)")]),
    (
        "workers",
        &[("id", "编号 (id)"), ("name", "姓名 (name)"), ("role", "类别 (role)"), ("grid_ids", "网格 (grid_ids)")],
    ),
    (
        "units",
        &[
            ("id", "编号 (id)"),
            ("kind", "类别 (kind)"),
            ("name", "名称 (name)"),
            ("contact", "联系方式 (contact)"),
            ("community_ids", "服务社区 (community_ids)"),
        ],
    ),
    (
        "teams",
        &[
            ("id", "编号 (id)"),
            ("community_id", "社区 (community_id)"),
            ("name", "名称 (name)"),
            ("member_ids", "队员 (member_ids)"),
        ],
    ),
    (
        "households",
        &[
            ("id", "编号 (id)"),
            ("grid_id", "网格 (grid_id)"),
            ("label", "门牌 (label)"),
            ("name", "姓名 (name)"),
            ("phone", "电话（脱敏） (phone)"),
            ("care_tags", "关爱标签 (care_tags)"),
        ],
    ),
];

/// A grid's boundary as the import reads it: `lng lat; lng lat; …` (the closing corner left out).
pub fn boundary_text(g: &org::GridOut) -> String {
    let ring = g.boundary.coordinates.first().cloned().unwrap_or_default();
    let open = if ring.len() > 1 && ring.first() == ring.last() { &ring[..ring.len() - 1] } else { &ring[..] };
    open.iter().map(|[lng, lat]| format!("{lng} {lat}")).collect::<Vec<_>>().join("; ")
}

/// The rows of a list of people or places, through the API's own list handlers (which
/// authorise and scope them for this operator).
async fn org_rows(s: &AppState, user: &User, name: &str) -> Result<Vec<Vec<J>>, ApiError> {
    let st = || State(s.clone());
    Ok(match name {
        "communities" => org::list_communities(st(), user.bearer())
            .await?
            .0
            .into_iter()
            .map(|c| vec![json!(c.id), json!(c.code), json!(c.name)])
            .collect(),
        "grids" => org::list_grids(st(), user.bearer())
            .await?
            .0
            .iter()
            .map(|g| vec![json!(g.id), json!(g.code), json!(g.community_id), json!(g.name), json!(boundary_text(g))])
            .collect(),
        "buildings" => teams::list_buildings(st(), user.bearer(), ApiQuery(BuildingQuery { grid_id: None }))
            .await?
            .0
            .into_iter()
            .map(|b| vec![json!(b.id), json!(b.grid_id), json!(b.name)])
            .collect(),
        "workers" => org::list_workers(st(), user.bearer())
            .await?
            .0
            .into_iter()
            .map(|w| vec![json!(w.id), json!(w.name), json!(w.role.code()), json!(w.grid_ids.join(", "))])
            .collect(),
        "units" => units::list_units(st(), user.bearer())
            .await?
            .0
            .into_iter()
            .map(|u| {
                vec![
                    json!(u.id),
                    json!(u.kind.code()),
                    json!(u.name),
                    json!(u.contact),
                    json!(u.community_ids.join(", ")),
                ]
            })
            .collect(),
        "teams" => teams::list_teams(st(), user.bearer())
            .await?
            .0
            .into_iter()
            .map(|t| vec![json!(t.id), json!(t.community_id), json!(t.name), json!(t.member_ids.join(", "))])
            .collect(),
        "households" => org::list_households(st(), user.bearer(), ApiQuery(HouseholdQuery { grid_id: None }))
            .await?
            .0
            .into_iter()
            .map(|h| {
                let tags: Vec<&str> = h.care_tags.iter().map(|t| t.code()).collect();
                vec![
                    json!(h.id),
                    json!(h.grid_id),
                    json!(h.label),
                    json!(h.name),
                    json!(h.phone_masked),
                    json!(tags.join(", ")),
                ]
            })
            .collect(),
        _ => return Err(ApiError::not_found("export")),
    })
}

/// This HQ's address as the browser reached it (`Host`, and `X-Forwarded-Proto` from the proxy
/// in front), so that a photo link in a spreadsheet opens in the operator's browser.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    // A Host with anything but a name and a port is not put into a link.
    let host = if host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')) {
        host
    } else {
        "localhost"
    };
    let https = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) == Some("https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// Photo paths (`/photos/…`) made absolute links.
fn absolute_links(columns: Columns, rows: &mut [Vec<J>], origin: &str) {
    let Some(at) = columns.iter().position(|(k, _)| *k == "photo_links") else { return };
    for row in rows {
        if let Some(J::String(s)) = row.get_mut(at) {
            *s = s.split(' ').map(|p| format!("{origin}{p}")).collect::<Vec<_>>().join(" ");
        }
    }
}

pub fn to_xlsx(sheet_name: &str, columns: Columns, rows: &[Vec<J>]) -> Result<Vec<u8>, ApiError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(ApiError::internal)?;
    for (c, (_, heading)) in columns.iter().enumerate() {
        sheet.write_string(0, c as u16, *heading).map_err(ApiError::internal)?;
    }
    let link_col = columns.iter().position(|(k, _)| *k == "photo_links");
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            // Numbers stay numbers (coordinates, counts); text is written as text, never as a
            // formula, so a worker's "=…" cannot run in the reader's spreadsheet.
            let written = match cell {
                J::Null => continue,
                // One photo: a link Excel opens with a click; several: the links as text.
                J::String(s) if Some(c) == link_col && !s.contains(' ') && s.starts_with("http") => {
                    sheet.write_url(r, c as u16, Url::new(s.as_str())).map(|_| ())
                }
                J::Number(n) => sheet.write_number(r, c as u16, n.as_f64().unwrap_or_default()).map(|_| ()),
                J::Bool(b) => sheet.write_boolean(r, c as u16, *b).map(|_| ()),
                J::String(s) => sheet.write_string(r, c as u16, s).map(|_| ()),
                other => sheet.write_string(r, c as u16, other.to_string()).map(|_| ()),
            };
            written.map_err(ApiError::internal)?;
        }
    }
    book.save_to_buffer().map_err(ApiError::internal)
}

pub async fn export(
    State(s): State<AppState>,
    user: User,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(q): Query<ExportQuery>,
) -> PageResult {
    let l = user.lang;
    let err = |e| PageError::new(e, l);
    let (name, ext) = file.rsplit_once('.').ok_or_else(|| err(ApiError::not_found("export")))?;
    if ext != "csv" && ext != "xlsx" {
        return Err(err(ApiError::not_found("export format (csv or xlsx)")));
    }
    let (sheet, columns, mut rows): (&str, Columns, Vec<Vec<J>>) = if let Some(kind) = Kind::from_name(name) {
        let ne = |v: Option<String>| v.filter(|s| !s.is_empty());
        let rows = records::export_table(&s, user.bearer(), kind, PeriodQuery { from: ne(q.from), to: ne(q.to) })
            .await
            .map_err(err)?;
        (kind.name(), kind.columns(), rows)
    } else if let Some((list, cols)) = ORG_LISTS.iter().find(|(n, _)| *n == name) {
        let rows = org_rows(&s, &user, list).await.map_err(err)?;
        let (actor, target) = (user.op.id.clone(), list.to_string());
        s.db.write(move |tx| audit(tx, &actor, "export", &target)).await.map_err(err)?;
        (list, cols, rows)
    } else {
        return Err(err(ApiError::not_found("export")));
    };
    absolute_links(columns, &mut rows, &origin(&headers));
    let disposition = format!("attachment; filename=\"gridpatrol-{sheet}.{ext}\"");
    Ok(if ext == "csv" {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
            records::csv_of(columns, &rows),
        )
            .into_response()
    } else {
        let body = to_xlsx(sheet, columns, &rows).map_err(err)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::records::PHOTO_PATH;

    #[test]
    fn photo_paths_become_links_to_this_hq() {
        let cols: Columns = &[("id", "id"), ("photo_links", "links")];
        let mut rows =
            vec![vec![json!("r1"), json!(format!("{PHOTO_PATH}aa {PHOTO_PATH}bb"))], vec![json!("r2"), J::Null]];
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "hq.example:8443".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        absolute_links(cols, &mut rows, &origin(&h));
        assert_eq!(rows[0][1], json!("https://hq.example:8443/photos/aa https://hq.example:8443/photos/bb"));
        assert_eq!(rows[1][1], J::Null);
        let mut bad = HeaderMap::new();
        bad.insert(header::HOST, "evil\"/x".parse().unwrap());
        assert_eq!(origin(&bad), "http://localhost", "a strange Host is not put into links");
    }
}
