//! The `stem` binary: parse the command line, set up logging, run the command.

use clap::Parser;

fn main() {
    let cli = stem::cli::Cli::parse();
    if !cli.command.serves() {
        stem::exec::unix::default_sigpipe();
    }
    stem::logging::init_with(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
