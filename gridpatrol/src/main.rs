//! `gridpatrol`: the one user-facing binary. `device …` drives the core on a store folder
//! (a terminal shell over the same API the phones use); `bench …` runs the benchmarks.

use clap::{Parser, Subcommand};

mod bench;
mod device;

#[derive(Parser)]
#[command(name = "gridpatrol", version, about = "GridPatrol: offline-first 3456 field work for community grid workers (网格员)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record field work on a phone's store folder (terminal shell over the core).
    Device(device::DeviceArgs),
    /// Benchmarks (build with --release).
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Device(args) => device::run(args),
        Command::Bench(args) => bench::run(args),
    };
    std::process::exit(code);
}
