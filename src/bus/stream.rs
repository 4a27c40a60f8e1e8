//! The JetStream stream the lines are stored in: created when absent (our subjects, a
//! duplicate window for the message ids, a maximum age), checked when present. A stream
//! that exists but would not store our subjects is refused up front: publishing into it
//! would fail on every line.

use async_nats::jetstream::Context;
use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{Config, StorageType, Stream};

use super::settings::{DUPLICATE_WINDOW, NatsSettings, STREAM_MAX_AGE};
use super::subject::covers;

/// Why the stream cannot be used.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The configuration asks for something the server's streams contradict (status 2).
    Usage(String),
    /// The server failed or refused for another reason (status 1).
    Failed(String),
}

/// Makes sure `settings.stream` exists and stores every subject of `settings.subject`.
/// Returns whether it was created.
///
/// # Errors
/// A [`Refusal`] saying why not.
pub(crate) async fn ensure(jetstream: &Context, settings: &NatsSettings) -> Result<bool, Refusal> {
    let name = &settings.stream;
    let filter = settings.subject.filter();
    match jetstream.get_stream(name).await {
        Ok(stream) => covering(&stream, settings, &filter).map(|()| false),
        Err(error) => match error.kind() {
            GetStreamErrorKind::JetStream(inner)
                if inner.error_code() == ErrorCode::STREAM_NOT_FOUND =>
            {
                match create(jetstream, settings, &filter).await {
                    Ok(()) => Ok(true),
                    // Another listener may have created it a moment ago (a group starting
                    // together): then it is checked like any stream that exists.
                    Err(refusal) => match jetstream.get_stream(name).await {
                        Ok(stream) => covering(&stream, settings, &filter).map(|()| false),
                        Err(_) => Err(refusal),
                    },
                }
            }
            _ => Err(Refusal::Failed(format!(
                "cannot look up NATS stream {name}: {error} (is JetStream enabled? nats-server -js)"
            ))),
        },
    }
}

/// Whether `stream` stores every subject of `filter`; a usage refusal naming both if not.
fn covering(stream: &Stream, settings: &NatsSettings, filter: &str) -> Result<(), Refusal> {
    let subjects = &stream.cached_info().config.subjects;
    if subjects.iter().any(|subject| covers(subject, filter)) {
        Ok(())
    } else {
        Err(Refusal::Usage(format!(
            "NATS stream {} exists but stores only [{}], not {filter} (the subjects of --nats-subject {}): add {filter} to its subjects, or name another stream with --nats-stream",
            settings.stream,
            subjects.join(", "),
            settings.subject
        )))
    }
}

async fn create(jetstream: &Context, settings: &NatsSettings, filter: &str) -> Result<(), Refusal> {
    let name = &settings.stream;
    let config = Config {
        name: name.clone(),
        subjects: vec![filter.to_owned()],
        duplicate_window: DUPLICATE_WINDOW,
        max_age: STREAM_MAX_AGE,
        storage: StorageType::File,
        ..Config::default()
    };
    match jetstream.create_stream(config).await {
        Ok(_) => Ok(()),
        Err(error) => match error.kind() {
            CreateStreamErrorKind::JetStream(inner)
                if inner.error_code() == ErrorCode::STREAM_SUBJECT_OVERLAP =>
            {
                Err(Refusal::Usage(format!(
                    "cannot create NATS stream {name}: another stream already stores subjects matching {filter}; name that stream with --nats-stream, or choose other subjects with --nats-subject"
                )))
            }
            _ => Err(Refusal::Failed(format!(
                "cannot create NATS stream {name}: {error} (is JetStream enabled? nats-server -js)"
            ))),
        },
    }
}
