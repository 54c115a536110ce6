//! One test per validation rule: each asserts that the message names the file, the field path
//! (and the line when it can be found) and what was expected.

use mend_sim::Scenario;
use mend_sim::error::ScenarioError;

const TINY: &str = include_str!("../../scenarios/tiny.toml");
const RENEWAL: &str = include_str!("../../scenarios/renewal.toml");

/// Tiny with `from` replaced by `to` (which must occur exactly once).
fn tiny_with(from: &str, to: &str) -> String {
    assert_eq!(
        TINY.matches(from).count(),
        1,
        "`{from}` must occur once in tiny.toml"
    );
    TINY.replacen(from, to, 1)
}

fn error_of(text: &str) -> ScenarioError {
    Scenario::from_toml_str(text, "t.toml").expect_err("scenario should be rejected")
}

/// Asserts the message contains every fragment.
fn assert_message(text: &str, fragments: &[&str]) {
    let message = error_of(text).to_string();
    assert!(message.starts_with("t.toml"), "no file name in: {message}");
    for f in fragments {
        assert!(message.contains(f), "`{f}` missing from: {message}");
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle")
        + 1
}

#[test]
fn tiny_is_valid() {
    Scenario::from_toml_str(TINY, "t.toml").unwrap();
}

#[test]
fn syntax_error_names_the_line() {
    let text = tiny_with("name = \"web\"", "name = \"web");
    let e = error_of(&text);
    let line = line_of(&text, "name = \"web");
    assert_eq!(e.location().unwrap().line, Some(line), "{e}");
}

#[test]
fn unknown_field_is_rejected_with_its_line() {
    let text = tiny_with(
        "replicas = 2\nregions = [\"us-east-1\"]\ndepends_on = [\"api\"]",
        "replicas = 2\nreplica_count = 2\nregions = [\"us-east-1\"]\ndepends_on = [\"api\"]",
    );
    let e = error_of(&text);
    assert!(e.to_string().contains("replica_count"), "{e}");
    assert_eq!(
        e.location().unwrap().line,
        Some(line_of(&text, "replica_count")),
        "{e}"
    );
}

#[test]
fn bad_duration_unit_is_rejected() {
    assert_message(
        &tiny_with("horizon = \"1h\"", "horizon = \"1 hour-ish\""),
        &["expected a duration"],
    );
}

#[test]
fn missing_required_field_is_named() {
    assert_message(&tiny_with("capacity_rps = 300.0\n", ""), &["capacity_rps"]);
}

#[test]
fn duplicate_service_name() {
    assert_message(
        &tiny_with("name = \"api\"", "name = \"web\""),
        &[
            "services[1].name",
            "duplicate service name `web`",
            "unique service names",
        ],
    );
}

#[test]
fn duplicate_zone_name() {
    assert_message(
        &tiny_with("zones = [\"us-west-2a\"]", "zones = [\"us-east-1a\"]"),
        &["regions[1].zones[0]", "duplicate zone"],
    );
}

#[test]
fn region_with_unknown_provider() {
    assert_message(
        &tiny_with(
            "name = \"us-west-2\"\nprovider = \"aws\"",
            "name = \"us-west-2\"\nprovider = \"gcp\"",
        ),
        &[
            "regions[1].provider",
            "unknown provider `gcp`",
            "one of the providers: aws",
        ],
    );
}

#[test]
fn node_pool_in_unknown_zone() {
    let text = tiny_with(
        "zone = \"us-west-2a\"\ncount = 2",
        "zone = \"us-west-9z\"\ncount = 2",
    );
    assert_message(
        &text,
        &[
            "node_pools[2].zone",
            "unknown zone `us-west-9z`",
            "a zone listed in [[regions]]",
        ],
    );
    assert_eq!(
        error_of(&text).location().unwrap().line,
        Some(line_of(&text, "us-west-9z"))
    );
}

#[test]
fn node_pool_with_zero_nodes() {
    assert_message(
        &tiny_with(
            "zone = \"us-west-2a\"\ncount = 2",
            "zone = \"us-west-2a\"\ncount = 0",
        ),
        &["node_pools[2].count", "at least 1 node"],
    );
}

#[test]
fn negative_price() {
    assert_message(
        &tiny_with(
            "price_usd_per_hour = 0.384      # m5",
            "price_usd_per_hour = -1.0      # m5",
        ),
        &["node_pools[0].price_usd_per_hour", ">= 0"],
    );
}

#[test]
fn dependency_on_missing_service_names_the_path_and_line() {
    let text = tiny_with("depends_on = [\"db\"]", "depends_on = [\"database\"]");
    assert_message(
        &text,
        &[
            "services[1].depends_on[0]",
            "unknown service `database`",
            "a service defined in [[services]]",
        ],
    );
    assert_eq!(
        error_of(&text).location().unwrap().line,
        Some(line_of(&text, "\"database\""))
    );
}

#[test]
fn dependency_cycle_is_named() {
    let text = tiny_with(
        "regions = [\"us-east-1\"]\ncapacity_rps = 300.0",
        "regions = [\"us-east-1\"]\ndepends_on = [\"web\"]\ncapacity_rps = 300.0",
    );
    assert_message(
        &text,
        &[
            "dependency cycle web -> api -> db -> web",
            "directed acyclic graph",
        ],
    );
}

#[test]
fn self_dependency_is_a_cycle() {
    assert_message(
        &tiny_with("depends_on = [\"db\"]", "depends_on = [\"api\"]"),
        &["services[1].depends_on[0]", "dependency cycle api -> api"],
    );
}

#[test]
fn duplicate_dependency() {
    assert_message(
        &tiny_with("depends_on = [\"db\"]", "depends_on = [\"db\", \"db\"]"),
        &["services[1].depends_on[1]", "listed twice"],
    );
}

#[test]
fn zero_replicas() {
    let text = tiny_with(
        "name = \"api\"\nreplicas = 2",
        "name = \"api\"\nreplicas = 0",
    );
    assert_message(
        &text,
        &["services[1].replicas", "0 replicas", "at least 1 replica"],
    );
    assert_eq!(
        error_of(&text).location().unwrap().line,
        Some(line_of(&text, "replicas = 0"))
    );
}

#[test]
fn max_replicas_below_replicas() {
    assert_message(
        &tiny_with(
            "name = \"api\"\nreplicas = 2",
            "name = \"api\"\nreplicas = 2\nmax_replicas = 1",
        ),
        &["services[1].max_replicas", "max_replicas >= replicas"],
    );
}

#[test]
fn unknown_placement_region() {
    assert_message(
        &tiny_with(
            "replicas = 2\nregions = [\"us-east-1\"]\ndepends_on = [\"db\"]",
            "replicas = 2\nregions = [\"mars-1\"]\ndepends_on = [\"db\"]",
        ),
        &["services[1].regions[0]", "unknown region `mars-1`"],
    );
}

#[test]
fn zero_capacity() {
    assert_message(
        &tiny_with("capacity_rps = 300.0", "capacity_rps = 0.0"),
        &["services[2].capacity_rps", "a finite number > 0"],
    );
}

#[test]
fn negative_cpu() {
    assert_message(
        &tiny_with("cpu_cores = 1.0", "cpu_cores = -1.0"),
        &["services[0].cpu_cores", "> 0"],
    );
}

#[test]
fn timeout_not_above_base_latency() {
    assert_message(
        &tiny_with(
            "base_latency_seconds = 0.01",
            "base_latency_seconds = 0.01\ntimeout_seconds = 0.005",
        ),
        &[
            "services[0].timeout_seconds",
            "timeout_seconds > base_latency_seconds",
        ],
    );
}

#[test]
fn memory_limit_below_memory() {
    assert_message(
        &tiny_with(
            "memory_bytes = 536870912",
            "memory_bytes = 536870912\nmemory_limit_bytes = 1",
        ),
        &[
            "services[0].memory_limit_bytes",
            "memory_limit_bytes >= memory_bytes",
        ],
    );
}

#[test]
fn slo_error_ratio_outside_unit_interval() {
    let text = tiny_with(
        "latency_p99_seconds = 0.2\nerror_ratio = 0.01",
        "latency_p99_seconds = 0.2\nerror_ratio = 1.5",
    );
    assert_message(&text, &["services[2].slo.error_ratio", "in [0, 1]"]);
}

#[test]
fn standby_region_unknown() {
    assert_message(
        &tiny_with(
            "standby_region = \"us-west-2\"",
            "standby_region = \"eu-west-1\"",
        ),
        &[
            "services[2].replication.standby_region",
            "unknown region `eu-west-1`",
        ],
    );
}

#[test]
fn standby_region_overlapping_the_primary() {
    assert_message(
        &tiny_with(
            "standby_region = \"us-west-2\"",
            "standby_region = \"us-east-1\"",
        ),
        &[
            "services[2].replication.standby_region",
            "none of them the standby region",
        ],
    );
}

#[test]
fn write_ratio_outside_unit_interval() {
    assert_message(
        &tiny_with("write_ratio = 0.2", "write_ratio = -0.1"),
        &["services[2].replication.write_ratio", "in [0, 1]"],
    );
}

#[test]
fn replicas_that_do_not_fit_on_the_nodes() {
    assert_message(
        &tiny_with(
            "cpu_cores = 2.0\nmemory_bytes = 4294967296",
            "cpu_cores = 64.0\nmemory_bytes = 4294967296",
        ),
        &[
            "services[2].replicas",
            "does not fit",
            "enough CPU and memory",
        ],
    );
}

#[test]
fn horizon_shorter_than_decision_interval() {
    assert_message(
        &tiny_with("horizon = \"1h\"", "horizon = \"20s\""),
        &[
            "scenario.horizon",
            "shorter than the decision interval",
            "at least as long as scenario.decision_interval",
        ],
    );
}

#[test]
fn zero_tick() {
    assert_message(
        &tiny_with("tick = \"5s\"", "tick = \"0s\""),
        &["scenario.tick", "a tick > 0"],
    );
}

#[test]
fn scrape_interval_not_a_multiple_of_tick() {
    assert_message(
        &tiny_with("scrape_interval = \"15s\"", "scrape_interval = \"12s\""),
        &["scenario.scrape_interval", "multiple of scenario.tick"],
    );
}

#[test]
fn health_check_threshold_zero() {
    assert_message(
        &tiny_with("failure_threshold = 2", "failure_threshold = 0"),
        &["load_balancer.failure_threshold", "at least 1"],
    );
}

#[test]
fn entry_for_missing_service() {
    assert_message(
        &tiny_with("service = \"web\"\nbase_rps", "service = \"www\"\nbase_rps"),
        &["traffic.entries[0].service", "unknown service `www`"],
    );
}

#[test]
fn negative_rate() {
    assert_message(
        &tiny_with("base_rps = 150.0", "base_rps = -5.0"),
        &["traffic.entries[0].base_rps", "> 0"],
    );
}

#[test]
fn amplitude_outside_unit_interval() {
    assert_message(
        &tiny_with("daily_amplitude_ratio = 0.3", "daily_amplitude_ratio = 1.3"),
        &["traffic.daily_amplitude_ratio", "in [0, 1]"],
    );
}

#[test]
fn retry_attempts_out_of_range() {
    assert_message(
        &tiny_with("max_attempts = 3", "max_attempts = 0"),
        &["traffic.retry.max_attempts", "between 1 and 10"],
    );
}

#[test]
fn zero_rate_multiplier() {
    assert_message(
        &tiny_with("rate_multiplier = 1.0", "rate_multiplier = 0.0"),
        &["faults.rate_multiplier", "> 0"],
    );
}

#[test]
fn fault_process_with_bad_distribution() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.processes]]\nkind = \"node_crash\"\nup = { dist = \"weibull\", shape = -0.7, mean = \"30d\" }\ndown = { dist = \"lognormal\", median = \"1h\", sigma = 1.0 }",
    );
    assert_message(&text, &["faults.processes[0].up", "shape"]);
}

