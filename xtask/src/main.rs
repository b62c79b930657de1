//! GridPatrol's build tasks (the matrix-rust-sdk `xtask` idea: Rust instead of shell scripts).
//!
//! - `cargo xtask bindings [--release]`: build `libgridpatrol_ffi` and generate the Kotlin,
//!   Swift and Python sources into `build/bindings/{kotlin,swift,python}` (never committed),
//!   plus `build/bindings/kotlin-android` (the same API with Android's object cleaner).
//! - `cargo xtask test-bindings [kotlin|swift|python …]`: install the toolchains if missing
//!   (scripts/install-binding-toolchains.sh), build the `gridpatrol` binary the suites run HQ
//!   with, generate the bindings, and run the suites in bindings/tests/ — Python unittest,
//!   Kotlin/JUnit 4 on the JVM, Swift/XCTest through SwiftPM inside the Debian-trixie chroot.
//!   Prints each suite's closing line; exits non-zero if any suite failed.
//! - `cargo xtask test-shells`: the platform shells' suites (src/shells.rs): the Android shell's
//!   presenters, sync policy and a worker's day, against the real core and a live HQ.
//! - `cargo xtask ci`: the lint gate — `cargo fmt --check`, clippy on every target with
//!   warnings denied, and `cargo doc --no-deps` with warnings denied. `scripts/test.sh` runs it
//!   before the tests.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};

mod shells;
mod shells_ios;

type Result<T, E = String> = std::result::Result<T, E>;

const LIB: &str = "gridpatrol_ffi";
const FFI_PACKAGE: &str = "gridpatrol-ffi";
const SUITES: [&str; 3] = ["python", "kotlin", "swift"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bindings") => {
            let release = args.iter().any(|a| a == "--release");
            Ctx::new(release).and_then(|cx| {
                let _one_at_a_time = cx.lock_out_dir()?;
                cx.bindings().map(|_| ())
            })
        }
        Some("ci") => lint_gate(),
        Some("test-shells") => Ctx::new(args.iter().any(|a| a == "--release")).and_then(|cx| {
            let _one_at_a_time = cx.lock_out_dir()?;
            shells::finish(vec![("android-shell", shells::android(&cx)), ("ios-shell", shells_ios::ios(&cx))])
        }),
        Some("test-bindings") => {
            let release = args.iter().any(|a| a == "--release");
            let only: Vec<&str> = args[1..].iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
            for s in &only {
                if !SUITES.contains(s) {
                    eprintln!("unknown suite {s}; expected some of: {}", SUITES.join(", "));
                    return ExitCode::from(2);
                }
            }
            Ctx::new(release).and_then(|cx| {
                let _one_at_a_time = cx.lock_out_dir()?;
                cx.test_bindings(if only.is_empty() { &SUITES } else { &only })
            })
        }
        _ => {
            eprintln!(
                "usage:\n  cargo xtask ci                          the lint gate: fmt --check, clippy -D warnings, doc -D warnings\n  \
                 cargo xtask bindings [--release]        build the library, generate Kotlin/Swift/Python into build/bindings\n  \
                 cargo xtask test-bindings [--release] [python] [kotlin] [swift]\n                                          run the binding suites against a live HQ\n  \
                 cargo xtask test-shells [--release]     run the platform shells' suites (android-shell, ios-shell)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask ci`: formatting, clippy and rustdoc, each failing on any warning.
fn lint_gate() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("xtask has no parent folder")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    type Step<'a> = (&'a str, &'a [&'a str], Option<(&'a str, &'a str)>);
    let steps: [Step<'_>; 3] = [
        ("fmt", &["fmt", "--all", "--check"], None),
        ("clippy", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], None),
        ("doc", &["doc", "--workspace", "--no-deps", "--locked"], Some(("RUSTDOCFLAGS", "-D warnings"))),
    ];
    for (name, args, env) in steps {
        let started = Instant::now();
        let mut c = Command::new(&cargo);
        c.args(args).current_dir(root);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        run(&mut c).map_err(|e| format!("lint gate, {name}: {e}"))?;
        println!("ci: {name} ok ({:.1} s)", started.elapsed().as_secs_f64());
    }
    Ok(())
}

struct Ctx {
    root: PathBuf,
    target: PathBuf,
    profile: &'static str,
    release: bool,
    out: PathBuf,
}

/// What `bindings` produced.
struct Generated {
    /// The cdylib, as built.
    cdylib: PathBuf,
}

