//! A biobank node: one site's catalogue with its own guard, answering
//! Beacon requests. The node is where participants are protected — counts
//! are suppressed and perturbed with the node's own secret, and each
//! caller's budget and query history are kept here — so what leaves a
//! hospital is already safe, whoever aggregates it.

use serde_json::{json, Value};

use crate::beacon::{Entry, Identity, Request};
use crate::protect::{Granularity, Guard, Refusal};
use crate::{Catalogue, QueryError};

/// One node.
pub struct Node {
    /// Who it is.
    pub identity: Identity,
    /// Its catalogue.
    pub catalogue: Catalogue,
    /// Its protection.
    pub guard: Guard,
}

/// A node's reply: a Beacon document and the HTTP status it goes with
/// (the framework's `errorCode` is an HTTP status).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// 200, 400 (bad request) or 429 (refused by the protection).
    pub status: u16,
    /// The document.
    pub body: Value,
    /// Why it was refused or bad, for the audit.
    pub problem: Option<String>,
}

impl Node {
    /// A node serving `catalogue` under `guard`; `synthetic` marks demo
    /// data in everything it answers.
    pub fn new(catalogue: Catalogue, guard: Guard, synthetic: bool) -> Node {
        let ids: Vec<&str> = catalogue.biobanks.iter().map(|b| b.id.as_str()).collect();
        let names: Vec<&str> = catalogue.biobanks.iter().map(|b| b.name.as_str()).collect();
        let description = if synthetic {
            "Soyaku biobank node over SYNTHETIC demo data (no real participant data)"
        } else {
            "Soyaku biobank node"
        };
        Node {
            identity: Identity {
                id: format!("jp.soyaku.node.{}", ids.join("+")),
                name: names.join(", "),
                description: description.to_owned(),
                synthetic,
            },
            catalogue,
            guard,
        }
    }

    /// Answers `request` for `entry` on behalf of `caller` (a pseudonym
    /// the aggregator gives, or `anon`), at most at granularity `most`;
    /// `grant` names the biobanks that approved the caller's access request
    /// (the only ones whose records a record-level answer carries); `day` is
    /// today's number (for the budget).
    pub fn reply(
        &self,
        entry: Entry,
        request: &Request,
        caller: &str,
        (most, grant): (Granularity, &[String]),
        day: i64,
    ) -> Reply {
        match self.answer(entry, request, caller, (most, grant), day) {
            Ok(body) => Reply { status: 200, body, problem: None },
            Err(Problem::Bad(e)) => self.problem(400, e.0, request),
            Err(Problem::Refused(r)) => self.problem(429, r.to_string(), request),
        }
    }

    /// The `/datasets` document: the node's biobanks.
    pub fn datasets(&self) -> Value {
        let items = (self.catalogue.biobanks.iter())
            .map(|b| json!({"id": b.id, "name": b.name, "info": {"name_ja": b.name_ja}}))
            .collect();
        self.identity.collections("dataset", items)
    }

    /// The `/cohorts` document: the node's sample collections, each with
    /// its size in donors only when it has at least the policy's smallest
    /// count, and then rounded to tens (the list is public).
    pub fn cohorts(&self) -> Value {
        let floor = self.guard.policy().min_count;
        let items = (0..self.catalogue.collections.len())
            .map(|k| {
                let id = &self.catalogue.collections[k];
                let m = self.catalogue.evaluate(&crate::Plan::Collection(Some(k as u16)));
                let donors: u64 = m.per_biobank.iter().map(|c| c.donors).sum();
                let mut cohort = json!({"id": id, "name": id, "cohortType": "study-defined"});
                if donors >= floor {
                    cohort["cohortSize"] = json!((donors + 5) / 10 * 10);
                }
                cohort
            })
            .collect();
        self.identity.collections("cohort", items)
    }

    fn problem(&self, status: u16, message: String, request: &Request) -> Reply {
        let body = self.identity.error(status, &message, Some(request));
        Reply { status, body, problem: Some(message) }
    }

