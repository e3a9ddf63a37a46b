//! Reading typed fields out of a JSON object while collecting every problem with its path,
//! so one 422 names them all. `null` counts as absent, as in Marathon's readers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::validation::{Violations, element, member};

pub const NOT_A_STRING: &str = "must be a string";
pub const NOT_A_NUMBER: &str = "must be a number";
pub const NOT_AN_INTEGER: &str = "must be an integer";
pub const NOT_A_BOOLEAN: &str = "must be a boolean";
pub const NOT_AN_ARRAY: &str = "must be an array";
pub const NOT_AN_OBJECT: &str = "must be a JSON object";
pub const REQUIRED: &str = "is required";

/// One JSON object at `path` (`""` for the body itself).
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// The object `value`, or a violation at `path` when it is something else.
    pub fn of(value: &'a Value, path: &str, v: &mut Violations) -> Option<Fields<'a>> {
        match value {
            Value::Object(map) => Some(Fields {
                map,
                path: path.to_string(),
            }),
            _ => {
                v.add(path, NOT_AN_OBJECT);
                None
            }
        }
    }

    pub fn path(&self, key: &str) -> String {
        member(&self.path, key)
    }

    /// The value under `key`, `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn string(&self, key: &str, v: &mut Violations) -> Option<String> {
        let value = self.get(key)?;
        match value.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                v.add(&self.path(key), NOT_A_STRING);
                None
            }
        }
    }

    pub fn bool(&self, key: &str, v: &mut Violations) -> Option<bool> {
        let value = self.get(key)?;
        match value.as_bool() {
            Some(b) => Some(b),
            None => {
                v.add(&self.path(key), NOT_A_BOOLEAN);
                None
            }
        }
    }

    /// A number at least `min` (and at most `max` when given).
    pub fn number(&self, key: &str, min: f64, max: Option<f64>, v: &mut Violations) -> Option<f64> {
        let value = self.get(key)?;
        let Some(n) = value.as_f64() else {
            v.add(&self.path(key), NOT_A_NUMBER);
            return None;
        };
        bounded(n, value, min, max, &self.path(key), v)
    }

    /// A whole number from `min` to `max`.
    pub fn integer(&self, key: &str, min: i64, max: i64, v: &mut Violations) -> Option<u64> {
        let value = self.get(key)?;
        integer_value(value, min, max, &self.path(key), v)
    }

    /// Like [`Fields::integer`] for `u32` fields.
    pub fn u32(&self, key: &str, min: u32, v: &mut Violations) -> Option<u32> {
        self.integer(key, i64::from(min), i64::from(i32::MAX), v)
            .and_then(|n| u32::try_from(n).ok())
    }

    pub fn array(&self, key: &str, v: &mut Violations) -> Option<&'a Vec<Value>> {
        let value = self.get(key)?;
        match value.as_array() {
            Some(items) => Some(items),
            None => {
                v.add(&self.path(key), NOT_AN_ARRAY);
                None
            }
        }
    }

    pub fn strings(&self, key: &str, v: &mut Violations) -> Option<Vec<String>> {
        let items = self.array(key, v)?;
        let path = self.path(key);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => out.push(s.to_string()),
                None => v.add(&element(&path, i), NOT_A_STRING),
            }
        }
        Some(out)
    }

    /// An object whose values are all strings (`labels`).
    pub fn string_map(&self, key: &str, v: &mut Violations) -> Option<BTreeMap<String, String>> {
        let value = self.get(key)?;
        let fields = Fields::of(value, &self.path(key), v)?;
        let mut out = BTreeMap::new();
        for (name, item) in fields.map {
            match item.as_str() {
                Some(s) => {
                    out.insert(name.clone(), s.to_string());
                }
                None => v.add(&fields.path(name), NOT_A_STRING),
            }
        }
        Some(out)
    }

    pub fn object(&self, key: &str, v: &mut Violations) -> Option<Fields<'a>> {
        let value = self.get(key)?;
        Fields::of(value, &self.path(key), v)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.map.iter()
    }
}

/// `value` as a whole number in `min..=max`, else a violation at `path`.
pub fn integer_value(
    value: &Value,
    min: i64,
    max: i64,
    path: &str,
    v: &mut Violations,
) -> Option<u64> {
    let n = match (value.as_i64(), value.as_f64()) {
        (Some(n), _) => n,
        // 3.0 is an integer in JSON's sense; 3.5 is not.
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
        _ => {
            v.add(path, NOT_AN_INTEGER);
            return None;
        }
    };
    if n < min {
        v.add(path, format!("got {n}, expected {min} or more"));
        return None;
    }
    if n > max {
        v.add(path, format!("got {n}, expected {max} or less"));
        return None;
    }
    u64::try_from(n).ok()
}

fn bounded(
    n: f64,
    raw: &Value,
    min: f64,
    max: Option<f64>,
    path: &str,
    v: &mut Violations,
) -> Option<f64> {
    if !n.is_finite() || n < min {
        v.add(path, format!("got {raw}, expected {min} or more"));
        return None;
    }
    if let Some(max) = max
        && n > max
    {
        v.add(path, format!("got {raw}, expected {max} or less"));
        return None;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_and_range_problems_name_their_paths() {
        let body = json!({"cpus": -1, "mem": "lots", "instances": 1.5, "labels": {"a": 1}, "args": ["x", 2]});
        let mut v = Violations::new();
        let fields = Fields::of(&body, "", &mut v).expect("object");
        assert_eq!(fields.number("cpus", 0.001, None, &mut v), None);
        assert_eq!(fields.number("mem", 0.0, None, &mut v), None);
        assert_eq!(fields.u32("instances", 0, &mut v), None);
        let _ = fields.string_map("labels", &mut v);
        let _ = fields.strings("args", &mut v);
        let paths: Vec<&str> = v.iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            ["/cpus", "/mem", "/instances", "/labels/a", "/args(1)"]
        );
        assert_eq!(
            v.iter().next().map(|(_, e)| e),
            Some("got -1, expected 0.001 or more")
        );
    }

    #[test]
    fn null_is_absent_and_whole_floats_are_integers() {
        let body = json!({"cmd": null, "instances": 3.0});
        let mut v = Violations::new();
        let fields = Fields::of(&body, "", &mut v).expect("object");
        assert_eq!(fields.string("cmd", &mut v), None);
        assert_eq!(fields.u32("instances", 0, &mut v), Some(3));
        assert!(v.is_empty());
        let mut v = Violations::new();
        assert!(Fields::of(&json!([1]), "", &mut v).is_none());
        assert!(v.has("/"));
    }
}
