//! Telemetry types, streaming anomaly detectors, feature extraction, failure prediction, federated training and NAB scoring. Pure computation.
