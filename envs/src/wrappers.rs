//! Wrappers (Gymnasium `gymnasium/wrappers/`): each wraps any [`crate::Env`], is itself an `Env`, and
//! handles one concern.

// mod normalize_observation;
// mod normalize_reward;
// mod record_episode_statistics;
// mod running_mean_std;
mod time_limit;

// pub use normalize_observation::NormalizeObservation;
// pub use normalize_reward::NormalizeReward;
// pub use record_episode_statistics::RecordEpisodeStatistics;
// pub use running_mean_std::RunningMeanStd;
pub use time_limit::TimeLimit;
