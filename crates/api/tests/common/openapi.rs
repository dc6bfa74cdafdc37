//! A small OpenAPI 3 schema validator for the responses of the tests.
//!
//! Supports `$ref`, `type`, `properties`, `items`, `allOf`, `oneOf` (at least one
//! branch must match: the codec-props branches overlap), `nullable`, `enum`,
//! integer formats `int64`/`uint64`, and `additionalProperties`. Objects are checked
//! strictly: every declared, non-deprecated property must be present and no other may appear
//! (MediaMTX always emits every field).

use std::collections::BTreeSet;

use serde_json::Value;

pub struct Spec {
    pub doc: Value,
}

impl Spec {
    /// The upstream `/v3` spec; `None` (the test skips) outside CI when it is absent.
    pub fn load() -> Option<Spec> {
        let text = ferromtx_testkit::compat::read("openapi.yaml")?;
        let doc: Value = serde_saphyr::from_str(&text).expect("openapi.yaml parses");
        Some(Spec { doc })
    }

    /// Every operation as `"METHOD /path"`.
    pub fn operations(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (path, ops) in self.doc["paths"].as_object().expect("paths") {
            for method in ops.as_object().expect("ops").keys() {
                out.insert(format!("{} {}", method.to_uppercase(), path));
            }
        }
        out
    }

    fn operation(&self, method: &str, path: &str) -> &Value {
        let op = &self.doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "operation {method} {path} not in spec");
        op
    }

    /// The response schema of `method path` for `status`, panicking when the status
    /// is not declared.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> &Value {
        let op = self.operation(method, path);
        let resp = &op["responses"][status.to_string()];
        assert!(
            resp.is_object(),
            "{method} {path}: status {status} not declared in spec"
        );
        &resp["content"]["application/json"]["schema"]
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/components/schemas/").expect("local ref");
                let target = &self.doc["components"]["schemas"][name];
                assert!(target.is_object(), "unresolved ref {r}");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// Validates `value` against `schema`; returns the list of violations.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let nullable_here = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        let schema = self.resolve(schema);
        let nullable =
            nullable_here || schema.get("nullable").and_then(Value::as_bool) == Some(true);
        if value.is_null() {
            if !nullable {
                errors.push(format!("{at}: null but not nullable"));
            }
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, value, at, errors);
            }
        }
        if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
            let ok = one.iter().any(|s| self.validate(s, value).is_empty());
            if !ok {
                errors.push(format!("{at}: matches no oneOf branch"));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} not in enum {allowed:?}"));
        }
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        match schema.get("type").and_then(Value::as_str) {
            Some("string") if !value.is_string() => errors.push(format!("{at}: not a string")),
            Some("boolean") if !value.is_boolean() => errors.push(format!("{at}: not a boolean")),
            Some("number") if !value.is_number() => errors.push(format!("{at}: not a number")),
            Some("integer") => {
                let ok = match format {
                    "uint64" => value.is_u64(),
                    _ => value.is_i64(),
                };
                if !ok {
                    errors.push(format!(
                        "{at}: {value} is not an integer of format {format:?}"
                    ));
                }
            }
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (i, v) in items.iter().enumerate() {
                        self.check(&schema["items"], v, &format!("{at}[{i}]"), errors);
                    }
                }
                None => errors.push(format!("{at}: not an array")),
            },
            Some("object") | None if schema.get("properties").is_some() => {
                self.check_object(schema, value, at, errors)
            }
            Some("object") if schema.get("allOf").is_none() => {
                self.check_object(schema, value, at, errors)
            }
            _ => {}
        }
    }

    fn check_object(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(obj) = value.as_object() else {
            errors.push(format!("{at}: not an object"));
            return;
        };
        let empty = serde_json::Map::new();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (k, s) in props {
            match obj.get(k) {
                Some(v) => self.check(s, v, &format!("{at}.{k}"), errors),
                // deprecated keys appear only when set, as in MediaMTX
                None if self.resolve(s).get("deprecated").and_then(Value::as_bool)
                    == Some(true)
                    || s.get("deprecated").and_then(Value::as_bool) == Some(true) => {}
                None => errors.push(format!("{at}: missing property {k}")),
            }
        }
        let additional = schema.get("additionalProperties");
        for (k, v) in obj {
            if props.contains_key(k) {
                continue;
            }
            match additional {
                Some(Value::Bool(true)) => {}
                Some(s) if s.is_object() => self.check(s, v, &format!("{at}.{k}"), errors),
                _ => errors.push(format!("{at}: unexpected property {k}")),
            }
        }
    }
}
