//! The endpoints phones call: enrol, push, pull, attachments. All speak `protocol::wire`.

pub mod apply;
pub mod attachments;
pub mod enrol;
pub mod pull;
pub mod push;
pub mod push_body;
mod visits;
pub mod wipe;
