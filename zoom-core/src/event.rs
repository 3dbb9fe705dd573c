//! The stored event: envelope, encoding, decoding and upcasting.
//!
//! Stores keep events as rows of plain data ([`NewEvent`] in, [`RecordedEvent`] out) with the
//! payload and metadata as JSON text; they never need to understand the domain. Decoding into a
//! typed [`Event`] happens here, upcasting older schema versions first, and every failure names
//! the stream and version of the row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{AccountId, EventId, Name};
use crate::meeting::event::MeetingEvent;
use crate::principal::PrincipalKind;
use crate::system::SystemEvent;
use crate::webhook::event::WebhookEvent;

/// The id of an event stream: a meeting (`mtg_…`), a webhook subscription (`whk_…`) or a system
/// stream (`sys_…`). 1 to 128 characters of `[A-Za-z0-9_.:-]`.
///
/// The text is shared behind an [`Arc`](std::sync::Arc): a command names its stream in the
/// cache, the lock map, the append and every stored row, so a clone is a counter, not a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(std::sync::Arc<str>);

impl StreamId {
    /// Validates a stream id.
    ///
    /// # Errors
    /// A message when empty, too long or with another character.
    pub fn new(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        if valid_stream_id(&s) {
            Ok(Self(s.into()))
        } else {
            Err(format!("`{s}` is not a valid stream id"))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_stream_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

impl TryFrom<String> for StreamId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(s)
    }
}

impl From<StreamId> for String {
    fn from(s: StreamId) -> String {
        s.0.as_ref().to_owned()
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&crate::id::MeetingId> for StreamId {
    fn from(id: &crate::id::MeetingId) -> Self {
        Self(id.as_str().into())
    }
}

impl From<&crate::id::WebhookId> for StreamId {
    fn from(id: &crate::id::WebhookId) -> Self {
        Self(id.as_str().into())
    }
}

/// Who caused an event, and under which request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// The caller's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// The caller's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Name>,
    /// User or app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PrincipalKind>,
    /// The `Idempotency-Key` of the request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The command that caused it (`meeting.schedule`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation: Option<String>,
}

/// [`Metadata`] borrowed from the command that causes it: the same members in the same order,
/// so it writes the same text without copying the caller's names first.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct MetadataRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account_id: Option<&'a AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<&'a Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<PrincipalKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) causation: Option<&'a str>,
}

impl MetadataRef<'_> {
    /// The metadata as its stored JSON text: what its serde form writes, written directly.
    pub(crate) fn to_json(self) -> serde_json::Result<String> {
        with_scratch(|buf| {
            let mut o = JsonObject::new(buf);
            if let Some(a) = self.account_id {
                o.plain("account_id", a.as_str());
            }
            if let Some(s) = self.subject {
                o.plain("subject", s.as_str());
            }
            if let Some(k) = self.kind {
                o.plain(
                    "kind",
                    match k {
                        PrincipalKind::User => "user",
                        PrincipalKind::App => "app",
                    },
                );
            }
            if let Some(key) = self.idempotency_key {
                o.text("idempotency_key", key)?;
            }
            if let Some(c) = self.causation {
                o.text("causation", c)?;
            }
            o.end();
            Ok(())
        })
    }
}

/// Any domain event, of any stream kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A meeting stream's event.
    Meeting(MeetingEvent),
    /// A webhook subscription's event.
    Webhook(WebhookEvent),
    /// A system stream's event (signing keys).
    System(SystemEvent),
    /// An event of an aggregate defined outside zoom-core (accounts, users, apps of zoom-auth),
    /// kept in the same log. zoom-core stores and decodes it without understanding it; the crate
    /// that owns its type turns it into its own typed event (see [`ExternalEvent::decode_as`]).
    External(ExternalEvent),
}

/// The namespaces (the part of a type name before the dot) of zoom-core's own events. A stored
/// type of one of these that this code does not know is an error; a type of another namespace is
/// an [`ExternalEvent`].
pub const CORE_NAMESPACES: &[&str] = &["meeting", "participant", "recording", "webhook", "signing_key"];

/// An event whose type is defined outside zoom-core: its stored type name, schema version and
/// payload, kept as they are stored. Its owner checks the schema version and upcasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEvent {
    event_type: String,
    schema_version: u32,
    payload: serde_json::Value,
}

