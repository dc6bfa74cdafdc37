//! Finding and reading mediamtx.yml, then environment overrides and validation.

use crate::env::Env;
use crate::global::Conf;
use crate::node::{Entry, Node, Value, parse_yaml};
use crate::path::PathConf;
use crate::{ConfError, field_error};
use std::path::{Path, PathBuf};

/// Where MediaMTX looks for its configuration when none is given.
pub const DEFAULT_CONF_PATHS: [&str; 5] = [
    // The project's former name; MediaMTX still looks for it first.
    "rtsp-simple-server.yml",
    "mediamtx.yml",
    "/usr/local/etc/mediamtx.yml",
    "/usr/etc/mediamtx.yml",
    "/etc/mediamtx/mediamtx.yml",
];

/// A loaded configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub conf: Conf,
    /// The file read, as an absolute path; `None` when the defaults were used.
    pub file: Option<PathBuf>,
    /// Deprecation warnings (message texts without level).
    pub warnings: Vec<String>,
}

/// Load like MediaMTX with the process environment.
pub fn load(cli_path: Option<&Path>) -> Result<Loaded, ConfError> {
    let vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    load_with_vars(cli_path, &vars)
}

/// Load with the given environment: the CLI path (which must exist), else
/// the first of [`DEFAULT_CONF_PATHS`] that exists, else the defaults.
pub fn load_with_vars(
    cli_path: Option<&Path>,
    vars: &[(String, String)],
) -> Result<Loaded, ConfError> {
    let file = match cli_path {
        Some(p) => Some(p.to_path_buf()),
        None => DEFAULT_CONF_PATHS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists()),
    };
    let text = match &file {
        Some(p) => Some(read_file(p, vars)?),
        None => None,
    };
    let mut loaded = build(text.as_deref(), &Env::Vars(vars))?;
    loaded.file = file.map(|p| std::path::absolute(&p).unwrap_or(p));
    Ok(loaded)
}

/// Read the file, decrypting it when `RTSP_CONFKEY` / `MTX_CONFKEY` is set.
fn read_file(path: &Path, vars: &[(String, String)]) -> Result<String, ConfError> {
    let io = |message: String| ConfError::Io {
        path: path.display().to_string(),
        message,
    };
    let mut bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
    for var in ["RTSP_CONFKEY", "MTX_CONFKEY"] {
        if let Some((_, key)) = vars.iter().find(|(k, _)| k == var) {
            bytes = crate::confkey::decrypt(key, &bytes).map_err(&io)?;
        }
    }
    String::from_utf8(bytes).map_err(|e| io(e.to_string()))
}

