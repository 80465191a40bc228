//! Running commands: print them, run them, fail with the command line when they fail.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use anyhow::{bail, Context, Result};

/// Prints `$ cmd` and runs it to completion, failing on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    println!("$ {line}");
    // Nothing the suite runs reads input; an inherited stdin only lets stray bytes in (rustc
    // reads `-` from it when cargo probes a target).
    let status = cmd.stdin(Stdio::null()).status().with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout when it succeeded.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `program args...` as the user would type it.
pub fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Whether `program` is on PATH (or is an existing path).
pub fn exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// The workspace root (the parent of this crate's directory).
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        manifest_dir.parent().map(Path::to_path_buf).unwrap_or(manifest_dir)
    })
}

/// Cargo's target directory for this workspace (honours CARGO_TARGET_DIR and config).
pub fn target_dir() -> Result<PathBuf> {
    static TARGET: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = TARGET.get() {
        return Ok(dir.clone());
    }
    let json =
        output(Command::new(cargo()).current_dir(root()).args(["metadata", "--format-version", "1", "--no-deps"]))
            .context("`cargo metadata` failed")?;
    let meta: serde_json::Value = serde_json::from_str(&json).context("`cargo metadata` printed invalid JSON")?;
    let dir = meta["target_directory"].as_str().context("`cargo metadata` has no target_directory")?;
    Ok(TARGET.get_or_init(|| PathBuf::from(dir)).clone())
}

/// The cargo that runs us (so rustup's toolchain is used consistently).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Where runs leave things for people to look at (screenshots, logs): `<root>/artifacts`.
pub fn artifacts() -> PathBuf {
    root().join("artifacts")
}
