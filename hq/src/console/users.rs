//! People and phones: enrolment in bulk (one printable A4 sheet of QR codes, each a one-time
//! code from `admin::access`), the audit log, and the street admin's console users (create,
//! reset). Devices are in `devices.rs`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{html, Markup, PreEscaped};
use qrcode::render::svg;
use qrcode::QrCode;
use serde::Deserialize;

use super::extract::{PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use super::session;
use super::work::urlencode;
use crate::admin::access::{self, AuditQuery, OperatorInput};
use crate::admin::org;
use crate::error::ApiError;
use crate::http::{ApiPath, ApiQuery, AppState, JsonBody, RawBody};

/// Validity choices for enrolment codes (seconds; the API allows up to a day).
const VALIDITY: &[(u64, &str, &str)] = &[
    (900, "15分钟", "15 minutes"),
    (3600, "1小时", "1 hour"),
    (8 * 3600, "8小时", "8 hours"),
    (86_400, "24小时", "24 hours"),
];

pub async fn enrol_form(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let workers = org::list_workers(State(s), user.bearer()).await.map_err(|e| PageError::new(e, l))?.0;
    let body = html! {
        p { (l.t("勾选网格员，选择有效期，生成一页可打印的A4二维码注册单；每个码只能使用一次。",
                 "Tick the workers, choose how long the codes stay valid, and print one A4 sheet of QR codes; each code works once.")) }
        form method="post" action="/enrol" {
            (csrf(&user))
            label { (l.t("有效期", "Valid for"))
                select name="ttl_seconds" { @for (s, zh, en) in VALIDITY { option value=(s) selected[*s == 3600] { (l.t(zh, en)) } } } }
            table #workers {
                thead { tr {
                    th { label.check { input type="checkbox" data-select-all="worker"; (l.t("全选", "All")) } }
                    th { (l.t("姓名", "Name")) } th { (l.t("类别", "Kind")) } th { (l.t("网格", "Grids")) }
                } }
                tbody { @for w in &workers { tr {
                    td { input type="checkbox" name="worker" value=(w.id) aria-label=(w.name); }
                    td { (w.name) } td { (w.role_label) } td { (w.grid_ids.join(", ")) }
                } } }
            }
            button type="submit" { (l.t("生成注册单", "Make the sheet")) }
        }
    };
    Ok(layout::page(&user, l.t("批量注册手机", "Enrol phones in bulk"), body).into_response())
}

fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = QrCode::new(text.as_bytes()).map_err(ApiError::internal)?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(160, 160).quiet_zone(true).build())
}

pub async fn enrol_sheet(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let err = |e| PageError::new(e, l);
    let ttl: u64 = p.form.text("ttl_seconds").and_then(|t| t.parse().ok()).unwrap_or(3600);
    let chosen = p.form.all("worker");
    if chosen.is_empty() {
        return Err(err(ApiError::invalid("worker", l.t("请至少选择一名网格员", "choose at least one worker"))));
    }
    if chosen.len() > 200 {
        return Err(err(ApiError::invalid("worker", "at most 200 workers on one sheet")));
    }
    let names: std::collections::HashMap<String, String> = org::list_workers(State(s.clone()), p.user.bearer())
        .await
        .map_err(err)?
        .0
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect();
    let body = bytes_of(&serde_json::json!({ "ttl_seconds": ttl }));
    let mut cards = Vec::new();
    for w in chosen {
        let c =
            access::create_enrolment_code(State(s.clone()), p.user.bearer(), ApiPath(w.clone()), RawBody(body.clone()))
                .await
                .map_err(err)?
                .0;
        let svg = qr_svg(&c.code).map_err(err)?;
        cards.push((names.get(&w).cloned().unwrap_or(w), c.code, c.expires_at, svg));
    }
    let page = html! {
        p.noprint { button type="button" data-print="1" { (l.t("打印", "Print")) } " "
            (l.t("这些码只显示这一次。", "These codes are shown only this once.")) }
        div.sheet #sheet {
            @for (name, code, expires, svg) in &cards {
                div.card {
                    strong { (name) } br;
                    (PreEscaped(svg))
                    div.code { (code) }
                    small { (l.t("有效至", "valid until")) " " (expires) }
                }
            }
        }
    };
    Ok(layout::page(&p.user, l.t("注册二维码", "Enrolment sheet"), page).into_response())
}

