//! Query strings: only the names a route declares, each at most once.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use zoom_core::engine::PageRequest;

use crate::problem::Problem;

/// A parsed query string: `name=value` pairs, refusing repeated and unknown names.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `raw`, accepting only `allowed` names, each at most once.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Problem> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                let name = k.chars().take(64).collect::<String>();
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unknown_field",
                    format!("unknown query parameter `{name}`"),
                )
                .with_field(name));
            }
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(Problem::invalid_field(
                    k.as_ref(),
                    format!("`{k}` is given more than once"),
                ));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(pairs))
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `page_size` and `cursor`.
    pub(crate) fn page(&self) -> Result<PageRequest, Problem> {
        let page_size = match self.get("page_size") {
            None => None,
            Some(raw) => Some(
                raw.parse::<i64>()
                    .map_err(|_| Problem::invalid_field("page_size", "page_size must be an integer from 1 to 300"))?,
            ),
        };
        Ok(PageRequest {
            page_size,
            cursor: self.get("cursor").map(str::to_owned),
        })
    }
}

/// The names every list accepts.
pub(crate) const PAGE_PARAMS: [&str; 2] = ["page_size", "cursor"];

/// What a route reads from its query string.
pub(crate) trait QueryParams: Sized {
    /// Every name the route accepts; any other is 400 `unknown_field`.
    const NAMES: &'static [&'static str];

    /// Reads the parameters from a query that holds only [`Self::NAMES`].
    fn from_query(query: &Query) -> Result<Self, Problem>;
}

/// The route's query parameters, `T`; any name `T` does not declare is 400 `unknown_field`.
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: QueryParams> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let query = Query::parse(parts.uri.query(), T::NAMES)?;
        T::from_query(&query).map(Params)
    }
}

/// A route without query parameters: any is 400 `unknown_field`.
pub(crate) struct NoQuery;

impl<S: Send + Sync> FromRequestParts<S> for NoQuery {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        Query::parse(parts.uri.query(), &[]).map(|_| NoQuery)
    }
}

/// Only `page_size` and `cursor`.
pub(crate) struct Page(pub(crate) PageRequest);

impl QueryParams for Page {
    const NAMES: &'static [&'static str] = &PAGE_PARAMS;

    fn from_query(query: &Query) -> Result<Self, Problem> {
        query.page().map(Page)
    }
}
