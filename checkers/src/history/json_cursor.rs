//! A cursor over JSON text for hand-written scanners of a strict subset of JSON (plain
//! strings, integers): each read gives up (`None`) on anything outside the subset, and the
//! caller then reads the text with serde_json instead.

/// How deep [`Cursor::value`] reads lists in lists.
const MAX_DEPTH: usize = 4;

/// A position in text being scanned.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, at: 0 }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.text.len()
    }

    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Steps over `byte` if it is next.
    #[inline]
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += found as usize;
        found
    }

    #[inline]
    pub(crate) fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// Steps over `word` (such as `null`) if it is next.
    #[inline]
    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        let found = self.text[self.at..].starts_with(word);
        self.at += if found { word.len() } else { 0 };
        found
    }

    /// The text from `start` to here.
    #[inline]
    pub(crate) fn since(&self, start: usize) -> &'a str {
        &self.text[start..self.at]
    }

    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.at
    }

    /// A string without escapes or control characters: its text, quotes included.
    #[inline]
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.expect(b'"')?;
        let rest = &self.text.as_bytes()[self.at..];
        let len = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.at += len + 1;
        Some(self.since(start))
    }

    /// A string's content (see [`Cursor::string`]).
    #[inline]
    pub(crate) fn string_content(&mut self) -> Option<&'a str> {
        self.string().map(|s| &s[1..s.len() - 1])
    }

    /// A value made of the subset only, lists nested at most a few deep: its text.
    pub(crate) fn value(&mut self) -> Option<&'a str> {
        let start = self.at;
        let mut depth = 0;
        loop {
            match self.peek()? {
                b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    self.at += 1;
                    self.skip_ws();
                    if !self.eat(b']') {
                        continue;
                    }
                    depth -= 1;
                }
                b'"' => {
                    self.string()?;
                }
                b'n' => self.eat_word("null").then_some(())?,
                _ => {
                    self.integer()?;
                }
            }
            // After a value: the lists it ends, then the next value.
            loop {
                if depth == 0 {
                    return Some(self.since(start));
                }
                self.skip_ws();
                if self.eat(b']') {
                    depth -= 1;
                    continue;
                }
                self.expect(b',')?;
                self.skip_ws();
                break;
            }
        }
    }

    /// An integer as JSON writes it, `-?(0|[1-9][0-9]*)`, not followed by a fraction or an
    /// exponent: its text.
    #[inline]
    pub(crate) fn integer(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.eat(b'-');
        let bytes = &self.text.as_bytes()[self.at..];
        let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (bytes[0] == b'0' && digits > 1) {
            return None;
        }
        self.at += digits;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(self.since(start))
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn plain_strings_and_integers_only() {
        let mut c = Cursor::new(r#""ab" -12 0 null"#);
        assert_eq!(c.string(), Some("\"ab\""));
        c.skip_ws();
        assert_eq!(c.integer(), Some("-12"));
        c.skip_ws();
        assert_eq!(c.integer(), Some("0"));
        c.skip_ws();
        assert!(c.eat_word("null") && c.at_end());
        let text = r#"[["append",1,2],["r","k",[1,"a"]],["r",1,null],[]]"#;
        assert_eq!(Cursor::new(text).value(), Some(text));
        for text in ["[[[[[1]]]]]", "[1,]", "[true]", "{}", "[1.5]", "[\"a\\n\"]"] {
            assert_eq!(Cursor::new(text).value(), None, "{text}");
        }
        for text in [r#""a\"b""#, "\"a\tb\"", "\"ab"] {
            assert_eq!(Cursor::new(text).string(), None, "{text}");
        }
        for text in ["01", "-", "1.5", "2e3", "x"] {
            assert_eq!(Cursor::new(text).integer(), None, "{text}");
        }
    }
}
