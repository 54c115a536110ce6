//! Named, portable random streams split from one master seed (BRIEF §3.2, common random numbers).
//!
//! Faults, traffic, action outcomes, telemetry noise, placement and policy exploration each draw
//! from their own stream, so that what a policy does (which changes how many action outcomes are
//! drawn) never changes the faults or the load the world throws at it. Two policies run on the
//! same master seed therefore face the same exogenous world, which paired comparisons rely on.
//!
//! Generator: ChaCha8 from `rand_chacha`, whose output for a given key and stream id is fixed by
//! the algorithm (D. J. Bernstein, "ChaCha, a variant of Salsa20", 2008) and so is the same on
//! every platform and release; `rand`'s `StdRng` documents that it is *not* portable.
//!
//! Key derivation (documented so other implementations can reproduce it): the 256-bit ChaCha key
//! is four little-endian 64-bit words. Words 0 and 1 are the first two outputs of SplitMix64
//! (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; constants
//! from Vigna's reference `splitmix64.c`) started at the master seed; words 2 and 3 are the first
//! two outputs of SplitMix64 started at a per-stream domain constant ([`Stream::domain`]). Because
//! the first SplitMix64 output is a bijection of its start value, different (master, domain) pairs
//! always give different keys. [`RngStreams::stream`] uses ChaCha stream id 0 of the stream's key;
//! [`RngStreams::substream`] uses a second key (domain with [`SUBSTREAM_FLAG`] set) and the
//! substream index as ChaCha's 64-bit stream id, so no substream ever equals the main stream.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The simulator's random generator: portable and seekable.
pub type SimRng = ChaCha8Rng;

/// Bit set in a stream's domain constant to derive the key of its substreams.
pub const SUBSTREAM_FLAG: u64 = 1 << 63;

/// The independent sources of randomness in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Fault onsets, targets and repair times.
    Faults,
    /// Request rates: noise and surges.
    Traffic,
    /// Outcomes of recovery actions (success, duration jitter).
    Actions,
    /// Measurement noise on exported metrics.
    Telemetry,
    /// Initial placement of replicas on nodes.
    Placement,
    /// Policy exploration and sampling (agents).
    Policy,
}

impl Stream {
    /// Every stream, in declaration order.
    pub const ALL: [Stream; 6] = [
        Stream::Faults,
        Stream::Traffic,
        Stream::Actions,
        Stream::Telemetry,
        Stream::Placement,
        Stream::Policy,
    ];

    /// The fixed per-stream constant mixed into the key. These values are part of the format:
    /// changing one changes every run's random numbers for that stream.
    pub const fn domain(self) -> u64 {
        match self {
            Stream::Faults => 0x6d65_6e64_0000_0001,
            Stream::Traffic => 0x6d65_6e64_0000_0002,
            Stream::Actions => 0x6d65_6e64_0000_0003,
            Stream::Telemetry => 0x6d65_6e64_0000_0004,
            Stream::Placement => 0x6d65_6e64_0000_0005,
            Stream::Policy => 0x6d65_6e64_0000_0006,
        }
    }
}

/// One step of SplitMix64: advances `state` and returns the next output.
/// Constants from Vigna's public-domain `splitmix64.c` (prng.di.unimi.it).
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A master seed and the streams derived from it. Cheap to copy; deriving a stream allocates
/// nothing and never advances any other stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RngStreams {
    master_seed: u64,
}

impl RngStreams {
    /// Streams for `master_seed`.
    pub fn new(master_seed: u64) -> Self {
        RngStreams { master_seed }
    }

    /// The seed these streams were derived from.
    pub fn master_seed(&self) -> u64 {
        self.master_seed
    }

    /// A fresh generator for stream `s`, independent of every other stream and substream.
    pub fn stream(&self, s: Stream) -> SimRng {
        SimRng::from_seed(derive_key(self.master_seed, s.domain()))
    }

    /// A fresh generator for the `index`-th substream of `s` (e.g. one per fault process or per
    /// entity), independent of the main stream of `s`, of other indices and of other streams.
    pub fn substream(&self, s: Stream, index: u64) -> SimRng {
        let mut rng = SimRng::from_seed(derive_key(self.master_seed, s.domain() | SUBSTREAM_FLAG));
        rng.set_stream(index);
        rng
    }
}

/// The 256-bit ChaCha key for (master seed, domain constant); see the module doc.
fn derive_key(master_seed: u64, domain: u64) -> [u8; 32] {
    let mut master_state = master_seed;
    let mut domain_state = domain;
    let words = [
        splitmix64(&mut master_state),
        splitmix64(&mut master_state),
        splitmix64(&mut domain_state),
        splitmix64(&mut domain_state),
    ];
    let mut key = [0u8; 32];
    for (chunk, word) in key.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    key
}
