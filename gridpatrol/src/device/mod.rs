//! `gridpatrol device …`: a terminal shell over the core, driving the same API the phones use
//! on a store folder. It only turns arguments into core inputs and renders what the core
//! returns; every rule (validation, the case lifecycle, 问题六清) stays in the core.
//!
//! Output: human text with "中文 (English)" labels by default; with `--json` the serde JSON of
//! the returned record or view, and errors as `{"error": {...}}` on stdout.

mod human;
mod input;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gridpatrol_core::config::SAMPLE_CONFIG_JSON;
use gridpatrol_core::*;
use gridpatrol_protocol::rules;
use serde::Serialize;

#[derive(Args)]
pub struct DeviceArgs {
    /// The store folder (what the phone keeps in its app data).
    #[arg(long, global = true, value_name = "DIR", default_value = "./gridpatrol-store")]
    store: PathBuf,
    /// Machine-readable output: the JSON of the returned record or view (errors too, on stdout).
    #[arg(long, global = true)]
    json: bool,
    // Boxed so the enums that hold the parsed arguments stay small (clippy::large_enum_variant).
    #[command(subcommand)]
    command: Box<DeviceCommand>,
}

// Enum-like values (categories, states, outcomes…) and numbers are taken as strings and parsed
// with the core's `parse`, so a bad value takes the same typed-error path as any other mistake
// (and `--json` callers always get a JSON error), instead of a clap usage error.

#[derive(Subcommand)]
enum DeviceCommand {
    /// Print a sample grid configuration (JSON) to start from.
    SampleConfig,
    /// Enrol this store with HQ using a one-time code from the street office.
    Enrol {
        /// HQ's address, e.g. http://127.0.0.1:8080
        #[arg(long, value_name = "URL")]
        hq: String,
        #[arg(long, value_name = "CODE")]
        code: String,
    },
    /// Send what is unsent to HQ, upload photos, receive tasks and updates.
    Sync,
    /// Initialise the store for a worker from a grid configuration file.
    Init {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "ID")]
        worker: String,
    },
    /// 巡查三到: start, track, check in, finish a patrol.
    #[command(subcommand)]
    Patrol(PatrolCommand),
    /// 居民四访: record a visit to a household.
    Visit(Box<VisitArgs>),
    /// 情况五报: file a report (opens a case).
    Report(Box<ReportArgs>),
    /// 问题六清: show or move a case.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Tasks dispatched by HQ (110 diversion, 12345 hotline…).
    #[command(subcommand)]
    Task(TaskCommand),
    /// Today: tasks due, patrol in progress, must-visit households, unsent work.
    Today,
    /// Raw outbox rows (what sync will send), in sequence order.
    Outbox {
        /// Only rows after this sequence number.
        #[arg(long, value_name = "SEQ")]
        after: Option<String>,
        #[arg(long, value_name = "N")]
        limit: Option<String>,
    },
    /// What has not reached HQ yet, item by item.
    Pending {
        #[arg(long, value_name = "N")]
        limit: Option<String>,
    },
}

