//! Range checks shared by the agents' configuration validators (PPO, DQN and their warm starts).
//!
//! Each check returns [`AgentError::InvalidConfig`] naming the field as the caller spells it
//! (`"gamma"`, `"warm_start.steps"`), what the field must be and the value given, so every
//! validator reads as a list of one-line rules and every error message has the same form.

use crate::error::AgentError;

/// The error of a field whose value broke its rule.
pub fn invalid(field: &'static str, expected: &'static str, got: String) -> AgentError {
    AgentError::InvalidConfig {
        field,
        expected,
        got,
    }
}

/// `value` must be at least 1.
pub fn at_least_one(field: &'static str, value: u64) -> Result<(), AgentError> {
    if value == 0 {
        return Err(invalid(field, "must be at least 1", value.to_string()));
    }
    Ok(())
}

/// `value` must lie in `[0, 1]` (NaN refused).
pub fn unit_interval(field: &'static str, value: f64) -> Result<(), AgentError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(invalid(field, "must be in [0, 1]", value.to_string()));
    }
    Ok(())
}

/// `value` must lie in the open interval `(0, 1)`.
pub fn open_unit_interval(field: &'static str, value: f64) -> Result<(), AgentError> {
    if !(value > 0.0 && value < 1.0) {
        return Err(invalid(field, "must lie in (0, 1)", value.to_string()));
    }
    Ok(())
}

/// `value` must be finite and strictly positive.
pub fn positive_finite(field: &'static str, value: f64) -> Result<(), AgentError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid(
            field,
            "must be finite and positive",
            value.to_string(),
        ));
    }
    Ok(())
}

/// `value` must be strictly positive (`+inf` allowed, NaN refused).
pub fn positive(field: &'static str, value: f64) -> Result<(), AgentError> {
    if value.is_nan() || value <= 0.0 {
        return Err(invalid(field, "must be positive", value.to_string()));
    }
    Ok(())
}

/// `value` must be finite and `>= 0`.
pub fn non_negative_finite(field: &'static str, value: f64) -> Result<(), AgentError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(invalid(
            field,
            "must be finite and non-negative",
            value.to_string(),
        ));
    }
    Ok(())
}

/// Every hidden-layer width must be positive.
pub fn positive_widths(field: &'static str, widths: &[usize]) -> Result<(), AgentError> {
    if widths.contains(&0) {
        return Err(invalid(
            field,
            "widths must be positive",
            format!("{widths:?}"),
        ));
    }
    Ok(())
}

/// `value` must be one of the names the caller lists in `expected` (e.g. `"must be \"runbook\" or
/// \"reactive\""`).
pub fn one_of(
    field: &'static str,
    value: &str,
    allowed: &[&str],
    expected: &'static str,
) -> Result<(), AgentError> {
    if !allowed.contains(&value) {
        return Err(invalid(field, expected, format!("{value:?}")));
    }
    Ok(())
}

/// The `warm_start` section of a config, which a warm start needs.
pub fn warm_start_section<T: Clone>(section: &Option<T>) -> Result<T, AgentError> {
    section
        .clone()
        .ok_or_else(|| invalid("warm_start", "must be set to warm-start", "none".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<(), AgentError>) -> Option<&'static str> {
        match r {
            Err(AgentError::InvalidConfig { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn each_check_accepts_its_range_and_names_the_field_outside_it() {
        assert!(at_least_one("n", 1).is_ok());
        assert_eq!(field_of(at_least_one("n", 0)), Some("n"));
        assert!(unit_interval("g", 0.0).is_ok() && unit_interval("g", 1.0).is_ok());
        assert_eq!(field_of(unit_interval("g", f64::NAN)), Some("g"));
        assert_eq!(field_of(unit_interval("g", 1.01)), Some("g"));
        assert!(open_unit_interval("p", 0.5).is_ok());
        assert_eq!(field_of(open_unit_interval("p", 0.0)), Some("p"));
        assert_eq!(field_of(open_unit_interval("p", 1.0)), Some("p"));
        assert!(positive_finite("lr", 1e-9).is_ok());
        assert_eq!(field_of(positive_finite("lr", f64::INFINITY)), Some("lr"));
        assert_eq!(field_of(positive_finite("lr", 0.0)), Some("lr"));
        assert!(positive("m", f64::INFINITY).is_ok());
        assert_eq!(field_of(positive("m", f64::NAN)), Some("m"));
        assert!(non_negative_finite("c", 0.0).is_ok());
        assert_eq!(field_of(non_negative_finite("c", -0.1)), Some("c"));
        assert_eq!(field_of(non_negative_finite("c", f64::NAN)), Some("c"));
        assert!(positive_widths("h", &[64, 64]).is_ok());
        assert_eq!(field_of(positive_widths("h", &[64, 0])), Some("h"));
        assert!(one_of("t", "a", &["a", "b"], "a or b").is_ok());
        let err = one_of("t", "c", &["a", "b"], "must be a or b").unwrap_err();
        assert!(err.to_string().contains("\"c\""), "{err}");
    }
}
