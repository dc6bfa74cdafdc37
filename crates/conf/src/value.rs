//! How one configuration value is read from a tree node, written as JSON and
//! read from an environment variable.

use crate::env::Env;
use crate::node::{Node, Value};
use serde_json::Value as Json;

/// Why a value could not be applied; `path` is the part below the key
/// (`[0].user`) so the caller can name the full key.
#[derive(Debug)]
pub(crate) struct FieldError {
    pub path: String,
    pub line: u64,
    pub kind: FieldErrorKind,
}

#[derive(Debug)]
pub(crate) enum FieldErrorKind {
    Unknown,
    Invalid(String),
    Duration(String),
}

impl FieldError {
    pub fn invalid(node: &Node, message: impl Into<String>) -> Self {
        FieldError {
            path: String::new(),
            line: node.line,
            kind: FieldErrorKind::Invalid(message.into()),
        }
    }

    pub fn wrong_type(node: &Node, expected: &str) -> Self {
        Self::invalid(node, format!("expected {expected}, got {}", node.kind()))
    }

    /// Prefix the path with a key or index of the enclosing value.
    pub fn within(mut self, segment: &str, line: u64) -> Self {
        self.path = format!("{segment}{}", self.path);
        if self.line == 0 {
            self.line = line;
        }
        self
    }
}

/// A configuration value type.
pub(crate) trait ConfValue: Sized {
    /// Objects in lists are patched by index from the environment.
    const IS_OBJECT: bool = false;

    /// Apply `node` on top of the current value (YAML/JSON null keeps most
    /// values unchanged, as MediaMTX does).
    fn apply(&mut self, node: &Node) -> Result<(), FieldError>;

    /// JSON as MediaMTX writes it; `None` leaves the key out.
    fn to_json(&self) -> Option<Json>;

    /// Convert one environment string into a node of the right kind.
    fn env_scalar(s: &str) -> Result<Value, String> {
        Ok(Value::Str(s.to_string()))
    }

    /// The node the environment gives for `prefix`, if any.
    fn env_node(prefix: &str, env: &Env<'_>) -> Result<Option<Node>, (String, String)> {
        match env.get(prefix) {
            Some(s) => Self::env_scalar(&s)
                .map(|v| Some(Node::new(v)))
                .map_err(|m| (prefix.to_string(), m)),
            None => Ok(None),
        }
    }
}

impl ConfValue for String {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        match &node.value {
            Value::Null => Ok(()),
            Value::Str(s) => {
                self.clone_from(s);
                Ok(())
            }
            _ => Err(FieldError::wrong_type(node, "a string")),
        }
    }
    fn to_json(&self) -> Option<Json> {
        Some(Json::String(self.clone()))
    }
}

impl ConfValue for bool {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        match &node.value {
            Value::Null => Ok(()),
            Value::Bool(b) => {
                *self = *b;
                Ok(())
            }
            _ => Err(FieldError::wrong_type(node, "a boolean")),
        }
    }
    fn to_json(&self) -> Option<Json> {
        Some(Json::Bool(*self))
    }
    fn env_scalar(s: &str) -> Result<Value, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" => Ok(Value::Bool(true)),
            "no" | "false" => Ok(Value::Bool(false)),
            _ => Err(format!("invalid value '{s}'")),
        }
    }
}

macro_rules! integer_value {
    ($($t:ty),*) => {$(
        impl ConfValue for $t {
            fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
                match &node.value {
                    Value::Null => Ok(()),
                    Value::Int(i) => {
                        *self = <$t>::try_from(*i).map_err(|_| {
                            FieldError::invalid(node, format!("{i} is out of range"))
                        })?;
                        Ok(())
                    }
                    _ => Err(FieldError::wrong_type(node, "an integer")),
                }
            }
            fn to_json(&self) -> Option<Json> {
                Some(Json::from(*self))
            }
            fn env_scalar(s: &str) -> Result<Value, String> {
                s.parse::<$t>()
                    .ok()
                    .and_then(|v| i64::try_from(v).ok())
                    .map(Value::Int)
                    .ok_or_else(|| format!("invalid integer '{s}'"))
            }
        }
    )*};
}
integer_value!(i64, u64, u32);

impl ConfValue for f64 {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        match &node.value {
            Value::Null => Ok(()),
            Value::Int(i) => {
                *self = *i as f64;
                Ok(())
            }
            Value::Float(f) => {
                *self = *f;
                Ok(())
            }
            _ => Err(FieldError::wrong_type(node, "a number")),
        }
    }
    fn to_json(&self) -> Option<Json> {
        // Go writes integral floats without a fraction.
        if self.fract() == 0.0 && self.abs() < 9.0e15 {
            Some(Json::from(*self as i64))
        } else {
            Some(serde_json::Number::from_f64(*self).map_or(Json::Null, Json::Number))
        }
    }
    fn env_scalar(s: &str) -> Result<Value, String> {
        s.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("invalid number '{s}'"))
    }
}

