//! Readiness of the dependencies, as `/readyz` reports it.

use async_trait::async_trait;

/// How a dependency is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Not working, but the service still serves correctly without it.
    Degraded,
    /// Not working; the service cannot serve.
    Down,
    /// Not configured (an embedded stand-in is used).
    Embedded,
}

impl Health {
    pub fn as_str(&self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Embedded => "embedded",
        }
    }
}

#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// The dependency's name as `/readyz` shows it (`database`, `redis`…).
    fn name(&self) -> &'static str;
    /// How the dependency is doing now; never fails (a failure is [`Health::Down`]).
    async fn check(&self) -> Health;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_names_each_health() {
        let all = [Health::Ok, Health::Degraded, Health::Down, Health::Embedded];
        assert_eq!(all.map(|h| h.as_str()), ["ok", "degraded", "down", "embedded"]);
    }
}
