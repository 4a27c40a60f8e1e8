//! `--symbols-file FILE` (config key `symbols_file`): symbols at scale, one per line. `#`
//! starts a comment (a whole line or the rest of one), blank lines are ignored, `-` reads
//! standard input. A bad line is a usage error naming the file and the line.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use binance_streams::Symbol;

use super::UsageError;
use super::file::FileConfig;

/// The largest symbols file read: 1 MiB is some 80,000 symbols, far more than one process
/// can hold connections for; a device given by mistake (`/dev/zero`) must not eat memory.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The path that means standard input.
const STDIN: &str = "-";

/// Where the symbols come from, for reading and for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SymbolsSource {
    /// `-`: standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl SymbolsSource {
    /// `-` is standard input; anything else a path.
    pub(super) fn new(path: PathBuf) -> Self {
        if path.as_os_str() == STDIN {
            Self::Stdin
        } else {
            Self::File(path)
        }
    }

    /// The name used in messages: the path as given, or `-` (standard input).
    fn name(&self) -> String {
        match self {
            Self::Stdin => "- (standard input)".to_owned(),
            Self::File(path) => path.display().to_string(),
        }
    }

    /// Reads and parses the symbols.
    ///
    /// # Errors
    /// The file cannot be read, is too large or not text, or a line is not a symbol.
    pub(super) fn read(&self) -> Result<Vec<Symbol>, UsageError> {
        let name = self.name();
        let cannot_read =
            |why: String| UsageError(format!("cannot read symbols file '{name}': {why}"));
        let mut bytes = Vec::new();
        let read = match self {
            Self::Stdin => io::stdin()
                .lock()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes),
            Self::File(path) => std::fs::File::open(path)
                .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)),
        };
        read.map_err(|error| cannot_read(error.to_string()))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(cannot_read(format!(
                "larger than {} KiB; expected one symbol per line",
                MAX_FILE_BYTES / 1024
            )));
        }
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&byte| byte == b'\n').count();
            UsageError(format!(
                "symbols file '{name}', line {line}: not UTF-8 text; expected one symbol per line"
            ))
        })?;
        parse_symbols(&text, &name)
    }
}

/// The symbols in `text`, in order (repeats are kept: the caller collapses them with the
/// rest). `name` names the file in errors.
///
/// # Errors
/// The first line that is not a symbol, naming the file and the line number.
pub(super) fn parse_symbols(text: &str, name: &str) -> Result<Vec<Symbol>, UsageError> {
    let mut symbols = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.split_once('#').map_or(line, |(before, _)| before);
        let word = content.trim();
        if word.is_empty() {
            continue;
        }
        let at =
            |why: String| UsageError(format!("symbols file '{name}', line {}: {why}", index + 1));
        if word.split_whitespace().nth(1).is_some() {
            return Err(at(format!(
                "'{word}' is more than one word; expected one symbol per line"
            )));
        }
        let symbol = word.parse::<Symbol>().map_err(at)?;
        symbols.push(symbol);
    }
    Ok(symbols)
}

/// `symbols` (from the command line, else the config file's `symbols`) with the symbols
/// of `--symbols-file`, else of the config file's `symbols_file` (relative to the config
/// file), appended: the union, in order, repeats collapsed. The file's key is checked even
/// when the flag overrides it, like every key.
///
/// # Errors
/// A bad `symbols_file` value, or the list cannot be read or holds a bad line.
pub(super) fn add_listed(
    symbols: Vec<Symbol>,
    flag: Option<PathBuf>,
    file: &FileConfig,
) -> Result<Vec<Symbol>, UsageError> {
    let from_file = file
        .value("symbols_file", file.keys.symbols_file.as_ref(), |text| {
            Ok(PathBuf::from(text))
        })?
        .map(|path| {
            if is_stdin(&path) {
                path
            } else {
                file.resolve(path)
            }
        });
    match flag.or(from_file) {
        Some(path) => Ok(union(symbols, SymbolsSource::new(path).read()?)),
        None => Ok(symbols),
    }
}

/// `listed` appended to `symbols`, the first of each repeat kept: the union, in order.
fn union(symbols: Vec<Symbol>, listed: Vec<Symbol>) -> Vec<Symbol> {
    let mut all = symbols;
    for symbol in listed {
        if !all.contains(&symbol) {
            all.push(symbol);
        }
    }
    all
}

/// Whether `path` names standard input rather than a file (so it is never made relative
/// to the config file).
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(symbols: &[Symbol]) -> Vec<&str> {
        symbols.iter().map(Symbol::as_str).collect()
    }

    #[test]
    fn comments_blank_lines_and_spaces_are_ignored() {
        let text = "# majors\nethusdt\n\n  BNBUSDT   # exchange coin\r\nbtcusdt\n#SOLUSDT\n";
        let symbols = parse_symbols(text, "list.txt").unwrap();
        assert_eq!(names(&symbols), ["ETHUSDT", "BNBUSDT", "BTCUSDT"]);
        assert!(parse_symbols("# nothing\n\n", "empty").unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_names_the_file_and_the_line() {
        let error = parse_symbols("ETHUSDT\n\nETH-USDT\n", "list.txt").unwrap_err();
        assert_eq!(
            error.0,
            "symbols file 'list.txt', line 3: invalid symbol 'ETH-USDT': expected letters and digits only, like ETHUSDT (did you mean ETHUSDT?)"
        );
        let error = parse_symbols("ETHUSDT BNBUSDT\n", "list.txt").unwrap_err();
        assert_eq!(
            error.0,
            "symbols file 'list.txt', line 1: 'ETHUSDT BNBUSDT' is more than one word; expected one symbol per line"
        );
    }

    #[test]
    fn the_union_keeps_order_and_collapses_repeats() {
        let first = parse_symbols("ETHUSDT\nBNBUSDT", "a").unwrap();
        let second = parse_symbols("btcusdt\nethusdt\nBTCUSDT", "b").unwrap();
        assert_eq!(
            names(&union(first, second)),
            ["ETHUSDT", "BNBUSDT", "BTCUSDT"]
        );
    }

    #[test]
    fn files_that_are_not_symbol_lists_are_refused_with_their_name() {
        let missing = SymbolsSource::new(PathBuf::from("/nonexistent/symbols.txt"));
        let error = missing.read().unwrap_err();
        assert!(
            error
                .0
                .starts_with("cannot read symbols file '/nonexistent/symbols.txt': "),
            "{error}"
        );
        let huge = SymbolsSource::new(PathBuf::from("/dev/zero"));
        assert!(huge.read().unwrap_err().0.contains("larger than 1024 KiB"));
        assert_eq!(SymbolsSource::new(PathBuf::from("-")), SymbolsSource::Stdin);
    }
}
