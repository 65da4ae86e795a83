//! Accounts end to end on a real database: sign-in, sessions, tokens, roles
//! and the append-only audit log.

use accounts::{AccountError, Accounts, AuditQuery, NewUser, Role};
use testdb::Backend;

testdb::on_both_backends!(
    sign_in_session_and_sign_out,
    rules_for_new_accounts,
    api_tokens_act_for_their_user,
    audit_log_is_append_only_and_for_admins,
    the_audit_chain_finds_forged_changed_and_removed_rows,
    sign_in_guessing_waits_and_odd_names_never_reach_the_log,
    tokens_expire_and_revoke_and_disabled_accounts_stop_at_once,
);

async fn fresh(b: &Backend) -> (library::Registry, Accounts) {
    let registry = library::Registry::open(&b.fresh_url().await).await.unwrap();
    let accounts = Accounts::attach(registry.pool().clone()).await.unwrap();
    (registry, accounts)
}

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: String::new(),
        password: format!("{name}-long-password"),
        role,
    }
}

async fn sign_in_session_and_sign_out(b: &Backend) {
    let (_registry, accounts) = fresh(b).await;
    let user = accounts.create_user(None, new_user("alice", Role::Researcher)).await.unwrap();
    assert_eq!(user.display_name, "alice");
    assert!(matches!(
        accounts.sign_in("alice", "wrong-password!").await,
        Err(AccountError::BadCredentials)
    ));
    assert!(matches!(
        accounts.sign_in("nobody", "alice-long-password").await,
        Err(AccountError::BadCredentials)
    ));
    let (actor, session) = accounts.sign_in("alice", "alice-long-password").await.unwrap();
    assert_eq!(actor.role, Role::Researcher);
    let (again, csrf) = accounts.session(&session.token).await.unwrap();
    assert_eq!(again, actor);
    assert_eq!(csrf, session.csrf);
    assert_ne!(session.token, session.csrf);
    accounts.sign_out(&actor, Some(&session.token)).await.unwrap();
    assert!(matches!(accounts.session(&session.token).await, Err(AccountError::Unauthenticated)));
}

async fn rules_for_new_accounts(b: &Backend) {
    let (_registry, accounts) = fresh(b).await;
    let short = NewUser { password: "short".into(), ..new_user("bob", Role::Researcher) };
    assert!(matches!(accounts.create_user(None, short).await, Err(AccountError::Invalid(_))));
    let bad_name = new_user("Bob Smith", Role::Researcher);
    assert!(matches!(accounts.create_user(None, bad_name).await, Err(AccountError::Invalid(_))));
    accounts.create_user(None, new_user("bob", Role::Researcher)).await.unwrap();
    assert!(matches!(
        accounts.create_user(None, new_user("bob", Role::Admin)).await,
        Err(AccountError::Taken(_))
    ));
    // Only an admin may make accounts through the platform.
    let (bob, _) = accounts.sign_in("bob", "bob-long-password").await.unwrap();
    assert!(matches!(
        accounts.create_user(Some(&bob), new_user("eve", Role::Admin)).await,
        Err(AccountError::Forbidden { .. })
    ));
}

async fn api_tokens_act_for_their_user(b: &Backend) {
    let (_registry, accounts) = fresh(b).await;
    accounts.create_user(None, new_user("carol", Role::SupportStaff)).await.unwrap();
    let (carol, _) = accounts.sign_in("carol", "carol-long-password").await.unwrap();
    let secret = accounts.create_token(&carol, "plate robot").await.unwrap();
    assert!(secret.starts_with("sy_"));
    assert_eq!(accounts.token(&secret).await.unwrap(), carol);
    assert!(accounts.token("sy_not-a-token").await.is_err());
}

