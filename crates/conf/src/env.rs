//! `MTX_*` environment overrides: a variable per key, named after the key in
//! upper case without separators (`MTX_WRITEQUEUESIZE`, `MTX_PATHS_CAM1_SOURCE`).

/// Where environment variables are read from.
pub(crate) enum Env<'a> {
    /// Lookups only: variables cannot name new paths.
    Lookup(&'a dyn Fn(&str) -> Option<String>),
    /// A full snapshot, which can also name new paths.
    Vars(&'a [(String, String)]),
}

impl Env<'_> {
    pub fn get(&self, key: &str) -> Option<String> {
        match self {
            Env::Lookup(f) => f(key),
            Env::Vars(vars) => vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
        }
    }

    /// Whether some variable starts with `prefix`; `None` when unknown
    /// (lookups only).
    pub fn has_prefix(&self, prefix: &str) -> Option<bool> {
        match self {
            Env::Lookup(_) => None,
            Env::Vars(vars) => Some(vars.iter().any(|(k, _)| k.starts_with(prefix))),
        }
    }

    /// Path names (lower case) that `PREFIX_PATHS_<NAME>_...` variables
    /// mention, in first-seen order. Only upper-case names count, as in MediaMTX.
    pub fn path_names(&self, prefix: &str) -> Vec<String> {
        let Env::Vars(vars) = self else {
            return Vec::new();
        };
        let head = format!("{prefix}_PATHS_");
        let mut out: Vec<String> = Vec::new();
        for (k, _) in vars.iter() {
            let Some(rest) = k.strip_prefix(&head) else {
                continue;
            };
            let name = rest.split('_').next().unwrap_or("");
            if name.is_empty() || name != name.to_uppercase() {
                continue;
            }
            let lower = name.to_lowercase();
            if !out.contains(&lower) {
                out.push(lower);
            }
        }
        out
    }
}
