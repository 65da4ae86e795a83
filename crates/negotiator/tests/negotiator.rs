//! Access requests on a real database: the Negotiator states, who may move
//! and see what, messages, and a history that cannot be rewritten.

use accounts::{Accounts, Actor, Role};
use negotiator::{Negotiator, NegotiatorError, NewRequest, State};
use testdb::Backend;

testdb::on_both_backends!(
    a_request_goes_from_submitted_to_closed_with_each_biobank_deciding,
    only_the_right_people_see_and_move_a_request,
    the_history_is_append_only,
);

struct Desk {
    negotiator: Negotiator,
    pool: sqlx::AnyPool,
    rita: Actor,
    rob: Actor,
    carl: Actor,
    dora: Actor,
    olga: Actor,
}

async fn desk(b: &Backend) -> Desk {
    let registry = library::Registry::open(&b.fresh_url().await).await.unwrap();
    let accounts = Accounts::attach(registry.pool().clone()).await.unwrap();
    let actors = accounts::testing::actors(
        &accounts,
        &[
            ("rita", Role::Researcher),
            ("rob", Role::Researcher),
            ("carl", Role::BiobankCurator),
            ("dora", Role::BiobankCurator),
            ("olga", Role::ProgrammeOfficer),
            ("ada", Role::Admin),
        ],
    )
    .await;
    let pool = registry.pool().clone();
    let negotiator = Negotiator::attach(pool.clone(), accounts).await.unwrap();
    let [rita, rob, carl, dora, olga, ada] = actors.try_into().unwrap();
    negotiator.assign_curator(&ada, "carl", "tmm").await.unwrap();
    negotiator.assign_curator(&ada, "dora", "bbj").await.unwrap();
    let refused = negotiator.assign_curator(&ada, "rob", "bbj").await.unwrap_err();
    assert!(refused.to_string().contains("only biobank_curator"), "{refused}");
    assert!(matches!(
        negotiator.assign_curator(&carl, "carl", "bbj").await,
        Err(NegotiatorError::Account(_))
    ));
    Desk { negotiator, pool, rita, rob, carl, dora, olga }
}

fn known() -> Vec<String> {
    ["tmm", "bbj", "ncbn"].map(String::from).to_vec()
}

