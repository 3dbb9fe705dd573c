//! The service's own documents: health and the join-token key set.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health200 {
    /// `ok`.
    pub status: String,
}

/// A JSON Web Key Set (RFC 7517) of the join-token public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    /// The keys: OKP/Ed25519 with `kid`, current first.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}
