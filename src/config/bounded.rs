//! Reading YAML within bounds: a configuration file is at most [`MAX_BYTES`], and so is the
//! document its aliases expand to. serde_yaml_ng replays an alias's events each time it is
//! used, so a 1 MB file of nested aliases (a "billion laughs") would expand to gigabytes while
//! validating; here the expansion is measured first by a visitor that keeps nothing, and a
//! document past the bound is refused, located, before anything is built from it.

use std::cell::Cell;
use std::io::Read;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::model::ConfigError;
use super::position::yaml_error;

/// The largest configuration file, and the largest document its aliases may expand to
/// (scalars' bytes, plus 16 for each node): 16 MiB, hundreds of times any real fleet file.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
const NODE_COST: u64 = 16;

/// Read `path`, refusing a file past [`MAX_BYTES`] without reading the rest of it.
pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    check_size(&text, path)?;
    Ok(text)
}

fn check_size(text: &str, path: &Path) -> Result<(), ConfigError> {
    if text.len() as u64 > MAX_BYTES {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!(
                "the configuration is larger than {} MiB; split it with include:",
                MAX_BYTES / 1024 / 1024
            ),
        });
    }
    Ok(())
}

/// Deserialize `text` as `T`, after checking its size and its aliases' expansion.
pub(super) fn from_str<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    check_size(text, path)?;
    let budget = Budget {
        left: Cell::new(MAX_BYTES),
    };
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        Measure(&budget)
            .deserialize(document)
            .map_err(|e| yaml_error(text, path, &e))?;
    }
    serde_yaml_ng::from_str(text).map_err(|e| yaml_error(text, path, &e))
}

/// What is left of the expansion bound.
struct Budget {
    left: Cell<u64>,
}

impl Budget {
    fn spend<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        let cost = bytes as u64 + NODE_COST;
        match self.left.get().checked_sub(cost) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the document expands past {} MiB (nested aliases?); a configuration is at most {} MiB once its aliases are expanded",
                MAX_BYTES / 1024 / 1024,
                MAX_BYTES / 1024 / 1024
            ))),
        }
    }
}

/// Visits a document, spending the budget on every node, keeping nothing.
#[derive(Clone, Copy)]
struct Measure<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for Measure<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Measure<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.0.spend(v.len())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.spend(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.spend(0)?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.spend(0)?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess;
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `levels` of aliases, each nine uses of the one below: 9^levels leaves of `x`.
    fn laughs(levels: usize) -> String {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for n in 1..levels {
            let p = n - 1;
            text.push_str(&format!(
                "a{n}: &a{n} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text
    }

    #[test]
    fn an_alias_bomb_is_refused_located_before_it_expands() {
        // A big scalar used many times: few alias uses (under YAML's own repetition limit),
        // a gigabyte once expanded.
        let mut text = format!("k0: &big \"{}\"\n", "x".repeat(1 << 20));
        for n in 1..1024 {
            text.push_str(&format!("k{n}: *big\n"));
        }
        let err = from_str::<serde_yaml_ng::Value>(&text, Path::new("bomb.yaml")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("bomb.yaml:"), "{message}");
        assert!(message.contains("expands past 16 MiB"), "{message}");
        // Nested aliases are refused too (by whichever limit comes first), located.
        let err = from_str::<serde_yaml_ng::Value>(&laughs(10), Path::new("bomb.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bomb.yaml:"), "{err}");
    }

    #[test]
    fn aliases_within_the_bound_are_fine() {
        let text = laughs(4);
        assert!(from_str::<serde_yaml_ng::Value>(&text, Path::new("ok.yaml")).is_ok());
    }

    #[test]
    fn a_file_past_the_size_bound_is_refused_without_reading_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_BYTES + 1).unwrap();
        drop(file);
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("larger than 16 MiB"), "{err}");
    }
}
