//! Benchmarks. Placeholder until `bench record` lands.

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> i32 {
    eprintln!("not yet");
    1
}