    fn answer(
        &self,
        entry: Entry,
        request: &Request,
        caller: &str,
        (most, grant): (Granularity, &[String]),
        day: i64,
    ) -> Result<Value, Problem> {
        let query = request.query().map_err(Problem::Bad)?;
        let requested = request.granularity().map_err(Problem::Bad)?;
        let plan = query.plan(&self.catalogue).map_err(Problem::Bad)?;
        let given = requested.min(most);
        let matched = self.catalogue.evaluate(&plan);
        let granted: Vec<usize> = (self.catalogue.biobanks.iter().enumerate())
            .filter(|(_, b)| grant.contains(&b.id))
            .map(|(i, _)| i)
            .collect();
        let answer = self
            .guard
            .answer(&self.catalogue, caller, given, &granted, &plan, &matched, day)
            .map_err(Problem::Refused)?;
        Ok(self.identity.results(entry, request, requested, given, &answer.biobanks, None))
    }
}

enum Problem {
    Bad(QueryError),
    Refused(Refusal),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::{read_results, Filter};
    use crate::protect::{Policy, Reported};
    use crate::synth;

    fn node() -> Node {
        let (b, p, s) = synth::generate_for(0.02, 5, "bbj");
        Node::new(Catalogue::build(b, p, s).unwrap(), Guard::new(Policy::default(), [9; 32]), true)
    }

    #[test]
    fn a_node_answers_within_the_granularity_it_allows() {
        let n = node();
        let request = Request::from_filters(vec![Filter::term("ICD10:E11")], Some("count".into()));
        let public = n.reply(Entry::Individuals, &request, "anon", (Granularity::Boolean, &[]), 1);
        assert_eq!(public.status, 200);
        let (g, banks) = read_results(&public.body).unwrap();
        assert_eq!((g, banks.len()), (Granularity::Boolean, 1));
        assert!(banks[0].exists && banks[0].donors.is_none());
        let counted = n.reply(Entry::Individuals, &request, "user:1", (Granularity::Count, &[]), 1);
        let (_, banks) = read_results(&counted.body).unwrap();
        assert!(matches!(banks[0].donors, Some(Reported::About(n)) if n > 10));
        // Records are never given without a grant, and only the granted
        // biobank's.
        let records = Request::from_filters(vec![Filter::term("ICD10:E11")], Some("record".into()));
        let r = n.reply(Entry::Biosamples, &records, "user:1", (Granularity::Count, &[]), 1);
        assert!(!r.body.to_string().contains("\"results\""));
        let other = ["tmm".to_owned()];
        let r = n.reply(Entry::Biosamples, &records, "user:2", (Granularity::Record, &other), 1);
        assert!(!r.body.to_string().contains("\"results\""));
        let grant = ["bbj".to_owned()];
        let r = n.reply(Entry::Biosamples, &records, "user:3", (Granularity::Record, &grant), 1);
        let (g, banks) = read_results(&r.body).unwrap();
        assert_eq!(g, Granularity::Record);
        let rows = banks[0].records.as_ref().unwrap();
        assert!(!rows.is_empty() && rows.iter().all(|s| s["diseases"].to_string().contains("E11")));
    }

    #[test]
    fn bad_requests_and_refusals_are_beacon_errors() {
        let n = node();
        let bad = Request::from_filters(vec![Filter::term("NOPE:1")], None);
        let r = n.reply(Entry::Individuals, &bad, "u", (Granularity::Count, &[]), 1);
        assert_eq!(r.status, 400);
        assert_eq!(r.body["error"]["errorCode"], 400);
        let tight = Node {
            guard: Guard::new(Policy { daily_budget: 1, ..Policy::default() }, [1; 32]),
            ..n
        };
        let ok = Request::from_filters(vec![], Some("count".into()));
        assert_eq!(
            tight.reply(Entry::Individuals, &ok, "u", (Granularity::Count, &[]), 1).status,
            200
        );
        let over = tight.reply(Entry::Individuals, &ok, "u", (Granularity::Count, &[]), 1);
        assert_eq!(over.status, 429);
        assert!(over.problem.unwrap().contains("today's 1 queries"));
    }
}
