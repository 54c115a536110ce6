//! `mend execute` from the command line: bad inputs give clear errors before anything starts; a
//! shadow run on three demo-service replicas writes an audit log that `mend audit verify` accepts.
//! (The healing itself, with real Prometheus, is tested in executor/tests/e2e_prometheus.rs.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MEND: &str = env!("CARGO_BIN_EXE_mend");

/// A scratch folder removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mend-execute-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mend(args: &[&str]) -> Output {
    Command::new(MEND).args(args).output().expect("run mend")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `mend-demo-service` beside `mend` (built on demand with the same profile).
fn demo_service() -> PathBuf {
    let bin = Path::new(MEND).with_file_name("mend-demo-service");
    if !bin.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "mend-executor", "--bin", "mend-demo-service"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building mend-demo-service failed");
    }
    bin
}

fn cluster(demo: &Path) -> String {
    format!(
        r#"namespace = "cli"
interval_ms = 200
[[services]]
name = "web"
process = {{ command = "{}", args = ["--port", "{{port}}", "--name", "{{service}}-{{replica}}"], replicas = 3 }}
replica_metrics = {{ up = {{ scrape = "up" }} }}
[guards]
allowlist = ["cli/web"]
"#,
        demo.display()
    )
}

#[test]
fn bad_inputs_are_refused_with_the_file_and_field_named() {
    let dir = Scratch::new("bad");
    let path = dir.0.join("c.toml");
    std::fs::write(
        &path,
        cluster(Path::new("/bin/true")).replace("interval_ms = 200", "interval_ms = 5"),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = mend(&["execute", "--baseline", "rule", "--cluster", p]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("c.toml") && err.contains("interval_ms"),
        "{err}"
    );

    std::fs::write(&path, cluster(Path::new("/bin/true"))).unwrap();
    let out = mend(&["execute", "--baseline", "magic", "--cluster", p]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("magic") && err.contains("runbook"),
        "{err}"
    );

    let policy = dir.0.join("corrupt.safetensors");
    std::fs::write(&policy, b"not a policy").unwrap();
    let out = mend(&[
        "execute",
        "--policy",
        policy.to_str().unwrap(),
        "--cluster",
        p,
    ]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("corrupt.safetensors"),
        "{err}"
    );

    let out = mend(&["execute", "--cluster", p]);
    assert!(!out.status.success(), "a policy or a baseline is required");
}

#[test]
fn shadow_run_writes_a_verifiable_audit_log_and_exits_cleanly() {
    let dir = Scratch::new("shadow");
    let path = dir.0.join("c.toml");
    std::fs::write(&path, cluster(&demo_service())).unwrap();
    let audit = dir.0.join("audit.jsonl");
    let out = mend(&[
        "execute",
        "--baseline",
        "rule",
        "--cluster",
        path.to_str().unwrap(),
        "--audit",
        audit.to_str().unwrap(),
        "--max-steps",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("shadow mode"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(text.lines().count(), 4, "genesis + 3 decisions");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains(r#""mode":"shadow""#))
    );
    let verify = mend(&["audit", "verify", audit.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}
