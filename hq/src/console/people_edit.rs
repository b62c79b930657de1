//! People and places one by one: a form to add or change a community, grid (its boundary typed
//! as `lng lat; …` or pasted as GeoJSON), building, grid worker, unit, volunteer team or
//! household. Each form posts to the API's own handlers (`admin::org`, `teams`, `units`), so the
//! rules, the scope and the audit trail are theirs; a refusal of a field comes back as the form
//! again with the message beside that field.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use gridpatrol_protocol::config::{Building, Household, Team};
use gridpatrol_protocol::domain::{CareTag, UnitKind, WorkerRole};
use maud::{html, Markup};
use serde_json::{json, Value};

use super::export::boundary_text;
use super::extract::{Lang, PageError, PageResult, Posted, User};
use super::import::ring_of;
use super::layout::{self, csrf};
use crate::admin::org::{self, GeoJsonPolygon, HouseholdQuery};
use crate::admin::teams::{self, BuildingQuery};
use crate::admin::{units, Save};
use crate::auth;
use crate::error::ApiError;
use crate::http::{ApiPath, ApiQuery, AppState, JsonBody};

/// The kinds of people and places, as they appear in `/people/{kind}/…`.
pub const KINDS: &[&str] = &["communities", "grids", "buildings", "workers", "units", "teams", "households"];

enum Input {
    Text,
    /// Fixed once saved (the id).
    Id,
    Area,
    Select(Vec<(String, String)>),
    Checks(Vec<(String, String)>),
}

struct Field {
    name: &'static str,
    zh: &'static str,
    en: &'static str,
    input: Input,
    required: bool,
    hint: Option<(&'static str, &'static str)>,
}

fn f(name: &'static str, zh: &'static str, en: &'static str, input: Input, required: bool) -> Field {
    Field { name, zh, en, input, required, hint: None }
}

type Values = HashMap<String, Vec<String>>;

fn one(v: &Values, k: &str) -> String {
    v.get(k).and_then(|x| x.first()).cloned().unwrap_or_default()
}

fn kind_title(l: Lang, kind: &str) -> &'static str {
    match kind {
        "communities" => l.t("社区", "Community"),
        "grids" => l.t("网格", "Grid"),
        "buildings" => l.t("楼栋", "Building"),
        "workers" => l.t("网格员", "Grid worker"),
        "units" => l.t("处置单位", "Unit"),
        "teams" => l.t("志愿服务队", "Volunteer team"),
        _ => l.t("住户", "Household"),
    }
}

