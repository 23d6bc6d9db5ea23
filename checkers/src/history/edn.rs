//! A small, strict EDN reader: enough of the format for Jepsen histories, fully tested.
//!
//! Supports nil, booleans, integers (with `N`), floats (with `M`), strings with escapes,
//! characters, keywords, symbols, lists, vectors, maps, sets, tagged elements (`#inst "..."`,
//! records such as `#jepsen.history.Op{...}`), `;` comments, `#_` discards, and commas as
//! whitespace. Every error names the line where it was found.

use serde_json::{Map, Number, Value};

/// The exact text of a number that is not a 64-bit integer, as JSON accepts it, or `None`.
fn exact_number(text: &str) -> Option<String> {
    let text = text.strip_prefix('+').unwrap_or(text);
    serde_json::from_str::<Number>(text).ok()?;
    Some(text.to_string())
}

/// An EDN value.
#[derive(Debug, Clone, PartialEq)]
pub enum Edn {
    /// `nil`
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number (an integer beyond 64 bits, a float, a decimal), as written without
    /// its `N` or `M` suffix and leading `+`: it is kept as text so that values compare exactly.
    Number(String),
    /// A string.
    Str(String),
    /// A character, such as `\a`.
    Char(char),
    /// A keyword, without its leading colon (`:ok` is `Keyword("ok")`).
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// `( ... )`
    List(Vec<Edn>),
    /// `[ ... ]`
    Vector(Vec<Edn>),
    /// `{ ... }`, entries in the order written.
    Map(Vec<(Edn, Edn)>),
    /// `#{ ... }`
    Set(Vec<Edn>),
    /// `#tag value`
    Tagged(String, Box<Edn>),
}

impl Edn {
    /// Converts to JSON: keywords and symbols become strings, lists/vectors/sets become arrays,
    /// map keys become strings (keywords without the colon), tagged elements become their value.
    pub fn to_json(&self) -> Value {
        match self {
            Edn::Nil => Value::Null,
            Edn::Bool(b) => Value::Bool(*b),
            Edn::Int(i) => Value::from(*i),
            Edn::Number(text) => serde_json::from_str::<Number>(text)
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(text.clone())),
            Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::String(s.clone()),
            Edn::Char(c) => Value::String(c.to_string()),
            Edn::List(items) | Edn::Vector(items) | Edn::Set(items) => {
                Value::Array(items.iter().map(Edn::to_json).collect())
            }
            Edn::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.key_string(), v.to_json());
                }
                Value::Object(map)
            }
            Edn::Tagged(_, inner) => inner.to_json(),
        }
    }

    /// The string used for this value when it is a JSON object key.
    pub fn key_string(&self) -> String {
        match self {
            Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => s.clone(),
            other => other.to_json().to_string(),
        }
    }

    /// A short description of the kind of value, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) => "an integer",
            Edn::Number(_) => "a number",
            Edn::Str(_) => "a string",
            Edn::Char(_) => "a character",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::List(_) => "a list",
            Edn::Vector(_) => "a vector",
            Edn::Map(_) => "a map",
            Edn::Set(_) => "a set",
            Edn::Tagged(..) => "a tagged element",
        }
    }
}

/// True if two map keys name the same key once converted to JSON.
fn same_key(a: &Edn, b: &Edn) -> bool {
    match (a, b) {
        (Edn::Str(x) | Edn::Keyword(x) | Edn::Symbol(x), Edn::Str(y) | Edn::Keyword(y) | Edn::Symbol(y)) => {
            x == y
        }
        (Edn::Str(_) | Edn::Keyword(_) | Edn::Symbol(_), _)
        | (_, Edn::Str(_) | Edn::Keyword(_) | Edn::Symbol(_)) => a.key_string() == b.key_string(),
        _ => a == b || a.key_string() == b.key_string(),
    }
}

/// Parses exactly one EDN value from `text` (surrounding whitespace and comments allowed).
/// On error, returns the 1-based line (relative to `text`) and a message.
pub fn parse_edn_value(text: &str) -> Result<Edn, (usize, String)> {
    let mut reader = EdnReader::new(text);
    let value = match reader.next_value()? {
        Some((v, _)) => v,
        None => return Err((reader.line, "expected a value, found the end of the input".into())),
    };
    reader.skip_blank()?;
    if reader.pos < reader.bytes.len() {
        return Err((
            reader.line,
            format!("unexpected text after the value: {}", reader.snippet()),
        ));
    }
    Ok(value)
}

const MAX_DEPTH: usize = 200;

