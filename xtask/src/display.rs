//! A screen for the app: the user's own, or a virtual one (Xvfb) when there is none.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// A running Xvfb, stopped when dropped.
#[derive(Debug)]
pub struct VirtualScreen {
    pub display: String,
    child: Child,
}

impl VirtualScreen {
    /// Starts Xvfb on the first free display number from :90, 1280×800, no TCP.
    pub fn start() -> Result<VirtualScreen> {
        let number = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .context("no free X display number between :90 and :199")?;
        let display = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start Xvfb (run `cargo xtask setup`)")?;
        let mut screen = VirtualScreen { display, child };
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            if let Some(status) = screen.child.try_wait()? {
                bail!("Xvfb exited at start ({status})");
            }
            if Instant::now() > deadline {
                bail!("Xvfb did not open {socket} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(screen)
    }
}

impl Drop for VirtualScreen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the user has a screen of their own.
pub fn have_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|var| std::env::var(var).is_ok_and(|v| !v.is_empty()))
}

/// Saves a PNG of the whole X screen `display` (ImageMagick's `import`).
pub fn screenshot(display: &str, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(path)
        .env("DISPLAY", display)
        .status()
        .context("cannot run ImageMagick's import")?;
    if !status.success() {
        bail!("screenshot of {display} failed ({status})");
    }
    Ok(())
}
