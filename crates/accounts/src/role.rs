//! Roles and what each may do. Least privilege: a role is granted exactly
//! the permissions its work needs, and every check goes through
//! [`Role::grants`], so the table below is the whole policy.

use serde::{Deserialize, Serialize};

/// The roles of the platform's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An academic researcher: searches the library and requests compounds.
    Researcher,
    /// Support-unit staff: manage the library and fulfil requests.
    SupportStaff,
    /// A biobank curator: manages a biobank's catalogue and its requests.
    BiobankCurator,
    /// A programme officer: follows programmes and their KPIs.
    ProgrammeOfficer,
    /// Runs the platform: accounts and the audit log.
    Admin,
}

/// One thing a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Search the compound library and view compounds.
    SearchCompounds,
    /// Import compounds into the registry.
    ImportCompounds,
    /// Submit a provision request for compounds.
    RequestCompounds,
    /// See every request, approve or reject it and record its shipment.
    ReviewRequests,
    /// Read the audit log.
    ViewAuditLog,
    /// Create and disable accounts.
    ManageUsers,
    /// See, cancel and retry everybody's jobs (not only one's own).
    SeeAllJobs,
    /// See screening runs: one's own (as the requester) without
    /// [`Permission::SeeAllScreens`].
    ViewScreens,
    /// See every screening run, and the seeds found across projects.
    SeeAllScreens,
    /// Record screening runs and their confirmations.
    RecordScreens,
    /// See protected counts in the biobank cross-search (the public sees
    /// yes/no only).
    SearchBiobanks,
    /// Ask biobanks for access to samples and data.
    RequestBiobankAccess,
    /// Review access requests to the biobanks one curates.
    CurateBiobanks,
    /// Follow every biobank access request (read only).
    SeeAllBiobankRequests,
    /// Run prediction models and docking on structures.
    RunModels,
}

impl Permission {
    /// What the permission allows, as the end of "your role may not …".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::SearchCompounds => "search the compound library",
            Permission::ImportCompounds => "import compounds",
            Permission::RequestCompounds => "request compounds",
            Permission::ReviewRequests => "review other people's requests",
            Permission::ViewAuditLog => "read the audit log",
            Permission::ManageUsers => "manage accounts",
            Permission::SeeAllJobs => "see other people's jobs",
            Permission::ViewScreens => "see screening results",
            Permission::SeeAllScreens => "see other people's screening results",
            Permission::RecordScreens => "record screening runs",
            Permission::SearchBiobanks => "see biobank counts",
            Permission::RequestBiobankAccess => "request access to biobank samples and data",
            Permission::CurateBiobanks => "review biobank access requests",
            Permission::SeeAllBiobankRequests => "see every biobank access request",
            Permission::RunModels => "run prediction models",
        }
    }
}

impl Role {
    /// Every role, in the order they are listed to people.
    pub const ALL: [Role; 5] = [
        Role::Researcher,
        Role::SupportStaff,
        Role::BiobankCurator,
        Role::ProgrammeOfficer,
        Role::Admin,
    ];

    /// Whether this role may do `permission`.
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Researcher => matches!(
                permission,
                SearchCompounds
                    | RequestCompounds
                    | ViewScreens
                    | SearchBiobanks
                    | RequestBiobankAccess
                    | RunModels
            ),
            Role::SupportStaff => matches!(
                permission,
                SearchCompounds
                    | ImportCompounds
                    | ReviewRequests
                    | SeeAllJobs
                    | ViewScreens
                    | SeeAllScreens
                    | RecordScreens
                    | SearchBiobanks
                    | RunModels
            ),
            Role::BiobankCurator => {
                matches!(permission, SearchCompounds | SearchBiobanks | CurateBiobanks)
            }
            // Programme officers follow every project's outcomes.
            Role::ProgrammeOfficer => {
                matches!(
                    permission,
                    SearchCompounds
                        | ViewScreens
                        | SeeAllScreens
                        | SearchBiobanks
                        | SeeAllBiobankRequests
                )
            }
            // The admin runs the platform; it does not act in others' science
            // (no requests, no approvals), so its own account cannot be used
            // to move material.
            Role::Admin => {
                matches!(
                    permission,
                    SearchCompounds | ImportCompounds | ViewAuditLog | ManageUsers | SeeAllJobs
                )
            }
        }
    }

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Researcher => "researcher",
            Role::SupportStaff => "support_staff",
            Role::BiobankCurator => "biobank_curator",
            Role::ProgrammeOfficer => "programme_officer",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = crate::AccountError;

    fn from_str(s: &str) -> Result<Role, crate::AccountError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            crate::AccountError::Invalid(format!(
                "'{s}' is not a role; use one of {}",
                names.join(", ")
            ))
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn only_staff_review_and_only_researchers_request() {
        let reviewers: Vec<Role> =
            Role::ALL.into_iter().filter(|r| r.grants(Permission::ReviewRequests)).collect();
        assert_eq!(reviewers, [Role::SupportStaff]);
        let requesters: Vec<Role> =
            Role::ALL.into_iter().filter(|r| r.grants(Permission::RequestCompounds)).collect();
        assert_eq!(requesters, [Role::Researcher]);
        let auditors: Vec<Role> =
            Role::ALL.into_iter().filter(|r| r.grants(Permission::ViewAuditLog)).collect();
        assert_eq!(auditors, [Role::Admin]);
    }
}
