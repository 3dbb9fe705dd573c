//! JSON bodies, parsed strictly: one object, no key twice, and every problem naming its field.
//!
//! `serde_json` keeps the last of two equal keys and lets a derived struct be written as an
//! array of its fields; both would let a request mean something other than what it reads as.
//! Bodies are therefore read in two steps: into a [`Strict`] tree that refuses a repeated key
//! anywhere, then into the typed body, whose nested objects go through [`object`] so that an
//! array never stands in for them.

use std::fmt;

use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::problem::Problem;

/// A JSON value in which no object repeats a key.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON Schema counts `30.0` as the integer 30; so does this API (within 2^53, where
        // every integer is exact).
        const EXACT: f64 = 9_007_199_254_740_992.0;
        if v.fract() == 0.0 && v.abs() <= EXACT {
            return Ok(Value::from(v as i64));
        }
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                // The wording is matched by `problem_of`, as serde's own `unknown field` is.
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let Strict(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses `body` as one JSON object (no repeated key at any depth) into `T`.
///
/// # Errors
/// 400 `invalid_json` for malformed JSON or a non-object, 400 `duplicate_field`,
/// `unknown_field` or `invalid_field` (each with `field`) for what `T` or the parse refuses.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let invalid_json = |e: &dyn fmt::Display| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not JSON: {e}"),
        )
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = match serde_path_to_error::deserialize::<_, Strict>(&mut de) {
        Ok(Strict(v)) => v,
        Err(e) if e.inner().is_data() => return Err(problem_of(&e.path().to_string(), &e.inner().to_string())),
        Err(e) => return Err(invalid_json(e.inner())),
    };
    de.end().map_err(|e| invalid_json(&e))?;
    if !value.is_object() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object",
        ));
    }
    from_value(value)
}

/// Deserializes an already parsed object into `T`, naming the field at fault in the problem.
///
/// # Errors
/// 400 `unknown_field` or `invalid_field`, with `field`.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| problem_of(&e.path().to_string(), &e.inner().to_string()))
}

/// The problem for a deserialization error at `path`.
fn problem_of(path: &str, message: &str) -> Problem {
    // The path names the field itself for an unknown field and its parent for a missing or
    // repeated one.
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    // serde reports unknown and missing fields only through its message; its wording
    // (`unknown field `x``) is fixed by serde's `de::Error::unknown_field`.
    if let Some(name) = backticked(message, "unknown field `") {
        let field = join(name);
        Problem::new(
            StatusCode::BAD_REQUEST,
            "unknown_field",
            format!("unknown field `{field}`"),
        )
        .with_field(field)
    } else if let Some(name) = backticked(message, "duplicate field `") {
        let field = join(name);
        Problem::new(
            StatusCode::BAD_REQUEST,
            "duplicate_field",
            format!("`{field}` is given more than once"),
        )
        .with_field(field)
    } else if let Some(name) = backticked(message, "missing field `") {
        let field = join(name);
        Problem::invalid_field(field.clone(), format!("`{field}` is required"))
    } else {
        let field = if path.is_empty() || path == "." { "body" } else { path };
        Problem::invalid_field(field, format!("`{field}`: {message}"))
    }
}

fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// Deserializes an optional nested struct only from a JSON object or `null`
/// (`#[serde(deserialize_with)]`): a derived struct would also take an array of its fields in
/// order.
///
/// # Errors
/// The deserializer's error for anything but an object or `null`.
pub(crate) fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|Object(t)| t))
}

/// A list of nested structs, each only from a JSON object.
///
/// # Errors
/// The deserializer's error for the first item that is not an object.
pub(crate) fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Object<T>>::deserialize(d).map(|v| v.into_iter().map(|Object(t)| t).collect())
}

struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

struct ObjectVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
    }
}