fn request() -> NewRequest {
    NewRequest {
        title: "E11 DNA for a GWAS replication".into(),
        project: "AMED-T2D".into(),
        purpose: "replicate two loci".into(),
        ethics: "Tohoku Univ. IRB 2026-123".into(),
        query: serde_json::from_str(r#"{"and": [{"disease": "E11"}, {"sample_type": "dna"}]}"#)
            .unwrap(),
        biobanks: vec!["tmm".into(), "bbj".into()],
        wanted: "500 DNA samples, 1 µg each; genotype array data".into(),
    }
}

async fn a_request_goes_from_submitted_to_closed_with_each_biobank_deciding(b: &Backend) {
    let d = desk(b).await;
    let n = &d.negotiator;
    let r = n.submit(&d.rita, request(), &known()).await.unwrap();
    assert_eq!(r.parts.len(), 2);
    assert!(r.parts.iter().all(|p| p.state == State::Submitted && p.next == [State::Withdrawn]));
    // TMM reviews, approves, transfers, closes.
    for (to, why) in [
        (State::UnderReview, ""),
        (State::Approved, "approved by the access committee"),
        (State::Transferred, "shipped 500 aliquots"),
        (State::Closed, ""),
    ] {
        let r = n.step(&d.carl, r.id, "tmm", to, why).await.unwrap();
        assert_eq!(r.parts.iter().find(|p| p.biobank == "tmm").unwrap().state, to);
    }
    // BBJ: a question, an answer, then a reasoned rejection.
    n.step(&d.dora, r.id, "bbj", State::UnderReview, "").await.unwrap();
    n.message(&d.dora, r.id, "bbj", "Which consent scope do you need?").await.unwrap();
    n.message(&d.rita, r.id, "bbj", "General research use is enough.").await.unwrap();
    let no_reason = n.step(&d.dora, r.id, "bbj", State::Rejected, " ").await.unwrap_err();
    assert!(no_reason.to_string().contains("say why"));
    let skip = n.step(&d.dora, r.id, "bbj", State::Transferred, "").await.unwrap_err();
    assert!(skip.to_string().contains("you may move it to approved or rejected"), "{skip}");
    n.step(&d.dora, r.id, "bbj", State::Rejected, "consent excludes commercial partners")
        .await
        .unwrap();
    let seen = n.get(&d.rita, r.id).await.unwrap();
    let states: Vec<(&str, State)> =
        seen.parts.iter().map(|p| (p.biobank.as_str(), p.state)).collect();
    assert_eq!(states, [("bbj", State::Rejected), ("tmm", State::Closed)]);
    assert_eq!(seen.events.len(), 2 + 4 + 1 + 2 + 1);
    assert!(seen.parts.iter().all(|p| p.next.is_empty()), "too late to withdraw");
    assert_eq!(n.approved_counts().await.unwrap(), [("tmm".to_owned(), 1)]);
    // A second request, withdrawn by its requester.
    let again = n.submit(&d.rita, request(), &known()).await.unwrap();
    let gone = n.step(&d.rita, again.id, "bbj", State::Withdrawn, "").await.unwrap();
    assert_eq!(gone.parts.iter().find(|p| p.biobank == "bbj").unwrap().state, State::Withdrawn);
}

async fn only_the_right_people_see_and_move_a_request(b: &Backend) {
    let d = desk(b).await;
    let n = &d.negotiator;
    // Bad requests say what is missing.
    let mut bad = request();
    bad.ethics = " ".into();
    assert!(n.submit(&d.rita, bad, &known()).await.unwrap_err().to_string().contains("ethics"));
    let mut bad = request();
    bad.biobanks = vec!["nowhere".into()];
    assert!(n.submit(&d.rita, bad, &known()).await.unwrap_err().to_string().contains("'nowhere'"));
    assert!(matches!(
        n.submit(&d.carl, request(), &known()).await,
        Err(NegotiatorError::Account(_))
    ));
    let r = n.submit(&d.rita, request(), &known()).await.unwrap();
    // Another researcher sees nothing; each curator only their biobank.
    assert!(matches!(n.get(&d.rob, r.id).await, Err(NegotiatorError::NotFound(_))));
    assert!(n.list(&d.rob).await.unwrap().is_empty());
    let carl_sees = n.get(&d.carl, r.id).await.unwrap();
    assert_eq!(carl_sees.parts.len(), 1);
    assert_eq!(carl_sees.parts[0].next, [State::UnderReview]);
    n.message(&d.dora, r.id, "bbj", "for dora's thread only").await.unwrap();
    let carl_sees = n.get(&d.carl, r.id).await.unwrap();
    assert!(carl_sees.events.iter().all(|e| e.biobank == "tmm"), "no other biobank's thread");
    assert_eq!(n.list(&d.carl).await.unwrap().len(), 1);
    // Curators move only their own biobank's part; the requester cannot
    // approve; the programme officer sees everything and moves nothing.
    assert!(n.step(&d.carl, r.id, "bbj", State::UnderReview, "").await.is_err());
    assert!(n.step(&d.rita, r.id, "tmm", State::UnderReview, "").await.is_err());
    assert!(n.message(&d.carl, r.id, "bbj", "hello").await.is_err());
    let olga_sees = n.get(&d.olga, r.id).await.unwrap();
    assert_eq!(olga_sees.parts.len(), 2);
    assert!(olga_sees.parts.iter().all(|p| p.next.is_empty()));
    assert!(n.step(&d.olga, r.id, "tmm", State::UnderReview, "").await.is_err());
    // Every view and step is audited.
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'biobank.access.%'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert!(audited >= 5, "{audited}");
}

async fn the_history_is_append_only(b: &Backend) {
    let d = desk(b).await;
    let r = d.negotiator.submit(&d.rita, request(), &known()).await.unwrap();
    for sql in [
        "UPDATE biobank_access_events SET state = 'approved'",
        "DELETE FROM biobank_access_events",
        "UPDATE biobank_access_requests SET ethics = ''",
        "DELETE FROM biobank_access_requests",
    ] {
        let e = sqlx::query(sql).execute(&d.pool).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    let seen = d.negotiator.get(&d.rita, r.id).await.unwrap();
    assert!(seen.parts.iter().all(|p| p.state == State::Submitted));
}
