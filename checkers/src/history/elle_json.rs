//! elle-cli's JSON: the whole history is one JSON array of op objects with string values
//! (`[{"type":"ok","f":"txn","value":[["append",1,2],["r",1,[2]]]}, ...]`). Each object is
//! read by the same rules as a line of the native JSON Lines format; errors name the line
//! where the object starts.

use super::error::HistoryError;
use super::event::Event;
use super::jsonl;
use serde_json::value::RawValue;

/// Parses an elle-cli JSON array into events.
pub(crate) fn parse(source: &str, text: &str) -> Result<Vec<Event>, HistoryError> {
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
        HistoryError::at(
            source,
            e.line(),
            format!(
                "not an elle-cli JSON history (one array of op objects): {}",
                jsonl::describe_json_error(&e)
            ),
        )
    })?;
    let mut events = Vec::with_capacity(items.len());
    let (mut line, mut scanned) = (1usize, 0usize);
    for (i, raw) in items.iter().enumerate() {
        // Each item borrows from `text`: its offset there gives its line.
        let at = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        line += text.as_bytes()[scanned..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        scanned = at;
        events.push(jsonl::parse_object(source, raw.get(), i as u64, line)?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use crate::history::{Format, History};

    #[test]
    fn reads_an_array_of_ops_and_names_lines_in_errors() {
        let text = "[\n{\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",1,2]],\"process\":0},\n \
                    {\"type\":\"ok\",\"value\":[[\"append\",1,2]],\"process\":0}\n]\n";
        let h = History::parse("h.json", text, Format::ElleJson).unwrap();
        assert_eq!(h.events.len(), 2);
        assert_eq!(h.events[1].f, "txn");
        assert_eq!(h.events[1].line, 3);
        assert_eq!(h.events[1].index, 1);
        let bad = "[{\"type\":\"invoke\",\"f\":\"read\",\"process\":0},\n\n{\"type\":\"okay\",\"f\":\"read\",\"process\":0}]";
        let e = History::parse("h.json", bad, Format::ElleJson).unwrap_err();
        assert_eq!(e.line(), Some(3), "{e}");
        assert!(e.to_string().contains("\"okay\""), "{e}");
        let e = History::parse("h.json", "[{\"type\":\"ok\"},\n{", Format::ElleJson).unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
        assert!(e.to_string().contains("not an elle-cli JSON history"), "{e}");
        let e = History::parse("h.json", "[1]", Format::ElleJson).unwrap_err();
        assert!(e.to_string().contains("not a valid history event"), "{e}");
    }
}
