# Generates the held-out evaluation scenarios (run from the repository root:
# python3 scenarios/eval/generate.py scenarios/eval). They differ from the training scenarios
# (tiny, default, large) in size, topology, application and fault mix; calibration sources are in
# scenarios/README.md ("Held-out evaluation scenarios") and next to each fault process below.
# Reuses the helpers of scenarios/generate.py (header, service, replicas_for, prices, TAIL).
import math, pathlib, sys

_src = (pathlib.Path(__file__).resolve().parent.parent / "generate.py").read_text()
_helpers = "\n".join(l for l in _src.splitlines() if not l.startswith("open("))
exec(_helpers)  # defines GiB, header, REGIONS, PRICE16, service, replicas_for, TAIL

def regions_of(names, zones_per_region):
    out = []
    for r, p, zs in REGIONS:
        if r in names:
            zl = ", ".join(f'"{z}"' for z in zs[:zones_per_region])
            out.append(f'[[regions]]\nname = "{r}"\nprovider = "{p}"\nzones = [{zl}]\n')
    return "\n".join(out)

def pools_of(names, zones_per_region, count, cores):
    out = []
    for r, p, zs in REGIONS:
        if r in names:
            for z in zs[:zones_per_region]:
                price = PRICE16[p] * cores / 16
                out.append(f'[[node_pools]]\nzone = "{z}"\ncount = {count}\ncpu_cores = {cores:.1f}\n'
                           f'memory_bytes = {cores*4*GiB}\ndisk_bytes = {500*GiB}\nprice_usd_per_hour = {price:.4f}\n')
    return "\n".join(out)

def process(kind, up, down, comment):
    return f'[[faults.processes]]   # {comment}\nkind = "{kind}"\nup = {up}\ndown = {down}\n'

# Field-rate processes shared with the training scenarios (scenarios/generate.py FAULTS), so the
# hardware rates keep their sources; each scenario adds or changes the processes it is about.
NODE = process("node_crash", '{ dist = "weibull", shape = 0.7, mean = "657d" }',
               '{ dist = "lognormal", median = "1h", sigma = 1.0 }',
               "Dean 2008: ~1,000 machine failures a year in a 1,800-machine cluster")
DISK = process("disk_full", '{ dist = "weibull", shape = 0.7, mean = "12167d" }',
               '{ dist = "lognormal", median = "2h", sigma = 1.0 }',
               "Backblaze 2024-25 AFR 1.4-1.6 %, field 2-4 % (Schroeder & Gibson FAST 2007)")
CRASH = process("process_crash", '{ dist = "weibull", shape = 0.7, mean = "182d" }',
                '{ dist = "lognormal", median = "20m", sigma = 1.0 }',
                "assumption: a replica's process crashes twice a year")
LEAK = process("memory_leak", '{ dist = "exponential", mean = "365d" }',
               '{ dist = "lognormal", median = "4h", sigma = 0.5 }', "assumption: one leak per replica-year")
HOG = process("cpu_hog", '{ dist = "exponential", mean = "365d" }',
              '{ dist = "lognormal", median = "30m", sigma = 0.8 }', "assumption: one noisy-neighbour episode per node-year")
DEPLOY = process("bad_deploy", '{ dist = "exponential", mean = "60d" }',
                 '{ dist = "lognormal", median = "2h", sigma = 0.5 }', "assumption: a bad release per service every two months")
SURGE = process("load_surge", '{ dist = "exponential", mean = "30d" }',
                '{ dist = "lognormal", median = "20m", sigma = 0.5 }', "assumption: a surge per entry service monthly")
ZONE = process("zone_outage", '{ dist = "weibull", shape = 0.7, mean = "821d" }',
               '{ dist = "lognormal", median = "1h", sigma = 1.0 }', "Dean 2008: ~20 rack failures a year per cluster (~45 racks)")

