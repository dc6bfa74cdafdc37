//! Process statistics from /proc (being written).
