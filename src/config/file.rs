//! The config file (`--config FILE`, shaped like `config.example.toml`) as written: each key
//! keeps its text and where it stands, so a value is parsed by the same function as its flag
//! and an error names the file, the line and the key.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};

use super::UsageError;

/// The largest config file read: a real one is a few KiB; a device or a huge file given by
/// mistake (`--config /dev/zero`) must not eat the memory.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// One key of the file: its value and its position in the text.
pub(super) type Entry = Spanned<Value>;

/// The top-level keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Keys {
    pub(super) symbols: Option<Entry>,
    pub(super) stream: Option<Entry>,
    pub(super) market: Option<Entry>,
    pub(super) endpoint: Option<Entry>,
    pub(super) delay: Option<Entry>,
    pub(super) queue: Option<Entry>,
    pub(super) queue_bytes: Option<Entry>,
    pub(super) overflow: Option<Entry>,
    pub(super) format: Option<Entry>,
    pub(super) ca_cert: Option<Entry>,
    pub(super) output_dir: Option<Entry>,
    pub(super) record: Option<Entry>,
    pub(super) rotate: Option<Entry>,
    pub(super) exec: Option<Entry>,
    pub(super) nats: Option<Entry>,
    pub(super) nats_subject: Option<Entry>,
    pub(super) nats_stream: Option<Entry>,
    pub(super) group: Option<Entry>,
    pub(super) replicas: Option<Entry>,
    pub(super) lease: Option<Entry>,
    pub(super) member: Option<Entry>,
    pub(super) gap_markers: Option<Entry>,
    pub(super) max_messages: Option<Entry>,
    pub(super) duration: Option<Entry>,
    pub(super) stats: Option<Entry>,
    pub(super) stats_format: Option<Entry>,
    pub(super) symbols_file: Option<Entry>,
    pub(super) color: Option<Entry>,
    pub(super) log_format: Option<Entry>,
    pub(super) metrics: Option<Entry>,
    pub(super) book_depth: Option<Entry>,
    pub(super) book_interval: Option<Entry>,
    pub(super) rest_endpoint: Option<Entry>,
    pub(super) connection: Option<ConnectionKeys>,
}

/// The `[connection]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectionKeys {
    pub(super) max_age: Option<Entry>,
    pub(super) ping_after: Option<Entry>,
    pub(super) pong_timeout: Option<Entry>,
    pub(super) max_frame_bytes: Option<Entry>,
    pub(super) attempts_per_window: Option<Entry>,
    pub(super) attempt_window: Option<Entry>,
    pub(super) handshake_timeout: Option<Entry>,
    pub(super) silence_multiple: Option<Entry>,
    pub(super) silence_floor: Option<Entry>,
    pub(super) max_silence: Option<Entry>,
}

/// A config file, parsed into its keys; or no file at all (every key absent).
#[derive(Debug, Default)]
pub(super) struct FileConfig {
    /// The file's path as given, for messages; `None` without a file.
    path: Option<PathBuf>,
    /// The file's text, for turning positions into line numbers.
    text: String,
    pub(super) keys: Keys,
}

impl FileConfig {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// The file cannot be read, is too large, or is not valid TOML of the expected shape.
    pub(super) fn load(path: &Path) -> Result<Self, UsageError> {
        let cannot_read = |why: String| {
            UsageError(format!(
                "cannot read config file '{}': {why}",
                path.display()
            ))
        };
        let file = std::fs::File::open(path).map_err(|error| cannot_read(error.to_string()))?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| cannot_read(error.to_string()))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(cannot_read(format!(
                "larger than {} KiB; expected a TOML file like config.example.toml",
                MAX_FILE_BYTES / 1024
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| cannot_read("not UTF-8 text; expected a TOML file".to_owned()))?;
        Self::parse(text, path)
    }

    /// Parses TOML `text`; `path` names the file in errors.
    ///
    /// # Errors
    /// The text is not valid TOML of the expected shape.
    pub(super) fn parse(text: String, path: &Path) -> Result<Self, UsageError> {
        let mut file = Self {
            path: Some(path.to_owned()),
            text,
            keys: Keys::default(),
        };
        file.keys = toml::from_str(&file.text).map_err(|error: toml::de::Error| {
            let message = error.message().trim().replace('\n', " ");
            let at = error.span().map(|span| span.start);
            file.error_at(at, &message)
        })?;
        Ok(file)
    }

    /// The directory relative paths in the file are relative to.
    pub(super) fn dir(&self) -> Option<&Path> {
        self.path.as_deref().and_then(Path::parent)
    }

    /// `path` as the file means it: relative to the file's directory.
    pub(super) fn resolve(&self, path: PathBuf) -> PathBuf {
        match self.dir() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        }
    }

    /// An error about the text at byte `at`: `config file 'P', line N: message`.
    fn error_at(&self, at: Option<usize>, message: &str) -> UsageError {
        let path = self
            .path
            .as_deref()
            .map_or_else(|| "<none>".to_owned(), |path| path.display().to_string());
        match at {
            Some(at) => {
                let line = 1 + self.text.as_bytes()[..at.min(self.text.len())]
                    .iter()
                    .filter(|&&byte| byte == b'\n')
                    .count();
                UsageError(format!("config file '{path}', line {line}: {message}"))
            }
            None => UsageError(format!("config file '{path}': {message}")),
        }
    }

    /// Parses `entry` (the value of `key`) with `parse`, the flag's own parser: strings as
    /// written, numbers as their digits.
    ///
    /// # Errors
    /// The parser's message, naming the file, the line and the key.
    pub(super) fn value<T>(
        &self,
        key: &str,
        entry: Option<&Entry>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, UsageError> {
        let Some(entry) = entry else {
            return Ok(None);
        };
        let text = scalar_text(entry.get_ref()).ok_or_else(|| {
            self.error_at(
                Some(entry.span().start),
                &format!("{key}: expected a single value, got {}", entry.get_ref()),
            )
        })?;
        parse(&text)
            .map(Some)
            .map_err(|error| self.error_at(Some(entry.span().start), &format!("{key}: {error}")))
    }

    /// Parses `entry`, a list of values (or one value), each with `parse`.
    ///
    /// # Errors
    /// The first bad item, naming the file, the line and the key.
    pub(super) fn list<T>(
        &self,
        key: &str,
        entry: Option<&Entry>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, UsageError> {
        let Some(entry) = entry else {
            return Ok(None);
        };
        let at = Some(entry.span().start);
        let items: Vec<&Value> = match entry.get_ref() {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        items
            .into_iter()
            .map(|item| {
                let text = scalar_text(item).ok_or_else(|| {
                    self.error_at(at, &format!("{key}: expected text items, got {item}"))
                })?;
                parse(&text).map_err(|error| self.error_at(at, &format!("{key}: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// A scalar's text as a flag would receive it; `None` for arrays and tables.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Integer(number) => Some(number.to_string()),
        Value::Float(number) => Some(number.to_string()),
        Value::Boolean(flag) => Some(flag.to_string()),
        Value::Datetime(time) => Some(time.to_string()),
        Value::Array(_) | Value::Table(_) => None,
    }
}
