//! Test support for Switchboard's cross-process stories.
//!
//! [`App`] launches the real, built app binary the way a user would, but on a virtual
//! screen: its own Xvfb, its own D-Bus session, and tauri-driver in front of Debian's
//! WebKitWebDriver, all on free loopback ports, with a throwaway data directory. Tests
//! then drive the window through WebDriver (fantoccini). Everything started is stopped
//! when the [`App`] is closed or dropped.
//!
//! The app binary comes from `SWITCHBOARD_APP` (set by `cargo xtask test`, which builds
//! the UI and the app first); screenshots go under `SWITCHBOARD_ARTIFACTS` (default
//! `<workspace>/artifacts`).

use std::{
    net::{TcpListener, TcpStream},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// How long a test waits for the UI to show something before failing.
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a WebDriver session (launching the app) may take.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(90);

/// How the app is started: its data directory and OS locale.
#[derive(Debug, Clone)]
pub struct Launch {
    pub data_dir: PathBuf,
    /// Value for `LANG` (LC_ALL and LC_MESSAGES are cleared so this decides).
    pub lang: String,
    /// When set, `dbus-monitor` records every desktop notification sent on the app's D-Bus
    /// session into this file (`tauri-plugin-notification` answers Ok even when nothing
    /// was delivered, so the bus is the only honest witness).
    pub notifications: Option<PathBuf>,
}

impl Launch {
    /// A launch with `data_dir` and `LANG=lang`, no notification recording.
    pub fn new(data_dir: &Path, lang: &str) -> Launch {
        Launch { data_dir: data_dir.to_path_buf(), lang: lang.to_owned(), notifications: None }
    }
}

/// The running app, its virtual screen and its WebDriver session.
#[derive(Debug)]
pub struct App {
    pub client: Client,
    screen: Child,
    driver: Child,
}

impl App {
    /// Starts the app as described by `launch` and waits until its WebDriver session is up.
    pub async fn launch(launch: &Launch) -> Result<App> {
        let binary = app_binary()?;
        let (display, screen) = start_xvfb()?;
        let (port, native_port) = (free_port()?, free_port()?);
        let log = launch_log()?;
        let tauri_driver =
            format!("tauri-driver --port {port} --native-port {native_port} --native-driver /usr/bin/WebKitWebDriver");
        // One shell inside the session: the monitor (if wanted) joins the same bus first.
        let script = match &launch.notifications {
            Some(file) => format!(
                "dbus-monitor --session \"interface='org.freedesktop.Notifications',member='Notify'\" > '{}' 2>&1 & exec {tauri_driver}",
                file.display()
            ),
            None => format!("exec {tauri_driver}"),
        };
        let mut driver = Command::new("dbus-run-session");
        driver
            .args(["--", "sh", "-c", &script])
            .env("DISPLAY", &display)
            // Tokens in a throwaway file, never in a keychain of the machine running the tests.
            .env("SWITCHBOARD_KEYCHAIN", "off")
            .env("SWITCHBOARD_DATA_DIR", &launch.data_dir)
            .env("LANG", &launch.lang)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group, so closing kills tauri-driver, WebKitWebDriver and the app.
            .process_group(0);
        let driver =
            driver.spawn().context("cannot start tauri-driver under dbus-run-session (run `cargo xtask setup`)")?;
        // Kept even if the session never opens, so Drop stops what was started.
        let mut pending = Pending { screen: Some(screen), driver: Some(driver) };
        let client = tokio::time::timeout(SESSION_TIMEOUT, connect(port, native_port, &binary))
            .await
            .map_err(|_| anyhow::anyhow!("no WebDriver session with the app within {SESSION_TIMEOUT:?}"))??;
        let (Some(screen), Some(driver)) = (pending.screen.take(), pending.driver.take()) else {
            unreachable!("both set above and only taken here")
        };
        let app = App { client, screen, driver };
        app.wait_text("#app-title", |_| true).await.context("the app window never rendered its title")?;
        Ok(app)
    }

    /// Waits until the element at `css` exists and its text satisfies `ok`; returns the text.
    pub async fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if ok(&text) {
                        return Ok(text);
                    }
                    last = Some(text);
                }
            }
            if Instant::now() > deadline {
                bail!("after {UI_TIMEOUT:?}, `{css}` showed {last:?}, not what the test waited for");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` shows exactly `expected`.
    pub async fn wait_for(&self, css: &str, expected: &str) -> Result<()> {
        self.wait_text(css, |text| text == expected).await.map(|_| ())
    }

    /// Clicks the element at `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.client.find(Locator::Css(css)).await.with_context(|| format!("no `{css}` to click"))?.click().await?;
        Ok(())
    }

    /// Calls an app command through the window's real Tauri bridge, as the UI does, and
    /// answers its JSON result (or the command's error as an `Err`).
    pub async fn invoke(&self, command: &str, req: serde_json::Value) -> Result<serde_json::Value> {
        let script = "const [cmd, req, done] = arguments; \
                      window.__TAURI__.core.invoke(cmd, { req }) \
                        .then(ok => done({ ok }), err => done({ err: JSON.stringify(err) }));";
        let answer = self
            .client
            .execute_async(script, vec![serde_json::Value::from(command), req])
            .await
            .with_context(|| format!("cannot run {command} in the window"))?;
        match answer.get("err") {
            Some(err) => bail!("{command} failed: {err}"),
            None => Ok(answer.get("ok").cloned().unwrap_or(serde_json::Value::Null)),
        }
    }

    /// Saves a PNG screenshot of the window as `<artifacts>/e2e/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let dir = artifacts().join("e2e");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.context("WebDriver screenshot failed")?;
        if !png.starts_with(b"\x89PNG") {
            bail!("the WebDriver screenshot is not a PNG ({} bytes)", png.len());
        }
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the session (closing the app) and stops everything this App started.
    pub async fn close(mut self) -> Result<()> {
        let closed = self.client.clone().close().await;
        self.stop_processes();
        closed.context("closing the WebDriver session failed")
    }

    fn stop_processes(&mut self) {
        stop(&mut self.driver, &mut self.screen);
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop_processes();
    }
}

