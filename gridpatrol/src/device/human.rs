//! Human-readable rendering of what the core returns. Labels come from the core ("中文
//! (English)"); this file only lays them out. Times are shown in the worker's local time.

use chrono::{DateTime, FixedOffset, Utc};
use gridpatrol_core::domain::ClearItem;
use gridpatrol_core::screens::{CaseTimeline, PendingUploads, TodayView};
use gridpatrol_core::*;

/// `writeln!` into a String cannot fail; this keeps the renderers free of ignored Results.
macro_rules! put {
    ($s:expr) => {
        $s.push('\n')
    };
    ($s:expr, $($arg:tt)*) => {{
        $s.push_str(&format!($($arg)*));
        $s.push('\n');
    }};
}

/// The worker's local offset: the same default the core uses for "today".
fn local(t: &DateTime<Utc>) -> String {
    let minutes = StoreOptions::default().tz_offset_minutes;
    match FixedOffset::east_opt(minutes * 60) {
        // RFC 3339 with the offset, as everywhere else: unambiguous on any machine's clock.
        Some(tz) => t.with_timezone(&tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        None => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn tick(done: bool) -> &'static str {
    if done {
        "✓"
    } else {
        "✗"
    }
}

/// `error [<code>]: <message>`, plus a hint where the fix is a CLI flag.
pub fn error(e: &CoreError) -> String {
    let mut s = format!("error [{}]: {e}\n", e.code());
    if let CoreError::ClearItemsMissing { missing } = e {
        let flags: Vec<&str> = missing
            .iter()
            .map(|m| match m {
                ClearItem::Facts => "--facts",
                ClearItem::Responsibility => "--responsible",
                ClearItem::Deadline => "--deadline",
                ClearItem::Outcome => "--outcome with --photo",
                ClearItem::Feedback => "--feedback or --satisfaction",
                ClearItem::Ledger => "--ledger",
            })
            .collect();
        put!(s, "hint: give {} on this or an earlier step", flags.join(", "));
    }
    s
}

/// A phone HQ ordered wiped: what happened, in plain words, Chinese first.
pub fn wiped(w: &gridpatrol_core::wipe::WipeStatus) -> String {
    let mut s = String::new();
    put!(s, "本机已按街道指令清除全部数据 (this phone was wiped on the street office's order)");
    put!(s, "  状态 (state): {}", w.stage.label());
    put!(
        s,
        "  清除的未发送记录 (unsent work erased): {} 条记录 (records), {} 张照片 (photos), {} 字节 (bytes)",
        w.erased_records,
        w.erased_photos,
        w.erased_photo_bytes
    );
    if let Some(ms) = w.confirmed_ms {
        if let Some(t) = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms) {
            put!(s, "  指挥中心确认时间 (HQ confirmed at): {}", local(&t));
        }
    }
    put!(s, "  如需继续使用本机，请重新安装应用 (to use this phone again, reinstall the app)");
    s
}

pub fn device_info(d: &DeviceInfo) -> String {
    let mut s = String::new();
    put!(s, "设备已初始化 (device initialised)");
    put!(s, "  设备 (device):  {}", d.device_id);
    put!(s, "  纪元 (epoch):   {}", d.epoch);
    put!(s, "  网格员 (worker): {}", d.worker_id);
    s
}

pub fn patrol_started(p: &Patrol) -> String {
    let mut s = String::new();
    put!(s, "巡查已开始 (patrol started): {}", p.id);
    put!(s, "  网格 (grid): {}  {}", p.grid_id, p.shift.label());
    put!(s, "  清单 (checklist): {} v{}", p.template_id, p.template_version);
    put!(s, "  开始 (started): {}", local(&p.started_at));
    s
}

pub fn track(patrol_id: &str, points: u32) -> String {
    format!("轨迹点已记录 (track point recorded): 巡查 (patrol) {patrol_id} 共 {points} 个点 ({points} points)\n")
}

/// Checklist items are named by the template's labels where it knows them.
pub fn checkpoint(c: &Checkpoint, template: &Template) -> String {
    let mut s = String::new();
    put!(s, "打卡已记录 (check-in recorded): {}", c.id);
    if c.inside_grid {
        put!(s, "  ✓ 在网格内 (inside the grid)");
    } else {
        put!(s, "  ⚠ 不在网格内 (outside the grid) — recorded");
    }
    let accuracy = c.accuracy_m.map(|a| format!(" ±{a} m")).unwrap_or_default();
    put!(s, "  位置 (location): {}, {}{accuracy}", c.location.lat, c.location.lng);
    if let Some(p) = &c.place_name {
        put!(s, "  地点 (place): {p}");
    }
    if !c.answers.is_empty() {
        put!(s, "  清单 (checklist):");
        for a in &c.answers {
            let note = a.note.as_deref().map(|n| format!(" — {n}")).unwrap_or_default();
            let item = template.checklist_item(&a.item_id).map(|i| i.label()).unwrap_or_else(|| a.item_id.clone());
            put!(s, "    {item}: {}{note}", a.answer.label());
        }
    }
    s
}

pub fn patrol_finished(p: &Patrol) -> String {
    let mut s = String::new();
    put!(s, "巡查已结束 (patrol finished): {}", p.id);
    if let Some(o) = p.outcome {
        put!(s, "  结果 (outcome): {}", o.label());
    }
    if let Some(n) = &p.note {
        put!(s, "  备注 (note): {n}");
    }
    s
}

pub fn visit(v: &Visit) -> String {
    let mut s = String::new();
    put!(s, "走访已记录 (visit recorded): {}", v.id);
    put!(s, "  住户 (household): {}  {}, {}", v.household_id, v.visit_type.label(), v.outcome.label());
    if !v.needs.is_empty() {
        let needs: Vec<String> = v.needs.iter().map(|n| n.label()).collect();
        put!(s, "  需求 (needs): {}", needs.join(", "));
    }
    if let Some(sat) = v.satisfaction {
        put!(s, "  满意度 (satisfaction): {sat}/5");
    }
    if let Some(c) = &v.case_id {
        put!(s, "  案件 (case): {c}");
    }
    s
}

pub fn report(r: &Report) -> String {
    let mut s = String::new();
    put!(s, "已上报 (report filed): {}", r.id);
    put!(s, "  案件 (case opened): {} — {}", r.case_id, CaseState::Reported.label());
    put!(s, "  类别 (category): {}  {}", r.category.label(), r.urgency.label());
    put!(s, "  来源 (source): {}", r.source.label());
    if let Some(p) = &r.place_name {
        put!(s, "  地点 (place): {p}");
    }
    if !r.photos.is_empty() {
        put!(s, "  照片 (photos): {}", r.photos.len());
    }
    s
}

fn clear_line(t: &CaseTimeline) -> String {
    let items: Vec<String> = t.clear.iter().map(|c| format!("{}{}", tick(c.done), c.item.zh())).collect();
    items.join("  ")
}

fn next_steps(s: &mut String, t: &CaseTimeline) {
    if t.next_steps.is_empty() {
        put!(s, "下一步 (next steps): 无 (none)");
        return;
    }
    let steps: Vec<String> = t.next_steps.iter().map(|n| format!("{} = {}", n.to.code(), n.label)).collect();
    put!(s, "下一步 (next steps, --to): {}", steps.join("; "));
}

pub fn case_event(e: &CaseEvent, timeline: Option<&CaseTimeline>) -> String {
    let mut s = String::new();
    let from = e.from.map(|f| f.label()).unwrap_or_default();
    put!(s, "案件 (case) {}: {from} → {} (第 {} 步, step {})", e.case_id, e.to.label(), e.n, e.n);
    if !e.photos.is_empty() {
        put!(s, "  照片 (photos): {}", e.photos.len());
    }
    if let Some(t) = timeline {
        put!(s, "  六清 (six clear): {}", clear_line(t));
        if let Some(d) = &t.deadline {
            put!(s, "  时限 (deadline): {}", local(d));
        }
        next_steps(&mut s, t);
    }
    s
}

pub fn case_timeline(t: &CaseTimeline) -> String {
    let mut s = String::new();
    put!(s, "案件 (case) {} — {}", t.case_id, t.category_label);
    put!(s, "  {}", t.description);
    if let Some(p) = &t.place_name {
        put!(s, "  地点 (place): {p}");
    }
    put!(s, "  状态 (state): {}", t.state_label);
    match &t.deadline {
        Some(d) if t.overdue => put!(s, "  时限 (deadline): {}  ⚠ 已逾期 (overdue)", local(d)),
        Some(d) => put!(s, "  时限 (deadline): {}", local(d)),
        None => put!(s, "  时限 (deadline): 未定 (not set)"),
    }
    put!(s, "问题六清 (six clear items):");
    for c in &t.clear {
        put!(s, "  {} {}", tick(c.done), c.label);
    }
    put!(s, "经过 (events):");
    for e in &t.events {
        let step = match &e.from_label {
            Some(f) => format!("{f} → {}", e.to_label),
            None => e.to_label.clone(),
        };
        let note = e.note.as_deref().map(|n| format!(" — {n}")).unwrap_or_default();
        let photos =
            if e.photos.is_empty() { String::new() } else { format!(" [{} 张照片 (photos)]", e.photos.len()) };
        put!(s, "  {}. {}  {step}  ({}){note}{photos}", e.n, local(&e.at), e.actor_id);
    }
    next_steps(&mut s, t);
    s
}

pub fn tasks(tasks: &[Task]) -> String {
    let mut s = String::new();
    put!(s, "任务 (tasks): {}", tasks.len());
    for t in tasks {
        put!(s, "  {}  {}  截止 (deadline) {}", t.id, t.status.label(), local(&t.deadline));
        put!(s, "    {} — {} → {}", t.title, t.source.label(), t.target_unit);
    }
    s
}

pub fn task_done(t: &Task, action: TaskAction) -> String {
    let mut s = String::new();
    put!(s, "任务 (task) {}: {} → {}", t.id, action.label(), t.status.label());
    put!(s, "  {}", t.title);
    if let Some(r) = &t.result {
        put!(s, "  结果 (result): {r}");
    }
    s
}

pub fn today(v: &TodayView) -> String {
    let mut s = String::new();
    put!(s, "今日 (today) {} — {}, {}", v.date, v.worker_name, v.worker_role);
    for g in &v.grids {
        put!(
            s,
            "网格 (grid) {} {} — {}  {}  {}",
            g.id,
            g.name,
            g.community_name,
            g.day_patrol_label,
            g.night_patrol_label
        );
    }
    put!(s);
    put!(s, "任务 (tasks due today or overdue): {}", v.tasks.len());
    for t in &v.tasks {
        let flag = if t.overdue { "⚠ 逾期 (overdue) " } else { "" };
        put!(s, "  {flag}{} {}  截止 (deadline) {}  {}", t.id, t.title, local(&t.deadline), t.status_label);
        put!(s, "    {} → {}", t.source_label, t.target_unit);
    }
    match &v.patrol {
        None => put!(s, "巡查 (patrol): 无进行中 (none in progress)"),
        Some(p) => {
            put!(s, "巡查进行中 (patrol in progress): {}", p.patrol_id);
            put!(s, "  {}  {}  开始 (started) {}", p.grid_name, p.shift_label, local(&p.started_at));
            let outside = if p.outside_grid_checkins > 0 {
                format!("  ⚠ {} 次不在网格内 ({} outside the grid)", p.outside_grid_checkins, p.outside_grid_checkins)
            } else {
                String::new()
            };
            let weak = if p.weak_checkins > 0 {
                format!("  ⚠ {} 次定位不可信 ({} weak or mock fixes, not counted)", p.weak_checkins, p.weak_checkins)
            } else {
                String::new()
            };
            put!(s, "  打卡 (check-ins): {}/{}{outside}{weak}", p.checkins, p.min_checkins);
            put!(
                s,
                "  清单 (checklist): {}/{}  上报 (reports): {}",
                p.checklist_answered,
                p.checklist_total,
                p.reports_filed
            );
            let parts: Vec<String> =
                p.parts.iter().map(|x| format!("{} {} — {}", tick(x.done), x.label, x.why)).collect();
            put!(s, "  三到 (three parts): {}", parts.join("  "));
        }
    }
    put!(s, "重点必访 (must-visit due): {}", v.must_visit.len());
    for h in &v.must_visit {
        let last = match h.days_since_visit {
            Some(d) => format!("{d} 天前 ({d} days ago)"),
            None => "从未走访 (never visited)".to_string(),
        };
        let phone = h.phone.as_deref().unwrap_or("-");
        put!(s, "  {} {} {}  {}  {phone}  {}", h.household_id, h.label, h.name, h.care_tags.join(", "), last);
    }
    put!(s, "未结案件 (open cases): {}", v.open_cases.len());
    for c in &v.open_cases {
        let flag = if c.overdue { "⚠ 逾期 (overdue) " } else { "" };
        put!(s, "  {flag}{} {} {}  {}", c.case_id, c.category_label, c.state_label, c.summary);
    }
    put!(s, "未发送 (unsent): {}", v.unsent.message);
    put!(s, "同步 (sync): {}", v.last_sync.message);
    if let Some(notice) = &v.last_sync.notice {
        put!(s, "注意 (notice): {notice}");
    }
    s
}

pub fn outbox(entries: &[OutboxEntry]) -> String {
    let mut s = String::new();
    put!(s, "发件箱 (outbox): {} 条 (rows)", entries.len());
    for e in entries {
        put!(s, "  {:>5}  {}  {:<16}  {}  {}", e.seq, local(&e.recorded_at), e.op, e.state, e.entity_id);
    }
    s
}

pub fn pending(p: &PendingUploads) -> String {
    let mut s = String::new();
    put!(
        s,
        "未发送 (not yet at HQ): {} 条记录 (records), {} 张照片 (photos), {} 条被退回 (rejected)",
        p.unsent_records,
        p.unsent_photos,
        p.rejected
    );
    for i in &p.items {
        let seq = i.seq.map(|n| format!("#{n}")).unwrap_or_else(|| "-".into());
        let reason = i.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
        put!(s, "  {seq:>6}  {}  {}  {}  {}{reason}", local(&i.recorded_at), i.state_label, i.label, i.entity_id);
    }
    s
}

pub fn sync_report(r: &sync::SyncReport) -> String {
    let mut s = String::new();
    put!(s, "同步完成 (sync finished)");
    put!(
        s,
        "  发送 (sent): {}  已接收 (applied): {}  重复 (duplicates): {}  退回 (rejected): {}  冲突 (conflicts): {}",
        r.pushed,
        r.applied,
        r.duplicates,
        r.rejected,
        r.conflicts
    );
    put!(s, "  照片 (photos uploaded): {}", r.photos_uploaded);
    put!(s, "  收到 (received): {} 任务 (tasks), {} 案件 (cases)", r.tasks_received, r.cases_received);
    put!(s, "  未发送 (still unsent): {}", r.unsent_after);
    put!(
        s,
        "  网络 (network): {} 请求 (requests), {} B 发 (sent), {} B 收 (received)",
        r.requests,
        r.bytes_sent,
        r.bytes_received
    );
    s
}
