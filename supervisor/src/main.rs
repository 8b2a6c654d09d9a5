//! The `stem` binary: parse the command line, set up logging, run the command.

use clap::Parser;

fn main() {
    let cli = stem::cli::Cli::parse();
    if !cli.command.serves() {
        stem::exec::unix::default_sigpipe();
    }
    stem::logging::init_with(cli.log_format);
    if let Err(e) = stem::cli::Command::check_knobs() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    // A worker runs on one thread: every per-task hop (fetch, dispatch, child I/O, commit) is a
    // poll on the same thread instead of a cross-thread wake-up (futex) and a context switch,
    // which the profile showed cost as much as the rest of the supervisor together. Its CPU
    // work per task is small; the children and the broker have the other cores. The HTTP
    // server and the other commands keep the multi-threaded scheduler.
    let mut builder = if cli.command.single_threaded() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(stem::cli::run(cli));
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    std::process::exit(code);
}
