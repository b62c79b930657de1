//! `GET /openapi.json`: an OpenAPI 3 document generated from the route table (paths,
//! methods, auth, bodies, statuses) plus hand-written schemas of the main messages.

use serde_json::{json, Map, Value};

use crate::routes::{self, Access, Body};

fn obj(props: Value, required: &[&str]) -> Value {
    // OpenAPI 3.0: `required`, when present, lists at least one property.
    if required.is_empty() {
        json!({ "type": "object", "properties": props })
    } else {
        json!({ "type": "object", "properties": props, "required": required })
    }
}

fn schemas() -> Value {
    let s = |d: &str| json!({ "type": "object", "description": d });
    let list = |item: &str| json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } });
    json!({
        "ErrorBody": obj(json!({ "error": obj(json!({
            "code": { "type": "string", "description": "stable code: invalid_input, unauthorized, forbidden, not_found, conflict, seq_gap, history_forked, rate_limited, payload_too_large, unsupported_protocol, unsupported_encoding, enrolment_code_invalid, device_revoked, checksum_mismatch, internal" },
            "message": { "type": "string" },
            "field": { "type": "string" },
            "expected_seq": { "type": "integer", "description": "with seq_gap: resend from here" }
        }), &["code", "message"]) }), &["error"]),
        "Health": obj(json!({ "status": { "type": "string" }, "database": { "type": "string" }, "schema_version": { "type": "integer" } }), &["status"]),
        "OpenApi": s("this document"),
        "EnrolRequest": obj(json!({
            "code": { "type": "string" },
            "device_id": { "type": "string", "description": "the id the phone proposes; HQ may answer with another" },
            "epoch": { "type": "integer", "minimum": 0, "description": "ignored: HQ assigns a fresh epoch at every enrolment" },
            "app_version": { "type": "string" },
            "installation_id": { "type": "string", "minLength": 16, "maxLength": 64,
                "description": "random, kept by the app where backups and copies do not reach; HQ stores its hash" }
        }), &["code", "device_id"]),
        "EnrolResponse": obj(json!({
            "device_token": { "type": "string" },
            "device_id": { "type": "string", "description": "the device id to use from now on (a new one when the asked id belongs to another worker or installation)" },
            "epoch": { "type": "integer", "minimum": 1, "description": "the epoch to push in: one more than any HQ has seen for this device id" },
            "worker_id": { "type": "string" }, "server_time_ms": { "type": "integer" },
            "reference": { "$ref": "#/components/schemas/GridConfig" }, "reference_version": { "type": "integer" }
        }), &["device_token", "device_id", "epoch", "worker_id", "server_time_ms", "reference", "reference_version"]),
        "ForkRequest": obj(json!({
            "installation_id": { "type": "string", "minLength": 16, "maxLength": 64 }
        }), &["installation_id"]),
        "ForkResponse": obj(json!({
            "device_id": { "type": "string" }, "device_token": { "type": "string" },
            "epoch": { "type": "integer", "minimum": 1 }, "server_time_ms": { "type": "integer" }
        }), &["device_id", "device_token", "epoch", "server_time_ms"]),
        "PushRequest": obj(json!({
            "device_id": { "type": "string" }, "epoch": { "type": "integer" }, "device_time_ms": { "type": "integer" },
            "device_hlc": { "type": "string" },
            "ops": { "type": "array", "maxItems": gridpatrol_protocol::wire::MAX_PUSH_OPS, "items": obj(json!({
                "seq": { "type": "integer" }, "mutation_id": { "type": "string" }, "hlc": { "type": "string" },
                "device_ms": { "type": "integer" }, "command": { "type": "object", "description": "protocol::records::Command, tagged by `op`" }
            }), &["seq", "mutation_id", "hlc", "device_ms", "command"]) }
        }), &["device_id", "epoch", "device_time_ms", "ops"]),
        "PushResponse": obj(json!({
            "server_time_ms": { "type": "integer" }, "acked_through_seq": { "type": "integer" },
            "results": { "type": "array", "items": obj(json!({
                "seq": { "type": "integer" },
                "status": { "type": "string", "enum": ["applied", "duplicate", "rejected", "conflict"] },
                "code": { "type": "string" }, "reason": { "type": "string" }
            }), &["seq", "status"]) }
        }), &["server_time_ms", "acked_through_seq", "results"]),
        "PullCursors": obj(json!({ "reference": { "type": "integer" }, "tasks": { "type": "integer" }, "cases": { "type": "integer" } }), &[]),
        "PullRequest": obj(json!({ "cursors": { "$ref": "#/components/schemas/PullCursors" }, "max_bytes": { "type": "integer" } }), &["cursors"]),
        "PullResponse": obj(json!({
            "server_time_ms": { "type": "integer" }, "reference": { "$ref": "#/components/schemas/GridConfig" },
            "tasks": list("Task"), "cases": list("CaseSnapshot"),
            "purge_grids": { "type": "array", "items": { "type": "string" } },
            "cursors": { "$ref": "#/components/schemas/PullCursors" }, "more": { "type": "boolean" }
        }), &["server_time_ms", "cursors", "more"]),
        "AttachmentStatus": obj(json!({
            "sha256": { "type": "string" }, "received_bytes": { "type": "integer" }, "complete": { "type": "boolean" }
        }), &["sha256", "received_bytes", "complete"]),
        "GridConfig": s("protocol::config::GridConfig: street, communities, grids, workers, households, tasks, template"),
        "Task": s("protocol::records::Task (plus labels and times in the street office's lists)"),
        "Tasks": list("Task"),
        "CaseSnapshot": s("protocol::wire::CaseSnapshot: case id, report id, grid id and the full event log"),
        "CaseSummaries": { "type": "array", "items": s("a case: id, grid, state, category, deadline, dispatched, closed_at") },
        "CaseDetail": s("a case with its clear items, report and event log"),
        "CaseActionInput": obj(json!({
            "action": { "type": "string", "enum": ["accept", "reject", "open", "dispatch", "verify", "close", "reopen"] },
            "note": { "type": "string" }, "deadline": { "type": "string", "format": "date-time" },
            "responsible_unit": { "type": "string" }, "clear": s("protocol::case_flow::ClearItems"),
            "photos": { "type": "array", "items": { "type": "string" } }
        }), &["action"]),
        "Me": obj(json!({ "id": { "type": "string" }, "role": { "type": "string" }, "scope_ids": { "type": "array", "items": { "type": "string" } } }), &["id", "role"]),
        "Street": obj(json!({ "code": { "type": "string", "description": "9 digits" }, "name": { "type": "string" } }), &["code", "name"]),
        "StreetInput": { "$ref": "#/components/schemas/Street" },
        "ImportSummary": s("how many communities, grids, workers and households were imported"),
        "Community": obj(json!({ "id": { "type": "string" }, "code": { "type": "string", "description": "12 digits" }, "name": { "type": "string" } }), &["id", "code", "name"]),
        "CommunityInput": { "$ref": "#/components/schemas/Community" },
        "CommunityUpdate": obj(json!({ "code": { "type": "string" }, "name": { "type": "string" } }), &["code", "name"]),
        "Communities": list("Community"),
        "GeoJsonPolygon": obj(json!({ "type": { "type": "string", "enum": ["Polygon"] },
            "coordinates": { "type": "array", "items": { "type": "array", "items": { "type": "array", "items": { "type": "number" } } } } }), &["type", "coordinates"]),
        "Grid": obj(json!({ "id": { "type": "string" }, "code": { "type": "string", "description": "15 digits" },
            "community_id": { "type": "string" }, "name": { "type": "string" }, "boundary": { "$ref": "#/components/schemas/GeoJsonPolygon" } }),
            &["id", "code", "community_id", "name", "boundary"]),
        "GridInput": { "$ref": "#/components/schemas/Grid" },
        "GridUpdate": s("a grid without its id"),
        "Grids": list("Grid"),
        "Worker": obj(json!({ "id": { "type": "string" }, "name": { "type": "string" },
            "role": { "type": "string", "enum": ["full_time", "volunteer", "law_enforcement", "grid_leader"] },
            "grid_ids": { "type": "array", "items": { "type": "string" } } }), &["id", "name", "role"]),
        "WorkerInput": { "$ref": "#/components/schemas/Worker" },
        "WorkerUpdate": s("a worker without its id"),
        "Workers": list("Worker"),
        "CodeInput": obj(json!({ "ttl_seconds": { "type": "integer", "minimum": 1, "maximum": 86400 } }), &[]),
        "EnrolmentCode": obj(json!({ "code": { "type": "string" }, "worker_id": { "type": "string" },
            "expires_at": { "type": "string" }, "expires_ms": { "type": "integer" } }), &["code", "worker_id", "expires_at"]),
        "Household": s("a household: id, grid, door label, name, phone (masked in lists), coarse care tags, must-visit"),
        "HouseholdInput": s("a household with its full phone number"),
        "HouseholdUpdate": s("a household without its id"),
        "Households": list("Household"),
        "Template": s("protocol::template::Template: a checklist template version"),
        "Templates": list("Template"),
        "OperatorInput": obj(json!({ "name": { "type": "string" },
            "role": { "type": "string", "enum": ["street_admin", "community", "grid_leader"] },
            "scope_ids": { "type": "array", "items": { "type": "string" } } }), &["name", "role"]),
        "OperatorCreated": s("the new operator with its token (shown once)"),
        "Operators": { "type": "array", "items": s("an operator (no token)") },
        "Devices": { "type": "array", "items": s("a device: id, worker, epoch, last seen, clock skew, revoked") },
        "Revoked": obj(json!({ "device_id": { "type": "string" }, "revoked": { "type": "boolean" } }), &["device_id", "revoked"]),
        "DispatchInput": obj(json!({ "id": { "type": "string" },
            "source": { "type": "string", "enum": ["diversion_110", "hotline_12345", "street", "weekly_meeting"] },
            "title": { "type": "string" }, "description": { "type": "string" }, "target_unit": { "type": "string" },
            "assignee_id": { "type": "string" }, "grid_id": { "type": "string" }, "deadline": { "type": "string", "format": "date-time" } }),
            &["source", "title", "target_unit", "assignee_id", "deadline"]),
        "ReassignInput": obj(json!({ "assignee_id": { "type": "string" }, "grid_id": { "type": "string" }, "note": { "type": "string" } }), &["assignee_id"]),
        "CancelInput": obj(json!({ "note": { "type": "string" } }), &[]),
        "Conflicts": { "type": "array", "items": s("a conflict: what a phone sent, HQ's state, the reason, applied or not") },
        "Rows": { "type": "array", "items": s("one row, keyed by the English column names of the CSV export") },
        "Figures": s("per community: patrol completion, visit coverage, reports by category, on-time closure, in-grid resolution, incidents, three_zero"),
        "IncidentInput": obj(json!({ "community_id": { "type": "string" },
            "kind": { "type": "string", "enum": ["petition", "accident", "criminal_case"] },
            "occurred_at": { "type": "string", "format": "date-time" }, "note": { "type": "string" } }), &["community_id", "kind", "occurred_at"]),
        "Incident": s("an incident recorded for 三零"),
        "Incidents": list("Incident")
    })
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
        if r.body == Body::Bytes {
            params.push(json!({ "name": "Content-Range", "in": "header", "required": true,
                "schema": { "type": "string", "example": "bytes 0-1048575/2500000" } }));
        }
        let content = match r.response {
            "csv" => json!({ "text/csv; charset=utf-8": { "schema": { "type": "string" } } }),
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
        "openapi": "3.0.3",
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
            "schemas": schemas()
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
        assert_eq!(schemas["EnrolRequest"]["required"], json!(["code", "device_id"]));
        for field in
            ["device_id", "epoch", "device_token", "worker_id", "server_time_ms", "reference", "reference_version"]
        {
            assert!(schemas["EnrolResponse"]["properties"].get(field).is_some(), "EnrolResponse.{field}");
        }
        assert!(doc["paths"]["/v1/fork"]["post"].is_object());
    }
}