async fn audit_log_is_append_only_and_for_admins(b: &Backend) {
    let (registry, accounts) = fresh(b).await;
    accounts.create_user(None, new_user("root-admin", Role::Admin)).await.unwrap();
    accounts.create_user(None, new_user("dave", Role::Researcher)).await.unwrap();
    let (admin, _) = accounts.sign_in("root-admin", "root-admin-long-password").await.unwrap();
    let (dave, _) = accounts.sign_in("dave", "dave-long-password").await.unwrap();
    let _ = accounts.sign_in("dave", "not dave's password").await;
    accounts
        .audit(Some(&dave), "compound.view", "compound:SY-0000001", serde_json::json!({}))
        .await
        .unwrap();
    assert!(matches!(
        accounts.audit_log(&dave, &AuditQuery::default()).await,
        Err(AccountError::Forbidden { .. })
    ));
    let log = accounts.audit_log(&admin, &AuditQuery::default()).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["compound.view", "sign_in.failed", "sign_in", "sign_in", "user.create", "user.create"]
    );
    let mine = accounts
        .audit_log(&admin, &AuditQuery { user_id: Some(dave.user_id), ..AuditQuery::default() })
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    // The database itself refuses to rewrite history.
    let pool = registry.pool();
    assert!(sqlx::query("UPDATE audit_log SET action = 'nothing'").execute(pool).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_log").execute(pool).await.is_err());
    assert_eq!(accounts.audit_log(&admin, &AuditQuery::default()).await.unwrap().len(), 6);
}