/// The form's fields, with the choices this operator has (their own communities, grids, workers).
async fn fields(s: &AppState, user: &User, kind: &str) -> Result<Vec<Field>, ApiError> {
    let l = user.lang;
    let st = || State(s.clone());
    let communities = || async {
        Ok::<_, ApiError>(
            org::list_communities(st(), user.bearer()).await?.0.into_iter().map(|c| (c.id, c.name)).collect::<Vec<_>>(),
        )
    };
    let grids = || async {
        Ok::<_, ApiError>(
            org::list_grids(st(), user.bearer()).await?.0.into_iter().map(|g| (g.id, g.name)).collect::<Vec<_>>(),
        )
    };
    Ok(match kind {
        "communities" => vec![
            f("id", "编号", "Id", Input::Id, true),
            f("code", "区划代码（以街道代码开头）", "Area code (starting with the street's)", Input::Text, true),
            f("name", "名称", "Name", Input::Text, true),
        ],
        "grids" => vec![
            f("id", "编号", "Id", Input::Id, true),
            f("code", "区划代码（以社区代码开头）", "Area code (starting with the community's)", Input::Text, true),
            f("community_id", "社区", "Community", Input::Select(communities().await?), true),
            f("name", "名称", "Name", Input::Text, true),
            Field {
                hint: Some((
                    "每个顶点“经度 纬度”，以分号分隔（WGS-84）；或粘贴 GeoJSON 的 Polygon（或含 Polygon 的 Feature）。",
                    "Each corner as \"lng lat\", separated by semicolons (WGS-84); or paste a GeoJSON Polygon (or a Feature holding one).",
                )),
                ..f("boundary", "边界", "Boundary", Input::Area, true)
            },
        ],
        "buildings" => vec![
            f("id", "编号", "Id", Input::Id, true),
            f("grid_id", "网格", "Grid", Input::Select(grids().await?), true),
            f("name", "名称（如 3栋）", "Name (e.g. 3栋)", Input::Text, true),
        ],
        "workers" => vec![
            f("id", "编号", "Id", Input::Id, true),
            f("name", "姓名", "Name", Input::Text, true),
            f(
                "role",
                "类别",
                "Kind",
                Input::Select(WorkerRole::ALL.iter().map(|r| (r.code().to_string(), l.t(r.zh(), r.en()).to_string())).collect()),
                true,
            ),
            f("grid_ids", "网格", "Grids", Input::Checks(grids().await?), false),
        ],
        "units" => vec![
            f("id", "编号", "Id", Input::Id, true),
            f(
                "kind",
                "类别",
                "Kind",
                Input::Select(UnitKind::ALL.iter().map(|k| (k.code().to_string(), l.t(k.zh(), k.en()).to_string())).collect()),
                true,
            ),
            f("name", "名称", "Name", Input::Text, true),
            f("contact", "联系方式", "Contact", Input::Text, false),
            f("community_ids", "服务社区", "Communities served", Input::Checks(communities().await?), false),
        ],
        "teams" => {
            let workers = org::list_workers(st(), user.bearer()).await?.0.into_iter().map(|w| (w.id, w.name)).collect();
            vec![
                f("id", "编号", "Id", Input::Id, true),
                f("community_id", "社区", "Community", Input::Select(communities().await?), true),
                f("name", "名称", "Name", Input::Text, true),
                f("member_ids", "队员", "Members", Input::Checks(workers), false),
            ]
        }
        _ => vec![
            f("id", "编号", "Id", Input::Id, true),
            f("grid_id", "网格", "Grid", Input::Select(grids().await?), true),
            f("label", "门牌", "Door", Input::Text, true),
            f("name", "姓名", "Name", Input::Text, true),
            Field {
                hint: Some(("修改时留空则保留原号码。", "When changing, leave empty to keep the number on file.")),
                ..f("phone", "电话", "Phone", Input::Text, false)
            },
            f(
                "care_tags",
                "关爱标签",
                "Care tags",
                Input::Checks(CareTag::ALL.iter().map(|t| (t.code().to_string(), l.t(t.zh(), t.en()).to_string())).collect()),
                false,
            ),
        ],
    })
}

