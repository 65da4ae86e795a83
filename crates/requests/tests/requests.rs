//! The provision workflow on a real registry: who may do what, in which
//! state, and what a shipment records.

use std::sync::atomic::AtomicBool;

use accounts::{Accounts, Actor, Role};
use library::CompoundId;
use requests::{Container, NewRequest, RequestError, Requests, Status};
use testdb::Backend;

testdb::on_both_backends!(
    submitted_approved_shipped_and_counted,
    only_the_right_roles_move_a_request,
    bad_requests_and_shipments_are_refused_with_reasons,
);

struct Desk {
    requests: Requests,
    rita: Actor,
    rob: Actor,
    sam: Actor,
    ada: Actor,
}

async fn desk(b: &Backend) -> Desk {
    let registry = library::Registry::open(&b.fresh_url().await).await.unwrap();
    let file = b.dir().join("five.smi");
    std::fs::write(
        &file,
        "CCO ethanol\nc1ccccc1O phenol\nCC(=O)O acetic\nc1ccncc1 pyridine\nCCN ethylamine\n",
    )
    .unwrap();
    library::import::import_file(
        &registry,
        &file,
        &Default::default(),
        &|_| {},
        &AtomicBool::new(false),
    )
    .await
    .unwrap();
    let accounts = Accounts::attach(registry.pool().clone()).await.unwrap();
    let actors = accounts::testing::actors(
        &accounts,
        &[
            ("rita", Role::Researcher),
            ("rob", Role::Researcher),
            ("sam", Role::SupportStaff),
            ("ada", Role::Admin),
        ],
    )
    .await;
    let requests = Requests::attach(registry, accounts).await.unwrap();
    let [rita, rob, sam, ada] = actors.try_into().unwrap();
    Desk { requests, rita, rob, sam, ada }
}

fn ask(ids: &[i64]) -> NewRequest {
    NewRequest {
        compounds: ids.iter().map(|&i| CompoundId(i)).collect(),
        purpose: "kinase assay".into(),
        amount: "10 µL of 10 mM".into(),
        plate_format: "384-well".into(),
    }
}

fn shipment(ids: &[i64]) -> Vec<Container> {
    ids.iter()
        .enumerate()
        .map(|(n, &i)| Container {
            compound: CompoundId(i),
            barcode: "DP0001".into(),
            well: format!("A{:02}", n + 1),
        })
        .collect()
}

async fn submitted_approved_shipped_and_counted(b: &Backend) {
    let d = desk(b).await;
    let r = d.requests.submit(&d.rita, ask(&[2, 4])).await.unwrap();
    assert_eq!(r.status, Status::Submitted);
    assert_eq!(r.compounds, [CompoundId(2), CompoundId(4)]);
    // Nothing can be shipped before approval.
    assert!(matches!(
        d.requests.ship(&d.sam, r.id, &shipment(&[2, 4])).await,
        Err(RequestError::WrongState { .. })
    ));
    let r = d.requests.approve(&d.sam, r.id, "ok").await.unwrap();
    assert_eq!((r.status, r.reviewer.as_deref()), (Status::Approved, Some("sam")));
    // A second decision on the same request is refused.
    assert!(matches!(
        d.requests.reject(&d.sam, r.id, "changed my mind").await,
        Err(RequestError::WrongState { .. })
    ));
    assert_eq!(d.requests.compounds_provided().await.unwrap(), 0);
    let r = d.requests.ship(&d.sam, r.id, &shipment(&[4, 2])).await.unwrap();
    assert_eq!(r.status, Status::Shipped);
    assert_eq!(r.shipment.len(), 2);
    assert_eq!(d.requests.compounds_provided().await.unwrap(), 2);
    assert!(matches!(
        d.requests.ship(&d.sam, r.id, &shipment(&[2, 4])).await,
        Err(RequestError::WrongState { .. })
    ));
}

async fn only_the_right_roles_move_a_request(b: &Backend) {
    let d = desk(b).await;
    // Staff and admins do not request; researchers do not review.
    assert!(matches!(d.requests.submit(&d.sam, ask(&[1])).await, Err(RequestError::Account(_))));
    assert!(matches!(d.requests.submit(&d.ada, ask(&[1])).await, Err(RequestError::Account(_))));
    let r = d.requests.submit(&d.rita, ask(&[1])).await.unwrap();
    assert!(matches!(d.requests.approve(&d.rita, r.id, "").await, Err(RequestError::Account(_))));
    assert!(matches!(d.requests.approve(&d.rob, r.id, "").await, Err(RequestError::Account(_))));
    assert!(matches!(d.requests.approve(&d.ada, r.id, "").await, Err(RequestError::Account(_))));
    // Another researcher cannot see, cancel or even learn of it.
    assert!(matches!(d.requests.get(&d.rob, r.id).await, Err(RequestError::NotFound(_))));
    assert!(matches!(d.requests.cancel(&d.rob, r.id).await, Err(RequestError::NotFound(_))));
    assert!(d.requests.list(&d.rob, None).await.unwrap().is_empty());
    assert_eq!(d.requests.list(&d.rita, None).await.unwrap().len(), 1);
    assert_eq!(d.requests.list(&d.sam, Some(Status::Submitted)).await.unwrap().len(), 1);
    assert!(d.requests.list(&d.sam, Some(Status::Shipped)).await.unwrap().is_empty());
    // Rejection needs a reason; the requester may cancel only before review.
    assert!(matches!(d.requests.reject(&d.sam, r.id, " ").await, Err(RequestError::Invalid(_))));
    let r = d.requests.reject(&d.sam, r.id, "out of stock").await.unwrap();
    assert_eq!((r.status, r.review_note.as_str()), (Status::Rejected, "out of stock"));
    assert!(matches!(d.requests.cancel(&d.rita, r.id).await, Err(RequestError::WrongState { .. })));
    let second = d.requests.submit(&d.rita, ask(&[3])).await.unwrap();
    assert_eq!(d.requests.cancel(&d.rita, second.id).await.unwrap().status, Status::Cancelled);
}

async fn bad_requests_and_shipments_are_refused_with_reasons(b: &Backend) {
    let d = desk(b).await;
    for (bad, words) in [
        (ask(&[]), "1 to"),
        (ask(&[1, 1]), "twice"),
        (ask(&[99]), "SY-0000099"),
        (NewRequest { plate_format: "bucket".into(), ..ask(&[1]) }, "plate format"),
        (NewRequest { purpose: " ".into(), ..ask(&[1]) }, "for"),
    ] {
        let e = d.requests.submit(&d.rita, bad).await.unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
    let r = d.requests.submit(&d.rita, ask(&[1, 2])).await.unwrap();
    d.requests.approve(&d.sam, r.id, "").await.unwrap();
    let mut same_well = shipment(&[1, 2]);
    same_well[1].well = same_well[0].well.clone();
    for (bad, words) in [
        (shipment(&[1]), "not in the shipment"),
        (shipment(&[1, 2, 3]), "not requested"),
        (same_well, "holds two"),
        (
            vec![
                Container { barcode: " ".into(), ..shipment(&[1])[0].clone() },
                shipment(&[2, 1])[1].clone(),
            ],
            "barcode",
        ),
    ] {
        let e = d.requests.ship(&d.sam, r.id, &bad).await.unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
    assert_eq!(d.requests.get(&d.rita, r.id).await.unwrap().status, Status::Approved);
}
