//! Jepsen's `history.edn`: a single collection of op maps, or a bare stream of op maps.
//!
//! Each op map (`{:type :invoke, :f :read, :value nil, :process 0, :time 12, :index 0}`) becomes
//! an [`Event`]; keywords become strings, `:process :nemesis` becomes [`Process::Nemesis`], and
//! any other keys are kept in [`Event::extra`].

use super::edn::{Edn, EdnReader};
use super::error::HistoryError;
use super::event::{Event, EventKind, Process};
use serde_json::Value;

/// Parses EDN history text into events.
pub fn parse(source: &str, text: &str) -> Result<Vec<Event>, HistoryError> {
    let mut reader = EdnReader::new(text);
    let mut events = Vec::new();
    let err = |(line, message): (usize, String)| HistoryError::at(source, line, message);
    match reader.peek_significant().map_err(err)? {
        None => return Ok(events),
        Some(b'[') | Some(b'(') => {
            // One collection holding every op. Read its elements one by one so each op keeps
            // the line it starts on.
            let close = if reader.peek_significant().map_err(err)? == Some(b'[') {
                b']'
            } else {
                b')'
            };
            let open_line = reader.line;
            reader.bump();
            loop {
                match reader.peek_significant().map_err(err)? {
                    None => {
                        return Err(HistoryError::at(
                            source,
                            reader.line,
                            format!(
                                "unexpected end of input: the history collection opened on line {open_line} is missing its '{}'",
                                close as char
                            ),
                        ));
                    }
                    Some(c) if c == close => {
                        reader.bump();
                        break;
                    }
                    Some(_) => {
                        let (value, line) = reader.next_value().map_err(err)?.expect("peeked a value");
                        let event = op_from_edn(value, events.len() as u64)
                            .map_err(|m| HistoryError::at(source, line, m))?;
                        events.push(Event {
                            line: line as u32,
                            ..event
                        });
                    }
                }
            }
            if let Some((extra, line)) = reader.next_value().map_err(err)? {
                return Err(HistoryError::at(
                    source,
                    line,
                    format!(
                        "unexpected {} after the history collection closed",
                        extra.kind_name()
                    ),
                ));
            }
        }
        Some(_) => {
            while let Some((value, line)) = reader.next_value().map_err(err)? {
                let event =
                    op_from_edn(value, events.len() as u64).map_err(|m| HistoryError::at(source, line, m))?;
                events.push(Event {
                    line: line as u32,
                    ..event
                });
            }
        }
    }
    Ok(events)
}

fn op_from_edn(value: Edn, position: u64) -> Result<Event, String> {
    let entries = match value {
        Edn::Map(entries) => entries,
        Edn::Tagged(_, inner) => match *inner {
            Edn::Map(entries) => entries,
            other => return Err(format!("expected an op map, found {}", other.kind_name())),
        },
        other => {
            return Err(format!(
                "expected an op map such as {{:type :invoke, :f :read, :process 0}}, found {}",
                other.kind_name()
            ));
        }
    };
    let mut index = None;
    let mut time = None;
    let mut process = None;
    let mut kind = None;
    let mut f = None;
    let mut value = Value::Null;
    let mut key = None;
    let mut error = None;
    let mut extra = Vec::new();
    for (k, v) in entries {
        let name = match &k {
            Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s) => s.clone(),
            other => {
                return Err(format!(
                    "op map keys must be keywords, found {}",
                    other.kind_name()
                ));
            }
        };
        match name.as_str() {
            "index" => index = Some(non_negative(&v, "index")?),
            "time" => {
                time = match v {
                    Edn::Nil => None,
                    ref v => Some(non_negative(v, "time")?),
                }
            }
            "process" => {
                process = Some(match v {
                    Edn::Int(p) if p >= 0 => Process::Client(p as u64),
                    Edn::Keyword(ref s) | Edn::Str(ref s) if s == "nemesis" => Process::Nemesis,
                    other => {
                        return Err(format!(
                            ":process must be a non-negative integer or :nemesis, found {}",
                            describe(&other)
                        ));
                    }
                })
            }
            "type" => {
                kind = Some(match &v {
                    Edn::Keyword(s) | Edn::Str(s) => EventKind::from_name(s).ok_or_else(|| {
                        format!(
                            ":type must be :invoke, :ok, :fail or :info, found {}",
                            describe(&v)
                        )
                    })?,
                    other => {
                        return Err(format!(
                            ":type must be :invoke, :ok, :fail or :info, found {}",
                            describe(other)
                        ));
                    }
                })
            }
            "f" => {
                f = Some(match v {
                    Edn::Keyword(s) | Edn::Str(s) | Edn::Symbol(s) => s,
                    other => return Err(format!(":f must be a keyword, found {}", describe(&other))),
                })
            }
            "value" => value = v.to_json(),
            "key" => key = Some(v.to_json()),
            "error" => error = Some(v.to_json()),
            _ => {
                extra.push((name, v.to_json()));
            }
        }
    }
    Ok(Event {
        index: index.unwrap_or(position),
        time,
        process: process.unwrap_or(super::event::NO_PROCESS),
        kind: kind.ok_or("the op map has no :type")?,
        f: match f {
            Some(f) => f,
            None => super::event::infer_function(&value)
                .ok_or("the op map has no :f (it may be left out only for a transaction, a vector of [f key value] micro-ops)")?
                .to_string(),
        },
        value,
        key,
        error,
        extra,
        line: 0,
    })
}

