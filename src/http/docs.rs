//! `/docs`: the interactive API reference (Swagger UI) on the service's own OpenAPI document.
//! Its files are built into the binary from the crate that ships them, so the page works
//! without the internet, and a content security policy keeps the browser on this host.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::AppState;

/// Where the reference lives.
pub const PATH: &str = "/docs";

/// Everything the page may load comes from this host: its scripts and styles, the document,
/// and the requests "Try it out" sends. Inline styles and data: images are Swagger UI's own.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data:; connect-src 'self'; font-src 'self' data:; \
                      object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The reference's routes.
pub fn router() -> Router<AppState> {
    // No validator badge: it would ask an outside service about the document.
    let config = Config::new(["/api/v1/openapi.json"])
        .validator_url("none")
        .try_it_out_enabled(false)
        .persist_authorization(false);
    Router::from(SwaggerUi::new(PATH).config(config)).layer(axum::middleware::map_response(same_host_only))
}

async fn same_host_only(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    response
}
