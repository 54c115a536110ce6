//! The experiment's failure predictor (issue 6 item 8; contract: `notes/contract7.md`): before the
//! learned agents train, when `[detectors] failure_prediction` asks for it, the runner simulates the
//! training scenarios with no agent, cuts one labelled sample per scrape per service, trains
//! `mend_monitor::predictor` on them, measures it on a held-out run and writes `predictor.json`
//! to the run folder. The [`RiskModel`] goes into the env configs of the agents the table names
//! (`runner::env_config`) and into their exported policies' manifests.
//!
//! ```text
//!  predictor_seeds(master seed) ─► detection::simulate(train scenario, seed)   (no agent)
//!     per scrape, per service: RiskInputs::push(t, row) ─► write_input ─► sample
//!     label = an incident on the service starts within horizon_s; samples inside an incident skipped
//!  all seeds but the last ─► predictor::train ─► RiskModel ─► predictor.json (+ quality on the last seed)
//! ```
//! Deterministic: the runs, the cut and the training depend on the experiment alone (seeded from
//! the master seed through `runner::seeding`). A resumed run loads `predictor.json` when its
//! settings match, else trains again, which gives the same model.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use mend_monitor::features::{FeatureExtractor, FeatureSchema};
use mend_monitor::predictor::{PredictorModel, TrainConfig, average_precision, pr_at_threshold};
use mend_monitor::telemetry::EntityKind;
use mend_sim::Scenario;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::seeding::{predictor_seeds, predictor_train_seed};
use crate::detection::{SimulatedRun, service_incidents, simulate};
use crate::experiment::{Experiment, FailurePrediction};
use crate::output::write_atomic;

pub use mend_monitor::features::risk::{RiskInputs, RiskModel};

/// The predictor's file in the run folder: its settings, quality and model.
pub const PREDICTOR_FILE: &str = "predictor.json";

/// The operating point the held-out precision and recall are reported at (a risk `>=` it is an
/// alarm); the risk column itself carries the score, not the alarm.
pub const ALARM_THRESHOLD: f32 = 0.5;

/// Labelled samples: `labels.len()` inputs of `width` raw values each (scaled by the model).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// Input width ([`RiskInputs::input_width`]).
    pub width: usize,
    /// `n x width` raw inputs, row-major.
    pub inputs: Vec<f32>,
    /// 1 when an incident on the sample's service starts within the horizon, else 0.
    pub labels: Vec<f32>,
}

impl Samples {
    fn extend(&mut self, other: Samples) {
        self.width = other.width;
        self.inputs.extend(other.inputs);
        self.labels.extend(other.labels);
    }

    /// Positive samples.
    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|&&y| y > 0.5).count()
    }
}

/// Cuts one sample per scrape per service from `run`: the service's [`RiskInputs`] fed every scrape
/// (so trends cover `trend_seconds` of history by timestamp, as in the env and the executor),
/// labelled positive when an incident on the service starts within `horizon_seconds` after the
/// scrape (as `detection::prediction_data`); scrapes inside an incident give no sample (nothing
/// is left to predict).
pub fn cut_samples(
    run: &SimulatedRun,
    schema: &FeatureSchema,
    trend_seconds: f64,
    horizon_seconds: f64,
) -> Samples {
    let extractor =
        FeatureExtractor::new(schema.clone()).unwrap_or_else(|_| FeatureExtractor::builtin());
    let width = schema.width();
    let incidents = service_incidents(run);
    let mut inputs: Vec<RiskInputs> = run
        .services
        .iter()
        .map(|_| RiskInputs::new(schema, trend_seconds))
        .collect();
    let mut out = Samples {
        width: RiskInputs::input_width(schema),
        ..Samples::default()
    };
    let zeros = vec![0.0; width];
    let mut input = Vec::with_capacity(out.width);
    for snapshot in &run.snapshots {
        let t = snapshot.timestamp;
        let features = extractor.extract(snapshot);
        for (s, name) in run.services.iter().enumerate() {
            let row = features
                .entities
                .iter()
                .position(|e| e.kind == EntityKind::Service && &e.name == name)
                .map_or(zeros.as_slice(), |i| features.row(i));
            inputs[s].push(t, row);
            if incidents[s].iter().any(|&(a, b)| a <= t && t < b) {
                continue;
            }
            let positive = incidents[s]
                .iter()
                .any(|&(a, _)| a > t && a <= t + horizon_seconds);
            input.clear();
            inputs[s].write_input(&mut input);
            out.inputs.extend_from_slice(&input);
            out.labels.push(if positive { 1.0 } else { 0.0 });
        }
    }
    out
}

