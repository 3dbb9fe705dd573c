//! The rate-limit answers in the OpenAPI document: every `/v1` operation may answer 429.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

/// Adds the 429 answer, with its headers, to every `/v1` operation.
pub(crate) struct RateLimitAnswers;

impl utoipa::Modify for RateLimitAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut().filter(|(p, _)| p.starts_with("/v1/")) {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for op in operations.into_iter().flatten() {
                add_429(op, path.starts_with("/v1/meetings"));
            }
        }
    }
}

fn add_429(op: &mut Operation, meeting_writes: bool) {
    let text = |description: &str| {
        HeaderBuilder::new()
            .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String))
            .description(Some(description))
            .build()
    };
    let integer = |description: &str| {
        HeaderBuilder::new()
            .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer))
            .description(Some(description))
            .build()
    };
    let description = if meeting_writes {
        "Too many requests: over the account's rate limit (`rate_limited`) or, for meeting creates and updates, over the host's daily quota (`daily_limit`)"
    } else {
        "Too many requests: over the account's rate limit (`rate_limited`)"
    };
    let response = ResponseBuilder::new()
        .description(description)
        .header("Retry-After", integer("Seconds to wait before retrying"))
        .header("X-RateLimit-Type", text("`QPS` or `Daily-limit`"))
        .header("X-RateLimit-Category", text("`Light`, `Medium` or `Heavy`"))
        .header(
            "X-RateLimit-Limit",
            integer("Requests per second allowed in this category"),
        )
        .header("X-RateLimit-Remaining", integer("Requests left in the burst"))
        .content(
            crate::problem::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    op.responses
        .responses
        .entry("429".to_owned())
        .or_insert(response.into());
}
