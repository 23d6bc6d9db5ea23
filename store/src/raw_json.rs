//! Client values inside the node's own documents (WAL records, node-to-node messages, snapshots)
//! without adding to their nesting depth.
//!
//! A value is written inline, as it is. Reading it back, the enclosing document's parser only
//! captures the value's text (a `RawValue`: skipped without recursion, so its depth does not
//! count), and the value is then parsed on its own, with the whole depth budget. So a record that
//! wraps a value in any number of levels reads back every value the client door accepted (at
//! most [`crate::limits::MAX_VALUE_DEPTH`] deep). Use with `#[serde(with = ...)]` or
//! `#[serde(deserialize_with = ...)]` on the fields that hold client values.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// One value, parsed on its own.
struct Own(Value);

impl<'de> Deserialize<'de> for Own {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Own, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        serde_json::from_str(raw.get()).map(Own).map_err(D::Error::custom)
    }
}

/// A single value field: `#[serde(with = "crate::raw_json")]`.
pub fn serialize<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
    value.serialize(s)
}

/// A single value field: `#[serde(with = "crate::raw_json")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Own::deserialize(d).map(|v| v.0)
}

/// A list of values: `#[serde(deserialize_with = "crate::raw_json::list")]`.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    let items = Vec::<Own>::deserialize(d)?;
    Ok(items.into_iter().map(|v| v.0).collect())
}

/// Values tagged with something (a stamp): `#[serde(deserialize_with =
/// "crate::raw_json::tagged")]` on a `Vec<(T, Value)>`.
pub fn tagged<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<(T, Value)>, D::Error> {
    let items = Vec::<(T, Own)>::deserialize(d)?;
    Ok(items.into_iter().map(|(t, v)| (t, v.0)).collect())
}

/// An optional tagged value: `#[serde(deserialize_with = "crate::raw_json::tagged_option")]` on
/// an `Option<(T, Value)>`.
pub fn tagged_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<(T, Value)>, D::Error> {
    let item = Option::<(T, Own)>::deserialize(d)?;
    Ok(item.map(|(t, v)| (t, v.0)))
}

/// Serialises items one after the other into a batch for one node-to-node request, until it
/// holds `max_items` items or [`crate::limits::BATCH_BYTES`] bytes (at least one item, whatever
/// its size). Items the batch does not take are left in `items`.
pub fn batch<T: Serialize>(items: &mut impl Iterator<Item = T>, max_items: usize) -> Vec<Box<RawValue>> {
    let mut out = Vec::new();
    let mut bytes = 0;
    while out.len() < max_items && bytes < crate::limits::BATCH_BYTES {
        let Some(item) = items.next() else { break };
        let raw = serde_json::value::to_raw_value(&item)
            .expect("serialising the store's own types (string keys, JSON values) cannot fail");
        bytes += raw.get().len();
        out.push(raw);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Effect {
        #[serde(rename = "w")]
        Write(String, #[serde(with = "super")] Value),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wrapper {
        outer: Vec<Vec<Vec<Effect>>>,
        #[serde(deserialize_with = "super::list")]
        items: Vec<Value>,
        #[serde(deserialize_with = "super::tagged")]
        tagged: Vec<(u64, Value)>,
        #[serde(deserialize_with = "super::tagged_option")]
        reg: Option<(u64, Value)>,
    }

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!("leaf"), |v, _| json!([v]))
    }

    #[test]
    fn a_wrapped_value_keeps_its_whole_depth_budget() {
        // 124 levels of value (the parser's limit is 127) under 6 levels of record: 130 in all.
        let deep = nested(124);
        let record = Wrapper {
            outer: vec![vec![vec![Effect::Write("k".into(), deep.clone())]]],
            items: vec![deep.clone(), json!(1)],
            tagged: vec![(7, deep.clone())],
            reg: Some((8, deep.clone())),
        };
        let text = serde_json::to_vec(&record).unwrap();
        let back: Wrapper = serde_json::from_slice(&text).unwrap();
        assert_eq!(back, record);
        // The same document read as plain JSON goes past the limit.
        let plain = serde_json::from_slice::<Value>(&serde_json::to_vec(&json!([[[[[[deep]]]]]])).unwrap());
        assert!(plain.unwrap_err().to_string().contains("recursion limit"));
    }

    #[test]
    fn batches_stop_at_the_byte_budget_but_take_at_least_one_item() {
        let big = "x".repeat(crate::limits::BATCH_BYTES / 3);
        let mut items = vec![big.clone(), big.clone(), big.clone(), big.clone(), big.clone()].into_iter();
        let first = super::batch(&mut items, 100);
        assert_eq!(
            first.len(),
            3,
            "the third item crosses the budget and is the last one taken"
        );
        assert_eq!(items.len(), 2, "the rest stay for the next batch");
        let huge = "y".repeat(crate::limits::BATCH_BYTES * 2);
        let mut one = vec![huge.clone(), huge].into_iter();
        assert_eq!(super::batch(&mut one, 100).len(), 1);
        let mut small = (0..10).map(|i| json!(i));
        assert_eq!(super::batch(&mut small, 4).len(), 4);
        let rest: Vec<Value> = small.collect();
        assert_eq!(rest.len(), 6);
    }
}
