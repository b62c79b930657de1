//! 设备 / Devices: each phone's last contact, what it said was unsent then, and its state
//! (revoked, wipe ordered, wipe confirmed, discard authorised or used), with revoke, wipe and
//! discard. Wiping and discarding go through a confirmation page that shows the unsent counts
//! first; every action is the API's own handler (`admin::access`, `admin::wipe`), so scope and
//! audit are the API's.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use gridpatrol_protocol::wire::UnsentCounts;
use maud::{html, Markup};

use super::extract::{PageError, PageResult, Posted, User};
use super::layout::{self, csrf};
use super::work::urlencode;
use crate::admin::access::{self, DeviceOut};
use crate::admin::wipe;
use crate::error::ApiError;
use crate::http::{ApiPath, AppState};

type Lang = super::extract::Lang;

fn unsent(l: Lang, u: &Option<UnsentCounts>) -> Markup {
    match u {
        None => html! { span.muted { (l.t("未报告", "not reported")) } },
        Some(u) => html! {
            (u.records) " " (l.t("条记录", "records")) " · " (u.photos) " " (l.t("张照片", "photos"))
            " (" (kib(u.photo_bytes)) ")"
        },
    }
}

fn kib(bytes: u64) -> String {
    format!("{:.0} KB", bytes as f64 / 1024.0)
}

fn state(l: Lang, d: &DeviceOut) -> Markup {
    let at = |label: (&'static str, &'static str), t: &Option<String>| {
        html! { @if let Some(t) = t { div { (l.t(label.0, label.1)) " " (t) } } }
    };
    html! {
        @if !d.revoked && d.discard_authorised_at.is_none() { span.ok { (l.t("正常", "active")) } }
        (at(("已吊销", "revoked"), &d.revoked_at))
        (at(("已下令清除", "wipe ordered"), &d.wipe_ordered_at))
        (at(("已确认清除", "wipe confirmed"), &d.wipe_confirmed_at))
        (at(("已允许丢弃未发送", "discard authorised"), &d.discard_authorised_at))
        (at(("已丢弃并报告", "discard reported"), &d.discard_used_at))
    }
}

pub async fn devices(State(s): State<AppState>, user: User) -> PageResult {
    let l = user.lang;
    let list = access::list_devices(State(s), user.bearer()).await.map_err(|e| PageError::new(e, l))?.0;
    let body = html! {
        table #devices {
            thead { tr {
                th { (l.t("设备", "Device")) } th { (l.t("网格员", "Worker")) } th { (l.t("版本", "App")) }
                th { (l.t("注册时间", "Enrolled")) } th { (l.t("最近联系", "Last contact")) }
                th { (l.t("最近联系时未发送", "Unsent at last contact")) } th { (l.t("状态", "State")) }
                th { (l.t("操作", "Actions")) }
            } }
            tbody { @for d in &list { tr {
                td { code { (d.device_id) } } td { (d.worker_id) } td { (d.app_version) } td { (d.enrolled_at) }
                td { (d.last_contact_at.clone().unwrap_or_default()) }
                td { (unsent(l, &d.unsent_at_last_contact)) }
                td { (state(l, d)) }
                td {
                    @if !d.revoked {
                        form.inline method="post" action={ "/devices/" (urlencode(&d.device_id)) "/revoke" } {
                            (csrf(&user)) button type="submit" { (l.t("吊销", "Revoke")) } }
                        " " a href={ "/devices/" (urlencode(&d.device_id)) "/discard" } { (l.t("允许丢弃未发送…", "Authorise discard…")) }
                    }
                    @if d.wipe_ordered_at.is_none() {
                        " " a href={ "/devices/" (urlencode(&d.device_id)) "/wipe" } { (l.t("清除本机…", "Wipe…")) }
                    }
                }
            } } }
        }
    };
    Ok(layout::page(&user, l.t("设备", "Devices"), body).into_response())
}

