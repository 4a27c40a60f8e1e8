//! `--log-format json`: every log line one JSON object, for log shippers:
//!
//! ```json
//! {"time":"2026-05-01T12:00:00.123456Z","level":"WARN","symbol":"ETHUSDT","span":"reader","message":"connection #1 lost after 3s (reset); reconnecting in 250ms","fields":{}}
//! ```
//!
//! `time` is UTC (RFC 3339, microseconds); `symbol` comes from the pipeline thread's span
//! (`reader` or `processor`, named in `span`) or from the event's own `symbol` field, and is
//! absent on lines of no symbol; `stream` likewise, where an event or span names one; the
//! message carries no target; other fields go under `fields` with their types (numbers
//! stay numbers). Lines of dependencies logging through
//! the `log` crate lose its `log.*` bookkeeping fields. One write per line, through
//! [`QuietStderr`], so lines of several threads never interleave.

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use binance_streams::time::utc_datetime;

use crate::util::stderr::QuietStderr;

/// The layer writing JSON lines, to stderr unless told otherwise.
#[derive(Debug)]
pub(super) struct JsonLines {
    /// Takes each whole line, newline included.
    write: fn(&[u8]),
}

impl Default for JsonLines {
    fn default() -> Self {
        Self {
            write: write_stderr,
        }
    }
}

fn write_stderr(line: &[u8]) {
    let _ = QuietStderr.write_all(line);
}

/// Fields promoted from the event or its spans to the top of the line.
const PROMOTED: [&str; 2] = ["symbol", "stream"];

/// A span's fields, kept in its extensions for the events inside it.
struct SpanFields(Map<String, Value>);

/// One line, in this key order.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    level: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    symbol: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<&'a str>,
    message: String,
    fields: Map<String, Value>,
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut Collect(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
                values.record(&mut Collect(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        event.record(&mut Collect(&mut fields));
        fields.retain(|name, _| !name.starts_with("log."));
        let message = match fields.remove("message") {
            Some(Value::String(text)) => text,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let mut promoted = PROMOTED.map(|name| fields.remove(name));
        let mut span_name = None;
        if let Some(scope) = ctx.event_scope(event) {
            // Innermost first: the event's own fields, then the nearest span's, win.
            for span in scope {
                span_name.get_or_insert(span.name());
                let extensions = span.extensions();
                let Some(SpanFields(span_fields)) = extensions.get::<SpanFields>() else {
                    continue;
                };
                for (slot, name) in promoted.iter_mut().zip(PROMOTED) {
                    if slot.is_none() {
                        *slot = span_fields.get(name).cloned();
                    }
                }
            }
        }
        let [symbol, stream] = promoted;
        let line = Line {
            time: now_rfc3339(),
            level: event.metadata().level().as_str(),
            symbol,
            stream,
            span: span_name,
            message,
            fields,
        };
        (self.write)(&encode(&line));
    }
}

/// A line outside any event (the final error, a panic report), in the same shape.
pub(super) fn plain_line(level: &str, message: &str) {
    write_stderr(&encode(&Line {
        time: now_rfc3339(),
        level,
        symbol: None,
        stream: None,
        span: None,
        message: message.to_owned(),
        fields: Map::new(),
    }));
}

/// `line` as JSON and a newline. Serialising a map of JSON values and strings cannot fail;
/// if it ever did, the line would still be one JSON object.
fn encode(line: &Line<'_>) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(line)
        .unwrap_or_else(|_| br#"{"level":"ERROR","message":"unencodable log line"}"#.to_vec());
    bytes.push(b'\n');
    bytes
}

/// Now as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn now_rfc3339() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since_epoch.as_secs(), since_epoch.subsec_micros())
}

fn rfc3339(seconds: u64, micros: u32) -> String {
    format!(
        "{}.{micros:06}Z",
        utc_datetime(seconds).replacen(' ', "T", 1)
    )
}

/// Records fields into a JSON map, numbers and booleans as themselves.
struct Collect<'a>(&'a mut Map<String, Value>);

impl Visit for Collect<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.0.insert(field.name().to_owned(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tracing_subscriber::layer::SubscriberExt;

    /// Lines written by [`capture`], for the one test that installs it.
    static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    fn capture(line: &[u8]) {
        CAPTURED.lock().unwrap().extend_from_slice(line);
    }

    #[test]
    fn events_become_objects_with_the_span_symbol_and_typed_fields() {
        let subscriber = tracing_subscriber::registry().with(JsonLines { write: capture });
        tracing::subscriber::with_default(subscriber, || {
            let _span = tracing::info_span!("reader", symbol = "ETHUSDT").entered();
            tracing::warn!(
                count = 3_u64,
                ok = true,
                stream = "trade",
                "lost {} frames",
                3
            );
            tracing::info!(symbol = "BNBUSDT", "an event's own symbol wins");
        });
        let captured = String::from_utf8(CAPTURED.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = captured
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{captured}");
        let first = &lines[0];
        assert_eq!(first["level"], "WARN");
        assert_eq!(first["symbol"], "ETHUSDT");
        assert_eq!(first["stream"], "trade");
        assert_eq!(first["span"], "reader");
        assert_eq!(first["message"], "lost 3 frames");
        assert_eq!(first["fields"], serde_json::json!({"count": 3, "ok": true}));
        assert_eq!(lines[1]["symbol"], "BNBUSDT");
        assert!(lines[1].get("stream").is_none());
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            keys.contains(&"time") && !keys.contains(&"target"),
            "{keys:?}"
        );
    }

    #[test]
    fn times_are_rfc3339_utc_with_microseconds() {
        assert_eq!(rfc3339(0, 7), "1970-01-01T00:00:00.000007Z");
        assert_eq!(
            rfc3339(1_732_500_000, 126_543),
            "2024-11-25T02:00:00.126543Z"
        );
    }
}
