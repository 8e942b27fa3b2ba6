//! Where in the YAML text a problem is: serde_yaml_ng's error positions, moved onto the bad
//! value, and a finder for keys whose checks run after deserialising.

use std::path::{Path, PathBuf};

use super::model::ConfigError;

/// Builds a located [`ConfigError`] for a key (and value) from a message.
pub(super) type Invalid<'a> = dyn Fn(&str, Option<&str>, String) -> ConfigError + 'a;

fn first_quoted(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    Some(&message[start..start + len]).filter(|v| !v.is_empty())
}

pub(super) fn yaml_error(source: &str, path: &Path, err: &serde_yaml_ng::Error) -> ConfigError {
    let (mut line, mut column) = err.location().map_or((1, 1), |l| (l.line(), l.column()));
    let text = err.to_string();
    // serde_yaml_ng appends " at line L column C"; the location goes in front instead.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    // Our own value checks quote the bad value, but serde_yaml_ng reports them at the start of
    // the enclosing mapping: point at the value itself, the first place it appears from there.
    if let Some(value) = first_quoted(&message) {
        let found = source
            .lines()
            .enumerate()
            .skip(line.saturating_sub(1))
            .find_map(|(n, l)| l.find(value).map(|i| (n + 1, i + 1)));
        if let Some(at) = found {
            (line, column) = at;
        }
    }
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// Line and column (1-based) of the first `key:` whose value is `value` (any value when
/// `None`); (1, 1) when not found. Good enough for block-style YAML, which is what people
/// write in config files.
pub(super) fn locate(text: &str, key: &str, value: Option<&str>) -> (usize, usize) {
    locate_nth(text, key, value, 0)
}

/// Like [`locate`], for the `nth` (0-based) such key.
pub(super) fn locate_nth(text: &str, key: &str, value: Option<&str>, nth: usize) -> (usize, usize) {
    let mut skip = nth;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '-']);
        let Some(rest) = trimmed.strip_prefix(key) else {
            continue;
        };
        let Some(after) = rest.strip_prefix(':') else {
            continue;
        };
        let found = after.trim().trim_matches(['"', '\'']);
        if value.is_none_or(|v| v == found) {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let col = line.len() - trimmed.len() + 1;
            let value_col = match value {
                Some(v) => line.find(v).map_or(col, |i| i + 1),
                None => col,
            };
            return (n + 1, value_col);
        }
    }
    (1, 1)
}

/// A path from the config file, read relative to the config file's folder.
pub(super) fn relative_to(config: &Path, file: PathBuf) -> PathBuf {
    match config.parent() {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file,
    }
}
