//! HQ over real HTTP on loopback, every test on SQLite and on PostgreSQL.

// `ApiError` is returned by value on HQ's error paths (see the library's note).
#![allow(clippy::result_large_err)]

mod common;

mod attachments;
mod audit;
mod authz;
mod bad_input;
mod bootstrap;
mod cases;
mod checkins;
mod clocks;
mod console;
mod console_devices;
mod console_pages;
mod console_people;
mod enrol;
mod export;
mod figure_rollups;
mod figures;
mod import;
mod meetings;
mod multi_instance;
mod openapi;
mod ops;
mod pull;
mod push;
mod rate_limit;
mod teams;
mod units;
