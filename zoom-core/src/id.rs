//! Identifiers.
//!
//! Every resource id is a newtype around a `String` with a fixed prefix (`mtg_`, `par_`, …) and a
//! body of 1 to 64 ASCII letters, digits or `_`. Ids are validated when parsed, so a bad id is an
//! error at the edge (HTTP path, stored row), never a surprise deep inside a decision.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An id string that did not have the expected prefix or alphabet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}` followed by 1 to 64 letters, digits or `_`)")]
pub struct IdError {
    /// Which kind of id was expected (`meeting`, `participant`, …).
    pub kind: &'static str,
    /// The prefix that kind carries.
    pub prefix: &'static str,
    /// The rejected input, truncated to 80 characters.
    pub value: String,
}

fn valid_body(body: &str) -> bool {
    !body.is_empty() && body.len() <= 64 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Parses and validates an id.
            ///
            /// # Errors
            /// [`IdError`] when the prefix or the body is wrong.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                Self::check(value)?;
                Ok(Self(value.to_owned()))
            }

            fn check(value: &str) -> Result<(), IdError> {
                match value.strip_prefix($prefix) {
                    Some(body) if valid_body(body) => Ok(()),
                    _ => Err(IdError {
                        kind: $kind,
                        prefix: $prefix,
                        value: value.chars().take(80).collect(),
                    }),
                }
            }

            /// Builds an id from 16 random (or deterministic, in tests) bytes.
            pub fn from_entropy(bytes: [u8; 16]) -> Self {
                Self(prefixed($prefix, &bytes))
            }

            /// The id as a string, prefix included.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Validated in place and kept: one allocation per id read from storage.
                let raw = String::deserialize(d)?;
                Self::check(&raw).map_err(serde::de::Error::custom)?;
                Ok(Self(raw))
            }
        }
    };
}

prefixed_id!(
    /// A meeting (`mtg_…`); also the id of the meeting's event stream.
    MeetingId, "mtg_", "meeting"
);
prefixed_id!(
    /// One participant session (`par_…`): leave and rejoin gives a new one.
    ParticipantId, "par_", "participant"
);
prefixed_id!(
    /// A cloud recording (`rec_…`).
    RecordingId, "rec_", "recording"
);
prefixed_id!(
    /// A webhook subscription (`whk_…`); also the id of its event stream.
    WebhookId, "whk_", "webhook"
);
prefixed_id!(
    /// A stored event (`evt_…`), unique and stable across retries of its webhook.
    EventId, "evt_", "event"
);
prefixed_id!(
    /// A join token's unique id (`jti_…`), redeemed at most once.
    TokenId, "jti_", "token"
);

/// `prefix` followed by the 26 base32 digits of `bytes`: the text of every generated id (the
/// identity crate's `acc_…`, `usr_…`, `app_…` included).
pub fn prefixed(prefix: &str, bytes: &[u8; 16]) -> String {
    let body = encode_base32(bytes);
    let mut id = String::with_capacity(prefix.len() + body.len());
    id.push_str(prefix);
    // Base32 digits are ASCII.
    id.push_str(std::str::from_utf8(&body).unwrap_or_default());
    id
}

/// Lower-case Crockford base32 without padding: short, URL-safe, unambiguous ids. 16 bytes are
/// 26 digits: 25 of 5 bits, and a last one carrying the 3 bits left, shifted left.
fn encode_base32(bytes: &[u8; 16]) -> [u8; 26] {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let value = u128::from_be_bytes(*bytes);
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let digit = match 128usize.checked_sub(5 * (i + 1)) {
            Some(shift) => (value >> shift) & 31,
            None => (value & 0b111) << 2,
        };
        *slot = ALPHABET[digit as usize];
    }
    out
}

/// A free-form identifier chosen by the embedder: account ids, user ids, app client ids.
///
/// 1 to 128 characters from `[A-Za-z0-9_.@:-]`, so they are safe in URLs, logs and SQL keys.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// Parses and validates a name.
    ///
    /// # Errors
    /// [`IdError`] when it is empty, too long or has another character.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        Self::check(value)?;
        Ok(Self(value.to_owned()))
    }

    fn check(value: &str) -> Result<(), IdError> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b':' | b'-'));
        if ok {
            Ok(())
        } else {
            Err(IdError {
                kind: "name",
                prefix: "",
                value: value.chars().take(80).collect(),
            })
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::check(&raw).map_err(serde::de::Error::custom)?;
        Ok(Self(raw))
    }
}

/// An account: the unit of isolation. Another account's resources are invisible.
pub type AccountId = Name;
/// A user of an account (a meeting host, a participant).
pub type UserId = Name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_prefixed_ids_and_rejects_others() {
        assert!(MeetingId::parse("mtg_abc123").is_ok());
        assert!(MeetingId::parse("par_abc123").is_err());
        assert!(MeetingId::parse("mtg_").is_err());
        assert!(MeetingId::parse("mtg_a-b").is_err());
        assert!(MeetingId::parse(&format!("mtg_{}", "a".repeat(65))).is_err());
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = MeetingId::from_entropy([0xff; 16]);
        assert_eq!(id.as_str().len(), 4 + 26);
        assert_eq!(MeetingId::parse(id.as_str()), Ok(id));
    }

    /// The digits are the 5-bit groups of the bytes read as one bit stream, as they always were.
    #[test]
    fn base32_is_the_bit_stream_in_five_bit_groups() {
        fn reference(bytes: &[u8]) -> String {
            const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
            let (mut out, mut buffer, mut bits) = (String::new(), 0u32, 0);
            for &b in bytes {
                buffer = (buffer << 8) | u32::from(b);
                bits += 8;
                while bits >= 5 {
                    bits -= 5;
                    out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
                }
            }
            if bits > 0 {
                out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
            }
            out
        }
        let mut bytes = [0u8; 16];
        for seed in 0u8..=255 {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(31)
                    .wrapping_add(i as u8)
                    .rotate_left(u32::from(seed % 8));
            }
            let id = EventId::from_entropy(bytes);
            assert_eq!(&id.as_str()[4..], reference(&bytes));
        }
        assert_eq!(
            MeetingId::from_entropy([0xff; 16]).as_str(),
            format!("mtg_{}", reference(&[0xff; 16]))
        );
    }

    #[test]
    fn names_reject_spaces_and_empty() {
        assert!(Name::parse("user-1@acme.com").is_ok());
        assert!(Name::parse("").is_err());
        assert!(Name::parse("a b").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = MeetingId::parse(&s);
            let _ = Name::parse(&s);
        }
    }
}