impl Ctx {
    fn new(release: bool) -> Result<Ctx> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("xtask has no parent folder")?.to_path_buf();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) => root.join(t),
            None => root.join("target"),
        };
        let profile = if release { "release" } else { "debug" };
        Ok(Ctx { out: root.join("build").join("bindings"), root, target, profile, release })
    }

    /// Runs in one checkout share build/bindings and the chroot's mounts: one at a time.
    fn lock_out_dir(&self) -> Result<fs::File> {
        fs::create_dir_all(&self.out).map_err(|e| format!("{}: {e}", self.out.display()))?;
        let path = self.out.join(".xtask.lock");
        let f = fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if f.try_lock().is_err() {
            println!("waiting for another `cargo xtask` run in this checkout…");
            f.lock().map_err(|e| format!("lock {}: {e}", path.display()))?;
        }
        Ok(f)
    }

    fn cargo(&self, args: &[&str]) -> Result<()> {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.args(args).current_dir(&self.root);
        if self.release {
            c.arg("--release");
        }
        run(&mut c)
    }

    /// Build the library and generate the three languages' sources.
    fn bindings(&self) -> Result<Generated> {
        let t = Instant::now();
        // Only the cdylib: the staticlib (iOS) is built per Apple target, see bindings/README.md.
        self.cargo(&["rustc", "--quiet", "-p", FFI_PACKAGE, "--lib", "--crate-type", "cdylib"])?;
        self.cargo(&["build", "--quiet", "-p", "uniffi-bindgen"])?;
        let dir = self.target.join(self.profile);
        let cdylib = dir.join(format!("lib{LIB}.so"));
        let bindgen = dir.join("uniffi-bindgen");
        // The JVM flavour of Kotlin is the one tested here; the Android flavour differs only in
        // how objects are freed (bindings/uniffi-android.toml).
        let android_config = self.root.join("bindings/uniffi-android.toml");
        let flavours: [(&str, &str, Option<&Path>); 4] = [
            ("kotlin", "kotlin", None),
            ("kotlin-android", "kotlin", Some(&android_config)),
            ("swift", "swift", None),
            ("python", "python", None),
        ];
        for (folder, lang, config) in flavours {
            let out = self.out.join(folder);
            if out.exists() {
                fs::remove_dir_all(&out).map_err(|e| format!("clean {}: {e}", out.display()))?;
            }
            let mut c = Command::new(&bindgen);
            c.args(["generate", "--no-format", "--language", lang]);
            if let Some(config) = config {
                c.arg("--config").arg(config);
            }
            run(c
                .arg("--out-dir")
                .arg(&out)
                .arg(&cdylib)
                .current_dir(self.root.join("bindings"))
                .stdout(Stdio::null()))?;
        }
        // One C module over the three crates' headers, for the one Swift module GridPatrol
        // (uniffi writes a modulemap per crate; an app and the Swift suite need a single one).
        let swift = self.out.join("swift");
        let headers: Vec<String> = files_with_ext(&swift, "h")?
            .iter()
            .filter_map(|h| h.file_name().map(|n| format!("    header \"{}\"\n", n.to_string_lossy())))
            .collect();
        fs::write(
            swift.join("module.modulemap"),
            format!("module GridPatrolFFI {{\n{}    link \"{LIB}\"\n    export *\n}}\n", headers.concat()),
        )
        .map_err(|e| format!("module.modulemap: {e}"))?;
        // The hand-written adapters that turn screen watches into a Flow / AsyncThrowingStream /
        // async iterator ship beside the generated sources (bindings/adapters).
        let adapters = self.root.join("bindings/adapters");
        for (from, ext, to) in [
            ("kotlin", "kt", "kotlin/org/gridpatrol/core"),
            ("kotlin", "kt", "kotlin-android/org/gridpatrol/core"),
            ("swift", "swift", "swift"),
            ("python", "py", "python"),
        ] {
            for f in files_with_ext(&adapters.join(from), ext)? {
                let name = f.file_name().ok_or("adapter file name")?;
                copy_if_changed(&f, &self.out.join(to).join(name))?;
            }
        }
        // The generated Python module loads the library from its own folder.
        copy_if_changed(&cdylib, &self.out.join("python").join(format!("lib{LIB}.so")))?;
        println!(
            "bindings: {} → {}/{{kotlin,kotlin-android,swift,python}} ({:.1} s)",
            rel(&self.root, &cdylib),
            rel(&self.root, &self.out),
            t.elapsed().as_secs_f64()
        );
        Ok(Generated { cdylib })
    }

    fn test_bindings(&self, suites: &[&str]) -> Result<()> {
        let started = Instant::now();
        let tools = install_toolchains(&self.root)?;
        // HQ for the suites: the real `gridpatrol hq serve`.
        self.cargo(&["build", "--quiet", "-p", "gridpatrol", "--bin", "gridpatrol"])?;
        let generated = self.bindings()?;
        // Everything a suite needs, under build/bindings (the folder the Swift chroot sees).
        let lib_dir = self.out.join("lib");
        let bin_dir = self.out.join("bin");
        copy_if_changed(&generated.cdylib, &lib_dir.join(format!("lib{LIB}.so")))?;
        let gridpatrol = bin_dir.join("gridpatrol");
        copy_if_changed(&self.target.join(self.profile).join("gridpatrol"), &gridpatrol)?;
        let logs = self.out.join("logs");
        fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        // The photos the suites attach, from the shared test support (GRIDPATROL_FIXTURES).
        let fixtures = self.out.join("fixtures");
        fs::create_dir_all(&fixtures).map_err(|e| e.to_string())?;
        for variant in 0..10u8 {
            let jpeg = gridpatrol_testing::tiny_jpeg_with_comment(variant);
            write_if_changed(&fixtures.join(format!("photo-{variant}.jpg")), &jpeg)?;
        }
        // A camera-sized photo (2400x1800) the store downscales at capture (issue 12).
        write_if_changed(&fixtures.join("camera.jpg"), &gridpatrol_testing::noisy_jpeg(2400, 1800, 1, 90))?;

        let mut results: BTreeMap<usize, (String, Result<String>, f64)> = BTreeMap::new();
        for (i, suite) in suites.iter().enumerate() {
            let t = Instant::now();
            let log = logs.join(format!("{suite}.log"));
            let outcome = match *suite {
                "python" => self.run_python(&gridpatrol, &fixtures, &log),
                "kotlin" => self.run_kotlin(&tools, &lib_dir, &gridpatrol, &fixtures, &log),
                "swift" => self.run_swift(&tools, &lib_dir, &gridpatrol, &fixtures, &log),
                _ => unreachable!(),
            };
            if let Err(e) = &outcome {
                eprintln!("---- {suite} failed: {e}; its output ({}):", rel(&self.root, &log));
                if let Ok(text) = fs::read_to_string(&log) {
                    let lines: Vec<&str> = text.lines().collect();
                    for l in &lines[lines.len().saturating_sub(80)..] {
                        eprintln!("  {l}");
                    }
                }
            }
            results.insert(i, (suite.to_string(), outcome, t.elapsed().as_secs_f64()));
        }

        println!("\nbinding suites (logs in {}):", rel(&self.root, &logs));
        let mut failed = 0;
        for (suite, outcome, secs) in results.values() {
            match outcome {
                Ok(closing) => println!("  {suite:<7} {closing}  [{secs:.1} s]"),
                Err(e) => {
                    failed += 1;
                    println!("  {suite:<7} FAILED: {e}  [{secs:.1} s]");
                }
            }
        }
        println!("test-bindings: {:.1} s in total", started.elapsed().as_secs_f64());
        if failed > 0 {
            return Err(format!("{failed} binding suite(s) failed"));
        }
        Ok(())
    }

    // ---------- Python ----------

    fn run_python(&self, gridpatrol: &Path, fixtures: &Path, log: &Path) -> Result<String> {
        let tests = self.root.join("bindings/tests/python");
        let mut c = Command::new("python3");
        c.args(["-m", "unittest", "-v", "test_bindings"])
            .current_dir(&tests)
            .env("PYTHONPATH", join_paths(&[&self.out.join("python"), &tests]))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("GRIDPATROL_FIXTURES", fixtures)
            .env("GRIDPATROL_BIN", gridpatrol);
        let text = run_logged(&mut c, log)?;
        closing_line(&text, |l| l == "OK" || l.starts_with("OK (")).ok_or_else(|| "no closing \"OK\" line".to_string())
    }

    // ---------- Kotlin ----------

    fn run_kotlin(
        &self,
        tools: &Tools,
        lib_dir: &Path,
        gridpatrol: &Path,
        fixtures: &Path,
        log: &Path,
    ) -> Result<String> {
        let kotlin_lib = tools.kotlinc.parent().and_then(Path::parent).ok_or("kotlinc path")?.join("lib");
        let jar = |p: &str| -> Result<PathBuf> {
            let path = if p.starts_with('/') { PathBuf::from(p) } else { kotlin_lib.join(p) };
            path.exists().then_some(path.clone()).ok_or_else(|| format!("missing {}", path.display()))
        };
        let compile_cp = [
            jar("/usr/share/java/jna.jar")?,
            jar("/usr/share/java/junit4.jar")?,
            jar("kotlinx-coroutines-core-jvm.jar")?,
        ];
        let run_cp = [jar("kotlin-stdlib.jar")?, jar("/usr/share/java/hamcrest.jar")?];

        let mut sources: Vec<PathBuf> = files_with_ext(&self.out.join("kotlin"), "kt")?;
        sources.extend(files_with_ext(&self.root.join("bindings/tests/kotlin"), "kt")?);
        sources.sort();
        let work = self.out.join("kotlin-test");
        fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let out_jar = work.join("tests.jar");
        let stamp = work.join("tests.jar.sha256");
        // One compile per run at most (15–40 s on 2 cores), none when nothing changed.
        let mut h = Sha256::new();
        for p in sources.iter().chain(&compile_cp) {
            h.update(p.to_string_lossy().as_bytes());
            h.update(fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
        }
        h.update(tools.kotlinc.to_string_lossy().as_bytes());
        let digest = hex::encode(h.finalize());
        let fresh = out_jar.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str());
        let mut compile_note = String::from("compiled");
        if fresh {
            compile_note = "unchanged since the last compile".into();
        } else {
            let t = Instant::now();
            let _ = fs::remove_file(&stamp);
            let mut c = Command::new(&tools.kotlinc);
            c.args(&sources)
                .arg("-nowarn")
                .arg("-cp")
                .arg(join_paths(&compile_cp.iter().map(PathBuf::as_path).collect::<Vec<_>>()))
                .arg("-d")
                .arg(&out_jar);
            run_logged(&mut c, &work.join("kotlinc.log"))
                .map_err(|e| format!("kotlinc: {e} (see {})", work.join("kotlinc.log").display()))?;
            fs::write(&stamp, &digest).map_err(|e| e.to_string())?;
            compile_note = format!("{compile_note} in {:.0} s", t.elapsed().as_secs_f64());
        }
        println!("kotlin: tests.jar {compile_note}");
        let mut cp: Vec<&Path> = vec![out_jar.as_path()];
        cp.extend(compile_cp.iter().map(PathBuf::as_path));
        cp.extend(run_cp.iter().map(PathBuf::as_path));
        let mut c = Command::new("java");
        c.arg(format!("-Djna.library.path={}", lib_dir.display()))
            .arg("-cp")
            .arg(join_paths(&cp))
            .args(["org.junit.runner.JUnitCore", "org.gridpatrol.tests.GridPatrolBindingsTest"])
            .env("GRIDPATROL_FIXTURES", fixtures)
            .env("GRIDPATROL_BIN", gridpatrol);
        let text = run_logged(&mut c, log)?;
        closing_line(&text, |l| l.starts_with("OK (")).ok_or_else(|| "no closing \"OK (N tests)\" line".to_string())
    }

    // ---------- Swift ----------

    fn run_swift(
        &self,
        tools: &Tools,
        lib_dir: &Path,
        gridpatrol: &Path,
        fixtures: &Path,
        log: &Path,
    ) -> Result<String> {
        // The SwiftPM package: the suite's Package.swift and tests, the generated Swift source,
        // and the C module (header + module.modulemap: swiftc ignores any other name).
        let pkg = self.out.join("swift-package");
        let suite = self.root.join("bindings/tests/swift");
        let gen = self.out.join("swift");
        copy_if_changed(&suite.join("Package.swift"), &pkg.join("Package.swift"))?;
        for f in files_with_ext(&suite.join("Tests"), "swift")? {
            let relp = f.strip_prefix(&suite).map_err(|e| e.to_string())?;
            copy_if_changed(&f, &pkg.join(relp))?;
        }
        // One Swift module from the three crates' sources (protocol, core, bindings: the apps
        // see each type where it is defined), and one C module over their three headers.
        for f in files_with_ext(&gen, "swift")? {
            let name = f.file_name().ok_or("swift file name")?;
            copy_if_changed(&f, &pkg.join("Sources/GridPatrol").join(name))?;
        }
        for f in files_with_ext(&gen, "h")?.into_iter().chain([gen.join("module.modulemap")]) {
            let name = f.file_name().ok_or("header name")?;
            copy_if_changed(&f, &pkg.join("Sources/GridPatrolFFI").join(name))?;
        }

        // Run inside the chroot with build/bindings mounted at the same path, so every path
        // (package, library, HQ binary, logs) reads the same inside and out.
        let root = &tools.swift_root;
        let _proc = Mount::new("proc", &root.join("proc"), &["-t", "proc"])?;
        let inside = root.join(self.out.strip_prefix("/").map_err(|e| e.to_string())?);
        let _bind = Mount::new(&self.out.to_string_lossy(), &inside, &["--bind"])?;
        let lib = lib_dir.to_string_lossy();
        let mut c = Command::new("chroot");
        c.arg(root)
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
}

