//! `cargo xtask setup`: everything a fresh Debian 12 machine needs, idempotently.
//!
//! Each step checks first and installs only what is missing, saying what it installs.
//! apt needs root: a non-root user is told the exact command to run instead.

use std::process::Command;

use anyhow::{bail, Result};

use crate::{
    cmd::{self, exists, output, run},
    toolchain::{self, WasmToolchain},
};

/// Debian packages, grouped by why we need them (see shared/TOOLCHAIN.md).
const APT_PACKAGES: &[(&str, &[&str])] = &[
    (
        "building the app",
        &[
            "build-essential",
            "pkg-config",
            "file",
            "libssl-dev",
            "libwebkit2gtk-4.1-dev",
            "librsvg2-dev",
            "libayatana-appindicator3-dev",
            "libxdo-dev",
        ],
    ),
    (
        "headless windows and screenshots",
        &["xvfb", "xauth", "imagemagick", "xdotool", "fonts-dejavu-core", "fonts-noto-cjk"],
    ),
    ("app end-to-end tests (WebKitWebDriver)", &["webkit2gtk-driver"]),
    ("OS notifications", &["dbus", "dunst", "libnotify-bin"]),
    ("browser UI tests", &["chromium", "chromium-driver"]),
    ("inspecting SQLite caches", &["sqlite3"]),
    ("the official Tencent Cloud Python SDK tests", &["python3", "python3-venv"]),
    ("speech for the emulator's recordings", &["espeak-ng"]),
];

/// Debian's wasm-capable Rust, the fallback when rustup cannot download the target.
pub const DEBIAN_WASM_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// Pinned cargo tools: (crate, version, binary, `--locked`?).
/// wasm-bindgen-cli must equal the `wasm-bindgen` crate pinned in Cargo.toml; its own
/// lockfile wants a crate the registry does not serve, hence no `--locked`.
const CARGO_TOOLS: &[(&str, &str, &str, bool)] =
    &[("wasm-bindgen-cli", "0.2.130", "wasm-bindgen", false), ("tauri-driver", "2.1.0", "tauri-driver", true)];

/// `setup` unless SWITCHBOARD_SKIP_SETUP=1.
pub fn unless_skipped() -> Result<()> {
    if std::env::var("SWITCHBOARD_SKIP_SETUP").is_ok_and(|v| v == "1") {
        println!("setup: skipped (SWITCHBOARD_SKIP_SETUP=1)");
        return Ok(());
    }
    install(toolchain::forced()?)
}

pub fn install(forced: Option<WasmToolchain>) -> Result<()> {
    println!("== setup: checking what this machine has");
    let all: Vec<&str> = APT_PACKAGES.iter().flat_map(|(_, pkgs)| pkgs.iter().copied()).collect();
    ensure_apt(&all, "the app, its tests and screenshots")?;

    match forced {
        Some(WasmToolchain::Debian) => {
            println!("setup: wasm32 toolchain forced to Debian's rustc-web");
            ensure_apt(DEBIAN_WASM_PACKAGES, "building the UI for wasm32 with Debian's Rust")?;
        }
        Some(WasmToolchain::Rustup) => toolchain::ensure_rustup_target()?,
        None => {
            if let Err(err) = toolchain::ensure_rustup_target() {
                println!("setup: rustup could not provide wasm32-unknown-unknown ({err:#}); using Debian's rustc-web instead");
                ensure_apt(DEBIAN_WASM_PACKAGES, "building the UI for wasm32 with Debian's Rust")?;
            }
        }
    }

    for &(krate, version, binary, locked) in CARGO_TOOLS {
        ensure_cargo_tool(krate, version, binary, locked)?;
    }
    ensure_python_sdk()?;
    println!("== setup: done");
    Ok(())
}

/// Installs the missing ones of `packages` (root), or says exactly how (non-root).
pub fn ensure_apt(packages: &[&str], why: &str) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|pkg| !apt_installed(pkg)).collect();
    if missing.is_empty() {
        println!("setup: apt packages for {why}: all {} present", packages.len());
        return Ok(());
    }
    println!("setup: installing apt packages for {why}: {}", missing.join(" "));
    let install = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    if !is_root() {
        bail!(
            "installing system packages needs root. Run this, then the same cargo xtask command again:\n\n    \
             sudo apt-get update && sudo {install}\n"
        );
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The official Tencent Cloud Python SDK for TRTC, pinned, in its own venv: the emulator
/// must serve it unchanged (crates/emulator/tests/python_sdk.rs).
pub const PYTHON_SDK: &str = "tencentcloud-sdk-python-trtc==3.1.177";

/// The venv's python, under the cargo target directory.
pub fn python_sdk_python() -> Result<std::path::PathBuf> {
    Ok(cmd::target_dir()?.join("tools/trtc-python-sdk/bin/python"))
}

fn ensure_python_sdk() -> Result<()> {
    let python = python_sdk_python()?;
    let (name, version) = PYTHON_SDK.split_once("==").unwrap_or((PYTHON_SDK, ""));
    let have = python.exists()
        && output(Command::new(&python).args(["-m", "pip", "show", name]))
            .is_some_and(|info| info.lines().any(|line| line == format!("Version: {version}")));
    if have {
        println!("setup: Python SDK {PYTHON_SDK} present");
        return Ok(());
    }
    println!("setup: installing the official Python SDK {PYTHON_SDK} into a venv");
    let venv = python.parent().and_then(std::path::Path::parent).map(std::path::Path::to_path_buf).unwrap_or_default();
    if !python.exists() {
        run(Command::new("/usr/bin/python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYTHON_SDK]))
}

fn apt_installed(package: &str) -> bool {
    output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|status| status.contains("install ok installed"))
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

fn ensure_cargo_tool(krate: &str, version: &str, binary: &str, locked: bool) -> Result<()> {
    // `cargo install --list` knows every installed version (tauri-driver has no --version).
    let listed = output(Command::new(cmd::cargo()).args(["install", "--list"]))
        .is_some_and(|list| list.lines().any(|line| line.starts_with(&format!("{krate} v{version}:"))));
    let have = listed && exists(binary);
    if have {
        println!("setup: {binary} {version} present");
        return Ok(());
    }
    println!("setup: installing {krate} {version} (cargo install; takes a few minutes the first time)");
    let mut install = Command::new(cmd::cargo());
    install.args(["install", krate, "--version", version]);
    if locked {
        install.arg("--locked");
    }
    run(&mut install)
}
