//! The one route table: the router is built from it and `/openapi.json` is generated from it,
//! so every route is documented and every documented route exists.

use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};

use crate::admin::{access, cases, figures, meetings, org, records, tasks, teams, units, wipe};
use crate::http::AppState;
use crate::phone::{attachments, enrol, pull, push, wipe as phone_wipe};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential.
    Public,
    /// A device token (and the `x-gridpatrol-protocol` header).
    Phone,
    /// An operator token; the operator's scope applies.
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    /// JSON, described by the named schema.
    Json(&'static str),
    /// Optional JSON, described by the named schema.
    OptionalJson(&'static str),
    /// Raw bytes (attachment chunks).
    Bytes,
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub body: Body,
    /// Schema name of a JSON response, or "csv" / "text" / "bytes".
    pub response: &'static str,
    /// Success status.
    pub status: u16,
    /// The query parameters, from the handler's query type.
    pub query: Option<fn() -> Vec<utoipa::openapi::path::Parameter>>,
    pub handler: MethodRouter<AppState>,
}

/// The query parameters of `Q` (the type a handler's `ApiQuery` reads), for the document.
fn query<Q: utoipa::IntoParams>() -> Vec<utoipa::openapi::path::Parameter> {
    Q::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query))
}

macro_rules! route {
    ($m:ident $path:literal, $access:ident, $body:expr, $status:literal $resp:literal, $summary:literal, $h:expr) => {
        route!($m $path, $access, $body, $status $resp, $summary, $h, None)
    };
    ($m:ident $path:literal, $access:ident, $body:expr, $status:literal $resp:literal, $summary:literal, $h:expr, query = $q:ty) => {
        route!($m $path, $access, $body, $status $resp, $summary, $h, Some(query::<$q>))
    };
    ($m:ident $path:literal, $access:ident, $body:expr, $status:literal $resp:literal, $summary:literal, $h:expr, $query:expr) => {
        Route {
            method: Method::$m,
            path: $path,
            summary: $summary,
            access: Access::$access,
            body: $body,
            response: $resp,
            status: $status,
            query: $query,
            handler: on(MethodFilter::$m, $h),
        }
    };
}

use Body::{Bytes, Json, OptionalJson};
const NONE: Body = Body::None;

