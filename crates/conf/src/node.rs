//! An ordered value tree with line numbers: what a YAML file, a JSON patch or
//! the environment says, before it is applied onto the typed configuration.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One value with the line it starts on (0 when it does not come from a file).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub line: u64,
    pub value: Value,
    /// Byte offset in the YAML text, to tell plain scalars from quoted ones.
    pub offset: Option<u64>,
}

/// Node equality ignores line numbers.
impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// Environment-only: items of a list of objects patched by index.
    IndexPatch(Vec<(usize, Node)>),
}

/// A mapping entry; keys keep their order and their line.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub line: u64,
    pub node: Node,
    pub key_offset: Option<u64>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.node == other.node
    }
}

impl Node {
    pub fn new(value: Value) -> Self {
        Node {
            line: 0,
            value,
            offset: None,
        }
    }

    /// Short name of the kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) | Value::IndexPatch(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// Build a tree from JSON (API bodies); lines are 0.
    pub fn from_json(v: &serde_json::Value) -> Node {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        line: 0,
                        node: Node::from_json(v),
                        key_offset: None,
                    })
                    .collect(),
            ),
        };
        Node::new(value)
    }
}

/// Parse a YAML document. Duplicate keys are errors; YAML 1.1 booleans
/// (`yes`/`no`/`on`/`off`) are booleans, as MediaMTX reads them.
pub(crate) fn parse_yaml(text: &str) -> Result<Node, YamlError> {
    if text.trim().is_empty() {
        return Ok(Node::new(Value::Null));
    }
    let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
    let parsed: Result<Option<Node>, _> = serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(node) => {
            let mut node = node.unwrap_or_else(|| Node::new(Value::Null));
            convert_legacy_bools(&mut node, text.as_bytes());
            Ok(node)
        }
        Err(e) => {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            if let serde_saphyr::Error::DuplicateMappingKey { key, .. } = &e {
                return Err(YamlError {
                    message: String::new(),
                    duplicate: Some(key.clone().unwrap_or_default()),
                    line,
                });
            }
            let rendered = e.to_string();
            let message = rendered
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("invalid YAML");
            if message.starts_with("multiple YAML documents") {
                return Err(YamlError {
                    message: "invalid YAML: more than one document".into(),
                    duplicate: None,
                    line,
                });
            }
            // The line is reported separately.
            let message = match message.rfind(" at line ") {
                Some(i) => &message[..i],
                None => message,
            }
            .to_string();
            Err(YamlError {
                message,
                duplicate: None,
                line,
            })
        }
    }
}

/// MediaMTX turns these plain (unquoted) scalars into booleans, values and
/// keys alike; everything else YAML 1.2 reads as a string stays a string.
fn legacy_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Whether the scalar at `offset` is written without quotes or tag.
fn is_plain(text: &[u8], offset: Option<u64>) -> bool {
    let Some(b) = offset
        .and_then(|o| usize::try_from(o).ok())
        .and_then(|o| text.get(o))
    else {
        return false;
    };
    !matches!(b, b'"' | b'\'' | b'!' | b'|' | b'>')
}

fn convert_legacy_bools(node: &mut Node, text: &[u8]) {
    match &mut node.value {
        Value::Str(s) => {
            if let Some(b) = legacy_bool(s)
                && is_plain(text, node.offset)
            {
                node.value = Value::Bool(b);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| convert_legacy_bools(n, text)),
        Value::Map(entries) => {
            for e in entries {
                if let Some(b) = legacy_bool(&e.key)
                    && is_plain(text, e.key_offset)
                {
                    e.key = b.to_string();
                }
                convert_legacy_bools(&mut e.node, text);
            }
        }
        _ => {}
    }
}

#[derive(Debug)]
pub(crate) struct YamlError {
    pub message: String,
    /// The key, when the error is a duplicate key.
    pub duplicate: Option<String>,
    pub line: u64,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            line: spanned.referenced.line(),
            value: spanned.value,
            offset: spanned.referenced.span().byte_offset(),
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            out.push(n);
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let node = map.next_value::<Node>()?;
            out.push(Entry {
                key: key.value.0,
                line: key.referenced.line(),
                node,
                key_offset: key.referenced.span().byte_offset(),
            });
        }
        Ok(Value::Map(out))
    }
}

/// A mapping key written as any scalar (`1234:` is the path "1234").
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key(String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_tree_keeps_order_lines_and_legacy_bools() {
        let n = parse_yaml(
            "b: yes\na: [1, x]\nc:\nd: off\ne: \"yes\"\nf: y\ng: 'no'\nh: [ON, True, yEs]\n",
        )
        .unwrap();
        let Value::Map(entries) = n.value else {
            panic!("not a map")
        };
        let keys: Vec<_> = entries.iter().map(|e| (e.key.as_str(), e.line)).collect();
        assert_eq!(
            keys[..5],
            [("b", 1), ("a", 2), ("c", 3), ("d", 4), ("e", 5)]
        );
        assert_eq!(entries[5].node.value, Value::Str("y".into()));
        assert_eq!(entries[6].node.value, Value::Str("no".into()));
        let Value::Seq(h) = &entries[7].node.value else {
            panic!("not a list")
        };
        let h: Vec<_> = h.iter().map(|n| n.value.clone()).collect();
        assert_eq!(
            h,
            [
                Value::Bool(true),
                Value::Bool(true),
                Value::Str("yEs".into())
            ]
        );
        assert_eq!(entries[0].node.value, Value::Bool(true));
        assert_eq!(entries[2].node.value, Value::Null);
        assert_eq!(entries[3].node.value, Value::Bool(false));
        assert_eq!(entries[4].node.value, Value::Str("yes".into()));
        assert_eq!(entries[1].node.line, 2);
    }

    #[test]
    fn duplicate_key_is_an_error_with_line() {
        let e = parse_yaml("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.line, 3, "{}", e.message);
        assert_eq!(e.duplicate.as_deref(), Some("a"));
    }
}