/// The predictor's quality on the held-out run(s), at [`ALARM_THRESHOLD`]. `None` where the
/// measure is undefined (no positives, no alarms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutQuality {
    /// Samples scored.
    pub samples: usize,
    /// Positive samples among them.
    pub positives: usize,
    /// Area under the precision-recall curve (average precision); a random score gets about
    /// `positives / samples`.
    pub pr_auc: Option<f64>,
    /// Precision at the threshold.
    pub precision: Option<f64>,
    /// Recall at the threshold.
    pub recall: Option<f64>,
    /// Alarms raised at the threshold.
    pub alarms: usize,
}

/// `predictor.json`: what was trained, on what, how well, and the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictorReport {
    /// The experiment's `[detectors] failure_prediction` settings.
    pub config: FailurePrediction,
    /// The training scenarios simulated.
    pub scenarios: Vec<String>,
    /// Seeds of the runs trained on (per scenario).
    pub train_seeds: Vec<u64>,
    /// Seed of the held-out run (per scenario).
    pub held_out_seed: u64,
    /// Training samples.
    pub train_samples: usize,
    /// Positive training samples.
    pub train_positives: usize,
    /// Mean weighted cross-entropy of the last epoch.
    pub train_loss: f32,
    /// Quality on the held-out run(s).
    pub held_out: HeldOutQuality,
    /// The model the agents' envs run.
    pub model: RiskModel,
}

/// Scores `model` on `samples` ([`HeldOutQuality`]).
pub fn evaluate(model: &PredictorModel, samples: &Samples) -> HeldOutQuality {
    let scores: Vec<f32> = samples
        .inputs
        .chunks(samples.width.max(1))
        .map(|x| model.risk(x))
        .collect();
    let defined = |x: f64| x.is_finite().then_some(x);
    let at = pr_at_threshold(&scores, &samples.labels, ALARM_THRESHOLD);
    HeldOutQuality {
        samples: samples.labels.len(),
        positives: samples.positives(),
        pr_auc: defined(average_precision(&scores, &samples.labels)),
        precision: defined(at.precision),
        recall: defined(at.recall),
        alarms: at.alarms,
    }
}

/// Simulates `scenarios` (the experiment's training scenarios, loaded, in order) on the predictor's
/// seeds, trains on all seeds but the last and measures on the last. `None` when the experiment
/// has no `[detectors] failure_prediction`.
pub fn train(
    experiment: &Experiment,
    scenarios: &[Arc<Scenario>],
) -> Result<Option<PredictorReport>> {
    let Some(config) = &experiment.detectors.failure_prediction else {
        return Ok(None);
    };
    if scenarios.is_empty() {
        bail!("failure prediction: no training scenario to simulate (scenarios.train is empty)");
    }
    let schema = FeatureSchema::builtin();
    let seeds = predictor_seeds(experiment.experiment.seed, config.seeds);
    let Some((&held_out_seed, train_seeds)) = seeds.split_last() else {
        bail!("failure prediction: field `seeds` is 0: expected at least 2 runs");
    };
    // Every (scenario, seed) run, in order; the held-out seed last for each scenario.
    let runs: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|sc| seeds.iter().map(move |&seed| (sc, seed)))
        .collect();
    let cut: Vec<Samples> = runs
        .par_iter()
        .map(|&(sc, seed)| {
            let run = simulate(&scenarios[sc], seed);
            cut_samples(&run, &schema, config.trend_s, config.horizon_s)
        })
        .collect();
    let (mut training, mut held_out) = (Samples::default(), Samples::default());
    for (&(_, seed), samples) in runs.iter().zip(cut) {
        if seed == held_out_seed {
            held_out.extend(samples);
        } else {
            training.extend(samples);
        }
    }
    let train_seed = predictor_train_seed(experiment.experiment.seed);
    let mut model = RiskModel::init(
        &schema,
        config.hidden,
        config.trend_s,
        config.horizon_s,
        train_seed,
    );
    let train_config = TrainConfig {
        epochs: config.epochs,
        batch_size: config.batch_size,
        learning_rate: config.learning_rate,
        seed: train_seed,
        ..TrainConfig::default()
    };
    let train_loss = mend_monitor::predictor::train(
        &mut model.predictor,
        &training.inputs,
        &training.labels,
        &train_config,
    )
    .context("failure prediction: training the predictor")?;
    let held_out_quality = evaluate(&model.predictor, &held_out);
    Ok(Some(PredictorReport {
        config: config.clone(),
        scenarios: experiment.scenarios.train.clone(),
        train_seeds: train_seeds.to_vec(),
        held_out_seed,
        train_samples: training.labels.len(),
        train_positives: training.positives(),
        train_loss,
        held_out: held_out_quality,
        model,
    }))
}

