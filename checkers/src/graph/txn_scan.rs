//! A byte scanner for the usual shape of a transaction's value text, `[[f, key, value], ...]`,
//! that finds each micro-op's parts without serde or allocation.
//!
//! It reads only a strict subset of JSON: strings without escapes or control characters,
//! integers without fraction or exponent, `null`, and flat lists of strings and integers
//! (`value` only). On anything else it gives up (`None`), and the caller reads the text with
//! serde_json instead; so whatever it does read, serde_json reads the same way.

use crate::history::Cursor;

/// A key or value: an integer that fits 64 bits, or the JSON text of any other scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Atom<'a> {
    Int(i64),
    Text(&'a str),
}

/// A micro-op's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MopValue<'a> {
    Atom(Atom<'a>),
    Null,
    /// A list: its JSON text.
    List(&'a str),
}

impl<'a> MopValue<'a> {
    /// The value of a micro-op from its JSON text.
    pub(super) fn from_text(text: &'a str) -> Self {
        match text {
            "null" => MopValue::Null,
            t if t.starts_with('[') => MopValue::List(t),
            t => MopValue::Atom(Atom::Text(t)),
        }
    }
}

/// One micro-op: its name (a string's content), key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MopText<'a> {
    pub name: &'a str,
    pub key: Atom<'a>,
    pub value: MopValue<'a>,
}

const NO_MOP: MopText = MopText {
    name: "",
    key: Atom::Int(0),
    value: MopValue::Null,
};

/// Transactions with more micro-ops than this are left to serde_json.
const MAX_MOPS: usize = 8;

/// The micro-ops of one transaction value.
pub(super) struct ScannedMops<'a> {
    mops: [MopText<'a>; MAX_MOPS],
    len: usize,
}

impl<'a> ScannedMops<'a> {
    pub(super) fn as_slice(&self) -> &[MopText<'a>] {
        &self.mops[..self.len]
    }
}

/// Reads `[[f, key, value], ...]`: `f` a string, `key` a string or integer, `value` one of
/// those, `null`, or a flat list of strings and integers. `None` for anything else.
pub(super) fn scan_micro_ops(text: &str) -> Option<ScannedMops<'_>> {
    let mut c = Cursor::new(text);
    let mut out = ScannedMops {
        mops: [NO_MOP; MAX_MOPS],
        len: 0,
    };
    c.skip_ws();
    c.expect(b'[')?;
    c.skip_ws();
    if !c.eat(b']') {
        loop {
            *out.mops.get_mut(out.len)? = c.micro_op()?;
            out.len += 1;
            c.skip_ws();
            if c.eat(b']') {
                break;
            }
            c.expect(b',')?;
            c.skip_ws();
        }
    }
    c.skip_ws();
    c.at_end().then_some(out)
}

/// The items of a flat list of strings and integers, one by one: `None` as soon as the text is
/// found to be anything else (the caller then reads it with serde_json).
pub(super) fn list_items(text: &str) -> impl Iterator<Item = Option<Atom<'_>>> {
    let mut c = Cursor::new(text);
    c.skip_ws();
    let mut state = if c.eat(b'[') {
        ListState::First
    } else {
        ListState::Bad
    };
    std::iter::from_fn(move || {
        c.skip_ws();
        let next = match state {
            ListState::Done => return None,
            ListState::Bad => None,
            ListState::First | ListState::Rest if c.eat(b']') => {
                c.skip_ws();
                state = ListState::Done;
                return (!c.at_end()).then_some(None);
            }
            ListState::First => c.atom(),
            ListState::Rest if c.eat(b',') => {
                c.skip_ws();
                c.atom()
            }
            ListState::Rest => None,
        };
        state = if next.is_some() {
            ListState::Rest
        } else {
            ListState::Done
        };
        Some(next)
    })
}

/// Where [`list_items`] is in a list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListState {
    First,
    Rest,
    Bad,
    Done,
}

/// The micro-op parts of the subset, on a [`Cursor`].
trait MicroOpScan<'a> {
    fn micro_op(&mut self) -> Option<MopText<'a>>;
    fn mop_value(&mut self) -> Option<MopValue<'a>>;
    fn list(&mut self) -> Option<&'a str>;
    fn atom(&mut self) -> Option<Atom<'a>>;
}

