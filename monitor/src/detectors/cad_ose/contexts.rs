//! The context memory of the contextual anomaly detector ([`super::CadOseState`]): contexts are
//! pairs (left facts, right facts) split into shared *semi-contexts*, each remembering how often
//! its right half followed its left half. Crossing the current facts with the semi-contexts
//! tells which contexts are active, which fresh pairs to remember, and which facts to predict.
//!
//! The algorithm is M. Smirnov's Contextual Anomaly Detector, open-source edition
//! (<https://github.com/smirmik/CAD>, as shipped in numenta/NAB
//! `nab/detectors/context_ose/context_operator.py`, functions `getContextByFacts`,
//! `contextCrosser` and `updateContextsAndGetActive`), re-expressed here: semi-contexts are
//! keyed by their fact lists (not by Python's tuple hashes), contexts of one left semi-context
//! are visited in right-semi-context id order (a sorted vector), and only the semi-contexts that
//! share a fact with the input are visited (the others cannot match; the reference scans all).
//! New contexts stop being created once `max_contexts` exist, which bounds memory; the
//! detector then calls [`ContextMemory::evict`], which forgets the least recently used contexts
//! (the reference has no bound: its memory, and so its cost per sample, grows with the stream).

use std::collections::BTreeMap;

/// A fact: a sensor bit (`SENSOR_BASE + 2 * bit + value`) or an active context
/// (`NEURON_BASE + context id`).
pub(super) type Fact = u32;

/// One side of a context: its facts and, after a crossing, those of them present in the input.
#[derive(Debug, Clone, PartialEq, Default)]
struct SemiContext {
    /// Its facts (sorted), kept so that the memory can be rebuilt by [`ContextMemory::evict`].
    facts: Vec<Fact>,
    /// Number of facts in the semi-context.
    len: usize,
    /// Its facts present in the last crossed input, in input order (sorted).
    crossed: Vec<Fact>,
    /// Left side only: the contexts starting with this semi-context, by right semi-context id.
    contexts: SortedPairs,
}

/// A small map from right semi-context id to context id, kept as a vector sorted by key: the
/// hot loops iterate it every sample, which a vector does far faster than a `BTreeMap`.
#[derive(Debug, Clone, PartialEq, Default)]
struct SortedPairs(Vec<(usize, usize)>);

impl SortedPairs {
    fn get(&self, key: &usize) -> Option<&usize> {
        self.0
            .binary_search_by_key(key, |&(k, _)| k)
            .ok()
            .map(|i| &self.0[i].1)
    }

    fn insert(&mut self, key: usize, value: usize) {
        match self.0.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    fn values(&self) -> impl Iterator<Item = &usize> {
        self.0.iter().map(|(_, v)| v)
    }

    fn iter(&self) -> impl Iterator<Item = (&usize, &usize)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl SemiContext {
    fn fully_crossed(&self) -> bool {
        self.len == self.crossed.len()
    }
}

/// One context: a left and a right semi-context, with its prediction record.
#[derive(Debug, Clone, PartialEq)]
struct Context {
    /// Facts its right side would have matched, summed over the times its left side matched.
    selected: u64,
    /// Facts its right side did match, summed likewise.
    predicted: u64,
    /// Times it matched completely (both sides).
    activations: u64,
    /// Its right side's facts: what it predicts.
    right_facts: Vec<Fact>,
    /// Whether it was ever seen as a whole (left = previous facts, right = current sensors).
    zero_level: bool,
    /// Memory step ([`ContextMemory::activate`] call) at which it was created, last seen whole
    /// or last fully activated: what [`ContextMemory::evict`] ranks by.
    last_used: u64,
}

/// A potential new context: (left facts, right facts).
pub(super) type Pair = (Vec<Fact>, Vec<Fact>);

/// Side of a semi-context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// What the right-side crossing found (`updateContextsAndGetActive` in the reference).
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Activation {
    /// Active contexts as (activation count, context id).
    pub(super) active: Vec<(u64, usize)>,
    /// Contexts whose left side matched the previous facts.
    pub(super) selected: usize,
    /// Pairs of partially matching facts, candidates for new contexts.
    pub(super) potential: Vec<Pair>,
}

/// The context memory.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ContextMemory {
    max_left_len: usize,
    max_contexts: usize,
    ids: [BTreeMap<Vec<Fact>, usize>; 2],
    semis: [Vec<SemiContext>; 2],
    by_fact: [BTreeMap<Fact, Vec<usize>>; 2],
    crossed: [Vec<usize>; 2],
    /// Scratch marks of [`ContextMemory::cross`], one per semi-context of the side crossed.
    marks: Vec<bool>,
    contexts: Vec<Context>,
    new_context: Option<usize>,
    /// Memory steps so far (one [`ContextMemory::activate`] call per sample).
    clock: u64,
}

/// A neuron fact whose context was forgotten by [`ContextMemory::evict`]: it never occurs in an
/// input again, so a left side holding it can no longer be fully matched.
pub(super) const FORGOTTEN: Fact = Fact::MAX;

impl ContextMemory {
    /// An empty memory. `max_left_len`: longest partial left match that can seed a new
    /// context (`maxLeftSemiContextsLenght`); `max_contexts`: the memory's capacity.
    pub(super) fn new(max_left_len: usize, max_contexts: usize) -> Self {
        ContextMemory {
            max_left_len,
            max_contexts,
            ids: Default::default(),
            semis: Default::default(),
            by_fact: Default::default(),
            crossed: Default::default(),
            marks: Vec::new(),
            contexts: Vec::new(),
            new_context: None,
            clock: 0,
        }
    }

