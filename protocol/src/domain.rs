//! The vocabulary of the 3456 model. Every enum a person sees carries its Chinese label and its
//! English one; the stable `code` is what is stored and sent on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Defines a field enum with a stable code, a Chinese label and an English label.
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = ($code:literal, $zh:literal, $en:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        pub enum $name { $(#[serde(rename = $code)] $variant),+ }

        // The labels as methods of the apps' enum (`CaseState.CLOSED.label()`); uniffi cannot
        // return `&'static str`, so these are owned copies under the same names.
        #[cfg(feature = "uniffi")]
        #[uniffi::export]
        impl $name {
            /// "中文 (English)", the form shown to a person.
            #[uniffi::method(name = "label")]
            pub fn ffi_label(&self) -> String { self.label() }
            /// The Chinese label alone.
            #[uniffi::method(name = "zh")]
            pub fn ffi_zh(&self) -> String { self.zh().to_string() }
            /// The English label alone.
            #[uniffi::method(name = "en")]
            pub fn ffi_en(&self) -> String { self.en().to_string() }
            /// The label in one language (`Lang.BOTH`: "中文 (English)").
            #[uniffi::method(name = "label_in")]
            pub fn ffi_label_in(&self, lang: crate::domain::Lang) -> String { self.label_in(lang) }
            /// The stable code stored on the phone and sent to HQ.
            #[uniffi::method(name = "code")]
            pub fn ffi_code(&self) -> String { self.code().to_string() }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Stable code stored in SQLite and sent to HQ.
            pub fn code(&self) -> &'static str { match self { $($name::$variant => $code),+ } }
            pub fn zh(&self) -> &'static str { match self { $($name::$variant => $zh),+ } }
            pub fn en(&self) -> &'static str { match self { $($name::$variant => $en),+ } }
            /// "中文 (English)", the form shown to a person.
            pub fn label(&self) -> String { format!("{} ({})", self.zh(), self.en()) }
            /// The label in the store's chosen language.
            pub fn label_in(&self, lang: crate::domain::Lang) -> String { lang.pick(self.zh(), self.en()) }
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
            /// Parse a code, with an error that lists the accepted values.
            pub fn parse(field: &str, code: &str) -> Result<$name, crate::InvalidValue> {
                Self::from_code(code).ok_or_else(|| crate::InvalidValue::new(
                    field,
                    format!("unknown value; expected one of: {}", [$($code),+].join(", ")),
                ))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.label()) }
        }
    };
}

/// The language a person reads labels in, chosen per store on the phone (Chinese first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// 中文 only.
    Zh,
    /// English only.
    En,
    /// "中文 (English)", the default.
    #[default]
    Both,
}

impl Lang {
    /// One text in this language, from its Chinese and English forms.
    pub fn pick(self, zh: &str, en: &str) -> String {
        match self {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
            Lang::Both => format!("{zh} ({en})"),
        }
    }

    /// `zh`, `en` or `both`.
    pub fn parse(field: &str, code: &str) -> Result<Lang, crate::InvalidValue> {
        match code {
            "zh" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            "both" => Ok(Lang::Both),
            _ => Err(crate::InvalidValue::new(field, "unknown value; expected one of: zh, en, both")),
        }
    }
}

labelled_enum!(
    /// The kinds of grid worker in the street, plus the grid leader.
    WorkerRole {
        FullTime = ("full_time", "专职网格员", "full-time grid worker"),
        Volunteer = ("volunteer", "志愿网格员", "volunteer grid worker"),
        LawEnforcement = ("law_enforcement", "执法网格员", "law-enforcement grid worker"),
        GridLeader = ("grid_leader", "网格长", "grid leader"),
    }
);

labelled_enum!(
    /// Who takes a case or task step: a grid worker by kind, or an office or unit. What each may
    /// do is the role table in `roles.rs`.
    Actor {
        FullTime = ("full_time", "专职网格员", "full-time grid worker"),
        Volunteer = ("volunteer", "志愿网格员", "volunteer grid worker"),
        LawEnforcement = ("law_enforcement", "执法网格员", "law-enforcement grid worker"),
        GridLeader = ("grid_leader", "网格长", "grid leader"),
        Community = ("community", "社区", "community office"),
        Street = ("street", "街道", "street office"),
        Unit = ("unit", "处置单位", "handling unit"),
    }
);

impl From<WorkerRole> for Actor {
    fn from(r: WorkerRole) -> Actor {
        match r {
            WorkerRole::FullTime => Actor::FullTime,
            WorkerRole::Volunteer => Actor::Volunteer,
            WorkerRole::LawEnforcement => Actor::LawEnforcement,
            WorkerRole::GridLeader => Actor::GridLeader,
        }
    }
}