struct Tools {
    kotlinc: PathBuf,
    swift_root: PathBuf,
}

/// scripts/install-binding-toolchains.sh installs what is missing and prints where things are.
fn install_toolchains(root: &Path) -> Result<Tools> {
    let t = Instant::now();
    let out = Command::new("bash")
        .arg(root.join("scripts/install-binding-toolchains.sh"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("install-binding-toolchains.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("install-binding-toolchains.sh failed ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| PathBuf::from(v.trim())))
            .ok_or_else(|| format!("the installer printed no \"{key}\" line"))
    };
    let tools = Tools { kotlinc: find("kotlinc:")?, swift_root: find("swift chroot:")? };
    println!(
        "toolchains: kotlinc {}, swift chroot {} ({:.1} s)",
        tools.kotlinc.display(),
        tools.swift_root.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(tools)
}

/// A mount made for one suite run and undone when dropped (also on failure). A mount that
/// was already there is left alone.
struct Mount {
    at: Option<PathBuf>,
}

impl Mount {
    fn new(what: &str, at: &Path, opts: &[&str]) -> Result<Mount> {
        fs::create_dir_all(at).map_err(|e| format!("{}: {e}", at.display()))?;
        let already = Command::new("mountpoint").arg("-q").arg(at).status().map(|s| s.success()).unwrap_or(false);
        if already {
            return Ok(Mount { at: None });
        }
        run(Command::new("mount").args(opts).arg(what).arg(at))?;
        Ok(Mount { at: Some(at.to_path_buf()) })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(at) = &self.at {
            if !Command::new("umount").arg(at).status().map(|s| s.success()).unwrap_or(false) {
                // Busy (a straggling process): detach it rather than leave it behind.
                let _ = Command::new("umount").arg("-l").arg(at).status();
            }
        }
    }
}

// ---------- helpers ----------

fn run(c: &mut Command) -> Result<()> {
    let status = c.status().map_err(|e| format!("{}: {e}", describe(c)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(c)))
    }
}

