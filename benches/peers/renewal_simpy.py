#!/usr/bin/env python3
"""The renewal model of `mend` (issue 2) in SimPy, for the peer speed comparison.

N independent components alternate up and down for one simulated year. Up times are
Weibull(shape 0.7, mean 30 days): scale = mean / Gamma(1 + 1/shape). Down times are
lognormal with mu = ln(3600 s), sigma = 1. Each component is one SimPy process; its
failures and repairs inside the horizon are the events counted, as in
`mend_sim::renewal::run_renewal_with`. Availability is the time-weighted share of the
horizon spent up, averaged over components, with its standard error across components.

Start states (as `RenewalStart` in mend):
  fresh       every component up with a full time to failure (the issue's reference,
              availability about 0.99761 at N = 10,000: the early-failure transient)
  stationary  up with probability A = mean_up / (mean_up + mean_down), time left drawn
              from the equilibrium residual distribution (no transient; expect A = 0.997715)

Usage:  pip install -r benches/peers/requirements.txt
        python3 benches/peers/renewal_simpy.py --components 10000 100000 [--start fresh]
Prints one line of JSON per run: components, events, wall_seconds, events_per_second,
availability, availability_std_error, analytic_availability.
"""

import argparse
import json
import math
import random
import statistics
import time

import simpy

DAY = 86_400.0
YEAR = 365 * DAY
UP_SHAPE = 0.7
UP_MEAN = 30 * DAY
UP_SCALE = UP_MEAN / math.gamma(1.0 + 1.0 / UP_SHAPE)
DOWN_MU = math.log(3600.0)
DOWN_SIGMA = 1.0
DOWN_MEAN = math.exp(DOWN_MU + DOWN_SIGMA**2 / 2.0)
ANALYTIC = UP_MEAN / (UP_MEAN + DOWN_MEAN)


class Counters:
    """Events seen by all components."""

    def __init__(self):
        self.events = 0


def start_state(rng, start):
    """(is_up, time left in the current phase) at time zero."""
    if start == "fresh":
        return True, rng.weibullvariate(UP_SCALE, UP_SHAPE)
    # Equilibrium residual = U * length-biased interval (Cox, Renewal Theory, 5.2).
    if rng.random() < ANALYTIC:
        length = UP_SCALE * rng.gammavariate(1.0 + 1.0 / UP_SHAPE, 1.0) ** (1.0 / UP_SHAPE)
        return True, rng.random() * length
    length = rng.lognormvariate(DOWN_MU + DOWN_SIGMA**2, DOWN_SIGMA)
    return False, rng.random() * length


def component(env, rng, horizon, counters, downtimes, index, start):
    """One component: fail, get repaired, repeat; books downtime inside the horizon."""
    up, left = start_state(rng, start)
    downtime = 0.0
    if not up:
        downtime += min(left, horizon)
        yield env.timeout(left)
        if env.now <= horizon:
            counters.events += 1
        up = True
        left = rng.weibullvariate(UP_SCALE, UP_SHAPE)
    while True:
        yield env.timeout(left)  # failure
        if env.now > horizon:
            break
        counters.events += 1
        repair = rng.lognormvariate(DOWN_MU, DOWN_SIGMA)
        downtime += min(repair, horizon - env.now)
        yield env.timeout(repair)  # repair
        if env.now > horizon:
            break
        counters.events += 1
        left = rng.weibullvariate(UP_SCALE, UP_SHAPE)
    downtimes[index] = downtime


def run(components, seed, start, horizon=YEAR):
    rng = random.Random(seed)
    env = simpy.Environment()
    counters = Counters()
    downtimes = [0.0] * components
    for index in range(components):
        env.process(component(env, rng, horizon, counters, downtimes, index, start))
    started = time.perf_counter()
    env.run()  # every process ends at its first event past the horizon
    wall = time.perf_counter() - started
    availabilities = [1.0 - d / horizon for d in downtimes]
    std_error = statistics.stdev(availabilities) / math.sqrt(components) if components > 1 else float("nan")
    return {
        "peer": "simpy " + simpy.__version__,
        "start": start,
        "components": components,
        "events": counters.events,
        "wall_seconds": wall,
        "events_per_second": counters.events / wall,
        "availability": statistics.fmean(availabilities),
        "availability_std_error": std_error,
        "analytic_availability": ANALYTIC,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--components", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", choices=["fresh", "stationary"], default="fresh")
    args = parser.parse_args()
    for components in args.components:
        print(json.dumps(run(components, args.seed, args.start)), flush=True)


if __name__ == "__main__":
    main()
