//! The subcommands that print instead of listening: `completions SHELL` (a completion
//! script) and `man` (the manual page, roff). Both are generated from the same clap
//! definition as `--help`, so they always match the real flags. Runs on the main thread,
//! before logging is set up; a closed stdout (`| head`) ends quietly with status 0.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::entry::USAGE_ERROR_STATUS;
use crate::bus::DEFAULT_STREAM;
use crate::bus::tail::{TailError, TailRequest};
use crate::config::cli::Cli;
use crate::config::commands::Command;
use crate::config::commands::TailArgs;
use crate::util::stderr;

/// The program's name in scripts and the page (what the user types).
const BIN_NAME: &str = "binance-listen";

/// Runs `command`; returns the exit status.
pub(super) fn run(command: &Command) -> ExitCode {
    let text = match command {
        Command::Completions { shell: Some(shell) } => completion_script(*shell),
        Command::Completions { shell: None } => {
            stderr::line(
                "binance-listen: error: name the shell: binance-listen completions bash|zsh|fish|elvish|powershell",
            );
            return ExitCode::from(USAGE_ERROR_STATUS);
        }
        Command::Man => match man_page() {
            Ok(page) => page,
            Err(error) => {
                stderr::line(&format!(
                    "binance-listen: error: cannot render the manual page: {error}"
                ));
                return ExitCode::FAILURE;
            }
        },
        Command::Tail(args) => return tail(args),
        Command::Replay { .. } => Vec::new(),
    };
    print(&text)
}

/// `tail`: prints what listeners stored in NATS.
fn tail(args: &TailArgs) -> ExitCode {
    let request = TailRequest {
        servers: args.nats.0.clone(),
        subject: args.nats_subject.clone().unwrap_or_default(),
        stream: args
            .nats_stream
            .clone()
            .unwrap_or_else(|| DEFAULT_STREAM.to_owned()),
        market: args.market.map(|market| market.name().to_owned()),
        symbols: args.symbols.iter().map(|s| s.as_str().to_owned()).collect(),
        streams: args
            .streams
            .iter()
            .flat_map(|kinds| kinds.0.iter().map(|kind| kind.name()))
            .collect(),
        since: args.since,
        follow: args.follow,
    };
    match crate::bus::tail::run(request) {
        Ok(_) => ExitCode::SUCCESS,
        Err(TailError::Failed(why)) => {
            stderr::line(&format!("binance-listen: error: {why}"));
            ExitCode::FAILURE
        }
    }
}

/// The completion script for `shell`.
pub(crate) fn completion_script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN_NAME, &mut script);
    if shell == Shell::Bash {
        script = fix_bash_states(&script);
    }
    script
}

/// clap_complete's bash script spells a subcommand's state two ways when the program's
/// name has a hyphen: the word loop sets `binance__listen__subcmd__completions`, the case
/// arm waits for `binance__subcmd__listen__subcmd__completions`, so nothing after a
/// subcommand completes (clap-rs/clap#6421, open). The arms are respelt the loop's way;
/// once clap_complete is fixed this finds nothing to replace.
fn fix_bash_states(script: &[u8]) -> Vec<u8> {
    const SEPARATOR: &str = "__subcmd__";
    let wrong = format!("{}{SEPARATOR}", BIN_NAME.replace('-', SEPARATOR));
    let right = format!("{}{SEPARATOR}", BIN_NAME.replace('-', "__"));
    String::from_utf8_lossy(script)
        .replace(&wrong, &right)
        .into_bytes()
}

/// The manual page, roff: clap_mangen's title, name, synopsis, description and options,
/// then our own sections: the subcommands as they are typed (there is one page, not one
/// per subcommand), and the `--help` epilogue with its examples kept as written (no-fill)
/// and each "Title: text" paragraph as a section of that title (EXIT STATUS, ...).
///
/// # Errors
/// Only if writing to memory failed (it does not).
pub(crate) fn man_page() -> io::Result<Vec<u8>> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(subcommands_section(&command).as_bytes());
    if let Some(epilogue) = command.get_after_help() {
        page.extend_from_slice(epilogue_sections(&epilogue.to_string()).as_bytes());
    }
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// `.SH SUBCOMMANDS`: each visible subcommand as typed, with its arguments and summary.
fn subcommands_section(command: &clap::Command) -> String {
    let mut roff = String::from(".SH SUBCOMMANDS\n");
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let arguments: String = sub
            .get_positionals()
            .filter(|arg| !arg.is_hide_set())
            .flat_map(|arg| arg.get_value_names().unwrap_or_default())
            .map(|name| format!(" \\fI{}\\fR", escape(name)))
            .collect();
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        roff.push_str(&format!(
            ".TP\n\\fB{} {}\\fR{arguments}\n{}\n",
            escape(BIN_NAME),
            escape(sub.get_name()),
            escape(&about)
        ));
    }
    roff
}

/// The `--help` epilogue as man sections: "Examples:" followed by lines becomes EXAMPLES,
/// kept line for line; "Exit status: text" becomes EXIT STATUS with its text filled.
fn epilogue_sections(epilogue: &str) -> String {
    let mut roff = String::new();
    for paragraph in epilogue.split("\n\n") {
        let Some((title, body)) = paragraph.split_once(':') else {
            roff.push_str(&format!(".PP\n{}\n", escape(paragraph)));
            continue;
        };
        roff.push_str(&format!(".SH {}\n", escape(&title.to_uppercase())));
        match body.strip_prefix('\n') {
            Some(lines) => {
                roff.push_str(".nf\n");
                for line in lines.lines() {
                    roff.push_str(&escape(line));
                    roff.push('\n');
                }
                roff.push_str(".fi\n");
            }
            None => {
                let text = body.trim().replace('\n', " ");
                let mut chars = text.chars();
                let text: String = chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default();
                roff.push_str(&escape(&text));
                roff.push('\n');
            }
        }
    }
    roff
}

/// `text` safe in roff: backslashes and hyphens escaped, a leading `.` or `'` (a request)
/// neutralised.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Writes `text` to stdout: 0 when written or when the reader left (`| head`), 1 when
/// stdout failed otherwise.
fn print(text: &[u8]) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            stderr::line(&format!(
                "binance-listen: error: cannot write to stdout: {error}"
            ));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            assert!(script.contains("binance-listen"), "{shell}");
            assert!(script.contains("completions"), "{shell}");
            assert!(script.contains("symbols-file"), "{shell}");
        }
    }

    #[test]
    fn the_man_page_has_the_usual_sections() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        for section in [
            ".TH binance-listen 1",
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH EXAMPLES",
            ".SH RESERVED WORDS",
            ".SH EXIT STATUS",
        ] {
            assert!(page.contains(section), "no {section} in:\n{page}");
        }
        assert!(
            page.contains("\\fBbinance\\-listen completions\\fR \\fISHELL\\fR"),
            "{page}"
        );
        assert!(
            page.contains("\\fBbinance\\-listen tail\\fR \\fISYMBOL\\fR\nPrint the lines"),
            "{page}"
        );
    }

    #[test]
    fn roff_requests_and_escapes_cannot_leak_from_text() {
        assert_eq!(escape(".stop -x"), "\\&.stop \\-x");
        assert_eq!(escape("a\\b"), "a\\eb");
    }
}
