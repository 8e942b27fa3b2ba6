//! A consumer of a certificate as `discover` reads it from its own service.

use std::collections::BTreeMap;

/// What a distribution, an API Gateway domain or a load balancer says of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The names it serves: a distribution's aliases, an API Gateway domain's own name (a
    /// listener has none of its own: its certificates' names stand in).
    pub names: Vec<String>,
    /// The ACM certificates it has (a listener's default first, then its SNI list).
    pub certificates: Vec<String>,
    /// Its tags (a listener's are its load balancer's), for `discovery.manage_tagged`.
    pub tags: BTreeMap<String, String>,
}
