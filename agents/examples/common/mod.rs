//! What the cluster examples (`cluster`, `dqn_eval`) share: one evaluation episode's metrics from
//! the simulator's ground truth, mean ± 95 % Student-t half-widths, per-seed means over several
//! policies, and the results and paired-difference tables they print.
//!
//! Metrics are those `mend run` computes: availability (request-weighted share within SLO),
//! incidents (SLO-violation episodes > 1 min), MTTR (mean fault onset -> end over faults that
//! ended), cost (infrastructure + actions, USD), return, and actions per episode. Reading ground
//! truth is evaluation, not acting: the policies see only observations and masks.
#![allow(dead_code, unreachable_pub)]

use mend_agents::Policy;
use mend_envs::{ClusterConfig, ClusterEnv, Env};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Metrics of one episode.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub availability: f64,
    pub incidents: f64,
    pub mttr_s: f64,
    pub cost_usd: f64,
    pub reward: f64,
    pub actions: f64,
    /// Actions taken per kind (in `ActionKind::ALL` order).
    pub by_kind: [u64; mend_envs::cluster::N_KINDS],
}

/// The cluster env's action kind names, in order.
pub fn kind_names() -> Vec<String> {
    mend_sim::ActionKind::ALL
        .iter()
        .map(|k| k.name().to_string())
        .collect()
}

/// One episode of `scenario` with `seed`; `deterministic` takes the policy's greedy decision,
/// otherwise actions are sampled (seeded from the episode seed).
pub fn run_episode(
    scenario: &str,
    policy: &dyn Policy,
    seed: u64,
    deterministic: bool,
) -> anyhow::Result<Metrics> {
    let mut env = ClusterEnv::builtin(scenario, ClusterConfig::default())?;
    let (mut obs, _) = env.reset(Some(seed), None)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let (mut reward, mut actions) = (0.0, 0.0);
    let mut by_kind = [0u64; mend_envs::cluster::N_KINDS];
    loop {
        let mask = env.action_mask();
        let a = policy.predict(&obs, mask.as_deref(), deterministic, &mut rng)?;
        actions += f64::from(u8::from(a != 0));
        if a != 0 {
            by_kind[(a - 1) % mend_envs::cluster::N_KINDS] += 1;
        }
        let step = env.step(a)?;
        reward += step.reward;
        obs = step.obs;
        if step.terminated || step.truncated {
            break;
        }
    }
    let sim = env
        .simulation()
        .ok_or_else(|| anyhow::anyhow!("no simulation"))?;
    let summary = sim.summary();
    let repairs: Vec<f64> = sim
        .truth()
        .faults
        .iter()
        .filter_map(|f| f.end.map(|e| e.saturating_sub(f.onset).as_secs_f64()))
        .collect();
    let rc = summary.reward_components;
    Ok(Metrics {
        availability: summary.availability,
        incidents: summary.incidents as f64,
        mttr_s: if repairs.is_empty() {
            f64::NAN
        } else {
            repairs.iter().sum::<f64>() / repairs.len() as f64
        },
        cost_usd: rc.infra_cost_usd + rc.action_cost_usd,
        reward,
        actions,
        by_kind,
    })
}

/// Two-sided 95 % Student-t quantile for `df` degrees of freedom (standard tables; 1.96 beyond 30).
pub fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

/// Mean ± 95 % half-width over the finite values.
pub fn ci(xs: impl Iterator<Item = f64>) -> String {
    let v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return "n/a".into();
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return format!("{m:.4}");
    }
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    format!("{m:.4} ± {:.4}", t95(v.len() - 1) * sd / n.sqrt())
}

/// Per evaluation seed, the mean of each metric over several policies' episodes on that seed (MTTR
/// over the policies where it is defined; NaN if none). The interval's unit stays the seed.
pub fn mean_over_policies(members: &[&Vec<Metrics>]) -> Vec<Metrics> {
    let n_seeds = members.first().map_or(0, |m| m.len());
    (0..n_seeds)
        .map(|s| {
            let mean = |f: fn(&Metrics) -> f64| {
                let v: Vec<f64> = members
                    .iter()
                    .map(|m| f(&m[s]))
                    .filter(|x| x.is_finite())
                    .collect();
                if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                }
            };
            Metrics {
                availability: mean(|m| m.availability),
                incidents: mean(|m| m.incidents),
                mttr_s: mean(|m| m.mttr_s),
                cost_usd: mean(|m| m.cost_usd),
                reward: mean(|m| m.reward),
                actions: mean(|m| m.actions),
                by_kind: [0; mend_envs::cluster::N_KINDS],
            }
        })
        .collect()
}

/// The results table's header; `wall` adds a wall-clock column.
pub fn print_header(wall: bool) {
    if wall {
        println!(
            "| agent | availability | incidents | MTTR s | cost USD | return | actions | wall s |\n\
             |---|---|---|---|---|---|---|---|"
        );
    } else {
        println!(
            "| agent | availability | incidents | MTTR s | cost USD | return | actions |\n\
             |---|---|---|---|---|---|---|"
        );
    }
}

/// One row of the results table; `wall_s`: `None` omits the column, `Some(None)` prints `-`.
pub fn print_row(agent: &str, rows: &[Metrics], wall_s: Option<Option<f64>>) {
    let wall = match wall_s {
        None => String::new(),
        Some(w) => format!(
            " {} |",
            w.map_or_else(|| "-".to_string(), |w| format!("{w:.1}"))
        ),
    };
    println!(
        "| {agent} | {} | {} | {} | {} | {} | {} |{wall}",
        ci(rows.iter().map(|m| m.availability)),
        ci(rows.iter().map(|m| m.incidents)),
        ci(rows.iter().map(|m| m.mttr_s)),
        ci(rows.iter().map(|m| m.cost_usd)),
        ci(rows.iter().map(|m| m.reward)),
        ci(rows.iter().map(|m| m.actions)),
    );
}

/// For each baseline of `bases` present in `results`, the paired differences (same seeds) of every
/// other row that `include` accepts.
pub fn print_paired(
    results: &[(String, Vec<Metrics>)],
    bases: &[&str],
    include: &dyn Fn(&str) -> bool,
) {
    for base in bases {
        let Some((_, base_rows)) = results.iter().find(|(a, _)| a == base) else {
            continue;
        };
        println!(
            "\npaired differences vs {base} (same seeds, mean ± 95 % t half-width):\n\
             | agent | Δ availability | Δ incidents | Δ MTTR s | Δ cost USD | Δ return |\n\
             |---|---|---|---|---|---|"
        );
        for (agent, rows) in results.iter().filter(|(a, _)| a != base && include(a)) {
            let diff =
                |f: fn(&Metrics) -> f64| ci(rows.iter().zip(base_rows).map(|(a, b)| f(a) - f(b)));
            println!(
                "| {agent} | {} | {} | {} | {} | {} |",
                diff(|m| m.availability),
                diff(|m| m.incidents),
                diff(|m| m.mttr_s),
                diff(|m| m.cost_usd),
                diff(|m| m.reward)
            );
        }
    }
}