labelled_enum!(
    /// The coordinate system a position was given in. Phones' GPS (Android's and iOS's location
    /// services) gives WGS-84; Chinese map SDKs hand out shifted coordinates: AMap and Tencent
    /// GCJ-02, Baidu BD-09. Everything is stored in WGS-84 (`datum.rs` converts).
    Datum {
        Wgs84 = ("wgs84", "WGS-84 (卫星定位)", "WGS-84 (GPS)"),
        Gcj02 = ("gcj02", "GCJ-02 (高德/腾讯地图)", "GCJ-02 (AMap, Tencent Maps)"),
        Bd09 = ("bd09", "BD-09 (百度地图)", "BD-09 (Baidu Maps)"),
    }
);

labelled_enum!(
    /// The kinds of unit a task is routed to (110 非警务分流 and the weekly list's owners).
    UnitKind {
        Justice = ("justice", "司法所/人民调解", "justice office / people's mediation"),
        UrbanManagement = ("urban_management", "城管", "urban management"),
        MarketRegulation = ("market_regulation", "市场监管", "market regulation"),
        Lawyer = ("lawyer", "律师", "lawyer"),
        Property = ("property", "物业公司", "property company"),
        Other = ("other", "其他单位", "other unit"),
    }
);

labelled_enum!(
    /// Day or night patrol (night patrols run 23:00 and later).
    PatrolShift {
        Day = ("day", "日巡", "day patrol"),
        Night = ("night", "夜巡", "night patrol"),
    }
);

labelled_enum!(
    /// 巡查三到: the three things a patrol must show.
    PatrolPart {
        PersonOnSite = ("person_on_site", "人到", "person on site"),
        EyesOn = ("eyes_on", "眼到", "eyes on"),
        Recorded = ("recorded", "记到", "recorded"),
    }
);

labelled_enum!(
    PatrolOutcome {
        NothingFound = ("nothing_found", "未发现问题", "nothing found"),
        Findings = ("findings", "发现问题", "findings reported"),
    }
);

labelled_enum!(
    /// The answer to one checklist item at a checkpoint.
    Answer {
        Ok = ("ok", "正常", "ok"),
        Issue = ("issue", "有问题", "issue found"),
        NotApplicable = ("not_applicable", "不适用", "not applicable"),
    }
);

labelled_enum!(
    /// 居民四访: the four kinds of visit.
    VisitType {
        Routine = ("routine", "常规走访", "routine visit"),
        MustVisit = ("must_visit", "重点必访", "must-visit"),
        FollowUp = ("follow_up", "诉求回访", "follow-up visit"),
        Campaign = ("campaign", "专项走访", "campaign visit"),
    }
);

labelled_enum!(
    VisitOutcome {
        Met = ("met", "见面", "met"),
        NotHome = ("not_home", "不在家", "not home"),
        ByPhone = ("by_phone", "电话联系", "by phone"),
    }
);

labelled_enum!(
    /// Coarse care tags: never diagnoses (PIPL: minimum necessary).
    CareTag {
        Elderly = ("elderly", "高龄", "elderly"),
        LivesAlone = ("lives_alone", "独居", "lives alone"),
        Hardship = ("hardship", "困难", "hardship"),
        Disability = ("disability", "残疾", "disability"),
        SpecialGroup = ("special_group", "特殊群体", "special group"),
    }
);

labelled_enum!(
    /// Needs noted on a visit, as coarse tags.
    NeedTag {
        Health = ("health", "就医", "health care"),
        Living = ("living", "生活照料", "daily living"),
        Financial = ("financial", "经济困难", "financial"),
        Housing = ("housing", "住房", "housing"),
        Dispute = ("dispute", "矛盾纠纷", "dispute"),
        Safety = ("safety", "安全", "safety"),
        Other = ("other", "其他", "other"),
    }
);

labelled_enum!(
    /// 情况五报: the five report categories.
    ReportCategory {
        Dispute = ("dispute", "矛盾纠纷", "dispute"),
        SafetyHazard = ("safety_hazard", "安全隐患", "safety hazard"),
        SecurityLead = ("security_lead", "治安线索", "public-security lead"),
        ResidentRequest = ("resident_request", "民生诉求", "resident's request"),
        Emergency = ("emergency", "突发事件", "emergency"),
    }
);

impl ReportCategory {
    /// Hazards and emergencies are "report at once" (即报).
    pub fn report_at_once(&self) -> bool {
        matches!(self, ReportCategory::SafetyHazard | ReportCategory::Emergency)
    }
}

