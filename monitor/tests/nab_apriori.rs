//! NAB realAWSCloudwatch with nothing chosen on the subset (session 7): `shift_apriori` and
//! `shift_cad_apriori`, whose every setting comes from published detectors' defaults and
//! control-chart convention (`ShiftConfig::a_priori`), scored once on the three profiles next to
//! Numenta HTM's reference scores, with the leave-one-file-out (LOFO) standard score (in which
//! only NAB's own threshold is chosen on the other 16 files). Run with `--nocapture` for the
//! table; the figures are reported whatever they show, so the test asserts the wiring, not a
//! ranking.

mod common;
use common::*;

use mend_monitor::detectors::{
    CAD_OSE_REST_SAMPLES, DetectorConfig, FusionConfig, ShiftConfig, shift_cad_apriori_config,
};
use mend_monitor::nab::{detector_scores, detector_scores_for, load_corpus, load_detector_scores};

#[test]
fn a_priori_detectors_are_scored_once_beside_htm() {
    let dir = nab_dir();
    let corpus = load_corpus(&dir, &dir.join("combined_windows.json")).unwrap();
    let htm = load_detector_scores(&dir.join("reference/numenta"), "numenta", &corpus).unwrap();
    let shift = detector_scores(&corpus, "shift_apriori", None).unwrap();
    let fused = detector_scores(&corpus, "shift_cad_apriori", None).unwrap();

    // The registered names are the a-priori configurations, and the fusion's members are them.
    assert_eq!(
        DetectorConfig::default_for("shift_apriori").unwrap(),
        DetectorConfig::Shift(ShiftConfig::a_priori())
    );
    let FusionConfig {
        members,
        rest_samples,
        ..
    } = shift_cad_apriori_config();
    assert_eq!(rest_samples, CAD_OSE_REST_SAMPLES);
    assert_eq!(members[0], DetectorConfig::Shift(ShiftConfig::a_priori()));
    let again =
        detector_scores_for(&corpus, &DetectorConfig::Fusion(shift_cad_apriori_config())).unwrap();
    assert_eq!(again, fused, "scoring is deterministic");

    print_and_check_scores(
        &corpus,
        &[
            ("Numenta HTM (reference scores)", &htm),
            ("shift_apriori", &shift),
            ("shift_cad_apriori", &fused),
        ],
    );
    assert_scores_fit_the_files(&corpus, &fused);
}
