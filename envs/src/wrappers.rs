//! Wrappers (Gymnasium `gymnasium/wrappers/`): each wraps any [`crate::Env`], is itself an `Env`, and
//! handles one concern.

pub mod normalize_observation;
pub mod normalize_reward;
pub mod record_episode_statistics;
pub mod running_mean_std;
pub mod time_limit;

pub use normalize_observation::NormalizeObservation;
pub use normalize_reward::NormalizeReward;
pub use record_episode_statistics::RecordEpisodeStatistics;
pub use running_mean_std::RunningMeanStd;
pub use time_limit::TimeLimit;
