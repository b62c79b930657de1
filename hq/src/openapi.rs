//! `/openapi.json`: an OpenAPI 3.1 document generated from the route table (paths, methods,
//! auth, bodies, statuses, query parameters from each handler's query type) and from the Rust
//! types (every schema derived with `utoipa::ToSchema`; none written by hand).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use crate::routes::{self, Access, Body};

/// Every schema the document names, each derived from its Rust type (`utoipa::ToSchema` on the
/// wire types in `protocol` and on the street office's types here), with the types they
/// contain. Lists are named `…List`. Two are free-form by nature: this document itself, and
/// the record rows whose columns follow the CSV exports.
fn schemas() -> BTreeMap<String, RefOr<Schema>> {
    use crate::admin::{access, cases, figures, meetings, org, tasks, units, wipe};
    use gridpatrol_protocol::config::{Building, Team};
    use gridpatrol_protocol::config::{Community, GridConfig, Street};
    use gridpatrol_protocol::template::Template;
    use gridpatrol_protocol::wire::*;

    let mut out: Vec<(String, RefOr<Schema>)> = Vec::new();
    fn add<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((T::name().into_owned(), T::schema()));
        T::schemas(out);
    }
    fn list<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>, name: &str) {
        let items = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()));
        out.push((name.into(), ArrayBuilder::new().items(items).into()));
        add::<T>(out);
    }
    let free = |description: &str| -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some(description))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    };
    // Phones.
    add::<ErrorBody>(&mut out);
    add::<crate::http::Health>(&mut out);
    add::<crate::ops::Ready>(&mut out);
    add::<EnrolRequest>(&mut out);
    add::<EnrolResponse>(&mut out);
    add::<ForkRequest>(&mut out);
    add::<ForkResponse>(&mut out);
    add::<PushRequest>(&mut out);
    add::<PushOp>(&mut out);
    add::<PushResponse>(&mut out);
    add::<PullRequest>(&mut out);
    add::<PullResponse>(&mut out);
    add::<AttachmentStatus>(&mut out);
    add::<UnsentCounts>(&mut out);
    add::<WipeConfirmation>(&mut out);
    add::<WipeConfirmed>(&mut out);
    add::<DiscardReport>(&mut out);
    add::<DiscardRecorded>(&mut out);
    // The street office.
    add::<access::Me>(&mut out);
    add::<Street>(&mut out);
    add::<org::StreetInput>(&mut out);
    add::<GridConfig>(&mut out);
    add::<org::ImportSummary>(&mut out);
    list::<Community>(&mut out, "CommunityList");
    add::<org::CommunityInput>(&mut out);
    add::<org::CommunityUpdate>(&mut out);
    list::<org::GridOut>(&mut out, "GridList");
    add::<org::GridInput>(&mut out);
    add::<org::GridUpdate>(&mut out);
    list::<org::WorkerOut>(&mut out, "WorkerList");
    add::<org::WorkerInput>(&mut out);
    add::<org::WorkerUpdate>(&mut out);
    add::<access::CodeInput>(&mut out);
    add::<access::CodeOut>(&mut out);
    list::<org::HouseholdOut>(&mut out, "HouseholdList");
    add::<org::HouseholdInput>(&mut out);
    add::<org::HouseholdUpdate>(&mut out);
    add::<Template>(&mut out);
    list::<org::TemplateOut>(&mut out, "TemplateList");
    list::<access::OperatorOut>(&mut out, "OperatorList");
    add::<access::OperatorInput>(&mut out);
    add::<access::OperatorCreated>(&mut out);
    add::<access::OperatorRevoked>(&mut out);
    list::<access::AuditEntry>(&mut out, "AuditList");
    list::<access::DeviceOut>(&mut out, "DeviceList");
    add::<access::Revoked>(&mut out);
    add::<wipe::WipeOrdered>(&mut out);
    add::<wipe::DiscardAuthorised>(&mut out);
    list::<tasks::TaskOut>(&mut out, "TaskList");
    add::<tasks::DispatchInput>(&mut out);
    add::<tasks::ReassignInput>(&mut out);
    add::<tasks::CancelInput>(&mut out);
    add::<tasks::TaskStepInput>(&mut out);
    list::<Team>(&mut out, "TeamList");
    list::<Building>(&mut out, "BuildingList");
    list::<meetings::MeetingOut>(&mut out, "MeetingList");
    add::<meetings::MeetingInput>(&mut out);
    list::<units::UnitOut>(&mut out, "UnitList");
    add::<units::UnitInput>(&mut out);
    add::<units::UnitOut>(&mut out);
    list::<cases::CaseSummary>(&mut out, "CaseSummaryList");
    add::<cases::CaseDetail>(&mut out);
    add::<cases::ActionInput>(&mut out);
    add::<CaseSnapshot>(&mut out);
    list::<cases::ConflictOut>(&mut out, "ConflictList");
    add::<figures::Figures>(&mut out);
    add::<figures::Timeliness>(&mut out);
    list::<figures::IncidentOut>(&mut out, "IncidentList");
    add::<figures::IncidentInput>(&mut out);
    out.push(("OpenApi".into(), free("this document (OpenAPI 3.1)")));
    out.push((
        "Rows".into(),
        ArrayBuilder::new().items(free("one row, keyed by the English column names of the CSV export")).into(),
    ));
    out.into_iter().collect()
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `{a}` path parameters.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