impl ExternalEvent {
    /// An external event. The type must be `namespace.name` of `[a-z0-9_]`, outside
    /// [`CORE_NAMESPACES`], and not one of zoom-core's own types; the schema version at least 1.
    ///
    /// # Errors
    /// A reason when the type name or the version is not allowed.
    pub fn new(event_type: impl Into<String>, schema_version: u32, payload: serde_json::Value) -> Result<Self, String> {
        let event_type = event_type.into();
        if !is_external_type(&event_type) {
            return Err(format!("`{event_type}` is not an external event type"));
        }
        if schema_version == 0 {
            return Err("schema version 0 is never written".into());
        }
        Ok(Self {
            event_type,
            schema_version,
            payload,
        })
    }

    /// An external event from a typed one that serialises adjacently tagged
    /// (`#[serde(tag = "type", content = "payload")]`), at `schema_version`.
    ///
    /// # Errors
    /// A reason when it does not serialise in that form or its type is not external.
    pub fn from_tagged<T: Serialize>(event: &T, schema_version: u32) -> Result<Self, String> {
        let value = serde_json::to_value(event).map_err(|e| e.to_string())?;
        let serde_json::Value::Object(mut map) = value else {
            return Err("an external event serialises as an object".into());
        };
        let Some(serde_json::Value::String(event_type)) = map.remove("type") else {
            return Err("an external event serialises with a `type` member".into());
        };
        let payload = map.remove("payload").unwrap_or(serde_json::Value::Null);
        Self::new(event_type, schema_version, payload)
    }

    /// The typed event it stores, for a type that deserialises adjacently tagged (the inverse
    /// of [`ExternalEvent::from_tagged`]). Upcast the payload first when the version is old.
    ///
    /// # Errors
    /// A reason when the payload does not match the type.
    pub fn decode_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        let tagged = serde_json::json!({ "type": self.event_type, "payload": self.payload });
        serde_json::from_value(tagged).map_err(|e| e.to_string())
    }

    /// What a `widen` that could not encode its event returns instead of panicking: an event
    /// that every encoder refuses (the runner answers `EngineError::Internal` and appends
    /// nothing). Plain-data events never need it.
    pub fn unencodable(reason: impl Into<String>) -> Self {
        Self {
            event_type: String::new(),
            schema_version: 0,
            payload: serde_json::Value::String(reason.into()),
        }
    }

    /// The stored type name.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// The schema version it was written with.
    pub fn schema_version(&self) -> u32 {
        self.schema_version
    }

    /// The payload.
    pub fn payload(&self) -> &serde_json::Value {
        &self.payload
    }

    /// The payload, to upcast it in place.
    pub fn payload_mut(&mut self) -> &mut serde_json::Value {
        &mut self.payload
    }
}

/// Whether a type name may be an external event's: `namespace.name` of `[a-z0-9_]`, outside
/// [`CORE_NAMESPACES`], and not one of [`EVENT_TYPES`].
pub fn is_external_type(event_type: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    match event_type.split_once('.') {
        Some((namespace, name)) => {
            event_type.len() <= 64
                && word(namespace)
                && word(name)
                && !CORE_NAMESPACES.contains(&namespace)
                && !EVENT_TYPES.contains(&event_type)
        }
        None => false,
    }
}

/// Why a stored event could not be decoded. Names the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {stream_id}@{version} ({event_type} v{schema_version}): {reason}")]
pub struct DecodeError {
    /// The stream of the row.
    pub stream_id: String,
    /// The version of the row.
    pub version: u64,
    /// Its type.
    pub event_type: String,
    /// Its schema version.
    pub schema_version: u32,
    /// What went wrong.
    pub reason: String,
}

/// The schema version written for each event type. Bump it when a payload changes shape, and
/// teach [`upcast`] to turn the old shape into the new one.
pub fn current_schema_version(event_type: &str) -> u32 {
    match event_type {
        "meeting.scheduled" | "participant.muted" => 2,
        _ => 1,
    }
}

