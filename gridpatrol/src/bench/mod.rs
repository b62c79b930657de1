//! Benchmarks, printed side by side with the baseline each issue names, measured in the
//! same run. Build with `--release`.

mod raw_upload;
mod record;

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// Recording latency and throughput vs raw SQLite inserts; open and today over 100k records.
    Record {
        /// Recording calls to time (and raw inserts to compare with).
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        /// Records in the store used for open_ms and today_ms.
        #[arg(long, default_value_t = 100_000)]
        big: usize,
        /// Folder for the benchmark's databases (default: a temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub fn run(args: BenchArgs) -> i32 {
    let result = match args.which {
        Which::Record { n, big, dir } => record::run(n, big, dir),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench failed: {e}");
            1
        }
    }
}
