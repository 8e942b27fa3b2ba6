//! The alerting rules (deploy/prometheus/alerts.yaml) and the Grafana dashboard
//! (deploy/grafana/) name only metrics and labels the daemon really exports: every expression
//! is parsed with a real PromQL parser (promql-parser) and each selector is looked up in the
//! `/metrics` output of a daemon that has rotated, verified, probed the edge and answered an
//! ACM event. Renaming a metric or a label fails this test instead of silently muting alerts.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use promql_parser::parser::{self, Expr};
use support::{free_port, http_get, sample, wait_for, world, Daemon};

/// Metric name → label names, from the text exposition format.
type Exported = BTreeMap<String, BTreeSet<String>>;

fn exported(text: &str) -> Exported {
    let mut out = Exported::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => (line, ""),
        };
        let labels = out.entry(name.to_string()).or_default();
        if let Some(inner) = rest.strip_prefix('{') {
            // key="value",key="value"}: values may hold anything but an unescaped quote.
            let mut chars = inner.chars().peekable();
            loop {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                if key.is_empty() {
                    break;
                }
                labels.insert(key.trim_start_matches(',').to_string());
                chars.next(); // the opening quote
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
                if chars.peek() == Some(&'}') {
                    break;
                }
            }
        }
    }
    out
}

/// Every vector selector in `expr`: (metric name, label names matched on).
fn selectors(expr: &Expr, out: &mut Vec<(Option<String>, Vec<String>)>) {
    match expr {
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::VectorSelector(v) => out.push((
            v.name.clone(),
            v.matchers.matchers.iter().map(|m| m.name.clone()).collect(),
        )),
        Expr::MatrixSelector(m) => out.push((
            m.vs.name.clone(),
            m.vs.matchers
                .matchers
                .iter()
                .map(|m| m.name.clone())
                .collect(),
        )),
        Expr::Call(c) => {
            for a in &c.args.args {
                selectors(a, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// What is wrong with `expr` (named `what`) against the exported metrics.
fn problems(what: &str, expr: &str, metrics: &Exported) -> Vec<String> {
    // Grafana's own variables are not PromQL; a duration stands in for them.
    let expr = ["$__rate_interval", "$__interval", "$__range"]
        .iter()
        .fold(expr.to_string(), |e, v| e.replace(v, "5m"));
    let parsed = match parser::parse(&expr) {
        Ok(p) => p,
        Err(e) => return vec![format!("{what}: does not parse: {e}: {expr}")],
    };
    let mut found = Vec::new();
    selectors(&parsed, &mut found);
    let mut out = Vec::new();
    if found.is_empty() {
        out.push(format!("{what}: names no metric: {expr}"));
    }
    for (name, labels) in found {
        let Some(name) = name else {
            out.push(format!("{what}: a selector without a metric name: {expr}"));
            continue;
        };
        match metrics.get(&name) {
            None => out.push(format!("{what}: {name} is not in the daemon's /metrics")),
            Some(have) => {
                for l in labels
                    .iter()
                    .filter(|l| *l != "__name__" && !have.contains(*l))
                {
                    out.push(format!("{what}: {name} has no label {l} (it has {have:?})"));
                }
            }
        }
    }
    out
}

/// (name, expression) of every alert rule and dashboard query.
fn expressions() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root.join("deploy/prometheus/alerts.yaml")).unwrap(),
    )
    .unwrap();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap();
            out.push((
                format!("alert {name}"),
                rule["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/cognito-cert-rotator.json")).unwrap(),
    )
    .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            out.push((
                format!("panel \"{}\"", panel["title"].as_str().unwrap()),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        // label_values(METRIC, label): the metric is PromQL, the wrapper is Grafana's.
        if let Some(q) = var["query"]["query"].as_str() {
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|r| r.rsplit_once(','))
                .map(|(m, _)| m.trim().to_string())
                .unwrap_or_else(|| q.to_string());
            out.push((format!("variable {}", var["name"]), inner));
        }
    }
    out
}

#[test]
fn every_rule_is_complete_for_prometheus_and_alertmanager() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root.join("deploy/prometheus/alerts.yaml")).unwrap(),
    )
    .unwrap();
    let mut names = BTreeSet::new();
    for rule in rules["groups"][0]["rules"].as_sequence().unwrap() {
        let name = rule["alert"].as_str().expect("an alert name");
        assert!(names.insert(name.to_string()), "{name} twice");
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("warning" | "critical")),
            "{name}: severity {severity:?}"
        );
        assert!(
            rule["annotations"]["summary"].as_str().is_some(),
            "{name}: no summary"
        );
        if let Some(d) = rule.get("for") {
            // Prometheus durations: a number and one unit (s, m, h, d).
            let d = d.as_str().unwrap();
            let (n, unit) = d.split_at(d.len() - 1);
            assert!(
                n.parse::<u32>().is_ok() && matches!(unit, "s" | "m" | "h" | "d"),
                "{name}: for: {d}"
            );
        }
    }
    for wanted in [
        "ExpiringSoon",
        "RotationFailing",
        "EdgeDrift",
        "NoRecentPass",
        "NoLeader",
    ] {
        assert!(
            names.iter().any(|n| n.contains(wanted)),
            "no alert for {wanted}: {names:?}"
        );
    }
}

