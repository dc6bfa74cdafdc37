//! Log level and destinations.

use crate::value::string_enum;

string_enum! {
    /// `logLevel`.
    pub enum LogLevel ("invalid log level: '{}'", null = reject, default = Info) {
        Error = "error",
        Warn = "warn",
        Info = "info",
        Debug = "debug",
    }
}

string_enum! {
    /// An item of `logDestinations`.
    pub enum LogDestination ("invalid log destination: {}", null = reject, default = Stdout) {
        Stdout = "stdout",
        File = "file",
        Syslog = "syslog",
    }
}
