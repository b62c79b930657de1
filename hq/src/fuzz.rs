//! Entry points for the fuzz targets (`fuzz/`): HQ's readers of what phones send, callable
//! without a server. Not an API: hidden from the docs and used by `fuzz/` only.

use gridpatrol_protocol::records::Command;

/// Read a push body as `POST /v1/push` does. Any input may be refused; none may panic, and
/// every command HQ reads writes back to the same command (what HQ stores is what it read).
pub fn push_body(body: &[u8]) {
    let Ok((_push, commands)) = crate::phone::push_body::read(body) else { return };
    for command in commands.into_iter().flatten() {
        let json = serde_json::to_vec(&command).expect("a command HQ read serialises");
        let again: Command = serde_json::from_slice(&json).expect("a serialised command reads back");
        assert_eq!(again, command, "a command changed on its way through HQ's reader");
    }
}