/// The current values of one row, from the API's own list for this operator (not found when it
/// is not in the operator's area).
async fn current(s: &AppState, user: &User, kind: &str, id: &str) -> Result<Values, ApiError> {
    let st = || State(s.clone());
    let v = |pairs: Vec<(&str, Vec<String>)>| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Values>();
    let found = match kind {
        "communities" => org::list_communities(st(), user.bearer())
            .await?
            .0
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| v(vec![("id", vec![c.id]), ("code", vec![c.code]), ("name", vec![c.name])])),
        "grids" => org::list_grids(st(), user.bearer()).await?.0.into_iter().find(|g| g.id == id).map(|g| {
            v(vec![
                ("boundary", vec![boundary_text(&g)]),
                ("id", vec![g.id]),
                ("code", vec![g.code]),
                ("community_id", vec![g.community_id]),
                ("name", vec![g.name]),
            ])
        }),
        "buildings" => teams::list_buildings(st(), user.bearer(), ApiQuery(BuildingQuery { grid_id: None }))
            .await?
            .0
            .into_iter()
            .find(|b| b.id == id)
            .map(|b| v(vec![("id", vec![b.id]), ("grid_id", vec![b.grid_id]), ("name", vec![b.name])])),
        "workers" => org::list_workers(st(), user.bearer()).await?.0.into_iter().find(|w| w.id == id).map(|w| {
            v(vec![
                ("id", vec![w.id]),
                ("name", vec![w.name]),
                ("role", vec![w.role.code().into()]),
                ("grid_ids", w.grid_ids),
            ])
        }),
        "units" => units::list_units(st(), user.bearer()).await?.0.into_iter().find(|u| u.id == id).map(|u| {
            v(vec![
                ("id", vec![u.id]),
                ("kind", vec![u.kind.code().into()]),
                ("name", vec![u.name]),
                ("contact", u.contact.into_iter().collect()),
                ("community_ids", u.community_ids),
            ])
        }),
        "teams" => teams::list_teams(st(), user.bearer()).await?.0.into_iter().find(|t| t.id == id).map(|t| {
            v(vec![
                ("id", vec![t.id]),
                ("community_id", vec![t.community_id]),
                ("name", vec![t.name]),
                ("member_ids", t.member_ids),
            ])
        }),
        _ => org::list_households(st(), user.bearer(), ApiQuery(HouseholdQuery { grid_id: None }))
            .await?
            .0
            .into_iter()
            .find(|h| h.id == id)
            .map(|h| {
                v(vec![
                    ("id", vec![h.id]),
                    ("grid_id", vec![h.grid_id]),
                    ("label", vec![h.label]),
                    ("name", vec![h.name]),
                    ("masked_phone", h.phone_masked.into_iter().collect()),
                    ("care_tags", h.care_tags.iter().map(|t| t.code().to_string()).collect()),
                ])
            }),
    };
    found.ok_or_else(|| ApiError::not_found(kind.trim_end_matches('s')))
}

/// The form field an API error is about (`grid_ids[2]` → `grid_ids`, `boundary.type` → `boundary`).
fn field_of(e: &ApiError) -> Option<String> {
    let f = e.field.as_deref()?;
    Some(f.split(['[', '.']).next().unwrap_or(f).to_string())
}

fn form(
    user: &User,
    kind: &str,
    id: Option<&str>,
    fields: &[Field],
    values: &Values,
    error: Option<&ApiError>,
) -> Markup {
    let l = user.lang;
    let bad = error.and_then(field_of);
    let action = match id {
        Some(id) => format!("/people/{kind}/{}", super::work::urlencode(id)),
        None => format!("/people/{kind}"),
    };
    let title = format!(
        "{}{}",
        if id.is_some() { l.t("修改", "Change ") } else { l.t("新增", "Add ") },
        kind_title(l, kind).to_lowercase()
    );
    let body = html! {
        @if let Some(e) = error {
            div.error role="alert" #form-error {
                (l.t("未保存：", "Not saved: ")) (e.message) " (" code { (e.code) } ")"
            }
        }
        form.stack #edit method="post" action=(action) novalidate {
            (csrf(user))
            @for fl in fields {
                @let err_here = bad.as_deref() == Some(fl.name);
                @let err_id = format!("{}-error", fl.name);
                @let v = one(values, fl.name);
                @match &fl.input {
                    Input::Checks(opts) => {
                        fieldset aria-describedby=[err_here.then_some(err_id.as_str())] {
                            legend { (l.t(fl.zh, fl.en)) }
                            @for (value, label) in opts {
                                @let on = values.get(fl.name).is_some_and(|x| x.contains(value));
                                label.check { input type="checkbox" name=(fl.name) value=(value) checked[on]; (label) }
                            }
                            @if opts.is_empty() { p { "–" } }
                        }
                    }
                    input => {
                        label {
                            (l.t(fl.zh, fl.en)) @if fl.required { " *" }
                            @match input {
                                Input::Area => { textarea name=(fl.name) rows="4" required[fl.required]
                                    aria-invalid=[err_here.then_some("true")] aria-describedby=[err_here.then_some(err_id.as_str())] { (v) } }
                                Input::Select(opts) => { select name=(fl.name) required[fl.required]
                                    aria-invalid=[err_here.then_some("true")] aria-describedby=[err_here.then_some(err_id.as_str())] {
                                    option value="" { "–" }
                                    @for (value, label) in opts { option value=(value) selected[*value == v] { (label) " (" (value) ")" } }
                                } }
                                Input::Id if id.is_some() => { input type="text" name=(fl.name) value=(v) readonly; }
                                _ => { input type="text" name=(fl.name) value=(v) required[fl.required]
                                    placeholder=[(fl.name == "phone").then(|| one(values, "masked_phone"))]
                                    aria-invalid=[err_here.then_some("true")] aria-describedby=[err_here.then_some(err_id.as_str())]; }
                            }
                        }
                    }
                }
                @if let Some((zh, en)) = fl.hint { small { (l.t(zh, en)) } }
                @if err_here { @if let Some(e) = error { span.field-error id=(err_id) data-field=(fl.name) { (e.message) } } }
            }
            button type="submit" { (l.t("保存", "Save")) }
        }
        p { a href="/people" { (l.t("← 返回人员与网格", "← Back to people and places")) } }
    };
    layout::page(user, &title, body)
}