/// Processes of a launch whose session is not open yet.
struct Pending {
    screen: Option<Child>,
    driver: Option<Child>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let (Some(driver), Some(screen)) = (&mut self.driver, &mut self.screen) {
            stop(driver, screen);
        }
    }
}

/// Stops tauri-driver's whole process group (WebKitWebDriver, the app, its D-Bus), then Xvfb.
fn stop(driver: &mut Child, screen: &mut Child) {
    let group = format!("-{}", driver.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && matches!(driver.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = driver.wait();
    let _ = screen.kill();
    let _ = screen.wait();
}

/// A fresh log file for one launch's driver, WebKit and app output:
/// `<artifacts>/e2e/logs/launch-<pid>-<n>.log`, printed so a failing test points at it.
fn launch_log() -> Result<std::fs::File> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = artifacts().join("e2e/logs");
    std::fs::create_dir_all(&dir)?;
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("launch-{}-{n}.log", std::process::id()));
    println!("app log: {}", path.display());
    Ok(std::fs::File::create(path)?)
}

/// The built app binary from `SWITCHBOARD_APP`.
pub fn app_binary() -> Result<PathBuf> {
    let path = std::env::var_os("SWITCHBOARD_APP")
        .map(PathBuf::from)
        .context("SWITCHBOARD_APP is not set: these tests need the built app; run them with `cargo xtask test`")?;
    if !path.is_file() {
        bail!("SWITCHBOARD_APP={} does not exist; run `cargo xtask test`", path.display());
    }
    Ok(path.canonicalize()?)
}

/// Where screenshots go: `SWITCHBOARD_ARTIFACTS` or `<workspace>/artifacts`.
pub fn artifacts() -> PathBuf {
    std::env::var_os("SWITCHBOARD_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts"))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether display `n` is taken: its lock names a process that is still running. A lock
/// left by a killed Xvfb (its process gone) is cleared, with its socket, so repeated runs
/// do not use up the numbers.
fn display_taken(n: u32) -> bool {
    let (lock, socket) = (format!("/tmp/.X{n}-lock"), format!("/tmp/.X11-unix/X{n}"));
    let owner = std::fs::read_to_string(&lock).ok().and_then(|text| text.trim().parse::<u32>().ok());
    match owner {
        Some(pid) if Path::new(&format!("/proc/{pid}")).exists() => true,
        // No lock, or a stale one: free once both files are gone.
        _ => {
            let _ = std::fs::remove_file(&lock);
            let _ = std::fs::remove_file(&socket);
            Path::new(&lock).exists() || Path::new(&socket).exists()
        }
    }
}

fn start_xvfb() -> Result<(String, Child)> {
    let number = (100..400).find(|n| !display_taken(*n)).context("no free X display number")?;
    let display = format!(":{number}");
    let mut child = Command::new("Xvfb")
        .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start Xvfb (run `cargo xtask setup`)")?;
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        if let Some(status) = child.try_wait()? {
            bail!("Xvfb {display} exited at start ({status})");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("Xvfb {display} did not start within 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((display, child))
}

async fn connect(port: u16, native_port: u16, binary: &Path) -> Result<Client> {
    // tauri-driver accepts on its own port before WebKitWebDriver (which it starts) listens
    // on the native one; a session request in between is refused. Wait for both.
    for (what, port) in [("tauri-driver", port), ("WebKitWebDriver", native_port)] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("{what} did not listen on 127.0.0.1:{port} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let capabilities = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": binary },
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("built as an object above") };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .context("cannot open a WebDriver session with the app")?;
    Ok(client)
}