def app(spec, entry_rps, default_regions, primary, standby):
    """Services of a spec list (topological order): replicas sized for 1.3 x peak load at 30 % utilisation."""
    load = {s[0]: 0.0 for s in spec}
    load[spec[0][0]] = entry_rps
    for name, deps, calls, *_ in spec:
        for d in deps:
            load[d] += load[name] * calls
    out = []
    for name, deps, calls, cap, lat, cpu, mem, slo in spec:
        s = dict(name=name, deps=deps, calls=calls, cap=cap, lat=lat, cpu=cpu, mem=int(mem*GiB), slo=slo,
                 replicas=replicas_for(load[name]*1.3, cap))
        if name in primary:
            s.update(regions=[primary[name]], standby=standby[name], spread="zone")
        else:
            s.update(regions=default_regions, spread="provider")
        out.append(service(s))
    return "\n".join(out)

def traffic(entries, amplitude):
    out = [f'[traffic]\ndaily_amplitude_ratio = {amplitude}\npeak_at = "14h"\nnoise_ratio = 0.05\n[traffic.retry]\nmax_attempts = 3\n']
    for name, rps in entries:
        out.append(f'[[traffic.entries]]\nservice = "{name}"\nbase_rps = {rps:.1f}\n')
    return "\n".join(out)

def mid_network():
    """12-service payments application on 4 regions of 3 providers; network faults dominate."""
    regs = ["us-east-1", "eu-west-1", "eastus", "us-central1"]
    spec = [
        # name, deps, calls, capacity rps, base latency s, cpu cores, memory GiB, p99 SLO s
        ("web", ["gateway"], 1.0, 400, 0.01, 1.0, 0.5, 2.0),
        ("gateway", ["accounts", "payments", "notifications"], 0.5, 500, 0.005, 1.0, 0.5, 1.8),
        ("accounts", ["accounts-db", "cache"], 1.0, 300, 0.01, 1.0, 0.5, 0.4),
        ("payments", ["fraud", "ledger-api", "payments-queue"], 0.6, 150, 0.05, 2.0, 1.0, 1.5),
        ("fraud", ["model-server", "cache"], 1.0, 200, 0.03, 2.0, 2.0, 0.6),
        ("model-server", [], 1.0, 150, 0.04, 2.0, 4.0, 0.4),
        ("ledger-api", ["ledger-db"], 1.0, 300, 0.01, 1.0, 0.5, 0.4),
        ("payments-queue", [], 1.0, 800, 0.002, 0.5, 1.0, 0.1),
        ("notifications", [], 1.0, 300, 0.02, 0.5, 0.25, 1.0),
        ("cache", [], 1.0, 2000, 0.001, 1.0, 4.0, 0.05),
        ("accounts-db", [], 1.0, 500, 0.005, 2.0, 8.0, 0.2),
        ("ledger-db", [], 1.0, 400, 0.008, 2.0, 8.0, 0.2),
    ]
    out = [header("eval-mid-network", "4h", "5s",
                  "# eval-mid-network (held out): a 12-service payments application on 4 regions of 3 providers,\n"
                  "# 36 nodes, 4 simulated hours; network faults (delay, loss, partitions) are most of the faults.")]
    out.append(regions_of(regs, 3))
    out.append(pools_of(regs, 3, 3, 16))
    out.append(app(spec, 250.0, ["us-east-1", "eastus", "us-central1"],
                   {"accounts-db": "us-east-1", "ledger-db": "eastus"},
                   {"accounts-db": "eu-west-1", "ledger-db": "us-central1"}))
    out.append(traffic([("web", 250.0)], 0.3))
    out.append("[faults]\nrate_multiplier = 20.0\n")
    out += [NODE, DISK, CRASH, LEAK, DEPLOY,
            process("network_delay", '{ dist = "exponential", mean = "10d" }', '{ dist = "lognormal", median = "15m", sigma = 0.8 }',
                    "3x default's rate: degraded inter-service network (Gill et al., SIGCOMM 2011: links and middleboxes cause most datacentre network failures)"),
            process("packet_loss", '{ dist = "exponential", mean = "15d" }', '{ dist = "lognormal", median = "15m", sigma = 0.8 }',
                    "4x default's rate (same source)"),
            process("partition", '{ dist = "exponential", mean = "60d" }', '{ dist = "lognormal", median = "10m", sigma = 0.8 }',
                    "6x default's rate: partitions per zone (Alquraan et al., OSDI 2018: partitions are frequent and cause catastrophic failures)")]
    out.append(TAIL)
    return "\n".join(out)

