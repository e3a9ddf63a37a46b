//! Scalar quantities by interned resource name: shares, quota and role allocations are sums
//! of scalars, kept as `Vec<f64>` indexed by a small integer instead of string-keyed maps.

/// Interned scalar names. `cpus`, `mem`, `disk` and `gpus` are always 0..4: the resources
/// that count for fairness, as in Mesos' DRF sorter.
#[derive(Debug, Clone)]
pub struct ScalarNames {
    names: Vec<String>,
}

/// The ids of the resources that count for dominant shares.
pub const FAIR: [usize; 4] = [0, 1, 2, 3];
pub const CPUS: usize = 0;
pub const MEM: usize = 1;

impl Default for ScalarNames {
    fn default() -> Self {
        ScalarNames {
            names: ["cpus", "mem", "disk", "gpus"].map(String::from).to_vec(),
        }
    }
}

impl ScalarNames {
    /// The id of `name`, interning it when new.
    pub fn id(&mut self, name: &str) -> usize {
        match self.find(name) {
            Some(id) => id,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        }
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn name(&self, id: usize) -> &str {
        self.names.get(id).map(String::as_str).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Amounts by scalar id; missing ids are 0. Kept to three decimals, as `Resources` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scalars(Vec<f64>);

impl Scalars {
    pub fn get(&self, id: usize) -> f64 {
        self.0.get(id).copied().unwrap_or(0.0)
    }

    pub fn add(&mut self, id: usize, amount: f64) {
        if self.0.len() <= id {
            self.0.resize(id + 1, 0.0);
        }
        self.0[id] = round(self.0[id] + amount);
    }

    pub fn add_all(&mut self, other: &Scalars) {
        for (id, amount) in other.iter() {
            self.add(id, amount);
        }
    }

    pub fn sub_all(&mut self, other: &Scalars) {
        for (id, amount) in other.iter() {
            self.add(id, -amount);
        }
    }

    /// (id, amount) of every non-zero amount.
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.0
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, amount)| *amount != 0.0)
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|a| *a == 0.0)
    }

    /// The largest share of these amounts in `totals` over the fair resources.
    pub fn dominant_share(&self, totals: &Scalars) -> f64 {
        FAIR.iter()
            .filter(|id| totals.get(**id) > 0.0)
            .map(|id| self.get(*id) / totals.get(*id))
            .fold(0.0, f64::max)
    }
}

/// Fixed point with three decimals, as Mesos and the SDK's `Resources` keep scalars.
pub fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
