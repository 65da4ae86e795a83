//! What a caller may learn from a query.
//!
//! - **Granularity** (Beacon v2): `boolean` (does a biobank hold at least
//!   `min_count` matching donors — "exists" for fewer would let anyone test
//!   whether one person is in a biobank, the Beacon membership attack),
//!   `count`, or `record` (sample records, only for biobanks that approved
//!   the caller's access request).
//! - **Small cells**: a biobank's count below `min_count` (default 10) is
//!   reported as "fewer than 10", never as a number.
//! - **Noise**: counts get Laplace noise (scale `noise_scale` donors) whose
//!   random draw is keyed by a server secret and *the set of matched rows*,
//!   so repeating a query, or rephrasing it to match the same people, gives
//!   the same noise: averaging cannot remove it.
//! - **Differencing**: a query whose matched donors differ from any of the
//!   caller's earlier queries that day by fewer than `min_count` people is
//!   refused (two counts differing by one person would reveal that
//!   person), and so is a *different* query matching exactly the same
//!   donors (its answer would equal the earlier one, which tells that the
//!   criteria added match nobody: "is anyone with these attributes here?"
//!   answered exactly). Refusing both keeps "none" and "a few" alike: all
//!   the caller learns is that the difference is under `min_count`. The
//!   whole day's queries count, not the latest few, so trackers cannot wait
//!   a pair out; with the daily **query budget** this also stops trackers
//!   that build such pairs from larger sets.
//!
//! Every answer and refusal is for the caller to audit; [`Guard`] keeps the
//! per-user state the defences need (today's matched sets).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::catalogue::Catalogue;
use crate::query::{Bits, Counts, Matched, Plan};

/// How much of an answer a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Yes or no per biobank.
    Boolean,
    /// Protected counts.
    Count,
    /// Records, for biobanks that granted access.
    Record,
}

/// The protection settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Smallest count shown as a number; also the smallest difference
    /// allowed between two of a caller's queries.
    pub min_count: u64,
    /// Laplace scale of the noise, in the counted unit.
    pub noise_scale: f64,
    /// Queries per caller per day.
    pub daily_budget: u32,
    /// Check each query against the caller's earlier queries of the day
    /// (off only to test the other defences alone).
    pub differencing: bool,
    /// Most records in one record-level answer.
    pub max_records: usize,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min_count: 10,
            noise_scale: 2.0,
            daily_budget: 500,
            differencing: true,
            max_records: 1000,
        }
    }
}

/// A protected count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reported {
    /// The (noisy) count.
    About(u64),
    /// Fewer than this many: not shown.
    FewerThan(u64),
}

/// One biobank's part of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BankAnswer {
    /// Biobank id.
    pub biobank: String,
    /// Its name, in English and Japanese.
    pub name: String,
    /// 日本語名.
    pub name_ja: String,
    /// At least `min_count` donors match.
    pub exists: bool,
    /// Donors, samples and aliquots (count and record granularity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub donors: Option<Reported>,
    /// Matching samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<Reported>,
    /// Their aliquots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aliquots: Option<Reported>,
    /// Sample records (record granularity, granted biobanks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<serde_json::Value>>,
}

/// A protected answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The granularity given.
    pub granularity: Granularity,
    /// Per biobank.
    pub biobanks: Vec<BankAnswer>,
}

/// Why a query was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Refusal {
    /// The caller used today's queries.
    #[error("you have used today's {limit} queries; try again tomorrow")]
    Budget {
        /// Queries per day.
        limit: u32,
    },
    /// Too close to an earlier query.
    #[error(
        "this query differs from one of your earlier queries today by fewer than {min} people; \
         widen it, since answers that differ by a few people would identify them"
    )]
    Differencing {
        /// The smallest difference allowed.
        min: u64,
    },
}

struct Caller {
    day: i64,
    used: u32,
    /// Today's answered queries: matched donors and the query's key.
    earlier: Vec<(Bits, u64)>,
}

