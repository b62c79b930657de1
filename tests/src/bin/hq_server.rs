//! Fault-injection helper: HQ in its own process, so a test can SIGKILL it mid-push and start
//! it again on the same database and port. Usage: `hq-server <listen-addr> <data-dir|postgres-url>`
//! (the admin token comes from GRIDPATROL_ADMIN_TOKEN).

fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().expect("listen address").parse().expect("socket address");
    let database = gridpatrol_hq::DatabaseUrl::parse(&args.next().expect("database"));
    let mut config = gridpatrol_hq::HqConfig::new(listen, database);
    config.rate_limit_per_device = (100_000, 100_000.0);
    config.rate_limit_per_operator = (100_000, 100_000.0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(gridpatrol_hq::serve(config, std::future::pending())).expect("HQ runs");
}
