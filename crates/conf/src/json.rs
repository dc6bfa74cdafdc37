//! The JSON shapes of the `/v3/config` API: `GlobalConf` and path changes.

use crate::global::Conf;
use crate::node::{Node, Value};
use crate::path::PathConf;
use crate::{ConfError, field_error};
use serde_json::Value as Json;

impl Conf {
    /// The global part as `/v3/config/global/get` returns it (openapi
    /// `GlobalConf`); deprecated keys appear only when set, as in MediaMTX.
    pub fn global_to_json(&self) -> Json {
        let mut map = serde_json::Map::new();
        self.write_json(&mut map);
        Json::Object(map)
    }

    /// Change only the global keys given; unknown keys or wrong types are
    /// errors and leave the configuration unchanged. Null values are ignored.
    /// Call `validate` afterwards.
    pub fn patch_global(&mut self, patch: &Json) -> Result<(), ConfError> {
        let node = Node::from_json(patch);
        let Value::Map(entries) = &node.value else {
            return Err(ConfError::Invalid(format!(
                "invalid global configuration: expected an object, got {}",
                node.kind()
            )));
        };
        let mut next = self.clone();
        for e in entries {
            if e.node.value == Value::Null {
                continue;
            }
            match next.apply_key(&e.key, &e.node) {
                None => {
                    return Err(ConfError::UnknownKey {
                        key: e.key.clone(),
                        line: 0,
                    });
                }
                Some(Err(err)) => return Err(field_error(&e.key, 0, err)),
                Some(Ok(())) => {}
            }
        }
        *self = next;
        Ok(())
    }

    /// `pathDefaults` as JSON (openapi `PathConf`, with an empty name).
    pub fn path_defaults_to_json(&self) -> Json {
        self.path_defaults.to_json()
    }

    /// Change only the `pathDefaults` keys given. Call `validate` afterwards
    /// so that paths pick the new defaults up.
    pub fn patch_path_defaults(&mut self, patch: &Json) -> Result<(), ConfError> {
        let mut next = self.path_defaults.clone();
        next.patch(patch)?;
        self.path_defaults = next;
        Ok(())
    }

    /// Add a path (its missing keys take `pathDefaults`).
    pub fn add_path(&mut self, name: &str, value: &Json) -> Result<(), ConfError> {
        if self.paths.iter().any(|p| p.name == name) {
            return Err(ConfError::PathExists(name.to_string()));
        }
        let p = PathConf::from_json(name, &self.path_defaults, value)?;
        self.paths.push(p);
        Ok(())
    }

    /// Replace a path, or add it when absent.
    pub fn replace_path(&mut self, name: &str, value: &Json) -> Result<(), ConfError> {
        let p = PathConf::from_json(name, &self.path_defaults, value)?;
        match self.paths.iter_mut().find(|q| q.name == name) {
            Some(slot) => *slot = p,
            None => self.paths.push(p),
        }
        Ok(())
    }

    /// Change only the given keys of a path.
    pub fn patch_path(&mut self, name: &str, patch: &Json) -> Result<(), ConfError> {
        let slot = self
            .paths
            .iter_mut()
            .find(|q| q.name == name)
            .ok_or_else(|| ConfError::PathNotFound(name.to_string()))?;
        slot.patch(patch)
    }

    /// Remove a path.
    pub fn remove_path(&mut self, name: &str) -> Result<(), ConfError> {
        let before = self.paths.len();
        self.paths.retain(|p| p.name != name);
        if self.paths.len() == before {
            return Err(ConfError::PathNotFound(name.to_string()));
        }
        Ok(())
    }
}
