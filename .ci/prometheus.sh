#!/usr/bin/env bash
# Installs Prometheus (the Debian package) when it is missing, for the executor's end-to-end test
# (experiments/tests/execute_e2e.rs). The test runs the package's binary on 127.0.0.1 with its own
# temporary config and storage directory; no systemd service is needed or started.
# Usage: .ci/prometheus.sh   (as root, or with sudo available)
set -euo pipefail

if command -v prometheus >/dev/null 2>&1; then
    echo "prometheus already installed: $(command -v prometheus)"
    prometheus --version 2>&1 | head -n 1
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-install-recommends: the server binary only (no node exporter, no web console packages).
$SUDO apt-get install -y -qq --no-install-recommends prometheus
# The package's maintainer scripts may start a service where an init system runs; the test never
# uses it (it starts its own instance on a free port), so stop it if it was started.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl stop prometheus || true
fi
command -v prometheus
prometheus --version 2>&1 | head -n 1
