#[derive(clap::Args)]
pub struct DeviceArgs {}

pub fn run(_args: DeviceArgs) -> i32 {
    1
}