pub fn table() -> Vec<Route> {
    vec![
        route!(GET "/healthz", Public, NONE, 200 "Health", "Liveness and database check", crate::http::healthz),
        route!(GET "/readyz", Public, NONE, 200 "Ready",
            "Readiness: 503 `unavailable` while shutting down or when the database does not answer", crate::ops::readyz),
        route!(GET "/metrics", Operator, NONE, 200 "text",
            "Prometheus metrics of this instance (requests, pushes, operations by outcome, push latency, pull bytes)",
            crate::ops::metrics),
        route!(GET "/openapi.json", Public, NONE, 200 "OpenApi", "This document", crate::http::openapi_json),
        // ---- phones ----
        route!(POST "/v1/enrol", Public, Json("EnrolRequest"), 200 "EnrolResponse",
            "Trade a one-time enrolment code for a device token and the first reference snapshot", enrol::enrol),
        route!(POST "/v1/fork", Phone, Json("ForkRequest"), 200 "ForkResponse",
            "A copy of a store (cloned phone, restored backup) takes a device identity of its own", enrol::fork),
        route!(POST "/v1/push", Phone, Json("PushRequest"), 200 "PushResponse",
            "Upload outbox operations; applied exactly once with the device's cursor", push::push),
        route!(POST "/v1/pull", Phone, Json("PullRequest"), 200 "PullResponse",
            "Download reference data, task and case changes for the device's worker", pull::pull),
        route!(PUT "/v1/attachments/{sha256}", Phone, Bytes, 200 "AttachmentStatus",
            "Upload one chunk of a photo (Content-Range: bytes start-end/total)", attachments::put_chunk),
        route!(GET "/v1/attachments/{sha256}", Phone, NONE, 200 "AttachmentStatus",
            "How much of a photo HQ has (to resume an upload)", attachments::status),
        route!(POST "/v1/wipe", Phone, Json("WipeConfirmation"), 200 "WipeConfirmed",
            "A phone ordered wiped confirms it erased its store and photos (the wiped token is accepted for this only)",
            phone_wipe::confirm),
        route!(POST "/v1/discarded", Phone, Json("DiscardReport"), 200 "DiscardRecorded",
            "A handed-back phone reports the unsent work it discarded under HQ's authorisation", phone_wipe::discarded),
        // ---- street office: organisation ----
        route!(GET "/v1/admin/me", Operator, NONE, 200 "Me", "The calling operator and scope", access::me),
        route!(GET "/v1/admin/street", Operator, NONE, 200 "Street", "The street", org::get_street),
        route!(PUT "/v1/admin/street", Operator, Json("StreetInput"), 200 "Street", "Name the street (street admin)", org::put_street),
        route!(POST "/v1/admin/import", Operator, Json("GridConfig"), 200 "ImportSummary",
            "Set up the street from a whole grid configuration (street admin)", org::import),
        route!(GET "/v1/admin/communities", Operator, NONE, 200 "CommunityList", "Communities in scope", org::list_communities),
        route!(POST "/v1/admin/communities", Operator, Json("CommunityInput"), 201 "Community",
            "Create a community (street admin)", org::create_community),
        route!(PUT "/v1/admin/communities/{id}", Operator, Json("CommunityUpdate"), 200 "Community",
            "Rename or recode a community (street admin)", org::update_community),
        route!(GET "/v1/admin/grids", Operator, NONE, 200 "GridList", "Grids in scope, boundaries as GeoJSON", org::list_grids),
        route!(POST "/v1/admin/grids", Operator, Json("GridInput"), 201 "GridOut",
            "Create a grid with a GeoJSON Polygon boundary", org::create_grid),
        route!(PUT "/v1/admin/grids/{id}", Operator, Json("GridUpdate"), 200 "GridOut", "Change a grid", org::update_grid),
        route!(GET "/v1/admin/workers", Operator, NONE, 200 "WorkerList", "Grid workers in scope", org::list_workers),
        route!(POST "/v1/admin/workers", Operator, Json("WorkerInput"), 201 "WorkerOut", "Add a grid worker", org::create_worker),
        route!(PUT "/v1/admin/workers/{id}", Operator, Json("WorkerUpdate"), 200 "WorkerOut",
            "Change a worker's role or grids (the worker's phone gets a new snapshot)", org::update_worker),
        route!(POST "/v1/admin/workers/{id}/enrolment-codes", Operator, OptionalJson("CodeInput"), 201 "CodeOut",
            "A one-time enrolment code for the worker's phone", access::create_enrolment_code),
        route!(GET "/v1/admin/households", Operator, NONE, 200 "HouseholdList",
            "Households in scope (phones masked); ?grid_id= filters", org::list_households, query = crate::admin::org::HouseholdQuery),
        route!(POST "/v1/admin/households", Operator, Json("HouseholdInput"), 201 "HouseholdOut", "Add a household", org::create_household),
        route!(PUT "/v1/admin/households/{id}", Operator, Json("HouseholdUpdate"), 200 "HouseholdOut",
            "Change a household", org::update_household),
        route!(GET "/v1/admin/templates", Operator, NONE, 200 "TemplateList", "Checklist template versions", org::list_templates),
        route!(POST "/v1/admin/templates", Operator, Json("Template"), 201 "Template",
            "Publish a checklist template version (street admin)", org::publish_template),
        // ---- street office: access ----
        route!(GET "/v1/admin/operators", Operator, NONE, 200 "OperatorList", "Operators (street admin)", access::list_operators),
        route!(POST "/v1/admin/operators/{id}/revoke", Operator, NONE, 200 "OperatorRevoked",
            "Revoke an operator's account: its token is refused from now on (street admin)", access::revoke_operator),
        route!(GET "/v1/admin/audit", Operator, NONE, 200 "AuditList",
            "The audit trail: who saw, exported or changed what (?actor=&action=&target=&from=&to=&limit=; street admin)",
            access::list_audit, query = crate::admin::access::AuditQuery),
        route!(POST "/v1/admin/operators", Operator, Json("OperatorInput"), 201 "OperatorCreated",
            "Create an operator; the token is shown once (street admin)", access::create_operator),
        route!(GET "/v1/admin/devices", Operator, NONE, 200 "DeviceList", "Enrolled devices in scope", access::list_devices),
        route!(POST "/v1/admin/devices/{device_id}/revoke", Operator, NONE, 200 "Revoked",
            "Revoke a lost device's token", access::revoke_device),
        route!(POST "/v1/admin/devices/{device_id}/wipe", Operator, NONE, 200 "WipeOrdered",
            "Revoke a lost device and order it wiped at its next contact (audited with its unsent counts)", wipe::order_wipe),
        route!(POST "/v1/admin/devices/{device_id}/authorise-discard", Operator, NONE, 200 "DiscardAuthorised",
            "Let a handed-back device discard its unsent work at its next switch of worker (once; audited)",
            wipe::authorise_discard),
        // ---- street office: work ----
        route!(GET "/v1/admin/tasks", Operator, NONE, 200 "TaskList", "Tasks in scope", tasks::list_tasks),
        route!(POST "/v1/admin/tasks", Operator, Json("DispatchInput"), 201 "TaskOut",
            "Dispatch a task (110 diversion, 12345, street, weekly meeting) to a worker", tasks::dispatch),
        route!(POST "/v1/admin/tasks/{id}/reassign", Operator, Json("ReassignInput"), 200 "TaskOut",
            "Reassign a task to another worker", tasks::reassign),
        route!(POST "/v1/admin/tasks/{id}/steps", Operator, Json("TaskStepInput"), 200 "TaskOut",
            "A unit's field step on a task routed to it: acknowledge, on the way, arrive (GPS fix), complete, send back",
            tasks::step),
        route!(GET "/v1/admin/meetings", Operator, NONE, 200 "MeetingList",
            "相约星期五 meetings with their 民情清单, each item open, closed or overdue (?community_id=)",
            meetings::list_meetings, query = crate::admin::meetings::MeetingQuery),
        route!(POST "/v1/admin/meetings", Operator, Json("MeetingInput"), 201 "MeetingOut",
            "Record a weekly meeting and its list; every item becomes a task owned by a unit or a worker",
            meetings::create_meeting),
        route!(GET "/v1/admin/teams", Operator, NONE, 200 "TeamList", "Volunteer teams of the account's communities", teams::list_teams),
        route!(PUT "/v1/admin/teams", Operator, Json("Team"), 201 "Team",
            "Add or replace a community's volunteer team and its members (a worker is in one team at most)", teams::put_team),
        route!(GET "/v1/admin/buildings", Operator, NONE, 200 "BuildingList", "Buildings under the account's grids (?grid_id=)",
            teams::list_buildings, query = crate::admin::teams::BuildingQuery),
        route!(PUT "/v1/admin/buildings", Operator, Json("Building"), 201 "Building", "Add or rename a building under a grid",
            teams::put_building),
        route!(GET "/v1/admin/units", Operator, NONE, 200 "UnitList", "Units the account may see", units::list_units),
        route!(POST "/v1/admin/units", Operator, Json("UnitInput"), 201 "UnitOut",
            "Add a unit tasks can be routed to (justice, urban management, market regulation, lawyer…)", units::create_unit),
        route!(PUT "/v1/admin/units/{id}", Operator, Json("UnitInput"), 200 "UnitOut",
            "Change a unit (kind, name, contact, communities served)", units::update_unit),
        route!(POST "/v1/admin/tasks/{id}/cancel", Operator, OptionalJson("CancelInput"), 200 "TaskOut", "Cancel a task", tasks::cancel),
        route!(GET "/v1/admin/cases", Operator, NONE, 200 "CaseSummaryList",
            "Cases in scope; ?state= and ?grid_id= filter", cases::list_cases, query = crate::admin::cases::CaseQuery),
        route!(GET "/v1/admin/cases/{id}", Operator, NONE, 200 "CaseDetail", "A case with its report and event log", cases::get_case),
        route!(POST "/v1/admin/cases/{id}/actions", Operator, Json("ActionInput"), 200 "CaseSnapshot",
            "Accept, reject, open, dispatch, verify, close or reopen a case", cases::act),
        route!(GET "/v1/admin/conflicts", Operator, NONE, 200 "ConflictList", "Conflicts recorded from phones' pushes", cases::list_conflicts),
        route!(GET "/v1/admin/attachments/{sha256}", Operator, NONE, 200 "bytes", "A photo referenced in scope", cases::get_attachment),
        route!(GET "/v1/admin/patrols", Operator, NONE, 200 "Rows", "Patrols (?from=&to=)", records::list_patrols, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/visits", Operator, NONE, 200 "Rows", "Visits (?from=&to=)", records::list_visits, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/reports", Operator, NONE, 200 "Rows", "Reports (?from=&to=)", records::list_reports, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/checkins/flagged", Operator, NONE, 200 "Rows",
            "Check-ins that do not count for 人到 — outside the grid, a weak fix, a mock location (?from=&to=)",
            records::list_flagged_checkins, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/export/flagged-checkins.csv", Operator, NONE, 200 "csv", "Flagged check-ins as CSV",
            records::export_flagged_checkins, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/export/patrols.csv", Operator, NONE, 200 "csv", "Patrols as CSV", records::export_patrols, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/export/visits.csv", Operator, NONE, 200 "csv", "Visits as CSV", records::export_visits, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/export/reports.csv", Operator, NONE, 200 "csv", "Reports as CSV", records::export_reports, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/export/cases.csv", Operator, NONE, 200 "csv", "Cases as CSV", records::export_cases, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/export/tasks.csv", Operator, NONE, 200 "csv", "Tasks as CSV", records::export_tasks, query = crate::admin::records::PeriodQuery),
        route!(GET "/v1/admin/figures", Operator, NONE, 200 "Figures",
            "三零 and 3456 figures per community, grid and worker, with their definitions (?from=&to=, RFC 3339 or YYYY-MM-DD, at most 400 days)", figures::figures, query = crate::admin::figures::FiguresQuery),
        route!(GET "/v1/admin/settings/timeliness", Operator, NONE, 200 "Timeliness",
            "How soon a 110 diversion must be acknowledged and reached", figures::get_timeliness),
        route!(PUT "/v1/admin/settings/timeliness", Operator, Json("Timeliness"), 200 "Timeliness",
            "Set the 110 timeliness limits (street admin)", figures::set_timeliness),
        route!(GET "/v1/admin/incidents", Operator, NONE, 200 "IncidentList", "Incidents recorded for 三零", figures::list_incidents),
        route!(POST "/v1/admin/incidents", Operator, Json("IncidentInput"), 201 "IncidentOut",
            "Record a petition, accident or criminal case for 三零", figures::record_incident),
    ]
}
