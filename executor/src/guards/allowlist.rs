//! The allowlist: the only namespaces and services the executor may touch.

use std::collections::BTreeSet;

use crate::decision::{Action, Verdict};

/// Entries `namespace/service` or `namespace/*`. Empty: nothing may be touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    services: BTreeSet<(String, String)>,
    namespaces: BTreeSet<String>,
}

impl Allowlist {
    /// Parses entries; `Err((index, message))` names the first bad one.
    pub fn parse(entries: &[String]) -> Result<Self, (usize, String)> {
        let mut list = Allowlist::default();
        for (i, entry) in entries.iter().enumerate() {
            let Some((ns, svc)) = entry.split_once('/') else {
                return Err((
                    i,
                    format!("expected `namespace/service` or `namespace/*`, found `{entry}`"),
                ));
            };
            if ns.is_empty() || svc.is_empty() || ns.contains('*') || svc.contains('/') {
                return Err((
                    i,
                    format!("expected `namespace/service` or `namespace/*`, found `{entry}`"),
                ));
            }
            if svc == "*" {
                list.namespaces.insert(ns.to_owned());
            } else {
                list.services.insert((ns.to_owned(), svc.to_owned()));
            }
        }
        Ok(list)
    }

    /// Whether `namespace/service` is allowed.
    pub fn allows(&self, namespace: &str, service: &str) -> bool {
        self.namespaces.contains(namespace)
            || self
                .services
                .contains(&(namespace.to_owned(), service.to_owned()))
    }

    /// The verdict on `action` (a fail-over must be allowed on both ends).
    pub fn check(&self, action: &Action) -> Verdict {
        if action.is_noop() {
            return Verdict::Allow;
        }
        let mut refused = Vec::new();
        if !self.allows(&action.namespace, &action.service) {
            refused.push(format!("{}/{}", action.namespace, action.service));
        }
        if let crate::decision::ActionKind::FailOver { to } = &action.kind
            && !self.allows(&action.namespace, to)
        {
            refused.push(format!("{}/{to}", action.namespace));
        }
        if refused.is_empty() {
            Verdict::Allow
        } else {
            Verdict::Deny {
                reason: format!("not in the allowlist: {}", refused.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::ActionKind;

    fn restart(ns: &str, svc: &str) -> Action {
        Action {
            namespace: ns.into(),
            service: svc.into(),
            kind: ActionKind::Restart { replica: Some(0) },
        }
    }

    #[test]
    fn allows_listed_services_and_whole_namespaces_only() {
        let list = Allowlist::parse(&["shop/api".into(), "batch/*".into()]).unwrap();
        assert_eq!(list.check(&restart("shop", "api")), Verdict::Allow);
        assert_eq!(list.check(&restart("batch", "anything")), Verdict::Allow);
        assert!(
            matches!(list.check(&restart("shop", "db")), Verdict::Deny { reason } if reason.contains("shop/db"))
        );
        assert!(matches!(
            list.check(&restart("prod", "api")),
            Verdict::Deny { .. }
        ));
        let fail_over = Action {
            kind: ActionKind::FailOver { to: "db".into() },
            ..restart("shop", "api")
        };
        assert!(
            matches!(list.check(&fail_over), Verdict::Deny { reason } if reason.contains("shop/db"))
        );
    }

    #[test]
    fn empty_list_allows_nothing_and_bad_entries_are_named() {
        assert!(matches!(
            Allowlist::default().check(&restart("a", "b")),
            Verdict::Deny { .. }
        ));
        assert_eq!(
            Allowlist::parse(&["a/b".into(), "nope".into()])
                .unwrap_err()
                .0,
            1
        );
        assert!(Allowlist::parse(&["*/x".into()]).is_err());
    }
}