impl<'a> MicroOpScan<'a> for Cursor<'a> {
    /// `[f, key, value]`.
    fn micro_op(&mut self) -> Option<MopText<'a>> {
        self.expect(b'[')?;
        self.skip_ws();
        let name = self.string_content()?;
        self.skip_ws();
        self.expect(b',')?;
        self.skip_ws();
        let key = self.atom()?;
        self.skip_ws();
        self.expect(b',')?;
        self.skip_ws();
        let value = self.mop_value()?;
        self.skip_ws();
        self.expect(b']')?;
        Some(MopText { name, key, value })
    }

    /// An atom, `null`, or a flat list of atoms.
    fn mop_value(&mut self) -> Option<MopValue<'a>> {
        match self.peek()? {
            b'n' => self.eat_word("null").then_some(MopValue::Null),
            b'[' => self.list().map(MopValue::List),
            _ => self.atom().map(MopValue::Atom),
        }
    }

    /// `[atom, ...]`: its text.
    fn list(&mut self) -> Option<&'a str> {
        let start = self.position();
        self.expect(b'[')?;
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                self.atom()?;
                self.skip_ws();
                if self.eat(b']') {
                    break;
                }
                self.expect(b',')?;
                self.skip_ws();
            }
        }
        Some(self.since(start))
    }

    /// A string, or an integer (by value when it fits 64 bits).
    fn atom(&mut self) -> Option<Atom<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Atom::Text),
            _ => self
                .integer()
                .map(|text| text.parse().map_or(Atom::Text(text), Atom::Int)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mops(text: &str) -> Option<Vec<MopText<'_>>> {
        scan_micro_ops(text).map(|s| s.as_slice().to_vec())
    }

    fn items(text: &str) -> Vec<Option<Atom<'_>>> {
        list_items(text).collect()
    }

    #[test]
    fn the_usual_shapes_are_read() {
        let mop = |name, key, value| MopText { name, key, value };
        assert_eq!(
            mops(r#"[["append",7,1],["r", "k" ,null] , ["r",-3,[1, "x",-20]],["w",0,[]]]"#),
            Some(vec![
                mop("append", Atom::Int(7), MopValue::Atom(Atom::Int(1))),
                mop("r", Atom::Text("\"k\""), MopValue::Null),
                mop("r", Atom::Int(-3), MopValue::List("[1, \"x\",-20]")),
                mop("w", Atom::Int(0), MopValue::List("[]")),
            ])
        );
        assert_eq!(mops(" [ ] "), Some(vec![]));
        assert_eq!(
            items(r#"[ 1 ,"a b", -0,9223372036854775807, -9223372036854775808 ,9223372036854775808]"#),
            [
                Some(Atom::Int(1)),
                Some(Atom::Text("\"a b\"")),
                Some(Atom::Int(0)),
                Some(Atom::Int(i64::MAX)),
                Some(Atom::Int(i64::MIN)),
                Some(Atom::Text("9223372036854775808")),
            ]
        );
        assert_eq!(items("[]"), []);
        assert_eq!(items(" [ ] "), []);
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for text in [
            r#"[["app\u0065nd",1,1]]"#,
            r#"[["append","a\"b",1]]"#,
            r#"[["append",1.5,1]]"#,
            r#"[["append",1,2e3]]"#,
            r#"[["append",01,1]]"#,
            r#"[["append",-,1]]"#,
            r#"[["append",true,1]]"#,
            r#"[["append",null,1]]"#,
            r#"[["r",1,[[1]]]]"#,
            r#"[["r",1,[null]]]"#,
            r#"[["r",1,{"a":1}]]"#,
            r#"[["r",1,nul]]"#,
            r#"[["r",1]]"#,
            r#"[["r",1,2,3]]"#,
            r#"[["r",1,2],]"#,
            r#"[["r",1,2]] x"#,
            r#"[["r",1,2]"#,
            "[[\"r\",\"a\tb\",2]]",
            r#"[1]"#,
            r#"[[1,1,1]]"#,
            r#"[["r",1,2],["r",1,2],["r",1,2],["r",1,2],["r",1,2],["r",1,2],["r",1,2],["r",1,2],["r",1,2]]"#,
        ] {
            assert_eq!(mops(text), None, "{text}");
        }
        for text in [
            "[1,]", "[1", "[1.5]", "[[1]]", "[1] x", "[null]", "1", "[1 2]", "[,1]",
        ] {
            assert_eq!(items(text).last(), Some(&None), "{text}");
        }
    }
}
