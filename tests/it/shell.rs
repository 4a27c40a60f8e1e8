//! Shell integration: `completions SHELL` and `man`, and the words reserved for
//! subcommands, which never become symbols by accident while every symbol stays reachable.

use std::io::Write;
use std::process::{Command, Stdio};

use binance_mock::{MockConfig, Rate};

use crate::support::{Exchange, Listener, PATIENCE, binary, run_to_end, trade, wait_with_deadline};

/// Runs `binance-listen ARGS`, expecting status 2 and one stderr line; returns it.
fn usage_error(args: &[&str]) -> String {
    let (status, stdout, stderr) = run_to_end(args);
    assert_eq!(status.code(), Some(2), "args {args:?}; stderr:\n{stderr}");
    assert!(stdout.is_empty(), "args {args:?} wrote to stdout: {stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "args {args:?}: expected one line:\n{stderr}"
    );
    assert!(lines[0].starts_with("binance-listen: error: "), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn bash_loads_the_completion_script() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("bash is not installed: skipped");
        return;
    }
    let script = format!(
        "source <('{}' completions bash) && complete -p binance-listen",
        binary()
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("binance-listen"), "{stdout}");
    assert!(stdout.starts_with("complete "), "{stdout}");
}

#[test]
fn bash_completes_subcommands_and_flags() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("bash is not installed: skipped");
        return;
    }
    // What bash would offer after `binance-listen comp<TAB>` and `binance-listen --sym<TAB>`.
    let script = format!(
        r#"source <('{}' completions bash)
complete_words() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); _binance__listen binance-listen "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; echo "${{COMPREPLY[*]}}"; }}
complete_words binance-listen comp
complete_words binance-listen --sym
complete_words binance-listen completions ''
complete_words binance-listen --color ''"#,
        binary()
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(lines[0], "completions");
    assert_eq!(lines[1], "--symbols-file");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(lines[2].split(' ').any(|word| word == shell), "{stdout}");
    }
    assert_eq!(lines[3], "auto always never");
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (status, stdout, stderr) = run_to_end(&["completions", shell]);
        assert!(status.success(), "{shell}: {stderr}");
        assert!(stdout.contains("binance-listen"), "{shell}");
        assert!(stderr.is_empty(), "{shell}: {stderr}");
    }
}

#[test]
fn the_man_page_renders() {
    let (status, page, stderr) = run_to_end(&["man"]);
    assert!(status.success(), "{stderr}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
        ".SH EXAMPLES",
        ".SH EXIT STATUS",
    ] {
        assert!(page.contains(section), "no {section}");
    }
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("man is not installed: checked the roff only");
        return;
    }
    let mut man = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("man runs");
    man.stdin
        .take()
        .expect("piped")
        .write_all(page.as_bytes())
        .expect("man reads the page");
    let output = man.wait_with_output().expect("man finishes");
    let rendered = String::from_utf8_lossy(&output.stdout);
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{warnings}");
    assert!(!warnings.contains("warning"), "roff warnings:\n{warnings}");
    for heading in ["NAME", "SYNOPSIS", "OPTIONS", "SUBCOMMANDS", "EXAMPLES"] {
        assert!(
            rendered.lines().any(|line| line.trim() == heading),
            "no {heading} heading in:\n{rendered}"
        );
    }
    assert!(rendered.contains("--symbols-file"), "{rendered}");
    assert!(
        rendered.contains("  binance-listen --simulate ETHUSDT BNBUSDT "),
        "examples kept line for line:\n{rendered}"
    );
}

#[test]
fn a_closed_stdout_ends_the_man_page_quietly() {
    let mut child = Command::new(binary())
        .arg("man")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    drop(child.stdout.take());
    let status = wait_with_deadline(&mut child, PATIENCE).expect("exits");
    assert!(status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn help_lists_the_subcommands_and_the_reserved_words() {
    let (status, help, _) = run_to_end(&["--help"]);
    assert!(status.success());
    assert!(help.contains("binance-listen <COMMAND>"), "{help}");
    for line in ["  completions  ", "  man  ", "  tail  ", "  replay  "] {
        assert!(help.contains(line), "no {line:?} in:\n{help}");
    }
    assert!(
        help.contains(
            "Reserved words: the lower-case words completions, man, tail, replay and help"
        ),
        "{help}"
    );
    assert!(help.contains("binance-listen -- man"), "{help}");
}

#[test]
fn reserved_words_are_not_symbols_unless_upper_case_or_after_double_dash() {
    let line = usage_error(&["completions"]);
    assert!(
        line.contains("completions bash|zsh|fish|elvish|powershell"),
        "{line}"
    );
    let line = usage_error(&["completions", "tcsh"]);
    assert!(
        line.contains("'tcsh'") && line.contains("bash, elvish, fish"),
        "{line}"
    );
    // `tail` reads NATS: it says so when the server is not named.
    let line = usage_error(&["tail", "ETHUSDT"]);
    assert!(line.contains("--nats"), "{line}");
    // Not first: neither a subcommand nor silently a symbol.
    for args in [&["ETHUSDT", "man"][..], &["--simulate", "man"][..]] {
        let line = usage_error(args);
        assert!(line.contains("'man' is a subcommand"), "{line}");
        assert!(line.contains("write MAN or put it after --"), "{line}");
    }
    // A subcommand takes no listening flags.
    let line = usage_error(&["man", "--simulate"]);
    assert!(line.contains("--simulate"), "{line}");
}

#[test]
fn a_symbol_named_like_a_reserved_word_is_reachable() {
    for symbols in [
        &["MAN"][..],
        &["--", "man"],
        &["ETHUSDT", "--", "completions"],
    ] {
        let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(2));
        let url = exchange.url();
        let mut args = vec!["--endpoint", &url, "--max-messages", "2"];
        args.extend_from_slice(symbols);
        let mut listener = Listener::start(&args);
        let status = listener.expect_exit_within(PATIENCE);
        assert!(status.success(), "{args:?}: {}", listener.full_stderr());
        let symbols: Vec<String> = listener
            .remaining_lines()
            .iter()
            .map(|line| trade(line).symbol)
            .collect();
        let last = args.last().unwrap().to_ascii_uppercase();
        assert!(symbols.contains(&last), "{args:?}: {symbols:?}");
    }
}