async fn the_audit_chain_finds_forged_changed_and_removed_rows(b: &Backend) {
    let (registry, accounts) = fresh(b).await;
    let pool = registry.pool();
    for i in 0..5 {
        accounts
            .audit(None, "test.step", &format!("step:{i}"), serde_json::json!({"i": i}))
            .await
            .unwrap();
    }
    let clean = accounts.verify_audit().await.unwrap();
    assert_eq!((clean.rows, clean.unchained, clean.first_break.clone()), (5, 0, None));
    assert_eq!(clean.head.as_ref().map(String::len), Some(64));

    // A row inserted by hand, without a link.
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, target, detail) \
         VALUES (1, NULL, '-', 'forged', 'x', '{}')",
    )
    .execute(pool)
    .await
    .unwrap();
    let forged: i64 =
        sqlx::query_scalar("SELECT MAX(id) FROM audit_log").fetch_one(pool).await.unwrap();
    let found = accounts.verify_audit().await.unwrap();
    assert_eq!(found.first_break.as_ref().map(|b| b.id), Some(forged), "{found:?}");

    // A forged row with a made-up link, on a fresh log.
    let (registry, accounts) = fresh(b).await;
    let pool = registry.pool();
    for i in 0..4 {
        accounts
            .audit(None, "test.step", &format!("step:{i}"), serde_json::json!({}))
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, target, detail, chain) \
         VALUES (1, NULL, '-', 'forged', 'x', '{}', 'abc')",
    )
    .execute(pool)
    .await
    .unwrap();
    let forged: i64 =
        sqlx::query_scalar("SELECT MAX(id) FROM audit_log").fetch_one(pool).await.unwrap();
    accounts.audit(None, "test.after", "x", serde_json::json!({})).await.unwrap();
    let found = accounts.verify_audit().await.unwrap();
    assert_eq!(found.first_break.as_ref().map(|b| b.id), Some(forged), "{found:?}");

    // A row removed (and another changed) with the triggers dropped.
    let (registry, accounts) = fresh(b).await;
    let pool = registry.pool();
    for i in 0..6 {
        accounts
            .audit(None, "test.step", &format!("step:{i}"), serde_json::json!({}))
            .await
            .unwrap();
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id").fetch_all(pool).await.unwrap();
    let drop_triggers = if b.is_postgres() {
        vec!["DROP TRIGGER audit_log_no_change ON audit_log"]
    } else {
        vec!["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]
    };
    for sql in drop_triggers {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(ids[2]).execute(pool).await.unwrap();
    let found = accounts.verify_audit().await.unwrap();
    assert_eq!(found.first_break.as_ref().map(|b| b.id), Some(ids[3]), "{found:?}");
    sqlx::query("UPDATE audit_log SET target = 'changed' WHERE id = $1")
        .bind(ids[1])
        .execute(pool)
        .await
        .unwrap();
    let found = accounts.verify_audit().await.unwrap();
    assert_eq!(found.first_break.as_ref().map(|b| b.id), Some(ids[1]), "{found:?}");
}

async fn sign_in_guessing_waits_and_odd_names_never_reach_the_log(b: &Backend) {
    let (registry, accounts) = fresh(b).await;
    accounts.create_user(None, new_user("alice", Role::Researcher)).await.unwrap();
    let free = accounts::throttle::FREE_FAILURES_PER_ACCOUNT;
    for _ in 0..=free {
        assert!(matches!(
            accounts.sign_in_from("alice", "wrong-password!", Some("10.0.0.1")).await,
            Err(AccountError::BadCredentials)
        ));
    }
    // Even the right password waits now, for this account from anywhere.
    assert!(matches!(
        accounts.sign_in_from("alice", "alice-long-password", Some("10.0.0.2")).await,
        Err(AccountError::Throttled { retry_after: 1 })
    ));
    let huge = "x".repeat(100_000);
    assert!(matches!(
        accounts.sign_in_from(&huge, "whatever", None).await,
        Err(AccountError::BadCredentials)
    ));
    let longest: i64 = sqlx::query_scalar("SELECT MAX(LENGTH(target)) FROM audit_log")
        .fetch_one(registry.pool())
        .await
        .unwrap();
    assert!(longest <= accounts::MAX_AUDIT_TARGET_CHARS as i64, "{longest}");
    let throttled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.throttled'")
            .fetch_one(registry.pool())
            .await
            .unwrap();
    assert_eq!(throttled, 1);
}

async fn tokens_expire_and_revoke_and_disabled_accounts_stop_at_once(b: &Backend) {
    let (registry, accounts) = fresh(b).await;
    accounts.create_user(None, new_user("carol", Role::Researcher)).await.unwrap();
    accounts.create_user(None, new_user("dave", Role::Researcher)).await.unwrap();
    accounts.create_user(None, new_user("ada", Role::Admin)).await.unwrap();
    let (carol, _) = accounts.sign_in("carol", "carol-long-password").await.unwrap();
    let (dave, _) = accounts.sign_in("dave", "dave-long-password").await.unwrap();
    let (ada, _) = accounts.sign_in("ada", "ada-long-password").await.unwrap();
    let old = accounts.create_token_for_days(&carol, "old", 1).await.unwrap();
    let kept = accounts.create_token(&carol, "kept").await.unwrap();
    assert!(accounts.create_token_for_days(&carol, "never", 0).await.is_err());
    assert!(accounts.create_token_for_days(&carol, "x\u{0}y", 5).await.is_err());
    // A day later, as far as the database is concerned.
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE name = 'old'")
        .execute(registry.pool())
        .await
        .unwrap();
    assert!(matches!(accounts.token(&old).await, Err(AccountError::Unauthenticated)));
    let listed = accounts.tokens(&carol).await.unwrap();
    let usable: Vec<(&str, bool)> = listed.iter().map(|t| (t.name.as_str(), t.usable)).collect();
    assert_eq!(usable, [("kept", true), ("old", false)]);
    assert!(accounts.tokens(&dave).await.unwrap().is_empty(), "only one's own tokens");
    let kept_id = listed[0].id;
    assert!(accounts.revoke_token(&dave, kept_id).await.is_err(), "not dave's to revoke");
    assert_eq!(accounts.token(&kept).await.unwrap().username, "carol");
    // Disabled: sessions and tokens stop at once; enabled again, sign-in works.
    assert!(matches!(
        accounts.set_disabled(Some(&carol), "dave", true).await,
        Err(AccountError::Forbidden { .. })
    ));
    accounts.set_disabled(Some(&ada), "carol", true).await.unwrap();
    assert!(matches!(accounts.token(&kept).await, Err(AccountError::Unauthenticated)));
    assert!(matches!(
        accounts.sign_in("carol", "carol-long-password").await,
        Err(AccountError::BadCredentials)
    ));
    accounts.set_disabled(None, "carol", false).await.unwrap();
    accounts.sign_in("carol", "carol-long-password").await.unwrap();
    accounts.revoke_token(&carol, kept_id).await.unwrap();
    assert!(matches!(accounts.token(&kept).await, Err(AccountError::Unauthenticated)));
    assert!(accounts.set_disabled(Some(&ada), "ada", true).await.is_err(), "not oneself");
}
