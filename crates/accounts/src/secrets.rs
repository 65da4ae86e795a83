//! Random secrets and how they are stored.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// A hash that no password matches, checked when the username is unknown so
/// that a failed sign-in costs the same either way. (The argon2id hash of a
/// random string; its salt and parameters are the defaults we use.)
pub(crate) const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c295YWt1LXVua25vd24$0Ynd6Yf0Z6x3bM7m4qX9dQm0v8bS1y2Yp3yVQnB3Q5c";

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// 256 random bits, URL-safe.
pub(crate) fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// What is stored of a secret: its SHA-256, hex.
pub(crate) fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_user_hash_is_a_real_argon2_hash() {
        // A hash that failed to parse would make unknown users fail fast,
        // and so detectable by timing.
        let hash = argon2::password_hash::PasswordHash::new(super::UNKNOWN_USER_HASH).unwrap();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
    }
}
