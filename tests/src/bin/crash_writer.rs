//! Fault-injection helper for the crash test: records field work in a loop on a store and
//! prints `<kind> <id>` on stdout only after the recording call has returned, so every line
//! printed is a promise that the record is durable. The test SIGKILLs it at random moments.
//!
//! Usage: `crash-writer <store-dir> <photo-file>`

use std::io::Write;
use std::path::PathBuf;

use gridpatrol_core::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("store dir"));
    let photo = PathBuf::from(args.next().expect("photo file"));
    let store = Store::open(&dir, StoreOptions::default()).expect("open store");
    let template = store.active_template();
    let answers: Vec<ChecklistAnswer> = template
        .patrol
        .checklist
        .iter()
        .map(|i| ChecklistAnswer { item_id: i.id.clone(), answer: Answer::Ok, note: None })
        .collect();
    // A patrol may still be in progress from a killed round: carry on with it.
    let patrol = match store.today().expect("today").patrol {
        Some(p) => p.patrol_id,
        None => store.start_patrol("g-0101", PatrolShift::Night).expect("start").id,
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    for i in 0u64.. {
        let line = match i % 4 {
            0 | 2 => {
                let v = store
                    .record_visit(VisitInput {
                        household_id: if i % 8 == 0 { "h-0001".into() } else { "h-0002".into() },
                        visit_type: VisitType::Routine,
                        outcome: VisitOutcome::Met,
                        needs: vec![NeedTag::Living],
                        note: Some(format!("round note {i}")),
                        satisfaction: None,
                        case_id: None,
                        location: None,
                        occurred_at: None,
                        datum: None,
                    })
                    .expect("visit");
                format!("visit {}", v.id)
            }
            1 => {
                let c = store
                    .check_in(
                        &patrol,
                        CheckInInput {
                            location: GeoPoint { lat: 31.232, lng: 121.473 },
                            accuracy_m: Some(5.0),
                            place_name: None,
                            answers: answers.clone(),
                            datum: None,
                            mock_location: false,
                        },
                    )
                    .expect("check-in");
                format!("checkpoint {}", c.id)
            }
            _ => {
                let r = store
                    .file_report(ReportInput {
                        grid_id: "g-0101".into(),
                        category: ReportCategory::ResidentRequest,
                        urgency: None,
                        location: GeoPoint { lat: 31.232, lng: 121.473 },
                        place_name: None,
                        description: format!("request {i}"),
                        people_involved: 1,
                        source: ReportSource::Resident,
                        patrol_id: None,
                        visit_id: None,
                        photos: if i % 16 == 3 { vec![photo.clone()] } else { vec![] },
                        datum: None,
                    })
                    .expect("report");
                format!("report {} {}", r.id, r.photos.first().map(String::as_str).unwrap_or("-"))
            }
        };
        // Printed only after the call returned: the promise the test holds us to.
        writeln!(out, "{line}").expect("stdout");
        out.flush().expect("flush");
    }
}
