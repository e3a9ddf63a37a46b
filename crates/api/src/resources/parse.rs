//! The agent's `--resources` and `--attributes` syntax, as Mesos writes it:
//! `cpus:2;mem:1024;ports:[31000-32000];cpus(eng):1;disks:{a,b}` and `rack:r1;zone:z2`.

use crate::v1::{
    Attribute, Range, Ranges, ReservationInfo, Resource, Scalar, Set, Text, ValueType,
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("'{0}' is not NAME:VALUE")]
    NotNamePair(String),
    #[error("'{0}' has an unclosed role: write NAME(ROLE):VALUE")]
    BadRole(String),
    #[error("value of '{name}' is not a number, [a-b,...] ranges or {{x,y}} set: '{value}'")]
    BadValue { name: String, value: String },
    #[error("scalar '{name}' must be a number from 0 to {max:e}, got {value}", max = super::MAX_SCALAR)]
    ScalarOutOfRange { name: String, value: String },
}

pub fn parse_resources(text: &str) -> Result<Vec<Resource>, ParseError> {
    let mut out = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (head, value) = part
            .split_once(':')
            .ok_or_else(|| ParseError::NotNamePair(part.to_string()))?;
        let (name, role) = match head.split_once('(') {
            Some((name, rest)) => {
                let role = rest
                    .strip_suffix(')')
                    .ok_or_else(|| ParseError::BadRole(part.to_string()))?;
                (name.trim(), Some(role.trim()))
            }
            None => (head.trim(), None),
        };
        if name.is_empty() {
            return Err(ParseError::NotNamePair(part.to_string()));
        }
        let mut r = Resource {
            name: name.to_string(),
            ..Default::default()
        };
        fill_value(&mut r, value.trim())?;
        if let Some(role) = role.filter(|r| *r != "*") {
            r.reservations.push(ReservationInfo {
                role: role.to_string(),
                ..Default::default()
            });
        }
        out.push(super::normalize(r));
    }
    Ok(out)
}

fn fill_value(r: &mut Resource, value: &str) -> Result<(), ParseError> {
    let bad = || ParseError::BadValue {
        name: r.name.clone(),
        value: value.to_string(),
    };
    if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        let mut list = Vec::new();
        for piece in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = piece.split_once('-').ok_or_else(bad)?;
            let begin = a.trim().parse().map_err(|_| bad())?;
            let end = b.trim().parse().map_err(|_| bad())?;
            if begin > end {
                return Err(bad());
            }
            list.push(Range { begin, end });
        }
        r.kind = ValueType::Ranges;
        r.ranges = Some(Ranges { range: list });
    } else if let Some(inner) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
        r.kind = ValueType::Set;
        r.set = Some(Set {
            item: inner
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
        });
    } else {
        let v: f64 = value.parse().map_err(|_| bad())?;
        // Above the bound, rounding to three decimals overflows to infinity, which is
        // persisted as `null` and does not parse back.
        if !v.is_finite() || !(0.0..=super::MAX_SCALAR).contains(&v) {
            return Err(ParseError::ScalarOutOfRange {
                name: r.name.clone(),
                value: value.to_string(),
            });
        }
        r.kind = ValueType::Scalar;
        r.scalar = Some(Scalar { value: v });
    }
    Ok(())
}

/// Attributes are text unless they parse as a number.
pub fn parse_attributes(text: &str) -> Result<Vec<Attribute>, ParseError> {
    let mut out = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once(':')
            .ok_or_else(|| ParseError::NotNamePair(part.to_string()))?;
        let value = value.trim();
        let mut a = Attribute {
            name: name.trim().to_string(),
            ..Default::default()
        };
        match value.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                a.kind = ValueType::Scalar;
                a.scalar = Some(Scalar { value: v });
            }
            _ => {
                a.kind = ValueType::Text;
                a.text = Some(Text {
                    value: value.to_string(),
                });
            }
        }
        out.push(a);
    }
    Ok(out)
}