def large_zones():
    """60 services in 6 layers on 18 zones of 6 regions, 288 nodes, 12 h; zone outages dominate."""
    regs = [r for r, _, _ in REGIONS]
    out = [header("eval-large-zones", "12h", "5s",
                  "# eval-large-zones (held out): 288 nodes in 18 zones of 6 regions and 3 providers, 60 services\n"
                  "# in 6 layers (10 entry services, 10 stateful), 12 simulated hours; zone outages are frequent.")]
    out.append(regions_of(regs, 3))
    out.append(pools_of(regs, 3, 16, 8))
    L, W = 6, 10
    for layer in range(L):
        for j in range(W):
            name = f"z{layer}-{j:02d}"
            deps = [] if layer == L-1 else [f"z{layer+1}-{j:02d}", f"z{layer+1}-{(j+3) % W:02d}"]
            s = dict(name=name, deps=deps, calls=0.5, cap=120, lat=0.01, cpu=1.0, mem=int(0.5*GiB),
                     slo=0.4 + 0.05*(L-layer), replicas=4, spread="zone", regions=[regs[2*(j % 3)]])
            if layer == L-1:
                p = j % 3
                s.update(regions=[regs[2*p+1]], standby=regs[2*p], lat=0.005, cpu=2.0, mem=4*GiB, slo=0.2, replicas=3)
            out.append(service(s))
    out.append(traffic([(f"z0-{j:02d}", 80.0) for j in range(W)], 0.4))
    out.append("[faults]\nrate_multiplier = 10.0\n")
    out += [NODE, DISK, CRASH, LEAK, HOG, DEPLOY, SURGE,
            process("zone_outage", '{ dist = "weibull", shape = 0.7, mean = "90d" }', '{ dist = "lognormal", median = "45m", sigma = 0.8 }',
                    "9x Dean's rack rate: whole-zone losses (power, cooling) as in GCP europe-west9-a, April 2023, and AWS use1-az4, Dec 2021"),
            process("partition", '{ dist = "exponential", mean = "365d" }', '{ dist = "lognormal", median = "10m", sigma = 0.8 }',
                    "assumption: a network partition per zone-year (as default)")]
    out.append('[[faults.scripted]]\nat = "4h"\nkind = "zone_outage"\ntarget = "eu-west-1a"\nduration = "1h"\n')
    out.append('[[faults.scripted]]\nat = "8h"\nkind = "zone_outage"\ntarget = "eastus-2"\nduration = "40m"\n')
    out.append(TAIL)
    return "\n".join(out)