#[derive(Subcommand)]
enum PatrolCommand {
    /// Start a patrol in one of your grids.
    Start {
        #[arg(long, value_name = "GRID")]
        grid: String,
        /// A night patrol (夜巡).
        #[arg(long)]
        night: bool,
    },
    /// Record one GPS track point, at the current time.
    Track {
        #[arg(long, value_name = "ID")]
        patrol: String,
        #[command(flatten)]
        fix: FixArgs,
    },
    /// Check in at a checkpoint (人到) with checklist answers (眼到).
    CheckIn {
        #[arg(long, value_name = "ID")]
        patrol: String,
        #[command(flatten)]
        fix: FixArgs,
        /// Place name, e.g. "3栋东侧车棚".
        #[arg(long, value_name = "TEXT")]
        place: Option<String>,
        /// A checklist answer: ok, issue or not_applicable.
        #[arg(long = "answer", value_name = "ITEM=ANSWER")]
        answers: Vec<String>,
        /// A note on an answered checklist item.
        #[arg(long = "answer-note", value_name = "ITEM=TEXT")]
        answer_notes: Vec<String>,
    },
    /// Finish a patrol (记到): nothing_found or findings.
    Finish {
        #[arg(long, value_name = "ID")]
        patrol: String,
        #[arg(long, value_name = "OUTCOME")]
        outcome: String,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
}

#[derive(Args)]
struct FixArgs {
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    lat: String,
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    lng: String,
    /// GPS accuracy in metres.
    #[arg(long, value_name = "M")]
    accuracy: Option<String>,
    /// The coordinate system of --lat/--lng: wgs84 (GPS, the default), gcj02 (AMap, Tencent
    /// Maps) or bd09 (Baidu Maps); stored as WGS-84.
    #[arg(long, value_name = "DATUM")]
    datum: Option<String>,
}

#[derive(Args)]
struct VisitArgs {
    #[arg(long, value_name = "ID")]
    household: String,
    /// routine, must_visit, follow_up or campaign.
    #[arg(long = "type", value_name = "TYPE")]
    visit_type: String,
    /// met, not_home or by_phone.
    #[arg(long, value_name = "OUTCOME")]
    outcome: String,
    /// A need noted, as a coarse tag (health, living, financial, housing, dispute, safety, other).
    #[arg(long = "need", value_name = "TAG")]
    needs: Vec<String>,
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// 1..5, on follow-up visits.
    #[arg(long, value_name = "N")]
    satisfaction: Option<String>,
    /// The case a follow-up visit follows up.
    #[arg(long = "case", value_name = "ID")]
    case_id: Option<String>,
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    lat: Option<String>,
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    lng: Option<String>,
    /// The coordinate system of --lat/--lng: wgs84 (GPS, the default), gcj02 (AMap, Tencent
    /// Maps) or bd09 (Baidu Maps); stored as WGS-84.
    #[arg(long, value_name = "DATUM")]
    datum: Option<String>,
}

#[derive(Args)]
struct ReportArgs {
    #[arg(long, value_name = "GRID")]
    grid: String,
    /// dispute, safety_hazard, security_lead, resident_request or emergency.
    #[arg(long, value_name = "CATEGORY")]
    category: String,
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    lat: String,
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    lng: String,
    /// The coordinate system of --lat/--lng: wgs84 (GPS, the default), gcj02 (AMap, Tencent
    /// Maps) or bd09 (Baidu Maps); stored as WGS-84.
    #[arg(long, value_name = "DATUM")]
    datum: Option<String>,
    #[arg(long, value_name = "TEXT")]
    description: String,
    /// immediate or normal (default: immediate for hazards and emergencies).
    #[arg(long, value_name = "URGENCY")]
    urgency: Option<String>,
    #[arg(long, value_name = "TEXT")]
    place: Option<String>,
    /// People involved.
    #[arg(long, value_name = "N")]
    people: Option<String>,
    /// patrol, visit, resident or weekly_meeting.
    #[arg(long, value_name = "SOURCE", default_value = "resident")]
    source: String,
    #[arg(long, value_name = "ID")]
    patrol: Option<String>,
    #[arg(long, value_name = "ID")]
    visit: Option<String>,
    #[arg(long = "photo", value_name = "FILE")]
    photos: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum CaseCommand {
    /// A case's state, deadline, six clear items, history and next steps.
    Show { id: String },
    /// Move a case one step (append-only), filling any of the six clear items.
    Move(Box<CaseMoveArgs>),
}

#[derive(Args)]
struct CaseMoveArgs {
    id: String,
    /// The next state, e.g. accepted, opened, dispatched, handling, verified, closed.
    #[arg(long, value_name = "STATE")]
    to: String,
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// 情况清: the facts.
    #[arg(long, value_name = "TEXT")]
    facts: Option<String>,
    /// 责任清: the responsible unit.
    #[arg(long, value_name = "TEXT")]
    responsible: Option<String>,
    /// 时限清: the deadline, RFC 3339 (e.g. 2030-01-01T18:00:00+08:00).
    #[arg(long, value_name = "TIME")]
    deadline: Option<String>,
    /// 结果清: the outcome (the step's first photo is the after-photo).
    #[arg(long, value_name = "TEXT")]
    outcome: Option<String>,
    /// 反馈清: the resident's feedback.
    #[arg(long, value_name = "TEXT")]
    feedback: Option<String>,
    /// 反馈清: the resident's satisfaction, 1..5.
    #[arg(long, value_name = "N")]
    satisfaction: Option<String>,
    /// 台账清: the ledger reference.
    #[arg(long, value_name = "TEXT")]
    ledger: Option<String>,
    #[arg(long = "photo", value_name = "FILE")]
    photos: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum TaskCommand {
    /// All your tasks, open ones first.
    List,
    /// Acknowledge a task (签收).
    Ack { id: String },
    /// Set off for a task (出发).
    Go { id: String },
    /// Arrive on site (到场), with the GPS fix that shows it.
    Arrive {
        id: String,
        #[command(flatten)]
        fix: FixArgs,
    },
    /// Send a task back (退回) with the reason.
    SendBack {
        id: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Complete a task (办结) with its result.
    Complete {
        id: String,
        #[arg(long, value_name = "TEXT")]
        result: String,
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
    },
}

/// Run a `device` command; returns the process exit code.
pub fn run(args: DeviceArgs) -> i32 {
    let json = args.json;
    let store = args.store.clone();
    match execute(args) {
        Ok(text) => {
            write_out(&mut std::io::stdout(), &text);
            0
        }
        Err(e) => {
            // A wiped phone says so plainly, with what the wipe erased and whether HQ knows.
            let wiped = match e {
                CoreError::DeviceWiped => gridpatrol_core::wipe::status(&store).ok().flatten(),
                _ => None,
            };
            if json {
                let mut body = error_json(&e);
                if let Some(w) = &wiped {
                    body["error"]["wipe"] = serde_json::to_value(w).unwrap_or_default();
                }
                write_out(
                    &mut std::io::stdout(),
                    &serde_json::to_string_pretty(&body).unwrap_or_else(|_| body.to_string()),
                );
            } else {
                let mut text = human::error(&e);
                if let Some(w) = &wiped {
                    text.push_str(&human::wiped(w));
                }
                write_out(&mut std::io::stderr(), &text);
            }
            exit_code(&e)
        }
    }
}

/// `println!` panics on a closed pipe (`… | head`); a shell must never panic, so write and
/// ignore failures (there is nobody left to tell).
fn write_out(w: &mut dyn Write, text: &str) {
    let _ = w.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = w.write_all(b"\n");
    }
    let _ = w.flush();
}

/// 2 when the caller can fix it by changing the command; 1 when the device itself failed.
/// Exhaustive on purpose: a new core error must be classified here, not fall through.
fn exit_code(e: &CoreError) -> i32 {
    match e {
        CoreError::InvalidInput { .. }
        | CoreError::PhotoRefused { .. }
        | CoreError::NotFound { .. }
        | CoreError::IllegalTransition { .. }
        | CoreError::ClearItemsMissing { .. }
        | CoreError::RoleNotAllowed { .. }
        | CoreError::IllegalTaskAction { .. }
        | CoreError::PatrolState { .. }
        | CoreError::UnsentWork { .. }
        | CoreError::NotInitialised
        | CoreError::EnrolmentCodeInvalid
        | CoreError::NotEnrolled
        | CoreError::DeviceRevoked
        | CoreError::StoreKeyMissing
        | CoreError::StoreKeyWrong
        | CoreError::DeviceWiped => 2,
        // Network and HQ trouble: nothing the command line can fix; the records stay queued.
        CoreError::HqUnreachable { .. } | CoreError::RateLimited { .. } | CoreError::HqRefused { .. } => 3,
        CoreError::SchemaTooNew { .. } | CoreError::Storage(_) | CoreError::Io(_) | CoreError::Corrupt(_) => 1,
    }
}

fn error_json(e: &CoreError) -> serde_json::Value {
    let mut body = serde_json::json!({ "code": e.code(), "message": e.to_string() });
    match e {
        CoreError::InvalidInput { field, .. } | CoreError::RoleNotAllowed { field, .. } => {
            body["field"] = field.as_str().into()
        }
        CoreError::PhotoRefused { field, error } => {
            body["field"] = field.as_str().into();
            body["kind"] = error.code().into();
        }
        CoreError::NotFound { entity, .. } => body["entity"] = (*entity).into(),
        CoreError::ClearItemsMissing { missing } => {
            body["missing"] = missing.iter().map(|m| m.code()).collect::<Vec<_>>().into()
        }
        _ => {}
    }
    serde_json::json!({ "error": body })
}

/// Renders a result as JSON or as human text.
struct Out {
    json: bool,
}

impl Out {
    fn show<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) -> Result<String> {
        if self.json {
            Ok(serde_json::to_string_pretty(value)?)
        } else {
            Ok(human(value))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Sync progress on stderr, one line per step (stdout stays the result).
struct ProgressLine {
    quiet: bool,
}

impl sync::SyncProgress for ProgressLine {
    fn on_progress(&self, p: sync::Progress) {
        if !self.quiet {
            eprintln!("  {} {}/{}", p.phase.label(), p.done, p.total);
        }
    }
}

fn open(dir: &Path) -> Result<Store> {
    Store::open(dir, store_options(dir)?)
}

/// The terminal shell's installation id (see `StoreOptions::installation_id`): the value of
/// `GRIDPATROL_INSTALLATION_ID`, or else a file beside the store folder (`<store>.installation`),
/// made at first use. Copying the store folder does not copy it, so a copied store notices it
/// is a copy — as a phone's store restored from a backup does.
fn store_options(dir: &Path) -> Result<StoreOptions> {
    let id = match std::env::var("GRIDPATROL_INSTALLATION_ID") {
        Ok(id) => id,
        Err(_) => {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "store".into());
            let path = dir.with_file_name(format!("{name}.installation"));
            match std::fs::read_to_string(&path) {
                Ok(id) => id.trim().to_string(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let id = gridpatrol_core::new_id();
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(&path, &id)?;
                    id
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    Ok(StoreOptions { installation_id: Some(id), key: store_key()?, ..StoreOptions::default() })
}

/// The store key, as a phone's key provider would give it: 64 hex digits in
/// `GRIDPATROL_STORE_KEY`, or in the file `GRIDPATROL_STORE_KEY_FILE` names (keep it outside the
/// store folder). Neither set: a clear-text store (a store encrypted earlier then refuses to open
/// with `store_key_missing`). A clear store opened with a key is encrypted in place.
fn store_key() -> Result<Option<gridpatrol_core::StoreKey>> {
    if let Ok(hex) = std::env::var("GRIDPATROL_STORE_KEY") {
        return Ok(Some(gridpatrol_core::StoreKey::from_hex(&hex)?));
    }
    match std::env::var_os("GRIDPATROL_STORE_KEY_FILE") {
        Some(path) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(&path)
                    .map_err(|_| CoreError::invalid("GRIDPATROL_STORE_KEY_FILE", "cannot be read"))?,
            );
            Ok(Some(gridpatrol_core::StoreKey::from_hex(&text)?))
        }
        None => Ok(None),
    }
}

fn execute(args: DeviceArgs) -> Result<String> {
    let out = Out { json: args.json };
    match *args.command {
        DeviceCommand::SampleConfig => Ok(SAMPLE_CONFIG_JSON.to_string()),
        DeviceCommand::Init { config, worker } => {
            // A missing or unreadable file is the caller's mistake, not a device failure.
            let text = std::fs::read_to_string(&config)
                .map_err(|e| CoreError::invalid("config", format!("cannot read {}: {e}", config.display())))?;
            let config = GridConfig::from_json(&text)?;
            let store = Store::init(&args.store, &config, &worker, store_options(&args.store)?)?;
            out.show(&store.device(), human::device_info)
        }
        DeviceCommand::Enrol { hq, code } => {
            let opts = store_options(&args.store)?;
            let store = runtime()?.block_on(Store::enrol(&args.store, &hq, &code, opts))?;
            out.show(&store.device(), human::device_info)
        }
        DeviceCommand::Sync => {
            let store = open(&args.store)?;
            let report =
                runtime()?.block_on(store.sync(&sync::SyncOptions::default(), &ProgressLine { quiet: out.json }))?;
            out.show(&report, human::sync_report)
        }
        DeviceCommand::Patrol(cmd) => patrol(&open(&args.store)?, &out, cmd),
        DeviceCommand::Visit(a) => {
            let store = open(&args.store)?;
            let visit = store.record_visit(VisitInput {
                household_id: a.household,
                visit_type: VisitType::parse("visit_type", &a.visit_type)?,
                outcome: VisitOutcome::parse("outcome", &a.outcome)?,
                needs: input::codes("needs", &a.needs, NeedTag::parse)?,
                note: a.note,
                satisfaction: a.satisfaction.as_deref().map(|s| input::number("satisfaction", s)).transpose()?,
                case_id: a.case_id,
                location: input::optional_location(a.lat.as_deref(), a.lng.as_deref())?,
                occurred_at: None,
                datum: input::datum(a.datum.as_deref())?,
            })?;
            out.show(&visit, human::visit)
        }
        DeviceCommand::Report(a) => {
            let store = open(&args.store)?;
            let report = store.file_report(ReportInput {
                grid_id: a.grid,
                category: ReportCategory::parse("category", &a.category)?,
                urgency: a.urgency.as_deref().map(|u| Urgency::parse("urgency", u)).transpose()?,
                location: input::location("location", &a.lat, &a.lng)?,
                place_name: a.place,
                description: a.description,
                people_involved: a
                    .people
                    .as_deref()
                    .map(|p| input::number("people_involved", p))
                    .transpose()?
                    .unwrap_or(0),
                source: ReportSource::parse("source", &a.source)?,
                patrol_id: a.patrol,
                visit_id: a.visit,
                photos: a.photos,
                datum: input::datum(a.datum.as_deref())?,
            })?;
            out.show(&report, human::report)
        }
        DeviceCommand::Case(cmd) => case(&open(&args.store)?, &out, cmd),
        DeviceCommand::Task(cmd) => task(&open(&args.store)?, &out, cmd),
        DeviceCommand::Today => out.show(&open(&args.store)?.today()?, human::today),
        DeviceCommand::Outbox { after, limit } => {
            let after = after.as_deref().map(|a| input::number("after", a)).transpose()?.unwrap_or(0);
            let limit = limit.as_deref().map(|l| input::number("limit", l)).transpose()?.unwrap_or(100);
            out.show(&open(&args.store)?.outbox(after, limit)?, |e| human::outbox(e))
        }
        DeviceCommand::Pending { limit } => {
            let limit = limit.as_deref().map(|l| input::number("limit", l)).transpose()?.unwrap_or(50);
            out.show(&open(&args.store)?.pending_uploads(limit)?, human::pending)
        }
    }
}

fn patrol(store: &Store, out: &Out, cmd: PatrolCommand) -> Result<String> {
    match cmd {
        PatrolCommand::Start { grid, night } => {
            let shift = if night { PatrolShift::Night } else { PatrolShift::Day };
            out.show(&store.start_patrol(&grid, shift)?, human::patrol_started)
        }
        PatrolCommand::Track { patrol, fix } => {
            // Track points are stored as given, so a map's position is moved onto WGS-84 here.
            let at = input::location("points[0]", &fix.lat, &fix.lng)?;
            let at = rules::location("points[0]", at, input::datum(fix.datum.as_deref())?)?;
            let point = TrackPoint {
                lat: at.lat,
                lng: at.lng,
                accuracy_m: input::accuracy("points[0].accuracy_m", fix.accuracy.as_deref())?,
                at: chrono::Utc::now(),
            };
            let points = store.add_track_points(&patrol, &[point])?;
            // The core returns only a count; name the patrol too so the JSON stands alone.
            let result = serde_json::json!({ "patrol_id": patrol, "track_points": points });
            out.show(&result, |_| human::track(&patrol, points))
        }
        PatrolCommand::CheckIn { patrol, fix, place, answers, answer_notes } => {
            let checkpoint = store.check_in(
                &patrol,
                CheckInInput {
                    location: input::location("location", &fix.lat, &fix.lng)?,
                    accuracy_m: input::accuracy("accuracy_m", fix.accuracy.as_deref())?,
                    place_name: place,
                    answers: input::answers(&answers, &answer_notes)?,
                    datum: input::datum(fix.datum.as_deref())?,
                    mock_location: false,
                },
            )?;
            let template = store.active_template();
            out.show(&checkpoint, |c| human::checkpoint(c, &template))
        }
        PatrolCommand::Finish { patrol, outcome, note } => {
            let outcome = PatrolOutcome::parse("outcome", &outcome)?;
            out.show(&store.finish_patrol(&patrol, outcome, note.as_deref())?, human::patrol_finished)
        }
    }
}

fn case(store: &Store, out: &Out, cmd: CaseCommand) -> Result<String> {
    match cmd {
        CaseCommand::Show { id } => out.show(&store.case_timeline(&id)?, human::case_timeline),
        CaseCommand::Move(a) => {
            let clear = ClearItems {
                facts: a.facts,
                responsible_unit: a.responsible,
                deadline: a.deadline.as_deref().map(|d| input::time("clear.deadline", d)).transpose()?,
                outcome: a.outcome,
                outcome_photo: None, // the core takes it from this step's first photo
                feedback: a.feedback,
                satisfaction: a.satisfaction.as_deref().map(|s| input::number("clear.satisfaction", s)).transpose()?,
                ledger_ref: a.ledger,
            };
            let event = store.move_case(CaseStepInput {
                case_id: a.id,
                to: CaseState::parse("to", &a.to)?,
                note: a.note,
                clear,
                photos: a.photos,
            })?;
            // The step is committed; the timeline only enriches the human text, so a failed
            // read must not turn a recorded step into an error exit.
            let timeline = if out.json { None } else { store.case_timeline(&event.case_id).ok() };
            out.show(&event, |e| human::case_event(e, timeline.as_ref()))
        }
    }
}

fn task(store: &Store, out: &Out, cmd: TaskCommand) -> Result<String> {
    let (mut location, mut datum) = (None, None);
    let (task_id, action, result, photos) = match cmd {
        TaskCommand::List => return out.show(&store.tasks()?, |t| human::tasks(t)),
        TaskCommand::Ack { id } => (id, TaskAction::Acknowledge, None, Vec::new()),
        TaskCommand::Go { id } => (id, TaskAction::OnTheWay, None, Vec::new()),
        TaskCommand::Arrive { id, fix } => {
            location = Some(input::location("location", &fix.lat, &fix.lng)?);
            datum = input::datum(fix.datum.as_deref())?;
            (id, TaskAction::Arrive, None, Vec::new())
        }
        TaskCommand::Complete { id, result, photos } => (id, TaskAction::Complete, Some(result), photos),
        TaskCommand::SendBack { id, reason } => (id, TaskAction::SendBack, Some(reason), Vec::new()),
    };
    let task = store.act_on_task(TaskActionInput { task_id, action, result, photos, location, datum })?;
    out.show(&task, |t| human::task_done(t, action))
}