#[test]
fn fault_process_with_unknown_provider() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.processes]]\nkind = \"node_crash\"\nprovider = \"gcp\"\nup = { dist = \"exponential\", mean = \"30d\" }\ndown = { dist = \"fixed\", value = \"1h\" }",
    );
    assert_message(
        &text,
        &["faults.processes[0].provider", "unknown provider `gcp`"],
    );
}

#[test]
fn unknown_fault_kind() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.scripted]]\nat = \"1m\"\nkind = \"meteor_strike\"\ntarget = \"web\"\nduration = \"1m\"",
    );
    assert_message(&text, &["meteor_strike"]);
}

#[test]
fn scripted_fault_on_missing_target() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.scripted]]\nat = \"1m\"\nkind = \"zone_outage\"\ntarget = \"web\"\nduration = \"1m\"",
    );
    assert_message(
        &text,
        &[
            "faults.scripted[0].target",
            "no zone named `web`",
            "the name of a zone",
        ],
    );
}

#[test]
fn scripted_fault_after_the_horizon() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.scripted]]\nat = \"2h\"\nkind = \"process_crash\"\ntarget = \"web-0\"\nduration = \"1m\"",
    );
    assert_message(&text, &["faults.scripted[0].at", "before scenario.horizon"]);
}

#[test]
fn load_surge_on_a_non_entry_service() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[[faults.scripted]]\nat = \"1m\"\nkind = \"load_surge\"\ntarget = \"db\"\nduration = \"1m\"",
    );
    assert_message(
        &text,
        &["faults.scripted[0].target", "not an entry service"],
    );
}

