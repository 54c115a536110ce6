# Generates default.toml and large.toml (run from the repository root: python3 scenarios/generate.py scenarios).
# The files are plain data: edit them directly if you prefer; rerunning this overwrites them.
import math, sys
GiB = 1024**3

def header(name, horizon, tick, comment):
    return f'''{comment}
# Schema, units and calibration sources: scenarios/README.md.

[scenario]
name = "{name}"
model = "cluster"
horizon = "{horizon}"
tick = "{tick}"
scrape_interval = "15s"
decision_interval = "30s"

[[providers]]
name = "aws"
provisioning_delay = "90s"

[[providers]]
name = "azure"
provisioning_delay = "120s"

[[providers]]
name = "gcp"
provisioning_delay = "60s"
'''

REGIONS = [("us-east-1","aws",["us-east-1a","us-east-1b","us-east-1c","us-east-1d"]),
           ("eu-west-1","aws",["eu-west-1a","eu-west-1b","eu-west-1c","eu-west-1d"]),
           ("eastus","azure",["eastus-1","eastus-2","eastus-3","eastus-4"]),
           ("westeurope","azure",["westeurope-1","westeurope-2","westeurope-3","westeurope-4"]),
           ("us-central1","gcp",["us-central1-a","us-central1-b","us-central1-c","us-central1-f"]),
           ("europe-west1","gcp",["europe-west1-b","europe-west1-c","europe-west1-d","europe-west1-e"])]
# On-demand prices of 16 vCPU / 64 GiB general-purpose instances (provider price lists, 2025):
# AWS m5.4xlarge 0.768, Azure D16s v5 0.768, GCP n2-standard-16 0.777 USD/h; 8 vCPU halves them.
PRICE16 = {"aws":0.768,"azure":0.768,"gcp":0.777}

def regions(zones_per_region):
    out=[]
    for r,p,zs in REGIONS:
        zl = ", ".join(f'"{z}"' for z in zs[:zones_per_region])
        out.append(f'[[regions]]\nname = "{r}"\nprovider = "{p}"\nzones = [{zl}]\n')
    return "\n".join(out)

def pools(zones_per_region, counts, cores):
    out=[]
    i=0
    for r,p,zs in REGIONS:
        for z in zs[:zones_per_region]:
            c = counts(i); i+=1
            price = PRICE16[p]*cores/16
            out.append(f'[[node_pools]]\nzone = "{z}"\ncount = {c}\ncpu_cores = {cores:.1f}\nmemory_bytes = {cores*4*GiB}\ndisk_bytes = {500*GiB}\nprice_usd_per_hour = {price:.4f}\n')
    return "\n".join(out)

def service(s):
    lines=[f'[[services]]', f'name = "{s["name"]}"', f'replicas = {s["replicas"]}']
    if "spread" in s: lines.append(f'spread = "{s["spread"]}"')
    if "regions" in s: lines.append("regions = [" + ", ".join(f'"{r}"' for r in s["regions"]) + "]")
    if s.get("deps"): lines.append("depends_on = [" + ", ".join(f'"{d}"' for d in s["deps"]) + "]")
    if s.get("calls",1.0)!=1.0: lines.append(f'calls_per_request = {s["calls"]}')
    lines += [f'capacity_rps = {s["cap"]:.1f}', f'base_latency_seconds = {s["lat"]}', f'cpu_cores = {s["cpu"]:.1f}', f'memory_bytes = {s["mem"]}']
    if s.get("standby"):
        lines += ['[services.replication]', f'standby_region = "{s["standby"]}"', 'write_ratio = 0.3', 'base_lag_seconds = 0.5']
    if s["slo"] >= 1.5: lines.append('timeout_seconds = 5.0')
    lines += ['[services.slo]', f'latency_p99_seconds = {s["slo"]}', 'error_ratio = 0.01']
    return "\n".join(lines)+"\n"

def replicas_for(load, cap, util=0.3, minimum=2):
    return max(minimum, math.ceil(load/(cap*util)))

