//! The users of a [`Directory`], and the server-wide claim of their emails.

use zoom_core::DomainError;
use zoom_core::engine::{EngineError, Page, PageRequest, page_of};
use zoom_core::id::{AccountId, UserId};
use zoom_core::principal::{Principal, Scope};

use zoom_core::store::IndexQuery;

use super::{Directory, not_found, password_error, require_any};
use crate::grant::RevokeReason;
use crate::ids;
use crate::password::{self, PasswordHash};
use crate::user::email::{EmailCommand, normalize};
use crate::user::{NewUser, Role, User, UserCommand, UserPatch, UserStatus};

/// A user to create (`POST /v1/users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    /// The id, or `None` for a generated `usr_…`.
    pub id: Option<UserId>,
    /// The email (the login name).
    pub email: String,
    /// A human-readable name.
    pub display_name: String,
    /// The role; `member` when absent.
    pub role: Option<Role>,
    /// A password, in plain text (hashed here, never stored as given).
    pub password: Option<String>,
}

/// Changes to a user (`PATCH /v1/users/{id}`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// A new name.
    pub display_name: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// A new password, in plain text.
    pub password: Option<String>,
    /// A new status.
    pub status: Option<UserStatus>,
}

impl Directory {
    /// Creates a user in `account` (`POST /v1/users`; `admin`, or `None` for the system). The
    /// email is claimed first, server-wide; a creation that then fails gives it back.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound` (the account), `Conflict` `email_taken`, `user_exists`,
    /// `account_disabled`, `Forbidden` `owner_required`, `Invalid` fields, a store failure.
    pub async fn create_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        input: UserInput,
    ) -> Result<User, EngineError> {
        if let Some(p) = principal {
            if &p.account_id != account {
                return Err(not_found("account", account.as_str()));
            }
            require_any(p, &[Scope::Admin])?;
        }
        match self.find_account(account).await? {
            None => return Err(not_found("account", account.as_str())),
            Some(a) if a.status != crate::account::AccountStatus::Active => {
                return Err(EngineError::Domain(DomainError::Conflict {
                    code: "account_disabled",
                    message: format!("account {account} is disabled"),
                }));
            }
            Some(_) => {}
        }
        let email = normalize(&input.email)?;
        let user_id = match input.id {
            Some(id) => id,
            None => ids::fresh("usr_", self.entropy.as_ref())
                .ok_or_else(|| EngineError::Domain(ids::invalid("id", "could not be generated")))?,
        };
        let password = match &input.password {
            Some(p) => Some(password::hash(p, self.config.password, self.entropy.as_ref()).map_err(password_error)?),
            None => None,
        };
        let command = UserCommand::Create(NewUser {
            user_id: user_id.clone(),
            email: email.clone(),
            display_name: input.display_name,
            role: input.role.unwrap_or(Role::Member),
            password,
        });
        self.claim_email(&email, account, &user_id).await?;
        match self.users.execute(Some(account), principal, &command, None).await {
            Ok(done) => done
                .state
                .get(&user_id)
                .cloned()
                .ok_or_else(|| not_found("user", user_id.as_str())),
            Err(e) => {
                // Give the address back unless this user already holds it (a repeat).
                let holds = self
                    .users
                    .read(account)
                    .await
                    .map(|d| d.get(&user_id).is_some_and(|u| u.email == email))
                    .unwrap_or(true);
                if !holds {
                    let release = EmailCommand::Release {
                        account_id: account.clone(),
                        user_id: user_id.clone(),
                    };
                    // Best effort: a release that fails leaves a claim that goes stale.
                    let _ = self.emails.execute(Some(&email), None, &release, None).await;
                }
                Err(e)
            }
        }
    }

    async fn claim_email(&self, email: &String, account: &AccountId, user_id: &UserId) -> Result<(), EngineError> {
        let holder_missing = match self.emails.read(email).await? {
            Some(claim) => self
                .users
                .read(&claim.account_id)
                .await?
                .get(&claim.user_id)
                .is_none_or(|u| &u.email != email),
            None => false,
        };
        let command = EmailCommand::Claim {
            account_id: account.clone(),
            user_id: user_id.clone(),
            holder_missing,
        };
        self.emails.execute(Some(email), None, &command, None).await?;
        Ok(())
    }

    /// A user of the caller's account (`GET /v1/users/{id}`; `admin` or `user.read`, or any
    /// user token for itself).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, a store failure.
    pub async fn user(&self, principal: &Principal, id: &UserId) -> Result<User, EngineError> {
        if !(principal.kind == zoom_core::principal::PrincipalKind::User && &principal.subject == id) {
            require_any(principal, &[Scope::Admin, Scope::UserRead])?;
        }
        self.users
            .read(&principal.account_id)
            .await?
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("user", id.as_str()))
    }

    /// The users of the caller's account in creation order, optionally of one status
    /// (`GET /v1/users`; `admin` or `user.read`).
    ///
    /// # Errors
    /// `InsufficientScope`, `Invalid` page, `InvalidCursor`, a store failure.
    pub async fn users(
        &self,
        principal: &Principal,
        status: Option<UserStatus>,
        page: &PageRequest,
    ) -> Result<Page<User>, EngineError> {
        require_any(principal, &[Scope::Admin, Scope::UserRead])?;
        let directory = self.users.read(&principal.account_id).await?;
        let all: Vec<&User> = directory.users().collect();
        let filter = status.map(UserStatus::as_str);
        let page = page_of(&all, page, "users", principal.account_id.as_str(), &[filter], |u| {
            status.is_none_or(|s| u.status == s)
        })?;
        Ok(Page {
            items: page.items.into_iter().cloned().collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Changes a user (`PATCH /v1/users/{id}`; `admin`).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `last_owner`, `Forbidden` `owner_required`,
    /// `Invalid` fields, a store failure.
    pub async fn update_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        id: &UserId,
        changes: UserChanges,
    ) -> Result<User, EngineError> {
        let password = match &changes.password {
            Some(p) => Some(password::hash(p, self.config.password, self.entropy.as_ref()).map_err(password_error)?),
            None => None,
        };
        let command = UserCommand::Update {
            user_id: id.clone(),
            patch: UserPatch {
                display_name: changes.display_name,
                role: changes.role,
                status: changes.status,
                password,
            },
        };
        self.run_user(principal, account, id, &command).await
    }

    /// Deactivates a user (`DELETE /v1/users/{id}`; `admin`): they cannot log in.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `last_owner`, `Forbidden` `owner_required`,
    /// a store failure.
    pub async fn deactivate_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        id: &UserId,
    ) -> Result<User, EngineError> {
        let command = UserCommand::Deactivate { user_id: id.clone() };
        self.run_user(principal, account, id, &command).await
    }

    async fn run_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        id: &UserId,
        command: &UserCommand,
    ) -> Result<User, EngineError> {
        let done = self.users.execute(Some(account), principal, command, None).await?;
        let user = done
            .state
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("user", id.as_str()))?;
        // A deactivated user's grants are revoked (a repeat finds none left to revoke).
        if user.status == UserStatus::Deactivated {
            let query = IndexQuery {
                account_id: Some(account.clone()),
                owner: Some(id.as_str().to_owned()),
                ..IndexQuery::default()
            };
            self.revoke_grants(query, RevokeReason::UserDeactivated).await?;
        }
        Ok(user)
    }

    /// The user an email names, with their password hash, for a login. `None` when no user
    /// holds it.
    ///
    /// # Errors
    /// `Invalid` `email`, a store failure.
    pub(crate) async fn credentials(&self, email: &str) -> Result<Option<(User, Option<PasswordHash>)>, EngineError> {
        let email = normalize(email)?;
        let Some(claim) = self.emails.read(&email).await? else {
            return Ok(None);
        };
        let directory = self.users.read(&claim.account_id).await?;
        Ok(directory
            .record(&claim.user_id)
            .filter(|r| r.user.email == email)
            .map(|r| (r.user.clone(), r.password.clone())))
    }

    pub(crate) fn decoy(&self) -> &PasswordHash {
        &self.decoy
    }
}