pub async fn revoke_device(State(s): State<AppState>, Path(id): Path<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let _ = access::revoke_device(State(s), p.user.bearer(), ApiPath(id)).await.map_err(|e| PageError::new(e, l))?;
    Ok(Redirect::to("/devices").into_response())
}

/// The device as this operator may see it (404 outside their scope, as the API's list).
async fn one(s: AppState, user: &User, id: &str) -> Result<DeviceOut, PageError> {
    let l = user.lang;
    let list = access::list_devices(State(s), user.bearer()).await.map_err(|e| PageError::new(e, l))?.0;
    list.into_iter().find(|d| d.device_id == id).ok_or_else(|| PageError::new(ApiError::not_found("device"), l))
}

/// A confirmation page: the device, what it said was unsent at its last contact, what the
/// action does, and the one button that does it.
fn confirm_page(user: &User, d: &DeviceOut, action: &str, warning: Markup, button: &str) -> Markup {
    let l = user.lang;
    html! {
        dl {
            dt { (l.t("设备", "Device")) } dd { code { (d.device_id) } }
            dt { (l.t("网格员", "Worker")) } dd { (d.worker_id) }
            dt { (l.t("最近联系", "Last contact")) } dd { (d.last_contact_at.clone().unwrap_or_else(|| l.t("从未", "never").into())) }
            dt { (l.t("最近联系时未发送", "Unsent at last contact")) } dd #unsent { (unsent(l, &d.unsent_at_last_contact)) }
        }
        p.warning { (warning) }
        form method="post" action={ "/devices/" (urlencode(&d.device_id)) "/" (action) } {
            (csrf(user)) button type="submit" { (button) }
        }
        p { a href="/devices" { (l.t("取消", "Cancel")) } }
    }
}

pub async fn wipe_confirm(State(s): State<AppState>, Path(id): Path<String>, user: User) -> PageResult {
    let l = user.lang;
    let d = one(s, &user, &id).await?;
    let warning = html! { (l.t(
    "本机将被吊销，并在下次联网时清除全部数据（记录、照片、居民信息）。上面是它最近一次联系时尚未发送的内容，此后记录的也将一并清除，无法恢复。",
    "The phone is revoked and erases everything (records, photos, residents' details) at its next contact. Above is what was unsent at its last contact; anything recorded since goes too, for good.")) };
    let page = confirm_page(&user, &d, "wipe", warning, l.t("确认吊销并清除", "Revoke and wipe"));
    Ok(layout::page(&user, l.t("清除设备", "Wipe a device"), page).into_response())
}

pub async fn wipe(State(s): State<AppState>, Path(id): Path<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let _ = wipe::order_wipe(State(s), p.user.bearer(), ApiPath(id)).await.map_err(|e| PageError::new(e, l))?;
    Ok(Redirect::to("/devices").into_response())
}

pub async fn discard_confirm(State(s): State<AppState>, Path(id): Path<String>, user: User) -> PageResult {
    let l = user.lang;
    let d = one(s, &user, &id).await?;
    let warning = html! { (l.t(
    "交还的手机换给其他网格员使用时，将丢弃上面这些尚未发送的工作（仅一次），手机会报告实际丢弃的数量。",
    "When this handed-back phone is switched to another worker, the unsent work above is discarded (once); the phone reports what it discarded.")) };
    let page = confirm_page(&user, &d, "discard", warning, l.t("确认允许丢弃", "Authorise discarding"));
    Ok(layout::page(&user, l.t("允许丢弃未发送", "Authorise discarding unsent work"), page).into_response())
}

pub async fn discard(State(s): State<AppState>, Path(id): Path<String>, p: Posted) -> PageResult {
    let l = p.user.lang;
    let _ = wipe::authorise_discard(State(s), p.user.bearer(), ApiPath(id)).await.map_err(|e| PageError::new(e, l))?;
    Ok(Redirect::to("/devices").into_response())
}
