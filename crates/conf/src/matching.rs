//! Finding the configuration of a requested path name.

use crate::ConfError;
use crate::global::Conf;
use crate::path::PathConf;
use crate::source::path_name_problem;

/// The configuration a path name resolves to. For regex paths `captures[0]`
/// is the whole match and `captures[n]` is the group that `$Gn` stands for
/// (an unmatched group is empty); plain names have no captures.
#[derive(Clone, Debug, PartialEq)]
pub struct PathMatch<'a> {
    pub conf: &'a PathConf,
    pub captures: Vec<String>,
}

impl Conf {
    /// Exact name first, then `~regex` entries sorted by name (byte order), then
    /// `all_others` / `all`, as MediaMTX's `FindPathConf` does.
    pub fn find_path_conf(&self, name: &str) -> Result<PathMatch<'_>, ConfError> {
        if let Some(conf) = self.paths.iter().find(|p| p.name == name) {
            return Ok(PathMatch {
                conf,
                captures: Vec::new(),
            });
        }
        if let Some(reason) = path_name_problem(name) {
            return Err(ConfError::InvalidPathName {
                name: name.to_string(),
                reason: reason.to_string(),
            });
        }
        let is_catch_all = |p: &PathConf| p.name == "all" || p.name == "all_others";
        let mut regexes: Vec<&PathConf> = self
            .paths
            .iter()
            .filter(|p| !is_catch_all(p) && p.regex().is_some())
            .collect();
        regexes.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let catch_alls = self.paths.iter().filter(|p| is_catch_all(p));
        for conf in regexes.into_iter().chain(catch_alls) {
            let Some(re) = conf.regex() else {
                continue;
            };
            if let Some(caps) = re.captures(name) {
                let captures = caps
                    .iter()
                    .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
                    .collect();
                return Ok(PathMatch { conf, captures });
            }
        }
        Err(ConfError::PathNotFound(name.to_string()))
    }
}
