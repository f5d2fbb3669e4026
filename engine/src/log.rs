//! A minimal leveled logger to stderr. Logging is rare (startup, errors,
//! shutdown) so a global level and `eprintln!` are all it needs.

use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures that stop something.
    Error = 0,
    /// Something is wrong or limited but we carry on.
    Warn = 1,
    /// Startup, shutdown and configuration facts.
    Info = 2,
    /// Per-connection detail; noisy.
    Debug = 3,
}

impl FromStr for Level {
    type Err = String;
    fn from_str(text: &str) -> Result<Level, String> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" | "trace" => Ok(Level::Debug),
            other => Err(format!(
                "unknown log level {other:?} (error, warn, info, debug)"
            )),
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Set the process-wide log level.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether messages at `level` are printed.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Log at a level: `log!(Info, "listening on {}", addr)`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::$level) {
            eprintln!("ringcast {:>5}: {}", stringify!($level).to_ascii_lowercase(), format_args!($($arg)*));
        }
    };
}