fn bytes_of(v: &serde_json::Value) -> axum::body::Bytes {
    axum::body::Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

#[derive(Deserialize)]
pub struct AuditForm {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn audit(State(s): State<AppState>, user: User, Query(q): Query<AuditForm>) -> PageResult {
    let l = user.lang;
    let ne = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let query = AuditQuery {
        actor: ne(&q.actor),
        action: ne(&q.action),
        target: ne(&q.target),
        from: ne(&q.from),
        to: ne(&q.to),
        limit: Some(500),
    };
    let list = access::list_audit(State(s), user.bearer(), ApiQuery(query)).await.map_err(|e| PageError::new(e, l))?.0;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        form.filters method="get" action="/audit" aria-label=(l.t("检索", "Search")) {
            label { (l.t("操作人", "Actor")) input type="text" name="actor" value=(v(&q.actor)); }
            label { (l.t("动作", "Action")) input type="text" name="action" value=(v(&q.action)); }
            label { (l.t("对象", "Target")) input type="text" name="target" value=(v(&q.target)); }
            label { (l.t("开始日期", "From")) input type="date" name="from" value=(v(&q.from)); }
            label { (l.t("结束日期", "To")) input type="date" name="to" value=(v(&q.to)); }
            button type="submit" { (l.t("检索", "Search")) }
        }
        table #audit {
            thead { tr { th { (l.t("时间", "When")) } th { (l.t("操作人", "Actor")) } th { (l.t("动作", "Action")) } th { (l.t("对象", "Target")) } th { (l.t("详情", "Detail")) } } }
            tbody { @for e in &list { tr { td { (e.at) } td { (e.actor) } td { (e.action) } td { (e.target) } td { (e.detail.clone().unwrap_or_default()) } } } }
        }
    };
    Ok(layout::page(&user, l.t("审计日志", "Audit log"), body).into_response())
}

/// (id, name, role, scope ids, user name, revoked, locked).
type UserRow = (String, String, String, String, Option<String>, bool, bool);

/// Console users as the street admin sees them.
fn user_rows(tx: &mut dyn crate::db::Tx) -> crate::error::Result<Vec<UserRow>> {
    tx.query(
        "SELECT id, name, role, scope_ids, username, revoked_ms IS NOT NULL, locked_until_ms IS NOT NULL AND locked_until_ms > ?
         FROM operator ORDER BY created_ms, id",
        crate::p![crate::now_ms()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?, r.opt_text(4)?, r.bool(5)?, r.bool(6)?)))
    .collect()
}

fn users_page(user: &User, rows: &[UserRow], shown: Option<Markup>) -> Markup {
    let l = user.lang;
    layout::page(
        user,
        l.t("用户", "Users"),
        html! {
            @if let Some(m) = shown { (m) }
            table #users {
                thead { tr { th { (l.t("姓名", "Name")) } th { (l.t("用户名", "User name")) } th { (l.t("角色", "Role")) }
                    th { (l.t("范围", "Scope")) } th { (l.t("状态", "State")) } th { (l.t("重置密码", "Reset password")) } } }
                tbody { @for (id, name, role, scope, uname, revoked, locked) in rows { tr {
                    td { (name) } td { (uname.clone().unwrap_or_default()) } td { (role) } td { (scope) }
                    td { @if *revoked { (l.t("已停用", "revoked")) } @else if *locked { span.bad { (l.t("已锁定", "locked")) } } @else { (l.t("正常", "active")) } }
                    td { @if uname.is_some() && !*revoked {
                        form.inline method="post" action={ "/users/" (urlencode(id)) "/reset" } {
                            (csrf(user)) button.secondary type="submit" { (l.t("重置并解锁", "Reset and unlock")) } } } }
                } } }
            }
            h2 { (l.t("新建控制台用户", "New console user")) }
            form.stack #new-user method="post" action="/users" {
                (csrf(user))
                label { (l.t("姓名", "Name")) input type="text" name="name" required; }
                label { (l.t("用户名", "User name")) input type="text" name="username" required pattern="[a-z0-9_.-]{3,40}"; }
                label { (l.t("角色", "Role")) select name="role" {
                    option value="community" { (l.t("社区", "community office")) }
                    option value="grid_leader" { (l.t("网格长", "grid leader")) }
                    option value="unit" { (l.t("处置单位", "unit")) }
                    option value="street_admin" { (l.t("街道管理员", "street admin")) } } }
                label { (l.t("范围（社区/网格/单位编号，逗号分隔）", "Scope (community, grid or unit ids, comma-separated)")) input type="text" name="scope_ids"; }
                button type="submit" { (l.t("创建", "Create")) }
            }
        },
    )
}

