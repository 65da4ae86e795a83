//! The federation file: which nodes the cross-search asks.
//!
//! ```toml
//! [[node]]
//! name = "tmm"
//! url = "http://10.1.2.3:7100"   # push: the node listens here
//! token_file = "/etc/soyaku/tmm.token"
//! timeout_ms = 3000              # default 3000
//!
//! [[node]]
//! name = "ncbn"
//! mode = "pull"                  # the node polls us; no url
//! token_file = "/etc/soyaku/ncbn.token"
//! ```
//!
//! Tokens live in their own files (readable by the service only), never in
//! this file, so it can be shown and versioned.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::{FederationError, Link, Peer, Token};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    node: Vec<NodeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    name: String,
    #[serde(default)]
    mode: Mode,
    url: Option<String>,
    token_file: PathBuf,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Mode {
    #[default]
    Push,
    Pull,
}

fn default_timeout() -> u64 {
    3000
}

/// Reads the federation file at `path`; token files are relative to it.
pub fn read(path: &Path) -> Result<Vec<Peer>, FederationError> {
    let err = |m: String| FederationError::Config(format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: File = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut names = std::collections::HashSet::new();
    file.node
        .into_iter()
        .map(|n| {
            if !names.insert(n.name.clone()) {
                return Err(err(format!("node '{}' is listed twice", n.name)));
            }
            let token_path = dir.join(&n.token_file);
            let text = std::fs::read_to_string(&token_path)
                .map_err(|e| err(format!("node '{}': {}: {e}", n.name, token_path.display())))?;
            let token = Token::new(&text).map_err(|e| err(format!("node '{}': {e}", n.name)))?;
            let link = match (n.mode, n.url) {
                (Mode::Push, Some(url)) => Link::Push { url, token },
                (Mode::Push, None) => {
                    return Err(err(format!("node '{}' needs a url (or mode = \"pull\")", n.name)))
                }
                (Mode::Pull, None) => Link::Pull { token },
                (Mode::Pull, Some(_)) => {
                    return Err(err(format!("node '{}' polls us: it has no url", n.name)))
                }
            };
            Ok(Peer { name: n.name, link, timeout: Duration::from_millis(n.timeout_ms) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_push_and_pull_nodes_and_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.token"), "0123456789abcdef0123\n").unwrap();
        std::fs::write(dir.path().join("short.token"), "abc").unwrap();
        let file = dir.path().join("federation.toml");
        std::fs::write(
            &file,
            "[[node]]\nname = \"a\"\nurl = \"http://127.0.0.1:1\"\ntoken_file = \"a.token\"\n\
             [[node]]\nname = \"b\"\nmode = \"pull\"\ntoken_file = \"a.token\"\ntimeout_ms = 500\n",
        )
        .unwrap();
        let peers = read(&file).unwrap();
        assert!(
            matches!(&peers[0].link, Link::Push { url, token } if url.ends_with(":1") && token.matches("0123456789abcdef0123"))
        );
        assert!(matches!(peers[1].link, Link::Pull { .. }));
        assert_eq!(peers[1].timeout, Duration::from_millis(500));
        for (bad, says) in [
            ("[[node]]\nname = \"a\"\ntoken_file = \"a.token\"\n", "needs a url"),
            ("[[node]]\nname = \"a\"\nurl = \"x\"\ntoken_file = \"short.token\"\n", "at least 16"),
            ("[[node]]\nname = \"a\"\nurl = \"x\"\ntoken_file = \"gone.token\"\n", "gone.token"),
            ("[[node]]\nname = \"a\"\nurl = \"x\"\ntoken = \"inline\"\n", "unknown field"),
        ] {
            std::fs::write(&file, bad).unwrap();
            let e = read(&file).err().unwrap().to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