FAULTS = '''
[faults]
rate_multiplier = {mult}

# Field rates (rate_multiplier = 1); see scenarios/README.md for sources.
[[faults.processes]]   # Dean 2008: ~1,000 machine failures a year in a 1,800-machine cluster
kind = "node_crash"
up = {{ dist = "weibull", shape = 0.7, mean = "657d" }}
down = {{ dist = "lognormal", median = "1h", sigma = 1.0 }}

[[faults.processes]]   # Backblaze 2024-25 disk AFR 1.4-1.6 %, field 2-4 % (Schroeder & Gibson FAST 2007)
kind = "disk_full"
up = {{ dist = "weibull", shape = 0.7, mean = "12167d" }}
down = {{ dist = "lognormal", median = "2h", sigma = 1.0 }}

[[faults.processes]]   # assumption: one noisy-neighbour episode per node-year
kind = "cpu_hog"
up = {{ dist = "exponential", mean = "365d" }}
down = {{ dist = "lognormal", median = "30m", sigma = 0.8 }}

[[faults.processes]]   # assumption: a replica's process crashes twice a year
kind = "process_crash"
up = {{ dist = "weibull", shape = 0.7, mean = "182d" }}
down = {{ dist = "lognormal", median = "20m", sigma = 1.0 }}

[[faults.processes]]   # assumption: one leak per replica-year
kind = "memory_leak"
up = {{ dist = "exponential", mean = "365d" }}
down = {{ dist = "lognormal", median = "4h", sigma = 0.5 }}

[[faults.processes]]   # Dean 2008: ~20 rack failures a year per cluster (~45 racks)
kind = "zone_outage"
up = {{ dist = "weibull", shape = 0.7, mean = "821d" }}
down = {{ dist = "lognormal", median = "1h", sigma = 1.0 }}

[[faults.processes]]   # assumption: network degradations per service, monthly
kind = "network_delay"
up = {{ dist = "exponential", mean = "30d" }}
down = {{ dist = "lognormal", median = "15m", sigma = 0.8 }}

[[faults.processes]]
kind = "packet_loss"
up = {{ dist = "exponential", mean = "60d" }}
down = {{ dist = "lognormal", median = "15m", sigma = 0.8 }}

[[faults.processes]]   # assumption: a bad release per service every two months
kind = "bad_deploy"
up = {{ dist = "exponential", mean = "60d" }}
down = {{ dist = "lognormal", median = "2h", sigma = 0.5 }}

[[faults.processes]]
kind = "load_surge"
up = {{ dist = "exponential", mean = "30d" }}
down = {{ dist = "lognormal", median = "20m", sigma = 0.5 }}
'''

EXTRA_FAULTS = '''
[[faults.processes]]   # assumption: an external dependency of a service fails quarterly
kind = "dependency_failure"
up = { dist = "exponential", mean = "90d" }
down = { dist = "lognormal", median = "10m", sigma = 0.8 }

[[faults.processes]]   # assumption: a retry storm per service quarterly
kind = "retry_storm"
up = { dist = "exponential", mean = "90d" }
down = { dist = "lognormal", median = "10m", sigma = 0.8 }

[[faults.processes]]   # assumption: a network partition per zone-year
kind = "partition"
up = { dist = "exponential", mean = "365d" }
down = { dist = "lognormal", median = "10m", sigma = 0.8 }

[[faults.processes]]   # assumption: two control-plane incidents per provider-year
kind = "control_plane_outage"
up = { dist = "exponential", mean = "182d" }
down = { dist = "lognormal", median = "1h", sigma = 0.8 }

'''

TAIL = '''
[load_balancer]
health_check_interval = "10s"
failure_threshold = 2

[reward]
slo_violation_usd_per_request = 0.001
infra_cost_weight = 1.0
action_cost_weight = 1.0
data_loss_usd_per_write = 0.01
'''