fn shown_password(l: super::Lang, username: &str, password: &str) -> Markup {
    html! { p.notice role="status" #new-password {
    (l.t("初始密码只显示这一次：", "The password is shown only this once: ")) (username) " / " code { (password) } } }
}

async fn rows(s: &AppState, user: &User) -> Result<Vec<UserRow>, PageError> {
    let bearer = user.bearer();
    let l = user.lang;
    s.db.read(move |tx| {
        crate::auth::operator(tx, bearer.as_deref())?.require_admin()?;
        user_rows(tx)
    })
    .await
    .map_err(|e| PageError::new(e, l))
}

pub async fn users(State(s): State<AppState>, user: User) -> PageResult {
    let list = rows(&s, &user).await?;
    Ok(users_page(&user, &list, None).into_response())
}

/// A console user is an operator made by the API's own `create_operator` (same checks of role
/// and scope), then given a user name and a generated password shown once.
pub async fn create_user(State(s): State<AppState>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let err = |e| PageError::new(e, l);
    let username = p.form.text("username").unwrap_or_default().to_lowercase();
    let ok = (3..=40).contains(&username.len())
        && username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !ok {
        return Err(err(ApiError::invalid("username", "3 to 40 of a-z, 0-9, _ . -")));
    }
    let scope_ids: Vec<String> = p
        .form
        .text("scope_ids")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let input = OperatorInput {
        name: p.form.text("name").unwrap_or_default(),
        role: p.form.text("role").unwrap_or_default(),
        scope_ids,
    };
    let taken = {
        let u = username.clone();
        s.db.read(move |tx| Ok(tx.query_opt("SELECT 1 FROM operator WHERE username = ?", crate::p![&u])?.is_some()))
            .await
            .map_err(err)?
    };
    if taken {
        return Err(err(ApiError::conflict(l.t("该用户名已被使用", "that user name is taken"))));
    }
    let created = access::create_operator(State(s.clone()), p.user.bearer(), JsonBody(input)).await.map_err(err)?.0;
    let password = session::new_password();
    let hash = session::hash(password.clone()).await.map_err(err)?;
    let (id, u, admin) = (created.id.clone(), username.clone(), p.user.op.id.clone());
    s.db.write(move |tx| {
        tx.exec("UPDATE operator SET username = ?, password_hash = ? WHERE id = ?", crate::p![&u, &hash, &id])?;
        crate::model::audit::audit(tx, &admin, "console.user_create", &id)
    })
    .await
    .map_err(|e| {
        PageError::new(
            if e.code == gridpatrol_protocol::wire::codes::INTERNAL {
                ApiError::conflict("that user name is taken")
            } else {
                e
            },
            l,
        )
    })?;
    let list = rows(&s, &p.user).await?;
    Ok((StatusCode::CREATED, users_page(&p.user, &list, Some(shown_password(l, &username, &password)))).into_response())
}

/// The street admin resets a user: a new password shown once, the lock lifted, every session
/// of that user ended.
pub async fn reset_user(State(s): State<AppState>, Path(id): Path<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let err = |e| PageError::new(e, l);
    let password = session::new_password();
    let hash = session::hash(password.clone()).await.map_err(err)?;
    let bearer = p.user.bearer();
    let username =
        s.db.write(move |tx| {
            let admin = crate::auth::operator(tx, bearer.as_deref())?;
            admin.require_admin()?;
            let r = tx
                .query_opt(
                    "SELECT username FROM operator WHERE id = ? AND username IS NOT NULL AND revoked_ms IS NULL",
                    crate::p![&id],
                )?
                .ok_or_else(|| ApiError::not_found("console user"))?;
            session::set_password(tx, &id, &hash, None)?;
            crate::model::audit::audit(tx, &admin.id, "console.user_reset", &id)?;
            Ok(r.text(0)?)
        })
        .await
        .map_err(err)?;
    let list = rows(&s, &p.user).await?;
    Ok(users_page(&p.user, &list, Some(shown_password(l, &username, &password))).into_response())
}
