//! The change log phones pull from. Positions come from a counter row updated inside the
//! writing transaction: the row lock is held until commit, so positions become visible in
//! commit order and a pull that has seen position n has seen every position below it (no
//! transaction still in flight can later appear behind a phone's cursor). Changes are
//! buffered and written at the end of the transaction to hold that lock briefly.

use crate::db::Tx;
use crate::error::Result;
use crate::p;

pub const TASK: &str = "task";
pub const CASE: &str = "case";

#[derive(Default)]
pub struct Changes {
    rows: Vec<(&'static str, String, Option<String>, Option<String>)>,
}

impl Changes {
    /// A task changed: the worker it is (or was) assigned to pulls it.
    pub fn task(&mut self, task_id: &str, worker_id: &str) {
        self.rows.push((TASK, task_id.to_string(), Some(worker_id.to_string()), None));
    }

    /// A case changed: every worker of its grid pulls it.
    pub fn case(&mut self, case_id: &str, grid_id: &str) {
        self.rows.push((CASE, case_id.to_string(), None, Some(grid_id.to_string())));
    }

    /// Write the buffered changes at consecutive positions. Call last in the transaction.
    pub fn flush(self, tx: &mut dyn Tx, now_ms: i64) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len() as i64;
        let last = tx.query_i64("UPDATE counter SET value = value + ? WHERE name = 'change' RETURNING value", p![n])?;
        let first = last - n + 1;
        for (i, (kind, entity, worker, grid)) in self.rows.into_iter().enumerate() {
            tx.exec(
                "INSERT INTO change_log (pos, kind, entity_id, worker_id, grid_id, at_ms) VALUES (?, ?, ?, ?, ?, ?)",
                p![first + i as i64, kind, entity, worker, grid, now_ms],
            )?;
        }
        Ok(())
    }
}