pub fn document() -> Value {
    let error =
        json!({ "description": "error", "content": { "application/json": { "schema": schema_ref("ErrorBody") } } });
    let mut paths = Map::new();
    for r in routes::table() {
        let mut params: Vec<Value> = path_params(r.path)
            .into_iter()
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let phone = r.path.starts_with("/v1/") && !r.path.starts_with("/v1/admin/");
        if phone {
            params.push(json!({ "$ref": "#/components/parameters/Protocol" }));
        }
        if r.path == "/v1/push" {
            params.push(json!({ "$ref": "#/components/parameters/Follows" }));
        }
        for q in r.query.map(|q| q()).unwrap_or_default() {
            params.push(serde_json::to_value(q).unwrap_or(Value::Null));
        }
        if r.body == Body::Bytes {
            params.push(json!({ "name": "Content-Range", "in": "header", "required": true,
                "schema": { "type": "string", "example": "bytes 0-1048575/2500000" } }));
        }
        let content = match r.response {
            "csv" => json!({ "text/csv; charset=utf-8": { "schema": { "type": "string" } } }),
            "text" => json!({ "text/plain; version=0.0.4": { "schema": { "type": "string" } } }),
            "bytes" => json!({ "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } }),
            name => json!({ "application/json": { "schema": schema_ref(name) } }),
        };
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{}_{}", r.method.as_str().to_lowercase(),
                r.path.trim_start_matches('/').replace(['/', '.', '-'], "_").replace(['{', '}'], "")),
            "parameters": params,
            "responses": {
                r.status.to_string(): { "description": "success", "content": content },
                "4XX": error,
                "5XX": error,
            },
        });
        match r.access {
            Access::Public => op["security"] = json!([]),
            Access::Phone => op["security"] = json!([{ "deviceToken": [] }]),
            Access::Operator => op["security"] = json!([{ "operatorToken": [] }]),
        }
        match r.body {
            Body::None => {}
            Body::Json(name) | Body::OptionalJson(name) => {
                op["requestBody"] = json!({ "required": matches!(r.body, Body::Json(_)),
                    "content": { "application/json": { "schema": schema_ref(name) } } });
            }
            Body::Bytes => {
                op["requestBody"] = json!({ "required": true,
                    "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } });
            }
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "GridPatrol HQ",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The street office's server: phones enrol, push and pull (JSON, gzip both ways); operators manage the street, dispatch tasks, act on cases, export CSV and read the 三零 / 3456 figures. Every error is an ErrorBody with a stable code."
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "deviceToken": { "type": "http", "scheme": "bearer", "description": "device token from /v1/enrol" },
                "operatorToken": { "type": "http", "scheme": "bearer", "description": "operator token (street admin, community, grid leader)" }
            },
            "parameters": {
                "Protocol": { "name": gridpatrol_protocol::wire::PROTOCOL_HEADER, "in": "header", "required": false,
                    "description": format!("protocol version {}..={} (missing means 1)",
                        gridpatrol_protocol::wire::MIN_PROTOCOL_VERSION, gridpatrol_protocol::wire::PROTOCOL_VERSION),
                    "schema": { "type": "integer" } },
                "Follows": { "name": gridpatrol_protocol::wire::FOLLOWS_HEADER, "in": "header", "required": false,
                    "description": "sent with a push made before the answer to the one before it came back: that push's last seq. HQ waits (at most a second) until it has handed that push to the database, so that pushes racing on separate connections are settled in sequence order. Only speed depends on it: the seq check stays the rule.",
                    "schema": { "type": "integer", "format": "int64" } }
            },
            "schemas": serde_json::to_value(schemas()).unwrap_or(Value::Null)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` points at a schema that exists.
    #[test]
    fn references_resolve() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "missing schema {name}");
        }
        assert_eq!(path_params("/v1/admin/tasks/{id}/reassign"), vec!["id"]);
        assert!(!text.contains("\"required\":[]"), "OpenAPI 3.0 forbids empty `required`");
    }

    /// Every object schema says what it holds: properties, or (the two free-form ones) that any
    /// property goes. A schema of a bare `{"type":"object"}` would leave a client generator
    /// nothing to generate.
    #[test]
    fn no_object_schema_without_properties() {
        fn walk(v: &Value, at: &str, bare: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    let is_object = match o.get("type") {
                        Some(Value::String(t)) => t == "object",
                        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                        _ => false,
                    };
                    if is_object && !o.contains_key("properties") && !o.contains_key("additionalProperties") {
                        bare.push(at.to_string());
                    }
                    for (k, child) in o {
                        walk(child, &format!("{at}/{k}"), bare);
                    }
                }
                Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| walk(c, &format!("{at}/{i}"), bare)),
                _ => {}
            }
        }
        let doc = document();
        let mut bare = Vec::new();
        walk(&doc, "", &mut bare);
        assert!(bare.is_empty(), "object schemas without properties: {bare:?}");
        // Not vacuous: the components are many and real.
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(schemas.len() > 60, "{}", schemas.len());
        assert!(schemas["PushOp"]["properties"]["command"].is_object());
        // A route's required query parameters are declared.
        let figures = &doc["paths"]["/v1/admin/figures"]["get"]["parameters"];
        let from = figures.as_array().unwrap().iter().find(|p| p["name"] == "from").expect("from");
        assert_eq!((from["in"].as_str(), from["required"].as_bool()), (Some("query"), Some(true)));
    }

    /// Enrolment and fork are documented as served: every field the types write is a property,
    /// the ignored epoch may be 0, and the answer's device id and epoch are documented.
    #[test]
    fn identity_messages_are_documented_as_served() {
        use gridpatrol_protocol::wire::{EnrolRequest, ForkRequest, ForkResponse};
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let documented = |name: &str, v: Value| {
            for key in v.as_object().unwrap().keys() {
                assert!(schemas[name]["properties"].get(key).is_some(), "{name}.{key} is not documented");
            }
        };
        let req = EnrolRequest {
            code: "C".into(),
            device_id: "d".into(),
            epoch: 0,
            app_version: "1".into(),
            installation_id: Some("installation-0000".into()),
        };
        documented("EnrolRequest", serde_json::to_value(req).unwrap());
        documented("ForkRequest", serde_json::to_value(ForkRequest { installation_id: "i".into() }).unwrap());
        let fork = ForkResponse { device_id: "d".into(), device_token: "t".into(), epoch: 1, server_time_ms: 0 };
        documented("ForkResponse", serde_json::to_value(fork).unwrap());
        assert_eq!(schemas["EnrolRequest"]["properties"]["epoch"]["minimum"], 0);
        let mut required: Vec<String> = serde_json::from_value(schemas["EnrolRequest"]["required"].clone()).unwrap();
        required.sort();
        assert_eq!(required, ["code", "device_id"]);
        for field in
            ["device_id", "epoch", "device_token", "worker_id", "server_time_ms", "reference", "reference_version"]
        {
            assert!(schemas["EnrolResponse"]["properties"].get(field).is_some(), "EnrolResponse.{field}");
        }
        assert!(doc["paths"]["/v1/fork"]["post"].is_object());
    }
}