/// Every event type this version understands.
pub const EVENT_TYPES: &[&str] = &[
    "meeting.scheduled",
    "meeting.updated",
    "meeting.cancelled",
    "meeting.started",
    "meeting.ended",
    "participant.waiting",
    "participant.joined",
    "participant.left",
    "participant.muted",
    "participant.role_changed",
    "recording.started",
    "recording.stopped",
    "recording.completed",
    "recording.failed",
    "webhook.subscribed",
    "webhook.secret_rotated",
    "webhook.unsubscribed",
    "webhook.health_changed",
    "signing_key.added",
    "webhook.updated",
    "webhook.url_validated",
    "webhook.pinged",
    "participant.admitted",
];

/// Rewrites an older payload into the current shape of its type.
///
/// `meeting.scheduled` schema 1 had `mute_upon_entry` and `auto_recording` at the top level, no
/// `settings` object and no `timezone` (meetings were UTC). `participant.muted` schema 1 named
/// only the participant: it always muted audio, and nothing could turn video off yet, so it reads
/// as `audio_muted: true`, `video_off: false`, with no `by`.
///
/// # Errors
/// A reason when the version is unknown (newer than this code, or never released).
pub fn upcast(
    event_type: &str,
    schema_version: u32,
    mut payload: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let current = current_schema_version(event_type);
    if schema_version > current {
        return Err(format!(
            "schema version {schema_version} is newer than this code understands ({current}); upgrade first"
        ));
    }
    if schema_version == 0 {
        return Err("schema version 0 was never released".into());
    }
    if event_type == "meeting.scheduled" && schema_version == 1 {
        let obj = payload
            .as_object_mut()
            .ok_or_else(|| "payload is not an object".to_owned())?;
        let mute = obj.remove("mute_upon_entry").unwrap_or(serde_json::Value::Bool(true));
        let auto = obj
            .remove("auto_recording")
            .unwrap_or(serde_json::Value::String("none".into()));
        obj.insert(
            "settings".into(),
            serde_json::json!({ "auto_recording": auto, "mute_upon_entry": mute, "allow_join_before_host": false }),
        );
        obj.entry("timezone")
            .or_insert_with(|| serde_json::Value::String("UTC".into()));
    }
    if event_type == "participant.muted" && schema_version == 1 {
        let obj = payload
            .as_object_mut()
            .ok_or_else(|| "payload is not an object".to_owned())?;
        obj.entry("audio_muted").or_insert(serde_json::Value::Bool(true));
        obj.entry("video_off").or_insert(serde_json::Value::Bool(false));
        obj.entry("by").or_insert(serde_json::Value::Null);
    }
    Ok(payload)
}

/// Runs `write` on a cleared buffer kept per thread and returns what it wrote as a string of
/// exactly that length: one allocation per encoded text instead of a growing one.
pub(crate) fn with_scratch(write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>) -> serde_json::Result<String> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let text = |buf: &[u8]| {
        std::str::from_utf8(buf)
            .map(str::to_owned)
            .map_err(<serde_json::Error as serde::ser::Error>::custom)
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            write(&mut buf)?;
            let out = text(&buf);
            // A rare huge text does not keep its buffer alive on this thread.
            if buf.capacity() > 1 << 16 {
                *buf = Vec::new();
            }
            out
        }
        Err(_) => {
            let mut buf = Vec::new();
            write(&mut buf)?;
            text(&buf)
        }
    })
}