def default():
    US = ["us-east-1","eastus","us-central1"]
    spec = [
      # name, deps, calls, cap, lat, cpu, mem GiB, slo, stateful-standby
      ("frontend", ["api-gateway"], 1.0, 400, 0.01, 1.0, 0.5, 2.0, None),
      ("api-gateway", ["auth","catalog","search","cart","checkout","recommendation","users"], 0.3, 500, 0.005, 1.0, 0.5, 1.8, None),
      ("auth", ["users-db","cache"], 1.0, 300, 0.01, 1.0, 0.5, 0.3, None),
      ("catalog", ["catalog-db","cache"], 1.0, 300, 0.02, 2.0, 1.0, 0.5, None),
      ("search", ["catalog"], 0.5, 150, 0.05, 2.0, 2.0, 0.8, None),
      ("cart", ["cache","inventory"], 1.0, 300, 0.01, 1.0, 0.5, 0.3, None),
      ("checkout", ["payment","orders","shipping","cart"], 1.0, 100, 0.05, 2.0, 1.0, 3.0, None),
      ("payment", [], 1.0, 100, 0.1, 1.0, 0.5, 1.5, None),
      ("orders", ["orders-db","notifications"], 1.0, 200, 0.02, 1.0, 1.0, 1.0, None),
      ("shipping", ["orders-db"], 1.0, 200, 0.02, 1.0, 0.5, 0.5, None),
      ("inventory", ["catalog-db"], 1.0, 300, 0.01, 1.0, 0.5, 0.3, None),
      ("recommendation", ["catalog","reviews"], 0.5, 100, 0.08, 2.0, 2.0, 1.5, None),
      ("reviews", ["catalog-db"], 1.0, 300, 0.02, 1.0, 0.5, 0.5, None),
      ("users", ["users-db","cache"], 1.0, 300, 0.01, 1.0, 0.5, 0.3, None),
      ("notifications", ["email"], 1.0, 300, 0.01, 0.5, 0.25, 1.0, None),
      ("email", [], 1.0, 200, 0.05, 0.5, 0.25, 2.0, None),
      ("cache", [], 1.0, 2000, 0.001, 1.0, 4.0, 0.05, None),
      ("users-db", [], 1.0, 500, 0.005, 2.0, 8.0, 0.2, "eu-west-1"),
      ("catalog-db", [], 1.0, 500, 0.005, 2.0, 8.0, 0.2, "westeurope"),
      ("orders-db", [], 1.0, 400, 0.008, 2.0, 8.0, 0.2, "europe-west1"),
    ]
    primary = {"users-db":"us-east-1","catalog-db":"eastus","orders-db":"us-central1"}
    entry = 300.0
    load = {s[0]:0.0 for s in spec}; load["frontend"]=entry
    for name,deps,calls,*_ in spec:  # spec order is topological
        for d in deps: load[d] += load[name]*calls
    out=[header("default","6h","5s","# default: 3 providers, 6 regions, 20 services, 6 simulated hours, mixed stochastic faults\n# and one scripted region outage (us-east-1, which holds users-db's primary).")]
    out.append(regions(2)); out.append(pools(2, lambda i: 4, 16))
    for name,deps,calls,cap,lat,cpu,mem,slo,standby in spec:
        s=dict(name=name,deps=deps,calls=calls,cap=cap,lat=lat,cpu=cpu,mem=int(mem*GiB),slo=slo,
               replicas=replicas_for(load[name]*1.3,cap))
        if standby: s.update(regions=[primary[name]], standby=standby, spread="zone")
        else: s.update(regions=US, spread="provider")
        out.append(service(s))
    out.append(f'''[traffic]
daily_amplitude_ratio = 0.3
peak_at = "14h"
noise_ratio = 0.05
[[traffic.entries]]
service = "frontend"
base_rps = {entry}
[traffic.retry]
max_attempts = 3
''')
    out.append(FAULTS.format(mult=30.0))
    out.append(EXTRA_FAULTS)
    out.append('''[[faults.scripted]]
at = "3h"
kind = "region_outage"
target = "us-east-1"
duration = "45m"
''')
    out.append(TAIL)
    return "\n".join(out)

def large():
    out=[header("large","1d","5s","# large: 1,000 nodes in 24 zones of 3 providers, 200 services in 10 layers, one simulated day.")]
    out.append(regions(4)); out.append(pools(4, lambda i: 42 if i < 16 else 41, 8))
    L, W = 10, 20
    regs=[r for r,_,_ in REGIONS]
    for layer in range(L):
        for j in range(W):
            name=f"s{layer:02d}-{j:02d}"
            deps=[] if layer==L-1 else [f"s{layer+1:02d}-{j:02d}", f"s{layer+1:02d}-{(j+1)%W:02d}"]
            s=dict(name=name,deps=deps,calls=0.5,cap=100,lat=0.01,cpu=1.0,mem=int(0.5*GiB),slo=0.5+0.05*(L-layer),replicas=5)
            if layer==L-1:
                p=j%3
                s.update(regions=[regs[2*p]], standby=regs[2*p+1], spread="zone", lat=0.005, cpu=2.0, mem=4*GiB, slo=0.2)
            else:
                s.update(spread="provider", regions=[regs[0],regs[2],regs[4]])
            out.append(service(s))
    out.append('''[traffic]
daily_amplitude_ratio = 0.4
peak_at = "14h"
noise_ratio = 0.05
[traffic.retry]
max_attempts = 3
''')
    for j in range(W):
        out.append(f'[[traffic.entries]]\nservice = "s00-{j:02d}"\nbase_rps = 100.0\n')
    out.append(FAULTS.format(mult=5.0))
    out.append(TAIL)
    return "\n".join(out)

open(sys.argv[1]+"/default.toml","w").write(default())
open(sys.argv[1]+"/large.toml","w").write(large())
