//! Mutations of a compact JSON frame for the differential tests: every truncation, deleted,
//! inserted and replaced character, escaped string characters, and member-level edits
//! (reordered, dropped, repeated and unknown members; values of other types and forms).

/// Characters the mutations insert and substitute: JSON punctuation, number syntax,
/// whitespace, escapes, control and non-ASCII characters.
const ALPHABET: [char; 27] = [
    '"', '\\', '0', '1', '9', '-', '.', 'e', 'E', '+', '{', '}', '[', ']', ',', ':', ' ', '\n',
    '\t', '\r', 'x', 't', 'n', '\u{7f}', 'é', '\u{1}', '\u{2028}',
];

/// Replacement values by the type of the value they replace.
const FOR_NUMBERS: [&str; 11] = [
    "null",
    "true",
    "1.0",
    "1e3",
    "-1",
    "01",
    "0",
    "18446744073709551615",
    "18446744073709551616",
    r#""1""#,
    "[1]",
];
const FOR_STRINGS: [&str; 7] = ["null", "1", r#""""#, r#""\u0031""#, r#""a\"b""#, "[]", "{}"];
const FOR_BOOLS: [&str; 5] = ["null", "1", r#""true""#, "true", "false"];
const FOR_ARRAYS: [&str; 9] = [
    "[]",
    "{}",
    "null",
    r#""[]""#,
    "[[1,2]]",
    r#"[["1","2"],["3","4"]]"#,
    r#"[["1","2","3"]]"#,
    r#"[["1"]]"#,
    r#"[ ["1","2"]]"#,
];
const FOR_OBJECTS: [&str; 3] = ["null", "{}", r#"{"e":"trade"}"#];

/// A small xorshift generator: the tests need variety, not quality.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// `payload` with one to three random edits (insert, delete or replace a character).
    pub(super) fn mutate(&mut self, payload: &str) -> String {
        let mut chars: Vec<char> = payload.chars().collect();
        for _ in 0..=self.below(3) {
            let at = self.below(chars.len() + 1);
            let c = ALPHABET[self.below(ALPHABET.len())];
            match self.below(3) {
                0 => chars.insert(at, c),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ if at < chars.len() => chars[at] = c,
                _ => chars.push(c),
            }
        }
        chars.into_iter().collect()
    }
}

/// Every systematic mutant of `payload`.
pub(super) fn mutants(payload: &str) -> Vec<String> {
    let chars: Vec<char> = payload.chars().collect();
    let text = |chars: &[char]| chars.iter().collect::<String>();
    let mut found = Vec::new();
    for at in 0..chars.len() {
        found.push(text(&chars[..at]));
        let mut deleted = chars.clone();
        deleted.remove(at);
        found.push(text(&deleted));
    }
    for at in 0..=chars.len() {
        for c in ALPHABET {
            let mut inserted = chars.clone();
            inserted.insert(at, c);
            found.push(text(&inserted));
            if at < chars.len() {
                let mut replaced = chars.clone();
                replaced[at] = c;
                found.push(text(&replaced));
            }
        }
    }
    found.extend(escaped(&chars));
    if let Some(members) = members(payload) {
        found.extend(member_edits(&members));
    }
    found
}

/// Each character inside a string written as a `\u` escape instead (serde reads the same
/// string).
fn escaped(chars: &[char]) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_string = false;
    for (at, c) in chars.iter().enumerate() {
        if *c == '"' {
            in_string = !in_string;
        } else if in_string && c.is_ascii() {
            let mut edited: String = chars[..at].iter().collect();
            edited.push_str(&format!("\\u{:04x}", u32::from(*c)));
            edited.extend(&chars[at + 1..]);
            found.push(edited);
        }
    }
    found
}

/// A compact object's members as (key with its colon, value): `("\"t\":", "12")`.
fn members(payload: &str) -> Option<Vec<(String, String)>> {
    let inner = payload.strip_prefix('{')?.strip_suffix('}')?;
    let mut members = Vec::new();
    let (mut depth, mut in_string, mut start) = (0i32, false, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '{' | '[' if !in_string => depth += 1,
            '}' | ']' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                members.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    members.push(&inner[start..]);
    members
        .into_iter()
        .map(|member| {
            let colon = member.find("\":")? + 2;
            Some((member[..colon].to_owned(), member[colon..].to_owned()))
        })
        .collect()
}

fn object(members: &[(String, String)]) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|(key, value)| format!("{key}{value}"))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// Reordered, dropped, repeated and unknown members, and values of other types and forms.
fn member_edits(members: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for at in 0..members.len() {
        let mut edited = members.to_vec();
        if at + 1 < members.len() {
            edited.swap(at, at + 1);
            found.push(object(&edited));
        }
        let mut edited = members.to_vec();
        edited.remove(at);
        found.push(object(&edited));
        let mut edited = members.to_vec();
        edited.insert(at, members[at].clone());
        found.push(object(&edited));
        let mut edited = members.to_vec();
        edited.insert(at, (r#""X":"#.to_owned(), "1".to_owned()));
        found.push(object(&edited));
        let value = &members[at].1;
        let others: &[&str] = match value.chars().next() {
            Some('"') => &FOR_STRINGS,
            Some('t' | 'f') => &FOR_BOOLS,
            Some('[') => &FOR_ARRAYS,
            Some('{') => &FOR_OBJECTS,
            _ => &FOR_NUMBERS,
        };
        for other in others {
            let mut edited = members.to_vec();
            edited[at].1 = (*other).to_owned();
            found.push(object(&edited));
        }
    }
    let mut unknown_last = members.to_vec();
    unknown_last.push((r#""X":"#.to_owned(), "1".to_owned()));
    found.push(object(&unknown_last));
    found
}
