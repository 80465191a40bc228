//! Switchboard's developer tasks: `cargo xtask <task>`.
//!
//! The README's two commands are `cargo xtask run` and `cargo xtask test`; each runs
//! `setup` first, so a fresh Debian 12 machine needs nothing else. Tasks shell out to the
//! real tools (apt-get, rustup, cargo, wasm-bindgen, Xvfb, tauri-driver) and print every
//! command they run. No business logic lives here.

mod build;
mod cmd;
mod display;
mod setup;
mod toolchain;

use std::process::ExitCode;

use anyhow::{bail, Result};

const USAGE: &str = "\
Switchboard developer tasks

usage: cargo xtask <task> [options]

tasks:
  setup [--wasm-toolchain rustup|debian]
        Install what building and testing need on Debian 12 (apt packages, the wasm32
        toolchain, pinned cargo tools). Idempotent; as a non-root user it prints the exact
        command to run as root.
  run [--release] [--exit-after SECS]
        Set up, build the UI and the app, and open the app window. Without a display it
        runs under Xvfb, says so, and saves a screenshot to artifacts/run.png.
  test  Set up, then the whole suite: formatting, lints, unit tests, the wasm32 build of
        `domain`, the UI build and the app's end-to-end tests under Xvfb (screenshots in
        artifacts/e2e/).
  bench Set up, then run the benchmarks and print their figures.
  ui [--release]
        Build the UI into ui/dist only.

environment:
  SWITCHBOARD_WASM_TOOLCHAIN=rustup|debian   force the wasm32 toolchain (default: rustup's
                                             target when installed, else Debian's rustc-web)
  SWITCHBOARD_SKIP_SETUP=1                   skip the setup step of run/test/bench
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let Some((task, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    let flag = |name: &str| rest.iter().any(|arg| arg == name);
    let value = |name: &str| rest.iter().position(|arg| arg == name).and_then(|i| rest.get(i + 1)).cloned();
    match task.as_str() {
        "setup" => {
            let forced = value("--wasm-toolchain").map(|name| name.parse()).transpose()?;
            setup::install(forced)
        }
        "run" => {
            let exit_after = value("--exit-after").map(|secs| secs.parse::<u64>()).transpose()?;
            setup::unless_skipped()?;
            build::run_app(flag("--release"), exit_after)
        }
        "test" => {
            setup::unless_skipped()?;
            build::test()
        }
        "bench" => {
            setup::unless_skipped()?;
            build::bench()
        }
        "ui" => build::ui(flag("--release")).map(|_| ()),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}