def regional():
    """16 services on 6 regions; correlated regional failures: a region outage with its provider's
    control plane, a partition next door and the surge of traffic moving away."""
    regs = [r for r, _, _ in REGIONS]
    spec = [
        ("edge", ["api"], 1.0, 400, 0.01, 1.0, 0.5, 2.0),
        ("api", ["identity", "content", "playback", "billing", "profiles"], 0.4, 500, 0.005, 1.0, 0.5, 1.8),
        ("identity", ["identity-db", "sessions"], 1.0, 300, 0.01, 1.0, 0.5, 0.3),
        ("content", ["catalog-db", "sessions", "transcode"], 1.0, 250, 0.02, 2.0, 1.0, 0.6),
        ("transcode", [], 0.3, 100, 0.1, 4.0, 4.0, 1.5),
        ("playback", ["content", "cdn-origin", "telemetry"], 1.0, 200, 0.03, 2.0, 1.0, 0.8),
        ("cdn-origin", [], 1.0, 300, 0.02, 2.0, 2.0, 0.5),
        ("telemetry", ["events-db"], 0.5, 600, 0.005, 0.5, 0.5, 1.0),
        ("billing", ["billing-db", "identity"], 1.0, 150, 0.05, 1.0, 1.0, 1.5),
        ("profiles", ["identity-db", "sessions", "recs"], 1.0, 300, 0.01, 1.0, 0.5, 0.4),
        ("recs", ["catalog-db"], 0.5, 120, 0.06, 2.0, 2.0, 1.0),
        ("sessions", [], 1.0, 2000, 0.001, 1.0, 4.0, 0.05),
        ("identity-db", [], 1.0, 500, 0.005, 2.0, 8.0, 0.2),
        ("catalog-db", [], 1.0, 500, 0.005, 2.0, 8.0, 0.2),
        ("billing-db", [], 1.0, 400, 0.008, 2.0, 8.0, 0.2),
        ("events-db", [], 1.0, 800, 0.004, 2.0, 8.0, 0.3),
    ]
    out = [header("eval-regional", "6h", "5s",
                  "# eval-regional (held out): a 16-service streaming application on 6 regions of 3 providers, 72 nodes,\n"
                  "# 6 simulated hours; correlated regional failures (region + control plane + neighbour partition + surge).")]
    out.append(regions_of(regs, 3))
    out.append(pools_of(regs, 3, 4, 16))
    out.append(app(spec, 300.0, ["eastus", "us-central1", "us-east-1"],
                   {"identity-db": "eastus", "catalog-db": "us-central1", "billing-db": "us-east-1", "events-db": "eastus"},
                   {"identity-db": "westeurope", "catalog-db": "europe-west1", "billing-db": "eu-west-1", "events-db": "eu-west-1"}))
    out.append(traffic([("edge", 300.0)], 0.3))
    out.append("[faults]\nrate_multiplier = 10.0\n")
    out += [NODE, DISK, CRASH, LEAK, HOG, DEPLOY, ZONE,
            process("region_outage", '{ dist = "exponential", mean = "3650d" }', '{ dist = "lognormal", median = "1h", sigma = 0.8 }',
                    "assumption: one region-wide outage per region-decade at field rates")]
    # A correlated regional event, after the AWS us-east-1 event of 7 December 2021 (network devices
    # impaired; control-plane APIs of the region unusable for hours while running instances mostly
    # kept serving) and the Azure West Europe event of 5 July 2023 (Storm Poly severed a fibre path
    # between datacentre campuses: packet drops and latency for ~9 h): the region fails, its provider cannot provision, a zone next door is cut off, and the
    # traffic that moves away surges at the edge.
    for at, kind, target, duration in [
        ("1h30m", "region_outage", "eastus", "40m"),
        ("1h30m", "control_plane_outage", "azure", "1h30m"),
        ("1h35m", "partition", "westeurope-1", "20m"),
        ("1h40m", "load_surge", "edge", "30m"),
        ("4h", "region_outage", "us-central1", "30m"),
        ("4h", "control_plane_outage", "gcp", "1h"),
        ("4h5m", "partition", "europe-west1-b", "15m"),
    ]:
        out.append(f'[[faults.scripted]]\nat = "{at}"\nkind = "{kind}"\ntarget = "{target}"\nduration = "{duration}"\n')
    out.append(TAIL)
    return "\n".join(out)

dest = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "scenarios/eval")
(dest / "eval-mid-network.toml").write_text(mid_network())
(dest / "eval-large-zones.toml").write_text(large_zones())
(dest / "eval-regional.toml").write_text(regional())
