//! The demo service, run as a real child process on a free loopback port.

mod common;

use std::time::Duration;

use common::{DemoProcess, get};

const T: Duration = Duration::from_secs(5);

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metric line starting with {prefix}:\n{text}"))
}

#[test]
fn serves_work_health_and_metrics_and_counts_requests() {
    let demo = DemoProcess::start("web");
    assert_eq!(
        get(&format!("{}/healthz", demo.url()), T).unwrap(),
        (200, "ok\n".to_owned())
    );
    for _ in 0..3 {
        let (status, body) = get(&format!("{}/", demo.url()), T).unwrap();
        assert_eq!(status, 200);
        assert!(body.starts_with("ok "), "{body}");
    }
    let (status, text) = get(&format!("{}/metrics", demo.url()), T).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        metric(&text, "mend_demo_requests_total{service=\"web\"}"),
        3.0
    );
    assert_eq!(
        metric(&text, "mend_demo_errors_total{service=\"web\"}"),
        0.0
    );
    assert_eq!(
        metric(
            &text,
            "mend_demo_request_duration_seconds_count{service=\"web\"}"
        ),
        3.0
    );
    assert!(metric(&text, "process_resident_memory_bytes") > 0.0);
    assert_eq!(get(&format!("{}/nope", demo.url()), T).unwrap().0, 404);
}

#[test]
fn error_and_slow_faults_show_in_responses_and_metrics_and_clear() {
    let demo = DemoProcess::start("api");
    let url = demo.url();
    assert_eq!(
        get(&format!("{url}/fault/errors?ratio=0.5"), T).unwrap().0,
        200
    );
    let statuses: Vec<u16> = (0..4)
        .map(|_| get(&format!("{url}/"), T).unwrap().0)
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 500).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(get(&format!("{url}/fault/slow?ms=120"), T).unwrap().0, 200);
    get(&format!("{url}/"), T).unwrap();
    let (_, text) = get(&format!("{url}/metrics"), T).unwrap();
    assert_eq!(metric(&text, "mend_demo_errors_total"), 2.0);
    assert_eq!(
        metric(&text, "mend_demo_fault{service=\"api\",kind=\"slow\"}"),
        1.0
    );
    // The slow request is in the 0.25 s bucket but not the 0.1 s one.
    let le_01 = metric(
        &text,
        "mend_demo_request_duration_seconds_bucket{service=\"api\",le=\"0.1\"}",
    );
    let le_025 = metric(
        &text,
        "mend_demo_request_duration_seconds_bucket{service=\"api\",le=\"0.25\"}",
    );
    assert_eq!(le_025 - le_01, 1.0, "{text}");
    assert_eq!(get(&format!("{url}/fault/clear"), T).unwrap().0, 200);
    let (_, text) = get(&format!("{url}/metrics"), T).unwrap();
    assert_eq!(
        metric(&text, "mend_demo_fault{service=\"api\",kind=\"slow\"}"),
        0.0
    );
    assert_eq!(
        get(&format!("{url}/fault/errors?ratio=7"), T).unwrap().0,
        400
    );
}

#[test]
fn leak_grows_resident_memory() {
    let demo = DemoProcess::start("leaky");
    let url = demo.url();
    let rss = |t: &str| metric(t, "process_resident_memory_bytes");
    let before = rss(&get(&format!("{url}/metrics"), T).unwrap().1);
    get(&format!("{url}/fault/leak?mib_per_s=40&max_mib=16"), T).unwrap();
    // 4 MiB every 100 ms up to the 16 MiB cap; poll (the machine may be busy).
    let cap = 16.0 * 1024.0 * 1024.0;
    let mut text = String::new();
    for _ in 0..100 {
        text = get(&format!("{url}/metrics"), T).unwrap().1;
        if metric(&text, "mend_demo_leaked_bytes") >= cap {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        metric(&text, "mend_demo_leaked_bytes"),
        cap,
        "grows to max_mib"
    );
    std::thread::sleep(Duration::from_millis(300));
    let (_, later) = get(&format!("{url}/metrics"), T).unwrap();
    assert_eq!(
        metric(&later, "mend_demo_leaked_bytes"),
        cap,
        "and stops there"
    );
    // Regression: demanding the whole 16 MiB in RSS failed on CI (15.1 MiB measured): the
    // allocator and the kernel's page accounting keep a little slack. 12 MiB still proves growth.
    assert!(
        rss(&later) >= before + 12.0 * 1024.0 * 1024.0,
        "rss {} -> {}",
        before,
        rss(&later)
    );
}

#[test]
fn crash_exits_and_hang_stops_answering() {
    let mut crashing = DemoProcess::start("c");
    get(&format!("{}/fault/crash", crashing.url()), T).unwrap();
    let mut status = None;
    for _ in 0..250 {
        status = crashing.try_wait();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status.and_then(|s| s.code()), Some(70));

    let hanging = DemoProcess::start("h");
    get(&format!("{}/fault/hang", hanging.url()), T).unwrap();
    let r = get(
        &format!("{}/healthz", hanging.url()),
        Duration::from_millis(300),
    );
    assert!(r.is_err(), "a hung service answered: {r:?}");
}
