//! Benchmarks, printed side by side with the baseline each issue names, measured in the
//! same run. Build with `--release`.

mod console;
mod hq;
mod link;
mod photo;
mod raw_upload;
mod record;
mod screens;
mod sync;

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
    /// Every screen model over a store of 100,000 records: p99 per screen (target 5 ms); then
    /// the `photo:` line of `bench photo`.
    Screens {
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Renders per screen.
        #[arg(long, default_value_t = 300)]
        rounds: usize,
    },
    /// One phone's sync of N pending records to HQ vs a minimal batched HTTP upload.
    Sync {
        /// Pending record counts to time, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        n: Vec<usize>,
        /// Rounds per size (a sync, then the raw upload, each round); medians are printed.
        #[arg(long, default_value_t = 15)]
        rounds: usize,
    },
    /// A worker's day over a 2G link (50/200 kbit/s, 300 ms, 2% loss, three cuts) vs whole-file
    /// uploads (the ODK way) over the same link.
    Link {
        /// The link runs this many times faster than real; times are multiplied back.
        #[arg(long, default_value_t = 20.0)]
        scale: f64,
        #[arg(long, default_value_t = 200)]
        records: usize,
        #[arg(long, default_value_t = 10)]
        photos: usize,
        /// Each photo's size as the phone keeps it, in KB.
        #[arg(long, default_value_t = 200)]
        photo_kb: usize,
        /// The photo upload chunk (`SyncOptions::chunk_bytes`), in KB: a cut costs at most one.
        #[arg(long, default_value_t = 32)]
        chunk_kb: usize,
    },
    /// One 12 MP camera JPEG (4000x3000, made here) downscaled, re-encoded and thumbnailed at
    /// capture, as a report's photo is; then filed with a report through a store.
    Photo {
        /// Times to process the photo; the median is printed.
        #[arg(long, default_value_t = 9)]
        rounds: usize,
    },
    /// The console's pages over a street's year of records (~1,000,000), p99 per page, on SQLite
    /// and (with --pg) PostgreSQL.
    Console {
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        /// Requests per page (the p99 is taken over these).
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// A PostgreSQL URL to run the PostgreSQL leg on (a schema is made and dropped).
        #[arg(long, value_name = "URL", env = "GRIDPATROL_BENCH_PG_URL")]
        pg: Option<String>,
    },
    /// Many phones pushing at once to one HQ, on SQLite and (with --pg) PostgreSQL.
    Hq {
        #[arg(long, default_value_t = 200)]
        phones: usize,
        #[arg(long, default_value_t = 500)]
        per_phone: usize,
        /// A PostgreSQL URL to run the PostgreSQL leg on (a schema is made and dropped).
        #[arg(long, value_name = "URL", env = "GRIDPATROL_BENCH_PG_URL")]
        pg: Option<String>,
    },
}

pub fn run(args: BenchArgs) -> i32 {
    let result = match args.which {
        Which::Record { n, big, dir } => record::run(n, big, dir),
        // The screens and, as issue 12 asks beside them, one 12 MP photo's downscale.
        Which::Screens { records, rounds } => screens::run(records, rounds.max(1)).and_then(|()| photo::run(9)),
        Which::Sync { n, rounds } => in_runtime(|dir| async move { sync::run(&n, rounds, &dir).await }),
        Which::Link { scale, records, photos, photo_kb, chunk_kb } => in_runtime(|dir| async move {
            if !(1.0..=1000.0).contains(&scale) {
                return Err("--scale must be 1..1000".into());
            }
            link::run(scale, records, photos, photo_kb, chunk_kb.clamp(1, 4096), &dir).await
        }),
        Which::Photo { rounds } => photo::run(rounds),
        Which::Hq { phones, per_phone, pg } => in_runtime(|_| async move { hq::run(phones, per_phone, pg).await }),
        Which::Console { records, rounds, pg } => {
            in_runtime(|_| async move { console::run(records, rounds, pg).await })
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench failed: {e}");
            1
        }
    }
}

/// The `i`th routine visit of a benchmark's phone (w-001 of the sample street).
fn routine_visit(i: usize) -> gridpatrol_core::VisitInput {
    use gridpatrol_core::{NeedTag, VisitInput, VisitOutcome, VisitType};
    VisitInput {
        household_id: ["h-0001", "h-0002", "h-0003"][i % 3].into(),
        visit_type: VisitType::Routine,
        outcome: VisitOutcome::Met,
        needs: vec![NeedTag::Living],
        note: Some("走访正常 (all well)".into()),
        satisfaction: None,
        case_id: None,
        location: None,
        occurred_at: None,
        datum: None,
    }
}

/// Run an async benchmark on a multi-thread runtime with a temporary folder.
fn in_runtime<F, Fut>(f: F) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use --release for real figures");
    }
    let tmp = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(f(tmp.path().to_path_buf()))
}
