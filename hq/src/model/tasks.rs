//! Tasks at HQ, as phones and the street office read them.

use gridpatrol_protocol::domain::{TaskSource, TaskStatus};
use gridpatrol_protocol::records::Task;

use crate::db::Tx;
use crate::error::{ApiError, Result};
use crate::{p, to_time};

pub fn load_task(tx: &mut dyn Tx, id: &str) -> Result<Task> {
    let r = tx.query_one(
        "SELECT id, source, title, description, target_unit, assignee_id, grid_id, deadline_ms, status, result
             FROM task WHERE id = ?",
        p![id],
    )?;
    Ok(Task {
        id: r.text(0)?,
        source: TaskSource::from_code(&r.text(1)?).ok_or_else(|| ApiError::internal("task source"))?,
        title: r.text(2)?,
        description: r.text(3)?,
        target_unit: r.text(4)?,
        assignee_id: r.text(5)?,
        grid_id: r.opt_text(6)?,
        deadline: to_time(r.i64(7)?),
        status: TaskStatus::from_code(&r.text(8)?).ok_or_else(|| ApiError::internal("task status"))?,
        result: r.opt_text(9)?,
    })
}
