//! Placement constraints: `[field, OPERATOR]` or `[field, OPERATOR, value]`, where the field
//! is `hostname` (or `@hostname`) or an agent attribute. The rules for each operator's value
//! are Marathon's (SchedulingValidation), with its messages.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Unique,
    Cluster,
    GroupBy,
    Like,
    Unlike,
    MaxPer,
    Is,
}

impl Operator {
    pub fn parse(text: &str) -> Option<Operator> {
        Some(match text.to_ascii_uppercase().as_str() {
            "UNIQUE" => Operator::Unique,
            "CLUSTER" => Operator::Cluster,
            "GROUP_BY" => Operator::GroupBy,
            "LIKE" => Operator::Like,
            "UNLIKE" => Operator::Unlike,
            "MAX_PER" => Operator::MaxPer,
            "IS" => Operator::Is,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Unique => "UNIQUE",
            Operator::Cluster => "CLUSTER",
            Operator::GroupBy => "GROUP_BY",
            Operator::Like => "LIKE",
            Operator::Unlike => "UNLIKE",
            Operator::MaxPer => "MAX_PER",
            Operator::Is => "IS",
        }
    }
}

pub const OPERATOR_INVALID: &str =
    "operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS";
pub const FIELD_COUNT: &str = "Each constraint must have either 2 or 3 fields";
pub const ILLEGAL: &str = "illegal constraint specification";
pub const UNIQUE_NO_VALUE: &str = "UNIQUE does not accept a value";
pub const GROUP_BY_INT: &str = "GROUP BY must define an integer value or else no value at all";
pub const MAX_PER_INT: &str = "MAX_PER requires an integer value";
pub const LIKE_NEEDS_REGEX: &str = "LIKE and UNLIKE require a non-empty, regular expression value";
pub const INVALID_REGEX: &str = "is not a valid regular expression";
pub const IS_TEXT_ONLY: &str = "IS only supports Mesos text and float values (see http://mesos.apache.org/documentation/latest/attributes-resources/)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub field: String,
    pub operator: Operator,
    pub value: Option<String>,
}

impl Constraint {
    /// Parses and checks one constraint given as its fields; the error is Marathon's message.
    pub fn from_fields(fields: &[String]) -> Result<Constraint, &'static str> {
        if fields.len() < 2 || fields.len() > 3 {
            return Err(FIELD_COUNT);
        }
        let field = fields[0].clone();
        if field.is_empty() {
            return Err(ILLEGAL);
        }
        let operator = Operator::parse(&fields[1]).ok_or(OPERATOR_INVALID)?;
        let value = fields.get(2).cloned();
        let constraint = Constraint {
            field,
            operator,
            value,
        };
        constraint.check()?;
        Ok(constraint)
    }

    fn check(&self) -> Result<(), &'static str> {
        let value = self.value.as_deref();
        match self.operator {
            Operator::Unique if value.is_some() => Err(UNIQUE_NO_VALUE),
            Operator::Unique | Operator::Cluster => Ok(()),
            Operator::GroupBy => match value {
                None => Ok(()),
                Some(v) if v.parse::<i32>().is_ok() => Ok(()),
                Some(_) => Err(GROUP_BY_INT),
            },
            Operator::MaxPer => match value {
                Some(v) if v.parse::<i32>().is_ok() => Ok(()),
                _ => Err(MAX_PER_INT),
            },
            Operator::Like | Operator::Unlike => match value {
                None => Err(LIKE_NEEDS_REGEX),
                Some(pattern) => full_match_regex(pattern).map(|_| ()).ok_or(INVALID_REGEX),
            },
            Operator::Is => {
                let text = value.unwrap_or("");
                let literal = text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-'));
                if literal { Ok(()) } else { Err(IS_TEXT_ONLY) }
            }
        }
    }

    /// The fields as Marathon writes them.
    pub fn to_fields(&self) -> Vec<String> {
        let mut fields = vec![self.field.clone(), self.operator.as_str().to_string()];
        if let Some(value) = &self.value {
            fields.push(value.clone());
        }
        fields
    }
}

/// `pattern` anchored at both ends: Marathon matches with Java's `String.matches`, which
/// must match the whole value.
pub fn full_match_regex(pattern: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})$")).ok()
}

impl Serialize for Constraint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_fields().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Constraint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = Vec::<String>::deserialize(deserializer)?;
        Constraint::from_fields(&fields).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_operator_parses_with_a_valid_value() {
        for parts in [
            &["hostname", "UNIQUE"][..],
            &["rack", "CLUSTER", "rack-1"],
            &["rack", "CLUSTER"],
            &["rack", "GROUP_BY"],
            &["rack", "GROUP_BY", "3"],
            &["hostname", "LIKE", "srv2.*"],
            &["hostname", "UNLIKE", "srv[0-9]"],
            &["hostname", "MAX_PER", "2"],
            &["gpu", "IS", "true"],
            &["hostname", "unique"],
        ] {
            let c = Constraint::from_fields(&fields(parts)).expect("valid");
            assert_eq!(c.to_fields()[0], parts[0]);
        }
    }

    #[test]
    fn each_operator_refuses_a_bad_value_with_marathons_message() {
        let cases: [(&[&str], &str); 9] = [
            (&["hostname", "UNIQUE", "x"], UNIQUE_NO_VALUE),
            (&["rack", "GROUP_BY", "two"], GROUP_BY_INT),
            (&["hostname", "MAX_PER"], MAX_PER_INT),
            (&["hostname", "LIKE"], LIKE_NEEDS_REGEX),
            (&["hostname", "LIKE", "("], INVALID_REGEX),
            (&["gpu", "IS", "{a,b}"], IS_TEXT_ONLY),
            (&["hostname", "NEAR", "x"], OPERATOR_INVALID),
            (&["hostname"], FIELD_COUNT),
            (&["", "UNIQUE"], ILLEGAL),
        ];
        for (parts, message) in cases {
            assert_eq!(
                Constraint::from_fields(&fields(parts)),
                Err(message),
                "{parts:?}"
            );
        }
    }

    #[test]
    fn writes_as_an_array_of_two_or_three_strings() {
        let c = Constraint::from_fields(&fields(&["hostname", "unique"])).expect("valid");
        assert_eq!(
            serde_json::to_value(&c).expect("json"),
            serde_json::json!(["hostname", "UNIQUE"])
        );
        let back: Constraint =
            serde_json::from_value(serde_json::json!(["rack", "MAX_PER", "2"])).expect("reads");
        assert_eq!(back.value.as_deref(), Some("2"));
    }
}
