//! The quick reliability battery (scenarios 1, 2, 3, 5, 6, 8 of QUALITY.md) as part of the test
//! command: `examples/battery --quick` against three `atomarket serve` processes on PostgreSQL and
//! Redis. The full battery (with the PostgreSQL restart and the auction close) is run by hand, see
//! docs/RELIABILITY.md.

use std::path::PathBuf;
use std::process::Command;

fn battery() -> PathBuf {
    // `--all-targets` compiles examples as (empty) test binaries, not as programs: build the
    // battery program (and the service it starts) in this test's profile first.
    // target/<profile>/deps/battery-<hash>  →  target/<profile>/examples/battery
    let me = std::env::current_exe().expect("the test's own path");
    let profile_dir = me.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let mut build = Command::new(env!("CARGO"));
    build.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "build",
        "--quiet",
        "--example",
        "battery",
        "--bin",
        "atomarket",
    ]);
    if profile_dir.file_name().is_some_and(|name| name == "release") {
        build.arg("--release");
    }
    let built = build.status().expect("run cargo build for the battery");
    assert!(built.success(), "building the battery failed");
    let path = profile_dir.join("examples").join("battery");
    assert!(path.exists(), "{} is missing after the build", path.display());
    path
}

#[test]
fn the_quick_reliability_battery_passes() {
    let output = Command::new(battery()).arg("--quick").output().expect("run the battery");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the battery failed:\n{stdout}");
    assert!(stdout.contains("every scenario passed"), "the battery did not finish:\n{stdout}");
    for n in [1, 2, 3, 5, 6, 8] {
        assert!(stdout.contains(&format!("✔ {n}. ")), "scenario {n} did not pass:\n{stdout}");
    }
}