labelled_enum!(
    Urgency {
        Immediate = ("immediate", "立即上报", "report at once"),
        Normal = ("normal", "一般", "normal"),
    }
);

labelled_enum!(
    /// Where a report came from.
    ReportSource {
        Patrol = ("patrol", "巡查发现", "found on patrol"),
        Visit = ("visit", "走访发现", "found on a visit"),
        Resident = ("resident", "居民反映", "raised by a resident"),
        WeeklyMeeting = ("weekly_meeting", "相约星期五", "weekly meeting list"),
    }
);

labelled_enum!(
    /// Case lifecycle (GB/T 30428 family) with its side states.
    CaseState {
        Reported = ("reported", "上报", "reported"),
        Accepted = ("accepted", "受理", "accepted"),
        Rejected = ("rejected", "不予立案", "rejected"),
        Opened = ("opened", "立案", "opened"),
        Dispatched = ("dispatched", "派遣", "dispatched"),
        Handling = ("handling", "处置", "handling"),
        Verified = ("verified", "核查", "verified"),
        Closed = ("closed", "结案", "closed"),
        FollowedUp = ("followed_up", "回访", "followed up"),
        Archived = ("archived", "归档", "archived"),
        SentBack = ("sent_back", "回退", "sent back"),
        ExtensionRequested = ("extension_requested", "延期申请", "extension asked"),
        Backlog = ("backlog", "挂账", "backlog past deadline"),
    }
);

labelled_enum!(
    /// 问题六清: the six things that must be clear before a case closes.
    ClearItem {
        Facts = ("facts", "情况清", "facts"),
        Responsibility = ("responsibility", "责任清", "responsible unit"),
        Deadline = ("deadline", "时限清", "deadline"),
        Outcome = ("outcome", "结果清", "outcome with after-photo"),
        Feedback = ("feedback", "反馈清", "resident feedback"),
        Ledger = ("ledger", "台账清", "archived in the ledger"),
    }
);

labelled_enum!(
    /// Where an HQ task came from.
    TaskSource {
        Diversion110 = ("diversion_110", "110非警务分流", "110 non-police diversion"),
        Hotline12345 = ("hotline_12345", "12345热线", "12345 hotline"),
        Street = ("street", "街道交办", "street assignment"),
        WeeklyMeeting = ("weekly_meeting", "相约星期五民情清单", "weekly meeting list"),
    }
);

labelled_enum!(
    TaskStatus {
        Dispatched = ("dispatched", "已派发", "dispatched"),
        Acknowledged = ("acknowledged", "已签收", "acknowledged"),
        OnTheWay = ("on_the_way", "在途", "on the way"),
        Arrived = ("arrived", "已到场", "arrived on site"),
        Done = ("done", "已办结", "done"),
        SentBack = ("sent_back", "已退回", "sent back"),
        Cancelled = ("cancelled", "已撤销", "cancelled"),
    }
);

labelled_enum!(
    TaskAction {
        Acknowledge = ("acknowledge", "签收", "acknowledge"),
        OnTheWay = ("on_the_way", "出发", "on the way"),
        Arrive = ("arrive", "到场", "arrive on site"),
        Complete = ("complete", "办结", "complete"),
        SendBack = ("send_back", "退回", "send back"),
    }
);

labelled_enum!(
    /// Where an outbox item stands, as shown in the pending-uploads list.
    UploadState {
        Waiting = ("waiting", "待发送", "waiting to send"),
        Rejected = ("rejected", "被退回", "rejected by HQ"),
        Sent = ("sent", "已送达", "sent"),
    }
);

/// A position as a phone reports it. Validated: finite, lat in [-90, 90], lng in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    pub fn validate(&self, field: &str) -> Result<(), crate::InvalidValue> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(crate::InvalidValue::new(format!("{field}.lat"), "latitude must be between -90 and 90"));
        }
        if !self.lng.is_finite() || !(-180.0..=180.0).contains(&self.lng) {
            return Err(crate::InvalidValue::new(format!("{field}.lng"), "longitude must be between -180 and 180"));
        }
        Ok(())
    }
}

/// Mask a phone number for display: keep the first 3 and last 4 digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_codes_round_trip() {
        for s in CaseState::ALL {
            assert_eq!(CaseState::from_code(s.code()), Some(*s));
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{}\"", s.code()));
        }
        assert_eq!(ReportCategory::SafetyHazard.label(), "安全隐患 (safety hazard)");
        assert!(ReportCategory::parse("category", "fire").is_err());
    }

    #[test]
    fn phone_is_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
    }
}
