//! The task inbox and the task page: unit, location, caller (masked), history, and the steps
//! the task's status and this worker's role allow.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use super::home::{task_due, TaskDue};
use super::{t, Action, ActionOption};
use crate::clock::to_time;
use crate::domain::*;
use crate::records::Task;
use crate::roles;
use crate::rows::{load_task, task_from_row};
use crate::store::Store;
use crate::{CoreError, Result};
use gridpatrol_protocol::rules;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskInbox {
    /// Open tasks by deadline, then (when asked for) closed ones. Weekly-list items apart.
    pub tasks: Vec<TaskDue>,
    /// 民情清单 items this worker owns.
    pub list_items: Vec<TaskDue>,
    pub open: u32,
    pub overdue: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskDetail {
    pub id: String,
    pub title: String,
    pub description: String,
    pub source: TaskSource,
    pub source_label: String,
    pub status: TaskStatus,
    pub status_label: String,
    pub deadline: DateTime<Utc>,
    pub overdue: bool,
    /// The unit the task is routed to, by name (or the target unit text).
    pub unit: String,
    pub location: Option<GeoPoint>,
    /// Masked ("138****5678"): a phone never holds the caller's full number.
    pub caller: Option<String>,
    pub category_label: Option<String>,
    pub case_id: Option<String>,
    pub result: Option<String>,
    pub events: Vec<TaskEventRow>,
    /// The steps open to this worker now, each saying what it needs.
    pub steps: Vec<TaskStepOption>,
    pub actions: Vec<ActionOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskEventRow {
    pub action_label: String,
    pub to_label: String,
    pub at: DateTime<Utc>,
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskStepOption {
    pub action: TaskAction,
    pub label: String,
    /// `TaskActionInput.result` must be given (the result, or the reason for sending back).
    pub needs_result: bool,
    /// `TaskActionInput.location` must be given (arriving).
    pub needs_location: bool,
    /// Photos may go with it (completing).
    pub takes_photos: bool,
}

fn is_open(t: &Task) -> bool {
    !matches!(t.status, TaskStatus::Done | TaskStatus::Cancelled | TaskStatus::SentBack)
}

impl Store {
    /// The task inbox: tasks and weekly-list items assigned to this worker.
    pub fn task_inbox(&self, include_closed: bool) -> Result<TaskInbox> {
        let lang = self.language();
        let now_ms = self.now_ms();
        let all = self.tasks()?;
        let mut inbox = TaskInbox { tasks: Vec::new(), list_items: Vec::new(), open: 0, overdue: 0 };
        for task in all {
            let open = is_open(&task);
            if !open && !include_closed {
                continue;
            }
            let due = task_due(task, now_ms, lang);
            inbox.open += u32::from(open);
            inbox.overdue += u32::from(due.overdue);
            if due.source == TaskSource::WeeklyMeeting {
                inbox.list_items.push(due);
            } else {
                inbox.tasks.push(due);
            }
        }
        Ok(inbox)
    }

    /// All tasks assigned to this worker, open ones first.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        let worker_id = self.device().worker_id.clone();
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result,
                        details
                 FROM task WHERE assignee_id = ?1 ORDER BY status IN ('done', 'cancelled', 'sent_back'), deadline_ms",
            )?;
            let rows = stmt.query_map([worker_id], task_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One task of this worker's.
    pub fn task_detail(&self, task_id: &str) -> Result<TaskDetail> {
        let lang = self.language();
        let now_ms = self.now_ms();
        let refdata = self.refdata();
        let worker_id = self.device().worker_id;
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let task = load_task(&tx, task_id)?
                .filter(|t| t.assignee_id == worker_id)
                .ok_or_else(|| CoreError::not_found("task", task_id))?;
            let mut events = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT action, to_status, at_ms, result FROM task_event WHERE task_id = ?1 ORDER BY at_ms",
            )?;
            let rows = stmt.query_map(params![task_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            for row in rows {
                let (action, to, at, result) = row?;
                events.push(TaskEventRow {
                    action_label: TaskAction::from_code(&action).map(|a| a.label_in(lang)).unwrap_or(action),
                    to_label: TaskStatus::from_code(&to).map(|s| s.label_in(lang)).unwrap_or(to),
                    at: to_time(at),
                    result,
                });
            }
            drop(stmt);
            let may = roles::may_take_task_step(Actor::from(refdata.worker_role));
            let steps: Vec<TaskStepOption> = TaskAction::ALL
                .iter()
                .filter(|a| may && rules::task_transition(task.status, **a).is_some())
                .map(|a| TaskStepOption {
                    action: *a,
                    label: a.label_in(lang),
                    needs_result: matches!(a, TaskAction::Complete | TaskAction::SendBack),
                    needs_location: *a == TaskAction::Arrive,
                    takes_photos: *a == TaskAction::Complete,
                })
                .collect();
            let actions = steps
                .iter()
                .map(|s| {
                    let mut o = ActionOption::new(
                        Action::TaskStep { task_id: task.id.clone(), action: s.action },
                        s.label.clone(),
                    );
                    if s.action == TaskAction::SendBack {
                        o.confirm = Some(t(lang, "确定退回这项任务？", "Send this task back?"));
                    }
                    o
                })
                .collect();
            let d = task.details.masked();
            Ok(TaskDetail {
                overdue: is_open(&task) && task.deadline.timestamp_millis() < now_ms,
                source_label: task.source.label_in(lang),
                status_label: task.status.label_in(lang),
                unit: d.unit_name.clone().unwrap_or_else(|| task.target_unit.clone()),
                location: d.location,
                caller: d.caller,
                category_label: d.category.map(|c| c.label_in(lang)),
                case_id: d.case_id,
                id: task.id,
                title: task.title,
                description: task.description,
                source: task.source,
                status: task.status,
                deadline: task.deadline,
                result: task.result,
                events,
                steps,
                actions,
            })
        })
    }
}