#[test]
fn the_checker_finds_unknown_metrics_labels_and_bad_syntax() {
    // Guards the test below against passing vacuously.
    let metrics = exported(
        "# TYPE x_total counter\nx_total{domain=\"a,b\",result=\"ok\"} 1\nup 1\nh_bucket{le=\"+Inf\"} 2\n",
    );
    assert_eq!(
        metrics["x_total"],
        BTreeSet::from(["domain".to_string(), "result".to_string()])
    );
    assert!(problems(
        "t",
        "sum by (domain) (rate(x_total{result=\"ok\"}[$__rate_interval]))",
        &metrics
    )
    .is_empty());
    assert!(problems("t", "histogram_quantile(0.9, rate(h_bucket[5m]))", &metrics).is_empty());
    let missing = problems("t", "rate(y_total[5m]) > 0", &metrics);
    assert!(missing[0].contains("y_total is not in"), "{missing:?}");
    let label = problems("t", "x_total{kind=\"a\"}", &metrics);
    assert!(label[0].contains("has no label kind"), "{label:?}");
    assert!(problems("t", "rate(x_total[5m]", &metrics)[0].contains("does not parse"));
}

#[tokio::test]
async fn every_alert_and_panel_names_what_the_daemon_exports() {
    let w = world(&[]).await;
    let sqs = w.emu.sqs();
    let queue = w.emu.queue("events").await;
    let port = free_port();
    // Passes every 2 s, so the edge is probed after the swap's verification.
    // Notifications to a webhook nobody answers: their series are exported from the start.
    // Discovery finds a custom domain nobody listed or tagged.
    support::pool_with_domain(&w.emu, support::REGION, "stray.example.com", &w.old.arn, 2).await;
    let config = w.daemon_config(
        "*/2 * * * * *",
        &format!(
            "events:\n  sqs_queue_url: {queue}\nmetrics:\n  listen: 127.0.0.1:{port}\nnotify:\n  webhook:\n    url: https://127.0.0.1:9/hook\ndiscovery:\n  regions: [{}]\n  manage_tagged: {{cognito-cert-rotator: enabled}}\n",
            support::REGION
        ),
    );
    let d = Daemon::start(
        w.dir.path(),
        &["run", "--now", "-c", config.to_str().unwrap()],
        &w.emu.endpoint,
        &[],
    );
    wait_for("the consumer", Duration::from_secs(20), || {
        d.log().contains("consuming ACM events")
    });
    sqs.send_message()
        .queue_url(&queue)
        .message_body(
            serde_json::json!({"id": "e", "source": "aws.acm", "detail-type": "ACM Certificate Expired",
                "resources": [w.old.arn], "detail": {}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let scrape = || http_get(port, "/metrics").1;
    wait_for(
        "a verified swap, an edge probe, a handled event and a look of discovery",
        Duration::from_secs(40),
        || {
            let m = scrape();
            sample(&m, "cognito_cert_rotator_edge_matches_current{") == Some(1.0)
                && sample(&m, "cognito_cert_rotator_unmanaged_domain{") == Some(1.0)
                && sample(&m, "cognito_cert_rotator_events_total{detail_type=\"ACM Certificate Expired\",result=\"handled\"}") == Some(1.0)
        },
    );
    let metrics = exported(&scrape());
    // And every metric the daemon exports is in the metrics table of docs/operations.md.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md"))
            .unwrap();
    for name in metrics.keys() {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        assert!(
            readme.contains(&format!("`{family}`")) || readme.contains(&format!("`{family}` (")),
            "{family} is exported but not documented in docs/operations.md"
        );
    }
    let all = expressions();
    assert!(all.len() >= 25, "{}", all.len());
    let wrong: Vec<String> = all
        .iter()
        .flat_map(|(what, expr)| problems(what, expr, &metrics))
        .collect();
    assert!(
        wrong.is_empty(),
        "{}\n\nexported: {:?}",
        wrong.join("\n"),
        metrics.keys().collect::<Vec<_>>()
    );
}
