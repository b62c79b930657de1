//! Checklist templates: the versions, the active one previewed as the phone shows it, and for
//! the street admin a form to edit it (name, the checklist's items with their zh/en labels, the
//! check-ins and GPS accuracy 人到 needs, visit intervals, the clear items a case needs before it
//! closes, keeping original photos) and either preview the draft or publish it as the next
//! version through the API's `publish_template` (whose rules are `protocol::template`'s). The
//! JSON of the draft stays available for experts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use gridpatrol_protocol::domain::ClearItem;
use gridpatrol_protocol::template::{Template, TemplateItem};
use maud::{html, Markup};

use super::extract::{Form, Lang, PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use crate::admin::org;
use crate::auth::Role;
use crate::error::ApiError;
use crate::http::{AppState, JsonBody};

/// Empty item rows offered below the template's own (more: save, and edit again).
const NEW_ITEM_ROWS: usize = 3;

/// The template as the phone lists it: the checklist to tick at each check-in, what 人到 needs,
/// and the clear items a case needs before it closes.
fn phone_preview(l: Lang, t: &Template) -> Markup {
    html! {
        figure.phone #phone-preview aria-label=(l.t("手机上的样子", "As the phone shows it")) {
            p.phone-title { (t.name) " · v" (t.version) }
            p { small { (l.t("人到：至少打卡 ", "人到: at least ")) (t.patrol.min_checkins) (l.t(" 次，定位精度 ≤ ", " check-ins, GPS accuracy ≤ "))
                (t.patrol.max_accuracy_m) " m" } }
            ul.checklist {
                @for i in &t.patrol.checklist {
                    li { label.check { input type="checkbox" disabled; span { (if l == Lang::Zh { &i.zh } else { &i.en }) }
                        " " small { (if l == Lang::Zh { &i.en } else { &i.zh }) } } }
                }
            }
            p { small { (l.t("重点户每 ", "Must-visit households every ")) (t.visits.must_visit_interval_days)
                (l.t(" 天走访，一般户每 ", " days, others every ")) (t.visits.routine_interval_days) (l.t(" 天。", " days.")) } }
            p { small { (l.t("结案前须：", "Before a case closes: "))
                (t.resolution.required.iter().map(|c| l.t(c.zh(), c.en())).collect::<Vec<_>>().join(l.t("、", ", "))) } }
            @if t.keep_original_photos { p { small { (l.t("保留原图", "Original photos kept")) } } }
        }
    }
}

fn editor(user: &User, t: &Template) -> Markup {
    let l = user.lang;
    let rows: Vec<Option<&TemplateItem>> =
        t.patrol.checklist.iter().map(Some).chain(std::iter::repeat_n(None, NEW_ITEM_ROWS)).collect();
    html! {
        form.stack.wide #publish method="post" action="/templates" {
            (csrf(user))
            input type="hidden" name="id" value=(t.id);
            input type="hidden" name="version" value=(t.version);
            label { (l.t("模板名称", "Template name")) input type="text" name="name" value=(t.name) required; }
            fieldset {
                legend { (l.t("巡查清单（每行一项；清空一行即删除）", "Checklist (one item a row; empty a row to remove it)")) }
                table #template-items {
                    thead { tr { th { "#" } th { (l.t("编号", "Id")) } th { (l.t("中文", "Chinese")) } th { (l.t("英文", "English")) } } }
                    tbody {
                        @for (n, item) in rows.iter().enumerate() {
                            tr {
                                td.num { (n + 1) }
                                td { input type="text" name="item_id" value=[item.map(|i| &i.id)] aria-label={ (l.t("编号", "Id")) " " (n + 1) }; }
                                td { input type="text" name="item_zh" value=[item.map(|i| &i.zh)] aria-label={ (l.t("中文", "Chinese")) " " (n + 1) }; }
                                td { input type="text" name="item_en" value=[item.map(|i| &i.en)] aria-label={ (l.t("英文", "English")) " " (n + 1) }; }
                            }
                        }
                    }
                }
            }
            label { (l.t("人到所需打卡次数", "Check-ins 人到 needs")) input type="number" name="min_checkins" min="1" max="100" value=(t.patrol.min_checkins) required; }
            label { (l.t("定位精度上限（米）", "GPS accuracy limit (metres)")) input type="number" name="max_accuracy_m" min="1" step="any" value=(t.patrol.max_accuracy_m) required; }
            label { (l.t("重点户走访间隔（天）", "Must-visit interval (days)")) input type="number" name="must_visit_interval_days" min="1" max="366" value=(t.visits.must_visit_interval_days) required; }
            label { (l.t("一般户走访间隔（天）", "Routine visit interval (days)")) input type="number" name="routine_interval_days" min="0" value=(t.visits.routine_interval_days) required; }
            fieldset {
                legend { (l.t("结案前必须清楚的事项", "Clear items required before a case closes")) }
                @for c in ClearItem::ALL {
                    label.check { input type="checkbox" name="required" value=(c.code()) checked[t.resolution.required.contains(c)]; (l.t(c.zh(), c.en())) }
                }
            }
            label.check { input type="checkbox" name="keep_original_photos" value="1" checked[t.keep_original_photos];
                (l.t("手机保留照片原图", "Phones keep each photo's original")) }
            div.actions {
                button type="submit" name="do" value="publish" { (l.t("发布为新版本", "Publish as a new version")) }
                button.secondary type="submit" name="do" value="preview" { (l.t("预览", "Preview")) }
            }
        }
    }
}

