//! The grid configuration a device is initialised from: the street's communities and grids,
//! its workers, the households of the worker's grids, and any tasks already dispatched.
//! Until HQ enrolment exists it is a local JSON file; later HQ's pull delivers the same data.

use serde::{Deserialize, Serialize};

use crate::domain::{CareTag, WorkerRole};
use crate::geo::{self, Ring};
use crate::records::TaskInput;
use crate::rules::{MAX_AREA_NAME_CHARS, MAX_LABEL_CHARS, MAX_PERSON_NAME_CHARS};
use crate::template::Template;
use crate::validate;
use crate::{InvalidValue, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GridConfig {
    pub street: Street,
    pub communities: Vec<Community>,
    pub grids: Vec<Grid>,
    pub workers: Vec<Worker>,
    #[serde(default)]
    pub households: Vec<Household>,
    #[serde(default)]
    pub tasks: Vec<TaskInput>,
    /// A checklist template published by HQ; the shipped default 3456 template otherwise.
    #[serde(default)]
    pub template: Option<Template>,
    /// Volunteer teams (志愿服务队) of the communities; a worker belongs to one at most.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Team>,
    /// Buildings (楼栋) under the grids, where a building party group sits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buildings: Vec<Building>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: String,
    pub name: String,
    pub community_id: String,
    /// Workers of the team (volunteers mostly); each in one team at most.
    #[serde(default)]
    pub member_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Building {
    pub id: String,
    pub grid_id: String,
    /// e.g. "3栋".
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Street {
    /// 9-digit area code.
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Community {
    pub id: String,
    /// 12-digit area code.
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grid {
    pub id: String,
    /// 15-digit area code.
    pub code: String,
    pub community_id: String,
    pub name: String,
    /// Boundary ring, GeoJSON order `[lng, lat]`.
    /// [lng, lat] pairs of the boundary polygon.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<f64>>))]
    pub boundary: Ring,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Worker {
    pub id: String,
    pub name: String,
    pub role: WorkerRole,
    pub grid_ids: Vec<String>,
}

/// Minimal personal data: a label for the door, a name to greet, a phone (shown masked),
/// coarse care tags. No national id numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Household {
    pub id: String,
    pub grid_id: String,
    /// e.g. "3栋2单元301".
    pub label: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub care_tags: Vec<CareTag>,
    /// 重点必访: default true when any care tag is present.
    #[serde(default)]
    pub must_visit: Option<bool>,
}

impl Household {
    pub fn is_must_visit(&self) -> bool {
        self.must_visit.unwrap_or(!self.care_tags.is_empty())
    }
}

impl GridConfig {
    pub fn from_json(json: &str) -> Result<GridConfig> {
        let c: GridConfig = serde_json::from_str(json)
            .map_err(|e| InvalidValue::new("config", format!("not a valid grid configuration: {e}")))?;
        c.validate()?;
        Ok(c)
    }

    /// Every id unique and every reference resolvable, codes well-formed, boundaries valid.
    pub fn validate(&self) -> Result<()> {
        use std::collections::HashSet;
        validate::area_code("street.code", &self.street.code, 9)?;
        validate::required_text("street.name", &self.street.name, MAX_AREA_NAME_CHARS)?;
        let mut communities = HashSet::new();
        for (i, c) in self.communities.iter().enumerate() {
            validate::id(&format!("communities[{i}].id"), &c.id)?;
            validate::area_code(&format!("communities[{i}].code"), &c.code, 12)?;
            validate::required_text(&format!("communities[{i}].name"), &c.name, MAX_AREA_NAME_CHARS)?;
            if !c.code.starts_with(&self.street.code) {
                return Err(InvalidValue::new(format!("communities[{i}].code"), "must start with the street's code"));
            }
            if !communities.insert(c.id.as_str()) {
                return Err(InvalidValue::new(format!("communities[{i}].id"), "duplicate id"));
            }
        }
        let mut grids = HashSet::new();
        for (i, g) in self.grids.iter().enumerate() {
            validate::id(&format!("grids[{i}].id"), &g.id)?;
            validate::area_code(&format!("grids[{i}].code"), &g.code, 15)?;
            validate::required_text(&format!("grids[{i}].name"), &g.name, MAX_AREA_NAME_CHARS)?;
            geo::validate_ring(&format!("grids[{i}].boundary"), &g.boundary)?;
            if !communities.contains(g.community_id.as_str()) {
                return Err(InvalidValue::new(format!("grids[{i}].community_id"), "no such community"));
            }
            if !grids.insert(g.id.as_str()) {
                return Err(InvalidValue::new(format!("grids[{i}].id"), "duplicate id"));
            }
        }
        let mut workers = HashSet::new();
        for (i, w) in self.workers.iter().enumerate() {
            validate::id(&format!("workers[{i}].id"), &w.id)?;
            validate::required_text(&format!("workers[{i}].name"), &w.name, MAX_PERSON_NAME_CHARS)?;
            if w.grid_ids.iter().any(|g| !grids.contains(g.as_str())) {
                return Err(InvalidValue::new(format!("workers[{i}].grid_ids"), "names a grid that does not exist"));
            }
            if !workers.insert(w.id.as_str()) {
                return Err(InvalidValue::new(format!("workers[{i}].id"), "duplicate id"));
            }
        }
        let mut households = HashSet::new();
        for (i, h) in self.households.iter().enumerate() {
            validate::id(&format!("households[{i}].id"), &h.id)?;
            validate::required_text(&format!("households[{i}].label"), &h.label, MAX_LABEL_CHARS)?;
            validate::required_text(&format!("households[{i}].name"), &h.name, MAX_PERSON_NAME_CHARS)?;
            if let Some(p) = &h.phone {
                if p.len() < 5 || p.len() > 20 || !p.chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-') {
                    return Err(InvalidValue::new(format!("households[{i}].phone"), "must be 5..20 digits"));
                }
            }
            if !grids.contains(h.grid_id.as_str()) {
                return Err(InvalidValue::new(format!("households[{i}].grid_id"), "no such grid"));
            }
            if !households.insert(h.id.as_str()) {
                return Err(InvalidValue::new(format!("households[{i}].id"), "duplicate id"));
            }
        }
        for (i, t) in self.tasks.iter().enumerate() {
            t.validate(&format!("tasks[{i}]"))?;
        }
        let (mut teams, mut members) = (HashSet::new(), HashSet::new());
        for (i, t) in self.teams.iter().enumerate() {
            validate::id(&format!("teams[{i}].id"), &t.id)?;
            validate::required_text(&format!("teams[{i}].name"), &t.name, MAX_AREA_NAME_CHARS)?;
            if !communities.contains(t.community_id.as_str()) {
                return Err(InvalidValue::new(format!("teams[{i}].community_id"), "no such community"));
            }
            if !teams.insert(t.id.as_str()) {
                return Err(InvalidValue::new(format!("teams[{i}].id"), "duplicate id"));
            }
            for m in &t.member_ids {
                if !workers.contains(m.as_str()) {
                    return Err(InvalidValue::new(format!("teams[{i}].member_ids"), format!("no such worker {m}")));
                }
                if !members.insert(m.as_str()) {
                    return Err(InvalidValue::new(
                        format!("teams[{i}].member_ids"),
                        format!("{m} is already in a team"),
                    ));
                }
            }
        }
        let mut buildings = HashSet::new();
        for (i, b) in self.buildings.iter().enumerate() {
            validate::id(&format!("buildings[{i}].id"), &b.id)?;
            validate::required_text(&format!("buildings[{i}].name"), &b.name, MAX_LABEL_CHARS)?;
            if !grids.contains(b.grid_id.as_str()) {
                return Err(InvalidValue::new(format!("buildings[{i}].grid_id"), "no such grid"));
            }
            if !buildings.insert(b.id.as_str()) {
                return Err(InvalidValue::new(format!("buildings[{i}].id"), "duplicate id"));
            }
        }
        if let Some(t) = &self.template {
            t.validate()?;
        }
        Ok(())
    }

    /// A small example configuration (one community, two grids, three workers), used by
    /// `gridpatrol device sample-config` and by tests.
    pub fn sample() -> GridConfig {
        serde_json::from_str(SAMPLE_CONFIG_JSON).expect("sample config is valid")
    }
}

pub const SAMPLE_CONFIG_JSON: &str = include_str!("sample_config.json");

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing the importer (fuzz/regressions/grid_config/float_roundtrip.json): a
    /// boundary coordinate given with 17 digits came back one unit in the last place off after
    /// being written and read again. Coordinates travel HQ → phone → HQ: they must not drift.
    #[test]
    fn coordinates_survive_a_write_and_read_exactly() {
        let mut c = GridConfig::sample();
        c.grids[1].boundary[1][0] = "121.48255555555556".parse().unwrap();
        let text = serde_json::to_string(&c).unwrap().replace("121.48255555555556", "121.482555555555556");
        let read = GridConfig::from_json(&text).unwrap();
        let again = GridConfig::from_json(&serde_json::to_string(&read).unwrap()).unwrap();
        assert_eq!(again.grids[1].boundary, read.grids[1].boundary);
        let regression = include_str!("../../fuzz/regressions/grid_config/float_roundtrip.json");
        let first = GridConfig::from_json(regression).unwrap();
        let second = GridConfig::from_json(&serde_json::to_string(&first).unwrap()).unwrap();
        assert_eq!(second.grids, first.grids);
    }
}
