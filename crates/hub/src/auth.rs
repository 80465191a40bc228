//! Supervisors and what their role lets them do.
//!
//! Roles are cumulative: a `viewer` watches and reviews; a `supervisor` also makes the
//! robot say things (including whispered guidance), steers it and stops calls; a `lead`
//! also takes calls over, changes a call's settings and breaks someone else's lock.
//!
//! Clients send `Authorization: Bearer TOKEN`; the stream's WebSocket may instead carry
//! `?token=TOKEN` (browsers cannot set headers on a WebSocket).

use axum::http::HeaderMap;
use domain::event::CommandAction;
use serde::{Deserialize, Serialize};

/// A supervisor's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Supervisor,
    Lead,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Supervisor => "supervisor",
            Role::Lead => "lead",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "supervisor" => Some(Role::Supervisor),
            "lead" => Some(Role::Lead),
            _ => None,
        }
    }

    /// The least role that may ask for `action`.
    pub fn needed_for(action: CommandAction) -> Role {
        match action {
            CommandAction::Say | CommandAction::Steer | CommandAction::Whisper | CommandAction::Stop => {
                Role::Supervisor
            }
            CommandAction::Update | CommandAction::TakeOver | CommandAction::Reply | CommandAction::HandBack => {
                Role::Lead
            }
        }
    }

    /// Whether this role may ask for `action`.
    pub fn may(self, action: CommandAction) -> bool {
        self >= Role::needed_for(action)
    }
}

/// An authenticated supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// The token a request carries: the bearer header first, then a `token` query parameter
/// (only where the caller allows it).
pub fn token_from(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    header.or(query_token.map(str::trim).filter(|token| !token.is_empty())).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_cumulative_as_the_issue_lists_them() {
        use CommandAction::*;
        let viewer: Vec<CommandAction> = CommandAction::ALL.into_iter().filter(|a| Role::Viewer.may(*a)).collect();
        let supervisor: Vec<CommandAction> =
            CommandAction::ALL.into_iter().filter(|a| Role::Supervisor.may(*a)).collect();
        let lead: Vec<CommandAction> = CommandAction::ALL.into_iter().filter(|a| Role::Lead.may(*a)).collect();
        assert!(viewer.is_empty());
        assert_eq!(supervisor, [Say, Steer, Whisper, Stop]);
        assert_eq!(lead, CommandAction::ALL);
    }

    #[test]
    fn the_token_comes_from_the_bearer_header_or_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(token_from(&headers, None), None);
        assert_eq!(token_from(&headers, Some("q")), Some("q".into()));
        headers.insert(axum::http::header::AUTHORIZATION, "Bearer abc".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(token_from(&headers, Some("q")), Some("abc".into()));
        headers.insert(axum::http::header::AUTHORIZATION, "Basic abc".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(token_from(&headers, None), None);
    }
}
