//! `EntitySet`: a variable number of entity rows of fixed width plus global features (the cluster
//! env's observation). No Gymnasium counterpart; closest is `Sequence(Box)` paired with a `Box`.

use super::BoxSpace;
use crate::env::EntityObs;

/// How many rows `sample` draws at most when the space sets no `max_entities`.
pub const DEFAULT_SAMPLE_MAX_ENTITIES: usize = 16;

/// Entity sets: global features in `global`, each row in `row`, at most `max_entities` rows.
#[derive(Clone, Debug, PartialEq)]
pub struct EntitySet {
    /// Space of the global features.
    pub global: BoxSpace,
    /// Space of one entity row (its dimension is the row width).
    pub row: BoxSpace,
    /// Largest number of rows (`None` = unbounded).
    pub max_entities: Option<usize>,
}

impl EntitySet {
    /// Row width (`row.dim()`).
    pub fn width(&self) -> usize {
        self.row.dim()
    }

    /// A random entity set with a uniform number of rows in `0..=max_entities` (or
    /// `0..=DEFAULT_SAMPLE_MAX_ENTITIES` when unbounded), each row sampled from `row`.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> EntityObs {
        let max = self.max_entities.unwrap_or(DEFAULT_SAMPLE_MAX_ENTITIES);
        let n = rng.random_range(0..=max);
        let global = self.global.sample(rng);
        let mut rows = Vec::with_capacity(n * self.width());
        for _ in 0..n {
            rows.extend(self.row.sample(rng));
        }
        EntityObs {
            global,
            width: self.width(),
            rows,
        }
    }

    /// Global features in `global`, the right width, whole rows, each row in `row`, not too many.
    pub fn contains(&self, x: &EntityObs) -> bool {
        let w = self.width();
        if x.width != w || !self.global.contains(&x.global) {
            return false;
        }
        if w == 0 {
            return x.rows.is_empty();
        }
        if !x.rows.len().is_multiple_of(w) {
            return false;
        }
        if self.max_entities.is_some_and(|m| x.n_entities() > m) {
            return false;
        }
        x.rows.chunks_exact(w).all(|r| self.row.contains(r))
    }

    /// Both boxes valid and rows at least one feature wide; the reason if not.
    pub fn validate(&self) -> Result<(), String> {
        self.global
            .validate()
            .map_err(|e| format!("EntitySet global: {e}"))?;
        self.row
            .validate()
            .map_err(|e| format!("EntitySet row: {e}"))?;
        if self.width() == 0 {
            return Err("EntitySet row has width 0: expected at least one feature per row".into());
        }
        Ok(())
    }
}