/// Load from YAML text; `env` answers lookups of `MTX_*` variables (it
/// cannot create paths that the text does not name).
pub fn load_from_str(
    yaml: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfError> {
    build(Some(yaml), &Env::Lookup(env))
}

/// Load from YAML text with a full environment snapshot.
pub fn load_from_str_with_vars(yaml: &str, vars: &[(String, String)]) -> Result<Loaded, ConfError> {
    build(Some(yaml), &Env::Vars(vars))
}

fn build(text: Option<&str>, env: &Env<'_>) -> Result<Loaded, ConfError> {
    let mut conf = Conf::default();
    if let Some(text) = text {
        conf.paths.clear();
        let root = parse_yaml(text).map_err(|e| match e.duplicate {
            Some(key) => ConfError::DuplicateKey { key, line: e.line },
            None => ConfError::Yaml {
                message: e.message,
                line: e.line,
            },
        })?;
        match &root.value {
            Value::Null => {}
            Value::Map(entries) => conf.apply_entries(entries)?,
            _ => {
                return Err(ConfError::Yaml {
                    message: "the configuration must be a map of keys".into(),
                    line: root.line,
                });
            }
        }
    }
    for prefix in ["RTSP", "MTX"] {
        conf.apply_env(prefix, env)?;
    }
    let warnings = conf.validate()?;
    Ok(Loaded {
        conf,
        file: None,
        warnings,
    })
}

impl Conf {
    /// Apply top-level entries in order.
    fn apply_entries(&mut self, entries: &[Entry]) -> Result<(), ConfError> {
        for e in entries {
            match e.key.as_str() {
                "pathDefaults" => self.path_defaults.add_overrides(&e.node)?,
                "paths" => match &e.node.value {
                    Value::Null => {}
                    Value::Map(paths) => {
                        for p in paths {
                            self.path_entry(&p.key).add_overrides(&p.node)?;
                        }
                    }
                    _ => {
                        return Err(ConfError::InvalidValue {
                            key: "paths".into(),
                            message: format!("expected a map, got {}", e.node.kind()),
                            line: e.line,
                        });
                    }
                },
                key => match self.apply_key(key, &e.node) {
                    None => {
                        return Err(ConfError::UnknownKey {
                            key: key.to_string(),
                            line: e.line,
                        });
                    }
                    Some(Err(err)) => return Err(field_error(key, e.line, err)),
                    Some(Ok(())) => {}
                },
            }
        }
        Ok(())
    }

    /// The path named `name`, created with the defaults when absent.
    fn path_entry(&mut self, name: &str) -> &mut PathConf {
        let i = match self.paths.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                self.paths.push(PathConf {
                    name: name.to_string(),
                    ..self.path_defaults.clone()
                });
                self.paths.len() - 1
            }
        };
        &mut self.paths[i]
    }

    /// Apply `PREFIX_*` variables on top of what the file said.
    fn apply_env(&mut self, prefix: &str, env: &Env<'_>) -> Result<(), ConfError> {
        let env_err = |(var, message): (String, String)| ConfError::Env { var, message };
        let wrap = |var: String| {
            move |e: ConfError| ConfError::Env {
                var: var.clone(),
                message: e.to_string(),
            }
        };
        let globals = Conf::env_entries(prefix, env).map_err(env_err)?;
        for e in &globals {
            let var = format!("{prefix}_{}", e.key.to_uppercase());
            self.apply_entries(std::slice::from_ref(e))
                .map_err(wrap(var))?;
        }
        let defaults =
            PathConf::env_entries(&format!("{prefix}_PATHDEFAULTS"), env).map_err(env_err)?;
        if !defaults.is_empty() {
            self.path_defaults
                .add_overrides(&Node::new(Value::Map(defaults)))
                .map_err(wrap(format!("{prefix}_PATHDEFAULTS")))?;
        }
        let mut names: Vec<String> = self
            .paths
            .iter()
            .map(|p| p.name.clone())
            .filter(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            .collect();
        for n in env.path_names(prefix) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        for name in names {
            let var = format!("{prefix}_PATHS_{}", name.to_uppercase());
            if env.has_prefix(&format!("{var}_")) == Some(false) {
                continue;
            }
            let entries = PathConf::env_entries(&var, env).map_err(env_err)?;
            if entries.is_empty() {
                continue;
            }
            self.path_entry(&name)
                .add_overrides(&Node::new(Value::Map(entries)))
                .map_err(wrap(var))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_file_with_confkey() {
        let enc = crate::confkey::encrypt("mykey", [3; 24], b"logLevel: error\n");
        let p = std::env::temp_dir().join(format!("ferromtx-conf-{}-enc.yml", std::process::id()));
        std::fs::write(&p, enc).unwrap();
        let good = load_with_vars(Some(&p), &[("MTX_CONFKEY".into(), "mykey".into())]);
        let bad = load_with_vars(Some(&p), &[("MTX_CONFKEY".into(), "wrong".into())]);
        let plain = load_with_vars(Some(&p), &[]);
        std::fs::remove_file(&p).unwrap();
        assert_eq!(good.unwrap().conf.log_level, crate::LogLevel::Error);
        assert!(bad.unwrap_err().to_string().ends_with(": decryption error"));
        assert!(plain.is_err(), "without the key the base64 is not YAML");
    }
}
