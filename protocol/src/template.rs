//! Checklist templates. No public source fixes the 3456 items, so they are data: HQ publishes
//! versions, the device keeps every version it has seen, and each patrol remembers the version
//! it started under, so a newer template never invalidates older records.

use serde::{Deserialize, Serialize};

use crate::domain::ClearItem;
use crate::{InvalidValue, Result};

/// The default 3456 template shipped with the core, labelled as a default.
pub const DEFAULT_TEMPLATE_JSON: &str = include_str!("default_template.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Template {
    pub id: String,
    pub version: u32,
    #[serde(default)]
    pub is_default: bool,
    pub name: String,
    pub patrol: PatrolTemplate,
    pub visits: VisitTemplate,
    pub resolution: ResolutionTemplate,
    /// HQ wants each photo's original (full size, metadata stripped but the location) kept on
    /// the phone besides the downscaled copy that is stored and sent. Default false; templates
    /// written before this field existed parse as false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_original_photos: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PatrolTemplate {
    /// Trusted check-ins a patrol needs before "person on site" (人到) counts as complete.
    pub min_checkins: u32,
    /// The GPS accuracy (metres) a fix needs to count for 人到; weaker fixes are recorded and
    /// flagged, never refused (`rules::trusted_fix`). Default 50 m.
    #[serde(default = "default_max_accuracy_m")]
    pub max_accuracy_m: f64,
    pub checklist: Vec<TemplateItem>,
}

fn default_max_accuracy_m() -> f64 {
    50.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TemplateItem {
    pub id: String,
    pub zh: String,
    pub en: String,
}

impl TemplateItem {
    pub fn label(&self) -> String {
        format!("{} ({})", self.zh, self.en)
    }

    /// The item in one language.
    pub fn label_in(&self, lang: crate::domain::Lang) -> String {
        lang.pick(&self.zh, &self.en)
    }
}

#[cfg(feature = "uniffi")]
#[uniffi::export]
impl TemplateItem {
    /// "中文 (English)", as the checklist shows it.
    #[uniffi::method(name = "label")]
    pub fn ffi_label(&self) -> String {
        self.label()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitTemplate {
    /// Must-visit households not visited within this many days show up in "today".
    pub must_visit_interval_days: u32,
    pub routine_interval_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ResolutionTemplate {
    /// Clear items required before a case may close (the default: all six).
    pub required: Vec<ClearItem>,
}

impl Template {
    pub fn default_3456() -> Template {
        serde_json::from_str(DEFAULT_TEMPLATE_JSON).expect("shipped default template is valid JSON")
    }

    pub fn from_json(json: &str) -> Result<Template> {
        let t: Template = serde_json::from_str(json)
            .map_err(|e| InvalidValue::new("template", format!("not a valid template: {e}")))?;
        t.validate()?;
        Ok(t)
    }

    pub fn validate(&self) -> Result<()> {
        if self.id.trim().is_empty() || self.id.len() > 64 {
            return Err(InvalidValue::new("template.id", "must be 1..64 characters"));
        }
        if self.version == 0 {
            return Err(InvalidValue::new("template.version", "must be 1 or more"));
        }
        if self.patrol.checklist.is_empty() || self.patrol.checklist.len() > 200 {
            return Err(InvalidValue::new("template.patrol.checklist", "must have 1..200 items"));
        }
        let mut seen = std::collections::HashSet::new();
        for item in &self.patrol.checklist {
            if item.id.trim().is_empty() || item.id.len() > 64 || !seen.insert(item.id.as_str()) {
                return Err(InvalidValue::new(
                    "template.patrol.checklist",
                    "item ids must be unique, 1..64 characters",
                ));
            }
        }
        if !(1.0..=crate::rules::MAX_ACCURACY_M).contains(&self.patrol.max_accuracy_m) {
            return Err(InvalidValue::new("template.patrol.max_accuracy_m", "must be 1..100000 metres"));
        }
        if self.patrol.min_checkins == 0 || self.patrol.min_checkins > 100 {
            return Err(InvalidValue::new("template.patrol.min_checkins", "must be 1..100"));
        }
        if self.visits.must_visit_interval_days == 0 || self.visits.must_visit_interval_days > 366 {
            return Err(InvalidValue::new("template.visits.must_visit_interval_days", "must be 1..366"));
        }
        Ok(())
    }

    pub fn checklist_item(&self, id: &str) -> Option<&TemplateItem> {
        self.patrol.checklist.iter().find(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_is_valid_and_labelled_default() {
        let t = Template::default_3456();
        t.validate().unwrap();
        assert!(t.is_default);
        assert_eq!(t.resolution.required.len(), 6);
    }

    #[test]
    fn bad_templates_are_refused_with_field() {
        let mut t = Template::default_3456();
        t.patrol.checklist.push(t.patrol.checklist[0].clone());
        match t.validate() {
            Err(InvalidValue { field, .. }) => assert_eq!(field, "template.patrol.checklist"),
            other => panic!("{other:?}"),
        }
        assert!(Template::from_json("{").is_err());
    }
}
