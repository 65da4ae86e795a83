//! Accounts end to end on a real database: sign-in, sessions, tokens, roles
//! and the append-only audit log.

use accounts::{AccountError, Accounts, AuditQuery, NewUser, Role};
use testdb::Backend;

testdb::on_both_backends!(
    sign_in_session_and_sign_out,
    rules_for_new_accounts,
    api_tokens_act_for_their_user,
    audit_log_is_append_only_and_for_admins,
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
