//! Budgeted tuning of the adaptive detector (`mend detect sim --study tune`): deterministic
//! whatever the thread count, one choice per family, within the budget when any setting is,
//! fastest when the budget admits everything; a bad budget is an error naming the field.

use mend_sim::Scenario;

fn default_scenario() -> Scenario {
    Scenario::builtin("default").expect("the default scenario loads")
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

#[test]
fn budgeted_tuning_is_deterministic_and_keeps_to_its_budget() {
    use mend_experiments::detection::{BudgetStudy, Candidate, budget_study};
    let scenario = default_scenario();
    let grid = vec![
        Candidate::tuned("median_mad", 4.0, 0.0),
        Candidate::tuned("median_mad", 32.0, 300.0),
        Candidate::tuned("ewma", 32.0, 300.0),
    ];
    let study = |ratio: f64| BudgetStudy {
        train_scenario: &scenario,
        train_seeds: vec![1],
        eval_scenarios: vec![&scenario],
        eval_seeds: vec![1001],
        grid: grid.clone(),
        budget_ratio: ratio,
    };
    let one = in_pool(1, || budget_study(&study(1.0))).unwrap();
    let two = in_pool(2, || budget_study(&study(1.0))).unwrap();
    assert_eq!(
        serde_json::to_string(&one).unwrap(),
        serde_json::to_string(&two).unwrap()
    );
    // One choice per family; a choice within the budget is the fastest admissible setting.
    assert_eq!(one.chosen.len(), 2);
    for c in &one.chosen {
        let rows: Vec<_> = one
            .training
            .iter()
            .filter(|r| r.family == c.family)
            .collect();
        let pick = rows.iter().find(|r| r.chosen).unwrap();
        assert_eq!(pick.admissible, c.within_budget);
        if c.within_budget {
            assert!(pick.false_alerts_per_day <= one.budget_per_day);
            assert!(
                rows.iter()
                    .filter(|r| r.admissible)
                    .all(|r| r.capped_ttd_seconds >= pick.capped_ttd_seconds)
            );
        }
    }
    // The held-out table pairs the static rules with each choice.
    assert_eq!(one.held_out.len(), 1);
    assert_eq!(one.held_out[0].rows.len(), 3);
    // An unlimited budget admits everything: the fastest setting wins.
    let free = budget_study(&study(1e9)).unwrap();
    let mm: Vec<_> = free
        .training
        .iter()
        .filter(|r| r.family == "median_mad")
        .collect();
    let fastest = mm
        .iter()
        .map(|r| r.capped_ttd_seconds)
        .fold(f64::INFINITY, f64::min);
    assert!(mm.iter().all(|r| r.admissible));
    assert_eq!(
        mm.iter().find(|r| r.chosen).unwrap().capped_ttd_seconds,
        fastest
    );
    // A negative budget is an error naming the field.
    let err = budget_study(&study(-1.0)).unwrap_err().to_string();
    assert!(err.contains("budget_ratio"), "{err}");
}
