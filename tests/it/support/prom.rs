//! A tiny HTTP/1.1 client (std `TcpStream`, one request per connection) and a strict
//! parser of the Prometheus text exposition format (0.0.4), for the `--metrics` tests.
//!
//! Strict: every line is `# HELP`, `# TYPE` or a sample; names and label names are valid;
//! label values are quoted with only `\\`, `\"` and `\n` escapes; every sample belongs to
//! the family whose `# TYPE` came last (a histogram's `_bucket`, `_sum` and `_count`, a
//! counter's own name), each family is declared once, no series repeats, counters are
//! whole and non-negative, and each histogram's buckets grow up to `+Inf`, which equals
//! its `_count`.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug)]
pub(crate) struct Scrape {
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// The value of `name` for `symbol`; fails if there is not exactly one.
    pub(crate) fn value(&self, name: &str, symbol: &str) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name && s.labels.get("symbol").map(String::as_str) == Some(symbol)
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} for {symbol}: {found:?}");
        found[0].value
    }

    /// Like [`Scrape::value`], for a counter (a whole number).
    pub(crate) fn count(&self, name: &str, symbol: &str) -> u64 {
        let value = self.value(name, symbol);
        assert!(value.fract() == 0.0 && value >= 0.0, "{name}: {value}");
        value as u64
    }
}

/// `GET path` from `addr`: the status code and the body. Panics on a malformed answer.
pub(crate) fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the answer");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head/body split in {response:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length in {head:?}"));
    assert_eq!(body.len(), length, "Content-Length matches the body");
    (status, body.to_owned())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("bad value {text:?}")),
    }
}

/// `{a="x",b="y"}` (after the name) → labels and the rest of the line.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let Some(mut rest) = text.strip_prefix('{') else {
        return Ok((labels, text));
    };
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = rest.split_once("=\"").ok_or("label without =\"")?;
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((at, '"')) => break at,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".to_owned()),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} repeated"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// Parses a scrape strictly; panics naming the line on the first problem.
pub(crate) fn parse(text: &str) -> Scrape {
    let mut samples = Vec::new();
    let mut declared = HashSet::new();
    let mut family: Option<(String, String)> = None;
    let mut series = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let fail = |why: String| -> ! { panic!("line {}: {why}: {line:?}", number + 1) };
        if let Some(help) = line.strip_prefix("# HELP ") {
            let name = help.split(' ').next().unwrap_or_default();
            if !valid_name(name) {
                fail("bad HELP name".to_owned());
            }
            continue;
        }
        if let Some(decl) = line.strip_prefix("# TYPE ") {
            let (name, kind) = decl
                .split_once(' ')
                .unwrap_or_else(|| fail("bad TYPE".to_owned()));
            if !valid_name(name)
                || !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind)
            {
                fail("bad TYPE".to_owned());
            }
            if !declared.insert(name.to_owned()) {
                fail("family declared twice".to_owned());
            }
            family = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            fail("unexpected comment or blank line".to_owned());
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| fail("no value".to_owned()));
        let name = &line[..name_end];
        if !valid_name(name) {
            fail("bad metric name".to_owned());
        }
        let (labels, rest) = parse_labels(&line[name_end..]).unwrap_or_else(|why| fail(why));
        let value_text = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| fail("no space before the value".to_owned()));
        let value = parse_value(value_text.trim_end()).unwrap_or_else(|why| fail(why));
        let Some((family_name, kind)) = &family else {
            fail("sample before any TYPE".to_owned());
        };
        let belongs = match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| name.strip_suffix(suffix) == Some(family_name.as_str())),
            _ => name == family_name,
        };
        if !belongs {
            fail(format!("sample outside its family {family_name}"));
        }
        if kind == "counter" && !(value >= 0.0 && value.fract() == 0.0) {
            fail("a counter that is not a whole, non-negative number".to_owned());
        }
        if !series.insert(format!("{name}{labels:?}")) {
            fail("series repeated".to_owned());
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    check_histograms(&samples);
    Scrape { samples }
}

/// Each histogram series: buckets cumulative, ending in `+Inf` equal to `_count`.
fn check_histograms(samples: &[Sample]) {
    let mut runs: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for sample in samples.iter().filter(|s| s.name.ends_with("_bucket")) {
        let mut labels = sample.labels.clone();
        let le = labels.remove("le").expect("a bucket has le");
        let key = format!("{}{labels:?}", sample.name.trim_end_matches("_bucket"));
        runs.entry(key)
            .or_default()
            .push((parse_value(&le).expect("le"), sample.value));
    }
    for (key, buckets) in runs {
        assert!(
            buckets
                .windows(2)
                .all(|pair| pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1),
            "{key}: buckets not cumulative: {buckets:?}"
        );
        let (top, inf_count) = *buckets.last().expect("buckets");
        assert_eq!(top, f64::INFINITY, "{key}: no +Inf bucket");
        let count = samples
            .iter()
            .find(|s| {
                let mut labels = s.labels.clone();
                labels.remove("le");
                s.name.ends_with("_count")
                    && format!("{}{labels:?}", s.name.trim_end_matches("_count")) == key
            })
            .unwrap_or_else(|| panic!("{key}: no _count"));
        assert_eq!(
            count.value, inf_count,
            "{key}: +Inf bucket differs from _count"
        );
    }
}

#[test]
fn the_parser_rejects_what_prometheus_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{symbol=\"X\\\"Y\"} 3\n";
    assert_eq!(parse(good).count("a_total", "X\"Y"), 3);
    for bad in [
        "a_total 3\n",
        "# TYPE a_total counter\na_total{symbol=\"X} 3\n",
        "# TYPE a_total counter\nb_total 3\n",
        "# TYPE a_total counter\na_total 1.5\n",
        "# TYPE a_total counter\na_total 1\na_total 2\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "accepted {bad:?}"
        );
    }
}
