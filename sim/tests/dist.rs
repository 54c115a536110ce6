//! Duration parsing and duration distributions: parse good and bad inputs, validation messages,
//! TOML form, sample means against `mean_secs`, and the stationary residual sampler.

use mend_sim::dist::DurationDist;
use mend_sim::fault_process::RenewalProcess;
use mend_sim::rng::{RngStreams, Stream};
use mend_sim::time::SimDuration;

// ---------------------------------------------------------------- duration parsing

#[test]
fn parses_every_unit_and_compound_forms() {
    let cases = [
        ("250ms", 250),
        ("30s", 30_000),
        ("5m", 300_000),
        ("1.5h", 5_400_000),
        ("2d", 172_800_000),
        ("1w", 604_800_000),
        ("0.0015s", 2), // 1.5 ms rounds half up
        (".5s", 500),
        ("1h 2m 3.5s", 3_723_500),
        ("1h30m", 5_400_000),
        ("  30 s ", 30_000),
        ("0s", 0),
    ];
    for (text, ms) in cases {
        assert_eq!(SimDuration::parse(text), Ok(SimDuration(ms)), "{text}");
    }
}

#[test]
fn rejects_bad_inputs_saying_what_is_expected() {
    let cases = [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("30", "missing unit after \"30\""),
        ("30x", "unknown unit \"x\""),
        ("30 sec", "unknown unit \"sec\""),
        ("-5s", "durations cannot be negative"),
        ("1.2.3s", "malformed number \"1.2.3\""),
        ("s", "expected a number at \"s\""),
        ("99999999999999999999w", "too large"),
        ("18446744073709551616ms", "too large"),
    ];
    for (text, needle) in cases {
        let error = SimDuration::parse(text).expect_err(text);
        assert!(error.contains(needle), "{text:?}: {error}");
        if !needle.contains("too large") {
            assert!(
                error.contains("expected a duration such as"),
                "{text:?}: {error}"
            );
        }
    }
}

#[test]
fn from_secs_f64_rounds_and_saturates() {
    assert_eq!(SimDuration::from_secs_f64(1.0004), SimDuration(1_000));
    assert_eq!(SimDuration::from_secs_f64(1.0006), SimDuration(1_001));
    assert_eq!(SimDuration::from_secs_f64(-3.0), SimDuration::ZERO);
    assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
    assert_eq!(SimDuration::from_secs_f64(f64::INFINITY), SimDuration::MAX);
}

#[test]
fn durations_serialise_as_strings() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Probe {
        interval: SimDuration,
    }
    let probe: Probe = toml::from_str("interval = \"15s\"").unwrap();
    assert_eq!(probe.interval, SimDuration::from_secs(15));
    assert_eq!(
        toml::to_string(&probe).unwrap().trim(),
        "interval = \"15s\""
    );
    let error = toml::from_str::<Probe>("interval = \"15 parsecs\"").unwrap_err();
    assert!(
        error.to_string().contains("unknown unit \"parsecs\""),
        "{error}"
    );
    let error = toml::from_str::<Probe>("interval = 15").unwrap_err();
    assert!(error.to_string().contains("a duration string"), "{error}");
}

// ---------------------------------------------------------------- distributions

fn all_kinds() -> Vec<DurationDist> {
    let toml_text = r#"
        fixed = { dist = "fixed", value = "90s" }
        exponential = { dist = "exponential", mean = "2h" }
        weibull = { dist = "weibull", shape = 0.7, mean = "30d" }
        lognormal = { dist = "lognormal", median = "1h", sigma = 1.0 }
        uniform = { dist = "uniform", min = "10s", max = "70s" }
    "#;
    let table: std::collections::BTreeMap<String, DurationDist> =
        toml::from_str(toml_text).unwrap();
    ["fixed", "exponential", "weibull", "lognormal", "uniform"]
        .iter()
        .map(|name| table[*name].clone())
        .collect()
}