fn known(kind: &str, l: Lang) -> Result<(), PageError> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(PageError::new(ApiError::not_found("page"), l))
    }
}

pub async fn new_form(State(s): State<AppState>, user: User, Path(kind): Path<String>) -> PageResult {
    let l = user.lang;
    known(&kind, l)?;
    let fields = fields(&s, &user, &kind).await.map_err(|e| PageError::new(e, l))?;
    Ok(form(&user, &kind, None, &fields, &Values::new(), None).into_response())
}

pub async fn edit_form(State(s): State<AppState>, user: User, Path((kind, id)): Path<(String, String)>) -> PageResult {
    let l = user.lang;
    known(&kind, l)?;
    let err = |e| PageError::new(e, l);
    let values = current(&s, &user, &kind, &id).await.map_err(err)?;
    let fields = fields(&s, &user, &kind).await.map_err(err)?;
    Ok(form(&user, &kind, Some(&id), &fields, &values, None).into_response())
}

pub async fn create(State(s): State<AppState>, Path(kind): Path<String>, p: Posted) -> PageResult {
    save(s, kind, None, p).await
}

pub async fn update(State(s): State<AppState>, Path((kind, id)): Path<(String, String)>, p: Posted) -> PageResult {
    save(s, kind, Some(id), p).await
}

/// A saved row's answer is not needed: the page goes back to the list.
fn done<T>(_: T) {}

/// A typed value from the form (a select's code) as the API's type, or an invalid-field error.
fn typed<T: serde::de::DeserializeOwned>(field: &str, v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::invalid(field, format!("not a valid choice ({e})")))
}

