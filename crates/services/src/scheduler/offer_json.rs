//! An offer as `/v2/queue`'s `lastUnusedOffers` shows it (Marathon's `Offer` RAML type,
//! docs/docs/rest-api/public/api/v2/types/offer.raml, written as
//! src/main/scala/mesosphere/marathon/raml/OfferConversion.scala does): id, hostname,
//! agentId, each resource with its role and one of scalar/ranges/set, each attribute.

use corral_api::resources::reservation_role;
use corral_api::v1::{Offer, Ranges, ValueType};
use serde_json::{Map, Value, json};

pub fn offer_json(offer: &Offer) -> Value {
    let resources: Vec<Value> = offer
        .resources
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("name".into(), json!(r.name));
            m.insert("role".into(), json!(reservation_role(r).unwrap_or("*")));
            value_into(
                &mut m,
                r.kind,
                r.scalar.as_ref().map(|s| s.value),
                r.ranges.as_ref(),
                r.set.as_ref().map(|s| &s.item),
            );
            Value::Object(m)
        })
        .collect();
    let attributes: Vec<Value> = offer
        .attributes
        .iter()
        .map(|a| {
            let mut m = Map::new();
            m.insert("name".into(), json!(a.name));
            value_into(
                &mut m,
                a.kind,
                a.scalar.as_ref().map(|s| s.value),
                a.ranges.as_ref(),
                a.set.as_ref().map(|s| &s.item),
            );
            if let (ValueType::Text, Some(text)) = (a.kind, &a.text) {
                m.insert("text".into(), json!(text.value));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "id": offer.id.value,
        "hostname": offer.hostname,
        "agentId": offer.agent_id.value,
        "resources": resources,
        "attributes": attributes,
    })
}

fn value_into(
    m: &mut Map<String, Value>,
    kind: ValueType,
    scalar: Option<f64>,
    ranges: Option<&Ranges>,
    set: Option<&Vec<String>>,
) {
    match kind {
        ValueType::Scalar => {
            m.insert("scalar".into(), json!(scalar.unwrap_or(0.0)));
        }
        ValueType::Ranges => {
            let ranges: Vec<Value> = ranges
                .map(|r| r.range.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|r| json!({"begin": r.begin, "end": r.end}))
                .collect();
            m.insert("ranges".into(), Value::Array(ranges));
        }
        ValueType::Set => {
            m.insert("set".into(), json!(set.cloned().unwrap_or_default()));
        }
        ValueType::Text => {}
    }
}