/// A writer of one JSON object with the members in the order they are written, as
/// `serde_json`'s compact form writes a struct: for the texts written on every command (a
/// meeting's hot payloads, the metadata), whose serde form costs a scan of every key and value
/// for characters to escape. Keys are fixed names that need no escaping; ids and names
/// ([`crate::id`]) are validated to an alphabet that needs none either; free text goes through
/// `serde_json`'s own escaping. Tests pin each text it writes against the serde form.
pub(crate) struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonObject<'a> {
    /// Opens the object.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn key(&mut self, key: &'static str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A text that needs no escaping: an id or a name (their alphabets have no `"`, `\\` or
    /// control character).
    pub(crate) fn plain(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
        self
    }

    /// [`JsonObject::plain`] or `null`.
    pub(crate) fn plain_or_null(&mut self, key: &'static str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.plain(key, v),
            None => {
                self.key(key);
                self.out.extend_from_slice(b"null");
                self
            }
        }
    }

    /// Free text, escaped.
    pub(crate) fn text(&mut self, key: &'static str, value: &str) -> serde_json::Result<&mut Self> {
        self.value(key, value)
    }

    /// A boolean.
    pub(crate) fn bool(&mut self, key: &'static str, value: bool) -> &mut Self {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true".as_slice() } else { b"false".as_slice() });
        self
    }

    /// An instant, as chrono's serde form writes it.
    pub(crate) fn time(&mut self, key: &'static str, value: &DateTime<Utc>) -> serde_json::Result<&mut Self> {
        match crate::clock::rfc3339(value) {
            Some((buf, len)) => {
                self.key(key);
                self.out.push(b'"');
                self.out.extend_from_slice(&buf[..len]);
                self.out.push(b'"');
                Ok(self)
            }
            None => self.value(key, value),
        }
    }

    /// Any other value, through serde.
    pub(crate) fn value(
        &mut self,
        key: &'static str,
        value: &(impl Serialize + ?Sized),
    ) -> serde_json::Result<&mut Self> {
        self.key(key);
        serde_json::to_writer(&mut *self.out, value)?;
        Ok(self)
    }

    /// Closes the object.
    pub(crate) fn end(&mut self) {
        self.out.push(b'}');
    }
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    event_type: &'a str,
    payload: T,
}

impl Event {
    /// The stored type name (`meeting.scheduled`).
    pub fn event_type(&self) -> &str {
        // Serialising the tag alone would allocate; the names are fixed, so list them.
        use MeetingEvent as M;
        use WebhookEvent as W;
        match self {
            Event::Meeting(e) => match e {
                M::Scheduled(_) => "meeting.scheduled",
                M::Updated(_) => "meeting.updated",
                M::Cancelled(_) => "meeting.cancelled",
                M::Started(_) => "meeting.started",
                M::Ended(_) => "meeting.ended",
                M::ParticipantWaiting(_) => "participant.waiting",
                M::ParticipantJoined(_) => "participant.joined",
                M::ParticipantLeft(_) => "participant.left",
                M::ParticipantMuted(_) => "participant.muted",
                M::ParticipantRoleChanged(_) => "participant.role_changed",
                M::ParticipantAdmitted(_) => "participant.admitted",
                M::RecordingStarted(_) => "recording.started",
                M::RecordingStopped(_) => "recording.stopped",
                M::RecordingCompleted(_) => "recording.completed",
                M::RecordingFailed(_) => "recording.failed",
            },
            Event::Webhook(e) => match e {
                W::Subscribed(_) => "webhook.subscribed",
                W::SecretRotated(_) => "webhook.secret_rotated",
                W::Unsubscribed(_) => "webhook.unsubscribed",
                W::HealthChanged(_) => "webhook.health_changed",
                W::Updated(_) => "webhook.updated",
                W::UrlValidated(_) => "webhook.url_validated",
                W::Pinged(_) => "webhook.pinged",
            },
            Event::System(e) => e.event_type(),
            Event::External(e) => e.event_type(),
        }
    }

    /// The schema version it is written with: the current one of its type, or an external
    /// event's own.
    pub fn schema_version(&self) -> u32 {
        match self {
            Event::External(e) => e.schema_version,
            other => current_schema_version(other.event_type()),
        }
    }