/// Run with stdout and stderr into `log` (and return the text); fails on a non-zero exit.
fn run_logged(c: &mut Command, log: &Path) -> Result<String> {
    let file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let status = c
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .status()
        .map_err(|e| format!("{}: {e}", describe(c)))?;
    let text = fs::read_to_string(log).unwrap_or_default();
    if status.success() {
        Ok(text)
    } else {
        Err(format!("{} exited with {status}", program(c)))
    }
}

fn closing_line(text: &str, is_closing: impl Fn(&str) -> bool) -> Option<String> {
    text.lines().rev().map(str::trim).find(|l| is_closing(l)).map(str::to_string)
}

fn program(c: &Command) -> String {
    Path::new(c.get_program()).file_name().unwrap_or(OsStr::new("?")).to_string_lossy().into_owned()
}

fn describe(c: &Command) -> String {
    let mut s = program(c);
    for a in c.get_args().take(6) {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn join_paths(paths: &[&Path]) -> String {
    paths.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>().join(":")
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = entry.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension() == Some(OsStr::new(ext)) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Write only when the content differs, so SwiftPM's and our own caches see unchanged mtimes.
fn write_if_changed(to: &Path, bytes: &[u8]) -> Result<()> {
    if fs::read(to).map(|old| old == bytes).unwrap_or(false) {
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let tmp = to.with_extension("tmp-xtask");
    let mut f = fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(bytes).map_err(|e| e.to_string())?;
    drop(f);
    if let Ok(meta) = fs::metadata(to) {
        let _ = fs::set_permissions(&tmp, meta.permissions());
    }
    fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    write_if_changed(to, &bytes)?;
    let perms = fs::metadata(from).map_err(|e| e.to_string())?.permissions();
    fs::set_permissions(to, perms).map_err(|e| e.to_string())
}
