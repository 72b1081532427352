use clap::Parser;

fn main() {
    let cli = snag::cli::Cli::parse();
    let code = match snag::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("snag: error: {err:#}");
            2
        }
    };
    std::process::exit(code);
}
