//! The OpenAPI 3.1 document, made from the route declarations in
//! [`crate::api`], so it always matches the real routes.

use axum::http::Method;
use serde_json::{json, Map, Value};

/// One route's documentation.
#[derive(Debug, Clone)]
pub struct Doc {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    /// Needs a session cookie or an API token.
    pub signed_in: bool,
    pub params: &'static [Param],
    /// The JSON body's shape, in words.
    pub body: Option<&'static str>,
    /// A larger body limit than the default (uploads).
    pub body_limit: Option<usize>,
    /// The body is a multipart upload, not JSON.
    pub multipart: bool,
}

/// A path or query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub place: &'static str,
    pub description: &'static str,
}

impl Param {
    pub const fn query(name: &'static str, description: &'static str) -> Param {
        Param { name, place: "query", description }
    }

    pub const fn path(name: &'static str, description: &'static str) -> Param {
        Param { name, place: "path", description }
    }
}

impl Doc {
    pub fn public(method: Method, path: &'static str, summary: &'static str) -> Doc {
        Doc {
            method,
            path,
            summary,
            signed_in: false,
            params: &[],
            body: None,
            body_limit: None,
            multipart: false,
        }
    }

    pub fn signed_in(method: Method, path: &'static str, summary: &'static str) -> Doc {
        Doc { signed_in: true, ..Doc::public(method, path, summary) }
    }

    pub fn params(self, params: &'static [Param]) -> Doc {
        Doc { params, ..self }
    }

    pub fn body(self, body: &'static str) -> Doc {
        Doc { body: Some(body), ..self }
    }

    /// A JSON body of up to `limit` bytes (above the server's default).
    pub fn large_body(self, body: &'static str, limit: usize) -> Doc {
        Doc { body: Some(body), body_limit: Some(limit), ..self }
    }

    /// A multipart upload of up to `limit` bytes, its fields described.
    pub fn upload(self, fields: &'static str, limit: usize) -> Doc {
        Doc { body: Some(fields), body_limit: Some(limit), multipart: true, ..self }
    }
}

/// The document for `docs`.
pub fn document(docs: &[Doc]) -> Value {
    let mut paths = Map::new();
    for d in docs {
        let mut op = json!({
            "summary": d.summary,
            "operationId": operation_id(d),
            "responses": {
                "200": {"description": "success"},
                "default": {
                    "description": "an error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            }
        });
        if !d.params.is_empty() {
            op["parameters"] = d
                .params
                .iter()
                .map(|p| {
                    json!({"name": p.name, "in": p.place, "required": p.place == "path",
                           "description": p.description, "schema": {"type": "string"}})
                })
                .collect();
        }
        if let Some(body) = d.body {
            op["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": {
                    (if d.multipart { "multipart/form-data" } else { "application/json" }):
                        {"schema": {"type": "object"}}
                }
            });
        }
        op["security"] =
            if d.signed_in { json!([{"session": []}, {"token": []}]) } else { json!([]) };
        let entry = paths.entry(d.path).or_insert_with(|| json!({}));
        entry[d.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Soyaku API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Shared infrastructure for academic drug discovery. Errors are \
                {\"error\": {\"code\", \"message\"}}. State-changing calls made with the session \
                cookie need the X-CSRF-Token header; calls with an API token do not."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
                    }}
                }
            }
        }
    })
}

fn operation_id(d: &Doc) -> String {
    let words: Vec<&str> = d
        .path
        .split(['/', '.', '{', '}'])
        .filter(|w| !w.is_empty() && *w != "api" && *w != "v1")
        .collect();
    format!("{}_{}", d.method.as_str().to_ascii_lowercase(), words.join("_"))
}
