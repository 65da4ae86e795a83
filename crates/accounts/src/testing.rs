//! Test support: signed-in users in one call (feature `testing`).

use crate::{Accounts, Actor, NewUser, Role};

/// The password every test user gets.
pub const PASSWORD: &str = "a long enough password";

/// Makes these users and signs each in, in order.
pub async fn actors(accounts: &Accounts, users: &[(&str, Role)]) -> Vec<Actor> {
    let mut out = Vec::with_capacity(users.len());
    for &(name, role) in users {
        let user = NewUser {
            username: name.into(),
            display_name: String::new(),
            password: PASSWORD.into(),
            role,
        };
        accounts.create_user(None, user).await.expect("a test user");
        out.push(accounts.sign_in(name, PASSWORD).await.expect("a test sign-in").0);
    }
    out
}
