//! Command line: `ferromtx [confpath]`, `--version`, `--help`.

use std::path::PathBuf;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run { conf_path: Option<PathBuf> },
    Version,
    Help,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown flag '{0}'")]
    UnknownFlag(String),
    #[error("unexpected argument '{0}'")]
    Extra(String),
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, CliError> {
    let mut conf_path = None;
    for arg in args {
        match arg.as_str() {
            "--version" | "-v" => return Ok(Command::Version),
            "--help" | "-h" => return Ok(Command::Help),
            a if a.starts_with('-') && a.len() > 1 => return Err(CliError::UnknownFlag(arg)),
            _ if conf_path.is_some() => return Err(CliError::Extra(arg)),
            _ => conf_path = Some(PathBuf::from(arg)),
        }
    }
    Ok(Command::Run { conf_path })
}

pub fn help() -> String {
    format!(
        "Usage: ferromtx [<confpath>] [flags]\n\n\
         ferromtx {}, a real-time media server compatible with MediaMTX.\n\n\
         Arguments:\n  [<confpath>]    path to a config file. The default is mediamtx.yml.\n\n\
         Flags:\n  -h, --help       Show context-sensitive help.\n  -v, --version    print version, git commit and target\n",
        crate::version::VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Command, CliError> {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn forms() {
        assert_eq!(p(&[]), Ok(Command::Run { conf_path: None }));
        assert_eq!(
            p(&["/etc/x.yml"]),
            Ok(Command::Run {
                conf_path: Some("/etc/x.yml".into())
            })
        );
        assert_eq!(p(&["--version"]), Ok(Command::Version));
        assert_eq!(p(&["a.yml", "--help"]), Ok(Command::Help));
        assert_eq!(
            p(&["--bogus"]),
            Err(CliError::UnknownFlag("--bogus".into()))
        );
        assert_eq!(p(&["a", "b"]), Err(CliError::Extra("b".into())));
    }
}
