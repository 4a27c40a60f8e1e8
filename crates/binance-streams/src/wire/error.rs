//! [`DataError`]: why a frame was not a market-data event of the expected kind, and
//! [`classify`], which works that out on the slow path only (it parses the frame again,
//! generically, and allocates freely).

use std::fmt;

use serde_json::Value;

/// Why a frame was not a market-data event of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataErrorKind {
    /// Not JSON at all.
    InvalidJson,
    /// JSON, but not the shape of the stream's kind (a missing field, a number for a price).
    UnexpectedShape,
    /// A well-formed event of another type (e.g. `serverShutdown`), or of a stream the
    /// connection did not subscribe to.
    UnexpectedEvent,
    /// An exchange error object: `{"code":..,"msg":..}` or `{"error":{..}}`.
    ExchangeError,
    /// A reply to a control request: `{"result":..,"id":..}`.
    ControlResponse,
}

impl DataErrorKind {
    /// Every kind, for per-kind report throttles.
    pub const ALL: [DataErrorKind; 5] = [
        Self::InvalidJson,
        Self::UnexpectedShape,
        Self::UnexpectedEvent,
        Self::ExchangeError,
        Self::ControlResponse,
    ];

    /// A short name for log lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid JSON",
            Self::UnexpectedShape => "unexpected payload shape",
            Self::UnexpectedEvent => "unexpected event",
            Self::ExchangeError => "exchange error",
            Self::ControlResponse => "control response",
        }
    }
}

/// A frame that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    /// The category, for counting and throttling.
    pub kind: DataErrorKind,
    /// What exactly was wrong, for the log line.
    pub detail: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

/// Works out what a payload that failed to parse is. Slow path only: allocates freely.
pub(crate) fn classify(
    payload: &str,
    expected_type: Option<&str>,
    parse_error: &serde_json::Error,
) -> DataError {
    let value: Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(error) => {
            return DataError {
                kind: DataErrorKind::InvalidJson,
                detail: error.to_string(),
            };
        }
    };
    let Some(object) = value.as_object() else {
        return DataError {
            kind: DataErrorKind::UnexpectedShape,
            detail: format!("expected a JSON object, got {}", json_type(&value)),
        };
    };
    let error_body = object.get("error").and_then(Value::as_object).or(
        if object.contains_key("code") && object.contains_key("msg") {
            Some(object)
        } else {
            None
        },
    );
    if let Some(body) = error_body {
        let code = body
            .get("code")
            .map_or_else(|| "?".to_owned(), Value::to_string);
        let msg = body.get("msg").and_then(Value::as_str).unwrap_or("");
        return DataError {
            kind: DataErrorKind::ExchangeError,
            detail: format!("code {code}: {msg}"),
        };
    }
    if object.contains_key("result") || (object.contains_key("id") && !object.contains_key("e")) {
        return DataError {
            kind: DataErrorKind::ControlResponse,
            detail: payload.to_owned(),
        };
    }
    if let Some(event_type) = object.get("e").and_then(Value::as_str)
        && expected_type != Some(event_type)
    {
        return DataError {
            kind: DataErrorKind::UnexpectedEvent,
            detail: format!("event type '{event_type}'"),
        };
    }
    DataError {
        kind: DataErrorKind::UnexpectedShape,
        detail: naming_the_field(payload, parse_error),
    }
}

/// serde's message, led by the wire name of the field it is about (`field 'pu': invalid
/// value: integer `-1`, expected u64 at line 1 column 122`): serde says what was wrong
/// with a value but not whose value it was, unless it is a missing or unknown field.
fn naming_the_field(payload: &str, parse_error: &serde_json::Error) -> String {
    let message = parse_error.to_string();
    let names_it = ["missing field", "unknown field", "duplicate field"]
        .iter()
        .any(|prefix| message.starts_with(prefix));
    match field_at(payload, parse_error.line(), parse_error.column()) {
        Some(path) if !names_it => format!("field '{path}': {message}"),
        _ => message,
    }
}

/// One level of nesting while [`field_at`] walks a payload.
enum Level {
    /// Inside an object: the key being read (byte range) and whether a key comes next.
    Object {
        key: Option<(usize, usize)>,
        expecting_key: bool,
    },
    /// Inside an array: the element's index.
    Array { index: usize },
}

/// The path (`pu`, `k.f`, `b[2]`) of the value a parser stopped at: serde_json's `line`
/// and `column` (1-based, in bytes) of a payload that is valid JSON. `None` at the top level.
fn field_at(payload: &str, line: usize, column: usize) -> Option<String> {
    let line_start = match line {
        0 | 1 => 0,
        _ => payload.match_indices('\n').nth(line - 2)?.0 + 1,
    };
    let bytes = &payload.as_bytes()[..(line_start + column).min(payload.len())];
    let mut levels: Vec<Level> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                let start = at + 1;
                at = start;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                if let Some(Level::Object {
                    key,
                    expecting_key: expecting @ true,
                }) = levels.last_mut()
                {
                    *key = Some((start, at.min(bytes.len())));
                    *expecting = false;
                }
            }
            b'{' => levels.push(Level::Object {
                key: None,
                expecting_key: true,
            }),
            b'[' => levels.push(Level::Array { index: 0 }),
            b'}' | b']' => {
                levels.pop();
            }
            b',' => match levels.last_mut() {
                Some(Level::Object { expecting_key, .. }) => *expecting_key = true,
                Some(Level::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        at += 1;
    }
    let mut path = String::new();
    for level in &levels {
        match level {
            Level::Object {
                key: Some((start, end)),
                ..
            } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&String::from_utf8_lossy(&payload.as_bytes()[*start..*end]));
            }
            Level::Object { key: None, .. } => break,
            Level::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    (!path.is_empty()).then_some(path)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