/// A streaming reader of top-level EDN values.
pub(crate) struct EdnReader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// 1-based current line.
    pub line: usize,
    depth: usize,
}

type ReadResult<T> = Result<T, (usize, String)>;

impl<'a> EdnReader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        EdnReader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    fn err<T>(&self, message: impl Into<String>) -> ReadResult<T> {
        Err((self.line, message.into()))
    }

    fn snippet(&self) -> String {
        let rest = &self.text[self.pos..];
        let end = rest.char_indices().nth(20).map(|(i, _)| i).unwrap_or(rest.len());
        let cut = rest[..end].lines().next().unwrap_or("");
        format!("\"{cut}\"")
    }

    /// Skips whitespace, commas and comments.
    pub(crate) fn skip_blank(&mut self) -> ReadResult<()> {
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b',' | 0x0c => self.pos += 1,
                b';' => {
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'#' if self.bytes.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    // `#_ #_ a b` nests: bound it like collections, so a long chain of
                    // discards is an error, not a stack overflow.
                    self.enter()?;
                    if self.next_value()?.is_none() {
                        return self.err("#_ must be followed by a value to discard");
                    }
                    self.depth -= 1;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Peeks at the next significant byte (after blanks), without consuming it.
    pub(crate) fn peek_significant(&mut self) -> ReadResult<Option<u8>> {
        self.skip_blank()?;
        Ok(self.bytes.get(self.pos).copied())
    }

    /// Consumes one byte (the caller has peeked it).
    pub(crate) fn bump(&mut self) {
        self.pos += 1;
    }

    /// Reads the next value, returning it with the line it started on; `None` at end of input.
    pub(crate) fn next_value(&mut self) -> ReadResult<Option<(Edn, usize)>> {
        self.skip_blank()?;
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let start_line = self.line;
        let v = self.value()?;
        Ok(Some((v, start_line)))
    }

    fn value(&mut self) -> ReadResult<Edn> {
        let b = self.bytes[self.pos];
        match b {
            b'(' => {
                self.pos += 1;
                Ok(Edn::List(self.seq(b')')?))
            }
            b'[' => {
                self.pos += 1;
                Ok(Edn::Vector(self.seq(b']')?))
            }
            b'{' => {
                self.pos += 1;
                self.map_body()
            }
            b'"' => Ok(Edn::Str(self.string()?)),
            b'\\' => self.character(),
            b':' => {
                self.pos += 1;
                let tok = self.token();
                if tok.is_empty() {
                    return self.err("a keyword needs a name after ':'");
                }
                Ok(Edn::Keyword(tok.to_string()))
            }
            b'#' => self.dispatch(),
            b')' | b']' | b'}' => self.err(format!(
                "unexpected '{}' with no matching opening bracket",
                b as char
            )),
            _ => self.atom(),
        }
    }

    fn enter(&mut self) -> ReadResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!(
                "values nested more than {MAX_DEPTH} deep (collections, tagged values and #_ discards)"
            ));
        }
        Ok(())
    }

    fn seq(&mut self, close: u8) -> ReadResult<Vec<Edn>> {
        self.enter()?;
        let open_line = self.line;
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.bytes.get(self.pos) {
                None => {
                    return self.err(format!(
                        "unexpected end of input: the collection opened on line {open_line} is missing its '{}'",
                        close as char
                    ));
                }
                Some(&c) if c == close => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(items);
                }
                Some(&c) if matches!(c, b')' | b']' | b'}') => {
                    return self.err(format!(
                        "expected '{}' to close the collection opened on line {open_line}, found '{}'",
                        close as char, c as char
                    ));
                }
                Some(_) => items.push(self.value()?),
            }
        }
    }

    fn map_body(&mut self) -> ReadResult<Edn> {
        let open_line = self.line;
        let items = self.seq(b'}')?;
        if items.len() % 2 != 0 {
            return Err((
                open_line,
                format!(
                    "the map opened on line {open_line} has an odd number of forms (a key with no value)"
                ),
            ));
        }
        let mut entries: Vec<(Edn, Edn)> = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        let mut names: Option<rustc_hash::FxHashSet<String>> = None;
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            // Keys that are the same key once converted (`:a`, `"a"`, `a`) are duplicates too.
            let duplicate = if entries.len() < 16 {
                entries.iter().any(|(e, _)| same_key(e, &k))
            } else {
                let names =
                    names.get_or_insert_with(|| entries.iter().map(|(e, _)| e.key_string()).collect());
                !names.insert(k.key_string())
            };
            if duplicate {
                return Err((
                    open_line,
                    format!(
                        "the map opened on line {open_line} has the key {} twice",
                        super::quote::quote_text(&k.key_string(), super::quote::QUOTE_LIMIT)
                    ),
                ));
            }
            entries.push((k, v));
        }
        Ok(Edn::Map(entries))
    }

    fn dispatch(&mut self) -> ReadResult<Edn> {
        match self.bytes.get(self.pos + 1) {
            Some(b'{') => {
                self.pos += 2;
                Ok(Edn::Set(self.seq(b'}')?))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                self.pos += 1;
                let tag = self.token().to_string();
                self.skip_blank()?;
                if self.pos >= self.bytes.len() {
                    return self.err(format!("the tag #{tag} must be followed by a value"));
                }
                self.enter()?;
                let inner = self.value()?;
                self.depth -= 1;
                Ok(Edn::Tagged(tag, Box::new(inner)))
            }
            _ => self.err(format!("unsupported '#' form: {}", self.snippet())),
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.pos < self.bytes.len() {
            let c = self.bytes[self.pos];
            if matches!(
                c,
                b' ' | b'\t'
                    | b'\n'
                    | b'\r'
                    | b','
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'"'
                    | b';'
                    | 0x0c
            ) {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn atom(&mut self) -> ReadResult<Edn> {
        let tok = self.token();
        if tok.is_empty() {
            return self.err(format!("unexpected character: {}", self.snippet()));
        }
        match tok {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        let first = tok.as_bytes()[0];
        let numeric = first.is_ascii_digit()
            || ((first == b'-' || first == b'+') && tok.len() > 1 && tok.as_bytes()[1].is_ascii_digit());
        if !numeric {
            return Ok(Edn::Symbol(tok.to_string()));
        }
        if let Some(int) = tok.strip_suffix('N') {
            if let Ok(i) = int.parse::<i64>() {
                return Ok(Edn::Int(i));
            }
            return match exact_number(int) {
                Some(text) if !text.contains(['.', 'e', 'E']) => Ok(Edn::Number(text)),
                _ => self.err(format!("not a number: \"{tok}\"")),
            };
        }
        if let Ok(i) = tok.parse::<i64>() {
            return Ok(Edn::Int(i));
        }
        match exact_number(tok.strip_suffix('M').unwrap_or(tok)) {
            Some(text) => Ok(Edn::Number(text)),
            None => self.err(format!("not a number: \"{tok}\"")),
        }
    }

    fn string(&mut self) -> ReadResult<String> {
        let open_line = self.line;
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let Some(&c) = self.bytes.get(self.pos) else {
                return Err((
                    open_line,
                    format!("the string opened on line {open_line} is never closed"),
                ));
            };
            match c {
                b'"' => {
                    out.push_str(&self.text[run_start..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b'\\' => {
                    out.push_str(&self.text[run_start..self.pos]);
                    let Some(&e) = self.bytes.get(self.pos + 1) else {
                        return self.err("unfinished escape at the end of the input");
                    };
                    self.pos += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let hex = self.text.get(self.pos..self.pos + 4).unwrap_or("");
                            let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                            match ch {
                                Some(ch) if hex.len() == 4 => {
                                    out.push(ch);
                                    self.pos += 4;
                                }
                                _ => return self.err(format!("bad unicode escape \\u{hex}")),
                            }
                        }
                        other => return self.err(format!("unknown escape \\{} in a string", other as char)),
                    }
                    run_start = self.pos;
                }
                _ => self.pos += 1,
            }
        }
    }

    fn character(&mut self) -> ReadResult<Edn> {
        self.pos += 1;
        // A character is the next char, plus any following token characters for named ones.
        let rest = &self.text[self.pos..];
        let Some(first) = rest.chars().next() else {
            return self.err("a character literal needs a character after '\\'");
        };
        self.pos += first.len_utf8();
        let tail_start = self.pos;
        let tail = self.token();
        if tail.is_empty() {
            return Ok(Edn::Char(first));
        }
        let name = &self.text[tail_start - first.len_utf8()..self.pos];
        let ch = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if name.starts_with('u') && name.len() == 5 => {
                match u32::from_str_radix(&name[1..], 16).ok().and_then(char::from_u32) {
                    Some(c) => c,
                    None => return self.err(format!("bad character literal \\{name}")),
                }
            }
            _ => return self.err(format!("bad character literal \\{name}")),
        };
        Ok(Edn::Char(ch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Edn {
        parse_edn_value(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn scalars() {
        assert_eq!(p("nil"), Edn::Nil);
        assert_eq!(p("true"), Edn::Bool(true));
        assert_eq!(p("-42"), Edn::Int(-42));
        assert_eq!(p("+7"), Edn::Int(7));
        assert_eq!(p("42N"), Edn::Int(42));
        assert_eq!(p("1.5"), Edn::Number("1.5".into()));
        assert_eq!(p("2.5M"), Edn::Number("2.5".into()));
        assert_eq!(p("1e3"), Edn::Number("1e3".into()));
        assert_eq!(p(":timed-out"), Edn::Keyword("timed-out".into()));
        assert_eq!(p(":jepsen/x"), Edn::Keyword("jepsen/x".into()));
        assert_eq!(p("foo.bar/baz"), Edn::Symbol("foo.bar/baz".into()));
        assert_eq!(p(r#""a {b} \"c\" \u00e9\n""#), Edn::Str("a {b} \"c\" é\n".into()));
        assert_eq!(p(r"\a"), Edn::Char('a'));
        assert_eq!(p(r"\newline"), Edn::Char('\n'));
        assert_eq!(
            p("99999999999999999999N"),
            Edn::Number("99999999999999999999".into())
        );
        assert_eq!(
            p("+18446744073709551617"),
            Edn::Number("18446744073709551617".into())
        );
    }

    #[test]
    fn big_integers_and_decimals_stay_exact_in_json() {
        let a = p("18446744073709551617").to_json();
        let b = p("18446744073709551616N").to_json();
        assert_ne!(a, b);
        assert_eq!(a.to_string(), "18446744073709551617");
        assert_ne!(p("0.30000000000000001M").to_json(), p("0.3M").to_json());
        assert_eq!(p("42N").to_json(), p("42").to_json());
        assert!(parse_edn_value("1.5.2").is_err());
    }

    #[test]
    fn collections_comments_and_commas() {
        let v = p("; a comment\n{:a 1, :b [1 2 (3)], :c #{:x} ;inline\n :d #_ :gone :e}");
        let Edn::Map(entries) = v else { panic!() };
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[3], (Edn::Keyword("d".into()), Edn::Keyword("e".into())));
        assert_eq!(
            p("#inst \"2020-01-01\""),
            Edn::Tagged("inst".into(), Box::new(Edn::Str("2020-01-01".into())))
        );
        let rec = p("#jepsen.history.Op{:index 0}");
        assert!(matches!(rec, Edn::Tagged(ref t, _) if t == "jepsen.history.Op"));
        assert_eq!(
            p("{:value [[:append 5 1]]}").to_json(),
            serde_json::json!({"value": [["append", 5, 1]]})
        );
    }

    #[test]
    fn errors_name_lines() {
        let cases = [
            ("{:a 1\n :b}", 1, "odd number"),
            ("[1 2\n 3", 2, "missing its ']'"),
            ("[1 2)", 1, "expected ']'"),
            ("\n\"abc", 2, "never closed"),
            ("\n\n1x2", 3, "not a number"),
            ("1 2", 1, "unexpected text"),
            ("", 1, "expected a value"),
            ("#?(:clj 1)", 1, "unsupported"),
            ("\"\\q\"", 1, "unknown escape"),
        ];
        for (text, line, needle) in cases {
            let (l, m) = parse_edn_value(text).unwrap_err();
            assert_eq!(l, line, "{text}: {m}");
            assert!(m.contains(needle), "{text}: {m}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        let (_, m) = parse_edn_value(&text).unwrap_err();
        assert!(m.contains("nested"), "{m}");
        // 60k chained discards overflowed the stack (exit 134) before they were bounded.
        let text = format!("{}1 {}", "#_ ".repeat(60_000), "2 ".repeat(60_000));
        let (_, m) = parse_edn_value(&text).unwrap_err();
        assert!(m.contains("#_ discards"), "{m}");
        assert_eq!(p("[#_ #_ 1 2 3]"), Edn::Vector(vec![Edn::Int(3)]));
    }

    #[test]
    fn duplicate_map_keys_are_refused() {
        for text in ["{:a 1 :b 2 :a 3}", "{:a 1 \"a\" 2}", "{1 :x 1 :y}"] {
            let (line, m) = parse_edn_value(text).unwrap_err();
            assert_eq!(line, 1);
            assert!(m.contains("twice"), "{text}: {m}");
        }
        let many: String = (0..40).map(|i| format!(":k{i} {i} ")).collect();
        assert!(parse_edn_value(&format!("{{{many}}}")).is_ok());
        let (_, m) = parse_edn_value(&format!("{{{many} :k7 0}}")).unwrap_err();
        assert!(m.contains("the key k7 twice"), "{m}");
        assert!(parse_edn_value("{1 :x 1N :y}").is_err());
    }
}