/// The key of a query: equal for equal canonical plans, different for
/// criteria that differ (even when they match the same people).
fn plan_key(plan: &Plan) -> u64 {
    let text = serde_json::to_string(plan).expect("a plan serialises");
    let d = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Applies the policy; one per service, shared by every request.
pub struct Guard {
    policy: Policy,
    secret: [u8; 32],
    callers: Mutex<HashMap<String, Caller>>,
}

/// A 64-bit digest of the matched rows in `range` (FNV-style mixing of the
/// bit words), the key of the noise.
fn digest(bits: &Bits, range: std::ops::Range<usize>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ (range.start as u64) ^ ((range.end as u64) << 32);
    for s in bits.ones().skip_while(|s| *s < range.start).take_while(|s| *s < range.end) {
        h = (h ^ s as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The noise secret kept in `dir` (`biobank-noise.key`, made with 32
/// random bytes from the operating system the first time, readable by the
/// owner only): the same matched people get the same noise across
/// restarts, so restarting cannot be used to average it away.
pub fn secret_in(dir: &std::path::Path) -> std::io::Result<[u8; 32]> {
    use std::io::Read as _;
    let path = dir.join("biobank-noise.key");
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
    }
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    std::fs::create_dir_all(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&path)?, &key)?;
    Ok(key)
}

impl Guard {
    /// A guard with this policy; `secret` keys the noise (keep it out of
    /// logs and the repository: whoever knows it can strip the noise).
    pub fn new(policy: Policy, secret: [u8; 32]) -> Guard {
        Guard { policy, secret, callers: Mutex::new(HashMap::new()) }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Laplace noise keyed by the matched set and what is counted.
    fn noise(&self, key: u64, unit: &str) -> f64 {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(key.to_le_bytes());
        h.update(unit.as_bytes());
        let d = h.finalize();
        let u =
            u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) as f64 / u64::MAX as f64 - 0.5;
        -self.policy.noise_scale * u.signum() * (1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE).ln()
    }

    fn report(&self, truth: u64, key: u64, unit: &str) -> Reported {
        if truth < self.policy.min_count {
            return Reported::FewerThan(self.policy.min_count);
        }
        let noisy =
            (truth as f64 + self.noise(key, unit)).round().max(self.policy.min_count as f64);
        Reported::About(noisy as u64)
    }

    /// Answers `matched` (what `plan` matched) for `caller` (a user id, or
    /// `anon:` and an address) at `granularity`; `granted` lists the
    /// biobanks (indices) whose records the caller may see; `day` is the
    /// day number (for the budget). Counts the query against the caller's
    /// budget.
    #[allow(clippy::too_many_arguments)]
    pub fn answer(
        &self,
        catalogue: &Catalogue,
        caller: &str,
        granularity: Granularity,
        granted: &[usize],
        plan: &Plan,
        matched: &Matched,
        day: i64,
    ) -> Result<Answer, Refusal> {
        let donors = catalogue.donor_bits(matched);
        let key = plan_key(plan);
        {
            let mut callers = self.callers.lock().expect("guard lock");
            let state = callers.entry(caller.to_owned()).or_insert_with(|| Caller {
                day,
                used: 0,
                earlier: Vec::new(),
            });
            if state.day != day {
                *state = Caller { day, used: 0, earlier: Vec::new() };
            }
            if state.used >= self.policy.daily_budget {
                return Err(Refusal::Budget { limit: self.policy.daily_budget });
            }
            state.used += 1;
            let k = self.policy.min_count;
            // Two answers about fewer than `k` people each both say "fewer
            // than k": nothing to difference, so no refusal. The same query
            // again gets the same answer, which tells nothing new.
            let shown = donors.count() >= k;
            if self.policy.differencing
                && state.earlier.iter().any(|(earlier, earlier_key)| {
                    let d = donors.difference_count(earlier);
                    d < k && (shown || earlier.count() >= k) && !(d == 0 && *earlier_key == key)
                })
            {
                return Err(Refusal::Differencing { min: k });
            }
            if self.policy.differencing && !state.earlier.iter().any(|(_, e)| *e == key) {
                state.earlier.push((donors, key));
            }
        }
        let biobanks = catalogue
            .biobanks
            .iter()
            .enumerate()
            .map(|(b, bank)| {
                let Counts { donors, samples, aliquots } = matched.per_biobank[b];
                let range = catalogue.biobank_samples[b].start as usize
                    ..catalogue.biobank_samples[b].end as usize;
                let key = digest(&matched.samples, range.clone());
                let exists = donors >= self.policy.min_count;
                let counted = granularity >= Granularity::Count;
                let records =
                    (granularity == Granularity::Record && granted.contains(&b)).then(|| {
                        matched
                            .samples
                            .ones()
                            .skip_while(|s| *s < range.start)
                            .take_while(|s| *s < range.end)
                            .take(self.policy.max_records)
                            .map(|s| catalogue.sample_record(s as u32))
                            .collect()
                    });
                // Samples and aliquots of fewer than `min_count` people say
                // as much about those people as their count: all go.
                let shown = |n: u64, unit: &str| {
                    if exists {
                        self.report(n, key, unit)
                    } else {
                        Reported::FewerThan(self.policy.min_count)
                    }
                };
                BankAnswer {
                    biobank: bank.id.clone(),
                    name: bank.name.clone(),
                    name_ja: bank.name_ja.clone(),
                    exists,
                    donors: counted.then(|| shown(donors, "donors")),
                    samples: counted.then(|| shown(samples, "samples")),
                    aliquots: counted.then(|| shown(aliquots, "aliquots")),
                    records,
                }
            })
            .collect();
        Ok(Answer { granularity, biobanks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Query;
    use crate::synth;

    fn demo() -> Catalogue {
        let (b, p, s) = synth::generate(0.02, 11);
        Catalogue::build(b, p, s).unwrap()
    }

    fn matched(c: &Catalogue, json: &str) -> (Plan, Matched) {
        let q: Query = serde_json::from_str(json).unwrap();
        let plan = q.plan(c).unwrap();
        let m = c.evaluate(&plan);
        (plan, m)
    }

    /// `guard.answer` at count granularity, nothing granted.
    fn count(
        guard: &Guard,
        c: &Catalogue,
        who: &str,
        (plan, m): &(Plan, Matched),
        day: i64,
    ) -> Result<Answer, Refusal> {
        guard.answer(c, who, Granularity::Count, &[], plan, m, day)
    }

    fn donors(a: &Answer, bank: usize) -> Reported {
        a.biobanks[bank].donors.unwrap()
    }

    #[test]
    fn repeating_or_rephrasing_a_query_cannot_average_the_noise_away() {
        let c = demo();
        let guard = Guard::new(Policy { differencing: false, ..Policy::default() }, [7; 32]);
        let q1 = r#"{"and": [{"sex": "female"}, {"disease": "E11"}]}"#;
        let q2 = r#"{"and": [{"disease": "2型糖尿病"}, {"sex": "female"}, {"age": {"min": 0, "max": 255}}]}"#;
        let first = count(&guard, &c, "eve", &matched(&c, q1), 1).unwrap();
        for q in [q1, q2].iter().cycle().take(40) {
            let again = count(&guard, &c, "eve", &matched(&c, q), 1).unwrap();
            assert_eq!(again, first, "the same people give the same answer");
        }
        // And the noise is there: over many different sets the reported
        // counts are not all exact.
        let exact = (20..80)
            .filter(|age| {
                let m = matched(&c, &format!(r#"{{"age": {{"min": 0, "max": {age}}}}}"#));
                let a = count(&guard, &c, "eve", &m, 1).unwrap();
                donors(&a, 1) == Reported::About(m.1.per_biobank[1].donors)
            })
            .count();
        assert!(exact < 30, "{exact} of 60 counts were exact");
    }

    #[test]
    fn a_differencing_pair_is_refused() {
        let c = demo();
        let guard = Guard::new(Policy::default(), [1; 32]);
        // All BBJ women with E11, then the same without one of them.
        let base =
            matched(&c, r#"{"and": [{"biobank": "bbj"}, {"sex": "female"}, {"disease": "E11"}]}"#);
        let target = c.donors(&base.1)[0];
        let target_id = c.individual_ids[target as usize].clone();
        assert!(count(&guard, &c, "mallory", &base, 1).is_ok());
        // Without the target's own samples (their ids are known to nobody
        // outside, but any isolating criterion does the same).
        let mut without = base.clone();
        let rows: Vec<usize> = without.1.samples.ones().filter(|s| c.owner[*s] == target).collect();
        for r in rows {
            without.1.samples.clear(r);
        }
        without.1.per_biobank[1].donors -= 1;
        let refused = count(&guard, &c, "mallory", &without, 1);
        assert_eq!(refused, Err(Refusal::Differencing { min: 10 }), "{target_id}");
        // Another caller is not affected by mallory's history.
        assert!(count(&guard, &c, "trent", &without, 1).is_ok());
        // Two sets both under 10 people are both answered "fewer than 10":
        // nothing to difference, so neither is refused.
        let rare = matched(
            &c,
            r#"{"and": [{"disease": "G12.2"}, {"sex": "female"}, {"age": {"min": 30, "max": 35}}]}"#,
        );
        let empty = matched(&c, r#"{"age": {"min": 200, "max": 201}}"#);
        assert!(count(&guard, &c, "walt", &rare, 1).is_ok());
        assert!(count(&guard, &c, "walt", &empty, 1).is_ok());
    }

    /// The tracker attack of the hardening review: many large sets T, each
    /// asked alone and then as "T OR target", averaging the differences to
    /// estimate a cell shown as "fewer than 10". More trackers than any
    /// short memory holds, all in one day: every pair is refused, so there
    /// is nothing to average.
    #[test]
    fn trackers_cannot_estimate_a_hidden_cell() {
        let c = demo();
        let guard = Guard::new(Policy::default(), [5; 32]);
        let target = r#"{"and": [{"disease": "G12.2"}, {"sex": "female"}, {"age": {"min": 30, "max": 35}}]}"#;
        let truth: u64 = matched(&c, target).1.per_biobank.iter().map(|b| b.donors).sum();
        assert!(truth > 0 && truth < 10, "a hidden cell ({truth})");
        let tracker = |i: usize| {
            format!(r#"{{"and": [{{"sex": "male"}}, {{"age": {{"min": 0, "max": {}}}}}]}}"#, 20 + i)
        };
        let mut answered = 0;
        for i in 0..70 {
            if count(&guard, &c, "mallory", &matched(&c, &tracker(i)), 1).is_ok() {
                answered += 1;
            }
        }
        assert!(answered >= 40, "the trackers themselves are answered ({answered})");
        for i in 0..70 {
            let pair = format!(r#"{{"or": [{}, {target}]}}"#, tracker(i));
            let asked = count(&guard, &c, "mallory", &matched(&c, &pair), 1);
            assert_eq!(asked, Err(Refusal::Differencing { min: 10 }), "tracker {i}");
        }
    }

    /// "Is anyone with these attributes here?" asked as T and "T OR X": an
    /// empty X and a non-empty small X are refused alike, so the answer
    /// cannot tell them apart; T itself, asked again, answers the same.
    #[test]
    fn an_empty_cell_cannot_be_told_from_a_small_one() {
        let c = demo();
        let guard = Guard::new(Policy::default(), [6; 32]);
        let t = r#"{"and": [{"sex": "male"}, {"age": {"min": 0, "max": 60}}]}"#;
        let first = count(&guard, &c, "eve", &matched(&c, t), 1).unwrap();
        let empty = r#"{"age": {"min": 200, "max": 201}}"#;
        let rare = r#"{"and": [{"disease": "G12.2"}, {"sex": "female"}, {"age": {"min": 30, "max": 35}}]}"#;
        assert_eq!(matched(&c, empty).1.per_biobank.iter().map(|b| b.donors).sum::<u64>(), 0);
        for x in [empty, rare] {
            let pair = format!(r#"{{"or": [{t}, {x}]}}"#);
            let asked = count(&guard, &c, "eve", &matched(&c, &pair), 1);
            assert_eq!(asked, Err(Refusal::Differencing { min: 10 }), "{x}");
        }
        assert_eq!(count(&guard, &c, "eve", &matched(&c, t), 1).unwrap(), first);
    }

    #[test]
    fn small_cells_and_membership_are_not_revealed() {
        let c = demo();
        let guard = Guard::new(Policy::default(), [2; 32]);
        // A combination held by very few people.
        let rare = matched(
            &c,
            r#"{"and": [{"disease": "G12.2"}, {"sex": "female"}, {"age": {"min": 30, "max": 35}}]}"#,
        );
        let truth: u64 = rare.1.per_biobank.iter().map(|b| b.donors).sum();
        assert!(truth > 0 && truth < 10, "the demo has a rare cell ({truth})");
        let counted = count(&guard, &c, "eve", &rare, 1).unwrap();
        assert!(counted.biobanks.iter().all(|b| b.donors == Some(Reported::FewerThan(10))));
        assert!(
            counted.biobanks.iter().all(|b| b.samples == Some(Reported::FewerThan(10))),
            "nor their samples"
        );
        let anon =
            guard.answer(&c, "anon:1", Granularity::Boolean, &[], &rare.0, &rare.1, 1).unwrap();
        assert!(
            anon.biobanks.iter().all(|b| !b.exists && b.donors.is_none()),
            "no membership oracle"
        );
    }

    #[test]
    fn records_only_from_granted_biobanks_and_the_budget_holds() {
        let c = demo();
        let guard = Guard::new(Policy { daily_budget: 3, ..Policy::default() }, [3; 32]);
        let m = matched(&c, r#"{"disease": "C50"}"#);
        let a = guard.answer(&c, "rita", Granularity::Record, &[1], &m.0, &m.1, 1).unwrap();
        assert!(a.biobanks[0].records.is_none() && a.biobanks[2].records.is_none());
        let records = a.biobanks[1].records.as_ref().unwrap();
        assert!(!records.is_empty() && records[0]["diseases"].to_string().contains("C50"));
        let other = |json: &str| matched(&c, json);
        count(&guard, &c, "rita", &other(r#"{"disease": "E11"}"#), 1).unwrap();
        count(&guard, &c, "rita", &other(r#"{"disease": "I10"}"#), 1).unwrap();
        let over = count(&guard, &c, "rita", &other(r#"{"disease": "J45"}"#), 1);
        assert_eq!(over, Err(Refusal::Budget { limit: 3 }));
        assert!(count(&guard, &c, "rita", &other(r#"{"disease": "J45"}"#), 2).is_ok(), "a new day");
    }
}
