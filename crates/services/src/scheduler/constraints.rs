//! Whether an offer meets an app's placement constraints, given where the app's tasks already
//! are (Marathon's `mesosphere.mesos.Constraints`). The field is `hostname` (or `@hostname`)
//! or an agent attribute, read as Mesos writes values: text as is, scalars with up to three
//! decimals, ranges as `[a-b,c-d]`, sets as `{a,b}`. An offer without the field meets only
//! UNLIKE.

use corral_api::v1::{Attribute, ValueType};

use crate::model::constraint::{Constraint, Operator, full_match_regex};

/// Where a task is, or an offer would put one.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub hostname: &'a str,
    pub attributes: &'a [Attribute],
}

impl Place<'_> {
    fn field(&self, field: &str) -> Option<String> {
        match field {
            "hostname" | "@hostname" => Some(self.hostname.to_string()),
            // Corral's agents have no fault domains yet.
            "@region" | "@zone" => None,
            name => self
                .attributes
                .iter()
                .find(|a| a.name == name)
                .map(attribute_value),
        }
    }
}

/// Whether `offer` meets every constraint.
pub fn meets_all(constraints: &[Constraint], offer: Place, placed: &[Place]) -> bool {
    constraints.iter().all(|c| meets(c, offer, placed))
}

pub fn meets(constraint: &Constraint, offer: Place, placed: &[Place]) -> bool {
    let value = constraint.value.as_deref().unwrap_or("");
    let Some(offered) = offer.field(&constraint.field) else {
        return constraint.operator == Operator::Unlike;
    };
    let placed_values = || placed.iter().map(|p| p.field(&constraint.field));
    match constraint.operator {
        Operator::Unique => placed_values().all(|v| v.as_deref() != Some(offered.as_str())),
        Operator::Cluster => {
            if value.is_empty() {
                placed
                    .first()
                    .is_none_or(|p| p.field(&constraint.field).as_deref() == Some(offered.as_str()))
            } else {
                offered == value
            }
        }
        Operator::GroupBy => group_by(&offered, value, placed_values().collect()),
        Operator::MaxPer => {
            let max: usize = value.parse().unwrap_or(0);
            placed_values()
                .filter(|v| v.as_deref() == Some(offered.as_str()))
                .count()
                < max
        }
        Operator::Like => !value.is_empty() && regex_matches(value, &offered),
        Operator::Unlike => !value.is_empty() && !regex_matches(value, &offered),
        Operator::Is => match value.parse::<f64>() {
            Ok(scalar) if is_scalar_literal(value) => offered == format_scalar(scalar),
            _ => offered == value,
        },
    }
}

/// GROUP_BY: the offer's value is new, or its group is a smallest one once at least `value`
/// groups exist.
fn group_by(offered: &str, value: &str, placed: Vec<Option<String>>) -> bool {
    let minimum: usize = value.parse().unwrap_or(0);
    let mut groups: Vec<(Option<String>, usize)> = Vec::new();
    for v in placed {
        match groups.iter_mut().find(|(k, _)| *k == v) {
            Some((_, n)) => *n += 1,
            None => groups.push((v, 1)),
        }
    }
    let smallest = groups.iter().map(|(_, n)| *n).min().unwrap_or(0);
    groups
        .iter()
        .find(|(k, _)| k.as_deref() == Some(offered))
        .is_none_or(|(_, n)| groups.len() >= minimum && *n == smallest)
}

fn regex_matches(pattern: &str, value: &str) -> bool {
    full_match_regex(pattern).is_some_and(|r| r.is_match(value))
}

fn is_scalar_literal(text: &str) -> bool {
    let mut parts = text.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// An attribute's value as Mesos (and Marathon's constraints) write it.
pub fn attribute_value(attribute: &Attribute) -> String {
    match attribute.kind {
        ValueType::Scalar => format_scalar(attribute.scalar.as_ref().map_or(0.0, |s| s.value)),
        ValueType::Text => attribute
            .text
            .as_ref()
            .map(|t| t.value.clone())
            .unwrap_or_default(),
        ValueType::Ranges => {
            let mut ranges = attribute
                .ranges
                .as_ref()
                .map(|r| r.range.clone())
                .unwrap_or_default();
            ranges.sort_by_key(|r| r.begin);
            let parts: Vec<String> = ranges
                .iter()
                .map(|r| format!("{}-{}", r.begin, r.end))
                .collect();
            format!("[{}]", parts.join(","))
        }
        ValueType::Set => {
            let mut items = attribute
                .set
                .as_ref()
                .map(|s| s.item.clone())
                .unwrap_or_default();
            items.sort();
            format!("{{{}}}", items.join(","))
        }
    }
}

/// Java's `DecimalFormat("0.###")`: at most three decimals, no trailing zeros.
pub fn format_scalar(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
#[path = "constraints_tests.rs"]
mod tests;