fn non_negative(v: &Edn, field: &str) -> Result<u64, String> {
    match v {
        Edn::Int(i) if *i >= 0 => Ok(*i as u64),
        other => Err(format!(
            ":{field} must be a non-negative integer, found {}",
            describe(other)
        )),
    }
}

fn describe(v: &Edn) -> String {
    match v {
        Edn::Keyword(k) => format!(":{k}"),
        other => super::quote::quote(&other.to_json()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vector_over_several_lines_with_comments() {
        let text = r#"; a Jepsen history
[{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}
 {:type :ok,
  :f :write,
  :value 3,
  :process 0, :time 20, :index 1}
 ; the nemesis
 {:type :info, :f :start, :value "cut {n1} off", :process :nemesis, :index 2}]
"#;
        let events = parse("h.edn", text).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].line, 2);
        assert_eq!(events[1].line, 3);
        assert_eq!(events[1].kind, EventKind::Ok);
        assert_eq!(events[2].process, Process::Nemesis);
        assert_eq!(events[2].value, Value::from("cut {n1} off"));
        assert_eq!(events[2].line, 8);
    }

    #[test]
    fn bare_stream_of_maps_and_extra_fields() {
        let text = "{:type :invoke :f :txn :value [[:append 1 2] [:r 1 nil]] :process 3}\n\
                    {:type :ok :f :txn :value [[:append 1 2] [:r 1 [2]]] :process 3 :node \"n1\" :error [:x #{1}]}\n";
        let events = parse("h.edn", text).unwrap();
        assert_eq!(
            events[1].value,
            serde_json::json!([["append", 1, 2], ["r", 1, [2]]])
        );
        assert_eq!(events[1].extra_field("node"), Some(&Value::from("n1")));
        assert_eq!(events[1].error, Some(serde_json::json!(["x", [1]])));
        assert_eq!(events[1].index, 1);
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "[{:type :invoke :f :read :process 0}\n {:type :oops :f :read :process 0}]",
                2,
                ":type must be",
            ),
            ("{:type :invoke :f :read :process -1}", 1, ":process must be"),
            ("[{:type :invoke :f :read :process 0}\n", 2, "missing its ']'"),
            (
                "[{:type :invoke :f :read :process 0}] {:a 1}",
                1,
                "after the history",
            ),
            ("[1]", 1, "expected an op map"),
            ("{:type :invoke :f 3 :process 0}", 1, ":f must be"),
        ];
        for (text, line, needle) in cases {
            let e = parse("h.edn", text).unwrap_err();
            assert_eq!(e.line(), Some(line), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
