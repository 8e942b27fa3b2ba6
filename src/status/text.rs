//! `status` as text: the table and the notes under it.

use std::fmt::Write as _;

use super::{EdgeRow, StatusReport};

impl StatusReport {
    /// A table a person reads at a glance, then a line per thing to look at.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(leader) = &self.leader {
            let _ = writeln!(out, "leader: {leader}");
        }
        self.table(&mut out);
        self.notes(&mut out);
        let _ = writeln!(
            out,
            "next pass: {}",
            self.next_pass.as_deref().unwrap_or("-")
        );
        out
    }

    /// The aligned table: a row per target.
    fn table(&self, out: &mut String) {
        let header = [
            "DOMAIN",
            "CONSUMER",
            "CERTIFICATE",
            "NOT AFTER",
            "DAYS",
            "LAST ROTATION",
            "VERIFICATION",
        ];
        let rows: Vec<[String; 7]> = self
            .targets
            .iter()
            .map(|t| {
                [
                    t.domain.clone(),
                    t.consumer.clone(),
                    t.current_certificate_arn
                        .as_deref()
                        .map_or("-".to_string(), |a| crate::model::arn_tail(a).to_string()),
                    t.not_after.clone().unwrap_or_else(|| "-".into()),
                    t.days_left.map_or("-".into(), |d| d.to_string()),
                    t.last_rotation.clone().unwrap_or_else(|| "-".into()),
                    t.verification.clone(),
                ]
            })
            .collect();
        out.push_str(&crate::format::table(&header, &rows));
    }

    /// Problems, holds, denylists, the edge and failure counts, a line each.
    fn notes(&self, out: &mut String) {
        if !self.unmanaged.is_empty() {
            let _ = writeln!(
                out,
                "? {} custom domain(s) found but neither listed nor tagged: {}",
                self.unmanaged.len(),
                self.unmanaged.join(", ")
            );
        }
        for t in self.targets.iter().filter(|t| !t.healthy) {
            let _ = writeln!(
                out,
                "! {}: {}",
                t.domain,
                t.problem.as_deref().unwrap_or("unhealthy")
            );
        }
        for t in &self.targets {
            if let (Some(why), true) = (&t.held, t.healthy) {
                let _ = writeln!(out, "~ {}: {why}", t.domain);
            }
            if let Some(why) = &t.deferred {
                let _ = writeln!(out, "~ {}: {why}", t.domain);
            }
            if let Some(how) = &t.discovered {
                let _ = writeln!(out, "+ {}: discovered: {how}", t.domain);
            }
            for (arn, why) in &t.denylist {
                let _ = writeln!(
                    out,
                    "x {}: {} denylisted: {why}",
                    t.domain,
                    crate::model::arn_tail(arn)
                );
            }
            if let Some(edge) = &t.edge {
                let _ = writeln!(out, "edge {}: {}", t.domain, edge_line(edge));
            }
            if t.failures > 0 {
                let _ = writeln!(
                    out,
                    "! {}: failed {} pass(es) in a row; the daemon retries with backoff",
                    t.domain, t.failures
                );
            }
        }
    }
}

/// What the edge serves, in one line.
fn edge_line(edge: &EdgeRow) -> String {
    let line = edge_serial_line(edge);
    match &edge.addresses {
        Some(split) => format!("{line}; {split}"),
        None => line,
    }
}

fn edge_serial_line(edge: &EdgeRow) -> String {
    match (&edge.serial, edge.matches_current) {
        (Some(serial), Some(true)) => format!(
            "serves serial {serial} (the current certificate), expires {}",
            edge.not_after.as_deref().unwrap_or("?")
        ),
        (Some(serial), Some(false)) => format!(
            "serves serial {serial}, NOT the current certificate (drift), expires {}",
            edge.not_after.as_deref().unwrap_or("?")
        ),
        (Some(serial), None) => format!(
            "serves serial {serial}, expires {}",
            edge.not_after.as_deref().unwrap_or("?")
        ),
        (None, _) => format!("probe failed: {}", edge.error.as_deref().unwrap_or("?")),
    }
}
