//! Static files compiled into the binary: our stylesheet and script, and the
//! JSME structure editor (npm `jsme-editor`, BSD-3-Clause, installed into
//! `web/node_modules` by `scripts/setup.sh`), so `soyaku serve` needs
//! nothing beside itself.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Own;

#[derive(rust_embed::Embed)]
#[folder = "../../web/node_modules/jsme-editor/"]
#[exclude = "*.md"]
#[exclude = "package.json"]
#[exclude = "jsme_screenshot.png"]
#[exclude = "compilation-mappings.txt"]
#[exclude = "jsme.devmode.js"]
struct Jsme;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/static/jsme/{*path}",
            get(|Path(p): Path<String>| async move { serve::<Jsme>(&p) }),
        )
        .route("/static/{*path}", get(|Path(p): Path<String>| async move { serve::<Own>(&p) }))
        .route("/editor", get(editor))
}

/// The policy of the editor's page alone. JSME is a GWT build: its loader
/// runs inline script in a frame of its own, which the site's policy
/// forbids. This page holds nothing but the editor (no user data, no
/// query), so only it gets `unsafe-inline`, and only the site itself may
/// frame it.
const EDITOR_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'none'; frame-ancestors 'self'";

/// The structure editor's page, shown in a frame of the search page.
async fn editor() -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                script src="/static/editor.js" {}
                script src="/static/jsme/jsme.nocache.js" {}
            }
            body style="margin:0" { div #jsme {} }
        }
    };
    (
        [
            (header::CONTENT_SECURITY_POLICY, EDITOR_POLICY),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        page,
    )
        .into_response()
}

fn serve<E: rust_embed::Embed>(path: &str) -> Response {
    match E::get(path) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
            ],
            file.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