/// The experiment's risk model for the run folder `dir`: `None` without `[detectors]
/// failure_prediction`; else `dir/predictor.json`'s model when that file was trained with the
/// same settings, scenarios and feature schema (a resumed run), or a freshly trained one, written
/// there atomically. `scenarios`: `scenarios.train`, loaded.
pub fn prepare(
    experiment: &Experiment,
    dir: &Path,
    scenarios: &[Arc<Scenario>],
) -> Result<Option<Arc<RiskModel>>> {
    let Some(config) = &experiment.detectors.failure_prediction else {
        return Ok(None);
    };
    let path = dir.join(PREDICTOR_FILE);
    if let Some(report) = load(&path)?
        && &report.config == config
        && report.scenarios == experiment.scenarios.train
        && report.train_seeds
            == predictor_seeds(experiment.experiment.seed, config.seeds)[..report.train_seeds.len()]
        && report.model.schema_id == FeatureSchema::builtin().hash()
    {
        return Ok(Some(Arc::new(report.model)));
    }
    let Some(report) = train(experiment, scenarios)? else {
        return Ok(None);
    };
    let mut json = serde_json::to_string_pretty(&report)
        .context("failure prediction: cannot serialise predictor.json")?;
    json.push('\n');
    write_atomic(&path, json.as_bytes())?;
    Ok(Some(Arc::new(report.model)))
}

/// Reads `predictor.json` if it exists; an unreadable or foreign file is an error naming it.
pub fn load(path: &Path) -> Result<Option<PredictorReport>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).map(Some).with_context(|| {
        format!(
            "{}: not a predictor file of this build (delete it to train the predictor again)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_experiment(seeds: u64, epochs: usize) -> Experiment {
        let text = format!(
            "[experiment]\nname = \"p\"\nseed = 3\n\n[scenarios]\ntrain = [\"tiny\"]\neval = [\"default\"]\n\n\
             [seeds]\ntrain = {{ start = 0, count = 1 }}\neval = {{ start = 100, count = 1 }}\n\n\
             [detectors]\nfailure_prediction = {{ agents = [\"reactive\"], seeds = {seeds}, epochs = {epochs}, hidden = 8 }}\n\n\
             [[agents]]\nkind = \"no-op\"\n\n[[agents]]\nkind = \"reactive\"\n"
        );
        crate::experiment::from_toml_str(&text, "p.toml").unwrap()
    }

    fn tiny() -> Vec<Arc<Scenario>> {
        vec![Arc::new(crate::scenarios::load("tiny").unwrap())]
    }

    #[test]
    fn samples_are_one_per_scrape_per_service_outside_incidents() {
        let scenario = crate::scenarios::load("tiny").unwrap();
        let run = simulate(&scenario, 7);
        let schema = FeatureSchema::builtin();
        let samples = cut_samples(&run, &schema, 600.0, 600.0);
        assert_eq!(samples.width, RiskInputs::input_width(&schema));
        assert_eq!(samples.inputs.len(), samples.labels.len() * samples.width);
        let incidents = service_incidents(&run);
        let expected: usize = run
            .snapshots
            .iter()
            .map(|s| {
                incidents
                    .iter()
                    .filter(|spans| {
                        !spans
                            .iter()
                            .any(|&(a, b)| a <= s.timestamp && s.timestamp < b)
                    })
                    .count()
            })
            .sum();
        assert_eq!(samples.labels.len(), expected);
        // A longer horizon can only turn negatives into positives.
        let longer = cut_samples(&run, &schema, 600.0, 3600.0);
        assert!(longer.positives() >= samples.positives());
    }

    #[test]
    fn training_twice_gives_identical_parameters_and_a_reload_the_same_model() {
        let experiment = tiny_experiment(3, 2);
        let scenarios = tiny();
        let a = train(&experiment, &scenarios).unwrap().unwrap();
        let b = train(&experiment, &scenarios).unwrap().unwrap();
        assert_eq!(a.model, b.model);
        assert_eq!(a.train_seeds.len(), 2);
        assert!(a.train_samples > 0 && a.held_out.samples > 0);
        // Training moved the parameters away from their initialisation.
        let init = PredictorModel::init(
            a.model.predictor.spec,
            a.model.predictor.bounds.clone(),
            predictor_train_seed(3),
        );
        assert_ne!(init.params, a.model.predictor.params);
        // prepare writes predictor.json; a second prepare (a resumed run) loads the same model.
        let dir = std::env::temp_dir().join(format!("mend-predictor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = prepare(&experiment, &dir, &scenarios).unwrap().unwrap();
        assert_eq!(*first, a.model);
        let written = load(&dir.join(PREDICTOR_FILE)).unwrap().unwrap();
        assert_eq!(written, a);
        let again = prepare(&experiment, &dir, &scenarios).unwrap().unwrap();
        assert_eq!(again, first);
        // Other settings: trained again, not loaded.
        let other = prepare(&tiny_experiment(3, 1), &dir, &scenarios)
            .unwrap()
            .unwrap();
        assert_ne!(*other, a.model);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_prediction_table_means_no_model() {
        let (experiment, _) = crate::experiment::load(None).unwrap();
        let mut experiment = experiment;
        experiment.detectors.failure_prediction = None;
        assert!(train(&experiment, &tiny()).unwrap().is_none());
    }
}
