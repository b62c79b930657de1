//! HQ's records as its database holds them, read and changed by phone and street-office
//! handlers alike (neither kind of handler imports the other).

pub mod audit;
pub mod cases;
pub mod photos;
pub mod tasks;
pub mod wipe;
