//! Where lines go, as flags and the file set it: stdout, `--output-dir`, `--exec` or
//! `--nats` (with its subject, stream and `--group`). One per run.

use std::path::PathBuf;

use super::cli::Cli;
use super::file::FileConfig;
use super::merge::{layered, parsed};
use super::{OutputTarget, UsageError};
use crate::bus::group::{
    DEFAULT_LEASE, GroupSettings, parse_group_name, parse_lease, parse_member_name, parse_replicas,
};
use crate::bus::{DEFAULT_STREAM, NatsSettings, parse_servers, parse_stream_name};

/// Where lines go: `--output-dir`, `--exec` or `--nats` (one per run), else the file's,
/// else stdout. The directory is created now, so a path that cannot be one is a usage error.
pub(super) fn output_target(cli: &Cli, file: &FileConfig) -> Result<OutputTarget, UsageError> {
    let keys = &file.keys;
    let file_dir = file
        .value("output_dir", keys.output_dir.as_ref(), |text| {
            Ok(PathBuf::from(text))
        })?
        .map(|dir| file.resolve(dir));
    let file_exec = file.value("exec", keys.exec.as_ref(), |text| Ok(text.to_owned()))?;
    let file_nats = file.value("nats", keys.nats.as_ref(), parse_servers)?;
    let nats = nats_settings(cli, file)?;
    let (dir, exec, servers) =
        if cli.output_dir.is_some() || cli.exec.is_some() || cli.nats.is_some() {
            (cli.output_dir.clone(), cli.exec.clone(), cli.nats.clone())
        } else {
            (file_dir, file_exec, file_nats)
        };
    let chosen = [dir.is_some(), exec.is_some(), servers.is_some()];
    if chosen.iter().filter(|set| **set).count() > 1 {
        return Err(UsageError(
            "only one of output_dir, exec and nats can be set: lines go to files, to handlers or to NATS"
                .to_owned(),
        ));
    }
    match (dir, exec, servers) {
        (Some(_), _, _) | (_, Some(_), _) if nats.group.is_some() => Err(UsageError(
            "a group shares symbols through NATS: --group goes with --nats, not with output_dir or exec"
                .to_owned(),
        )),
        (Some(dir), _, _) => {
            std::fs::create_dir_all(&dir).map_err(|error| {
                UsageError(format!(
                    "invalid output directory '{}': {error}; expected a directory that exists or can be created",
                    dir.display()
                ))
            })?;
            Ok(OutputTarget::Directory(dir))
        }
        (_, Some(command), _) if command.trim().is_empty() => Err(UsageError(
            "invalid handler command '': expected a shell command, like 'python3 handler.py {symbol}'"
                .to_owned(),
        )),
        (_, Some(command), _) => Ok(OutputTarget::Exec(command)),
        (_, _, Some(servers)) => Ok(OutputTarget::Nats(NatsSettings {
            servers: servers.0,
            ..nats
        })),
        (None, None, None) if nats.group.is_some() => Err(UsageError(
            "a group shares symbols through NATS: add --nats URL to --group".to_owned(),
        )),
        (None, None, None) => Ok(OutputTarget::Stdout),
    }
}

/// The bus settings beside the servers (used only with `nats`, checked either way).
fn nats_settings(cli: &Cli, file: &FileConfig) -> Result<NatsSettings, UsageError> {
    let keys = &file.keys;
    let subject = layered(
        cli.nats_subject.clone(),
        file.value("nats_subject", keys.nats_subject.as_ref(), parsed),
    )?
    .unwrap_or_default();
    let stream = layered(
        cli.nats_stream.clone(),
        file.value("nats_stream", keys.nats_stream.as_ref(), parse_stream_name),
    )?
    .unwrap_or_else(|| DEFAULT_STREAM.to_owned());
    let group = layered(
        cli.group.clone(),
        file.value("group", keys.group.as_ref(), parse_group_name),
    )?;
    let replicas = layered(
        cli.replicas,
        file.value("replicas", keys.replicas.as_ref(), parse_replicas),
    )?;
    let lease = layered(
        cli.lease,
        file.value("lease", keys.lease.as_ref(), parse_lease),
    )?;
    let member = layered(
        cli.member.clone(),
        file.value("member", keys.member.as_ref(), parse_member_name),
    )?;
    let group = match group {
        Some(name) => Some(GroupSettings {
            name,
            replicas: replicas.unwrap_or(1),
            lease: lease.unwrap_or(DEFAULT_LEASE),
            member,
        }),
        None if replicas.is_some() || lease.is_some() || member.is_some() => {
            return Err(UsageError(
                "replicas, lease and member apply to a group: add --group NAME (and --nats)"
                    .to_owned(),
            ));
        }
        None => None,
    };
    Ok(NatsSettings {
        servers: Vec::new(),
        subject,
        stream,
        group,
    })
}
