//! The opaque cursor of an account-wide stream: a log position, base64url-encoded with a version
//! prefix, so clients do not build or compare them and the encoding may change.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cursor of log position `position`.
pub(crate) fn encode(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("p1:{position}"))
}

/// The log position of a cursor; `None` when it is not one.
pub(crate) fn decode(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let digits = text.strip_prefix("p1:")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for p in [0, 1, 42, u64::MAX] {
            assert_eq!(decode(&encode(p)), Some(p));
        }
        for bad in ["", "42", "cDE6", "cDE6LTE", "!!!", &URL_SAFE_NO_PAD.encode("p1:+1")] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
