//! The demo's street: 12 communities and 59 grids (as in the source article), one full-time
//! grid worker per grid, and a handful of households per grid, some of them must-visit.

use gridpatrol_core::config::{Building, Community, Grid, Household, Street, Team, Worker};
use gridpatrol_core::domain::{CareTag, WorkerRole};
use gridpatrol_core::GridConfig;

pub const COMMUNITIES: usize = 12;
pub const GRIDS: usize = 59;
const HOUSEHOLDS_PER_GRID: usize = 8;

const NAMES: [&str; 12] =
    ["东湖", "西岭", "南苑", "北塘", "金桥", "银杏", "梅园", "竹林", "松风", "桃源", "荷塘", "枫林"];
const ROMAN: [&str; 12] = [
    "Donghu", "Xiling", "Nanyuan", "Beitang", "Jinqiao", "Yinxing", "Meiyuan", "Zhulin", "Songfeng", "Taoyuan",
    "Hetang", "Fenglin",
];

/// Grids per community: five each, the last community four (12 × 5 − 1 = 59).
pub fn grids_in(c: usize) -> usize {
    if c + 1 == COMMUNITIES {
        GRIDS - 5 * (COMMUNITIES - 1)
    } else {
        5
    }
}

pub fn grid_id(c: usize, g: usize) -> String {
    format!("g-{:02}{:02}", c + 1, g + 1)
}

pub fn worker_id(c: usize, g: usize) -> String {
    format!("w-{:02}{:02}", c + 1, g + 1)
}

/// The community's grid leader (网格长), who covers all its grids: the demo's phone.
pub fn leader_id(c: usize) -> String {
    format!("w-{:02}00", c + 1)
}

/// The kinds of grid worker, by grid: full-time mostly, a volunteer in the second grid and a
/// law-enforcement worker in the third.
fn role_of(g: usize) -> WorkerRole {
    match g % 5 {
        1 => WorkerRole::Volunteer,
        2 => WorkerRole::LawEnforcement,
        _ => WorkerRole::FullTime,
    }
}

pub fn household_id(c: usize, g: usize, h: usize) -> String {
    format!("h-{:02}{:02}{:02}", c + 1, g + 1, h + 1)
}

/// A point inside grid (c, g), offset by `k` so check-ins differ.
pub fn inside(c: usize, g: usize, k: usize) -> (f64, f64) {
    let (lng0, lat0) = origin(c, g);
    (lat0 + 0.0005 + (k % 7) as f64 * 0.0004, lng0 + 0.0005 + (k % 5) as f64 * 0.0005)
}

/// South-west corner of grid (c, g): communities on a 4 × 3 lattice, grids in a row inside.
fn origin(c: usize, g: usize) -> (f64, f64) {
    let (col, row) = (c % 4, c / 4);
    (121.40 + col as f64 * 0.02 + g as f64 * 0.004, 31.20 + row as f64 * 0.01)
}

pub fn build() -> GridConfig {
    let street = Street { code: "310101002".into(), name: "示范街道 (Demo Street)".into() };
    let mut communities = Vec::new();
    let mut grids = Vec::new();
    let mut workers = Vec::new();
    let mut households = Vec::new();
    let mut teams = Vec::new();
    let mut buildings = Vec::new();
    for c in 0..COMMUNITIES {
        let cid = format!("c-{:02}", c + 1);
        communities.push(Community {
            id: cid.clone(),
            code: format!("310101002{:03}", c + 1),
            name: format!("{}社区 ({} Community)", NAMES[c], ROMAN[c]),
        });
        workers.push(Worker {
            id: leader_id(c),
            name: format!("{}网格长 (grid leader of {})", NAMES[c], ROMAN[c]),
            role: WorkerRole::GridLeader,
            grid_ids: (0..grids_in(c)).map(|g| grid_id(c, g)).collect(),
        });
        teams.push(Team {
            id: format!("team-{:02}", c + 1),
            name: format!("{}志愿服务队 ({} volunteers)", NAMES[c], ROMAN[c]),
            community_id: cid.clone(),
            member_ids: (0..grids_in(c))
                .filter(|g| role_of(*g) == WorkerRole::Volunteer)
                .map(|g| worker_id(c, g))
                .collect(),
        });
        for g in 0..grids_in(c) {
            let (lng0, lat0) = origin(c, g);
            grids.push(Grid {
                id: grid_id(c, g),
                code: format!("310101002{:03}{:03}", c + 1, g + 1),
                community_id: cid.clone(),
                name: format!("{}第{}网格 ({} grid {})", NAMES[c], g + 1, ROMAN[c], g + 1),
                boundary: vec![[lng0, lat0], [lng0 + 0.004, lat0], [lng0 + 0.004, lat0 + 0.004], [lng0, lat0 + 0.004]],
            });
            workers.push(Worker {
                id: worker_id(c, g),
                name: format!("网格员{:02}{:02} (worker {}-{})", c + 1, g + 1, c + 1, g + 1),
                role: role_of(g),
                grid_ids: vec![grid_id(c, g)],
            });
            buildings.push(Building {
                id: format!("b-{:02}{:02}", c + 1, g + 1),
                grid_id: grid_id(c, g),
                name: "1栋".into(),
            });
            for h in 0..HOUSEHOLDS_PER_GRID {
                let care_tags = match h % 4 {
                    0 => vec![CareTag::Elderly, CareTag::LivesAlone],
                    1 => vec![CareTag::Hardship],
                    _ => vec![],
                };
                households.push(Household {
                    id: household_id(c, g, h),
                    grid_id: grid_id(c, g),
                    label: format!("{}栋{}单元{}01", h / 2 + 1, h % 2 + 1, h + 1),
                    name: format!("住户{} (resident {})", h + 1, h + 1),
                    phone: Some(format!("1380000{:02}{:02}", c + 1, g * 10 + h)),
                    care_tags,
                    must_visit: None,
                });
            }
        }
    }
    GridConfig { street, communities, grids, workers, households, tasks: vec![], template: None, teams, buildings }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_street_has_12_communities_and_59_valid_grids() {
        let s = super::build();
        s.validate().unwrap();
        // One worker per grid and a grid leader per community.
        assert_eq!((s.communities.len(), s.grids.len(), s.workers.len()), (12, 59, 71));
        assert_eq!(s.teams.len(), 12);
    }
}