/// The draft a form describes (the rules are checked by `publish_template`, or by `validate` for
/// a preview); a number that is not one names its field.
fn draft_of(f: &Form) -> Result<Template, ApiError> {
    let num = |k: &str| -> Result<f64, ApiError> {
        f.text(k).unwrap_or_default().parse::<f64>().map_err(|_| ApiError::invalid(k, "expected a number"))
    };
    let whole = |k: &str| -> Result<u32, ApiError> {
        let v = num(k)?;
        if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
            return Err(ApiError::invalid(k, "expected a whole number"));
        }
        Ok(v as u32)
    };
    let (ids, zh, en) = (f.all("item_id"), f.all("item_zh"), f.all("item_en"));
    let mut checklist = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let (z, e) = (zh.get(n).map_or("", |s| s.trim()), en.get(n).map_or("", |s| s.trim()));
        if id.trim().is_empty() && z.is_empty() && e.is_empty() {
            continue;
        }
        if id.trim().is_empty() || z.is_empty() || e.is_empty() {
            return Err(ApiError::invalid(format!("item {}", n + 1), "give the item an id and both labels"));
        }
        checklist.push(TemplateItem { id: id.trim().to_string(), zh: z.to_string(), en: e.to_string() });
    }
    let required = f
        .all("required")
        .iter()
        .map(|c| {
            ClearItem::from_code(c).ok_or_else(|| ApiError::invalid("required", format!("unknown clear item {c:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut t = Template::default_3456();
    t.id = f.text("id").unwrap_or_default();
    t.version = whole("version")?;
    t.is_default = false;
    t.name = f.text("name").unwrap_or_default();
    t.patrol.checklist = checklist;
    t.patrol.min_checkins = whole("min_checkins")?;
    t.patrol.max_accuracy_m = num("max_accuracy_m")?;
    t.visits.must_visit_interval_days = whole("must_visit_interval_days")?;
    t.visits.routine_interval_days = whole("routine_interval_days")?;
    t.resolution.required = required;
    t.keep_original_photos = f.get("keep_original_photos").is_some();
    Ok(t)
}

pub async fn templates(State(s): State<AppState>, user: User) -> PageResult {
    page(s, &user, None, StatusCode::OK).await
}

/// What the page shows below the list: the form's draft (previewed, or refused with why) in
/// place of the active template's next version.
struct Draft {
    template: Template,
    error: Option<ApiError>,
}

async fn page(s: AppState, user: &User, draft: Option<Draft>, status: StatusCode) -> PageResult {
    let l = user.lang;
    let list = org::list_templates(State(s), user.bearer()).await.map_err(|e| PageError::new(e, l))?.0;
    let active = list.iter().find(|t| t.active);
    let next = active.map(|t| {
        let mut n = t.template.clone();
        n.version += 1;
        n.is_default = false;
        n
    });
    let shown = draft.as_ref().map(|d| &d.template).or(next.as_ref());
    let body = html! {
        table #templates {
            thead { tr { th { (l.t("模板", "Template")) } th { (l.t("版本", "Version")) } th { (l.t("发布时间", "Published")) } th { (l.t("状态", "State")) } } }
            tbody { @for t in &list { tr {
                td { (t.name) } td { (t.version) } td { (t.published_at) }
                td { @if t.active { strong.ok { (l.t("当前使用", "active")) } } }
            } } }
        }
        @if let Some(d) = &draft {
            @if let Some(e) = &d.error {
                div.error role="alert" #form-error { (l.t("未发布：", "Not published: ")) (e.message) " (" code { (e.code) } ")" }
            } @else {
                p.notice role="status" { (l.t("预览（尚未发布）：", "Preview (not published yet):")) }
            }
        }
        div.side-by-side {
            div {
                @if let Some(t) = draft.as_ref().map(|d| &d.template).or(active.map(|a| &a.template)) {
                    h2 { @if draft.is_some() { (l.t("草稿预览", "Preview of the draft")) } @else { (l.t("当前模板预览", "Preview of the active template")) } }
                    (phone_preview(l, t))
                }
            }
            @if user.op.role == Role::StreetAdmin {
                @if let Some(t) = shown {
                    div {
                        h2 { (l.t("编辑并发布新版本", "Edit and publish a new version")) }
                        (editor(user, t))
                    }
                }
            }
        }
        @if user.op.role == Role::StreetAdmin {
            @if let Some(t) = shown {
                details #template-json {
                    summary { (l.t("JSON（供专业人员）", "JSON (for experts)")) }
                    form.stack method="post" action="/templates" {
                        (csrf(user))
                        label { (l.t("模板（JSON）", "Template (JSON)"))
                            textarea name="template" rows="18" spellcheck="false" { (serde_json::to_string_pretty(t).unwrap_or_default()) } }
                        button type="submit" { (l.t("按 JSON 发布", "Publish the JSON")) }
                    }
                }
            }
        }
    };
    let mut resp = (status, layout::page(user, l.t("巡查模板", "Checklist templates"), body)).into_response();
    // A refused draft carries the API's stable code, as every refusal does.
    if let Some(e) = draft.as_ref().and_then(|d| d.error.as_ref()) {
        resp.headers_mut().insert("x-gridpatrol-error", axum::http::HeaderValue::from_static(e.code));
    }
    Ok(resp)
}

pub async fn publish(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    // The expert's JSON, as before.
    if let Some(text) = p.form.get("template") {
        let t: Template = serde_json::from_str(text)
            .map_err(|e| PageError::new(ApiError::invalid("template", format!("not a template: {e}")), l))?;
        org::publish_template(State(s), p.user.bearer(), JsonBody(t)).await.map_err(|e| PageError::new(e, l))?;
        return Ok(Redirect::to("/templates").into_response());
    }
    p.user.op.require_admin().map_err(|e| PageError::new(e, l))?;
    let template = match draft_of(&p.form) {
        Ok(t) => t,
        Err(e) => {
            // Not a draft at all: the active template's form again, with why.
            let list =
                org::list_templates(State(s.clone()), p.user.bearer()).await.map_err(|e| PageError::new(e, l))?.0;
            let mut t = list.into_iter().find(|t| t.active).map(|t| t.template).unwrap_or_else(Template::default_3456);
            t.version += 1;
            return page(s, &p.user, Some(Draft { template: t, error: Some(e) }), StatusCode::BAD_REQUEST).await;
        }
    };
    if p.form.get("do") == Some("preview") {
        let error = template.validate().err().map(ApiError::from);
        let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return page(s, &p.user, Some(Draft { template, error }), status).await;
    }
    match org::publish_template(State(s.clone()), p.user.bearer(), JsonBody(template.clone())).await {
        Ok(_) => Ok(Redirect::to("/templates").into_response()),
        Err(e) if matches!(e.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let status = e.status;
            page(s, &p.user, Some(Draft { template, error: Some(e) }), status).await
        }
        Err(e) => Err(PageError::new(e, l)),
    }
}
