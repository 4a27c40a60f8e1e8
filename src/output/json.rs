//! The normalized JSON line: `{"symbol":..,"stream":..,` then the event's body as its wire
//! model serializes it (output field names, output order), then `"recv_time_us":..}`. One
//! definition per kind, in `binance-streams`; this file only frames it.

use std::io::Write as _;

use binance_streams::Event;

/// The start every line of one symbol's stream shares, rendered once.
#[derive(Debug, Clone)]
pub(crate) struct LineHead {
    /// The symbol as configured (uppercase).
    pub(crate) symbol: String,
    /// The stream name, e.g. `depth@100ms`.
    pub(crate) stream: String,
    /// `{"symbol":"ETHUSDT","stream":"trade"`, escaped once.
    json_prefix: Vec<u8>,
}

impl LineHead {
    /// The head of `symbol`'s `stream` lines.
    pub(crate) fn new(symbol: &str, stream: &str) -> Self {
        let mut json_prefix = b"{\"symbol\":".to_vec();
        // Strings serialize infallibly into a Vec.
        let _ = serde_json::to_writer(&mut json_prefix, symbol);
        json_prefix.extend_from_slice(b",\"stream\":");
        let _ = serde_json::to_writer(&mut json_prefix, stream);
        Self {
            symbol: symbol.to_owned(),
            stream: stream.to_owned(),
            json_prefix,
        }
    }

    /// `{"symbol":..,"stream":..`, the rendered start of a JSON line (for `fast`).
    pub(super) fn json_prefix(&self) -> &[u8] {
        &self.json_prefix
    }
}

/// Appends `event`'s JSON line. The body serializes as `{"a":..,"b":..}`: its opening brace
/// becomes the comma after the head and its closing brace makes room for the receive time,
/// so the line is one object built without a map or a second pass.
pub(super) fn write_json(out: &mut Vec<u8>, head: &LineHead, event: &Event<'_>, recv_time_us: u64) {
    let start = out.len();
    out.extend_from_slice(&head.json_prefix);
    let brace = out.len();
    let written = serde_json::to_writer(&mut *out, event);
    // Every body has fields, so it is `{"..}`; anything else would leave no torn line.
    if written.is_err() || out.len() < brace + 2 || out.last() != Some(&b'}') {
        out.truncate(start);
        return;
    }
    out[brace] = b',';
    out.pop();
    // Writing into a Vec cannot fail.
    let _ = writeln!(out, ",\"recv_time_us\":{recv_time_us}}}");
}