async fn submit(s: &AppState, user: &User, kind: &str, id: Option<&str>, v: &Values) -> Result<(), ApiError> {
    let st = || State(s.clone());
    let g = |k: &str| one(v, k).trim().to_string();
    let all = |k: &str| v.get(k).cloned().unwrap_or_default();
    let the_id = id.map(str::to_string).unwrap_or_else(|| g("id"));
    match kind {
        "communities" => match id {
            None => done(
                org::create_community(
                    st(),
                    user.bearer(),
                    JsonBody(typed("id", json!({ "id": the_id, "code": g("code"), "name": g("name") }))?),
                )
                .await?,
            ),
            Some(_) => done(
                org::update_community(
                    st(),
                    user.bearer(),
                    ApiPath(the_id),
                    JsonBody(typed("code", json!({ "code": g("code"), "name": g("name") }))?),
                )
                .await?,
            ),
        },
        "grids" => {
            let ring = ring_of(&g("boundary"))
                .map_err(|m| ApiError::invalid("boundary", m.trim_start_matches("boundary: ")))?;
            let boundary = GeoJsonPolygon::from_ring(&ring);
            match id {
                None => done(
                    org::create_grid(
                        st(),
                        user.bearer(),
                        JsonBody(org::GridInput {
                            id: the_id,
                            code: g("code"),
                            community_id: g("community_id"),
                            name: g("name"),
                            boundary,
                        }),
                    )
                    .await?,
                ),
                Some(_) => done(
                    org::update_grid(
                        st(),
                        user.bearer(),
                        ApiPath(the_id),
                        JsonBody(org::GridUpdate {
                            code: g("code"),
                            community_id: g("community_id"),
                            name: g("name"),
                            boundary,
                        }),
                    )
                    .await?,
                ),
            }
        }
        "buildings" => {
            let b = Building { id: the_id, grid_id: g("grid_id"), name: g("name") };
            done(teams::put_building(st(), user.bearer(), JsonBody(b)).await?)
        }
        "workers" => {
            let role: WorkerRole = typed("role", json!(g("role")))?;
            match id {
                None => done(
                    org::create_worker(
                        st(),
                        user.bearer(),
                        JsonBody(org::WorkerInput { id: the_id, name: g("name"), role, grid_ids: all("grid_ids") }),
                    )
                    .await?,
                ),
                Some(_) => done(
                    org::update_worker(
                        st(),
                        user.bearer(),
                        ApiPath(the_id),
                        JsonBody(org::WorkerUpdate { name: g("name"), role, grid_ids: all("grid_ids") }),
                    )
                    .await?,
                ),
            }
        }
        "units" => {
            let input = units::UnitInput {
                id: Some(the_id.clone()).filter(|x| !x.is_empty()),
                kind: typed("kind", json!(g("kind")))?,
                name: g("name"),
                contact: Some(g("contact")).filter(|c| !c.is_empty()),
                community_ids: all("community_ids"),
            };
            match id {
                None => done(units::create_unit(st(), user.bearer(), JsonBody(input)).await?),
                Some(_) => done(units::update_unit(st(), user.bearer(), ApiPath(the_id), JsonBody(input)).await?),
            }
        }
        "teams" => {
            let t =
                Team { id: the_id, name: g("name"), community_id: g("community_id"), member_ids: all("member_ids") };
            done(teams::put_team(st(), user.bearer(), JsonBody(t)).await?)
        }
        _ => {
            let tags =
                all("care_tags").iter().map(|t| typed("care_tags", json!(t))).collect::<Result<Vec<CareTag>, _>>()?;
            let h = Household {
                id: the_id,
                grid_id: g("grid_id"),
                label: g("label"),
                name: g("name"),
                phone: Some(g("phone")).filter(|p| !p.is_empty()),
                care_tags: tags,
                must_visit: None,
            };
            match id {
                None => done(
                    org::create_household(
                        st(),
                        user.bearer(),
                        JsonBody(org::HouseholdInput {
                            id: h.id,
                            grid_id: h.grid_id,
                            label: h.label,
                            name: h.name,
                            phone: h.phone,
                            care_tags: h.care_tags,
                            must_visit: None,
                        }),
                    )
                    .await?,
                ),
                // The form never shows the number, so an empty one keeps it: the API's own
                // rule for households (`save_household`), in one transaction of its own.
                Some(_) => {
                    let bearer = user.bearer();
                    s.db.write(move |tx| {
                        let op = auth::operator(tx, bearer.as_deref())?;
                        org::save_household(tx, &op, h, Save::Update, true)
                    })
                    .await?;
                }
            }
        }
    }
    Ok(())
}

async fn save(s: AppState, kind: String, id: Option<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    known(&kind, l)?;
    let mut values = Values::new();
    for (k, v) in &p.form.0 {
        if k != "_csrf" {
            values.entry(k.clone()).or_default().push(v.clone());
        }
    }
    match submit(&s, &p.user, &kind, id.as_deref(), &values).await {
        Ok(()) => Ok(Redirect::to(&format!("/people#{kind}")).into_response()),
        // The form again, with the message beside the field it is about.
        Err(e) if matches!(e.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let fields = fields(&s, &p.user, &kind).await.map_err(|e| PageError::new(e, l))?;
            if let Some(id) = &id {
                values.insert("id".into(), vec![id.clone()]);
            }
            Ok((
                e.status,
                [("x-gridpatrol-error", e.code)],
                form(&p.user, &kind, id.as_deref(), &fields, &values, Some(&e)),
            )
                .into_response())
        }
        Err(e) => Err(PageError::new(e, l)),
    }
}
