//! Tasks at HQ, as phones and the street office read them.

use gridpatrol_protocol::domain::{TaskSource, TaskStatus};
use gridpatrol_protocol::records::{Task, TaskDetails};

use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::{p, to_time};

/// A task as it leaves HQ (to phones, units and the console): the caller's number masked, the
/// unit named.
pub fn load_task(tx: &mut dyn Tx, id: &str) -> Result<Task> {
    let r = tx.query_one(
        "SELECT t.id, t.source, t.title, t.description, t.target_unit, t.assignee_id, t.grid_id, t.deadline_ms,
                t.status, t.result, t.details, t.unit_id, u.name
             FROM task t LEFT JOIN unit u ON u.id = t.unit_id WHERE t.id = ?",
        p![id],
    )?;
    let mut details: TaskDetails = match r.opt_text(10)? {
        Some(d) => serde_json::from_str(&d).map_err(ApiError::internal)?,
        None => TaskDetails::default(),
    };
    details.unit_id = r.opt_text(11)?;
    details.unit_name = r.opt_text(12)?;
    Ok(Task {
        id: r.text(0)?,
        source: TaskSource::from_code(&r.text(1)?).ok_or_else(|| ApiError::internal("task source"))?,
        title: r.text(2)?,
        description: r.text(3)?,
        target_unit: r.text(4)?,
        // A unit's task without a grid worker has none (it never goes to a phone).
        assignee_id: r.opt_text(5)?.unwrap_or_default(),
        grid_id: r.opt_text(6)?,
        deadline: to_time(r.i64(7)?),
        status: TaskStatus::from_code(&r.text(8)?).ok_or_else(|| ApiError::internal("task status"))?,
        result: r.opt_text(9)?,
        details: details.masked(),
    })
}
