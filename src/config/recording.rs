//! `--record DIR` and `--rotate`, from flags or the file's `record` and `rotate` keys.

use std::path::PathBuf;

use super::UsageError;
use super::file::FileConfig;
use crate::record::{RecordSettings, Rotate};

/// The recording settings, if recording is asked for. A rotation without a directory is
/// an error: it would silently do nothing.
pub(super) fn record_settings(
    (dir, rotate): (Option<PathBuf>, Option<Rotate>),
    file: &FileConfig,
) -> Result<Option<RecordSettings>, UsageError> {
    let keys = &file.keys;
    let file_dir = file
        .value("record", keys.record.as_ref(), |text| {
            Ok(PathBuf::from(text))
        })?
        .map(|dir| file.resolve(dir));
    let file_rotate = file.value("rotate", keys.rotate.as_ref(), |text| {
        text.parse::<Rotate>()
    })?;
    let rotate = rotate.or(file_rotate);
    match dir.or(file_dir) {
        Some(dir) if dir.as_os_str().is_empty() => Err(UsageError(
            "invalid recording directory '': expected a directory that exists or can be created"
                .to_owned(),
        )),
        Some(dir) => Ok(Some(RecordSettings {
            dir,
            rotate: rotate.unwrap_or_default(),
        })),
        None if rotate.is_some() => Err(UsageError(
            "rotate is set but record is not: name the recording directory with --record DIR (or record = \"DIR\")"
                .to_owned(),
        )),
        None => Ok(None),
    }
}