    /// The payload as JSON text (the adjacently tagged `payload` member).
    ///
    /// # Errors
    /// Never in practice: every payload is plain data. Kept fallible rather than panicking.
    pub fn payload_json(&self) -> Result<String, serde_json::Error> {
        if let Event::External(e) = self {
            if e.schema_version == 0 || !is_external_type(&e.event_type) {
                let reason = match &e.payload {
                    serde_json::Value::String(reason) => reason.clone(),
                    _ => format!("`{}` is not an external event type", e.event_type),
                };
                return Err(<serde_json::Error as serde::ser::Error>::custom(reason));
            }
            return serde_json::to_string(&e.payload);
        }
        // A meeting's payload is written on its own, into a reused buffer, and copied out at
        // its exact length (the memory store keeps the text as it is given).
        if let Event::Meeting(e) = self {
            return with_scratch(|buf| e.write_payload(buf));
        }
        // The tagged form is written `{"type":"<type>","payload":<payload>}`: cut the payload out
        // of it rather than building a tree of maps first (one string instead of a map per
        // object). Key order inside follows the declarations; readers never depend on it.
        let mut whole = match self {
            Event::Meeting(e) => serde_json::to_string(e)?,
            Event::Webhook(e) => serde_json::to_string(e)?,
            Event::System(e) => serde_json::to_string(e)?,
            Event::External(e) => return serde_json::to_string(&e.payload),
        };
        let ty = self.event_type();
        let head = "{\"type\":\"".len() + ty.len() + "\",\"payload\":".len();
        let framed = whole.len() > head
            && whole.ends_with('}')
            && whole.get(..head).is_some_and(|h| {
                h.strip_prefix("{\"type\":\"")
                    .and_then(|r| r.strip_prefix(ty))
                    .is_some_and(|r| r == "\",\"payload\":")
            });
        if framed {
            whole.pop();
            whole.drain(..head);
            return Ok(whole);
        }
        let value = match self {
            Event::Meeting(e) => serde_json::to_value(e)?,
            Event::Webhook(e) => serde_json::to_value(e)?,
            Event::System(e) => serde_json::to_value(e)?,
            Event::External(e) => return serde_json::to_string(&e.payload),
        };
        match value {
            serde_json::Value::Object(mut map) => {
                serde_json::to_string(&map.remove("payload").unwrap_or(serde_json::Value::Null))
            }
            other => serde_json::to_string(&other),
        }
    }

    /// Decodes a stored row's type, schema version and payload, upcasting old versions.
    ///
    /// # Errors
    /// [`DecodeError`] naming the row: unknown type, future schema, malformed payload.
    pub fn decode(row: &RecordedEvent) -> Result<Event, DecodeError> {
        let err = |reason: String| DecodeError {
            stream_id: row.stream_id.as_str().to_owned(),
            version: row.version,
            event_type: row.event_type.chars().take(64).collect(),
            schema_version: row.schema_version,
            reason,
        };
        if !EVENT_TYPES.contains(&row.event_type.as_str()) {
            if !is_external_type(&row.event_type) {
                return Err(err("unknown event type".into()));
            }
            // Its owner checks the schema version and the payload's shape; here it must be JSON.
            let payload = serde_json::from_str(&row.payload).map_err(|e| err(format!("payload is not JSON: {e}")))?;
            return ExternalEvent::new(row.event_type.clone(), row.schema_version, payload)
                .map(Event::External)
                .map_err(err);
        }
        let event_type = row.event_type.as_str();
        let current = current_schema_version(event_type);
        // Fast path: the current schema decodes straight from the stored text.
        let tagged = if row.schema_version == current {
            format!(r#"{{"type":"{event_type}","payload":{}}}"#, row.payload)
        } else {
            let value: serde_json::Value =
                serde_json::from_str(&row.payload).map_err(|e| err(format!("payload is not JSON: {e}")))?;
            let value = upcast(event_type, row.schema_version, value).map_err(err)?;
            serde_json::to_string(&Tagged {
                event_type,
                payload: value,
            })
            .map_err(|e| err(e.to_string()))?
        };
        let parsed = match event_type.split_once('.').map(|(kind, _)| kind) {
            Some("meeting" | "participant" | "recording") => serde_json::from_str(&tagged).map(Event::Meeting),
            Some("webhook") => serde_json::from_str(&tagged).map(Event::Webhook),
            _ => serde_json::from_str(&tagged).map(Event::System),
        };
        parsed.map_err(|e| err(format!("payload does not match its type: {e}")))
    }
}

/// An event ready to append: the store assigns its version and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Unique, stable id.
    pub event_id: EventId,
    /// Type name.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// Payload JSON text.
    pub payload: String,
    /// Metadata JSON text.
    pub metadata: String,
    /// Commit time as the engine saw it.
    pub recorded_at: DateTime<Utc>,
}