/// Sample mean and its standard error, in seconds.
fn sample_stats(samples: impl Iterator<Item = SimDuration>) -> (f64, f64) {
    let values: Vec<f64> = samples.map(|d| d.as_secs_f64()).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (variance / n).sqrt())
}

#[test]
fn toml_form_parses_and_rejects_unknown_fields() {
    let kinds = all_kinds();
    assert_eq!(
        kinds[2],
        DurationDist::Weibull {
            shape: 0.7,
            mean: SimDuration::from_days(30)
        }
    );
    let error =
        toml::from_str::<DurationDist>("dist = \"weibull\"\nshape = 0.7\nmean = \"1d\"\nscale = 3")
            .unwrap_err();
    assert!(
        error.to_string().contains("unknown field `scale`"),
        "{error}"
    );
    let error = toml::from_str::<DurationDist>("dist = \"gamma\"\nmean = \"1d\"").unwrap_err();
    assert!(
        error.to_string().contains("unknown variant `gamma`"),
        "{error}"
    );
}

#[test]
fn sample_means_match_mean_secs() {
    let mut rng = RngStreams::new(11).stream(Stream::Faults);
    for dist in all_kinds() {
        dist.validate().unwrap();
        let (mean, std_error) = sample_stats((0..200_000).map(|_| dist.sample(&mut rng)));
        let expected = dist.mean_secs();
        // 5 standard errors, plus half a millisecond of rounding.
        let tolerance = 5.0 * std_error + 0.0005;
        assert!(
            (mean - expected).abs() <= tolerance,
            "{dist:?}: sample mean {mean} s, expected {expected} s (tolerance {tolerance})"
        );
    }
}

#[test]
fn mean_secs_follows_the_formulas() {
    let kinds = all_kinds();
    assert_eq!(kinds[0].mean_secs(), 90.0);
    assert_eq!(kinds[2].mean_secs(), 30.0 * 86_400.0);
    assert!((kinds[3].mean_secs() - 3600.0 * 0.5f64.exp()).abs() < 1e-9);
    assert_eq!(kinds[4].mean_secs(), 40.0);
}

#[test]
fn sampler_and_dist_draw_the_same_values() {
    for dist in all_kinds() {
        let mut a = RngStreams::new(3).stream(Stream::Faults);
        let mut b = RngStreams::new(3).stream(Stream::Faults);
        let sampler = dist.sampler();
        for _ in 0..100 {
            assert_eq!(dist.sample(&mut a), sampler.sample(&mut b));
        }
    }
}

#[test]
fn residual_means_match_the_equilibrium_distribution() {
    // The equilibrium residual has mean E[X^2] / (2 E[X]) (Cox, Renewal Theory, §5.2).
    let mut rng = RngStreams::new(12).stream(Stream::Faults);
    for dist in all_kinds() {
        let sampler = dist.sampler();
        let second_moment = {
            let (mean, _) = sample_stats((0..400_000).map(|_| dist.sample(&mut rng)));
            let squares: f64 = (0..400_000)
                .map(|_| dist.sample(&mut rng).as_secs_f64().powi(2))
                .sum::<f64>()
                / 400_000.0;
            squares / (2.0 * mean)
        };
        let (residual_mean, std_error) =
            sample_stats((0..400_000).map(|_| sampler.sample_residual(&mut rng)));
        // Both sides are estimates; the heavy-tailed second moment needs a relative margin.
        let tolerance = 6.0 * std_error + 0.03 * second_moment + 0.001;
        assert!(
            (residual_mean - second_moment).abs() <= tolerance,
            "{dist:?}: residual mean {residual_mean}, expected about {second_moment}"
        );
    }
}

