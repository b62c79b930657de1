//! The main job runs on a fresh machine with nothing set up, and its own check passes.

#[test]
fn the_demo_day_ends_with_nothing_lost_or_doubled() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridpatrol")).arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("demo: devices=13 recorded="), "{last}");
    assert!(last.contains(" duplicates=0 lost=0"), "{last}");
    let field = |k: &str| -> u64 { last.split_whitespace().find_map(|w| w.strip_prefix(k)).unwrap().parse().unwrap() };
    assert_eq!(field("recorded="), field("at_hq="));
    assert!(field("recorded=") > 100);
    assert!(text.contains("三零 communities: 11 of 12"), "{text}");
    assert!(text.contains("1 response lost after HQ committed"), "{text}");
    // The street's practice: the role table refused the office steps tried from phones (4 grid
    // leaders and the volunteer), two of the eight 110 diversions went to the justice office,
    // every community's list has two items.
    assert_eq!(field("refused_steps="), 5);
    assert_eq!(field("diversion_tasks="), 8);
    assert!(field("diversion_closed_on_time=") >= 1);
    assert_eq!(field("list_items="), 24);
    assert!(field("list_closed=") >= 6, "{last}");
    assert!(text.contains("✗ 金桥社区"), "the incident behind the ✗ is named: {text}");
}
