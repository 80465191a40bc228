//! Which Rust builds the wasm32 UI, and how to call it.
//!
//! rustup's `wasm32-unknown-unknown` target is preferred. Where it cannot be downloaded,
//! Debian's rustc-web (with rust-web-src and `-Zbuild-std`) always works. The Debian
//! build uses its own target directory: switching RUSTC or RUSTC_BOOTSTRAP in a shared
//! one would invalidate cargo's fingerprints on every switch.

use std::{path::PathBuf, process::Command, str::FromStr, time::Duration};

use anyhow::{bail, Context, Result};

use crate::cmd::{self, exists, output};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
const FORCE_ENV: &str = "SWITCHBOARD_WASM_TOOLCHAIN";
/// The wasm linker from Debian's lld-22 (installed with rustc-web by setup).
const DEBIAN_WASM_LINKER: &str = "/usr/lib/llvm-22/bin/wasm-ld";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmToolchain {
    Rustup,
    Debian,
}

impl FromStr for WasmToolchain {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<WasmToolchain> {
        match s {
            "rustup" => Ok(WasmToolchain::Rustup),
            "debian" => Ok(WasmToolchain::Debian),
            other => bail!("unknown wasm toolchain `{other}` (expected `rustup` or `debian`)"),
        }
    }
}

/// The toolchain forced through SWITCHBOARD_WASM_TOOLCHAIN, if any.
pub fn forced() -> Result<Option<WasmToolchain>> {
    std::env::var(FORCE_ENV).ok().filter(|v| !v.is_empty()).map(|v| v.parse()).transpose()
}

/// The toolchain to build with now: the forced one, else rustup's when its target is
/// installed, else Debian's.
pub fn current() -> Result<WasmToolchain> {
    if let Some(forced) = forced()? {
        return Ok(forced);
    }
    Ok(if rustup_has_target() { WasmToolchain::Rustup } else { WasmToolchain::Debian })
}

fn rustup_has_target() -> bool {
    exists("rustup")
        && output(Command::new("rustup").args(["target", "list", "--installed"]))
            .is_some_and(|list| list.lines().any(|line| line.trim() == WASM_TARGET))
}

/// Adds rustup's wasm32 target if missing, giving up after three minutes.
pub fn ensure_rustup_target() -> Result<()> {
    if rustup_has_target() {
        println!("setup: rustup target {WASM_TARGET} present");
        return Ok(());
    }
    if !exists("rustup") {
        bail!("rustup is not installed");
    }
    println!("setup: installing rustup target {WASM_TARGET}");
    let mut child =
        Command::new("rustup").args(["target", "add", WASM_TARGET]).spawn().context("cannot start rustup")?;
    for _ in 0..180 {
        if let Some(status) = child.try_wait()? {
            if status.success() && rustup_has_target() {
                return Ok(());
            }
            bail!("`rustup target add {WASM_TARGET}` failed ({status})");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = child.kill();
    bail!("`rustup target add {WASM_TARGET}` did not finish within 3 minutes")
}

/// A `cargo build` for wasm32 with the current toolchain, ready for `-p` and profile args.
pub fn wasm_cargo_build() -> Result<Command> {
    let toolchain = current()?;
    let mut build;
    match toolchain {
        WasmToolchain::Rustup => {
            build = Command::new(cmd::cargo());
            build.args(["build", "--target", WASM_TARGET]);
        }
        WasmToolchain::Debian => {
            if !PathBuf::from("/usr/bin/rustc").exists() {
                bail!("Debian's rustc-web is not installed; run `cargo xtask setup --wasm-toolchain debian`");
            }
            build = Command::new("/usr/bin/cargo");
            build
                .args(["build", "--target", WASM_TARGET, "-Zbuild-std=std,panic_abort"])
                .env("RUSTC", "/usr/bin/rustc")
                .env("RUSTDOC", "/usr/bin/rustdoc")
                .env("RUSTC_BOOTSTRAP", "1")
                // Debian's rustc asks for `rust-lld`, which no Debian package installs under
                // that name; lld-22's wasm flavour is the same linker.
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", DEBIAN_WASM_LINKER)
                .env("CARGO_TARGET_DIR", cmd::target_dir()?.join("wasm-debian"));
        }
    }
    build.current_dir(cmd::root());
    println!("wasm32 toolchain: {toolchain:?}");
    Ok(build)
}

/// Where a wasm32 build of `profile` leaves its artifacts.
pub fn wasm_out_dir(profile: &str) -> Result<PathBuf> {
    let base = match current()? {
        WasmToolchain::Rustup => cmd::target_dir()?,
        WasmToolchain::Debian => cmd::target_dir()?.join("wasm-debian"),
    };
    Ok(base.join(WASM_TARGET).join(profile))
}
