use serde::{Deserialize, Serialize};

/// The roles of DOMAIN.md. One role per account; the department says where it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Dispatcher,
    Inspector,
    Handler,
    DeptHead,
    Leader,
    VideoOfficer,
    EnergyAnalyst,
}

/// Areas of the application a role may open. Navigation shows only these,
/// and every server function checks the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Area {
    Home,
    Account,
    AdminUsers,
    AdminDepartments,
    AdminAudit,
    /// Case list, detail and map.
    Cases,
    /// What waits for me.
    Queue,
    /// Reporting a new case from the field.
    Report,
    /// Department evaluation.
    Evaluation,
    /// Appeals against deductions.
    Appeals,
    /// The classification catalogue and the working calendar.
    AdminCatalogue,
    /// Sky Eye incidents (what each department sees is narrowed on the server).
    Alerts,
    /// Camera health and alert statistics.
    Cameras,
    /// Keys of machine integrations.
    AdminKeys,
    /// Energy and carbon: overview, districts, entities, meters (what each department sees
    /// is narrowed on the server).
    Energy,
    /// A department's scorecard: department heads (their own), leaders and administrators.
    Scorecard,
    /// The leadership overview and the big screen: leaders and administrators.
    Overview,
    /// The data catalogue (every dataset, its owner and its grants): all staff; granting is
    /// checked on the server (owner's head, administrator).
    DataCatalogue,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Dispatcher,
        Role::Inspector,
        Role::Handler,
        Role::DeptHead,
        Role::Leader,
        Role::VideoOfficer,
        Role::EnergyAnalyst,
    ];

    /// Stable code stored in the database and used in forms and URLs.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Inspector => "inspector",
            Role::Handler => "handler",
            Role::DeptHead => "dept_head",
            Role::Leader => "leader",
            Role::VideoOfficer => "video_officer",
            Role::EnergyAnalyst => "energy_analyst",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn may_open(self, area: Area) -> bool {
        match area {
            Area::Home | Area::Account | Area::DataCatalogue => true,
            Area::AdminUsers
            | Area::AdminDepartments
            | Area::AdminAudit
            | Area::AdminCatalogue
            | Area::AdminKeys => self == Role::Admin,
            Area::Cases => matches!(
                self,
                Role::Admin
                    | Role::Dispatcher
                    | Role::Inspector
                    | Role::Handler
                    | Role::DeptHead
                    | Role::Leader
            ),
            Area::Queue => matches!(
                self,
                Role::Dispatcher | Role::Inspector | Role::Handler | Role::DeptHead
            ),
            Area::Report => self == Role::Inspector,
            Area::Evaluation => matches!(
                self,
                Role::Admin | Role::Dispatcher | Role::DeptHead | Role::Leader
            ),
            Area::Appeals => matches!(self, Role::Dispatcher | Role::DeptHead),
            Area::Scorecard => matches!(self, Role::DeptHead | Role::Leader | Role::Admin),
            Area::Overview => matches!(self, Role::Leader | Role::Admin),
            Area::Alerts => matches!(
                self,
                Role::Admin
                    | Role::Leader
                    | Role::VideoOfficer
                    | Role::Dispatcher
                    | Role::DeptHead
                    | Role::Handler
            ),
            Area::Cameras => matches!(
                self,
                Role::Admin | Role::Leader | Role::VideoOfficer | Role::DeptHead
            ),
            Area::Energy => matches!(
                self,
                Role::Admin | Role::Leader | Role::EnergyAnalyst | Role::DeptHead
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        let mut codes: Vec<_> = Role::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Role::ALL.len());
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn only_administrators_open_administration() {
        for r in Role::ALL {
            assert!(r.may_open(Area::Home));
            assert_eq!(r.may_open(Area::AdminUsers), r == Role::Admin);
            assert_eq!(r.may_open(Area::AdminAudit), r == Role::Admin);
            assert_eq!(r.may_open(Area::AdminCatalogue), r == Role::Admin);
        }
    }

    #[test]
    fn case_areas_follow_the_workflow_roles() {
        assert!(Role::Inspector.may_open(Area::Report));
        assert!(!Role::Dispatcher.may_open(Area::Report));
        assert!(Role::Handler.may_open(Area::Queue) && Role::Handler.may_open(Area::Cases));
        assert!(!Role::Leader.may_open(Area::Queue) && Role::Leader.may_open(Area::Evaluation));
        assert!(!Role::VideoOfficer.may_open(Area::Cases));
        assert!(
            Role::VideoOfficer.may_open(Area::Alerts) && Role::VideoOfficer.may_open(Area::Cameras)
        );
        assert!(
            !Role::Inspector.may_open(Area::Alerts) && !Role::EnergyAnalyst.may_open(Area::Alerts)
        );
        assert!(
            Role::Admin.may_open(Area::AdminKeys) && !Role::VideoOfficer.may_open(Area::AdminKeys)
        );
        assert!(!Role::EnergyAnalyst.may_open(Area::Cases));
        assert!(Role::EnergyAnalyst.may_open(Area::Energy) && Role::Leader.may_open(Area::Energy));
        assert!(
            !Role::Inspector.may_open(Area::Energy) && !Role::VideoOfficer.may_open(Area::Energy)
        );
        assert!(Role::DeptHead.may_open(Area::Appeals) && !Role::Handler.may_open(Area::Appeals));
    }
}
