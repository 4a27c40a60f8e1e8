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
        detail: parse_error.to_string(),
    }
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
