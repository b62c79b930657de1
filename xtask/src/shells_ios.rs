//! `cargo xtask test-shells` (with the Android shell's): the iOS shell's Swift package (`ios-shell/GridPatrolKit`) and
//! its XCTest suite, run like the bindings' Swift suite: SwiftPM inside the Debian-trixie chroot,
//! linked against `libgridpatrol_ffi.so`, with a live `gridpatrol hq serve` started by the tests.
//! (To be folded into `cargo xtask test-shells` beside the Android shell's runner.)
//!
//! The package is assembled under `build/bindings/ios-shell-package`: the committed
//! `Package.swift`, `Sources/GridPatrolKit` and `Tests/` from `ios-shell/GridPatrolKit`, the
//! generated Swift (and `bindings/adapters/swift`) in `Sources/GridPatrol`, and the three headers
//! with the one `module.modulemap` in `Sources/GridPatrolFFI`.
//!
//! Unlike `run_swift`, the mounts (`/proc`, `build/bindings`) are made in a private mount
//! namespace (`unshare --mount`): they vanish with the process, and a run in another checkout
//! that shares the cached chroot cannot unmount `/proc` under this one (or this one under it).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{closing_line, copy_if_changed, files_with_ext, rel, run_logged, Ctx, Result, LIB};

const PACKAGE: &str = "ios-shell/GridPatrolKit";

/// The iOS shell's suite, shaped like `shells::android` for `test-shells`: builds what the suite
/// needs (HQ's binary, the library, the generated Swift, the fixture photos), runs it, and
/// returns the closing line; on failure prints the log's tail.
pub fn ios(cx: &Ctx) -> Result<String> {
    let tools = crate::install_toolchains(&cx.root)?;
    cx.cargo(&["build", "--quiet", "-p", "gridpatrol", "--bin", "gridpatrol"])?;
    let generated = cx.bindings()?;
    let lib_dir = cx.out.join("lib");
    copy_if_changed(&generated.cdylib, &lib_dir.join(format!("lib{LIB}.so")))?;
    let gridpatrol = cx.out.join("bin").join("gridpatrol");
    copy_if_changed(&cx.target.join(cx.profile).join("gridpatrol"), &gridpatrol)?;
    let fixtures = cx.out.join("fixtures");
    for variant in 0..10u8 {
        let jpeg = gridpatrol_testing::tiny_jpeg_with_comment(variant);
        crate::write_if_changed(&fixtures.join(format!("photo-{variant}.jpg")), &jpeg)?;
    }
    let logs = cx.out.join("logs");
    fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log = logs.join("ios-shell.log");
    run_ios(cx, &tools.swift_root, &lib_dir, &gridpatrol, &fixtures, &log).inspect_err(|e| {
        eprintln!("---- ios shell suite failed: {e}; its output ({}):", rel(&cx.root, &log));
        if let Ok(text) = fs::read_to_string(&log) {
            let lines: Vec<&str> = text.lines().collect();
            for l in &lines[lines.len().saturating_sub(80)..] {
                eprintln!("  {l}");
            }
        }
    })
}

/// Assemble the package and run `swift test` in the chroot; returns the closing line
/// ("Executed N tests, with 0 failures …").
pub fn run_ios(
    cx: &Ctx,
    swift_root: &Path,
    lib_dir: &Path,
    gridpatrol: &Path,
    fixtures: &Path,
    log: &Path,
) -> Result<String, String> {
    let pkg = cx.out.join("ios-shell-package");
    let src = cx.root.join(PACKAGE);
    let gen = cx.out.join("swift");
    copy_if_changed(&src.join("Package.swift"), &pkg.join("Package.swift"))?;
    mirror(
        &src.join("Sources/GridPatrolKit"),
        &files_with_ext(&src.join("Sources/GridPatrolKit"), "swift")?,
        &pkg.join("Sources/GridPatrolKit"),
    )?;
    mirror(&src.join("Tests"), &files_with_ext(&src.join("Tests"), "swift")?, &pkg.join("Tests"))?;
    mirror(&gen, &files_with_ext(&gen, "swift")?, &pkg.join("Sources/GridPatrol"))?;
    let mut c_module = files_with_ext(&gen, "h")?;
    c_module.push(gen.join("module.modulemap"));
    mirror(&gen, &c_module, &pkg.join("Sources/GridPatrolFFI"))?;

    let out = cx.out.to_string_lossy().into_owned();
    let inside = swift_root.join(cx.out.strip_prefix("/").map_err(|e| e.to_string())?);
    fs::create_dir_all(&inside).map_err(|e| format!("{}: {e}", inside.display()))?;
    fs::create_dir_all(swift_root.join("proc")).map_err(|e| e.to_string())?;
    let lib = lib_dir.to_string_lossy();
    let script = r#"mount -t proc proc "$1/proc" && mount --bind "$2" "$1$2" && shift 2 && exec chroot "$@""#;
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"])
        .arg(swift_root)
        .arg(&out)
        .arg(swift_root)
        .args(["env", "-i", "HOME=/root", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        .arg(format!("GRIDPATROL_BIN={}", gridpatrol.display()))
        .arg(format!("GRIDPATROL_FIXTURES={}", fixtures.display()))
        .arg("TMPDIR=/tmp")
        .args(["swift", "test", "--package-path"])
        .arg(&pkg)
        .args(["-Xlinker", &format!("-L{lib}"), "-Xlinker", "-rpath", "-Xlinker", &lib]);
    let text = run_logged(&mut c, log)?;
    closing_line(&text, |l| l.starts_with("Executed ") && l.contains(" with 0 failures"))
        .ok_or_else(|| "no closing \"Executed N tests, with 0 failures\" line".to_string())
}

/// Copy `files` (under `from`) to the same relative paths under `to`, and delete the files of
/// `to` that are not among them (a test removed from the checkout leaves the package too).
fn mirror(from: &Path, files: &[PathBuf], to: &Path) -> Result<()> {
    let mut keep = BTreeSet::new();
    for f in files {
        let relp = f.strip_prefix(from).map_err(|e| e.to_string())?;
        copy_if_changed(f, &to.join(relp))?;
        keep.insert(to.join(relp));
    }
    if to.exists() {
        for ext in ["swift", "h", "modulemap"] {
            for f in files_with_ext(to, ext)? {
                if !keep.contains(&f) {
                    fs::remove_file(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                }
            }
        }
    }
    Ok(())
}