    /// Whether the memory holds `max_contexts` contexts (new ones are no longer created).
    pub(super) fn is_full(&self) -> bool {
        self.contexts.len() >= self.max_contexts
    }

    /// Forgets all but the `keep` most recently used contexts (ties: the later created kept)
    /// and rebuilds the memory from the rest, in their creation order, so context ids stay
    /// dense. Neuron facts (`>= neuron_base`, naming context `fact - neuron_base`) are
    /// renumbered in the kept left sides and in `left_facts` (the facts of the current step);
    /// those naming a forgotten context become [`FORGOTTEN`] in the left sides and are dropped
    /// from `left_facts`. The left crossing is redone with the new `left_facts`, so the next
    /// [`ContextMemory::activate`] sees what it would have seen. Cost O(memory), paid once
    /// every `max_contexts - keep` new contexts.
    pub(super) fn evict(&mut self, keep: usize, neuron_base: Fact, left_facts: &mut Vec<Fact>) {
        let n = self.contexts.len();
        if keep >= n {
            return;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by_key(|&c| std::cmp::Reverse((self.contexts[c].last_used, c)));
        let mut kept = vec![false; n];
        for &c in &order[..keep] {
            kept[c] = true;
        }
        // Old id -> new id, monotone (creation order is kept).
        let mut renumber = vec![None; n];
        let mut next = 0usize;
        for (c, slot) in renumber.iter_mut().enumerate() {
            if kept[c] {
                *slot = Some(next);
                next += 1;
            }
        }
        let remap = |f: Fact| -> Fact {
            if f >= neuron_base && f != FORGOTTEN {
                renumber
                    .get((f - neuron_base) as usize)
                    .copied()
                    .flatten()
                    .map_or(FORGOTTEN, |c| neuron_base + c as Fact)
            } else {
                f
            }
        };
        // Each context's left semi-context.
        let mut left_of = vec![0usize; n];
        for (l, semi) in self.semis[Side::Left as usize].iter().enumerate() {
            for &c in semi.contexts.values() {
                left_of[c] = l;
            }
        }
        let old = std::mem::replace(
            self,
            ContextMemory::new(self.max_left_len, self.max_contexts),
        );
        self.clock = old.clock;
        for (c, context) in old.contexts.into_iter().enumerate() {
            if !kept[c] {
                continue;
            }
            let mut left: Vec<Fact> = old.semis[Side::Left as usize][left_of[c]]
                .facts
                .iter()
                .map(|&f| remap(f))
                .collect();
            left.sort_unstable();
            let l = self.semi_id(Side::Left, &left);
            let r = self.semi_id(Side::Right, &context.right_facts);
            let id = self.contexts.len();
            self.semis[Side::Left as usize][l].contexts.insert(r, id);
            self.contexts.push(context);
        }
        left_facts.retain_mut(|f| {
            *f = remap(*f);
            *f != FORGOTTEN
        });
        left_facts.sort_unstable();
        self.cross(Side::Left, left_facts);
    }

    /// Number of contexts remembered.
    pub(super) fn len(&self) -> usize {
        self.contexts.len()
    }

    fn semi_id(&mut self, side: Side, facts: &[Fact]) -> usize {
        let s = side as usize;
        if let Some(&id) = self.ids[s].get(facts) {
            return id;
        }
        let id = self.semis[s].len();
        self.ids[s].insert(facts.to_vec(), id);
        self.semis[s].push(SemiContext {
            facts: facts.to_vec(),
            len: facts.len(),
            ..Default::default()
        });
        for &f in facts {
            self.by_fact[s].entry(f).or_default().push(id);
        }
        id
    }

    /// Finds the context (left, right) or creates it; returns whether it was created.
    /// `zero_level`: the pair was seen as a whole (`getContextByFacts(..., zerolevel=1)`), which
    /// marks an existing context and makes a new one the step's `new_context`.
    pub(super) fn remember(&mut self, left: &[Fact], right: &[Fact], zero_level: bool) -> bool {
        if let (Some(&l), Some(&r)) = (
            self.ids[Side::Left as usize].get(left),
            self.ids[Side::Right as usize].get(right),
        ) && let Some(&c) = self.semis[Side::Left as usize][l].contexts.get(&r)
        {
            if zero_level {
                self.contexts[c].zero_level = true;
                self.contexts[c].last_used = self.clock;
            }
            return false;
        }
        if self.contexts.len() >= self.max_contexts {
            return false;
        }
        let l = self.semi_id(Side::Left, left);
        let r = self.semi_id(Side::Right, right);
        let c = self.contexts.len();
        self.semis[Side::Left as usize][l].contexts.insert(r, c);
        self.contexts.push(Context {
            selected: 0,
            predicted: 0,
            activations: 0,
            right_facts: right.to_vec(),
            zero_level,
            last_used: self.clock,
        });
        if zero_level {
            self.new_context = Some(c);
        }
        true
    }

    /// Marks which facts of each semi-context of `side` are in `facts` (sorted).
    fn cross(&mut self, side: Side, facts: &[Fact]) {
        let s = side as usize;
        for id in std::mem::take(&mut self.crossed[s]) {
            self.semis[s][id].crossed.clear();
        }
        let mut touched = Vec::new();
        for &f in facts {
            if let Some(ids) = self.by_fact[s].get(&f) {
                for &id in ids {
                    let semi = &mut self.semis[s][id];
                    if semi.crossed.is_empty() {
                        touched.push(id);
                    }
                    semi.crossed.push(f);
                }
            }
        }
        // Ascending id order. A marked linear pass when many are touched (the usual case: a
        // sensor fact is shared by about half of the semi-contexts), else a sort.
        let total = self.semis[s].len();
        if touched.len() > total / 16 {
            self.marks.clear();
            self.marks.resize(total, false);
            for &id in &touched {
                self.marks[id] = true;
            }
            touched.clear();
            touched.extend((0..total).filter(|&id| self.marks[id]));
        } else {
            touched.sort_unstable();
        }
        self.crossed[s] = touched;
    }

    /// Crosses the current sensor facts with the right semi-contexts, then scores every context
    /// whose left side matched the previous step's facts: the right-hand crossing of the
    /// reference (`contextCrosser(leftOrRight=1)` and `updateContextsAndGetActive`).
    pub(super) fn activate(&mut self, sensors: &[Fact], new_context_flag: bool) -> Activation {
        self.clock += 1;
        let clock = self.clock;
        self.cross(Side::Right, sensors);
        let mut out = Activation::default();
        let [lefts, rights] = &self.semis;
        for &l in &self.crossed[Side::Left as usize] {
            let left = &lefts[l];
            let left_full = left.fully_crossed();
            let may_seed = new_context_flag && left.crossed.len() <= self.max_left_len;
            for (&r, &c) in left.contexts.iter() {
                if self.new_context == Some(c) {
                    continue;
                }
                let right = &rights[r];
                let right_hits = right.crossed.len();
                let context = &mut self.contexts[c];
                if left_full {
                    out.selected += 1;
                    context.selected += right.len as u64;
                    if right_hits > 0 {
                        context.predicted += right_hits as u64;
                        if right_hits == right.len {
                            context.activations += 1;
                            context.last_used = clock;
                            out.active.push((context.activations, c));
                        } else if context.zero_level && may_seed {
                            out.potential
                                .push((left.crossed.clone(), right.crossed.clone()));
                        }
                    }
                } else if context.zero_level && may_seed && right_hits > 0 {
                    out.potential
                        .push((left.crossed.clone(), right.crossed.clone()));
                }
            }
        }
        self.new_context = None;
        out
    }

    /// Remembers the potential contexts, crosses `left_facts` (this step's sensors and active
    /// contexts) with the left semi-contexts and returns (contexts created, predicted facts):
    /// the left-hand crossing of the reference (`contextCrosser(leftOrRight=0)`). The prediction
    /// is the right side of the fully matched contexts with the best predicted/selected ratio.
    pub(super) fn predict(
        &mut self,
        left_facts: &[Fact],
        potential: &[Pair],
    ) -> (usize, Vec<Fact>) {
        let created = potential
            .iter()
            .filter(|(l, r)| self.remember(l, r, false))
            .count();
        self.cross(Side::Left, left_facts);
        let mut best = 0.0;
        let mut best_contexts: Vec<usize> = Vec::new();
        for &l in &self.crossed[Side::Left as usize] {
            let left = &self.semis[Side::Left as usize][l];
            if !left.fully_crossed() {
                continue;
            }
            for &c in left.contexts.values() {
                let context = &self.contexts[c];
                let weight = if context.selected > 0 {
                    context.predicted as f64 / context.selected as f64
                } else {
                    0.0
                };
                if weight > best {
                    best = weight;
                    best_contexts.clear();
                    best_contexts.push(c);
                } else if weight == best {
                    best_contexts.push(c);
                }
            }
        }
        let mut predicted: Vec<Fact> = best_contexts
            .iter()
            .flat_map(|&c| self.contexts[c].right_facts.iter().copied())
            .collect();
        predicted.sort_unstable();
        predicted.dedup();
        (created, predicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_seen_twice_is_remembered_once() {
        let mut m = ContextMemory::new(7, 100);
        assert!(m.remember(&[1, 2], &[3], true));
        assert!(!m.remember(&[1, 2], &[3], true));
        assert!(m.remember(&[1, 2], &[4], false));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn capacity_stops_new_contexts() {
        let mut m = ContextMemory::new(7, 1);
        assert!(m.remember(&[1], &[2], true));
        assert!(!m.remember(&[1], &[3], true));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn eviction_keeps_the_recently_used_and_renumbers_neuron_facts() {
        const NEURON: Fact = 1 << 31;
        let mut m = ContextMemory::new(7, 100);
        // Three contexts at steps 1, 2, 3; the third's left side names context 1.
        m.activate(&[], false);
        m.remember(&[1], &[2], true);
        m.activate(&[], false);
        m.remember(&[2], &[3], true);
        m.activate(&[], false);
        m.remember(&[3, NEURON + 1], &[4], true);
        let mut left = vec![3, NEURON, NEURON + 1];
        m.evict(2, NEURON, &mut left);
        assert_eq!(m.len(), 2);
        // Context 0 (oldest) is gone: contexts 1 and 2 become 0 and 1.
        assert_eq!(left, vec![3, NEURON]);
        assert!(m.ids[Side::Left as usize].contains_key(&vec![3, NEURON]));
        assert!(!m.ids[Side::Left as usize].contains_key(&vec![1]));
        // A left side naming a forgotten context can no longer match fully.
        let mut m2 = m.clone();
        let mut left2 = left.clone();
        m2.evict(1, NEURON, &mut left2);
        assert_eq!(m2.len(), 1);
        assert!(m2.ids[Side::Left as usize].contains_key(&vec![3, FORGOTTEN]));
        assert_eq!(left2, vec![3]);
    }

    #[test]
    fn a_repeated_transition_is_predicted_and_activated() {
        // Sequence a -> b -> a -> b: once (a, b) is known, seeing a predicts b, and seeing b
        // after a activates the context.
        let mut m = ContextMemory::new(7, 100);
        let (a, b) = (vec![10], vec![20]);
        m.remember(&a, &b, true);
        let _ = m.activate(&a, false);
        let (_, predicted) = m.predict(&a, &[]);
        assert_eq!(predicted, b);
        let act = m.activate(&b, false);
        assert_eq!(act.selected, 1);
        assert_eq!(act.active, vec![(1, 0)]);
    }
}
