//! The entry point of the fuzz target `phone_pull_page` (`fuzz/`): one pull page, as HQ would
//! send it, read and applied the way a sync applies it. Not an API: hidden from the docs.

use gridpatrol_protocol::wire::PullResponse;

use super::apply;
use crate::screens::CaseFilter;
use crate::{Result, Store};

impl Store {
    /// Read `body` as a pull page and apply it like a sync does, then render the screens that
    /// show pulled data. Any page may be refused with an error; none may panic or leave the
    /// store unreadable.
    #[doc(hidden)]
    pub fn fuzz_pull_page(&self, body: &[u8]) -> Result<()> {
        let page: PullResponse = serde_json::from_slice(body)?;
        let worker = self.device().worker_id;
        let acked: i64 =
            self.read(|c| Ok(c.query_row("SELECT acked_through_seq FROM sync_state WHERE id = 1", [], |r| r.get(0))?))?;
        let applied = self.write_tx(|tx| apply::pull_page(tx, &worker, acked, &page, self.now_ms()));
        if page.reference.is_some() {
            self.reload_refdata()?;
        }
        self.today()?;
        self.case_inbox(&CaseFilter::default())?;
        self.task_inbox(true)?;
        applied
    }
}
