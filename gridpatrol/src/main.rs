//! `gridpatrol`: the one user-facing binary. `device …` drives the core on a store folder
//! (a terminal shell over the same API the phones use); `bench …` runs the benchmarks.

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod device;
mod hq_cmd;

#[derive(Parser)]
#[command(
    name = "gridpatrol",
    version,
    about = "GridPatrol: offline-first 3456 field work for community grid workers (网格员)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record field work on a phone's store folder (terminal shell over the core).
    Device(device::DeviceArgs),
    /// The main job: a street's day end to end (HQ, 13 phones, a unit, faults), checked for loss and doubles.
    Demo(demo::DemoArgs),
    /// HQ, the street office's server.
    Hq(hq_cmd::HqArgs),
    /// Benchmarks (build with --release).
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Scripts that asked for JSON get a usage mistake as JSON too (stable code, exit 2).
        Err(e) if std::env::args().any(|a| a == "--json") && e.use_stderr() => {
            let text = e.to_string();
            let msg = text.lines().filter(|l| !l.trim().is_empty()).take(4).collect::<Vec<_>>().join(" ");
            let msg = msg.trim_start_matches("error: ").to_string();
            let body = serde_json::json!({ "error": { "code": "usage", "message": msg } });
            println!("{body}");
            std::process::exit(2);
        }
        Err(e) => e.exit(),
    };
    let code = match cli.command {
        Command::Device(args) => device::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Hq(args) => hq_cmd::run(args),
        Command::Bench(args) => bench::run(args),
    };
    std::process::exit(code);
}