/// Lists: null is an error (MediaMTX refuses nil slices), scalar lists come
/// from comma-separated environment values, object lists by index.
impl<T: ConfValue + Default + Clone> ConfValue for Vec<T> {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        match &node.value {
            Value::Null => Err(FieldError::invalid(node, "cannot set a list to null")),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut v = T::default();
                    v.apply(item)
                        .map_err(|e| e.within(&format!("[{i}]"), item.line))?;
                    out.push(v);
                }
                *self = out;
                Ok(())
            }
            Value::IndexPatch(patches) => {
                // As MediaMTX: walk the items while an item exists or a
                // variable names it; stop at the first index with neither.
                for i in 0..MAX_ENV_LIST_ITEMS {
                    let patch = patches.iter().find(|(j, _)| *j == i).map(|(_, n)| n);
                    let Some(item) = patch else {
                        if i >= self.len() {
                            break;
                        }
                        continue;
                    };
                    if i == self.len() {
                        self.push(T::default());
                    }
                    if let Some(slot) = self.get_mut(i) {
                        slot.apply(item)
                            .map_err(|e| e.within(&format!("[{i}]"), item.line))?;
                    }
                }
                Ok(())
            }
            _ => Err(FieldError::wrong_type(node, "a list")),
        }
    }
    fn to_json(&self) -> Option<Json> {
        Some(Json::Array(
            self.iter()
                .map(|v| v.to_json().unwrap_or(Json::Null))
                .collect(),
        ))
    }
    fn env_node(prefix: &str, env: &Env<'_>) -> Result<Option<Node>, (String, String)> {
        if let Some(s) = env.get(prefix) {
            if s.is_empty() {
                return Ok(Some(Node::new(Value::Seq(Vec::new()))));
            }
            if !T::IS_OBJECT {
                let mut items = Vec::new();
                for part in s.split(',') {
                    let v = T::env_scalar(part).map_err(|m| (prefix.to_string(), m))?;
                    items.push(Node::new(v));
                }
                return Ok(Some(Node::new(Value::Seq(items))));
            }
        }
        if !T::IS_OBJECT {
            return Ok(None);
        }
        let mut patches = Vec::new();
        if env.has_prefix(&format!("{prefix}_")) == Some(false) {
            return Ok(None);
        }
        for i in 0..MAX_ENV_LIST_ITEMS {
            let item = format!("{prefix}_{i}");
            match env.has_prefix(&format!("{item}_")) {
                Some(false) => continue,
                Some(true) => {}
                // Lookups only: items must be contiguous.
                None if patches.len() < i => break,
                None => {}
            }
            if let Some(n) = T::env_node(&item, env)? {
                patches.push((i, n));
            }
        }
        if patches.is_empty() {
            Ok(None)
        } else {
            Ok(Some(Node::new(Value::IndexPatch(patches))))
        }
    }
}

/// Upper bound of list items read from the environment.
const MAX_ENV_LIST_ITEMS: usize = 256;

/// Deprecated keys: present only when set; null unsets them.
impl<T: ConfValue + Default + Clone> ConfValue for Option<T> {
    fn apply(&mut self, node: &Node) -> Result<(), FieldError> {
        if node.value == Value::Null {
            *self = None;
            return Ok(());
        }
        let mut v = self.clone().unwrap_or_default();
        v.apply(node)?;
        *self = Some(v);
        Ok(())
    }
    fn to_json(&self) -> Option<Json> {
        self.as_ref().and_then(ConfValue::to_json)
    }
    fn env_scalar(s: &str) -> Result<Value, String> {
        T::env_scalar(s)
    }
    fn env_node(prefix: &str, env: &Env<'_>) -> Result<Option<Node>, (String, String)> {
        T::env_node(prefix, env)
    }
}

/// Read a string node for a type with its own text syntax.
pub(crate) fn text_of(node: &Node) -> Result<Option<&str>, FieldError> {
    match &node.value {
        Value::Null => Ok(None),
        Value::Str(s) => Ok(Some(s)),
        _ => Err(FieldError::wrong_type(node, "a string")),
    }
}

/// Define a string enum with MediaMTX's spellings.
macro_rules! string_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident ($what:literal, null = $null:ident, default = $default:ident) {
            $( $(#[$vm:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[$vm])* $variant ),* }

        impl $name {
            /// The spelling MediaMTX uses.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),* }
            }

            /// Parse MediaMTX's spelling.
            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $( $text $(| $alias)* => Ok($name::$variant), )*
                    _ => Err(format!($what, s)),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::value::ConfValue for $name {
            fn apply(&mut self, node: &$crate::node::Node) -> Result<(), $crate::value::FieldError> {
                // `rtspEncryption: no` unquoted is a YAML boolean.
                if let $crate::node::Value::Bool(b) = node.value {
                    *self = Self::parse(if b { "true" } else { "false" })
                        .map_err(|m| $crate::value::FieldError::invalid(node, m))?;
                    return Ok(());
                }
                match $crate::value::text_of(node)? {
                    Some(s) => {
                        *self = Self::parse(s)
                            .map_err(|m| $crate::value::FieldError::invalid(node, m))?;
                        Ok(())
                    }
                    None => string_enum!(@null $null, self, node, $what),
                }
            }
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.as_str().to_string()))
            }
        }
    };
    (@null keep, $self:ident, $node:ident, $what:literal) => { Ok(()) };
    (@null reject, $self:ident, $node:ident, $what:literal) => {
        Err($crate::value::FieldError::invalid($node, format!($what, "")))
    };
}
pub(crate) use string_enum;
