//! The visit and report forms: what each field takes, and validation by the core with every
//! error naming its field — the same rule functions the recording calls apply.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::grid::{household_row, HouseholdRow};
use super::t;
use crate::domain::*;
use crate::inputs::{ReportInput, VisitInput};
use crate::recording::{report_source_refs, report_urgency};
use crate::store::Store;
use crate::{validate, CoreError, Result};
use gridpatrol_protocol::rules::{self, MAX_DESCRIPTION_CHARS, MAX_NOTE_CHARS, MAX_PHOTOS, MAX_PLACE_CHARS};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AnswerChoice {
    pub value: Answer,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitTypeChoice {
    pub value: VisitType,
    pub label: String,
    /// Asks the resident's satisfaction (1..5) and names the case it follows up: follow-ups only.
    pub follow_up: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutcomeChoice {
    pub value: VisitOutcome,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NeedChoice {
    pub value: NeedTag,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CategoryChoice {
    pub value: ReportCategory,
    pub label: String,
    /// 即报: reported at once (urgency fixed to immediate).
    pub report_at_once: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UrgencyChoice {
    pub value: Urgency,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GridChoice {
    pub id: String,
    pub name: String,
}

/// One input field: its name in the input record, its label, whether it must be filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldSpec {
    pub field: String,
    pub label: String,
    pub required: bool,
    pub hint: String,
}

/// A field the core would refuse, and why (in the store's language where the rule has words
/// of its own; otherwise the rule's English reason).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitForm {
    pub household: HouseholdRow,
    pub visit_types: Vec<VisitTypeChoice>,
    pub outcomes: Vec<OutcomeChoice>,
    pub needs: Vec<NeedChoice>,
    /// Cases in the household's grid a follow-up visit may name (`VisitInput.case_id`).
    pub follow_up_cases: Vec<super::CaseRow>,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReportForm {
    pub grids: Vec<GridChoice>,
    pub categories: Vec<CategoryChoice>,
    pub urgencies: Vec<UrgencyChoice>,
    pub fields: Vec<FieldSpec>,
    pub max_photos: u32,
    pub max_description_chars: u32,
}

pub(crate) fn answer_choices(lang: Lang) -> Vec<AnswerChoice> {
    Answer::ALL.iter().map(|a| AnswerChoice { value: *a, label: a.label_in(lang) }).collect()
}

fn field(lang: Lang, name: &str, zh: &str, en: &str, required: bool, hint: String) -> FieldSpec {
    FieldSpec { field: name.to_string(), label: t(lang, zh, en), required, hint }
}

/// Collects every field error instead of stopping at the first.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn check<T>(&mut self, field: &str, r: std::result::Result<T, impl Into<CoreError>>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let e: CoreError = e.into();
                let (f, message) = match e {
                    CoreError::InvalidInput { field, reason } => (field, reason),
                    CoreError::RoleNotAllowed { field, reason } => (field, reason),
                    other => (field.to_string(), other.to_string()),
                };
                self.0.push(FieldError { field: f, message });
                None
            }
        }
    }
}

impl Store {
    /// The visit form for one household of this worker's grids.
    pub fn visit_form(&self, household_id: &str) -> Result<VisitForm> {
        let lang = self.language();
        let refdata = self.refdata();
        let now_ms = self.now_ms();
        let interval = refdata.active_template.visits.must_visit_interval_days;
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let household = household_row(&tx, household_id, now_ms, interval, lang)?
                .filter(|h| refdata.is_own_grid(&h.grid_id))
                .ok_or_else(|| CoreError::not_found("household", household_id))?;
            let filter = super::CaseFilter { grid_id: Some(household.grid_id.clone()), ..Default::default() };
            let follow_up_cases = super::cases::case_rows(&tx, &refdata, &filter, now_ms, lang)?;
            let note_hint =
                t(lang, &format!("最多 {MAX_NOTE_CHARS} 字"), &format!("at most {MAX_NOTE_CHARS} characters"));
            Ok(VisitForm {
                household,
                visit_types: VisitType::ALL
                    .iter()
                    .map(|v| VisitTypeChoice {
                        value: *v,
                        label: v.label_in(lang),
                        follow_up: *v == VisitType::FollowUp,
                    })
                    .collect(),
                outcomes: VisitOutcome::ALL
                    .iter()
                    .map(|o| OutcomeChoice { value: *o, label: o.label_in(lang) })
                    .collect(),
                needs: NeedTag::ALL.iter().map(|n| NeedChoice { value: *n, label: n.label_in(lang) }).collect(),
                follow_up_cases,
                fields: vec![
                    field(lang, "visit_type", "走访类型", "kind of visit", true, String::new()),
                    field(lang, "outcome", "走访结果", "outcome", true, String::new()),
                    field(lang, "needs", "诉求", "needs", false, String::new()),
                    field(lang, "note", "备注", "note", false, note_hint),
                    field(
                        lang,
                        "satisfaction",
                        "满意度",
                        "satisfaction",
                        false,
                        t(
                            lang,
                            "仅诉求回访：1–5，见到居民时必填",
                            "follow-ups only: 1–5, required when the resident was reached",
                        ),
                    ),
                    field(
                        lang,
                        "case_id",
                        "回访案件",
                        "case followed up",
                        false,
                        t(lang, "仅诉求回访，必填", "follow-ups only, required"),
                    ),
                ],
            })
        })
    }

    /// Every field of a visit the core would refuse; empty when `record_visit` would accept it.
    pub fn validate_visit(&self, input: &VisitInput) -> Result<Vec<FieldError>> {
        let refdata = self.refdata();
        let mut e = Errors::default();
        let household = e.check("household_id", validate::id("household_id", &input.household_id));
        e.check("note", validate::optional_text("note", input.note.as_deref(), MAX_NOTE_CHARS));
        if let Some(l) = input.location {
            e.check("location", rules::location("location", l, input.datum));
        }
        if let Some(at) = input.occurred_at {
            e.check("occurred_at", validate::plausible_time("occurred_at", at));
        }
        e.check(
            "satisfaction",
            rules::visit_follow_up(input.visit_type, input.outcome, input.satisfaction, input.case_id.as_deref()),
        );
        if let Some(h) = household {
            let grid: Option<String> = self.read(|c| {
                Ok(c.prepare_cached("SELECT grid_id FROM household WHERE id = ?1")?
                    .query_row([&h], |r| r.get(0))
                    .optional()?)
            })?;
            match grid {
                Some(g) => {
                    e.check("household_id", refdata.own_grid("household_id", &g));
                }
                None => {
                    e.check("household_id", Err::<(), _>(CoreError::invalid("household_id", "no such household")));
                }
            }
        }
        Ok(e.0)
    }

    /// The report form: my grids, the five categories (即报 marked), urgency, the fields.
    pub fn report_form(&self) -> Result<ReportForm> {
        let lang = self.language();
        let refdata = self.refdata();
        let desc_hint = t(
            lang,
            &format!("必填，最多 {MAX_DESCRIPTION_CHARS} 字"),
            &format!("required, at most {MAX_DESCRIPTION_CHARS} characters"),
        );
        Ok(ReportForm {
            grids: refdata
                .worker_grids
                .iter()
                .filter_map(|g| refdata.grids.get(g).map(|r| GridChoice { id: g.clone(), name: r.name.clone() }))
                .collect(),
            categories: ReportCategory::ALL
                .iter()
                .map(|c| CategoryChoice { value: *c, label: c.label_in(lang), report_at_once: c.report_at_once() })
                .collect(),
            urgencies: Urgency::ALL.iter().map(|u| UrgencyChoice { value: *u, label: u.label_in(lang) }).collect(),
            fields: vec![
                field(lang, "grid_id", "网格", "grid", true, String::new()),
                field(lang, "category", "类别", "category", true, String::new()),
                field(
                    lang,
                    "urgency",
                    "紧急程度",
                    "urgency",
                    false,
                    t(lang, "安全隐患、突发事件立即上报", "hazards and emergencies are reported at once"),
                ),
                field(lang, "location", "位置", "location", true, String::new()),
                field(
                    lang,
                    "place_name",
                    "地点",
                    "place",
                    false,
                    t(lang, &format!("最多 {MAX_PLACE_CHARS} 字"), &format!("at most {MAX_PLACE_CHARS} characters")),
                ),
                field(lang, "description", "情况描述", "description", true, desc_hint),
                field(lang, "people_involved", "涉及人数", "people involved", false, String::new()),
                field(
                    lang,
                    "photos",
                    "照片",
                    "photos",
                    false,
                    t(lang, &format!("最多 {MAX_PHOTOS} 张"), &format!("at most {MAX_PHOTOS}")),
                ),
            ],
            max_photos: MAX_PHOTOS as u32,
            max_description_chars: MAX_DESCRIPTION_CHARS as u32,
        })
    }

    /// Every field of a report the core would refuse (photos are checked when filed).
    pub fn validate_report(&self, input: &ReportInput) -> Result<Vec<FieldError>> {
        let refdata = self.refdata();
        let mut e = Errors::default();
        if let Some(g) = e.check("grid_id", validate::id("grid_id", &input.grid_id)) {
            e.check("grid_id", refdata.own_grid("grid_id", &g));
        }
        e.check("location", rules::location("location", input.location, input.datum));
        e.check("description", validate::required_text("description", &input.description, MAX_DESCRIPTION_CHARS));
        e.check("place_name", validate::optional_text("place_name", input.place_name.as_deref(), MAX_PLACE_CHARS));
        e.check("people_involved", rules::people_involved("people_involved", input.people_involved));
        e.check("urgency", report_urgency(input.category, input.urgency));
        e.check("source", report_source_refs(input));
        if input.photos.len() > MAX_PHOTOS {
            e.check("photos", Err::<(), _>(CoreError::invalid("photos", format!("at most {MAX_PHOTOS} photos"))));
        }
        Ok(e.0)
    }
}
