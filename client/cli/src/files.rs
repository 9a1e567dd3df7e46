//! Reading input files with size limits.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Read at most `max_bytes` from `path`; a larger file is an error, not a truncation.
pub fn read_limited(path: &Path, max_bytes: usize) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(max_bytes as u64 + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if buf.len() > max_bytes {
        bail!(
            "{} is larger than the limit of {} bytes",
            path.display(),
            max_bytes
        );
    }
    Ok(buf)
}

/// Parse JSON, refusing a duplicated key in any object (docs/spec: proof files have one
/// spelling; `serde_json::Value` alone would keep the last of two values silently).
pub fn json_strict(bytes: &[u8]) -> std::result::Result<serde_json::Value, String> {
    use serde::de::DeserializeSeed;
    let mut d = serde_json::Deserializer::from_slice(bytes);
    let v = Strict.deserialize(&mut d).map_err(|e| e.to_string())?;
    d.end().map_err(|e| e.to_string())?;
    Ok(v)
}

/// A JSON value whose objects have no duplicated key.
struct Strict;

impl<'de> serde::de::DeserializeSeed<'de> for Strict {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<serde_json::Value, D::Error> {
        d.deserialize_any(Strict)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<serde_json::Value, E> {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .ok_or_else(|| E::custom("a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> std::result::Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<serde_json::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<serde_json::Value, A::Error> {
        use serde::de::Error;
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(A::Error::custom(format!(
                    "duplicate key {k:?}: expected each key once"
                )));
            }
            let v = map.next_value_seed(Strict)?;
            out.insert(k, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::json_strict;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(json_strict(br#"{"a": 1, "b": [1, {"c": 2}], "d": null, "e": 1.5}"#).is_ok());
        let e = json_strict(br#"{"index": 1, "index": 2}"#).unwrap_err();
        assert!(e.contains("duplicate key \"index\""), "{e}");
        let e = json_strict(br#"{"a": [{"x": 1, "x": 1}]}"#).unwrap_err();
        assert!(e.contains("duplicate key \"x\""), "{e}");
        assert!(json_strict(br#"{"a": 1} x"#).is_err(), "trailing text");
        // serde_json's own Value keeps the last: the reason for this function.
        let v: serde_json::Value = serde_json::from_slice(br#"{"i": 1, "i": 2}"#).unwrap();
        assert_eq!(v["i"], 2);
    }
}