#[test]
fn fault_effect_ratio_out_of_range() {
    let text = tiny_with(
        "rate_multiplier = 1.0",
        "rate_multiplier = 1.0\n[faults.effects]\npacket_loss_ratio = 2.0",
    );
    assert_message(&text, &["faults.effects.packet_loss_ratio", "in [0, 1]"]);
}

#[test]
fn action_probability_out_of_range() {
    let text = tiny_with(
        "[reward]",
        "[actions.restart_replica]\nsuccess_probability = 1.2\n\n[reward]",
    );
    assert_message(
        &text,
        &["actions.restart_replica.success_probability", "in [0, 1]"],
    );
}

#[test]
fn instant_action_is_rejected() {
    let text = tiny_with(
        "[reward]",
        "[actions.failover]\nduration = \"0s\"\n\n[reward]",
    );
    assert_message(
        &text,
        &["actions.failover.duration", "no action is instant"],
    );
}

#[test]
fn negative_reward_weight() {
    assert_message(
        &tiny_with("infra_cost_weight = 1.0", "infra_cost_weight = -1.0"),
        &["reward.infra_cost_weight", ">= 0"],
    );
}

#[test]
fn renewal_section_in_a_cluster_scenario() {
    let text = format!(
        "{TINY}\n[renewal]\ncomponents = 3\n[renewal.process]\nup = {{ dist = \"exponential\", mean = \"1d\" }}\ndown = {{ dist = \"fixed\", value = \"1h\" }}\n"
    );
    assert_message(
        &text,
        &[
            "field `renewal`",
            "no [renewal] section unless scenario.model = \"renewal\"",
        ],
    );
}

#[test]
fn renewal_model_without_its_section() {
    let text = RENEWAL.split("[renewal]").next().unwrap().to_string();
    assert_message(&text, &["renewal", "missing [renewal] section"]);
}

#[test]
fn renewal_with_zero_components() {
    let text = RENEWAL.replace("components = 10000", "components = 0");
    assert_message(&text, &["renewal.components", "between 1 and 2^32"]);
}

#[test]
fn renewal_with_bad_distribution() {
    let text = RENEWAL.replace("sigma = 1.0", "sigma = -1.0");
    assert_message(&text, &["renewal.process.down", "sigma"]);
}

#[test]
fn no_services() {
    let text: String = TINY.split("[[services]]").next().unwrap().to_string() + "[traffic]\n";
    assert_message(&text, &["services", "at least one [[services]] entry"]);
}

#[test]
fn no_providers() {
    let text = TINY.replace(
        "[[providers]]\nname = \"aws\"\nprovisioning_delay = \"90s\"\n",
        "",
    );
    assert_message(&text, &["providers", "at least one [[providers]] entry"]);
}
