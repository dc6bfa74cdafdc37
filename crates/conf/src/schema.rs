//! The macro that declares a configuration object: its fields, their YAML/JSON
//! keys, defaults, and how the object is applied, written and read from env.

/// Declares a struct whose fields map to camelCase keys.
///
/// Each field: `name: Type = "key" => default` or with `via Codec` to read and
/// write the value through another representation (e.g. byte sizes).
macro_rules! conf_object {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( @extra $(#[$xm:meta])* $xvis:vis $xfield:ident : $xty:ty = $xdefault:expr; )*
            $(
                $(#[$fm:meta])*
                $field:ident : $ty:ty = $key:literal $(via $codec:ty)? => $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$m])*
        pub struct $name {
            $( $(#[$xm])* $xvis $xfield: $xty, )*
            $( $(#[$fm])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $xfield: $xdefault, )*
                    $( $field: $default, )*
                }
            }
        }

        impl $name {
            /// The keys of this object, as written in mediamtx.yml.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Apply one key; `None` when the key is unknown.
            #[allow(unused_mut)]
            pub(crate) fn apply_key(
                &mut self,
                key: &str,
                node: &$crate::node::Node,
            ) -> Option<Result<(), $crate::value::FieldError>> {
                match key {
                    $( $key => Some(conf_object!(@apply self.$field, node $(, $codec)?)), )*
                    _ => None,
                }
            }

            /// Write every key into `map`.
            pub(crate) fn write_json(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
                $(
                    if let Some(v) = conf_object!(@json self.$field $(, $codec)?) {
                        map.insert($key.to_string(), v);
                    }
                )*
            }

            /// Environment variables below `prefix`, as a map node.
            pub(crate) fn env_entries(
                prefix: &str,
                env: &$crate::env::Env<'_>,
            ) -> Result<Vec<$crate::node::Entry>, (String, String)> {
                let mut out = Vec::new();
                $(
                    let var = format!("{prefix}_{}", $key.to_uppercase());
                    if let Some(node) = conf_object!(@env var, env, $ty $(, $codec)?)? {
                        out.push($crate::node::Entry {
                            key: $key.to_string(),
                            line: 0,
                            node,
                            key_offset: None,
                        });
                    }
                )*
                Ok(out)
            }
        }
    };
    (@apply $place:expr, $node:expr) => {
        $crate::value::ConfValue::apply(&mut $place, $node)
    };
    (@apply $place:expr, $node:expr, $codec:ty) => {{
        let mut wrapped = <$codec>::from($place.clone());
        let r = $crate::value::ConfValue::apply(&mut wrapped, $node);
        $place = wrapped.into();
        r
    }};
    (@json $place:expr) => {
        $crate::value::ConfValue::to_json(&$place)
    };
    (@json $place:expr, $codec:ty) => {
        $crate::value::ConfValue::to_json(&<$codec>::from($place.clone()))
    };
    (@env $var:expr, $env:expr, $ty:ty) => {
        <$ty as $crate::value::ConfValue>::env_node(&$var, $env)
    };
    (@env $var:expr, $env:expr, $ty:ty, $codec:ty) => {
        <$codec as $crate::value::ConfValue>::env_node(&$var, $env)
    };
}
pub(crate) use conf_object;

/// Implements `ConfValue` for an object declared with `conf_object!` so it
/// can be a list item or nested value.
macro_rules! object_value {
    ($name:ident) => {
        impl $crate::value::ConfValue for $name {
            const IS_OBJECT: bool = true;

            fn apply(
                &mut self,
                node: &$crate::node::Node,
            ) -> Result<(), $crate::value::FieldError> {
                $crate::schema::apply_entries(node, |key, n| self.apply_key(key, n))
            }
            fn to_json(&self) -> Option<serde_json::Value> {
                let mut map = serde_json::Map::new();
                self.write_json(&mut map);
                Some(serde_json::Value::Object(map))
            }
            fn env_node(
                prefix: &str,
                env: &$crate::env::Env<'_>,
            ) -> Result<Option<$crate::node::Node>, (String, String)> {
                if env.has_prefix(&format!("{prefix}_")) == Some(false) {
                    return Ok(None);
                }
                let entries = Self::env_entries(prefix, env)?;
                Ok((!entries.is_empty())
                    .then(|| $crate::node::Node::new($crate::node::Value::Map(entries))))
            }
        }
    };
}
pub(crate) use object_value;

use crate::node::{Node, Value};
use crate::value::{FieldError, FieldErrorKind};

/// Apply the entries of a map node one by one; unknown keys are errors.
pub(crate) fn apply_entries(
    node: &Node,
    mut apply_key: impl FnMut(&str, &Node) -> Option<Result<(), FieldError>>,
) -> Result<(), FieldError> {
    match &node.value {
        Value::Null => Ok(()),
        Value::Map(entries) => {
            for e in entries {
                match apply_key(&e.key, &e.node) {
                    None => {
                        return Err(FieldError {
                            path: format!(".{}", e.key),
                            line: e.line,
                            kind: FieldErrorKind::Unknown,
                        });
                    }
                    Some(Err(err)) => return Err(err.within(&format!(".{}", e.key), e.line)),
                    Some(Ok(())) => {}
                }
            }
            Ok(())
        }
        _ => Err(FieldError::wrong_type(node, "a map")),
    }
}