#[test]
fn validate_rejects_bad_parameters_naming_them() {
    let cases = [
        (
            DurationDist::Exponential {
                mean: SimDuration::ZERO,
            },
            "exponential mean must be > 0, got 0s",
        ),
        (
            DurationDist::Weibull {
                shape: -1.0,
                mean: SimDuration::from_days(1),
            },
            "weibull shape must be > 0 and finite, got -1",
        ),
        (
            DurationDist::Weibull {
                shape: f64::NAN,
                mean: SimDuration::from_days(1),
            },
            "weibull shape must be > 0 and finite, got NaN",
        ),
        (
            DurationDist::Weibull {
                shape: 0.001,
                mean: SimDuration::from_days(1),
            },
            "weibull shape 0.001 is too small",
        ),
        (
            DurationDist::Weibull {
                shape: 0.7,
                mean: SimDuration::ZERO,
            },
            "weibull mean must be > 0, got 0s",
        ),
        (
            DurationDist::Lognormal {
                median: SimDuration::ZERO,
                sigma: 1.0,
            },
            "lognormal median must be > 0, got 0s",
        ),
        (
            DurationDist::Lognormal {
                median: SimDuration::from_secs(1),
                sigma: -0.5,
            },
            "lognormal sigma must be >= 0 and finite, got -0.5",
        ),
        (
            DurationDist::Lognormal {
                median: SimDuration::from_secs(1),
                sigma: 100.0,
            },
            "lognormal sigma 100 is too large",
        ),
        (
            DurationDist::Uniform {
                min: SimDuration::from_secs(5),
                max: SimDuration::from_secs(1),
            },
            "uniform min must be <= max, got min 5s > max 1s",
        ),
    ];
    for (dist, needle) in cases {
        let error = dist.validate().expect_err(needle);
        assert!(error.contains(needle), "{dist:?}: {error}");
    }
}

#[test]
fn renewal_process_validation_names_the_field() {
    let good = DurationDist::Exponential {
        mean: SimDuration::from_secs(10),
    };
    let bad = DurationDist::Exponential {
        mean: SimDuration::ZERO,
    };
    let process = RenewalProcess {
        up: good.clone(),
        down: bad.clone(),
    };
    assert_eq!(
        process.validate().unwrap_err(),
        "down: exponential mean must be > 0, got 0s"
    );
    let process = RenewalProcess {
        up: bad,
        down: good,
    };
    assert!(process.validate().unwrap_err().starts_with("up: "));
    let zero = DurationDist::Fixed {
        value: SimDuration::ZERO,
    };
    let process = RenewalProcess {
        up: zero.clone(),
        down: zero,
    };
    assert!(
        process
            .validate()
            .unwrap_err()
            .contains("never advance time")
    );
}

#[test]
fn analytic_availability_of_the_reference_process() {
    let process = RenewalProcess {
        up: DurationDist::Weibull {
            shape: 0.7,
            mean: SimDuration::from_days(30),
        },
        down: DurationDist::Lognormal {
            median: SimDuration::from_hours(1),
            sigma: 1.0,
        },
    };
    // 720 h / (720 h + e^0.5 h), the issue's 0.997715.
    let expected = 720.0 / (720.0 + 0.5f64.exp());
    assert!((process.analytic_availability() - expected).abs() < 1e-12);
    assert!((process.analytic_availability() - 0.997715).abs() < 5e-7);
}

#[test]
fn long_fractions_do_not_overflow() {
    // Regression: 30 kept fraction digits times the week's 6.05e8 ms overflowed a u128.
    let text = format!("0.{}w", "9".repeat(40));
    assert_eq!(SimDuration::parse(&text), Ok(SimDuration::from_days(7)));
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,24}") {
        let _ = SimDuration::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_duration_like_text(text in "[0-9. ]{0,12}(ms|s|m|h|d|w|x)?[0-9. ]{0,6}(ms|s|m|h)?") {
        let _ = SimDuration::parse(&text);
    }

    #[test]
    fn display_parses_back_to_the_same_duration(ms in proptest::prelude::any::<u64>()) {
        let text = SimDuration(ms).to_string();
        proptest::prop_assert_eq!(SimDuration::parse(&text), Ok(SimDuration(ms)));
    }
}
