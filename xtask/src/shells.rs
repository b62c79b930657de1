//! `cargo xtask test-shells`: the platform shells' suites, each compiled and run here against
//! the real core and a live HQ, the way `test-bindings` runs the binding suites.
//!
//! - **android-shell** (`android-shell/shell/`, plain Kotlin/JVM): the generated Kotlin bindings
//!   (`build/bindings/kotlin`, with the Flow adapters), the shell's sources and its JUnit 4 tests
//!   compiled in one `kotlinc` run into `build/shells/android/shell-tests.jar` (skipped when
//!   nothing changed), then `JUnitCore` on the JVM with JNA loading `libgridpatrol_ffi.so`.
//!
//! Each suite prints its closing line (`android-shell  OK (N tests)`); logs are in
//! `build/shells/logs/`. The Android app (`android-shell/app/`) needs the Android SDK and is not
//! built here (android-shell/README.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{
    closing_line, copy_if_changed, files_with_ext, install_toolchains, join_paths, rel, run_logged, write_if_changed,
    Ctx, Result, LIB,
};

/// The shell suite's test classes, in the order JUnit runs them.
const ANDROID_TESTS: [&str; 4] = [
    "org.gridpatrol.shell.SyncPolicyTest",
    "org.gridpatrol.shell.PermissionFlowTest",
    "org.gridpatrol.shell.PresentersTest",
    "org.gridpatrol.shell.WorkerDayTest",
];