impl NewEvent {
    /// Encodes a domain event with metadata already written as JSON (a command's events share
    /// theirs, written once).
    ///
    /// # Errors
    /// A payload that does not serialise (never for the crate's own events).
    pub fn encode_with_metadata_json(
        event_id: EventId,
        event: &Event,
        metadata: String,
        recorded_at: DateTime<Utc>,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id,
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.payload_json()?,
            metadata,
            recorded_at,
        })
    }

    /// Encodes a domain event.
    ///
    /// # Errors
    /// A serialisation error (never for well-formed events).
    pub fn encode(
        event_id: EventId,
        event: &Event,
        metadata: &Metadata,
        recorded_at: DateTime<Utc>,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id,
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.payload_json()?,
            metadata: serde_json::to_string(metadata)?,
            recorded_at,
        })
    }
}

/// An event as stored: the envelope docs/events.md describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Unique, stable id.
    pub event_id: EventId,
    /// The stream.
    pub stream_id: StreamId,
    /// 1, 2, 3… per stream, gap-free.
    pub version: u64,
    /// Global, strictly increasing in commit order.
    pub position: u64,
    /// Commit time.
    pub recorded_at: DateTime<Utc>,
    /// Type name.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u32,
    /// Payload JSON text.
    pub payload: String,
    /// Metadata JSON text.
    pub metadata: String,
}

impl RecordedEvent {
    /// Decodes the payload into a domain event.
    ///
    /// # Errors
    /// [`DecodeError`] naming this row.
    pub fn decode(&self) -> Result<Event, DecodeError> {
        Event::decode(self)
    }

    /// Decodes the metadata (lenient: malformed metadata reads as empty rather than failing).
    pub fn metadata(&self) -> Metadata {
        serde_json::from_str(&self.metadata).unwrap_or_default()
    }

    /// The account of the metadata alone, without decoding the rest (lenient as
    /// [`RecordedEvent::metadata`]: `None` when it is missing or malformed).
    pub fn account_id(&self) -> Option<AccountId> {
        #[derive(Deserialize)]
        struct AccountOnly {
            #[serde(default)]
            account_id: Option<AccountId>,
        }
        serde_json::from_str::<AccountOnly>(&self.metadata).ok()?.account_id
    }

    /// The envelope as one JSON object: the pinned stored form (golden files).
    ///
    /// # Errors
    /// When payload or metadata text is not JSON.
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        Ok(serde_json::json!({
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "version": self.version,
            "position": self.position,
            "recorded_at": self.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "type": self.event_type,
            "schema_version": self.schema_version,
            "payload": serde_json::from_str::<serde_json::Value>(&self.payload)?,
            "metadata": serde_json::from_str::<serde_json::Value>(&self.metadata)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn name() -> impl Strategy<Value = Name> {
        "[A-Za-z0-9_.@:-]{1,40}".prop_map(|s| Name::parse(&s).unwrap_or_else(|e| panic!("{e}")))
    }

    proptest! {
        /// The metadata written from borrowed names is, byte for byte, what `Metadata`'s serde
        /// form writes, with any member present or not and any key text.
        #[test]
        fn borrowed_metadata_is_the_serde_form(
            account_id in proptest::option::of(name()),
            subject in proptest::option::of(name()),
            kind in proptest::option::of(prop_oneof![Just(PrincipalKind::User), Just(PrincipalKind::App)]),
            idempotency_key in proptest::option::of(any::<String>()),
            causation in proptest::option::of("[a-z_.\"\\\\\u{1}]{0,20}"),
        ) {
            let owned = Metadata {
                account_id: account_id.clone(),
                subject: subject.clone(),
                kind,
                idempotency_key: idempotency_key.clone(),
                causation: causation.clone(),
            };
            let borrowed = MetadataRef {
                account_id: account_id.as_ref(),
                subject: subject.as_ref(),
                kind,
                idempotency_key: idempotency_key.as_deref(),
                causation: causation.as_deref(),
            };
            prop_assert_eq!(borrowed.to_json().unwrap_or_default(), serde_json::to_string(&owned).unwrap_or_default());
        }
    }

    /// A stream id shares its text: a clone is the same text, not a copy.
    #[test]
    fn stream_id_clones_share_their_text() {
        let id = StreamId::new("mtg_shared").unwrap_or_else(|e| panic!("{e}"));
        let copy = id.clone();
        assert!(std::ptr::eq(id.as_str(), copy.as_str()));
        assert_eq!(String::from(copy), "mtg_shared");
        assert!(StreamId::new("a b").is_err());
    }
}
