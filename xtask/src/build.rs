//! Building the UI and the app, and the `run`, `test` and `bench` tasks built on them.

use std::{
    fs,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{
    cmd::{self, artifacts, cargo, root, run},
    display::{self, VirtualScreen},
    toolchain,
};

/// Builds the Yew UI into ui/dist: cargo (wasm32, release profile) → wasm-bindgen →
/// the static files. Always release: the debug wasm is several MB and slow in WebKit.
pub fn ui(_release: bool) -> Result<PathBuf> {
    let started = Instant::now();
    println!("== building the UI (wasm32)");
    run(toolchain::wasm_cargo_build()?.args(["-p", "ui", "--release"]))?;
    let wasm = toolchain::wasm_out_dir("release")?.join("ui.wasm");
    let dist = root().join("ui/dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).with_context(|| format!("cannot clear {}", dist.display()))?;
    }
    fs::create_dir_all(&dist)?;
    run(Command::new("wasm-bindgen").args(["--target", "web", "--no-typescript", "--out-dir"]).arg(&dist).arg(&wasm))?;
    for entry in fs::read_dir(root().join("ui/static"))? {
        let entry = entry?;
        fs::copy(entry.path(), dist.join(entry.file_name()))?;
    }
    fs::copy(root().join("src-tauri/icons/icon.png"), dist.join("icon.png"))?;
    let size = fs::metadata(dist.join("ui_bg.wasm")).map(|m| m.len()).unwrap_or(0);
    println!("UI built in {:.0?}: {} ({} KB wasm)", started.elapsed(), dist.display(), size / 1024);
    Ok(dist)
}

/// Builds the app binary (after the UI, which Tauri embeds) and returns its path.
fn app(release: bool) -> Result<PathBuf> {
    ui(release)?;
    println!("== building the app");
    let mut build = Command::new(cargo());
    build.current_dir(root()).args(["build", "-p", "switchboard"]);
    if release {
        build.args(["--release", "--features", "custom-protocol"]);
    }
    run(&mut build)?;
    let binary = cmd::target_dir()?.join(if release { "release" } else { "debug" }).join("switchboard");
    if !binary.exists() {
        bail!("the build finished but {} does not exist", binary.display());
    }
    Ok(binary)
}

/// `cargo xtask run`: build and open the app; under Xvfb when there is no display.
pub fn run_app(release: bool, exit_after: Option<u64>) -> Result<()> {
    let binary = app(release)?;
    let _screen;
    let mut app = Command::new("dbus-run-session");
    app.arg("--").arg(&binary);
    let display = if display::have_display() {
        std::env::var("DISPLAY").ok()
    } else {
        let screen = VirtualScreen::start()?;
        println!(
            "\nNo display found: running Switchboard under Xvfb on {d} (a virtual screen nobody sees).\n\
             A screenshot will be saved to {shot} a few seconds after start; take another any time with\n    \
             DISPLAY={d} import -window root shot.png\n",
            d = screen.display,
            shot = artifacts().join("run.png").display()
        );
        app.env("DISPLAY", &screen.display);
        let display = screen.display.clone();
        _screen = screen;
        Some(display)
    };
    println!("== starting {}", binary.display());
    let mut child = app.spawn().context("cannot start the app (is dbus installed? run `cargo xtask setup`)")?;
    let started = Instant::now();
    let mut shot_taken = false;
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("the app exited with {status}");
            }
            return Ok(());
        }
        if !shot_taken && started.elapsed() > Duration::from_secs(8) && !display::have_display() {
            if let Some(display) = &display {
                let path = artifacts().join("run.png");
                match display::screenshot(display, &path) {
                    Ok(()) => println!("screenshot saved: {}", path.display()),
                    Err(err) => println!("could not save a screenshot: {err:#}"),
                }
            }
            shot_taken = true;
        }
        if exit_after.is_some_and(|secs| started.elapsed() > Duration::from_secs(secs)) {
            println!("--exit-after reached: closing the app");
            // The app and its session bus are children of dbus-run-session: stop them first,
            // or the bus daemon outlives us. (The app stays in our process group so Ctrl-C
            // in the terminal reaches it too.)
            let _ = Command::new("pkill").args(["-TERM", "-P", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && child.try_wait()?.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `cargo xtask test`: the whole suite, cheapest checks first.
pub fn test() -> Result<()> {
    let started = Instant::now();
    let mut timings = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        println!("\n== test: {name}");
        let t = Instant::now();
        f()?;
        timings.push((name.to_owned(), t.elapsed()));
        Ok(())
    };
    step("formatting", &mut || run(Command::new(cargo()).current_dir(root()).args(["fmt", "--all", "--check"])))?;
    step("unit and integration tests (domain, engine, ui strings, trtc, emulator + Python SDK, hub)", &mut || {
        run(Command::new(cargo())
            .current_dir(root())
            .args(["test", "-p", "domain", "-p", "engine", "-p", "ui", "-p", "trtc", "-p", "emulator", "-p", "hub"])
            .env("SWITCHBOARD_PYTHON", crate::setup::python_sdk_python()?))
    })?;
    step("domain builds for wasm32", &mut || run(toolchain::wasm_cargo_build()?.args(["-p", "domain"])))?;
    let mut binary = PathBuf::new();
    step("UI and app build", &mut || {
        binary = app(false)?;
        Ok(())
    })?;
    step("UI in a real browser (headless Chromium: layout, both languages, 1,000-call wall)", &mut || {
        run(Command::new("python3").current_dir(root()).args([
            "ui/tests/browser/check.py",
            "--out",
            &artifacts().join("browser").to_string_lossy(),
        ]))
    })?;
    step("lints (clippy, warnings are errors)", &mut || {
        run(Command::new(cargo()).current_dir(root()).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("app end-to-end tests (Xvfb + tauri-driver + WebKitWebDriver)", &mut || {
        run(Command::new(cargo())
            .current_dir(root())
            .args(["test", "-p", "switchboard-tests", "--", "--test-threads=1"])
            .env("SWITCHBOARD_APP", &binary)
            .env("SWITCHBOARD_ARTIFACTS", artifacts()))
    })?;
    println!("\n== test: all passed in {:.0?}", started.elapsed());
    for (name, took) in timings {
        println!("   {took:>8.1?}  {name}");
    }
    println!("   screenshots: {}", artifacts().join("e2e").display());
    Ok(())
}

/// `cargo xtask bench`: the benchmarks, printing figures and ratios.
pub fn bench() -> Result<()> {
    run(Command::new(cargo())
        .current_dir(root())
        .args(["bench", "-p", "domain", "-p", "emulator", "-p", "hub", "-p", "engine"]))?;
    // Event to screen measures the app as users get it: the release build.
    let binary = app(true)?;
    run(Command::new(cargo())
        .current_dir(root())
        .args(["bench", "-p", "switchboard-tests", "--bench", "event_to_screen"])
        .env("SWITCHBOARD_APP", &binary)
        .env("SWITCHBOARD_ARTIFACTS", artifacts()))
}