/// Print each suite's closing line (or its failure) and fail if any suite failed.
pub fn finish(results: Vec<(&str, Result<String>)>) -> Result<()> {
    println!("\nshell suites (logs in build/shells/logs):");
    let mut failed = 0;
    for (name, outcome) in &results {
        match outcome {
            Ok(closing) => println!("  {name}  {closing}"),
            Err(e) => {
                failed += 1;
                println!("  {name}  FAILED: {e}");
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} shell suite(s) failed"));
    }
    Ok(())
}

/// What a suite needs from the bindings side: the library, HQ's binary, the fixture photos.
struct SuiteInputs {
    kotlinc: PathBuf,
    lib_dir: PathBuf,
    gridpatrol: PathBuf,
    fixtures: PathBuf,
}

fn prepare(cx: &Ctx) -> Result<SuiteInputs> {
    let tools = install_toolchains(&cx.root)?;
    cx.cargo(&["build", "--quiet", "-p", "gridpatrol", "--bin", "gridpatrol"])?;
    let generated = cx.bindings()?;
    let lib_dir = cx.out.join("lib");
    copy_if_changed(&generated.cdylib, &lib_dir.join(format!("lib{LIB}.so")))?;
    let gridpatrol = cx.out.join("bin").join("gridpatrol");
    copy_if_changed(&cx.target.join(cx.profile).join("gridpatrol"), &gridpatrol)?;
    let fixtures = cx.out.join("fixtures");
    fs::create_dir_all(&fixtures).map_err(|e| e.to_string())?;
    for variant in 0..10u8 {
        let jpeg = gridpatrol_testing::tiny_jpeg_with_comment(variant);
        write_if_changed(&fixtures.join(format!("photo-{variant}.jpg")), &jpeg)?;
    }
    Ok(SuiteInputs { kotlinc: tools.kotlinc, lib_dir, gridpatrol, fixtures })
}

/// The Android shell's suite: presenters, sync policy, permission flow, a worker's day.
pub fn android(cx: &Ctx) -> Result<String> {
    let started = Instant::now();
    let inputs = prepare(cx)?;
    let kotlin_lib = inputs.kotlinc.parent().and_then(Path::parent).ok_or("kotlinc path")?.join("lib");
    let jar = |p: &str| -> Result<PathBuf> {
        let path = if p.starts_with('/') { PathBuf::from(p) } else { kotlin_lib.join(p) };
        path.exists().then_some(path.clone()).ok_or_else(|| format!("missing {}", path.display()))
    };
    let compile_cp =
        [jar("/usr/share/java/jna.jar")?, jar("/usr/share/java/junit4.jar")?, jar("kotlinx-coroutines-core-jvm.jar")?];
    let run_cp = [jar("kotlin-stdlib.jar")?, jar("/usr/share/java/hamcrest.jar")?];

    let shell = cx.root.join("android-shell/shell/src");
    // The shell is plain Kotlin: an Android import would only fail in Android Studio, so say it here.
    for f in files_with_ext(&shell.join("main/kotlin"), "kt")? {
        let text = fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        if let Some(line) = text.lines().find(|l| l.starts_with("import android.") || l.starts_with("import androidx."))
        {
            return Err(format!(
                "{} imports the Android framework ({line}); the shell must stay plain Kotlin",
                rel(&cx.root, &f)
            ));
        }
    }
    let mut sources = files_with_ext(&cx.out.join("kotlin"), "kt")?;
    sources.extend(files_with_ext(&shell.join("main/kotlin"), "kt")?);
    sources.extend(files_with_ext(&shell.join("test/kotlin"), "kt")?);
    sources.sort();

    let work = cx.root.join("build/shells/android");
    let logs = cx.root.join("build/shells/logs");
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let out_jar = work.join("shell-tests.jar");
    let stamp = work.join("shell-tests.jar.sha256");
    let mut h = Sha256::new();
    for p in sources.iter().chain(&compile_cp) {
        h.update(p.to_string_lossy().as_bytes());
        h.update(fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    h.update(inputs.kotlinc.to_string_lossy().as_bytes());
    let digest = hex::encode(h.finalize());
    if out_jar.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        println!("android-shell: shell-tests.jar unchanged since the last compile");
    } else {
        let t = Instant::now();
        let _ = fs::remove_file(&stamp);
        let log = logs.join("android-shell-kotlinc.log");
        let mut c = Command::new(&inputs.kotlinc);
        c.args(&sources)
            .arg("-nowarn")
            .arg("-cp")
            .arg(join_paths(&compile_cp.iter().map(PathBuf::as_path).collect::<Vec<_>>()))
            .arg("-d")
            .arg(&out_jar);
        if let Err(e) = run_logged(&mut c, &log) {
            print_tail(cx, &log);
            return Err(format!("kotlinc: {e} (see {})", rel(&cx.root, &log)));
        }
        fs::write(&stamp, &digest).map_err(|e| e.to_string())?;
        println!("android-shell: shell-tests.jar compiled in {:.0} s", t.elapsed().as_secs_f64());
    }

    let mut cp: Vec<&Path> = vec![out_jar.as_path()];
    cp.extend(compile_cp.iter().map(PathBuf::as_path));
    cp.extend(run_cp.iter().map(PathBuf::as_path));
    let log = logs.join("android-shell.log");
    let mut c = Command::new("java");
    c.arg(format!("-Djna.library.path={}", inputs.lib_dir.display()))
        .arg("-cp")
        .arg(join_paths(&cp))
        .arg("org.junit.runner.JUnitCore")
        .args(ANDROID_TESTS)
        .env("GRIDPATROL_FIXTURES", &inputs.fixtures)
        .env("GRIDPATROL_BIN", &inputs.gridpatrol);
    let text = match run_logged(&mut c, &log) {
        Ok(text) => text,
        Err(e) => {
            print_tail(cx, &log);
            return Err(format!("{e} (see {})", rel(&cx.root, &log)));
        }
    };
    let closing =
        closing_line(&text, |l| l.starts_with("OK (")).ok_or_else(|| "no closing \"OK (N tests)\" line".to_string())?;
    Ok(format!("{closing}  [{:.1} s]", started.elapsed().as_secs_f64()))
}

fn print_tail(cx: &Ctx, log: &Path) {
    eprintln!("---- its output ({}):", rel(&cx.root, log));
    if let Ok(text) = fs::read_to_string(log) {
        let lines: Vec<&str> = text.lines().collect();
        for l in &lines[lines.len().saturating_sub(80)..] {
            eprintln!("  {l}");
        }
    }
}
