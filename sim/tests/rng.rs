//! RNG streams: pinned values (portability), independence of streams and substreams, and the
//! documented key derivation.

use mend_sim::rng::{RngStreams, SUBSTREAM_FLAG, SimRng, Stream, splitmix64};
use rand::{Rng, SeedableRng};

fn first_values(mut rng: SimRng, n: usize) -> Vec<u64> {
    (0..n).map(|_| rng.random::<u64>()).collect()
}

#[test]
fn splitmix64_matches_the_reference_implementation() {
    // First output of Vigna's splitmix64.c from state 0 (also the value java.util.SplittableRandom
    // gives for seed 0): 0xe220a8397b1dcdaf.
    let mut state = 0u64;
    assert_eq!(splitmix64(&mut state), 0xe220_a839_7b1d_cdaf);
}

#[test]
fn values_are_pinned_for_a_seed() {
    // Pinned on x86_64 with rand_chacha 0.9; ChaCha8 output is fixed by the algorithm, so any
    // platform or compatible release must give the same. A change here changes every result.
    let streams = RngStreams::new(42);
    assert_eq!(
        first_values(streams.stream(Stream::Faults), 3),
        [0x82fc9745fcf2b7f8, 0xea7a06000488235d, 0xb75a4070fff3dca7]
    );
    assert_eq!(
        first_values(streams.substream(Stream::Traffic, 7), 3),
        [0x8735cd0751e3c25e, 0x6c320e974ad05355, 0x4bab8e9b1140e186]
    );
}

#[test]
fn key_derivation_follows_the_documented_recipe() {
    let master = 0x1234_5678_9abc_def0u64;
    let derive = |domain: u64| {
        let (mut m, mut d) = (master, domain);
        let words = [
            splitmix64(&mut m),
            splitmix64(&mut m),
            splitmix64(&mut d),
            splitmix64(&mut d),
        ];
        let mut key = [0u8; 32];
        for (chunk, word) in key.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        key
    };
    let streams = RngStreams::new(master);
    for stream in Stream::ALL {
        let expected = SimRng::from_seed(derive(stream.domain()));
        assert_eq!(
            first_values(streams.stream(stream), 4),
            first_values(expected, 4)
        );
        let mut expected_sub = SimRng::from_seed(derive(stream.domain() | SUBSTREAM_FLAG));
        expected_sub.set_stream(99);
        assert_eq!(
            first_values(streams.substream(stream, 99), 4),
            first_values(expected_sub, 4)
        );
    }
}

#[test]
fn streams_and_substreams_all_differ() {
    let streams = RngStreams::new(7);
    let mut seen: Vec<Vec<u64>> = Vec::new();
    for stream in Stream::ALL {
        seen.push(first_values(streams.stream(stream), 4));
        for index in [0, 1, 2, u64::MAX] {
            seen.push(first_values(streams.substream(stream, index), 4));
        }
    }
    // Another master seed differs too.
    seen.push(first_values(RngStreams::new(8).stream(Stream::Faults), 4));
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total, "two streams produced the same values");
}

#[test]
fn drawing_from_one_stream_does_not_change_another() {
    let streams = RngStreams::new(2026);
    let untouched = first_values(streams.stream(Stream::Faults), 8);
    let mut actions = streams.stream(Stream::Actions);
    for _ in 0..1_000 {
        let _: u64 = actions.random();
    }
    let mut entity = streams.substream(Stream::Faults, 3);
    let _: f64 = entity.random();
    assert_eq!(first_values(streams.stream(Stream::Faults), 8), untouched);
    assert_eq!(streams.master_seed(), 2026);
}

#[test]
fn same_seed_gives_same_values() {
    let a = first_values(RngStreams::new(5).substream(Stream::Placement, 11), 16);
    let b = first_values(RngStreams::new(5).substream(Stream::Placement, 11), 16);
    assert_eq!(a, b);
}
