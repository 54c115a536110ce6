//! `mend-demo-service`: the demo workload (see `mend_executor::demo`).
//!
//! Usage: `mend-demo-service [--bind ADDR] [--port N] [--name NAME]`. Prints
//! `listening on ADDR:PORT` on its first stdout line once it accepts connections (use `--port 0`
//! for a free port), then serves until killed.

use std::io::Write;

fn usage_error(message: &str) -> ! {
    eprintln!(
        "mend-demo-service: {message}\nusage: mend-demo-service [--bind ADDR] [--port N] [--name NAME]"
    );
    std::process::exit(2)
}

fn main() {
    let mut bind = "127.0.0.1".to_owned();
    let mut port: u16 = 8080;
    let mut name = "demo".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage_error(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--bind" => bind = value,
            "--port" => {
                port = value.parse().unwrap_or_else(|_| {
                    usage_error(&format!(
                        "--port: expected a port number 0-65535, found `{value}`"
                    ))
                })
            }
            "--name" => name = value,
            other => usage_error(&format!("unknown flag `{other}`")),
        }
    }
    let server = match mend_executor::demo::DemoServer::bind(&format!("{bind}:{port}"), &name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    let mut out = std::io::stdout().lock();
    // If stdout is closed nobody reads the port; the service still runs.
    let _ = writeln!(out, "listening on {bind}:{}", server.port());
    let _ = out.flush();
    drop(out);
    server.run();
}
