//! The page shell: header with the user and the language switch, the navigation this role may
//! use, and the main content. No external resource: one stylesheet and one small script, both
//! served from the binary.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::extract::{Lang, User};
use crate::auth::Role;

/// A page without the signed-in frame (sign-in, errors).
pub fn bare(l: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · GridPatrol" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body { (body) }
        }
    }
}

/// Which navigation entries a role sees (the server refuses the rest anyway).
fn nav(user: &User) -> Vec<(&'static str, &'static str)> {
    let l = user.lang;
    let mut items = Vec::new();
    let office = user.op.role != Role::Unit;
    if office {
        items.push(("/board", l.t("三零看板", "Board")));
        items.push(("/cases", l.t("案件", "Cases")));
        items.push(("/map", l.t("地图", "Map")));
    }
    items.push(("/desk", l.t("110分流", "110 desk")));
    if matches!(user.op.role, Role::StreetAdmin | Role::Community) {
        items.push(("/enrol", l.t("批量注册", "Enrolment")));
    }
    if office {
        items.push(("/people", l.t("人员", "People")));
        items.push(("/import", l.t("导入", "Import")));
        items.push(("/units", l.t("单位", "Units")));
        items.push(("/meetings", l.t("相约星期五", "Meetings")));
        items.push(("/templates", l.t("模板", "Templates")));
        items.push(("/devices", l.t("设备", "Devices")));
    }
    if user.op.role == Role::StreetAdmin {
        items.push(("/audit", l.t("审计日志", "Audit log")));
        items.push(("/users", l.t("用户", "Users")));
    }
    items
}

pub fn page(user: &User, title: &str, body: Markup) -> Markup {
    let l = user.lang;
    let (other, other_label) = match l {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    let back = serde_urlencoded::to_string([("to", other), ("back", user.path.as_str())]).unwrap_or_default();
    bare(
        l,
        title,
        html! {
            a.skip href="#main" { (l.t("跳到正文", "Skip to content")) }
            header.top {
                span.brand { "GridPatrol " (l.t("街道工作台", "street console")) }
                nav aria-label=(l.t("主导航", "Main")) {
                    ul {
                        @for (href, label) in nav(user) {
                            li { a href=(href) aria-current=[(user.path.starts_with(href)).then_some("page")] { (label) } }
                        }
                    }
                }
                div.who {
                    span { (user.name) " (" (user.username) ")" }
                    a href="/password" { (l.t("修改密码", "Password")) }
                    a href={ "/lang?" (back) } lang=(if other == "en" { "en" } else { "zh-CN" }) { (other_label) }
                    form.inline method="post" action="/logout" {
                        (csrf(user))
                        button type="submit" { (l.t("退出", "Sign out")) }
                    }
                }
            }
            main #main { h1 { (title) } (body) }
        },
    )
}

/// The hidden CSRF field every POST form carries.
pub fn csrf(user: &User) -> Markup {
    html! { input type="hidden" name="_csrf" value=(user.csrf()); }
}

/// A rate as a percentage, or a dash when there is nothing to count.
pub fn pct(rate: Option<f64>) -> Markup {
    match rate {
        Some(r) => html! { (format!("{:.1}%", r * 100.0)) },
        None => PreEscaped("–".to_string()),
    }
}
